"""Pricing pressure tab: what cheaper inference does to prices, volumes, lease rates and NPV."""

from __future__ import annotations

import streamlit as st

from app import charts, ui
from app.context import ViewContext
from app.ui import show_chart


def render(ctx: ViewContext) -> None:
    s = ctx.scenario
    ui.show_conditions(ctx, ("revenue_total_busd",))
    industry = s.efficiency_multiplier**s.efficiency_diffusion
    st.caption(
        f"The builder serves {s.efficiency_multiplier:g}x today's tokens per GPU; with "
        f"{s.efficiency_diffusion:.0%} diffusion the industry gets {industry:.2f}x. Token prices follow the "
        f"industry's cost with {s.price_pass_through:.0%} pass-through, volume responds with "
        f"elasticity {s.demand_elasticity:g}; compute demand is volume divided by the industry's "
        "tokens per GPU, and the frontier lease rate follows compute demand over industry "
        f"capacity with elasticity {s.compute_demand_elasticity:g}, held between a floor (the "
        "avoidable cash cost of running) and a ceiling (the user cost of new capacity, reached "
        f"after an entry lag of {s.entry_lag_years:g} years). Each IT vintage is contracted for "
        f"{s.contract_years} years at the rate of its start year. Sweeps run the model at each "
        "point; formulas under Assumptions & method."
    )
    if s.hosting_share == 0:
        st.info(
            "This scenario only leases capacity, so the builder's own efficiency gain earns "
            "nothing directly: a lessor is paid per GW, not per token. Only the part of the gain "
            "that spreads to the industry (diffusion) moves token prices, compute demand and "
            "lease rates. Raise Hosted share (sidebar, Monetise) to see a host's upside."
        )
    show_chart(charts.pricing_indices_chart(ctx), "pricing_indices", ctx)
    show_chart(charts.npv_vs_multiplier_chart(ctx), "npv_vs_multiplier", ctx)
    show_chart(charts.revenue_per_gw_chart(ctx), "revenue_per_gw", ctx)
    st.caption(
        "Jevons check: with elasticity above 1, a lower token price raises total token spend. "
        "For a lessor what matters is compute demand, which grows only once pass-through x "
        f"elasticity exceeds 1 (here at elasticity 1 / pass-through = {1 / s.price_pass_through:.2f})."
        if s.price_pass_through > 0
        else "Jevons check: with pass-through 0 prices do not fall, so elasticity has no effect."
    )
    show_chart(charts.jevons_chart(ctx), "jevons", ctx)
    st.caption(
        "Pricing pressure map: the change in NPV the efficiency gain causes, over every "
        "pass-through and token elasticity. Blue: the gain widens margins more than it pushes "
        "prices down; vermillion: price pressure wins. The black line (NPV change = 0) is where "
        "the two exactly offset; the cross is this scenario."
    )
    show_chart(charts.pricing_pressure_chart(ctx), "pricing_pressure_map", ctx)
    st.caption(
        "Lease rates over the horizon: a new vintage's rent (frontier) between the floor and the "
        "ceiling; the installed vintage's contract rate and its spot rent as it ages behind the "
        "frontier with the hardware decline."
    )
    show_chart(charts.lease_paths_chart(ctx), "lease_rate_paths", ctx)
