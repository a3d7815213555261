"""Assumptions & method tab: every input with value, default, unit, source and year; the method."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from app.context import ViewContext
from model import FIELD_NAMES, FIELD_SPECS, assumptions, presets

METHODOLOGY = Path(__file__).resolve().parents[2] / "docs" / "methodology.md"


def assumptions_table(ctx: ViewContext) -> pd.DataFrame:
    """One row per input: value in this scenario, preset value, sourced default, unit, source."""
    a = assumptions()
    now, preset = ctx.scenario.model_dump(), ctx.preset_scenario.model_dump()
    rows = []
    for name in FIELD_NAMES:
        spec = FIELD_SPECS[name]
        rows.append(
            {
                "Group": spec.group,
                "Input": spec.label,
                "Value": float(now[name]),
                "Unit": spec.unit,
                "Changed": "changed" if now[name] != preset[name] else "",
                f"Preset ({ctx.preset_id})": float(preset[name]),
                "Sourced default": a[name].value,
                "Source of default": a[name].source,
                "Year": a[name].year,
                "Allowed range": f"{spec.low:,.10g} to {spec.high:,.10g}",
                "Note": a[name].note,
                "URL name": name,
            }
        )
    return pd.DataFrame(rows)


def render(ctx: ViewContext) -> None:
    p = presets()[ctx.preset_id]
    st.markdown(f"**Preset:** {p.name}  \n{p.description}  \nSource: {p.source} ({p.year}).")
    st.subheader("Inputs")
    st.caption(
        "Every input of the scenario: its value now, in the preset and as sourced in "
        "data/assumptions.csv, with unit, allowed range, source and year."
    )
    table = assumptions_table(ctx)
    st.dataframe(
        table,
        hide_index=True,
        height=36 * (len(table) + 1) + 4,
        column_config={
            "Value": st.column_config.NumberColumn(format="%g"),
            f"Preset ({ctx.preset_id})": st.column_config.NumberColumn(format="%g"),
            "Sourced default": st.column_config.NumberColumn(format="%g"),
            "Year": st.column_config.NumberColumn(format="%d"),
            "Group": st.column_config.TextColumn(width="medium"),
            "Unit": st.column_config.TextColumn(width="medium"),
            "Source of default": st.column_config.TextColumn(width="large"),
            "Note": st.column_config.TextColumn(width="large"),
        },
    )
    st.subheader("Method")
    try:
        text = METHODOLOGY.read_text(encoding="utf-8")
    except OSError:
        st.info(
            "The methodology (docs/methodology.md) is not in this copy of the project yet. "
            "The engine's formulas are documented in model/engine.py meanwhile."
        )
        return
    st.markdown(text)
