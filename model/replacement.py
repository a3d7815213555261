"""The optimal replacement life of the IT (Terborgh 1949, Preinreich 1940): a diagnostic.

A chain of like-for-like IT vintages on one GW, each replaced after ``L`` years, is worth
``V(L) = (value of one vintage) / (1 - exp(-rho L))``; the life that maximises its equivalent
annual value ``rho V(L)`` is the optimal replacement life. One vintage earns the net rent of new
IT, falling behind the frontier at the hardware decline ``delta = -ln(1 - h)`` a year, less the
avoidable costs, and idles once its rent falls below them (section 4.5); it costs the IT capex
per GW. The frontier per GW is held at today's (a still market: each new GW carries more
compute for the same rent). Pre-tax, continuous time, at the WACC: a yardstick beside the
service life as set, not an input of the engine (methodology section 2.4). Computed only when
asked, never inside :func:`model.evaluate`.

Examples
--------
>>> from model import load_preset
>>> r = optimal_replacement_life(load_preset("market-base"))
>>> round(r.life_years, 2), round(r.value_busd_per_gw_year, 2), round(r.value_as_set_busd_per_gw_year, 2)
(11.88, 0.15, -0.61)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.engine import HOURS_PER_YEAR, MWH_PER_GW_HOUR, USD_PER_BUSD
from model.scenario import Scenario

#: Lives searched (years): the field's bounds, on a grid of 0.01 years.
LIFE_GRID = np.arange(1.0, 15.0 + 1e-9, 0.01)


@dataclass(frozen=True)
class ReplacementLife:
    """The optimal replacement life (years), the chain's equivalent annual value per GW at it
    and at the life as set (US$ B per GW-year, pre-tax)."""

    life_years: float
    value_busd_per_gw_year: float
    value_as_set_busd_per_gw_year: float


def _discounted(k: float, x: np.ndarray) -> np.ndarray:
    """``integral_0^x exp(-k a) da``."""
    if abs(k) < 1e-12:
        return np.asarray(x, dtype=np.float64)
    return np.asarray(-np.expm1(-k * x) / k, dtype=np.float64)


def chain_value(s: Scenario, lives: np.ndarray) -> np.ndarray:
    """Equivalent annual value (US$ B per GW-year, pre-tax) of a chain of like-for-like IT
    vintages replaced every ``lives`` years: ``rho (R G(rho + delta, A) - Z G(rho, A) - C) /
    (1 - exp(-rho L))`` with ``R`` the net rent of new IT, ``Z`` the avoidable costs, ``C`` the
    IT capex per GW and ``A = min(L, ln(R / Z) / delta)`` the years it runs."""
    rho = float(np.log1p(s.wacc))
    delta = float(-np.log1p(-s.hardware_cost_decline_per_year))
    rent = s.lease_rate_busd_per_gw_year * s.lease_utilization
    rent *= 1.0 - s.variable_opex_share_of_revenue
    power = HOURS_PER_YEAR * MWH_PER_GW_HOUR * s.power_load_factor * s.power_price_usd_per_mwh
    avoidable = power / USD_PER_BUSD + s.other_opex_busd_per_gw_year
    cost = s.capex_per_gw_busd * s.it_share_of_capex
    lives = np.asarray(lives, dtype=np.float64)
    if rent <= avoidable:
        runs = np.zeros_like(lives)
    elif delta > 0.0:
        runs = np.minimum(lives, np.log(rent / avoidable) / delta)
    else:
        runs = lives
    one = rent * _discounted(rho + delta, runs) - avoidable * _discounted(rho, runs) - cost
    annuity = rho / -np.expm1(-rho * lives) if rho > 0.0 else 1.0 / lives
    return np.asarray(one * annuity, dtype=np.float64)


def optimal_replacement_life(s: Scenario) -> ReplacementLife:
    """The life on :data:`LIFE_GRID` that maximises :func:`chain_value` (methodology 2.4)."""
    values = chain_value(s, LIFE_GRID)
    best = int(np.argmax(values))
    as_set = chain_value(s, np.array([s.it_life_years]))[0]
    return ReplacementLife(
        life_years=float(LIFE_GRID[best]),
        value_busd_per_gw_year=float(values[best]),
        value_as_set_busd_per_gw_year=float(as_set),
    )
