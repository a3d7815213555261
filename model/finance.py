"""Vectorised finance primitives: one scenario per row, one period per column.

Each function accepts a 1-D cash-flow series (one scenario) or a 2-D array (one scenario per row)
and returns a scalar or a 1-D array. Conventions follow numpy-financial: ``flows[..., t]`` occurs at
the end of period ``t`` and is discounted by ``(1 + rate) ** t``, so ``flows[..., 0]`` is not
discounted. Trailing zero periods (padding of shorter scenarios in a batch) change no result except
MIRR, which takes each row's own number of periods in ``n_periods``.
"""

from __future__ import annotations

import contextlib
import math
from functools import cache
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from threadpoolctl import ThreadpoolController

FloatArray = NDArray[np.float64]

#: Discount rates at which the NPV profile is scanned for sign changes when searching for IRRs:
#: -99.99% to 1,000,000 per period (100,000,000%). Beyond both ends the profile's sign is known in
#: closed form (the last and the first non-zero flow dominate), so a root outside the scan is
#: still counted and reported as undefined with :data:`IRR_ROOT_BELOW_RANGE` or
#: :data:`IRR_ROOT_ABOVE_RANGE`.
IRR_SCAN_RATES: FloatArray = np.unique(
    np.concatenate(
        [
            np.array([-0.9999, -0.999, -0.995, -0.99, -0.98, -0.97, -0.96]),
            np.linspace(-0.95, -0.5, 10),
            np.linspace(-0.5, 0.5, 101),
            np.linspace(0.5, 2.0, 31),
            np.geomspace(2.0, 100.0, 25),
            np.geomspace(100.0, 1e6, 17),
        ]
    )
)
#: A flow whose magnitude is at most this share of the sum of its row's magnitudes counts as zero
#: in the IRR search (:func:`irr_diagnostics`): it is rounding residue (a line that should cancel to 0
#: and leaves 1e-23 next to a capex of 43), not an amount. Kept, such a flow decides the profile
#: near -100%, where ``(1 + r)^-t`` magnifies it: it adds a sign change and a root (an IRR of
#: -99.98% from a last flow of 1.7e-25) that moves with the residue's rounding, so the same
#: scenario's IRR differed between a batch and a single evaluation.
IRR_NEGLIGIBLE_SHARE = 1e-12

#: A reported IRR zeroes the NPV profile: ``|NPV(irr)| <= IRR_RESIDUAL_TOLERANCE *
#: sum_t |CF_t| (1 + irr)^-t`` (relative to the discounted flows, so it holds at any scale).
IRR_RESIDUAL_TOLERANCE = 1e-9

# Reason codes of :func:`irr_diagnostics` (why an IRR is or is not reported).
IRR_OK = 0
IRR_NO_SIGN_CHANGE = 1
IRR_PROFILE_ONE_SIGN = 2
IRR_ROOT_BELOW_RANGE = 3
IRR_ROOT_ABOVE_RANGE = 4
IRR_NOT_CONVERGED = 5
IRR_ALL_ZERO = 6
IRR_NOT_FINITE = 7

#: Plain-language reason for each code (for help texts and tables).
IRR_REASONS: dict[int, str] = {
    IRR_OK: "the IRR is the rate at which NPV = 0",
    IRR_NO_SIGN_CHANGE: "n/a: the cash flows never change sign, so no rate makes NPV zero",
    IRR_PROFILE_ONE_SIGN: (
        "n/a: the cash flows change sign, but NPV stays on one side of zero at every discount "
        "rate above -100%"
    ),
    IRR_ROOT_BELOW_RANGE: (
        "n/a: NPV is zero only at a rate below -99.99% per year (a near-total loss); "
        "not reported as an IRR"
    ),
    IRR_ROOT_ABOVE_RANGE: (
        "n/a: NPV is zero only at a rate above 100,000,000% per year (the first flows are "
        "negligible next to the later ones); not reported as an IRR"
    ),
    IRR_NOT_CONVERGED: "n/a: the root search did not reach NPV = 0 to the required precision",
    IRR_ALL_ZERO: "n/a: the cash flows are all zero",
    IRR_NOT_FINITE: "n/a: the cash flows are not all finite numbers",
}


#: Matrix products with at least this many rows run on one BLAS thread (see :func:`one_blas_thread`).
BLAS_SINGLE_THREAD_ROWS = 256


@cache
def _blas_controller() -> Any:
    return ThreadpoolController()


def one_blas_thread(n_rows: int) -> contextlib.AbstractContextManager[Any]:
    """A context in which BLAS (numpy's matrix products) runs on one thread, for ``n_rows`` of
    at least :data:`BLAS_SINGLE_THREAD_ROWS` (smaller products never start threads).

    The model's products are thin (a few dozen periods deep): a second BLAS thread saves little
    and, on a machine whose cores are busy, its waiting costs many times the product (measured
    on 2 cores under load: eight (1024 x 35) @ (35 x 180) products took 34 ms on two threads,
    2.8 ms on one). The Monte Carlo workers run on one thread for the same reason.
    """
    if n_rows < BLAS_SINGLE_THREAD_ROWS:
        return contextlib.nullcontext()
    limiter: contextlib.AbstractContextManager[Any] = _blas_controller().limit(
        limits=1, user_api="blas"
    )
    return limiter


class FinanceInputError(ValueError):
    """An argument of a finance primitive outside its domain; the message names the argument."""


def check_rate(rate: ArrayLike, name: str = "rate") -> FloatArray:
    """``rate`` as a float array, every value a number above -1 (-100%); else FinanceInputError.

    At -1 discounting divides by zero (``(1 + r) ** -t``); below it the factors alternate sign.

    Examples
    --------
    >>> check_rate(-1.0)
    Traceback (most recent call last):
    ...
    model.finance.FinanceInputError: rate = -1 is not allowed (allowed: a number above -1, i.e. above -100% per period)
    """
    try:
        r = np.asarray(rate, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise FinanceInputError(f"{name} is not a number or an array of numbers") from None
    bad = ~(r > -1.0)  # also NaN
    if bad.any():
        v = float(r.ravel()[int(np.argmax(bad.ravel()))])
        raise FinanceInputError(
            f"{name} = {v:g} is not allowed (allowed: a number above -1, i.e. above -100% per period)"
        )
    return r


def _as_2d(flows: ArrayLike) -> tuple[FloatArray, bool]:
    try:
        arr = np.asarray(flows, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise FinanceInputError("flows must be numbers (a 1-D or 2-D array)") from None
    if arr.ndim == 1:
        return arr[None, :], True
    if arr.ndim != 2:
        raise FinanceInputError(f"flows must be 1-D or 2-D, got {arr.ndim}-D")
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
    r = np.atleast_1d(check_rate(rate))[:, None]
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
    r = check_rate(rates, "rates")
    d = discount_factors(r, arr.shape[1]).T  # (T, R)
    with one_blas_thread(arr.shape[0]):
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
        The root of NPV(rate) = 0 closest to zero (as numpy-financial chooses), NaN where none is
        reported (see :func:`irr_diagnostics` for the reason).
    n_roots : ndarray of shape (S,)
        Sign changes of the NPV profile over :data:`IRR_SCAN_RATES` and beyond both ends (so a
        root below -99.99% or above 100,000,000% counts too). More than one means several IRRs:
        the IRR alone is then ambiguous.

    Notes
    -----
    See :func:`irr_diagnostics`.

    Examples
    --------
    >>> root, n = irr_details([-100.0, 230.0, -132.0])  # roots at 10% and 20%
    >>> round(float(root[0]), 12), int(n[0])
    (0.1, 2)
    """
    root, count, _ = irr_diagnostics(flows, chunk_rows)
    return root, count


def irr_diagnostics(
    flows: ArrayLike, chunk_rows: int = 8192
) -> tuple[FloatArray, NDArray[np.int64], NDArray[np.int8]]:
    r"""IRR, number of NPV roots and a reason code per row (:data:`IRR_REASONS`).

    Parameters
    ----------
    flows : array of shape (T,) or (S, T)
    chunk_rows : int
        Rows processed at once (bounds memory; results do not depend on it).

    Returns
    -------
    irr : ndarray of shape (S,)
        NaN unless the reason is :data:`IRR_OK`.
    n_roots : ndarray of shape (S,)
    reason : ndarray of int8, shape (S,)

    Notes
    -----
    The NPV profile :math:`\mathrm{NPV}(r) = \sum_t CF_t (1+r)^{-t}` is scanned on
    :data:`IRR_SCAN_RATES` (one matrix product for all rows). For negative rates it is scaled by
    :math:`(1+r)^{T-1} > 0`, which keeps its sign and avoids overflow. Beyond the scan, the sign
    is known: as :math:`r \to \infty` the first non-zero flow dominates, as :math:`r \to -1`
    the last; a sign change there is a root outside the scan. Among the scanned intervals where
    the profile changes sign, the one closest to a zero rate is kept, and safeguarded Newton steps
    find the root inside it. The root is reported only if it zeroes the profile:
    :math:`|\mathrm{NPV}(r)| \le` :data:`IRR_RESIDUAL_TOLERANCE`
    :math:`\cdot \sum_t |CF_t| (1+r)^{-t}`. Flows without a sign change have no IRR (Descartes'
    rule of signs: one sign change in the flows means exactly one root). Roots closer together
    than the scan spacing (a double root between two scan rates) can be missed.

    Negligible flows are zero: every flow with :math:`|CF_t| \le` :data:`IRR_NEGLIGIBLE_SHARE`
    :math:`\cdot \sum_s |CF_s|` of its row (rounding residue, a subnormal tail) is read as 0
    before anything else, so it neither makes a sign change nor puts a root next to -100%, and
    the profile above is that of the flows so read. Rows without such a flow are searched as
    they are, bit for bit.

    Examples
    --------
    >>> root, n, reason = irr_diagnostics([[-100.0, 60.0, 60.0], [100.0, 50.0, 10.0]])
    >>> [round(float(r), 6) for r in root[:1]], n.tolist(), reason.tolist()
    ([0.130662], [1, 0], [0, 1])
    """
    arr, _ = _as_2d(flows)
    n_rows = arr.shape[0]
    root = np.full(n_rows, np.nan)
    count = np.zeros(n_rows, dtype=np.int64)
    reason = np.zeros(n_rows, dtype=np.int8)
    with one_blas_thread(n_rows):
        for start in range(0, n_rows, chunk_rows):
            sl = slice(start, start + chunk_rows)
            root[sl], count[sl], reason[sl] = _irr_chunk(arr[sl])
    return root, count, reason


def irr_reason(flows: ArrayLike) -> str:
    """Why one cash-flow series has (or has no) IRR, as a sentence from :data:`IRR_REASONS`.

    Examples
    --------
    >>> irr_reason([100.0, 50.0])
    'n/a: the cash flows never change sign, so no rate makes NPV zero'
    >>> irr_reason([1.0, -3.0, 3.0])
    'n/a: the cash flows change sign, but NPV stays on one side of zero at every discount rate above -100%'
    """
    arr = np.asarray(flows, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"flows must be 1-D for irr_reason, got {arr.ndim}-D")
    _, _, reason = irr_diagnostics(arr)
    return IRR_REASONS[int(reason[0])]


@cache
def _scan_discount_matrix(n_periods: int) -> FloatArray:
    """``E[t, j] = (1 + r_j) ** (k_j - t)`` with ``k_j = n_periods - 1`` for negative scan rates
    and 0 otherwise: the NPV profile times a positive factor (same sign, no overflow)."""
    r = IRR_SCAN_RATES
    k = np.where(r < 0, n_periods - 1, 0).astype(np.float64)[None, :]
    t = np.arange(n_periods, dtype=np.float64)[:, None]
    d = np.exp((k - t) * np.log1p(r)[None, :])
    d.setflags(write=False)
    return np.asarray(d, dtype=np.float64)


assert IRR_SCAN_RATES.size <= 256  # sign changes are counted in bytes (_irr_scan)

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


def _irr_chunk(arr: FloatArray) -> tuple[FloatArray, NDArray[np.int64], NDArray[np.int8]]:
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        return _irr_chunk_raw(arr)


def _end_signs(arr: FloatArray) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Sign (True = negative) of the profile as r -> -1 (last non-zero flow) and r -> inf
    (first non-zero flow)."""
    nz = arr != 0
    n_t = arr.shape[1]
    rows = np.arange(arr.shape[0])
    first = np.argmax(nz, axis=1)
    last = n_t - 1 - np.argmax(nz[:, ::-1], axis=1)
    return np.signbit(arr[rows, last]), np.signbit(arr[rows, first])


#: Rows of the NPV-profile scan processed at once (their (rows, rates) profile fits in cache).
_SCAN_BLOCK_ROWS = 1024

#: Below this many rows every row is scanned (the one-signed test would cost more than it saves).
_SKIP_MIN_ROWS = 64


@cache
def _one_signed_scale_bounds(n_periods: int) -> tuple[float, float]:
    """Smallest and largest non-zero ``|CF|`` for which every term ``CF_t E[t, j]`` of the scan
    is a normal float that cannot overflow in the sum (``E``: :func:`_scan_discount_matrix`)."""
    d = _scan_discount_matrix(n_periods)
    smallest = float(d.min())
    low = 1e-300 / smallest if smallest > 0 else math.inf
    return low, 1e300 / (n_periods * float(d.max()))


#: The row sums of :func:`_negligible_as_zero` are taken times this power of 2 (exact), so that
#: they cannot overflow in rows of up to 1 / _SUM_SCALE periods.
_SUM_SCALE = 2.0**-10


@cache
def _sum_weights(n: int) -> FloatArray:
    """A read-only vector of ``n`` times :data:`_SUM_SCALE` (scaled row sums as one
    matrix-vector product)."""
    out = np.full(n, _SUM_SCALE)
    out.setflags(write=False)
    return out


def _negligible_as_zero(work: FloatArray) -> FloatArray:
    """``work`` (finite) with every flow at most :data:`IRR_NEGLIGIBLE_SHARE` of the sum of its
    row's magnitudes read as 0; ``work`` itself where no non-zero flow is that small."""
    magnitude = np.abs(work)
    # the row sums (scaled) as a matrix-vector product: a fraction of a row-wise reduction's
    # time on short rows
    bound = magnitude @ _sum_weights(work.shape[1])
    if work.shape[1] * _SUM_SCALE > 1.0 and not np.isfinite(bound).all():
        # (a longer row's sum may overflow: read against its largest magnitude instead)
        bound = np.where(np.isfinite(bound), bound, magnitude.max(axis=1) * _SUM_SCALE)
    bound *= IRR_NEGLIGIBLE_SHARE / _SUM_SCALE
    negligible = magnitude <= bound[:, None]
    # (zeros are among the negligible: a new array only where some non-zero flow is too)
    if np.count_nonzero(negligible) == work.size - np.count_nonzero(work):
        return work
    return np.where(negligible, 0.0, work)


def _irr_chunk_raw(arr: FloatArray) -> tuple[FloatArray, NDArray[np.int64], NDArray[np.int8]]:
    n_rows, n_t = arr.shape
    finite_rows: NDArray[np.bool_] = np.asarray(np.isfinite(arr).all(axis=1))
    work = arr if finite_rows.all() else np.where(finite_rows[:, None], arr, 0.0)
    work = _negligible_as_zero(work)
    has_pos: NDArray[np.bool_] = np.asarray((work > 0).any(axis=1))
    has_neg: NDArray[np.bool_] = np.asarray((work < 0).any(axis=1))
    nonzero_rows = has_pos | has_neg  # (rows with NaN or inf are reported as such below)
    mixed = has_pos & has_neg
    # Flows of one sign give a profile of that sign at every rate: no root, nothing to scan, as
    # long as no term of the scan underflows (a sum of +0 could flip the sign) or overflows.
    scan = mixed.copy()
    same = np.flatnonzero(~mixed)
    if n_rows < _SKIP_MIN_ROWS:
        scan[:] = True
    elif same.size:
        absolute = np.abs(work[same])
        smallest = np.where(absolute > 0, absolute, np.inf).min(axis=1)
        low, high = _one_signed_scale_bounds(n_t)
        scan[same] = (smallest < low) | (absolute.max(axis=1) > high)
    n_roots = np.zeros(n_rows, dtype=np.int64)
    reason = np.where(nonzero_rows, IRR_NO_SIGN_CHANGE, IRR_ALL_ZERO).astype(np.int8)
    root = np.full(n_rows, np.nan)
    if scan.all():
        root, n_roots, reason = _irr_scan(work, nonzero_rows, ~mixed)
    elif scan.any():
        rows = np.flatnonzero(scan)
        root[rows], n_roots[rows], reason[rows] = _irr_scan(
            work[rows], nonzero_rows[rows], ~mixed[rows]
        )
    reason = np.where(finite_rows, reason, IRR_NOT_FINITE)
    root = np.where(reason == IRR_OK, root, np.nan)
    n_roots = np.where(finite_rows, n_roots, 0)
    return root, n_roots.astype(np.int64), reason.astype(np.int8)


def _irr_scan(
    work: FloatArray, nonzero_rows: NDArray[np.bool_], one_signed: NDArray[np.bool_]
) -> tuple[FloatArray, NDArray[np.int64], NDArray[np.int8]]:
    """Root, root count and reason of finite rows from the scan of their NPV profile."""
    n_rows, n_t = work.shape
    rates = IRR_SCAN_RATES
    d = _scan_discount_matrix(n_t)
    # the profile times a positive factor at every scan rate, (S, R), a block of rows at a time
    # (what a block needs stays in cache): its sign changes, the nearest to zero, and the
    # profile at both ends of that interval and of the scan
    inside = np.empty(n_rows, dtype=np.int64)
    idx = np.empty(n_rows, dtype=np.int64)
    f_a = np.empty(n_rows)
    f_b = np.empty(n_rows)
    first_neg = np.empty(n_rows, dtype=bool)
    last_neg = np.empty(n_rows, dtype=bool)
    for b0 in range(0, n_rows, _SCAN_BLOCK_ROWS):
        sl = slice(b0, b0 + _SCAN_BLOCK_ROWS)
        prof = work[sl] @ d
        neg = np.signbit(prof)
        change = neg[:, :-1] != neg[:, 1:]
        # sign changes per row, summed in bytes (fewer than 256 scan intervals): about three
        # times as fast as count_nonzero along the rows
        count = change.view(np.uint8).sum(axis=1, dtype=np.uint8)
        inside[sl] = count
        # a row with one change has it as its nearest; only rows with more need the search
        # (rows with none take index 0: no bracket is read for them)
        at = np.argmax(change, axis=1)
        several = np.flatnonzero(count > 1)
        if several.size:
            at[several] = _nearest_change(change[several])
        idx[sl] = at
        r = np.arange(prof.shape[0])
        f_a[sl] = prof[r, at]
        f_b[sl] = prof[r, at + 1]
        first_neg[sl] = neg[:, 0]
        last_neg[sl] = neg[:, -1]
    low_neg, high_neg = _end_signs(work)
    below = nonzero_rows & (low_neg != first_neg)
    above = nonzero_rows & (high_neg != last_neg)
    n_roots = np.where(nonzero_rows, inside + below + above, 0)
    has = inside > 0
    root = np.full(n_rows, np.nan)
    converged = np.zeros(n_rows, dtype=bool)
    n_has = int(np.count_nonzero(has))
    if n_has:
        # mostly rows with a root: keep every row (no copy of the flows) and let the rows without
        # one drop out after the first Newton step; otherwise work on the rows with a root only
        dense = 4 * n_has >= 3 * n_rows
        rows = np.arange(n_rows) if dense else np.flatnonzero(has)
        found, ok = _newton_in_bracket(
            work if dense else work[rows],
            rates[idx[rows]],
            rates[idx[rows] + 1],
            f_a[rows],
            f_b[rows],
            ~has[rows],
        )
        root[rows] = np.where(has[rows] & ok, found, np.nan)
        converged[rows] = has[rows] & ok
    reason = np.full(n_rows, IRR_OK, dtype=np.int8)
    reason = np.where(has & ~converged, IRR_NOT_CONVERGED, reason)
    reason = np.where(~has & above, IRR_ROOT_ABOVE_RANGE, reason)
    reason = np.where(~has & below, IRR_ROOT_BELOW_RANGE, reason)
    reason = np.where(~has & ~above & ~below, IRR_PROFILE_ONE_SIGN, reason)
    reason = np.where(~has & ~above & ~below & one_signed, IRR_NO_SIGN_CHANGE, reason)
    reason = np.where(nonzero_rows, reason, IRR_ALL_ZERO)
    return root, n_roots.astype(np.int64), reason.astype(np.int8)


#: Below this many rows still iterating, a Newton step evaluates the profile as a matrix (a few
#: numpy calls) rather than by Horner's rule (four calls per period): the tail of slow rows.
_HORNER_MIN_ROWS = 256


def _newton_in_bracket(
    cf: FloatArray,
    lo: FloatArray,
    hi: FloatArray,
    f_lo: FloatArray,
    f_hi: FloatArray,
    no_root: NDArray[np.bool_],
) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Safeguarded Newton on the scaled profile inside ``[lo, hi]`` (one bracket per row).

    Returns the root and whether it zeroes the profile within :data:`IRR_RESIDUAL_TOLERANCE`.
    The profile is scaled by ``(1 + r) ** k`` with ``k = T - 1`` for brackets below zero (the
    scan includes 0, so a bracket never straddles it), as in the scan.

    Notes
    -----
    The scaled profile is a polynomial: ``P(v) = sum_t CF_t v^t`` in ``v = 1 / (1 + r)`` above
    zero and ``Q(w) = sum_t CF_t w^(T-1-t)`` in ``w = 1 + r`` below it, with ``0 < v, w <= 1``
    inside the scan. Horner's rule gives it and its derivative from products and sums over the
    periods, with no power or exponential (a few rows: one power per coefficient instead).
    Steps are Newton's in that variable ``z`` (``z - P(z) / P'(z)``, nearly linear where the
    IRR is large and ``P(v) ~ CF_0 + CF_1 v``), the first a secant through the bracket's ends;
    a step that leaves the bracket bisects it (in the rate). A row stops when a step moves the
    rate by at most 1e-13 (relative above 1).
    """
    n_rows, n_t = cf.shape
    below = hi <= 0
    k_all = np.where(below, float(n_t - 1), 0.0)
    if n_rows <= _SCALAR_MAX_ROWS:  # one scenario (evaluate): numpy's per-call cost dominates
        found = np.array(
            [
                _newton_scalar(cf[i], float(lo[i]), float(hi[i]), float(f_lo[i]), float(f_hi[i]))
                if not no_root[i]
                else 0.5 * float(lo[i] + hi[i])
                for i in range(n_rows)
            ]
        )
        return found, _zeroes_profile(cf, k_all, found)
    # secant through the bracket's ends in z (w = 1 + r below zero, v = 1 / (1 + r) above)
    z_lo = np.where(below, 1.0 + lo, 1.0 / (1.0 + lo))
    z_hi = np.where(below, 1.0 + hi, 1.0 / (1.0 + hi))
    z0 = z_lo - f_lo * (z_hi - z_lo) / (f_hi - f_lo)
    x = np.where(below, z0 - 1.0, 1.0 / z0 - 1.0)
    x = np.where((x > lo) & (x < hi), x, 0.5 * (lo + hi))
    lo_neg = np.signbit(f_lo)
    # coefficients from the highest power down, one row per power (columns = scenarios):
    # CF_{T-1} .. CF_0 in v above zero, CF_0 .. CF_{T-1} in w below it
    coef = np.where(below[None, :], cf.T, cf.T[::-1])
    power = np.arange(n_t - 1, -1, -1, dtype=np.float64)  # of each coefficient
    horner = n_rows >= _HORNER_MIN_ROWS
    by_row = coef.T  # (rows, powers): the few-rows evaluation
    # Newton on the rows not yet converged only (converged rows leave the working set, so a
    # few slow rows do not make the whole chunk iterate)
    active = np.arange(n_rows)
    found = np.full(n_rows, np.nan)
    for _ in range(100):
        z = np.where(below, 1.0 + x, 1.0 / (1.0 + x))
        if horner:
            f = coef[0].copy()
            dz = np.zeros_like(f)  # dP/dz
            for j in range(1, n_t):
                dz *= z
                dz += f
                f *= z
                f += coef[j]
        else:
            terms = by_row * z[:, None] ** power
            f = terms.sum(axis=1)
            dz = (terms * power).sum(axis=1) / z
        same_as_lo = np.signbit(f) == lo_neg
        lo = np.where(same_as_lo, x, lo)
        hi = np.where(same_as_lo, hi, x)
        # the step in the rate: -P / P'(w) below zero; above, v - s with s = P / P'(v) is the
        # rate x + s / (v (v - s)) (no round trip through z, which would blur a tiny step)
        s = f / dz
        step = np.where(below, -s, s / (z * (z - s)))
        nxt = x + step
        # Newton converges quadratically: a step below 1e-13 leaves an error far below it
        scale = np.maximum(1.0, np.abs(x))
        small = np.abs(step) <= 1e-13 * scale
        # a step outside the bracket (or not a number) bisects it, unless it is already below
        # the tolerance (at the root, rounding may point it just past the end x has become)
        inside = (nxt > lo) & (nxt < hi)
        nxt = np.where(inside, nxt, np.where(small, x, 0.5 * (lo + hi)))
        zero = f == 0
        done = small | zero | no_root | (hi - lo <= 4e-16 * scale)
        x = np.where(zero, x, nxt)
        if done.all():
            found[active] = x
            active = active[:0]
            break
        if done.any():
            found[active[done]] = x[done]
            keep = ~done
            active, x, lo, hi = active[keep], x[keep], lo[keep], hi[keep]
            lo_neg, no_root, below = lo_neg[keep], no_root[keep], below[keep]
            if horner:
                coef = coef[:, keep]
                horner = active.size >= _HORNER_MIN_ROWS
                by_row = coef.T
            else:
                by_row = by_row[keep]
    # rows still unconverged after 100 steps keep their last iterate: the residual check decides
    return found, _zeroes_profile(cf, k_all, found)


def _zeroes_profile(cf: FloatArray, k: FloatArray, root: FloatArray) -> NDArray[np.bool_]:
    """Whether each root zeroes its scaled profile within :data:`IRR_RESIDUAL_TOLERANCE`."""
    t = np.arange(cf.shape[1], dtype=np.float64)[None, :]
    terms = cf * np.exp((k[:, None] - t) * np.log1p(root)[:, None])
    residual = np.abs(terms.sum(axis=1))
    ok = np.isfinite(root) & (residual <= IRR_RESIDUAL_TOLERANCE * np.abs(terms).sum(axis=1))
    return np.asarray(ok)


#: Inputs of at most this many rows take :func:`_newton_scalar` (the same steps in floats).
_SCALAR_MAX_ROWS = 2


def _newton_scalar(cf: FloatArray, lo: float, hi: float, f_lo: float, f_hi: float) -> float:
    """:func:`_newton_in_bracket` for one row, step for step, in Python floats."""
    below = hi <= 0
    coef = (cf if below else cf[::-1]).tolist()
    z_lo = 1.0 + lo if below else 1.0 / (1.0 + lo)
    z_hi = 1.0 + hi if below else 1.0 / (1.0 + hi)
    with np.errstate(all="ignore"):  # numpy floats: inf / NaN instead of exceptions
        z0 = np.float64(z_lo) - np.float64(f_lo) * (z_hi - z_lo) / np.float64(f_hi - f_lo)
        x = float(z0 - 1.0 if below else 1.0 / z0 - 1.0)
    if not lo < x < hi:
        x = 0.5 * (lo + hi)
    lo_neg = math.copysign(1.0, f_lo) < 0
    for _ in range(100):
        z = 1.0 + x if below else 1.0 / (1.0 + x)
        f, dz = coef[0], 0.0
        for c in coef[1:]:
            dz = dz * z + f
            f = f * z + c
        if (math.copysign(1.0, f) < 0) == lo_neg:
            lo = x
        else:
            hi = x
        if not (math.isfinite(f) and dz != 0.0 and math.isfinite(dz)):
            step = math.nan
        else:
            s = f / dz
            denom = z * (z - s)
            step = -s if below else (s / denom if denom != 0.0 else math.nan)
        nxt = x + step
        scale = max(1.0, abs(x))
        small = abs(step) <= 1e-13 * scale
        if not lo < nxt < hi:
            nxt = x if small else 0.5 * (lo + hi)
        zero = f == 0
        done = small or zero or hi - lo <= 4e-16 * scale
        if not zero:
            x = nxt
        if done:
            break
    return x


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
    .. math:: \\mathrm{MIRR} = \\left(\\frac{FV_{re}(CF^+)}{-PV_{fi}(CF^-)}\\right)^{1/(n-1)} - 1

    with :math:`FV_{re}(CF^+) = \\sum_t CF^+_t (1 + r_{re})^{n-1-t}` (positive flows compounded
    to the last period at the reinvestment rate) and
    :math:`PV_{fi}(CF^-) = \\sum_t CF^-_t (1 + r_{fi})^{-t}` (negative flows discounted to period
    0 at the finance rate); computed as numpy-financial does,
    ``(|NPV_re(CF+)| / |NPV_fi(CF-)|) ** (1/(n-1)) * (1+r_re) - 1``. NaN where the flows have no
    positive or no negative value.

    Examples
    --------
    Positives compounded to year 2 at 10%: 60 x 1.1 + 60 = 126; (126 / 100) ** (1/2) - 1:

    >>> round(mirr([-100.0, 60.0, 60.0], 0.1, 0.1), 6)
    0.122497
    """
    arr, scalar = _as_2d(flows)
    n = (
        np.full(arr.shape[0], arr.shape[1], dtype=np.float64)
        if n_periods is None
        else (np.broadcast_to(np.asarray(n_periods, dtype=np.float64), (arr.shape[0],)))
    )
    fr = np.broadcast_to(check_rate(finance_rate, "finance_rate"), (arr.shape[0],))
    rr = np.broadcast_to(check_rate(reinvest_rate, "reinvest_rate"), (arr.shape[0],))
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
    With ``rate``, each flow is first discounted by :math:`(1 + r)^t`; a rate of -1 or below (or
    NaN) raises :class:`FinanceInputError` naming ``rate`` (discounting is undefined there).

    Examples
    --------
    >>> round(payback([-100.0, 60.0, 60.0]), 6)
    1.666667
    >>> payback([-100.0, 150.0, -100.0, 100.0])
    2.5
    """
    arr, scalar = _as_2d(flows)
    if rate is not None:
        arr = arr * discount_factors(check_rate(rate), arr.shape[1])
    return _out(payback_from_cumulative(arr, cumulative_sum(arr)), scalar)


#: From this many rows, :func:`cumulative_sum` adds whole columns (fewer rows: ``np.cumsum``).
_COLUMN_LOOP_MIN_ROWS = 256


def cumulative_sum(arr: FloatArray) -> FloatArray:
    """``np.cumsum(arr, axis=1)`` of a 2-D array, bit for bit: ``C_t = C_{t-1} + x_t``.

    For many rows, a loop over the columns (one addition of two columns each) is about twice
    as fast as numpy's accumulate along short rows; its additions are the same, in the same
    order.
    """
    n, n_t = arr.shape
    if n < _COLUMN_LOOP_MIN_ROWS or n_t < 2:
        return np.cumsum(arr, axis=1)
    out = np.empty_like(arr)
    out[:, 0] = arr[:, 0]
    for t in range(1, n_t):
        np.add(out[:, t - 1], arr[:, t], out=out[:, t])
    return out


def payback_from_cumulative(arr: FloatArray, cum: FloatArray) -> FloatArray:
    """:func:`payback` of the rows of ``arr`` (2-D) from their cumulative sums ``cum``."""
    n_t = arr.shape[1]
    negative = cum < 0
    any_negative = negative.any(axis=1)
    last_neg = n_t - 1 - np.argmax(negative[:, ::-1], axis=1)
    rows = np.arange(arr.shape[0])
    nxt = np.minimum(last_neg + 1, n_t - 1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        frac = -cum[rows, last_neg] / arr[rows, nxt]  # in [0, 1] where it is used
    out = np.where(last_neg < n_t - 1, last_neg + frac, np.nan)
    return np.asarray(np.where(any_negative, out, 0.0), dtype=np.float64)


__all__ = [
    "IRR_REASONS",
    "IRR_RESIDUAL_TOLERANCE",
    "IRR_SCAN_RATES",
    "FinanceInputError",
    "check_rate",
    "discount_factors",
    "irr",
    "irr_details",
    "irr_diagnostics",
    "irr_reason",
    "mirr",
    "mirr_from_present_values",
    "npv",
    "npv_profile",
    "payback",
]
