"""Capital structure: debt schedule identities, APV and Modigliani-Miller, partner and campus
lease, the coreweave-spv preset (methodology sections 11.1, 11.3 and 11.6)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from old_meanings import OLD_MEANINGS
from test_properties import scenarios

from model import Result, Scenario, evaluate, evaluate_batch, finance, load_preset


def assert_financing_identities(r: Result) -> None:
    """The debt schedule and the equity flows, recomputed from the cash-flow table."""
    s = r.scenario
    cf = r.cash_flows
    col = {c: cf[c].to_numpy(dtype=float) for c in cf.columns if c not in ("year", "operating")}
    h = len(cf)
    b = s.build_years
    scale = max(1.0, float(np.abs(col["capex"]).sum()), float(np.abs(col["fcf"]).sum()))
    tol = 1e-9 * scale
    bal = col["debt_balance"]
    opening = np.concatenate([[0.0], bal[:-1]])
    # never negative, zero by the end of the tenor or the horizon, whichever comes first
    assert (bal >= -tol).all()
    end = min(b + s.debt_tenor_years, h) - 1
    assert np.all(np.abs(bal[end:]) <= tol)
    np.testing.assert_allclose(col["interest"], s.debt_interest_rate * opening, atol=tol, rtol=0)
    np.testing.assert_allclose(
        bal, opening + col["debt_drawdown"] - col["debt_repayment"], atol=tol, rtol=0
    )
    # drawdowns = debt share of the builder's build capex + capitalised interest (build years)
    # (sized by DSCR, every draw is the same share, at most 1, of it: section 11.10)
    fac_build = col["capex"][:b] * (1.0 - s.it_share_of_capex) * s.campus_lease_share
    ltc_draw = s.debt_share_of_capex * (col["capex"][:b] - fac_build)
    drawn = col["debt_drawdown"][:b] - col["interest"][:b]
    if s.debt_sizing == 0:
        np.testing.assert_allclose(drawn, ltc_draw, atol=tol, rtol=0)
    else:
        kept = float(drawn.sum() / ltc_draw.sum()) if ltc_draw.sum() > tol else 0.0
        assert -1e-9 <= kept <= 1.0 + 1e-9
        np.testing.assert_allclose(drawn, kept * ltc_draw, atol=tol, rtol=0)
    assert np.all(np.abs(col["debt_drawdown"][b:]) <= tol)
    assert (col["debt_repayment"] >= -tol).all()
    assert r.peak_debt_busd == pytest.approx(float(bal.max(initial=0.0)), abs=tol)
    # without financing the builder's equity flows are the project's
    financed = s.debt_share_of_capex > 0 or s.partner_share_of_capex > 0 or s.campus_lease_share > 0
    if not financed:
        assert (col["fcf_to_equity"] == col["fcf"]).all()
        assert r.equity_irr == r.irr and r.npv_equity_busd == r.npv_busd
        assert (col["tax_levered"] == col["tax"]).all()
    elif s.debt_share_of_capex == 0 and s.campus_lease_share == 0:
        keep = 1.0 - s.partner_share_of_capex
        np.testing.assert_allclose(col["fcf_to_equity"], keep * col["fcf"], atol=tol, rtol=0)
    # interest is deductible: inside a group every dollar saves tax at once (section 11.2)
    if s.tax_in_group and s.campus_lease_share == 0 and s.debt_share_of_capex > 0:
        np.testing.assert_allclose(
            col["tax"] - col["tax_levered"], s.tax_rate * col["interest"], atol=tol, rtol=0
        )
    # NPV to equity by APV: the unlevered NPV plus the debt's flows at the cost of debt and the
    # lease's at the lessee's after-tax borrowing rate (sections 11.1, 11.9); the lease's flows
    # are the project's equity flows without the debt
    keep = 1.0 - s.partner_share_of_capex
    project = col["fcf_to_equity"] / keep
    t = np.arange(h)
    lease = np.zeros(h)
    if s.campus_lease_share > 0:
        unlevered = evaluate(s.replace(debt_share_of_capex=0.0)).cash_flows
        lease = unlevered["fcf_to_equity"].to_numpy() / keep - col["fcf"]
    lessee = s.lessee_borrowing_rate * (1.0 - s.tax_rate)
    side = float(np.sum((project - col["fcf"] - lease) / (1.0 + s.debt_interest_rate) ** t))
    side += float(np.sum(lease / (1.0 + lessee) ** t))
    assert r.npv_equity_busd == pytest.approx(keep * (r.npv_busd + side), abs=1e-8 * scale)
    # equity IRR: a root of the equity NPV profile, the flag as for the project IRR
    _, count, why = finance.irr_diagnostics(col["fcf_to_equity"])
    assert r.extra["equity_irr_root_count"] == count[0]
    if r.equity_irr is None:
        # not reported: no root, or roots only where none is reported (below -99.99%, above
        # 100,000,000%, not converged), e.g. a tiny inflow after the capex (methodology section 5)
        assert why[0] != finance.IRR_OK
        assert count[0] == 0 or why[0] in (
            finance.IRR_ROOT_BELOW_RANGE,
            finance.IRR_ROOT_ABOVE_RANGE,
            finance.IRR_NOT_CONVERGED,
        )
    else:
        terms = col["fcf_to_equity"] / (1.0 + r.equity_irr) ** t
        assert abs(float(terms.sum())) <= 1e-9 * max(1.0, float(np.abs(terms).sum()))
        assert r.equity_irr_multiple == (count[0] > 1)
    # a DSCR exists exactly when there is debt service
    service = (col["interest"] + col["debt_repayment"])[b:]
    if r.min_dscr is None:
        assert np.all(service <= 1e-12 * max(1.0, float(np.abs(col["fcf"]).max())))
    else:
        assert s.debt_share_of_capex > 0


@given(scenarios())
def test_financing_identities_hold_over_the_input_space(s: Scenario) -> None:
    assert_financing_identities(evaluate(s))


def _debt(**kw: object) -> Scenario:
    return load_preset("bofa-base").replace(debt_share_of_capex=0.5, **kw)


def test_without_debt_equity_metrics_are_the_projects() -> None:
    r = evaluate(load_preset("bofa-base"))
    assert r.equity_irr == r.irr and r.npv_equity_busd == r.npv_busd
    assert r.min_dscr is None and r.peak_debt_busd == 0.0
    cf = r.cash_flows
    assert (cf["fcf_to_equity"] == cf["fcf"]).all()


def test_modigliani_miller_without_tax_leverage_adds_nothing() -> None:
    # MM (1958): no tax, debt at its own cost: the value to equity is the unlevered NPV
    r = evaluate(_debt(tax_rate=0.0))
    assert r.npv_equity_busd == pytest.approx(r.npv_busd, abs=1e-9)
    assert r.irr is not None and r.equity_irr is not None
    # ... yet the equity IRR rises: the project earns more than the debt costs
    assert r.equity_irr > r.irr > r.scenario.debt_interest_rate


def test_with_tax_leverage_adds_the_pv_of_the_interest_tax_shield() -> None:
    # MM (1963) / Myers (1974): inside a profitable group every dollar of interest saves tax at
    # once, so NPV to equity - NPV = PV at the cost of debt of tax rate x interest
    s = _debt(tax_in_group=1)
    r = evaluate(s)
    cf = r.cash_flows
    t = np.arange(len(cf))
    shield = s.tax_rate * cf["interest"].to_numpy()
    np.testing.assert_allclose(cf["tax"] - cf["tax_levered"], shield, atol=1e-12)
    pv = float(np.sum(shield / (1.0 + s.debt_interest_rate) ** t))
    assert pv > 1.0
    assert r.npv_equity_busd - r.npv_busd == pytest.approx(pv, abs=1e-9)


def test_apv_equals_equity_flows_at_the_relevered_cost_of_equity() -> None:
    # methodology section 11.1: discounting FCFE at r_E,t = r_U + (r_U - r_D)(D - TS) / E each
    # year gives the APV
    s = _debt(tax_in_group=1)
    r = evaluate(s)
    cf = r.cash_flows
    fcf = cf["fcf"].to_numpy()
    fcfe = cf["fcf_to_equity"].to_numpy()
    shield = (cf["tax"] - cf["tax_levered"]).to_numpy()
    debt = cf["debt_balance"].to_numpy()
    ru, rd = s.wacc, s.debt_interest_rate
    n = len(cf)
    vu, ts = np.zeros(n), np.zeros(n)  # values after year t's flow
    for k in range(n - 2, -1, -1):
        vu[k] = (fcf[k + 1] + vu[k + 1]) / (1 + ru)
        ts[k] = (shield[k + 1] + ts[k + 1]) / (1 + rd)
    equity = vu + ts - debt
    assert (equity[:-1] > 0).all()  # the relevered rate is defined
    value = fcfe[0]
    factor = 1.0
    for k in range(1, n):
        r_e = ru + (ru - rd) * (debt[k - 1] - ts[k - 1]) / equity[k - 1]
        factor /= 1 + r_e
        value += fcfe[k] * factor
    assert value == pytest.approx(r.npv_equity_busd, abs=1e-9)


def test_level_debt_service_is_constant_and_sculpted_meets_the_target() -> None:
    level = evaluate(_debt()).cash_flows
    service = (level["interest"] + level["debt_repayment"]).to_numpy()[2:7]
    np.testing.assert_allclose(service, service[0], rtol=1e-12)
    d0 = 0.5 * 127.5 / 2 * (1 + 0.07) + 0.5 * 127.5 / 2  # two draws, the first's interest
    assert level["debt_balance"].iloc[1] == pytest.approx(d0, rel=1e-12)
    annuity = d0 * 0.07 / (1 - 1.07**-5)
    assert service[0] == pytest.approx(annuity, rel=1e-12)
    r = evaluate(_debt(debt_sculpted=1, tax_in_group=1, target_dscr=1.5))
    cf = r.cash_flows
    serv = (cf["interest"] + cf["debt_repayment"]).to_numpy()
    cfads = (cf["fcf"] + cf["tax"] - cf["tax_levered"]).to_numpy()
    for k in range(2, 6):  # before the last year of the tenor (which clears the balance)
        assert cfads[k] / serv[k] >= 1.5 - 1e-9
    # the last year of the tenor clears the balance while the IT refresh is paid: cover < 0
    assert r.min_dscr == pytest.approx(min(cfads[k] / serv[k] for k in range(2, 7)))


def test_partner_takes_its_share_of_the_cash_flows() -> None:
    r = evaluate(load_preset("bofa-base").replace(partner_share_of_capex=0.8))
    assert r.npv_equity_busd == pytest.approx(0.2 * r.npv_busd, rel=1e-12)
    assert r.equity_irr == pytest.approx(r.irr, abs=1e-12)
    np.testing.assert_allclose(r.cash_flows["fcf_to_equity"], 0.2 * r.cash_flows["fcf"])


def test_campus_lease_rent_recovers_the_lessors_funding() -> None:
    s = load_preset("bofa-base").replace(
        campus_lease_share=0.8, campus_lease_yield=0.06, campus_rvg_share=0.0
    )
    cf = evaluate(s).cash_flows
    fac_capex = cf["capex"].to_numpy() * 0.0
    fac_capex[:2] = 127.5 / 2 * 0.3
    # the facility (14-year life) is refreshed at the horizon of 16 years: nothing in between
    np.testing.assert_allclose(cf["lessor_funding"], 0.8 * fac_capex, atol=1e-12)
    v = 1.06 ** -np.arange(len(cf))
    rent = cf["campus_rent"].to_numpy()
    assert np.ptp(rent[2:]) < 1e-12 and (rent[:2] == 0).all()
    assert float(np.sum(rent * v)) == pytest.approx(float(np.sum(cf["lessor_funding"] * v)))


def test_coreweave_spv_levers_a_conventional_contracted_cluster() -> None:
    # methodology section 11.6: no refresh inside the horizon, so the flows are conventional
    r = evaluate(load_preset("coreweave-spv"))
    s = r.scenario
    assert s.it_life_years >= s.operating_years
    assert not r.irr_multiple and not r.equity_irr_multiple
    assert r.irr is not None and r.equity_irr is not None
    after_tax_debt = s.debt_interest_rate * (1.0 - s.tax_rate)
    assert r.irr > after_tax_debt
    assert r.equity_irr > r.irr
    assert r.min_dscr is not None and r.min_dscr > 1.0
    assert r.peak_debt_busd == pytest.approx(0.85 * 0.1 * 20.23, rel=1e-12)


def test_coreweave_spv_is_calibrated_to_managements_levered_irr() -> None:
    # methodology section 11.6: a 4-year contract at the H100 3-year term rent (US$2.00 per
    # GPU-hour x 578,035 GPUs per GW x 8,760 h), 85% loan-to-cost at 11%
    s = load_preset("coreweave-spv")
    assert s.lease_rate_busd_per_gw_year == pytest.approx(2.00 * 578_035 * 8_760 / 1e9, abs=5e-3)
    r = evaluate(s)
    assert r.equity_irr is not None and 0.30 < r.equity_irr < 0.50  # management: ~40%
    # at the 1-year contract price the same structure gives more than twice management's figure
    one_year = evaluate(s.replace(lease_rate_busd_per_gw_year=11.9))
    assert one_year.equity_irr is not None and one_year.equity_irr > 0.8
    # loan-to-cost on the GPU nodes only (85% of 85% of the cluster): a lower equity IRR
    gpu_only = evaluate(s.replace(debt_share_of_capex=0.85 * 0.85))
    assert gpu_only.equity_irr is not None and r.irr < gpu_only.equity_irr < r.equity_irr


def test_batch_equity_metrics_equal_evaluate() -> None:
    ids = ["coreweave-spv", "meta-hyperion-jv", "meta-hyperion-exit", "meta-surplus", "bofa-base"]
    scen = [load_preset(i) for i in ids]
    out = evaluate_batch(pd.DataFrame([s.model_dump() for s in scen]))
    for i, s in enumerate(scen):
        r = evaluate(s)
        for key in ("equity_irr", "npv_equity_busd", "min_dscr", "peak_debt_busd"):
            want = getattr(r, key)
            got = float(out[key].iloc[i])
            if want is None:
                assert math.isnan(got)
            else:
                assert got == pytest.approx(want, rel=1e-9, abs=1e-9), (s, key)


# ---- the campus lease's initial term: an exit at the horizon (methodology 11.1 and 11.6) ------


def _end_payment(r: Result) -> np.ndarray:
    """What the builder hands the lessor at the horizon: its share of the campus plus any
    shortfall below the guarantee (the lease flows less the rent and the lessor's funding)."""
    cf = r.cash_flows
    lease = cf["fcf"] + cf["tax"] - cf["tax_levered"] + cf["lessor_funding"] - cf["campus_rent"]
    return (lease - cf["fcf_to_equity"]).to_numpy()


def test_hyperion_exit_pays_the_renewed_rent_and_settles_the_guarantee_at_the_term() -> None:
    """Methodology 11.9: the guarantee is the lessor's unrecovered balance at the exit, the
    campus then worth the present value of its colocation rent."""
    renewed = load_preset("meta-hyperion-jv")
    exit_ = load_preset("meta-hyperion-exit")
    assert exit_.operating_years == 4 and exit_.campus_lease_priced_years == 14
    assert renewed.operating_years == 14 and renewed.campus_lease_priced_years == 0
    assert set(renewed.diff(exit_)) == {"operating_years", "campus_lease_priced_years"}
    r_ren, r_exit = evaluate(renewed), evaluate(exit_)
    rent = r_exit.cash_flows["campus_rent"].to_numpy()
    # the rent as priced for the renewed lease, paid in the 4 years of the initial term
    assert np.allclose(rent[2:], r_ren.cash_flows["campus_rent"].iloc[2])
    assert len(rent) == 2 + 4
    # the lessor's balance after 4 of 14 years, and the campus's 10 years of colocation rent
    fac_cost = 2.1 * 42.5 * 0.3
    funded = 0.8 * fac_cost / 2 * (1.07**4 + 1.07**5)  # two build years, carried to year 5
    balance = funded - sum(rent[2:] * 1.07 ** (5 - np.arange(2, 6)))
    for colocation, binds in ((1.65, False), (0.5, True), (0.0, True)):
        s = exit_.replace(campus_colocation_rent_busd_per_gw_year=colocation)
        value = sum(colocation * 2.1 * 1.03 ** (5 + j) / 1.07**j for j in range(1, 11))
        book = fac_cost * (14 - 4) / 14
        paid = _end_payment(evaluate(s))
        assert np.allclose(paid[:-1], 0.0, atol=1e-9)
        # the builder gives up its 80% of the campus as the project counts it (book here)
        # and pays any shortfall of the lessor's 80% of the colocation value below the balance
        assert paid[-1] == pytest.approx(0.8 * book + max(balance - 0.8 * value, 0.0), rel=1e-9)
        assert (balance > 0.8 * value) == binds
    # leaving at the term is worth less than the renewed lease, to the project and to Meta
    assert r_exit.npv_busd < r_ren.npv_busd
    assert r_exit.npv_equity_busd < r_ren.npv_equity_busd


def test_lease_priced_over_its_modelled_years_is_the_renewed_lease() -> None:
    s = load_preset("meta-hyperion-jv")
    a = evaluate(s)
    for years in (1, 14):  # at most the operating years: the lease runs to the horizon
        b = evaluate(s.replace(campus_lease_priced_years=years))
        pd.testing.assert_frame_equal(a.cash_flows, b.cash_flows)
        assert a.npv_equity_busd == b.npv_equity_busd


def test_a_link_saved_before_the_lease_term_input_loads_as_renewed() -> None:
    from app.state import parse_query_params, query_params_for

    # the new input travels in a link and comes back
    exit_ = load_preset("meta-hyperion-exit")
    params = query_params_for("meta-hyperion-jv", exit_)
    assert params["campus_lease_priced_years"] == "14"
    assert parse_query_params(params)[1] == exit_
    old = {"preset": "meta-hyperion-jv", "operating_years": "4"}
    _, linked, warnings = parse_query_params(old)
    assert not warnings and linked.campus_lease_priced_years == 0
    # (and, older than the entrant too, with the builder as entrant: methodology section 4.2)
    want = load_preset("meta-hyperion-jv").replace(
        operating_years=4,
        **OLD_MEANINGS,
    )
    assert linked == want
