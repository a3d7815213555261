"""Charts of the cost-bounded lease market: the pricing-pressure map and the lease-rate paths.

Plain functions taking a :class:`model.Scenario` (and its :class:`model.Result`) and returning a
Plotly figure in the project's one look (:func:`app.charts.base.style`); the numbers come from
:mod:`model.derived`, nothing economic is computed here.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from app.charts.base import (
    BUSD,
    COLORS,
    MUTED,
    NEGATIVE,
    POSITIVE,
    Chart,
    _year_axis_title,
    busd_hover,
    finite_or_none,
    on_view,
    style,
    with_label,
    year_labels,
)
from model import Result, Scenario, evaluate
from model.derived import lease_rate_paths, pricing_pressure_map

#: Diverging scale centred on zero, in the one gain/loss pair (Okabe-Ito, colour-blind safe):
#: vermillion where the gain costs NPV, blue where it adds.
DIVERGING = [[0.0, NEGATIVE], [0.5, "#f7f7f7"], [1.0, POSITIVE]]


def pricing_pressure_map_chart(scenario: Scenario, label: str = "") -> go.Figure:
    """Heatmap of the NPV change an efficiency gain causes, over pass-through x elasticity.

    The zero contour (black) is where margin expansion exactly offsets price pressure; the
    scenario's own pass-through and elasticity are marked.
    """
    m = pricing_pressure_map(scenario)
    z = m.delta_npv_busd
    limit = float(max(np.max(np.abs(z)), 1e-9))
    x = [float(v) for v in m.pass_through]
    y = [float(v) for v in m.elasticity]
    c = Chart()
    c.add(
        "heatmap",
        x=x,
        y=y,
        z=z.tolist(),
        zmin=-limit,
        zmax=limit,
        colorscale=DIVERGING,
        colorbar={"title": {"text": f"ΔNPV, {BUSD}"}, "ticksuffix": ""},
        hovertemplate=(
            "pass-through %{x:.0%}, elasticity %{y:.2f}: ΔNPV US$ %{z:,.1f} B<extra></extra>"
        ),
        name="NPV change",
    )
    c.zero_contour(
        x,
        y,
        z.tolist(),
        "ΔNPV = 0: margin gain offsets price pressure",
        {"color": "black", "width": 2.5},
    )
    c.point(
        scenario.price_pass_through,
        scenario.demand_elasticity,
        "Scenario",
        COLORS["fcf"],
        hover="Scenario: pass-through %{x:.0%}, elasticity %{y:.2f}",
        size=13,
        symbol="x",
    )
    c.percent_axis()
    c.xaxis.update(range=[x[0], x[-1]])
    c.yaxis.update(range=[y[0], y[-1]])
    c.layout["hovermode"] = "closest"
    gain = (
        f"illustrative {m.multiplier:g}x gain (the scenario has none)"
        if m.illustrative
        else f"{m.multiplier:g}x gain"
    )
    return style(
        c,
        "Pricing pressure map: NPV change from the efficiency gain",
        with_label(f"{gain}, diffusion {m.diffusion:.0%}", label),
        "Price pass-through (% of the industry's cost decline passed into token prices)",
        "Price elasticity of token demand (absolute)",
        height=520,
    )


#: Lines of the lease-rate chart: (column, name, colour, dash, width).
PATHS: tuple[tuple[str, str, str, str, float], ...] = (
    ("ceiling", "Ceiling: user cost of new capacity", "#9b2226", "dash", 2.0),
    ("frontier", "Frontier: a new vintage's rent", COLORS["builder"], "solid", 3.0),
    ("contracted", "Contract rate of the installed vintage", COLORS["accent"], "dot", 2.5),
    ("billed", "Billed: average over leased capacity", COLORS["fcf"], "solid", 2.0),
    ("fleet", "Installed vintage at spot, for its age", COLORS["industry"], "solid", 2.0),
    ("floor", "Floor: avoidable cash cost", MUTED, "dash", 2.0),
)


def lease_rate_paths_chart(
    scenario: Scenario, result: Result | None = None, label: str = ""
) -> go.Figure:
    """Lease rates over the horizon (US$ B per GW-year): frontier, vintages, contract, bounds."""
    r = result if result is not None else evaluate(scenario)
    paths = lease_rate_paths(r)
    years = year_labels(scenario, paths["year"])
    c = Chart()
    vintage_cols = [col for col in paths.columns if col.startswith("vintage_")]
    rate = scenario.lease_rate_busd_per_gw_year
    for i, col in enumerate(vintage_cols):
        values = paths[col].to_numpy(dtype=np.float64) * rate
        c.line(
            years,
            finite_or_none(values),
            "IT vintages at spot, by age" if i == 0 else f"vintage {i}",
            "#b5a1c9",
            width=1.2,
            hover=busd_hover(label=f"vintage {i}", per=" per GW-year"),
            legendgroup="vintages",
            showlegend=i == 0,
        )
    operating = paths["operating"].to_numpy(dtype=bool)
    series = {key: paths[f"{key}_busd_per_gw_year"].to_numpy(dtype=np.float64) for key, *_ in PATHS}
    # a frontier pinned at the ceiling would hide it: one line carries both names
    pinned = bool(np.allclose(series["frontier"], series["ceiling"], rtol=1e-6, atol=1e-9))
    for key, name, color, dash, width in PATHS:
        if pinned and key == "ceiling":
            continue
        if pinned and key == "frontier":
            name = "Frontier = ceiling: a new vintage's rent, pinned at the user cost"
        values = series[key]
        # what leased capacity earns exists only once it operates
        shown = (
            values
            if key in ("frontier", "ceiling", "floor")
            else np.where(operating, values, np.nan)
        )
        c.line(
            years,
            finite_or_none(shown),
            name,
            color,
            width=width,
            dash=dash,
            hover=busd_hover(label=name, per=" per GW-year"),
        )
    c.year_axis()
    c.yaxis["rangemode"] = "tozero"
    s = scenario
    return style(
        c,
        "Lease rates over the horizon: frontier, vintages, contracts and the cost bounds",
        with_label(
            f"hardware decline {s.hardware_cost_decline_per_year:.0%} a year, entry lag "
            f"{s.entry_lag_years:g} years",
            label,
        ),
        _year_axis_title(s),
        "Lease rate, US$ B per GW-year of facility power",
        height=500,
    )


pricing_pressure_chart = on_view(pricing_pressure_map_chart, with_result=False)
lease_paths_chart = on_view(lease_rate_paths_chart)


__all__ = [
    "lease_paths_chart",
    "lease_rate_paths_chart",
    "pricing_pressure_chart",
    "pricing_pressure_map_chart",
]
