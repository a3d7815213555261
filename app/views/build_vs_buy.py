"""Build vs buy tab: procured capacity (the 1.6 GW Crusoe deal) resold at the lease rate."""

from __future__ import annotations

import streamlit as st

from app import charts
from app.context import ViewContext
from app.ui import md, show_chart


def render(ctx: ViewContext) -> None:
    s, illustrative = charts.procured_scenario(ctx.scenario)
    c = charts.resale_contribution(ctx.scenario)
    if illustrative:
        st.info(
            "This scenario procures no capacity (Procured GW = 0). The charts add the "
            f"{charts.ILLUSTRATIVE_PROCURED_GW:g} GW Crusoe deal to it for illustration; set "
            "Procured GW in the sidebar (Monetise) to make it part of the scenario."
        )
    cols = st.columns(4)
    cols[0].metric(
        "Procured, GW",
        f"{s.procured_gw:g}",
        help="Capacity bought from third parties and resold at the lease rate, GW.",
    )
    cols[1].metric(
        md("Spread, US$ B per GW-year"),
        f"{s.lease_rate_busd_per_gw_year - s.procurement_cost_busd_per_gw_year:+,.2f}",
        help=md(
            f"Lease rate today (US$ {s.lease_rate_busd_per_gw_year:g} B per GW-year) minus "
            f"procurement cost (US$ {s.procurement_cost_busd_per_gw_year:g} B), before variable "
            "opex and tax. Market drift and utilisation change the realised revenue, shown year "
            "by year in the chart."
        ),
    )
    cols[2].metric(
        md("NPV of the block, US$ B"),
        f"{c['contribution_busd']:+,.2f}",
        help=md(
            "NPV with the procured capacity minus NPV without it (variable opex and tax "
            "included), at the WACC, US$ B."
        ),
    )
    cols[3].metric(
        md("NPV per GW, US$ B: bought / built"),
        f"{c['contribution_busd_per_gw']:,.2f} / {c['build_npv_busd_per_gw']:,.2f}",
        help=md(
            "US$ B of NPV per GW procured and resold, against US$ B of NPV per GW the "
            "builder builds and owns (the scenario without procured capacity, divided by GW built)."
        ),
    )
    show_chart(charts.build_vs_buy_chart(ctx), "build_vs_buy", ctx)
    show_chart(charts.build_vs_buy_npv_chart(ctx), "build_vs_buy_npv", ctx)
