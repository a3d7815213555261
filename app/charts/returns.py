"""Charts of the Returns tab: annual cash flows, NPV bridge, cumulative cash and payback, NPV profile."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from app.charts.base import (
    BUSD,
    COLORS,
    INK,
    MUTED,
    NEGATIVE,
    POSITIVE,
    Chart,
    _list,
    _year_axis_title,
    busd_hover,
    style,
    with_label,
    year_labels,
)
from app.context import ViewContext
from model.bridge import npv_bridge
from model.derived import (
    BOOK_LIFE_GRID,
    depreciation_life_paths,
    npv_profile_roots,
    profile_rates,
)


def cash_flow_chart(ctx: ViewContext) -> go.Figure:
    """Annual cash flows: revenue by route against opex, tax and capex (refreshes shown apart)."""
    cf = ctx.result.cash_flows
    years = year_labels(ctx.scenario, cf["year"])
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
    # costs drawn below zero; a line of zeros (no procurement, no resale) stays out of the legend
    for sign, rows in ((1.0, positive), (-1.0, negative)):
        for key, name, series in rows:
            if float(np.abs(series).sum()) > 0.0:
                c.bar(years, _list(sign * series), name, COLORS[key])
    c.year_line(years, cf["fcf"], "Free cash flow", COLORS["fcf"], width=2)
    c.layout.update(barmode="relative", bargap=0.25)
    c.year_axis()
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
        f"cumulative cash is positive in year {first} from the first capex, then capex (an IT "
        f"refresh) pushes it below zero in year {int(back[0])}; {when} counts from when it "
        "stays positive"
    )


def cumulative_fcf_chart(ctx: ViewContext) -> go.Figure:
    """Cumulative free cash flow (nominal and discounted at the WACC) with the payback points."""
    cf = ctx.result.cash_flows
    years = year_labels(ctx.scenario, cf["year"])
    y0 = ctx.scenario.first_year
    r = ctx.result
    c = Chart()
    c.year_line(years, cf["cumulative_fcf"], "Cumulative FCF (nominal)", COLORS["fcf"])
    c.line(
        years,
        _list(np.cumsum(cf["discounted_fcf"])),
        f"Cumulative FCF discounted at WACC {ctx.scenario.wacc:.1%}",
        COLORS["accent"],
        width=2,
        dash="dash",
        hover=busd_hover(digits=1),
        extra=True,
    )
    for value, label, color in (
        (r.payback_years, "Payback", COLORS["fcf"]),
        (r.discounted_payback_years, "Discounted payback", COLORS["accent"]),
    ):
        if value is not None:
            c.point(
                y0 + value,  # on the calendar axis: the payback point in years from year 0
                0.0,
                f"{label}: {value:.1f} years",
                color,
                hover=f"{label}: {value:.1f} years",
                size=13,
                symbol="diamond",
                line={"color": "white"},
            )
    if r.payback_years is None:
        c.note("No payback within the horizon", COLORS["capex_build"])
    why = payback_note(cf["year"].to_numpy(), cf["cumulative_fcf"].to_numpy(), r.payback_years)
    c.year_axis()
    c.hline(0)
    return style(
        c,
        "Cumulative free cash flow and payback",
        with_label(why, ctx.label) if why else ctx.label,
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
        hovertemplate=busd_hover(digits=1, label="%{x}") + "<extra></extra>",
        name="Present value at WACC",
    )
    c.hline(0)
    c.layout["hovermode"] = "closest"
    c.yaxis.update(automargin=True, range=waterfall_range(values))
    residual = float(bridge.loc[bridge["step"] == "residual_value", "pv_busd"].sum())
    share = f"{residual / npv:.0%} of NPV" if abs(npv) > 1e-9 else "NPV is zero"
    return style(
        c,
        "NPV bridge: what carries the value",
        f"present values at WACC {ctx.scenario.wacc:.1%}; residual value US$ {residual:,.1f} B "
        f"({share}; the tax on its gain is in Cash tax) · {ctx.label}",
        "Component (present value at the WACC rate)",
        f"Present value, {BUSD}",
        legend=False,
    )


def waterfall_range(values: list[float], pad: float = 0.09) -> list[float]:
    """A y range for a waterfall of steps ending in a total, with room for the value labels.

    Each step's label sits outside its bar (below a fall): the range reaches ``pad`` of the span
    beyond the lowest and highest running totals, so a label near zero clears the axis labels.
    """
    running = np.cumsum(values[:-1])
    ends = [0.0, *running.tolist(), values[-1]]
    lo, hi = min(ends), max(ends)
    span = max(hi - lo, 1e-9)
    return [lo - pad * span, hi + pad * span]


def npv_profile_chart(ctx: ViewContext) -> go.Figure:
    """NPV against the discount rate, with the WACC and the IRR(s) marked."""
    rates = profile_rates(ctx.result)
    prof = ctx.result.npv_profile(rates)
    npv = prof["npv_busd"].to_numpy()
    c = Chart()
    c.line(
        _list(rates),
        _list(npv),
        "NPV of free cash flows",
        COLORS["builder"],
        hover="Rate %{x:.1%}: " + busd_hover(digits=1, label="NPV"),
    )
    c.hline(0)
    c.vline(ctx.scenario.wacc, f"WACC {ctx.scenario.wacc:.1%}", COLORS["current"])
    c.point(
        ctx.scenario.wacc,
        ctx.result.npv_busd,
        f"NPV at WACC: US$ {ctx.result.npv_busd:,.1f} B",
        COLORS["current"],
        hover=busd_hover(digits=1, label="NPV at WACC"),
    )
    # every sign change of the plotted profile is an IRR; a refresh can create several
    roots = npv_profile_roots(ctx.result, rates)
    irr_label = "IRR" if len(roots) <= 1 else "IRRs (several: read with MIRR)"
    if roots:
        c.point(
            roots,
            [0.0] * len(roots),
            f"{irr_label}: " + ", ".join(f"{x:.1%}" for x in sorted(roots)),
            COLORS["industry"],
            hover="IRR %{x:.2%}",
            size=13,
            symbol="x",
        )
    c.percent_axis()
    c.layout["hovermode"] = "closest"
    return style(
        c,
        "NPV profile: NPV against the discount rate",
        ctx.label,
        "Discount rate (% per year, nominal after tax)",
        f"NPV, {BUSD}",
    )


#: Colours of the book lives of the depreciation-life panel (3 / 5.5 / 6 years), darkest longest.
BOOK_LIFE_COLORS: tuple[str, ...] = ("#c0392b", "#2e86c1", "#1b4f72")
#: The cash the book life leaves unchanged, drawn as light bars behind the lines.
CASH_BAR = "#bcc6d0"


def _book_life_name(life: float, scenario_life: float) -> str:
    mark = " (as set)" if abs(life - scenario_life) < 1e-9 else ""
    return f"Book life {life:g} years{mark}"


def depreciation_life_income_chart(ctx: ViewContext) -> go.Figure:
    """Reported operating income (EBIT) by year for book lives of 3 / 5.5 / 6 years against the
    pre-tax cash they leave unchanged (methodology §11.8)."""
    s = ctx.scenario
    paths = depreciation_life_paths(s)
    c = Chart()
    first = paths[paths["book_life_years"] == BOOK_LIFE_GRID[0]]
    years = year_labels(s, first["year"])
    c.bar(years, _list(first["pretax_cash_busd"]), "Pre-tax cash (every book life)", CASH_BAR)
    for life, color in zip(BOOK_LIFE_GRID, BOOK_LIFE_COLORS, strict=True):
        rows = paths[paths["book_life_years"] == life]
        c.year_line(
            years,
            rows["operating_income_busd"].to_numpy(),
            f"Operating income, {_book_life_name(life, s.it_book_life_years).lower()}",
            color,
        )
    c.year_axis()
    return style(
        c,
        "Depreciation life: reported operating income against cash",
        with_label(
            f"IT in service {s.it_life_years:g} years; a shorter book life charges more early, "
            "a longer one writes off at each refresh; cash does not move",
            ctx.label,
        ),
        _year_axis_title(s),
        f"{BUSD} per year (nominal)",
        height=480,
    )


def depreciation_life_eps_chart(ctx: ViewContext) -> go.Figure:
    """Reported EPS (GAAP tax expense at the tax rate on book income) by year for book lives of
    3 / 5.5 / 6 years against free cash flow to equity per share (methodology §11.8)."""
    s = ctx.scenario
    paths = depreciation_life_paths(s)
    c = Chart()
    first = paths[paths["book_life_years"] == BOOK_LIFE_GRID[0]]
    years = year_labels(s, first["year"])
    c.bar(
        years,
        _list(first["cash_per_share_usd"]),
        "Free cash flow to equity per share",
        CASH_BAR,
        hover="US$ %{y:,.2f}",
    )
    for life, color in zip(BOOK_LIFE_GRID, BOOK_LIFE_COLORS, strict=True):
        rows = paths[paths["book_life_years"] == life]
        c.line(
            years,
            _list(rows["eps_usd"]),
            f"EPS, {_book_life_name(life, s.it_book_life_years).lower()}",
            color,
            markers=True,
            hover="US$ %{y:,.2f}",
            extra=True,
        )
    c.year_axis()
    return style(
        c,
        "Depreciation life: EPS from the build against cash per share",
        with_label(
            f"Net income after GAAP tax at {s.tax_rate:.0%} on book income, per "
            f"{s.shares_outstanding_b:g} B diluted shares",
            ctx.label,
        ),
        _year_axis_title(s),
        "US$ per share per year",
        height=480,
    )
