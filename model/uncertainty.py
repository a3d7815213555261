"""Monte Carlo simulation with correlated inputs (Gaussian copula), vectorised via evaluate_batch.

Each uncertain input gets a distribution; rank (Spearman) correlations between inputs are imposed
through a Gaussian copula; every draw is one full scenario, evaluated once, so all metrics of a
draw come from the same inputs. Results: the draws, a summary per metric (the point estimate of
the scenario as set beside the mean, P10, P50, P90 and the probability of a value below zero),
an explanation of the gap between the point estimate and the median, and a ranking of the inputs
that drive the spread (first-order variance shares from SALib's RBD-FAST on the draws, with the
Spearman rank correlation for the direction). Methodology §9 (Monte Carlo).

Distributions (``low``/``high``/``mode`` in the field's own unit)
-----------------------------------------------------------------
``uniform``     flat between ``low`` and ``high``.
``triangular``  minimum ``low``, most likely ``mode``, maximum ``high``.
``pert``        Beta-PERT: ``low``, ``mode``, ``high`` with the classic weight 4 on the mode
                (``alpha = 1 + 4 (mode - low) / (high - low)``, ``beta = 1 + 4 (high - mode) / (high - low)``).
``normal``      ``low`` and ``high`` are the 5th and 95th percentiles.
``lognormal``   ``low`` and ``high`` (> 0) are the 5th and 95th percentiles.

Following the scenario (``follow``)
-----------------------------------
``low``/``mode``/``high`` are stated around a ``reference`` value (default: the field's sourced
default in ``data/assumptions.csv``). With ``follow = "scale"`` (positive levels: prices, costs,
lives) the run multiplies them by ``value as set / reference``; with ``follow = "shift"`` (rates
and shares) it adds ``value as set - reference``; with ``follow = "absolute"`` (the default for a
mapping without ``follow``) it uses them as given. So a sourced range keeps its relative spread
and skew wherever the scenario puts the input. ``monte_carlo(..., follow_scenario=False)`` treats
every distribution as absolute. Scaling needs a value as set >= 0: below 0 it would flip low and
high and squeeze the range, so the run refuses it with a message naming the field and suggesting
"shift" (or absolute ranges for a lognormal); at 0 every draw is 0, and the notes say so.

Every draw lies within the field's bounds: a distribution that reaches past them is **truncated**
(the copula's uniform is rescaled into the bounds' quantile range; no point mass piles up at a
bound, and ranks, hence correlations, are kept). Whole-number fields are rounded to the nearest
whole number. Where a draw would make ``lease_share + hosting_share > 1`` the uncertain share(s)
are scaled down to sum to 1 and the number of such draws is reported in ``notes``.
"""

from __future__ import annotations

import itertools
import math
import mmap
import numbers
import tomllib
import warnings
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cache
from multiprocessing import get_context
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import special, stats

from model import engine, finance
from model import metrics as metrics_table
from model.data import DATA_DIR, assumptions
from model.fields import FIELD_SPECS, INTEGER_FIELDS
from model.results import BATCH_METRICS, METRIC_UNITS, evaluate_batch, evaluate_columns
from model.scenario import Scenario
from model.sensitivity import SHARE_FIELDS, check_field, check_metric

FloatArray = NDArray[np.float64]

KINDS: tuple[str, ...] = ("uniform", "triangular", "normal", "lognormal", "pert")
#: How a distribution follows the scenario: scaled by value / reference, shifted by
#: value - reference, or used as given.
FOLLOW: tuple[str, ...] = ("scale", "shift", "absolute")
#: z of the 95th percentile: normal/lognormal low/high are mu -/+ Z95 sigma.
Z95 = float(special.ndtri(0.95))
#: Draws of ``monte_carlo(scenario)`` and of the Uncertainty tab, the exports and the report.
DEFAULT_DRAWS = 10_000
#: Seed of ``monte_carlo(scenario)`` and of the Uncertainty tab, the exports and the report.
DEFAULT_SEED = 1
#: Largest number of draws :func:`monte_carlo` accepts.
MAX_DRAWS = 5_000_000
#: Largest number of draws one session of the hosted demo may request per run (the dashboard
#: enforces it with :func:`check_session_draws`; 100,000 draws take about a second of one core
#: and about 125 MB at peak, so a busy session cannot starve the others; methodology §9).
SESSION_MAX_DRAWS = 100_000
#: Most rows of one range (bounds the temporaries of one range, its normals above all; a multiple
#: of NORMAL_BLOCK and of FILL_ROWS).
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
#: Rows of normals drawn from one random stream: block b uses ``SeedSequence(seed, spawn_key=(b,))``,
#: so any range of rows can be drawn on its own (in any process) and gives the same numbers.
NORMAL_BLOCK = 65_536
#: Percentiles reported in the summary (numpy's default linear method).
PERCENTILES: tuple[int, int, int] = (10, 50, 90)
#: Draws the driver ranking uses (the first ones; draws are independent, so they are a random
#: subsample): keeps the ranking fast on large runs.
RANKING_DRAWS = 20_000
#: Bootstrap resamples of SALib's RBD-FAST confidence interval (few: a rough +- that says
#: which shares are indistinguishable, at a tenth of the cost of SALib's default 100).
RANKING_RESAMPLES = 10
#: Probability mass past a bound below which truncation is not worth a note (normal tails).
TRUNCATION_NOTE_MASS = 1e-6
#: Harmonics of RBD-FAST (SALib's default).
RBD_HARMONICS = 10
#: Points of the Beta CDF table that PERT quantiles interpolate (dense near 0 and 1).
PERT_TABLE_POINTS = 8_193

#: Metrics of the readable summary, in order; their labels and formats come from the one metrics
#: table, :mod:`model.metrics`.
SUMMARY_METRICS: tuple[str, ...] = metrics_table.RETURN_METRICS


class MonteCarloError(ValueError):
    """A bad argument of :func:`monte_carlo`; ``argument`` names it (e.g. ``distributions``)."""

    def __init__(self, argument: str, message: str) -> None:
        self.argument = argument
        super().__init__(message)


# ---- numbers and formats -----------------------------------------------------------------------


def _number(name: str, value: object, what: str, argument: str = "distributions") -> float:
    """``value`` as a finite float, or MonteCarloError naming the argument, field and value.

    Only real numbers are accepted (not booleans, not strings); an integer too large for a float
    is refused without Python's own overflow text.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise MonteCarloError(argument, f"{name}: {what} = {_short(value)} is not a number")
    try:
        x = float(value)
    except (OverflowError, ValueError):
        raise MonteCarloError(
            argument, f"{name}: {what} = {_short(value)} is too large to be a number"
        ) from None
    if not math.isfinite(x):
        raise MonteCarloError(argument, f"{name}: {what} = {value!r} is not a finite number")
    return x


def _short(value: object, limit: int = 40) -> str:
    """repr of a value, cut to ``limit`` characters (a huge integer stays readable)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"an integer of about {int(value.bit_length() * math.log10(2)) + 1:,} digits"
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # e.g. a tuple holding a huge integer
        return f"a {type(value).__name__} too large to show"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def is_percent_field(name: str) -> bool:
    """True where the field is a rate or share (unit 'fraction ...'): shown in %."""
    return FIELD_SPECS[name].unit.startswith("fraction")


def format_field(name: str, value: float) -> str:
    """A field's value for people: rates and shares in %, others with their unit."""
    if not math.isfinite(value):
        return "n/a"
    if is_percent_field(name):
        return f"{value * 100:.1f}%"
    return f"{value:,.3g} {FIELD_SPECS[name].unit}"


def format_metric(metric: str, value: float, *, signed: bool = False) -> str:
    """A metric's value for people, in the one format of :mod:`model.metrics` (``US$ 18.0 B``,
    ``11.1%``; a signed difference of percentages in ``pp``)."""
    return metrics_table.format_metric(
        metric, value if math.isfinite(value) else None, signed=signed
    )


def metric_label(metric: str) -> str:
    """A metric's name for people, from the one table of :mod:`model.metrics`."""
    return metrics_table.metric_label(metric)


# ---- distributions -----------------------------------------------------------------------------


@cache
def _beta_inverse_table(a: float, b: float) -> tuple[FloatArray, FloatArray]:
    """x on [0, 1] (cosine-spaced) and scipy's regularised incomplete Beta CDF at x.

    Interpolating u -> x in this table inverts the CDF many times faster than
    ``scipy.special.betaincinv`` with an error below 1e-7 of the range (checked against it on
    shapes 1..5), and keeps ranks (the table is monotone).
    """
    s = np.linspace(0.0, 1.0, PERT_TABLE_POINTS)
    x = 0.5 - 0.5 * np.cos(np.pi * s)
    cdf = np.asarray(special.betainc(a, b, x), dtype=np.float64)
    return x, cdf


@dataclass(frozen=True)
class Distribution:
    """A validated distribution of one input (values in the field's unit).

    ``follow`` and ``reference`` say how it moves with the value as set (see the module
    docstring); :meth:`at` gives the distribution drawn for a given value as set.
    """

    field: str
    kind: str
    low: float
    high: float
    mode: float | None = None
    follow: str = "absolute"
    reference: float | None = None

    def at(self, value_as_set: float) -> Distribution:
        """The absolute distribution drawn when the input is set to ``value_as_set``.

        Notes
        -----
        scale: ``x' = x * value_as_set / reference``; shift: ``x' = x + value_as_set -
        reference``, for ``x`` in low, mode, high. The result may reach past the field's bounds;
        :meth:`ppf` truncates it to them.
        """
        if self.follow == "absolute" or self.reference is None:
            return self
        if self.follow == "scale":
            k = value_as_set / self.reference

            def move(x: float) -> float:
                return x * k
        else:
            d = value_as_set - self.reference

            def move(x: float) -> float:
                return x + d

        return replace(
            self,
            low=move(self.low),
            high=move(self.high),
            mode=None if self.mode is None else move(self.mode),
            follow="absolute",
            reference=None,
        )

    def at_reference(self) -> Distribution:
        """The distribution as stated (low, mode, high as given): the absolute-ranges option."""
        return replace(self, follow="absolute", reference=None)

    def _normal_params(self) -> tuple[float, float]:
        if self.kind == "normal":
            return 0.5 * (self.low + self.high), (self.high - self.low) / (2.0 * Z95)
        lo, hi = math.log(self.low), math.log(self.high)
        return 0.5 * (lo + hi), (hi - lo) / (2.0 * Z95)

    def cdf(self, x: float) -> float:
        """P(X <= x) of the untruncated distribution."""
        lo, hi = self.low, self.high
        if hi <= lo:
            return 1.0 if x >= lo else 0.0
        if self.kind in ("normal", "lognormal"):
            mu, sigma = self._normal_params()
            if self.kind == "lognormal":
                if x <= 0:
                    return 0.0
                x = math.log(x)
            return float(special.ndtr((x - mu) / sigma))
        t = min(max((x - lo) / (hi - lo), 0.0), 1.0)
        if self.kind == "uniform":
            return t
        assert self.mode is not None
        c = (self.mode - lo) / (hi - lo)
        if self.kind == "triangular":
            return t * t / c if t <= c and c > 0 else 1.0 - (1.0 - t) ** 2 / (1.0 - c)
        a, b = 1.0 + 4.0 * c, 1.0 + 4.0 * (1.0 - c)
        return float(special.betainc(a, b, t))

    def _raw_ppf(self, u: FloatArray) -> FloatArray:
        lo, hi = self.low, self.high
        if self.kind == "uniform":
            return lo + u * (hi - lo)
        if self.kind in ("normal", "lognormal"):
            mu, sigma = self._normal_params()
            x = mu + sigma * special.ndtri(u)
            return np.exp(x) if self.kind == "lognormal" else np.asarray(x, dtype=np.float64)
        assert self.mode is not None
        c = (self.mode - lo) / (hi - lo)
        if self.kind == "triangular":
            # closed-form inverse of the triangular CDF
            return np.where(
                u < c,
                lo + np.sqrt(u * (hi - lo) * (self.mode - lo)),
                hi - np.sqrt((1.0 - u) * (hi - lo) * (hi - self.mode)),
            )
        x, cdf = _beta_inverse_table(1.0 + 4.0 * c, 1.0 + 4.0 * (1.0 - c))
        return lo + (hi - lo) * np.interp(u, cdf, x)

    def ppf(self, u: FloatArray) -> FloatArray:
        """Quantile function, truncated to the field's bounds.

        Notes
        -----
        With ``F_a = F(bound low)`` and ``F_b = F(bound high)``, a uniform ``u`` maps to
        ``F^-1(F_a + u (F_b - F_a))``: the draws follow the distribution conditional on lying
        within the bounds (no pile-up at a bound), and ranks are kept.
        """
        spec = FIELD_SPECS[self.field]
        if self.high <= self.low:  # a point (e.g. a scaled input set to 0)
            return np.full(u.shape, min(max(self.low, spec.low), spec.high))
        fa, fb = self.cdf(spec.low), self.cdf(spec.high)
        if fb - fa <= 0.0:
            # all of the distribution lies past one bound (e.g. a utilisation of 0% with a spread
            # only below it): every draw is that bound, the nearest value the field allows
            return np.full(u.shape, spec.low if fa >= 1.0 else spec.high)
        if fa > 0.0 or fb < 1.0:
            u = fa + u * (fb - fa)
        out = self._raw_ppf(u)
        return np.clip(np.asarray(out, dtype=np.float64), spec.low, spec.high)  # float noise only

    def truncated(self) -> bool:
        """True where more than :data:`TRUNCATION_NOTE_MASS` lies past the field's bounds."""
        spec = FIELD_SPECS[self.field]
        return self.high > self.low and (
            self.cdf(spec.low) > TRUNCATION_NOTE_MASS
            or self.cdf(spec.high) < 1.0 - TRUNCATION_NOTE_MASS
        )

    def describe(self) -> str:
        """Short text, e.g. ``pert(40, 42.5, 45)``."""
        if self.kind in ("triangular", "pert"):
            return f"{self.kind}({self.low:g}, {self.mode:g}, {self.high:g})"
        if self.kind in ("normal", "lognormal"):
            return f"{self.kind}(P5 {self.low:g}, P95 {self.high:g})"
        return f"uniform({self.low:g}, {self.high:g})"

    def text(self) -> str:
        """For people, in the field's unit (rates and shares in %), e.g. ``PERT 40 / 42.5 / 45``."""

        def f(x: float) -> str:
            return format_field(self.field, x)

        name = "PERT" if self.kind == "pert" else self.kind
        if self.kind in ("triangular", "pert"):
            assert self.mode is not None
            body = f"{name} {f(self.low)} / most likely {f(self.mode)} / {f(self.high)}"
        elif self.kind in ("normal", "lognormal"):
            body = f"{name}, 5th to 95th percentile {f(self.low)} to {f(self.high)}"
        else:
            body = f"uniform {f(self.low)} to {f(self.high)}"
        return f"{FIELD_SPECS[self.field].label}: {body}"


def default_follow(name: str) -> str:
    """How a field's distribution follows the scenario by default: rates and shares shift,
    positive levels scale (a level whose sourced default is 0 shifts)."""
    if is_percent_field(name):
        return "shift"
    default = assumptions().get(name)
    return "scale" if default is not None and default.value > 0 else "shift"


def parse_distribution(name: str, spec: Mapping[str, object]) -> Distribution:
    """Validate one entry of ``distributions``; raise MonteCarloError naming field, value, range."""
    check_field(name, "distributions")
    if not isinstance(spec, Mapping):
        raise MonteCarloError(
            "distributions",
            f"{name}: distribution must be a mapping with kind, low, high (got {_short(spec)})",
        )
    allowed = ("kind", "low", "high", "mode", "follow", "reference")
    unknown = sorted(str(k) for k in set(spec) - set(allowed))
    if unknown:
        raise MonteCarloError(
            "distributions",
            f"{name}: unknown key(s) {[_short(k) for k in unknown]} (allowed: {', '.join(allowed)})",
        )
    kind = spec.get("kind")
    if kind not in KINDS:
        raise MonteCarloError(
            "distributions",
            f"{name}: kind = {_short(kind)} is unknown (allowed: {', '.join(KINDS)})",
        )
    assert isinstance(kind, str)
    for key in ("low", "high"):
        if spec.get(key) is None:
            raise MonteCarloError("distributions", f"{name}: {kind} needs {key}")
    lo = _number(name, spec["low"], "low")
    hi = _number(name, spec["high"], "high")
    fs = FIELD_SPECS[name]
    what = "5th percentile (low)" if kind in ("normal", "lognormal") else "low"
    for label, v in ((what, lo), ("high", hi)):
        if v < fs.low or v > fs.high:
            raise MonteCarloError(
                "distributions",
                f"{name}: {label} = {v:g} is outside the field's bounds "
                f"(allowed: {fs.range_text()})",
            )
    if not lo < hi:
        raise MonteCarloError("distributions", f"{name}: low = {lo:g} must be below high = {hi:g}")
    mode: float | None = None
    if kind in ("triangular", "pert"):
        if spec.get("mode") is None:
            raise MonteCarloError(
                "distributions", f"{name}: {kind} needs mode (the most likely value)"
            )
        mode = _number(name, spec["mode"], "mode")
        if not lo <= mode <= hi:
            raise MonteCarloError(
                "distributions",
                f"{name}: mode = {mode:g} is outside low..high (allowed: {lo:g} to {hi:g})",
            )
    elif spec.get("mode") is not None:
        raise MonteCarloError(
            "distributions",
            f"{name}: mode is used only by triangular and pert (kind = {kind!r})",
        )
    if kind == "lognormal" and lo <= 0:
        raise MonteCarloError(
            "distributions", f"{name}: lognormal needs low > 0 (got low = {lo:g})"
        )
    follow = spec.get("follow", "absolute")
    if follow is None:
        follow = "absolute"
    if follow not in FOLLOW:
        raise MonteCarloError(
            "distributions",
            f"{name}: follow = {_short(follow)} is unknown (allowed: {', '.join(FOLLOW)})",
        )
    assert isinstance(follow, str)
    reference: float | None = None
    if follow != "absolute":
        raw_ref = spec.get("reference")
        if raw_ref is None:
            reference = assumptions()[name].value
        else:
            reference = _number(name, raw_ref, "reference")
            if reference < fs.low or reference > fs.high:
                raise MonteCarloError(
                    "distributions",
                    f"{name}: reference = {reference:g} is outside the field's bounds "
                    f"(allowed: {fs.range_text()})",
                )
        if follow == "scale" and reference <= 0:
            raise MonteCarloError(
                "distributions",
                f"{name}: follow = 'scale' needs reference > 0 (got {reference:g}; "
                "use 'shift' for an input whose reference is 0)",
            )
        if follow == "shift" and kind == "lognormal":
            raise MonteCarloError(
                "distributions",
                f"{name}: a lognormal follows the scenario by scale only (allowed: scale, "
                "absolute)",
            )
    elif spec.get("reference") is not None:
        _number(name, spec["reference"], "reference")
    return Distribution(name, kind, lo, hi, mode, follow, reference)


def copula_matrix(
    fields: list[str], correlation: Mapping[tuple[str, str], object] | None
) -> FloatArray:
    """Pearson matrix of the Gaussian copula for the requested Spearman rank correlations.

    A Gaussian copula with Pearson correlation ``rho = 2 sin(pi rho_s / 6)`` has Spearman rank
    correlation ``rho_s`` exactly; monotone marginal transforms keep it. Raises MonteCarloError
    (argument ``correlation``) for an unknown pair, a value outside -1..1, a pair given twice
    (in either order) with different values, or a set of correlations that cannot hold together
    (matrix not positive definite).
    """
    k = len(fields)
    spearman = np.eye(k)
    pos = {f: i for i, f in enumerate(fields)}
    seen: dict[frozenset[str], tuple[tuple[str, str], float]] = {}
    if correlation is not None and not isinstance(correlation, Mapping):
        raise MonteCarloError(
            "correlation",
            f"correlation must be a mapping (a, b) -> Spearman rho (got {_short(correlation)})",
        )
    for pair, value in (correlation or {}).items():
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise MonteCarloError(
                "correlation",
                f"correlation key {_short(pair)} must be a pair of field names (a, b)",
            )
        a, b = pair
        for f in (a, b):
            if not isinstance(f, str):
                raise MonteCarloError(
                    "correlation",
                    f"correlation key {_short(pair)}: {_short(f)} is not a field name",
                )
            check_field(f, "correlation")
            if f not in pos:
                raise MonteCarloError(
                    "correlation",
                    f"correlation ({a}, {b}): {f} has no distribution (correlate uncertain "
                    f"inputs only: {', '.join(fields) or 'none'})",
                )
        if a == b:
            raise MonteCarloError(
                "correlation", f"correlation ({a}, {b}): a field cannot be correlated with itself"
            )
        rho = _number(f"correlation ({a}, {b})", value, "Spearman rho", "correlation")
        if not -1.0 <= rho <= 1.0:
            raise MonteCarloError(
                "correlation",
                f"correlation ({a}, {b}) = {rho:g} is out of range (allowed: -1 to 1)",
            )
        key = frozenset((a, b))
        if key in seen and seen[key][1] != rho:
            (pa, pb), prev = seen[key]
            raise MonteCarloError(
                "correlation",
                f"correlation ({a}, {b}) = {rho:g} contradicts ({pa}, {pb}) = {prev:g}: "
                "give each pair once (the order of a pair does not matter)",
            )
        seen[key] = ((a, b), rho)
        i, j = pos[a], pos[b]
        spearman[i, j] = spearman[j, i] = rho
    pearson = 2.0 * np.sin(np.pi * spearman / 6.0)
    np.fill_diagonal(pearson, 1.0)
    eig = np.linalg.eigvalsh(pearson) if k else np.ones(1)
    if eig.min() <= 1e-10:
        raise MonteCarloError(
            "correlation",
            "the correlations cannot hold together (their matrix is not positive definite; "
            f"smallest eigenvalue {eig.min():.3g}): weaken some of them, e.g. a strongly "
            "positive a-b and b-c with a negative a-c is impossible",
        )
    return np.asarray(pearson, dtype=np.float64)


# ---- results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GapExplanation:
    """Why the median of a metric differs from its point estimate (the scenario as set).

    The gap splits exactly into three parts::

        P50 - point = (at_input_means - point)      inputs whose mean differs from the value set
                    + (mean - at_input_means)       non-linearity (Jensen's inequality)
                    + (P50 - mean)                  skew of the metric's distribution

    where ``at_input_means`` is the metric with every uncertain input at the mean of its draws
    (the other inputs as set). ``inputs`` has one row per uncertain input: ``field, label,
    as_set, mean, p50, shift`` (mean - as set, in the field's unit), ``shift_text`` (for people)
    and ``effect`` (the metric when that input alone moves from its value as set to its mean,
    minus the point estimate). ``reason`` is one plain-words line.
    """

    metric: str
    point: float
    p50: float
    mean: float
    at_input_means: float
    inputs: pd.DataFrame
    reason: str

    @property
    def gap(self) -> float:
        """Median minus point estimate."""
        return self.p50 - self.point

    @property
    def shift_effect(self) -> float:
        """Part of the gap from input distributions whose mean differs from the value as set."""
        return self.at_input_means - self.point

    @property
    def nonlinearity_effect(self) -> float:
        """Part of the gap from the metric's non-linearity in the inputs (Jensen)."""
        return self.mean - self.at_input_means

    @property
    def skew_effect(self) -> float:
        """Part of the gap from the skew of the metric's distribution (median minus mean)."""
        return self.p50 - self.mean

    def parts(self) -> pd.DataFrame:
        """The three parts of the gap, for people: ``part, value, text``."""
        rows = [
            ("Inputs whose average differs from the value as set", self.shift_effect),
            (
                "Non-linearity (the average of the metric is not the metric at average inputs)",
                self.nonlinearity_effect,
            ),
            ("Skew (the median of the metric differs from its mean)", self.skew_effect),
        ]
        return pd.DataFrame(
            {
                "part": [r[0] for r in rows],
                "value": [r[1] for r in rows],
                "text": [format_metric(self.metric, r[1], signed=True) for r in rows],
            }
        )


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


def _cell(summary: pd.DataFrame, metric: str, column: str) -> float:
    """One number of a summary (metric row, column) as a float."""
    return float(summary[column].to_numpy(dtype=np.float64)[summary.index.get_loc(metric)])


def _rbd_first_order(x: FloatArray, y: FloatArray, harmonics: int) -> float:
    """RBD-FAST first-order index of one input: the outputs reordered along it (up then down,
    Plischke 2010), the share of their spectrum's variance in the first ``harmonics`` bins."""
    order = np.argsort(x)
    order = np.concatenate([order[::2], order[1::2][::-1]])
    yp = y[order]
    # the one-sided periodogram (a boxcar window, the mean removed): bins 1.. count twice except
    # the Nyquist bin of an even length; its scale cancels in the ratio
    power = np.abs(np.fft.rfft(yp - yp.mean())) ** 2
    if yp.size % 2 == 0:
        power[1:-1] *= 2.0
    else:
        power[1:] *= 2.0
    total = float(np.sum(power[1:]))
    # outputs that do not vary: no share to explain (NaN, without a 0 / 0 warning)
    return float(np.sum(power[1 : harmonics + 1]) / total) if total > 0.0 else math.nan


def _unskew(s1: float, harmonics: int, n: int) -> float:
    """Tissot and Prieur (2012) bias correction of an RBD-FAST index from ``n`` draws."""
    lamb = 2 * harmonics / n
    return s1 - lamb / (1 - lamb) * (1 - s1)


def rbd_fast(
    x: FloatArray, y: FloatArray, harmonics: int, resamples: int, seed: int, conf: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """First-order indices (S1) of each column of ``x`` on ``y`` by RBD-FAST, and the half-width
    of their ``conf`` interval from ``resamples`` bootstrap halves.

    The same numbers as ``SALib.analyze.rbd_fast.analyze`` (Tarantola et al. 2006; Plischke 2010;
    Tissot and Prieur 2012) with the same seed, from numpy's FFT instead of
    ``scipy.signal.periodogram`` (whose set-up per call cost more than the transform).
    """
    rng = np.random.default_rng(seed)
    n, k = x.shape
    half = int(n * 0.5)
    s1 = np.empty(k)
    width = np.empty(k)
    for i in range(k):
        s1[i] = _unskew(_rbd_first_order(x[:, i], y, harmonics), harmonics, n)
        boot = np.empty(resamples)
        for j in range(resamples):
            pick = rng.choice(n, replace=True, size=half)
            boot[j] = _unskew(_rbd_first_order(x[pick, i], y[pick], harmonics), harmonics, half)
        width[i] = stats.norm.ppf(0.5 + conf / 2.0) * boot.std(ddof=1)
    return s1, width


def _ranking(
    draws: pd.DataFrame, fields: list[str], metric: str, seed: int | None = DEFAULT_SEED
) -> pd.DataFrame:
    y_all = draws[metric].to_numpy(dtype=np.float64)
    ok = np.flatnonzero(np.isfinite(y_all))[:RANKING_DRAWS]
    y = y_all[ok]
    x = draws[fields].to_numpy(dtype=np.float64)[ok]
    k = len(fields)
    rho = np.full(k, np.nan)
    pval = np.full(k, np.nan)
    s1 = np.full(k, np.nan)
    s1_conf = np.full(k, np.nan)
    varies = np.ptp(x, axis=0) > 0 if x.shape[0] else np.zeros(k, dtype=bool)
    # RBD-FAST needs a few draws per harmonic: 2 M / N below 1 (its bias correction)
    if y.size > 4 * RBD_HARMONICS and np.ptp(y) > 0 and varies.any():
        cols = np.column_stack([x[:, varies], y])
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
        idx = np.flatnonzero(varies)
        s1[idx], s1_conf[idx] = rbd_fast(
            np.ascontiguousarray(x[:, idx]),
            y,
            RBD_HARMONICS,
            RANKING_RESAMPLES,
            DEFAULT_SEED if seed is None else int(seed),
        )
    out = pd.DataFrame(
        {
            "field": fields,
            "label": [FIELD_SPECS[f].label for f in fields],
            "s1": s1,
            "s1_conf": s1_conf,
            "spearman_rho": rho,
            "p_value": pval,
        }
    )
    r2 = np.nan_to_num(rho) ** 2
    out["share_of_rho2"] = r2 / r2.sum() if r2.sum() > 0 else np.nan
    order = np.lexsort((-np.nan_to_num(np.abs(rho), nan=-1.0), -np.nan_to_num(s1, nan=-np.inf)))
    out = out.iloc[order].reset_index(drop=True)
    out.attrs["metric"] = metric
    return out


#: Below this many values :func:`percentiles_linear` calls :func:`numpy.percentile` itself (the
#: selection below pays off on long columns only).
SELECT_MIN_VALUES = 4_096


def percentiles_linear(values: FloatArray, q: tuple[float, ...]) -> FloatArray:
    """``numpy.percentile(values, q)`` (method ``"linear"``) of finite values, by selection.

    The same numbers, bit for bit: the same order statistics, weights and interpolation as
    numpy, but found by one :func:`numpy.partition` per statistic on ever smaller pieces of one
    copy. numpy partitions the whole column around all of them at once (and its minimum and
    maximum), which is several times slower on a million draws.

    Parameters
    ----------
    values : ndarray of float, 1-D
        Finite values (no NaN: numpy would sort NaN last and return NaN).
    q : tuple of float
        Percentiles in [0, 100].

    Returns
    -------
    ndarray of float, one per ``q``

    Notes
    -----
    With ``n`` values sorted as ``x_(0) <= ... <= x_(n-1)``, percentile ``q`` sits at the virtual
    index ``v = (n - 1) q / 100``; with ``i = floor(v)``, ``g = v - i`` and ``d = x_(i+1) - x_(i)``
    it is ``x_(i) + d g`` for ``g < 0.5`` and ``x_(i+1) - d (1 - g)`` otherwise (numpy's
    ``_lerp``, Hyndman and Fan's method 7).

    Examples
    --------
    >>> v = np.arange(10_001.0)[::-1]  # 10,000 down to 0
    >>> percentiles_linear(v, (10, 50, 90)).tolist()
    [1000.0, 5000.0, 9000.0]
    >>> bool((percentiles_linear(v, (10, 50, 90)) == np.percentile(v, (10, 50, 90))).all())
    True
    """
    n = values.size
    if n < SELECT_MIN_VALUES:
        return np.asarray(np.percentile(values, q), dtype=np.float64)
    virtual = (n - 1) * np.true_divide(np.asarray(q, dtype=np.float64), 100)
    below = np.floor(virtual)
    gamma = virtual - below
    lo_at = below.astype(np.intp)
    hi_at = np.minimum(lo_at + 1, n - 1)
    ranks = sorted({*lo_at.tolist(), *hi_at.tolist()})
    order_stat = _two_valued(values, ranks)
    if order_stat is None:
        work = np.array(values, dtype=np.float64)  # a copy, partitioned in place
        order_stat = _select(work, ranks)
    a = np.array([order_stat[i] for i in lo_at.tolist()], dtype=np.float64)
    b = np.array([order_stat[i] for i in hi_at.tolist()], dtype=np.float64)
    diff = b - a
    out: FloatArray = a + diff * gamma
    np.subtract(b, diff * (1 - gamma), out=out, where=gamma >= 0.5)
    return out


def _two_valued(values: FloatArray, ranks: list[int]) -> dict[int, float] | None:
    """The order statistics ``ranks`` of ``values`` if it holds at most two distinct values
    (such as a count of IRR roots), from counts; else None. Partitioning such a column is slow
    (all ties), and its order statistics are its low value up to the low value's count."""
    if np.unique(values[:64]).size > 2:
        return None  # the usual case, known at once: many values
    low, high = float(values.min()), float(values.max())
    n_low = int(np.count_nonzero(values == low))
    if n_low + int(np.count_nonzero(values == high)) < values.size:  # (NaN: never equal)
        return None
    return {r: low if r < n_low else high for r in ranks}


def _select(work: FloatArray, ranks: list[int]) -> dict[int, float]:
    """The order statistics ``ranks`` (sorted) of ``work``, partitioning it in place.

    Partitions around the middle rank, then each side around its own ranks: every step works on
    a piece that excludes what is already in place. A rank at either end of its piece is that
    piece's minimum or maximum (one pass, no partition).
    """
    found: dict[int, float] = {}
    pieces = [(0, work.size, ranks)]
    while pieces:
        start, stop, wanted = pieces.pop()
        piece = work[start:stop]
        if len(wanted) == 1 and wanted[0] == start:
            found[start] = float(piece.min())
            continue
        if len(wanted) == 1 and wanted[0] == stop - 1:
            found[stop - 1] = float(piece.max())
            continue
        k = wanted[len(wanted) // 2]
        piece.partition(k - start)
        found[k] = float(work[k])
        left = [r for r in wanted if r < k]
        right = [r for r in wanted if r > k]
        if left:
            pieces.append((start, k, left))
        if right:
            pieces.append((k + 1, stop, right))
    return found


#: Largest absolute value whose square and whose sum over draws stay finite in float64.
_PLAIN_STATS_MAX = 1e150


def _mean_std(d: FloatArray) -> tuple[float, float]:
    """Mean and standard deviation of finite values (NaN of none), without overflow: values
    beyond :data:`_PLAIN_STATS_MAX` (their squares or sum would overflow) are divided by the
    largest magnitude first and the results multiplied back (both are at most that magnitude)."""
    if not d.size:
        return math.nan, math.nan
    big = float(np.max(np.abs(d)))
    if big <= _PLAIN_STATS_MAX:
        return float(d.mean()), float(d.std())
    scaled = d / big
    return float(scaled.mean()) * big, float(scaled.std()) * big


def column_stats(v: FloatArray) -> dict[str, float]:
    """Mean, std, P10/P50/P90 (numpy, over defined values), shares > 0, < 0 and defined."""
    fin = np.isfinite(v)
    d = v if fin.all() else v[fin]
    p10, p50, p90 = percentiles_linear(d, PERCENTILES) if d.size else (np.nan,) * 3
    size = v.size
    mean, std = _mean_std(d)
    return {
        "mean": mean,
        "std": std,
        "p10": float(p10),
        "p50": float(p50),
        "p90": float(p90),
        "prob_above_zero": float(np.count_nonzero(v > 0) / size) if size else np.nan,
        "prob_below_zero": float(np.count_nonzero(v < 0) / size) if size else np.nan,
        "defined_share": float(d.size / size) if size else np.nan,
    }


def summarise(
    draws: pd.DataFrame,
    metrics: tuple[str, ...] = BATCH_METRICS,
    point: Mapping[str, float] | None = None,
    stats: Mapping[str, Mapping[str, float]] | None = None,
) -> pd.DataFrame:
    """Per-metric point estimate, mean, std, P10/P50/P90 (numpy, over defined draws), P(> 0), P(< 0).

    ``stats`` (from :func:`column_stats`, keyed by column) saves recomputing them.
    """
    rows = []
    for m in metrics:
        st = (
            stats[m]
            if stats is not None and m in stats
            else column_stats(draws[m].to_numpy(dtype=np.float64))
        )
        rows.append(
            {
                "metric": m,
                "label": metric_label(m),
                "unit": METRIC_UNITS.get(m, ""),
                "point": float(point[m]) if point is not None and m in point else np.nan,
                **st,
            }
        )
    return pd.DataFrame(rows).set_index("metric")


def _gap_table(
    scenario: Scenario, fields: list[str], stats: Mapping[str, Mapping[str, float]]
) -> pd.DataFrame:
    """Scenarios for the gap: row 0 as set, row 1 all inputs at their means, then one per input."""
    as_set = {f: float(getattr(scenario, f)) for f in fields}
    means = {}
    for f in fields:
        m = float(stats[f]["mean"])
        means[f] = float(round(m)) if f in INTEGER_FIELDS else m
    rows = [dict(as_set), dict(means)]
    for f in fields:
        rows.append({**as_set, f: means[f]})
    table = pd.DataFrame(rows, columns=fields)
    # the mean of feasible shares is feasible (convexity); keep float noise from crossing 1
    if all(s in table for s in SHARE_FIELDS):
        total = table["lease_share"] + table["hosting_share"]
        over = total > 1.0
        table.loc[over, "lease_share"] /= total[over]
        table.loc[over, "hosting_share"] /= total[over]
    return table


def _explain_gap(
    stats: Mapping[str, Mapping[str, float]],
    scenario: Scenario,
    fields: list[str],
    metric: str,
    summary: pd.DataFrame,
    evaluated: pd.DataFrame | None = None,
) -> GapExplanation:
    if evaluated is None:
        evaluated = evaluate_batch(_gap_table(scenario, fields, stats), scenario)
    y = evaluated[metric].to_numpy(dtype=np.float64)
    point, at_means = float(y[0]), float(y[1])
    effects = y[2:] - point
    p50 = _cell(summary, metric, "p50")
    mean = _cell(summary, metric, "mean")
    as_set = np.array([float(getattr(scenario, f)) for f in fields])
    mean_in = np.array([float(stats[f]["mean"]) for f in fields])
    p50_in = np.array([float(stats[f]["p50"]) for f in fields])
    inputs = pd.DataFrame(
        {
            "field": fields,
            "label": [FIELD_SPECS[f].label for f in fields],
            "as_set": as_set,
            "mean": mean_in,
            "p50": p50_in,
            "shift": mean_in - as_set,
            "effect": effects,
        }
    )
    inputs["as_set_text"] = [format_field(f, v) for f, v in zip(fields, as_set, strict=True)]
    inputs["mean_text"] = [format_field(f, v) for f, v in zip(fields, mean_in, strict=True)]
    inputs["shift_text"] = [
        _signed_field(f, v) for f, v in zip(fields, mean_in - as_set, strict=True)
    ]
    inputs["effect_text"] = [format_metric(metric, v, signed=True) for v in effects]
    order = np.argsort(-np.nan_to_num(np.abs(effects), nan=-1.0), kind="stable")
    inputs = inputs.iloc[order].reset_index(drop=True)
    gap = GapExplanation(metric, point, p50, mean, at_means, inputs, "")
    return replace(gap, reason=_reason(gap, summary))


def _signed_field(name: str, value: float) -> str:
    if is_percent_field(name):
        return f"{value * 100:+.2f} percentage points"
    return f"{value:+,.2f} {FIELD_SPECS[name].unit}"


def _reason(g: GapExplanation, summary: pd.DataFrame) -> str:
    """One plain-words line: how far the median is from the point estimate, and mainly why."""
    label, m = metric_label(g.metric), g.metric
    if not (math.isfinite(g.point) and math.isfinite(g.p50)):
        return f"The {label} of the scenario as set or its median is undefined: no comparison."
    spread = _cell(summary, m, "p90") - _cell(summary, m, "p10")
    head = (
        f"The median {label} ({format_metric(m, g.p50)}) is "
        f"{format_metric(m, abs(g.gap))} {'below' if g.gap < 0 else 'above'} "
        f"the point estimate ({format_metric(m, g.point)})"
    )
    if not spread > 0 or abs(g.gap) <= 0.05 * spread:
        return (
            f"The median {label} ({format_metric(m, g.p50)}) is close to the point estimate "
            f"({format_metric(m, g.point)}): the distributions are centred on the values as set "
            "and nearly symmetric in their effect."
        )
    parts = {
        "shift": g.shift_effect,
        "nonlinear": g.nonlinearity_effect,
        "skew": g.skew_effect,
    }
    finite = {k: v for k, v in parts.items() if math.isfinite(v)}
    if not finite:
        return head + "."
    # the part that pushes the same way as the gap, and most
    same_way = {k: v for k, v in finite.items() if v * g.gap > 0} or finite
    main = max(same_way, key=lambda k: abs(same_way[k]))
    if main == "shift":
        movers = [
            r
            for _, r in g.inputs.iterrows()
            if math.isfinite(float(r["effect"])) and float(r["effect"]) * g.shift_effect > 0
        ][:2]
        if len(movers) == 2 and abs(float(movers[1]["effect"])) < 0.5 * abs(
            float(movers[0]["effect"])
        ):
            movers = movers[:1]
        named = " and ".join(
            f"{r['label']} averages {r['mean_text']} in its distribution against "
            f"{r['as_set_text']} as set ({format_metric(m, float(r['effect']), signed=True)} "
            "on its own)"
            for r in movers
        )
        return (
            f"{head}, mainly because "
            + (named or "some inputs' distributions average away from their values as set")
            + f"; all inputs at their averages give {format_metric(m, g.shift_effect, signed=True)}."
        )
    if main == "nonlinear":
        return (
            f"{head}, mainly because {label} responds unevenly to the inputs: its average over "
            f"the draws differs from its value at the average inputs by "
            f"{format_metric(m, g.nonlinearity_effect, signed=True)} (Jensen's inequality)."
        )
    return (
        f"{head}, mainly because the distribution of {label} is skewed: its median lies "
        f"{format_metric(m, abs(g.skew_effect))} {'below' if g.skew_effect < 0 else 'above'} "
        f"its mean ({format_metric(m, g.mean)})."
    )


# ---- sampling and evaluation -------------------------------------------------------------------


def check_session_draws(n: object, limit: int = SESSION_MAX_DRAWS) -> int:
    """``n`` if one session of the hosted demo may run that many draws, else MonteCarloError.

    The dashboard calls this before a run; the library itself accepts up to :data:`MAX_DRAWS`.
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or not 1 <= int(n) <= limit:
        raise MonteCarloError(
            "n",
            f"draws = {_short(n)} is above this demo's limit per run "
            f"(allowed: a whole number from 1 to {limit:,})"
            if isinstance(n, numbers.Integral) and not isinstance(n, bool) and int(n) > limit
            else f"draws = {_short(n)} is not allowed (allowed: a whole number from 1 to {limit:,})",
        )
    return int(n)


def _check_n_seed(n: object, seed: object) -> tuple[int, int | None]:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or not 1 <= int(n) <= MAX_DRAWS:
        raise MonteCarloError(
            "n", f"n = {_short(n)} is not allowed (allowed: a whole number from 1 to {MAX_DRAWS:,})"
        )
    if seed is not None and (
        isinstance(seed, bool)
        or not isinstance(seed, numbers.Integral)
        or not 0 <= int(seed) < 2**128
    ):
        raise MonteCarloError(
            "seed",
            f"seed = {_short(seed)} is not allowed (allowed: a whole number from 0 to 2^128 - 1, "
            "or None)",
        )
    return int(n), None if seed is None else int(seed)


def _prepare(
    scenario: Scenario,
    distributions: Mapping[str, Mapping[str, object]],
    follow_scenario: bool,
) -> tuple[dict[str, Distribution], dict[str, Distribution]]:
    """Parsed specs and the absolute distributions drawn for the scenario as set."""
    if not isinstance(distributions, Mapping):
        raise MonteCarloError(
            "distributions",
            f"distributions must be a mapping field -> spec (got {_short(distributions)})",
        )
    if not distributions:
        raise MonteCarloError(
            "distributions", "distributions is empty: choose at least one uncertain input"
        )
    for name in distributions:
        if not isinstance(name, str):
            raise MonteCarloError(
                "distributions", f"distributions: key {_short(name)} is not a field name"
            )
    specs = {name: parse_distribution(name, spec) for name, spec in distributions.items()}
    if follow_scenario:
        for name, d in specs.items():
            _check_scale_base(d, float(getattr(scenario, name)))
    dists = {
        name: (d.at(float(getattr(scenario, name))) if follow_scenario else d.at_reference())
        for name, d in specs.items()
    }
    return specs, dists


def _check_scale_base(d: Distribution, value_as_set: float) -> None:
    """Refuse a "scale"-following distribution on a value as set < 0 (raises MonteCarloError).

    Scaling by ``value_as_set / reference < 0`` would flip low and high and squeeze the range,
    silently: an input set to -0.25 drew -0.05 every time. "shift" moves the range by the
    difference instead (a lognormal, positive by nature, takes absolute ranges). At exactly 0 the
    documented rule holds: every draw is 0, and the run's notes say so.
    """
    if d.follow != "scale" or value_as_set >= 0:
        return
    remedy = (
        "use absolute ranges for a lognormal"
        if d.kind == "lognormal"
        else "use follow = 'shift', or absolute ranges"
    )
    raise MonteCarloError(
        "distributions",
        f"{d.field} = {value_as_set:g} ({FIELD_SPECS[d.field].unit}): follow = 'scale' multiplies "
        f"the range by the value as set / reference, which is negative (allowed: 'scale' for a "
        f"value as set >= 0; {remedy})",
    )


def sample_inputs(
    scenario: Scenario,
    distributions: Mapping[str, Mapping[str, object]],
    n: int,
    seed: int | None,
    correlation: Mapping[tuple[str, str], object] | None = None,
    *,
    follow_scenario: bool = True,
) -> tuple[pd.DataFrame, dict[str, Distribution], list[str]]:
    """Draw ``n`` input rows (one column per uncertain field) and notes on what was adjusted."""
    n, seed = _check_n_seed(n, seed)
    _, dists = _prepare(scenario, distributions, follow_scenario)
    z = _Normals.of(copula_matrix(list(dists), correlation), seed).rows(0, n)
    cols, over = _transform(scenario, dists, z)
    return pd.DataFrame(cols), dists, _notes(dists, n, over)


@dataclass(frozen=True)
class _Normals:
    """Correlated standard normals, drawn block by block from independent streams of one seed."""

    pearson: FloatArray
    entropy: int

    @classmethod
    def of(cls, pearson: FloatArray, seed: int | None) -> _Normals:
        entropy = np.random.SeedSequence(seed).entropy
        assert isinstance(entropy, int)
        return cls(pearson, entropy)

    def rows(self, i0: int, i1: int) -> FloatArray:
        """Rows ``i0:i1``: the same numbers however the rows are split."""
        k = self.pearson.shape[0]
        out = np.empty((i1 - i0, k))
        chol = None if np.allclose(self.pearson, np.eye(k)) else np.linalg.cholesky(self.pearson).T
        for b in range(i0 // NORMAL_BLOCK, (i1 - 1) // NORMAL_BLOCK + 1 if i1 > i0 else 0):
            b0 = b * NORMAL_BLOCK
            rng = np.random.default_rng(np.random.SeedSequence(self.entropy, spawn_key=(b,)))
            z = rng.standard_normal((NORMAL_BLOCK, k))
            lo, hi = max(i0, b0), min(i1, b0 + NORMAL_BLOCK)
            part = z[lo - b0 : hi - b0]
            out[lo - i0 : hi - i0] = part if chol is None else part @ chol
        return out


def _transform(
    scenario: Scenario, dists: dict[str, Distribution], z: FloatArray
) -> tuple[dict[str, FloatArray], int]:
    """Input values for rows of correlated normals, and how many rows had their shares scaled.

    Row by row (no statistic over rows), so any split of the rows into chunks gives the same
    values: the result does not depend on the number of processes.
    """
    u = special.ndtr(z)
    cols: dict[str, FloatArray] = {}
    for j, f in enumerate(dists):
        x = dists[f].ppf(np.ascontiguousarray(u[:, j]))
        cols[f] = np.round(x) if f in INTEGER_FIELDS else x
    over_count = 0
    uncertain_shares = [f for f in SHARE_FIELDS if f in cols]
    if uncertain_shares:
        m = z.shape[0]
        lease = cols.get("lease_share", np.full(m, scenario.lease_share))
        hosting = cols.get("hosting_share", np.full(m, scenario.hosting_share))
        total = lease + hosting
        over = total > 1.0
        over_count = int(over.sum())
        if over_count:
            if len(uncertain_shares) == 2:
                cols["lease_share"] = np.where(over, lease / total, lease)
                cols["hosting_share"] = np.where(over, hosting / total, hosting)
            else:
                f = uncertain_shares[0]
                fixed = hosting if f == "lease_share" else lease
                cols[f] = np.where(over, 1.0 - fixed, cols[f])
    return cols, over_count


def _notes(dists: dict[str, Distribution], n: int, over_count: int) -> list[str]:
    notes = [
        f"{FIELD_SPECS[f].label} is a whole number: draws rounded to the nearest whole number"
        for f in dists
        if f in INTEGER_FIELDS
    ]
    notes += [
        f"{FIELD_SPECS[f].label} is set to 0 and its range follows the scenario by scale: every "
        "draw is 0 (follow = 'shift' keeps a spread around 0)"
        for f, d in dists.items()
        if d.low == d.high == 0.0  # only scaling by 0 gives this (a range needs low < high)
    ]
    truncated = [f for f, d in dists.items() if d.truncated()]
    if truncated:
        notes.append(
            "Draws truncated to the inputs' allowed ranges (not clipped): "
            + "; ".join(f"{FIELD_SPECS[f].label} {FIELD_SPECS[f].range_text()}" for f in truncated)
        )
    if over_count:
        shares = [f for f in SHARE_FIELDS if f in dists]
        how = (
            "both scaled down in proportion to sum to 1"
            if len(shares) == 2
            else f"{FIELD_SPECS[shares[0]].label} clipped to 1 - the other share"
        )
        notes.append(
            f"{over_count:,} of {n:,} draws ({over_count / n:.1%}) had "
            f"lease_share + hosting_share > 1: {how}"
        )
    return notes


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


def _npv_drivers(
    draws: pd.DataFrame, dists: dict[str, Distribution], seed: int | None
) -> pd.DataFrame:
    """The result's driver ranking: of NPV, over the uncertain inputs (:func:`_ranking`)."""
    return _ranking(draws, list(dists), "npv_busd", seed)


def _early_drivers(
    columns: FloatArray, names: list[str], dists: dict[str, Distribution], seed: int | None
) -> pd.DataFrame | None:
    """:func:`_npv_drivers` from the first rows of the draws (``columns``: every column, those
    rows), or None where they hold fewer than :data:`RANKING_DRAWS` defined NPVs (the ranking
    would read later rows too)."""
    npv = columns[names.index("npv_busd")]
    if int(np.count_nonzero(np.isfinite(npv))) < RANKING_DRAWS:
        return None
    return _npv_drivers(_draws_frame(columns, names), dists, seed)


def _shared(rows: int, cols: int) -> tuple[mmap.mmap, FloatArray]:
    buf = mmap.mmap(-1, max(1, rows * cols * 8))  # anonymous and shared with forked children
    return buf, np.frombuffer(buf, dtype=np.float64, count=rows * cols).reshape(rows, cols)


def _draws_frame(columns: FloatArray, names: list[str]) -> pd.DataFrame:
    """The draws as a frame over ``columns`` (one row per column), without a copy."""
    return pd.DataFrame(columns.T, columns=names, copy=False)


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
        d = default_distributions()
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


DISTRIBUTIONS_FILE = DATA_DIR / "distributions.toml"


@dataclass(frozen=True)
class DefaultDistributions:
    """Sourced defaults of ``data/distributions.toml``: distributions, correlations, sources."""

    distributions: dict[str, dict[str, float | str]]
    correlation: dict[tuple[str, str], float]
    sources: dict[str, str]


def default_distributions() -> DefaultDistributions:
    """The default uncertain inputs (validated), their rank correlations and their sources.

    Each distribution carries ``follow`` and ``reference`` (how it follows the scenario).
    ``sources`` is keyed by field name, and by ``"a~b"`` for a correlation.
    """
    raw = tomllib.loads(DISTRIBUTIONS_FILE.read_text(encoding="utf-8"))
    dists: dict[str, dict[str, float | str]] = {}
    sources: dict[str, str] = {}
    for name, entry in raw.get("distribution", {}).items():
        spec: dict[str, float | str] = {"kind": str(entry["kind"])}
        for key in ("low", "high", "mode", "reference"):
            if key in entry:
                spec[key] = float(entry[key])
        spec["follow"] = str(entry.get("follow", "absolute"))
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


def default_spec(name: str, scenario: Scenario | None = None) -> tuple[dict[str, Any], str]:
    """A distribution for one input and its source: the sourced default, or a stated fallback.

    The fallback (an input without an entry in ``data/distributions.toml``) is a triangular
    distribution over the sourced range of ``data/ranges.csv`` with the sourced default most
    likely, or the default +- 20% where no range is sourced; it follows the scenario
    (:func:`default_follow`).
    """
    from model.data import default_ranges

    check_field(name, "distributions")
    d = default_distributions()
    if name in d.distributions:
        return dict(d.distributions[name]), d.sources[name]
    fs = FIELD_SPECS[name]
    ref = assumptions()[name].value
    if name in default_ranges():
        lo, hi, src = default_ranges()[name]
        lo, hi = min(lo, ref), max(hi, ref)
        source = f"Range from data/ranges.csv: {src}; the sourced default most likely"
    else:
        span = abs(ref) * 0.2 or 0.1 * (fs.high - fs.low)
        lo, hi = ref - span, ref + span
        source = "No sourced range: the sourced default +- 20% (an assumption; edit it)"
    lo, hi = max(lo, fs.low), min(hi, fs.high)
    if not lo < hi:
        lo, hi = fs.low, fs.high
    follow = default_follow(name)
    if follow == "scale" and ref <= 0:
        follow = "shift"
    spec: dict[str, Any] = {
        "kind": "triangular",
        "low": lo,
        "mode": min(max(ref, lo), hi),
        "high": hi,
        "follow": follow,
        "reference": ref,
    }
    return spec, source


__all__ = [
    "DEFAULT_DRAWS",
    "DEFAULT_SEED",
    "FOLLOW",
    "KINDS",
    "SESSION_MAX_DRAWS",
    "DefaultDistributions",
    "Distribution",
    "GapExplanation",
    "MonteCarloError",
    "MonteCarloResult",
    "available_cores",
    "check_session_draws",
    "check_workers",
    "copula_matrix",
    "default_distributions",
    "default_spec",
    "format_field",
    "format_metric",
    "monte_carlo",
    "parse_distribution",
    "rbd_fast",
    "summarise",
]
