"""Returns tab: annual cash flows, cumulative FCF with payback, NPV profile, cash-flow table."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app import charts, ui
from app.context import ViewContext
from app.ui import md, numbers_table_html, show_chart
from model import external_business
from model.metrics import (
    LINE_LABELS,
    STATEMENT_LINES,
    format_busd,
    format_metric,
    format_percent,
    metric_label,
    metric_spec,
)
from model.replacement import LIFE_GRID, optimal_replacement_life
from model.scenario import Scenario

#: Cash-flow table columns: (column in Result.cash_flows, header with unit from the one table
#: of lines, :data:`model.metrics.LINE_LABELS`).
TABLE_COLUMNS: tuple[tuple[str, str], ...] = tuple(
    (line, LINE_LABELS[line]) for line in STATEMENT_LINES
)


#: Session-state key of the expander with the payback and NPV-profile charts (True when open).
MORE_CHARTS_KEY = "returns_more_charts"
#: Session-state key of the NPV bridge's expander (True when open).
NPV_BRIDGE_KEY = "returns_npv_bridge"
#: Session-state key of the depreciation-life panel's expander (methodology §11.8).
DEPRECIATION_LIFE_KEY = "returns_depreciation_life"

#: Lines shown in bold in the cash-flow table: the subtotals an analyst reads first.
STRONG_LINES: frozenset[str] = frozenset({"Revenue, total", "EBITDA", "Free cash flow"})


def line_label(header: str) -> str:
    """A table header without its unit, for the statement whose corner states the unit once."""
    return header.removesuffix(" (US$ B)")


def cash_flow_statement(ctx: ViewContext) -> pd.DataFrame:
    """The cash flows as an analyst reads them: one row per line, one column per year.

    Every year of the horizon is a column, by calendar year (``2026 build`` ... ``2041``); every line keeps its full
    name as the row label, so nothing is cut.
    """
    cf = ctx.result.cash_flows
    years = [
        f"{int(y)}" + (" build" if not op else "")
        for y, op in zip(ctx.result.calendar_years, cf["operating"], strict=True)
    ]
    # the unit is said once, in the corner ("Line (US$ B per year)"), so a label fits a phone
    data = {line_label(header): cf[col].astype(float).to_numpy() for col, header in TABLE_COLUMNS}
    frame = pd.DataFrame(data, index=years).T
    frame.index.name = "Line (US$ B per year)"
    return frame


#: Metrics this tab shows: the conditions that qualify one of them are repeated here.
SHOWN_METRICS = (
    "npv_busd",
    "irr",
    "payback_years",
    "revenue_total_busd",
    "min_dscr",
    "equity_irr",
    "npv_equity_busd",
)


def surplus_text(ctx: ViewContext) -> str:
    """The value of leasing the built capacity rather than leaving it idle, in total and per
    GW, and the GW of surplus the market's re-rating would imply at that value per GW
    (methodology 11.11; one more engine pass, made here and in exports only).

    >>> from model import evaluate, load_preset
    >>> s = load_preset("bofa-base")
    >>> print(surplus_text(ViewContext("bofa-base", s, evaluate(s), s, evaluate(s))))
    Leasing the built capacity rather than leaving it idle is worth US$ 140.4 B (US$ 46.8 B per GW): the build's NPV less that of the same build left idle (-US$ 122.4 B). At that value per GW the US$ 175.4 B re-rating is about 3.7 GW of surplus.
    """
    r = ctx.result
    m = r.surplus_metrics()
    text = (
        "Leasing the built capacity rather than leaving it idle is worth "
        f"{format_metric('surplus_lease_value_busd', m['surplus_lease_value_busd'])} "
        f"({format_metric('surplus_lease_value_busd_per_gw', m['surplus_lease_value_busd_per_gw'])}"
        "): the build's NPV less that of the same build left idle "
        f"({format_metric('npv_busd', r.idle_branch_npv_busd)})."
    )
    gw = m["market_reaction_surplus_gw"]
    if gw is not None and r.market_reaction_busd > 0:
        text += (
            " At that value per GW the "
            f"{format_metric('market_reaction_busd', r.market_reaction_busd)} re-rating is about "
            f"{format_metric('market_reaction_surplus_gw', gw)} of surplus."
        )
    return text


def render(ctx: ViewContext) -> None:
    r, s = ctx.result, ctx.scenario
    ui.show_conditions(ctx, SHOWN_METRICS)
    st.caption(
        md(
            f"Unlevered, after-tax free cash flows in nominal US$ B, discounted at the WACC of "
            f"{s.wacc:.1%} (end-of-year convention, year 0 = first capex year, {s.first_year}). Initial capex "
            f"{format_busd(r.capex_initial_busd)}, lifetime capex incl. refreshes "
            f"{format_busd(r.capex_lifetime_busd)}, EBITDA margin {format_percent(r.ebitda_margin)}, "
            f"MIRR {format_percent(r.mirr)}."
        )
    )
    st.caption(
        md(
            "Two paybacks, two definitions: "
            f"{format_metric('payback_years', r.payback_years)} from the first capex year, the "
            "last time cumulative free cash flow turns non-negative (a later refresh can push it "
            "back); "
            f"{format_metric('payback_from_operation_years', r.payback_from_operation_years)} "
            "from the start of operation, the first time it does (the cluster payback CoreWeave "
            "reports, about 2.5 years). The residual value (assets at market value at the end of "
            f"the horizon, after tax on the gain) is {format_busd(r.residual_pv_busd)} of the NPV "
            "(the NPV bridge shows it before that tax, which it counts in Cash tax)."
        )
    )
    st.caption(md(surplus_text(ctx)))
    show_chart(charts.cash_flow_chart(ctx), "cash_flows", ctx)
    # The NPV bridge, payback and NPV-profile charts are drawn when their expander is opened
    # (it reruns): one chart on the landing view brings the first chart and each move sooner.
    _charts_on_demand(
        ctx,
        "NPV bridge: from revenue to NPV, each line's present value (1 chart)",
        NPV_BRIDGE_KEY,
        (("npv_bridge", charts.npv_bridge_chart),),
    )
    _charts_on_demand(
        ctx,
        "Payback and NPV profile: cumulative free cash flow, and NPV against the discount rate "
        "(2 charts)",
        MORE_CHARTS_KEY,
        (
            ("cumulative_fcf", charts.cumulative_fcf_chart),
            ("npv_profile", charts.npv_profile_chart),
        ),
    )
    if r.irr_multiple:
        st.info(
            "The NPV profile (under Payback and NPV profile above) crosses zero more than once "
            "(refresh capex makes the cash flows change sign several times), so the IRR alone is "
            f"ambiguous. Read it with the MIRR ({format_percent(r.mirr)}, reinvesting and financing at "
            "the WACC) and the NPV at the WACC."
        )
    if charts.has_financing(r):
        _financing_section(ctx)
    if s.lease_share + s.hosting_share < 1.0:
        _external_section(ctx)
    st.subheader("Cash-flow table")
    st.caption(
        md(
            "US$ B per year, nominal; costs and capex shown as positive amounts; every year of "
            "the horizon is a column (scroll sideways on a phone). Select and copy it into a "
            "spreadsheet, or download it at full precision as CSV or Excel from the Export tab."
        )
    )
    st.html(
        numbers_table_html(
            cash_flow_statement(ctx),
            label="Cash-flow table, US$ B per year",
            digits=metric_spec("npv_busd").digits,  # US$ B to 0.1, as everywhere on screen
            strong_rows=STRONG_LINES,
        )
    )
    _depreciation_life_section(ctx)


def _charts_on_demand(
    ctx: ViewContext,
    label: str,
    key: str,
    figures: tuple[tuple[str, Callable[[ViewContext], go.Figure]], ...],
) -> None:
    """An expander whose charts are built and drawn only while it is open (opening it reruns)."""
    box = st.expander(label, key=key, on_change="rerun")
    if box.open:
        with box:
            for name, build in figures:
                show_chart(build(ctx), name, ctx)


def replacement_life_text(s: Scenario) -> str:
    """The optimal replacement life beside the service life as set (methodology 2.4; computed
    when the panel is open).

    >>> from model import load_preset
    >>> print(replacement_life_text(load_preset("market-base")))
    Optimal replacement life (Terborgh-Preinreich: the life that maximises a chain of like-for-like vintages' equivalent annual value, pre-tax, rents falling behind the frontier at 20% a year): 11.9 years, worth US$ 0.15 B per GW-year against -0.61 at the 5.5 years as set.
    """
    rl = optimal_replacement_life(s)
    at_bound = rl.life_years >= LIFE_GRID[-1] - 1e-9
    life = f"{rl.life_years:.1f} years" + (" or more" if at_bound else "")
    return (
        "Optimal replacement life (Terborgh-Preinreich: the life that maximises a chain of "
        "like-for-like vintages' equivalent annual value, pre-tax, rents falling behind the "
        f"frontier at {s.hardware_cost_decline_per_year:.0%} a year): {life}, worth US$ "
        f"{rl.value_busd_per_gw_year:.2f} B per GW-year against "
        f"{rl.value_as_set_busd_per_gw_year:.2f} at the {s.it_life_years:g} years as set."
    )


def _depreciation_life_section(ctx: ViewContext) -> None:
    """Reported operating income and EPS for book lives of 3 / 5.5 / 6 years against the cash
    they do not change (methodology §11.8); last in the view."""
    s = ctx.scenario
    st.subheader("Depreciation life")
    # drawn when opened (it reruns), as the payback charts: the landing view keeps two charts
    panel = st.expander(
        "Reported operating income and EPS for book lives of 3, 5.5 and 6 years, against cash "
        "(2 charts)",
        key=DEPRECIATION_LIFE_KEY,
        on_change="rerun",
    )
    if not panel.open:
        return
    panel.caption(
        md(
            f"The IT is in service {s.it_life_years:g} years (refreshed then); its book life, "
            f"{s.it_book_life_years:g} years as set, only spreads its cost over the reported "
            "years: Meta depreciates servers over 5.5 years (10-K), Microsoft, Alphabet, Amazon "
            "and CoreWeave over 6, critics argue about 3. A book life longer than the service "
            "life writes the rest off at each refresh. Cash, tax paid and NPV are the same for "
            "every book life; EPS uses the reported (GAAP) tax expense, the tax rate on book "
            "income."
        )
    )
    panel.caption(md(replacement_life_text(s)))
    with panel:
        show_chart(charts.depreciation_life_income_chart(ctx), "depreciation_life_income", ctx)
        show_chart(charts.depreciation_life_eps_chart(ctx), "depreciation_life_eps", ctx)


def _financing_section(ctx: ViewContext) -> None:
    """Sources and uses, the equity against the project, and the debt (methodology §11)."""
    r = ctx.result
    st.subheader("Financing: the builder's own position")
    st.caption(
        md(
            "The project's returns above are unlevered. With debt, a partner or a campus lease the "
            "builder's own cash flows differ: equity IRR "
            f"{format_metric('equity_irr', r.equity_irr)}, NPV to equity "
            f"{format_metric('npv_equity_busd', r.npv_equity_busd)} (adjusted present value: the "
            "unlevered NPV plus the debt's flows and tax shield at the cost of debt and the "
            "campus lease's at the lessee's after-tax borrowing rate, methodology §11.9)."
        )
    )
    table = charts.sources_and_uses(r)
    table = table[table["busd"].abs() > 5e-4]  # items this structure does not use are left out
    shown = pd.DataFrame(
        {
            "Side": table["side"],
            "Item": table["item"],
            "US$ B": table["busd"].map(lambda v: f"{v:,.2f}"),
            "Share of uses": table["share"].map(lambda v: "n/a" if pd.isna(v) else f"{v:.1%}"),
        }
    )
    st.dataframe(shown, hide_index=True, width="stretch")
    show_chart(charts.equity_chart(ctx), "equity_vs_project", ctx)
    if charts.has_debt(r):
        show_chart(charts.debt_chart(ctx), "debt_balance", ctx)


def _external_section(ctx: ViewContext) -> None:
    """The external business alone: the incremental economics of leasing the surplus."""
    s = ctx.scenario
    ext = external_business(s)
    internal = 1.0 - s.lease_share - s.hosting_share
    with st.expander(
        f"External business only: the {s.lease_share + s.hosting_share:.0%} leased or hosted, "
        f"without the {internal:.0%} kept for internal use"
    ):
        if ext is None:
            st.info("Nothing owned is leased or hosted: there is no external business.")
            return
        st.caption(
            md(
                "The incremental economics of leasing the surplus: a build of "
                f"{s.gw_built * (s.lease_share + s.hosting_share):,.2f} GW (the leased and hosted "
                "part and its share of capex), every other input as set. In the whole build the "
                "internal capacity is valued at a transfer price of "
                f"{s.internal_transfer_price_share:.0%} of the lease rate (methodology §11.5)."
            )
        )
        cols = st.columns(4)
        for col, name in zip(
            cols, ("npv_busd", "irr", "payback_from_operation_years", "roic"), strict=True
        ):
            col.metric(
                md(metric_label(name)),
                format_metric(name, ext.metrics().get(name)),
                border=True,
            )
