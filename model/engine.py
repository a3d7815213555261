"""The vectorised cash-flow engine: every scenario of a batch at once, one row each.

Inputs are 1-D arrays (one value per scenario) for every field of :class:`model.Scenario`;
outputs are 2-D arrays of shape (scenarios, years) for the annual lines and 1-D arrays for the
metrics. Loops run over years or asset vintages, never over scenarios. Formulas and conventions
are in ``docs/methodology.md``; names carry their units (``_busd`` = US$ billions).
"""

from __future__ import annotations

import contextlib
import contextvars
import ctypes
import dataclasses
import math
import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache, cached_property
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from model import cpus, finance
from model.curves import LeaseCurve
from model.data import ENTRANT_COST_FIELDS, entrant_profiles
from model.fields import ENTRANT_PROFILES, FIELD_NAMES
from model.financing import (
    FINANCING_LINES,
    ProjectFlows,
    finance_project,
    has_financing,
    unfinanced,
)
from model.tax import cash_tax, tax_depreciation

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
_T = TypeVar("_T")

HOURS_PER_YEAR = 8760.0
SECONDS_PER_YEAR = HOURS_PER_YEAR * 3600.0
MWH_PER_GW_HOUR = 1000.0
USD_PER_BUSD = 1e9
TOKENS_PER_M = 1e6
#: Upper end of the breakeven lease-rate search, US$ B per GW-year (the field's upper bound).
BREAKEVEN_LEASE_MAX = 60.0
TOKENS_PER_QUADRILLION = 1e15
#: Smallest lease rate (US$ B per GW-year) the indices are expressed against (a rate of 0 has no
#: index; revenue stays rate x index, so 0 earns 0).
MIN_RATE_REF = 1e-3
#: Bound on log indices so extreme growth inputs stay finite (exp(700) ~ 1e304).
LOG_CLIP = 700.0

#: Annual lines, in the order of ``Result.cash_flows`` (all US$ B except ``year``).
LINE_NAMES: tuple[str, ...] = (
    "revenue_lease",
    "revenue_hosting",
    "revenue_resale",
    "revenue_internal",
    "revenue",
    "power_cost",
    "other_opex",
    "variable_opex",
    "procurement_cost",
    "licence_fee",
    "ebitda",
    "depreciation",
    "tax_depreciation",
    "ebit",
    "residual_gain",
    "tax",
    "nopat",
    "capex",
    "capex_refresh",
    "residual_value",
    "fcf",
    "cumulative_fcf",
    "discounted_fcf",
    "net_book_value",
    *FINANCING_LINES,
)
#: Per-year market indices, in the order of ``Result.market`` (dimensionless, 1 = today).
INDEX_NAMES: tuple[str, ...] = (
    "token_price_index",
    "token_volume_index",
    "compute_demand_index",
    "industry_capacity_index",
    "lease_rate_index",
    "lease_rate_ceiling_index",
    "lease_rate_floor_index",
    "fleet_lease_rate_index",
    "contracted_lease_rate_index",
    "billed_lease_rate_index",
    "builder_tokens_per_gpu_index",
    "hosting_volume_factor",
    "hosting_capacity_used_share",
    "hosting_token_price_index",
    "contract_rate_index_1y",
    "contract_rate_index_3y",
    "contract_rate_index_5y",
)
#: Tenors (years) of the ``contract_rate_index_<m>y`` columns of ``Result.market``.
CONTRACT_TENORS: tuple[int, ...] = (1, 3, 5)


@dataclass(frozen=True)
class EngineOutput:
    """Annual lines (S, T), market indices (S, T), masks and per-scenario metrics (S,)."""

    years: NDArray[np.int64]
    lines: dict[str, FloatArray]
    market: dict[str, FloatArray]
    active: BoolArray
    operating: BoolArray
    horizon_years: NDArray[np.int64]
    metrics: dict[str, FloatArray]
    ebit_per_lease_rate: FloatArray
    #: Discount factors ``(1 + wacc) ** -t``, shape (S, T) (None only if built elsewhere).
    discount: FloatArray | None = None
    #: What the residual value needs (None only if built elsewhere).
    residual: _ResidualInputs | None = None
    #: Taxable income less EBIT and the book gain on disposal (tax vs book depreciation), (S, T).
    tax_base_shift: FloatArray | None = None
    #: What tells whether the market's bounds bind at another lease rate (None only if built
    #: elsewhere): lets the breakeven skip its check pass where none can (methodology 5.1).
    rate_bounds: RateBounds | None = None
    #: The refresh decisions (section 2.4; None where no row decides one): the breakeven's
    #: guess holds them, so it is checked where one could switch before the guess's rate.
    refresh: _Refresh | None = None


def _col(params: dict[str, FloatArray], name: str) -> FloatArray:
    return params[name][:, None]


def _clamp(x: FloatArray, low: float | FloatArray, high: float | FloatArray) -> FloatArray:
    """``min(max(x, low), high)`` (np.clip's Python wrapper costs more than the work here)."""
    return np.minimum(np.maximum(x, low), high)


def _phi(x: FloatArray) -> FloatArray:
    """``x / (1 - exp(-x))`` (1 at ``x = 0``): ``L x`` the continuous capital-recovery factor."""
    return 1.0 / _psi(x)


def _psi(y: FloatArray) -> FloatArray:
    """``(1 - exp(-y)) / y`` (1 at ``y = 0``): the present value of 1 a year over 1 / rate."""
    # below 1e-12 the series 1 - y / 2 equals 1 to double precision
    out: FloatArray = np.empty_like(y)
    out.fill(1.0)  # (np.ones_like's Python wrapper costs more than the work for one scenario)
    neg = -y  # expm1(-y) / -y is -expm1(-y) / y exactly (IEEE division is symmetric in sign)
    np.divide(np.expm1(neg), neg, out=out, where=neg < -1e-12)
    return out


def _discounted_years(k: FloatArray, x: FloatArray) -> FloatArray:
    """``integral_0^x exp(-k a) da = (1 - exp(-k x)) / k`` for ``x >= 0`` and ``k`` of either
    sign (``x`` where ``k x`` is 0; ``expm1`` keeps it exact for small ``k x``)."""
    y = k * x
    out: FloatArray = np.empty(y.shape)  # x broadcast to y's shape (without np.broadcast_to)
    out[...] = x
    exact = y != 0.0  # (k x underflows to 0 for a subnormal k: x is the integral then)
    np.expm1(-y, out=y)
    np.negative(y, out=y)
    np.divide(y, k, out=out, where=exact)
    return out


def _vintage_integral(u: FloatArray, k_last: FloatArray) -> FloatArray:
    """``integral_0^u min(floor(w), k_last) dw`` for ``u >= 0`` (0 for ``u < 0``)."""
    u = np.maximum(u, 0.0)
    v = np.minimum(u, k_last)
    # the integral is continuous at integers, so float noise in floor() does not matter
    f: FloatArray = np.floor(v)
    # f * (f - 1) / 2 + f * (v - f) + k_last * max(u - k_last, 0), in place (same operations)
    out: FloatArray = f - 1.0
    out *= f
    out /= 2.0
    v -= f
    v *= f
    out += v
    beyond = u - k_last  # (u itself is the caller's)
    np.maximum(beyond, 0.0, out=beyond)
    beyond *= k_last
    out += beyond
    return out


def _column_span(any_row: BoolArray) -> slice:
    """The columns from the first to the last marked one (an empty slice if none is)."""
    marked = np.flatnonzero(any_row)
    return slice(int(marked[0]), int(marked[-1]) + 1) if marked.size else slice(0, 0)


def _last_vintage(life: FloatArray, build: FloatArray, horizon: FloatArray) -> FloatArray:
    """Index ``k_last`` of the last vintage of a class that starts before the horizon end."""
    # (ndarray.round: np.round's Python wrapper costs more than the work for one scenario)
    return np.maximum(np.ceil(((horizon - build) / life).round(9)) - 1.0, 0.0)


def _life_left(life: FloatArray, build: FloatArray, horizon: FloatArray) -> FloatArray:
    """Years left at the horizon of the vintage of a class in service then (S,)."""
    return np.asarray((_last_vintage(life, build, horizon) + 1.0) * life - (horizon - build))


def _refresh_capex(
    cost: FloatArray, life: FloatArray, build: FloatArray, horizon: FloatArray, t: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Like-for-like refresh spend per year (S, T) and the end-of-horizon net book value (S,).

    Vintage k >= 1 starts at the exact time ``s = build + k * life`` (years from the start of
    year 0) if that is before the horizon end. Its payment is split between the two year ends
    around it in proportion (a start at 7.5 is paid half at the end of year 6, half at the end of
    year 7; a start at exactly 6.0 at the end of year 5), so the spend moves continuously with
    ``life``. With ``N(z)`` the vintages started by time ``z``, the amount paid by time ``y`` is
    ``integral_{y}^{y+1} N``; year t pays its second difference, in closed form (no loop).
    """
    k_last = _last_vintage(life, build, horizon)
    n_t = t.shape[1]
    remaining = (k_last + 1.0) * life - (horizon - build)
    nbv_end = cost * _clamp(remaining / life, 0.0, 1.0)
    if not (k_last > 0).any():  # no refresh inside any row's horizon (e.g. a long facility life)
        return np.zeros((cost.shape[0], n_t)), nbv_end
    x = np.arange(n_t + 2, dtype=np.float64)[None, :]  # times 0 .. T + 1
    integral = life[:, None] * _vintage_integral(
        (x - build[:, None]) / life[:, None], k_last[:, None]
    )
    # paid by time y: I(y + 1) - I(y); year t pays paid(t + 1) - paid(t)
    count = integral[:, 2:] - 2.0 * integral[:, 1:-1] + integral[:, :-2]
    # the second difference of exact multiples leaves float noise of ~1e-15: dropped
    spend = cost[:, None] * np.where(count > 1e-12, count, 0.0)
    return spend, nbv_end


_FLOAT64 = np.dtype(np.float64)


def _float_array(x: FloatArray) -> FloatArray:
    """``np.asarray(x, dtype=np.float64)``: ``x`` itself where it already is a float64 ndarray
    (as :func:`model.results.scenario_params` gives; skips asarray's argument parsing)."""
    if type(x) is np.ndarray and x.dtype is _FLOAT64:
        return x
    return np.asarray(x, dtype=np.float64)


def run(
    params: dict[str, FloatArray],
    *,
    with_breakeven: bool = False,
    curve: LeaseCurve | None = None,
) -> EngineOutput:
    """Evaluate every scenario in ``params`` (arrays of shape (S,), one per field).

    Parameters
    ----------
    params : dict of str to ndarray
        Every field of :class:`model.Scenario`, already validated, as float64 arrays.
    with_breakeven : bool
        Also solve for the lease rate at which NPV = 0 (a few extra engine passes).
    curve : LeaseCurve, optional
        A dated curve of the lease rate every row follows (methodology section 4.8).
    """
    p = {k: _float_array(params[k]) for k in FIELD_NAMES}
    token = _CURVE.set(curve)
    try:
        out = _cash_flows(p, with_metrics=True)
        if with_breakeven:
            out.metrics["breakeven_lease_rate_busd_per_gw_year"] = _breakeven_lease(p, out)
    finally:
        _CURVE.reset(token)
    return out


#: glibc ``mallopt`` parameters (``malloc.h``) and the values set by :func:`_keep_freed_memory`.
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
#: Heap memory a free leaves in the process before it is returned to the system (bytes).
KEEP_FREED_BYTES = 256 * 2**20
#: Free memory kept at the top of a heap when it grows or shrinks (bytes): the threads' heaps
#: (glibc gives each thread its own) are otherwise trimmed to the byte and faulted in again.
KEEP_TOP_BYTES = 64 * 2**20
#: Arrays up to this size come from the heap (reused) rather than a fresh ``mmap`` (the most
#: glibc allows, bytes).
HEAP_ARRAY_MAX_BYTES = 32 * 2**20


#: Environment variable that turns the allocator setting of :func:`_keep_freed_memory` off.
ALLOCATOR_TUNING_ENV = "AIDC_ALLOCATOR_TUNING"


def _keep_freed_memory() -> bool:
    """Let glibc reuse freed array memory instead of returning it to the system at once.

    A batch chunk allocates and frees hundreds of temporaries of a few MB each. With glibc's
    defaults, arrays above its (adaptive) ``mmap`` threshold get fresh pages from the kernel and
    freed memory at the top of the heap goes back to it, so every temporary is page-faulted in
    and zeroed again: measured on 2 cores, about 300,000 faults and a third of the CPU time of
    100,000 random scenarios. Raising both thresholds keeps that memory for reuse (at most
    :data:`KEEP_FREED_BYTES` idle). Same numbers; glibc on Linux only, and not where the user
    set these thresholds through the environment, nor where :data:`ALLOCATOR_TUNING_ENV` is
    ``off`` (the dashboard's server sets it: a long-lived process serving many sessions should
    hand memory back rather than keep each thread's peak). Returns whether the thresholds were set.
    """
    if os.environ.get(ALLOCATOR_TUNING_ENV, "").strip().lower() in ("off", "0", "false", "no"):
        return False
    if not sys.platform.startswith("linux") or any(
        k in os.environ
        for k in (
            "MALLOC_TRIM_THRESHOLD_",
            "MALLOC_MMAP_THRESHOLD_",
            "MALLOC_TOP_PAD_",
            "GLIBC_TUNABLES",
        )
    ):
        return False
    try:
        os.confstr("CS_GNU_LIBC_VERSION")  # raises where the C library is not glibc (musl)
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError, ValueError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(
        mallopt(_M_MMAP_THRESHOLD, HEAP_ARRAY_MAX_BYTES)
        and mallopt(_M_TRIM_THRESHOLD, KEEP_FREED_BYTES)
        and mallopt(_M_TOP_PAD, KEEP_TOP_BYTES)
    )


_keep_freed_memory()

#: Rows evaluated at once by :func:`run_metrics`: small enough for the temporaries to stay in
#: cache (large fresh arrays cost page faults), large enough to amortise numpy call overhead.
CHUNK_ROWS = 8192

#: Threads :func:`run_metrics` may use for batches of two chunks or more (capped at the cores
#: the process may use). numpy's array operations release the GIL, so the chunks of one batch
#: run side by side; every row is independent, so the numbers do not depend on the threads.
#: A context variable, so a limit set in one thread (a Monte Carlo worker, a session) stays there.
_MAX_THREADS: contextvars.ContextVar[int] = contextvars.ContextVar("batch_threads", default=2)


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


def usable_cores() -> int:
    """Cores this process may keep busy: its affinity capped by its cgroup's CPU quota (v1 or v2;
    ``--cpus=2`` on a 64-core host gives 2), see :mod:`model.cpus`. Sizes the batch threads and
    the Monte Carlo's worker pool."""
    return cpus.usable_cores(available_cores(), cpus.cgroup_cpu_quota())


@contextlib.contextmanager
def batch_threads(n: int) -> Iterator[None]:
    """A context in which :func:`run_metrics` uses at most ``n`` threads (1: no threads)."""
    token = _MAX_THREADS.set(max(1, int(n)))
    try:
        yield
    finally:
        _MAX_THREADS.reset(token)


def run_metrics(
    params: dict[str, FloatArray],
    *,
    with_breakeven: bool = False,
    curve: LeaseCurve | None = None,
) -> dict[str, FloatArray]:
    """Per-scenario metrics only, evaluated in row chunks of :data:`CHUNK_ROWS`.

    Same numbers as :func:`run` (each row is independent); annual tables are not kept. Batches
    of two chunks or more run their chunks on up to two threads (numpy releases the GIL).
    """
    p = {k: np.asarray(params[k], dtype=np.float64) for k in FIELD_NAMES}
    n = p["gw_built"].shape[0]
    # rows in order of horizon: each chunk is only as many years wide as its longest row (rows
    # already in that order, e.g. all of one horizon, are not copied)
    horizon = p["build_years"] + p["operating_years"]
    in_order = bool(np.all(horizon[1:] >= horizon[:-1]))
    order = np.arange(n) if in_order else np.argsort(horizon, kind="stable")
    sorted_p = p if in_order else {k: v[order] for k, v in p.items()}

    def one_chunk(start: int) -> dict[str, FloatArray]:
        q = {k: v[start : start + CHUNK_ROWS] for k, v in sorted_p.items()}
        token = _CURVE.set(curve)  # (each thread its own context; section 4.8)
        try:
            out = _cash_flows(q, with_metrics=True, tables=False)
            if with_breakeven:
                out.metrics["breakeven_lease_rate_busd_per_gw_year"] = _breakeven_lease(q, out)
        finally:
            _CURVE.reset(token)
        return out.metrics

    starts = list(range(0, n, CHUNK_ROWS))
    threads = min(_MAX_THREADS.get(), len(starts))
    threads = min(threads, usable_cores()) if threads > 1 else threads
    if threads > 1:
        # one BLAS thread for the whole batch: the chunks' own limits then nest inside it
        with finance.one_blas_thread(n), ThreadPoolExecutor(threads) as pool:
            parts = list(pool.map(one_chunk, starts))
    else:
        parts = [one_chunk(start) for start in starts]
    if not parts:
        return {}
    if in_order:
        return {k: np.concatenate([part[k] for part in parts]) for k in parts[0]}
    inverse = np.empty_like(order)
    inverse[order] = np.arange(n)
    return {k: np.concatenate([part[k] for part in parts])[inverse] for k in parts[0]}


# ---- the engine's stages ------------------------------------------------------------------
# ``_cash_flows`` runs them in order; each takes the inputs ``p`` and the containers of the
# stages before it and returns its own container (arrays (S, T) per year, (S, 1) per scenario
# column, (S,) per scenario), so every number is computed by the same operations in the same
# order as when the engine was one function.


@dataclass(frozen=True, slots=True)
class _Timeline:
    """The year grid of a batch (methodology section 1).

    ``t`` is (1, T) (year indices as floats), ``b`` and ``h_end`` are (S, 1) (build years and
    horizon), ``build`` and ``horizon`` the same as (S,); ``active`` marks the years before the
    horizon end, ``operating`` those from the end of the build on, (S, T).
    """

    n: int
    n_years: int
    years: NDArray[np.int64]
    build: FloatArray
    horizon: FloatArray
    t: FloatArray
    b: FloatArray
    h_end: FloatArray
    active: BoolArray
    operating: BoolArray


def _timeline(p: dict[str, FloatArray]) -> _Timeline:
    """Years 0 .. H - 1 of every scenario, H = B + N (methodology section 1)."""
    build = p["build_years"]
    horizon = build + p["operating_years"]
    n_years = int(np.max(horizon, initial=1.0))
    years = np.arange(n_years)
    t = years.astype(np.float64)[None, :]
    b = build[:, None]
    h_end = horizon[:, None]
    active = t < h_end
    return _Timeline(
        n=p["gw_built"].shape[0],
        n_years=n_years,
        years=years,
        build=build,
        horizon=horizon,
        t=t,
        b=b,
        h_end=h_end,
        active=active,
        operating=(t >= b) & active,
    )


@dataclass(frozen=True, slots=True)
class _Capital:
    """Capex of the build and of the like-for-like refreshes (US$ B; methodology section 2).

    ``cost_it``, ``cost_fac`` (S,) are the first build's IT and facility cost, ``build_spend``,
    ``refresh_it``, ``refresh_fac``, ``capex_refresh``, ``capex`` (S, T) the spend per year,
    ``nbv_it``, ``nbv_fac`` (S,) the net book values at the horizon end (the IT's over its book
    life), ``book_it`` (S, T) the IT's book depreciation with its write-offs at retirement
    (section 11.8), ``straight_it`` (S, T) and ``service_nbv_it`` (S,) the straight line over the
    service life and what it leaves (the tax straight-line, section 11.2), ``book_is_service``
    whether every row's book life is its service life (then the two are the same arrays).
    """

    gw: FloatArray
    cost_it: FloatArray
    cost_fac: FloatArray
    build_spend: FloatArray
    refresh_it: FloatArray
    refresh_fac: FloatArray
    nbv_it: FloatArray
    nbv_fac: FloatArray
    capex_refresh: FloatArray
    capex: FloatArray
    book_it: FloatArray
    straight_it: FloatArray
    service_nbv_it: FloatArray
    book_is_service: bool


def _book_it(
    p: dict[str, FloatArray], tl: _Timeline, cost_it: FloatArray, op_width: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """IT book depreciation per year (S, T) and the IT's book value at the horizon (S,) over the
    book life ``L_b`` apart from the service life ``L_s`` (methodology section 11.8).

    Each vintage (service ``[b + k L_s, b + (k + 1) L_s)``) is charged ``cost / L_b`` a year
    while its age is below ``L_b``; a vintage retired before its book life ends has the rest,
    ``cost (1 - L_s / L_b)``, written off at its retirement. With ``u = z - b``, ``n(z)`` the
    vintages retired by ``z`` (at most ``k_last``) and ``a = u - n L_s`` the age of the one in
    service, the charge by ``z`` is ``cost / L_b (n min(L_b, L_s) + min(a, L_b))`` plus
    ``n cost max(1 - L_s / L_b, 0)``; year t is charged its difference between the ends of the
    year's operating part. A vintage that reaches the horizon keeps ``cost max(1 - a / L_b, 0)``.
    """
    life_s = p["it_life_years"][:, None]
    life_b = p["it_book_life_years"][:, None]
    b, h_end = tl.b, tl.h_end
    k_last = _last_vintage(life_s, b, h_end)
    cost = cost_it[:, None]
    write_off = cost * np.maximum(1.0 - life_s / life_b, 0.0)

    def charged(z: FloatArray) -> FloatArray:
        u = np.maximum(z - b, 0.0)
        n = np.minimum(np.floor(np.round(u / life_s, 9)), k_last)
        age = u - n * life_s
        return np.asarray(
            cost / life_b * (n * np.minimum(life_b, life_s) + np.minimum(age, life_b))
            + n * write_off
        )

    # the charge at every year boundary once: year t's operating part runs from boundary t to
    # boundary t + 1, both clamped to [b, h_end] (its end is the next year's start)
    edges = _clamp(np.arange(tl.n_years + 1, dtype=np.float64)[None, :], b, h_end)
    by_edge = charged(edges)
    book = np.where(op_width > 0.0, by_edge[:, 1:] - by_edge[:, :-1], 0.0)
    age_end = (h_end - b - k_last * life_s)[:, 0]
    nbv_end = cost_it * np.maximum(1.0 - age_end / p["it_book_life_years"], 0.0)
    return book, nbv_end


def _capital(p: dict[str, FloatArray], tl: _Timeline) -> _Capital:
    """Build spend by phase and refresh spend at the exact start times (methodology sections
    1, 2.2 and 11.4)."""
    t, b, build = tl.t, tl.b, tl.build
    capex_total = p["gw_built"] * p["capex_per_gw_busd"]
    cost_it = capex_total * p["it_share_of_capex"]
    cost_fac = capex_total - cost_it
    # phase shares w_j = (1 + f (1 - 2j / (B - 1))) / B (even at f = 0, today's spread)
    if p["build_front_loading"].any():
        tilt = _col(p, "build_front_loading") * np.where(
            b > 1.0, 1.0 - 2.0 * t / np.maximum(b - 1.0, 1.0), 0.0
        )
        build_spend = np.where(t < b, capex_total[:, None] * (1.0 + tilt) / b, 0.0)
    else:
        build_spend = np.where(t < b, (capex_total / build)[:, None], 0.0)
    refresh_it, nbv_it = _refresh_capex(cost_it, p["it_life_years"], build, tl.horizon, t)
    refresh_fac, nbv_fac = _refresh_capex(cost_fac, p["facility_life_years"], build, tl.horizon, t)
    capex_refresh = refresh_it + refresh_fac
    op_width = _clamp(t + 1.0, b, tl.h_end) - _clamp(t, b, tl.h_end)
    straight_it = op_width * (cost_it / p["it_life_years"])[:, None]
    book_is_service = bool(np.array_equal(p["it_book_life_years"], p["it_life_years"]))
    if book_is_service:
        book_it, nbv_book_it = straight_it, nbv_it
    else:
        book_it, nbv_book_it = _book_it(p, tl, cost_it, op_width)
    return _Capital(
        gw=_col(p, "gw_built"),
        cost_it=cost_it,
        cost_fac=cost_fac,
        build_spend=build_spend,
        refresh_it=refresh_it,
        refresh_fac=refresh_fac,
        nbv_it=nbv_book_it,
        nbv_fac=nbv_fac,
        capex_refresh=capex_refresh,
        capex=build_spend + capex_refresh,
        book_it=book_it,
        straight_it=straight_it,
        service_nbv_it=nbv_it,
        book_is_service=book_is_service,
    )


@dataclass(frozen=True, slots=True)
class _UnitCosts:
    """Costs per GW-year (US$ B) and the lease-rate bounds they set, per scenario (S, 1)
    (methodology section 4.2).

    ``user_cost_gw`` is the user cost of new capacity per GW-year (US$ B),
    ``avoidable_gw`` power plus other opex per GW-year, ``rho = ln(1 + wacc)``,
    ``delta_hw = -ln(1 - h)`` (``log_keep_hw`` its negative), ``floor_idx`` and ``user_idx``
    the floor and the user cost relative to today's rate ``rate`` (index units).
    """

    tax_rate: FloatArray
    var_share: FloatArray
    power_gw: FloatArray
    avoidable_gw: FloatArray
    rho: FloatArray
    log_keep_hw: FloatArray
    delta_hw: FloatArray
    life_it: FloatArray
    fac_gw: FloatArray
    kappa_fac: FloatArray
    rate: FloatArray
    floor_idx: FloatArray
    user_idx: FloatArray
    user_cost_gw: FloatArray
    rho_market: FloatArray
    log_term_premium: FloatArray
    #: the market's floor: the marginal entrant's avoidable cost per GW-year of the builder's
    #: facility power over (1 - its variable opex share), against today's rate; the builder's
    #: ``floor_idx`` where the entrant is the builder (section 4.6, reading a quote)
    market_floor_idx: FloatArray


def _unit_costs(p: dict[str, FloatArray], *, year_end_flows: bool = True) -> _UnitCosts:
    """Unit costs, the user cost of new capacity and the floor (methodology section 4.2).

    The floor, the residual's charge and every cost of the builder's own operation use the
    builder's inputs; the user cost that caps rents is the marginal entrant's
    (:func:`_entrant_user_cost`). ``year_end_flows=False`` prices the entrant's operating flows
    as continuous (the convention of :func:`user_cost_busd_per_gw_year`'s exact check); the
    engine's flows arrive at year ends.
    """
    tax_rate = _col(p, "tax_rate")
    var_share = _col(p, "variable_opex_share_of_revenue")
    power_gw = _power_busd_per_gw_year(p)
    avoidable_gw = power_gw + _col(p, "other_opex_busd_per_gw_year")
    rho = np.log1p(_col(p, "wacc"))
    log_keep_hw = np.log1p(-_col(p, "hardware_cost_decline_per_year"))  # <= 0
    delta_hw = -log_keep_hw
    life_it = _col(p, "it_life_years")
    life_fac = _col(p, "facility_life_years")
    it_gw = _col(p, "capex_per_gw_busd") * _col(p, "it_share_of_capex")
    fac_gw = _col(p, "capex_per_gw_busd") - it_gw
    kappa_fac = _phi(rho * life_fac) / life_fac
    rate = _col(p, "lease_rate_busd_per_gw_year")
    rate_ref = np.maximum(rate, MIN_RATE_REF)
    floor_idx = avoidable_gw / (1.0 - var_share) / rate_ref
    user_cost_gw, rho_market, floor_e_gw = _entrant_user_cost(
        p,
        it_gw,
        fac_gw,
        year_end_flows=year_end_flows,
        builder_terms=(avoidable_gw, rho, delta_hw, kappa_fac),
    )
    # the ceiling stops at the builder's floor wherever the user cost is below it (methodology
    # section 4.2): an entrant may run cheaper than the builder's own avoidable cost, and a
    # contract term premium can carry any entrant's, the builder's too, below its avoidable
    # cost (Phi > 1 where the capital charge is small). (np.maximum leaves every user cost
    # at or above the floor the very same float.)
    user_idx = np.maximum(user_cost_gw / rate_ref, floor_idx)
    builder = _col(p, "entrant_profile") == 0.0
    market_floor_idx = (
        floor_idx if floor_e_gw is None else np.where(builder, floor_idx, floor_e_gw / rate_ref)
    )
    return _UnitCosts(
        user_cost_gw=user_cost_gw,
        tax_rate=tax_rate,
        var_share=var_share,
        power_gw=power_gw,
        avoidable_gw=avoidable_gw,
        rho=rho,
        log_keep_hw=log_keep_hw,
        delta_hw=delta_hw,
        life_it=life_it,
        fac_gw=fac_gw,
        kappa_fac=kappa_fac,
        rate=rate,
        floor_idx=floor_idx,
        user_idx=user_idx,
        rho_market=rho_market,
        log_term_premium=np.log1p(_col(p, "contract_term_premium")),
        market_floor_idx=market_floor_idx,
    )


def _power_busd_per_gw_year(q: dict[str, FloatArray]) -> FloatArray:
    """Power cost per GW-year of facility power (US$ B), (S, 1)."""
    return (
        HOURS_PER_YEAR
        * MWH_PER_GW_HOUR
        * _col(q, "power_load_factor")
        * _col(q, "power_price_usd_per_mwh")
        / USD_PER_BUSD
    )


#: Key of the entrant's facility capex per GW of its facility power (US$ B) in its inputs.
ENTRANT_FACILITY = "entrant_facility_capex_busd_per_gw"
#: Smallest billed share an entrant's user cost is spread over (a market that bills nothing has
#: no finite ceiling; the override ``lease_rate_index_cap`` then caps the rent).
MIN_BILLED_SHARE = 1e-3


def _entrant_inputs(p: dict[str, FloatArray]) -> dict[str, FloatArray]:
    """The marginal entrant's cost inputs, shape (S,) each (methodology section 4.2).

    ``p`` with the entrant profile's row (``data/entrant_profiles.csv``) in place of the
    builder's WACC, lives, build years, power price, PUE, load factor, other and variable opex
    and contract mix, ``entrant_wacc`` in place of the profile's WACC where it is above 0, and
    the profile's facility capex per GW under :data:`ENTRANT_FACILITY` (NaN for the builder).
    Rows whose entrant is the builder (code 0) keep the builder's values, the very same floats.
    Capex per unit of compute, the hardware decline, the tax rate and the billed share are
    market-wide and stay as given.
    """
    code = p["entrant_profile"]
    if not code.any():  # every entrant is the builder
        return p
    index = code.astype(np.intp)
    builder = code == 0.0
    any_builder = bool(builder.any())
    q = dict(p)
    # every input of every row's profile in one take (rows: the facility capex, then the fields)
    picked = _entrant_table()[:, index]
    q[ENTRANT_FACILITY] = picked[0]
    for i, f in enumerate(ENTRANT_COST_FIELDS, start=1):
        # (np.where(builder, ...) is the profile's value itself where no row is the builder)
        q[f] = np.where(builder, p[f], picked[i]) if any_builder else picked[i]
    override = p["entrant_wacc"]
    q["wacc"] = np.where(builder | (override <= 0.0), q["wacc"], override)
    return q


@cache
def _entrant_table() -> FloatArray:
    """The entrant profiles' inputs (``data/entrant_profiles.csv``) as one read-only table:
    row 0 the facility capex per GW (:data:`ENTRANT_FACILITY`), then one row per field of
    :data:`model.data.ENTRANT_COST_FIELDS`; one column per ``entrant_profile`` code, NaN for
    the builder (code 0)."""
    profiles = entrant_profiles()
    rows = [profiles[name] for name in ENTRANT_PROFILES[1:]]
    table = np.array(
        [
            [np.nan, *(r.facility_capex_busd_per_gw for r in rows)],
            *([np.nan, *(float(getattr(r, f)) for r in rows)] for f in ENTRANT_COST_FIELDS),
        ],
        dtype=np.float64,
    )
    table.flags.writeable = False
    return table


def _entrant_user_cost(
    p: dict[str, FloatArray],
    it_gw: FloatArray,
    fac_gw: FloatArray,
    *,
    year_end_flows: bool,
    builder_terms: tuple[FloatArray, FloatArray, FloatArray, FloatArray] | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray | None]:
    """The marginal entrant's user cost per GW-year of the builder's facility power (US$ B),
    (S, 1), its ``rho = ln(1 + wacc)``, the market's discount rate for contracts, and its floor:
    its avoidable cost per GW-year of the builder's facility power over ``1 - v``, ``O_e PUE_e /
    PUE_b / (1 - v_e)`` (None where every entrant is the builder) (methodology sections 4.2,
    "The entrant", and 4.6).

    The entrant pays the builder's hardware price per unit of compute: its IT capex per GW of
    its own facility power is ``I_e = I_b PUE_b / PUE_e`` (a GW of facility power holds
    ``1 / PUE`` GW of IT); its facility capex per GW is its profile's. Its user cost ``c_e`` per
    GW of its own facility power is converted to the builder's GW by the compute each holds,
    ``c_b = c_e PUE_e / PUE_b``, and, where the entrant is not the builder, spread over the
    market's billed share: ``c_b / max(lease_utilization, MIN_BILLED_SHARE)``. Where the entrant
    is the builder both ratios are exactly 1 and nothing is divided: the numbers before
    entrants, bit for bit.

    ``builder_terms`` is the builder's ``(avoidable_gw, rho, delta_hw, kappa_fac)`` as
    :func:`_unit_costs` has them ((S, 1) each, the same formulas): taken as they are where every
    entrant is the builder, rather than computed again.
    """
    q = _entrant_inputs(p)
    if q is not p:
        pue_ratio = _col(p, "pue") / _col(q, "pue")  # PUE_b / PUE_e
        it_gw = it_gw * pue_ratio
        # the entrant's own facility (the builder's may be rented, as opex)
        fac_gw = np.where(_col(p, "entrant_profile") == 0.0, fac_gw, _col(q, ENTRANT_FACILITY))
    # (where every entrant is the builder, PUE_b / PUE_e is exactly 1: nothing to multiply)
    tax_rate = _col(q, "tax_rate")
    var_share = _col(q, "variable_opex_share_of_revenue")
    life_it = _col(q, "it_life_years")
    life_fac = _col(q, "facility_life_years")
    kappa_fac: FloatArray | None = None
    if q is p and builder_terms is not None:
        avoidable_gw, rho, delta_hw, kappa_fac = builder_terms
    else:
        avoidable_gw = _power_busd_per_gw_year(q) + _col(q, "other_opex_busd_per_gw_year")
        rho = np.log1p(_col(q, "wacc"))
        delta_hw = -np.log1p(-_col(q, "hardware_cost_decline_per_year"))
    aged = rho + delta_hw
    term = np.minimum(_col(q, "contract_years"), life_it)
    # psi of rho L_IT (kappa = phi / L, phi = 1 / psi), aged L_IT, aged term and (where not
    # given) rho L_fac in one call (elementwise: the same numbers)
    args = (rho * life_it, aged * life_it, aged * term)
    ps = _psi(np.concatenate(args if kappa_fac is not None else (*args, rho * life_fac), axis=1))
    kappa_it = 1.0 / ps[:, :1] / life_it
    if kappa_fac is None:
        kappa_fac = 1.0 / ps[:, 3:] / life_fac
    # present value per IT life of an entrant's rent per unit of its starting level: the
    # expected spot rent ages at the hardware decline; a contract of the term is priced at the
    # level rent worth the same (section 4.6) times (1 + term premium)^term, so the contracted
    # share adds only the premium's part: nothing at a premium of 0
    premium_gain = np.expm1(term * np.log1p(_col(p, "contract_term_premium")))
    rent_pv = life_it * ps[:, 1:2] + _col(q, "contracted_share") * premium_gain * (
        term * ps[:, 2:3]
    )
    rent_factor = kappa_it * rent_pv
    # the model's operating flows arrive at year ends: worth ln(1 + r) / r of a continuous flow
    expm1_rho = np.expm1(rho)
    if year_end_flows:
        arrears = np.where(rho > 1e-12, rho / np.maximum(expm1_rho, 1e-300), 1.0)
    else:
        arrears = np.ones_like(rho)
    # the first build is paid at the end of each build year, before operation starts at B:
    # worth b = ((1 + w)^B - 1) / (B w) of its cost at B; every refresh is paid when it starts.
    # Per unit of capex the capital charge is then kappa + rho (b - 1): kappa for a stream of
    # purchases at B, B + L, ... and the first one's build-period interest, once
    build_factor = (np.exp(rho * _col(q, "build_years")) - 1.0) / np.maximum(
        _col(q, "build_years") * expm1_rho, 1e-300
    )
    build_interest = rho * (np.where(rho > 1e-12, build_factor, 1.0) - 1.0)
    user_cost_e = (
        (1.0 - tax_rate) * avoidable_gw * arrears
        + it_gw * (kappa_it + build_interest - tax_rate * arrears / life_it)
        + fac_gw * (kappa_fac + build_interest - tax_rate * arrears / life_fac)
    ) / ((1.0 - var_share) * (1.0 - tax_rate) * rent_factor * arrears)
    if q is p:  # (PUE_e / PUE_b is exactly 1)
        return user_cost_e, rho, None
    pue_e_over_b = _col(q, "pue") / _col(p, "pue")
    user_cost_b = user_cost_e * pue_e_over_b  # PUE_e / PUE_b
    billed = np.maximum(_col(p, "lease_utilization"), MIN_BILLED_SHARE)
    floor_b = avoidable_gw * pue_e_over_b / (1.0 - var_share)
    builder = _col(p, "entrant_profile") == 0.0
    return np.where(builder, user_cost_b, user_cost_b / billed), rho, floor_b


def quoted_spot_index(params: dict[str, FloatArray]) -> FloatArray:
    """Today's spot rent relative to the quoted lease rate, shape (S,) (methodology section
    4.6): 1 where ``lease_rate_tenor_years`` is 0 (the quote is spot), else the spot rent whose
    ``lease_rate_tenor_years`` contract is worth the quote. The frontier before its bounds is
    this times ``(D / K)^(1 / eps_c) (1 - h)^(-tau)``."""
    p = {k: np.asarray(params[k], dtype=np.float64) for k in FIELD_NAMES}
    uc = _unit_costs(p)
    return _quoted_spot(p, uc, _market(p, uc))[:, 0]


def curve_log_shifts(
    params: dict[str, FloatArray], curve: LeaseCurve
) -> tuple[FloatArray, FloatArray]:
    """What rebases the closed form's log frontier before its bounds, ``ln X``, to pass through
    a dated curve's first and last points (methodology section 4.8): ``(shift_lo, shift_hi)``,
    each (S,), added to ``ln X`` before the curve's first year and after its last."""
    p = {k: np.asarray(params[k], dtype=np.float64) for k in FIELD_NAMES}
    uc = _unit_costs(p)
    mk = _market(p, uc)
    if p["lease_rate_tenor_years"].any():  # a quote of a contract's rent (section 4.6)
        mk = _market(p, uc, _quoted_spot(p, uc, mk))
    cv = _with_curve(p, uc, mk, curve).curve
    assert cv is not None
    return cv.shift_lo[:, 0], cv.shift_hi[:, 0]


def user_cost_busd_per_gw_year(
    params: dict[str, FloatArray], *, year_end_flows: bool = True
) -> FloatArray:
    """The user cost of new capacity: the level rent per GW-year (US$ B) at which an entrant
    that builds a GW and refreshes it for ever earns exactly its cost of capital after tax.

    The entrant is the scenario's ``entrant_profile`` (:func:`_entrant_user_cost`), its cost
    stated per GW of the builder's facility power; with ``entrant_profile = "builder"`` it is
    the closed form below on the scenario's own inputs.

    Parameters
    ----------
    params : dict of str to ndarray
        Every field of :class:`model.Scenario` as arrays of shape (S,)
        (:func:`model.results.scenario_params`).
    year_end_flows : bool
        Operating flows at year ends, as in the engine (default), or continuous.

    Returns
    -------
    ndarray
        ``c`` per scenario, shape (S,); the ceiling index is ``c / lease_rate``.

    Notes
    -----
    Methodology section 4.2, with ``rho = ln(1 + wacc)``, ``a = rho / wacc`` (1 for continuous
    flows), ``b = ((1 + wacc)^B - 1) / (B wacc)``, ``kappa_L = rho / (1 - exp(-rho L))``::

        c = [(1 - tax) O a + I (kappa_IT + rho (b - 1) - tax a / L_IT)
             + Fac (kappa_fac + rho (b - 1) - tax a / L_fac)] / [(1 - v) (1 - tax) Phi a]

    The build-period factor ``b`` applies to the first build only: refreshes are paid when they
    start (the capital charge is ``kappa + rho (b - 1)``, not ``kappa b``).

    Examples
    --------
    >>> from model import Scenario
    >>> from model.results import scenario_params
    >>> s = Scenario(hardware_cost_decline_per_year=0.0, tax_rate=0.0,
    ...              variable_opex_share_of_revenue=0.0, build_years=1, entrant_profile="builder")
    >>> c = user_cost_busd_per_gw_year(scenario_params([s]), year_end_flows=False)
    >>> rho = math.log1p(s.wacc)
    >>> def crf(life: float) -> float:
    ...     return rho / -math.expm1(-rho * life)
    >>> it = s.capex_per_gw_busd * s.it_share_of_capex
    >>> fac = s.capex_per_gw_busd - it
    >>> power = 8760 * 1000 * s.power_load_factor * s.power_price_usd_per_mwh / 1e9
    >>> annuity = it * crf(s.it_life_years) + fac * crf(s.facility_life_years)
    >>> bool(abs(c[0] - annuity - power - s.other_opex_busd_per_gw_year) < 1e-9)
    True
    """
    p = {k: np.asarray(params[k], dtype=np.float64) for k in FIELD_NAMES}
    return _unit_costs(p, year_end_flows=year_end_flows).user_cost_gw[:, 0]


def _span(tau: FloatArray) -> tuple[float, float] | None:
    """The least and greatest ``tau`` (None where one is not finite: no shortcut then)."""
    # (the ufuncs' reduce: ndarray.min's Python wrapper costs more than one scenario's work)
    least = float(np.minimum.reduce(tau, axis=None, initial=np.inf))
    most = float(np.maximum.reduce(tau, axis=None, initial=-np.inf))
    return (least, most) if math.isfinite(least) and math.isfinite(most) else None


@dataclass(frozen=True, slots=True)
class _Market:
    """The market's closed forms in continuous time ``tau`` (years from the start of year 0),
    per scenario (S, 1) (methodology sections 4.1 and 4.2).

    Token price, volume and compute demand are ``exp(a + b tau)`` with the ``price_``,
    ``volume_`` and ``demand_`` coefficients, industry capacity ``exp(cap_b tau)``; the frontier
    rent before its bounds is ``exp(x_a + x_b tau)``. The methods work in place on one new array
    each (same operations, same order up to the commutativity of + and x, so the same numbers):
    no temporaries of the segments.

    Where every ``tau`` of a call keeps log X inside +-LOG_CLIP, or the ceiling's fade weight
    (section 4.7) is 1 with a flat scarcity bound (or 0) at every tau, the clamps change nothing
    and are skipped: the same numbers from fewer passes over the (S, 2T)-wide segment arrays
    (the BofA presets' 50-year lag keeps the premium whole over the horizon). ``tau_span`` is
    :func:`_span` of a call's ``tau`` (NaN turns every shortcut off).
    """

    log_k_builder: FloatArray
    log_keep: FloatArray
    elasticity: FloatArray
    eps_c: FloatArray
    price_a: FloatArray
    price_b: FloatArray
    volume_a: FloatArray
    volume_b: FloatArray
    demand_a: FloatArray
    demand_b: FloatArray
    cap_b: FloatArray
    x_a: FloatArray
    x_b: FloatArray
    #: every row: |log X| <= x_reach * max(1, |tau|)
    x_reach: float
    user_idx: FloatArray
    floor_idx: FloatArray
    #: the ceiling's override, never below the floor
    cap_eff: FloatArray
    #: the scarcity bound (section 4.7), in logs relative to the user cost u: log(S(tau) / u) =
    #: clip(scar_a + scar_b tau, log_lo, log_hi), with log_lo = log(max(s0, u) / u) >= 0 and
    #: log_hi = log(max(m_s u, max(s0, u)) / u); the ceiling while entry lags is u S / u
    scar_a: FloatArray
    scar_b: FloatArray
    log_lo: FloatArray
    log_hi: FloatArray
    #: the fade's weight is clip(fade_w - tau inv_fade, 0, 1): fade_w = (lag + fade) / fade
    fade_w: FloatArray
    inv_fade: FloatArray
    #: log of the user cost and of the ceiling's cap (the frontier bounds in logs)
    log_user: FloatArray
    log_cap: FloatArray
    #: least lag, greatest end of the fade over rows; whether S moves with tau in any row
    lag_least: float
    end_most: float
    scar_moves: bool
    #: log of the ceiling where every tau of a call is past every row's fade,
    #: ``min(log_user, log_cap)``, and where every tau is within every row's lag with S flat,
    #: ``min(clip(scar_a, log_lo, log_hi) + log_user, log_cap)`` (S, 1) each: what
    #: :meth:`_bounded_frontier` would build from :meth:`_scarce` on each call, built once
    log_ceiling_gone: FloatArray
    log_ceiling_whole: FloatArray
    #: False: no entry ceiling at all (the market read at a quote, section 4.6)
    bounded: bool = True
    #: A dated curve of the lease rate (section 4.8); None: the closed form in every year
    curve: _Curve | None = None

    def log_x(self, tau: FloatArray, tau_span: tuple[float, float] | None = None) -> FloatArray:
        """``_clamp(x_a + x_b * tau, -LOG_CLIP, LOG_CLIP)``: log of the unbounded frontier."""
        v: FloatArray = self.x_b * tau
        v += self.x_a
        if tau_span is not None:
            reach = max(1.0, abs(tau_span[0]), abs(tau_span[1]))
            if self.x_reach * reach < LOG_CLIP - 1.0:  # (False for NaN)
                return v
        np.maximum(v, -LOG_CLIP, out=v)
        np.minimum(v, LOG_CLIP, out=v)
        return v

    def _scarce(self, tau: FloatArray, tau_span: tuple[float, float] | None) -> FloatArray | None:
        """``w log(max(S, u) / u) >= 0`` at ``tau`` (section 4.7; before the cap), or None where
        every ``tau`` of the call is past every row's fade (0: the ceiling is the user cost).
        One value per row (S, 1) where every ``tau`` is within every row's lag and ``S`` is
        flat."""
        if tau_span is not None and self.end_most <= tau_span[0]:  # the premium gone
            return None
        whole = tau_span is not None and self.lag_least >= tau_span[1]
        if whole and not self.scar_moves:  # S flat, whole: one value per row
            return np.maximum(np.minimum(self.scar_a, self.log_hi), self.log_lo)
        c = self.scar_b * tau
        c += self.scar_a
        np.minimum(c, self.log_hi, out=c)
        np.maximum(c, self.log_lo, out=c)
        if not whole:  # the weight clip((lag + fade - tau) / fade, 0, 1)
            w = tau * self.inv_fade
            np.subtract(self.fade_w, w, out=w)
            np.maximum(w, 0.0, out=w)
            np.minimum(w, 1.0, out=w)
            c *= w
        return c

    def ceiling(self, tau: FloatArray, tau_span: tuple[float, float] | None = None) -> FloatArray:
        """The ceiling at ``tau`` (methodology section 4.7): ``min(u (S / u)^w, cap_eff)`` with
        the scarcity bound ``S(tau) / u = clip(exp(scar_a + scar_b tau), lo, hi)`` and the weight
        ``w = clip((lag + fade - tau) / fade, 0, 1)``: ``S`` while entry lags, then a geometric
        fade to the user cost ``u`` over the fade years. ``u`` times ``exp(x >= 0)``, so the
        ceiling is never below ``u`` (nor the floor under it) by rounding, and exactly ``u`` where
        the premium is gone. Where every ``tau`` of the call is within every row's lag
        (``w = 1``) and ``S`` is flat, or past every row's fade (``w = 0``), one ceiling per row
        (S, 1)."""
        if not self.bounded:
            return np.full_like(tau, np.inf)
        c = self._scarce(tau, tau_span)
        if c is None:
            return np.minimum(self.user_idx, self.cap_eff)
        np.exp(c, out=c)
        c *= self.user_idx
        np.minimum(c, self.cap_eff, out=c)
        return c

    def frontier(
        self,
        tau: FloatArray,
        log_value: FloatArray | None = None,
        tau_span: tuple[float, float] | None = None,
    ) -> FloatArray:
        """``min(max(exp(log_x(tau)), floor), ceiling(tau))``; ``log_value`` = ``log_x(tau)``
        when the caller already has it (kept as it is); ``tau_span`` = ``_span(tau)``.

        Computed as ``max(exp(min(log X, log C)), floor)`` (one ``exp``; the same wherever the
        ceiling is not below the floor, which section 4.2 guarantees, to rounding of the
        ceiling's log; the floor applied last, exactly)."""
        if tau_span is None:
            tau_span = _span(tau)  # (None where tau is not finite: no shortcut)
        v = self.log_x(tau, tau_span) if log_value is None else log_value.copy()
        if self.curve is not None:  # a dated curve (section 4.8): rebased outside its span
            return self.curve.follow(tau, v, self._bounded_frontier)
        return self._bounded_frontier(tau, v, tau_span)

    def _bounded_frontier(
        self, tau: FloatArray, v: FloatArray, tau_span: tuple[float, float] | None
    ) -> FloatArray:
        """``max(exp(min(v, log C(tau))), floor)`` in place on ``v`` (log of the unbounded
        frontier at ``tau``)."""
        if self.bounded:
            # (the cases of _scarce that give one value per row, read as built)
            if tau_span is not None and self.end_most <= tau_span[0]:  # the premium gone
                c = self.log_ceiling_gone
            elif tau_span is not None and self.lag_least >= tau_span[1] and not self.scar_moves:
                c = self.log_ceiling_whole  # S flat, whole
            else:
                scarce = self._scarce(tau, tau_span)
                assert scarce is not None  # (None only where the premium is gone)
                c = scarce
                c += self.log_user
                np.minimum(c, self.log_cap, out=c)
            np.minimum(v, c, out=v)
        np.exp(v, out=v)
        np.maximum(v, self.floor_idx, out=v)
        return v


def _market(
    p: dict[str, FloatArray], uc: _UnitCosts, spot_scale: FloatArray | None = None
) -> _Market:
    """Token price, volume, compute demand, capacity and the bounded frontier rent
    (methodology sections 4.1-4.3); ``spot_scale`` (S, 1) is today's spot rent relative to the
    quoted rate where that is a contract's level rent (section 4.6; None: the quote is spot)."""
    log_k_builder = np.log(_col(p, "efficiency_multiplier"))
    log_k_industry = log_k_builder * _col(p, "efficiency_diffusion")
    log_keep = np.log1p(-_col(p, "token_price_decline_per_year"))  # price of a capability kept
    pass_through = _col(p, "price_pass_through")
    elasticity = _col(p, "demand_elasticity")
    eps_c = _col(p, "compute_demand_elasticity")
    log_g = np.log1p(_col(p, "token_demand_growth_per_year"))
    log_c = np.log1p(_col(p, "industry_capacity_growth_per_year"))
    # token price P, volume V, compute demand D, industry compute K: log-linear in tau
    price_a, price_b = -pass_through * log_k_industry, log_keep
    volume_a, volume_b = -elasticity * price_a, -elasticity * log_keep + log_g
    demand_a, demand_b = volume_a - log_k_industry, volume_b + log_keep
    cap_b = log_c - uc.log_keep_hw
    # frontier rent per GW before its bounds: X = (D / K) ** (1 / eps_c) x compute per GW
    x_a = demand_a / eps_c
    # the scarcity bound (section 4.7): S(tau) = s0 k_ind^(1 - p) (1 - h)^(-tau), at least
    # today's spot rent s0, at most scarcity_multiple_max x the user cost
    user = uc.user_idx
    log_user = np.log(user)
    scar_a = (1.0 - pass_through) * log_k_industry - log_user  # relative to u, in logs
    if spot_scale is not None:  # today's spot rent, from the quote's tenor (section 4.6)
        x_a = x_a + np.log(spot_scale)
        scar_a = scar_a + np.log(spot_scale)
        lo = np.maximum(spot_scale, user)
    else:
        lo = np.maximum(user, 1.0)
    log_lo = np.log(lo) - log_user  # >= 0, exactly 0 where lo is u
    log_hi = np.log(np.maximum(_col(p, "scarcity_multiple_max") * user, lo)) - log_user
    x_b = (demand_b - cap_b) / eps_c - uc.log_keep_hw
    lag = _col(p, "entry_lag_years")
    fade = _col(p, "entry_fade_years")
    fade_end = lag + fade
    scar_b = uc.delta_hw
    # the user cost index is never below the floor (_unit_costs, methodology section 4.2), nor
    # is the override once raised to it: so the ceiling never is
    cap_eff = np.maximum(_col(p, "lease_rate_index_cap"), uc.floor_idx)
    log_cap = np.log(cap_eff)
    # the ceiling's log in the two cases with one value per row (as _bounded_frontier reads it)
    log_ceiling_whole = np.maximum(np.minimum(scar_a, log_hi), log_lo)
    log_ceiling_whole += log_user
    np.minimum(log_ceiling_whole, log_cap, out=log_ceiling_whole)
    return _Market(
        log_k_builder=log_k_builder,
        log_keep=log_keep,
        elasticity=elasticity,
        eps_c=eps_c,
        price_a=price_a,
        price_b=price_b,
        volume_a=volume_a,
        volume_b=volume_b,
        demand_a=demand_a,
        demand_b=demand_b,
        cap_b=cap_b,
        x_a=x_a,
        x_b=x_b,
        x_reach=float(np.maximum.reduce(np.abs(x_a) + np.abs(x_b), axis=None, initial=0.0)),
        user_idx=user,
        floor_idx=uc.floor_idx,
        cap_eff=cap_eff,
        scar_a=scar_a,
        scar_b=scar_b,
        log_lo=log_lo,
        log_hi=log_hi,
        fade_w=fade_end / fade,
        inv_fade=1.0 / fade,
        log_user=log_user,
        log_cap=log_cap,
        log_ceiling_gone=np.minimum(log_user, log_cap),
        log_ceiling_whole=log_ceiling_whole,
        lag_least=float(np.minimum.reduce(lag, axis=None, initial=np.inf)),
        end_most=float(np.maximum.reduce(fade_end, axis=None, initial=-np.inf)),
        # S moves with tau where the hardware declines and its bounds leave room
        scar_moves=bool(((scar_b != 0.0) & (log_hi > log_lo)).any()),
    )


#: The dated curve of the lease rate the engine follows (section 4.8), set by :func:`run` and
#: :func:`run_metrics` for the whole of a call (every pass of the breakeven included); None
#: in every batch without one, which then runs exactly as before.
_CURVE: contextvars.ContextVar[LeaseCurve | None] = contextvars.ContextVar(
    "lease_curve", default=None
)


@dataclass(frozen=True, slots=True)
class _Curve:
    """A dated lease-rate curve in the engine's terms (methodology section 4.8), per scenario:
    knots ``tau`` (S, K) at ``year - first_year`` (``years`` (K,) ascending, K >= 1; ``y0``
    (S, 1) ``first_year``), the log of the frontier's spot rent per GW there relative to the
    quoted rate ``log_v`` (S, K); ``slope`` (S, max(K - 1, 1)) the log-linear slope between
    knots (0 for one knot); ``shift_lo`` and ``shift_hi`` (S, 1) what rebases the closed form's
    log ``X`` at the first and the last knot."""

    tau: FloatArray
    years: FloatArray
    y0: FloatArray
    log_v: FloatArray
    slope: FloatArray
    shift_lo: FloatArray
    shift_hi: FloatArray

    def follow(
        self,
        tau: FloatArray,
        log_x: FloatArray,
        bounded: Callable[[FloatArray, FloatArray, tuple[float, float] | None], FloatArray],
    ) -> FloatArray:
        """The frontier at ``tau``: the curve, log-linear between its knots, in ``[t_1, t_K]``;
        before ``t_1`` (after ``t_K``) the closed form with its log ``X`` shifted so that it
        passes through the first (last) knot, then bounded as everywhere (``bounded``). The
        knots are the same calendar years in every row, so each ``tau`` finds its segment by
        one search over them (no loop over knots or scenarios)."""
        t0, t1 = self.tau[:, :1], self.tau[:, -1:]
        before, after = tau < t0, tau > t1
        v = log_x + np.where(before, self.shift_lo, np.where(after, self.shift_hi, 0.0))
        np.clip(v, -LOG_CLIP, LOG_CLIP, out=v)
        out = bounded(tau, v, None)
        inside = ~before & ~after
        if not inside.any():
            return out
        shape = np.broadcast_shapes(tau.shape, t0.shape)
        cal = np.broadcast_to(tau + self.y0, shape)  # calendar time
        k = np.searchsorted(self.years, cal, side="right") - 1
        np.clip(k, 0, self.slope.shape[1] - 1, out=k)
        rows = shape[0]
        log_v = np.broadcast_to(self.log_v, (rows, self.log_v.shape[1]))
        slope = np.broadcast_to(self.slope, (rows, self.slope.shape[1]))
        on = np.take_along_axis(log_v, k, axis=1)
        on += (cal - self.years[k]) * np.take_along_axis(slope, k, axis=1)
        return np.where(inside, np.exp(on), out)


def _with_curve(
    p: dict[str, FloatArray], uc: _UnitCosts, mk: _Market, curve: LeaseCurve
) -> _Market:
    """``mk`` following a dated curve (methodology section 4.8). Each point's value is turned
    into the frontier's spot rent per GW relative to the quoted rate: a GPU-hour price times the
    GPUs per GW x 8,760 h; over the quoted rate; a named vintage's rent over its ageing
    ``(1 - h)^age``; a ``tenor``-year rent over the closed form's level rent of that tenor at
    that date relative to its spot, ``L(t, m) (1 + premium)^m / F(t)``."""
    first_year = _col(p, "first_year")
    years = np.array(curve.years, dtype=np.float64)[None, :]
    tau = years - first_year  # (S, K)
    gpus = _col(p, "gpus_per_gw")
    values = np.array(curve.busd_per_gw_year(1.0), dtype=np.float64)[None, :]
    if curve.unit != "busd_per_gw_year":  # per GPU-hour: x GPUs per GW x 8,760 h / 1e9
        per_gpu = np.array([v for _, v in curve.points], dtype=np.float64)[None, :]
        count = gpus if curve.gpus_per_gw is None else np.float64(curve.gpus_per_gw)
        values = per_gpu * count * HOURS_PER_YEAR / USD_PER_BUSD
    log_v = np.log(values) - np.log(np.maximum(uc.rate, MIN_RATE_REF))
    log_v = log_v + uc.delta_hw * curve.basis_age_years  # a vintage of that age -> frontier
    if curve.tenor_years > 0.0:  # a contract's level rent -> the spot rent at its date
        term = np.full_like(tau, curve.tenor_years)
        f_at = mk.frontier(tau)
        level = _level_rent(mk, uc, tau, term, f_at) * np.exp(term * uc.log_term_premium)
        log_v = log_v + np.log(f_at) - np.log(level)
    log_v = _clamp(log_v, -LOG_CLIP, LOG_CLIP)
    # (years apart are whole numbers >= 1; one knot: a slope of 0)
    slope = np.diff(log_v, axis=1) / np.diff(years, axis=1) if len(curve.points) > 1 else None
    t0, t1 = tau[:, :1], tau[:, -1:]
    cv = _Curve(
        tau=tau,
        years=years[0],
        y0=first_year,
        log_v=log_v,
        slope=slope if slope is not None else np.zeros_like(log_v[:, :1]),
        shift_lo=log_v[:, :1] - mk.log_x(t0),
        shift_hi=log_v[:, -1:] - mk.log_x(t1),
    )
    return dataclasses.replace(mk, curve=cv)


def _level_rent(
    mk: _Market,
    uc: _UnitCosts,
    sign: FloatArray,
    tenor: FloatArray,
    frontier_sign: FloatArray | None = None,
) -> FloatArray:
    """The level rent of an ``tenor``-year contract on a new vintage signed at ``sign``, before
    the term premium (index units; methodology section 4.6).

    The expectations hypothesis: the level rent whose value, at the market's discount rate
    ``rho_market`` (the entrant's), equals that of the vintage's expected rents over the term,
    never below the floor: ``integral_0^m exp(-rho a) max(V(a), f) da / integral_0^m
    exp(-rho a) da`` with ``V(a) = F(s + a) (1 - h)^a``. The frontier inside the term is taken
    geometric between its values at signing and at expiry (exact wherever no bound starts or
    stops binding inside the term), so ``V(a) = F(s) exp(r a)`` crosses the floor at most once
    (``V(0) = F(s) >= f``) and the integral is a closed form. A tenor below 1e-9 years counts as
    1e-9 (spot, ``F(s)``, to that precision). ``frontier_sign`` is ``mk.frontier(sign)`` where
    the caller has it; ``tenor`` broadcasts against ``sign``.
    """
    f_start = mk.frontier(sign) if frontier_sign is None else frontier_sign
    term = np.maximum(tenor, 1e-9)
    f_end = mk.frontier(sign + term)
    if not uc.log_keep_hw.any() and np.array_equal(f_end, f_start):
        return f_start.copy()  # a still market (r = 0): every term is spot, exactly
    r = np.log(f_end / f_start)
    r /= term
    r += uc.log_keep_hw  # the vintage's rent on the chord: F(s) exp(r a)
    falling = r < 0.0
    with np.errstate(divide="ignore", over="ignore"):
        # a floor of 0 is never reached: +inf, then the term
        cross = np.log(uc.floor_idx / f_start)
        # a barely falling rent meets the floor past any term: inf
        cross /= np.where(falling, r, -1.0)  # >= 0: where a falling rent reaches the floor
    above = np.where(falling, np.minimum(np.maximum(cross, 0.0), term), term)
    rho = uc.rho_market
    whole = _discounted_years(rho, term)
    level = f_start * _discounted_years(rho - r, above)
    level += uc.floor_idx * (whole - _discounted_years(rho, above))
    level /= whole
    return level


def _contract_rate(
    p: dict[str, FloatArray],
    tl: _Timeline,
    uc: _UnitCosts,
    mk: _Market,
    start: FloatArray,
    frontier_start: FloatArray | None = None,
) -> FloatArray:
    """The contract rate of the vintage started at ``start`` (index units; section 4.6): the
    first vintage's is the quoted rate (1, the same in every draw of a Monte Carlo), each later
    one's the level rent of its term ``min(contract_years, it_life_years)`` times
    ``(1 + contract_term_premium)^term``."""
    term = np.minimum(_col(p, "contract_years"), uc.life_it)
    level = _level_rent(mk, uc, start, term, frontier_start)
    level *= np.exp(term * uc.log_term_premium)
    return np.where(start == tl.b, 1.0, level)


def _quoted_spot(p: dict[str, FloatArray], uc: _UnitCosts, mk: _Market) -> FloatArray:
    """Today's spot rent relative to the quoted rate when the quote is the level rent of a
    ``lease_rate_tenor_years`` contract (section 4.6): ``F(0) / (L(0, m) (1 + premium)^m)``
    on the market read at the quote (1 where the tenor is 0), (S, 1).

    The conversion reads the demand path and the market's floor (the marginal entrant's
    avoidable cost, ``uc.market_floor_idx``: a quote is a market price, so the builder's own
    opex does not move it), not the entry ceiling: the ceiling's premium rests on today's spot
    rent, which this sets (a fixed point not solved), and so the spot rent read from a quote
    does not move with the entrant's capital costs."""
    uc = dataclasses.replace(uc, floor_idx=uc.market_floor_idx)
    mk = dataclasses.replace(mk, bounded=False, floor_idx=uc.market_floor_idx)
    tenor = _col(p, "lease_rate_tenor_years")
    now = np.zeros_like(tenor)
    f_now = mk.frontier(now)
    quoted = _level_rent(mk, uc, now, tenor, f_now) * np.exp(tenor * uc.log_term_premium)
    # bounded like the frontier's log (an extreme market's level rent can overflow)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        log_ratio = np.log(np.nan_to_num(f_now / quoted, nan=1.0))
    ratio = np.exp(_clamp(log_ratio, -LOG_CLIP, LOG_CLIP))
    return np.where(tenor > 0.0, ratio, 1.0)


@dataclass(frozen=True, slots=True)
class _Columns:
    """Where a year's segments sit: the vintage in service at the year's start over the
    columns ``cols_a`` (the first ``n_a`` segments), the next vintage over ``cols_b``."""

    n: int
    n_years: int
    cols_a: slice
    cols_b: slice
    n_a: int

    def sum(self, seg: FloatArray) -> FloatArray:
        """Per year, the sum of its segments (S, T)."""
        total = np.zeros((self.n, self.n_years))
        total[:, self.cols_a] = seg[:, : self.n_a]
        total[:, self.cols_b] += seg[:, self.n_a :]
        return total


@dataclass(frozen=True, slots=True)
class _Vintages:
    """IT vintages split at their exact switch times, and what their leases bill (methodology
    section 4.5).

    Per year (S, T): ``lo``, ``hi`` the operating part of the year, ``op_width`` its length (1
    in operating years, else 0), ``start_a`` the start of the vintage in service at its start.
    Per segment (S, a + b), side by side [vintage in service | next vintage] (placed by
    ``cols``): ``width``, midpoint ``mid``, vintage ``start``, ``spot`` (the vintage's spot rent
    at ``mid``), ``runs`` (spot at or above the floor), ``spot_run`` (spot where it runs, else
    0); ``log_mid`` holds log X at ``mid`` (None when nothing is hosted). ``billed`` and
    ``idle`` (S, T) are the index-years billed and the share-years idled per leased GW.
    """

    cols: _Columns
    k_last: FloatArray
    start_a: FloatArray
    lo: FloatArray
    hi: FloatArray
    op_width: FloatArray
    width: FloatArray
    mid: FloatArray
    start: FloatArray
    log_mid: FloatArray | None
    spot: FloatArray
    runs: BoolArray
    spot_run: FloatArray
    billed: FloatArray
    idle: FloatArray
    seg_billed: FloatArray | None = None
    seg_idle: FloatArray | None = None
    k_a: FloatArray | None = None
    #: each segment's vintage (S, a + b), capped at the last any row has (None where nothing
    #: is on contract: :func:`_refresh_values` then finds it itself)
    seg_k: NDArray[np.intp] | None = None


def _vintages(
    p: dict[str, FloatArray], tl: _Timeline, uc: _UnitCosts, mk: _Market, hosted: bool
) -> _Vintages:
    """At most two IT vintages per year (life >= 1), each on contract at its start-year
    frontier for the contracted share, spot for its age otherwise (methodology section 4.5)."""
    t, b, h_end, n = tl.t, tl.b, tl.h_end, tl.n
    life_it = uc.life_it
    k_last = _last_vintage(life_it, b, h_end)
    since = np.maximum(t - b, 0.0)
    k_a = np.minimum(np.floor(np.round(since / life_it, 9)), k_last)
    start_a = k_a * life_it
    start_a += b  # b + k_a * life_it
    start_next = start_a + life_it
    lo = _clamp(t, b, h_end)
    hi = _clamp(t + 1.0, b, h_end)
    switch = _clamp(np.where(k_a < k_last, start_next, h_end), lo, hi)
    op_width = hi - lo  # 1 in operating years, 0 otherwise
    # segments only in the years where they can be non-empty: the vintage in service at the
    # year's start over the years some row operates (a), the next vintage over the years some
    # row switches (b); an empty segment adds exactly 0 to its year
    cols_a = _column_span(np.asarray((op_width > 0.0).any(axis=0)))
    cols_b = _column_span(np.asarray((switch < hi).any(axis=0)))
    n_a = cols_a.stop - cols_a.start
    n_seg = n_a + cols_b.stop - cols_b.start
    contract_years = _col(p, "contract_years")
    cs = _col(p, "contracted_share")
    # the segments side by side, (S, a + b): [vintage in service | next vintage]; their
    # midpoints and start times side by side in one array
    x0 = np.concatenate((lo[:, cols_a], switch[:, cols_b]), axis=1)
    x1 = np.concatenate((switch[:, cols_a], hi[:, cols_b]), axis=1)
    tau_both = np.empty((n, 2 * n_seg))
    mid, start = tau_both[:, :n_seg], tau_both[:, n_seg:]
    start[:, :n_a] = start_a[:, cols_a]
    start[:, n_a:] = start_next[:, cols_b]
    width = x1 - x0
    np.add(x0, x1, out=mid)
    mid *= 0.5  # 0.5 * (x0 + x1)
    # the frontier at the segments' midpoints (a vintage's contract rate comes from its own
    # level rent below, so the frontier at the starts feeds no line); hosting needs log_x(mid)
    mid_span = _span(mid)
    log_mid = mk.log_x(mid, mid_span) if hosted else None
    frontier_mid = mk.frontier(mid, log_mid, mid_span)
    # _clamp(np.minimum(x1, start + contract_years) - x0, 0.0, width), in place
    in_contract = start + contract_years
    np.minimum(x1, in_contract, out=in_contract)
    in_contract -= x0
    np.maximum(in_contract, 0.0, out=in_contract)
    np.minimum(in_contract, width, out=in_contract)
    # frontier_mid * exp(log_keep_hw * (mid - start)), in place
    spot = mid - start
    spot *= uc.log_keep_hw
    np.exp(spot, out=spot)
    spot *= frontier_mid
    runs = spot >= uc.floor_idx
    spot_run = np.where(runs, spot, 0.0)
    spot_width = cs * in_contract
    np.subtract(width, spot_width, out=spot_width)  # width - cs * in_contract
    # each vintage's contract rate (section 4.6), once per vintage; a share of 0 bills none
    seg_k: NDArray[np.intp] | None = None
    if cs.any():
        n_vintages = int(k_last.max(initial=0.0)) + 1
        by_vintage = np.ones((n, n_vintages))  # the first vintage's: the quote
        if n_vintages > 1:
            later = b + life_it * np.arange(1.0, n_vintages)[None, :]
            by_vintage[:, 1:] = _contract_rate(p, tl, uc, mk, later)
        seg_vintage = np.concatenate((k_a[:, cols_a], k_a[:, cols_b] + 1.0), axis=1)
        np.minimum(seg_vintage, n_vintages - 1, out=seg_vintage)
        seg_k = seg_vintage.astype(np.intp)
        contract = np.take_along_axis(by_vintage, seg_k, axis=1)
        seg_billed = cs * contract
        seg_billed *= in_contract
        seg_billed += spot_run * spot_width  # cs * contract * in_contract + spot_run * ...
        if p["counterparty_default_rate_per_year"].any():  # section 11.12
            seg_billed -= _counterparty_loss(p, cs, contract, spot_run, in_contract, x0, start)
    else:  # nothing on contract in any row: spot only (the contract term adds exactly 0)
        seg_billed = spot_run * spot_width
    seg_idle = np.where(runs, 0.0, spot_width)
    cols = _Columns(n=n, n_years=tl.n_years, cols_a=cols_a, cols_b=cols_b, n_a=n_a)
    return _Vintages(
        cols=cols,
        k_last=k_last,
        start_a=start_a,
        lo=lo,
        hi=hi,
        op_width=op_width,
        width=width,
        mid=mid,
        start=start,
        log_mid=log_mid,
        spot=spot,
        runs=runs,
        spot_run=spot_run,
        billed=cols.sum(seg_billed),  # index-years billed per leased GW (contract + spot)
        idle=cols.sum(seg_idle),  # share-years of leased GW idled
        seg_billed=seg_billed,
        seg_idle=seg_idle,
        k_a=k_a,
        seg_k=seg_k,
    )


def _counterparty_loss(
    p: dict[str, FloatArray],
    cs: FloatArray,
    contract: FloatArray,
    spot_run: FloatArray,
    in_contract: FloatArray,
    x0: FloatArray,
    start: FloatArray,
) -> FloatArray:
    """Index-years per leased GW that the buyer's default takes from each segment's contracted
    part (methodology section 11.12): ``cs x w x q x (1 - R) x max(L - Y, 0)``, ``L`` the
    contract rate, ``Y`` what the capacity earns uncontracted (its spot rent where it runs, else
    0), ``w`` the segment's years under contract. Expected (``counterparty_default_quantile`` 0):
    ``q = 1 - exp(-lambda a)`` at ``a``, the midpoint of those years measured from the
    contract's start. Drawn (quantile ``u > 0``): the buyer defaults ``-ln(1 - u) / lambda``
    years into each contract and ``q w`` is the part of ``w`` after it."""
    lam = _col(p, "counterparty_default_rate_per_year")
    u = _col(p, "counterparty_default_quantile")
    age = x0 - start  # years into the contract at the segment's start
    drawn = u > 0.0
    expected: FloatArray | None = None
    if not drawn.all():
        expected = in_contract * 0.5
        expected += age  # the midpoint of the years under contract, from the contract's start
        expected *= -lam
        np.expm1(expected, out=expected)
        expected *= -in_contract  # w (1 - exp(-lambda a))
    lost = expected
    if drawn.any():
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            tau = -np.log1p(-u) / lam  # inf where lambda = 0 (or tiny) or u = 1
        after = age  # the years under contract after tau: clip(age + w - tau, 0, w), in place
        after += in_contract
        after -= tau
        np.maximum(after, 0.0, out=after)
        np.minimum(after, in_contract, out=after)
        lost = after if expected is None else np.where(drawn, after, expected)
    assert lost is not None
    gap = contract - spot_run
    np.maximum(gap, 0.0, out=gap)
    gap *= lost
    gap *= cs * (1.0 - _col(p, "counterparty_recovery_share"))
    return gap


@dataclass(frozen=True, slots=True)
class _Hosting:
    """What the hosted GW sell (methodology section 4.4).

    ``revenue_hosting`` (S, T, US$ B, before the utilisation ramp); ``used`` the share of the
    hosted capacity the market takes; ``spare_gw`` the hosted GW left over, leased at spot, and
    ``spot_billed``, ``spot_idle`` (S, T) what a GW all at spot bills and idles (0 when nothing
    is hosted).
    """

    revenue_hosting: FloatArray
    used: FloatArray
    spare_gw: FloatArray | float
    spot_billed: FloatArray | float
    spot_idle: FloatArray | float
    #: per segment, the hosted value of :func:`_hosting` before its year's sum, and the factor
    #: (S, T) that turns a year's sum into revenue (section 2.4 needs them per vintage)
    seg_value: FloatArray | None = None
    value_factor: FloatArray | None = None


#: A hosting entry lag at or beyond this (years) holds today's markup over every horizon (the
#: longest is 5 build + 30 operating years): the still market's reading and old files' meaning.
HOSTING_STILL_LAG_YEARS = 50.0


def _hosting_revenue_today(p: dict[str, FloatArray]) -> FloatArray:
    """``H_0``: today's hosting revenue per hosted GW-year (US$ B, (S, 1)), all its tokens sold
    at today's tokens per GPU and prices (methodology section 4.4)."""
    return (
        _col(p, "gpus_per_gw")
        / _col(p, "pue")
        * _col(p, "tokens_per_sec_per_gpu")
        * (SECONDS_PER_YEAR * _col(p, "hosting_utilization") / TOKENS_PER_M)
        * (
            _col(p, "hosting_price_usd_per_m_tokens")
            + _col(p, "input_tokens_per_output_token")
            * _col(p, "hosting_input_price_usd_per_m_tokens")
        )
        / USD_PER_BUSD
    )


def _hosting_markup_log(
    p: dict[str, FloatArray],
    mk: _Market,
    rate: FloatArray,
    frontier_0: FloatArray,
    tau: FloatArray,
    t_low: FloatArray | None = None,
) -> FloatArray | None:
    """Log of the hosted token's markup at ``tau`` relative to today's (methodology section 4.9),
    shape of ``tau`` broadcast over the rows; None where no row moves (every hosting entry lag at
    :data:`HOSTING_STILL_LAG_YEARS` or more and no builder edge left to diffuse), so the caller
    multiplies by nothing. ``t_low`` (1, T), where given, is a lower bound of ``tau`` in each
    column wherever the value is used (the year's start for the operating part of a year): the
    diffusion term is then computed only in the columns that start before the longest diffusion.

    Two geometric fades, each a closed form in ``tau``:

    - competition: the industry's markup ``M_0 = H_0 k_ind^(1 - p) / (R F(0))`` is whole until
      ``hosting_entry_lag_years`` and falls at a constant rate in logs over
      ``entry_fade_years`` to the competitive markup ``M_c = (1 - v) / (1 - v - licence)``
      where it is above it (weight ``1 - w`` with ``w`` as the ceiling's of section 4.7);
    - diffusion: the industry's share of the builder's gain rises linearly from 0 to
      ``efficiency_diffusion`` over ``efficiency_diffusion_years``, so the builder's edge
      ``k^(1 - d(tau))`` falls from ``k`` to ``k^(1 - d)`` (0 years: at once, as before).
    """
    lag = _col(p, "hosting_entry_lag_years")
    years_d = _col(p, "efficiency_diffusion_years")
    log_k_ind = mk.log_k_builder * _col(p, "efficiency_diffusion")  # d log k
    log_edge = np.where(years_d > 0.0, log_k_ind, 0.0)
    competes = bool((lag < HOSTING_STILL_LAG_YEARS).any())
    diffuses = bool(log_edge.any())
    if not (competes or diffuses):
        return None
    if competes:
        h_0 = _hosting_revenue_today(p)
        keep = 1.0 - _col(p, "variable_opex_share_of_revenue")
        margin = keep - _col(p, "hosting_licence_fee_share")
        with np.errstate(divide="ignore"):
            # log M_c - log M_0, never above 0: entry lowers a markup above the competitive one
            # and leaves one at or below it (no entrant would pay the licence fee for less)
            log_gap = (
                np.log(keep)
                - np.log(np.maximum(margin, 1e-300))
                - np.log(h_0)
                - (log_k_ind + mk.price_a)
                + np.log(np.maximum(rate, MIN_RATE_REF) * frontier_0)
            )
        log_gap = np.where((h_0 > 0.0) & (margin > 0.0), np.minimum(log_gap, 0.0), 0.0)
        # (1 - w) log_gap = clip(log_gap (tau - lag) / fade, log_gap, 0) (log_gap <= 0), in place
        # on one new array
        slope = log_gap / _col(p, "entry_fade_years")
        out = tau * slope
        out -= lag * slope
        np.minimum(out, 0.0, out=out)
        np.maximum(out, log_gap, out=out)
    else:
        out = np.zeros(np.broadcast_shapes(tau.shape, lag.shape))
    if diffuses:
        # the edge left, d log k max(1 - tau / T_d, 0): 0 from tau = T_d
        cols = slice(None)
        if t_low is not None:
            reach = float(years_d.max())
            cols = slice(0, int(np.count_nonzero(t_low[0] < reach)))
        # (a diffusion time below 1e-9 years counts as 1e-9: no overflow in -1 / T_d)
        left = tau[:, cols] * (-1.0 / np.where(years_d > 0.0, np.maximum(years_d, 1e-9), 1.0))
        left += 1.0
        np.maximum(left, 0.0, out=left)
        left *= log_edge
        out[:, cols] += left
    return out


def hosting_markup_index(params: dict[str, FloatArray], tau: FloatArray) -> FloatArray:
    """The builder's gross hosting markup at times ``tau`` (years from today), shape (S, len(tau)):
    what a hosted GW earns selling all its tokens over what it would earn leased at the spot rent
    of the same vintage (both per billed GW-year, before variable opex and the licence fee;
    methodology section 4.9). ``H_0 k k_ind^(-p) / (R F(0))`` with no competition and the gain
    spread at once (section 4.4), times the markup's move of :func:`_hosting_markup_log`."""
    p = {k: np.asarray(params[k], dtype=np.float64) for k in FIELD_NAMES}
    uc = _unit_costs(p)
    mk = _market(p, uc)
    if p["lease_rate_tenor_years"].any():
        mk = _market(p, uc, _quoted_spot(p, uc, mk))
    frontier_0 = mk.frontier(np.zeros((p["gw_built"].shape[0], 1)))
    h_0 = _hosting_revenue_today(p)
    times = np.asarray(tau, dtype=np.float64).reshape(1, -1)
    log_move = _hosting_markup_log(p, mk, uc.rate, frontier_0, times)
    base = h_0 * np.exp(mk.log_k_builder + mk.price_a) / (uc.rate * frontier_0)
    out = base * np.ones_like(times)
    return out if log_move is None else out * np.exp(log_move)


def _hosting(
    p: dict[str, FloatArray],
    tl: _Timeline,
    uc: _UnitCosts,
    mk: _Market,
    vt: _Vintages,
    host_gw: FloatArray,
    frontier_0: FloatArray,
    log_floor: FloatArray,
) -> _Hosting:
    """Hosted tokens bounded by the market's tokens, priced off the compute rent (methodology
    section 4.4); call only where some row hosts (``vt.log_mid`` set)."""
    assert vt.log_mid is not None
    width, spot, runs, mid = vt.width, vt.spot, vt.runs, vt.mid
    lo, hi, op_width = vt.lo, vt.hi, vt.op_width
    spot_billed = vt.cols.sum(vt.spot_run * width)
    spot_idle = vt.cols.sum(np.where(runs, 0.0, width))
    # builder tokens per GPU (efficiency, algorithms, its vintage's compute per GW) x the
    # sold share: the host prices off the frontier rent (below), so it sells what the market
    # takes at that rent: all of it unless the floor holds the rent above its clearing level
    # X, where compute demand is (X / F) ** eps_c of capacity (F < X only at the floor)
    # exp(min(eps_c (log_x(mid) - log_floor), 0)): 1 wherever the floor does not bind (the
    # exponent is 0 there), so exp runs only where it is negative (or NaN)
    exponent = vt.log_mid - log_floor
    exponent *= mk.eps_c
    np.minimum(exponent, 0.0, out=exponent)
    sold_share = np.ones_like(exponent)
    np.exp(exponent, out=sold_share, where=~(exponent >= 0.0))
    # bounded by the field bounds (|log| < 200 over 35 years): no clamp needed
    seg_host = (width * sold_share) * np.exp(
        mk.log_k_builder - mk.log_keep * mid + uc.delta_hw * vt.start
    )
    # what those tokens sell for, x today's price per token (methodology section 4.4): free
    # entry into hosting prices a token at a fixed markup over the rent of the compute it
    # uses, so P x G = k_builder k_ind^-p x (spot rent of the vintage) / F(0) x sold share:
    # hosting revenue per GW follows its vintage's spot rent, as leasing does; the year-0
    # ratio (and the builder's private edge k_builder / k_ind^p) sets the markup
    host_markup = np.exp(mk.log_k_builder + mk.price_a) / frontier_0
    host_units = vt.cols.sum(seg_host)  # year-weighted builder tokens x sold share
    seg_value = (width * sold_share) * spot * host_markup
    host_value = vt.cols.sum(seg_value)  # x their price index
    mid_year = 0.5 * (lo + hi)
    # competition in hosting and the diffusion of the builder's edge (section 4.9): the markup
    # at the middle of the operating part of each year, relative to today's (None: unchanged)
    log_markup = _hosting_markup_log(p, mk, uc.rate, frontier_0, mid_year, tl.t)
    ratio = _col(p, "input_tokens_per_output_token")
    # output tokens the hosted GW can sell, M per year, at today's tokens per GPU
    capacity_today_m = (
        host_gw
        / _col(p, "pue")
        * _col(p, "gpus_per_gw")
        * _col(p, "tokens_per_sec_per_gpu")
        * SECONDS_PER_YEAR
        * _col(p, "hosting_utilization")
        / TOKENS_PER_M
    )
    capacity_m = capacity_today_m * host_units
    # the market's tokens at the price they sell for: V x (P_host / P) ** -e, with
    # P_host / P = (1 - h)^tau F(tau) / F(0) the move of the compute rent per unit of compute
    # (times the markup's move, section 4.9)
    log_host_over_p = uc.log_keep_hw * mid_year + np.log(mk.frontier(mid_year) / frontier_0)
    if log_markup is not None:
        log_host_over_p += log_markup
        host_value *= np.exp(log_markup, out=log_markup)
    tokens_m = _col(p, "market_tokens_quadrillion_per_year") * (
        TOKENS_PER_QUADRILLION / TOKENS_PER_M
    )
    # the growth factor is bounded so the product stays below exp(LOG_CLIP) (~1e304): an
    # overflow to inf would make inf x 0 = NaN in an idle year or under a cap of 0, where the
    # tokens sold are finite (min with the hosted capacity)
    market_m = (
        tokens_m
        * np.exp(
            _clamp(
                mk.volume_a + mk.volume_b * mid_year - mk.elasticity * log_host_over_p,
                -LOG_CLIP,
                LOG_CLIP - np.log(np.maximum(tokens_m, 1.0)),
            )
        )
        * op_width
    )
    allowed_m = _col(p, "hosting_market_share_cap") * market_m / (1.0 + ratio)
    sold_m = np.minimum(capacity_m, allowed_m)
    with np.errstate(divide="ignore", invalid="ignore"):
        used = np.where(capacity_m > 0.0, sold_m / np.where(capacity_m > 0.0, capacity_m, 1.0), 1.0)
    price_per_m = _col(p, "hosting_price_usd_per_m_tokens") + ratio * _col(
        p, "hosting_input_price_usd_per_m_tokens"
    )
    return _Hosting(
        # the sold share of capacity x what all its tokens would sell for
        revenue_hosting=used * capacity_today_m * host_value * price_per_m / USD_PER_BUSD,
        used=used,
        spare_gw=host_gw * (1.0 - used) * (op_width > 0.0),
        spot_billed=spot_billed,
        spot_idle=spot_idle,
        seg_value=seg_value,
        value_factor=used * capacity_today_m * price_per_m / USD_PER_BUSD,
    )


@dataclass(frozen=True, slots=True)
class _Revenue:
    """Revenue lines (S, T, US$ B) before the phased start, and what the later stages need.

    ``lease_exposure`` is revenue per unit of today's lease rate (every lease-linked line is
    proportional to it), ``owned_exposure`` its part on owned GW before the ramp; ``hosted``,
    ``resold`` and ``kept`` say whether any row hosts, resells procured GW or keeps GW for
    internal use (a line that is 0 in every row is left out of the sums).
    """

    revenue_lease: FloatArray
    revenue_hosting: FloatArray
    revenue_resale: FloatArray
    revenue_internal: FloatArray
    lease_exposure: FloatArray
    owned_exposure: FloatArray
    ramp: FloatArray | float
    lease_gw: FloatArray
    procured: FloatArray
    frontier_0: FloatArray
    log_floor: FloatArray
    host: _Hosting
    hosted: bool
    resold: bool
    kept: bool


def _revenue(
    p: dict[str, FloatArray],
    tl: _Timeline,
    cap: _Capital,
    uc: _UnitCosts,
    mk: _Market,
    vt: _Vintages,
    hosted: bool,
) -> _Revenue:
    """Lease, hosting, resale and internal revenue (methodology sections 3, 4.4, 4.5, 11.4 and
    11.5)."""
    n, n_years, t, b = tl.n, tl.n_years, tl.t, tl.b
    gw, rate, billed = cap.gw, uc.rate, vt.billed
    util = _col(p, "lease_utilization")
    lease_gw = gw * _col(p, "lease_share")
    host_gw = gw * _col(p, "hosting_share")
    procured = _col(p, "procured_gw")
    frontier_0 = mk.frontier(np.zeros_like(b))
    log_floor = np.log(np.maximum(uc.floor_idx, 1e-300))
    if hosted:
        host = _hosting(p, tl, uc, mk, vt, host_gw, frontier_0, log_floor)
    else:
        host = _Hosting(
            revenue_hosting=np.zeros((n, n_years)),
            used=np.ones((n, n_years)),
            spare_gw=0.0,
            spot_billed=0.0,  # index-years per GW all at spot (spare hosting GW)
            spot_idle=0.0,
        )
    revenue_hosting = host.revenue_hosting
    # revenue per unit of today's lease rate: every lease-linked line is proportional to it
    # billed share of owned capacity while utilisation ramps up (1 from the third year)
    ramped = bool(
        (p["ramp_first_year_share"] < 1.0).any() or (p["ramp_second_year_share"] < 1.0).any()
    )
    ramp: FloatArray | float = 1.0
    if ramped:
        since_start = t - b
        ramp = np.where(
            since_start == 0.0,
            _col(p, "ramp_first_year_share"),
            np.where(since_start == 1.0, _col(p, "ramp_second_year_share"), 1.0),
        )
        revenue_hosting = revenue_hosting * ramp
    # capacity kept for internal use, valued at a transfer price per unit of what it would earn
    # leased (its opportunity cost); 0 = a cost centre
    internal_share = 1.0 - p["lease_share"] - p["hosting_share"]
    leased_exposure = util * (lease_gw * billed + host.spare_gw * host.spot_billed)
    kept = bool((internal_share > 0.0).any())
    if kept:
        internal_gw = gw * np.maximum(internal_share, 0.0)[:, None]
        internal_exposure = _col(p, "internal_transfer_price_share") * util * internal_gw * billed
        owned_exposure = leased_exposure + internal_exposure
        revenue_internal = rate * internal_exposure * ramp
    else:
        owned_exposure = leased_exposure
        revenue_internal = np.zeros_like(billed)
    revenue_lease = rate * leased_exposure * ramp
    # a line that is 0 in every row (nothing hosted, procured or kept for internal use) is left
    # out of the sums below: x + 0 = x and x - 0 = x, so the same numbers from fewer passes
    resold = bool(p["procured_gw"].any())
    if resold:
        revenue_resale = rate * util * procured * billed
        lease_exposure = owned_exposure * ramp + util * procured * billed
    else:
        revenue_resale = np.zeros_like(billed)
        lease_exposure = owned_exposure * ramp
    return _Revenue(
        revenue_lease=revenue_lease,
        revenue_hosting=revenue_hosting,
        revenue_resale=revenue_resale,
        revenue_internal=revenue_internal,
        lease_exposure=lease_exposure,
        owned_exposure=owned_exposure,
        ramp=ramp,
        lease_gw=lease_gw,
        procured=procured,
        frontier_0=frontier_0,
        log_floor=log_floor,
        host=host,
        hosted=hosted,
        resold=resold,
        kept=kept,
    )


@dataclass(frozen=True, slots=True)
class _Operations:
    """The operating lines of ``Result.cash_flows`` (S, T, US$ B; methodology section 3) and
    EBIT per unit of today's lease rate (the breakeven search's slope)."""

    revenue_lease: FloatArray
    revenue_hosting: FloatArray
    revenue_resale: FloatArray
    revenue_internal: FloatArray
    revenue: FloatArray
    power_cost: FloatArray
    other_opex: FloatArray
    variable_opex: FloatArray
    procurement_cost: FloatArray
    licence_fee: FloatArray
    ebitda: FloatArray
    depreciation: FloatArray
    ebit: FloatArray
    ebit_per_lease_rate: FloatArray


def _operations(
    p: dict[str, FloatArray],
    tl: _Timeline,
    cap: _Capital,
    uc: _UnitCosts,
    vt: _Vintages,
    rev: _Revenue,
) -> _Operations:
    """Running costs (idle capacity saves its avoidable costs), the phased start, EBITDA and
    book depreciation (methodology sections 2.1, 3 and 11.4)."""
    t, b, build = tl.t, tl.b, tl.build
    gw, op_width, host = cap.gw, vt.op_width, rev.host
    hosted, resold, kept = rev.hosted, rev.resold, rev.kept
    revenue_lease, revenue_hosting = rev.revenue_lease, rev.revenue_hosting
    revenue_internal, lease_exposure = rev.revenue_internal, rev.lease_exposure
    running_gw = gw * op_width - rev.lease_gw * vt.idle - host.spare_gw * host.spot_idle
    if kept:  # GW kept for internal use idle below the floor like leased GW (section 11.5)
        internal_share = np.maximum(1.0 - p["lease_share"] - p["hosting_share"], 0.0)
        running_gw = running_gw - (gw * internal_share[:, None]) * vt.idle
    power_cost = uc.power_gw * running_gw
    other_opex = _col(p, "other_opex_busd_per_gw_year") * running_gw
    phased = p["phased_online"] > 0.5
    if np.any(phased):
        # phase j (built in year j) earns from year j + 1: the share online in build year t is
        # c_t = t (1 + f (B - t) / (B - 1)) / B, at the first operating year's economics
        f_tilt = _col(p, "build_front_loading")
        online = t * (1.0 + f_tilt * (b - t) / np.maximum(b - 1.0, 1.0)) / b
        early = np.where(phased[:, None] & (t < b), online, 0.0)
        first = np.asarray(build, dtype=np.int64)[:, None]
        revenue_lease, revenue_hosting, revenue_internal, power_cost, other_opex = (
            x + early * np.take_along_axis(x, first, axis=1)
            for x in (revenue_lease, revenue_hosting, revenue_internal, power_cost, other_opex)
        )
        lease_exposure = lease_exposure + early * np.take_along_axis(
            rev.owned_exposure * rev.ramp, first, axis=1
        )
    if hosted:
        licence_fee = _col(p, "hosting_licence_fee_share") * revenue_hosting
    else:
        licence_fee = np.zeros_like(revenue_hosting)
    # revenue_lease + revenue_hosting + revenue_resale + revenue_internal, in that order (the
    # lease line is never -0: the rate, utilisation and exposures are >= 0)
    revenue = revenue_lease.copy()
    if hosted:
        revenue += revenue_hosting
    if resold:
        revenue += rev.revenue_resale
    if kept:
        revenue += revenue_internal
    variable_opex = revenue * uc.var_share
    # revenue - power_cost - other_opex - variable_opex - procurement_cost - licence_fee
    ebitda = revenue - power_cost - other_opex - variable_opex
    if resold:
        procurement_cost = op_width * rev.procured * _col(p, "procurement_cost_busd_per_gw_year")
        ebitda -= procurement_cost
    else:
        procurement_cost = np.zeros_like(revenue)
    if hosted:
        ebitda -= licence_fee
    if cap.book_is_service:
        depreciation = (
            op_width
            * (cap.cost_it / p["it_life_years"] + cap.cost_fac / p["facility_life_years"])[:, None]
        )
    else:  # the IT over its book life (section 11.8)
        depreciation = cap.book_it + op_width * (cap.cost_fac / p["facility_life_years"])[:, None]
    return _Operations(
        revenue_lease=revenue_lease,
        revenue_hosting=revenue_hosting,
        revenue_resale=rev.revenue_resale,
        revenue_internal=revenue_internal,
        revenue=revenue,
        power_cost=power_cost,
        other_opex=other_opex,
        variable_opex=variable_opex,
        procurement_cost=procurement_cost,
        licence_fee=licence_fee,
        ebitda=ebitda,
        depreciation=depreciation,
        ebit=ebitda - depreciation,
        ebit_per_lease_rate=lease_exposure * (1.0 - uc.var_share),
    )


@dataclass(frozen=True, slots=True)
class _Refresh:
    """The refresh decisions of ``refresh_rule`` "when_it_pays" (methodology section 2.4).

    Per vintage ``k`` (columns, k = 0 the build, never decided) of each row (S, K): ``value``
    its after-tax contribution to unlevered NPV when bought (US$ B, at the valuation date),
    ``rate_part()`` the part of it that scales with today's lease rate (computed when the
    breakeven asks), ``decided`` whether it is
    a refresh decided by the rule (``1 <= k <= k_last`` in a "when_it_pays" row) and
    ``dropped`` whether it is not bought (``decided`` and ``value < 0``). Per segment:
    ``seg_k`` the vintage of each segment of :class:`_Vintages` (S, a + b).
    """

    value: FloatArray
    rate_part: Callable[[], FloatArray]
    decided: BoolArray
    dropped: BoolArray
    seg_k: NDArray[np.intp]


@dataclass(frozen=True, slots=True)
class _SegmentFlows:
    """What each segment of :class:`_Vintages` adds to its year (S, a + b, US$ B): lease and
    spare-hosting revenue (``lease``), internal revenue (``internal``), hosting revenue
    (``hosting``, None when nothing is hosted), running GW-years (``running``) and EBITDA."""

    lease: FloatArray
    internal: FloatArray | None
    hosting: FloatArray | None
    running: FloatArray
    ebitda: FloatArray


def _at_segments(vt: _Vintages, x: FloatArray | float) -> FloatArray | float:
    """A per-year array (S, T) at the columns of each segment (S, a + b); a scalar as it is."""
    if isinstance(x, float):
        return x
    x = np.broadcast_to(x, (vt.cols.n, vt.cols.n_years))
    return np.concatenate((x[:, vt.cols.cols_a], x[:, vt.cols.cols_b]), axis=1)


def _segment_flows(
    p: dict[str, FloatArray], cap: _Capital, uc: _UnitCosts, vt: _Vintages, rev: _Revenue
) -> _SegmentFlows:
    """Each segment's share of its year's operating lines (methodology sections 2.4 and 3):
    summed over a year's segments they are the year's lines (the phased start's early years and
    resold procured capacity, which no refresh decision moves, aside)."""
    assert vt.seg_billed is not None and vt.seg_idle is not None
    rate_util = uc.rate * _col(p, "lease_utilization")
    ramp = _at_segments(vt, rev.ramp)
    host = rev.host
    lease = rev.lease_gw * vt.seg_billed
    running = cap.gw * vt.width - rev.lease_gw * vt.seg_idle
    internal: FloatArray | None = None
    if rev.kept:
        internal_gw = cap.gw * np.maximum(
            1.0 - _col(p, "lease_share") - _col(p, "hosting_share"), 0
        )
        internal = (rate_util * _col(p, "internal_transfer_price_share")) * internal_gw
        internal = internal * vt.seg_billed * ramp
        running -= internal_gw * vt.seg_idle
    hosting: FloatArray | None = None
    if rev.hosted:
        assert host.seg_value is not None and host.value_factor is not None
        spare = _at_segments(vt, np.asarray(host.spare_gw))
        lease = lease + spare * (vt.spot_run * vt.width)
        running -= spare * np.where(vt.runs, 0.0, vt.width)
        hosting = _at_segments(vt, host.value_factor) * host.seg_value * ramp
    lease = rate_util * lease * ramp
    revenue = lease if internal is None else lease + internal
    if hosting is not None:
        revenue = revenue + hosting
    ebitda = revenue * (1.0 - uc.var_share) - uc.avoidable_gw * running
    if hosting is not None:
        ebitda -= _col(p, "hosting_licence_fee_share") * hosting
    return _SegmentFlows(
        lease=lease, internal=internal, hosting=hosting, running=running, ebitda=ebitda
    )


def _refresh_payment(
    tl: _Timeline, life: FloatArray, k: FloatArray
) -> tuple[NDArray[np.intp], FloatArray]:
    """Where vintage ``k`` (S, K) is paid (section 2.2): the share ``1 - f`` at the end of year
    ``j`` and ``f`` at the end of year ``j + 1``, ``j = floor(s) - 1``, ``s = b + k L``."""
    start = tl.b + k * life
    whole = np.floor(start)
    j = np.clip(whole - 1.0, 0.0, tl.n_years - 2.0).astype(np.intp)
    return j, start - whole


def _macrs_unit_value(p: dict[str, FloatArray], tl: _Timeline, disc: FloatArray) -> FloatArray:
    """Present value (S, T) of the IT's MACRS deductions per unit placed in year ``j``: the
    schedule's shares inside the horizon, the basis left deducted in the last year (section
    11.2: set against the disposal). Two products with the schedule matrix, no loop."""
    from model.tax import IT_TAX_CLASS_YEARS, _schedule_matrix

    schedule = _schedule_matrix(IT_TAX_CLASS_YEARS, tl.n_years).T  # [t, j] = rate_(t - j)
    active = tl.active.astype(np.float64)
    with finance.one_blas_thread(tl.n):
        value = np.asarray((disc * active) @ schedule, dtype=np.float64)
        cover = np.asarray(active @ schedule, dtype=np.float64)
    last = np.take_along_axis(disc, (tl.h_end - 1.0).astype(np.intp), axis=1)
    value += (1.0 - cover) * last
    return value


def _refresh_values(
    p: dict[str, FloatArray],
    tl: _Timeline,
    cap: _Capital,
    uc: _UnitCosts,
    vt: _Vintages,
    res: _Residual,
    seg: _SegmentFlows,
    taxed: BoolArray,
) -> _Refresh:
    """Each refresh's contribution to unlevered NPV when bought (methodology section 2.4).

    ``V_k = (1 - tax) (E_k + [k = k_last] R) - C PV(pay_k) + tax C D_k``: ``E_k`` the present
    value of the EBITDA its segments add, ``R`` the IT's residual (the last vintage only),
    ``pay_k`` its payment split between two year ends, ``D_k`` the present value of its tax
    deductions per unit of cost (bonus share when paid, the rest straight-line over the service
    life or MACRS, the basis left deducted against the disposal). Exact for a tax linear in
    income (inside a group). Stand-alone, a year's income is taxed in the first year from it
    on that pays tax (``taxed``, with every vintage bought: where the carried-forward losses
    are used up), so its tax is discounted from there (``tax_disc``): the marginal tax of the
    carry-forward's closed form, an estimate for a whole vintage.
    """
    n, life = tl.n, uc.life_it
    disc = finance.discount_factors(p["wacc"], tl.n_years)
    seg_disc = _at_segments(vt, disc)
    tax_disc = disc
    alone = _col(p, "tax_in_group") < 0.5
    if alone.any():
        n_t = tl.n_years
        years = np.where(taxed, np.arange(n_t)[None, :], n_t)
        first = np.minimum.accumulate(years[:, ::-1], axis=1)[:, ::-1]
        padded = np.concatenate((disc, np.zeros((n, 1))), axis=1)
        tax_disc = np.where(alone, np.take_along_axis(padded, first, axis=1), disc)
    assert vt.k_a is not None
    n_k = int(vt.k_last.max(initial=0.0)) + 1
    cols = vt.cols
    seg_k = vt.seg_k  # (the same cap: the last vintage any row has)
    if seg_k is None:
        k_seg = np.concatenate((vt.k_a[:, cols.cols_a], vt.k_a[:, cols.cols_b] + 1.0), axis=1)
        seg_k = np.minimum(k_seg, n_k - 1).astype(np.intp)
    flat = (seg_k + (np.arange(n) * n_k)[:, None]).ravel()

    def by_vintage(x: FloatArray) -> FloatArray:
        out = np.bincount(flat, weights=x.ravel(), minlength=n * n_k)
        return np.asarray(out, dtype=np.float64).reshape(n, n_k)

    tax = uc.tax_rate
    cost = cap.cost_it[:, None]
    bonus = _col(p, "bonus_depreciation_share")
    macrs_rows = _col(p, "macrs_depreciation") > 0.5
    at_end = (tl.h_end - 1.0).astype(np.intp)
    last = np.take_along_axis(disc, at_end, axis=1)
    last_taxed = last if tax_disc is disc else np.take_along_axis(tax_disc, at_end, axis=1)
    # every per-segment term in one sum per vintage: EBITDA after its tax, and the tax saved by
    # the straight line over the service life (the basis left deducted in the last year)
    seg_taxed = seg_disc if tax_disc is disc else _at_segments(vt, tax_disc)
    per_year = tax * cost * (1.0 - bonus) / life
    per_year = np.where(macrs_rows, 0.0, per_year)
    quantity = seg.ebitda * (seg_disc - tax * seg_taxed)
    quantity += per_year * vt.width * (seg_taxed - last_taxed)
    summed = by_vintage(quantity)
    k = np.arange(n_k, dtype=np.float64)[None, :]
    j, f = _refresh_payment(tl, life, k)
    # (1 - f) d_j + f d_(j+1) with d_t = (1 + wacc)^-t = exp(-rho t): no gather
    pay = np.exp(-uc.rho * j)
    pay *= 1.0 - f * (1.0 - np.exp(-uc.rho))
    pay_taxed = pay
    if tax_disc is not disc:
        pay_taxed = (1.0 - f) * np.take_along_axis(tax_disc, j, axis=1)
        pay_taxed += f * np.take_along_axis(tax_disc, j + 1, axis=1)
    # the straight line's basis left at the horizon is deducted there (per unit of cost: 1 -
    # the share of the life inside it, whose per-segment part is in ``summed``)
    deductions = bonus * pay_taxed + np.where(macrs_rows, 0.0, (1.0 - bonus) * last_taxed)
    if macrs_rows.any():
        unit = _macrs_unit_value(p, tl, tax_disc)
        macrs = (1.0 - f) * np.take_along_axis(unit, j, axis=1)
        macrs += f * np.take_along_axis(unit, j + 1, axis=1)
        deductions += np.where(macrs_rows, (1.0 - bonus) * macrs, 0.0)
    it_end = (res.residual_value.sum(axis=1) - res.inputs.frac * res.inputs.nbv_fac)[:, None]
    is_last = k == vt.k_last
    residual = np.where(is_last, it_end * (last - tax * last_taxed), 0.0)
    value = summed + residual - cost * pay + tax * cost * deductions
    decided = (k >= 1.0) & (k <= vt.k_last) & (_col(p, "refresh_rule") > 0.5)
    return _Refresh(
        value=value,
        rate_part=lambda: _rate_part(seg, seg_disc, by_vintage, uc, residual),
        decided=decided,
        dropped=decided & (value < 0.0),
        seg_k=seg_k,
    )


def _rate_part(
    seg: _SegmentFlows,
    seg_disc: FloatArray | float,
    by_vintage: Callable[[FloatArray], FloatArray],
    uc: _UnitCosts,
    residual: FloatArray,
) -> FloatArray:
    """The part of each vintage's value (S, K) that scales with today's lease rate: its
    lease-linked revenue net of the variable share and of tax, and its residual."""
    linked = seg.lease if seg.internal is None else seg.lease + seg.internal
    if seg.hosting is not None:
        linked = linked + seg.hosting
    linked_pv = by_vintage(linked * seg_disc) * (1.0 - uc.var_share)
    return np.asarray((1.0 - uc.tax_rate) * linked_pv + residual, dtype=np.float64)


def _without_dropped(
    p: dict[str, FloatArray],
    tl: _Timeline,
    cap: _Capital,
    uc: _UnitCosts,
    vt: _Vintages,
    rev: _Revenue,
    ops: _Operations,
    res: _Residual,
    seg: _SegmentFlows,
    rf: _Refresh,
) -> tuple[_Capital, _Vintages, _Operations, _Residual]:
    """The lines with the vintages the rule does not buy taken out (methodology section 2.4):
    their GW idle for their span (no rent, no power or other opex, no depreciation), their
    payment is not made, and where the last is not bought nothing is held or sold at the
    horizon. Rows where every vintage is bought keep their numbers exactly (x - 0 = x)."""
    life = uc.life_it
    off = np.take_along_axis(rf.dropped, rf.seg_k, axis=1)
    cols = vt.cols

    def gone(x: FloatArray) -> FloatArray:
        return cols.sum(np.where(off, x, 0.0))

    off_width = gone(vt.width)
    # operations: revenue of the dropped segments, and their running costs
    revenue_lease = ops.revenue_lease - gone(seg.lease)
    revenue_internal = ops.revenue_internal
    exposure = seg.lease
    if seg.internal is not None:
        revenue_internal = revenue_internal - gone(seg.internal)
        exposure = exposure + seg.internal
    revenue_hosting = ops.revenue_hosting
    if seg.hosting is not None:
        revenue_hosting = revenue_hosting - gone(seg.hosting)
    running_gone = gone(seg.running)
    power_cost = ops.power_cost - uc.power_gw * running_gone
    other_opex = ops.other_opex - _col(p, "other_opex_busd_per_gw_year") * running_gone
    revenue = revenue_lease.copy()
    if rev.hosted:
        revenue += revenue_hosting
    if rev.resold:
        revenue += ops.revenue_resale
    if rev.kept:
        revenue += revenue_internal
    variable_opex = revenue * uc.var_share
    licence_fee = ops.licence_fee
    ebitda = revenue - power_cost - other_opex - variable_opex
    if rev.resold:
        ebitda -= ops.procurement_cost
    if rev.hosted:
        licence_fee = _col(p, "hosting_licence_fee_share") * revenue_hosting
        ebitda -= licence_fee
    # capital: the dropped payments, the IT's straight line and book, what is held at the end
    cost = cap.cost_it[:, None]
    refresh_it = cap.refresh_it.copy()
    k = np.arange(rf.dropped.shape[1], dtype=np.float64)[None, :]
    j, f = _refresh_payment(tl, life, k)
    amount = np.where(rf.dropped, cost, 0.0)
    at = (j + (np.arange(tl.n) * tl.n_years)[:, None]).ravel()
    size = tl.n * tl.n_years
    unpaid = np.bincount(at, weights=(amount * (1.0 - f)).ravel(), minlength=size)
    unpaid += np.bincount(at + 1, weights=(amount * f).ravel(), minlength=size)
    refresh_it -= unpaid.reshape(tl.n, tl.n_years)
    # (a payment taken out leaves float noise of ~1e-15 where nothing else is paid)
    refresh_it[np.abs(refresh_it) <= 1e-12 * np.maximum(cost, 1.0)] = 0.0
    capex_refresh = refresh_it + cap.refresh_fac
    last_dropped = np.take_along_axis(rf.dropped, vt.k_last.astype(np.intp), axis=1)[:, 0]
    held = np.where(last_dropped, 0.0, 1.0)
    straight_it = cap.straight_it - cost / life * off_width
    if cap.book_is_service:
        book_it = straight_it
        depreciation = ops.depreciation - cost / life * off_width
    else:  # each dropped vintage's book charges and write-off (section 11.8) taken out
        book_it = cap.book_it - _dropped_book(p, tl, cap, vt, off)
        depreciation = ops.depreciation - (cap.book_it - book_it)
    cap = dataclasses.replace(
        cap,
        refresh_it=refresh_it,
        capex_refresh=capex_refresh,
        capex=cap.build_spend + capex_refresh,
        nbv_it=cap.nbv_it * held,
        service_nbv_it=cap.service_nbv_it * held,
        straight_it=straight_it,
        book_it=book_it,
    )
    # (book_is_service stays: the same vintages drop from book and from the tax straight-line)
    ops = dataclasses.replace(
        ops,
        revenue_lease=revenue_lease,
        revenue_hosting=revenue_hosting,
        revenue_internal=revenue_internal,
        revenue=revenue,
        power_cost=power_cost,
        other_opex=other_opex,
        variable_opex=variable_opex,
        licence_fee=licence_fee,
        ebitda=ebitda,
        depreciation=depreciation,
        ebit=ebitda - depreciation,
        ebit_per_lease_rate=ops.ebit_per_lease_rate
        - gone(exposure) / np.maximum(uc.rate, MIN_RATE_REF) * (1.0 - uc.var_share),
    )
    assert vt.seg_billed is not None and vt.seg_idle is not None
    vt = dataclasses.replace(
        vt,
        billed=vt.billed - gone(vt.seg_billed),
        idle=vt.idle - gone(vt.seg_idle) + off_width,
    )
    inputs = dataclasses.replace(res.inputs, held=held, nbv_it=cap.nbv_it)
    cash, gain = inputs.at(p["lease_rate_busd_per_gw_year"])
    res = _Residual(
        inputs=inputs,
        last_year=res.last_year,
        residual_value=np.where(res.last_year, cash[:, None], 0.0),
        residual_gain=np.where(res.last_year, gain[:, None], 0.0),
    )
    return cap, vt, ops, res


def _decided(
    p: dict[str, FloatArray],
    tl: _Timeline,
    cap: _Capital,
    uc: _UnitCosts,
    vt: _Vintages,
    rev: _Revenue,
    ops: _Operations,
    res: _Residual,
    tx: _Tax,
    seg: _SegmentFlows,
    refresh: _Refresh,
) -> tuple[_Capital, _Vintages, _Operations, _Residual, _Tax, _Refresh]:
    """The lines with the rule's decisions (section 2.4), and the no-regret guard: stand-alone
    the decisions are an estimate, so a row whose decisions lose against refreshing every
    vintage refreshes every vintage (its lines from that state: rows are independent)."""
    every = (cap, vt, ops, res, tx)
    cap, vt, ops, res = _without_dropped(p, tl, cap, uc, vt, rev, ops, res, seg, refresh)
    tx = _tax(p, tl, cap, vt, ops, res)
    worse = _npv_of(p, every[0], every[2], every[3], every[4]) > _npv_of(p, cap, ops, res, tx)
    if worse.any():
        refresh = dataclasses.replace(refresh, dropped=refresh.dropped & ~worse[:, None])
        cap = _pick_rows(worse, every[0], cap)
        vt = _pick_rows(worse, every[1], vt)
        ops = _pick_rows(worse, every[2], ops)
        res = _pick_rows(worse, every[3], res)
        tx = _pick_rows(worse, every[4], tx)
    return cap, vt, ops, res, tx, refresh


def _take_rows(x: _T, rows: NDArray[np.intp], n: int) -> _T:
    """The scenarios ``rows`` of a stage of the engine (or of the inputs ``p``): every array
    whose first axis is the scenarios, nested stages likewise (a residual's rent streams, (2,
    S), on their second axis; the timeline's year grid kept), but the fields
    :data:`_UNREAD_BY_DECIDED` names, kept whole (the decisions do not read them)."""
    m = rows.size
    if isinstance(x, dict):
        return {k: v[rows] for k, v in x.items()}  # type: ignore[return-value]
    if isinstance(x, _Timeline):
        return dataclasses.replace(
            x,
            n=m,
            build=x.build[rows],
            horizon=x.horizon[rows],
            b=x.b[rows],
            h_end=x.h_end[rows],
            active=x.active[rows],
            operating=x.operating[rows],
        )
    if isinstance(x, _RentStream):
        return dataclasses.replace(
            x, **{f.name: getattr(x, f.name)[:, rows] for f in dataclasses.fields(x)}
        )
    if isinstance(x, _Columns):
        return dataclasses.replace(x, n=m)
    changes: dict[str, object] = {}
    unread = _UNREAD_BY_DECIDED.get(type(x).__name__, ())
    for field in dataclasses.fields(x):  # type: ignore[arg-type]
        if field.name in unread:
            continue
        v = getattr(x, field.name)
        if isinstance(v, np.ndarray):
            if v.ndim >= 1 and v.shape[0] == n:
                changes[field.name] = v[rows]
        elif dataclasses.is_dataclass(v) and not isinstance(v, type):
            changes[field.name] = _take_rows(v, rows, n)
    return dataclasses.replace(x, **changes)  # type: ignore[type-var]


#: Fields of a stage that :func:`_decided` never reads (nor :func:`_without_dropped`,
#: :func:`_tax`, :func:`_npv_of`, :func:`_dropped_book` or :func:`_pick_rows`, which keeps a
#: field it finds unchanged): :func:`_take_rows` leaves them as they are, all rows, rather than
#: copy their rows (about a fifth of its time). The revenue stage is read for its flags only.
_UNREAD_BY_DECIDED: dict[str, tuple[str, ...]] = {
    "_Vintages": ("start_a", "lo", "hi", "log_mid", "spot", "runs", "spot_run", "k_a", "seg_k"),
    "_Revenue": (
        "revenue_lease",
        "revenue_hosting",
        "revenue_resale",
        "revenue_internal",
        "lease_exposure",
        "owned_exposure",
        "ramp",
        "lease_gw",
        "procured",
        "frontier_0",
        "log_floor",
        "host",
    ),
    "_SegmentFlows": ("ebitda",),
    "_Refresh": ("value", "decided"),
}


#: What :func:`_without_dropped` and :func:`_tax` change, per stage (:func:`_put_rows`).
_DECIDED_FIELDS: dict[str, tuple[str, ...]] = {
    "_Capital": (
        "refresh_it",
        "capex_refresh",
        "capex",
        "nbv_it",
        "service_nbv_it",
        "straight_it",
        "book_it",
    ),
    "_Vintages": ("billed", "idle"),
    "_Operations": (
        "revenue_lease",
        "revenue_hosting",
        "revenue_internal",
        "revenue",
        "power_cost",
        "other_opex",
        "variable_opex",
        "licence_fee",
        "ebitda",
        "depreciation",
        "ebit",
        "ebit_per_lease_rate",
    ),
    "_Residual": ("residual_value", "residual_gain", "inputs"),
    "_ResidualInputs": ("held", "nbv_it"),
    "_Tax": (
        "tax_depreciation",
        "tax_depreciation_fac",
        "basis_fac_end",
        "disposal_taxable",
        "taxable",
        "base_shift",
        "tax",
    ),
}


def _array_ids(*stages: object) -> frozenset[int]:
    """The identities of the arrays the stages (or inputs) hold, nested stages included."""
    ids: set[int] = set()
    for x in stages:
        values: list[object] = []
        if isinstance(x, dict):
            values = list(x.values())
        elif dataclasses.is_dataclass(x) and not isinstance(x, type):
            values = [getattr(x, f.name) for f in dataclasses.fields(x)]
        for v in values:
            if isinstance(v, np.ndarray):
                ids.add(id(v))
            elif dataclasses.is_dataclass(v) and not isinstance(v, type):
                ids |= _array_ids(v)
    return frozenset(ids)


def _put_rows(
    full: _T, rows: NDArray[np.intp], part: _T, n: int, kept: frozenset[int] = frozenset()
) -> _T:
    """``full`` with the scenarios ``rows`` taken from ``part`` (:func:`_take_rows` of it, then
    decided): only the fields the decisions change (:data:`_DECIDED_FIELDS`).

    ``full`` is the stage :func:`_cash_flows` replaces by the result: an array it owns whole
    (writeable, not a view, of the result's shape) takes the rows in place, without a copy of
    every row, unless it is one of ``kept`` (arrays of the stages that stay in use, e.g. the
    revenue lines the operating stage passes on). Arrays two fields of ``full`` share (a book
    life equal to the service life's book and straight line) take the same values twice."""
    changes: dict[str, object] = {}
    for name in _DECIDED_FIELDS[type(full).__name__]:
        a, b = getattr(full, name), getattr(part, name)
        if isinstance(b, np.ndarray):
            if a is None:  # (a residual held in every row of full)
                a = np.ones(n)
            shape = (n, *b.shape[1:])
            if (
                id(a) not in kept
                and a.base is None
                and a.flags.writeable
                and a.dtype == np.float64
                and a.shape == shape
            ):
                out = a
            else:
                out = np.array(np.broadcast_to(a, a.shape), dtype=np.float64)
                if out.ndim < b.ndim:
                    out = np.array(np.broadcast_to(out, shape))
            out[rows] = b
            changes[name] = out
        elif dataclasses.is_dataclass(b) and not isinstance(b, type):
            changes[name] = _put_rows(a, rows, b, n, kept)
    return dataclasses.replace(full, **changes)  # type: ignore[type-var]


def _pick_rows(rows: BoolArray, first: _T, second: _T) -> _T:
    """``second`` with the arrays of the marked ``rows`` (S,) taken from ``first`` (the same
    stage of the engine in two states; nested stages likewise, a residual not held in
    ``second`` held where ``first`` is taken)."""
    changes: dict[str, object] = {}
    for field in dataclasses.fields(second):  # type: ignore[arg-type]
        a, b = getattr(first, field.name), getattr(second, field.name)
        if a is b:
            continue
        if isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape:
            if a.ndim >= 1 and a.shape[0] == rows.shape[0]:
                mask = rows.reshape(rows.shape[0], *([1] * (a.ndim - 1)))
                changes[field.name] = np.where(mask, a, b)
        elif a is None and isinstance(b, np.ndarray) and field.name == "held":
            changes[field.name] = np.where(rows, 1.0, b)
        elif dataclasses.is_dataclass(a) and not isinstance(a, type):
            changes[field.name] = _pick_rows(rows, a, b)
    return dataclasses.replace(second, **changes)  # type: ignore[type-var]


def _npv_of(
    p: dict[str, FloatArray], cap: _Capital, ops: _Operations, res: _Residual, tx: _Tax
) -> FloatArray:
    """Unlevered NPV (S,) of these lines (as :func:`_free_cash_flow` and section 5 sum them)."""
    fcf = ops.ebitda - tx.tax - cap.capex + res.residual_value
    disc = finance.discount_factors(p["wacc"], fcf.shape[1])
    return np.asarray((fcf * disc).sum(axis=1), dtype=np.float64)


def _dropped_book(
    p: dict[str, FloatArray], tl: _Timeline, cap: _Capital, vt: _Vintages, off: BoolArray
) -> FloatArray:
    """Book depreciation (S, T) of the vintages not bought (section 11.8), from their segments:
    ``cost / L_b`` a year while younger than ``L_b``, and the write-off ``cost (1 - L_s /
    L_b)`` in the segment that ends at its retirement (before the horizon)."""
    life_s = _col(p, "it_life_years")
    life_b = _col(p, "it_book_life_years")
    cost = cap.cost_it[:, None]
    age_lo = vt.mid - 0.5 * vt.width - vt.start
    age_hi = age_lo + vt.width
    young = np.minimum(life_b, life_s)
    charge = cost / life_b * (np.minimum(age_hi, young) - np.minimum(age_lo, young))
    retires = vt.start + life_s
    ends = (np.abs(vt.mid + 0.5 * vt.width - retires) < 1e-9) & (retires < tl.h_end - 1e-9)
    charge += np.where(ends & (vt.width > 0.0), cost * np.maximum(1.0 - life_s / life_b, 0.0), 0.0)
    return vt.cols.sum(np.where(off, charge, 0.0))


@dataclass(frozen=True, slots=True)
class _Residual:
    """The residual value at the horizon (methodology section 2.3): its inputs (the breakeven
    search reprices them), its cash and its gain against book in the last year (S, T, US$ B)."""

    inputs: _ResidualInputs
    last_year: BoolArray
    residual_value: FloatArray
    residual_gain: FloatArray


def _residual(
    p: dict[str, FloatArray],
    tl: _Timeline,
    cap: _Capital,
    uc: _UnitCosts,
    mk: _Market,
    vt: _Vintages,
) -> _Residual:
    """Residual value at market value, taxed on the gain against book (methodology section
    2.3)."""
    h_end, life_it, log_keep_hw = tl.h_end, uc.life_it, uc.log_keep_hw
    last_year = tl.t == (h_end - 1.0)
    age_end = (h_end - tl.b - vt.k_last * life_it)[:, 0]  # age of the IT in service at the end
    left_end = np.maximum(life_it[:, 0] - age_end, 0.0)
    net_per_gw = (
        p["gw_built"] * p["lease_utilization"] * (1.0 - p["variable_opex_share_of_revenue"])
    )
    frontier_end = mk.frontier(h_end)[:, 0]
    life_end = p["it_life_years"]
    term_end = np.minimum(p["contract_years"], life_end)
    # (np.array of equal rows is np.stack without its Python wrapper)
    resid = _ResidualInputs(
        frac=p["residual_value_fraction"],
        cost=cap.cost_it,
        # row 0: the IT in service at the horizon; row 1: a new vintage bought there
        streams=_RentStream(
            rent_per_rate=np.array(
                (
                    net_per_gw * frontier_end * np.exp(log_keep_hw[:, 0] * age_end),
                    net_per_gw * frontier_end,
                )
            ),
            # contract rates as the vintages' (section 4.6): the in-service IT's, and a new
            # vintage's signed at the horizon
            contract_rent_per_rate=net_per_gw
            * _contract_rate(
                p, tl, uc, mk, np.concatenate((h_end - age_end[:, None], h_end), axis=1)
            ).T,
            term=np.array((_clamp(term_end - age_end, 0.0, left_end), term_end)),
            left=np.array((left_end, life_end)),
        ),
        contracted_share=p["contracted_share"],
        charge=p["gw_built"] * (uc.avoidable_gw + uc.fac_gw * uc.kappa_fac)[:, 0],
        delta=uc.delta_hw[:, 0],
        rho=uc.rho[:, 0],
        nbv_it=cap.nbv_it,
        nbv_fac=cap.nbv_fac,
        tax=p["tax_rate"],
        annuity=p["facility_residual"] > 0.5,
        fac_annuity=_facility_annuity(p, tl, cap, uc),
        # the site's surplus is its owner's: a builder of IT alone rents its building (its rent
        # in other opex) and has no site to sell (section 2.5)
        surplus_tail=_surplus_tail(uc.rho[:, 0], left_end, life_end),
        owns_site=cap.cost_fac > 0.0,
    )
    value_it, value_fac = resid.parts(p["lease_rate_busd_per_gw_year"])
    residual_end = resid.frac * (value_it + value_fac)
    gain_end = residual_end - (resid.nbv_it + resid.nbv_fac)
    return _Residual(
        inputs=resid,
        last_year=last_year,
        residual_value=np.where(last_year, residual_end[:, None], 0.0),
        residual_gain=np.where(last_year, gain_end[:, None], 0.0),
    )


def _facility_annuity(
    p: dict[str, FloatArray], tl: _Timeline, cap: _Capital, uc: _UnitCosts
) -> FloatArray:
    """The facility's remaining annuity value at the horizon (S,), US$ B (methodology section
    2.5): its capital charge within the user cost, ``C_fac (kappa_fac - tax / L_fac)`` after
    tax a year (section 4.2, continuous flows, no build-period interest), over the ``l`` years
    the facility in service has left, to a taxed buyer that depreciates its price over ``l``:
    ``V = C_fac (kappa_fac - tax / L_fac) l psi(rho l) / (1 - tax psi(rho l))`` (``C_fac`` at
    ``l = L_fac``, 0 at ``l = 0``; with no tax, ``C_fac (1 - e^(-rho l)) / (1 - e^(-rho L))``)."""
    life = p["facility_life_years"]
    left = _life_left(life, tl.build, tl.horizon)
    tax = p["tax_rate"]
    decay = _psi(uc.rho[:, 0] * left)
    return np.asarray(
        cap.cost_fac * (uc.kappa_fac[:, 0] - tax / life) * left * decay / (1.0 - tax * decay)
    )


def _surplus_tail(rho: FloatArray, left: FloatArray, life: FloatArray) -> FloatArray:
    """The share of a new vintage's site surplus that falls after the IT in service retires and
    within one IT life of the horizon (S,) (methodology section 2.5): the surplus spread evenly
    in present value over the vintage's life, ``(e^(-rho l) - e^(-rho L)) / (1 - e^(-rho L))``
    for ``l`` years left of a life ``L`` (1 at ``l = 0``, 0 at ``l = L``)."""
    gap = np.maximum(life - left, 0.0)
    n = gap.shape[0]
    ps = _psi(np.concatenate((rho * gap, rho * life)))  # both in one call (elementwise)
    return np.asarray(np.exp(-rho * left) * gap * ps[:n] / np.maximum(life * ps[n:], 1e-300))


def _unlevered_tax(p: dict[str, FloatArray], income: FloatArray) -> FloatArray:
    """Unlevered cash tax per year (S, T) on taxable ``income`` (methodology sections 3 and
    11.2): :func:`model.tax.cash_tax`, the one dispatch (its closed form for stand-alone rows
    with unlimited loss offset, the group's rate x income, else the recursion)."""
    return cash_tax(
        income,
        p["tax_rate"],
        in_group=p["tax_in_group"],
        nol_limit=p["nol_offset_limit_share"],
    )


@dataclass(frozen=True, slots=True)
class _Tax:
    """Tax depreciation, taxable income and unlevered cash tax (S, T, US$ B; methodology
    section 11.2). ``disposal_taxable`` is the taxable part of the disposal at the horizon,
    ``base_shift`` taxable income less EBIT and the book gain (None where tax depreciation is
    book), ``basis_fac_end`` (S,) the facility's tax basis at the horizon."""

    tax_depreciation: FloatArray
    tax_depreciation_fac: FloatArray
    basis_fac_end: FloatArray
    disposal_taxable: FloatArray
    taxable: FloatArray
    base_shift: FloatArray | None
    tax: FloatArray


def _tax(
    p: dict[str, FloatArray],
    tl: _Timeline,
    cap: _Capital,
    vt: _Vintages,
    ops: _Operations,
    res: _Residual,
) -> _Tax:
    """Tax depreciation separate from book, taxed with the disposal's gain (methodology
    sections 3 and 11.2)."""
    op_width, residual_gain = vt.op_width, res.residual_gain
    book_fac = op_width * (cap.cost_fac / p["facility_life_years"])[:, None]
    # tax straight-line is over the service life: the book life (section 11.8) moves no cash
    book_tax = cap.book_is_service and not (
        p["macrs_depreciation"].any() or p["bonus_depreciation_share"].any()
    )
    base_shift: FloatArray | None = None
    if book_tax:
        # tax depreciation is book: the same numbers as before, without float noise
        tax_depreciation_line = ops.depreciation
        tax_depreciation_fac = book_fac
        basis_fac_end = cap.nbv_fac
        disposal_taxable = residual_gain
        taxable = ops.ebit + residual_gain
    else:
        at_start = tl.t == tl.b
        tax_dep = tax_depreciation(
            placed_it=np.where(at_start, cap.cost_it[:, None], 0.0) + cap.refresh_it,
            placed_facility=np.where(at_start, cap.cost_fac[:, None], 0.0) + cap.refresh_fac,
            book_it=cap.straight_it,
            book_facility=book_fac,
            active=tl.active,
            macrs=p["macrs_depreciation"],
            facility_class=p["facility_tax_class_years"],
            bonus=p["bonus_depreciation_share"],
        )
        tax_depreciation_line = tax_dep.total
        tax_depreciation_fac = tax_dep.facility
        # book value less tax basis at the horizon: taxed (or deducted) with the disposal
        basis_gap = np.where(
            res.last_year,
            (cap.nbv_it + cap.nbv_fac - tax_dep.basis_it_end - tax_dep.basis_facility_end)[:, None],
            0.0,
        )
        base_shift = ops.depreciation - tax_dep.total + basis_gap
        basis_fac_end = tax_dep.basis_facility_end
        disposal_taxable = residual_gain + basis_gap
        taxable = ops.ebit + residual_gain + base_shift
    return _Tax(
        tax_depreciation=tax_depreciation_line,
        tax_depreciation_fac=tax_depreciation_fac,
        basis_fac_end=basis_fac_end,
        disposal_taxable=disposal_taxable,
        taxable=taxable,
        base_shift=base_shift,
        tax=_unlevered_tax(p, taxable),
    )


def _free_cash_flow(
    p: dict[str, FloatArray],
    tl: _Timeline,
    cap: _Capital,
    ops: _Operations,
    res: _Residual,
    tx: _Tax,
) -> tuple[dict[str, FloatArray], FloatArray]:
    """The annual lines of ``Result.cash_flows`` before financing, and the discount factors
    ``(1 + wacc) ** -t`` (methodology sections 1 and 3)."""
    fcf = ops.ebitda - tx.tax - cap.capex + res.residual_value
    disc = finance.discount_factors(p["wacc"], tl.n_years)
    lines = {
        "revenue_lease": ops.revenue_lease,
        "revenue_hosting": ops.revenue_hosting,
        "revenue_resale": ops.revenue_resale,
        "revenue_internal": ops.revenue_internal,
        "revenue": ops.revenue,
        "power_cost": ops.power_cost,
        "other_opex": ops.other_opex,
        "variable_opex": ops.variable_opex,
        "procurement_cost": ops.procurement_cost,
        "licence_fee": ops.licence_fee,
        "ebitda": ops.ebitda,
        "depreciation": ops.depreciation,
        "tax_depreciation": tx.tax_depreciation,
        "ebit": ops.ebit,
        "residual_gain": res.residual_gain,
        "tax": tx.tax,
        "nopat": ops.ebit - tx.tax,
        "capex": cap.capex,
        "capex_refresh": cap.capex_refresh,
        "residual_value": res.residual_value,
        "fcf": fcf,
        "discounted_fcf": fcf * disc,
        "net_book_value": finance.cumulative_sum(cap.capex - ops.depreciation),
    }
    return lines, disc


def _metrics_and_financing(
    p: dict[str, FloatArray],
    tl: _Timeline,
    cap: _Capital,
    res: _Residual,
    tx: _Tax,
    lines: dict[str, FloatArray],
    disc: FloatArray,
) -> dict[str, FloatArray]:
    """Return metrics of the project (methodology section 5), the residual's present value,
    and the capital structure's lines and metrics (section 11.1), which join ``lines``."""
    metrics = _metrics(p, lines, tl.operating, tl.horizon)
    fcf, tax = lines["fcf"], lines["tax"]
    tax_without = _unlevered_tax(p, tx.taxable - tx.disposal_taxable)
    metrics["residual_pv_busd"] = (
        (res.residual_value - (tax - tax_without)) * np.where(res.last_year, disc, 0.0)
    ).sum(axis=1)
    if bool(has_financing(p).any()):
        # the campus lease's handover stays on the facility's book value (section 11.9's
        # contract); the annuity value and the site's surplus stay with the builder (2.5)
        fac_cash = p["residual_value_fraction"] * cap.nbv_fac
        build_fac = cap.build_spend * (1.0 - _col(p, "it_share_of_capex"))
        flows = ProjectFlows(
            fcf=fcf,
            tax_unlevered=tax,
            taxable_unlevered=tx.taxable,
            tax_depreciation=tx.tax_depreciation,
            tax_depreciation_facility=tx.tax_depreciation_fac,
            build_capex=cap.build_spend,
            build_capex_facility=build_fac,
            capex_facility=build_fac + cap.refresh_fac,
            facility_residual_cash=fac_cash,
            facility_basis_end=tx.basis_fac_end,
            facility_build_cost=cap.cost_fac,
            facility_life_left=_life_left(p["facility_life_years"], tl.build, tl.horizon),
            operating=tl.operating,
            last_year=res.last_year,
            build_years=tl.build,
            horizon=tl.horizon,
            npv_unlevered=metrics["npv_busd"],
            irr=metrics["irr"],
            irr_root_count=metrics["irr_root_count"],
        )
        fin_lines, fin_metrics = finance_project(p, flows)
    else:
        fin_lines, fin_metrics = unfinanced(fcf, tax, metrics)
    metrics.update(fin_metrics)
    lines.update(fin_lines)
    return metrics


def _market_table(
    p: dict[str, FloatArray],
    tl: _Timeline,
    uc: _UnitCosts,
    mk: _Market,
    vt: _Vintages,
    rev: _Revenue,
) -> dict[str, FloatArray]:
    """The per-year market indices of ``Result.market`` at ``tau = t`` (methodology sections
    4.1-4.5), in the documented order."""
    t, shape = tl.t, (tl.n, tl.n_years)
    op_width, start_a, billed = vt.op_width, vt.start_a, vt.billed
    log_keep_hw, log_keep = uc.log_keep_hw, mk.log_keep
    t_span = (0.0, float(tl.n_years - 1))  # (t is 0 .. T - 1)
    lease_idx = mk.frontier(t, tau_span=t_span)
    age_t = np.maximum(t - start_a, 0.0)
    billed_idx = np.zeros(billed.shape)  # ((S, T) like op_width)
    np.divide(billed, op_width, out=billed_idx, where=op_width > 0)  # (0 where it is 0)
    market = {
        "token_price_index": _full(np.exp(mk.price_a + mk.price_b * t), shape),
        "token_volume_index": _full(
            np.exp(_clamp(mk.volume_a + mk.volume_b * t, -LOG_CLIP, LOG_CLIP)), shape
        ),
        "compute_demand_index": _full(
            np.exp(_clamp(mk.demand_a + mk.demand_b * t, -LOG_CLIP, LOG_CLIP)), shape
        ),
        "industry_capacity_index": _full(np.exp(_clamp(mk.cap_b * t, -LOG_CLIP, LOG_CLIP)), shape),
        "lease_rate_index": lease_idx,
        "lease_rate_ceiling_index": _full(mk.ceiling(t, t_span), shape),
        "lease_rate_floor_index": _full(uc.floor_idx, shape),
        "fleet_lease_rate_index": lease_idx * np.exp(log_keep_hw * age_t),
        "contracted_lease_rate_index": np.empty(0),  # (below)
        "billed_lease_rate_index": billed_idx,
        "builder_tokens_per_gpu_index": np.exp(
            _clamp(mk.log_k_builder - log_keep * t + uc.delta_hw * start_a, -LOG_CLIP, LOG_CLIP)
        ),
        "hosting_volume_factor": np.exp(
            np.minimum(mk.eps_c * (mk.log_x(t, t_span) - rev.log_floor), 0.0)
        ),
        "hosting_capacity_used_share": _full(rev.host.used, shape),
        "hosting_token_price_index": np.exp(
            _clamp(mk.price_a + (log_keep + log_keep_hw) * t, -LOG_CLIP, LOG_CLIP)
        )
        * lease_idx
        / rev.frontier_0,
    }
    # the hosted token's price moves with its markup too (section 4.9), where any row's does
    log_markup = _hosting_markup_log(p, mk, uc.rate, rev.frontier_0, t)
    if log_markup is not None:
        market["hosting_token_price_index"] *= np.exp(log_markup)
    # the level rent of a new vintage's contract signed in each year by tenor, and the contract
    # rate of the vintage in service (section 4.6), in one pass
    n_t, n_tenors = tl.n_years, len(CONTRACT_TENORS)
    term = np.minimum(_col(p, "contract_years"), uc.life_it)
    signs = np.empty((tl.n, (n_tenors + 1) * n_t))
    tenors = np.empty_like(signs)
    for i, m in enumerate(CONTRACT_TENORS):
        signs[:, i * n_t : (i + 1) * n_t] = t
        tenors[:, i * n_t : (i + 1) * n_t] = m
    signs[:, n_tenors * n_t :] = start_a
    tenors[:, n_tenors * n_t :] = term
    level = _level_rent(mk, uc, signs, tenors)
    level *= np.exp(tenors * uc.log_term_premium)
    for i, m in enumerate(CONTRACT_TENORS):
        market[f"contract_rate_index_{m}y"] = level[:, i * n_t : (i + 1) * n_t]
    market["contracted_lease_rate_index"] = np.where(
        start_a == tl.b, 1.0, level[:, n_tenors * n_t :]
    )
    return {k: market[k] for k in INDEX_NAMES}


def _cash_flows(
    p: dict[str, FloatArray], *, with_metrics: bool, tables: bool = True
) -> EngineOutput:
    """Annual lines, market indices and (optionally) metrics of every scenario in ``p``.

    With ``tables=False`` (batch metrics) the indices that feed no line are not kept and the
    cumulative FCF is not built: ``market`` and ``lines`` then lack those keys. Every other
    number is the same. Formulas: ``docs/methodology.md`` sections 1-5 and 11; the stages run
    in this order: timeline, capital, unit costs, market, vintages, revenue, operations,
    residual, tax, free cash flow, metrics and financing, market table.
    """
    tl = _timeline(p)
    cap = _capital(p, tl)
    uc = _unit_costs(p)
    mk = _market(p, uc)
    if p["lease_rate_tenor_years"].any():  # a quote of a contract's rent: today's spot from it
        mk = _market(p, uc, _quoted_spot(p, uc, mk))
    curve = _CURVE.get()
    if curve is not None:  # a dated curve (section 4.8)
        mk = _with_curve(p, uc, mk, curve)
    hosted = bool((p["hosting_share"] > 0.0).any())
    vt = _vintages(p, tl, uc, mk, hosted)
    rev = _revenue(p, tl, cap, uc, mk, vt, hosted)
    ops = _operations(p, tl, cap, uc, vt, rev)
    res = _residual(p, tl, cap, uc, mk, vt)
    tx = _tax(p, tl, cap, vt, ops, res)
    refresh: _Refresh | None = None
    if p["refresh_rule"].any() and vt.k_last.any():  # retire and replace when it pays (2.4)
        seg = _segment_flows(p, cap, uc, vt, rev)
        refresh = _refresh_values(p, tl, cap, uc, vt, res, seg, tx.tax > 0.0)
        rows = np.flatnonzero(refresh.dropped.any(axis=1))
        if rows.size == tl.n:
            cap, vt, ops, res, tx, refresh = _decided(
                p, tl, cap, uc, vt, rev, ops, res, tx, seg, refresh
            )
        elif rows.size:  # the rows that drop a vintage alone (rows are independent)
            sub = [
                _take_rows(x, rows, tl.n)
                for x in (p, tl, cap, uc, vt, rev, ops, res, tx, seg, refresh)
            ]
            out = _decided(*sub)  # type: ignore[arg-type]
            # the decided rows go into the stages in place (they are replaced), but for the
            # arrays the inputs and the stages kept hold
            kept = _array_ids(p, tl, uc, mk, rev, seg, refresh)
            cap = _put_rows(cap, rows, out[0], tl.n, kept)
            vt = _put_rows(vt, rows, out[1], tl.n, kept)
            ops = _put_rows(ops, rows, out[2], tl.n, kept)
            res = _put_rows(res, rows, out[3], tl.n, kept)
            tx = _put_rows(tx, rows, out[4], tl.n, kept)
            dropped = np.zeros_like(refresh.dropped)
            dropped[rows] = out[5].dropped
            refresh = dataclasses.replace(refresh, dropped=dropped)
    lines, disc = _free_cash_flow(p, tl, cap, ops, res, tx)
    metrics = _metrics_and_financing(p, tl, cap, res, tx, lines, disc) if with_metrics else {}
    market: dict[str, FloatArray] = {}
    if tables:
        lines["cumulative_fcf"] = finance.cumulative_sum(lines["fcf"])
        # the documented order of the tables
        lines = {k: lines[k] for k in LINE_NAMES}
        market = _market_table(p, tl, uc, mk, vt, rev)
    return EngineOutput(
        years=tl.years,
        lines=lines,
        market=market,
        active=tl.active,
        operating=tl.operating,
        horizon_years=tl.horizon.astype(np.int64),
        metrics=metrics,
        ebit_per_lease_rate=ops.ebit_per_lease_rate,
        discount=disc,
        residual=res.inputs,
        tax_base_shift=tx.base_shift,
        # a dated curve: the breakeven checks every row (section 4.8); a pass without metrics (the
        # breakeven's own) is read for its NPV alone
        rate_bounds=None
        if curve is not None or not with_metrics
        else RateBounds(
            rate=uc.rate,
            floor_idx=uc.floor_idx,
            user_idx=uc.user_idx,
            cap=_col(p, "lease_rate_index_cap"),
            fade_w=mk.fade_w,
            inv_fade=mk.inv_fade,
            x_a=mk.x_a,
            x_b=mk.x_b,
            log_keep_hw=uc.log_keep_hw,
            age_most=uc.life_it,
            reach=tl.h_end + np.maximum(uc.life_it, float(max(CONTRACT_TENORS))) + 1.0,
            # the guess's model also needs hosting revenue independent of the rate: a hosting
            # markup competed down to a multiple of the rent within the horizon (section 4.9) is
            # not, so such rows are checked like a quote that is not spot
            quoted_spot=(_col(p, "lease_rate_tenor_years") == 0.0)
            & ~((_col(p, "hosting_share") > 0.0) & (_col(p, "hosting_entry_lag_years") < tl.h_end)),
        ),
        refresh=refresh,
    )


@dataclass(frozen=True)
class _RentStream:
    """Net rents of IT over its remaining life, per unit of today's lease rate: row 0 the IT in
    service at the horizon, row 1 a new vintage on the same GW bought there (arrays (2, S)).

    ``rent_per_rate`` is the spot rent at the horizon (falling at ``delta`` with age),
    ``contract_rent_per_rate`` the flat contract rent paid on the contracted share for the
    ``term`` years the contract still runs, ``left`` the remaining life (US$ B per year net of
    variable opex, per unit of today's lease rate, or years).
    """

    rent_per_rate: FloatArray
    contract_rent_per_rate: FloatArray
    term: FloatArray
    left: FloatArray


@dataclass(frozen=True)
class _ResidualInputs:
    """What the end-of-horizon market value needs, per scenario (S,), in US$ B.

    ``streams`` holds the rents of the IT in service at the horizon (its spot rent for its age;
    its contract at the frontier rate of its start for what is left of its term) and of a new
    vintage on the same GW bought at the horizon (cost ``cost``, the frontier rent, a full life
    and contract). ``charge`` is the avoidable costs plus the facility's capital charge the IT
    must cover. :meth:`at` gives the residual cash and the gain against book for a lease rate
    (the breakeven search calls it again).
    """

    frac: FloatArray
    cost: FloatArray
    streams: _RentStream
    contracted_share: FloatArray
    charge: FloatArray
    delta: FloatArray
    rho: FloatArray
    nbv_it: FloatArray
    nbv_fac: FloatArray
    tax: FloatArray
    #: Rows whose facility is worth its annuity value and the site's surplus (``facility_residual``
    #: "annuity"; else its book value ``nbv_fac``), its annuity value (S,) and the share of a new
    #: vintage's site surplus credited after the IT in service retires (S,), and whether the
    #: builder owns the site (a facility cost above 0) and so its surplus (section 2.5).
    annuity: BoolArray
    fac_annuity: FloatArray
    surplus_tail: FloatArray
    owns_site: BoolArray
    #: 1 where IT is in service at the horizon, 0 where its last vintage was not bought
    #: (section 2.4); None: held in every row
    held: FloatArray | None = None

    @cached_property
    def _fixed(self) -> dict[str, FloatArray]:
        """Terms that do not depend on the lease rate (the breakeven search reuses them)."""
        aged = self.rho + self.delta
        term, left = self.streams.term, self.streams.left
        # the three psi of (2, S) each in one call (elementwise: the same numbers)
        m = term.shape[0]
        ps = _psi(np.concatenate((aged * term, self.rho * term, self.rho * left)))
        return {
            "aged": aged,
            "rent_at_term": term * ps[:m],
            "charge_at_term": term * ps[m : 2 * m],
            # a taxed buyer pays V = (1 - tax) x PV(rents) + tax x PV(depreciating V over the
            # life left): V = (1 - tax) PV / (1 - tax x psi(rho x left))
            "buyer": (1.0 - self.tax) / (1.0 - self.tax * ps[2 * m :]),
            "log_charge": np.log(np.maximum(self.charge, 1e-300)),
            # delta = 0 (no hardware decline): the rent never falls, the IT runs its whole life
            "inv_delta": 1.0 / np.maximum(self.delta, 1e-12),
        }

    def _reach(self, rent: FloatArray) -> FloatArray:
        """Years until the rent, falling at delta, meets the charge (the IT then idles) or its
        life ends (0 where the rent is already below the charge)."""
        f = self._fixed
        until_idle = (np.log(np.maximum(rent, 1e-300)) - f["log_charge"]) * f["inv_delta"]
        left = _expand(self.streams.left, rent)
        return np.where(rent > self.charge, np.minimum(left, until_idle), 0.0)

    def at(self, lease_rate: FloatArray) -> tuple[FloatArray, FloatArray]:
        """The residual cash and its gain against book at ``lease_rate`` ((S,) or (G, S))."""
        value_it, value_fac = self.parts(lease_rate)
        cash = self.frac * (value_it + value_fac)
        return cash, cash - (self.nbv_it + self.nbv_fac)

    def parts(self, lease_rate: FloatArray) -> tuple[FloatArray, FloatArray]:
        """The IT's and the facility's market value at the horizon at ``lease_rate``, before the
        residual fraction (sections 2.3 and 2.5)."""
        f = self._fixed
        st = self.streams
        rate = lease_rate[None]  # (1, S) or (1, G, S) against the two streams
        rent = _expand(st.rent_per_rate, rate) * rate
        cs = self.contracted_share
        rent_at_term = _expand(f["rent_at_term"], rate)
        charge_at_term = _expand(f["charge_at_term"], rate)
        # spot rents from 0 (the uncontracted share) and from the contract's end (the rest)
        reach = self._reach(rent)  # the same for both starts
        # integral_0^stop of the rent and of the charge terms, stop = max(start, reach): from 0
        # (stop = max(0, reach) is reach, which is >= 0 or NaN) and from the contract's end;
        # the four psi in one call (elementwise: the same numbers)
        stop = np.maximum(_expand(st.term, rate), reach)
        aged, m = f["aged"], reach.shape[0]
        ps = _psi(np.concatenate((aged * reach, self.rho * reach, aged * stop, self.rho * stop)))
        r0, c0 = reach * ps[:m], reach * ps[m : 2 * m]
        r1, c1 = stop * ps[2 * m : 3 * m], stop * ps[3 * m :]
        spot_all = rent * r0 - self.charge * c0
        spot_after = rent * (r1 - rent_at_term) - self.charge * (c1 - charge_at_term)
        contract = (_expand(st.contract_rent_per_rate, rate) * rate - self.charge) * charge_at_term
        value = _expand(f["buyer"], rate) * ((1.0 - cs) * spot_all + cs * (contract + spot_after))
        old, new = value[0], value[1]
        # the value of its rents, but never more than the same rents would cost to create anew:
        # where a new vintage's rents are worth more than its cost, the surplus is the site's
        # (power, permits), not the hardware's (methodology section 2.3)
        # (divided only where new > cost >= 0, where the quotient is below 1: no warning)
        scale = np.empty_like(new)
        scale.fill(1.0)
        np.divide(self.cost, new, out=scale, where=new > self.cost)
        value_it = np.maximum(0.0, old * scale)
        stripped = np.maximum(old, 0.0) - value_it  # what the cap strips (section 2.5)
        if self.held is not None:  # no IT in service where its last vintage was not bought
            value_it = value_it * self.held
            stripped = stripped * self.held
        if not self.annuity.any():  # every row at book (the earlier meaning)
            return value_it, np.broadcast_to(self.nbv_fac, value_it.shape)
        # the site's surplus (section 2.5): what the cap strips from the IT in service, and a
        # new vintage's surplus over the rest of one IT life from the horizon
        site = stripped + self.surplus_tail * np.maximum(new - self.cost, 0.0)
        site = np.where(self.owns_site, site, 0.0)
        return value_it, np.where(self.annuity, self.fac_annuity + site, self.nbv_fac)


def _expand(x: FloatArray, like: FloatArray) -> FloatArray:
    """A (2, S) stream array shaped to broadcast against ``like`` ((2 or 1, [G,] S))."""
    return x if x.ndim == like.ndim else x.reshape(x.shape[0], *([1] * (like.ndim - 2)), -1)


def _full(x: FloatArray, shape: tuple[int, int]) -> FloatArray:
    """``x`` broadcast to ``shape`` (a new array); ``x`` itself when it has that shape."""
    if x.shape == shape:
        return x
    out = np.empty(shape)  # (a copy: np.broadcast_to's Python wrapper costs more for one row)
    out[...] = x
    return out


def _metrics(
    p: dict[str, FloatArray],
    lines: dict[str, FloatArray],
    operating: BoolArray,
    horizon: FloatArray,
) -> dict[str, FloatArray]:
    fcf = lines["fcf"]
    discounted = lines["discounted_fcf"]  # fcf x (1 + wacc) ** -t
    npv = discounted.sum(axis=1)
    irr, n_roots = finance.irr_details(fcf)
    # MIRR at finance = reinvestment rate = wacc, from the flows already discounted at wacc
    mirr = finance.mirr_from_present_values(
        np.where(fcf > 0, discounted, 0.0).sum(axis=1),
        np.where(fcf < 0, discounted, 0.0).sum(axis=1),
        horizon,
        p["wacc"],
    )
    cum_fcf = finance.cumulative_sum(fcf)  # shared by both paybacks on undiscounted flows
    payback = finance.payback_from_cumulative(fcf, cum_fcf)
    payback_operation = _payback_from_operation(fcf, cum_fcf, p["build_years"])
    disc_payback = finance.payback_from_cumulative(discounted, finance.cumulative_sum(discounted))
    opening_nbv = np.concatenate(
        [np.zeros((fcf.shape[0], 1)), lines["net_book_value"][:, :-1]], axis=1
    )
    invested = np.where(operating, opening_nbv, 0.0).sum(axis=1)
    nopat = np.where(operating, lines["nopat"], 0.0).sum(axis=1)
    reaction = p["shares_outstanding_b"] * p["share_price_usd"] * p["market_reaction_excess_return"]
    n_op = np.maximum(operating.sum(axis=1), 1)
    revenue_total = lines["revenue"].sum(axis=1)
    # (one errstate for the ratios: an inf or NaN ratio is cleaned below)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        roic = np.where(invested > 0, nopat / invested, np.nan)
        gross_yield = (
            p["lease_rate_busd_per_gw_year"] * p["lease_utilization"] / p["capex_per_gw_busd"]
        )
        npv_to_reaction = npv / reaction  # inf or NaN where there was no reaction: cleaned below
        ebitda_margin = np.empty(fcf.shape[0])  # (NaN where there is no revenue)
        ebitda_margin.fill(np.nan)
        np.divide(
            lines["ebitda"].sum(axis=1), revenue_total, out=ebitda_margin, where=revenue_total > 0
        )
    metrics = {
        "npv_busd": npv,
        "irr": irr,
        "irr_root_count": n_roots.astype(np.float64),
        "mirr": mirr,
        "payback_years": payback,
        "payback_from_operation_years": payback_operation,
        "discounted_payback_years": disc_payback,
        "roic": roic,
        "gross_lease_yield": gross_yield,
        "npv_per_share_usd": npv / p["shares_outstanding_b"],
        "capex_initial_busd": p["gw_built"] * p["capex_per_gw_busd"],
        "capex_lifetime_busd": lines["capex"].sum(axis=1),
        "revenue_total_busd": revenue_total,
        "ebitda_margin": ebitda_margin,
        "average_revenue_busd_per_year": revenue_total / n_op,
        "market_reaction_busd": reaction,
        "npv_to_market_reaction": npv_to_reaction,
    }
    # every metric is finite or NaN (undefined): a ratio over a subnormal denominator (a revenue
    # or a market reaction of 1e-310) overflows to inf and means nothing
    # one test for every metric (np.concatenate: np.stack's Python wrapper costs more here)
    finite = np.isfinite(np.concatenate(list(metrics.values()))).reshape(len(metrics), fcf.shape[0])
    if not finite.all():
        for i, (key, value) in enumerate(metrics.items()):
            if not finite[i].all():
                metrics[key] = np.where(finite[i], value, np.nan)
    return metrics


def payback_from_operation(fcf: FloatArray, build_years: FloatArray) -> FloatArray:
    """Years from the start of operation to the first time cumulative FCF is non-negative.

    Notes
    -----
    Year t's flow sits at ``t`` on the discounting axis (its year end), so operation starts at
    ``B - 1`` on it (the end of the last build year). With ``j`` the first year whose cumulative
    FCF ``C_j >= 0``, the crossing is ``j - 1 + (-C_{j-1}) / fcf_j`` (linear inside the year) and
    the payback from operation is that less ``B - 1``, floored at 0; NaN if it never comes. Capex
    is included, so this is the cluster payback CoreWeave reports (about 2.5 years), unlike
    :func:`model.finance.payback` (the last crossing, from the first capex year).
    """
    return _payback_from_operation(fcf, finance.cumulative_sum(fcf), build_years)


def _payback_from_operation(
    fcf: FloatArray, cum: FloatArray, build_years: FloatArray
) -> FloatArray:
    """:func:`payback_from_operation` from the cumulative FCF ``cum`` already summed."""
    ok = cum >= 0.0
    found = ok.any(axis=1)
    j = np.argmax(ok, axis=1)
    rows = np.arange(fcf.shape[0])
    prev = np.maximum(j - 1, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(j > 0, -cum[rows, prev] / np.where(j > 0, fcf[rows, j], 1.0), 0.0)
    crossing = np.where(j > 0, prev + _clamp(frac, 0.0, 1.0), 0.0)
    return np.where(found, np.maximum(crossing - (build_years - 1.0), 0.0), np.nan)


#: |NPV| (US$ B) per US$ B of lifetime capex (at least 1) within which a lease rate counts as the
#: breakeven: 1e-9, i.e. US$ 1e-7 B on a US$ 100 B build (the goal seek's is US$ 1e-6 B).
BREAKEVEN_NPV_TOLERANCE = 1e-9
#: Passes of the engine the breakeven's bracketed solve may take after its first check.
BREAKEVEN_MAX_PASSES = 100
#: Steps of the breakeven's solve with one point a row; later steps also probe either side of
#: the estimate (few rows are left then, and a pass costs about the same for 1 or 3 points a row).
BREAKEVEN_PLAIN_STEPS = 8
#: Rates from 0 to :data:`BREAKEVEN_LEASE_MAX` (evenly spaced) the breakeven scans where NPV has
#: one sign at both ends and at the guess: a crossing pair narrower than their spacing
#: (3.75) is missed.
BREAKEVEN_SCAN_POINTS = 17


@dataclass(frozen=True, slots=True)
class RateBounds:
    """The pieces of the market's floor and ceiling that move with the lease rate, (S, 1) each
    (methodology sections 4.2, 4.7 and 5.1): ``floor_idx``, ``user_idx``, ``cap``, ``fade_w``,
    ``inv_fade``, ``x_a``, ``x_b`` and ``log_keep_hw`` as in :class:`_UnitCosts` and
    :class:`_Market` (``user_idx`` not below ``floor_idx``), ``rate`` today's, ``reach`` the
    latest time (years) at which the engine reads the frontier for a line, ``quoted_spot``
    whether the quote is spot."""

    rate: FloatArray
    floor_idx: FloatArray
    user_idx: FloatArray
    cap: FloatArray
    fade_w: FloatArray
    inv_fade: FloatArray
    x_a: FloatArray
    x_b: FloatArray
    log_keep_hw: FloatArray
    age_most: FloatArray
    reach: FloatArray
    quoted_spot: BoolArray


#: How near (in log, i.e. relative) the unbounded frontier may come to a bound for
#: :func:`_bounds_slack` still to call the bound slack: a frontier that touches today's rate as
#: its ceiling (a still market whose premium lasts) moves no line by more than this share.
BOUNDS_MARGIN = 1e-12


def _bounds_slack(rb: RateBounds, rate: FloatArray) -> BoolArray:
    """Per row, whether at lease rate ``rate`` (US$ B per GW-year; (S,), or (S, K) for K rates
    a row, all of which must pass) no bound of the market can
    bind in any line: the unbounded frontier ``exp(x_a + x_b tau)`` over ``tau`` in ``[0,
    reach]``, aged up to ``age_most`` years at the hardware decline, stays above the floor and
    below the least the ceiling can be (to :data:`BOUNDS_MARGIN`), both as they are at that rate (methodology
    section 5.1). Then nothing idles, no contract's annuity meets the floor, every hosted token
    sells and the frontier is the same index at that rate as at today's: each lease-linked line
    is today's times ``rate / rate today``, the breakeven guess's model, exactly.

    A sufficient condition, not a necessary one (the ceiling is read at its lowest over the
    whole reach, the frontier at its extremes), and False where the quote is not spot (its spot
    rent is read through the floor) or a log could reach the engine's clamp."""
    ref = np.maximum(rate if rate.ndim == 2 else rate[:, None], MIN_RATE_REF)
    ref_now = np.maximum(rb.rate, MIN_RATE_REF)
    floor = rb.floor_idx * (ref_now / ref)
    # (the user cost index is not below the floor at today's rate, _unit_costs, so neither at
    # this one: both scale alike)
    user = rb.user_idx * (ref_now / ref)
    # the ceiling u (S / u)^w is never below u (lo / u)^w, lo = max(u, 1) (today's spot rent
    # or the user cost, the scarcity bound's least), with w at its least, at the reach
    fade_least = _clamp(rb.fade_w - rb.reach * rb.inv_fade, 0.0, 1.0)
    lo = np.maximum(user, 1.0)
    ceiling_least = np.minimum(
        user * np.exp(fade_least * (np.log(lo) - np.log(user))), np.maximum(rb.cap, floor)
    )
    end = rb.x_a + rb.x_b * rb.reach
    most = np.maximum(rb.x_a, end)
    least = np.minimum(rb.x_a, end) + rb.log_keep_hw * rb.age_most
    with np.errstate(divide="ignore"):
        ok = (most <= np.log(ceiling_least) + BOUNDS_MARGIN) & (
            least >= np.log(floor) - BOUNDS_MARGIN
        )
    inside_clip = np.abs(rb.x_a) + np.abs(rb.x_b) * rb.reach < LOG_CLIP - 1.0
    ok &= inside_clip & rb.quoted_spot
    return np.asarray(ok.all(axis=1), dtype=np.bool_)


def _refresh_stays(rf: _Refresh, rate_now: FloatArray, rate: FloatArray) -> BoolArray:
    """Whether no refresh decision (section 2.4) switches between today's lease rate and
    ``rate`` (S,): each vintage's value is affine in the rate where no bound binds (the only
    rows the breakeven's guess is kept unchecked for), ``V + (rate / rate_now - 1) x``
    its rate-linked part, so its sign at both ends decides (NaN ``rate``: no)."""
    # (a divisor of at least MIN_RATE_REF and a rate in [0, max] or NaN: nothing to warn of)
    scale = (rate / np.maximum(rate_now, MIN_RATE_REF) - 1.0)[:, None]
    there = rf.value + scale * rf.rate_part()
    same = (there >= 0.0) == (rf.value >= 0.0)
    return np.asarray((same | ~rf.decided).all(axis=1) & np.isfinite(rate))


def _breakeven_lease(p: dict[str, FloatArray], base: EngineOutput) -> FloatArray:
    """Lease rate (US$ B per GW-year) at which NPV = 0 with every bound applied, in [0, max].

    The fast guess :func:`_breakeven_scaled` holds the market's floor, ceiling and idling as
    computed at today's rate; it is exact where they do not move with the rate (a still market
    that stays inside its bounds). Rows where :func:`_bounds_slack` shows that no bound binds at
    today's rate or at the guess keep it as it is. The whole engine checks the others, in one
    batch pass: rows whose NPV there is within :data:`BREAKEVEN_NPV_TOLERANCE` x the build's
    capex of zero keep it (the build's capex no rate moves; it is at most the lifetime capex,
    which moves with the refreshes a rate buys).
    For the others (and rows the guess left without a root) the engine gives NPV at 0 and at
    the maximum; where NPV has one sign at those points and the guess, a scan of
    :data:`BREAKEVEN_SCAN_POINTS` rates and today's looks for a crossing between them (NPV can
    rise and fall with the rate where a bound moves). The crossing nearest today's rate (the
    goal seek's rule) is then solved by the Illinois variant of regula falsi on the engine, all
    unsolved rows in one pass a step (a few rows: with a probe either side of each estimate).
    NaN where no rate in ``[0, BREAKEVEN_LEASE_MAX]`` gives NPV = 0 (NPV keeps one sign, or
    jumps across zero). Methodology section 5.
    """
    n = p["gw_built"].shape[0]
    guess, converged = _breakeven_scaled(p, base)
    rate_now = p["lease_rate_busd_per_gw_year"]
    # where no bound of the market binds at today's rate or at the guess, the guess's model is
    # the engine's: the guess is the root, with no check pass (methodology section 5.1)
    if base.rate_bounds is not None:
        finite = np.isfinite(guess)
        sure = converged & finite
        # today's rate and the guess (today's where there is none), in one pass
        both = np.concatenate(
            (rate_now[:, None], np.where(finite, guess, rate_now)[:, None]), axis=1
        )
        sure &= _bounds_slack(base.rate_bounds, both)
        if base.refresh is not None:
            sure &= _refresh_stays(base.refresh, rate_now, guess)
        if sure.all():  # every row's guess is its root (a still market inside its bounds)
            return guess
    # the tolerance on the build's capex, which no rate changes (lifetime capex moves with the
    # refreshes a rate buys, section 2.4); at most the lifetime capex at any rate
    n_years = base.lines["capex"].shape[1]
    building = np.arange(n_years)[None, :] < p["build_years"][:, None]
    build_capex = np.abs(np.where(building, base.lines["capex"], 0.0)).sum(axis=1)
    tol = BREAKEVEN_NPV_TOLERANCE * np.maximum(1.0, build_capex)
    x = np.full(n, np.nan)
    if base.rate_bounds is not None:
        x[sure] = guess[sure]
        guess = np.where(sure, np.nan, guess)
        left = ~sure
    else:
        left = np.ones(n, dtype=bool)
    has = np.flatnonzero(np.isfinite(guess))
    lacks = np.flatnonzero(~np.isfinite(guess) & left)
    top = BREAKEVEN_LEASE_MAX
    # one pass: NPV at the guess where there is one, at both ends where there is none
    f = _npv_at_lease_rates(
        p,
        np.concatenate([has, lacks, lacks]),
        np.concatenate([guess[has], np.zeros(lacks.size), np.full(lacks.size, top)]),
    )
    f_guess, f_low, f_high = np.split(f, [has.size, has.size + lacks.size])
    hit = np.abs(f_guess) <= tol[has]
    x[has[hit]] = guess[has[hit]]
    missed, f_missed = has[~hit], f_guess[~hit]
    if missed.size == 0 and lacks.size == 0:  # (a still market inside its bounds)
        return x
    # the ends of the rows whose guess missed, in one more pass where there are any
    ends = _npv_at_lease_rates(
        p,
        np.concatenate([missed, missed]),
        np.concatenate([np.zeros(missed.size), np.full(missed.size, top)]),
    )
    m_low, m_high = np.split(ends, [missed.size])
    # every unsolved row's points so far: 0, the guess (or the top again), today's rate (NPV
    # as computed), the top; in order
    rows = np.concatenate([missed, lacks])
    npv_now = base.metrics.get("npv_busd")
    pts = np.vstack(
        [
            np.zeros(rows.size),
            np.concatenate([guess[missed], np.full(lacks.size, top)]),
            rate_now[rows] if npv_now is not None else np.full(rows.size, top),
            np.full(rows.size, top),
        ]
    )
    fs = np.vstack(
        [
            np.concatenate([m_low, f_low]),
            np.concatenate([f_missed, f_high]),
            npv_now[rows] if npv_now is not None else np.concatenate([m_high, f_high]),
            np.concatenate([m_high, f_high]),
        ]
    )
    order = np.argsort(pts, axis=0, kind="stable")
    pts, fs = np.take_along_axis(pts, order, axis=0), np.take_along_axis(fs, order, axis=0)
    root, lo, hi, f_lo, f_hi = _nearest_crossing(pts, fs, tol[rows], rate_now[rows])
    # one sign everywhere so far: a scan between them
    flat = np.isnan(root) & np.isnan(lo)
    if flat.any():
        scan_rows = rows[flat]
        grid = np.linspace(0.0, top, BREAKEVEN_SCAN_POINTS)
        s_pts = np.sort(
            np.vstack([np.repeat(grid[:, None], scan_rows.size, axis=1), rate_now[scan_rows]]),
            axis=0,
        )
        s_fs = _npv_at_lease_rates(p, np.tile(scan_rows, s_pts.shape[0]), s_pts.ravel())
        found = _nearest_crossing(
            s_pts, s_fs.reshape(s_pts.shape), tol[scan_rows], rate_now[scan_rows]
        )
        for mine, theirs in zip((root, lo, hi, f_lo, f_hi), found, strict=True):
            mine[flat] = theirs
    x[rows] = root
    open_ = ~np.isnan(lo)
    rows, lo, hi, f_lo, f_hi = rows[open_], lo[open_], hi[open_], f_lo[open_], f_hi[open_]
    reach = 0.05 * (hi - lo)  # half-width of the probes either side of each estimate
    kept = np.zeros(rows.size, dtype=np.int64)  # the end kept last time: -1 low, 1 high, 0 none
    for step_no in range(BREAKEVEN_MAX_PASSES):
        if rows.size == 0:
            break
        with np.errstate(divide="ignore", invalid="ignore"):
            est = lo - f_lo * (hi - lo) / (f_hi - f_lo)
        est = np.where(np.isfinite(est) & (est > lo) & (est < hi), est, 0.5 * (lo + hi))
        # after the first steps (the rows left are then few, and a pass costs about the same
        # for 1 or 3 points a row): a probe either side of the estimate, so a close estimate
        # shrinks the bracket to the probes' width
        if step_no >= BREAKEVEN_PLAIN_STEPS:
            trial = np.stack([np.maximum(est - reach, lo), est, np.minimum(est + reach, hi)])
        else:
            trial = est[None, :]
        k = trial.shape[0]
        ft = _npv_at_lease_rates(p, np.tile(rows, k), trial.ravel()).reshape(k, rows.size)
        near = np.abs(ft) <= tol[rows]
        done = near.any(axis=0)
        cols = np.arange(rows.size)
        pick = np.where(near[k // 2], k // 2, np.argmax(near, axis=0))  # the estimate first
        x[rows[done]] = trial[pick, cols][done]
        # the new bracket: the first sign change along lo, the trial points, hi
        pts, fs = np.vstack([lo, trial, hi]), np.vstack([f_lo, ft, f_hi])
        change = np.signbit(fs[:-1]) != np.signbit(fs[1:])
        j = np.argmax(change, axis=0)
        new_lo, new_hi = pts[j, cols], pts[j + 1, cols]
        step = np.abs(est - np.clip(est, new_lo, new_hi))
        new_f_lo, new_f_hi = fs[j, cols], fs[j + 1, cols]
        # Illinois: halve the value at an end kept twice in a row
        now = np.where(j == 0, -1, np.where(j == k, 1, 0))
        new_f_lo = np.where((now == -1) & (kept == -1), 0.5 * new_f_lo, new_f_lo)
        new_f_hi = np.where((now == 1) & (kept == 1), 0.5 * new_f_hi, new_f_hi)
        lo, hi, f_lo, f_hi, kept = new_lo, new_hi, new_f_lo, new_f_hi, now
        reach = np.maximum(np.minimum(0.5 * reach, 0.05 * (hi - lo)), step)
        # a bracket as narrow as floats allow without NPV reaching zero: NPV jumps across it
        stuck = (hi - lo) <= 4.0 * np.finfo(np.float64).eps * np.maximum(1.0, hi)
        go = ~done & ~stuck & change.any(axis=0)
        rows, lo, hi, f_lo, f_hi, reach, kept = (
            rows[go],
            lo[go],
            hi[go],
            f_lo[go],
            f_hi[go],
            reach[go],
            kept[go],
        )
    return x


def _tiled(x: FloatArray, g: int) -> FloatArray:
    """``np.tile(x, g)`` for a 1-D ``x`` (without np.tile's Python wrapper)."""
    out = np.empty((g, x.shape[0]))
    out[...] = x
    return out.reshape(-1)


def _nearest_crossing(
    pts: FloatArray, fs: FloatArray, tol: FloatArray, rate_now: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Per column of ``pts`` (rates in increasing order, (K, R)) and NPV there ``fs``: the
    crossing of zero nearest ``rate_now``, as the goal seek picks it. Returns the root where it
    is a point (|NPV| <= ``tol``), else NaN; and the bracket (low, high rate, NPV at each) where
    it is a sign change, else NaN."""
    k, r = pts.shape
    cols = np.arange(r)
    exact = np.abs(fs) <= tol
    change = (np.signbit(fs[:-1]) != np.signbit(fs[1:])) & ~exact[:-1] & ~exact[1:]
    # distance of each candidate from today's rate (inf where it is none)
    d_exact = np.where(exact, np.abs(pts - rate_now), np.inf)
    d_change = np.where(change, np.abs(0.5 * (pts[:-1] + pts[1:]) - rate_now), np.inf)
    i_exact, i_change = np.argmin(d_exact, axis=0), np.argmin(d_change, axis=0)
    best_exact, best_change = d_exact[i_exact, cols], d_change[i_change, cols]
    is_root = np.isfinite(best_exact) & (best_exact <= best_change)
    is_bracket = np.isfinite(best_change) & ~is_root
    nan = np.full(r, np.nan)
    root = np.where(is_root, pts[i_exact, cols], nan)
    lo = np.where(is_bracket, pts[i_change, cols], nan)
    hi = np.where(is_bracket, pts[np.minimum(i_change + 1, k - 1), cols], nan)
    f_lo = np.where(is_bracket, fs[i_change, cols], nan)
    f_hi = np.where(is_bracket, fs[np.minimum(i_change + 1, k - 1), cols], nan)
    return root, lo, hi, f_lo, f_hi


def _npv_at_lease_rates(
    p: dict[str, FloatArray], rows: NDArray[np.intp], rates: FloatArray
) -> FloatArray:
    """NPV (US$ B) of the scenarios ``rows`` of ``p`` with their lease rate set to ``rates``:
    one pass of the whole engine (bounds, idling, hosting, residual and tax as at that rate)."""
    if rows.size == 0:
        return np.zeros(0)
    q = {k: v[rows] for k, v in p.items()}
    q["lease_rate_busd_per_gw_year"] = np.asarray(rates, dtype=np.float64)
    out = _cash_flows(q, with_metrics=False, tables=False)
    return np.asarray(out.lines["discounted_fcf"].sum(axis=1), dtype=np.float64)


def _breakeven_scaled(p: dict[str, FloatArray], base: EngineOutput) -> tuple[FloatArray, BoolArray]:
    """The fast guess of :func:`_breakeven_lease`, by a bracketing secant on [0, max].

    The rate scales the scenario's whole lease-rate path (frontier, bounds and idling held as
    computed): every operating line is then affine in it, the residual value is rebuilt from
    its closed form and tax from its recursion. NPV is continuous and non-decreasing in the
    rate. One pass evaluates 0, the maximum and a first guess from the affine part (the rate at
    which NPV would reach 0 if neither tax nor the residual's slope changed); the Illinois
    variant of regula falsi then refines the tightest bracket, usually in a step or none. NaN where nothing is leased
    or resold or where no root lies in ``[0, BREAKEVEN_LEASE_MAX]``. Also returns, per row,
    whether the refinement converged (NPV of the guess's model within 1e-11 x capex of 0).
    """
    n = p["gw_built"].shape[0]
    rate0 = p["lease_rate_busd_per_gw_year"]
    slope_ebit = base.ebit_per_lease_rate
    ebitda0, ebit0 = base.lines["ebitda"], base.lines["ebit"]
    other = -base.lines["capex"]
    resid = base.residual
    assert resid is not None
    last = base.years[None, :] == (base.horizon_years - 1)[:, None]
    disc = (
        base.discount
        if base.discount is not None
        else finance.discount_factors(p["wacc"], ebit0.shape[1])
    )
    tax_rate = p["tax_rate"]

    n_t = ebit0.shape[1]
    tax_tiled: dict[int, tuple[FloatArray, FloatArray, FloatArray]] = {}

    def npv_at(x: FloatArray) -> FloatArray:
        """NPV at lease rates ``x`` of shape (G, S): G trial rates for every scenario."""
        g = x.shape[0]
        shift = (x - rate0)[:, :, None] * slope_ebit  # (G, S, T)
        cash, gain = resid.at(x)
        taxable = ebit0 + shift + np.where(last, gain[:, :, None], 0.0)
        if base.tax_base_shift is not None:
            taxable = taxable + base.tax_base_shift  # tax depreciation vs book (section 11.2)
        flat = taxable.reshape(g * n, n_t)
        if g not in tax_tiled:
            tax_tiled[g] = (
                _tiled(tax_rate, g),
                _tiled(p["tax_in_group"], g),
                _tiled(p["nol_offset_limit_share"], g),
            )
        rate_g, group_g, nol_g = tax_tiled[g]
        tax = cash_tax(flat, rate_g, in_group=group_g, nol_limit=nol_g).reshape(g, n, n_t)
        flows = ebitda0 + shift - tax + other + np.where(last, cash[:, :, None], 0.0)
        return np.asarray((flows * disc).sum(axis=2), dtype=np.float64)

    exposed = (slope_ebit > 0).any(axis=1)
    # a first guess from the affine part: NPV(rate0) less the slope of after-tax NPV
    slope = (slope_ebit * disc).sum(axis=1) * (1.0 - tax_rate)
    # plus the residual's after-tax slope (its market value moves with the rents), one unit up
    pair = np.empty((2, n))
    pair[0] = rate0 + 1.0
    pair[1] = rate0
    up_here, _ = resid.at(pair)  # one call for both rates
    disc_last = np.where(last, disc, 0.0).sum(axis=1)
    slope = slope + (up_here[0] - up_here[1]) * (1.0 - tax_rate) * disc_last
    npv0 = base.metrics["npv_busd"] if "npv_busd" in base.metrics else npv_at(rate0[None, :])[0]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        guess = np.where(slope > 0, rate0 - npv0 / np.where(slope > 0, slope, 1.0), 0.0)
    guess = np.where(np.isfinite(guess), guess, 0.0)
    guess = _clamp(guess, 0.0, BREAKEVEN_LEASE_MAX)
    trial = np.empty((3, n))
    trial[0] = 0.0
    trial[1] = guess
    trial[2] = BREAKEVEN_LEASE_MAX
    f = npv_at(trial)
    ok = exposed & (f[0] <= 0) & (f[2] >= 0)
    scale = np.maximum(1.0, np.abs(base.lines["capex"]).sum(axis=1))
    done = np.abs(f[1]) <= 1e-11 * scale
    if (done | ~ok).all():  # the first guess is every row's root (or it has none)
        return np.where(ok, guess, np.nan), np.asarray(ok & done, dtype=np.bool_)
    # the tightest bracket among the trial points: a with NPV <= 0, b with NPV >= 0
    below = f[1] <= 0
    a, fa = np.where(below, trial[1], trial[0]), np.where(below, f[1], f[0])
    b, fb = np.where(below, trial[2], trial[1]), np.where(below, f[2], f[1])
    side = np.zeros(n)
    x = np.where(done, guess, a)
    for _ in range(100):
        if (done | ~ok).all():
            break
        denom = fb - fa
        step = np.where(
            denom != 0, a - fa * (b - a) / np.where(denom != 0, denom, 1.0), 0.5 * (a + b)
        )
        x = np.where(done, x, step)
        fx = npv_at(x[None, :])[0]
        done = done | (np.abs(fx) <= 1e-11 * scale)
        keep_b = np.sign(fx) == np.sign(fa)  # root lies in [x, b]
        # Illinois: halve the value at the end kept twice in a row
        fb = np.where(keep_b & (side == 1), fb / 2.0, fb)
        fa = np.where(~keep_b & (side == -1), fa / 2.0, fa)
        a, fa = np.where(keep_b, x, a), np.where(keep_b, fx, fa)
        b, fb = np.where(keep_b, b, x), np.where(keep_b, fb, fx)
        side = np.where(keep_b, 1.0, -1.0)
    return np.where(ok, x, np.nan), np.asarray(ok & done, dtype=np.bool_)
