"""Stress tests tab: named downside shocks (data/stress_tests.toml) against the scenario as set."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from app.charts import analysis as ca
from app.context import ViewContext, changes_text
from app.text import cite
from app.ui import escape_markdown, numbers_table_html, show_chart
from model import make_scenario
from model.metrics import format_metric
from model.scenario import scenario_values
from model.stress import AS_SET, shocks, stress_tests


@st.cache_data(max_entries=64, show_spinner=False)
def _stress(values: dict[str, Any]) -> pd.DataFrame:
    return stress_tests(make_scenario(values))


def _labelled(text: str) -> str:
    return changes_text(text)


def _f(x: object) -> float | None:
    v = float(x)  # type: ignore[arg-type]
    return v if np.isfinite(v) else None


#: Container of the stress figures table: on a wide screen its shock names wrap in a column of
#: fixed width (app.page.PAGE_CSS) so every figure stays in view without scrolling.
STRESS_FIGURES_KEY = "stress_figures"

#: Appended to the refinancing squeeze's name when the scenario has no debt.
NO_DEBT_SUFFIX = " (needs debt: none set, so only its slower ramp applies)"


def render(ctx: ViewContext) -> None:
    st.caption(
        "Each named shock changes only the inputs listed, one shock at a time, then all "
        "together; every other input stays as set. Shocks are defined, with their sources, in "
        "data/stress_tests.toml; values pushed past an input's allowed range are clipped and "
        "the clipping is listed."
    )
    try:
        table = _stress(scenario_values(ctx.scenario))
    except ValueError as exc:
        st.warning(escape_markdown(str(exc)))
        return
    if ctx.scenario.debt_share_of_capex == 0:
        # the squeeze raises the cost of debt: without debt only its slower ramp applies
        table = table.copy()
        squeeze = table["shock"] == "refinancing_squeeze"
        table.loc[squeeze, "name"] = table.loc[squeeze, "name"] + NO_DEBT_SUFFIX
    show_chart(ca.stress_chart(table, ctx.label), "stress_tests", ctx)
    base = table[table["shock"] == AS_SET].iloc[0]
    names = list(table["name"])
    figures = pd.DataFrame(
        {
            "NPV": [format_metric("npv_busd", _f(v)) for v in table["npv_busd"]],
            "Δ NPV vs as set": [
                format_metric("npv_busd", _f(v), signed=True) for v in table["delta_npv_busd"]
            ],
            "IRR": [format_metric("irr", _f(v)) for v in table["irr"]],
            "Δ IRR vs as set": [
                format_metric("irr", _f(v), signed=True) for v in table["delta_irr"]
            ],
            "Payback": [format_metric("payback_years", _f(v)) for v in table["payback_years"]],
        },
        index=pd.Index(names, name="Shock"),
    )
    # the figures on one line each, the shock names pinned: a phone scrolls the table sideways
    # instead of breaking "-US$ 65.2 B" into three lines
    with st.container(key=STRESS_FIGURES_KEY):
        st.markdown(
            numbers_table_html(figures, label="Stress test figures"), unsafe_allow_html=True
        )
    # what each shock changes: long text, wrapped in a static table (never cut)
    st.table(
        pd.DataFrame(
            {
                "What changes": [_labelled(t) for t in table["changes"]],
                "Clipped": table["clipped"],
            },
            index=pd.Index(names, name="Shock"),
        )
    )
    up = table[(table["shock"] != AS_SET) & (table["npv_busd"] > base["npv_busd"] + 1e-9)]
    if not up.empty:
        why = (
            " With token-price deflation, a demand elasticity above 1 (Jevons) makes compute "
            "demand, and the lease rate of freshly refreshed hardware, grow faster than the "
            "installed fleet ages; set the elasticity to 1 or below to see the downside."
            if "token_price_deflation" in set(up["shock"])
            else ""
        )
        st.info(
            escape_markdown("Raises NPV for this scenario: " + ", ".join(up["name"]) + "." + why),
            icon="ℹ️",
        )
    with st.expander("What each shock is and where its size comes from"):
        for s in shocks():
            st.markdown(
                f"**{escape_markdown(s.name)}**: {escape_markdown(s.description)}  \n"
                f"Changes: {escape_markdown('; '.join(c.describe() for c in s.changes))}  \n"
                f"Source: {escape_markdown(cite(s.source, s.year))}"
            )
