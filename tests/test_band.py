"""The headline band (methodology §9, Headline band): the Uncertainty tab's simulation, fewer draws."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model import load_preset
from model.band import (
    HEADLINE_DRAWS,
    KPI_METRICS,
    MetricBand,
    band_percentiles,
    headline_band,
)
from model.uncertainty import DEFAULT_SEED, monte_carlo


def test_band_is_the_uncertainty_tabs_simulation() -> None:
    """Known answer: the same draws as monte_carlo with the same count and seed."""
    s = load_preset("bofa-base")
    band = headline_band(s)
    mc = monte_carlo(s, n=HEADLINE_DRAWS, seed=DEFAULT_SEED)
    for m in ("npv_busd", "irr", "roic"):
        b = band.bands[m]
        assert b.p10 == mc.summary.loc[m, "p10"]
        assert b.p50 == mc.summary.loc[m, "p50"]
        assert b.p90 == mc.summary.loc[m, "p90"]
    assert band.prob_npv_positive == mc.prob_npv_positive
    assert band.npv_point_busd == mc.summary.loc["npv_busd", "point"]
    # the pulls are the run's gap attribution: the same inputs and effects
    effects = dict(zip(mc.gap.inputs["label"], mc.gap.inputs["effect"], strict=True))
    assert band.pulls and all(p.effect_busd == effects[p.label] for p in band.pulls)
    assert band.gap_reason == mc.gap.reason
    assert sorted(band.bands) == sorted(KPI_METRICS)


def test_common_random_numbers_band_moves_only_with_inputs() -> None:
    s = load_preset("bofa-base")
    assert headline_band(s) == headline_band(s)
    higher = headline_band(s.model_copy(update={"lease_rate_busd_per_gw_year": 15.0}))
    base = headline_band(s)
    # the same draws at a higher lease rate: every NPV draw rises, so every percentile does
    for q in ("p10", "p25", "p50", "p75", "p90"):
        assert getattr(higher.bands["npv_busd"], q) > getattr(base.bands["npv_busd"], q)
    assert higher.prob_npv_positive > base.prob_npv_positive


def test_outside_text_names_the_inputs_that_pull() -> None:
    band = headline_band(load_preset("bofa-base"))
    text = band.npv_outside_text()
    assert text is not None and text.startswith("The point estimate is above")
    assert [p.label for p in band.pulls][:2] == ["IT life", "Lease utilisation"]
    assert all(p.effect_busd < 0 for p in band.pulls)


def test_breakeven_band_only_where_leased() -> None:
    s = load_preset("bofa-base")
    hosted = headline_band(s.model_copy(update={"lease_share": 0.0, "hosting_share": 1.0}))
    assert math.isnan(hosted.bands["breakeven_lease_rate_busd_per_gw_year"].p10)
    leased = headline_band(s).bands["breakeven_lease_rate_busd_per_gw_year"]
    assert 0 < leased.p10 < leased.p90


def test_position_equal_to_a_quartile_is_within() -> None:
    b = MetricBand("npv_busd", -2.0, -1.0, 0.0, 1.0, 2.0, 1.0)
    assert (b.position(-1.0), b.position(1.0)) == ("within", "within")
    assert (b.position(-1.01), b.position(1.01)) == ("below", "above")
    assert b.position(None) == "within"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=40),
    st.integers(0, 20),
)
def test_never_percentiles_rank_undefined_draws_last(values: list[float], undefined: int) -> None:
    """NaN (never) ranks above every value: a percentile is numpy's linear one on the array
    with NaN as a value above all others, and inf where its rank reaches an undefined draw."""
    arr = np.array(values + [math.nan] * undefined)
    got = band_percentiles(arr, never=True)
    with_top = np.where(np.isnan(arr), 1e12, arr)
    n = arr.size
    for p, g in zip((10, 25, 50, 75, 90), got, strict=True):
        pos = p / 100 * (n - 1)
        if math.ceil(pos) >= len(values):
            assert g == math.inf
        else:
            assert math.isclose(g, float(np.percentile(with_top, p)), rel_tol=1e-12, abs_tol=1e-9)
    # without ``never`` the undefined draws are left out
    assert band_percentiles(arr)[2] == float(np.percentile(np.array(values), 50))


def test_band_solves_the_breakeven_only_where_something_is_leased(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The breakeven's solve (a few engine passes, methodology §5) runs in the band only where its
    KPI is shown: a scenario that leases nothing gets an undefined band without it."""
    from model import engine

    calls: list[int] = []
    solve = engine._breakeven_lease

    def counted(p: dict[str, np.ndarray], base: engine.EngineOutput) -> np.ndarray:
        calls.append(int(p["gw_built"].shape[0]))
        return solve(p, base)

    monkeypatch.setattr(engine, "_breakeven_lease", counted)
    hosted = headline_band(
        load_preset("bofa-base").replace(lease_share=0.0, hosting_share=1.0), n=500
    )
    assert calls == []
    assert hosted.bands["breakeven_lease_rate_busd_per_gw_year"].defined_share == 0.0
    headline_band(load_preset("bofa-base"), n=500)
    assert sum(calls) == 500
