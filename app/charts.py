"""Every chart of the Returns, Pricing pressure and Build vs buy tabs, as plain functions.

Each ``*_chart(ctx)`` takes a :class:`app.context.ViewContext` and returns a Plotly figure with
the project's one look (:func:`style`): same fonts, colours, margins and hover formats, a unit on
every axis, and a title that names the scenario (``ctx.label``). They need no Streamlit, so the
dashboard and the export CLI draw the same figures. :func:`all_figures` returns them all.

Sweeps (pricing pressure, Jevons, build vs buy) go through :func:`model.evaluate_batch` or
:func:`model.evaluate`; nothing economic is computed here. They are cached per scenario
(``Scenario`` is frozen and hashable) with :func:`functools.lru_cache`, which works both inside
Streamlit and in a plain Python process.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from app.context import ViewContext
from model import Scenario, evaluate, evaluate_batch
from model.bridge import npv_bridge

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
INDEX_STYLE: dict[str, dict[str, object]] = {
    "token_price_index": {"width": 2.5},
    "token_volume_index": {"width": 2.5},
    "compute_demand_index": {"width": 6},
    "lease_rate_index": {"width": 2.5, "dash": "dash"},
}
#: Log-axis ticks for indices (1 = today).
INDEX_TICKS = [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5, 7, 10, 20, 50]
BUSD = "US$ B"
#: Colour of gains and of losses, the same on every chart (Okabe-Ito blue and vermillion:
#: distinguishable with the common colour-vision deficiencies).
POSITIVE = "#0072B2"
NEGATIVE = "#D55E00"
#: Efficiency multipliers of the pricing-pressure sweeps (x tokens per GPU versus today).
MULTIPLIER_GRID = np.round(np.linspace(1.0, 4.0, 31), 6)
#: Coarser grid for sweeps that need full annual tables (one :func:`evaluate` per point).
INDEX_GRID = np.round(np.linspace(1.0, 4.0, 13), 6)
ELASTICITY_GRID = np.round(np.linspace(0.0, 3.0, 31), 6)
#: The Crusoe deal, used to illustrate build vs buy when a scenario procures nothing.
ILLUSTRATIVE_PROCURED_GW = 1.6


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


class Chart:
    """A figure under construction as plain dicts (plotly's object model costs ~50 ms a chart).

    ``add(type, **trace)`` appends a trace, ``vline``/``hline``/``vrect`` add reference marks,
    :func:`style` sets the shared layout and :meth:`figure` validates once into a Figure.
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

    def vline(self, x: float, text: str, color: str, position: str = "top") -> None:
        self.shapes.append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": x,
                "x1": x,
                "y0": 0,
                "y1": 1,
                "line": {"color": color, "dash": "dot", "width": 1.5},
            }
        )
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
    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) or [""]


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
    axis = {
        "gridcolor": GRID,
        "zerolinecolor": MUTED,
        "linecolor": MUTED,
        "showline": True,
        "ticks": "outside",
        "automargin": True,
    }
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


def _year_axis_title(s: Scenario) -> str:
    return (
        f"Year from first capex (years 0-{s.build_years - 1} build, "
        f"{s.build_years}-{s.build_years + s.operating_years - 1} operate)"
    )


def same_series(a: object, b: object) -> bool:
    """True when two series coincide (a line drawn over the other would hide it)."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return x.shape == y.shape and bool(np.allclose(x, y, rtol=1e-6, atol=1e-9))


def _list(values: object) -> list[float]:
    """Plain Python floats (figures stay readable JSON, no binary arrays)."""
    return [float(v) for v in np.asarray(values, dtype=np.float64)]


# ---- Returns ------------------------------------------------------------------------------------
def cash_flow_chart(ctx: ViewContext) -> go.Figure:
    """Annual cash flows: revenue by route against opex, tax and capex (refreshes shown apart)."""
    cf = ctx.result.cash_flows
    years = [int(y) for y in cf["year"]]
    capex_build = cf["capex"] - cf["capex_refresh"]
    positive = [
        ("revenue_lease", "Revenue: compute leased", cf["revenue_lease"]),
        ("revenue_hosting", "Revenue: models hosted (per token)", cf["revenue_hosting"]),
        ("revenue_resale", "Revenue: procured capacity resold", cf["revenue_resale"]),
        ("residual_value", "Residual value at horizon", cf["residual_value"]),
    ]
    negative = [
        ("power_cost", "Power", cf["power_cost"]),
        ("other_opex", "Other fixed opex", cf["other_opex"]),
        ("variable_opex", "Variable opex", cf["variable_opex"]),
        ("procurement_cost", "Procurement of bought capacity", cf["procurement_cost"]),
        ("tax", "Cash tax", cf["tax"]),
        ("capex_build", "Capex: initial build", capex_build),
        ("capex_refresh", "Capex: IT / facility refresh", cf["capex_refresh"]),
    ]
    c = Chart()
    for key, name, series in positive:
        if float(np.abs(series).sum()) == 0.0:
            continue
        c.add(
            "bar",
            x=years,
            y=_list(series),
            name=name,
            marker_color=COLORS[key],
            hovertemplate="%{y:,.2f} US$ B",
        )
    for key, name, series in negative:
        if float(np.abs(series).sum()) == 0.0:
            continue
        c.add(
            "bar",
            x=years,
            y=_list(-series),
            name=name,
            marker_color=COLORS[key],
            hovertemplate="%{y:,.2f} US$ B",
        )
    c.add(
        "scatter",
        x=years,
        y=_list(cf["fcf"]),
        name="Free cash flow",
        mode="lines+markers",
        line={"color": COLORS["fcf"], "width": 2},
        marker={"size": 6},
        hovertemplate="%{y:,.2f} US$ B",
    )
    c.layout.update(barmode="relative", bargap=0.25)
    c.xaxis.update(dtick=1, zeroline=False)
    return style(
        c,
        "Annual cash flows: revenue by route against opex, tax and capex",
        ctx.label,
        _year_axis_title(ctx.scenario),
        f"{BUSD} per year (nominal)",
        height=500,
    )


def payback_note(years: np.ndarray, cumulative: np.ndarray, payback: float | None) -> str:
    """Why payback comes after the first positive year, when it does ('' otherwise).

    Payback counts from when cumulative cash turns positive *for good*; a refresh that pushes it
    back below zero moves payback later than the first positive year.
    """
    positive = np.nonzero(cumulative > 0)[0]
    if not len(positive):
        return ""
    first = int(years[positive[0]])
    if payback is not None and payback <= first + 1e-9:
        return ""
    back = years[(years > first) & (cumulative < 0)]
    if not len(back):
        return ""
    when = f"payback {payback:.1f} years" if payback is not None else "no payback"
    return (
        f"cumulative cash is positive in year {first}, then capex (an IT refresh) pushes it "
        f"below zero in year {int(back[0])}; {when} counts from when it stays positive"
    )


def cumulative_fcf_chart(ctx: ViewContext) -> go.Figure:
    """Cumulative free cash flow (nominal and discounted at the WACC) with the payback points."""
    cf = ctx.result.cash_flows
    years = [int(y) for y in cf["year"]]
    r = ctx.result
    c = Chart()
    c.add(
        "scatter",
        x=years,
        y=_list(cf["cumulative_fcf"]),
        name="Cumulative FCF (nominal)",
        mode="lines+markers",
        line={"color": COLORS["fcf"], "width": 2.5},
        hovertemplate="%{y:,.1f} US$ B",
    )
    c.add(
        "scatter",
        x=years,
        y=_list(np.cumsum(cf["discounted_fcf"])),
        name=f"Cumulative FCF discounted at WACC {ctx.scenario.wacc:.1%}",
        mode="lines",
        line={"color": COLORS["accent"], "width": 2, "dash": "dash"},
        hovertemplate="%{y:,.1f} US$ B",
    )
    for value, label, color in (
        (r.payback_years, "Payback", COLORS["fcf"]),
        (r.discounted_payback_years, "Discounted payback", COLORS["accent"]),
    ):
        if value is None:
            continue
        c.add(
            "scatter",
            x=[value],
            y=[0.0],
            name=f"{label}: {value:.1f} years",
            mode="markers",
            marker={"symbol": "diamond", "size": 13, "color": color, "line": {"color": "white"}},
            hovertemplate=f"{label}: %{{x:.1f}} years<extra></extra>",
        )
    if r.payback_years is None:
        c.note("No payback within the horizon", COLORS["capex_build"])
    why = payback_note(cf["year"].to_numpy(), cf["cumulative_fcf"].to_numpy(), r.payback_years)
    c.xaxis.update(dtick=1, zeroline=False)
    c.hline(0)
    return style(
        c,
        "Cumulative free cash flow and payback",
        (why + " · " if why else "") + ctx.label,
        _year_axis_title(ctx.scenario),
        f"Cumulative FCF, {BUSD}",
    )


def npv_bridge_chart(ctx: ViewContext) -> go.Figure:
    """NPV bridge: present value of revenue, costs, capex, tax and residual, summing to NPV."""
    bridge = npv_bridge(ctx.result)
    npv = ctx.result.npv_busd
    labels = [*bridge["label"], "NPV at WACC"]
    values = [*_list(bridge["pv_busd"]), npv]
    c = Chart()
    c.add(
        "waterfall",
        x=labels,
        y=values,
        measure=["relative"] * len(bridge) + ["total"],
        text=[f"{v:+,.1f}" for v in values[:-1]] + [f"{npv:,.1f}"],
        textposition="outside",
        cliponaxis=False,
        increasing={"marker": {"color": POSITIVE}},
        decreasing={"marker": {"color": NEGATIVE}},
        totals={"marker": {"color": INK}},
        connector={"line": {"color": MUTED, "width": 1}},
        hovertemplate="%{x}: %{y:,.1f} US$ B<extra></extra>",
        name="Present value at WACC",
    )
    c.hline(0)
    c.layout["hovermode"] = "closest"
    residual = float(bridge.loc[bridge["step"] == "residual_value", "pv_busd"].sum())
    share = f"{residual / npv:.0%} of NPV" if abs(npv) > 1e-9 else "NPV is zero"
    c.yaxis["automargin"] = True
    return style(
        c,
        "NPV bridge: what carries the value",
        f"present values at WACC {ctx.scenario.wacc:.1%}; residual value is US$ {residual:,.1f} B "
        f"({share}) · {ctx.label}",
        "Component (present value at the WACC rate)",
        f"Present value, {BUSD}",
        legend=False,
    )


def _profile_rates(ctx: ViewContext) -> np.ndarray:
    top = max(0.30, 2.0 * ctx.scenario.wacc, 1.5 * (ctx.result.irr or 0.0))
    top = min(top, 1.0)
    return np.round(np.linspace(0.0, top, 121), 6)


def npv_profile_chart(ctx: ViewContext) -> go.Figure:
    """NPV against the discount rate, with the WACC and the IRR(s) marked."""
    rates = _profile_rates(ctx)
    prof = ctx.result.npv_profile(rates)
    npv = prof["npv_busd"].to_numpy()
    c = Chart()
    c.add(
        "scatter",
        x=_list(rates),
        y=_list(npv),
        name="NPV of free cash flows",
        mode="lines",
        line={"color": COLORS["builder"], "width": 2.5},
        hovertemplate="Rate %{x:.1%}: NPV %{y:,.1f} US$ B<extra></extra>",
    )
    c.hline(0)
    c.vline(ctx.scenario.wacc, f"WACC {ctx.scenario.wacc:.1%}", COLORS["current"])
    c.add(
        "scatter",
        x=[ctx.scenario.wacc],
        y=[ctx.result.npv_busd],
        name=f"NPV at WACC: US$ {ctx.result.npv_busd:,.1f} B",
        mode="markers",
        marker={"size": 11, "color": COLORS["current"]},
        hovertemplate="NPV at WACC: %{y:,.1f} US$ B<extra></extra>",
    )
    # every sign change of the plotted profile is an IRR; a refresh can create several
    sign = np.sign(npv)
    crossings = np.nonzero(sign[:-1] * sign[1:] < 0)[0]
    roots = [
        float(rates[i] - npv[i] * (rates[i + 1] - rates[i]) / (npv[i + 1] - npv[i]))
        for i in crossings
    ]
    if ctx.result.irr is not None and not any(abs(x - ctx.result.irr) < 0.01 for x in roots):
        roots.append(ctx.result.irr)
    irr_label = "IRR" if len(roots) <= 1 else "IRRs (several: read with MIRR)"
    if roots:
        c.add(
            "scatter",
            x=roots,
            y=[0.0] * len(roots),
            name=f"{irr_label}: " + ", ".join(f"{x:.1%}" for x in sorted(roots)),
            mode="markers",
            marker={"symbol": "x", "size": 13, "color": COLORS["industry"]},
            hovertemplate="IRR %{x:.2%}<extra></extra>",
        )
    c.xaxis["tickformat"] = ".0%"
    c.layout["hovermode"] = "closest"
    return style(
        c,
        "NPV profile: NPV against the discount rate",
        ctx.label,
        "Discount rate (% per year, nominal after tax)",
        f"NPV, {BUSD}",
    )


# ---- Pricing pressure ---------------------------------------------------------------------------
INDEX_LABELS = {
    "token_price_index": "Token price",
    "token_volume_index": "Token volume",
    "compute_demand_index": "Compute demand",
    "lease_rate_index": "Lease rate (spot)",
}


@lru_cache(maxsize=128)
def index_sweep(scenario: Scenario) -> pd.DataFrame:
    """Market indices in the first operating year as the efficiency multiplier goes 1x..4x.

    One :func:`model.evaluate` per point of :data:`INDEX_GRID`; columns ``multiplier``, ``year``
    and the four indices of :data:`INDEX_LABELS` (1 = today).
    """
    rows = []
    for m in INDEX_GRID:
        r = evaluate(scenario.replace(efficiency_multiplier=float(m)))
        first = r.market[r.market["operating"]].iloc[0]
        rows.append(
            {"multiplier": float(m), "year": int(first["year"])}
            | {k: float(first[k]) for k in INDEX_LABELS}
        )
    return pd.DataFrame(rows)


def pricing_indices_chart(ctx: ViewContext) -> go.Figure:
    """Token price, token volume, compute demand and lease-rate indices against the multiplier."""
    s = ctx.scenario
    sweep = index_sweep(s)
    year = int(sweep["year"].iloc[0])
    c = Chart()
    # with industry capacity flat, the spot lease rate is compute demand: one line, one name
    merged = same_series(sweep["compute_demand_index"], sweep["lease_rate_index"])
    for key, label in INDEX_LABELS.items():
        if merged and key == "compute_demand_index":
            continue
        name = (
            "Lease rate (spot) = compute demand (industry capacity unchanged)"
            if merged and key == "lease_rate_index"
            else label
        )
        c.add(
            "scatter",
            x=_list(sweep["multiplier"]),
            y=_list(sweep[key]),
            name=name,
            mode="lines+markers",
            marker={"size": 5},
            line={"color": INDEX_COLORS[key], **INDEX_STYLE[key]},
            hovertemplate=f"{name}: %{{y:.2f}}x today<extra></extra>",
        )
    c.hline(1.0, dash="dot")
    if 1.0 <= s.efficiency_multiplier <= 4.0:
        c.vline(s.efficiency_multiplier, f"scenario {s.efficiency_multiplier:g}x", MUTED)
    c.yaxis.update(type="log", tickvals=INDEX_TICKS, ticktext=[f"{t:g}x" for t in INDEX_TICKS])
    c.xaxis["ticksuffix"] = "x"
    return style(
        c,
        f"Pricing pressure: market indices in year {year} (first operating year)",
        f"diffusion {s.efficiency_diffusion:.0%}, pass-through {s.price_pass_through:.0%}, "
        f"elasticity {s.demand_elasticity:g} · {ctx.label}",
        "Builder's inference-efficiency multiplier (x tokens per GPU versus today)",
        "Index (1 = today, log scale)",
    )


@lru_cache(maxsize=128)
def npv_multiplier_sweep(scenario: Scenario) -> pd.DataFrame:
    """NPV (US$ B) against the multiplier: builder-only, whole industry and current diffusion."""
    n = len(MULTIPLIER_GRID)
    diffusions = {"builder": 0.0, "industry": 1.0, "current": scenario.efficiency_diffusion}
    table = pd.DataFrame(
        {
            "efficiency_multiplier": np.tile(MULTIPLIER_GRID, len(diffusions)),
            "efficiency_diffusion": np.repeat(list(diffusions.values()), n),
        }
    )
    out = evaluate_batch(table, base=scenario)
    frame = pd.DataFrame({"multiplier": MULTIPLIER_GRID})
    for i, key in enumerate(diffusions):
        frame[key] = out["npv_busd"].to_numpy()[i * n : (i + 1) * n]
    return frame


def npv_vs_multiplier_chart(ctx: ViewContext) -> go.Figure:
    """NPV when only the builder has the efficiency gain versus when the whole industry has it."""
    s = ctx.scenario
    sweep = npv_multiplier_sweep(s)
    x = _list(sweep["multiplier"])
    c = Chart()
    c.add(
        "scatter",
        x=x,
        y=_list(sweep["builder"]),
        name="Builder only has the gain (diffusion 0)",
        mode="lines",
        line={"color": COLORS["builder"], "width": 2.5},
        hovertemplate="Builder only: %{y:,.1f} US$ B<extra></extra>",
    )
    c.add(
        "scatter",
        x=x,
        y=_list(sweep["industry"]),
        name="Whole industry has it (diffusion 1)",
        mode="lines",
        line={"color": COLORS["industry"], "width": 2.5},
        hovertemplate="Whole industry: %{y:,.1f} US$ B<extra></extra>",
    )
    if s.efficiency_diffusion not in (0.0, 1.0):
        c.add(
            "scatter",
            x=x,
            y=_list(sweep["current"]),
            name=f"Scenario's diffusion {s.efficiency_diffusion:g}",
            mode="lines",
            line={"color": COLORS["current"], "width": 2, "dash": "dash"},
            hovertemplate="Scenario diffusion: %{y:,.1f} US$ B<extra></extra>",
        )
    c.hline(0)
    if 1.0 <= s.efficiency_multiplier <= 4.0:
        c.vline(s.efficiency_multiplier, f"scenario {s.efficiency_multiplier:g}x", MUTED)
    c.xaxis["ticksuffix"] = "x"
    return style(
        c,
        "NPV against the efficiency multiplier: who gets the gain?",
        ctx.label,
        "Builder's inference-efficiency multiplier (x tokens per GPU versus today)",
        f"NPV at WACC, {BUSD}",
    )


@lru_cache(maxsize=128)
def revenue_per_gw_sweep(scenario: Scenario) -> pd.DataFrame:
    """Average revenue per GW-year for an all-lease and an all-hosting builder vs the multiplier."""
    n = len(MULTIPLIER_GRID)
    table = pd.DataFrame(
        {
            "efficiency_multiplier": np.tile(MULTIPLIER_GRID, 2),
            "lease_share": np.repeat([1.0, 0.0], n),
            "hosting_share": np.repeat([0.0, 1.0], n),
            "procured_gw": 0.0,
        }
    )
    out = evaluate_batch(table, base=scenario)
    per_gw = out["average_revenue_busd_per_year"].to_numpy() / scenario.gw_built
    return pd.DataFrame({"multiplier": MULTIPLIER_GRID, "lessor": per_gw[:n], "host": per_gw[n:]})


def revenue_per_gw_chart(ctx: ViewContext) -> go.Figure:
    """Revenue per GW for a lessor of raw compute versus a host of models billed per token."""
    s = ctx.scenario
    sweep = revenue_per_gw_sweep(s)
    x = _list(sweep["multiplier"])
    c = Chart()
    c.add(
        "scatter",
        x=x,
        y=_list(sweep["lessor"]),
        name="Lessor: all capacity leased as raw compute",
        mode="lines",
        line={"color": COLORS["lessor"], "width": 2.5},
        hovertemplate="Lessor: %{y:,.2f} US$ B per GW-year<extra></extra>",
    )
    c.add(
        "scatter",
        x=x,
        y=_list(sweep["host"]),
        name="Model host: all capacity billed per token",
        mode="lines",
        line={"color": COLORS["host"], "width": 2.5, "dash": "dash"},
        hovertemplate="Model host: %{y:,.2f} US$ B per GW-year<extra></extra>",
    )
    if 1.0 <= s.efficiency_multiplier <= 4.0:
        c.vline(s.efficiency_multiplier, f"scenario {s.efficiency_multiplier:g}x", MUTED)
    c.xaxis["ticksuffix"] = "x"
    c.yaxis["rangemode"] = "tozero"
    return style(
        c,
        "Revenue per GW: lessor versus model host",
        f"average over the {s.operating_years} operating years, no procured capacity · "
        + ctx.label,
        "Builder's inference-efficiency multiplier (x tokens per GPU versus today)",
        "Revenue, US$ B per GW-year of facility power",
    )


@lru_cache(maxsize=128)
def elasticity_sweep(scenario: Scenario) -> pd.DataFrame:
    """NPV (US$ B) against demand elasticity: the scenario, 2x and 4x industry-wide gains."""
    n = len(ELASTICITY_GRID)
    cases = {
        "scenario": (scenario.efficiency_multiplier, scenario.efficiency_diffusion),
        "industry_2x": (2.0, 1.0),
        "industry_4x": (4.0, 1.0),
        "no_gain": (1.0, scenario.efficiency_diffusion),
    }
    table = pd.DataFrame(
        {
            "demand_elasticity": np.tile(ELASTICITY_GRID, len(cases)),
            "efficiency_multiplier": np.repeat([c[0] for c in cases.values()], n),
            "efficiency_diffusion": np.repeat([c[1] for c in cases.values()], n),
        }
    )
    out = evaluate_batch(table, base=scenario)
    frame = pd.DataFrame({"elasticity": ELASTICITY_GRID})
    for i, key in enumerate(cases):
        frame[key] = out["npv_busd"].to_numpy()[i * n : (i + 1) * n]
    return frame


def jevons_chart(ctx: ViewContext) -> go.Figure:
    """NPV against demand elasticity: where cheaper inference stops hurting (Jevons territory)."""
    s = ctx.scenario
    sweep = elasticity_sweep(s)
    x = _list(sweep["elasticity"])
    c = Chart()
    scenario_name = (
        f"Scenario: {s.efficiency_multiplier:g}x, diffusion {s.efficiency_diffusion:.0%}"
    )
    references = (
        ("no_gain", "No efficiency gain (1x)", {"color": MUTED, "width": 1.5, "dash": "dot"}),
        ("industry_2x", "2x, whole industry", {"color": COLORS["industry"], "width": 2}),
        ("industry_4x", "4x, whole industry", {"color": "#9d0208", "width": 2}),
    )
    for key, name, line in references:
        if same_series(sweep[key], sweep["scenario"]):
            # drawn under the scenario's line it would be invisible: say so in its name instead
            scenario_name += f" (= {name.split(' (')[0].lower()})"
            continue
        c.add(
            "scatter",
            x=x,
            y=_list(sweep[key]),
            name=name,
            mode="lines",
            line=line,
            hovertemplate=f"{name}: %{{y:,.1f}} US$ B<extra></extra>",
        )
    c.add(
        "scatter",
        x=x,
        y=_list(sweep["scenario"]),
        name=scenario_name,
        mode="lines",
        line={"color": COLORS["builder"], "width": 3},
        hovertemplate="Scenario: %{y:,.1f} US$ B<extra></extra>",
    )
    # the 4x curve explodes at high elasticity: clip the axis so the crossing stays readable
    values = sweep[["no_gain", "industry_2x", "industry_4x", "scenario"]].to_numpy()
    ref = max(abs(float(sweep["no_gain"].iloc[0])), 10.0)
    top = max(4.0 * ref, float(sweep["scenario"].max()) * 1.05)
    bottom = float(values.min())
    clipped = float(values.max()) > top
    if clipped:
        c.yaxis["range"] = [bottom - 0.05 * (top - bottom), top]
    c.vrect(
        1.0,
        float(ELASTICITY_GRID[-1]),
        COLORS["accent"],
        "Jevons territory: elasticity > 1, cheaper tokens raise token spend",
    )
    c.vline(1.0, "", COLORS["accent"])
    c.vline(s.demand_elasticity, f"scenario {s.demand_elasticity:g}", COLORS["current"], "bottom")
    return style(
        c,
        "Jevons check: NPV against the price elasticity of token demand",
        f"pass-through {s.price_pass_through:.0%}{'; y axis clipped, hover for values' if clipped else ''}"
        f" · {ctx.label}",
        "Price elasticity of token demand (absolute)",
        f"NPV at WACC, {BUSD}",
    )


# ---- Build vs buy --------------------------------------------------------------------------------
def procured_scenario(s: Scenario) -> tuple[Scenario, bool]:
    """The scenario with its procured capacity, or the 1.6 GW deal added if it has none."""
    if s.procured_gw > 0:
        return s, False
    return s.replace(procured_gw=ILLUSTRATIVE_PROCURED_GW), True


@lru_cache(maxsize=128)
def resale_contribution(scenario: Scenario) -> dict[str, float]:
    """NPV with and without the procured capacity (US$ B) and the contribution per GW."""
    s, _ = procured_scenario(scenario)
    out = evaluate_batch(pd.DataFrame({"procured_gw": [s.procured_gw, 0.0]}), base=s)
    with_p, without = (float(v) for v in out["npv_busd"])
    return {
        "procured_gw": s.procured_gw,
        "npv_with_busd": with_p,
        "npv_without_busd": without,
        "contribution_busd": with_p - without,
        "contribution_busd_per_gw": (with_p - without) / s.procured_gw,
        "build_npv_busd_per_gw": without / s.gw_built,
    }


@lru_cache(maxsize=128)
def resale_lease_sweep(scenario: Scenario) -> pd.DataFrame:
    """NPV contribution of the procured block (US$ B) against the lease rate."""
    s, _ = procured_scenario(scenario)
    top = max(30.0, 1.5 * s.lease_rate_busd_per_gw_year, 1.5 * s.procurement_cost_busd_per_gw_year)
    rates = np.round(np.linspace(0.0, min(top, 60.0), 61), 6)
    n = len(rates)
    table = pd.DataFrame(
        {
            "lease_rate_busd_per_gw_year": np.tile(rates, 2),
            "procured_gw": np.repeat([s.procured_gw, 0.0], n),
        }
    )
    out = evaluate_batch(table, base=s)["npv_busd"].to_numpy()
    return pd.DataFrame({"lease_rate": rates, "contribution": out[:n] - out[n:]})


def build_vs_buy_chart(ctx: ViewContext) -> go.Figure:
    """Procured capacity resold at the lease rate: revenue against procurement cost per year."""
    s, illustrative = procured_scenario(ctx.scenario)
    r = ctx.result if not illustrative else evaluate(s)
    cf = r.cash_flows
    years = [int(y) for y in cf["year"]]
    spread = cf["revenue_resale"] - cf["procurement_cost"]
    c = Chart()
    c.add(
        "bar",
        x=years,
        y=_list(cf["revenue_resale"]),
        name="Resale revenue at the lease rate",
        marker_color=COLORS["revenue_resale"],
        hovertemplate="%{y:,.2f} US$ B",
    )
    c.add(
        "bar",
        x=years,
        y=_list(-cf["procurement_cost"]),
        name="Procurement cost (power included)",
        marker_color=COLORS["procurement_cost"],
        hovertemplate="%{y:,.2f} US$ B",
    )
    c.add(
        "scatter",
        x=years,
        y=_list(spread),
        name="Spread before variable opex and tax",
        mode="lines+markers",
        line={"color": COLORS["fcf"], "width": 2},
        hovertemplate="%{y:,.2f} US$ B",
    )
    c.layout.update(barmode="relative", bargap=0.3)
    c.xaxis.update(dtick=1, zeroline=False)
    what = (
        f"illustration: the {ILLUSTRATIVE_PROCURED_GW:g} GW Crusoe deal added (scenario procures none)"
        if illustrative
        else f"{s.procured_gw:g} GW procured"
    )
    return style(
        c,
        f"Build vs buy: {s.procured_gw:g} GW procured at US${s.procurement_cost_busd_per_gw_year:g} B "
        f"per GW-year, resold at US${s.lease_rate_busd_per_gw_year:g} B",
        f"{what} · {ctx.label}",
        _year_axis_title(s),
        f"{BUSD} per year (nominal)",
    )


def build_vs_buy_npv_chart(ctx: ViewContext) -> go.Figure:
    """NPV contribution of the procured capacity against the lease rate it is resold at."""
    s, illustrative = procured_scenario(ctx.scenario)
    sweep = resale_lease_sweep(ctx.scenario)
    contrib = resale_contribution(ctx.scenario)
    c = Chart()
    c.add(
        "scatter",
        x=_list(sweep["lease_rate"]),
        y=_list(sweep["contribution"]),
        name=f"NPV contribution of {s.procured_gw:g} GW procured",
        mode="lines",
        line={"color": COLORS["revenue_resale"], "width": 3},
        hovertemplate="Lease US$%{x:.2f} B/GW-yr: %{y:,.2f} US$ B<extra></extra>",
    )
    c.add(
        "scatter",
        x=[s.lease_rate_busd_per_gw_year],
        y=[contrib["contribution_busd"]],
        name=f"At the scenario's lease rate: US$ {contrib['contribution_busd']:,.2f} B",
        mode="markers",
        marker={"size": 11, "color": COLORS["fcf"]},
        hovertemplate="%{y:,.2f} US$ B<extra></extra>",
    )
    c.hline(0)
    c.layout["hovermode"] = "closest"
    rates, values = sweep["lease_rate"].to_numpy(), sweep["contribution"].to_numpy()
    up = np.nonzero((values[:-1] < 0) & (values[1:] >= 0))[0]
    if len(up):  # where the plotted contribution turns positive (linear between points)
        i = int(up[0])
        x0 = float(rates[i] - values[i] * (rates[i + 1] - rates[i]) / (values[i + 1] - values[i]))
        c.vline(x0, f"breakeven resale rate ≈ US${x0:.2f} B/GW-yr", COLORS["fcf"])
    c.vline(
        s.procurement_cost_busd_per_gw_year,
        f"procurement cost US${s.procurement_cost_busd_per_gw_year:g} B/GW-yr",
        COLORS["procurement_cost"],
        "bottom",
    )
    return style(
        c,
        "Build vs buy: NPV of reselling procured capacity against the lease rate",
        ("illustration with the 1.6 GW Crusoe deal · " if illustrative else "") + ctx.label,
        "Lease rate the capacity is resold at (US$ B per GW-year)",
        f"NPV contribution at WACC, {BUSD}",
    )


#: Chart builders by file-safe name, in the order of the tabs.
CHARTS: dict[str, Callable[[ViewContext], go.Figure]] = {
    "cash_flows": cash_flow_chart,
    "npv_bridge": npv_bridge_chart,
    "cumulative_fcf": cumulative_fcf_chart,
    "npv_profile": npv_profile_chart,
    "pricing_indices": pricing_indices_chart,
    "npv_vs_multiplier": npv_vs_multiplier_chart,
    "revenue_per_gw": revenue_per_gw_chart,
    "jevons": jevons_chart,
    "build_vs_buy": build_vs_buy_chart,
    "build_vs_buy_npv": build_vs_buy_npv_chart,
}


def all_figures(ctx: ViewContext) -> dict[str, go.Figure]:
    """Every chart of the Returns, Pricing pressure and Build vs buy tabs, by file-safe name.

    Keys: ``cash_flows``, ``cumulative_fcf``, ``npv_profile`` (Returns); ``pricing_indices``,
    ``npv_vs_multiplier``, ``revenue_per_gw``, ``jevons`` (Pricing pressure); ``build_vs_buy``,
    ``build_vs_buy_npv`` (Build vs buy). Values are fresh ``plotly.graph_objects.Figure`` objects
    (safe to mutate) drawn exactly as on screen; no Streamlit needed.

    Examples
    --------
    >>> from app.context import ViewContext
    >>> from model import evaluate, load_preset
    >>> s = load_preset("bofa-base")
    >>> ctx = ViewContext("bofa-base", s, evaluate(s), s, evaluate(s))
    >>> sorted(all_figures(ctx))[:3]
    ['build_vs_buy', 'build_vs_buy_npv', 'cash_flows']
    """
    return {name: build(ctx) for name, build in CHARTS.items()}


__all__ = ["CHARTS", "TEMPLATE", "Chart", "all_figures", "chart_config", "style"]
