"""Scarcity while capacity lags, bounded and continuous (methodology section 4.7).

Within the entry lag the frontier rent clears demand on the installed capacity up to the
scarcity bound ``S(tau) = max(s0, min(s0 k_ind^(1 - p) (1 - h)^(-tau), m_s u))``; the ceiling is
``u (max(S, u) / u)^w`` with ``w = 1`` until the lag ends and a geometric fade to the user cost
``u`` over ``entry_fade_years`` after it.
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

#: Times (years) the bounds are checked at: dense over the horizons the fields allow.
TAU = np.linspace(0.0, 60.0, 2401)[None, :]


def _market(s: Scenario) -> tuple[engine._Market, engine._UnitCosts, dict[str, np.ndarray]]:
    """The engine's market of one scenario, as ``_cash_flows`` builds it."""
    p = {k: np.asarray(v, dtype=np.float64) for k, v in scenario_params([s]).items()}
    uc = engine._unit_costs(p)
    mk = engine._market(p, uc)
    if p["lease_rate_tenor_years"].any():
        mk = engine._market(p, uc, engine._quoted_spot(p, uc, mk))
    return mk, uc, p


def scarcity_bound(s: Scenario, tau: np.ndarray, user: float) -> np.ndarray:
    """``S(tau)`` from the scenario's fields (section 4.7), independently of the engine's
    coefficients: today's spot ``s0`` times ``k_ind^(1 - p) (1 - h)^(-tau)``, at most
    ``m_s u``, never below ``s0``."""
    s0 = float(engine.quoted_spot_index(scenario_params([s]))[0])
    k_ind = s.efficiency_multiplier**s.efficiency_diffusion
    log_grow = (1.0 - s.price_pass_through) * math.log(k_ind) - math.log1p(
        -s.hardware_cost_decline_per_year
    ) * np.asarray(tau)
    grown = s0 * np.exp(np.minimum(log_grow, 700.0))
    return np.asarray(np.maximum(s0, np.minimum(grown, s.scarcity_multiple_max * user)))


# ---- the bounds over the whole input space ----------------------------------------------------
@settings(max_examples=60)
@given(scenarios())
def test_floor_below_frontier_below_the_scarcity_bound_and_the_user_cost_after_the_fade(
    s: Scenario,
) -> None:
    mk, _, _ = _market(s)
    user, floor = float(mk.user_idx[0, 0]), float(mk.floor_idx[0, 0])
    frontier = mk.frontier(TAU)[0]
    bound = scarcity_bound(s, TAU[0], user)
    s0 = float(engine.quoted_spot_index(scenario_params([s]))[0])
    assert bound[0] >= s0 * (1 - 1e-12)  # S(0): at least today's spot rent
    if s.lease_rate_tenor_years == 0.0:
        assert bound[0] >= 1.0 - 1e-12  # a quote of spot: S(0) >= 1
    tol = 1e-9 * max(1.0, float(np.max(bound)), user)
    assert (frontier >= floor - tol).all()
    assert (frontier <= np.maximum(bound, user) + tol).all()
    over = TAU[0] >= s.entry_lag_years + s.entry_fade_years
    assert (frontier[over] <= user + tol).all()  # once the lag and the fade are over
    # the ceiling column is the same bound, and the frontier under it
    ceiling = mk.ceiling(TAU)[0]
    assert (frontier <= ceiling + tol).all()
    assert (ceiling <= np.maximum(bound, user) + tol).all()


@settings(max_examples=60)
@given(scenarios(), st.floats(0.0, 45.0))
def test_the_frontier_is_continuous_in_the_lag(s: Scenario, lag: float) -> None:
    """A lag moved by 1e-7 years moves the frontier by at most its slope in the lag, at most
    ``C |ln(max(S, u) / u)| / fade`` (section 4.7), in every year: no jump."""
    eps = 1e-7
    a = _market(s.replace(entry_lag_years=lag))[0]
    b = _market(s.replace(entry_lag_years=lag + eps))[0]
    fa, fb = a.frontier(TAU)[0], b.frontier(TAU)[0]
    top = float(a.user_idx[0, 0] * np.exp(a.log_hi[0, 0]))  # max(S, u) at its highest
    slope = top * abs(math.log(top / float(a.user_idx[0, 0]))) / s.entry_fade_years
    assert np.max(np.abs(fb - fa)) <= 2.0 * eps * slope + 1e-12 * top


def test_npv_is_continuous_in_the_lag() -> None:
    s = load_preset("bofa-base").replace(hardware_cost_decline_per_year=0.2)
    lags = np.linspace(0.0, 8.0, 161)
    npv = np.array([evaluate(s.replace(entry_lag_years=float(x))).npv_busd for x in lags])
    # 0.05-year steps: the largest step moves NPV by a small share of its range
    assert np.max(np.abs(np.diff(npv))) < 0.05 * (npv.max() - npv.min()) + 1e-9


@settings(max_examples=40)
@given(scenarios())
def test_contract_rates_are_finite_and_positive(s: Scenario) -> None:
    m = evaluate(s).market
    for col in ("contract_rate_index_1y", "contract_rate_index_3y", "contract_rate_index_5y"):
        v = m[col].to_numpy()
        assert np.isfinite(v).all() and (v > 0).all(), col


# ---- how much scarcity can add ---------------------------------------------------------------
@st.composite
def lessors(draw: st.DrawFn) -> Scenario:
    """market-base as an all-leasing lessor with the market's inputs drawn; the scarcity window
    and a contract's term end before the horizon (the residual then holds no scarcity)."""
    f = st.floats
    return load_preset("market-base").replace(
        lease_share=1.0,
        hosting_share=0.0,
        procured_gw=0.0,
        hardware_cost_decline_per_year=draw(f(0.0, 0.4)),
        entry_lag_years=draw(f(0.0, 6.0)),
        entry_fade_years=draw(f(0.25, 3.0)),
        scarcity_multiple_max=draw(f(1.0, 4.0)),
        token_demand_growth_per_year=draw(f(0.0, 2.0)),
        industry_capacity_growth_per_year=draw(f(0.0, 0.6)),
        efficiency_multiplier=draw(f(1.0, 3.0)),
        efficiency_diffusion=draw(f(0.0, 1.0)),
        price_pass_through=draw(f(0.0, 1.0)),
        demand_elasticity=draw(f(0.0, 2.5)),
        compute_demand_elasticity=draw(f(0.5, 3.0)),
        lease_rate_busd_per_gw_year=draw(f(8.0, 20.0)),
        contracted_share=draw(f(0.0, 1.0)),
        contract_years=draw(st.integers(0, 6)),
        contract_term_premium=draw(f(-0.03, 0.0)),
        wacc=draw(f(0.05, 0.15)),
        tax_rate=draw(f(0.0, 0.3)),
    )


def scarcity_gain_bound(s: Scenario) -> float:
    """PV (US$ B) of ``(S - u)+ x R x GW x lease_utilization x (1 - v)`` over the scarcity
    window ``[B, lag + fade]``, continuously discounted at the builder's WACC (a flow at
    ``tau`` is worth at least the engine's year-end flow of its year)."""
    mk, _, _ = _market(s)
    user = float(mk.user_idx[0, 0])
    end = s.entry_lag_years + s.entry_fade_years
    if end <= s.build_years:
        return 0.0
    tau = np.linspace(s.build_years, end, 4001)
    excess = np.maximum(scarcity_bound(s, tau, user) - user, 0.0)
    pv = excess * np.exp(-math.log1p(s.wacc) * tau)
    per_rate = float(np.sum(0.5 * (pv[1:] + pv[:-1]) * np.diff(tau)))
    net = s.gw_built * s.lease_utilization * (1.0 - s.variable_opex_share_of_revenue)
    return per_rate * s.lease_rate_busd_per_gw_year * net


@settings(max_examples=60, deadline=None)
@given(lessors())
def test_a_scarcity_gain_is_at_most_the_pv_of_the_scarcity_rent_over_its_window(
    s: Scenario,
) -> None:
    """The gain over the same scenario without scarcity above today's rate
    (``scarcity_multiple_max = 1``) is at most 1.05x the PV of ``(S - u)+`` on every leased GW
    over the window (the 5% for contracts signed in the window: a level rent priced at the
    market's rate, valued at the builder's; term premium <= 0)."""
    gain = evaluate(s).npv_busd - evaluate(s.replace(scarcity_multiple_max=1.0)).npv_busd
    assert gain >= -1e-9 * max(1.0, abs(evaluate(s).npv_busd))
    assert gain <= 1.05 * scarcity_gain_bound(s) + 1e-9


def test_the_bound_is_nearly_reached_where_demand_saturates_it() -> None:
    """Demand far above capacity (tokens x3 a year), no ageing (``h = 0``), no contracts, no tax
    or variable opex, ``S = 3`` from a builder-held 3x gain not passed on (``p = 0``): the gain
    is most of the bound (the rest: year-end flows, and the fade below ``S``)."""
    s = load_preset("market-base").replace(
        lease_share=1.0,
        hosting_share=0.0,
        procured_gw=0.0,
        token_demand_growth_per_year=2.0,
        industry_capacity_growth_per_year=0.0,
        hardware_cost_decline_per_year=0.0,
        efficiency_multiplier=3.0,
        efficiency_diffusion=1.0,
        price_pass_through=0.0,
        entry_lag_years=5.0,
        entry_fade_years=1.0,
        scarcity_multiple_max=4.0,
        contracted_share=0.0,
        tax_rate=0.0,
        variable_opex_share_of_revenue=0.0,
    )
    gain = evaluate(s).npv_busd - evaluate(s.replace(scarcity_multiple_max=1.0)).npv_busd
    assert 0.75 * scarcity_gain_bound(s) < gain <= 1.05 * scarcity_gain_bound(s)


@settings(max_examples=40, deadline=None)
@given(
    st.floats(0.6, 1.0),
    st.floats(1.05, 1.8),
    st.floats(0.1, 0.3),
    st.integers(1, 3),
    st.floats(1.0, 5.0),
    st.floats(0.25, 3.0),
    st.floats(1.5, 4.0),
)
def test_with_p_e_above_1_and_a_lag_past_the_first_year_a_lessor_gains_from_an_industry_gain(
    p: float, pe: float, h: float, build: int, lag_past: float, fade: float, m_s: float
) -> None:
    """Section 4.3 with 4.7: tokens cheaper by an industry-wide 2x gain raise compute demand
    where ``p e > 1``; within the lag the rent clears it up to ``S``. Fade convention: the
    premium is whole until ``entry_lag_years`` and fades over ``entry_fade_years`` after it, so
    with a lag of at least ``build_years + 1`` the builder's first operating year lies within
    it. ``h > 0`` so that ``S`` has room above today's rate at ``p = 1`` (``k_ind^(1 - p) = 1``)."""
    base = load_preset("bofa-base").replace(
        price_pass_through=p,
        demand_elasticity=pe / p,
        hardware_cost_decline_per_year=h,
        build_years=build,
        entry_lag_years=build + lag_past,
        entry_fade_years=fade,
        scarcity_multiple_max=m_s,
        efficiency_diffusion=1.0,
    )
    before = evaluate(base.replace(efficiency_multiplier=1.0)).npv_busd
    after = evaluate(base.replace(efficiency_multiplier=2.0)).npv_busd
    assert after > before + 1e-6


def test_before_scarcity_the_upside_was_cut_off_and_now_it_is_not() -> None:
    """bofa-base at h = 0.2 with today's rate above the entrant's user cost (US$ 25 B against
    20.9), p = 1, e = 1.5, an industry-wide 2x gain. At ``scarcity_multiple_max = 1`` (the cap
    at today's rate, before section 4.7) it changes a lessor's NPV by nothing: the frontier is
    held at today's rate within the lag and at the user cost after it, with or without the
    gain; at the default 2 the rent clears the extra demand within the lag."""
    s = load_preset("bofa-base").replace(
        lease_rate_busd_per_gw_year=25.0,
        hardware_cost_decline_per_year=0.2,
        entry_lag_years=3.0,
        demand_elasticity=1.5,
        price_pass_through=1.0,
        efficiency_diffusion=1.0,
    )

    def gain(m_s: float) -> float:
        with_gain = evaluate(s.replace(efficiency_multiplier=2.0, scarcity_multiple_max=m_s))
        return with_gain.npv_busd - evaluate(s.replace(scarcity_multiple_max=m_s)).npv_busd

    assert gain(1.0) == pytest.approx(0.0, abs=1e-9)
    assert gain(2.0) > 1.0


# ---- old files keep their cap -----------------------------------------------------------------
def test_the_cap_before_scarcity_is_scarcity_multiple_max_1_within_the_lag() -> None:
    """At ``scarcity_multiple_max = 1`` the ceiling within the lag is ``max(s0, u)``: today's
    rate or the user cost, whichever is higher (the cap before this revision)."""
    for pid in ("bofa-base", "market-base", "coreweave-spv", "coreweave-cluster"):
        s = load_preset(pid).replace(scarcity_multiple_max=1.0, entry_lag_years=30.0)
        mk, _, _ = _market(s)
        s0 = float(engine.quoted_spot_index(scenario_params([s]))[0])
        ceiling = mk.ceiling(TAU[:, TAU[0] <= 30.0])[0]
        want = min(max(s0, float(mk.user_idx[0, 0])), float(mk.cap_eff[0, 0]))
        assert ceiling == pytest.approx(want, rel=1e-12), pid


def test_files_of_version_3_load_without_scarcity_above_todays_rate() -> None:
    s = load_preset("market-base")
    text = to_toml(s, "market-base")
    assert f"version = {FORMAT_VERSION}" in text and FORMAT_VERSION == 5
    old = "\n".join(
        line
        for line in text.replace(f"version = {FORMAT_VERSION}", "version = 3").splitlines()
        if not line.startswith(("scarcity_multiple_max", "entry_fade_years"))
    )
    loaded = parse_scenario_text(old, "toml")[0]
    assert loaded == s.replace(scarcity_multiple_max=1.0, entry_fade_years=1.0)
    assert parse_scenario_text(text, "toml")[0] == s
