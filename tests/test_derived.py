"""The chart economics in model.derived (methodology section 10): each sweep equals the model on
the same inputs, no sweep loops over evaluate, and the pricing-pressure map has the signs of
derived demand (methodology section 4.3)."""

from __future__ import annotations

import numpy as np
import pytest

import model.derived as derived
import model.results
from model import Scenario, evaluate, load_preset

BASE = load_preset("bofa-base")
#: Bounds far away (user cost ~4x today's rate, floor ~0.14x): the uncapped market identities.
LOOSE = {"capex_per_gw_busd": 80.0, "lease_rate_busd_per_gw_year": 5.0}


@pytest.fixture
def no_evaluate(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sweeps must be vectorised: calling evaluate inside one fails the test."""

    def boom(*_: object, **__: object) -> None:
        raise AssertionError("a sweep called evaluate")

    # derived no longer imports evaluate; should it come back, the guard still holds
    monkeypatch.setattr(derived, "evaluate", boom, raising=False)
    monkeypatch.setattr(model.results, "evaluate", boom)
    for fn in (
        derived.index_sweep,
        derived.npv_multiplier_sweep,
        derived.revenue_per_gw_sweep,
        derived.elasticity_sweep,
        derived.resale_contribution,
        derived.resale_lease_sweep,
        derived.pricing_pressure_map,
    ):
        fn.cache_clear()


def test_sweeps_do_not_loop_over_evaluate(no_evaluate: None) -> None:
    s = load_preset("hosting-mix")
    derived.index_sweep(s)
    derived.npv_multiplier_sweep(s)
    derived.revenue_per_gw_sweep(s)
    derived.elasticity_sweep(s)
    derived.resale_contribution(s)
    derived.resale_lease_sweep(s)
    derived.pricing_pressure_map(s)


@pytest.mark.parametrize("preset", ["bofa-base", "market-base", "hosting-mix"])
def test_index_sweep_equals_the_first_operating_year_of_evaluate(preset: str) -> None:
    s = load_preset(preset)
    sweep = derived.index_sweep(s)
    assert list(sweep.columns) == ["multiplier", "year", *derived.INDEX_COLUMNS]
    for i in (0, 4, 12):
        m = float(sweep["multiplier"].iloc[i])
        r = evaluate(s.replace(efficiency_multiplier=m))
        first = r.market[r.market["operating"]].iloc[0]
        assert int(sweep["year"].iloc[i]) == int(first["year"])
        for key in derived.INDEX_COLUMNS:
            assert sweep[key].iloc[i] == pytest.approx(first[key], rel=1e-12)


def test_npv_and_revenue_sweeps_equal_evaluate() -> None:
    s = load_preset("hosting-mix")
    npv = derived.npv_multiplier_sweep(s)
    assert list(npv.columns) == ["multiplier", "builder", "industry", "current"]
    i = 10
    m = float(npv["multiplier"].iloc[i])
    for col, d in (("builder", 0.0), ("industry", 1.0), ("current", s.efficiency_diffusion)):
        want = evaluate(s.replace(efficiency_multiplier=m, efficiency_diffusion=d)).npv_busd
        assert npv[col].iloc[i] == pytest.approx(want, rel=1e-9)
    rev = derived.revenue_per_gw_sweep(s)
    assert list(rev.columns) == ["multiplier", "lessor", "host"]
    lessor = evaluate(
        s.replace(efficiency_multiplier=m, lease_share=1.0, hosting_share=0.0, procured_gw=0.0)
    )
    assert rev["lessor"].iloc[i] == pytest.approx(
        lessor.extra["average_revenue_busd_per_year"] / s.gw_built, rel=1e-9
    )
    el = derived.elasticity_sweep(s)
    assert list(el.columns) == ["elasticity", "scenario", "industry_2x", "industry_4x", "no_gain"]
    e = float(el["elasticity"].iloc[7])
    want = evaluate(
        s.replace(demand_elasticity=e, efficiency_multiplier=2.0, efficiency_diffusion=1.0)
    ).npv_busd
    assert el["industry_2x"].iloc[7] == pytest.approx(want, rel=1e-9)


def test_resale_contribution_sweep_and_breakeven() -> None:
    s = load_preset("crusoe-resale")
    c = derived.resale_contribution(s)
    with_p = evaluate(s).npv_busd
    without = evaluate(s.replace(procured_gw=0.0)).npv_busd
    assert c["contribution_busd"] == pytest.approx(with_p - without, rel=1e-9)
    assert c["contribution_busd_per_gw"] == pytest.approx((with_p - without) / 1.6, rel=1e-9)
    sweep = derived.resale_lease_sweep(s)
    assert list(sweep.columns) == ["lease_rate", "contribution"]
    x = derived.breakeven_resale_rate(sweep)
    assert x is not None
    # the interpolated root: the contribution at that rate is about zero
    at = (
        evaluate(s.replace(lease_rate_busd_per_gw_year=x)).npv_busd
        - evaluate(s.replace(lease_rate_busd_per_gw_year=x, procured_gw=0.0)).npv_busd
    )
    step = float(sweep["lease_rate"].iloc[1])
    slope = float(np.max(np.abs(np.diff(sweep["contribution"])))) / step
    assert abs(at) <= slope * step
    # nothing procured: the 1.6 GW deal illustrates
    s2, illustrative = derived.procured_scenario(BASE)
    assert illustrative and s2.procured_gw == 1.6
    assert derived.breakeven_resale_rate(sweep.assign(contribution=1.0)) is None


def test_npv_profile_roots_include_the_irr() -> None:
    r = evaluate(BASE)
    roots = derived.npv_profile_roots(r)
    assert r.irr is not None
    assert min(abs(x - r.irr) for x in roots) < 1e-3
    rates = derived.profile_rates(r)
    assert rates[0] == 0.0 and rates[-1] == pytest.approx(0.30)


# ---- pricing-pressure map (methodology section 4.3) -------------------------------------------


def _lessor(**changes: object) -> Scenario:
    return BASE.replace(
        **LOOSE,
        contracted_share=0.0,
        efficiency_multiplier=2.0,
        efficiency_diffusion=1.0,
        **changes,
    )


def test_map_shape_and_the_no_gain_case() -> None:
    m = derived.pricing_pressure_map(BASE)
    assert m.illustrative and m.multiplier == 2.0
    assert m.delta_npv_busd.shape == (len(m.elasticity), len(m.pass_through))
    assert m.pass_through[0] == 0.0 and m.pass_through[-1] == 1.0
    assert m.elasticity[0] == pytest.approx(0.3) and m.elasticity[-1] == pytest.approx(2.0)
    frame = m.frame()
    assert len(frame) == m.delta_npv_busd.size


def test_lessor_map_sign_follows_compute_demand_p_times_e_minus_one() -> None:
    """Quantity clearing: a lessor's rents move with compute demand k^(p e - 1)."""
    m = derived.pricing_pressure_map(_lessor())
    p, e = np.meshgrid(m.pass_through, m.elasticity)
    pe = p * e
    clear = np.abs(pe - 1.0) > 0.05
    assert (np.sign(m.delta_npv_busd[clear]) == np.sign(pe[clear] - 1.0)).all()
    # no pass-through: token sellers keep the gain, need 1/k of the compute: rents fall
    assert (m.delta_npv_busd[:, 0] < 0).all()


def test_host_with_the_gain_alone_gains_everywhere() -> None:
    s = BASE.replace(
        lease_share=0.0,
        hosting_share=1.0,
        efficiency_multiplier=2.0,
        efficiency_diffusion=0.0,
        hosting_market_share_cap=1.0,
        market_tokens_quadrillion_per_year=1e6,
    )
    m = derived.pricing_pressure_map(s)
    assert (m.delta_npv_busd > 0).all()


# ---- lease-rate paths ---------------------------------------------------------------------------


@pytest.mark.parametrize("preset", ["bofa-base", "market-base", "coreweave-cluster"])
def test_lease_rate_paths(preset: str) -> None:
    r = evaluate(load_preset(preset))
    paths = derived.lease_rate_paths(r)
    rate = r.scenario.lease_rate_busd_per_gw_year
    for key in ("frontier", "fleet", "contracted", "billed", "ceiling", "floor"):
        np.testing.assert_allclose(
            paths[f"{key}_busd_per_gw_year"], paths[f"{key}_index"] * rate, rtol=1e-12
        )
    assert (paths["floor_index"] <= paths["frontier_index"] + 1e-12).all()
    assert (paths["frontier_index"] <= paths["ceiling_index"] + 1e-12).all()
    vintages = [c for c in paths.columns if c.startswith("vintage_")]
    assert vintages
    # in each operating year some vintage is installed; at a whole-year age it is the fleet
    op = paths[paths["operating"]]
    installed = op[vintages].notna().any(axis=1)
    assert installed.all()
    fleet = r.market.loc[r.market["operating"], "fleet_lease_rate_index"].to_numpy()
    latest = op[vintages].ffill(axis=1).iloc[:, -1].to_numpy()
    np.testing.assert_allclose(latest, fleet, rtol=1e-9)
