"""Counterparty risk on contracts (methodology section 11.12): expected contracted revenue
L - (1 - e^(-lambda t)) (1 - R) max(L - Y_t, 0), the drawn default time of the Monte Carlo, and the
presold-to-lab preset."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_properties import scenarios

from model import Scenario, evaluate, load_preset
from model.io import parse_scenario_text, to_toml

LAB = load_preset("presold-to-lab")


def _with(s: Scenario, **update: float) -> Scenario:
    return s.model_copy(update=update)


@settings(max_examples=60, deadline=None)
@given(scenarios(), st.floats(0.0, 0.5), st.floats(0.0, 0.5))
def test_npv_is_non_increasing_in_the_default_hazard(s: Scenario, a: float, b: float) -> None:
    """Section 11.12 over the whole input space (expected and drawn default times alike): a
    higher hazard never raises NPV."""
    lo, hi = min(a, b), max(a, b)
    npv_lo = evaluate(_with(s, counterparty_default_rate_per_year=lo)).npv_busd
    npv_hi = evaluate(_with(s, counterparty_default_rate_per_year=hi)).npv_busd
    assert npv_hi <= npv_lo + 1e-9 * (1.0 + abs(npv_lo))


@settings(max_examples=30, deadline=None)
@given(scenarios())
def test_zero_hazard_is_the_old_meaning_whatever_the_other_two_fields(s: Scenario) -> None:
    """Section 11.12: at a hazard of 0 recovery and the quantile move no number (contracts are
    risk-free, the meaning before counterparty risk)."""
    base = _with(
        s,
        counterparty_default_rate_per_year=0.0,
        counterparty_recovery_share=0.4,
        counterparty_default_quantile=0.0,
    )
    other = _with(base, counterparty_recovery_share=0.0, counterparty_default_quantile=0.3)
    a, b = evaluate(base), evaluate(other)
    assert a.npv_busd == b.npv_busd
    np.testing.assert_array_equal(a.cash_flows["fcf"].to_numpy(), b.cash_flows["fcf"].to_numpy())


def test_expected_contracted_revenue_follows_the_formula() -> None:
    """Section 11.12: in the years the first contract runs and the frontier sits at its ceiling,
    billed = billed_0 - cs (1 - R) (1 - e^(-lambda (t - B + 1/2))) max(L - Y_t, 0), with L = 1
    (the quote) and Y_t the vintage's spot rent at the year's midpoint."""
    r1 = evaluate(LAB)
    r0 = evaluate(_with(LAB, counterparty_default_rate_per_year=0.0))
    m0, m1 = r0.market, r1.market
    b, lam = LAB.build_years, LAB.counterparty_default_rate_per_year
    keep = 1.0 - LAB.hardware_cost_decline_per_year
    checked = 0
    for t in range(b, b + LAB.contract_years):
        flat = m0.lease_rate_index[t] == pytest.approx(m0.lease_rate_index[t + 1], rel=1e-12)
        if not flat:
            continue
        spot = m0.lease_rate_index[t] * keep ** (t - b + 0.5)
        loss = (
            LAB.contracted_share
            * (1.0 - LAB.counterparty_recovery_share)
            * -np.expm1(-lam * (t - b + 0.5))
            * max(1.0 - spot, 0.0)
        )
        assert m1.billed_lease_rate_index[t] == pytest.approx(
            m0.billed_lease_rate_index[t] - loss, rel=1e-12
        )
        checked += 1
    assert checked >= 3
    # a contract below market loses nothing: the buyer's estate assumes it
    early = b
    assert m0.fleet_lease_rate_index[early] > 1.0
    assert m1.billed_lease_rate_index[early] == m0.billed_lease_rate_index[early]


def test_no_loss_in_a_still_market_or_at_full_recovery() -> None:
    """Section 11.12: where the contract rate is the market rent (bofa-base: nothing ages, no
    drift) or the estate pays everything, a default costs nothing; the loss is linear in
    1 - recovery."""
    base = load_preset("bofa-base")
    assert evaluate(_with(base, counterparty_default_rate_per_year=0.3)).npv_busd == pytest.approx(
        evaluate(base).npv_busd, rel=1e-12
    )
    full = _with(LAB, counterparty_recovery_share=1.0)
    free = _with(LAB, counterparty_default_rate_per_year=0.0)
    assert evaluate(full).npv_busd == pytest.approx(evaluate(free).npv_busd, rel=1e-12)
    rev = [
        evaluate(_with(LAB, counterparty_recovery_share=r)).cash_flows["revenue_lease"].to_numpy()
        for r in (0.0, 0.5)
    ]
    rev_free = evaluate(free).cash_flows["revenue_lease"].to_numpy()
    np.testing.assert_allclose(rev_free - rev[1], 0.5 * (rev_free - rev[0]), rtol=1e-9, atol=1e-12)


def test_drawn_default_time_averages_to_the_expected_loss() -> None:
    """Section 11.12: the quantile u puts the default -ln(1 - u) / lambda years into each
    contract; over u uniform the mean NPV is the expected one (to the midpoint rule's error)."""
    u = (np.arange(2_000) + 0.5) / 2_000
    from model import evaluate_batch

    table = {k: np.full(u.size, float(v)) for k, v in LAB.model_dump().items()}
    table["counterparty_default_quantile"] = u
    drawn = evaluate_batch(table)["npv_busd"].to_numpy()
    expected = evaluate(LAB).npv_busd
    free = evaluate(_with(LAB, counterparty_default_rate_per_year=0.0)).npv_busd
    assert drawn.mean() == pytest.approx(expected, abs=0.01 * (free - expected))
    # an early default costs more than a late one; u near 1 is no default inside the horizon
    assert drawn[0] < drawn[-1]
    assert drawn[-1] == pytest.approx(free, rel=1e-12)


def test_monte_carlo_draws_a_default_time_correlated_with_demand_only_with_a_hazard() -> None:
    """Section 11.12: with a hazard the default run draws the default quantile and token demand
    growth, rank-correlated; without one it is the run it was."""
    from scipy.stats import spearmanr

    from model.uncertainty import monte_carlo

    mc = monte_carlo(LAB, n=4_000)
    assert {"counterparty_default_quantile", "token_demand_growth_per_year"} <= set(mc.draws)
    rho = spearmanr(
        mc.draws["counterparty_default_quantile"], mc.draws["token_demand_growth_per_year"]
    )
    assert rho.statistic == pytest.approx(0.5, abs=0.05)
    plain = monte_carlo(load_preset("market-base"), n=500)
    assert "counterparty_default_quantile" not in plain.draws
    # the Uncertainty tab reads the same defaults for the scenario as set
    from model.uncertainty import default_distributions

    assert "counterparty_default_quantile" in default_distributions(LAB).distributions
    assert default_distributions(load_preset("market-base")) == default_distributions()


def test_preset_presold_to_lab_is_sourced_and_carries_the_risk() -> None:
    """Section 11.12 (presets, section 11.6): one lab takes 62% of the capacity on 5-year
    contracts at a B-rated hazard; its NPV is below the same deal without the risk."""
    assert LAB.contracted_share == 0.62 and LAB.contract_years == 5
    assert 0.03 <= LAB.counterparty_default_rate_per_year <= 0.04
    assert (
        evaluate(LAB).npv_busd
        < evaluate(_with(LAB, counterparty_default_rate_per_year=0.0)).npv_busd
    )


def test_old_files_without_the_fields_take_no_risk() -> None:
    """Section 11.12: a scenario file written before the fields loads with a hazard of 0."""
    text = to_toml(load_preset("market-base"), preset="market-base")
    old = "\n".join(line for line in text.splitlines() if not line.startswith("counterparty_"))
    assert "counterparty_" in text and "counterparty_" not in old
    s, _ = parse_scenario_text(old, "toml")
    assert s.counterparty_default_rate_per_year == 0.0
    assert s.counterparty_default_quantile == 0.0
