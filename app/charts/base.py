"""The one look of every chart: palette, template, the :class:`Chart` builder and :func:`style`.

Shared by the tab modules (:mod:`app.charts.returns`, :mod:`app.charts.pricing`,
:mod:`app.charts.buy`) and :mod:`app.charts.analysis`.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence

import numpy as np
import plotly.graph_objects as go

from app.context import ViewContext
from model import Scenario

# The sweeps' grids and the illustrative deal are the model's (model/derived.py computes what the
# charts draw): one definition, re-exported here for the chart modules.
from model.derived import ELASTICITY_GRID as ELASTICITY_GRID
from model.derived import ILLUSTRATIVE_PROCURED_GW as ILLUSTRATIVE_PROCURED_GW
from model.derived import INDEX_GRID as INDEX_GRID
from model.derived import MULTIPLIER_GRID as MULTIPLIER_GRID
from model.metrics import metric_spec
from model.results import calendar_years

# ---- the one look ------------------------------------------------------------------------------
FONT = "Inter, 'Source Sans Pro', 'Helvetica Neue', Arial, sans-serif"
INK = "#1f2933"
GRID = "#e4e7eb"
MUTED = "#5f6b7a"  # 5.4:1 on white: readable grey text (WCAG AA)
COLORS = {
    "revenue_lease": "#1f4e79",
    "revenue_hosting": "#2e86ab",
    "revenue_resale": "#8ecae6",
    "residual_value": "#4c956c",
    "power_cost": "#f4a261",
    "other_opex": "#e9c46a",
    "variable_opex": "#d4a373",
    "procurement_cost": "#bc6c25",
    "tax": "#9aa5b1",
    "capex_build": "#9b2226",
    "capex_refresh": "#e5383b",
    "fcf": INK,
    "accent": "#2a9d8f",
    "builder": "#1f4e79",
    "industry": "#e76f51",
    "current": "#6c757d",
    "lessor": "#1f4e79",
    "host": "#2e86ab",
}
INDEX_COLORS = {
    "token_price_index": "#e76f51",
    "token_volume_index": "#2a9d8f",
    "compute_demand_index": "#b5a1c9",
    "lease_rate_index": "#1f4e79",
}
#: Line width (px) and dash of each index: compute demand drawn wide so the dashed lease rate
#: running along it stays visible.
INDEX_STYLE: dict[str, tuple[float, str | None]] = {
    "token_price_index": (2.5, None),
    "token_volume_index": (2.5, None),
    "compute_demand_index": (6.0, None),
    "lease_rate_index": (2.5, "dash"),
}
#: Log-axis ticks for indices (1 = today).
INDEX_TICKS = [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5, 7, 10, 20, 50]
BUSD = "US$ B"
#: Colour of gains and of losses, the same on every chart (Okabe-Ito blue and vermillion:
#: distinguishable with the common colour-vision deficiencies).
POSITIVE = "#0072B2"
NEGATIVE = "#D55E00"


#: The shared template: small on purpose (plotly's default template costs ~60 ms per figure).
TEMPLATE = go.layout.Template(
    layout={
        "colorway": [
            "#1f4e79",
            "#e76f51",
            "#2a9d8f",
            "#6d597a",
            "#2e86ab",
            "#bc6c25",
            "#9aa5b1",
        ],
        "font": {"family": FONT, "size": 13, "color": INK},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
    }
)


#: The axis look every chart shares (grid, zero line, outside ticks, labels never clipped).
AXIS: dict[str, object] = {
    "gridcolor": GRID,
    "zerolinecolor": MUTED,
    "linecolor": MUTED,
    "showline": True,
    "ticks": "outside",
    "automargin": True,
}


def busd_hover(axis: str = "y", digits: int = 2, label: str = "", per: str = "") -> str:
    """Hover text of a US$ B value, ``label: US$ 1,234.56 B`` (``per`` adds e.g. `` per GW-year``).

    The money format of the KPIs (``US$ 20.9 B``); plotly puts a minus after the prefix
    (``US$ -3.20 B``).
    """
    head = f"{label}: " if label else ""
    return f"{head}US$ %{{{axis}:,.{digits}f}} B{per}"


def metric_hover(metric: str, axis: str = "x") -> str:
    """Hover number of a metric in its shown unit and decimals (table of metrics, methodology §12).

    ``npv_busd`` reads ``US$ -3.2 B``, ``irr`` reads ``11.3%``; the trace holds the value as
    shown (percent metrics already multiplied by 100).

    Examples
    --------
    >>> metric_hover("npv_busd"), metric_hover("irr", "y")
    ('US$ %{x:,.1f} B', '%{y:,.1f}%')
    """
    spec = metric_spec(metric)
    number = f"%{{{axis}:,.{spec.digits}f}}"
    if spec.percent:
        return f"{number}%"
    if spec.prefix or spec.suffix:
        return f"{spec.prefix}{number}{spec.suffix}"
    return f"{number} {spec.unit}".strip()


def gain_loss_colors(
    values: Sequence[float] | np.ndarray, hurdle: float = 0.0, *, strict: bool = False
) -> list[str]:
    """One colour per value: :data:`NEGATIVE` below ``hurdle``, :data:`POSITIVE` otherwise.

    With ``strict`` a value equal to the hurdle counts as a loss (a direction of zero is no
    gain). A value that is not finite reads as a gain (its bar is not drawn).
    """
    out = []
    for v in np.asarray(values, dtype=np.float64):
        below = v <= hurdle if strict else v < hurdle
        out.append(NEGATIVE if np.isfinite(v) and below else POSITIVE)
    return out


def on_view(
    build: Callable[..., go.Figure], *, with_result: bool = True
) -> Callable[[ViewContext], go.Figure]:
    """The chart registry's form of a builder that takes ``(scenario, [result,] label)``.

    The returned function draws the dashboard's scenario from its :class:`ViewContext`.
    """

    def draw(ctx: ViewContext) -> go.Figure:
        if with_result:
            return build(ctx.scenario, ctx.result, ctx.label)
        return build(ctx.scenario, ctx.label)

    draw.__name__ = f"{build.__name__}_for_view"
    draw.__doc__ = f":func:`{build.__name__}` for the dashboard's scenario (chart registry form)."
    return draw


def with_label(text: str, label: str) -> str:
    """A subtitle followed by the scenario's label, ``text · label`` (either alone without the other).

    Examples
    --------
    >>> with_label("pass-through 50%", "bofa-base"), with_label("", "bofa-base")
    ('pass-through 50% · bofa-base', 'bofa-base')
    """
    return f"{text} · {label}" if text and label else text or label


class Chart:
    """A figure under construction as plain dicts (plotly's object model costs ~50 ms a chart).

    Traces: ``line`` (a named series), ``bar`` (a named bar series), ``point`` (a marked value),
    ``zero_contour`` (where a surface crosses zero) and ``add`` for anything else. Reference
    marks: ``vline`` (dotted line with a label), ``rule`` (a plain vertical line), ``label``
    (text above the plot), ``hline``, ``vrect`` and ``note``. Axes: ``year_axis``,
    ``percent_axis``, ``multiplier_axis``. :func:`style` sets the shared layout and
    :meth:`figure` validates once into a Figure.
    """

    def __init__(self) -> None:
        self.traces: list[dict[str, object]] = []
        self.layout: dict[str, object] = {"template": TEMPLATE}
        self.shapes: list[dict[str, object]] = []
        self.annotations: list[dict[str, object]] = []
        self.xaxis: dict[str, object] = {}
        self.yaxis: dict[str, object] = {}

    def add(self, kind: str, **trace: object) -> None:
        self.traces.append({"type": kind, **trace})

    # ---- traces ----------------------------------------------------------------------------
    def year_line(
        self, years: list[int], values: object, name: str, color: str, width: float = 2.5
    ) -> None:
        """An annual series in US$ B with a dot each year; the hover box names the series."""
        self.line(
            years,
            _list(values),
            name,
            color,
            width=width,
            markers=True,
            hover=busd_hover(),
            extra=True,
        )

    def line(
        self,
        x: Sequence[float | None],
        y: Sequence[float | None],
        name: str,
        color: str,
        *,
        width: float = 2.5,
        dash: str | None = None,
        hover: str = "US$ %{y:,.1f} B",
        markers: bool = False,
        extra: bool = False,
        **trace: object,
    ) -> None:
        """A named line (the shape most series of the dashboard share).

        ``markers`` draws a dot at each point; ``extra`` keeps the trace's name in the hover box
        (off by default: the hover text says what the value is).
        """
        style: dict[str, object] = {"color": color, "width": width}
        if dash:
            style["dash"] = dash
        self.add(
            "scatter",
            x=x,
            y=y,
            name=name,
            mode="lines+markers" if markers else "lines",
            line=style,
            hovertemplate=hover if extra else f"{hover}<extra></extra>",
            **trace,
        )

    def bar(
        self,
        x: Sequence[float | str | None],
        y: Sequence[float | str | None],
        name: str,
        color: str | list[str],
        *,
        hover: str = "US$ %{y:,.2f} B",
        **trace: object,
    ) -> None:
        """A named bar series (stacked by the chart's ``barmode``); US$ B on hover by default."""
        self.add("bar", x=x, y=y, name=name, marker={"color": color}, hovertemplate=hover, **trace)

    def point(
        self,
        x: float | Sequence[float],
        y: float | Sequence[float],
        name: str,
        color: str,
        *,
        hover: str,
        size: int = 11,
        symbol: str | None = None,
        **marker: object,
    ) -> None:
        """Marked values (the scenario as set, a payback year, the IRRs) under one legend entry."""
        style: dict[str, object] = {"size": size, "color": color, **marker}
        if symbol:
            style["symbol"] = symbol
        self.add(
            "scatter",
            x=list(x) if isinstance(x, Sequence) else [x],
            y=list(y) if isinstance(y, Sequence) else [y],
            name=name,
            mode="markers",
            marker=style,
            hovertemplate=f"{hover}<extra></extra>",
        )

    def zero_contour(
        self,
        x: list[float],
        y: list[float],
        z: list[list[float | None]] | list[list[float]],
        name: str,
        line: dict[str, object],
    ) -> None:
        """The line where a heatmap's surface crosses zero, listed in the legend as ``name``."""
        self.add(
            "contour",
            x=x,
            y=y,
            z=z,
            contours={"start": 0.0, "end": 0.0, "size": 1.0, "coloring": "none"},
            line=line,
            showscale=False,
            hoverinfo="skip",
            name=name,
            showlegend=True,
        )

    # ---- reference marks -------------------------------------------------------------------
    def rule(
        self,
        x: float,
        color: str,
        *,
        dash: str = "dot",
        width: float = 1.5,
        xref: str = "x",
        layer: str = "above",
    ) -> None:
        """A vertical line across the plot at ``x`` (no label); ``layer="below"`` puts it
        under the traces and their text."""
        self.shapes.append(
            {
                "type": "line",
                "xref": xref,
                "yref": "paper",
                "x0": x,
                "x1": x,
                "y0": 0,
                "y1": 1,
                "line": {"color": color, "dash": dash, "width": width},
                "layer": layer,
            }
        )

    def label(self, x: float, text: str, color: str, **place: object) -> None:
        """Text just above the plot at ``x`` (``place`` overrides the anchor or adds a shift)."""
        self.annotations.append(
            {
                "x": x,
                "xref": "x",
                "yref": "paper",
                "y": 1.0,
                "yanchor": "bottom",
                "text": text,
                "showarrow": False,
                "font": {"size": 11, "color": color},
                **place,
            }
        )

    def vline(self, x: float, text: str, color: str, position: str = "top") -> None:
        """A dotted vertical line with its label inside the plot, at the top or the bottom."""
        self.rule(x, color)
        self.annotations.append(
            {
                "x": x,
                "xref": "x",
                "yref": "paper",
                "y": 1.0 if position == "top" else 0.0,
                "yanchor": "top" if position == "top" else "bottom",
                "xanchor": "left",
                "xshift": 4,
                "text": text,
                "showarrow": False,
                "font": {"size": 11, "color": color},
                "bgcolor": "rgba(255,255,255,0.8)",
            }
        )

    def hline(self, y: float, color: str = MUTED, dash: str = "solid") -> None:
        self.shapes.append(
            {
                "type": "line",
                "xref": "paper",
                "yref": "y",
                "x0": 0,
                "x1": 1,
                "y0": y,
                "y1": y,
                "line": {"color": color, "width": 1, "dash": dash},
            }
        )

    def vrect(self, x0: float, x1: float, color: str, text: str) -> None:
        self.shapes.append(
            {
                "type": "rect",
                "xref": "x",
                "yref": "paper",
                "x0": x0,
                "x1": x1,
                "y0": 0,
                "y1": 1,
                "fillcolor": color,
                "opacity": 0.07,
                "line": {"width": 0},
                "layer": "below",
            }
        )
        self.annotations.append(
            {
                # bottom right of the band, on white: curves rarely run along the floor of a
                # band, and never under its label unseen
                "x": x1,
                "xref": "x",
                "yref": "paper",
                "y": 0.01,
                "yanchor": "bottom",
                "xanchor": "right",
                "xshift": -4,
                "bgcolor": "rgba(255,255,255,0.9)",
                "text": text,
                "showarrow": False,
                "font": {"size": 11, "color": color},
            }
        )

    def note(self, text: str, color: str) -> None:
        self.annotations.append(
            {
                "text": text,
                "xref": "paper",
                "yref": "paper",
                "x": 0.99,
                "y": 0.05,
                "xanchor": "right",
                "showarrow": False,
                "font": {"color": color},
            }
        )

    # ---- axes ------------------------------------------------------------------------------
    def year_axis(self) -> None:
        """Calendar years on x: one tick a year, no zero line (``first_year`` is the first
        capex year)."""
        self.xaxis.update(dtick=1, zeroline=False)

    def percent_axis(self, axis: str = "x") -> None:
        """Fractions on ``axis`` read as whole percentages (0.25 -> 25%)."""
        (self.xaxis if axis == "x" else self.yaxis)["tickformat"] = ".0%"

    def multiplier_axis(self, s: Scenario, position: str = "top") -> None:
        """Efficiency multipliers on x (``2x``), with the scenario's own multiplier marked.

        ``position`` puts the mark's label at the ``top`` or ``bottom`` of the plot: where the
        chart's lines do not run (at 1x an NPV or revenue line starts at its highest).
        """
        if 1.0 <= s.efficiency_multiplier <= 4.0:
            label = f"scenario {s.efficiency_multiplier:g}x"
            self.vline(s.efficiency_multiplier, label, MUTED, position)
        self.xaxis["ticksuffix"] = "x"

    def figure(self) -> go.Figure:
        layout = dict(self.layout)
        layout["shapes"] = self.shapes
        layout["annotations"] = self.annotations
        for name, extra in (("xaxis", self.xaxis), ("yaxis", self.yaxis)):
            current = layout.get(name)
            layout[name] = {**(current if isinstance(current, dict) else {}), **extra}
        return go.Figure({"data": self.traces, "layout": layout})


def chart_config(filename: str, image_format: str = "png") -> dict[str, object]:
    """Plotly config for the on-screen toolbar: download as ``image_format`` ('png' or 'svg')."""
    return {
        "displaylogo": False,
        "toImageButtonOptions": {
            "format": image_format,
            "filename": filename,
            "height": 560,
            "width": 1000,
            "scale": 2 if image_format == "png" else 1,
        },
        "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d"],
    }


#: Characters per title / subtitle line: a chart on a 390 px phone is ~350 px wide.
TITLE_CHARS = 44
SUBTITLE_CHARS = 56


def _wrap(text: str, width: int) -> list[str]:
    """Lines of at most ``width`` characters; a ``<br>`` in the text always starts a new line."""
    lines: list[str] = []
    for part in text.split("<br>"):
        lines += textwrap.wrap(part, width, break_long_words=False, break_on_hyphens=False) or [""]
    return lines


def title_html(title: str, subtitle: str) -> str:
    """Title in bold and subtitle in grey, each wrapped so a phone's chart does not clip them."""
    head = "<br>".join(f"<b>{line}</b>" for line in _wrap(title, TITLE_CHARS))
    sub = "<br>".join(
        f"<span style='font-size:12px;color:{MUTED}'>{line}</span>"
        for line in _wrap(subtitle, SUBTITLE_CHARS)
    )
    return f"{head}<br>{sub}" if subtitle else head


def title_margin(title: str, subtitle: str) -> int:
    """Top margin (px) that fits the wrapped title and subtitle above the plot."""
    lines_title = len(_wrap(title, TITLE_CHARS))
    lines_sub = len(_wrap(subtitle, SUBTITLE_CHARS)) if subtitle else 0
    return 32 + 20 * lines_title + 16 * lines_sub


def style(
    chart: Chart,
    title: str,
    subtitle: str,
    x_title: str,
    y_title: str,
    *,
    height: int = 460,
    legend: bool = True,
) -> go.Figure:
    """Apply the shared layout (fonts, colours, margins, title with the scenario, axis units)."""
    axis = AXIS
    chart.layout.update(
        {
            "title": {
                "text": title_html(title, subtitle),
                "x": 0.012,
                "xref": "container",
                "xanchor": "left",
                "y": 1.0 - 18.0 / height,
                "yref": "container",
                "yanchor": "top",
                "font": {"size": 15, "color": INK, "family": FONT},
            },
            "font": {"family": FONT, "size": 13, "color": INK},
            "height": height,
            "margin": {
                "l": 70,
                "r": 30,
                "t": title_margin(title, subtitle),
                "b": 115 if legend else 60,
            },
            "hovermode": chart.layout.get("hovermode", "x unified"),
            "hoverlabel": {"font": {"family": FONT, "size": 12}},
            "showlegend": legend,
            "legend": {
                "orientation": "h",
                "yref": "container",
                "yanchor": "bottom",
                "y": 0.0,
                "xanchor": "left",
                "x": 0.0,
                "font": {"size": 12},
            },
            "xaxis": {**axis, "title": {"text": x_title, "font": {"size": 13}}},
            "yaxis": {
                **axis,
                "zerolinewidth": 1.5,
                "title": {"text": y_title, "font": {"size": 13}},
            },
        }
    )
    return chart.figure()


def year_labels(s: Scenario, years: object) -> list[int]:
    """A chart's x values: the calendar years of year indices, ``first_year + t``
    (:func:`model.results.calendar_years`, methodology section 1)."""
    return [int(y) for y in calendar_years(s.first_year, np.asarray(years))]


def _span_text(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}-{last}"


def _year_axis_title(s: Scenario) -> str:
    """``Year (2026-2027 build, 2028-2043 operate)``: calendar years (methodology section 1)."""
    y0, b, h = s.first_year, s.build_years, s.build_years + s.operating_years
    return f"Year ({_span_text(y0, y0 + b - 1)} build, {_span_text(y0 + b, y0 + h - 1)} operate)"


def same_series(a: object, b: object) -> bool:
    """True when two series coincide (a line drawn over the other would hide it)."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return x.shape == y.shape and bool(np.allclose(x, y, rtol=1e-6, atol=1e-9))


def finite_or_none(values: object) -> list[float | None]:
    """Plain Python floats with None where a value is not finite (a gap in a line or a blank cell)."""
    return [float(v) if np.isfinite(v) else None for v in np.asarray(values, dtype=np.float64)]


def _list(values: object) -> list[float]:
    """Plain Python floats (figures stay readable JSON, no binary arrays)."""
    return [float(v) for v in np.asarray(values, dtype=np.float64)]
