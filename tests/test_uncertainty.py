"""Monte Carlo: reproducible, honours rank correlations, percentiles as numpy's, within bounds."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from model import BATCH_METRICS, FIELD_SPECS, ScenarioError, evaluate, load_preset
from model.uncertainty import default_distributions, monte_carlo

BASE = load_preset("bofa-base")
DISTS = {
    "capex_per_gw_busd": {"kind": "pert", "low": 40.0, "mode": 42.5, "high": 45.0},
    "lease_rate_busd_per_gw_year": {"kind": "triangular", "low": 10.0, "mode": 12.5, "high": 15.0},
    "wacc": {"kind": "normal", "low": 0.074, "high": 0.10},
    "power_price_usd_per_mwh": {"kind": "lognormal", "low": 30.0, "high": 70.0},
    "lease_utilization": {"kind": "uniform", "low": 0.8, "high": 1.0},
}


@pytest.fixture(scope="module")
def run10k():
    corr = {
        ("capex_per_gw_busd", "lease_rate_busd_per_gw_year"): 0.6,
        ("wacc", "lease_utilization"): -0.4,
    }
    return monte_carlo(BASE, DISTS, 10_000, 7, corr), corr


def test_reproducible_with_seed() -> None:
    a = monte_carlo(BASE, DISTS, 500, 3, {("wacc", "lease_utilization"): 0.3})
    b = monte_carlo(BASE, DISTS, 500, 3, {("wacc", "lease_utilization"): 0.3})
    c = monte_carlo(BASE, DISTS, 500, 4, {("wacc", "lease_utilization"): 0.3})
    assert a.draws.equals(b.draws)
    assert a.summary.equals(b.summary)
    assert not a.draws["wacc"].equals(c.draws["wacc"])


def test_honours_requested_rank_correlation(run10k) -> None:
    mc, corr = run10k
    for (a, b), rho in corr.items():
        got = stats.spearmanr(mc.draws[a], mc.draws[b]).statistic
        assert abs(got - rho) < 0.05, (a, b, got)
    # pairs not correlated stay near zero
    got = stats.spearmanr(mc.draws["capex_per_gw_busd"], mc.draws["wacc"]).statistic
    assert abs(got) < 0.05


def test_percentiles_match_numpy_and_draws_feed_every_metric(run10k) -> None:
    mc, _ = run10k
    assert len(mc.draws) == 10_000
    assert set(BATCH_METRICS) <= set(mc.draws.columns)
    for m in ("npv_busd", "irr", "payback_years"):
        v = mc.draws[m].to_numpy()
        v = v[np.isfinite(v)]
        p10, p50, p90 = np.percentile(v, [10, 50, 90])
        assert mc.summary.loc[m, "p10"] == p10
        assert mc.summary.loc[m, "p50"] == p50
        assert mc.summary.loc[m, "p90"] == p90
        assert mc.summary.loc[m, "mean"] == pytest.approx(v.mean())
    assert mc.prob_npv_positive == pytest.approx(np.mean(mc.draws["npv_busd"] > 0))
    # one draw feeds every metric: row i's metrics are those of row i's inputs
    row = mc.draws.iloc[123]
    r = evaluate(BASE.replace(**{f: float(row[f]) for f in DISTS}))
    assert row["npv_busd"] == pytest.approx(r.npv_busd, abs=1e-9)
    assert row["irr"] == pytest.approx(r.irr, abs=1e-9)


def test_draws_within_bounds_and_marginals(run10k) -> None:
    mc, _ = run10k
    for f, spec in DISTS.items():
        v = mc.draws[f].to_numpy()
        assert v.min() >= FIELD_SPECS[f].low and v.max() <= FIELD_SPECS[f].high
        if spec["kind"] in ("uniform", "triangular", "pert"):
            assert v.min() >= spec["low"] and v.max() <= spec["high"]
        else:  # low/high are the 5th/95th percentiles
            assert np.percentile(v, 5) == pytest.approx(spec["low"], rel=0.03)
            assert np.percentile(v, 95) == pytest.approx(spec["high"], rel=0.03)
    tri = mc.draws["lease_rate_busd_per_gw_year"]
    assert tri.mean() == pytest.approx((10 + 12.5 + 15) / 3, rel=0.01)
    pert = mc.draws["capex_per_gw_busd"]
    assert pert.mean() == pytest.approx((40 + 4 * 42.5 + 45) / 6, rel=0.005)


def test_normal_tails_are_truncated_at_field_bounds() -> None:
    mc = monte_carlo(BASE, {"wacc": {"kind": "normal", "low": 0.0, "high": 0.3}}, 4000, 1)
    v = mc.draws["wacc"].to_numpy()
    assert v.min() >= 0.0 and v.max() <= 0.3
    assert np.mean(v == 0.0) < 0.001  # truncated, not clipped: no pile-up at the bound
    assert any("truncated" in n for n in mc.notes)


def test_integer_fields_are_rounded_and_shares_kept_feasible() -> None:
    s = load_preset("hosting-mix")
    mc = monte_carlo(
        s,
        {
            "operating_years": {"kind": "uniform", "low": 10, "high": 20},
            "lease_share": {"kind": "uniform", "low": 0.3, "high": 0.9},
        },
        2000,
        2,
    )
    years = mc.draws["operating_years"].to_numpy()
    assert np.all(years == np.round(years))
    assert np.all(mc.draws["lease_share"] + s.hosting_share <= 1 + 1e-9)
    assert any("lease_share + hosting_share > 1" in n for n in mc.notes)


@pytest.mark.parametrize(
    ("dists", "corr", "match"),
    [
        (
            {"wacc": {"kind": "gamma", "low": 0.05, "high": 0.1}},
            None,
            r"wacc: kind = 'gamma' is unknown \(allowed: uniform",
        ),
        (
            {"wacc": {"kind": "uniform", "low": 0.1, "high": 0.05}},
            None,
            "wacc: low = 0.1 must be below high = 0.05",
        ),
        (
            {"wacc": {"kind": "uniform", "low": 0.05, "high": 0.5}},
            None,
            r"wacc: high = 0.5 is outside the field's bounds \(allowed: 0 to 0.3",
        ),
        ({"wacc": {"kind": "pert", "low": 0.05, "high": 0.1}}, None, "wacc: pert needs mode"),
        (
            {"wacc": {"kind": "pert", "low": 0.05, "mode": 0.2, "high": 0.1}},
            None,
            "mode = 0.2 is outside low..high",
        ),
        (
            {"power_price_usd_per_mwh": {"kind": "lognormal", "low": 0.0, "high": 50}},
            None,
            "lognormal needs low > 0",
        ),
        (
            {"wacc": {"kind": "uniform", "low": "a", "high": 0.1}},
            None,
            "wacc: low = 'a' is not a number",
        ),
        (
            {"wacc": {"kind": "uniform", "low": 0.05, "high": 0.1}},
            {("wacc", "gw_built"): 0.5},
            "gw_built has no distribution",
        ),
        (
            {
                "wacc": {"kind": "uniform", "low": 0.05, "high": 0.1},
                "gw_built": {"kind": "uniform", "low": 1, "high": 2},
            },
            {("wacc", "gw_built"): 1.5},
            r"= 1.5 is out of range \(allowed: -1 to 1\)",
        ),
        (
            {
                f: {"kind": "uniform", "low": 1.0, "high": 2.0}
                for f in ("gw_built", "pue", "it_life_years")
            },
            {
                ("gw_built", "pue"): 0.9,
                ("pue", "it_life_years"): 0.9,
                ("gw_built", "it_life_years"): -0.9,
            },
            "not positive definite",
        ),
    ],
)
def test_bad_distributions_and_correlations_give_clear_errors(dists, corr, match) -> None:
    with pytest.raises(ValueError, match=match):
        monte_carlo(BASE, dists, 100, 1, corr)


def test_bad_field_n_and_seed() -> None:
    with pytest.raises(ScenarioError, match="did you mean"):
        monte_carlo(BASE, {"wac": {"kind": "uniform", "low": 0.05, "high": 0.1}}, 10, 1)
    with pytest.raises(ValueError, match=r"n = 0 is not allowed"):
        monte_carlo(BASE, DISTS, 0, 1)
    with pytest.raises(ValueError, match="seed = -1"):
        monte_carlo(BASE, DISTS, 10, -1)
    with pytest.raises(ValueError, match="distributions is empty"):
        monte_carlo(BASE, {}, 10, 1)


def test_drivers_rank_what_moves_npv(run10k) -> None:
    mc, _ = run10k
    d = mc.drivers
    assert list(d.columns[:4]) == ["field", "label", "spearman_rho", "p_value"]
    rho = d.set_index("field")["spearman_rho"]
    assert rho["lease_utilization"] > 0 and rho["wacc"] < 0
    assert d["share_of_rho2"].sum() == pytest.approx(1.0)
    assert abs(rho.iloc[0]) == abs(rho).max()
    assert rho["lease_rate_busd_per_gw_year"] == pytest.approx(
        stats.spearmanr(mc.draws["lease_rate_busd_per_gw_year"], mc.draws["npv_busd"]).statistic
    )


def test_default_distributions_are_valid_and_sourced() -> None:
    d = default_distributions()
    assert {"capex_per_gw_busd", "lease_rate_busd_per_gw_year"} <= set(d.distributions)
    assert d.distributions["capex_per_gw_busd"]["low"] == 40.0
    assert all(d.sources[f].strip(" ()") for f in d.distributions)
    mc = monte_carlo(BASE, d.distributions, 1000, 1, d.correlation)
    assert 0.0 <= mc.prob_loss <= 1.0


def test_workers_give_identical_results() -> None:
    from model import uncertainty

    old = uncertainty.EVAL_CHUNK
    uncertainty.EVAL_CHUNK = 700
    try:
        a = monte_carlo(BASE, DISTS, 2000, 5, workers=1)
        b = monte_carlo(BASE, DISTS, 2000, 5, workers=2)
    finally:
        uncertainty.EVAL_CHUNK = old
    assert a.draws.equals(b.draws)
