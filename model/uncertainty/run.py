"""The Monte Carlo run: :func:`monte_carlo` draws, evaluates in ranges (in worker processes where
there are several cores), summarises and ranks; :class:`MonteCarloResult` holds the outcome
(methodology §9, Evaluation and Limits).
"""

from __future__ import annotations

import itertools
import mmap
import numbers
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from model import engine, finance
from model.results import BATCH_METRICS, evaluate_batch, evaluate_columns
from model.scenario import Scenario
from model.sensitivity import check_metric
from model.uncertainty.common import (
    DEFAULT_DRAWS,
    DEFAULT_SEED,
    SUMMARY_METRICS,
    MonteCarloError,
    _short,
    format_metric,
    metric_label,
)
from model.uncertainty.distributions import (
    Distribution,
    copula_matrix,
    default_distributions,
)
from model.uncertainty.drivers import _draws_frame, _early_drivers, _npv_drivers, _ranking
from model.uncertainty.sampling import (
    NORMAL_BLOCK,
    _check_n_seed,
    _Normals,
    _notes,
    _prepare,
    _transform,
)
from model.uncertainty.statistics import (
    GapExplanation,
    _cell,
    _explain_gap,
    _gap_table,
    column_stats,
    summarise,
)

FloatArray = NDArray[np.float64]


EVAL_CHUNK = 131_072
#: Rows a range transforms and evaluates at once; a multiple of the engine's chunk of rows, and
#: every range starts at a multiple of it, so the engine's batches hold the same rows (hence give
#: the same numbers) whatever the ranges and the workers (a batch's solvers, such as the IRR's
#: Newton steps, may round differently in another batch). A range's inputs, validated columns
#: and metrics stay a few MB instead of tens: a worker's new memory is costly on a virtual
#: machine whose host takes back freed pages (measured here: 0.6 to 3 ms a MB on first touch);
#: a worker's first range of 1M draws made 34,000 page faults instead of 42,500, and 100,000
#: draws in one process peak at 124 MB instead of 141 MB.
FILL_ROWS = 2 * engine.CHUNK_ROWS
#: Columns whose statistics one worker task computes (small tasks: the workers finish together).
STATS_COLUMNS_PER_TASK = 4


@dataclass(frozen=True)
class MonteCarloResult:
    """Draws, summary, gap explanation and drivers of a Monte Carlo run.

    Attributes
    ----------
    draws : DataFrame
        One row per draw: the drawn inputs (field names) and every metric of
        :data:`model.BATCH_METRICS` (NaN where undefined, e.g. an IRR without a sign change).
    summary : DataFrame
        One row per metric (index): ``label, unit, point, mean, std, p10, p50, p90,
        prob_above_zero, prob_below_zero, defined_share``. ``point`` is the metric of the
        scenario as set; percentiles are numpy's (linear) over the draws where the metric is
        defined; ``prob_above_zero`` / ``prob_below_zero`` are shares of all draws (for
        ``npv_busd`` the probability of value created / of a loss).
    drivers : DataFrame
        Inputs ranked by their first-order variance share of NPV (see :meth:`ranking`).
    gap : GapExplanation
        Why the median NPV differs from the point estimate (see :meth:`explain_gap`).
    distributions : dict
        The distributions drawn (absolute, in each field's unit, for the scenario as set).
    specs : dict
        The distributions as given (with ``follow`` and ``reference``).
    correlation, n, seed, notes, scenario
        What was run, and notes on truncation, rounding and share clipping.
    """

    draws: pd.DataFrame
    summary: pd.DataFrame
    drivers: pd.DataFrame
    gap: GapExplanation
    distributions: dict[str, Distribution]
    specs: dict[str, Distribution]
    correlation: dict[tuple[str, str], float]
    n: int
    seed: int | None
    scenario: Scenario
    notes: list[str] = field(default_factory=list)

    @property
    def prob_npv_positive(self) -> float:
        """Share of draws with NPV > 0."""
        return _cell(self.summary, "npv_busd", "prob_above_zero")

    @property
    def prob_loss(self) -> float:
        """Share of draws with NPV < 0 (value destroyed at the WACC)."""
        return _cell(self.summary, "npv_busd", "prob_below_zero")

    def ranking(self, metric: str = "npv_busd") -> pd.DataFrame:
        """Which inputs drive the spread of ``metric``, most important first.

        Columns ``field, label, s1, s1_conf, spearman_rho, p_value, share_of_rho2``:

        * ``s1``: first-order variance share, ``Var(E[metric | input]) / Var(metric)``,
          estimated from the draws by SALib's RBD-FAST (``SALib.analyze.rbd_fast``: sort the
          draws by the input, read the variance the input explains from the periodogram's first
          harmonics, with Tissot and Prieur's bias correction); ``s1_conf`` its 95% bootstrap
          half-width. It captures non-monotone and non-linear effects that a rank correlation
          misses. Computed on the first :data:`RANKING_DRAWS` draws where the metric is defined.
        * ``spearman_rho`` (:func:`scipy.stats.spearmanr`): the direction (sign) and how closely
          the metric's ranking follows the input's; ``share_of_rho2`` = rho^2 / sum rho^2.

        With correlated inputs, part of an input's share is borrowed from the inputs it moves
        with (both measures are first-order, given-data measures).
        """
        check_metric(metric)
        return _ranking(self.draws, list(self.distributions), metric, self.seed)

    def explain_gap(self, metric: str = "npv_busd") -> GapExplanation:
        """Why the median of ``metric`` differs from the point estimate (see GapExplanation)."""
        check_metric(metric)
        if metric == self.gap.metric:
            return self.gap
        fields = list(self.distributions)
        stats = {f: column_stats(self.draws[f].to_numpy(dtype=np.float64)) for f in fields}
        return _explain_gap(stats, self.scenario, fields, metric, self.summary)

    def table(self, metrics: tuple[str, ...] = SUMMARY_METRICS) -> pd.DataFrame:
        """The summary for people: human labels, formatted values, the point estimate first.

        Columns ``Metric, As set (point estimate), P10, P50 (median), P90, Mean, Below zero``;
        rates in %, US$ amounts with their unit; ``Below zero`` is the share of all draws
        (for NPV, the probability of loss).
        """
        rows = []
        for m in metrics:
            check_metric(m)
            r = {c: _cell(self.summary, m, c) for c in ("point", "p10", "p50", "p90", "mean")}
            r |= {c: _cell(self.summary, m, c) for c in ("prob_below_zero", "defined_share")}
            rows.append(
                {
                    "Metric": metric_label(m),
                    "As set (point estimate)": format_metric(m, float(r["point"])),
                    "P10": format_metric(m, float(r["p10"])),
                    "P50 (median)": format_metric(m, float(r["p50"])),
                    "P90": format_metric(m, float(r["p90"])),
                    "Mean": format_metric(m, float(r["mean"])),
                    "Below zero": f"{float(r['prob_below_zero']) * 100:.1f}%",
                    "Defined in": f"{float(r['defined_share']) * 100:.1f}% of draws",
                }
            )
        return pd.DataFrame(rows)


def available_cores() -> int:
    """CPU cores this process may use: its affinity mask capped by its cgroup's CPU quota (v1 or
    v2; ``--cpus=2`` on a 64-core host gives 2), see :mod:`model.cpus`."""
    return engine.usable_cores()


def check_workers(workers: object) -> int:
    """Processes to use: ``0`` means one per available core; more than the cores is capped."""
    if isinstance(workers, bool) or not isinstance(workers, numbers.Integral) or workers < 0:
        raise MonteCarloError(
            "workers",
            f"workers = {_short(workers)} is not allowed (allowed: a whole number >= 0; 0 means "
            "one per core)",
        )
    cores = available_cores()
    return cores if int(workers) == 0 else min(int(workers), cores)


@dataclass
class _Job:
    """What forked workers read (inherited memory) and write (a shared anonymous map)."""

    scenario: Scenario
    dists: dict[str, Distribution]
    normals: _Normals
    #: (uncertain inputs, then BATCH_METRICS) x n: one contiguous row per column of the draws,
    #: so each column's statistics read it in place (and pandas keeps this layout as it is)
    columns: FloatArray


_JOB: _Job | None = None


def _fill(job: _Job, i0: int, i1: int) -> int:
    """Transform and evaluate rows ``i0:i1`` into ``job.columns``; the rows with shares scaled.

    The range's normals are drawn at once (a stream's block is drawn whole, whatever rows are
    kept), then FILL_ROWS rows at a time are transformed and evaluated, so the temporaries of
    a range stay a few MB. Ranges start at multiples of FILL_ROWS (:func:`_chunk_bounds`), a
    multiple of the engine's chunk: the engine's batches hold the same rows, hence give the same
    numbers, however the run is cut into ranges and the ranges shared among workers.
    """
    over = 0
    # one BLAS thread for the whole range, the normals' correlation product included: after a
    # product, an OpenBLAS thread spins for a while on the core the other worker needs (measured:
    # 1M draws on 2 workers took about 15% longer with the product on two threads)
    with finance.one_blas_thread(i1 - i0):
        normals = job.normals.rows(i0, i1)
        for a in range(i0, i1, FILL_ROWS):
            b = min(a + FILL_ROWS, i1)
            cols, scaled = _transform(job.scenario, job.dists, normals[a - i0 : b - i0])
            for j, values in enumerate(cols.values()):
                job.columns[j, a:b] = values
            # no threads inside a range (the workers use the cores), nor DataFrames
            with engine.batch_threads(1):
                metrics = evaluate_columns(cols, job.scenario)
            for j, m in enumerate(BATCH_METRICS, start=len(cols)):
                job.columns[j, a:b] = metrics[m]
            over += scaled
    return over


def _job_chunk(bounds: tuple[int, int]) -> int:
    assert _JOB is not None
    return _fill(_JOB, *bounds)


def _job_stats(columns: list[int]) -> list[dict[str, float]]:
    assert _JOB is not None
    return [column_stats(_JOB.columns[j]) for j in columns]


def _shared(rows: int, cols: int) -> tuple[mmap.mmap, FloatArray]:
    buf = mmap.mmap(-1, max(1, rows * cols * 8))  # anonymous and shared with forked children
    return buf, np.frombuffer(buf, dtype=np.float64, count=rows * cols).reshape(rows, cols)


def _simulate(
    scenario: Scenario,
    dists: dict[str, Distribution],
    normals: _Normals,
    n: int,
    workers: int,
    seed: int | None,
) -> tuple[pd.DataFrame, dict[str, dict[str, float]], int, pd.DataFrame]:
    """Every draw (inputs then metrics), the statistics of each column, rows with shares scaled
    and the driver ranking of NPV (:func:`_ranking` with ``seed``).

    Large runs go to forked processes: each draws its rows' normals (:class:`_Normals`), writes
    inputs and metrics into one shared anonymous map, so nothing large is pickled, then the
    processes compute the ranking and the columns' statistics side by side. Every step is row
    by row (or column by column), so the result is the same for any number of workers.
    """
    names = [*dists, *BATCH_METRICS]
    bounds = _chunk_bounds(n, workers)
    if workers > 1 and len(bounds) > 1 and "fork" in _start_methods():
        # one BLAS thread in this process too (it ranks draws while the workers run, and each
        # range sets its own): an idle OpenBLAS thread spins on a core another process needs
        _, columns = _shared(len(names), n)
        with finance.one_blas_thread(n):
            return _simulate_forked(
                _Job(scenario, dists, normals, columns), names, bounds, workers, seed
            )
    job = _Job(scenario, dists, normals, np.empty((len(names), n)))
    over = sum(_fill(job, i0, i1) for i0, i1 in bounds)
    stats = {name: column_stats(job.columns[j]) for j, name in enumerate(names)}
    draws = _draws_frame(job.columns, names)
    return draws, stats, over, _npv_drivers(draws, dists, seed)


def _simulate_forked(
    job: _Job, names: list[str], bounds: list[tuple[int, int]], workers: int, seed: int | None
) -> tuple[pd.DataFrame, dict[str, dict[str, float]], int, pd.DataFrame]:
    """:func:`_simulate` on forked processes (at most one per range), ``job.columns`` a shared
    map they inherit."""
    global _JOB
    columns, dists = job.columns, job.dists
    _JOB = job
    pool = ProcessPoolExecutor(min(workers, len(bounds)), mp_context=get_context("fork"))
    try:
        chunks = pool.map(_job_chunk, bounds)  # results in order: the first is rows 0..
        over = next(chunks)
        # the ranking reads the first RANKING_DRAWS draws with a defined NPV: where the first
        # range holds them, this process ranks them while the workers go on with the rest
        drivers = _early_drivers(columns[:, : bounds[0][1]], names, dists, seed)
        over += sum(chunks)
        # then the columns' statistics, a few columns a task: whichever process is free
        # takes the next, so both finish together (and this process ranks every draw
        # meanwhile, where the first range was not enough)
        per = STATS_COLUMNS_PER_TASK
        groups = [list(range(j, min(j + per, len(names)))) for j in range(0, len(names), per)]
        parts = pool.map(_job_stats, groups)
        if drivers is None:
            drivers = _npv_drivers(_draws_frame(columns, names), dists, seed)
        stats = {
            names[j]: st
            for g, p in zip(groups, parts, strict=True)
            for j, st in zip(g, p, strict=True)
        }
    finally:
        # every result is in: the workers hand back their memory and exit while the caller
        # goes on (the pool's own thread joins them)
        pool.shutdown(wait=False, cancel_futures=True)
        _JOB = None
    # no copy: the frame keeps the map alive (through the array's base) and frees it with it
    return _draws_frame(columns, names), stats, over, drivers


def _chunk_bounds(n: int, workers: int = 1) -> list[tuple[int, int]]:
    """Row ranges evaluated one at a time (one task each for the workers), in order.

    Every range starts at a multiple of :data:`FILL_ROWS` and holds at most :data:`EVAL_CHUNK`
    rows. With several workers the ranges shrink towards the end (guided self-scheduling,
    Polychronopoulos and Kuck 1987): a range is at most ``1 / (2 workers)`` of the rows still
    left, in whole pieces of FILL_ROWS, so the workers finish within about one small range of
    each other instead of one taking a last large range while the other idles. A range smaller
    than a block of normals stays inside one block (:data:`NORMAL_BLOCK`: a range draws the
    whole blocks it touches). The numbers do not depend on the ranges (:func:`_fill`).

    >>> [(b - a) // FILL_ROWS for a, b in _chunk_bounds(1_000_000, 2)]
    [8, 8, 8, 8, 8, 6, 4, 2, 3, 1, 2, 1, 1, 1, 0]
    >>> _chunk_bounds(1_000_000)[:2], len(_chunk_bounds(1_000_000))
    ([(0, 131072), (131072, 262144)], 8)
    >>> _chunk_bounds(10_000, 2)
    [(0, 10000)]
    """
    if n <= EVAL_CHUNK:
        return [(0, n)]  # one range: evaluated in this process, whatever the workers
    pieces = -(-n // FILL_ROWS)
    most = max(1, EVAL_CHUNK // FILL_ROWS)
    block = max(1, NORMAL_BLOCK // FILL_ROWS)
    edges = [0]
    at = 0  # pieces assigned so far
    while at < pieces:
        size = most if workers <= 1 else min(most, max(1, -(-(pieces - at) // (2 * workers))))
        if size < block:
            size = min(size, block - at % block)
        at += size
        edges.append(min(n, at * FILL_ROWS))
    return list(itertools.pairwise(edges))


def _start_methods() -> list[str]:
    from multiprocessing import get_all_start_methods

    return list(get_all_start_methods())


def monte_carlo(
    scenario: Scenario,
    distributions: Mapping[str, Mapping[str, object]] | None = None,
    n: int = DEFAULT_DRAWS,
    seed: int | None = DEFAULT_SEED,
    correlation: Mapping[tuple[str, str], object] | None = None,
    *,
    workers: int = 1,
    follow_scenario: bool = True,
) -> MonteCarloResult:
    """Monte Carlo over the uncertain inputs; every other input as in ``scenario``.

    ``monte_carlo(scenario)`` runs the sourced defaults of ``data/distributions.toml`` (their
    distributions and correlations, following the scenario) with :data:`DEFAULT_DRAWS` draws and
    :data:`DEFAULT_SEED`: the run the Uncertainty tab shows by default and the exports report.

    Parameters
    ----------
    scenario : Scenario
        The scenario as set (the inputs that are not uncertain, and the values the distributions
        follow).
    distributions : mapping field -> {"kind", "low", "high", "mode", "follow", "reference"}
        See the module docstring. Default: :func:`default_distributions` (and then its
        correlations, unless ``correlation`` is given).
    n : int
        Number of draws (1 to :data:`MAX_DRAWS`).
    seed : int or None
        Seed of numpy's default generator: the same seed gives the same draws and results.
    correlation : mapping (field_a, field_b) -> Spearman rho, optional
        Rank correlations between uncertain inputs, imposed through a Gaussian copula. A pair may
        be given in either order, but only once (or twice with the same value).
    workers : int
        Processes for the evaluation of large runs (results are identical for any value);
        ``0`` means one per core; capped at the available cores.
    follow_scenario : bool
        True (default): distributions with ``follow = "scale"`` or ``"shift"`` move with the
        value as set. False: every distribution is used as stated, at its reference values
        (absolute ranges).

    Returns
    -------
    MonteCarloResult

    Raises
    ------
    MonteCarloError (a ValueError; ScenarioError for unknown fields)
        A bad distribution, correlation, n, seed or workers, naming the argument, the value and
        the allowed range.

    Examples
    --------
    >>> from model import load_preset
    >>> mc = monte_carlo(load_preset("bofa-base"), n=2_000)
    >>> mc.n, mc.seed == DEFAULT_SEED
    (2000, True)
    """
    n, seed = _check_n_seed(n, seed)
    n_workers = check_workers(workers)
    if distributions is None:
        # with a counterparty hazard each draw also gets a default time, correlated with
        # demand (methodology 11.12)
        d = default_distributions(scenario)
        distributions = d.distributions
        if correlation is None:
            correlation = d.correlation
    specs, dists = _prepare(scenario, distributions, bool(follow_scenario))
    fields = list(dists)
    normals = _Normals.of(copula_matrix(fields, correlation), seed)
    draws, stats, over, drivers = _simulate(scenario, dists, normals, n, n_workers, seed)
    notes = _notes(dists, n, over)
    gap_rows = evaluate_batch(_gap_table(scenario, fields, stats), scenario)
    point = {m: float(gap_rows[m].iloc[0]) for m in BATCH_METRICS}
    summary = summarise(draws, point=point, stats=stats)
    gap = _explain_gap(stats, scenario, fields, "npv_busd", summary, gap_rows)
    corr: dict[tuple[str, str], float] = {}
    for (a, b), v in (correlation or {}).items():
        corr[(str(a), str(b))] = float(v)  # type: ignore[arg-type]
    return MonteCarloResult(
        draws=draws,
        summary=summary,
        drivers=drivers,
        gap=gap,
        distributions=dists,
        specs=specs,
        correlation=corr,
        n=n,
        seed=seed,
        scenario=scenario,
        notes=notes,
    )
