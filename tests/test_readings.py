"""The still-market and moving-market readings of a scenario (methodology §12, Two readings)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given
from test_properties import scenarios

import model.readings as readings_module
import model.uncertainty as uncertainty
from model import (
    FIELD_SPECS,
    Scenario,
    assumptions,
    evaluate,
    load_preset,
    make_scenario,
    market_readings,
    median_entry_lag_years,
    moving_market,
    preset_ids,
    still_market,
)
from model.metrics import format_metric
from model.readings import STILL_ENTRY_LAG_YEARS

LAG = "entry_lag_years"


def _with_lag(s: Scenario, lag: float) -> Scenario:
    """The scenario with its entry lag set, built from scratch (not through the module)."""
    return make_scenario({**s.model_dump(), LAG: lag})


@pytest.fixture
def fresh_median() -> Iterator[None]:
    median_entry_lag_years.cache_clear()
    yield
    median_entry_lag_years.cache_clear()


# ---- which inputs each reading sets ----------------------------------------------------------
def test_the_still_market_is_the_field_maximum_beyond_any_horizon() -> None:
    assert STILL_ENTRY_LAG_YEARS == FIELD_SPECS[LAG].high == 50.0
    longest = FIELD_SPECS["build_years"].high + FIELD_SPECS["operating_years"].high
    assert longest < STILL_ENTRY_LAG_YEARS


def test_the_median_lag_is_the_sourced_default_or_the_distributions_median() -> None:
    dists = uncertainty.default_distributions().distributions
    median = median_entry_lag_years()
    if LAG in dists:  # half of the Monte Carlo's draws (as stated) lie below it
        d = uncertainty.parse_distribution(LAG, dists[LAG]).at_reference()
        draws = d.ppf((np.arange(20_000) + 0.5) / 20_000)
        assert np.mean(draws < median) == pytest.approx(0.5, abs=1e-3)
    else:
        assert median == assumptions()[LAG].value == 2.0


def test_a_distribution_of_the_lag_gives_its_median(
    monkeypatch: pytest.MonkeyPatch, fresh_median: None
) -> None:
    # triangular(1, 2, 5): F(m) = 1/2 past the mode, 5 - sqrt(0.5 x 4 x 3) = 5 - sqrt(6)
    spec = {"kind": "triangular", "low": 1.0, "mode": 2.0, "high": 5.0, "follow": "absolute"}
    real = uncertainty.default_distributions()
    fake = uncertainty.DefaultDistributions({**real.distributions, LAG: spec}, {}, {})
    monkeypatch.setattr(uncertainty, "default_distributions", lambda: fake)
    monkeypatch.setattr(readings_module.tomllib, "loads", lambda _: {"distribution": {LAG: {}}})
    assert median_entry_lag_years() == pytest.approx(5.0 - 6.0**0.5, abs=1e-12)
    assert moving_market(load_preset("bofa-base")).entry_lag_years == pytest.approx(2.5505, 1e-4)


@pytest.mark.parametrize("preset_id", preset_ids())
def test_each_reading_is_evaluate_with_its_entry_lag(preset_id: str) -> None:
    s = load_preset(preset_id)
    r = market_readings(s)
    still = evaluate(_with_lag(s, 50.0).replace(scarcity_multiple_max=1.0))
    moving = evaluate(_with_lag(s, median_entry_lag_years()))
    assert r.still.npv_busd == still.npv_busd and r.still.irr == still.irr
    assert r.moving.npv_busd == moving.npv_busd and r.moving.irr == moving.irr
    assert r.result.npv_busd == evaluate(s).npv_busd
    # nothing but the entry lag (and the still reading's scarcity bound, 1, and hosting lag, 50:
    # today's hosting markup lasts too, methodology 4.9) differs, the hardware decline included
    assert set(still_market(s).diff(s)) <= {LAG, "scarcity_multiple_max", "hosting_entry_lag_years"}
    assert still_market(s).hosting_entry_lag_years == 50.0
    assert set(moving_market(s).diff(s)) <= {LAG}
    assert moving_market(s).hardware_cost_decline_per_year == s.hardware_cost_decline_per_year


def test_bofa_base_is_the_still_reading_and_market_base_the_moving_one() -> None:
    bofa = market_readings(load_preset("bofa-base"))
    assert bofa.as_set == "still" and bofa.result.npv_busd == bofa.still.npv_busd
    # entrants catching up after 2 years cut the premium of 12.5 over the user cost
    assert bofa.moving.npv_busd < bofa.still.npv_busd - 1.0
    # market-base's lag of 2 years is below the median of the lag's distribution (section 4.7):
    # neither reading as set; demand outgrows capacity, so the longer scarcity lasts the more
    # it earns: as set (2 years) <= the median lag
    market = market_readings(load_preset("market-base"))
    assert (
        market.as_set is None
        and market.result.npv_busd == evaluate(load_preset("market-base")).npv_busd
    )
    assert market.result.npv_busd <= market.moving.npv_busd
    # the still reading is today's premium lasting, not scarcity lasting (section 12.1): with no
    # entry for 50 years and the bound as set (2x the user cost) market-base would earn ~100 B
    # more, a reading of scarcity that no one quotes as "today's premium"
    scarce = evaluate(load_preset("market-base").replace(entry_lag_years=50.0)).npv_busd
    assert market.still.npv_busd < scarce - 50.0


def test_the_readings_coincide_where_no_premium_is_left_to_last() -> None:
    # bofa-bear's rate is below the user cost of new capacity: no premium for entrants to erode
    bear = market_readings(load_preset("bofa-bear"))
    assert bear.coincide and bear.still.npv_busd == pytest.approx(bear.moving.npv_busd)


# ---- the sentence ------------------------------------------------------------------------------
def test_the_sentence_gives_both_numbers_in_the_one_money_format() -> None:
    r = market_readings(load_preset("bofa-base"))
    still, moving = (format_metric("npv_busd", x.npv_busd) for x in (r.still, r.moving))
    assert r.sentence() == (
        f"NPV {still} if today's rent premium lasts; {moving} once entrants catch up after the "
        f"median entry lag ({round(median_entry_lag_years(), 1):g} years)."
    )
    assert still.startswith("US$ ") and still.endswith(" B")


def test_the_sentence_says_when_the_readings_agree_and_reads_a_loss_right() -> None:
    r = market_readings(load_preset("bofa-bear"))
    text = r.sentence()
    assert text.startswith(f"NPV {format_metric('npv_busd', r.still.npv_busd)} ")
    assert "-US$ " in text and "and the same once entrants catch up" in text


def test_the_sentence_names_a_lag_that_is_neither_reading() -> None:
    s = load_preset("bofa-base").replace(entry_lag_years=6.0)
    r = market_readings(s)
    assert r.as_set is None
    as_set = format_metric("npv_busd", evaluate(s).npv_busd)
    assert r.sentence().endswith(f"(as set, with an entry lag of 6 years: {as_set}).")


# ---- properties over the whole input space -----------------------------------------------------
@given(scenarios())
def test_the_readings_do_not_depend_on_the_lag_as_set(s: Scenario) -> None:
    r = market_readings(s)
    other = market_readings(s.replace(entry_lag_years=FIELD_SPECS[LAG].high - s.entry_lag_years))
    assert r.still.npv_busd == other.still.npv_busd
    assert r.moving.npv_busd == other.moving.npv_busd
    # given the result as set, the same readings and no other result
    given_result = market_readings(s, evaluate(s))
    assert given_result.still.npv_busd == r.still.npv_busd
    assert given_result.moving.npv_busd == r.moving.npv_busd
    assert given_result.result.npv_busd == r.result.npv_busd


@pytest.mark.parametrize("preset_id", preset_ids())
def test_at_every_preset_a_premium_that_lasts_is_worth_at_least_the_moving_market(
    preset_id: str,
) -> None:
    # a longer entry lag only raises the ceiling (§4.2); at the presets that raises NPV or leaves
    # it. Not an invariant of the whole input space: Hypothesis finds scenarios (capacity kept
    # for internal use, a lease utilisation of 0) where a higher rent costs a little NPV. The
    # still reading holds the scarcity bound at 1 (§12.1), so it is compared with the moving
    # reading at that bound (the moving reading as shown may add scarcity while entry lags).
    r = market_readings(load_preset(preset_id))
    r = dataclasses.replace(
        r, moving=evaluate(moving_market(load_preset(preset_id)).replace(scarcity_multiple_max=1.0))
    )
    if r.result.cash_flows["revenue_internal"].abs().sum() > 0:
        # meta-hyperion-exit keeps capacity for internal use: its IT residual at the horizon is
        # US$ 0.31 B lower in the still market (a 50-year lag) than after entry, more than its
        # higher rents add (NPV 2.67 against 2.72): the exception named above
        assert r.still.npv_busd >= r.moving.npv_busd - 0.05 * max(1.0, abs(r.moving.npv_busd))
        return
    assert r.still.npv_busd >= r.moving.npv_busd - 1e-9 * max(1.0, abs(r.moving.npv_busd))
