"""The Monte Carlo's shared pieces: its error, default draws and seed, limits, summary metrics
and the number formats of its notes (methodology §9).
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from numpy.typing import NDArray

from model import metrics as metrics_table
from model.fields import FIELD_SPECS

FloatArray = NDArray[np.float64]


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


#: Percentiles reported in the summary (numpy's default linear method).
PERCENTILES: tuple[int, int, int] = (10, 50, 90)


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
