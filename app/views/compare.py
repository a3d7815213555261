"""Compare tab: save scenarios by name and compare up to six side by side.

Saved scenarios live in ``st.session_state`` (this browser session only) as ``model_dump()``s.
Names are user text: shown in tables (plain text) and HTML-escaped in charts; never in Markdown.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from app import charts_analysis as ca
from app.context import ViewContext
from app.ui import escape_markdown, show_chart
from model import FIELD_NAMES, FIELD_SPECS, ScenarioError, evaluate, make_scenario

SAVED_KEY = "compare_saved"
KEY = "cmp_"
CURRENT = "Current scenario (unsaved)"
MAX_COMPARED = 6
MAX_SAVED = 30
MAX_NAME_CHARS = 40
#: KPIs compared: (metric attribute, label with unit, scale for display).
KPIS: tuple[tuple[str, str, float], ...] = (
    ("npv_busd", "NPV at WACC (US$ B)", 1.0),
    ("irr", "IRR (% per year)", 100.0),
    ("mirr", "MIRR (% per year)", 100.0),
    ("payback_years", "Payback (years)", 1.0),
    ("roic", "ROIC (% per year)", 100.0),
    ("npv_per_share_usd", "NPV per share (US$)", 1.0),
    ("breakeven_lease_rate_busd_per_gw_year", "Breakeven lease rate (US$ B per GW-year)", 1.0),
    ("capex_initial_busd", "Initial capex (US$ B)", 1.0),
    ("revenue_total_busd", "Total revenue (US$ B)", 1.0),
)


@st.cache_data(max_entries=64, show_spinner=False)
def _evaluate(values: dict[str, Any]) -> tuple[dict[str, float | None], pd.DataFrame]:
    r = evaluate(make_scenario(values))
    return r.metrics(), r.cash_flows[["year", "cumulative_fcf"]]


def clean_name(raw: str) -> tuple[str | None, str | None]:
    """A saved-scenario name: printable, trimmed, at most MAX_NAME_CHARS; or an error message."""
    name = "".join(ch for ch in str(raw) if ch.isprintable()).strip()
    if not name:
        return None, "Give the scenario a name."
    if len(name) > MAX_NAME_CHARS:
        return None, f"Name is {len(name)} characters long (allowed: 1 to {MAX_NAME_CHARS})."
    if name == CURRENT:
        return None, "That name is reserved; choose another."
    return name, None


def render(ctx: ViewContext) -> None:
    ss = st.session_state
    saved: dict[str, dict[str, Any]] = ss.setdefault(SAVED_KEY, {})
    st.caption(
        "Save the scenario as set under a name, then compare up to six side by side: the inputs "
        "that differ, the KPIs with deltas against a base, and cumulative cash flows. Saved "
        "scenarios last for this browser session."
    )
    with st.form(KEY + "save_form", clear_on_submit=True, border=False):
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        raw = c1.text_input(
            "Name for the scenario as set",
            max_chars=MAX_NAME_CHARS,
            placeholder=f"e.g. {ctx.preset_id} with cheaper capex",
            key=KEY + "name",
        )
        submitted = c2.form_submit_button("Save current scenario")
    if submitted:
        name, problem = clean_name(raw)
        if problem or name is None:
            st.warning(escape_markdown(problem or "Invalid name."))
        elif name not in saved and len(saved) >= MAX_SAVED:
            st.warning(f"At most {MAX_SAVED} saved scenarios; remove some first.")
        else:
            replaced = name in saved
            saved[name] = ctx.scenario.model_dump()
            st.toast(("Replaced" if replaced else "Saved") + f" ({len(saved)} saved)")
    options = [CURRENT, *saved]
    default = options[: min(len(options), MAX_COMPARED)]
    chosen = st.multiselect(
        "Scenarios to compare (up to six)",
        options,
        default=default,
        max_selections=MAX_COMPARED,
        key=KEY + "chosen_" + str(len(saved)),
    )
    if not chosen:
        st.info("Choose at least one scenario.")
        return
    base = st.selectbox("Base for the deltas", chosen, key=KEY + "base_" + "|".join(chosen))
    values: dict[str, dict[str, Any]] = {}
    for name in chosen:
        values[name] = ctx.scenario.model_dump() if name == CURRENT else saved[name]
    try:
        evaluated = {name: _evaluate(v) for name, v in values.items()}
    except (ScenarioError, ValueError) as exc:
        st.warning(escape_markdown(f"A saved scenario is no longer valid: {exc}"))
        return
    _inputs_table(values, chosen)
    _kpi_table(evaluated, chosen, base)
    cash = {name: evaluated[name][1] for name in chosen}
    show_chart(
        ca.compare_cumulative_chart(cash, f"{len(chosen)} scenarios; base: {base}", base),
        "compare_cumulative_fcf",
        ctx,
    )
    if saved:
        with st.expander("Remove saved scenarios"):
            gone = st.multiselect("Saved scenarios to remove", list(saved), key=KEY + "remove")
            if st.button("Remove", key=KEY + "remove_btn", disabled=not gone):
                for name in gone:
                    saved.pop(name, None)
                st.rerun()


def _inputs_table(values: dict[str, dict[str, Any]], chosen: list[str]) -> None:
    differ = [f for f in FIELD_NAMES if len({values[n][f] for n in chosen}) > 1]
    st.markdown("**Inputs that differ**")
    if not differ:
        st.caption("All compared scenarios have the same inputs.")
        return
    table = pd.DataFrame(
        {name: [values[name][f] for f in differ] for name in chosen},
        index=pd.Index(
            [f"{FIELD_SPECS[f].label} ({FIELD_SPECS[f].unit})" for f in differ], name="Input"
        ),
    )
    st.dataframe(table, width="stretch")


def _kpi_table(
    evaluated: dict[str, tuple[dict[str, float | None], pd.DataFrame]], chosen: list[str], base: str
) -> None:
    st.markdown("**KPIs, with the difference from the base**")
    rows = []
    for metric, label, scale in KPIS:
        row: dict[str, Any] = {"KPI": label}
        ref = evaluated[base][0].get(metric)
        for name in chosen:
            v = evaluated[name][0].get(metric)
            row[name] = np.nan if v is None else v * scale
            if name != base:
                row[f"{name}: Δ vs base"] = (
                    np.nan if v is None or ref is None else (v - ref) * scale
                )
        rows.append(row)
    st.dataframe(pd.DataFrame(rows).set_index("KPI").round(3), width="stretch")
