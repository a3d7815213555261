"""Two readings of the same inputs: a still market and a moving market.

A scenario's NPV rests on how long today's rent premium over the user cost of new capacity lasts
(``entry_lag_years``, methodology §4.2). The BofA presets hold the market still (an entry lag of
50 years, beyond the horizon); the project's sourced default lets entrants catch up after 2 years.
Both are legitimate readings, and an analyst must see both, so the landing view, the README and
the command line show them side by side (methodology §12, Two readings):

- the **still-market reading**: the scenario with ``entry_lag_years`` at the field's maximum
  (:data:`STILL_ENTRY_LAG_YEARS`) and ``scarcity_multiple_max`` at 1: no entrant catches up
  within any horizon and today's premium lasts, no more (scarcity does not lift the rent above
  today's or the user cost for the whole horizon, methodology §4.7, §12.1);
- the **moving-market reading**: the scenario with ``entry_lag_years`` at its median
  (:func:`median_entry_lag_years`): entrants catch up after the median entry lag.

Every other input, the hardware cost decline included, is the scenario's own. A scenario whose
entry lag is already the median is its own moving-market reading; one at the maximum whose NPV
reads the same as the still reading's (a scarcity bound of 1, or demand that never outgrows
capacity) is its own still-market reading.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from typing import Literal

import numpy as np

from model.data import DATA_DIR, default_value
from model.fields import FIELD_SPECS
from model.metrics import format_metric
from model.results import Result, evaluate
from model.scenario import Scenario

#: The field the two readings set (nothing else differs between them).
LAG_FIELD = "entry_lag_years"
#: The scarcity bound, 1 in the still reading (today's premium lasts, no more).
SCARCITY_FIELD = "scarcity_multiple_max"
#: The hosting entry lag, at its maximum in the still reading: today's hosting markup lasts too
#: (methodology section 4.9).
HOSTING_LAG_FIELD = "hosting_entry_lag_years"
#: The still market's entry lag: the field's maximum (50 years, beyond the longest horizon the
#: fields allow, 5 build + 30 operating years: today's premium lasts to the end).
STILL_ENTRY_LAG_YEARS: float = float(FIELD_SPECS[LAG_FIELD].high)

Reading = Literal["still", "moving"]


@functools.cache
def median_entry_lag_years() -> float:
    """The median entry lag (years): the median of the lag's Monte Carlo distribution.

    The distribution of ``entry_lag_years`` in ``data/distributions.toml`` as stated (around its
    reference, the field's sourced default), truncated to the field's bounds as the Monte Carlo
    draws it; while the file gives the lag no distribution, its sourced default in
    ``data/assumptions.csv`` (2 years: campus build and fit-out of 18-24 months).

    Examples
    --------
    >>> 0.0 < median_entry_lag_years() < STILL_ENTRY_LAG_YEARS
    True
    """
    # the file read first without the Monte Carlo module, which pulls in scipy (about a second
    # on the dashboard's first paint): imported only when the lag has a distribution to read
    raw = tomllib.loads((DATA_DIR / "distributions.toml").read_text(encoding="utf-8"))
    if LAG_FIELD not in raw.get("distribution", {}):
        return float(default_value(LAG_FIELD))
    from model.uncertainty import default_distributions, parse_distribution

    spec = default_distributions().distributions[LAG_FIELD]
    dist = parse_distribution(LAG_FIELD, spec).at_reference()
    return float(dist.ppf(np.array([0.5]))[0])


def still_market(scenario: Scenario) -> Scenario:
    """The scenario with the market held still: today's rent premium lasts, no more.

    ``entry_lag_years`` set to :data:`STILL_ENTRY_LAG_YEARS` and ``scarcity_multiple_max`` to 1
    (no scarcity rent above today's rate or the user cost over a horizon with no entry), and
    ``hosting_entry_lag_years`` to its maximum (today's hosting markup lasts, methodology 4.9);
    every other input as set.

    Examples
    --------
    >>> from model import load_preset
    >>> still_market(load_preset("market-base")).entry_lag_years
    50.0
    """
    return scenario.replace(
        **{
            LAG_FIELD: STILL_ENTRY_LAG_YEARS,
            SCARCITY_FIELD: 1.0,
            HOSTING_LAG_FIELD: float(FIELD_SPECS[HOSTING_LAG_FIELD].high),
        }
    )


def moving_market(scenario: Scenario) -> Scenario:
    """The scenario with entrants catching up after the median entry lag.

    ``entry_lag_years`` set to :func:`median_entry_lag_years`; every other input as set.

    Examples
    --------
    >>> from model import load_preset
    >>> moving_market(load_preset("bofa-base")).entry_lag_years == median_entry_lag_years()
    True
    """
    return scenario.replace(**{LAG_FIELD: median_entry_lag_years()})


@dataclass(frozen=True)
class Readings:
    """The still-market and moving-market readings of one scenario.

    Attributes
    ----------
    scenario : Scenario
        The scenario as set.
    result : Result
        Its result (one of the two readings' when its entry lag is theirs).
    still : Result
        The result of :func:`still_market` (today's rent premium lasts).
    moving : Result
        The result of :func:`moving_market` (entrants catch up after the median entry lag).
    median_lag_years : float
        The median entry lag the moving reading uses (years).
    """

    scenario: Scenario
    result: Result
    still: Result
    moving: Result
    median_lag_years: float

    @property
    def as_set(self) -> Reading | None:
        """Which reading the scenario as set is (its entry lag equals that reading's, and for
        the still reading its NPV reads the same at the precision shown), or None."""
        lag = self.scenario.entry_lag_years
        if lag == STILL_ENTRY_LAG_YEARS and format_metric(
            "npv_busd", self.result.npv_busd
        ) == format_metric("npv_busd", self.still.npv_busd):
            return "still"
        if lag == self.median_lag_years:
            return "moving"
        return None

    @property
    def coincide(self) -> bool:
        """True when the two NPVs read the same at the precision shown (``US$ 0.1 B``)."""
        return format_metric("npv_busd", self.still.npv_busd) == format_metric(
            "npv_busd", self.moving.npv_busd
        )

    def lag_text(self) -> str:
        """The median entry lag in words, e.g. ``2 years``."""
        lag = round(self.median_lag_years, 1)  # 2.71 years reads "2.7 years"
        return f"{lag:g} year" + ("" if lag == 1 else "s")

    def sentence(self) -> str:
        """Both readings' NPV in one plain sentence (no Markdown).

        Examples
        --------
        >>> from model import load_preset
        >>> print(market_readings(load_preset("bofa-base")).sentence())  # doctest: +ELLIPSIS
        NPV US$ ... B if today's rent premium lasts; US$ ... B once entrants catch up after the median entry lag (2.7 years).
        >>> print(market_readings(load_preset("bofa-base").replace(entry_lag_years=5.0)).sentence())
        ... # doctest: +ELLIPSIS
        NPV ... (2.7 years) (as set, with an entry lag of 5 years: US$ ... B).
        """
        still = format_metric("npv_busd", self.still.npv_busd)
        moving = format_metric("npv_busd", self.moving.npv_busd)
        catch_up = f"once entrants catch up after the median entry lag ({self.lag_text()})"
        if self.coincide:
            text = f"NPV {still} if today's rent premium lasts, and the same {catch_up}"
        else:
            text = f"NPV {still} if today's rent premium lasts; {moving} {catch_up}"
        if self.as_set is None:
            lag = self.scenario.entry_lag_years
            as_set = format_metric("npv_busd", self.result.npv_busd)
            text += f" (as set, with an entry lag of {lag:g} years: {as_set})"
        return text + "."


def market_readings(scenario: Scenario, result: Result | None = None) -> Readings:
    """Evaluate the still-market and the moving-market readings of ``scenario``.

    Parameters
    ----------
    scenario : Scenario
        The inputs as set; only ``entry_lag_years`` (and, in the still reading,
        ``scarcity_multiple_max``) differ between the two readings.
    result : Result, optional
        ``evaluate(scenario)`` when the caller has it; otherwise evaluated here, unless the
        scenario is one of its readings (then that reading's result is used).

    Returns
    -------
    Readings
        Both results and the median entry lag used.

    Examples
    --------
    >>> from model import load_preset
    >>> r = market_readings(load_preset("bofa-base"))   # entry lag 50: the still market as set
    >>> r.as_set, r.result.npv_busd == r.still.npv_busd, r.still.npv_busd > r.moving.npv_busd
    ('still', True, True)
    """
    lag = scenario.entry_lag_years
    median = median_entry_lag_years()
    if result is None and lag not in (STILL_ENTRY_LAG_YEARS, median):
        result = evaluate(scenario)
    still_as_set = (
        lag == STILL_ENTRY_LAG_YEARS
        and scenario.scarcity_multiple_max == 1.0
        and scenario.hosting_entry_lag_years == FIELD_SPECS[HOSTING_LAG_FIELD].high
    )
    if result is None and lag == STILL_ENTRY_LAG_YEARS and not still_as_set:
        result = evaluate(scenario)
    still = result if result is not None and still_as_set else evaluate(still_market(scenario))
    moving = result if result is not None and lag == median else evaluate(moving_market(scenario))
    as_set = result if result is not None else (still if still_as_set else moving)
    return Readings(scenario, as_set, still, moving, median)
