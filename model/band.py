"""The headline band: each KPI's P10-P90 range from a Monte Carlo of the scenario as set.

The dashboard shows, on every KPI card, the range the Uncertainty tab's simulation gives that
number, so the headline never contradicts the tab without saying so. It is the same simulation
(:func:`model.uncertainty.monte_carlo` with the sourced distributions of
``data/distributions.toml``, their correlations and ``follow`` rules), with fewer draws
(:data:`HEADLINE_DRAWS`) so it reruns on every input change, and the same seed every time
(common random numbers): the band moves only when an input moves. Methodology §9 (Headline band).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from model.metrics import format_metric
from model.results import evaluate_batch
from model.scenario import Scenario
from model.uncertainty import (
    DEFAULT_SEED,
    DISTRIBUTIONS_FILE,
    DefaultDistributions,
    _explain_gap,
    _gap_table,
    column_stats,
    default_distributions,
    sample_inputs,
    summarise,
)

FloatArray = NDArray[np.float64]

#: Draws of the headline band (the Uncertainty tab's default run has 10,000): the issue's floor of
#: 2,000, about 0.05-0.09 s of one core on the project's 2-core machine (4,000 took 0.13-0.2 s,
#: too much of the 0.4 s a slider move may take with the browser's drawing on the same cores).
HEADLINE_DRAWS = 2_000
#: Percentiles of each band.
BAND_PERCENTILES: tuple[int, ...] = (10, 25, 50, 75, 90)
#: The KPIs that carry a band, in the order the dashboard shows them.
KPI_METRICS: tuple[str, ...] = (
    "npv_busd",
    "irr",
    "payback_years",
    "roic",
    "npv_per_share_usd",
    "breakeven_lease_rate_busd_per_gw_year",
    "equity_irr",
    "npv_equity_busd",
    "min_dscr",
)
#: Metrics whose undefined value means "never" (the worst end), not "no value".
NEVER_METRICS: frozenset[str] = frozenset({"payback_years"})
#: Inputs named as pulling the point estimate away from the middle of the draws (at most).
MAX_PULLS = 3
#: An input is named only if its own effect is at least this share of the largest one.
PULL_SHARE = 0.25
BREAKEVEN = "breakeven_lease_rate_busd_per_gw_year"
NPV = "npv_busd"


def band_percentiles(values: FloatArray, never: bool = False) -> tuple[float, ...]:
    """P10, P25, P50, P75, P90 of ``values`` (numpy's linear method over defined values).

    With ``never`` an undefined value (NaN) counts as +infinity (a payback that never comes):
    a percentile whose rank falls among those draws is ``inf``; otherwise NaN draws are left out.
    No defined value gives NaN throughout.

    Examples
    --------
    >>> band_percentiles(np.array([1.0, 2.0, 3.0, 4.0, np.nan]))
    (1.3, 1.75, 2.5, 3.25, 3.7)
    >>> band_percentiles(np.array([1.0, 2.0, np.nan, np.nan, np.nan]), never=True)[:3]
    (1.4, 2.0, inf)
    """
    v = np.sort(values[np.isfinite(values)])
    if not v.size:
        return tuple(math.nan for _ in BAND_PERCENTILES)
    if not never:
        return tuple(float(x) for x in np.percentile(v, BAND_PERCENTILES))
    n = values.size
    out = []
    for p in BAND_PERCENTILES:
        pos = p / 100 * (n - 1)  # rank in all draws, undefined ones last
        lo = math.floor(pos)
        if math.ceil(pos) >= v.size:
            out.append(math.inf)
        else:
            out.append(float(v[lo] + (pos - lo) * (v[math.ceil(pos)] - v[lo])))
    return tuple(out)


@dataclass(frozen=True)
class MetricBand:
    """One KPI's percentiles over the draws (the model's unit; ``inf`` = never, NaN = none)."""

    metric: str
    p10: float
    p25: float
    p50: float
    p75: float
    p90: float
    defined_share: float

    def text(self) -> str:
        """``P10–P90: -US$ 49.6 B to US$ 12.8 B``, with the share of draws where it is defined.

        Examples
        --------
        >>> MetricBand("irr", 0.015, 0.04, 0.067, 0.09, 0.102, 0.97).text()
        'P10–P90: 1.5% to 10.2% (defined in 97% of draws)'
        """
        if not math.isfinite(self.p10):
            return "P10–P90: n/a (undefined in every draw)"
        text = f"P10–P90: {_fmt(self.metric, self.p10)} to {_fmt(self.metric, self.p90)}"
        if self.defined_share < 0.995 and self.metric not in NEVER_METRICS:
            text += f" (defined in {self.defined_share * 100:.0f}% of draws)"
        return text

    def position(self, point: float | None) -> str:
        """Where ``point`` sits against the P25-P75 range: ``below``, ``above``, ``within``
        (``within`` also when either side is undefined)."""
        if point is None or not (math.isfinite(point) and math.isfinite(self.p25)):
            return "within"
        if point < self.p25:
            return "below"
        if point > self.p75:
            return "above"
        return "within"


def _fmt(metric: str, value: float) -> str:
    if metric in NEVER_METRICS and value == math.inf:
        return "never"
    return format_metric(metric, value)


@dataclass(frozen=True)
class Pull:
    """An input whose distribution averages away from its value as set, moving NPV on its own."""

    label: str
    as_set_text: str
    mean_text: str
    effect_busd: float


@dataclass(frozen=True)
class HeadlineBand:
    """The KPIs' bands for one scenario, the chance of value created, and why NPV sits where it does.

    Attributes
    ----------
    bands : dict
        Metric name -> :class:`MetricBand`, for every metric of :data:`KPI_METRICS` (the
        breakeven lease rate only where the scenario leases).
    prob_npv_positive : float
        Share of draws with NPV > 0.
    npv_point_busd : float
        NPV of the scenario as set (the KPI's value).
    pulls : tuple of Pull
        The inputs (at most :data:`MAX_PULLS`) that pull NPV from the point estimate towards
        the draws' median, largest first, from the Uncertainty tab's gap attribution
        (:class:`model.uncertainty.GapExplanation`).
    gap_reason : str
        That attribution's one-line reason.
    n, seed : int
        Draws and seed.
    """

    bands: dict[str, MetricBand]
    prob_npv_positive: float
    npv_point_busd: float
    pulls: tuple[Pull, ...]
    gap_reason: str
    n: int
    seed: int

    def npv_outside_text(self) -> str | None:
        """A plain sentence when the NPV as set lies outside its P25-P75 range, else None."""
        b = self.bands["npv_busd"]
        side = b.position(self.npv_point_busd)
        if side == "within":
            return None
        m = "npv_busd"
        head = (
            f"The point estimate is {side} the middle half of simulated outcomes "
            f"(NPV P25–P75 {format_metric(m, b.p25)} to {format_metric(m, b.p75)}; "
            f"{self.prob_npv_positive * 100:.0f}% chance that NPV > 0)"
        )
        if not self.pulls:
            return f"{head}. {self.gap_reason}"
        way = "lower" if side == "above" else "higher"
        named = [
            f"{p.label} ({p.mean_text} vs {p.as_set_text}, "
            f"{format_metric(m, p.effect_busd, signed=True)} alone)"
            for p in self.pulls
        ]
        listed = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
        return f"{head}: the sourced ranges average {way} than set for {listed}."


@functools.lru_cache(maxsize=2)
def _default_distributions(mtime_ns: int) -> DefaultDistributions:
    """:func:`~model.uncertainty.default_distributions`, read again only when the file changes
    (``mtime_ns``): the band reruns on every input change, the file is parsed once."""
    return default_distributions()


def headline_band(
    scenario: Scenario, n: int = HEADLINE_DRAWS, seed: int = DEFAULT_SEED
) -> HeadlineBand:
    """Every KPI's P10-P90 range and P(NPV > 0) from a Monte Carlo of ``scenario``.

    Parameters
    ----------
    scenario : Scenario
        The scenario as set; the distributions follow it (as on the Uncertainty tab).
    n : int
        Draws (default :data:`HEADLINE_DRAWS`).
    seed : int
        Seed: the same for every scenario, so two scenarios are compared on the same random
        numbers (common random numbers) and the band moves only with the inputs.

    Returns
    -------
    HeadlineBand

    Notes
    -----
    The draws are those of :func:`model.uncertainty.monte_carlo` ``(scenario, n=n, seed=seed)``
    (the sourced distributions and correlations, following the scenario), drawn with its
    :func:`~model.uncertainty.sample_inputs` and evaluated once with
    :func:`model.evaluate_batch` (with the breakeven lease rate where something is leased), so
    the run's driver ranking, which the band does not show, is not computed. Percentiles are
    numpy's linear ones over the draws where the metric is defined (:func:`band_percentiles`;
    an undefined payback counts as never). The pulls come from the Uncertainty tab's gap
    attribution on these draws: the inputs whose effect on NPV (moving that input alone from
    its value as set to the average of its draws) has the sign of ``P50 - point``, largest
    first, each at least :data:`PULL_SHARE` of the largest. Methodology §9 (Headline band).

    Examples
    --------
    >>> from model import load_preset
    >>> band = headline_band(load_preset("bofa-base"), n=2_000)
    >>> band.bands["npv_busd"].position(band.npv_point_busd)  # as set: full use, long IT life
    'above'
    >>> sorted(band.bands) == sorted(KPI_METRICS)
    True
    """
    d = _default_distributions(DISTRIBUTIONS_FILE.stat().st_mtime_ns)
    inputs, dists, _ = sample_inputs(scenario, d.distributions, n, seed, d.correlation)
    fields = list(dists)
    # one evaluation gives every metric and, where something is leased, the breakeven rate
    leased = scenario.lease_share > 0
    metrics = evaluate_batch(inputs, scenario, breakeven=leased)
    columns: dict[str, FloatArray] = {
        m: metrics[m].to_numpy(dtype=np.float64) for m in KPI_METRICS if m in metrics
    }
    if not leased:
        columns[BREAKEVEN] = np.full(n, np.nan)
    bands: dict[str, MetricBand] = {}
    for m in KPI_METRICS:
        v = columns[m]
        p10, p25, p50, p75, p90 = band_percentiles(v, never=m in NEVER_METRICS)
        defined = float(np.count_nonzero(np.isfinite(v)) / v.size)
        bands[m] = MetricBand(m, p10, p25, p50, p75, p90, defined)
    # the Uncertainty tab's gap attribution, on these draws
    stats = {f: column_stats(inputs[f].to_numpy(dtype=np.float64)) for f in fields}
    stats[NPV] = column_stats(columns[NPV])
    gap_rows = evaluate_batch(_gap_table(scenario, fields, stats), scenario)
    summary = summarise(metrics, (NPV,), {NPV: float(gap_rows[NPV].iloc[0])}, stats)
    gap = _explain_gap(stats, scenario, fields, NPV, summary, gap_rows)
    direction = gap.p50 - gap.point
    pulls: list[Pull] = []
    if math.isfinite(direction) and direction != 0:
        rows = [
            r
            for _, r in gap.inputs.iterrows()
            if math.isfinite(float(r["effect"])) and float(r["effect"]) * direction > 0
        ]
        if rows:
            largest = abs(float(rows[0]["effect"]))
            pulls = [
                Pull(
                    str(r["label"]), str(r["as_set_text"]), str(r["mean_text"]), float(r["effect"])
                )
                for r in rows[:MAX_PULLS]
                if abs(float(r["effect"])) >= PULL_SHARE * largest
            ]
    return HeadlineBand(
        bands=bands,
        prob_npv_positive=float(stats[NPV]["prob_above_zero"]),
        npv_point_busd=float(gap.point),
        pulls=tuple(pulls),
        gap_reason=gap.reason,
        n=n,
        seed=int(seed),
    )


__all__ = [
    "BAND_PERCENTILES",
    "HEADLINE_DRAWS",
    "KPI_METRICS",
    "HeadlineBand",
    "MetricBand",
    "Pull",
    "band_percentiles",
    "headline_band",
]
