"""Capital-structure pieces of the Returns tab: sources and uses, the debt balance, equity flows.

Plain functions taking a :class:`model.Scenario` or :class:`model.Result` and returning a
DataFrame or a Plotly figure in the project's one look (:func:`app.charts.base.style`). Every number
comes from the model's cash-flow table (methodology section 11); nothing economic is computed
here beyond sums of its lines.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from app.charts.base import (
    BUSD,
    COLORS,
    MUTED,
    Chart,
    _list,
    _year_axis_title,
    busd_hover,
    on_view,
    style,
    with_label,
    year_labels,
)
from model import Result, Scenario, evaluate
from model.metrics import format_metric


def _year_axis(s: Scenario) -> str:
    return _year_axis_title(s)


def has_debt(result: Result) -> bool:
    """True when the scenario borrows (the KPI header then shows the minimum DSCR)."""
    return result.scenario.debt_share_of_capex > 0 and result.peak_debt_busd > 0


def has_financing(result: Result) -> bool:
    """True when debt, a partner or a campus lease makes the equity view differ from the project."""
    s = result.scenario
    return s.debt_share_of_capex > 0 or s.partner_share_of_capex > 0 or s.campus_lease_share > 0


def equity_kpis(result: Result) -> list[tuple[str, str, str]]:
    """KPI header entries ``(label, value, help)`` for the builder's equity position.

    Empty without financing (the project's IRR and NPV are then the equity's). The minimum DSCR
    appears only with debt. Formats: rates as % with one decimal, US$ B with one decimal, cover
    ratios as ``1.32x``.
    """
    if not has_financing(result):
        return []

    irr_help = (
        "IRR of the builder's cash flows after debt service, the partner's share and campus rent"
    )
    if result.equity_irr_multiple:
        irr_help += " (several roots: read with NPV to equity)"
    out = [
        ("Equity IRR", format_metric("equity_irr", result.equity_irr), irr_help),
        (
            "NPV to equity",
            format_metric("npv_equity_busd", result.npv_equity_busd),
            "Adjusted present value of the builder's share: unlevered NPV plus the financing "
            "flows: debt and its tax shield at the cost of debt, the lease at the lessee's "
            "after-tax borrowing rate",
        ),
    ]
    if has_debt(result):
        out.append(
            (
                "Minimum DSCR",
                format_metric("min_dscr", result.min_dscr),
                "Lowest cash available for debt service / debt service in a repayment year",
            )
        )
    return out


def sources_and_uses(result: Result) -> pd.DataFrame:
    """Sources and uses of funds over the build years, US$ B.

    Returns
    -------
    DataFrame
        Columns ``side`` ("Uses" or "Sources"), ``item``, ``busd`` and ``share`` (fraction of the
        total uses); the two sides sum to the same total. Uses: build capex and interest
        capitalised during construction. Sources: debt drawn for capex, debt drawn for the
        capitalised interest, the lessor's funding of the campus, the partner's equity and the
        builder's equity (the rest).
    """
    s = result.scenario
    cf = result.cash_flows
    build = cf["year"].to_numpy() < s.build_years
    capex = float(cf["capex"][build].sum())
    interest = float(cf["interest"][build].sum())
    drawn = float(cf["debt_drawdown"][build].sum())
    lessor = float(cf["lessor_funding"][build].sum())
    equity = capex + interest - drawn - lessor
    partner = s.partner_share_of_capex * equity
    total = capex + interest
    rows = [
        ("Uses", "Build capex", capex),
        ("Uses", "Interest capitalised during construction", interest),
        ("Sources", "Debt: drawn for capex", drawn - interest),
        ("Sources", "Debt: capitalised interest", interest),
        ("Sources", "Lessor: campus funding", lessor),
        ("Sources", "Partner equity", partner),
        ("Sources", "Builder equity", equity - partner),
    ]
    frame = pd.DataFrame(rows, columns=["side", "item", "busd"])
    frame["share"] = frame["busd"] / total if total > 0 else np.nan
    return frame


def _annual(scenario: Scenario, result: Result | None) -> tuple[Result, pd.DataFrame, list[int]]:
    """The result (evaluated when not given), its cash-flow table and its years as ints."""
    r = result if result is not None else evaluate(scenario)
    return r, r.cash_flows, year_labels(r.scenario, r.cash_flows["year"])


def debt_balance_chart(
    scenario: Scenario, result: Result | None = None, label: str = ""
) -> go.Figure:
    """Debt balance by year (line) with drawdowns, repayments and interest paid (bars), US$ B."""
    r, cf, years = _annual(scenario, result)
    s = r.scenario
    building = cf["year"].to_numpy() < s.build_years
    paid = np.where(building, 0.0, cf["interest"].to_numpy(dtype=np.float64))
    c = Chart()
    bars = (
        ("Drawdown (capitalised interest included)", cf["debt_drawdown"], COLORS["capex_build"]),
        ("Repayment", -cf["debt_repayment"], COLORS["accent"]),
        ("Interest paid", -paid, COLORS["tax"]),
    )
    for name, values, color in bars:
        c.bar(years, _list(values), name, color, hover=busd_hover(label=name) + "<extra></extra>")
    c.year_line(years, cf["debt_balance"], "Debt balance, year end", COLORS["fcf"], width=3)
    c.layout["barmode"] = "relative"
    c.year_axis()
    dscr = "none" if r.min_dscr is None else f"{r.min_dscr:.2f}x"
    return style(
        c,
        "Debt: drawdowns, repayments and the balance",
        with_label(
            f"loan-to-cost {s.debt_share_of_capex:.0%} at {s.debt_interest_rate:.1%}, "
            f"{s.debt_tenor_years}-year {'sculpted' if s.debt_sculpted else 'level'} repayment, "
            f"peak {r.peak_debt_busd:,.1f} {BUSD}, minimum DSCR {dscr}",
            label,
        ),
        _year_axis(s),
        f"{BUSD} per year (balance: {BUSD})",
    )


def equity_vs_project_chart(
    scenario: Scenario, result: Result | None = None, label: str = ""
) -> go.Figure:
    """Cumulative cash flows: the unlevered project against the builder's equity, US$ B."""
    r, cf, years = _annual(scenario, result)
    s = r.scenario
    c = Chart()
    for col, name, color, dash in (
        ("fcf", "Project (unlevered FCF)", MUTED, "dash"),
        ("fcf_to_equity", "Builder's equity (FCFE)", COLORS["builder"], "solid"),
    ):
        c.line(
            years,
            _list(np.cumsum(cf[col].to_numpy(dtype=np.float64))),
            f"{name}, cumulative",
            color,
            width=3,
            dash=dash,
            markers=True,
            hover=busd_hover(label=name) + " cumulative",
        )
    c.hline(0.0, MUTED)
    c.year_axis()

    def pct(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.1%}"

    return style(
        c,
        "Project and equity cash flows, cumulative",
        with_label(
            f"IRR {pct(r.irr)} project, {pct(r.equity_irr)} equity; NPV {r.npv_busd:,.1f} project, "
            f"{r.npv_equity_busd:,.1f} to equity ({BUSD})",
            label,
        ),
        _year_axis(s),
        f"Cumulative cash flow, {BUSD}",
    )


debt_chart = on_view(debt_balance_chart)
equity_chart = on_view(equity_vs_project_chart)


__all__ = [
    "debt_balance_chart",
    "debt_chart",
    "equity_chart",
    "equity_kpis",
    "equity_vs_project_chart",
    "has_debt",
    "has_financing",
    "sources_and_uses",
]
