"""Stress tests: each shock changes only its documented inputs and moves NPV the way it should."""

from __future__ import annotations

import numpy as np
import pytest

from model import FIELD_SPECS, evaluate, load_preset
from model.stress import ALL_TOGETHER, AS_SET, apply_changes, shocks, stress_scenarios, stress_tests

BASE = load_preset("bofa-base")
REQUIRED = {
    "utilisation_collapse",
    "token_price_deflation",
    "rate_spike",
    "frontier_it_life",
    "contracts_not_renewed",
    "residual_value_shock",
}


def test_named_shocks_are_documented() -> None:
    by_id = {s.id: s for s in shocks()}
    assert set(by_id) >= REQUIRED
    for s in shocks():
        assert s.source.strip() and s.description.strip() and 2000 <= s.year <= 2030
        assert s.changes
    assert {c.field: (c.op, c.value) for c in by_id["rate_spike"].changes} == {
        "wacc": ("add", 0.03)
    }
    assert {c.field: (c.op, c.value) for c in by_id["token_price_deflation"].changes} == {
        "token_price_decline_per_year": ("at_least", 0.9),
        "hardware_cost_decline_per_year": ("at_least", 0.4),
    }
    assert {c.field: (c.op, c.value) for c in by_id["frontier_it_life"].changes} == {
        "it_life_years": ("at_most", 3.0)
    }
    assert by_id["residual_value_shock"].fields == {"residual_value_fraction"}
    assert "contracted_share" in by_id["contracts_not_renewed"].fields


@pytest.mark.parametrize(
    "preset", ["bofa-base", "hosting-mix", "crusoe-resale", "coreweave-spv", "meta-hyperion-exit"]
)
def test_each_shock_changes_only_its_documented_inputs(preset: str) -> None:
    s = load_preset(preset)
    cases = stress_scenarios(s)
    every: set[str] = set()
    for shock in shocks():
        shocked, _ = cases[shock.id]
        assert set(s.diff(shocked)) <= shock.fields
        every |= shock.fields
    assert set(s.diff(cases[ALL_TOGETHER][0])) <= every


def test_shock_values() -> None:
    cases = stress_scenarios(BASE)
    assert cases["rate_spike"][0].wacc == pytest.approx(BASE.wacc + 0.03)
    assert cases["token_price_deflation"][0].token_price_decline_per_year == 0.9
    assert cases["frontier_it_life"][0].it_life_years == 3.0
    assert cases["residual_value_shock"][0].residual_value_fraction == 0.0
    assert cases["utilisation_collapse"][0].lease_utilization == pytest.approx(0.6)
    together = cases[ALL_TOGETHER][0]
    assert together.lease_utilization == pytest.approx(0.6 * 0.85)
    assert together.wacc == pytest.approx(BASE.wacc + 0.03)


def test_table_matches_evaluate_and_lowers_npv_for_bofa_base() -> None:
    t = stress_tests(BASE).set_index("shock")
    assert t.index[0] == AS_SET and t.index[-1] == ALL_TOGETHER
    assert t.loc[AS_SET, "npv_busd"] == pytest.approx(evaluate(BASE).npv_busd)
    for sid, (shocked, _) in stress_scenarios(BASE).items():
        assert t.loc[sid, "npv_busd"] == pytest.approx(evaluate(shocked).npv_busd, abs=1e-9)
        assert t.loc[sid, "delta_npv_busd"] == pytest.approx(
            t.loc[sid, "npv_busd"] - t.loc[AS_SET, "npv_busd"]
        )
    base_npv = t.loc[AS_SET, "npv_busd"]
    for sid in REQUIRED - {"token_price_deflation"} | {ALL_TOGETHER}:
        assert t.loc[sid, "npv_busd"] < base_npv, sid
    # rate spike: the operating flows are the same, so the IRR barely moves while NPV falls;
    # only the residual's market value (its remaining rents discounted at the WACC) changes
    # (and the facility's, whose site surplus of section 2.5 is discounted at it too)
    assert t.loc["rate_spike", "irr"] == pytest.approx(t.loc[AS_SET, "irr"], abs=3e-3)


def test_token_deflation_is_a_downside_without_jevons() -> None:
    """10x-a-year deflation ages the leased fleet: a downside unless demand elasticity > 1.

    With elasticity <= 1 compute demand does not grow as tokens get cheaper, so only the ageing
    of the installed fleet is left; a token seller loses at the sourced elasticity too.
    """
    for elasticity in (0.5, 1.0):
        s = BASE.replace(demand_elasticity=elasticity)
        t = stress_tests(s).set_index("shock")
        assert t.loc["token_price_deflation", "npv_busd"] < t.loc[AS_SET, "npv_busd"]
    # a host limited by the market's token volume gains: cheaper tokens grow the market
    # (methodology section 4.4), while its leased half ages against faster hardware once
    # entrants catch up (lag 2); in the still market (lag 50) the rent clears the extra compute
    # demand up to the scarcity bound for the whole horizon instead (section 4.7)
    mix = load_preset("hosting-mix").replace(entry_lag_years=2.0)
    shocked, _ = stress_scenarios(mix)["token_price_deflation"]
    before, after = evaluate(mix).cash_flows, evaluate(shocked).cash_flows
    assert after["revenue_hosting"].sum() > before["revenue_hosting"].sum()
    assert after["revenue_lease"].sum() < before["revenue_lease"].sum()


def test_clipping_is_reported() -> None:
    s = BASE.replace(wacc=0.29)
    t = stress_tests(s).set_index("shock")
    # in words for people: the label and percentages (methodology §12)
    assert t.loc["rate_spike", "clipped"] == "WACC: 32% clipped to 30% (allowed 0% to 30%)"
    shocked, notes = stress_scenarios(s)["rate_spike"]
    assert shocked.wacc == FIELD_SPECS["wacc"].high and notes
    # already past a shock: at_most/at_least keep it a downside (no change)
    short = BASE.replace(it_life_years=2.0)
    assert stress_scenarios(short)["frontier_it_life"][0].it_life_years == 2.0
    assert "no change" in stress_tests(short).set_index("shock").loc["frontier_it_life", "changes"]


def test_apply_changes_keeps_share_constraint() -> None:
    from model.stress import Change

    mix = load_preset("hosting-mix")
    shocked, notes = apply_changes(mix, (Change("lease_share", "add", 0.3),))
    assert shocked.lease_share + shocked.hosting_share <= 1 + 1e-12
    assert any("leased and hosted shares add up to at most 100%" in n for n in notes), notes
    assert np.isfinite(evaluate(shocked).npv_busd)


def test_bonus_repeal_costs_only_a_scenario_that_takes_bonus() -> None:
    # methodology section 9: the policy-risk shock; bofa-base takes no bonus, coreweave-spv 100%
    base = stress_tests(BASE).set_index("shock")
    assert base.loc["bonus_depreciation_repeal", "npv_busd"] == base.loc[AS_SET, "npv_busd"]
    spv = load_preset("coreweave-spv")
    t = stress_tests(spv).set_index("shock")
    shocked, _ = stress_scenarios(spv)["bonus_depreciation_repeal"]
    assert shocked.bonus_depreciation_share == 0.0
    for metric in ("npv_busd", "npv_equity_busd", "equity_irr"):
        assert t.loc["bonus_depreciation_repeal", metric] < t.loc[AS_SET, metric], metric
