"""Vectorised finance primitives: one scenario per row, one period per column.

Each function accepts a 1-D cash-flow series (one scenario) or a 2-D array (one scenario per row)
and returns a scalar or a 1-D array. Conventions follow numpy-financial: ``flows[..., t]`` occurs at
the end of period ``t`` and is discounted by ``(1 + rate) ** t``, so ``flows[..., 0]`` is not
discounted. Trailing zero periods (padding of shorter scenarios in a batch) change no result except
MIRR, which takes each row's own number of periods in ``n_periods``.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]

#: Discount rates at which the NPV profile is scanned for sign changes when searching for IRRs.
IRR_SCAN_RATES: FloatArray = np.unique(
    np.concatenate(
        [
            np.linspace(-0.95, -0.5, 10),
            np.linspace(-0.5, 0.5, 101),
            np.linspace(0.5, 2.0, 31),
            np.geomspace(2.0, 100.0, 25),
        ]
    )
)


def _as_2d(flows: ArrayLike) -> tuple[FloatArray, bool]:
    arr = np.asarray(flows, dtype=np.float64)
    if arr.ndim == 1:
        return arr[None, :], True
    if arr.ndim != 2:
        raise ValueError(f"flows must be 1-D or 2-D, got {arr.ndim}-D")
    return arr, False


def _out(x: FloatArray, scalar: bool) -> FloatArray | float:
    return float(x[0]) if scalar else x


def discount_factors(rate: ArrayLike, n_periods: int) -> FloatArray:
    """Discount factors ``(1 + rate) ** -t`` for ``t = 0 .. n_periods - 1``.

    Parameters
    ----------
    rate : float or array of shape (S,)
        Discount rate per period, greater than -1.
    n_periods : int
        Number of periods.

    Returns
    -------
    ndarray of shape (S, n_periods) (S = 1 for a scalar rate)

    Examples
    --------
    >>> discount_factors(0.1, 3).round(4).tolist()
    [[1.0, 0.9091, 0.8264]]
    """
    r = np.atleast_1d(np.asarray(rate, dtype=np.float64))[:, None]
    t = np.arange(n_periods, dtype=np.float64)[None, :]
    # exp/log1p is several times faster than a float power and equal to it within rounding
    return np.asarray(np.exp(-t * np.log1p(r)), dtype=np.float64)


def npv(rate: ArrayLike, flows: ArrayLike) -> FloatArray | float:
    """Net present value of each row of cash flows.

    Parameters
    ----------
    rate : float or array of shape (S,)
        Discount rate per period (one per row, or one for all).
    flows : array of shape (T,) or (S, T)
        Cash flows; column ``t`` occurs at the end of period ``t``.

    Returns
    -------
    float or ndarray of shape (S,)

    Notes
    -----
    .. math:: \\mathrm{NPV} = \\sum_{t=0}^{T-1} \\frac{CF_t}{(1 + r)^t}

    Same convention as ``numpy_financial.npv`` (the first flow is not discounted).

    Examples
    --------
    >>> round(npv(0.1, [-100.0, 60.0, 60.0]), 6)
    4.132231
    """
    arr, scalar = _as_2d(flows)
    df = discount_factors(rate, arr.shape[1])
    return _out(np.sum(arr * df, axis=1), scalar)


def npv_profile(flows: ArrayLike, rates: ArrayLike) -> FloatArray:
    """NPV of each row at each rate: an array of shape (S, R) (or (R,) for 1-D flows).

    Notes
    -----
    Computed as one matrix product ``flows @ D`` with ``D[t, j] = (1 + rates[j]) ** -t``.

    Examples
    --------
    >>> npv_profile([-100.0, 110.0], [0.0, 0.1]).round(9).tolist()
    [10.0, 0.0]
    """
    arr, scalar = _as_2d(flows)
    r = np.asarray(rates, dtype=np.float64)
    d = discount_factors(r, arr.shape[1]).T  # (T, R)
    prof = arr @ d
    return prof[0] if scalar else prof


def irr_details(flows: ArrayLike, chunk_rows: int = 8192) -> tuple[FloatArray, NDArray[np.int64]]:
    r"""IRR of each row and the number of roots found on the NPV profile.

    Parameters
    ----------
    flows : array of shape (T,) or (S, T)
    chunk_rows : int
        Rows processed at once (bounds memory; results do not depend on it).

    Returns
    -------
    irr : ndarray of shape (S,)
        The root of NPV(rate) = 0 closest to zero (as numpy-financial chooses), NaN where none.
    n_roots : ndarray of shape (S,)
        Sign changes of the NPV profile over :data:`IRR_SCAN_RATES` (-95% to 10,000%). More than
        one means several IRRs: the IRR alone is then ambiguous.

    Notes
    -----
    The NPV profile :math:`\sum_t CF_t (1+r)^{-t}` is scanned on a fixed grid of rates (one
    matrix product for all rows); among the intervals where it changes sign, the one closest to
    a zero rate is kept, and safeguarded Newton steps find the root inside it to machine
    precision. Flows without a sign change have no IRR (NaN, never an exception). Several sign
    changes in the flows (from IT refreshes) do not by themselves mean several IRRs; the profile
    decides. Roots closer together than the grid spacing can be missed.
    """
    arr, _ = _as_2d(flows)
    n_rows = arr.shape[0]
    root = np.full(n_rows, np.nan)
    count = np.zeros(n_rows, dtype=np.int64)
    for start in range(0, n_rows, chunk_rows):
        sl = slice(start, start + chunk_rows)
        root[sl], count[sl] = _irr_chunk(arr[sl])
    return root, count


@cache
def _scan_discount_matrix(n_periods: int) -> FloatArray:
    """``D[t, j] = (1 + IRR_SCAN_RATES[j]) ** -t``, cached by the number of periods."""
    d = discount_factors(IRR_SCAN_RATES, n_periods).T.copy()
    d.setflags(write=False)
    return d


_SCAN_MID_ABS = np.abs(0.5 * (IRR_SCAN_RATES[:-1] + IRR_SCAN_RATES[1:]))


#: Scan interval whose midpoint is closest to a zero rate: ``|mid|`` falls before it, rises after.
_SCAN_ZERO = int(np.argmin(_SCAN_MID_ABS))


def _nearest_change(change: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Per row, the sign-change interval whose midpoint is closest to a zero rate.

    Same as ``argmin(where(change, |mid|, inf))`` (ties to the lower rate) but from two boolean
    searches: the first change at or above the zero interval and the last one below it.
    """
    right = change[:, _SCAN_ZERO:]
    left = change[:, :_SCAN_ZERO][:, ::-1]
    r_idx = _SCAN_ZERO + np.argmax(right, axis=1)
    l_idx = _SCAN_ZERO - 1 - np.argmax(left, axis=1)
    r_any = right.any(axis=1)
    use_left = left.any(axis=1) & (~r_any | (_SCAN_MID_ABS[l_idx] <= _SCAN_MID_ABS[r_idx]))
    return np.asarray(np.where(use_left, l_idx, r_idx), dtype=np.int64)


def _irr_chunk(arr: FloatArray) -> tuple[FloatArray, NDArray[np.int64]]:
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _irr_chunk_raw(arr)


def _irr_chunk_raw(arr: FloatArray) -> tuple[FloatArray, NDArray[np.int64]]:
    n_rows, n_t = arr.shape
    rates = IRR_SCAN_RATES
    prof = arr @ _scan_discount_matrix(n_t)  # (S, R) NPV profile
    neg = np.signbit(prof)
    change = neg[:, :-1] != neg[:, 1:]
    n_roots = change.sum(axis=1)
    idx = _nearest_change(change)
    has = n_roots > 0
    n_has = int(np.count_nonzero(has))
    root = np.full(n_rows, np.nan)
    if n_has:
        # mostly rows with a root: keep every row (no copy of the flows) and let the rows without
        # one drop out after the first Newton step; otherwise work on the rows with a root only
        dense = 4 * n_has >= 3 * n_rows
        rows = np.arange(n_rows) if dense else np.flatnonzero(has)
        idx = idx[rows]
        cf = arr if dense else arr[rows]
        lo = rates[idx]
        hi = rates[idx + 1]
        f_lo = prof[rows, idx]
        f_hi = prof[rows, idx + 1]
        x = lo - f_lo * (hi - lo) / (f_hi - f_lo)
        x = np.where(np.isfinite(x), x, 0.5 * (lo + hi))
        lo_neg = neg[rows, idx]
        t = np.arange(n_t, dtype=np.float64)[None, :]
        # Newton on the rows not yet converged only (converged rows leave the working set, so a
        # few slow rows do not make the whole chunk iterate)
        active = np.arange(rows.size)
        found = np.empty(rows.size)
        no_root = ~has[rows]  # leaves the working set after the first step, result discarded
        for _ in range(50):
            cv = cf * np.exp(-t * np.log1p(x)[:, None])
            f = cv.sum(axis=1)
            df = -(t * cv).sum(axis=1) / (1.0 + x)
            same_as_lo = np.signbit(f) == lo_neg
            lo = np.where(same_as_lo, x, lo)
            hi = np.where(same_as_lo, hi, x)
            nxt = x - f / df
            bad = ~np.isfinite(nxt) | (nxt < lo) | (nxt > hi)
            nxt = np.where(bad, 0.5 * (lo + hi), nxt)
            # Newton converges quadratically: a step below 1e-12 leaves an error far below it
            zero = f == 0
            done = (np.abs(nxt - x) <= 1e-12 * np.maximum(1.0, np.abs(x))) | zero | no_root
            x = np.where(zero, x, nxt)
            if done.all():
                found[active] = x
                active, x = active[:0], x[:0]
                break
            if done.any():
                found[active[done]] = x[done]
                keep = ~done
                active, x, lo, hi = active[keep], x[keep], lo[keep], hi[keep]
                cf, lo_neg, no_root = cf[keep], lo_neg[keep], no_root[keep]
        found[active] = x  # rows still unconverged after 50 steps keep their last iterate
        root[rows] = np.where(has[rows], found, np.nan)
    return root, n_roots.astype(np.int64)


def irr(flows: ArrayLike) -> FloatArray | float:
    """Internal rate of return of each row; NaN where there is none.

    Parameters
    ----------
    flows : array of shape (T,) or (S, T)

    Returns
    -------
    float or ndarray of shape (S,)

    Notes
    -----
    The rate :math:`r > -1` with :math:`\\sum_t CF_t (1 + r)^{-t} = 0`; where several exist, the
    one closest to zero (numpy-financial's choice). See :func:`irr_details` for the method and for
    the number of roots. Never raises on flows without a sign change.

    Examples
    --------
    >>> round(irr([-100.0, 60.0, 60.0]), 6)
    0.130662
    """
    arr, scalar = _as_2d(flows)
    root, _ = irr_details(arr)
    return _out(root, scalar)


def mirr(
    flows: ArrayLike,
    finance_rate: ArrayLike,
    reinvest_rate: ArrayLike,
    n_periods: ArrayLike | None = None,
) -> FloatArray | float:
    """Modified internal rate of return of each row.

    Parameters
    ----------
    flows : array of shape (T,) or (S, T)
    finance_rate : float or array of shape (S,)
        Rate at which negative flows are discounted to period 0.
    reinvest_rate : float or array of shape (S,)
        Rate at which positive flows are compounded to the last period.
    n_periods : int or array of shape (S,), optional
        Each row's own number of periods (default: T); columns past it must be zero.

    Notes
    -----
    .. math:: \\mathrm{MIRR} = \\left(\\frac{FV_{re}(CF^+)}{-PV_{fi}(CF^-)}\\right)^{1/(n-1)}
              (1 + r_{re}) \\cdot \\frac{1}{1 + r_{re}} \\cdot (1 + r_{re}) - 1

    written as numpy-financial does: ``(|NPV_re(CF+)| / |NPV_fi(CF-)|) ** (1/(n-1)) * (1+r_re) - 1``.
    NaN where the flows have no positive or no negative value.

    Examples
    --------
    >>> round(mirr([-100.0, 60.0, 60.0], 0.1, 0.1), 6)
    0.121179
    """
    arr, scalar = _as_2d(flows)
    n = (
        np.full(arr.shape[0], arr.shape[1], dtype=np.float64)
        if n_periods is None
        else (np.broadcast_to(np.asarray(n_periods, dtype=np.float64), (arr.shape[0],)))
    )
    fr = np.broadcast_to(np.asarray(finance_rate, dtype=np.float64), (arr.shape[0],))
    rr = np.broadcast_to(np.asarray(reinvest_rate, dtype=np.float64), (arr.shape[0],))
    pos = np.where(arr > 0, arr, 0.0)
    neg = np.where(arr < 0, arr, 0.0)
    numer = np.abs(np.asarray(npv(rr, pos)))
    denom = np.abs(np.asarray(npv(fr, neg)))
    return _out(mirr_from_present_values(numer, denom, n, rr), scalar)


def mirr_from_present_values(
    pv_positive: FloatArray,
    pv_negative: FloatArray,
    n_periods: FloatArray,
    reinvest_rate: ArrayLike,
) -> FloatArray:
    """MIRR from the present values of the positive and the negative flows (same formula as
    :func:`mirr`, for callers that already hold the discounted flows).

    ``(|PV_re(CF+)| / |PV_fi(CF-)|) ** (1 / (n - 1)) * (1 + r_re) - 1``; NaN where either present
    value is zero or ``n <= 1``.
    """
    numer = np.abs(pv_positive)
    denom = np.abs(pv_negative)
    rr = np.asarray(reinvest_rate, dtype=np.float64)
    ok = (numer > 0) & (denom > 0) & (n_periods > 1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = (numer / denom) ** (1.0 / (n_periods - 1.0)) * (1.0 + rr) - 1.0
    return np.asarray(np.where(ok, out, np.nan), dtype=np.float64)


def payback(flows: ArrayLike, rate: ArrayLike | None = None) -> FloatArray | float:
    r"""Fractional payback period of each row (discounted when ``rate`` is given); NaN if never.

    Notes
    -----
    With cumulative flows :math:`C_t = \sum_{s \le t} CF_s`, let :math:`t^*` be the last period
    with :math:`C_{t^*} < 0`. The payback is :math:`t^* + (-C_{t^*}) / CF_{t^*+1}`: the point,
    interpolated linearly inside the period, after which the cumulative position stays
    non-negative. An IT refresh that pushes the cumulative back below zero therefore moves the
    payback later (a first-crossing rule would hide it). Measured in periods from period 0, the
    first capex year. A series never negative pays back at 0; one negative at the end never does.
    With ``rate``, each flow is first discounted by :math:`(1 + r)^t`.

    Examples
    --------
    >>> round(payback([-100.0, 60.0, 60.0]), 6)
    1.666667
    >>> payback([-100.0, 150.0, -100.0, 100.0])
    2.5
    """
    arr, scalar = _as_2d(flows)
    if rate is not None:
        arr = arr * discount_factors(rate, arr.shape[1])
    n_t = arr.shape[1]
    cum = np.cumsum(arr, axis=1)
    negative = cum < 0
    any_negative = negative.any(axis=1)
    last_neg = n_t - 1 - np.argmax(negative[:, ::-1], axis=1)
    rows = np.arange(arr.shape[0])
    nxt = np.minimum(last_neg + 1, n_t - 1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        frac = -cum[rows, last_neg] / arr[rows, nxt]  # in [0, 1] where it is used
    out = np.where(last_neg < n_t - 1, last_neg + frac, np.nan)
    out = np.where(any_negative, out, 0.0)
    return _out(out, scalar)


__all__ = [
    "IRR_SCAN_RATES",
    "discount_factors",
    "irr",
    "irr_details",
    "mirr",
    "mirr_from_present_values",
    "npv",
    "npv_profile",
    "payback",
]
