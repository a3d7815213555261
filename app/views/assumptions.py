"""Assumptions & method tab: every input with value, default, unit, source and year; the method."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.context import ViewContext, display_scale, percent_unit
from app.text import cite, escape_markdown
from model import FIELD_NAMES, FIELD_SPECS, assumptions, presets
from model.data import DOCS_DIR

METHODOLOGY = DOCS_DIR / "methodology.md"


def assumptions_table(ctx: ViewContext) -> pd.DataFrame:
    """One row per input: value now, preset value, sourced default (percent for rates), source."""
    a = assumptions()
    now, preset = ctx.scenario.model_dump(), ctx.preset_scenario.model_dump()
    rows = []
    for name in FIELD_NAMES:
        spec = FIELD_SPECS[name]
        k = display_scale(name)
        rows.append(
            {
                "Input": spec.label,
                "Value": float(now[name]) * k,
                "Unit": percent_unit(spec),
                "Changed": "changed" if now[name] != preset[name] else "",
                f"Preset ({ctx.preset_id})": float(preset[name]) * k,
                "Sourced default": a[name].value * k,
                "Source of default": cite(a[name].source, a[name].year),
                "Allowed range": f"{spec.low * k:,.10g} to {spec.high * k:,.10g}",
                "Note": a[name].note,
                "Group": spec.group,
                "URL name": name,
            }
        )
    return pd.DataFrame(rows)


def methodology_markdown() -> str | None:
    """docs/methodology.md made safe for Streamlit: money never becomes maths.

    Headings move down two levels (the tab's own headings come first), so the page's outline
    has no skipped level for a screen reader.
    """
    try:
        text = METHODOLOGY.read_text(encoding="utf-8")
    except OSError:
        return None
    lines = []
    in_code = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if not in_code and line.startswith("#"):
            hashes = len(line) - len(line.lstrip("#"))
            line = "#" * min(hashes + 2, 6) + line[hashes:]
        lines.append(line)
    return escape_markdown("\n".join(lines), keep_markup=True)


def render(ctx: ViewContext) -> None:
    p = presets()[ctx.preset_id]
    st.markdown(
        f"**Preset:** {escape_markdown(p.name)}  \n{escape_markdown(p.description)}  \n"
        f"Source: {escape_markdown(cite(p.source, p.year))}."
    )
    st.subheader("Inputs")
    st.caption(
        "Every input of the scenario: its value now, in the preset and as sourced in "
        "data/assumptions.csv, with unit, allowed range, source and year. Shares and rates are "
        "in percent."
    )
    table = assumptions_table(ctx)
    shown = table.drop(columns=["Group", "URL name"]).copy()
    for col in ("Value", f"Preset ({ctx.preset_id})", "Sourced default"):
        shown[col] = [f"{v:,.10g}" for v in shown[col]]
    # a static table wraps long names, sources and notes instead of cutting them
    st.table(shown.set_index("Input"))
    st.subheader("Method")
    text = methodology_markdown()
    if text is None:
        st.info(
            "The methodology (docs/methodology.md) is not in this copy of the project yet. "
            "The engine's formulas are documented in model/engine.py meanwhile."
        )
        return
    st.markdown(text)
