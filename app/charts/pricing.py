"""Charts of the Pricing pressure tab and the sweeps behind them (through the model, cached).

The sweeps (``index_sweep``, ``npv_multiplier_sweep``, ``revenue_per_gw_sweep``,
``elasticity_sweep``) only call :func:`model.evaluate_batch` / :func:`model.evaluate`; they are
candidates to move into the model layer unchanged.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from app.charts.base import (
    BUSD,
    COLORS,
    ELASTICITY_GRID,
    INDEX_COLORS,
    INDEX_GRID,
    INDEX_STYLE,
    INDEX_TICKS,
    MULTIPLIER_GRID,
    MUTED,
    Chart,
    _list,
    same_series,
    style,
)
from app.context import ViewContext
from model import Scenario, evaluate, evaluate_batch

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
    c.line(
        x,
        _list(sweep["builder"]),
        "Builder only has the gain (diffusion 0)",
        COLORS["builder"],
        hover="Builder only: %{y:,.1f} US$ B",
    )
    c.line(
        x,
        _list(sweep["industry"]),
        "Whole industry has it (diffusion 1)",
        COLORS["industry"],
        hover="Whole industry: %{y:,.1f} US$ B",
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
    c.line(
        x,
        _list(sweep["lessor"]),
        "Lessor: all capacity leased as raw compute",
        COLORS["lessor"],
        hover="Lessor: %{y:,.2f} US$ B per GW-year",
    )
    c.line(
        x,
        _list(sweep["host"]),
        "Model host: all capacity billed per token",
        COLORS["host"],
        dash="dash",
        hover="Model host: %{y:,.2f} US$ B per GW-year",
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
    c.line(
        x,
        _list(sweep["scenario"]),
        scenario_name,
        COLORS["builder"],
        width=3,
        hover="Scenario: %{y:,.1f} US$ B",
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
