"""Charts of the Pricing pressure tab; the sweeps they draw are model functions
(:mod:`model.derived`, methodology §10)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from app.charts.base import (
    BUSD,
    COLORS,
    ELASTICITY_GRID,
    INDEX_COLORS,
    INDEX_STYLE,
    INDEX_TICKS,
    MUTED,
    Chart,
    _list,
    busd_hover,
    same_series,
    style,
    with_label,
)
from app.context import ViewContext
from model.derived import elasticity_sweep, index_sweep, npv_multiplier_sweep, revenue_per_gw_sweep

MULTIPLIER_AXIS_TITLE = "Builder's inference-efficiency multiplier (x tokens per GPU versus today)"

INDEX_LABELS = {
    "token_price_index": "Token price",
    "token_volume_index": "Token volume",
    "compute_demand_index": "Compute demand",
    "lease_rate_index": "Lease rate (spot)",
}


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
        width, dash = INDEX_STYLE[key]
        c.line(
            _list(sweep["multiplier"]),
            _list(sweep[key]),
            name,
            INDEX_COLORS[key],
            width=width,
            dash=dash,
            hover=f"{name}: %{{y:.2f}}x today",
            markers=True,
            marker={"size": 5},
        )
    c.hline(1.0, dash="dot")
    c.yaxis.update(type="log", tickvals=INDEX_TICKS, ticktext=[f"{t:g}x" for t in INDEX_TICKS])
    c.multiplier_axis(s)
    return _multiplier_style(
        c,
        f"Pricing pressure: market indices in {s.first_year + year} (first operating year)",
        f"diffusion {s.efficiency_diffusion:.0%}, pass-through {s.price_pass_through:.0%}, "
        f"elasticity {s.demand_elasticity:g}",
        ctx.label,
        "Index (1 = today, log scale)",
    )


def _free_side(x: list[float], series: list[list[float]], at: float) -> str:
    """``top`` or ``bottom``: the side of the plot the lines leave free at ``x = at``.

    A label at the scenario's multiplier goes where no line runs, so it never covers one.
    """
    values = [float(np.interp(at, x, ys)) for ys in series]
    everything = [v for ys in series for v in ys] + [0.0]
    room_below, room_above = min(values) - min(everything), max(everything) - max(values)
    return "bottom" if room_below > room_above else "top"


def _multiplier_style(c: Chart, title: str, subtitle: str, label: str, y_title: str) -> go.Figure:
    """:func:`style` for a chart against the efficiency multiplier (x axis titled once here)."""
    return style(c, title, with_label(subtitle, label), MULTIPLIER_AXIS_TITLE, y_title)


def npv_vs_multiplier_chart(ctx: ViewContext) -> go.Figure:
    """NPV when only the builder has the efficiency gain versus when the whole industry has it."""
    s, sweep, c = ctx.scenario, npv_multiplier_sweep(ctx.scenario), Chart()
    x = _list(sweep["multiplier"])
    # where both cases give the same NPV (a pure lessor in a market pinned at the user-cost
    # ceiling), one line carries both names rather than one hiding the other
    both = same_series(sweep["builder"], sweep["industry"])
    c.line(
        x,
        _list(sweep["builder"]),
        "Builder only = whole industry (the gain does not move NPV)"
        if both
        else "Builder only has the gain (diffusion 0)",
        COLORS["builder"],
        hover=busd_hover(digits=1, label="Builder only"),
    )
    if not both:
        c.line(
            x,
            _list(sweep["industry"]),
            "Whole industry has it (diffusion 1)",
            COLORS["industry"],
            hover=busd_hover(digits=1, label="Whole industry"),
        )
    current_hidden = same_series(sweep["current"], sweep["builder"]) or same_series(
        sweep["current"], sweep["industry"]
    )
    if s.efficiency_diffusion not in (0.0, 1.0) and not current_hidden:
        c.line(
            x,
            _list(sweep["current"]),
            f"Scenario's diffusion {s.efficiency_diffusion:g}",
            COLORS["current"],
            width=2,
            dash="dash",
            hover=busd_hover(digits=1, label="Scenario diffusion"),
        )
    c.hline(0)
    shown = [_list(sweep[k]) for k in ("builder", "industry", "current")]
    c.multiplier_axis(s, _free_side(x, shown, s.efficiency_multiplier))
    title = "NPV against the efficiency multiplier: who gets the gain?"
    return _multiplier_style(c, title, "", ctx.label, f"NPV at WACC, {BUSD}")


def revenue_per_gw_chart(ctx: ViewContext) -> go.Figure:
    """Revenue per GW for a lessor of raw compute versus a host of models billed per token."""
    s, sweep, c = ctx.scenario, revenue_per_gw_sweep(ctx.scenario), Chart()
    x = _list(sweep["multiplier"])
    c.line(
        x,
        _list(sweep["lessor"]),
        "Lessor: all capacity leased as raw compute",
        COLORS["lessor"],
        hover=busd_hover(label="Lessor", per=" per GW-year"),
    )
    c.line(
        x,
        _list(sweep["host"]),
        "Model host: all capacity billed per token",
        COLORS["host"],
        dash="dash",
        hover=busd_hover(label="Model host", per=" per GW-year"),
    )
    shown = [_list(sweep["lessor"]), _list(sweep["host"])]
    c.multiplier_axis(s, _free_side(x, shown, s.efficiency_multiplier))
    c.yaxis["rangemode"] = "tozero"
    return _multiplier_style(
        c,
        "Revenue per GW: lessor versus model host",
        f"average over the {s.operating_years} operating years, no procured capacity",
        ctx.label,
        "Revenue, US$ B per GW-year of facility power",
    )


def merged_from(x: list[float], line: list[float], under: list[float]) -> float | None:
    """The first ``x`` from which ``line`` runs under ``under`` to the end (None if it does not).

    Used to say where a reference curve disappears under the scenario's line.
    """
    a, b = np.asarray(line), np.asarray(under)
    apart = ~np.isclose(a, b, rtol=1e-6, atol=1e-6)
    if apart[-1] or not apart.any():
        return None
    return float(x[int(np.nonzero(apart)[0][-1]) + 1])


def merged_note(merged: list[tuple[str, float]]) -> str:
    """``; from elasticity 1.3 the 2x and 4x lines run under the scenario's`` (or '')."""
    if not merged:
        return ""
    start = max(e for _, e in merged)
    names = " and ".join(n for n, _ in merged)
    line = "line runs" if len(merged) == 1 else "lines run"
    return f"; from elasticity {start:g} the {names} {line} under the scenario's"


def jevons_chart(ctx: ViewContext) -> go.Figure:
    """NPV against demand elasticity: where cheaper inference stops hurting (Jevons territory)."""
    s, sweep, c = ctx.scenario, elasticity_sweep(ctx.scenario), Chart()
    x = _list(sweep["elasticity"])
    scenario_name = (
        f"Scenario: {s.efficiency_multiplier:g}x, diffusion {s.efficiency_diffusion:.0%}"
    )
    references = (
        ("no_gain", "No efficiency gain (1x)", MUTED, 1.5, "dot"),
        ("industry_2x", "2x, whole industry", COLORS["industry"], 2.0, None),
        ("industry_4x", "4x, whole industry", "#9d0208", 2.0, None),
    )
    merged: list[tuple[str, float]] = []
    for key, name, color, width, dash in references:
        if same_series(sweep[key], sweep["scenario"]):
            # drawn under the scenario's line it would be invisible: say so in its name instead
            scenario_name += f" (= {name.split(' (')[0].lower()})"
            continue
        joins = merged_from(x, _list(sweep[key]), _list(sweep["scenario"]))
        if joins is not None:
            merged.append((name.split(",")[0], joins))
        c.line(
            x,
            _list(sweep[key]),
            name,
            color,
            width=width,
            dash=dash,
            hover=busd_hover(digits=1, label=name),
        )
    c.line(
        x,
        _list(sweep["scenario"]),
        scenario_name,
        COLORS["builder"],
        width=3,
        hover=busd_hover(digits=1, label="Scenario"),
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
        with_label(
            f"pass-through {s.price_pass_through:.0%}"
            + ("; y axis clipped, hover for values" if clipped else "")
            + merged_note(merged),
            ctx.label,
        ),
        "Price elasticity of token demand (absolute)",
        f"NPV at WACC, {BUSD}",
    )
