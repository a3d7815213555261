"""Compare tab: save scenarios by name and compare up to six side by side.

Saved scenarios live in ``st.session_state`` (this browser session only) as their plain values
(``model.scenario.scenario_values``: every field, and a dated curve's table, methodology 4.8).
Names are user text: shown in tables (plain text) and HTML-escaped in charts; never in Markdown.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from app.charts import analysis as ca
from app.context import ViewContext, percent_unit
from app.ui import escape_markdown, field_value, show_chart
from model import (
    FIELD_NAMES,
    FIELD_SPECS,
    ScenarioError,
    evaluate,
    load_preset,
    make_scenario,
    preset_ids,
)
from model.metrics import RETURN_METRICS, format_metric, metric_label
from model.scenario import scenario_values

SAVED_KEY = "compare_saved"
KEY = "cmp_"
CURRENT = "Current scenario (unsaved)"
PRESET_PREFIX = "Preset: "
MAX_COMPARED = 6
MAX_SAVED = 30
MAX_NAME_CHARS = 40
#: KPIs compared, by metric name (labels and formats from model.metrics).
KPIS: tuple[str, ...] = (
    *RETURN_METRICS,
    "breakeven_lease_rate_busd_per_gw_year",
    "capex_initial_busd",
    "revenue_total_busd",
)


@st.cache_data(max_entries=64, show_spinner=False)
def _evaluate(values: dict[str, Any]) -> tuple[dict[str, float | None], pd.DataFrame]:
    r = evaluate(make_scenario(values))
    return r.metrics(), r.dated_cash_flows[["year", "cumulative_fcf"]]


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


def default_choice(ctx: ViewContext, saved: dict[str, dict[str, Any]]) -> list[str]:
    """Scenarios compared by default: the scenario as set beside *other* scenarios.

    The saved scenarios (the latest first), the current scenario unless it is one of them (no
    comparison of a scenario with its own copy), then presets to fill the row: the one it
    started from when it was changed, then the other presets of the BofA note. Nothing is
    listed twice with the same inputs.
    """
    current = scenario_values(ctx.scenario)
    chosen = [] if current in saved.values() else [CURRENT]
    values = [] if current in saved.values() else [current]
    for name in reversed(list(saved)):
        if len(chosen) >= MAX_COMPARED - 1 or saved[name] in values:
            continue
        chosen.append(name)
        values.append(saved[name])
    candidates = [ctx.preset_id, "bofa-bear", "bofa-base", "bofa-bull"]
    for preset in candidates:
        if (
            len(chosen) >= MAX_COMPARED
            or len(chosen) >= len(saved) + 3
            or preset not in preset_ids()
        ):
            continue
        dump = scenario_values(load_preset(preset))
        if dump not in values:
            chosen.append(PRESET_PREFIX + preset)
            values.append(dump)
    return chosen


def render(ctx: ViewContext) -> None:
    ss = st.session_state
    saved: dict[str, dict[str, Any]] = ss.setdefault(SAVED_KEY, {})
    st.caption(
        "Save the scenario as set under a name, then compare up to six side by side (presets "
        "can be added directly): the inputs that differ, the KPIs with deltas against a base, "
        "and cumulative cash flows. Saved scenarios last for this browser session."
    )
    current = scenario_values(ctx.scenario)
    with st.form(KEY + "save_form", clear_on_submit=False, border=False):
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        raw = c1.text_input(
            "Name for the scenario as set",
            max_chars=MAX_NAME_CHARS,
            placeholder=f"e.g. {ctx.preset_id} with cheaper capex",
            key=KEY + "name",
        )
        submitted = c2.form_submit_button("Save current scenario")
    if submitted:
        already = [n for n, v in saved.items() if v == current]
        name, problem = clean_name(raw)
        if name is not None and saved.get(name) == current:
            st.toast(f"Already saved ({len(saved)} saved)")
        elif problem and already and not str(raw).strip():
            # Enter in the box saved it; the Save click that follows has nothing new to do
            st.toast("This scenario is already saved")
        elif problem or name is None:
            st.warning(escape_markdown(problem or "Invalid name."))
        elif name not in saved and len(saved) >= MAX_SAVED:
            st.warning(f"At most {MAX_SAVED} saved scenarios; remove some first.")
        else:
            replaced = name in saved
            saved[name] = current
            st.toast(("Replaced" if replaced else "Saved") + f" ({len(saved)} saved)")
    presets_offered = [PRESET_PREFIX + p for p in preset_ids()]
    options = [CURRENT, *saved, *presets_offered]
    chosen = st.multiselect(
        "Scenarios to compare (up to six; saved ones and presets)",
        options,
        default=default_choice(ctx, saved),
        max_selections=MAX_COMPARED,
        key=KEY + "chosen_" + str(len(saved)),
    )
    if not chosen:
        st.info("Choose at least one scenario.")
        return
    base = st.selectbox("Base for the deltas", chosen, key=KEY + "base_" + "|".join(chosen))
    values: dict[str, dict[str, Any]] = {}
    for name in chosen:
        if name == CURRENT:
            values[name] = current
        elif name.startswith(PRESET_PREFIX) and name not in saved:
            values[name] = scenario_values(load_preset(name[len(PRESET_PREFIX) :]))
        else:
            values[name] = saved[name]
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
        {name: [field_value(f, float(values[name][f])) for f in differ] for name in chosen},
        index=pd.Index(
            [f"{FIELD_SPECS[f].label} ({percent_unit(FIELD_SPECS[f])})" for f in differ],
            name="Input",
        ),
    )
    st.table(table)  # wraps long scenario names instead of cutting them


def kpi_frame(
    evaluated: dict[str, tuple[dict[str, float | None], pd.DataFrame]], chosen: list[str], base: str
) -> pd.DataFrame:
    """KPIs as text in their one format, with the difference from the base beside each."""
    rows = []
    for metric in KPIS:
        row: dict[str, Any] = {"KPI": metric_label(metric, unit=True)}
        ref = evaluated[base][0].get(metric)
        for name in chosen:
            v = evaluated[name][0].get(metric)
            row[name] = format_metric(metric, v)
            if name != base:
                row[f"{name}: Δ vs base"] = (
                    "n/a"
                    if v is None or ref is None
                    else format_metric(metric, v - ref, signed=True)
                )
        rows.append(row)
    return pd.DataFrame(rows).set_index("KPI")


def _kpi_table(
    evaluated: dict[str, tuple[dict[str, float | None], pd.DataFrame]], chosen: list[str], base: str
) -> None:
    st.markdown("**KPIs, with the difference from the base**")
    # a static table: every column shows in full, headers wrap (a grid cut the deltas off)
    st.table(kpi_frame(evaluated, chosen, base))
