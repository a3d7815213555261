"""The cash-flow engine: pricing identities (methodology section 4), accounting identities,
timing, tax with losses carried forward, refresh capex, residual value at market value
(methodology section 2) and the breakeven lease rate (section 5)."""

from __future__ import annotations

import math

import numpy as np
import numpy_financial as npf
import pandas as pd
import pytest

from model import FIELD_SPECS, Result, Scenario, engine, evaluate, load_preset
from model.data import entrant_profiles, presets
from model.results import evaluate_batch, scenario_params
from model.sensitivity import breakeven
from model.tax import cash_tax

SECONDS_PER_YEAR = 31_536_000.0


def base(**changes: object) -> Scenario:
    """bofa-base with ``changes``; an IT life set alone sets the book life with it (one life
    for both, as these tests were written before section 11.8 set them apart)."""
    if "it_life_years" in changes and "it_book_life_years" not in changes:
        changes["it_book_life_years"] = changes["it_life_years"]
    # the facility at book, as these tests were worked by hand (section 2.3); section 2.5's
    # annuity value and site surplus are tested in tests/test_facility_residual.py
    changes.setdefault("facility_residual", "book")
    return load_preset("bofa-base").replace(**changes)


def operating_rows(r: Result) -> pd.DataFrame:
    return r.cash_flows[r.cash_flows["operating"]]


# ---- helpers shared with test_properties -------------------------------------------------------


def tax_loop(ebit: np.ndarray, rate: float, nol_limit: float = 1.0) -> np.ndarray:
    """Plain reference: tax on positive EBIT after using losses carried forward (no carryback),
    which offset at most ``nol_limit`` of a year's income (methodology section 11.2)."""
    pool = 0.0
    out = []
    for e in ebit:
        if e <= 0:
            pool -= e
            out.append(0.0)
        else:
            used = min(pool, nol_limit * e)
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
    same(
        col["revenue"],
        col["revenue_lease"]
        + col["revenue_hosting"]
        + col["revenue_resale"]
        + col["revenue_internal"],
    )
    same(col["variable_opex"], col["revenue"] * s.variable_opex_share_of_revenue)
    same(
        col["ebitda"],
        col["revenue"]
        - col["power_cost"]
        - col["other_opex"]
        - col["variable_opex"]
        - col["procurement_cost"]
        - col["licence_fee"],
    )
    same(col["licence_fee"], col["revenue_hosting"] * s.hosting_licence_fee_share)
    same(col["ebit"], col["ebitda"] - col["depreciation"])
    same(col["nopat"], col["ebit"] - col["tax"])
    same(col["fcf"], col["ebitda"] - col["tax"] - col["capex"] + col["residual_value"])
    same(col["cumulative_fcf"], np.cumsum(col["fcf"]))
    same(col["discounted_fcf"], col["fcf"] / (1.0 + s.wacc) ** np.arange(h))
    # nothing earned or spent on operations before operation starts (phases online as built
    # earn from the year after their build year: methodology section 11.4)
    early = (np.arange(h) < 1) if s.phased_online else ~op
    for name in ("revenue", "power_cost", "other_opex", "tax"):
        assert (col[name][early] == 0).all(), name
    for name in ("procurement_cost", "depreciation"):
        assert (col[name][~op] == 0).all(), name
    # capex: the build spend by phase share (even at front-loading 0), then refreshes only
    b = s.build_years
    j = np.arange(b)
    tilt = s.build_front_loading * (1.0 - 2.0 * j / (b - 1)) if b > 1 else np.zeros(1)
    same(col["capex"][:b], s.gw_built * s.capex_per_gw_busd * (1.0 + tilt) / b)
    same(col["capex"][s.build_years :], col["capex_refresh"][s.build_years :])
    assert (col["capex"] >= 0).all() and (col["capex_refresh"] >= 0).all()
    # book value: total depreciation + end net book value = total capex
    same(col["net_book_value"], np.cumsum(col["capex"] - col["depreciation"]))
    same(col["depreciation"].sum() + col["net_book_value"][-1], col["capex"].sum())
    assert col["net_book_value"][-1] >= -tol
    # residual value: market value, in the last year only, its gain against book taxed
    same(col["residual_value"][:-1], 0.0)
    same(col["residual_gain"][:-1], 0.0)
    assert col["residual_value"][-1] >= -tol
    same(col["residual_gain"][-1], col["residual_value"][-1] - col["net_book_value"][-1])
    # tax on EBIT at tax depreciation and the disposal gain against the tax basis: stand-alone
    # never negative, losses carried forward; inside a group, rate x income (section 11.2)
    taxable = col["ebit"] + col["residual_gain"] + col["depreciation"] - col["tax_depreciation"]
    taxable[-1] += col["tax_depreciation"].sum() - col["depreciation"].sum()
    if s.tax_in_group:
        same(col["tax"], s.tax_rate * taxable)
    else:
        assert (col["tax"] >= -tol).all()
        same(col["tax"], tax_loop(taxable, s.tax_rate, s.nol_offset_limit_share))
    if not (s.macrs_depreciation or s.bonus_depreciation_share):
        if s.it_book_life_years == s.it_life_years:
            same(col["tax_depreciation"], col["depreciation"])
        else:  # the tax straight-line is over the service life (section 11.8)
            cost = s.gw_built * s.capex_per_gw_busd
            straight = (
                cost * (s.it_share_of_capex / s.it_life_years)
                + cost * (1.0 - s.it_share_of_capex) / s.facility_life_years
            )
            same(col["tax_depreciation"], np.where(op, straight, 0.0))
    # the frontier lease rate stays between its floor and ceiling (methodology section 4.2)
    m = r.market
    lease = m["lease_rate_index"].to_numpy()
    scale_m = max(1.0, float(np.max(np.abs(lease))))
    assert (m["lease_rate_floor_index"].to_numpy() <= lease + 1e-12 * scale_m).all()
    assert (lease <= m["lease_rate_ceiling_index"].to_numpy() + 1e-12 * scale_m).all()
    # metrics read off the table
    same(r.npv_busd, col["discounted_fcf"].sum())
    same(r.capex_lifetime_busd, col["capex"].sum())
    same(r.revenue_total_busd, col["revenue"].sum())
    assert r.capex_initial_busd == pytest.approx(s.gw_built * s.capex_per_gw_busd, rel=1e-12)


# ---- the seed arithmetic and hand-checked lines ----------------------------------------------

#: A market where the cost bounds are far away: capex high and today's rate low, so the user
#: cost of new capacity is ~4x today's rate and the floor ~0.14x (methodology section 4.2).
#: No refresh pays there, so every vintage is bought as before (``refresh_rule`` "always",
#: section 2.4): the market's identities are read on the same fleet.
LOOSE = {"capex_per_gw_busd": 80.0, "lease_rate_busd_per_gw_year": 5.0, "refresh_rule": 0}
#: No limit from the market's token volume (methodology section 4.4).
NO_TOKEN_CAP = {"hosting_market_share_cap": 1.0, "market_tokens_quadrillion_per_year": 1e6}


def test_bofa_base_lines_by_hand() -> None:
    r = evaluate(base())  # the facility at book, as section 6.1 works it
    cf = r.cash_flows
    # 3 GW x US$42.5 B = 127.5, spread over 2 build years
    assert cf["capex"].iloc[:2].tolist() == pytest.approx([63.75, 63.75])
    op = operating_rows(r)
    assert len(op) == 14
    assert op["revenue_lease"].to_numpy() == pytest.approx(3 * 12.5)
    # power: 3 GW x 8,760 h x 1,000 MWh/GWh x 0.85 load x US$40/MWh = US$0.89352 B
    power = 3 * 8760 * 1000 * 0.85 * 40 / 1e9
    assert op["power_cost"].to_numpy() == pytest.approx(power)
    assert op["other_opex"].to_numpy() == pytest.approx(3 * 0.35)
    assert op["variable_opex"].to_numpy() == pytest.approx(3.75)
    ebitda = 37.5 - 0.89352 - 1.05 - 3.75
    assert op["ebitda"].to_numpy() == pytest.approx(ebitda)
    # straight line: IT 127.5 x 0.7 / 5.5 + facility 127.5 x 0.3 / 14
    dep = 89.25 / 5.5 + 38.25 / 14
    assert op["depreciation"].to_numpy() == pytest.approx(dep)
    assert op["tax"].to_numpy()[:-1] == pytest.approx(0.21 * (ebitda - dep))
    # IT vintages start at 2 + 5.5 = 7.5 (paid half at the end of year 6, half at the end of
    # year 7) and 2 + 11 = 13 (paid at the end of year 12)
    refresh = cf["capex_refresh"].to_numpy()
    assert np.flatnonzero(refresh).tolist() == [6, 7, 12]
    assert refresh[[6, 7, 12]] == pytest.approx([44.625, 44.625, 89.25])
    # at the horizon (16) the third IT vintage has 3 x 5.5 - 14 = 2.5 of 5.5 years left
    nbv = 89.25 * 2.5 / 5.5
    assert cf["net_book_value"].iloc[-1] == pytest.approx(nbv)
    # its market value (section 2.3): the value of its remaining rents is 2.5 years of 3 GW x
    # (12.5 x 0.9 - avoidable 0.64784 - the facility's capital charge 12.75 x rho /
    # (1 - exp(-14 rho))), discounted continuously, to a taxed buyer
    rho = math.log(1.087)
    charge = power / 3 + 0.35 + 12.75 * rho / (1 - math.exp(-14 * rho))

    def rents(years: float) -> float:
        pre_tax = 3 * (12.5 * 0.9 - charge) * (1 - math.exp(-years * rho)) / rho
        # a taxed buyer: V = 0.79 x PV / (1 - 0.21 x PV of 1 a year over the years / years)
        return 0.79 * pre_tax / (1 - 0.21 * (1 - math.exp(-years * rho)) / (years * rho))

    # a new vintage's 5.5 years of the same rents (113.9) are worth more than its cost (89.25):
    # the surplus is the site's, so the IT is worth its rents scaled by 89.25 / 113.9
    assert rents(2.5) == pytest.approx(59.774, abs=1e-3)
    assert rents(5.5) == pytest.approx(113.875, abs=1e-3)
    value = rents(2.5) * 89.25 / rents(5.5)
    assert value == pytest.approx(46.848, abs=1e-3)
    assert cf["residual_value"].iloc[-1] == pytest.approx(value, rel=1e-12)
    assert cf["residual_gain"].iloc[-1] == pytest.approx(value - nbv, rel=1e-12)
    assert cf["tax"].iloc[-1] == pytest.approx(0.21 * (ebitda - dep + value - nbv))
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
        hosting_input_price_usd_per_m_tokens=0.2,
        input_tokens_per_output_token=3.0,
        hosting_licence_fee_share=0.3,
        procured_gw=1.6,
        procurement_cost_busd_per_gw_year=9.0,
        power_price_usd_per_mwh=55.0,
        efficiency_multiplier=1.0,
        efficiency_diffusion=0.7,
        demand_elasticity=1.7,
        **NO_TOKEN_CAP,
    )
    r = evaluate(s)
    # every market index is 1 in every year
    names = [
        "token_price_index",
        "token_volume_index",
        "compute_demand_index",
        "industry_capacity_index",
        "lease_rate_index",
        "fleet_lease_rate_index",
        "contracted_lease_rate_index",
        "builder_tokens_per_gpu_index",
        "hosting_volume_factor",
        "hosting_capacity_used_share",
        "hosting_token_price_index",
    ]
    assert r.market[names].to_numpy() == pytest.approx(1.0, abs=1e-15)
    op = operating_rows(r)
    lease = 2.0 * 0.45 * 12.5 * 0.9
    # output tokens: 0.56 GW of IT x 500k = 280,000 GPUs x 3,000 tok/s x 31,536,000 s x 0.6
    tokens_m = 2.0 * 0.35 / 1.25 * 500_000 * 3000 * SECONDS_PER_YEAR * 0.6 / 1e6
    # each output token carries 3 input tokens: US$0.5 + 3 x 0.2 = 1.1 per M output tokens
    hosting = tokens_m * (0.5 + 3 * 0.2) / 1e9
    assert tokens_m * 0.5 / 1e9 == pytest.approx(7.947072, rel=1e-12)
    assert op["revenue_lease"].to_numpy() == pytest.approx(lease, rel=1e-12)
    assert op["revenue_hosting"].to_numpy() == pytest.approx(hosting, rel=1e-12)
    assert op["licence_fee"].to_numpy() == pytest.approx(0.3 * hosting, rel=1e-12)
    assert op["revenue_resale"].to_numpy() == pytest.approx(1.6 * 12.5 * 0.9, rel=1e-12)
    assert op["procurement_cost"].to_numpy() == pytest.approx(1.6 * 9.0, rel=1e-12)
    assert op["power_cost"].to_numpy() == pytest.approx(
        2.0 * 8760 * 1000 * 0.85 * 55 / 1e9, rel=1e-12
    )
    assert_accounting_identities(r)


# ---- pricing pressure (methodology section 4.3) -----------------------------------------------

MIX = {
    "lease_share": 0.6,
    "hosting_share": 0.4,
    "contracted_share": 0.5,
    "contract_years": 4,
    **NO_TOKEN_CAP,
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


def test_builder_only_efficiency_is_bounded_by_the_market_token_volume() -> None:
    """A 4x builder-only gain sells at most the share cap of the market's tokens (section 4.4)."""
    common = {"lease_share": 0.0, "hosting_share": 1.0, "efficiency_diffusion": 0.0}
    r1 = evaluate(base(**common, efficiency_multiplier=1.0))
    r4 = evaluate(base(**common, efficiency_multiplier=4.0))
    s = r4.scenario
    cap_tokens_m = s.hosting_market_share_cap * s.market_tokens_quadrillion_per_year * 1e9
    price = s.hosting_price_usd_per_m_tokens + (
        s.input_tokens_per_output_token * s.hosting_input_price_usd_per_m_tokens
    )
    most = cap_tokens_m / (1 + s.input_tokens_per_output_token) * price / 1e9
    for r in (r1, r4):
        hosted = operating_rows(r)["revenue_hosting"].to_numpy()
        assert (hosted <= most * (1 + 1e-12)).all()
        assert (r.market["hosting_capacity_used_share"] <= 1.0).all()
    # the cap binds at 3 GW already, so the gain adds no hosting revenue, only spare capacity
    # leased at spot
    np.testing.assert_allclose(
        operating_rows(r4)["revenue_hosting"], operating_rows(r1)["revenue_hosting"]
    )
    assert r4.npv_busd > r1.npv_busd
    assert r4.npv_busd < r1.npv_busd + 0.5 * abs(r1.npv_busd) + 50


@pytest.mark.parametrize(("elasticity", "direction"), [(0.4, -1), (0.9, -1), (1.1, 1), (2.5, 1)])
def test_jevons_uncontracted_lease_revenue_follows_elasticity(
    elasticity: float, direction: int
) -> None:
    k = 2.0
    common = {
        **LOOSE,
        "efficiency_diffusion": 1.0,
        "price_pass_through": 1.0,
        "demand_elasticity": elasticity,
        "contract_years": 4,
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
    # the first contract is signed at the quoted rate (section 4.6): its 4 years keep it; the
    # contracts signed after it, at the new frontier rate, move with the gain
    ck = evaluate(base(**common, contracted_share=1.0, efficiency_multiplier=k))
    c1 = evaluate(base(**common, contracted_share=1.0, efficiency_multiplier=1.0))
    a = operating_rows(ck)["revenue_lease"].to_numpy()
    b = operating_rows(c1)["revenue_lease"].to_numpy()
    assert a[:4] / b[:4] == pytest.approx(1.0, rel=1e-12)
    assert a[4:] / b[4:] == pytest.approx(k ** (elasticity - 1.0), rel=1e-12)


def test_contracts_hold_their_signing_rate_while_the_market_moves() -> None:
    """Each vintage is contracted at the level rent of its term signed at its start, the first
    at the quoted rate (methodology sections 4.5 and 4.6)."""
    s = base(**LOOSE, token_demand_growth_per_year=0.1, contract_years=3, contracted_share=1.0)
    r = evaluate(s)
    op = operating_rows(r)
    rate = op["revenue_lease"].to_numpy() / (3 * 5.0)
    # vintage 0 starts at 2.0: contracted at the quoted rate for operating years 0-2, then spot
    assert rate[:3] == pytest.approx(1.0, rel=1e-12)
    # vintage 1 starts at 7.5, half-way through year 7: contracted from then at the level rent
    # of 3 years of a frontier growing 10% a year (no ageing at h = 0), discounted at the
    # entrant's WACC
    assert s.entrant_profile == 1 and s.entrant_wacc == 0.0  # the neocloud's own WACC
    rho, g = math.log1p(entrant_profiles()["neocloud"].wacc), math.log(1.1)
    level = 1.1**7.5 * (-math.expm1(-(rho - g) * 3) / (rho - g)) / (-math.expm1(-rho * 3) / rho)
    assert rate[6] == pytest.approx(level, rel=1e-12)
    year7 = 0.5 * (1.1**7.25) + 0.5 * level
    assert rate[5] == pytest.approx(year7, rel=1e-12)
    assert_accounting_identities(r)


def test_levers_default_to_no_effect_and_move_the_indices() -> None:
    r = evaluate(base())
    m = r.market
    for name in ("token_price_index", "lease_rate_index", "fleet_lease_rate_index"):
        assert m[name].to_numpy() == pytest.approx(1.0)
    # user cost ~28x today's rate: the ceiling stays above 1.2 ** 15
    far = {"capex_per_gw_busd": 120.0, "lease_rate_busd_per_gw_year": 1.0}
    grow = evaluate(base(**far, token_demand_growth_per_year=0.2, contracted_share=0.0))
    t = grow.market["year"].to_numpy()
    assert grow.market["token_volume_index"].to_numpy() == pytest.approx(1.2**t)
    assert grow.market["lease_rate_index"].to_numpy() == pytest.approx(1.2**t)
    cap = evaluate(base(**LOOSE, industry_capacity_growth_per_year=0.1))
    assert cap.market["lease_rate_index"].to_numpy() == pytest.approx(1.1**-t)
    # a token price decline (algorithms) makes tokens cheaper but does not age hardware
    dec = evaluate(base(token_price_decline_per_year=0.3, demand_elasticity=1.0))
    m = dec.market
    assert m["token_price_index"].to_numpy() == pytest.approx(0.7**t)
    assert m["lease_rate_index"].to_numpy() == pytest.approx(1.0)
    assert m["fleet_lease_rate_index"].to_numpy() == pytest.approx(1.0)
    # the hardware decline does: an unrefreshed vintage falls behind the frontier
    hw = evaluate(base(hardware_cost_decline_per_year=0.3))
    fleet = hw.market["fleet_lease_rate_index"].to_numpy()
    assert fleet[2] == pytest.approx(1.0) and fleet[3] == pytest.approx(0.7)
    assert (np.diff(fleet[2:8]) < 0).all()  # ages until the refresh at time 7.5
    assert fleet[8] > fleet[7]


# ---- timing, refresh, tax --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "n_op", "life", "paid"),
    [
        (2, 14, 5.5, {6: 0.5, 7: 0.5, 12: 1.0}),  # starts 7.5 and 13.0
        (1, 10, 5.0, {5: 1.0}),  # a start at exactly 6.0 is paid at the end of year 5
        (3, 12, 4.0, {6: 1.0, 10: 1.0}),  # 3 + 12 = 15 is the horizon end: no start there
        (2, 5, 6.0, {}),
        (1, 6, 1.0, {1: 1.0, 2: 1.0, 3: 1.0, 4: 1.0, 5: 1.0}),
        (2, 9, 2.5, {3: 0.5, 4: 0.5, 6: 1.0, 8: 0.5, 9: 0.5}),  # starts 4.5, 7.0, 9.5
    ],
)
def test_it_refresh_is_split_between_the_year_ends_around_its_start(
    build: int, n_op: int, life: float, paid: dict[int, float]
) -> None:
    # every refresh bought (section 2.4's "always"): where each payment falls (section 2.2)
    s = base(
        build_years=build,
        operating_years=n_op,
        it_life_years=life,
        facility_life_years=40,
        refresh_rule=0,
    )
    r = evaluate(s)
    refresh = r.cash_flows["capex_refresh"].to_numpy()
    assert np.flatnonzero(refresh).tolist() == sorted(paid)
    it_cost = s.gw_built * s.capex_per_gw_busd * s.it_share_of_capex
    assert refresh[sorted(paid)] == pytest.approx([it_cost * paid[y] for y in sorted(paid)])
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
    got = cash_tax(ebit, rates, in_group=np.zeros(300), nol_limit=np.ones(300))
    for row, rate, tax in zip(ebit, rates, got):
        np.testing.assert_allclose(tax, tax_loop(row, rate), atol=1e-12)
    assert (got >= -1e-12).all()


def test_tax_is_rate_times_ebit_without_losses_and_carries_losses() -> None:
    r = evaluate(base())
    op = operating_rows(r)
    assert (op["ebit"] > 0).all()
    taxable = (op["ebit"] + op["residual_gain"]).to_numpy()
    assert op["tax"].to_numpy() == pytest.approx(0.21 * taxable, rel=1e-12)
    # a low lease rate early on: losses, then profits shielded until the losses are used
    loss = evaluate(
        base(
            capex_per_gw_busd=80.0,
            lease_rate_busd_per_gw_year=4.0,
            token_demand_growth_per_year=0.2,
            contracted_share=0,
        )
    )
    ebit = loss.cash_flows["ebit"].to_numpy()
    tax = loss.cash_flows["tax"].to_numpy()
    assert (ebit < 0).any() and (ebit > 0).any()
    np.testing.assert_allclose(
        tax, tax_loop(ebit + loss.cash_flows["residual_gain"].to_numpy(), 0.21), atol=1e-12
    )
    first_profit = int(np.argmax(ebit > 0))
    assert tax[first_profit] < 0.21 * ebit[first_profit]
    assert_accounting_identities(loss)


def test_residual_value_fraction_scales_the_market_value_after_tax() -> None:
    # the same vintages in both (section 2.4's "always": without the residual the last
    # refresh would not pay)
    full = evaluate(base(residual_value_fraction=1.0, refresh_rule=0))
    none = evaluate(base(residual_value_fraction=0.0, refresh_rule=0))
    value = full.cash_flows["residual_value"].iloc[-1]
    assert none.cash_flows["residual_value"].sum() == 0.0
    # the sale's gain against book is taxed; the write-off is a loss that only shields the last
    # year's own profit (no carryback): tax 21% x max(0, EBIT - book value written off)
    nbv = full.cash_flows["net_book_value"].iloc[-1]
    ebit_last = full.cash_flows["ebit"].iloc[-1]
    assert none.cash_flows["tax"].iloc[-1] == pytest.approx(0.21 * max(0.0, ebit_last - nbv))
    assert full.cash_flows["tax"].iloc[-1] == pytest.approx(0.21 * (ebit_last + value - nbv))
    flows = full.cash_flows["fcf"].iloc[-1] - none.cash_flows["fcf"].iloc[-1]
    tax_gap = full.cash_flows["tax"].iloc[-1] - none.cash_flows["tax"].iloc[-1]
    assert flows == pytest.approx(value - tax_gap, rel=1e-12)
    assert full.npv_busd - none.npv_busd == pytest.approx(flows / 1.087**15, rel=1e-12)
    assert full.residual_pv_busd == pytest.approx(
        (value - 0.21 * full.cash_flows["residual_gain"].iloc[-1]) / 1.087**15, rel=1e-12
    )


def test_residual_it_value_is_capped_by_replacement_cost_and_falls_with_the_decline() -> None:
    """IT at the value of its remaining rents, scaled down by the cost of new IT over a new
    vintage's rents where those are worth more (methodology section 2.3)."""
    rich = base(lease_rate_busd_per_gw_year=40.0)  # rents worth far more than the hardware
    r = evaluate(rich)
    nbv_it = 89.25 * 2.5 / 5.5
    rho = math.log(1.087)
    # no decline: the rent is flat, so the rents of the 2.5 years left are the share
    # (1 - e^(-2.5 rho)) / (1 - e^(-5.5 rho)) of a new vintage's, before the taxed buyer's
    # depreciation shield, which differs with the life left
    shield = (1 - 0.21 * (1 - math.exp(-5.5 * rho)) / (5.5 * rho)) / (
        1 - 0.21 * (1 - math.exp(-2.5 * rho)) / (2.5 * rho)
    )
    share = (1 - math.exp(-2.5 * rho)) / (1 - math.exp(-5.5 * rho)) * shield
    # facility fully depreciated at the horizon (14-year life), so the residual is the IT's
    assert r.cash_flows["residual_value"].iloc[-1] == pytest.approx(89.25 * share, rel=1e-12)
    assert r.cash_flows["residual_gain"].iloc[-1] == pytest.approx(
        89.25 * share - nbv_it, rel=1e-12
    )
    assert 89.25 * share < 89.25 * 2.5 / 5.5 * 1.2  # near book: 2.5 of 5.5 years left
    values = [
        evaluate(rich.replace(hardware_cost_decline_per_year=h)).cash_flows["residual_value"]
        for h in (0.0, 0.1, 0.2, 0.4)
    ]
    ends = [float(v.iloc[-1]) for v in values]
    assert ends == sorted(ends, reverse=True)
    assert all(end <= 89.25 + 1e-9 for end in ends)  # never above the cost of new IT
    # worthless rents (rate 0): the IT is worth nothing, never negative
    zero = evaluate(base(lease_rate_busd_per_gw_year=0.0))
    assert zero.cash_flows["residual_value"].iloc[-1] == pytest.approx(0.0)


# ---- breakeven lease rate --------------------------------------------------------------------


@pytest.mark.parametrize("preset", ["bofa-base", "bofa-bear", "bofa-bull", "crusoe-resale"])
def test_breakeven_lease_rate_gives_zero_npv(preset: str) -> None:
    r = evaluate(load_preset(preset))
    x = r.breakeven_lease_rate_busd_per_gw_year
    assert x is not None and 0 < x < 60
    at = evaluate(r.scenario.replace(lease_rate_busd_per_gw_year=x))
    assert at.npv_busd == pytest.approx(0.0, abs=1e-8)
    assert (r.npv_busd > 0) == (r.scenario.lease_rate_busd_per_gw_year > x)


def test_breakeven_scales_the_whole_lease_rate_path() -> None:
    """In a moving market the breakeven scales today's rate and the path it sets (section 5)."""
    s = load_preset("market-base")
    r = evaluate(s)
    x = r.breakeven_lease_rate_busd_per_gw_year
    assert x is not None
    path = r.market["billed_lease_rate_index"].to_numpy()
    assert (path > 0).any()
    assert (r.npv_busd > 0) == (s.lease_rate_busd_per_gw_year > x)


def test_breakeven_is_the_goal_seeks_rate_where_only_hosting_is_sold() -> None:
    """All hosted: the lease rate still sets the market's rent, against which the hosted tokens
    are priced, so NPV moves with it (US$ -221 B at 0, +92 B at 12.5) and the breakeven is the
    goal seek's rate, not None (section 5)."""
    s = base(lease_share=0.0, hosting_share=1.0, **NO_TOKEN_CAP)
    x = evaluate(s).breakeven_lease_rate_busd_per_gw_year
    seek = breakeven(s, "lease_rate_busd_per_gw_year")
    assert x is not None and seek.value is not None
    assert x == pytest.approx(seek.value, rel=1e-9, abs=1e-9)
    assert evaluate(s.replace(lease_rate_busd_per_gw_year=x)).npv_busd == pytest.approx(0, abs=1e-7)


def test_breakeven_is_none_where_no_rate_in_range_reaches_zero() -> None:
    # capex at its upper bound and a 30% cost of capital: NPV < 0 even at 60
    s = base(capex_per_gw_busd=120.0, wacc=0.3)
    assert evaluate(s).breakeven_lease_rate_busd_per_gw_year is None
    assert evaluate(s.replace(lease_rate_busd_per_gw_year=60.0)).npv_busd < 0
    assert breakeven(s, "lease_rate_busd_per_gw_year").value is None


def test_breakeven_below_the_floor_is_the_goal_seeks_rate() -> None:
    """bofa-base with other opex 10 and a lease rate of 10, below the avoidable-cost floor: the
    rent sits at the floor, which does not scale with today's rate. The breakeven is the rate at
    which NPV = 0 with the floor applied (22.07), not today's path scaled (19.29, NPV -45.7)."""
    s = base(other_opex_busd_per_gw_year=10.0, lease_rate_busd_per_gw_year=10.0)
    x = evaluate(s).breakeven_lease_rate_busd_per_gw_year
    assert x is not None
    assert x == pytest.approx(breakeven(s, "lease_rate_busd_per_gw_year").value, rel=1e-9)
    assert round(x, 2) == 22.07
    assert evaluate(s.replace(lease_rate_busd_per_gw_year=x)).npv_busd == pytest.approx(0, abs=1e-7)


#: Inputs that hold the market still (the bofa presets): no growth, no decline, no ageing, and
#: today's rate kept beyond the horizon.
STILL_MARKET = {
    "token_demand_growth_per_year": 0.0,
    "industry_capacity_growth_per_year": 0.0,
    "token_price_decline_per_year": 0.0,
    "hardware_cost_decline_per_year": 0.0,
    "entry_lag_years": 50.0,
    "efficiency_multiplier": 1.0,
    # today's hosting markup lasts too (methodology 4.9)
    "hosting_entry_lag_years": 50.0,
}


def random_scenarios(n: int, seed: int, still: bool) -> list[Scenario]:
    """``n`` scenarios with every field uniform inside its bounds (still: the market held)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        values: dict[str, object] = {}
        for name, spec in FIELD_SPECS.items():
            if name == "first_year":  # a label (methodology 1): the other draws stay as they were
                continue
            v = float(rng.uniform(spec.low, spec.high))
            values[name] = round(v) if spec.integer else v
        values["hosting_share"] = float(values["hosting_share"]) * (  # type: ignore[arg-type]
            1.0 - float(values["lease_share"])  # type: ignore[arg-type]
        )
        if still:
            values.update(STILL_MARKET)
        out.append(load_preset("bofa-base").replace(**values))
    return out


@pytest.mark.parametrize("still", [True, False], ids=["still", "moving"])
def test_breakeven_lease_rate_is_the_goal_seeks_answer(still: bool) -> None:
    """On 200 random still and 200 random moving markets, the breakeven lease rate (every bound
    applied, section 5) is the rate the Sensitivity tab's goal seek finds: the same root, or
    None where the goal seek finds none. Where NPV crosses zero more than once the goal seek
    takes the crossing nearest today's rate; the metric's is then a root too (NPV = 0 there),
    and the nearest where the crossings are not all inside one bracket of the metric's search."""
    scenarios = random_scenarios(200, 20261207 + still, still)
    batch = evaluate_batch(pd.DataFrame([s.model_dump() for s in scenarios]), breakeven=True)[
        "breakeven_lease_rate_busd_per_gw_year"
    ].to_numpy()
    several = 0
    for s, x in zip(scenarios, batch, strict=True):
        seek = breakeven(s, "lease_rate_busd_per_gw_year")
        if seek.value is None:
            assert np.isnan(x), (s, seek.reason)
            continue
        assert np.isfinite(x), (s, seek.reason)
        at = evaluate(s.replace(lease_rate_busd_per_gw_year=float(x)))
        # NPV within 1e-9 of lifetime capex of zero (engine.BREAKEVEN_NPV_TOLERANCE)
        assert abs(at.npv_busd) <= 1e-9 * max(1.0, abs(at.capex_lifetime_busd)), (s, x, at)
        if seek.crossings == 1 and x != pytest.approx(seek.value, rel=1e-7, abs=1e-9):
            # the goal seek's grid saw one sign change where NPV crosses zero, jumps back
            # across it and crosses again inside one grid step: the metric's root is then
            # another crossing, at least as near today's rate (the goal seek's own rule)
            rate_now = s.lease_rate_busd_per_gw_year
            assert abs(x - rate_now) <= abs(seek.value - rate_now), (s, x, seek.reason)
            several += 1
        elif seek.crossings != 1:
            several += 1
    assert several <= 3  # rare: NPV rises and falls with the rate where a bound moves


def test_breakeven_of_evaluate_and_evaluate_batch_agree() -> None:
    scenarios = random_scenarios(40, 7, still=False)
    batch = evaluate_batch(pd.DataFrame([s.model_dump() for s in scenarios]), breakeven=True)[
        "breakeven_lease_rate_busd_per_gw_year"
    ].to_numpy()
    one = np.array(
        [
            np.nan if (x := evaluate(s).breakeven_lease_rate_busd_per_gw_year) is None else x
            for s in scenarios
        ]
    )
    np.testing.assert_allclose(batch, one, rtol=1e-9, atol=1e-9)


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_a_market_that_grows_past_float_range_stays_finite() -> None:
    """No floor (no power, no opex) and a rent that falls 20 years at 59% a year at elasticity
    2.68: the market's tokens at the host's price exceed 1e308. They are bounded below that
    (section 4.4), so no overflow and no inf x 0 = NaN in an idle year: NPV stays finite."""
    s = base(
        operating_years=20,
        power_load_factor=0.0,
        other_opex_busd_per_gw_year=0.0,
        lease_share=0.0,
        hosting_share=1.0,
        demand_elasticity=2.6791520504111563,
        token_demand_growth_per_year=-0.5,
        industry_capacity_growth_per_year=2.0,
        hardware_cost_decline_per_year=0.5925716396705613,
        compute_demand_elasticity=0.2,
    )
    r = evaluate(s)
    assert math.isfinite(r.npv_busd)
    assert np.isfinite(r.market.drop(columns=["year", "operating"]).to_numpy()).all()
    # the hosted capacity still sells everything the market takes (the cap does not bind)
    used = r.market["hosting_capacity_used_share"].to_numpy()[r.market["operating"].to_numpy()]
    assert used == pytest.approx(1.0)


def test_npv_matches_numpy_financial_on_the_fcf_column() -> None:
    for preset in ("bofa-base", "hosting-mix", "openai-efficiency", "market-base"):
        r = evaluate(load_preset(preset))
        fcf = r.cash_flows["fcf"].to_numpy()
        assert r.npv_busd == pytest.approx(npf.npv(r.scenario.wacc, fcf), rel=1e-12)
        assert math.isfinite(r.npv_busd)


def test_engine_run_and_run_metrics_agree() -> None:
    from model.results import scenario_params

    scenarios = [load_preset(p) for p in ("bofa-base", "hosting-mix", "crusoe-resale")]
    scenarios.append(base(build_years=4, operating_years=25, it_life_years=3.0))
    scenarios.append(load_preset("market-base"))
    params = scenario_params(scenarios)
    full = engine.run(params, with_breakeven=True).metrics
    chunked = engine.run_metrics(params, with_breakeven=True)
    for k, v in full.items():
        np.testing.assert_allclose(chunked[k], v, rtol=1e-12, equal_nan=True)


def test_lease_rate_index_cap_is_an_optional_override() -> None:
    # industry-wide 4x with full pass-through and elasticity 1.5: demand per GPU = 4 ** 0.5 = 2
    common = {
        **LOOSE,
        "efficiency_multiplier": 4.0,
        "efficiency_diffusion": 1.0,
        "price_pass_through": 1.0,
        "demand_elasticity": 1.5,
        "contracted_share": 0.0,
    }
    capped = evaluate(base(**common, lease_rate_index_cap=1.5))
    free = evaluate(base(**common))
    assert free.scenario.lease_rate_index_cap == 50.0  # the default: no effect
    assert capped.market["compute_demand_index"].to_numpy() == pytest.approx(2.0, rel=1e-12)
    assert capped.market["lease_rate_index"].to_numpy() == pytest.approx(1.5, rel=1e-12)
    assert free.market["lease_rate_index"].to_numpy() == pytest.approx(2.0, rel=1e-12)
    ratio = (
        operating_rows(capped)["revenue_lease"].to_numpy()
        / operating_rows(free)["revenue_lease"].to_numpy()
    )
    assert ratio == pytest.approx(0.75, rel=1e-12)


def test_token_price_decline_is_not_hardware_ageing() -> None:
    """Cheaper tokens from algorithms raise compute demand above unit elasticity (Jevons); the
    hardware decline ages the installed fleet and is a downside for a lessor."""
    s = base()
    assert s.demand_elasticity > 1.0
    deflation = evaluate(s.replace(token_price_decline_per_year=0.9))
    assert deflation.npv_busd >= evaluate(s).npv_busd - 1e-9
    ageing = evaluate(s.replace(hardware_cost_decline_per_year=0.25))
    assert ageing.npv_busd < evaluate(s).npv_busd


def test_batch_on_threads_equals_one_thread() -> None:
    """Methodology section 5: chunks of a batch run side by side give the same numbers."""
    from model import FIELD_SPECS, evaluate_batch

    rng = np.random.default_rng(11)
    n = 3 * engine.CHUNK_ROWS + 17  # four chunks, the last one short
    table = pd.DataFrame(
        {
            name: (np.round(v) if spec.integer else v)
            for name, spec in FIELD_SPECS.items()
            for v in [rng.uniform(spec.low, spec.high, n)]
        }
    )
    table["hosting_share"] *= 1.0 - table["lease_share"]
    with engine.batch_threads(2):
        threaded = evaluate_batch(table, breakeven=True)
    with engine.batch_threads(1):
        single = evaluate_batch(table, breakeven=True)
    pd.testing.assert_frame_equal(threaded, single, check_exact=True)


def test_a_rows_numbers_do_not_depend_on_the_rows_batched_with_it() -> None:
    """Methodology sections 2 and 4: a batch skips the market clamps where no tau of the batch
    can reach them, computes vintage segments only in the years some row needs them, and leaves
    out lines that are 0 in every row. Rows alone (every shortcut taken: 50-year entry lag, no
    hosting, procurement or internal use) and the same rows beside rows that turn each shortcut
    off give the same numbers, to the last bit."""
    from model.results import scenario_params

    rng = np.random.default_rng(5)
    rows = [
        base(
            operating_years=20,
            capex_per_gw_busd=float(rng.uniform(35.0, 50.0)),
            lease_rate_busd_per_gw_year=float(rng.uniform(8.0, 16.0)),
            it_life_years=float(rng.uniform(3.0, 6.0)),
            wacc=float(rng.uniform(0.06, 0.12)),
            lease_utilization=float(rng.uniform(0.7, 1.0)),
        )
        for _ in range(40)
    ]
    others = [
        base(entry_lag_years=0.5),  # the entry premium fades inside the horizon
        load_preset("hosting-mix").replace(build_years=2, operating_years=20),
        base(procured_gw=1.6),
        base(lease_share=0.5),  # half kept for internal use
        base(build_years=1, it_life_years=1.0),  # other operating years and a switch a year
        base(  # a market whose log X reaches the clamp (700) within the horizon
            operating_years=20,
            efficiency_multiplier=10.0,
            efficiency_diffusion=1.0,
            price_pass_through=1.0,
            demand_elasticity=3.0,
            token_price_decline_per_year=0.95,
            token_demand_growth_per_year=2.0,
            industry_capacity_growth_per_year=-0.5,
            compute_demand_elasticity=0.2,
        ),
    ]
    assert all(s.build_years + s.operating_years <= 22 for s in others)  # same table width
    alone = engine.run_metrics(scenario_params(rows), with_breakeven=True)
    mixed = engine.run_metrics(scenario_params(rows + others), with_breakeven=True)
    for key, values in alone.items():
        assert np.array_equal(mixed[key][: len(rows)], values, equal_nan=True), key


def test_freed_memory_kept_for_reuse_only_where_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Methodology section 5: the batch's allocator setting (glibc on Linux only, never over the
    user's own ``MALLOC_*`` settings); it changes no number (the equivalence check)."""
    import os
    import sys

    glibc = sys.platform.startswith("linux") and bool(
        getattr(os, "confstr_names", {}).get("CS_GNU_LIBC_VERSION")
    )
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    monkeypatch.delenv("MALLOC_TOP_PAD_", raising=False)
    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    monkeypatch.delenv(engine.ALLOCATOR_TUNING_ENV, raising=False)  # a dashboard run sets it
    if glibc:
        try:
            glibc = bool(os.confstr("CS_GNU_LIBC_VERSION"))
        except ValueError:
            glibc = False
    assert engine._keep_freed_memory() is glibc
    monkeypatch.setenv(engine.ALLOCATOR_TUNING_ENV, "off")  # what the dashboard's server sets
    assert engine._keep_freed_memory() is False
    monkeypatch.setenv(engine.ALLOCATOR_TUNING_ENV, "on")
    assert engine._keep_freed_memory() is glibc
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")
    assert engine._keep_freed_memory() is False


# ---- the user cost of new capacity against a simulated entrant (methodology section 4.2) ------

#: Gauss-Legendre nodes and weights on [0, 1]: exact for the smooth pieces below to 1e-15.
_GL_X, _GL_W = np.polynomial.legendre.leggauss(12)
_GL_X, _GL_W = 0.5 * (_GL_X + 1.0), 0.5 * _GL_W


def _entrant_break_even_rent(s: Scenario, *, year_end: bool) -> float:
    """The level rent per GW-year (US$ B) at which a simulated entrant earns exactly its WACC.

    The entrant pays its first build in B equal parts at the ends of years 0 .. B-1, operates
    from time B, refreshes its IT every L_IT and its facility every L_fac for ever (simulated
    until discounting leaves < 1e-13), rents each IT vintage from its start at the rent ``c``
    (the contracted share at the level rent of min(contract_years, L_IT) years, section 4.6, the rest falling at
    ``-ln(1 - h)`` with age), pays power, other opex and variable opex, and tax on its income
    less straight-line depreciation (full loss offset). Every event is laid out in time and
    every flow integrated piece by piece (Gauss-Legendre between vintage starts, contract ends
    and year ends), with no closed form. ``year_end``: each year's operating flows are paid
    at its end and a refresh at time s is paid at the year ends around it in proportion (the
    engine's convention, section 2.2); otherwise operating flows are continuous and refreshes
    paid at their start.
    """
    rho = math.log1p(s.wacc)
    delta = -math.log1p(-s.hardware_cost_decline_per_year)
    life, life_fac, build = s.it_life_years, s.facility_life_years, float(s.build_years)
    term = min(float(s.contract_years), life)
    it = s.capex_per_gw_busd * s.it_share_of_capex
    fac = s.capex_per_gw_busd - it
    opex = 8760 * 1000 * s.power_load_factor * s.power_price_usd_per_mwh / 1e9
    opex += s.other_opex_busd_per_gw_year
    end = build + 32.0 / rho  # exp(-32) ~ 1e-14 of the value left
    starts = build + life * np.arange(math.ceil((end - build) / life) + 1)
    marks = np.concatenate((starts, starts + term, np.arange(math.ceil(end) + 1.0), [build, end]))
    marks = np.unique(marks[(marks >= build) & (marks <= end)])
    x0, x1 = marks[:-1], marks[1:]
    t = x0[:, None] + (x1 - x0)[:, None] * _GL_X[None, :]  # nodes in each piece
    mid = 0.5 * (x0 + x1)
    age = t - (build + life * np.floor((mid - build) / life + 1e-12))[:, None]
    on_contract = (age < term - 1e-12) if term > 0 else np.zeros_like(age, dtype=bool)
    keep = np.exp(-delta * age)
    # a contract pays the level rent worth the expected rents of its term (section 4.6), times
    # the term premium: (1 + premium)^m x integral of exp(-(rho + delta) a) / integral of
    # exp(-rho a) over the term, per unit of c
    level = 1.0
    if term > 0:
        level = (1.0 + s.contract_term_premium) ** term * (
            -math.expm1(-(rho + delta) * term) / (rho + delta) / (-math.expm1(-rho * term) / rho)
        )
    rent = np.where(
        on_contract, s.contracted_share * level + (1.0 - s.contracted_share) * keep, keep
    )
    if year_end:  # each piece's flows paid at the end of its year
        disc = np.exp(-rho * (np.floor(mid + 1e-12) + 1.0))[:, None] * np.ones_like(t)
    else:
        disc = np.exp(-rho * t)
    weights = (x1 - x0)[:, None] * _GL_W[None, :] * disc
    pv_rent = float((weights * rent).sum())  # per unit of c
    pv_flow = float(weights.sum())  # of 1 a year from B on
    tax = s.tax_rate
    depreciation = it / life + fac / life_fac  # every vintage straight line over its life

    def paid(times: np.ndarray) -> float:
        if not year_end:
            return float(np.exp(-rho * times).sum())
        whole = np.floor(times + 1e-12)
        part = times - whole
        return float(
            ((1.0 - part) * np.exp(-rho * whole) + part * np.exp(-rho * (whole + 1))).sum()
        )

    refresh_fac = build + life_fac * np.arange(1, math.ceil((end - build) / life_fac) + 1)
    capex = (
        (it + fac) / build * float(np.exp(-rho * np.arange(1.0, build + 1.0)).sum())
        + it * paid(starts[1:])
        + fac * paid(refresh_fac)
    )
    costs = capex + (1.0 - tax) * opex * pv_flow - tax * depreciation * pv_flow
    return costs / ((1.0 - s.variable_opex_share_of_revenue) * (1.0 - tax) * pv_rent)


def _old_user_cost(s: Scenario) -> float:
    """The earlier closed form: the build-period factor b on every refresh (capital charge
    kappa b), as written in methodology section 4.2 before the first-build-only convention."""
    rho = math.log1p(s.wacc)
    delta = -math.log1p(-s.hardware_cost_decline_per_year)
    a = rho / s.wacc
    b = ((1.0 + s.wacc) ** s.build_years - 1.0) / (s.build_years * s.wacc)

    def kappa(life: float) -> float:
        return rho / -math.expm1(-rho * life)

    def psi(y: float) -> float:
        return -math.expm1(-y) / y if y > 0 else 1.0

    life, m = s.it_life_years, min(float(s.contract_years), s.it_life_years)
    phi = kappa(life) * (
        life * psi((rho + delta) * life)
        + s.contracted_share
        * m
        * psi((rho + delta) * m)
        * ((1.0 + s.contract_term_premium) ** m - 1.0)
    )
    it = s.capex_per_gw_busd * s.it_share_of_capex
    fac = s.capex_per_gw_busd - it
    opex = 8760 * 1000 * s.power_load_factor * s.power_price_usd_per_mwh / 1e9
    opex += s.other_opex_busd_per_gw_year
    tax, v = s.tax_rate, s.variable_opex_share_of_revenue
    num = (
        (1 - tax) * opex * a
        + it * (kappa(life) * b - tax * a / life)
        + fac * (kappa(s.facility_life_years) * b - tax * a / s.facility_life_years)
    )
    return num / ((1 - v) * (1 - tax) * phi * a)


#: Fields of the user cost, drawn over their bounds (WACC from 0.5%: at 0 an entrant that
#: refreshes for ever has no finite value to simulate).
_USER_COST_FIELDS = (
    "wacc",
    "hardware_cost_decline_per_year",
    "it_life_years",
    "facility_life_years",
    "build_years",
    "contract_years",
    "contracted_share",
    "contract_term_premium",
    "tax_rate",
    "variable_opex_share_of_revenue",
    "capex_per_gw_busd",
    "it_share_of_capex",
    "other_opex_busd_per_gw_year",
    "power_price_usd_per_mwh",
    "power_load_factor",
)


def _entrants(n: int, seed: int, **highs: float) -> list[Scenario]:
    """``n`` scenarios with every user-cost field uniform over its bounds (``highs`` lowers an
    upper bound; ``it_life_years_low`` raises the IT life's lower bound). The entrant is the
    builder, so the closed form prices these very inputs."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        values: dict[str, float] = {}
        for name in _USER_COST_FIELDS:
            spec = FIELD_SPECS[name]
            low = max(spec.low, 0.005) if name == "wacc" else spec.low
            low = highs.get(f"{name}_low", low)
            x = rng.uniform(low, highs.get(name, spec.high))
            values[name] = float(round(x)) if spec.integer else float(x)
        values["variable_opex_share_of_revenue"] = min(
            values["variable_opex_share_of_revenue"], 0.8
        )
        out.append(load_preset("market-base").replace(entrant_profile="builder", **values))
    return out


def _closed_form(scenarios: list[Scenario], *, year_end_flows: bool) -> np.ndarray:
    return engine.user_cost_busd_per_gw_year(
        scenario_params(scenarios), year_end_flows=year_end_flows
    )


def test_user_cost_matches_a_continuous_time_entrant_to_1e_6() -> None:
    """Section 4.2: with continuous operating flows the closed form is exact for an entrant
    that builds once (over B years) and refreshes for ever, over the whole field range."""
    entrants = _entrants(60, seed=41)
    closed = _closed_form(entrants, year_end_flows=False)
    simulated = np.array([_entrant_break_even_rent(s, year_end=False) for s in entrants])
    assert closed == pytest.approx(simulated, rel=1e-6)
    assert {s.build_years for s in entrants} >= {1, 2, 3, 4, 5}


def _year_end_errors(entrants: list[Scenario]) -> tuple[np.ndarray, np.ndarray]:
    """Relative errors of the closed form (new, old) against the year-end simulation."""
    simulated = np.array([_entrant_break_even_rent(s, year_end=True) for s in entrants])
    new = _closed_form(entrants, year_end_flows=True)
    old = np.array([_old_user_cost(s) for s in entrants])
    return np.abs(new / simulated - 1.0), np.abs(old / simulated - 1.0)


def test_user_cost_is_within_0_3_percent_of_a_year_end_entrant_in_the_usual_range() -> None:
    """Section 4.2: where WACC <= 12%, h <= 0.3 and IT life >= 3 years the closed form (year-end
    flows) is within 0.3% of the year-end simulation; the earlier form, with the build-period
    factor on every refresh, is not (so this test can fail)."""
    entrants = _entrants(
        150, seed=42, wacc=0.12, hardware_cost_decline_per_year=0.3, it_life_years_low=3.0
    )
    new_err, old_err = _year_end_errors(entrants)
    assert new_err.max() <= 0.003
    assert old_err.max() > 0.003
    # where the build takes one year b = 1 and the two forms agree
    one_year = np.array([s.build_years == 1 for s in entrants])
    assert one_year.any() and (~one_year).any()
    assert old_err[one_year].max() <= 0.003


def test_user_cost_is_within_2_5_percent_of_a_year_end_entrant_over_the_field_range() -> None:
    """Section 4.2: over the whole field range (WACC from 0.5%) within 2.5%."""
    entrants = _entrants(150, seed=43)
    new_err, _ = _year_end_errors(entrants)
    assert new_err.max() <= 0.025


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_the_breakeven_of_a_tiny_billed_share_warns_no_one() -> None:
    """Found by Hypothesis: a billed share of 3e-305 overflowed a quotient the residual rule does
    not use (section 5: every metric finite or None, no warning)."""
    s = Scenario(
        gw_built=0.1,
        capex_per_gw_busd=5.0,
        it_share_of_capex=1.0,
        build_years=1,
        operating_years=1,
        it_life_years=1.0,
        facility_life_years=5.0,
        power_price_usd_per_mwh=0.0,
        pue=1.0,
        power_load_factor=0.0,
        other_opex_busd_per_gw_year=0.0,
        variable_opex_share_of_revenue=0.0,
        build_front_loading=-1.0,
        phased_online=0,
        ramp_first_year_share=0.0,
        ramp_second_year_share=0.0,
        lease_share=0.0,
        hosting_share=0.0,
        lease_rate_busd_per_gw_year=0.0,
        lease_utilization=3.32841797230796e-305,
        contracted_share=1.0,
        contract_years=1,
        gpus_per_gw=50000.0,
        tokens_per_sec_per_gpu=1.0,
        hosting_price_usd_per_m_tokens=0.0,
        hosting_utilization=0.0,
        input_tokens_per_output_token=0.0,
        hosting_input_price_usd_per_m_tokens=0.0,
        hosting_licence_fee_share=0.0,
        market_tokens_quadrillion_per_year=1.0,
        hosting_market_share_cap=0.0,
        procured_gw=0.0,
        procurement_cost_busd_per_gw_year=0.0,
        internal_transfer_price_share=0.0,
        efficiency_multiplier=0.25,
        efficiency_diffusion=0.0,
        price_pass_through=0.0,
        demand_elasticity=0.0,
        token_demand_growth_per_year=-0.5,
        industry_capacity_growth_per_year=-0.5,
        token_price_decline_per_year=0.0,
        hardware_cost_decline_per_year=0.6,
        compute_demand_elasticity=0.2,
        entry_lag_years=0.0,
        lease_rate_index_cap=1.0,
        wacc=0.0,
        tax_rate=0.0,
        residual_value_fraction=0.0,
        shares_outstanding_b=0.1,
        share_price_usd=1.0,
        price_target_usd=1.0,
        market_reaction_excess_return=-1.0,
        debt_share_of_capex=0.0,
        debt_interest_rate=0.0,
        debt_tenor_years=1,
        debt_sculpted=0,
        target_dscr=1.0,
        partner_share_of_capex=0.0,
        campus_lease_share=0.0,
        campus_lease_yield=0.0,
        campus_rvg_share=0.0,
        campus_lease_priced_years=0,
        macrs_depreciation=0,
        facility_tax_class_years=15,
        bonus_depreciation_share=0.0,
        tax_in_group=0,
        nol_offset_limit_share=0.0,
        interest_limit_share_of_ati=0.0,
        entrant_profile=0,
        entrant_wacc=0.0,
    )
    assert evaluate(s).npv_busd == pytest.approx(-0.5)
    assert evaluate(s).breakeven_lease_rate_busd_per_gw_year is None


def _slack_rows(scenarios: list[Scenario]) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Params of ``scenarios``, the breakeven guess and where the bounds are slack at both
    today's rate and the guess (the rows whose breakeven skips the engine's check pass)."""
    p = {k: np.asarray(v, dtype=np.float64) for k, v in scenario_params(scenarios).items()}
    out = engine._cash_flows(p, with_metrics=True)
    assert out.rate_bounds is not None
    guess, converged = engine._breakeven_scaled(p, out)
    rate = p["lease_rate_busd_per_gw_year"]
    at = np.where(np.isfinite(guess), guess, rate)
    slack = (
        converged
        & np.isfinite(guess)
        & engine._bounds_slack(out.rate_bounds, rate)
        & engine._bounds_slack(out.rate_bounds, at)
    )
    return p, guess, slack


def test_where_the_bounds_are_slack_every_lease_line_scales_with_the_rate() -> None:
    """Section 5.1: where no bound of the market binds at today's rate or at another, the
    engine's lease, internal and resale revenue at that rate are today's times the ratio of the
    rates, and hosting revenue does not move: the guess's model is the engine's, so the
    breakeven keeps the guess without a check pass. On 600 random still markets quoted at spot
    and every preset."""
    still = [s.replace(lease_rate_tenor_years=0.0) for s in random_scenarios(600, 5, still=True)]
    scenarios = still + [load_preset(n) for n in presets()]
    p, guess, slack = _slack_rows(scenarios)
    rows = np.flatnonzero(slack)
    assert rows.size >= 10  # the shortcut is taken (most presets, some still markets)
    base = engine._cash_flows({k: v[rows] for k, v in p.items()}, with_metrics=False, tables=False)
    q = {k: v[rows] for k, v in p.items()}
    ratio = guess[rows] / q["lease_rate_busd_per_gw_year"]
    q["lease_rate_busd_per_gw_year"] = guess[rows]
    moved = engine._cash_flows(q, with_metrics=False, tables=False)
    for line in ("revenue_lease", "revenue_internal", "revenue_resale"):
        np.testing.assert_allclose(
            moved.lines[line], base.lines[line] * ratio[:, None], rtol=1e-9, atol=1e-12
        )
    np.testing.assert_allclose(
        moved.lines["revenue_hosting"], base.lines["revenue_hosting"], rtol=1e-9, atol=1e-12
    )
    npv = engine._npv_at_lease_rates(p, rows, guess[rows])
    tol = engine.BREAKEVEN_NPV_TOLERANCE * np.maximum(1.0, np.abs(base.lines["capex"]).sum(axis=1))
    assert (np.abs(npv) <= tol).all()


def test_where_a_bound_moves_with_the_rate_the_breakeven_is_checked() -> None:
    """Section 5.1: a moving market whose rent meets its ceiling or floor (market-base, the
    coreweave presets with a contract's quote) is not called slack, so its breakeven goes
    through the engine's check."""
    _, _, slack = _slack_rows([load_preset(n) for n in ("market-base", "coreweave-spv")])
    assert not slack.any()
    _, _, slack = _slack_rows([load_preset("bofa-base")])
    assert slack.all()


def test_capacity_kept_for_internal_use_idles_below_the_floor_like_leased() -> None:
    """Section 11.5: at a transfer price of 1 a GW kept for internal use earns and costs what a
    leased GW does, idling included: in a market where old vintages' spot rents fall below the
    floor (35% hardware decline, 8-year IT, other opex 2.5), half kept and all leased give the
    same lines and NPV (before, kept capacity kept paying power while idle: -39.29 against
    -32.54)."""
    base = load_preset("market-base").replace(
        hardware_cost_decline_per_year=0.35,
        hosting_share=0.0,
        it_life_years=8.0,
        other_opex_busd_per_gw_year=2.5,
        internal_transfer_price_share=1.0,
        facility_residual="book",  # as section 11.5 measured it (section 2.5 came later)
    )
    kept, leased = evaluate(base.replace(lease_share=0.5)), evaluate(base.replace(lease_share=1.0))
    power = leased.cash_flows["power_cost"].to_numpy()
    assert (power == 0).sum() > base.build_years  # old vintages idle in operating years
    for line in ("power_cost", "other_opex", "ebitda", "fcf"):
        np.testing.assert_allclose(
            kept.cash_flows[line], leased.cash_flows[line], rtol=1e-12, atol=1e-12
        )
    assert kept.npv_busd == pytest.approx(leased.npv_busd, rel=1e-12)
    assert kept.npv_busd == pytest.approx(-32.54, abs=0.005)
