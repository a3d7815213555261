"""The facility's residual: its remaining annuity value plus the site's surplus (methodology
section 2.5), taxed against book like the IT's (section 2.3)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model import Scenario, evaluate, load_preset
from model.engine import _psi, _surplus_tail
from model.io import legacy_values, parse_scenario_text
from model.results import scenario_params

PRESETS = ("bofa-base", "market-base", "coreweave-spv", "meta-hyperion-jv", "epoch-1gw")


def _last(s: Scenario, line: str) -> float:
    cf = evaluate(s).cash_flows
    return float(cf[line].to_numpy()[-1])


def _annuity_value(c_fac: float, rho: float, tax: float, life: float, left: float) -> float:
    """Section 2.5 by hand: C_fac (kappa - tax / L) l psi(rho l) / (1 - tax psi(rho l))."""
    kappa = rho / -math.expm1(-rho * life)
    psi = -math.expm1(-rho * left) / (rho * left) if left > 0 else 1.0
    return c_fac * (kappa - tax / life) * left * psi / (1.0 - tax * psi)


def _still(**changes: float) -> Scenario:
    """bofa-base's still market without contracts, variable opex or power: every rent flat."""
    return load_preset("bofa-base").replace(
        contracted_share=0.0,
        variable_opex_share_of_revenue=0.0,
        power_price_usd_per_mwh=0.0,
        other_opex_busd_per_gw_year=1.0,
        lease_rate_tenor_years=0.0,
        **changes,
    )


def test_the_annuity_value_by_hand_where_there_is_no_site_surplus() -> None:
    """Section 2.5: in bofa-bear (rents below the cost of new IT: no surplus) the facility,
    built at 2 with a 10-year life (a refresh at 12, 6 of 10 years left at 16), is worth its
    capital charge over 6 years to a taxed buyer; the gain is against book (section 2.3)."""
    s = load_preset("bofa-bear").replace(facility_life_years=10.0)
    c_fac = s.gw_built * s.capex_per_gw_busd * (1.0 - s.it_share_of_capex)
    want = _annuity_value(c_fac, math.log1p(s.wacc), s.tax_rate, 10.0, 6.0)
    book = c_fac * 6.0 / 10.0
    new, old = s, s.replace(facility_residual="book")
    moved = _last(new, "residual_value") - _last(old, "residual_value")
    assert moved == pytest.approx(want - book, rel=1e-10)
    assert want > book  # the annuity value lies above the straight line before the end
    # taxed against book: the gain moves by the same amount
    assert _last(new, "residual_gain") - _last(old, "residual_gain") == pytest.approx(
        want - book, rel=1e-10
    )


def test_the_site_surplus_by_hand_in_a_still_market_is_one_new_vintage_surplus() -> None:
    """Section 2.5: with flat rents, no tax and no contract the site's surplus (the IT in
    service's stripped rents, then a new vintage's over the rest of one IT life) is the surplus
    of a new vintage, ``PV_new - C_IT``, whatever the IT's age; the IT is worth ``PV_old C_IT /
    PV_new`` (section 2.3) and the facility (fully depreciated at 16) its surplus alone."""
    for life in (5.5, 4.5, 4.0):
        s = _still(tax_rate=0.0, it_life_years=life, it_book_life_years=life)
        rho = math.log1p(s.wacc)
        c_it = s.gw_built * s.capex_per_gw_busd * s.it_share_of_capex
        c_fac = s.gw_built * s.capex_per_gw_busd - c_it
        charge = s.gw_built * (1.0 + (c_fac / s.gw_built) * rho / -math.expm1(-rho * 14.0))
        net = s.gw_built * s.lease_rate_busd_per_gw_year - charge  # a year
        age = 14.0 - math.floor(14.0 / life - 1e-9) * life
        left = life - age
        pv_old = net * -math.expm1(-rho * left) / rho
        pv_new = net * -math.expm1(-rho * life) / rho
        assert pv_new > c_it  # rents above the cost of new IT: the cap binds
        want = pv_old * c_it / pv_new + (pv_new - c_it)  # IT + site; facility annuity 0
        assert _last(s, "residual_value") == pytest.approx(want, rel=1e-9), life


def test_no_arbitrage_at_the_capital_charges_each_asset_is_worth_its_economic_value() -> None:
    """Section 2.5: at a rent that is exactly the avoidable cost plus both capital charges (no
    tax, flat rents), a new vintage's rents are worth its cost (no site surplus) and the residual
    is each asset's undepreciated economic value, ``C (1 - e^(-rho l)) / (1 - e^(-rho L))``."""
    s0 = _still(tax_rate=0.0, facility_life_years=10.0)
    rho = math.log1p(s0.wacc)
    c_it = s0.gw_built * s0.capex_per_gw_busd * s0.it_share_of_capex
    c_fac = s0.gw_built * s0.capex_per_gw_busd - c_it

    def crf(life: float) -> float:
        return rho / -math.expm1(-rho * life)

    rent = 1.0 + (c_it * crf(5.5) + c_fac * crf(10.0)) / s0.gw_built
    s = s0.replace(lease_rate_busd_per_gw_year=rent)
    left_it, left_fac = 5.5 - (14.0 - 2 * 5.5), 6.0

    def economic(c: float, life: float, left: float) -> float:
        return c * -math.expm1(-rho * left) / -math.expm1(-rho * life)

    want = economic(c_it, 5.5, left_it) + economic(c_fac, 10.0, left_fac)
    assert _last(s, "residual_value") == pytest.approx(want, rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    rho=st.floats(0.0, 0.3),
    tax=st.floats(0.0, 0.5),
    life=st.floats(1.0, 40.0),
)
def test_the_annuity_value_runs_from_zero_to_the_cost_continuously(
    rho: float, tax: float, life: float
) -> None:
    """Section 2.5: ``V(0) = 0`` and ``V(L) = C_fac`` (a refresh bought just before the horizon
    is worth what it cost: no jump where a vintage's start crosses the horizon), continuous and
    never negative in between (a taxed buyer's early depreciation can lift it a hair above
    ``C_fac`` just before ``L``); the surplus tail runs from 1 at ``l = 0`` to 0 at ``l = L``."""

    def value(n: int) -> np.ndarray:
        left = np.linspace(0.0, life, n)
        r = np.full_like(left, rho)
        kappa = 1.0 / _psi(r * life) / life
        decay = _psi(r * left)
        return np.asarray((kappa - tax / life) * left * decay / (1.0 - tax * decay))

    v, fine = value(401), value(4001)
    assert v[0] == 0.0 and v[-1] == pytest.approx(1.0, rel=1e-9)
    assert (v >= 0.0).all()
    # no step: ten times finer, the largest step is about ten times smaller
    assert np.max(np.abs(np.diff(fine))) < 0.11 * np.max(np.abs(np.diff(v)))
    left = np.linspace(0.0, life, 401)
    r = np.full_like(left, rho)
    tail = _surplus_tail(r, left, np.full_like(left, life))
    assert tail[0] == pytest.approx(1.0, rel=1e-12) and abs(tail[-1]) < 1e-12
    assert (np.diff(tail) <= 1e-12).all()


def _npv(s: Scenario) -> float:
    return float(evaluate(s).npv_busd)


@pytest.mark.parametrize("preset", PRESETS)
def test_no_jump_where_the_facility_refresh_crosses_the_horizon(preset: str) -> None:
    """Section 2.5: NPV is continuous in the facility life where its last vintage's start crosses
    the horizon end (at the operating years, and half of them), as at book."""
    s = load_preset(preset)
    n = float(s.operating_years)
    for cross in (n, n / 2.0):
        if not 5.0 <= cross <= 40.0:
            continue
        eps = 1e-7
        lo, hi = (
            s.replace(facility_life_years=cross - eps),
            s.replace(facility_life_years=cross + eps),
        )
        assert abs(_npv(hi) - _npv(lo)) < 1e-3, (preset, cross)


@pytest.mark.parametrize("preset", ("bofa-base", "market-base", "meta-hyperion-jv"))
def test_the_site_surplus_adds_no_jump_where_an_it_refresh_crosses_the_horizon(
    preset: str,
) -> None:
    """Section 2.5: where an IT vintage's start crosses the horizon end the site's surplus moves
    continuously (the new vintage's surplus counted as a flow over one IT life), so NPV steps by
    what it steps at book (the forced refresh's own step, section 2.2) and no more."""
    s = load_preset(preset)
    n = float(s.operating_years)
    eps = 1e-7
    for k in (4, 3):
        cross = n / k
        steps = []
        for rule in ("annuity", "book"):
            t = s.replace(facility_residual=rule)
            hi = t.replace(it_life_years=cross + eps, it_book_life_years=cross + eps)
            lo = t.replace(it_life_years=cross - eps, it_book_life_years=cross - eps)
            steps.append(_npv(hi) - _npv(lo))
        assert steps[0] == pytest.approx(steps[1], abs=1e-3), (preset, cross, steps)


@pytest.mark.parametrize("preset", PRESETS)
def test_the_facility_is_worth_at_least_its_annuity_value(preset: str) -> None:
    """Section 2.5: the site's surplus is never negative, so the facility's value is at least its
    annuity value; every preset's NPV is at least its NPV at book or moves by the facility's
    value less its book value after tax."""
    s = load_preset(preset)
    a, b = evaluate(s), evaluate(s.replace(facility_residual="book"))
    # the residual's cash moves by the facility's value less its book value, and the taxed gain
    # against book moves with it (one tax on the difference)
    moved = a.cash_flows["residual_value"].to_numpy() - b.cash_flows["residual_value"].to_numpy()
    gain = a.cash_flows["residual_gain"].to_numpy() - b.cash_flows["residual_gain"].to_numpy()
    np.testing.assert_allclose(moved, gain, atol=1e-9)
    assert (moved >= -1e-9).all() or s.facility_life_years != s.operating_years


def test_old_files_keep_the_book_value() -> None:
    """Section 2.5: a version-4 file (before the field) values the facility at book; a file of
    version 5 without the field takes the preset's value (the annuity)."""
    old = parse_scenario_text('version = 4\npreset = "market-base"\n', "toml")[0]
    assert old.facility_residual == 0  # "book"
    # (with every other field a version-4 file lacks at its old meaning too)
    assert old == load_preset("market-base").replace(**legacy_values([], version=4))
    new = parse_scenario_text('version = 5\npreset = "market-base"\n', "toml")[0]
    assert new == load_preset("market-base") and new.facility_residual == 1
    assert _npv(old) < _npv(new)


def test_book_rows_are_untouched_in_a_batch() -> None:
    """Section 2.5: rows at book in a batch with annuity rows keep the earlier residual."""
    from model.engine import run

    s = load_preset("bofa-base").replace(facility_life_years=10.0)
    both = run(scenario_params([s, s.replace(facility_residual="book")]))
    alone = run(scenario_params([s.replace(facility_residual="book")]))
    assert np.array_equal(both.lines["residual_value"][1], alone.lines["residual_value"][0])
    assert both.lines["residual_value"][0, -1] > both.lines["residual_value"][1, -1]


@pytest.mark.parametrize("preset", ("coreweave-cluster", "coreweave-spv"))
def test_a_builder_of_it_alone_has_no_site_to_sell(preset: str) -> None:
    """Section 2.5: a builder that rents its building (IT only, the rent in other opex) owns no
    facility and no site: the rule moves nothing, whatever the rents' surplus."""
    s = load_preset(preset)
    assert s.it_share_of_capex == 1.0
    for life in (s.it_life_years, 2.5):
        t = s.replace(it_life_years=life, it_book_life_years=life)
        a, b = evaluate(t), evaluate(t.replace(facility_residual="book"))
        assert a.npv_busd == b.npv_busd
