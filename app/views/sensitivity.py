"""Sensitivity tab: tornado, a heatmap of any metric over any two inputs, and a breakeven solver.

Analyses are cached on the scenario's ``model_dump()`` and the analysis settings; each section is
an ``st.fragment``, so changing its widgets reruns only that section.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from app.charts import analysis as ca
from app.context import ViewContext, display_scale, field_value_text, percent_unit
from app.ui import escape_markdown, md, show_chart, text_table
from model import BATCH_METRICS, FIELD_NAMES, FIELD_SPECS, METRIC_UNITS, make_scenario
from model.metrics import format_metric, metric_label
from model.scenario import scenario_values
from model.sensitivity import Breakeven, breakeven, grid, tornado

#: Metrics offered in the selectors (the count of IRR roots is a diagnostic, not a metric).
METRICS = [m for m in BATCH_METRICS if m not in ("irr_root_count", "equity_irr_root_count")]
KEY = "sens_"


def _metric_name(m: str) -> str:
    return ca.metric_axis(m)


def _field_name(f: str) -> str:
    spec = FIELD_SPECS[f]
    return f"{spec.label} ({percent_unit(spec)})"


@st.cache_data(max_entries=64, show_spinner=False)
def _tornado(values: dict[str, Any], metric: str) -> pd.DataFrame:
    return tornado(make_scenario(values), metric=metric)


@st.cache_data(max_entries=64, show_spinner=False)
def _grid(
    values: dict[str, Any],
    x_field: str,
    xs: tuple[float, ...],
    y_field: str,
    ys: tuple[float, ...],
    metric: str,
) -> pd.DataFrame:
    return grid(make_scenario(values), x_field, list(xs), y_field, list(ys), metric)


@st.cache_data(max_entries=64, show_spinner=False)
def _breakeven(values: dict[str, Any], field: str, metric: str, target: float) -> Breakeven:
    return breakeven(make_scenario(values), field, metric, target)


def render(ctx: ViewContext) -> None:
    st.caption(
        "How much each assumption matters. Tornado: one input at a time moves to each end of "
        "its sourced range (data/ranges.csv) while every other input stays as set. Heatmap: any "
        "metric over any two inputs. Breakeven: the value of one input at which a metric hits a "
        "target (goal seek within the input's allowed range)."
    )
    _tornado_section(ctx)
    st.divider()
    _heatmap_section(ctx)
    st.divider()
    _breakeven_section(ctx)


@st.fragment
def _tornado_section(ctx: ViewContext) -> None:
    st.subheader("Tornado: which input moves the result most")
    metric = st.selectbox(
        "Metric",
        METRICS,
        format_func=_metric_name,
        key=KEY + "tornado_metric",
        help="The metric whose swing is shown; fractions per year are shown in %.",
    )
    try:
        table = _tornado(scenario_values(ctx.scenario), metric)
    except ValueError as exc:
        st.warning(escape_markdown(str(exc)))
        return
    show_chart(ca.tornado_chart(table, ctx.label), "tornado", ctx)
    clipped = table[table["clipped"]]
    if not clipped.empty:
        st.info(
            "Some ranges were clipped to the model's domain: "
            + "; ".join(
                f"{FIELD_SPECS[str(f)].label}: {n}"
                for f, n in zip(clipped["field"], clipped["note"], strict=True)
            )
            + ".",
            icon="✂️",
        )
    with st.expander("Tornado table (ranges, values and sources)"):
        text_table(tornado_table(table, metric))


def tornado_table(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The tornado for people: every input's range and the metric at each end, each number in
    its one format (inputs as the fields show them, rates in %; the metric as the metrics
    table shows it), the swing signed, and the source of the range in full."""
    return pd.DataFrame(
        {
            "Input": [_field_name(f) for f in table["field"]],
            "As set": [
                field_value_text(f, v) for f, v in zip(table["field"], table["base"], strict=True)
            ],
            "Low": [
                field_value_text(f, v) for f, v in zip(table["field"], table["low"], strict=True)
            ],
            "High": [
                field_value_text(f, v) for f, v in zip(table["field"], table["high"], strict=True)
            ],
            f"{metric_label(metric)} at low": [
                format_metric(metric, v) for v in table["metric_low"]
            ],
            f"{metric_label(metric)} at high": [
                format_metric(metric, v) for v in table["metric_high"]
            ],
            "Swing (high - low)": [format_metric(metric, v, signed=True) for v in table["swing"]],
            "Clipped": [
                str(n) if c else "" for n, c in zip(table["note"], table["clipped"], strict=True)
            ],
            "Range source": [str(s) for s in table["source"]],
        }
    )


def _default_axis(ctx: ViewContext, name: str) -> tuple[float, float]:
    vals = ca.default_heatmap_values(ctx.scenario, name)
    return float(vals[0]), float(vals[-1])


@st.fragment
def _heatmap_section(ctx: ViewContext) -> None:
    st.subheader("Heatmap: a metric over two inputs")
    c1, c2, c3 = st.columns(3)
    metric = c1.selectbox("Metric", METRICS, format_func=_metric_name, key=KEY + "heat_metric")
    x_field = c2.selectbox(
        "Across (x axis)",
        list(FIELD_NAMES),
        index=FIELD_NAMES.index(ca.HEATMAP_X),
        format_func=_field_name,
        key=KEY + "heat_x",
    )
    y_field = c3.selectbox(
        "Up (y axis)",
        list(FIELD_NAMES),
        index=FIELD_NAMES.index(ca.HEATMAP_Y),
        format_func=_field_name,
        key=KEY + "heat_y",
    )
    if x_field == y_field:
        st.warning("Choose two different inputs for the two axes.")
        return
    x_lo, x_hi = _default_axis(ctx, x_field)
    y_lo, y_hi = _default_axis(ctx, y_field)
    c4, c5, c6, c7, c8 = st.columns(5)
    xs_spec, ys_spec = FIELD_SPECS[x_field], FIELD_SPECS[y_field]
    # keys include the field so that a new lever starts from its own sensible range
    x_from = _bound_input(c4, x_field, "from", x_lo, f"{KEY}heat_x_lo_{x_field}")
    x_to = _bound_input(c5, x_field, "to", x_hi, f"{KEY}heat_x_hi_{x_field}")
    y_from = _bound_input(c6, y_field, "from", y_lo, f"{KEY}heat_y_lo_{y_field}")
    y_to = _bound_input(c7, y_field, "to", y_hi, f"{KEY}heat_y_hi_{y_field}")
    points = c8.slider("Points per axis", 5, 50, ca.HEATMAP_POINTS, key=KEY + "heat_points")
    problems = [
        f"{spec.label}: 'from' {field_value_text(spec.name, a)} must be below 'to' "
        f"{field_value_text(spec.name, b)}"
        for spec, a, b in ((xs_spec, x_from, x_to), (ys_spec, y_from, y_to))
        if not a < b
    ]
    if problems:
        st.warning(escape_markdown("; ".join(problems)))
        return
    xs = _axis_values(x_field, x_from, x_to, points)
    ys = _axis_values(y_field, y_from, y_to, points)
    try:
        table = _grid(scenario_values(ctx.scenario), x_field, xs, y_field, ys, metric)
    except ValueError as exc:
        st.warning(escape_markdown(str(exc)))
        return
    current = (float(getattr(ctx.scenario, x_field)), float(getattr(ctx.scenario, y_field)))
    show_chart(ca.heatmap_chart(table, ctx.label, current), "heatmap", ctx)
    st.caption(
        md(
            f"{len(ys)} x {len(xs)} scenarios, each evaluated in full; every other input as set. "
            f"Cell values in {METRIC_UNITS.get(metric, '')}"
            + (" (shown in %)" if ca.metric_scale(metric) != 1 else "")
            + ". The dashed line is where the metric crosses zero."
        )
    )


def _bound_input(column: Any, name: str, end: str, value: float, key: str) -> float:
    """One end of a heatmap axis, shown and typed as people read it (percent for rates).

    Returns the value in the model's unit (a fraction for rates).
    """
    spec = FIELD_SPECS[name]
    k = display_scale(name)
    shown = column.number_input(
        md(f"{spec.label} {end} ({percent_unit(spec)})"),
        value=float(value) * k,
        min_value=float(spec.low) * k,
        max_value=float(spec.high) * k,
        key=key,
        help=md(
            f"Allowed: {field_value_text(name, spec.low)} to {field_value_text(name, spec.high)}"
            + ("" if k != 1 else f" {spec.unit}")
        ),
    )
    return float(shown) / k


def _axis_values(name: str, lo: float, hi: float, points: int) -> tuple[float, ...]:
    if FIELD_SPECS[name].integer:
        return tuple(float(v) for v in np.unique(np.round(np.linspace(lo, hi, points))))
    return tuple(float(v) for v in np.round(np.linspace(lo, hi, points), 10))


QUESTIONS: dict[str, tuple[str, str, str]] = {
    "Lease rate at which NPV = 0": ("lease_rate_busd_per_gw_year", "npv_busd", "zero"),
    "Capex per GW at which IRR = WACC": ("capex_per_gw_busd", "irr", "wacc"),
    "Inference efficiency at which NPV = 0": ("efficiency_multiplier", "npv_busd", "zero"),
    "WACC at which NPV = 0": ("wacc", "npv_busd", "zero"),
    "Your own question": ("", "", ""),
}


@st.fragment
def _breakeven_section(ctx: ViewContext) -> None:
    st.subheader("Breakeven: what value of an input hits a target?")
    question = st.selectbox("Question", list(QUESTIONS), key=KEY + "be_question")
    field, metric, target_kind = QUESTIONS[question]
    s = ctx.scenario
    if not field:
        c1, c2, c3 = st.columns(3)
        field = c1.selectbox(
            "Input to solve for",
            [f for f in FIELD_NAMES],
            index=FIELD_NAMES.index("lease_rate_busd_per_gw_year"),
            format_func=_field_name,
            key=KEY + "be_field",
        )
        metric = c2.selectbox("Metric", METRICS, format_func=_metric_name, key=KEY + "be_metric")
        scale = ca.metric_scale(metric)
        target_shown = c3.number_input(
            md(f"Target ({ca.metric_axis(metric).split('(', 1)[-1].rstrip(')')})"),
            value=0.0,
            key=KEY + "be_target",
            help="Fractions per year are entered in % (e.g. 8.7 for an IRR of 8.7%).",
        )
        target = float(target_shown) / scale
    else:
        target = s.wacc if target_kind == "wacc" else 0.0
    try:
        be = _breakeven(scenario_values(s), field, metric, float(target))
    except ValueError as exc:
        st.warning(escape_markdown(str(exc)))
        return
    spec = FIELD_SPECS[field]
    cols = st.columns(3)
    cols[0].metric(
        md(f"Breakeven {spec.label.lower()}, {percent_unit(spec)}"),
        "none in range"
        if be.value is None
        else (
            f"{be.value * 100:,.2f}%"
            if display_scale(field) != 1
            else f"{be.value:,.{0 if spec.integer else 2}f}"
        ),
        delta=None
        if be.value is None
        else f"{(be.value - be.current_value) * display_scale(field):+,.2f} vs as set",
        delta_color="off",
        border=True,
        help=md(f"Searched {spec.label} from {be.search_low:g} to {be.search_high:g} {spec.unit}."),
    )
    cols[1].metric(
        md(f"{spec.label} as set, {percent_unit(spec)}"),
        field_value_text(field, be.current_value),
        border=True,
    )
    cols[2].metric(
        md(f"{metric_label(metric)} as set"),
        md(
            format_metric(
                metric, float(be.current_metric) if np.isfinite(be.current_metric) else None
            )
        ),
        delta=md(f"target {format_metric(metric, float(target))}"),
        delta_color="off",
        delta_arrow="off",
        border=True,
    )
    if be.value is not None:
        # in the formats of the KPIs above (the model's reason keeps raw units)
        st.success(escape_markdown(breakeven_sentence(field, metric, be.value, target)))
    else:
        text = be.reason.replace(field, spec.label).replace(
            metric, ca.METRIC_TITLES.get(metric, metric)
        )
        st.info(escape_markdown(text))


def breakeven_sentence(field: str, metric: str, value: float, target: float) -> str:
    """``NPV at WACC reaches US$ 0.0 B at Lease rate = US$ 11.34 B per GW-year.``

    The metric in its one format, the input as the sidebar shows it (percent for rates) with
    its unit.
    """
    spec = FIELD_SPECS[field]
    if display_scale(field) != 1:
        shown = f"{value * 100:,.2f}{percent_unit(spec)}"
    elif spec.unit.startswith("US$ B"):
        shown = f"US$ {value:,.2f} B{spec.unit.removeprefix('US$ B')}"
    else:
        digits = 0 if spec.integer else 2
        shown = f"{value:,.{digits}f} {spec.unit}"
    return (
        f"{metric_label(metric)} reaches {format_metric(metric, target)} at {spec.label} = {shown}."
    )
