"""Tax depreciation separate from book, and cash tax: stand-alone or inside a profitable group.

Arrays are (scenarios, years); loops run over years or recovery-table columns, never over
scenarios. Conventions and sources: ``docs/methodology.md`` section 11.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from numpy.typing import NDArray

from model.finance import one_blas_thread

FloatArray = NDArray[np.float64]

#: MACRS class of IT (computers, servers, network): 5-year property (IRS Publication 946).
IT_TAX_CLASS_YEARS = 5
#: Recovery periods from this length up are depreciated straight-line (real property), and get
#: no bonus depreciation (bonus reaches only classes of at most 20 years).
STRAIGHT_LINE_FROM_YEARS = 25
LOWEST_FACILITY_CLASS = 15
HIGHEST_FACILITY_CLASS = 39


def macrs_rates(class_years: int) -> FloatArray:
    """Share of cost deducted in each year of service under MACRS (half-year convention).

    Notes
    -----
    Classes up to 10 years use 200% declining balance, 15 and 20 years 150%, switching to
    straight line when that gives more; classes of 25 years or more are straight line. The
    half-year convention gives half a year in the first and in the last year, so a class of
    ``n`` years has ``n + 1`` entries summing to 1. Real property (39 years) is mid-month under
    the statute; mid-year here. 5-year: 20%, 32%, 19.2%, 11.52%, 11.52%, 5.76%.

    Examples
    --------
    >>> (macrs_rates(5) * 100).round(2).tolist()
    [20.0, 32.0, 19.2, 11.52, 11.52, 5.76]
    """
    return _macrs_rates(int(class_years)).copy()


@cache
def _macrs_rates(n: int) -> FloatArray:
    out = np.zeros(n + 1)
    if n >= STRAIGHT_LINE_FROM_YEARS:
        out[:] = 1.0 / n
        out[0] = out[-1] = 0.5 / n
        return out
    factor = 2.0 if n <= 10 else 1.5
    basis = 1.0
    for k in range(n + 1):
        left = n - (k - 0.5) if k > 0 else n  # remaining life at the start of the year
        declining = basis * factor / n
        straight = basis / left
        dep = max(declining, straight) * (0.5 if k == 0 else 1.0)
        dep = min(dep, basis) if k < n else basis
        out[k] = dep
        basis -= dep
    return out


@cache
def _schedule_matrix(class_years: int, width: int) -> FloatArray:
    """``M[s, t] = rate_{t - s}`` of the class (0 outside its table): ``placed @ M`` spreads the
    cost placed in service in year ``s`` over the years of its recovery, cut at ``width``."""
    rates = _macrs_rates(class_years)[:width]
    m = np.zeros((width, width))
    for k, r in enumerate(rates):
        m[np.arange(width - k), np.arange(k, width)] = r
    m.setflags(write=False)
    return m


def _convolve(
    placed: FloatArray, classes: NDArray[np.int64], rows: NDArray[np.bool_]
) -> FloatArray:
    """``out[:, t] = sum_k placed[:, t - k] x rate_k`` of each row's class, on ``rows`` (0 elsewhere).

    One matrix product per class present (rows grouped by class), not a loop over lags.
    """
    out = np.zeros_like(placed)
    n_t = placed.shape[1]
    present = np.unique(classes[rows])
    with one_blas_thread(placed.shape[0]):
        if present.size == 1 and rows.all():
            return np.asarray(placed @ _schedule_matrix(int(present[0]), n_t), dtype=np.float64)
        for c in present:
            idx = np.flatnonzero(rows & (classes == c))
            out[idx] = placed[idx] @ _schedule_matrix(int(c), n_t)
    return out


@dataclass(frozen=True)
class TaxDepreciation:
    """Tax depreciation per class (S, T) and the tax basis left at the horizon (S,), US$ B."""

    it: FloatArray
    facility: FloatArray
    total: FloatArray
    basis_it_end: FloatArray
    basis_facility_end: FloatArray


def tax_depreciation(
    *,
    placed_it: FloatArray,
    placed_facility: FloatArray,
    book_it: FloatArray,
    book_facility: FloatArray,
    active: NDArray[np.bool_],
    macrs: FloatArray,
    facility_class: FloatArray,
    bonus: FloatArray,
) -> TaxDepreciation:
    """Tax depreciation of each class: book straight-line or MACRS, with a bonus share.

    Parameters
    ----------
    placed_it, placed_facility : ndarray (S, T)
        Cost placed in service in each year, US$ B (the build at completion, refreshes when paid).
    book_it, book_facility : ndarray (S, T)
        Book straight-line depreciation of each class, US$ B.
    active : ndarray of bool (S, T)
        Years inside each scenario's horizon (deductions beyond it are not taken; what is left
        is the tax basis at the horizon, set against the residual value).
    macrs : ndarray (S,)
        1 for MACRS, 0 for tax = book straight-line.
    facility_class : ndarray (S,)
        MACRS recovery period of the facility, 15..39 years.
    bonus : ndarray (S,)
        Share of eligible cost deducted when placed in service.

    Notes
    -----
    ``dep = bonus_eligible x b x placed + (1 - bonus_eligible x b) x schedule`` where the schedule
    is book straight-line (``macrs = 0``) or ``sum_k placed_{t-k} x rate_k`` (MACRS). IT is always
    bonus-eligible; the facility only in a class below 25 years. Total deductions plus the basis
    left equal the cost placed in service, as for book.
    """
    b = bonus[:, None]
    use_macrs = macrs[:, None] > 0.5
    fac_eligible = (facility_class < STRAIGHT_LINE_FROM_YEARS)[:, None]
    b_fac = np.where(fac_eligible, b, 0.0)
    if np.any(use_macrs):
        rows = use_macrs[:, 0]
        it_class = np.full(placed_it.shape[0], IT_TAX_CLASS_YEARS, dtype=np.int64)
        sched_it = np.where(use_macrs, _convolve(placed_it, it_class, rows), book_it)
        idx = np.clip(
            facility_class.astype(np.int64), LOWEST_FACILITY_CLASS, HIGHEST_FACILITY_CLASS
        )
        sched_fac = np.where(use_macrs, _convolve(placed_facility, idx, rows), book_facility)
    else:
        sched_it, sched_fac = book_it, book_facility
    dep_it = np.where(active, b * placed_it + (1.0 - b) * sched_it, 0.0)
    dep_fac = np.where(active, b_fac * placed_facility + (1.0 - b_fac) * sched_fac, 0.0)
    return TaxDepreciation(
        it=dep_it,
        facility=dep_fac,
        total=dep_it + dep_fac,
        basis_it_end=(placed_it - dep_it).sum(axis=1),
        basis_facility_end=(placed_facility - dep_fac).sum(axis=1),
    )


def cash_tax(
    taxable: FloatArray,
    rate: FloatArray,
    *,
    in_group: FloatArray,
    nol_limit: FloatArray,
    interest: FloatArray | None = None,
    ati: FloatArray | None = None,
    interest_limit: FloatArray | None = None,
) -> FloatArray:
    """Cash tax per year (S, T) on taxable income before interest, net of deductible interest.

    Parameters
    ----------
    taxable : ndarray (S, T)
        Taxable income before interest, US$ B (EBIT on tax depreciation, gains on disposal).
    rate : ndarray (S,)
        Tax rate.
    in_group : ndarray (S,)
        1: inside a profitable group (tax = rate x income, negative = a saving to the group, all
        interest deducted); 0: stand-alone.
    nol_limit : ndarray (S,)
        Stand-alone: share of a year's taxable income that losses carried forward may offset.
    interest, ati, interest_limit : ndarray, optional
        Interest accrued (S, T), adjusted taxable income (S, T) and the share of it up to which
        interest is deductible (S,); stand-alone only, the excess carried forward.

    Notes
    -----
    Stand-alone, year by year: interest deductible ``d_t = min(i_t + c_{t-1}, l x max(ATI_t, 0))``
    (carry ``c_t = i_t + c_{t-1} - d_t``); income ``y_t = taxable_t - d_t``; a loss adds to the
    pool ``N``; a profit uses ``u_t = min(N_{t-1}, lambda y_t)`` and pays ``rate (y_t - u_t)``.
    With ``lambda = 1`` and no interest this is the closed form: tax on the increments of
    the running maximum of cumulative income (:func:`carryforward_increments`). The engine's
    every cash tax comes through here (one dispatch).
    """
    r = rate[:, None]
    has_interest = interest is not None and bool(interest.any())
    income = taxable - interest if has_interest and interest is not None else taxable
    group = in_group > 0.5
    any_group = bool(group.any())
    if any_group and bool(group.all()):
        return np.asarray(r * income, dtype=np.float64)
    closed_form = not has_interest and float(nol_limit.min()) >= 1.0
    if not any_group:
        return _stand_alone(closed_form, taxable, rate, nol_limit, interest, ati, interest_limit)
    # inside the group: rate x income; the stand-alone rows alone go through their recursion
    out = np.asarray(r * income, dtype=np.float64)
    rows = np.flatnonzero(~group)

    def sub(x: FloatArray | None) -> FloatArray | None:
        return None if x is None else x[rows]

    out[rows] = _stand_alone(
        closed_form,
        taxable[rows],
        rate[rows],
        nol_limit[rows],
        sub(interest),
        sub(ati),
        sub(interest_limit),
    )
    return out


def _stand_alone(
    closed_form: bool,
    taxable: FloatArray,
    rate: FloatArray,
    nol_limit: FloatArray,
    interest: FloatArray | None,
    ati: FloatArray | None,
    interest_limit: FloatArray | None,
) -> FloatArray:
    """Stand-alone cash tax of every row: the closed form (unlimited offset, no interest) or
    the year-by-year recursion."""
    if closed_form:
        # closed form (section 3): tax on the increments of the running maximum of cumulative
        # income, floored at zero
        return np.asarray(rate[:, None] * carryforward_increments(taxable), dtype=np.float64)
    return _stand_alone_loop(taxable, rate, nol_limit, interest, ati, interest_limit)


def carryforward_increments(income: FloatArray) -> FloatArray:
    """Income taxed each year with unlimited loss carryforward, (S, T): the increments of
    ``X_t = max(0, max_{s<=t} C_s)``, ``C_t`` the cumulative income (methodology section 3).

    A loop over years on whole columns: the same numbers as ``cumsum`` and
    ``maximum.accumulate`` along the rows (used below 256 rows), without their (S, T)
    temporaries.
    """
    n, n_t = income.shape
    if n < 256:  # a few rows: numpy's per-call cost dominates, the whole-table form is cheaper
        taxed_all = np.maximum(np.maximum.accumulate(np.cumsum(income, axis=1), axis=1), 0.0)
        increments = taxed_all.copy()
        increments[:, 1:] -= taxed_all[:, :-1]
        return increments
    # on (T, S) copies: each year's row is contiguous (as in the recursion below)
    by_year = np.ascontiguousarray(income.T)
    out = np.empty((n_t, n))
    cumulative = np.zeros(n)
    taxed = np.zeros(n)  # X_{t-1}
    for t in range(n_t):
        cumulative = cumulative + by_year[t]
        now = np.maximum(taxed, cumulative)
        np.subtract(now, taxed, out=out[t])
        taxed = now
    return np.ascontiguousarray(out.T)


def _stand_alone_loop(
    taxable: FloatArray,
    rate: FloatArray,
    nol_limit: FloatArray,
    interest: FloatArray | None,
    ati: FloatArray | None,
    interest_limit: FloatArray | None,
) -> FloatArray:
    n, n_t = taxable.shape
    # the recursion runs over years on (T, S) copies: each year's row is contiguous (a column
    # of an (S, T) array is strided, a cache line per scenario); the same operations per value
    by_year = np.ascontiguousarray(taxable.T)
    limited = interest is not None and ati is not None and interest_limit is not None
    if limited:
        assert interest is not None and ati is not None and interest_limit is not None
        interest_t = np.ascontiguousarray(interest.T)
        ati_t = np.ascontiguousarray(ati.T)
    tax = np.empty((n_t, n))
    pool = np.zeros(n)
    carry = np.zeros(n)
    lam = nol_limit
    for t in range(n_t):
        y = by_year[t]
        if limited:
            owed = interest_t[t] + carry
            deductible = np.minimum(owed, interest_limit * np.maximum(ati_t[t], 0.0))
            carry = owed - deductible
            y = y - deductible
        profit = np.maximum(y, 0.0)
        used = np.minimum(pool, lam * profit)
        pool = pool - used + np.maximum(-y, 0.0)
        np.multiply(rate, profit - used, out=tax[t])
    return np.ascontiguousarray(tax.T)


__all__ = [
    "TaxDepreciation",
    "carryforward_increments",
    "cash_tax",
    "macrs_rates",
    "tax_depreciation",
]
