"""The value of leasing surplus (methodology section 11.11): PV(FCF_operate - FCF_idle) with the
build sunk in both branches, computed lazily, never inside evaluate or evaluate_batch."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from test_properties import scenarios

from model import Scenario, evaluate, evaluate_batch, load_preset, preset_ids
from model import surplus as surplus_module
from model.results import scenario_params


def _pv(x: np.ndarray, wacc: float) -> float:
    return float((x * (1.0 + wacc) ** -np.arange(len(x))).sum())


@pytest.mark.parametrize("preset", preset_ids())
def test_idle_branch_npv_is_never_positive_and_surplus_is_npv_less_it(preset: str) -> None:
    """Section 11.11: the build is sunk in both branches, so NPV_idle <= 0 and the surplus lease
    value is NPV - NPV_idle >= NPV, on every preset."""
    r = evaluate(load_preset(preset))
    assert r.idle_branch_npv_busd <= 0.0
    assert r.surplus_lease_value_busd == pytest.approx(r.npv_busd - r.idle_branch_npv_busd)
    assert r.surplus_lease_value_busd >= r.npv_busd


def test_surplus_is_pv_of_operate_less_idle_stand_alone() -> None:
    """Section 11.11, stand-alone tax: the idle branch's losses are never used, so FCF_idle is
    minus the build's spend and PV(FCF_operate - FCF_idle) = NPV + PV(build spend)."""
    s = load_preset("bofa-base")
    assert s.tax_in_group == 0
    r = evaluate(s)
    cf = r.cash_flows
    build = (cf["capex"] - cf["capex_refresh"]).to_numpy()
    fcf_idle = -build
    expected = _pv(cf["fcf"].to_numpy() - fcf_idle, s.wacc)
    assert r.surplus_lease_value_busd == pytest.approx(expected, rel=1e-12)
    # the "about 47 B per GW" in the model's own numbers (the facility at book, as
    # then; with section 2.5's site surplus 48.7)
    per_gw = r.surplus_metrics()["surplus_lease_value_busd_per_gw"]
    assert per_gw == pytest.approx(48.67, abs=0.05)
    at_book = evaluate(s.replace(facility_residual="book"))
    assert at_book.surplus_metrics()["surplus_lease_value_busd_per_gw"] == pytest.approx(
        46.8, abs=0.05
    )
    gw = r.surplus_metrics()["market_reaction_surplus_gw"]
    assert gw == pytest.approx(r.market_reaction_busd / per_gw)


def test_idle_branch_in_a_group_saves_the_tax_on_the_builds_depreciation() -> None:
    """Section 11.11, group tax, straight-line: the idle branch deducts the build's depreciation
    (IT over its service life, facility over its life) and writes off the basis left at the
    horizon, each a saving of rate x deduction in its year."""
    s = load_preset("bofa-base").model_copy(
        update={"tax_in_group": 1, "macrs_depreciation": 0, "bonus_depreciation_share": 0.0}
    )
    r = evaluate(s)
    cf = r.cash_flows
    t = cf["year"].to_numpy().astype(float)
    b, h = float(s.build_years), float(s.build_years + s.operating_years)
    cost = s.gw_built * s.capex_per_gw_busd
    deduction = np.zeros_like(t)
    for share, life in (
        (s.it_share_of_capex, s.it_life_years),
        (1 - s.it_share_of_capex, s.facility_life_years),
    ):
        end = min(b + life, h)
        width = np.clip(np.minimum(t + 1.0, end) - np.maximum(t, b), 0.0, 1.0)
        deduction += width * share * cost / life
    deduction[-1] += cost - deduction.sum()  # the basis left, written off at the horizon
    build = (cf["capex"] - cf["capex_refresh"]).to_numpy()
    fcf_idle = -build + s.tax_rate * deduction
    assert r.idle_branch_npv_busd == pytest.approx(_pv(fcf_idle, s.wacc), rel=1e-12)
    assert r.surplus_lease_value_busd == pytest.approx(
        _pv(cf["fcf"].to_numpy() - fcf_idle, s.wacc), rel=1e-12
    )


@settings(max_examples=40)
@given(scenarios())
def test_idle_branch_npv_is_never_positive_anywhere(s: Scenario) -> None:
    """Section 11.11 over the whole input space: the idle branch can at best recover the tax on
    its build, so its NPV is <= 0 and the surplus lease value is at least the NPV."""
    r = evaluate(s)
    assert r.idle_branch_npv_busd <= 1e-9 * (1.0 + s.gw_built * s.capex_per_gw_busd)
    assert math.isfinite(r.surplus_lease_value_busd)
    assert r.surplus_lease_value_busd >= r.npv_busd - 1e-9 * (1.0 + abs(r.npv_busd))


def test_surplus_is_computed_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Section 11.11: evaluate and evaluate_batch never run the idle branch."""

    def boom(params: object) -> None:
        raise AssertionError("idle branch computed eagerly")

    monkeypatch.setattr(surplus_module, "idle_branch_fcf", boom)
    s = load_preset("market-base")
    r = evaluate(s)
    evaluate_batch(pd.DataFrame([s.model_dump(), s.model_dump()]))
    r.metrics()
    with pytest.raises(AssertionError, match="eagerly"):
        _ = r.surplus_lease_value_busd


def test_batch_idle_branch_matches_one_by_one() -> None:
    """Section 11.11: the idle branch is vectorised; rows of a batch match their scenarios."""
    ss = [load_preset(p) for p in preset_ids()]
    batch = surplus_module.idle_branch_npv(scenario_params(ss))
    one = [evaluate(s).idle_branch_npv_busd for s in ss]
    np.testing.assert_allclose(batch, one, rtol=1e-12)
