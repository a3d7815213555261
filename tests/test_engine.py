"""The cash-flow engine: pricing identities (issue 2 section 5), accounting identities, timing,
tax with losses carried forward, refresh capex, residual value and the breakeven lease rate."""

from __future__ import annotations

import math

import numpy as np
import numpy_financial as npf
import pandas as pd
import pytest

from model import Result, Scenario, engine, evaluate, load_preset

SECONDS_PER_YEAR = 31_536_000.0


def base(**changes: object) -> Scenario:
    return load_preset("bofa-base").replace(**changes)


def operating_rows(r: Result) -> pd.DataFrame:
    return r.cash_flows[r.cash_flows["operating"]]


# ---- helpers shared with test_properties -------------------------------------------------------


def tax_loop(ebit: np.ndarray, rate: float) -> np.ndarray:
    """Plain reference: tax on positive EBIT after using losses carried forward (no carryback)."""
    pool = 0.0
    out = []
    for e in ebit:
        if e <= 0:
            pool -= e
            out.append(0.0)
        else:
            used = min(pool, e)
            pool -= used
            out.append(rate * (e - used))
    return np.array(out)


def assert_accounting_identities(r: Result, rtol: float = 1e-9) -> None:
    """Every line identity of the cash-flow table, with a tolerance relative to its scale."""
    cf = r.cash_flows
    s = r.scenario
    col = {c: cf[c].to_numpy(dtype=float) for c in cf.columns if c not in ("year", "operating")}
    scale = max(
        1.0, *(float(np.max(np.abs(v))) for v in col.values() if v.size and np.isfinite(v).all())
    )
    tol = rtol * scale

    def same(a: np.ndarray | float, b: np.ndarray | float) -> None:
        np.testing.assert_allclose(a, b, rtol=0, atol=tol)

    h = s.build_years + s.operating_years
    assert len(cf) == h
    assert cf["year"].tolist() == list(range(h))
    assert cf["operating"].tolist() == [s.build_years <= t < h for t in range(h)]
    for name, v in col.items():
        assert np.isfinite(v).all(), name
    op = cf["operating"].to_numpy()
    same(col["revenue"], col["revenue_lease"] + col["revenue_hosting"] + col["revenue_resale"])
    same(col["variable_opex"], col["revenue"] * s.variable_opex_share_of_revenue)
    same(
        col["ebitda"],
        col["revenue"]
        - col["power_cost"]
        - col["other_opex"]
        - col["variable_opex"]
        - col["procurement_cost"],
    )
    same(col["ebit"], col["ebitda"] - col["depreciation"])
    same(col["nopat"], col["ebit"] - col["tax"])
    same(col["fcf"], col["ebitda"] - col["tax"] - col["capex"] + col["residual_value"])
    same(col["cumulative_fcf"], np.cumsum(col["fcf"]))
    same(col["discounted_fcf"], col["fcf"] / (1.0 + s.wacc) ** np.arange(h))
    # nothing earned or spent on operations before operation starts
    for name in ("revenue", "power_cost", "other_opex", "procurement_cost", "depreciation", "tax"):
        assert (col[name][~op] == 0).all(), name
    # capex: even build spend, then refreshes only
    same(col["capex"][: s.build_years], s.gw_built * s.capex_per_gw_busd / s.build_years)
    same(col["capex"][s.build_years :], col["capex_refresh"][s.build_years :])
    assert (col["capex"] >= 0).all() and (col["capex_refresh"] >= 0).all()
    # book value: total depreciation + end net book value = total capex
    same(col["net_book_value"], np.cumsum(col["capex"] - col["depreciation"]))
    same(col["depreciation"].sum() + col["net_book_value"][-1], col["capex"].sum())
    assert col["net_book_value"][-1] >= -tol
    # residual value: a share of the end book value, in the last year only
    same(col["residual_value"][:-1], 0.0)
    same(col["residual_value"][-1], s.residual_value_fraction * col["net_book_value"][-1])
    # tax: never negative, unlimited loss carryforward
    assert (col["tax"] >= -tol).all()
    same(col["tax"], tax_loop(col["ebit"], s.tax_rate))
    # metrics read off the table
    same(r.npv_busd, col["discounted_fcf"].sum())
    same(r.capex_lifetime_busd, col["capex"].sum())
    same(r.revenue_total_busd, col["revenue"].sum())
    assert r.capex_initial_busd == pytest.approx(s.gw_built * s.capex_per_gw_busd, rel=1e-12)


# ---- the seed arithmetic and hand-checked lines ----------------------------------------------


def test_bofa_base_lines_by_hand() -> None:
    r = evaluate(load_preset("bofa-base"))
    cf = r.cash_flows
    # 3 GW x US$42.5 B = 127.5, spread over 2 build years
    assert cf["capex"].iloc[:2].tolist() == pytest.approx([63.75, 63.75])
    op = operating_rows(r)
    assert len(op) == 14
    assert op["revenue_lease"].to_numpy() == pytest.approx(3 * 12.5)
    # power: 3 GW x 8,760 h x 1,000 MWh/GWh x 0.85 load x US$40/MWh = US$0.89352 B
    assert op["power_cost"].to_numpy() == pytest.approx(3 * 8760 * 1000 * 0.85 * 40 / 1e9)
    assert op["other_opex"].to_numpy() == pytest.approx(3 * 0.35)
    assert op["variable_opex"].to_numpy() == pytest.approx(3.75)
    ebitda = 37.5 - 0.89352 - 1.05 - 3.75
    assert op["ebitda"].to_numpy() == pytest.approx(ebitda)
    # straight line: IT 127.5 x 0.7 / 5.5 + facility 127.5 x 0.3 / 14
    dep = 89.25 / 5.5 + 38.25 / 14
    assert op["depreciation"].to_numpy() == pytest.approx(dep)
    assert op["tax"].to_numpy() == pytest.approx(0.21 * (ebitda - dep))
    # IT vintages enter at 2 + 5.5 = 7.5 and 2 + 11 = 13: paid in years 7 and 12
    refresh = cf["capex_refresh"].to_numpy()
    assert np.flatnonzero(refresh).tolist() == [7, 12]
    assert refresh[[7, 12]] == pytest.approx([89.25, 89.25])
    # at the horizon (16) the third IT vintage has 3 x 5.5 - 14 = 2.5 of 5.5 years left
    assert cf["net_book_value"].iloc[-1] == pytest.approx(89.25 * 2.5 / 5.5)
    assert cf["residual_value"].iloc[-1] == pytest.approx(89.25 * 2.5 / 5.5)
    assert_accounting_identities(r)


def test_plain_products_with_multiplier_one_and_no_drift() -> None:
    s = base(
        gw_built=2.0,
        lease_share=0.45,
        hosting_share=0.35,
        lease_utilization=0.9,
        contracted_share=0.5,
        hosting_utilization=0.6,
        pue=1.25,
        gpus_per_gw=500_000.0,
        tokens_per_sec_per_gpu=3000.0,
        hosting_price_usd_per_m_tokens=0.5,
        procured_gw=1.6,
        procurement_cost_busd_per_gw_year=9.0,
        power_price_usd_per_mwh=55.0,
        efficiency_multiplier=1.0,
        efficiency_diffusion=0.7,
        demand_elasticity=1.7,
    )
    r = evaluate(s)
    # every index is 1 in every year
    assert r.market.drop(columns=["year", "operating"]).to_numpy() == pytest.approx(1.0, abs=1e-15)
    op = operating_rows(r)
    lease = 2.0 * 0.45 * 12.5 * 0.9
    hosting = 2.0 * 0.35 / 1.25 * 500_000 * 3000 * SECONDS_PER_YEAR * 0.6 * 0.5 / 1e6 / 1e9
    # 0.56 GW of IT x 500k = 280,000 GPUs x 3,000 tok/s x 31,536,000 s x 0.6 = 1.589e16 tokens
    assert hosting == pytest.approx(7.947072, rel=1e-12)  # x US$0.5 per M tokens, in US$ B
    assert op["revenue_lease"].to_numpy() == pytest.approx(lease, rel=1e-12)
    assert op["revenue_hosting"].to_numpy() == pytest.approx(hosting, rel=1e-12)
    assert op["revenue_resale"].to_numpy() == pytest.approx(1.6 * 12.5 * 0.9, rel=1e-12)
    assert op["procurement_cost"].to_numpy() == pytest.approx(1.6 * 9.0, rel=1e-12)
    assert op["power_cost"].to_numpy() == pytest.approx(
        2.0 * 8760 * 1000 * 0.85 * 55 / 1e9, rel=1e-12
    )
    assert_accounting_identities(r)


# ---- pricing pressure (issue 2 section 5) ----------------------------------------------------

MIX = {
    "lease_share": 0.6,
    "hosting_share": 0.4,
    "contracted_share": 0.5,
    "contract_years": 4,
}


@pytest.mark.parametrize("k", [2.0, 3.7, 0.5])
def test_industry_wide_full_pass_through_unit_elasticity_leaves_revenue_unchanged(
    k: float,
) -> None:
    common = {
        **MIX,
        "efficiency_diffusion": 1.0,
        "price_pass_through": 1.0,
        "demand_elasticity": 1.0,
    }
    r1 = evaluate(base(**common, efficiency_multiplier=1.0))
    rk = evaluate(base(**common, efficiency_multiplier=k))
    m = rk.market
    assert m["token_price_index"].to_numpy() == pytest.approx(1 / k, rel=1e-12)
    assert m["token_volume_index"].to_numpy() == pytest.approx(k, rel=1e-12)
    assert m["compute_demand_index"].to_numpy() == pytest.approx(1.0, rel=1e-12)
    assert m["lease_rate_index"].to_numpy() == pytest.approx(1.0, rel=1e-12)
    for line in ("revenue_lease", "revenue_hosting"):
        np.testing.assert_allclose(rk.cash_flows[line], r1.cash_flows[line], rtol=1e-12)
    assert rk.npv_busd == pytest.approx(r1.npv_busd, rel=1e-12)


@pytest.mark.parametrize("k", [2.0, 4.0])
def test_builder_only_efficiency_scales_hosting_only(k: float) -> None:
    common = {**MIX, "efficiency_diffusion": 0.0, "price_pass_through": 1.0}
    r1 = evaluate(base(**common, efficiency_multiplier=1.0))
    rk = evaluate(base(**common, efficiency_multiplier=k))
    assert rk.market["token_price_index"].to_numpy() == pytest.approx(1.0, rel=1e-12)
    assert rk.market["lease_rate_index"].to_numpy() == pytest.approx(1.0, rel=1e-12)
    np.testing.assert_allclose(
        rk.cash_flows["revenue_hosting"], k * r1.cash_flows["revenue_hosting"], rtol=1e-12
    )
    np.testing.assert_allclose(rk.cash_flows["revenue_lease"], r1.cash_flows["revenue_lease"])
    assert operating_rows(rk)["revenue_hosting"].min() > 0


@pytest.mark.parametrize(("elasticity", "direction"), [(0.4, -1), (0.9, -1), (1.1, 1), (2.5, 1)])
def test_jevons_uncontracted_lease_revenue_follows_elasticity(
    elasticity: float, direction: int
) -> None:
    k = 2.0
    common = {
        "efficiency_diffusion": 1.0,
        "price_pass_through": 1.0,
        "demand_elasticity": elasticity,
        "contract_years": 4,
        "lease_rate_index_cap": 50.0,  # the identities are about the uncapped market
    }
    # no contracts: every operating year moves by k ** (elasticity - 1)
    free1 = evaluate(base(**common, contracted_share=0.0, efficiency_multiplier=1.0))
    freek = evaluate(base(**common, contracted_share=0.0, efficiency_multiplier=k))
    ratio = (
        operating_rows(freek)["revenue_lease"].to_numpy()
        / operating_rows(free1)["revenue_lease"].to_numpy()
    )
    assert ratio == pytest.approx(k ** (elasticity - 1.0), rel=1e-12)
    assert np.sign(ratio - 1.0).tolist() == [direction] * len(ratio)
    assert freek.market["compute_demand_index"].to_numpy() == pytest.approx(
        k ** (elasticity - 1.0), rel=1e-12
    )
    # all contracted: unchanged during the term, then it follows the market
    c1 = evaluate(base(**common, contracted_share=1.0, efficiency_multiplier=1.0))
    ck = evaluate(base(**common, contracted_share=1.0, efficiency_multiplier=k))
    a = operating_rows(ck)["revenue_lease"].to_numpy()
    b = operating_rows(c1)["revenue_lease"].to_numpy()
    assert a[:4] == pytest.approx(b[:4], rel=1e-12)
    assert a[4:] / b[4:] == pytest.approx(k ** (elasticity - 1.0), rel=1e-12)
    # a mix: the contracted part holds, the rest moves
    mix = evaluate(base(**common, contracted_share=0.7, efficiency_multiplier=k))
    m = operating_rows(mix)["revenue_lease"].to_numpy()
    assert m[:4] == pytest.approx(b[:4] * (0.7 + 0.3 * k ** (elasticity - 1.0)), rel=1e-12)


def test_levers_default_to_no_effect_and_move_the_indices() -> None:
    r = evaluate(base())
    assert r.market.drop(columns=["year", "operating"]).to_numpy() == pytest.approx(1.0)
    grow = evaluate(
        base(token_demand_growth_per_year=0.2, contracted_share=0.0, lease_rate_index_cap=50.0)
    )
    t = grow.market["year"].to_numpy()
    assert grow.market["token_volume_index"].to_numpy() == pytest.approx(1.2**t)
    assert grow.market["lease_rate_index"].to_numpy() == pytest.approx(1.2**t)
    cap = evaluate(base(industry_capacity_growth_per_year=0.25))
    assert cap.market["lease_rate_index"].to_numpy() == pytest.approx(1.25**-t)
    # a secular price decline: tokens get cheaper, an unrefreshed fleet falls behind the frontier
    dec = evaluate(base(token_price_decline_per_year=0.3, demand_elasticity=1.0))
    m = dec.market
    assert m["token_price_index"].to_numpy() == pytest.approx(0.7**t)
    assert m["lease_rate_index"].to_numpy() == pytest.approx(1.0)
    fleet = m["fleet_lease_rate_index"].to_numpy()
    assert fleet[2] == pytest.approx(1.0) and fleet[3] == pytest.approx(0.7)
    assert (np.diff(fleet[2:8]) < 0).all()  # ages until the refresh in year 7 (time 7.5)
    assert fleet[8] > fleet[7]


# ---- timing, refresh, tax --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "n_op", "life", "paid"),
    [
        (2, 14, 5.5, [7, 12]),
        (1, 10, 5.0, [5]),  # vintage at exactly 6.0 is paid at the end of year 5
        (3, 12, 4.0, [6, 10]),  # 3 + 12 = 15 is the horizon end: no vintage starts there
        (2, 5, 6.0, []),
        (1, 6, 1.0, [1, 2, 3, 4, 5]),
        (2, 9, 2.5, [4, 6, 9]),  # starts 4.5, 7.0, 9.5
    ],
)
def test_it_refresh_is_paid_in_the_year_the_vintage_starts(
    build: int, n_op: int, life: float, paid: list[int]
) -> None:
    s = base(build_years=build, operating_years=n_op, it_life_years=life, facility_life_years=40)
    r = evaluate(s)
    refresh = r.cash_flows["capex_refresh"].to_numpy()
    assert np.flatnonzero(refresh).tolist() == paid
    it_cost = s.gw_built * s.capex_per_gw_busd * s.it_share_of_capex
    assert refresh[paid] == pytest.approx(it_cost)
    assert_accounting_identities(r)


def test_facility_refresh_and_constant_depreciation() -> None:
    s = base(build_years=1, operating_years=30, facility_life_years=12, it_life_years=6)
    r = evaluate(s)
    op = operating_rows(r)
    cost = s.gw_built * s.capex_per_gw_busd
    dep = cost * 0.7 / 6 + cost * 0.3 / 12
    assert op["depreciation"].to_numpy() == pytest.approx(dep)
    refresh = r.cash_flows["capex_refresh"].to_numpy()
    # IT at 7, 13, 19, 25 (paid years 6, 12, 18, 24); facility at 13, 25 (paid 12, 24)
    assert refresh[[6, 18]] == pytest.approx(cost * 0.7)
    assert refresh[[12, 24]] == pytest.approx(cost * 0.7 + cost * 0.3)
    assert_accounting_identities(r)


def test_tax_closed_form_matches_the_loop_on_random_ebit() -> None:
    rng = np.random.default_rng(7)
    ebit = rng.normal(0.0, 10.0, (300, 20))
    ebit[::3] -= 8.0  # plenty of loss years
    rates = rng.uniform(0.0, 0.5, 300)
    got = engine._tax_with_carryforward(ebit, rates)
    for row, rate, tax in zip(ebit, rates, got):
        np.testing.assert_allclose(tax, tax_loop(row, rate), atol=1e-12)
    assert (got >= -1e-12).all()


def test_tax_is_rate_times_ebit_without_losses_and_carries_losses() -> None:
    r = evaluate(base())
    op = operating_rows(r)
    assert (op["ebit"] > 0).all()
    assert op["tax"].to_numpy() == pytest.approx(0.21 * op["ebit"].to_numpy(), rel=1e-12)
    # a low lease rate early on: losses, then profits shielded until the losses are used
    loss = evaluate(
        base(lease_rate_busd_per_gw_year=4.0, token_demand_growth_per_year=0.2, contracted_share=0)
    )
    ebit = loss.cash_flows["ebit"].to_numpy()
    tax = loss.cash_flows["tax"].to_numpy()
    assert (ebit < 0).any() and (ebit > 0).any()
    np.testing.assert_allclose(tax, tax_loop(ebit, 0.21), atol=1e-12)
    first_profit = int(np.argmax(ebit > 0))
    assert tax[first_profit] < 0.21 * ebit[first_profit]
    assert_accounting_identities(loss)


def test_residual_value_fraction() -> None:
    full = evaluate(base(residual_value_fraction=1.0))
    none = evaluate(base(residual_value_fraction=0.0))
    nbv = full.cash_flows["net_book_value"].iloc[-1]
    assert none.cash_flows["residual_value"].sum() == 0.0
    assert full.npv_busd - none.npv_busd == pytest.approx(nbv / 1.087**15, rel=1e-12)


# ---- breakeven lease rate --------------------------------------------------------------------


@pytest.mark.parametrize("preset", ["bofa-base", "bofa-bear", "bofa-bull", "crusoe-resale"])
def test_breakeven_lease_rate_gives_zero_npv(preset: str) -> None:
    r = evaluate(load_preset(preset))
    x = r.breakeven_lease_rate_busd_per_gw_year
    assert x is not None and 0 < x < 60
    at = evaluate(r.scenario.replace(lease_rate_busd_per_gw_year=x))
    assert at.npv_busd == pytest.approx(0.0, abs=1e-8)
    assert (r.npv_busd > 0) == (r.scenario.lease_rate_busd_per_gw_year > x)


def test_breakeven_is_found_from_a_zero_lease_rate() -> None:
    # regression: the slope of revenue in the lease rate was divided out of a zero rate
    r0 = evaluate(base(lease_rate_busd_per_gw_year=0.0))
    r1 = evaluate(base())
    assert r0.breakeven_lease_rate_busd_per_gw_year == pytest.approx(
        r1.breakeven_lease_rate_busd_per_gw_year, rel=1e-9
    )


def test_breakeven_is_none_without_lease_exposure() -> None:
    r = evaluate(base(lease_share=0.0, hosting_share=1.0))
    assert r.breakeven_lease_rate_busd_per_gw_year is None


def test_npv_matches_numpy_financial_on_the_fcf_column() -> None:
    for preset in ("bofa-base", "hosting-mix", "openai-efficiency"):
        r = evaluate(load_preset(preset))
        fcf = r.cash_flows["fcf"].to_numpy()
        assert r.npv_busd == pytest.approx(npf.npv(r.scenario.wacc, fcf), rel=1e-12)
        assert math.isfinite(r.npv_busd)


def test_engine_run_and_run_metrics_agree() -> None:
    from model.results import scenario_params

    scenarios = [load_preset(p) for p in ("bofa-base", "hosting-mix", "crusoe-resale")]
    scenarios.append(base(build_years=4, operating_years=25, it_life_years=3.0))
    params = scenario_params(scenarios)
    full = engine.run(params, with_breakeven=True).metrics
    chunked = engine.run_metrics(params, with_breakeven=True)
    for k, v in full.items():
        np.testing.assert_allclose(chunked[k], v, rtol=1e-12, equal_nan=True)


def test_lease_rate_ceiling_caps_spot_rates_not_demand() -> None:
    # industry-wide 4x with full pass-through and elasticity 1.5: demand per GPU = 4 ** 0.5 = 2
    common = {
        "efficiency_multiplier": 4.0,
        "efficiency_diffusion": 1.0,
        "price_pass_through": 1.0,
        "demand_elasticity": 1.5,
        "contracted_share": 0.0,
    }
    capped = evaluate(base(**common, lease_rate_index_cap=1.5))
    free = evaluate(base(**common, lease_rate_index_cap=50.0))
    assert capped.market["compute_demand_index"].to_numpy() == pytest.approx(2.0, rel=1e-12)
    assert capped.market["lease_rate_index"].to_numpy() == pytest.approx(1.5, rel=1e-12)
    assert free.market["lease_rate_index"].to_numpy() == pytest.approx(2.0, rel=1e-12)
    ratio = (
        operating_rows(capped)["revenue_lease"].to_numpy()
        / operating_rows(free)["revenue_lease"].to_numpy()
    )
    assert ratio == pytest.approx(0.75, rel=1e-12)
    # a ceiling of 1 means spot rates can only fall
    floor1 = evaluate(base(**common, lease_rate_index_cap=1.0))
    assert floor1.market["lease_rate_index"].max() == pytest.approx(1.0)


def test_token_price_deflation_is_a_downside_for_a_lessor_at_default_elasticity() -> None:
    # ~10x a year cheaper tokens from newer hardware: the installed fleet falls behind and spot
    # rates cannot rise past the ceiling, so a pure lessor loses value (Jevons or not)
    s = base()
    assert s.demand_elasticity > 1.0
    deflation = evaluate(s.replace(token_price_decline_per_year=0.9))
    assert deflation.npv_busd < evaluate(s).npv_busd
    assert deflation.market["lease_rate_index"].max() <= s.lease_rate_index_cap + 1e-12
