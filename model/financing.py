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
    guarantee = p["campus_rvg_share"] * p["campus_lease_share"] * f.facility_build_cost
    # level rent in operating years recovering the lessor's funding at its yield, net of the
    # guaranteed residual at the horizon: PV_y(rent) + PV_y(guarantee) = PV_y(funding)
    disc_y = finance.discount_factors(p["campus_lease_yield"], n_t)
    funded_pv = (lessor_funding * disc_y).sum(axis=1)
    guarantee_pv = guarantee * np.where(f.last_year, disc_y, 0.0).sum(axis=1)
    annuity_pv = np.where(f.operating, disc_y, 0.0).sum(axis=1)
    # rent priced over a longer lease than the years modelled (its renewals): the builder leaves
    # at the horizon, the initial term, and the guarantee settles there (methodology 11.1)
    priced = np.maximum(p["campus_lease_priced_years"], f.horizon - f.build_years)
    longer = priced > f.horizon - f.build_years
    if np.any(longer):
        log_y = np.log1p(p["campus_lease_yield"])
        with np.errstate(divide="ignore", invalid="ignore"):
            per_year = -np.expm1(-priced * log_y) / p["campus_lease_yield"]
        per_year = np.where(p["campus_lease_yield"] > 1e-12, per_year, priced)
        annuity_pv = np.where(longer, np.exp((1.0 - f.build_years) * log_y) * per_year, annuity_pv)
        guarantee_at_end = guarantee * np.exp(-(f.build_years + priced - 1.0) * log_y)
        guarantee_pv = np.where(longer, guarantee_at_end, guarantee_pv)
    level_rent = np.maximum(funded_pv - guarantee_pv, 0.0) / np.maximum(annuity_pv, 1e-300)
    rent = np.where(f.operating, level_rent[:, None], 0.0)
    handover = p["campus_lease_share"] * f.facility_residual_cash
    shortfall = np.maximum(guarantee - handover, 0.0)
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
    drawdown = np.zeros((n, n_t))
    interest = np.zeros((n, n_t))
    repayment = np.zeros((n, n_t))
    balance = np.zeros((n, n_t))
    if np.any(loan_to_cost > 0):
        bal = np.zeros(n)
        annuity = np.zeros(n)
        growth = np.power(1.0 + rd, -n_repay)
        with np.errstate(divide="ignore", invalid="ignore"):
            annuity_factor = np.where(rd > 1e-12, rd / (1.0 - growth), 1.0 / n_repay)
        for k in range(n_t):
            opening = bal
            accrued = rd * opening
            building = k < f.build_years
            at_start = k == f.build_years
            annuity = np.where(at_start, opening * annuity_factor, annuity)
            level = annuity - accrued
            sculpt = cfads_pre[:, k] / target - accrued
            due = np.where(sculpted, sculpt, level)
            repay = np.clip(due, 0.0, opening)
            repay = np.where(k == last_repay, opening, repay)
            repay = np.where(building | (k > last_repay), 0.0, repay)
            draw = np.where(building, draw_cash[:, k] + accrued, 0.0)
            bal = opening + draw - repay
            drawdown[:, k] = draw
            interest[:, k] = accrued
            repayment[:, k] = repay
            balance[:, k] = bal
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
        tax_levered = tax_lease
    cfads = f.fcf + f.tax_unlevered - tax_levered + lease_flow
    project_equity = cfads + drawdown - interest - repayment
    keep = (1.0 - p["partner_share_of_capex"])[:, None]
    financed = has_financing(p)[:, None]
    fcf_to_equity = np.where(financed, keep * project_equity, f.fcf)
    tax_levered = np.where(financed, tax_levered, f.tax_unlevered)

    # ---- metrics ----------------------------------------------------------------------------
    disc_d = finance.discount_factors(rd, n_t)
    side = ((project_equity - f.fcf) * disc_d).sum(axis=1)
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
