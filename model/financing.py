"""Capital structure: project debt, an equity partner and a campus lease, on the builder's position.

Arrays are (scenarios, years); loops run over years only. The unlevered project flows are
untouched: financing adds lines beside them (``debt_drawdown``, ``interest``, ``debt_repayment``,
``debt_balance``, ``lessor_funding``, ``campus_rent``, ``fcf_to_equity``) and equity metrics.
Conventions and sources: ``docs/methodology.md`` section 11.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from model import finance
from model.tax import cash_tax

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: Lines added to the cash-flow table, in order (US$ B).
FINANCING_LINES: tuple[str, ...] = (
    "lessor_funding",
    "campus_rent",
    "debt_drawdown",
    "interest",
    "debt_repayment",
    "debt_balance",
    "tax_levered",
    "fcf_to_equity",
)


@dataclass(frozen=True)
class ProjectFlows:
    """What the financing needs from the unlevered engine, per scenario (S,) or (S, T)."""

    fcf: FloatArray
    tax_unlevered: FloatArray
    taxable_unlevered: FloatArray
    tax_depreciation: FloatArray
    tax_depreciation_facility: FloatArray
    build_capex: FloatArray
    build_capex_facility: FloatArray
    capex_facility: FloatArray
    facility_residual_cash: FloatArray  # (S,) at the horizon
    facility_basis_end: FloatArray  # (S,) tax basis left at the horizon
    facility_build_cost: FloatArray  # (S,)
    facility_life_left: FloatArray  # (S,) years of the facility in service at the horizon left
    operating: BoolArray
    last_year: BoolArray
    build_years: FloatArray
    horizon: FloatArray
    npv_unlevered: FloatArray
    irr: FloatArray
    irr_root_count: FloatArray


def has_financing(p: dict[str, FloatArray]) -> NDArray[np.bool_]:
    """Rows with debt, a partner or a campus lease (elsewhere equity flows equal the FCF)."""
    return np.asarray(
        (p["debt_share_of_capex"] > 0)
        | (p["partner_share_of_capex"] > 0)
        | (p["campus_lease_share"] > 0),
        dtype=np.bool_,
    )


def finance_project(
    p: dict[str, FloatArray], f: ProjectFlows
) -> tuple[dict[str, FloatArray], dict[str, FloatArray]]:
    """Financing lines (S, T) and equity metrics (S,) of every scenario.

    Notes
    -----
    Campus lease (share ``s`` of the facility, lessor's yield ``y``, guarantee ``g``): the lessor
    funds ``s`` of every facility capex ``K_t``; the builder pays a level rent ``Q`` in each
    operating year with ``sum_{t=B}^{B+M-1} Q v_t = sum_t s K_t v_t - G v_{B+M-1}``
    (``v_t = (1 + y)^-t``, ``G = g s C_fac``, ``M = max(campus_lease_priced_years, N)``: the
    years the lessor priced; ``M > N`` is an exit at the horizon, the initial term), and at the
    horizon hands the lessor its share of the facility's residual cash ``s R`` plus any
    shortfall below the guarantee, ``max(G - s R, 0)``. The builder deducts rent and the
    guarantee payment and loses ``s`` of the facility's tax depreciation and disposal gain.

    Debt (loan-to-cost ``L``, rate ``r``, tenor ``n``): draws ``L`` of the builder's build capex
    at each build year end, plus the year's interest (capitalised during construction); from the
    first operating year ``B`` it is repaid over ``min(n, N)`` years, level (annuity) or sculpted
    (service = CFADS before debt / target DSCR), the balance cleared in the last year.

    ``FCFE = fcf + tax_unlevered - tax_levered + lease flows + drawdown - interest - repayment``
    on the project; the builder keeps ``1 - partner share`` of it. NPV to equity (APV, Myers
    1974): ``(1 - p) [NPV_U + sum_t (FCFE_t - fcf_t) (1 + r)^-t]``; the debt's own flows are worth
    zero at ``r``, so leverage adds the present value of its tax shield at the cost of debt.
    """
    n, n_t = f.fcf.shape
    if not np.any(has_financing(p)):
        return unfinanced(
            f.fcf,
            f.tax_unlevered,
            {"npv_busd": f.npv_unlevered, "irr": f.irr, "irr_root_count": f.irr_root_count},
        )
    t = np.arange(n_t, dtype=np.float64)[None, :]
    b = f.build_years[:, None]
    s = p["campus_lease_share"][:, None]
    rd = p["debt_interest_rate"]
    rate = p["tax_rate"]
    in_group = p["tax_in_group"]
    nol = p["nol_offset_limit_share"]

    # ---- campus lease (builder as lessee) ---------------------------------------------------
    lessor_funding = s * f.capex_facility
    terms = _campus_lease(p, f, lessor_funding)
    rent = np.where(f.operating, terms.level_rent[:, None], 0.0)
    handover, shortfall = terms.handover, terms.shortfall
    end_payment = np.where(f.last_year, (handover + shortfall)[:, None], 0.0)
    lease_flow = lessor_funding - rent - end_payment
    facility_gain = f.facility_residual_cash - f.facility_basis_end
    lease_taxable = (
        -rent
        - np.where(f.last_year, shortfall[:, None], 0.0)
        + s * f.tax_depreciation_facility
        - np.where(f.last_year, (p["campus_lease_share"] * facility_gain)[:, None], 0.0)
    )
    leased = bool(np.any(p["campus_lease_share"] > 0))
    taxable = f.taxable_unlevered + lease_taxable if leased else f.taxable_unlevered
    tax_lease = (
        cash_tax(taxable, rate, in_group=in_group, nol_limit=nol) if leased else f.tax_unlevered
    )
    cfads_pre = f.fcf + f.tax_unlevered - tax_lease + lease_flow

    # ---- debt schedule ----------------------------------------------------------------------
    loan_to_cost = p["debt_share_of_capex"]
    draw_cash = loan_to_cost[:, None] * (f.build_capex - s * f.build_capex_facility)
    n_repay = np.minimum(p["debt_tenor_years"], f.horizon - f.build_years)
    last_repay = f.build_years + n_repay - 1.0
    sculpted = p["debt_sculpted"] > 0.5
    target = p["target_dscr"]
    by_dscr = (p["debt_sizing"] > 0.5) & (loan_to_cost > 0)
    if np.any(by_dscr):
        scale = _dscr_scale(
            draw_cash, cfads_pre, rd, target, sculpted, f.build_years, last_repay, n_repay
        )
        draw_cash = draw_cash * np.where(by_dscr, scale, 1.0)[:, None]
    if np.any(loan_to_cost > 0):
        # the balance recursion year by year, on (T, S) arrays: each year's row is contiguous
        by_year = np.empty((4, n_t, n))  # drawdown, interest, repayment, balance
        draw_t = np.ascontiguousarray(draw_cash.T)
        cover_t = np.ascontiguousarray((cfads_pre / target[:, None]).T)
        k_col = np.arange(n_t, dtype=np.float64)[:, None]
        building_t = k_col < f.build_years
        repaying_t = ~building_t & (k_col <= last_repay)
        final_t = k_col == last_repay
        bal = np.zeros(n)
        annuity = np.zeros(n)
        growth = np.power(1.0 + rd, -n_repay)
        with np.errstate(divide="ignore", invalid="ignore"):
            annuity_factor = np.where(rd > 1e-12, rd / (1.0 - growth), 1.0 / n_repay)
        for k in range(n_t):
            opening = bal
            accrued = rd * opening
            at_start = np.equal(f.build_years, float(k))
            if at_start.any():
                annuity = np.where(at_start, opening * annuity_factor, annuity)
            # sculpted: CFADS / target less interest; level: the annuity less interest
            due = np.where(sculpted, cover_t[k], annuity)
            due -= accrued
            repay = np.clip(due, 0.0, opening)
            repay = np.where(final_t[k], opening, repay)
            repay = np.where(repaying_t[k], repay, 0.0)
            draw = np.where(building_t[k], draw_t[k] + accrued, 0.0)
            bal = opening + draw
            bal -= repay
            by_year[0, k], by_year[1, k], by_year[2, k], by_year[3, k] = draw, accrued, repay, bal
        drawdown, interest, repayment, balance = (
            np.ascontiguousarray(by_year[i].T) for i in range(4)
        )
        tax_levered = cash_tax(
            taxable,
            rate,
            in_group=in_group,
            nol_limit=nol,
            interest=interest,
            ati=taxable + f.tax_depreciation - s * f.tax_depreciation_facility,
            interest_limit=p["interest_limit_share_of_ati"],
        )
    else:
        drawdown = interest = repayment = balance = np.zeros((n, n_t))
        tax_levered = tax_lease
    cfads = f.fcf + f.tax_unlevered - tax_levered + lease_flow
    project_equity = cfads + drawdown - interest - repayment
    keep = (1.0 - p["partner_share_of_capex"])[:, None]
    financed = has_financing(p)[:, None]
    fcf_to_equity = np.where(financed, keep * project_equity, f.fcf)
    tax_levered = np.where(financed, tax_levered, f.tax_unlevered)

    # ---- metrics ----------------------------------------------------------------------------
    # APV (methodology 11.1, 11.9): the lease's flows (with their tax) at the lessee's after-tax
    # borrowing rate, the debt's (with its interest tax shield) at the cost of debt
    disc_d = finance.discount_factors(rd, n_t)
    lease_side = cfads_pre - f.fcf
    debt_side = project_equity - cfads_pre
    side = (debt_side * disc_d).sum(axis=1)
    if leased:
        lessee_rate = p["lessee_borrowing_rate"] * (1.0 - rate)
        side = side + (lease_side * finance.discount_factors(lessee_rate, n_t)).sum(axis=1)
    npv_equity = np.where(financed[:, 0], keep[:, 0] * (f.npv_unlevered + side), f.npv_unlevered)
    rows = np.flatnonzero(financed[:, 0])
    equity_irr = f.irr.copy()
    equity_roots = f.irr_root_count.copy()
    if rows.size:
        root, count = finance.irr_details(fcf_to_equity[rows])
        equity_irr[rows] = root
        equity_roots[rows] = count
    service = np.where(t >= b, interest + repayment, 0.0)
    scale = np.maximum(1.0, np.max(np.abs(f.fcf), axis=1))[:, None]
    serviced = service > 1e-12 * scale
    with np.errstate(divide="ignore", invalid="ignore"):
        dscr = np.where(serviced, cfads / np.where(serviced, service, 1.0), np.inf)
    min_dscr = np.min(dscr, axis=1, initial=np.inf)
    min_dscr = np.where(np.isfinite(min_dscr), min_dscr, np.nan)
    lines = {
        "lessor_funding": lessor_funding,
        "campus_rent": rent,
        "debt_drawdown": drawdown,
        "interest": interest,
        "debt_repayment": repayment,
        "debt_balance": balance,
        "tax_levered": tax_levered,
        "fcf_to_equity": fcf_to_equity,
    }
    metrics = {
        "equity_irr": equity_irr,
        "equity_irr_root_count": equity_roots,
        "npv_equity_busd": npv_equity,
        "min_dscr": min_dscr,
        "peak_debt_busd": np.max(balance, axis=1, initial=0.0),
    }
    return lines, metrics


def unfinanced(
    fcf: FloatArray, tax: FloatArray, project: dict[str, FloatArray]
) -> tuple[dict[str, FloatArray], dict[str, FloatArray]]:
    """Every row all-equity, no partner, no lease: equity flows and metrics are the project's.

    ``project`` holds the project's ``npv_busd``, ``irr`` and ``irr_root_count``.
    """
    zeros = np.zeros_like(fcf)
    lines = {name: zeros for name in FINANCING_LINES}
    lines["tax_levered"] = tax
    lines["fcf_to_equity"] = fcf
    n = fcf.shape[0]
    metrics = {
        "equity_irr": project["irr"],
        "equity_irr_root_count": project["irr_root_count"],
        "npv_equity_busd": project["npv_busd"],
        "min_dscr": np.full(n, np.nan),
        "peak_debt_busd": np.zeros(n),
    }
    return lines, metrics


__all__ = [
    "FINANCING_LINES",
    "ProjectFlows",
    "finance_project",
    "has_financing",
    "unfinanced",
]


@dataclass(frozen=True)
class CampusLease:
    """The campus lease's terms per scenario (S,), US$ B (methodology 11.1 and 11.9).

    ``level_rent`` the rent a year; ``campus_value`` the campus at the horizon (the project's
    residual of it where the lease runs to the horizon, the present value of colocation rent
    where the builder leaves before the priced term); ``balance`` the lessor's unrecovered
    balance at the horizon; ``guarantee`` the part of it guaranteed; ``lessor_payoff``
    ``max(s x campus_value, guarantee)``; ``handover`` the builder's share of the project's
    residual given up (``s x R``) and ``shortfall`` the guarantee it pays,
    ``max(guarantee - s x campus_value, 0)``.
    """

    level_rent: FloatArray
    campus_value: FloatArray
    balance: FloatArray
    guarantee: FloatArray
    lessor_payoff: FloatArray
    handover: FloatArray
    shortfall: FloatArray


def colocation_value(
    p: dict[str, FloatArray], at_year: FloatArray, life_left: FloatArray
) -> FloatArray:
    """Present value at the end of year ``at_year`` (S,) of the campus's colocation rent over
    ``life_left`` (S,) years, at the lessor's yield (methodology 11.9), US$ B.

    ``V = c x GW x (1 + g)^at_year x sum_{j=1..l} q^j = c GW (1 + g)^at_year q (1 - q^l) / (1 - q)``
    with ``q = (1 + g) / (1 + y)`` (``l`` years where ``q = 1``; ``l`` need not be whole).
    """
    g = p["campus_colocation_rent_growth"]
    y = p["campus_lease_yield"]
    life = np.maximum(life_left, 0.0)
    log_q = np.log1p(g) - np.log1p(y)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        annuity = np.exp(log_q) * -np.expm1(life * log_q) / -np.expm1(log_q)
    annuity = np.where(np.abs(log_q) > 1e-12, annuity, life)
    rent_now = p["campus_colocation_rent_busd_per_gw_year"] * p["gw_built"]
    return np.asarray(rent_now * np.exp(at_year * np.log1p(g)) * annuity, dtype=np.float64)


def _campus_lease(
    p: dict[str, FloatArray], f: ProjectFlows, lessor_funding: FloatArray
) -> CampusLease:
    """The level rent, the lessor's unrecovered balance and the guarantee (methodology 11.9).

    The rent ``Q`` in the operating years of the priced lease (``M = max(priced, N)`` years)
    recovers the lessor's funding at its yield ``y`` with the lessor's payoff at the priced end:
    ``sum Q v_t + P_M v_(B+M-1) = sum s K_t v_t``. Renewed through the horizon (``M = N``) the
    payoff is the lessor's share of the campus as the project counts it, ``P = s R``; priced
    longer (the builder leaves at the horizon), it is the share of the campus's colocation value
    at the priced end over what is left then of the facility in service at the horizon. At the
    horizon the lessor's unrecovered balance is ``B_H = sum_t (s K_t - Q_t)(1 + y)^(H-1-t)``;
    the guarantee is ``g B_H``; the lessor receives ``max(s V_H, g B_H)`` and the builder hands
    over ``s R`` plus the shortfall ``max(g B_H - s V_H, 0)``.
    """
    n_t = lessor_funding.shape[1]
    share = p["campus_lease_share"]
    y = p["campus_lease_yield"]
    n_op = f.horizon - f.build_years
    disc_y = finance.discount_factors(y, n_t)
    funded_pv = (lessor_funding * disc_y).sum(axis=1)
    v_end = np.where(f.last_year, disc_y, 0.0).sum(axis=1)
    operating_pv = np.where(f.operating, disc_y, 0.0).sum(axis=1)  # (the rent's, below)
    annuity_pv = operating_pv
    residual = f.facility_residual_cash
    campus_value = residual
    terminal_pv = share * residual * v_end
    # rent priced over a longer lease than the years modelled (its renewals): the builder leaves
    # at the horizon, the initial term (methodology 11.1, 11.9)
    priced = np.maximum(p["campus_lease_priced_years"], n_op)
    longer = priced > n_op
    if np.any(longer):
        log_y = np.log1p(y)
        with np.errstate(divide="ignore", invalid="ignore"):
            per_year = -np.expm1(-priced * log_y) / y
        per_year = np.where(y > 1e-12, per_year, priced)
        annuity_pv = np.where(longer, np.exp((1.0 - f.build_years) * log_y) * per_year, annuity_pv)
        end_priced = f.build_years + priced - 1.0
        value_priced = colocation_value(p, end_priced, f.facility_life_left - (priced - n_op))
        terminal_pv = np.where(
            longer, share * value_priced * np.exp(-end_priced * log_y), terminal_pv
        )
        value_exit = colocation_value(p, f.horizon - 1.0, f.facility_life_left)
        campus_value = np.where(longer, value_exit, residual)
    level_rent = np.maximum(funded_pv - terminal_pv, 0.0) / np.maximum(annuity_pv, 1e-300)
    # unrecovered balance at the horizon: funding less the rent paid, carried at the yield
    rent_pv = level_rent * operating_pv
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        carried = (funded_pv - rent_pv) / np.where(v_end > 0.0, v_end, 1.0)
    balance = np.where(v_end > 0.0, carried, 0.0)
    guarantee = p["campus_rvg_share"] * np.maximum(balance, 0.0)
    lessor_share = share * campus_value
    shortfall = np.maximum(guarantee - lessor_share, 0.0)
    return CampusLease(
        level_rent=level_rent,
        campus_value=campus_value,
        balance=balance,
        guarantee=guarantee,
        lessor_payoff=np.maximum(lessor_share, guarantee),
        handover=share * residual,
        shortfall=shortfall,
    )


def _dscr_scale(
    draw_cash: FloatArray,
    cfads: FloatArray,
    rd: FloatArray,
    target: FloatArray,
    sculpted: NDArray[np.bool_],
    build_years: FloatArray,
    last_repay: FloatArray,
    n_repay: FloatArray,
) -> FloatArray:
    """Share of the loan-to-cost draws kept under DSCR sizing (methodology 11.10), (S,).

    The loan-to-cost balance at completion (interest capitalised) is
    ``D_LTC = sum_{t<B} draw_t (1 + r)^(B-1-t)``; the debt the cash flow available for debt
    service carries at the target DSCR ``d`` over the repayment years is, sculpted,
    ``D_DSCR = sum_{t=B}^{B+m-1} max(CFADS_t, 0) / d x (1 + r)^-(t-B+1)`` and, level,
    ``min_t max(CFADS_t, 0) / d x (1 - (1 + r)^-m) / r``. The debt is ``min(D_LTC, D_DSCR)``:
    every draw is scaled by ``min(1, D_DSCR / D_LTC)``.
    """
    n_t = cfads.shape[1]
    t = np.arange(n_t, dtype=np.float64)[None, :]
    b = build_years[:, None]
    log_r = np.log1p(rd)[:, None]
    # (1 + r)^(B - 1 - t), one exp for both sums (B and t are whole years: B - 1 - t is
    # exactly the -(t - B + 1) the sculpted sum discounts by)
    growth = np.exp((b - 1.0 - t) * log_r)
    d_ltc = (np.where(t < b, draw_cash, 0.0) * growth).sum(axis=1)
    repaying = (t >= b) & (t <= last_repay[:, None])
    cover = np.maximum(cfads, 0.0) / target[:, None]
    sculpt = np.where(repaying, cover * growth, 0.0).sum(axis=1)
    lowest = np.min(np.where(repaying, cover, np.inf), axis=1, initial=np.inf)
    lowest = np.where(np.isfinite(lowest), lowest, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        annuity = np.where(rd > 1e-12, -np.expm1(-n_repay * np.log1p(rd)) / rd, n_repay)
    capacity = np.where(sculpted, sculpt, lowest * annuity)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # inf over a tiny draw: 1
        ratio = capacity / np.where(d_ltc > 0.0, d_ltc, 1.0)
    return np.asarray(np.where(d_ltc > 0.0, np.minimum(1.0, ratio), 1.0), dtype=np.float64)
