"""Charts of the Sensitivity, Uncertainty, Stress tests and Compare tabs (Plotly, no Streamlit).

Each builder takes the analysis result (a DataFrame from :mod:`model.sensitivity`,
:mod:`model.uncertainty` or :mod:`model.stress`) and the scenario's label, and returns a figure in
the project's one look (:func:`app.charts.style`): units on every axis, a title that names the
scenario. :func:`app.export.analyses.analysis_figures` draws the default set for export. User text (saved scenario
names) is HTML-escaped before it reaches a figure.
"""

from __future__ import annotations

import html
import textwrap
from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from app.charts.base import (
    AXIS,
    INK,
    MUTED,
    NEGATIVE,
    POSITIVE,
    SUBTITLE_CHARS,
    Chart,
    busd_hover,
    finite_or_none,
    gain_loss_colors,
    metric_hover,
    style,
    title_margin,
)
from app.context import is_percent, percent_unit
from model import FIELD_SPECS, Scenario, default_ranges
from model.metrics import METRICS, format_metric, metric_label, metric_spec
from model.stress import AS_SET

# One palette (Okabe-Ito, distinguishable with the common colour-vision deficiencies): the
# tornado's low/high ends are a neutral pair that never means good or bad; gains and losses are
# blue and vermillion on every chart.
LOW = "#56B4E9"
HIGH = "#E69F00"
NEG = NEGATIVE
POS = POSITIVE
#: Draws of the Monte Carlo run drawn for export (kept modest: export must be quick).
#: Default heatmap levers and points per axis.
HEATMAP_X = "capex_per_gw_busd"
HEATMAP_Y = "lease_rate_busd_per_gw_year"
HEATMAP_POINTS = 21

#: Metric names for people, from the one table of metrics (:mod:`model.metrics`).
METRIC_TITLES: dict[str, str] = {name: spec.label for name, spec in METRICS.items()}
#: Metrics the model keeps as fractions and the charts show in percent (the same table).
PERCENT_METRICS = frozenset(name for name, spec in METRICS.items() if spec.percent)


def _range_text(field: str, low: float, high: float) -> str:
    """An input's range as people read it: ``7.4% to 10% per year``, ``40 to 45 US$ B per GW``."""
    spec = FIELD_SPECS[field]
    if is_percent(spec):
        unit = percent_unit(spec).removeprefix("%").strip()
        return f"{low * 100:.4g}% to {high * 100:.4g}% {unit}".strip()
    return f"{low:g} to {high:g} {spec.unit}"


#: Characters per line of a stress-test shock's name, written above its bars across the chart's
#: width (about 300 px at 13 px on a 390 px phone).
SHOCK_NAME_CHARS = 46
#: Stress chart rows in pixels: a bar, the gap under it, one line of a shock's name above it.
STRESS_BAR_PX, STRESS_GAP_PX, STRESS_LINE_PX = 20.0, 14.0, 17.0


def wrap_text(text: str, width: int) -> str:
    """User or data text escaped and broken into lines of at most ``width`` characters.

    Examples
    --------
    >>> wrap_text("Refinancing squeeze: debt at 15% & more", 20)
    'Refinancing squeeze:<br>debt at 15% &amp; more'
    """
    return "<br>".join(esc(line) for line in textwrap.wrap(text, width) or [""])


def esc(text: object) -> str:
    """User or data text made literal inside a Plotly label (Plotly renders a subset of HTML)."""
    return html.escape(str(text), quote=True)


def metric_scale(metric: str) -> float:
    """Factor from the model's unit to the unit shown (fractions per year -> %)."""
    return metric_spec(metric).scale


def metric_axis(metric: str) -> str:
    """Axis title with unit, e.g. ``NPV at WACC (US$ B)`` or ``IRR (% per year)``."""
    return metric_label(metric, unit=True)


def field_axis(name: str) -> str:
    spec = FIELD_SPECS[name]
    return f"{spec.label} ({spec.unit})"


# ---- sensitivity ------------------------------------------------------------------------------
def tornado_chart(table: pd.DataFrame, label: str) -> go.Figure:
    """Bars from the metric as set to its value at each end of each input's range."""
    metric = str(table.attrs.get("metric", "npv_busd"))
    k = metric_scale(metric)
    base = float(table.attrs.get("metric_base", np.nan)) * k
    moves = ~(table["swing"].abs() <= 1e-9 * max(1.0, abs(base)))
    flat = [
        FIELD_SPECS[str(r["field"])].label + (" †" if bool(r["clipped"]) else "")
        for _, r in table[~moves].iterrows()
    ]
    rows = table[moves].iloc[::-1]  # largest swing on top
    names = []
    for _, r in rows.iterrows():
        spec = FIELD_SPECS[str(r["field"])]
        mark = " †" if bool(r["clipped"]) else ""
        names.append(
            f"<b>{esc(spec.label)}</b>{mark}<br><span style='font-size:11px;color:{MUTED}'>"
            f"{esc(_range_text(str(r['field']), float(r['low']), float(r['high'])))}</span>"
        )
    c = Chart()
    c.layout["hovermode"] = "closest"
    c.layout["barmode"] = "overlay"
    # where both ends move the metric the same way, the high end's bar is drawn narrower on
    # top of the low end's, so neither hides the other
    low_move = rows["metric_low"].to_numpy(dtype=np.float64) * k - base
    high_move = rows["metric_high"].to_numpy(dtype=np.float64) * k - base
    same_side = np.nan_to_num(low_move * high_move) > 0
    widths = {"low": [0.75] * len(names), "high": np.where(same_side, 0.4, 0.75).tolist()}
    for end, color, title in (
        ("low", LOW, "Input at low end"),
        ("high", HIGH, "Input at high end"),
    ):
        vals = rows[f"metric_{end}"].to_numpy(dtype=np.float64) * k
        c.bar(
            finite_or_none(vals - base),
            names,
            title,
            color,
            width=widths[end],
            orientation="h",
            base=[base] * len(names),
            customdata=finite_or_none(vals),
            hover=f"%{{y}}<br>{title}: {metric_label(metric)} "
            f"{metric_hover(metric, 'customdata')}<extra></extra>",
        )
    c.rule(base, INK, dash="solid")
    c.label(base, f"as set: {format_metric(metric, base / k)}", INK)
    clipped = bool(table["clipped"].any())
    extra = []
    if clipped:
        # the notes themselves, so an exported image says what was clipped without the page
        notes = "; ".join(
            f"{FIELD_SPECS[str(f)].label} {n}"
            for f, n in zip(table["field"], table["note"], strict=True)
            if str(n)
        )
        extra.append(esc(f"† range clipped: {notes}"))  # the title wraps it for a phone
    if flat:
        extra.append("No effect here: " + esc(_short_list(flat)))
    subtitle = "<br>".join([esc(label), *extra])
    title = f"Tornado: {METRIC_TITLES.get(metric, metric)} as each input moves across its range"
    fig = style(
        c,
        title,
        subtitle,
        metric_axis(metric),
        "",
        height=max(380, 130 + 44 * len(names) + title_margin(title, subtitle)),
    )
    # the "as set" label stands above the plot: room for it under the subtitle
    fig.update_layout(margin={"t": title_margin(title, subtitle) + 18}, bargap=0.25)
    return fig


def _short_list(items: list[str], limit: int = 6) -> str:
    if len(items) <= limit:
        return ", ".join(items)
    return ", ".join(items[:limit]) + f" and {len(items) - limit} more"


def wrap_label(label: str, width: int = SUBTITLE_CHARS) -> str:
    """Break a long scenario label at ', ' so it fits a half-width chart (escaped)."""
    parts = label.split(", ")
    lines: list[str] = []
    line = ""
    for part in parts:
        candidate = f"{line}, {part}" if line else part
        if len(candidate) + 1 > width and line:  # room for the comma that ends the line
            lines.append(line + ",")
            line = part
        else:
            line = candidate
    lines.append(line)
    return "<br>".join(esc(x) for x in lines)


def mark_text(metric: str, shown: float) -> str:
    """A value on a metric's axis (already in the unit shown) in the metric's decimals.

    Examples
    --------
    >>> mark_text("npv_busd", -45.254), mark_text("irr", 8.7)
    ('-45.3', '8.7%')
    """
    spec = metric_spec(metric)
    return f"{shown:,.{spec.digits}f}" + ("%" if spec.percent else "")


def _percentile_marks(c: Chart, marks: list[tuple[str, float]], metric: str) -> None:
    """Dotted lines at P10/P50/P90 with labels staggered so they never overlap."""
    for i, (name, x) in enumerate(marks):
        c.rule(x, INK)
        # above the plot, one row per mark: never over a bar
        c.label(
            x,
            f"{name} {mark_text(metric, x)}",
            INK,
            yshift=2 + 15 * (len(marks) - 1 - i),
            xanchor="center",
            bgcolor="rgba(255,255,255,0.85)",
        )


def heatmap_chart(
    table: pd.DataFrame, label: str, current: tuple[float, float] | None = None
) -> go.Figure:
    """``metric`` over two inputs, with the NPV = 0 (or IRR = WACC-free zero) contour marked."""
    metric = str(table.attrs.get("metric", "npv_busd"))
    k = metric_scale(metric)
    x_field = str(table.columns.name)
    y_field = str(table.index.name)
    z = table.to_numpy(dtype=np.float64) * k
    zl = [[float(v) if np.isfinite(v) else None for v in row] for row in z]
    xs = [float(v) for v in table.columns]
    ys = [float(v) for v in table.index]
    diverging = bool(np.nanmin(z) < 0 < np.nanmax(z)) if np.isfinite(z).any() else False
    c = Chart()
    c.layout["hovermode"] = "closest"
    trace: dict[str, object] = {
        "x": xs,
        "y": ys,
        "z": zl,
        "colorbar": {"title": {"text": esc(metric_axis(metric)), "side": "right"}},
        "hovertemplate": (
            f"{esc(FIELD_SPECS[x_field].label)} %{{x:,.4g}}<br>"
            f"{esc(FIELD_SPECS[y_field].label)} %{{y:,.4g}}<br>"
            f"{esc(METRIC_TITLES.get(metric, metric))} %{{z:,.2f}}<extra></extra>"
        ),
    }
    if diverging:
        trace.update(colorscale="RdBu", zmid=0.0)
    else:
        trace.update(colorscale="Viridis")
    c.add("heatmap", **trace)
    if diverging:
        c.zero_contour(
            xs,
            ys,
            zl,
            f"{METRIC_TITLES.get(metric, metric)} = 0",
            {"color": INK, "width": 2, "dash": "dash"},
        )
    if current is not None:
        c.point(
            current[0],
            current[1],
            "Scenario as set",
            INK,
            hover="Scenario as set",
            size=12,
            symbol="x",
            line={"width": 2},
        )
    infeasible = int(table.attrs.get("infeasible_cells", 0))
    note = (
        f"<br>{infeasible} blank cells: leased + hosted share above 1 (not allowed)"
        if infeasible
        else ""
    )
    return style(
        c,
        f"{METRIC_TITLES.get(metric, metric)} over {FIELD_SPECS[x_field].label} and "
        f"{FIELD_SPECS[y_field].label}",
        esc(label) + note,
        field_axis(x_field),
        field_axis(y_field),
        height=520,
    )


# ---- stress tests -----------------------------------------------------------------------------
def _padded_range(values: np.ndarray) -> list[float]:
    """An axis range from 0 that leaves room for the value labels outside the bars."""
    v = values[np.isfinite(values)]
    lo, hi = (min(0.0, float(v.min())), max(0.0, float(v.max()))) if v.size else (0.0, 1.0)
    pad = 0.3 * max(hi - lo, 1e-9)  # a label such as "-168.0" is ~6 characters wide
    return [lo - (pad if lo < 0 else 0.0), hi + (pad if hi > 0 else 0.0)]


def _bar_text(metric: str, value: float) -> str:
    """A bar's value label: the metric's number and unit sign without the currency words."""
    if not np.isfinite(value):
        return "n/a"
    spec = metric_spec(metric)
    shown = value * spec.scale
    return f"{shown:,.{spec.digits}f}" + ("%" if spec.percent else "")


def stress_chart(table: pd.DataFrame, label: str) -> go.Figure:
    """NPV (US$ B) and IRR (% per year) under each shock, against the scenario as set.

    Each shock's name is written above its two bars, across the whole width, rather than on
    the y axis: on a phone the axis labels took half the width and ran into each other.
    """
    rows = table.iloc[::-1]
    names = [wrap_text(str(n), SHOCK_NAME_CHARS) for n in rows["name"]]
    # y in pixels from the bottom: each row a gap, its bar, then its name's lines
    centres, tops, y0 = [], [], 0.0
    for name in names:
        centres.append(y0 + STRESS_GAP_PX + STRESS_BAR_PX / 2)
        tops.append(y0 + STRESS_GAP_PX + STRESS_BAR_PX + 3)
        y0 += STRESS_GAP_PX + STRESS_BAR_PX + 3 + STRESS_LINE_PX * (name.count("<br>") + 1)
    npv = rows["npv_busd"].to_numpy(dtype=np.float64)
    irr = rows["irr"].to_numpy(dtype=np.float64) * 100.0
    base_npv = float(table.loc[table["shock"] == AS_SET, "npv_busd"].iloc[0])
    base_irr = float(table.loc[table["shock"] == AS_SET, "irr"].iloc[0]) * 100.0
    c = Chart()
    c.layout["hovermode"] = "closest"
    plain = [esc(n) for n in rows["name"]]
    for metric, values, axis in (("npv_busd", npv, "x"), ("irr", irr, "x2")):
        c.bar(
            finite_or_none(values),
            centres,
            metric_axis(metric),
            gain_loss_colors(values),
            orientation="h",
            width=STRESS_BAR_PX,
            text=[_bar_text(metric, v / metric_scale(metric)) for v in values],
            textposition="outside",
            cliponaxis=False,
            customdata=plain,
            hover=(
                f"%{{customdata}}<br>{metric_label(metric)}: {metric_hover(metric)}<extra></extra>"
            ),
            xaxis=axis,
            yaxis="y",
        )
    for x, ref in ((base_npv, "x"), (base_irr, "x2")):
        if np.isfinite(x):
            # under the bars and their value labels, so no number is struck through
            c.rule(x, INK, width=1.2, xref=ref, layer="below")
    title = "Stress tests: NPV and IRR under each shock (dotted line: scenario as set)"
    top = title_margin(title, esc(label))
    fig = style(
        c, title, esc(label), "NPV at WACC (US$ B)", "", height=int(y0) + top + 110, legend=False
    )
    fig.update_layout(
        margin={"l": 12, "r": 24},
        yaxis={
            "range": [0.0, y0],
            "showticklabels": False,
            "showgrid": False,
            "zeroline": False,
            "ticks": "",
            "fixedrange": True,
        },
        xaxis={"domain": [0.0, 0.47], "range": _padded_range(npv)},
        xaxis2={
            **AXIS,
            "range": _padded_range(irr),
            "domain": [0.53, 1.0],
            "anchor": "y",
            "title": {"text": "IRR (% per year)", "font": {"size": 13}},
        },
    )
    for name, y in zip(names, tops, strict=True):
        fig.add_annotation(
            text=name,
            x=0.0,
            xref="paper",
            xanchor="left",
            y=y,
            yref="y",
            yanchor="bottom",
            align="left",
            showarrow=False,
            font={"size": 13, "color": INK},
            bgcolor="rgba(255,255,255,0.85)",  # the reference lines pass behind the name
        )
    return fig


# ---- uncertainty ------------------------------------------------------------------------------
def histogram_chart(
    values: np.ndarray,
    metric: str,
    label: str,
    n: int,
    *,
    bins: int = 60,
    hurdle: tuple[str, str, float, float] | None = None,
    point: float | None = None,
) -> go.Figure:
    """Histogram of one metric over the draws with P10/P50/P90 marked (numpy percentiles).

    ``hurdle`` = (name in the title, label of the line, value in the model's unit, share of draws
    below it) replaces zero as what the title counts against (e.g. the WACC for IRR).
    ``point`` (the metric of the scenario as set, model unit) is marked "As set", so a median far
    from the point estimate shows at once.
    """
    k = metric_scale(metric)
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)] * k
    c = Chart()
    c.layout["hovermode"] = "closest"
    undefined = n - v.size
    if v.size:
        counts, edges = np.histogram(v, bins=bins)
        mids = 0.5 * (edges[:-1] + edges[1:])
        share = counts / n * 100.0
        c.add(
            "bar",
            x=finite_or_none(mids),
            y=finite_or_none(share),
            width=float(edges[1] - edges[0]),
            marker={
                "color": gain_loss_colors(mids, hurdle[2] * k if hurdle else 0.0),
                "line": {"width": 0},
            },
            name="Share of draws",
            hovertemplate=f"{metric_hover(metric)}: %{{y:.2f}}% of draws<extra></extra>",
        )
        p10, p50, p90 = (float(q) for q in np.percentile(v, [10, 50, 90]))
        _percentile_marks(c, [("P10", p10), ("P50", p50), ("P90", p90)], metric)
    if point is not None and np.isfinite(point):
        c.vline(point * k, f"As set {mark_text(metric, point * k)}", INK, "bottom")
    below = float(np.sum(v < 0)) / n * 100 if n else float("nan")
    where = "zero"
    if hurdle is not None:
        where, below = hurdle[0], hurdle[3] * 100.0
        c.vline(hurdle[2] * k, f"{hurdle[1]} {mark_text(metric, hurdle[2] * k)}", NEG, "bottom")
    sub = wrap_label(label)
    if undefined:
        sub += f"<br>{undefined:,} draws have no IRR (cash flows never turn positive)"
    title = f"{METRIC_TITLES.get(metric, metric)}: {below:.1f}% of {n:,} draws below {where}"
    return _distribution_style(c, title, sub, metric, "Share of draws (%)")


def _distribution_style(
    c: Chart, title: str, subtitle: str, metric: str, y_title: str
) -> go.Figure:
    """:func:`style` for a distribution of draws, with room above the plot for a subtitle of
    several lines and the P10/P50/P90 labels."""
    fig = style(c, title, subtitle, metric_axis(metric), y_title, height=430, legend=False)
    fig.update_layout(margin={"t": fig.layout.margin.t + 50})
    return fig


def cdf_chart(values: np.ndarray, metric: str, label: str, n: int) -> go.Figure:
    """Cumulative distribution of one metric with P10/P50/P90 marked."""
    k = metric_scale(metric)
    v = np.sort(np.asarray(values, dtype=np.float64)[np.isfinite(values)]) * k
    c = Chart()
    c.layout["hovermode"] = "closest"
    if v.size:
        q = np.linspace(0.0, 1.0, min(v.size, 1000))
        xs = np.quantile(v, q)
        c.line(
            finite_or_none(xs),
            finite_or_none(q * 100.0 * v.size / n),
            "Cumulative share",
            POS,
            width=2,
            hover=f"%{{y:.1f}}% of draws at or below {metric_hover(metric)}",
        )
        marks = [(f"P{p}", float(np.percentile(v, p))) for p in (10, 50, 90)]
        _percentile_marks(c, marks, metric)
        c.vline(0.0, "zero", NEG, "bottom")
    c.yaxis["range"] = [0, 100]
    sub = wrap_label(label)
    title = f"Cumulative distribution of {METRIC_TITLES.get(metric, metric)}"
    return _distribution_style(c, title, sub, metric, "Share of draws at or below (%)")


def drivers_chart(ranking: pd.DataFrame, label: str, metric: str = "npv_busd") -> go.Figure:
    """Share of the metric's variance each uncertain input explains (first-order, RBD-FAST).

    Bars are ordered by the share (largest on top); the colour is the direction, from the sign
    of the Spearman rank correlation (blue: the metric rises with the input). Falls back to the
    rank correlation alone for a ranking without ``s1``.
    """
    has_s1 = "s1" in ranking.columns
    key = "s1" if has_s1 else "spearman_rho"
    order = np.argsort(
        -np.abs(np.nan_to_num(ranking[key].to_numpy(dtype=np.float64))), kind="stable"
    )
    rows = ranking.iloc[order].iloc[::-1]
    rho = rows["spearman_rho"].to_numpy(dtype=np.float64)
    # a share of variance is at least zero: an estimate a little below (sampling noise of
    # RBD-FAST) is drawn as zero rather than as a bar pointing into the input's name
    x = np.maximum(rows["s1"].to_numpy(dtype=np.float64) * 100.0, 0.0) if has_s1 else rho
    c = Chart()
    c.layout["hovermode"] = "closest"
    c.add(
        "bar",
        orientation="h",
        y=[esc(FIELD_SPECS[f].label) for f in rows["field"]],
        x=finite_or_none(x),
        marker={"color": gain_loss_colors(np.nan_to_num(rho), strict=True)},
        text=[
            (f"{v:.0f}% ({'+' if r > 0 else '−'})" if has_s1 else f"{r:+.2f}")
            if np.isfinite(v)
            else "n/a"
            for v, r in zip(x, rho, strict=True)
        ],
        textposition="auto",
        hovertemplate=(
            "%{y}: %{x:.1f}% of the variance<extra></extra>"
            if has_s1
            else "%{y}: rank correlation %{x:+.3f}<extra></extra>"
        ),
    )
    name = METRIC_TITLES.get(metric, metric)
    if has_s1:
        c.xaxis["rangemode"] = "tozero"
    else:
        c.xaxis["range"] = [-1, 1]
    return style(
        c,
        f"What drives the spread of {name}: share of its variance each input explains",
        esc(label) + "<br>blue: rises with the input · vermillion: falls with it",
        f"First-order share of the variance of {name} (%, SALib RBD-FAST)"
        if has_s1
        else f"Spearman rank correlation with {name} (-1 to 1)",
        "",
        height=max(300, 110 + 40 * len(rows)),
        legend=False,
    )


# ---- compare ----------------------------------------------------------------------------------
def compare_cumulative_chart(
    cash: Mapping[str, pd.DataFrame], title_label: str, base: str | None = None
) -> go.Figure:
    """Cumulative free cash flow (US$ B) of several scenarios, overlaid."""
    c = Chart()
    palette = ["#1f4e79", "#e76f51", "#2a9d8f", "#6d597a", "#bc6c25", "#2e86ab"]
    for i, (name, cf) in enumerate(cash.items()):
        c.line(
            [int(y) for y in cf["year"]],
            finite_or_none(cf["cumulative_fcf"]),
            esc(name) + (" (base)" if name == base else ""),
            palette[i % len(palette)],
            width=3 if name == base else 2,
            markers=True,
            hover=busd_hover(digits=1, label=esc(name)),
        )
    c.hline(0.0)
    return style(
        c,
        "Cumulative free cash flow of the compared scenarios",
        esc(title_label),
        "Year (calendar: each scenario's first_year + t)",
        "Cumulative free cash flow (US$ B, nominal)",
    )


# ---- for export -------------------------------------------------------------------------------
def default_heatmap_values(s: Scenario, name: str, points: int = HEATMAP_POINTS) -> np.ndarray:
    """Sensible values for a heatmap axis: the sourced range widened around the value as set."""
    spec = FIELD_SPECS[name]
    v = float(getattr(s, name))
    if name in default_ranges():
        lo, hi, _ = default_ranges()[name]
        span = hi - lo
        lo, hi = min(lo - 0.5 * span, v), max(hi + 0.5 * span, v)
    else:
        lo, hi = (
            (0.5 * v, 1.5 * v) if v != 0 else (spec.low, spec.low + 0.2 * (spec.high - spec.low))
        )
    lo, hi = max(lo, spec.low), min(hi, spec.high)
    if spec.integer:
        return np.unique(np.round(np.linspace(lo, hi, points)))
    return np.round(np.linspace(lo, hi, points), 10)


__all__ = [
    "cdf_chart",
    "compare_cumulative_chart",
    "drivers_chart",
    "heatmap_chart",
    "histogram_chart",
    "stress_chart",
    "tornado_chart",
]
