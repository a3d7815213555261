"""Monte Carlo (methodology §9): reproducible, honours rank correlations, percentiles as numpy's,
within bounds; distributions follow the scenario; the gap between point estimate and median is
explained; drivers from SALib; bad arguments give a ValueError naming them."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from model import BATCH_METRICS, FIELD_SPECS, ScenarioError, evaluate, load_preset, uncertainty
from model.uncertainty import (
    DEFAULT_DRAWS,
    DEFAULT_SEED,
    SESSION_MAX_DRAWS,
    MonteCarloError,
    available_cores,
    check_session_draws,
    check_workers,
    default_distributions,
    default_spec,
    monte_carlo,
)
from model.uncertainty import drivers as mc_drivers
from model.uncertainty import run as mc_run
from model.uncertainty import sampling as mc_sampling

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


def test_drivers_rank_by_salib_first_order_share(run10k) -> None:
    from SALib.analyze import rbd_fast

    mc, _ = run10k
    d = mc.drivers
    assert list(d.columns[:5]) == ["field", "label", "s1", "s1_conf", "spearman_rho"]
    # sorted by the first-order variance share, most important first
    s1 = d["s1"].to_numpy()
    assert np.all(np.diff(s1) <= 0)
    # each a share of NPV's variance; correlated inputs borrow from each other, so the sum may
    # exceed 1 (methodology §9)
    assert np.all((s1 > -0.05) & (s1 <= 1.0)) and s1[0] > 0.2
    # the wiring: SALib's RBD-FAST on the same draws gives the same indices
    fields = list(DISTS)
    x = mc.draws[fields].to_numpy()[: mc_drivers.RANKING_DRAWS]
    y = mc.draws["npv_busd"].to_numpy()[: mc_drivers.RANKING_DRAWS]
    problem = {"num_vars": len(fields), "names": fields, "bounds": [[0, 1]] * len(fields)}
    ref = rbd_fast.analyze(problem, x, y, M=10, num_resamples=2, seed=7)
    got = d.set_index("field")["s1"]
    for f, v in zip(fields, ref["S1"], strict=True):
        assert got[f] == pytest.approx(v)
    rho = d.set_index("field")["spearman_rho"]
    assert rho["lease_utilization"] > 0 and rho["wacc"] < 0  # direction from the rank correlation
    assert d["share_of_rho2"].sum() == pytest.approx(1.0)
    assert rho["lease_rate_busd_per_gw_year"] == pytest.approx(
        stats.spearmanr(mc.draws["lease_rate_busd_per_gw_year"], mc.draws["npv_busd"]).statistic
    )


def test_drivers_rank_the_input_with_the_larger_effect_first() -> None:
    # a lease rate spread over US$9 B per GW-year moves NPV far more than capex over US$1 B per GW
    dists = {
        "lease_rate_busd_per_gw_year": {"kind": "uniform", "low": 8.0, "high": 17.0},
        "capex_per_gw_busd": {"kind": "uniform", "low": 42.0, "high": 43.0},
    }
    d = monte_carlo(BASE, dists, 4000, 3).drivers
    assert list(d["field"]) == ["lease_rate_busd_per_gw_year", "capex_per_gw_busd"]
    assert d["s1"].iloc[0] > 0.9 > d["s1"].iloc[1]


def test_default_distributions_are_valid_and_sourced() -> None:
    d = default_distributions()
    assert {"capex_per_gw_busd", "lease_rate_busd_per_gw_year"} <= set(d.distributions)
    assert d.distributions["capex_per_gw_busd"]["low"] == 40.0
    assert all(d.sources[f].strip(" ()") for f in d.distributions)
    mc = monte_carlo(BASE, d.distributions, 1000, 1, d.correlation)
    assert 0.0 <= mc.prob_loss <= 1.0


def _small_ranges(monkeypatch, fill_rows: int, eval_chunk: int) -> None:
    """Pieces of ``fill_rows`` and ranges of at most ``eval_chunk`` rows (methodology §9,
    Evaluation), so that a small run is cut into many ranges."""
    from model import engine

    monkeypatch.setattr(engine, "CHUNK_ROWS", fill_rows // 2)
    monkeypatch.setattr(mc_run, "FILL_ROWS", fill_rows)
    monkeypatch.setattr(mc_run, "EVAL_CHUNK", eval_chunk)


def test_workers_give_identical_results(monkeypatch) -> None:
    # methodology §9 (Limits): small ranges, so the run is cut in many and the workers share
    # them: every draw, every metric (IRRs included, to the last bit), the summary and the
    # ranking as in one process
    _small_ranges(monkeypatch, 1_024, 3_072)
    a = monte_carlo(BASE, DISTS, 40_000, 5, workers=1)
    b = monte_carlo(BASE, DISTS, 40_000, 5, workers=2)
    assert len(mc_run._chunk_bounds(40_000, 2)) >= 15
    assert a.draws.equals(b.draws)
    assert a.summary.equals(b.summary)
    assert a.drivers.equals(b.drivers)


def test_the_numbers_do_not_depend_on_how_the_run_is_cut_into_ranges(monkeypatch) -> None:
    # methodology §9 (Evaluation): ranges start at multiples of FILL_ROWS, a multiple of the
    # engine's chunk, so the engine's batches hold the same rows for other ranges (here of 1,
    # 8, 1 and 9 pieces) and give the same numbers to the last bit, IRRs included; batches of
    # other rows give some IRRs a last bit apart at these sizes (ranges cut 37 rows earlier
    # fail this test: the Newton solver's tail switches method with the rows left)
    _small_ranges(monkeypatch, 1_024, 3_072)
    usual = monte_carlo(BASE, DISTS, 20_000, 5, workers=2)
    odd = [(0, 1_024), (1_024, 9_216), (9_216, 10_240), (10_240, 20_000)]
    monkeypatch.setattr(mc_run, "_chunk_bounds", lambda n, workers=1: odd)
    for workers in (1, 2):
        cut = monte_carlo(BASE, DISTS, 20_000, 5, workers=workers)
        assert cut.draws.equals(usual.draws)
        assert cut.summary.equals(usual.summary)


@pytest.mark.parametrize("ranking_draws", [400, 500, 501])
def test_driver_ranking_from_the_first_range_is_the_ranking_of_the_run(
    monkeypatch, ranking_draws: int
) -> None:
    # methodology §9 (Drivers): with workers, the ranking is computed as soon as the first range
    # is in when that range holds the draws it reads (400, 500 of its 500 rows), else after
    # every range (501); the same ranking as in one process either way

    _small_ranges(monkeypatch, 100, 500)
    monkeypatch.setattr(mc_drivers, "RANKING_DRAWS", ranking_draws)
    early = []
    real = mc_run._early_drivers

    def spy(*args, **kwargs):
        result = real(*args, **kwargs)
        early.append(result is not None)
        return result

    monkeypatch.setattr(mc_run, "_early_drivers", spy)
    a = monte_carlo(BASE, DISTS, 4_000, 5, workers=1)
    b = monte_carlo(BASE, DISTS, 4_000, 5, workers=2)
    assert mc_run._chunk_bounds(4_000, 2)[0] == (0, 500)
    assert early == [ranking_draws <= 500]
    assert a.drivers.equals(b.drivers)
    assert a.draws.equals(b.draws)


def test_a_range_gives_the_same_numbers_whatever_rows_it_evaluates_at_once(monkeypatch) -> None:
    # methodology §9 (Evaluation): a range is evaluated FILL_ROWS rows at a time, a multiple of
    # the engine's chunk, so the draws are those of the whole range evaluated at once
    from model import engine

    monkeypatch.setattr(engine, "CHUNK_ROWS", 256)
    monkeypatch.setattr(mc_run, "FILL_ROWS", 3_000 // 256 * 256 + 256)  # the whole range
    whole = monte_carlo(BASE, DISTS, 3_000, 5)
    monkeypatch.setattr(mc_run, "FILL_ROWS", 512)
    parts = monte_carlo(BASE, DISTS, 3_000, 5)
    assert whole.draws.equals(parts.draws)
    assert whole.summary.equals(parts.summary)


def test_a_range_is_evaluated_on_one_blas_thread(monkeypatch) -> None:
    # methodology §9 (Evaluation): the range's products (the normals' correlation, the IRR scan)
    # run on one BLAS thread, so no idle BLAS thread spins on a core another worker needs
    from model import finance

    def blas_threads() -> int:
        info = finance._blas_controller().select(user_api="blas").info()
        return max((lib["num_threads"] for lib in info), default=1)

    if blas_threads() < 2:
        pytest.skip("BLAS runs on one thread here already: nothing to limit")
    seen: list[int] = []
    real = mc_run._transform  # called inside the range, after its normals are drawn

    def spy(*args, **kwargs):
        seen.append(blas_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(mc_run, "_transform", spy)
    monte_carlo(BASE, DISTS, 1_000, 5)
    assert seen == [1]
    assert blas_threads() >= 2  # and the limit ends with the range


@given(n=st.integers(1, 3_000_000), workers=st.integers(1, 4))
@settings(max_examples=200, deadline=None)
def test_chunk_ranges_cover_every_row_once_and_shrink_towards_the_end(n: int, workers: int) -> None:
    # methodology §9 (Limits): ranges of whole pieces, at most EVAL_CHUNK rows, each at most
    # 1 / (2 workers) of the pieces left (so the workers finish together), and a range smaller
    # than a block of normals inside one block

    bounds = mc_run._chunk_bounds(n, workers)
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
    if n <= mc_run.EVAL_CHUNK:
        assert bounds == [(0, n)]
        return
    fill = mc_run.FILL_ROWS
    pieces = -(-n // fill)
    block = mc_sampling.NORMAL_BLOCK // fill
    for a, b in bounds:
        assert a % fill == 0 and 0 < b - a <= mc_run.EVAL_CHUNK
        size = -(-(b - a) // fill)
        left = pieces - a // fill
        if workers == 1:
            assert b - a == mc_run.EVAL_CHUNK or b == n
        else:
            assert size <= max(1, -(-left // (2 * workers)))
        if size < block:
            assert a // fill // block == (a // fill + size - 1) // block
    if workers > 1:
        assert bounds[-1][1] - bounds[-1][0] <= fill  # the last range is one piece


@given(
    values=st.lists(
        st.floats(-1e6, 1e6, allow_nan=False) | st.sampled_from([0.0, 1.0, -2.5]),
        min_size=1,
        max_size=300,
    ),
    q=st.lists(st.floats(0.0, 100.0), min_size=1, max_size=5),
)
@settings(max_examples=300, deadline=None)
def test_percentiles_by_selection_are_numpys_to_the_last_bit(
    values: list[float], q: list[float]
) -> None:
    # methodology §9 (Summary): the selection path on short inputs too (ties, repeated and
    # adjacent ranks, q = 0 and 100), against numpy.percentile
    v = np.array(values)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(uncertainty, "SELECT_MIN_VALUES", 1)
        got = uncertainty.percentiles_linear(v, tuple(q))
    assert np.array_equal(got, np.percentile(v, q))
    assert np.array_equal(v, np.array(values))  # the input is left as it was


def test_percentiles_by_selection_on_a_million_draws() -> None:
    v = np.random.default_rng(3).lognormal(size=1_000_000)
    q = (10, 50, 90)
    assert np.array_equal(uncertainty.percentiles_linear(v, q), np.percentile(v, q))


@pytest.mark.parametrize("share_of_twos", [0.0, 0.05, 0.1, 0.5, 0.9, 1.0])
def test_percentiles_of_a_two_valued_column_by_counts(share_of_twos: float) -> None:
    # methodology §9 (Summary): a column of at most two values (IRR root counts) is read from
    # its counts, not partitioned; the same numbers as numpy, at and around the percentile ranks
    rng = np.random.default_rng(4)
    v = np.where(rng.random(200_000) < share_of_twos, 2.0, 1.0)
    q = (0, 5, 10, 50, 89.99, 90, 100)
    assert np.array_equal(uncertainty.percentiles_linear(v, q), np.percentile(v, q))
    # a third value anywhere (past the first 64) takes the partition: still numpy's numbers
    v[150_000] = 7.0
    assert np.array_equal(uncertainty.percentiles_linear(v, q), np.percentile(v, q))


# ---- distributions follow the scenario (methodology §9, "Following the scenario") -------------


def _lease(rate: float):
    return BASE.replace(lease_rate_busd_per_gw_year=rate)


def test_results_follow_the_point_estimate_across_presets() -> None:
    runs = {
        name: monte_carlo(s)
        for name, s in [
            ("bear", load_preset("bofa-bear")),
            ("base", BASE),
            ("bull", load_preset("bofa-bull")),
            ("lease20", _lease(20.0)),
        ]
    }
    point = {k: evaluate(mc.scenario).npv_busd for k, mc in runs.items()}
    p50 = {k: mc.summary.loc["npv_busd", "p50"] for k, mc in runs.items()}
    loss = {k: mc.prob_loss for k, mc in runs.items()}
    by_point = sorted(point, key=point.get)
    assert by_point == sorted(p50, key=p50.get)  # the median follows the point estimate
    assert [loss[k] for k in by_point] == sorted(loss.values(), reverse=True)
    assert len({round(v, 6) for v in p50.values()}) == 4
    assert loss["bear"] > loss["base"] > loss["bull"] >= loss["lease20"]
    for k, mc in runs.items():
        assert mc.summary.loc["npv_busd", "point"] == pytest.approx(point[k])


def test_probability_of_loss_falls_as_the_lease_rate_rises() -> None:
    rates = [9.0, 11.0, 12.5, 14.0, 17.0]
    loss = [monte_carlo(_lease(r), n=4000).prob_loss for r in rates]
    p50 = [monte_carlo(_lease(r), n=4000).summary.loc["npv_busd", "p50"] for r in rates]
    assert all(a > b for a, b in itertools.pairwise(loss) if a > 0), loss
    assert loss[0] > loss[-1]
    assert all(a < b for a, b in itertools.pairwise(p50)), p50


def test_absolute_ranges_remain_an_option() -> None:
    a = monte_carlo(_lease(10.0), n=3000, follow_scenario=False)
    b = monte_carlo(_lease(20.0), n=3000, follow_scenario=False)
    # the lease rate is drawn from the same sourced range whatever the scenario sets
    assert a.draws["lease_rate_busd_per_gw_year"].equals(b.draws["lease_rate_busd_per_gw_year"])
    assert a.prob_loss == b.prob_loss
    assert a.draws["lease_rate_busd_per_gw_year"].between(10.0, 15.0).all()
    follow = monte_carlo(_lease(20.0), n=3000)
    assert follow.prob_loss < b.prob_loss


def test_scale_and_shift_conventions() -> None:
    # every input at its distribution's reference (the value its figures were sourced around:
    # the field's default, or e.g. current law for bonus depreciation)
    dists = default_distributions().distributions
    refs = {f: d["reference"] for f, d in dists.items() if "reference" in d}
    base = BASE.replace(**refs)
    at_ref = monte_carlo(base, n=2000)
    moved = base.replace(capex_per_gw_busd=51.0, wacc=0.117, it_life_years=4.0)
    mc = monte_carlo(moved, n=2000)
    # same seed, same uniforms: scale multiplies by value / reference, shift adds value - reference
    assert np.allclose(mc.draws["capex_per_gw_busd"], at_ref.draws["capex_per_gw_busd"] * 51 / 42.5)
    assert np.allclose(mc.draws["it_life_years"], at_ref.draws["it_life_years"] * 4.0 / 5.5)
    assert np.allclose(mc.draws["wacc"], at_ref.draws["wacc"] + 0.03, atol=1e-12)
    # at the reference, following and absolute are the same run
    absolute = monte_carlo(base, n=2000, follow_scenario=False)
    assert absolute.draws.equals(at_ref.draws)
    assert mc.distributions["capex_per_gw_busd"].low == pytest.approx(40.0 * 51 / 42.5)
    assert mc.specs["capex_per_gw_busd"].follow == "scale"
    assert mc.specs["wacc"].follow == "shift"


def test_following_distribution_is_truncated_at_the_bounds() -> None:
    s = BASE.replace(wacc=0.295, lease_utilization=0.1)
    mc = monte_carlo(s, n=4000)
    w = mc.draws["wacc"].to_numpy()
    assert w.max() <= 0.3 and np.mean(w == 0.3) < 0.001  # truncated, no pile-up at the bound
    u = mc.draws["lease_utilization"].to_numpy()
    assert u.min() >= 0.0 and np.mean(u == 0.0) < 0.001
    assert any("truncated" in n and "WACC" in n for n in mc.notes)


def test_a_scaled_input_set_to_zero_stays_zero() -> None:
    mc = monte_carlo(BASE.replace(power_price_usd_per_mwh=0.0), n=500)
    assert (mc.draws["power_price_usd_per_mwh"] == 0.0).all()


@settings(max_examples=25, deadline=None)
@given(
    capex=st.floats(5.0, 120.0),
    wacc=st.floats(0.0, 0.3),
    life=st.floats(1.0, 15.0),
    util=st.floats(0.0, 1.0),
)
def test_follow_draws_stay_in_bounds_and_centre_on_the_value(capex, wacc, life, util) -> None:
    s = BASE.replace(capex_per_gw_busd=capex, wacc=wacc, it_life_years=life, lease_utilization=util)
    inputs, _, _ = uncertainty.sample_inputs(s, default_distributions().distributions, 400, 2)
    for f in inputs:
        v = inputs[f].to_numpy()
        assert v.min() >= FIELD_SPECS[f].low and v.max() <= FIELD_SPECS[f].high
    # the PERT on capex is symmetric about the value as set (away from the bounds)
    if 10.0 <= capex <= 110.0:
        assert np.median(inputs["capex_per_gw_busd"]) == pytest.approx(capex, rel=0.02)


# ---- point estimate, gap explanation, readable summary ------------------------------------------


def test_point_estimate_and_gap_parts_are_exact() -> None:
    mc = monte_carlo(BASE, n=3000)
    g = mc.gap
    r = evaluate(BASE)
    assert g.point == pytest.approx(r.npv_busd)
    assert mc.summary.loc["irr", "point"] == pytest.approx(r.irr)
    means = {f: float(mc.draws[f].mean()) for f in mc.distributions}
    assert g.at_input_means == pytest.approx(evaluate(BASE.replace(**means)).npv_busd)
    row = g.inputs.set_index("field").loc["it_life_years"]
    alone = evaluate(BASE.replace(it_life_years=means["it_life_years"])).npv_busd
    assert row["effect"] == pytest.approx(alone - r.npv_busd)
    assert row["shift"] == pytest.approx(means["it_life_years"] - 5.5)
    assert g.gap == pytest.approx(g.shift_effect + g.nonlinearity_effect + g.skew_effect)
    assert g.p50 == mc.summary.loc["npv_busd", "p50"]
    assert mc.gap.inputs["effect"].abs().is_monotonic_decreasing


def test_gap_reason_names_the_skewed_input_in_plain_words() -> None:
    mc = monte_carlo(BASE)
    reason = mc.gap.reason
    # IT life (3 / 5.5 / 6) and lease utilisation (80-100%, 100% most likely) average below
    # their values as set: the median falls below the point estimate for that reason
    assert mc.gap.gap < 0 and mc.gap.shift_effect < 0
    assert "below the point estimate" in reason
    assert "Lease utilisation" in reason or "IT life" in reason
    assert "_" not in reason and "npv" not in reason.lower().replace("npv at wacc", "")
    assert "%" in reason  # utilisation as a percentage


def test_centred_symmetric_distributions_leave_a_small_gap() -> None:
    dists = {
        "capex_per_gw_busd": {"kind": "normal", "low": 41.5, "high": 43.5},
        "power_price_usd_per_mwh": {"kind": "uniform", "low": 35.0, "high": 45.0},
    }
    mc = monte_carlo(BASE, dists, 4000, 1)
    assert abs(mc.gap.shift_effect) < 0.05
    assert "close to the point estimate" in mc.gap.reason


def test_readable_table_has_labels_and_percentages() -> None:
    t = monte_carlo(BASE, n=2000).table()
    text = t.to_string()
    assert list(t["Metric"])[:2] == ["NPV at WACC", "IRR"]
    assert "npv_busd" not in text and "_" not in text
    irr = t.set_index("Metric").loc["IRR"]
    assert irr["As set (point estimate)"] == f"{evaluate(BASE).irr * 100:.1f}%"
    assert t.set_index("Metric").loc["NPV at WACC", "As set (point estimate)"].startswith("US$")


# ---- defaults shared by the tab, the exports and the report --------------------------------------


def test_default_run_is_deterministic_and_uses_the_shared_defaults() -> None:
    a = monte_carlo(BASE)
    b = monte_carlo(BASE)
    d = default_distributions()
    c = monte_carlo(BASE, d.distributions, DEFAULT_DRAWS, DEFAULT_SEED, d.correlation)
    assert a.n == DEFAULT_DRAWS and a.seed == DEFAULT_SEED
    assert a.draws.equals(b.draws) and a.draws.equals(c.draws)
    assert a.summary.equals(c.summary)


def test_default_spec_for_an_input_without_a_sourced_distribution() -> None:
    spec, source = default_spec("pue")
    assert spec["follow"] == "scale" and spec["kind"] == "triangular"
    assert spec["low"] == 1.07 and "ranges.csv" in source
    spec, _ = default_spec("tax_rate")
    assert spec["follow"] == "shift"
    mc = monte_carlo(BASE.replace(tax_rate=0.3), {"tax_rate": spec}, 500, 1)
    assert mc.draws["tax_rate"].min() >= 0.3 - (0.21 - 0.12) - 1e-12


# ---- hardening ---------------------------------------------------------------------------------


def test_workers_are_capped_at_the_cores(monkeypatch) -> None:
    assert check_workers(300) == available_cores()
    assert check_workers(0) == available_cores()
    assert check_workers(1) == 1
    seen = []
    real = mc_run.ProcessPoolExecutor

    def spy(max_workers, **kw):
        seen.append(max_workers)
        return real(max_workers, **kw)

    monkeypatch.setattr(mc_run, "ProcessPoolExecutor", spy)
    _small_ranges(monkeypatch, 100, 300)
    monte_carlo(BASE, DISTS, 1500, 5, workers=300)
    assert all(w <= available_cores() for w in seen)
    if available_cores() > 1:
        assert seen  # the run went to worker processes
    for bad in (-1, 1.5, True, "2"):
        with pytest.raises(MonteCarloError, match="workers = ") as e:
            check_workers(bad)
        assert e.value.argument == "workers"


@pytest.mark.parametrize(
    "corr",
    [
        {("wacc", "lease_utilization"): 0.5, ("lease_utilization", "wacc"): -0.2},
        {("wacc", "lease_utilization"): 0.0, ("lease_utilization", "wacc"): 0.4},
    ],
)
def test_a_pair_in_both_orders_with_different_values_is_refused(corr) -> None:
    with pytest.raises(
        MonteCarloError,
        match=r"correlation \(lease_utilization, wacc\) = .* "
        r"contradicts \(wacc, lease_utilization\)",
    ) as e:
        monte_carlo(BASE, DISTS, 100, 1, corr)
    assert e.value.argument == "correlation"


def test_a_pair_in_both_orders_with_the_same_value_is_accepted() -> None:
    corr = {("wacc", "lease_utilization"): 0.3, ("lease_utilization", "wacc"): 0.3}
    mc = monte_carlo(BASE, DISTS, 2000, 1, corr)
    assert stats.spearmanr(mc.draws["wacc"], mc.draws["lease_utilization"]).statistic > 0.2


@pytest.mark.parametrize(
    ("kwargs", "argument", "match"),
    [
        (
            {"distributions": {"wacc": {"kind": "uniform", "low": 10**400, "high": 0.1}}},
            "distributions",
            "wacc: low = an integer of about 401 digits is too large",
        ),
        (
            {"distributions": {"wacc": {"kind": "uniform", "low": 0.05, "high": -(10**5000)}}},
            "distributions",
            "wacc: high = an integer of about 5,001 digits is too large",
        ),
        (
            {
                "distributions": {
                    "wacc": {"kind": "pert", "low": 0.05, "mode": 10**309, "high": 0.1}
                }
            },
            "distributions",
            "mode = .* is too large",
        ),
        (
            {
                "distributions": {
                    "wacc": {
                        "kind": "uniform",
                        "low": 0.05,
                        "high": 0.1,
                        "follow": "shift",
                        "reference": 10**400,
                    }
                }
            },
            "distributions",
            "reference = .* too large",
        ),
        (
            {"distributions": {"wacc": {"kind": "uniform", "low": "0.05", "high": 0.1}}},
            "distributions",
            "wacc: low = '0.05' is not a number",
        ),
        (
            {
                "distributions": {
                    "wacc": {"kind": "uniform", "low": 0.05, "high": 0.1, "follow": "sideways"}
                }
            },
            "distributions",
            "follow = 'sideways' is unknown",
        ),
        (
            {
                "distributions": {
                    "power_price_usd_per_mwh": {
                        "kind": "lognormal",
                        "low": 30,
                        "high": 70,
                        "follow": "shift",
                    }
                }
            },
            "distributions",
            "lognormal follows the scenario by scale only",
        ),
        (
            {
                "distributions": {
                    "procured_gw": {
                        "kind": "uniform",
                        "low": 0.0,
                        "high": 1.0,
                        "follow": "scale",
                        "reference": 0.0,
                    }
                }
            },
            "distributions",
            "needs reference > 0",
        ),
        (
            {"distributions": DISTS, "correlation": {("wacc", "lease_utilization"): 10**400}},
            "correlation",
            "Spearman rho = an integer of about 401 digits is too large",
        ),
        (
            {"distributions": {10**5000: {"kind": "uniform", "low": 0.0, "high": 1.0}}},
            "distributions",
            "key an integer of about 5,001 digits is not a field name",
        ),
        (
            {"distributions": DISTS, "correlation": {("wacc", 10**5000): 0.5}},
            "correlation",
            "an integer of about 5,001 digits is not a field name",
        ),
        ({"n": 10**400}, "n", r"n = an integer of about 401 digits is not allowed"),
        ({"n": 2.5}, "n", r"n = 2.5 is not allowed \(allowed: a whole number from 1 to"),
        ({"seed": 10**400}, "seed", "seed = an integer of about 401 digits is not allowed"),
        ({"seed": "1"}, "seed", "seed = '1' is not allowed"),
    ],
)
def test_bad_arguments_raise_a_value_error_naming_them(kwargs, argument, match) -> None:
    with pytest.raises(MonteCarloError, match=match) as e:
        monte_carlo(BASE, **kwargs)
    assert isinstance(e.value, ValueError)
    assert e.value.argument == argument
    assert "4300" not in str(e.value) and len(str(e.value)) < 400


def test_session_cap_on_draws() -> None:
    assert check_session_draws(DEFAULT_DRAWS) == DEFAULT_DRAWS
    assert check_session_draws(SESSION_MAX_DRAWS) == SESSION_MAX_DRAWS
    with pytest.raises(
        MonteCarloError,
        match=r"draws = 100001 is above this demo's limit per run "
        r"\(allowed: a whole number from 1 to 100,000\)",
    ):
        check_session_draws(SESSION_MAX_DRAWS + 1)
    with pytest.raises(MonteCarloError, match="draws = 0 is not allowed"):
        check_session_draws(0)
    with pytest.raises(MonteCarloError, match="an integer of about 401 digits is above"):
        check_session_draws(10**400)


# ---- capital structure (methodology §9 and 11) -----------------------------------------------


def test_monte_carlo_of_a_levered_preset_varies_the_equity_metrics() -> None:
    spv = load_preset("coreweave-spv")
    # the debt rate alone: the project's value is untouched, the equity's moves against the rate
    only_rate = {"debt_interest_rate": default_distributions().distributions["debt_interest_rate"]}
    mc = monte_carlo(spv, only_rate, 500, 3)
    rate = mc.draws["debt_interest_rate"]
    assert rate.between(0.07 - 1e-12, 0.15 + 1e-12).all() and rate.std() > 0.015
    assert mc.draws["npv_busd"].std() < 1e-12
    for metric in ("npv_equity_busd", "equity_irr", "min_dscr"):
        assert mc.draws[metric].std() > 0, metric
    # dearer debt: a lower equity IRR and cover (a rank correlation of -1 would need linearity)
    assert stats.spearmanr(rate, mc.draws["equity_irr"])[0] < -0.99
    assert stats.spearmanr(rate, mc.draws["min_dscr"])[0] < -0.99
    # the default run draws the policy risk on bonus depreciation for a preset that takes it
    full = monte_carlo(spv, n=1000)
    assert full.draws["bonus_depreciation_share"].between(0.0, 1.0).all()
    assert full.draws["bonus_depreciation_share"].mean() < 0.95
    s = full.summary
    assert s.loc["equity_irr", "p10"] < s.loc["equity_irr", "p90"]
    assert s.loc["npv_equity_busd", "p10"] < s.loc["npv_equity_busd", "p90"]


def test_an_input_set_off_its_distribution_draws_only_feasible_values() -> None:
    # bonus depreciation follows the scenario: without bonus (the default) none is drawn
    mc = monte_carlo(BASE, n=500)
    assert (mc.draws["bonus_depreciation_share"] == 0.0).all()
    assert (mc.draws["campus_lease_yield"] >= 0.07 - 1e-12).all()


@pytest.mark.parametrize("n", [20_000, 999])
def test_rbd_fast_gives_salibs_indices_and_intervals(n: int) -> None:
    # methodology section 9: the driver ranking's S1 is SALib's RBD-FAST, computed from numpy's FFT
    from SALib.analyze import rbd_fast as salib

    rng = np.random.default_rng(3)
    x = rng.random((n, 5))
    y = 3.0 * x[:, 0] + np.sin(6.0 * x[:, 1]) + x[:, 2] ** 2 + 0.1 * rng.standard_normal(n)
    problem = {"num_vars": 5, "names": list("abcde"), "bounds": [[0.0, 1.0]] * 5}
    want = salib.analyze(problem, x, y, M=10, num_resamples=10, seed=7)
    s1, conf = uncertainty.rbd_fast(x, y, 10, 10, 7)
    np.testing.assert_allclose(s1, want["S1"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(conf, want["S1_conf"], rtol=1e-9, atol=1e-12)
    assert s1[0] > s1[1] > s1[2] > max(abs(s1[3]), abs(s1[4]))


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize(
    ("field", "low", "high"),
    [
        ("lease_rate_busd_per_gw_year", 5e-324, 60.0),  # draws spread over 300 decades
        ("lease_rate_busd_per_gw_year", 1e-310, 1e-309),  # every draw subnormal
        ("phased_online", 5e-324, 1.0),  # NPV the same in every draw
    ],
)
def test_a_lognormal_with_a_tiny_low_raises_no_warning(field: str, low: float, high: float) -> None:
    """Section 9: statistics of draws up to 1e300 are computed without overflow (scaled by the
    largest), and a driver ranking of outputs that do not vary is NaN without a 0 / 0."""
    dist = {field: {"kind": "lognormal", "low": low, "high": high, "follow": "absolute"}}
    r = uncertainty.monte_carlo(load_preset("bofa-base"), dist, n=500, seed=1)
    summary = r.summary
    assert np.isfinite(summary.loc["npv_busd", ["mean", "std", "p10", "p50", "p90"]]).all()


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_mean_and_std_of_huge_values_do_not_overflow() -> None:
    """The scaled path gives numpy's answer where numpy's is finite, and a finite one beyond."""
    v = np.array([1e200, -3e200, 2e200, 5e199])
    scaled = uncertainty.column_stats(v)
    plain = v / 1e200
    assert scaled["mean"] == pytest.approx(plain.mean() * 1e200, rel=1e-15)
    assert scaled["std"] == pytest.approx(plain.std() * 1e200, rel=1e-15)
    huge = uncertainty.column_stats(np.array([1.7e308, 1.6e308, 1.5e308]))  # sum > float max
    assert huge["mean"] == pytest.approx(1.6e308, rel=1e-14)
    assert huge["std"] == pytest.approx(np.sqrt(2.0 / 3.0) * 1e307, rel=1e-12)
