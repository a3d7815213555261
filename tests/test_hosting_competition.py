"""Competition in hosting and the diffusion of the builder's gain (methodology section 4.9).

The builder's gross hosting markup (a hosted GW's revenue over the spot rent of the same compute)
is ``M_ind(tau) x E(tau)``: the industry's markup ``M_0 = H_0 k_ind^(1 - p) / (R F(0))`` is whole
until ``hosting_entry_lag_years`` and then falls geometrically over ``entry_fade_years`` to the
competitive markup ``M_c = (1 - v) / (1 - v - licence)`` where it is above it; the builder's edge
``E = k^(1 - d(tau))`` with ``d(tau) = d min(tau / efficiency_diffusion_years, 1)``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_properties import scenarios

from model import Scenario, engine, evaluate, load_preset
from model.io import FORMAT_VERSION, parse_scenario_text, to_toml
from model.results import scenario_params

#: The legacy values: today's markup for ever, the industry's share of a gain at once.
LEGACY = {"hosting_entry_lag_years": 50.0, "efficiency_diffusion_years": 0.0}


def _h0(s: Scenario) -> float:
    """Today's hosting revenue per hosted GW-year (US$ B), from the fields (section 4.4)."""
    tokens_m = (
        s.gpus_per_gw / s.pue * s.tokens_per_sec_per_gpu * 31_536_000 * s.hosting_utilization / 1e6
    )
    price = s.hosting_price_usd_per_m_tokens + (
        s.input_tokens_per_output_token * s.hosting_input_price_usd_per_m_tokens
    )
    return tokens_m * price / 1e9


def _markup(s: Scenario, tau: list[float]) -> np.ndarray:
    return engine.hosting_markup_index(scenario_params([s]), np.asarray(tau))[0]


def _old_markup(s: Scenario) -> float:
    """Section 4.4's fixed markup, ``H_0 k k_ind^(-p) / (R F(0))``, F(0) from the market table."""
    frontier_0 = float(evaluate(s).market["lease_rate_index"].iloc[0])
    k, d, p = s.efficiency_multiplier, s.efficiency_diffusion, s.price_pass_through
    rate = max(s.lease_rate_busd_per_gw_year, 1e-3)
    return _h0(s) * k * k ** (-d * p) / (rate * frontier_0)


def _competitive(s: Scenario) -> float:
    v, fee = s.variable_opex_share_of_revenue, s.hosting_licence_fee_share
    return (1.0 - v) / (1.0 - v - fee)


# ---- the markup path ------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(scenarios())
def test_the_markup_is_todays_at_time_zero_and_the_competitive_one_in_the_long_run(
    s: Scenario,
) -> None:
    """Section 4.9: at tau = 0 the markup is section 4.4's (times the builder's whole edge
    ``k^d`` where the gain takes time to spread); once the lag, the fade and the diffusion are
    over it is ``min(M_c, M_0) x k^(1 - d)``."""
    old = _old_markup(s)
    if not (old > 0.0 and math.isfinite(old)) or s.lease_rate_busd_per_gw_year < 0.01:
        return
    k, d, p = s.efficiency_multiplier, s.efficiency_diffusion, s.price_pass_through
    edge_now = k**d if s.efficiency_diffusion_years > 0.0 else 1.0
    late = s.hosting_entry_lag_years + s.entry_fade_years + s.efficiency_diffusion_years + 1.0
    now, after = _markup(s, [0.0, late])
    assert now == pytest.approx(old * edge_now, rel=1e-9)
    margin = 1.0 - s.variable_opex_share_of_revenue - s.hosting_licence_fee_share
    industry_now = old / k ** (1.0 - d)  # M_0 = H_0 k_ind^(1 - p) / (R F(0))
    if s.hosting_entry_lag_years >= engine.HOSTING_STILL_LAG_YEARS or margin <= 0.0:
        target = industry_now  # no entrant: today's markup stays
    else:
        target = min(_competitive(s), industry_now)
    assert after == pytest.approx(target * k ** (1.0 - d), rel=1e-9)
    assert k * k ** (-d * p) > 0.0  # the old markup's edge, for the reader


def test_the_markup_path_for_hosting_mix_at_the_default_lag() -> None:
    """hosting-mix's markup: 2.07 gross today (H_0 = 25.9 against 12.5), whole for the lag (half
    a year), then down to the competitive 0.9 / 0.6 = 1.5 over the fade (a year); monotone."""
    s = load_preset("hosting-mix").replace(hosting_entry_lag_years=0.5)
    tau = np.linspace(0.0, 3.0, 61)
    path = _markup(s, list(tau))
    assert path[0] == pytest.approx(_h0(s) / s.lease_rate_busd_per_gw_year, rel=1e-12)
    assert path[0] == pytest.approx(2.07, abs=0.01)
    assert (path[tau <= 0.5] == path[0]).all()
    assert path[tau >= 1.5] == pytest.approx(1.5, rel=1e-12)
    assert (np.diff(path) <= 1e-15).all()
    # geometric: log-linear between the lag's end and the fade's
    mid = path[np.argmin(np.abs(tau - 1.0))]
    assert mid == pytest.approx(math.sqrt(path[0] * 1.5), rel=1e-12)


def test_a_markup_at_or_below_the_competitive_one_stays() -> None:
    """Entry lowers a markup above the competitive one; it does not raise one below it (section
    4.9), nor move anything where the licence fee and variable opex take all the revenue."""
    cheap = load_preset("hosting-mix").replace(
        hosting_entry_lag_years=0.0, hosting_price_usd_per_m_tokens=0.2
    )
    path = _markup(cheap, [0.0, 5.0])
    assert path[0] < 1.5 and path[1] == path[0]
    no_margin = load_preset("hosting-mix").replace(
        hosting_entry_lag_years=0.0, variable_opex_share_of_revenue=0.75
    )
    path = _markup(no_margin, [0.0, 5.0])
    assert path[1] == path[0]


# ---- old meaning ----------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(scenarios())
def test_at_the_legacy_values_nothing_changes(s: Scenario) -> None:
    """Section 4.9: a lag of 50 years (beyond every horizon) with the gain spread at once is the
    engine before this section (the markup's move switched off), to the last bit; so is any lag
    at or beyond the horizon."""
    legacy = s.replace(**LEGACY)
    before = engine._hosting_markup_log
    try:
        engine._hosting_markup_log = lambda *args, **kwargs: None  # type: ignore[assignment]
        old = evaluate(legacy)
    finally:
        engine._hosting_markup_log = before
    new = evaluate(legacy)
    horizon = s.build_years + s.operating_years
    beyond = evaluate(legacy.replace(hosting_entry_lag_years=float(horizon)))
    for r in (new, beyond):
        assert r.npv_busd == old.npv_busd
        np.testing.assert_array_equal(r.cash_flows.to_numpy(), old.cash_flows.to_numpy())
        np.testing.assert_array_equal(r.market.to_numpy(), old.market.to_numpy())
        assert r.breakeven_lease_rate_busd_per_gw_year == old.breakeven_lease_rate_busd_per_gw_year


def test_old_files_load_with_todays_markup_and_the_gain_spread_at_once() -> None:
    """A scenario file of version 4 (before section 4.9) lacks both fields: it loads with 50 and
    0 (``model.io.LEGACY_VALUES``); files are now version 5 and name them."""
    s = load_preset("market-base").replace(hosting_share=0.5, lease_share=0.5)
    text = to_toml(s, "market-base")
    assert f"version = {FORMAT_VERSION}" in text and FORMAT_VERSION == 5
    old = "\n".join(
        line
        for line in text.replace("version = 5", "version = 4").splitlines()
        if not line.startswith(("hosting_entry_lag_years", "efficiency_diffusion_years"))
    )
    loaded = parse_scenario_text(old, "toml")[0]
    assert loaded.hosting_entry_lag_years == 50.0 and loaded.efficiency_diffusion_years == 0.0
    newer = parse_scenario_text(text, "toml")[0]
    assert newer.hosting_entry_lag_years == s.hosting_entry_lag_years


# ---- what competition does to a host --------------------------------------------------------
def test_a_host_at_the_competitive_markup_earns_what_a_lessor_does() -> None:
    """Section 4.9: ``M_c`` is the markup at which a hosted GW nets what a leased one does after
    variable opex and the licence fee, ``H (1 - v - fee) = R (1 - v)``; in a still market
    (flat spot = contract rents) with the fade over before the build is online, hosting-mix's NPV
    is the all-leased scenario's (bofa-base's 17.96)."""
    mix = load_preset("hosting-mix").replace(hosting_entry_lag_years=0.5)
    leased = mix.replace(lease_share=1.0, hosting_share=0.0)
    assert evaluate(mix).npv_busd == pytest.approx(evaluate(leased).npv_busd, rel=1e-9)
    assert evaluate(load_preset("hosting-mix")).npv_busd > evaluate(mix).npv_busd + 5.0


def test_the_breakeven_is_a_root_where_the_markup_follows_the_rate() -> None:
    """A competed markup is a multiple of the rent, so hosting revenue moves with the lease rate:
    the breakeven's guess is checked by the engine there (section 5.1), and NPV is 0 at it."""
    s = load_preset("hosting-mix").replace(hosting_entry_lag_years=0.0)
    rate = evaluate(s).breakeven_lease_rate_busd_per_gw_year
    assert rate is not None
    at = evaluate(s.replace(lease_rate_busd_per_gw_year=rate)).npv_busd
    assert abs(at) < 1e-6


# ---- the acceptance: faster diffusion shrinks a builder-only edge's gain ---------------------
@settings(max_examples=30, deadline=None)
@given(
    k=st.floats(1.1, 4.0),
    d=st.floats(0.1, 1.0),
    years=st.lists(st.floats(0.0, 5.0), min_size=2, max_size=2),
    build=st.integers(1, 3),
    elasticity=st.floats(0.3, 2.0),
    cap=st.sampled_from([1.0, 0.1]),
    lag=st.sampled_from([0.5, 2.0, 50.0]),
)
def test_faster_diffusion_shrinks_a_builder_edges_gain_for_an_all_hosting_builder(
    k: float,
    d: float,
    years: list[float],
    build: int,
    elasticity: float,
    cap: float,
    lag: float,
) -> None:
    """Section 4.9 (and 4.3): for an all-hosting builder the gain of its edge ``k`` over the same
    builder without it, NPV(k) - NPV(1), is no larger with a faster diffusion (fewer
    ``efficiency_diffusion_years``), strictly so where the diffusion still runs once the build
    is online. Where the market's share cap binds, the host sells the tokens the market takes
    at its price, ``V (P_host / P)^(-e)``: revenue ``~ P_host^(1 - e)``, so this holds at
    ``e <= 1`` (at ``e > 1`` a cheaper token sells more of them); with the cap slack at any
    ``e``."""
    if cap < 1.0 and elasticity > 1.0:
        elasticity = 1.0 / elasticity
    fast, slow = sorted(years)
    base = load_preset("market-base").replace(
        lease_share=0.0,
        hosting_share=1.0,
        build_years=build,
        efficiency_diffusion=d,
        demand_elasticity=elasticity,
        hosting_market_share_cap=cap,
        market_tokens_quadrillion_per_year=1e6 if cap == 1.0 else 100.0,
        hosting_entry_lag_years=lag,
    )
    none = evaluate(base.replace(efficiency_multiplier=1.0, efficiency_diffusion_years=fast))
    gain = {
        y: evaluate(base.replace(efficiency_multiplier=k, efficiency_diffusion_years=y)).npv_busd
        - none.npv_busd
        for y in (fast, slow)
    }
    tol = 1e-9 * max(1.0, abs(none.npv_busd))
    assert gain[fast] <= gain[slow] + tol
    if slow > build + 0.5 and slow - fast > 0.5 and cap == 1.0:
        assert gain[fast] < gain[slow] - tol
