"""Sensitivity analysis: tornado swings, 2-D grids and breakeven (goal seek), all via evaluate_batch.

* :func:`tornado` moves one input at a time to the low and high ends of a range (default: the
  sourced ranges in ``data/ranges.csv``) and reports the metric at each end.
* :func:`grid` sweeps two inputs over a grid of values; each cell equals :func:`model.evaluate`.
* :func:`breakeven` finds the value of one input at which a metric reaches a target (for example
  the lease rate at which NPV = 0, or the capex per GW at which IRR = WACC).

Constraints of the model are respected: values are kept within each field's bounds and
``lease_share + hosting_share <= 1``; where a requested value breaks one, it is clipped and the
clipping is reported (never silently).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import brentq

from model.data import default_ranges
from model.fields import (
    FIELD_SPECS,
    INTEGER_FIELDS,
    format_field_range,
    format_field_value,
)
from model.results import BATCH_METRICS, METRIC_UNITS, evaluate_batch
from model.scenario import Scenario, ScenarioError, show_text, unknown_field_message

FloatArray = NDArray[np.float64]

#: The two shares of owned capacity that must sum to at most 1.
SHARE_FIELDS: tuple[str, str] = ("lease_share", "hosting_share")
#: Largest grid :func:`grid` accepts (cells): 200 x 200, about 0.5 s and 300 MB here; the
#: dashboard asks for at most 50 x 50 (docs/deploy.md, per-session limits).
MAX_GRID_CELLS = 40_000
#: Points of the bracket scan of :func:`breakeven` over a continuous field's bounds.
BREAKEVEN_SCAN_POINTS = 257
#: Edge refinement of :func:`breakeven` (where the metric turns undefined): parts per split,
#: rounds of splitting, and most edges refined per round.
BREAKEVEN_EDGE_SPLIT = 32
BREAKEVEN_EDGE_ROUNDS = 3
BREAKEVEN_MAX_EDGES = 512
#: |metric - target| that :func:`breakeven` guarantees at a reported root.
BREAKEVEN_TOLERANCE = 1e-6

# ---- shared checks (also used by model.uncertainty and model.stress) -------------------------


def check_field(name: object, what: str = "field") -> str:
    """Return ``name`` if it is a scenario input, else raise ScenarioError naming close names."""
    if not isinstance(name, str) or name not in FIELD_SPECS:
        shown = name if isinstance(name, str) else show_text(name)
        raise ScenarioError([f"{what}: {unknown_field_message(shown)}"])
    return name


def check_metric(metric: object) -> str:
    """Return ``metric`` if :func:`model.evaluate_batch` reports it, else raise ValueError."""
    if not isinstance(metric, str) or metric not in BATCH_METRICS:
        close = (
            difflib.get_close_matches(metric, BATCH_METRICS, n=1) if isinstance(metric, str) else []
        )
        hint = f"; did you mean {close[0]}?" if close else ""
        raise ValueError(
            f"metric = {show_text(metric)} is unknown (allowed: one of the "
            f"{len(BATCH_METRICS)} metrics of model.BATCH_METRICS, e.g. npv_busd, irr, "
            f"payback_years{hint})"
        )
    return metric


def check_finite(name: str, value: object, what: str) -> float:
    """``value`` as a finite float, or ValueError naming the field and what the value is.

    Never lets a raw exception through: an int too large for a float (``10**400``) is reported as
    out of range, text and other objects as not a number.
    """
    shown = show_text(value)
    if isinstance(value, (bool, np.bool_, str, bytes, complex)):
        raise ValueError(f"{name}: {what} = {shown} is not a number")
    try:
        x = float(value)  # type: ignore[arg-type]
    except OverflowError:
        raise ValueError(
            f"{name}: {what} = {shown} is out of range (too large for a number)"
        ) from None
    except (TypeError, ValueError):
        raise ValueError(f"{name}: {what} = {shown} is not a number") from None
    if not math.isfinite(x):
        raise ValueError(f"{name}: {what} = {shown} is not a finite number")
    return x


def check_scenario(scenario: object, what: str = "scenario") -> Scenario:
    """Return ``scenario`` if it is a :class:`Scenario`, else raise ScenarioError naming it."""
    if not isinstance(scenario, Scenario):
        raise ScenarioError(
            [
                f"{what} = {show_text(scenario)} is not a Scenario (build one with "
                "model.make_scenario or model.load_preset)"
            ]
        )
    return scenario


def other_share(name: str) -> str:
    """The other field of :data:`SHARE_FIELDS`."""
    return SHARE_FIELDS[1] if name == SHARE_FIELDS[0] else SHARE_FIELDS[0]


def upper_limit(scenario: Scenario, name: str) -> float:
    """Largest allowed value of ``name`` in ``scenario``: its bound, or 1 - the other share."""
    high = FIELD_SPECS[name].high
    if name in SHARE_FIELDS:
        high = min(high, 1.0 - float(getattr(scenario, other_share(name))))
    return high


def clip_to_domain(scenario: Scenario, name: str, value: float) -> tuple[float, str]:
    """Clip one value of ``name`` into the model's domain given ``scenario``; say why.

    Returns the value to use and a note ('' when nothing changed). Integer fields are rounded
    to the nearest whole number; shares are limited by ``lease_share + hosting_share <= 1``.
    """
    spec = FIELD_SPECS[name]
    notes: list[str] = []
    x = float(value)

    def text(v: float) -> str:
        return format_field_value(name, v)

    if name in INTEGER_FIELDS and x != round(x):
        x = float(round(x))
        notes.append(f"{value:g} rounded to {x:g} (whole {spec.unit})")
    cap = upper_limit(scenario, name)
    if x < spec.low:
        notes.append(f"{text(x)} clipped to {text(spec.low)} (allowed {format_field_range(name)})")
        x = spec.low
    elif x > cap:
        if cap < spec.high:
            other = other_share(name)
            notes.append(
                f"{text(x)} clipped to {text(cap)} (leased and hosted shares add up to at most "
                f"100%, with {FIELD_SPECS[other].label} at "
                f"{format_field_value(other, float(getattr(scenario, other)))})"
            )
        else:
            notes.append(f"{text(x)} clipped to {text(cap)} (allowed {format_field_range(name)})")
        x = cap
    return x, "; ".join(notes)


def _metric_values(table: Mapping[str, ArrayLike], scenario: Scenario, metric: str) -> FloatArray:
    frame = pd.DataFrame({k: np.asarray(v, dtype=np.float64) for k, v in table.items()})
    out = evaluate_batch(frame, scenario)[metric].to_numpy(dtype=np.float64)
    return np.asarray(out, dtype=np.float64)


# ---- tornado ---------------------------------------------------------------------------------


def tornado(
    scenario: Scenario,
    ranges: Mapping[str, Sequence[object]] | None = None,
    metric: str = "npv_busd",
) -> pd.DataFrame:
    """One-at-a-time swings of ``metric`` as each input moves to the low and high end of a range.

    Parameters
    ----------
    scenario : Scenario
        The scenario as set; every other input stays at its value.
    ranges : mapping of field -> (low, high) or (low, high, source), optional
        Default: the sourced ranges of ``data/ranges.csv`` (:func:`model.default_ranges`).
    metric : str
        A column of :func:`model.evaluate_batch` (default NPV, US$ B).

    Returns
    -------
    DataFrame
        Columns ``field, low, high, metric_low, metric_high, swing`` (``swing = metric_high -
        metric_low`` in the metric's unit) plus ``label, unit, base, metric_base, clipped, note,
        source``; sorted by absolute swing (undefined swings last). ``clipped`` is True where a
        range end was moved into the model's domain and ``note`` says how. ``attrs`` holds
        ``metric``, ``metric_unit`` and ``metric_base``.

    Raises
    ------
    ScenarioError, ValueError
        Unknown field or metric; a low or high that is not a finite number, or low > high.

    Examples
    --------
    The inputs that move NPV most across their sourced ranges (US$ B), largest swing first:

    >>> from model import load_preset
    >>> t = tornado(load_preset("bofa-base"))
    >>> [(r.field, round(r.metric_low, 1), round(r.metric_high, 1)) for r in t.head(2).itertuples()]
    [('lease_rate_busd_per_gw_year', -21.3, 68.9), ('it_life_years', -47.9, 33.4)]
    """
    check_scenario(scenario)
    check_metric(metric)
    if ranges is None:
        raw: dict[str, tuple[object, object, str]] = {
            k: (lo, hi, src) for k, (lo, hi, src) in default_ranges().items()
        }
    else:
        if not isinstance(ranges, Mapping):
            raise ValueError(
                f"ranges = {show_text(ranges)} must map each field to (low, high) or "
                "(low, high, source)"
            )
        raw = {}
        for name, rng in ranges.items():
            check_field(name, "ranges")
            if not isinstance(rng, (tuple, list, np.ndarray)) or len(rng) not in (2, 3):
                raise ValueError(
                    f"ranges[{name!r}] = {show_text(rng)} must be (low, high) or "
                    "(low, high, source)"
                )
            raw[name] = (rng[0], rng[1], str(rng[2])[:200] if len(rng) == 3 else "given")
    if not raw:
        raise ValueError("ranges is empty: give at least one field with (low, high)")
    base_values = scenario.model_dump()
    names = list(raw)
    rows: list[dict[str, object]] = []
    for name in names:
        lo_raw, hi_raw, src = raw[name]
        lo = check_finite(name, lo_raw, "low")
        hi = check_finite(name, hi_raw, "high")
        if lo > hi:
            raise ValueError(f"{name}: low = {lo:g} is above high = {hi:g} (allowed: low <= high)")
        lo_c, lo_note = clip_to_domain(scenario, name, lo)
        hi_c, hi_note = clip_to_domain(scenario, name, hi)
        notes = [f"low {lo_note}" if lo_note else "", f"high {hi_note}" if hi_note else ""]
        spec = FIELD_SPECS[name]
        rows.append(
            {
                "field": name,
                "label": spec.label,
                "unit": spec.unit,
                "base": float(base_values[name]),
                "low": lo_c,
                "high": hi_c,
                "clipped": bool(lo_note or hi_note),
                "note": "; ".join(n for n in notes if n),
                "source": src,
            }
        )
    k = len(names)
    # rows 0..k-1 at the low ends, k..2k-1 at the high ends, 2k the scenario as set
    table = {n: np.full(2 * k + 1, float(base_values[n])) for n in names}
    for i, row in enumerate(rows):
        table[names[i]][i] = float(row["low"])  # type: ignore[arg-type]
        table[names[i]][k + i] = float(row["high"])  # type: ignore[arg-type]
    values = _metric_values(table, scenario, metric)
    out = pd.DataFrame(rows)
    out["metric_low"] = values[:k]
    out["metric_high"] = values[k : 2 * k]
    out["metric_base"] = values[2 * k]
    out["swing"] = out["metric_high"] - out["metric_low"]
    order = np.argsort(-np.nan_to_num(np.abs(out["swing"].to_numpy()), nan=-1.0), kind="stable")
    out = out.iloc[order].reset_index(drop=True)
    cols = ["field", "low", "high", "metric_low", "metric_high", "swing"]
    out = out[cols + [c for c in out.columns if c not in cols]]
    out.attrs.update(
        metric=metric, metric_unit=METRIC_UNITS.get(metric, ""), metric_base=float(values[2 * k])
    )
    return out


# ---- grid ------------------------------------------------------------------------------------


def _as_values(name: str, values: ArrayLike, what: str) -> NDArray[np.object_]:
    """``values`` as a 1-D object array (a scalar is one value); ValueError naming ``what``."""
    if isinstance(values, (str, bytes, Mapping)) or values is None:
        raise ValueError(f"{what}: {name} values = {show_text(values)} is not a list of numbers")
    try:
        arr = np.asarray(values, dtype=object)
    except (TypeError, ValueError):
        raise ValueError(
            f"{what}: {name} values = {show_text(values)} is not a list of numbers"
        ) from None
    if arr.ndim > 1:
        raise ValueError(f"{what}: {name} values must be a flat list ({arr.ndim}-D given)")
    arr = arr.ravel()
    if arr.size == 0:
        raise ValueError(f"{what}: no values given for {name}")
    return arr


def _check_values(name: str, values: ArrayLike, what: str) -> FloatArray:
    arr = _as_values(name, values, what)
    out = np.array([check_finite(name, v, what) for v in arr], dtype=np.float64)
    spec = FIELD_SPECS[name]
    bad = (out < spec.low) | (out > spec.high)
    if name in INTEGER_FIELDS:
        bad |= out != np.round(out)
    if bad.any():
        v = out[int(np.argmax(bad))]
        kind = "a whole number" if name in INTEGER_FIELDS else "a number"
        raise ValueError(
            f"{what}: {name} = {v:g} is not allowed (allowed: {kind} from {spec.range_text()})"
        )
    return out


def grid(
    scenario: Scenario,
    x_field: str,
    x_values: ArrayLike,
    y_field: str,
    y_values: ArrayLike,
    metric: str = "npv_busd",
) -> pd.DataFrame:
    """``metric`` over a 2-D grid of two inputs; every other input as in ``scenario``.

    Returns
    -------
    DataFrame
        Index: ``y_values`` (named ``y_field``); columns: ``x_values`` (named ``x_field``); each
        cell equals ``evaluate(scenario.replace(x_field=x, y_field=y))``'s metric. Cells that break
        ``lease_share + hosting_share <= 1`` are NaN and counted in ``attrs["infeasible_cells"]``.
        One :func:`model.evaluate_batch` call for the whole grid.

    Examples
    --------
    NPV (US$ B) over GW built (columns) and WACC (rows):

    >>> from model import load_preset
    >>> g = grid(load_preset("bofa-base"), "gw_built", [2.0, 4.0], "wacc", [0.08, 0.10])
    >>> g.round(1).values.tolist(), g.attrs["infeasible_cells"]
    ([[20.7, 41.4], [7.7, 15.3]], 0)
    """
    check_scenario(scenario)
    check_field(x_field, "x_field")
    check_field(y_field, "y_field")
    check_metric(metric)
    if x_field == y_field:
        raise ValueError(f"x_field and y_field are both {x_field!r}: choose two different inputs")
    # sizes first: a huge grid is refused before any value is read
    nx = _as_values(x_field, x_values, "x_values").size
    ny = _as_values(y_field, y_values, "y_values").size
    if nx * ny > MAX_GRID_CELLS:
        raise ValueError(
            f"grid of {ny:,} x {nx:,} = {nx * ny:,} cells is too large "
            f"(allowed: at most {MAX_GRID_CELLS:,} cells per grid, e.g. 200 x 200)"
        )
    xs = _check_values(x_field, x_values, "x_values")
    ys = _check_values(y_field, y_values, "y_values")
    xx, yy = np.meshgrid(xs, ys)  # shape (len(ys), len(xs))
    cols = {x_field: xx.ravel(), y_field: yy.ravel()}
    lease = cols.get("lease_share", np.full(xx.size, scenario.lease_share))
    hosting = cols.get("hosting_share", np.full(xx.size, scenario.hosting_share))
    feasible = lease + hosting <= 1.0 + 1e-9
    values = np.full(xx.size, np.nan)
    if feasible.any():
        values[feasible] = _metric_values(
            {k: v[feasible] for k, v in cols.items()}, scenario, metric
        )
    out = pd.DataFrame(
        values.reshape(xx.shape),
        index=pd.Index(ys, name=y_field),
        columns=pd.Index(xs, name=x_field),
    )
    out.attrs.update(
        metric=metric,
        metric_unit=METRIC_UNITS.get(metric, ""),
        infeasible_cells=int((~feasible).sum()),
    )
    return out


# ---- breakeven -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Breakeven:
    """The value of ``field`` at which ``metric`` equals ``target`` (goal seek).

    ``value`` is None when no value within the field's bounds reaches the target exactly;
    ``reason`` then says why (the metric stays on one side, jumps across it, or the field is a
    whole number), and ``bracket`` gives the two values around the crossing where there is one.
    """

    field: str
    metric: str
    target: float
    value: float | None
    metric_at_value: float | None
    reason: str
    search_low: float
    search_high: float
    current_value: float
    current_metric: float
    bracket: tuple[float, float] | None = None
    crossings: int = 0


def _refine_edges(
    xs: FloatArray, values: FloatArray, scenario: Scenario, field: str, metric: str
) -> tuple[FloatArray, FloatArray]:
    """Add scan points around every edge between a defined and an undefined stretch.

    Where the metric is defined at one scan point and undefined (NaN) at the next, a crossing
    can hide between the last defined point and the edge (an IRR that falls towards -100% just
    before it stops existing, a payback that lengthens until it never comes). Each such interval
    is split into :data:`BREAKEVEN_EDGE_SPLIT` parts, the new edge is split again, and so on for
    :data:`BREAKEVEN_EDGE_ROUNDS` rounds (the edge is then located to 1/32,768 of the scan
    spacing); each round is one :func:`model.evaluate_batch` call.
    """
    frac = np.arange(1, BREAKEVEN_EDGE_SPLIT, dtype=np.float64) / BREAKEVEN_EDGE_SPLIT
    for _ in range(BREAKEVEN_EDGE_ROUNDS):
        finite = np.isfinite(values)
        edges = np.flatnonzero(finite[:-1] != finite[1:])[:BREAKEVEN_MAX_EDGES]
        if edges.size == 0:
            break
        a, b = xs[edges], xs[edges + 1]
        extra = np.unique((a[:, None] + (b - a)[:, None] * frac[None, :]).ravel())
        extra = extra[~np.isin(extra, xs)]
        if extra.size == 0:
            break
        more = _metric_values({field: extra}, scenario, metric)
        all_x = np.concatenate([xs, extra])
        order = np.argsort(all_x, kind="stable")
        xs, values = all_x[order], np.concatenate([values, more])[order]
    return xs, values


def _fmt(x: float) -> str:
    return f"{x:,.6g}"


def breakeven(
    scenario: Scenario,
    field: str,
    metric: str = "npv_busd",
    target: float = 0.0,
) -> Breakeven:
    """Goal seek: the value of ``field`` (within its bounds) at which ``metric`` equals ``target``.

    Method: one vectorised scan of the field's range through :func:`model.evaluate_batch`
    (:data:`BREAKEVEN_SCAN_POINTS` points plus the current value) brackets every sign change of
    ``metric - target``; the crossing nearest the scenario's current value is refined with
    :func:`scipy.optimize.brentq`, and the result is checked to reach the target within
    :data:`BREAKEVEN_TOLERANCE`. Whole-number fields are scanned at every whole number.
    Crossings closer together than the scan spacing can be missed.

    Examples
    --------
    The capex per GW at which NPV falls to 0 (US$ B per GW; the scenario has 42.5):

    >>> from model import load_preset
    >>> be = breakeven(load_preset("bofa-base"), "capex_per_gw_busd")
    >>> round(be.value, 2), be.crossings, abs(be.metric_at_value) <= BREAKEVEN_TOLERANCE
    (47.78, 1, True)
    """
    check_scenario(scenario)
    check_field(field)
    check_metric(metric)
    tgt = check_finite(metric, target, "target")
    spec = FIELD_SPECS[field]
    lo, hi = spec.low, upper_limit(scenario, field)
    current = float(getattr(scenario, field))
    unit = spec.unit
    munit = METRIC_UNITS.get(metric, "")
    if field in INTEGER_FIELDS:
        xs = np.arange(math.ceil(lo), math.floor(hi) + 1, dtype=np.float64)
    else:
        xs = np.unique(np.append(np.linspace(lo, hi, BREAKEVEN_SCAN_POINTS), current))
    values = _metric_values({field: xs}, scenario, metric)
    if field not in INTEGER_FIELDS:
        xs, values = _refine_edges(xs, values, scenario, field, metric)
    current_metric = float(values[int(np.argmin(np.abs(xs - current)))])
    g = values - tgt

    def result(
        value: float | None,
        at: float | None,
        reason: str,
        bracket: tuple[float, float] | None = None,
        crossings: int = 0,
    ) -> Breakeven:
        return Breakeven(
            field,
            metric,
            tgt,
            value,
            at,
            reason,
            lo,
            hi,
            current,
            current_metric,
            bracket,
            crossings,
        )

    finite = np.isfinite(g)
    where = f"{field} from {_fmt(lo)} to {_fmt(hi)} {unit}"
    if not finite.any():
        return result(None, None, f"{metric} is undefined for every {where}")
    exact = np.flatnonzero(finite & (np.abs(g) <= BREAKEVEN_TOLERANCE / 10))
    both = finite[:-1] & finite[1:]
    change = both & (np.signbit(g[:-1]) != np.signbit(g[1:]))
    change &= ~(np.abs(g[:-1]) <= BREAKEVEN_TOLERANCE / 10)  # an exact hit is not also a bracket
    starts = np.flatnonzero(change)
    n_cross = int(exact.size + starts.size)
    if n_cross == 0:
        gf = g[finite]
        side = "above" if gf.min() > 0 else "below"
        i_near = int(np.flatnonzero(finite)[np.argmin(np.abs(gf))])
        gaps = "" if finite.all() else f" (undefined at {int((~finite).sum())} scanned values)"
        if np.ptp(gf) == 0:
            return result(
                None,
                None,
                f"{metric} does not change with {field}: it stays at {_fmt(values[i_near])} "
                f"{munit} for every {where}{gaps}",
            )
        return result(
            None,
            None,
            f"{metric} stays {side} {_fmt(tgt)} {munit} for every {where}{gaps}; closest: "
            f"{_fmt(values[i_near])} at {field} = {_fmt(xs[i_near])}",
        )
    # candidates: exact hits and brackets; take the one nearest the current value
    cands: list[tuple[float, int, bool]] = [(abs(xs[i] - current), int(i), True) for i in exact]
    cands += [(abs(0.5 * (xs[i] + xs[i + 1]) - current), int(i), False) for i in starts]
    _, i, is_exact = min(cands)
    more = (
        f" ({n_cross} crossings within the bounds; the one nearest the current value "
        f"{_fmt(current)} is shown)"
        if n_cross > 1
        else ""
    )
    if is_exact:
        x = float(xs[i])
        return result(
            x,
            float(values[i]),
            f"{metric} = {_fmt(tgt)} {munit} at {field} = {_fmt(x)} {unit}{more}",
            crossings=n_cross,
        )
    a, b = float(xs[i]), float(xs[i + 1])
    if field in INTEGER_FIELDS:
        return result(
            None,
            None,
            f"{field} is a whole number: {metric} crosses {_fmt(tgt)} between {_fmt(a)} "
            f"({_fmt(values[i])}) and {_fmt(b)} ({_fmt(values[i + 1])}) {unit}, and no whole "
            f"number gives it exactly{more}",
            (a, b),
            n_cross,
        )

    def f(x: float) -> float:
        return float(_metric_values({field: [x]}, scenario, metric)[0]) - tgt

    root = float(brentq(f, a, b, xtol=1e-13, rtol=4 * np.finfo(float).eps, maxiter=200))
    at = f(root) + tgt
    if not (math.isfinite(at) and abs(at - tgt) <= BREAKEVEN_TOLERANCE):
        return result(
            None,
            None,
            f"{metric} jumps across {_fmt(tgt)} {munit} at {field} ≈ {_fmt(root)} {unit} "
            f"(the model is discontinuous there, e.g. an IT refresh moves to another year): "
            f"no value gives the target exactly{more}",
            (a, b),
            n_cross,
        )
    return result(
        root,
        at,
        f"{metric} = {_fmt(tgt)} {munit} at {field} = {_fmt(root)} {unit}{more}",
        (a, b),
        n_cross,
    )


__all__ = [
    "BREAKEVEN_TOLERANCE",
    "Breakeven",
    "breakeven",
    "check_scenario",
    "clip_to_domain",
    "grid",
    "tornado",
]
