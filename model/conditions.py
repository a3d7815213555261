"""The conditions a result carries: bounds that bind and numbers to read with care, said in words.

A result can be right and still mislead when read alone: a hosted share that the market-share cap
turns into leased capacity, a debt-service cover below one next to an attractive equity IRR, an
IRR that is one of several, a breakeven that no rate within the field's range reaches. This
module is the one list of them: :data:`CONDITIONS` names each with a stable code and says what
it means; :func:`conditions_of` returns the ones a result carries, each with a plain sentence and
the metrics it qualifies, so the dashboard, the command line and the exports show the same
words. Methodology §12 (Conditions).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from model.engine import curve_log_shifts, quoted_spot_index
from model.fields import FIELD_SPECS
from model.metrics import format_metric, metric_value
from model.results import Result, evaluate_batch, scenario_params

Severity = Literal["warning", "note"]

#: Every condition: code -> (severity, what it means). The codes are stable (files and tests
#: name them); the sentence a result carries (:func:`conditions_of`) adds its own numbers.
CONDITIONS: dict[str, tuple[Severity, str]] = {
    "hosting_cap_binds": (
        "warning",
        "The hosting market-share cap binds: part of the hosted capacity finds no buyers for its "
        "tokens and is leased instead (or idles below the market floor).",
    ),
    "dscr_negative": (
        "warning",
        "The minimum debt-service cover ratio is negative: in some year the project's cash "
        "before debt service is below zero, so the debt is serviced from elsewhere.",
    ),
    "dscr_below_one": (
        "warning",
        "The minimum debt-service cover ratio is below 1: in some year the project's cash does "
        "not cover its debt service.",
    ),
    "irr_undefined": ("warning", "The IRR is undefined: the cash flows never change sign."),
    "irr_multiple": (
        "warning",
        "The IRR is one of several: the NPV profile has more than one root, so read it with the "
        "MIRR and the NPV profile.",
    ),
    "irr_equals_wacc": (
        "note",
        "The IRR equals the cost of capital at the precision shown: the build just earns it.",
    ),
    "equity_irr_undefined": (
        "warning",
        "The equity IRR is undefined: the builder's cash flows never change sign.",
    ),
    "equity_irr_multiple": (
        "warning",
        "The equity IRR is one of several: read it with the NPV to equity.",
    ),
    "breakeven_outside_range": (
        "note",
        "No lease rate within the field's range brings NPV to zero: NPV stays on one side of "
        "zero at every rate, or jumps across it.",
    ),
    "payback_never": ("note", "Cumulative cash never turns positive within the horizon."),
    "market_ceiling_binds": (
        "note",
        "The market's lease rate sits at its ceiling (the cost of new capacity) for most of the "
        "horizon: stronger demand would not raise it.",
    ),
    "market_floor_binds": (
        "note",
        "The market's lease rate sits at its floor (the cash cost of running the hardware) for "
        "most of the horizon: weaker demand idles capacity instead of lowering it.",
    ),
    "curve_crosses_bound": (
        "warning",
        "A dated curve crosses the floor or ceiling in year(s) it gives: the analyst's rents are "
        "followed there, above the cost of new capacity with its scarcity premium (entrants "
        "would build) or below the cash cost of running the hardware (it would idle).",
    ),
}
#: A bound "binds for most of the horizon" when it holds in more than this share of operating years.
MOST_OF_HORIZON = 0.5
#: Relative gap below which a bounded rate counts as sitting at its bound.
BOUND_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Condition:
    """One condition a result carries.

    Attributes
    ----------
    code : str
        Stable code, a key of :data:`CONDITIONS`.
    severity : {"warning", "note"}
        A warning changes how a headline number reads; a note explains one.
    text : str
        One plain sentence with the result's own numbers (no field names).
    metrics : tuple of str
        The metrics it qualifies (names of :mod:`model.metrics`).
    """

    code: str
    severity: Severity
    text: str
    metrics: tuple[str, ...]


def compare_to(value: float, reference: float, metric: str = "irr") -> str:
    """``above``, ``below`` or ``equal to``, at the precision the metric is shown with.

    Examples
    --------
    >>> compare_to(0.06755, 0.0675), compare_to(0.0686, 0.0675), compare_to(0.0664, 0.0675)
    ('equal to', 'above', 'below')
    """
    a, b = metric_value(metric, value), metric_value(metric, reference)
    if a is None or b is None:
        return "not comparable to"
    digits = 1 if metric == "irr" else 2
    if format_metric(metric, value) == format_metric(metric, reference) or round(
        a, digits
    ) == round(b, digits):
        return "equal to"
    return "above" if a > b else "below"


def _operating(result: Result) -> np.ndarray:
    return np.asarray(result.market_columns["operating"], dtype=bool)


def frontier_before_bounds(result: Result) -> np.ndarray:
    """The market's frontier rent index before its floor and ceiling, per year (methodology §4.2).

    ``X = (D / K) ** (1 / eps_c) x (1 - h) ** -t`` (times today's spot rent against a quote of a
    contract's tenor, §4.6) from the market table's compute demand ``D``
    and industry capacity ``K`` at the start of each year ``t``; the bounded rent is
    ``min(max(X, floor), ceiling)``, so a rent below ``X`` is held down by the ceiling and one
    above it held up by the floor.
    """
    m, s = result.market_columns, result.scenario
    t = np.asarray(m["year"], dtype=np.float64)
    log_ratio = np.log(np.asarray(m["compute_demand_index"])) - np.log(
        np.asarray(m["industry_capacity_index"])
    )
    log_x = (
        log_ratio / s.compute_demand_elasticity - np.log1p(-s.hardware_cost_decline_per_year) * t
    )
    if s.lease_rate_tenor_years > 0:  # today's spot read from a contract's quote (§4.6)
        log_x = log_x + np.log(quoted_spot_index(scenario_params([s]))[0])
    return np.asarray(np.exp(log_x), dtype=np.float64)


def _bound_years(result: Result) -> tuple[int, int, int]:
    """Operating years with the rent held down by its ceiling, held up by its floor, and all.

    With a dated curve (methodology §4.8), the years it gives are the analyst's rents, not
    bounded (``curve_crosses_bound`` names those outside the bounds), so they are not counted;
    before and after them the frontier is the closed form rebased through the curve's ends.
    """
    m, s = result.market_columns, result.scenario
    op = _operating(result)
    x_all = frontier_before_bounds(result)
    if s.lease_curve is not None:
        first, last = s.lease_curve.years[0], s.lease_curve.years[-1]
        cal = s.first_year + np.asarray(m["year"], dtype=np.float64)
        lo, hi = curve_log_shifts(scenario_params([s]), s.lease_curve)
        x_all = x_all * np.exp(np.where(cal < first, lo[0], np.where(cal > last, hi[0], 0.0)))
        op = op & ((cal < first) | (cal > last))
    rent = np.asarray(m["lease_rate_index"], dtype=np.float64)[op]
    x = x_all[op]
    ceiling = np.asarray(m["lease_rate_ceiling_index"], dtype=np.float64)[op]
    floor = np.asarray(m["lease_rate_floor_index"], dtype=np.float64)[op]
    tol = BOUND_TOLERANCE * np.maximum(1.0, np.abs(rent))
    at_ceiling = (np.abs(rent - ceiling) <= tol) & (x > rent + tol)
    at_floor = (np.abs(rent - floor) <= tol) & (x < rent - tol)
    return int(at_ceiling.sum()), int(at_floor.sum()), int(op.sum())


def _year_list(years: list[int]) -> str:
    shown = ", ".join(str(y) for y in years[:8])
    return shown + (f" and {len(years) - 8} more" if len(years) > 8 else "")


def _curve_crossings(result: Result) -> str:
    """The sentence of ``curve_crosses_bound`` ('' where the curve stays within its bounds in
    every year of the horizon it gives; methodology section 4.8)."""
    curve = result.scenario.lease_curve
    if curve is None:
        return ""
    m = result.market_columns
    years = result.calendar_years
    given = (years >= curve.years[0]) & (years <= curve.years[-1])
    rent = np.asarray(m["lease_rate_index"], dtype=np.float64)
    tol = BOUND_TOLERANCE * np.maximum(1.0, np.abs(rent))
    above = given & (rent > np.asarray(m["lease_rate_ceiling_index"]) + tol)
    below = given & (rent < np.asarray(m["lease_rate_floor_index"]) - tol)
    parts = []
    if above.any():
        parts.append(
            "above the ceiling (the cost of new capacity, with any scarcity premium) in "
            f"{_year_list(years[above].tolist())}"
        )
    if below.any():
        parts.append(
            "below the floor (the cash cost of running the hardware) in "
            f"{_year_list(years[below].tolist())}"
        )
    if not parts:
        return ""
    return (
        "The dated lease-rate curve crosses the model's bounds: it is "
        + "; ".join(parts)
        + ". The curve is followed there as given (methodology 4.8); the closed form resumes "
        "from its ends."
    )


def _make(code: str, text: str, metrics: tuple[str, ...]) -> Condition:
    return Condition(code, CONDITIONS[code][0], text, metrics)


def _breakeven_outside_range(r: Result) -> Condition:
    """The ``breakeven_outside_range`` condition, its sentence from NPV at both ends of the
    lease rate's range (one two-row batch, only where the breakeven is None)."""
    spec = FIELD_SPECS["lease_rate_busd_per_gw_year"]
    ends = evaluate_batch(
        pd.DataFrame({"lease_rate_busd_per_gw_year": [spec.low, spec.high]}), r.scenario
    )["npv_busd"].to_numpy(dtype=np.float64)
    low, high = (format_metric("npv_busd", float(v)) for v in ends)
    span = f"from {spec.low:g} to {spec.high:g} US$ B per GW-year"
    at_ends = f"{low} at {spec.low:g}, {high} at {spec.high:g}"
    npv_signs = {bool(v > 0) for v in (*ends, r.npv_busd)}
    if npv_signs == {True}:
        why = f"NPV stays above zero at every lease rate {span} ({at_ends})"
    elif npv_signs == {False}:
        why = f"NPV stays below zero at every lease rate {span} ({at_ends})"
    else:
        why = (
            f"NPV jumps across zero between lease rates {span} without reaching it (the model "
            "is discontinuous there, e.g. capacity idles at the market's floor)"
        )
    return _make(
        "breakeven_outside_range",
        f"{why}, so the breakeven lease rate reads n/a.",
        ("breakeven_lease_rate_busd_per_gw_year",),
    )


def conditions_of(result: Result) -> list[Condition]:
    """The conditions ``result`` carries, warnings first, each with its own numbers.

    Parameters
    ----------
    result : Result
        An evaluation (:func:`model.evaluate`).

    Returns
    -------
    list of Condition
        Empty when nothing needs saying.

    Notes
    -----
    * ``hosting_cap_binds``: a hosted share above zero and ``hosting_capacity_used_share < 1``
      in an operating year (methodology §4.4); the unsold capacity is leased at spot.
    * ``dscr_negative`` / ``dscr_below_one``: ``min_dscr < 0`` / ``0 <= min_dscr < 1``
      (``DSCR_t = CFADS_t / debt service_t``, methodology §11.1).
    * ``irr_undefined``, ``irr_multiple`` and the equity IRR's: no root, or several roots
      (methodology §5). ``irr_equals_wacc``: IRR and WACC equal at the IRR's shown precision.
    * ``breakeven_outside_range``: something is leased but no lease rate within the field's
      bounds gives NPV = 0 (the breakeven lease rate is None, methodology §5); the sentence
      says why from NPV at both ends of the range: it stays above zero, stays below it, or
      jumps across it.
    * ``payback_never``: no payback within the horizon.
    * ``market_ceiling_binds`` / ``market_floor_binds``: in more than half of the operating
      years the rent sits at its ceiling with the unbounded frontier above it (or at its floor
      with the frontier below it): :func:`frontier_before_bounds`, methodology §4.2.

    Examples
    --------
    >>> from model import evaluate, load_preset
    >>> s = load_preset("epoch-1gw").replace(facility_residual="book")  # IRR rounds to WACC
    >>> [c.code for c in conditions_of(evaluate(s))]
    ['irr_equals_wacc']
    """
    r, s = result, result.scenario
    found: list[Condition] = []
    cf = r.cash_flow_columns
    op = _operating(r)
    if s.hosting_share > 0 and op.any():
        used = np.asarray(r.market_columns["hosting_capacity_used_share"], dtype=np.float64)[op]
        if float(used.min()) < 1.0 - 1e-9:
            lease = np.asarray(cf["revenue_lease"], dtype=np.float64)[op]
            found.append(
                _make(
                    "hosting_cap_binds",
                    f"The hosting market-share cap binds: only {float(used.min()) * 100:.1f}% of "
                    f"the hosted capacity ({s.hosting_share * 100:.0f}% of the GW) sells tokens "
                    f"in some years (the cap is {s.hosting_market_share_cap * 100:g}% of the "
                    "market's tokens); the rest is leased at the market rate, which is why "
                    "lease revenue averages "
                    f"{format_metric('npv_busd', float(lease.mean()))} a year with a leased share "
                    f"of {s.lease_share * 100:.0f}%.",
                    ("npv_busd", "revenue_total_busd", "irr"),
                )
            )
    if r.min_dscr is not None and math.isfinite(r.min_dscr):
        dscr = f"{r.min_dscr:.2f}x"
        if r.min_dscr < 0:
            found.append(
                _make(
                    "dscr_negative",
                    f"The minimum debt-service cover ratio is {dscr}: in at least one year the "
                    "project's cash before debt service is negative (a refresh's capex, or tax), "
                    "so that year's debt service comes from the builder, not the project; read "
                    "the equity IRR with that in mind.",
                    ("min_dscr", "equity_irr", "npv_equity_busd"),
                )
            )
        elif r.min_dscr < 1:
            found.append(
                _make(
                    "dscr_below_one",
                    f"The minimum debt-service cover ratio is {dscr}: in at least one year the "
                    "project's cash does not cover its debt service (lenders usually ask 1.2x "
                    "or more).",
                    ("min_dscr", "equity_irr", "npv_equity_busd"),
                )
            )
    if r.irr is None:
        found.append(
            _make(
                "irr_undefined",
                "The IRR is undefined: the free cash flows never change sign (read the NPV).",
                ("irr",),
            )
        )
    elif r.irr_multiple:
        found.append(
            _make(
                "irr_multiple",
                f"The IRR of {format_metric('irr', r.irr)} is one of several: refresh capex flips "
                "the sign of the cash flows, so the NPV profile has more than one root; read it "
                f"with the MIRR ({format_metric('mirr', r.mirr)}) and the NPV profile.",
                ("irr",),
            )
        )
    financed = r.peak_debt_busd > 0 or s.partner_share_of_capex > 0 or s.campus_lease_share > 0
    if financed and r.equity_irr is None:
        found.append(
            _make(
                "equity_irr_undefined",
                "The equity IRR is undefined: the builder's cash flows never change sign (read "
                "the NPV to equity).",
                ("equity_irr",),
            )
        )
    elif financed and r.equity_irr_multiple:
        found.append(
            _make(
                "equity_irr_multiple",
                f"The equity IRR of {format_metric('irr', r.equity_irr)} is one of several: read "
                "it with the NPV to equity.",
                ("equity_irr",),
            )
        )
    if s.lease_share > 0 and r.breakeven_lease_rate_busd_per_gw_year is None:
        found.append(_breakeven_outside_range(r))
    if r.payback_years is None:
        found.append(
            _make(
                "payback_never",
                f"Cumulative cash never turns positive within the {s.operating_years:g} operating "
                "years modelled, "
                "so payback reads never.",
                ("payback_years",),
            )
        )
    ceiling_years, floor_years, years = _bound_years(r)
    counted = f"{years} operating years" + (
        " outside the dated curve's" if s.lease_curve is not None else ""
    )
    if years and ceiling_years > MOST_OF_HORIZON * years:
        found.append(
            _make(
                "market_ceiling_binds",
                f"The market's lease rate sits at its ceiling, the cost of new capacity, in "
                f"{ceiling_years} of {counted}: demand would pay more, but "
                "entrants would build; more demand does not raise revenue there.",
                ("npv_busd", "revenue_total_busd"),
            )
        )
    if years and floor_years > MOST_OF_HORIZON * years:
        found.append(
            _make(
                "market_floor_binds",
                f"The market's lease rate sits at its floor, the cash cost of running the "
                f"hardware, in {floor_years} of {counted}: capacity idles rather "
                "than rent for less.",
                ("npv_busd", "revenue_total_busd"),
            )
        )
    crossing = _curve_crossings(r)
    if crossing:
        found.append(_make("curve_crosses_bound", crossing, ("npv_busd", "revenue_total_busd")))
    if r.irr is not None and compare_to(r.irr, s.wacc) == "equal to":
        found.append(
            _make(
                "irr_equals_wacc",
                f"The IRR ({format_metric('irr', r.irr)}) is equal to the "
                f"{format_metric('irr', s.wacc)} cost of capital at the precision shown: the "
                f"build just earns its cost of capital (NPV {format_metric('npv_busd', r.npv_busd)}).",
                ("irr", "npv_busd"),
            )
        )
    return sorted(found, key=lambda c: c.severity != "warning")


def conditions_text(result: Result) -> list[str]:
    """The conditions as lines for text output (``Warning: ...`` / ``Note: ...``)."""
    return [f"{c.severity.capitalize()}: {c.text}" for c in conditions_of(result)]


__all__ = [
    "CONDITIONS",
    "Condition",
    "compare_to",
    "conditions_of",
    "conditions_text",
    "frontier_before_bounds",
]
