"""Charts of the Build vs buy tab: procured capacity (the 1.6 GW Crusoe deal) resold at the lease rate.

The procured block's economics are model functions (:mod:`model.derived`, methodology §10).
"""

from __future__ import annotations

import plotly.graph_objects as go

from app.charts.base import (
    BUSD,
    COLORS,
    ILLUSTRATIVE_PROCURED_GW,
    Chart,
    _list,
    _year_axis_title,
    busd_hover,
    style,
    year_labels,
)
from app.context import ViewContext
from model import evaluate
from model.derived import (
    breakeven_resale_rate,
    procured_scenario,
    resale_contribution,
    resale_lease_sweep,
)


def build_vs_buy_chart(ctx: ViewContext) -> go.Figure:
    """Procured capacity resold at the lease rate: revenue against procurement cost per year."""
    s, illustrative = procured_scenario(ctx.scenario)
    r = ctx.result if not illustrative else evaluate(s)
    cf = r.cash_flows
    years = year_labels(s, cf["year"])
    spread = cf["revenue_resale"] - cf["procurement_cost"]
    c = Chart()
    c.bar(
        years,
        _list(cf["revenue_resale"]),
        "Resale revenue at the lease rate",
        COLORS["revenue_resale"],
    )
    c.bar(
        years,
        _list(-cf["procurement_cost"]),
        "Procurement cost (power included)",
        COLORS["procurement_cost"],
    )
    c.year_line(years, spread, "Spread before variable opex and tax", COLORS["fcf"], width=2)
    c.layout.update(barmode="relative", bargap=0.3)
    c.year_axis()
    what = (
        f"illustration: the {ILLUSTRATIVE_PROCURED_GW:g} GW Crusoe deal added (scenario procures none)"
        if illustrative
        else f"{s.procured_gw:g} GW procured"
    )
    return style(
        c,
        f"Build vs buy: {s.procured_gw:g} GW procured at US$ {s.procurement_cost_busd_per_gw_year:g} B "
        f"per GW-year, resold at US$ {s.lease_rate_busd_per_gw_year:g} B",
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
    c.line(
        _list(sweep["lease_rate"]),
        _list(sweep["contribution"]),
        f"NPV contribution of {s.procured_gw:g} GW procured",
        COLORS["revenue_resale"],
        width=3,
        hover="Lease US$ %{x:.2f} B/GW-yr: " + busd_hover(),
    )
    c.point(
        s.lease_rate_busd_per_gw_year,
        contrib["contribution_busd"],
        f"At the scenario's lease rate: US$ {contrib['contribution_busd']:,.2f} B",
        COLORS["fcf"],
        hover=busd_hover(),
    )
    c.hline(0)
    c.layout["hovermode"] = "closest"
    x0 = breakeven_resale_rate(sweep)
    if x0 is not None:  # where the plotted contribution turns positive (linear between points)
        c.vline(x0, f"breakeven resale rate ≈ US$ {x0:.2f} B/GW-yr", COLORS["fcf"])
    c.vline(
        s.procurement_cost_busd_per_gw_year,
        f"procurement cost US$ {s.procurement_cost_busd_per_gw_year:g} B/GW-yr",
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
