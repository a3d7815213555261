"""The Monte Carlo's statistics: numpy's linear percentiles by selection, the summary per metric,
and the explanation of the gap between the point estimate and the median (methodology §9).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from model.fields import FIELD_SPECS, INTEGER_FIELDS
from model.results import BATCH_METRICS, METRIC_UNITS, evaluate_batch
from model.scenario import Scenario
from model.sensitivity import SHARE_FIELDS
from model.uncertainty.common import (
    PERCENTILES,
    format_field,
    format_metric,
    is_percent_field,
    metric_label,
)

FloatArray = NDArray[np.float64]


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


def _cell(summary: pd.DataFrame, metric: str, column: str) -> float:
    """One number of a summary (metric row, column) as a float."""
    return float(summary[column].to_numpy(dtype=np.float64)[summary.index.get_loc(metric)])


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
