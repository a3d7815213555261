"""The Monte Carlo's input distributions: parsing and checking a spec, the five kinds and how
each follows the scenario, the Gaussian copula's correlation matrix, and the sourced defaults of
``data/distributions.toml`` (methodology §9, Monte Carlo).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import special

from model.data import DATA_DIR, assumptions
from model.fields import FIELD_SPECS
from model.scenario import Scenario
from model.sensitivity import check_field
from model.uncertainty.common import (
    MonteCarloError,
    _number,
    _short,
    format_field,
    is_percent_field,
)

FloatArray = NDArray[np.float64]


KINDS: tuple[str, ...] = ("uniform", "triangular", "normal", "lognormal", "pert")
#: How a distribution follows the scenario: scaled by value / reference, shifted by
#: value - reference, or used as given.
FOLLOW: tuple[str, ...] = ("scale", "shift", "absolute")
#: z of the 95th percentile: normal/lognormal low/high are mu -/+ Z95 sigma.
Z95 = float(special.ndtri(0.95))


#: Probability mass past a bound below which truncation is not worth a note (normal tails).
TRUNCATION_NOTE_MASS = 1e-6


#: Points of the Beta CDF table that PERT quantiles interpolate (dense near 0 and 1).
PERT_TABLE_POINTS = 8_193


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


DISTRIBUTIONS_FILE = DATA_DIR / "distributions.toml"


@dataclass(frozen=True)
class DefaultDistributions:
    """Sourced defaults of ``data/distributions.toml``: distributions, correlations, sources."""

    distributions: dict[str, dict[str, float | str]]
    correlation: dict[tuple[str, str], float]
    sources: dict[str, str]


def default_distributions(scenario: Scenario | None = None) -> DefaultDistributions:
    """The default uncertain inputs (validated), their rank correlations and their sources.

    Each distribution carries ``follow`` and ``reference`` (how it follows the scenario).
    ``sources`` is keyed by field name, and by ``"a~b"`` for a correlation. With a ``scenario``
    that carries a counterparty default hazard, the ``[counterparty]`` draws (the quantile of the
    buyer's default time and token demand growth, rank-correlated) join them (methodology
    section 11.12); any other scenario gets the table as it is.
    """
    raw = tomllib.loads(DISTRIBUTIONS_FILE.read_text(encoding="utf-8"))
    d = _parse_defaults(raw)
    if scenario is None or not scenario.counterparty_default_rate_per_year > 0.0:
        return d
    extra = _parse_defaults(raw.get("counterparty", {}))
    return DefaultDistributions(
        {**d.distributions, **extra.distributions},
        {**d.correlation, **extra.correlation},
        {**d.sources, **extra.sources},
    )


def _parse_defaults(raw: dict[str, Any]) -> DefaultDistributions:
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
    d = default_distributions(scenario)
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
