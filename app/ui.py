"""Presentation helpers shared by the dashboard's views: number formats, safe text, charts, KPIs."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import plotly.graph_objects as go
import streamlit as st

from app.charts import chart_config
from app.context import ViewContext
from model import FIELD_SPECS, FieldSpec, assumptions

log = logging.getLogger(__name__)

#: Session-state key of the toolbar download format ('png' or 'svg').
CHART_FORMAT_KEY = "chart_format"

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=^&\"'])")


def escape_markdown(text: str) -> str:
    """Text shown literally by ``st.markdown``/``st.warning``: no links, markup, LaTeX or emoji."""
    clean = "".join(ch if ch.isprintable() else " " for ch in str(text))
    return _MD_SPECIAL.sub(r"\\\1", clean)


# ---- number formats ---------------------------------------------------------------------------
def fmt_busd(x: float | None, digits: int = 1) -> str:
    """US$ billions, e.g. ``US$ 10.3 B`` (``n/a`` when undefined)."""
    return "n/a" if x is None else f"US$ {x:,.{digits}f} B"


def fmt_pct(x: float | None, digits: int = 1) -> str:
    return "n/a" if x is None else f"{x * 100:,.{digits}f}%"


def fmt_years(x: float | None) -> str:
    return "never" if x is None else f"{x:,.1f} years"


def fmt_usd(x: float | None) -> str:
    return "n/a" if x is None else f"US$ {x:,.2f}"


def fmt_delta(x: float | None, ref: float | None, unit: str, scale: float = 1.0) -> str | None:
    """A signed difference against the preset, e.g. ``+1.24 vs preset`` (``±0`` when equal)."""
    if x is None or ref is None:
        return None
    d = (x - ref) * scale
    unit_text = f" {unit}" if unit else ""
    if abs(d) < 5e-3:
        return f"±0{unit_text} vs preset"
    return f"{d:+,.2f}{unit_text} vs preset"


def field_label(spec: FieldSpec) -> str:
    """Widget label: the field's name and unit, e.g. ``GW built (GW of facility power)``."""
    return f"{spec.label} ({spec.unit})"


def field_help(name: str) -> str:
    """Help text for a field: what it is, its unit and range, and the source of its default."""
    spec = FIELD_SPECS[name]
    a = assumptions()[name]
    note = f" Note: {a.note}." if a.note else ""
    return (
        f"{spec.description} Unit: {spec.unit}. Allowed: {spec.range_text()}. "
        f"Sourced default: {a.value:g} {spec.unit}, from {a.source} ({a.year}).{note} "
        f"URL name: {name}."
    )


def step_decimals(step: float) -> int:
    """Decimals needed to show multiples of ``step``."""
    text = f"{step:.10f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


# ---- charts -------------------------------------------------------------------------------------
def show_chart(fig: go.Figure, name: str, ctx: ViewContext) -> None:
    """Draw a figure with the toolbar set to download PNG or SVG (the sidebar's choice)."""
    fmt = str(st.session_state.get(CHART_FORMAT_KEY, "PNG")).lower()
    filename = f"{ctx.preset_id}-{name}"
    st.plotly_chart(
        fig,
        theme=None,
        width="stretch",
        config=chart_config(filename, "svg" if fmt == "svg" else "png"),
        key=f"chart_{name}",
    )


def guarded(title: str, render: Callable[[ViewContext], None], ctx: ViewContext) -> None:
    """Run a view; if it raises, show a short error instead of breaking the page."""
    try:
        render(ctx)
    except Exception as exc:
        log.exception("view %s failed", title)
        detail = escape_markdown(str(exc))[:300]
        st.error(
            f"The {title} view could not be drawn ({type(exc).__name__}: {detail}). "
            "The rest of the dashboard still works; the details are in the server log."
        )
