"""Monte Carlo simulation with correlated inputs (Gaussian copula), vectorised via evaluate_batch.

Each uncertain input gets a distribution; rank (Spearman) correlations between inputs are imposed
through a Gaussian copula; every draw is one full scenario, evaluated once, so all metrics of a
draw come from the same inputs. Results: the draws, a summary per metric (mean, P10, P50, P90,
probability above zero) and a ranking of the inputs that drive the spread (Spearman rank
correlation from :func:`scipy.stats.spearmanr`).

Distributions (``low``/``high``/``mode`` in the field's own unit)
-----------------------------------------------------------------
``uniform``     flat between ``low`` and ``high``.
``triangular``  minimum ``low``, most likely ``mode``, maximum ``high``.
``pert``        Beta-PERT: ``low``, ``mode``, ``high`` with the classic weight 4 on the mode
                (``alpha = 1 + 4 (mode - low) / (high - low)``, ``beta = 1 + 4 (high - mode) / (high - low)``).
``normal``      ``low`` and ``high`` are the 5th and 95th percentiles.
``lognormal``   ``low`` and ``high`` (> 0) are the 5th and 95th percentiles.

``low`` and ``high`` must lie within the field's bounds. Normal and lognormal tails beyond the
bounds are **truncated** (the copula's uniform is rescaled into the bounds' quantile range; no
point mass piles up at a bound, and ranks, hence correlations, are kept). Whole-number fields
are rounded to the nearest whole number. Where a draw would make
``lease_share + hosting_share > 1`` the uncertain share(s) are scaled down to sum to 1 and the
number of such draws is reported in ``notes``.
"""

from __future__ import annotations

import math
import os
import tomllib
import warnings
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import special, stats
from threadpoolctl import threadpool_limits

from model.data import DATA_DIR
from model.fields import FIELD_SPECS, INTEGER_FIELDS
from model.results import BATCH_METRICS, METRIC_UNITS, evaluate_batch
from model.scenario import Scenario
from model.sensitivity import SHARE_FIELDS, check_field, check_finite, check_metric

FloatArray = NDArray[np.float64]

KINDS: tuple[str, ...] = ("uniform", "triangular", "normal", "lognormal", "pert")
#: z of the 95th percentile: normal/lognormal low/high are mu -/+ Z95 sigma.
Z95 = float(special.ndtri(0.95))
#: Largest number of draws accepted.
MAX_DRAWS = 5_000_000
#: Rows per evaluate_batch call (bounds the temporaries of one call).
EVAL_CHUNK = 250_000
#: Percentiles reported in the summary (numpy's default linear method).
PERCENTILES: tuple[int, int, int] = (10, 50, 90)


#: Points of the Beta CDF table that PERT quantiles interpolate (dense near 0 and 1).
PERT_TABLE_POINTS = 32_769


def _beta_cdf_table(a: float, b: float) -> tuple[FloatArray, FloatArray]:
    """x on [0, 1] (cosine-spaced) and scipy's regularised incomplete Beta CDF at x.

    Interpolating u -> x in this table inverts the CDF about 8x faster than
    ``scipy.special.betaincinv`` with an error below 1e-8 of the range (checked on shapes
    1..5), and keeps ranks (the table is monotone).
    """
    s = np.linspace(0.0, 1.0, PERT_TABLE_POINTS)
    x = 0.5 - 0.5 * np.cos(np.pi * s)
    cdf = np.asarray(special.betainc(a, b, x), dtype=np.float64)
    return x, cdf


@dataclass(frozen=True)
class Distribution:
    """A validated distribution of one input (values in the field's unit)."""

    field: str
    kind: str
    low: float
    high: float
    mode: float | None = None

    def ppf(self, u: FloatArray) -> FloatArray:
        """Quantile function, truncated to the field's bounds for normal and lognormal."""
        lo, hi = self.low, self.high
        if self.kind == "uniform":
            return lo + u * (hi - lo)
        if self.kind == "triangular":
            assert self.mode is not None
            c = (self.mode - lo) / (hi - lo)
            return np.asarray(stats.triang.ppf(u, c, loc=lo, scale=hi - lo), dtype=np.float64)
        if self.kind == "pert":
            assert self.mode is not None
            a = 1.0 + 4.0 * (self.mode - lo) / (hi - lo)
            b = 1.0 + 4.0 * (hi - self.mode) / (hi - lo)
            x, cdf = _beta_cdf_table(a, b)
            return lo + (hi - lo) * np.interp(u, cdf, x)
        spec = FIELD_SPECS[self.field]
        if self.kind == "normal":
            mu, sigma = 0.5 * (lo + hi), (hi - lo) / (2.0 * Z95)
            a, b = (spec.low - mu) / sigma, (spec.high - mu) / sigma
        else:  # lognormal, in logs
            mu, sigma = (
                0.5 * (math.log(lo) + math.log(hi)),
                (math.log(hi) - math.log(lo)) / (2.0 * Z95),
            )
            a = (math.log(spec.low) - mu) / sigma if spec.low > 0 else -np.inf
            b = (math.log(spec.high) - mu) / sigma
        fa, fb = special.ndtr(a), special.ndtr(b)
        z = special.ndtri(fa + u * (fb - fa))
        x = mu + sigma * z
        out = np.exp(x) if self.kind == "lognormal" else x
        return np.clip(np.asarray(out, dtype=np.float64), spec.low, spec.high)  # float noise only

    def describe(self) -> str:
        """Short text, e.g. ``pert(40, 42.5, 45)``."""
        if self.kind in ("triangular", "pert"):
            return f"{self.kind}({self.low:g}, {self.mode:g}, {self.high:g})"
        if self.kind in ("normal", "lognormal"):
            return f"{self.kind}(P5 {self.low:g}, P95 {self.high:g})"
        return f"uniform({self.low:g}, {self.high:g})"


def parse_distribution(name: str, spec: Mapping[str, object]) -> Distribution:
    """Validate one entry of ``distributions``; raise ValueError naming field, value and range."""
    check_field(name, "distributions")
    if not isinstance(spec, Mapping):
        raise ValueError(
            f"{name}: distribution must be a mapping with kind, low, high (got {spec!r})"
        )
    unknown = sorted(set(spec) - {"kind", "low", "high", "mode"})
    if unknown:
        raise ValueError(f"{name}: unknown key(s) {unknown} (allowed: kind, low, high, mode)")
    kind = spec.get("kind")
    if kind not in KINDS:
        raise ValueError(f"{name}: kind = {kind!r} is unknown (allowed: {', '.join(KINDS)})")
    assert isinstance(kind, str)
    for key in ("low", "high"):
        if key not in spec:
            raise ValueError(f"{name}: {kind} needs {key}")
    lo = check_finite(name, spec["low"], "low")
    hi = check_finite(name, spec["high"], "high")
    fs = FIELD_SPECS[name]
    what = "5th percentile (low)" if kind in ("normal", "lognormal") else "low"
    for label, v in ((what, lo), ("high", hi)):
        if v < fs.low or v > fs.high:
            raise ValueError(
                f"{name}: {label} = {v:g} is outside the field's bounds "
                f"(allowed: {fs.range_text()})"
            )
    if not lo < hi:
        raise ValueError(f"{name}: low = {lo:g} must be below high = {hi:g}")
    mode: float | None = None
    if kind in ("triangular", "pert"):
        if spec.get("mode") is None:
            raise ValueError(f"{name}: {kind} needs mode (the most likely value)")
        mode = check_finite(name, spec["mode"], "mode")
        if not lo <= mode <= hi:
            raise ValueError(
                f"{name}: mode = {mode:g} is outside low..high (allowed: {lo:g} to {hi:g})"
            )
    elif spec.get("mode") is not None:
        raise ValueError(f"{name}: mode is used only by triangular and pert (kind = {kind!r})")
    if kind == "lognormal" and lo <= 0:
        raise ValueError(f"{name}: lognormal needs low > 0 (got low = {lo:g})")
    return Distribution(name, kind, lo, hi, mode)


def copula_matrix(
    fields: list[str], correlation: Mapping[tuple[str, str], object] | None
) -> FloatArray:
    """Pearson matrix of the Gaussian copula for the requested Spearman rank correlations.

    A Gaussian copula with Pearson correlation ``rho = 2 sin(pi rho_s / 6)`` has Spearman rank
    correlation ``rho_s`` exactly; monotone marginal transforms keep it. Raises ValueError for an
    unknown pair, a value outside -1..1, or a set of correlations that cannot hold together
    (matrix not positive definite).
    """
    k = len(fields)
    spearman = np.eye(k)
    pos = {f: i for i, f in enumerate(fields)}
    for pair, value in (correlation or {}).items():
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise ValueError(f"correlation key {pair!r} must be a pair of field names (a, b)")
        a, b = pair
        for f in (a, b):
            check_field(f, "correlation")
            if f not in pos:
                raise ValueError(
                    f"correlation ({a}, {b}): {f} has no distribution (correlate uncertain "
                    f"inputs only: {', '.join(fields) or 'none'})"
                )
        if a == b:
            raise ValueError(f"correlation ({a}, {b}): a field cannot be correlated with itself")
        rho = check_finite(f"correlation ({a}, {b})", value, "Spearman rho")
        if not -1.0 <= rho <= 1.0:
            raise ValueError(f"correlation ({a}, {b}) = {rho:g} is out of range (allowed: -1 to 1)")
        i, j = pos[a], pos[b]
        if spearman[i, j] != 0.0 and spearman[i, j] != rho:
            raise ValueError(f"correlation ({a}, {b}) is given twice with different values")
        spearman[i, j] = spearman[j, i] = rho
    pearson = 2.0 * np.sin(np.pi * spearman / 6.0)
    np.fill_diagonal(pearson, 1.0)
    eig = np.linalg.eigvalsh(pearson) if k else np.ones(1)
    if eig.min() <= 1e-10:
        raise ValueError(
            "the correlations cannot hold together (their matrix is not positive definite; "
            f"smallest eigenvalue {eig.min():.3g}): weaken some of them, e.g. a strongly "
            "positive a-b and b-c with a negative a-c is impossible"
        )
    return np.asarray(pearson, dtype=np.float64)


@dataclass(frozen=True)
class MonteCarloResult:
    """Draws, summary and drivers of a Monte Carlo run.

    Attributes
    ----------
    draws : DataFrame
        One row per draw: the drawn inputs (field names) and every metric of
        :data:`model.BATCH_METRICS` (NaN where undefined, e.g. an IRR without a sign change).
    summary : DataFrame
        One row per metric (index): ``unit, mean, std, p10, p50, p90, prob_above_zero,
        defined_share``. Percentiles are numpy's (linear) over the draws where the metric is
        defined; ``prob_above_zero`` is the share of all draws with metric > 0 (for ``npv_busd``
        the probability that NPV > 0).
    drivers : DataFrame
        Inputs ranked by |Spearman rank correlation| with NPV (see :meth:`ranking`).
    distributions, correlation, n, seed, notes
        What was run, and notes on truncation, rounding and share clipping.
    """

    draws: pd.DataFrame
    summary: pd.DataFrame
    drivers: pd.DataFrame
    distributions: dict[str, Distribution]
    correlation: dict[tuple[str, str], float]
    n: int
    seed: int | None
    notes: list[str] = field(default_factory=list)

    @property
    def prob_npv_positive(self) -> float:
        """Share of draws with NPV > 0."""
        return float(
            self.summary["prob_above_zero"].to_numpy(dtype=np.float64)[
                list(self.summary.index).index("npv_busd")
            ]
        )

    @property
    def prob_loss(self) -> float:
        """Share of draws with NPV < 0 (value destroyed at the WACC)."""
        return float(np.mean(self.draws["npv_busd"].to_numpy() < 0))

    def ranking(self, metric: str = "npv_busd") -> pd.DataFrame:
        """Which inputs drive the spread of ``metric``: Spearman rank correlation per input.

        Columns ``field, spearman_rho, p_value, share_of_rho2``, sorted by |rho|. ``rho`` is
        :func:`scipy.stats.spearmanr` of the input's draws against the metric's (draws where
        the metric is undefined left out): the sign says the direction, |rho| how closely the
        metric's ranking follows the input's. ``share_of_rho2`` is rho^2 over the sum of rho^2, a
        rough share of the spread. With correlated inputs, part of an input's rho is borrowed
        from the inputs it moves with.
        """
        check_metric(metric)
        return _ranking(self.draws, list(self.distributions), metric)


def _ranking(draws: pd.DataFrame, fields: list[str], metric: str) -> pd.DataFrame:
    y = draws[metric].to_numpy(dtype=np.float64)
    ok = np.isfinite(y)
    x = draws[fields].to_numpy(dtype=np.float64)[ok]
    rho = np.full(len(fields), np.nan)
    pval = np.full(len(fields), np.nan)
    varies = np.ptp(x, axis=0) > 0 if x.shape[0] else np.zeros(len(fields), dtype=bool)
    if ok.sum() > 2 and np.ptp(y[ok]) > 0 and varies.any():
        cols = np.column_stack([x[:, varies], y[ok]])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = stats.spearmanr(cols)  # one call: ranks each column once
        r = np.asarray(res.statistic, dtype=np.float64)
        p = np.asarray(res.pvalue, dtype=np.float64)
        if r.ndim == 0:  # two columns: spearmanr returns scalars
            rho[varies], pval[varies] = float(r), float(p)
        else:
            rho[varies] = r[:-1, -1]
            pval[varies] = p[:-1, -1]
    out = pd.DataFrame(
        {
            "field": fields,
            "label": [FIELD_SPECS[f].label for f in fields],
            "spearman_rho": rho,
            "p_value": pval,
        }
    )
    r2 = np.nan_to_num(rho) ** 2
    out["share_of_rho2"] = r2 / r2.sum() if r2.sum() > 0 else np.nan
    order = np.argsort(-np.nan_to_num(np.abs(rho), nan=-1.0), kind="stable")
    out = out.iloc[order].reset_index(drop=True)
    out.attrs["metric"] = metric
    return out


def summarise(draws: pd.DataFrame, metrics: tuple[str, ...] = BATCH_METRICS) -> pd.DataFrame:
    """Per-metric mean, std, P10/P50/P90 (numpy, over defined draws), P(metric > 0)."""
    rows = []
    for m in metrics:
        v = draws[m].to_numpy(dtype=np.float64)
        d = v[np.isfinite(v)]
        p10, p50, p90 = np.percentile(d, PERCENTILES) if d.size else (np.nan,) * 3
        rows.append(
            {
                "metric": m,
                "unit": METRIC_UNITS.get(m, ""),
                "mean": float(d.mean()) if d.size else np.nan,
                "std": float(d.std()) if d.size else np.nan,
                "p10": float(p10),
                "p50": float(p50),
                "p90": float(p90),
                "prob_above_zero": float(np.mean(v > 0)) if v.size else np.nan,
                "defined_share": float(d.size / v.size) if v.size else np.nan,
            }
        )
    return pd.DataFrame(rows).set_index("metric")


def sample_inputs(
    scenario: Scenario,
    distributions: Mapping[str, Mapping[str, object]],
    n: int,
    seed: int | None,
    correlation: Mapping[tuple[str, str], object] | None = None,
) -> tuple[pd.DataFrame, dict[str, Distribution], list[str]]:
    """Draw ``n`` input rows (one column per uncertain field) and notes on what was adjusted."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= MAX_DRAWS:
        raise ValueError(
            f"n = {n!r} is not allowed (allowed: a whole number from 1 to {MAX_DRAWS:,})"
        )
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0
    ):
        raise ValueError(f"seed = {seed!r} is not allowed (allowed: a whole number >= 0, or None)")
    if not distributions:
        raise ValueError("distributions is empty: choose at least one uncertain input")
    dists = {name: parse_distribution(name, spec) for name, spec in distributions.items()}
    fields = list(dists)
    pearson = copula_matrix(fields, correlation)
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((int(n), len(fields)))
    if not np.allclose(pearson, np.eye(len(fields))):
        z = z @ np.linalg.cholesky(pearson).T
    u = special.ndtr(z)
    cols: dict[str, FloatArray] = {}
    notes: list[str] = []
    for j, f in enumerate(fields):
        x = dists[f].ppf(u[:, j])
        if f in INTEGER_FIELDS:
            x = np.round(x)
            notes.append(f"{f} is a whole number: draws rounded to the nearest whole number")
        cols[f] = x
    truncated = [f for f, d in dists.items() if d.kind in ("normal", "lognormal")]
    if truncated:
        notes.append(
            "normal/lognormal draws truncated to the field bounds (not clipped): "
            + ", ".join(f"{f} {FIELD_SPECS[f].range_text()}" for f in truncated)
        )
    uncertain_shares = [f for f in SHARE_FIELDS if f in cols]
    if uncertain_shares:
        lease = cols.get("lease_share", np.full(int(n), scenario.lease_share))
        hosting = cols.get("hosting_share", np.full(int(n), scenario.hosting_share))
        total = lease + hosting
        over = total > 1.0
        if over.any():
            if len(uncertain_shares) == 2:
                cols["lease_share"] = np.where(over, lease / total, lease)
                cols["hosting_share"] = np.where(over, hosting / total, hosting)
                how = "both scaled down in proportion to sum to 1"
            else:
                f = uncertain_shares[0]
                fixed = hosting if f == "lease_share" else lease
                cols[f] = np.where(over, 1.0 - fixed, cols[f])
                how = f"{f} clipped to 1 - the other share"
            notes.append(
                f"{int(over.sum()):,} of {int(n):,} draws ({over.mean():.1%}) had "
                f"lease_share + hosting_share > 1: {how}"
            )
    return pd.DataFrame(cols), dists, notes


def _evaluate_chunk(args: tuple[pd.DataFrame, Scenario]) -> pd.DataFrame:
    table, base = args
    # one BLAS thread per worker process: the IRR scan is a matrix product, and two processes
    # each running a two-thread BLAS on two cores ran slower than one process (measured)
    with threadpool_limits(limits=1):
        return evaluate_batch(table, base)


def evaluate_draws(inputs: pd.DataFrame, scenario: Scenario, workers: int = 1) -> pd.DataFrame:
    """Every metric for every row of ``inputs``: evaluate_batch in chunks, optionally in processes."""
    chunks = [inputs.iloc[i : i + EVAL_CHUNK] for i in range(0, len(inputs), EVAL_CHUNK)]
    if workers > 1 and len(chunks) > 1 and "fork" in _start_methods():
        with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
            parts = list(pool.map(_evaluate_chunk, [(c, scenario) for c in chunks]))
    else:
        # the same single BLAS thread as the workers, so results do not depend on ``workers``
        parts = [_evaluate_chunk((c, scenario)) for c in chunks]
    return pd.concat(parts) if len(parts) > 1 else parts[0]


def _start_methods() -> list[str]:
    from multiprocessing import get_all_start_methods

    return list(get_all_start_methods())


def monte_carlo(
    scenario: Scenario,
    distributions: Mapping[str, Mapping[str, object]],
    n: int = 10_000,
    seed: int | None = 0,
    correlation: Mapping[tuple[str, str], object] | None = None,
    *,
    workers: int = 1,
) -> MonteCarloResult:
    """Monte Carlo over the uncertain inputs; every other input as in ``scenario``.

    Parameters
    ----------
    scenario : Scenario
        The scenario as set (the inputs that are not uncertain).
    distributions : mapping field -> {"kind", "low", "high", "mode"}
        See the module docstring for the kinds and what low/high/mode mean.
    n : int
        Number of draws (1 to :data:`MAX_DRAWS`).
    seed : int or None
        Seed of numpy's default generator: the same seed gives the same draws and results.
    correlation : mapping (field_a, field_b) -> Spearman rho, optional
        Rank correlations between uncertain inputs, imposed through a Gaussian copula.
    workers : int
        Processes for the evaluation of large runs (results are identical for any value);
        ``0`` means one per CPU.

    Raises
    ------
    ValueError (ScenarioError for unknown fields)
        A bad distribution, correlation, n or seed, with the field, value and allowed range.
    """
    inputs, dists, notes = sample_inputs(scenario, distributions, n, seed, correlation)
    n_workers = (os.cpu_count() or 1) if workers == 0 else max(1, int(workers))
    metrics = evaluate_draws(inputs, scenario, n_workers)
    draws = pd.concat([inputs, metrics.set_axis(inputs.index)], axis=1)
    summary = summarise(draws)
    corr = {
        (str(a), str(b)): float(v)  # type: ignore[arg-type]
        for (a, b), v in (correlation or {}).items()
    }
    return MonteCarloResult(
        draws=draws,
        summary=summary,
        drivers=_ranking(draws, list(dists), "npv_busd"),
        distributions=dists,
        correlation=corr,
        n=int(n),
        seed=seed,
        notes=notes,
    )


DISTRIBUTIONS_FILE = DATA_DIR / "distributions.toml"


@dataclass(frozen=True)
class DefaultDistributions:
    """Sourced defaults of ``data/distributions.toml``: distributions, correlations, sources."""

    distributions: dict[str, dict[str, float | str]]
    correlation: dict[tuple[str, str], float]
    sources: dict[str, str]


def default_distributions() -> DefaultDistributions:
    """The default uncertain inputs (validated), their rank correlations and their sources.

    ``sources`` is keyed by field name, and by ``"a~b"`` for a correlation.
    """
    raw = tomllib.loads(DISTRIBUTIONS_FILE.read_text(encoding="utf-8"))
    dists: dict[str, dict[str, float | str]] = {}
    sources: dict[str, str] = {}
    for name, entry in raw.get("distribution", {}).items():
        spec: dict[str, float | str] = {"kind": str(entry["kind"])}
        for key in ("low", "high", "mode"):
            if key in entry:
                spec[key] = float(entry[key])
        parse_distribution(name, spec)  # fail loudly on a bad file
        dists[name] = spec
        sources[name] = f"{entry.get('source', '')} ({entry.get('year', '')})"
    corr: dict[tuple[str, str], float] = {}
    for entry in raw.get("correlation", []):
        pair = (str(entry["a"]), str(entry["b"]))
        corr[pair] = float(entry["spearman"])
        sources[f"{pair[0]}~{pair[1]}"] = f"{entry.get('source', '')} ({entry.get('year', '')})"
    copula_matrix(list(dists), corr)
    return DefaultDistributions(dists, corr, sources)


__all__ = [
    "KINDS",
    "DefaultDistributions",
    "Distribution",
    "MonteCarloResult",
    "copula_matrix",
    "default_distributions",
    "monte_carlo",
    "parse_distribution",
    "summarise",
]
