"""Presentation helpers shared by the dashboard's views: number formats, safe text, charts, KPIs.

Metric formats come from the one table of metrics (:mod:`model.metrics`); inputs that are shares
or rates are shown in percent (:func:`app.context.is_percent`); every text with data or money in
it goes through the one escape function (:func:`app.text.escape_markdown`).
"""

from __future__ import annotations

import html
import logging
import math
from collections.abc import Callable, Collection

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app.charts import chart_config
from app.context import ViewContext, display_scale, is_percent, percent_unit
from app.text import cite, escape_markdown
from model import FIELD_SPECS, FieldSpec, assumptions
from model.conditions import conditions_of
from model.metrics import format_metric, format_number, is_zero_change

log = logging.getLogger(__name__)

#: Session-state key of the toolbar download format ('png' or 'svg').
CHART_FORMAT_KEY = "chart_format"


# ---- number formats ---------------------------------------------------------------------------
# money, percent and metric formats: model/metrics.py's, called as they are (one formatter path);
# inputs in the unit shown: field_value below


def metric_delta(name: str, x: float | None, ref: float | None) -> str | None:
    """A signed difference against the preset in the metric's format; None when there is none.

    A zero change (equal in the metric's shown precision) gives None, so no grey ``±0`` shows.
    """
    if x is None or ref is None or is_zero_change(name, x, ref):
        return None
    return format_metric(name, x - ref, signed=True) + " vs preset"


def field_unit(spec: FieldSpec) -> str:
    """The unit as shown (percent for shares and rates)."""
    return percent_unit(spec)


def field_label(spec: FieldSpec) -> str:
    """Widget label: the field's name and unit, e.g. ``GW built (GW of facility power)``."""
    return escape_markdown(f"{spec.label} ({field_unit(spec)})", keep_markup=True)


def field_range_text(spec: FieldSpec) -> str:
    """Allowed range in the unit shown, e.g. ``0 to 30 % per year``."""
    if not is_percent(spec):
        return spec.range_text()
    return f"{spec.low * 100:,.10g} to {spec.high * 100:,.10g} {field_unit(spec)}"


def field_value(name: str, value: float) -> str:
    """A field value in the unit shown, without the unit (``8.7`` for a WACC of 0.087)."""
    return f"{float(value) * display_scale(name):,.10g}"


def field_help(name: str) -> str:
    """Help text for a field: what it is, its unit and range, and the source of its default."""
    spec = FIELD_SPECS[name]
    a = assumptions()[name]
    note = f" Note: {a.note}." if a.note else ""
    text = (
        f"{spec.description} Unit: {field_unit(spec)}. Allowed: {field_range_text(spec)}. "
        f"Sourced default: {field_value(name, a.value)} {field_unit(spec)}, from "
        f"{cite(a.source, a.year)}.{note} URL name: {name}"
        + (
            " (links and files hold the fraction, e.g. 0.087 for 8.7%)."
            if is_percent(spec)
            else "."
        )
    )
    return escape_markdown(text, keep_markup=True)


def step_decimals(step: float) -> int:
    """Decimals needed to show multiples of ``step``."""
    text = f"{step:.10f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


# ---- charts -------------------------------------------------------------------------------------
def show_chart(fig: go.Figure, name: str, ctx: ViewContext) -> None:
    """Draw a figure with the toolbar set to download PNG or SVG (the sidebar's choice).

    The toolbar's file is named like the Export tab's: ``<chart>_<scenario stem>``.
    """
    fmt = str(st.session_state.get(CHART_FORMAT_KEY, "PNG")).lower()
    st.plotly_chart(
        fig,
        theme=None,
        width="stretch",
        config=chart_config(chart_file_stem(name, ctx), "svg" if fmt == "svg" else "png"),
        key=f"chart_{name}",
    )


def chart_file_stem(name: str, ctx: ViewContext) -> str:
    """File stem of a chart for this scenario, e.g. ``cash_flows_bofa-base_gw-built-4.5``."""
    return f"{name}_{ctx.file_stem}"


# ---- tables -------------------------------------------------------------------------------------
#: Class of the static number tables (:func:`numbers_table_html`).
NUMBERS_TABLE_CLASS = "dc-numbers"
#: Their CSS, for class ``dc-numbers`` (the page adds it once): header row and first column
#: pinned, tabular figures, pixel metrics (fractional row heights blur the 1 px rules), labels
#: that wrap on a phone.
NUMBERS_TABLE_CSS = """<style>
.dc-numbers { overflow: auto; max-width: 100%; max-height: 80vh; border: 1px solid #d5dae1;
  border-radius: 0.5rem; }
.dc-numbers:focus-visible { outline: 2px solid #1f4e9c; outline-offset: 2px; }
.dc-numbers table { border-collapse: separate; border-spacing: 0; font-size: 14px;
  line-height: 20px; font-variant-numeric: tabular-nums; white-space: nowrap; margin: 0;
  width: max-content; min-width: 100%; }
.dc-numbers th, .dc-numbers td { padding: 5px 8px; text-align: right; color: #1f2937;
  border: none; border-bottom: 1px solid #e1e5eb; background: #ffffff; }
.dc-numbers thead th { position: sticky; top: 0; z-index: 1; background: #f3f5f8;
  font-weight: 600; }
.dc-numbers th[scope="row"] { position: sticky; left: 0; text-align: left; font-weight: 400;
  border-right: 1px solid #e6e9ef; }
.dc-numbers thead th:first-child { left: 0; z-index: 2; text-align: left; }
.dc-numbers tr.strong th, .dc-numbers tr.strong td { font-weight: 700; background: #f8f9fb; }
.dc-numbers tbody tr:last-child th, .dc-numbers tbody tr:last-child td { border-bottom: none; }
@media (max-width: 640px) { .dc-numbers th[scope="row"] { white-space: normal; min-width: 8rem;
  max-width: 9rem; } }
</style>
"""


def _number_cell(v: object, digits: int) -> str:
    """A cell of :func:`numbers_table_html`: text as given (escaped), a number in one format."""
    if isinstance(v, str):
        # "$" as an entity: Streamlit's Markdown would set "US$ 3 ... US$ 4" as maths
        return html.escape(v).replace("$", "&#36;")
    x = float(v)  # type: ignore[arg-type]
    return "n/a" if not math.isfinite(x) else format_number(x, digits)


def numbers_table_html(
    frame: pd.DataFrame,
    *,
    label: str,
    digits: int = 2,
    strong_rows: Collection[str] = (),
) -> str:
    """A static HTML table of numbers: row labels from the index, one column per frame column.

    Every header, label and cell is HTML-escaped; numbers use one format (``digits`` decimals,
    thousands separators, ``n/a`` for a missing value); a text cell (a figure already in its
    metric's format, e.g. ``-US$ 3.7 B``) is shown as given. The table sits in a keyboard-scrollable
    region named ``label``, its first column pinned, so a wide table scrolls sideways on a phone.
    A plain table rather than Streamlit's data grid: it copies into a spreadsheet as it reads and
    keeps the grid's ~1.5 MB of JavaScript off the landing page (cold first chart).

    Examples
    --------
    >>> frame = pd.DataFrame({"Y0": [1.5, -2.0]}, index=["Revenue <b>", "Capex"])
    >>> html_text = numbers_table_html(frame, label="Cash flows", strong_rows=["Capex"])
    >>> "Revenue &lt;b&gt;" in html_text and "-2.00" in html_text
    True
    """
    esc = html.escape
    head = "".join(f'<th scope="col">{esc(str(c))}</th>' for c in frame.columns)
    corner = esc(str(frame.index.name or ""))
    rows = []
    for name, values in zip(frame.index, frame.to_numpy(dtype=object), strict=True):
        cells = "".join(f"<td>{_number_cell(v, digits)}</td>" for v in values)
        cls = ' class="strong"' if name in strong_rows else ""
        rows.append(f'<tr{cls}><th scope="row">{esc(str(name))}</th>{cells}</tr>')
    return (
        f'<div class="{NUMBERS_TABLE_CLASS}" role="region" aria-label="{esc(label)}" tabindex="0">'
        f'<table><thead><tr><th scope="col">{corner}</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def show_conditions(ctx: ViewContext, metrics: Collection[str] | None = None) -> None:
    """The conditions the result carries (:func:`model.conditions.conditions_of`), or those that
    qualify one of ``metrics``: warnings in one warning box, notes as a caption."""
    found = [
        c
        for c in conditions_of(ctx.result)
        if metrics is None or any(m in metrics for m in c.metrics)
    ]
    warnings = [c.text for c in found if c.severity == "warning"]
    notes = [c.text for c in found if c.severity == "note"]
    if warnings:
        st.warning("\n".join(f"- {escape_markdown(w)}" for w in warnings), icon="⚠️")
    if notes:
        st.caption(escape_markdown("Note: " + " ".join(notes)))


#: Pixels of a row of Streamlit's data grid (and of its header row), for a grid with every row.
GRID_ROW_PX = 35


def grid_height(rows: int) -> int:
    """Height (px) of a data grid that shows all ``rows`` without an inner scroll bar."""
    return GRID_ROW_PX * (rows + 1) + 3


def text_table(frame: pd.DataFrame) -> None:
    """A read-only table of text: every row shown, long cells wrapped (none cut), the first
    column as row labels; cells are shown literally (numbers already in their one format)."""
    st.table(frame.set_index(frame.columns[0]))


def md(text: str) -> str:
    """The project's own Markdown with money in it: ``$`` escaped, markup kept."""
    return escape_markdown(text, keep_markup=True)


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


__all__ = [
    "CHART_FORMAT_KEY",
    "chart_file_stem",
    "escape_markdown",
    "field_help",
    "field_label",
    "field_value",
    "grid_height",
    "guarded",
    "md",
    "metric_delta",
    "numbers_table_html",
    "show_chart",
    "show_conditions",
    "text_table",
]
