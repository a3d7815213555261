"""The vectorised cash-flow engine: every scenario of a batch at once, one row each.

Inputs are 1-D arrays (one value per scenario) for every field of :class:`model.Scenario`;
outputs are 2-D arrays of shape (scenarios, years) for the annual lines and 1-D arrays for the
metrics. Loops run over years or asset vintages, never over scenarios. Formulas and conventions
are in ``docs/methodology.md``; names carry their units (``_busd`` = US$ billions).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from model import finance
from model.fields import FIELD_NAMES

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

HOURS_PER_YEAR = 8760.0
SECONDS_PER_YEAR = HOURS_PER_YEAR * 3600.0
MWH_PER_GW_HOUR = 1000.0
USD_PER_BUSD = 1e9
TOKENS_PER_M = 1e6
#: Upper end of the breakeven lease-rate search, US$ B per GW-year (the field's upper bound).
BREAKEVEN_LEASE_MAX = 60.0

#: Annual lines, in the order of ``Result.cash_flows`` (all US$ B except ``year``).
LINE_NAMES: tuple[str, ...] = (
    "revenue_lease",
    "revenue_hosting",
    "revenue_resale",
    "revenue",
    "power_cost",
    "other_opex",
    "variable_opex",
    "procurement_cost",
    "ebitda",
    "depreciation",
    "ebit",
    "tax",
    "nopat",
    "capex",
    "capex_refresh",
    "residual_value",
    "fcf",
    "cumulative_fcf",
    "discounted_fcf",
    "net_book_value",
)
#: Per-year market indices, in the order of ``Result.market`` (dimensionless, 1 = today).
INDEX_NAMES: tuple[str, ...] = (
    "token_price_index",
    "token_volume_index",
    "compute_demand_index",
    "industry_capacity_index",
    "lease_rate_index",
    "fleet_lease_rate_index",
    "builder_tokens_per_gpu_index",
    "hosting_volume_factor",
)


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


def _col(params: dict[str, FloatArray], name: str) -> FloatArray:
    return params[name][:, None]


def _refresh_capex(
    cost: FloatArray, life: FloatArray, build: FloatArray, horizon: FloatArray, t: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Like-for-like refresh spend per year (S, T) and the end-of-horizon net book value (S,).

    Vintage k >= 1 enters service at time ``build + k * life`` (years from the start of year 0)
    if that is before the horizon end, and is paid in year ``ceil(time) - 1``: the first year end
    at or after it. Year ``t`` therefore pays for the vintages with ``t < build + k * life <= t + 1``,
    counted in closed form as ``N(t + 1) - N(t)`` with ``N(x) = floor((x - build) / life)`` clipped
    to ``[0, k_last]`` (no loop over vintages).
    """
    n_op = horizon - build
    # vintages in service over the horizon: 0 .. k_last (rounded to guard float noise)
    k_last = np.ceil(np.round(n_op / life, 9)) - 1.0
    # vintages k >= 1 started by the end of each year t (time t + 1), at most k_last
    started = np.clip(
        np.floor(np.round((t + 1.0 - build[:, None]) / life[:, None], 9)), 0.0, k_last[:, None]
    )
    count = started.copy()
    count[:, 1:] -= started[:, :-1]
    spend = cost[:, None] * count
    remaining = (k_last + 1.0) * life - n_op
    nbv_end = cost * np.clip(remaining / life, 0.0, 1.0)
    return spend, nbv_end


def run(params: dict[str, FloatArray], *, with_breakeven: bool = False) -> EngineOutput:
    """Evaluate every scenario in ``params`` (arrays of shape (S,), one per field).

    Parameters
    ----------
    params : dict of str to ndarray
        Every field of :class:`model.Scenario`, already validated, as float64 arrays.
    with_breakeven : bool
        Also solve for the lease rate at which NPV = 0 (a few extra engine passes).
    """
    p = {k: np.asarray(params[k], dtype=np.float64) for k in FIELD_NAMES}
    out = _cash_flows(p, with_metrics=True)
    if with_breakeven:
        out.metrics["breakeven_lease_rate_busd_per_gw_year"] = _breakeven_lease(p, out)
    return out


#: Rows evaluated at once by :func:`run_metrics`: small enough for the temporaries to stay in
#: cache (large fresh arrays cost page faults), large enough to amortise numpy call overhead.
CHUNK_ROWS = 8192


def run_metrics(
    params: dict[str, FloatArray], *, with_breakeven: bool = False
) -> dict[str, FloatArray]:
    """Per-scenario metrics only, evaluated in row chunks of :data:`CHUNK_ROWS`.

    Same numbers as :func:`run` (each row is independent); annual tables are not kept.
    """
    p = {k: np.asarray(params[k], dtype=np.float64) for k in FIELD_NAMES}
    n = p["gw_built"].shape[0]
    parts: list[dict[str, FloatArray]] = []
    for start in range(0, n, CHUNK_ROWS):
        q = {k: v[start : start + CHUNK_ROWS] for k, v in p.items()}
        out = _cash_flows(q, with_metrics=True, tables=False)
        if with_breakeven:
            out.metrics["breakeven_lease_rate_busd_per_gw_year"] = _breakeven_lease(q, out)
        parts.append(out.metrics)
    if not parts:
        return {}
    return {k: np.concatenate([part[k] for part in parts]) for k in parts[0]}


def _cash_flows(
    p: dict[str, FloatArray], *, with_metrics: bool, tables: bool = True
) -> EngineOutput:
    """Annual lines, market indices and (optionally) metrics of every scenario in ``p``.

    With ``tables=False`` (batch metrics) the indices that feed no line (token volume, compute
    demand, industry capacity) and the cumulative FCF are not built: ``market`` and ``lines``
    then lack those keys. Every other number is the same.
    """
    n = p["gw_built"].shape[0]
    build = p["build_years"]
    horizon = build + p["operating_years"]
    n_years = int(np.max(horizon, initial=1.0))
    years = np.arange(n_years)
    t = years.astype(np.float64)[None, :]
    b = build[:, None]
    active = t < horizon[:, None]
    operating = (t >= b) & active
    op = operating.astype(np.float64)

    # ---- capital --------------------------------------------------------------------------
    gw = _col(p, "gw_built")
    capex_total = p["gw_built"] * p["capex_per_gw_busd"]
    cost_it = capex_total * p["it_share_of_capex"]
    cost_fac = capex_total - cost_it
    build_spend = np.where(t < b, (capex_total / build)[:, None], 0.0)
    refresh_it, nbv_it = _refresh_capex(cost_it, p["it_life_years"], build, horizon, t)
    refresh_fac, nbv_fac = _refresh_capex(cost_fac, p["facility_life_years"], build, horizon, t)
    capex_refresh = refresh_it + refresh_fac
    capex = build_spend + capex_refresh
    depreciation = (
        op * (cost_it / p["it_life_years"] + cost_fac / p["facility_life_years"])[:, None]
    )
    last_year = (t == (horizon - 1.0)[:, None]).astype(np.float64)
    residual = last_year * (p["residual_value_fraction"] * (nbv_it + nbv_fac))[:, None]

    # ---- market indices (calendar years from year 0 = today), built in logs for speed -------
    log_k_builder = np.log(_col(p, "efficiency_multiplier"))
    log_k_industry = log_k_builder * _col(p, "efficiency_diffusion")
    log_keep = np.log1p(-_col(p, "token_price_decline_per_year"))  # log of price kept each year
    log_price = -_col(p, "price_pass_through") * log_k_industry + log_keep * t
    log_volume = (
        -_col(p, "demand_elasticity") * log_price
        + np.log1p(_col(p, "token_demand_growth_per_year")) * t
    )
    log_industry_tokens_per_gpu = log_k_industry - log_keep * t
    log_demand = log_volume - log_industry_tokens_per_gpu
    log_capacity = np.log1p(_col(p, "industry_capacity_growth_per_year")) * t
    # spot rates follow demand / capacity up to the ceiling where new capacity enters
    log_lease = np.minimum(log_demand - log_capacity, np.log(_col(p, "lease_rate_index_cap")))
    # the installed IT vintage falls behind the frontier until it is refreshed
    life_it = _col(p, "it_life_years")
    since_start = np.maximum(t - b, 0.0)
    age = since_start - life_it * np.floor(np.round(since_start / life_it, 9))
    vintage_time = t - age
    price_idx = np.exp(log_price)
    lease_idx = np.exp(log_lease)
    fleet_idx = np.exp(log_lease + log_keep * age)
    builder_tokens_idx = np.exp(log_k_builder - log_keep * vintage_time)
    hosting_volume_factor = np.minimum(1.0, lease_idx)

    # ---- revenue ------------------------------------------------------------------------------
    tau = t - b  # operating year index
    contracted = (tau < _col(p, "contract_years")) * _col(p, "contracted_share")
    # billed share x price index of leased capacity: lease revenue per GW = rate x this
    price_mix = contracted + (1.0 - contracted) * fleet_idx
    lease_factor = _col(p, "lease_utilization") * price_mix
    lease_per_gw = _col(p, "lease_rate_busd_per_gw_year") * _col(p, "lease_utilization") * price_mix
    # revenue per unit of lease rate (US$ B per (US$ B per GW-year)): every lease-linked line is
    # proportional to it, which makes the breakeven lease rate cheap to solve (also at rate 0)
    lease_exposure = op * (gw * _col(p, "lease_share") + _col(p, "procured_gw")) * lease_factor
    revenue_lease = op * gw * _col(p, "lease_share") * lease_per_gw
    revenue_resale = op * _col(p, "procured_gw") * lease_per_gw
    gpus_hosting = gw * _col(p, "hosting_share") / _col(p, "pue") * _col(p, "gpus_per_gw")
    tokens_m = (
        gpus_hosting
        * _col(p, "tokens_per_sec_per_gpu")
        * builder_tokens_idx
        * SECONDS_PER_YEAR
        * _col(p, "hosting_utilization")
        * hosting_volume_factor
        / TOKENS_PER_M
    )
    revenue_hosting = (
        op * tokens_m * _col(p, "hosting_price_usd_per_m_tokens") * price_idx / USD_PER_BUSD
    )
    revenue = revenue_lease + revenue_hosting + revenue_resale

    # ---- operating costs -----------------------------------------------------------------
    power_cost = (
        op
        * gw
        * (
            HOURS_PER_YEAR
            * MWH_PER_GW_HOUR
            * _col(p, "power_load_factor")
            * _col(p, "power_price_usd_per_mwh")
            / USD_PER_BUSD
        )
    )
    other_opex = op * gw * _col(p, "other_opex_busd_per_gw_year")
    variable_opex = revenue * _col(p, "variable_opex_share_of_revenue")
    procurement_cost = op * _col(p, "procured_gw") * _col(p, "procurement_cost_busd_per_gw_year")
    ebitda = revenue - power_cost - other_opex - variable_opex - procurement_cost
    ebit = ebitda - depreciation
    ebit_per_lease_rate = lease_exposure * (1.0 - _col(p, "variable_opex_share_of_revenue"))

    tax = _tax_with_carryforward(ebit, p["tax_rate"])
    nopat = ebit - tax

    fcf = ebitda - tax - capex + residual
    disc = finance.discount_factors(p["wacc"], n_years)
    discounted = fcf * disc
    net_book_value = np.cumsum(capex - depreciation, axis=1)

    lines = {
        "revenue_lease": revenue_lease,
        "revenue_hosting": revenue_hosting,
        "revenue_resale": revenue_resale,
        "revenue": revenue,
        "power_cost": power_cost,
        "other_opex": other_opex,
        "variable_opex": variable_opex,
        "procurement_cost": procurement_cost,
        "ebitda": ebitda,
        "depreciation": depreciation,
        "ebit": ebit,
        "tax": tax,
        "nopat": nopat,
        "capex": capex,
        "capex_refresh": capex_refresh,
        "residual_value": residual,
        "fcf": fcf,
        "discounted_fcf": discounted,
        "net_book_value": net_book_value,
    }
    shape = (n, n_years)
    market = {
        "token_price_index": _full(price_idx, shape),
        "lease_rate_index": _full(lease_idx, shape),
        "fleet_lease_rate_index": _full(fleet_idx, shape),
        "builder_tokens_per_gpu_index": _full(builder_tokens_idx, shape),
        "hosting_volume_factor": _full(hosting_volume_factor, shape),
    }
    if tables:
        lines["cumulative_fcf"] = np.cumsum(fcf, axis=1)
        market["token_volume_index"] = _full(np.exp(log_volume), shape)
        market["compute_demand_index"] = _full(np.exp(log_demand), shape)
        market["industry_capacity_index"] = _full(np.exp(log_capacity), shape)
        # the documented order of the tables
        lines = {k: lines[k] for k in LINE_NAMES}
        market = {k: market[k] for k in INDEX_NAMES}
    metrics = _metrics(p, lines, operating, horizon) if with_metrics else {}
    return EngineOutput(
        years=years,
        lines=lines,
        market=market,
        active=active,
        operating=operating,
        horizon_years=horizon.astype(np.int64),
        metrics=metrics,
        ebit_per_lease_rate=ebit_per_lease_rate,
        discount=disc,
    )


def _full(x: FloatArray, shape: tuple[int, int]) -> FloatArray:
    """``x`` broadcast to ``shape`` (a read-only view); ``x`` itself when it has that shape."""
    return x if x.shape == shape else np.broadcast_to(x, shape)


def _metrics(
    p: dict[str, FloatArray],
    lines: dict[str, FloatArray],
    operating: BoolArray,
    horizon: FloatArray,
) -> dict[str, FloatArray]:
    fcf = lines["fcf"]
    discounted = lines["discounted_fcf"]  # fcf x (1 + wacc) ** -t
    npv = np.sum(discounted, axis=1)
    irr, n_roots = finance.irr_details(fcf)
    # MIRR at finance = reinvestment rate = wacc, from the flows already discounted at wacc
    mirr = finance.mirr_from_present_values(
        np.sum(np.where(fcf > 0, discounted, 0.0), axis=1),
        np.sum(np.where(fcf < 0, discounted, 0.0), axis=1),
        horizon,
        p["wacc"],
    )
    payback = np.asarray(finance.payback(fcf))
    disc_payback = np.asarray(finance.payback(discounted))
    opening_nbv = np.concatenate(
        [np.zeros((fcf.shape[0], 1)), lines["net_book_value"][:, :-1]], axis=1
    )
    invested = np.sum(np.where(operating, opening_nbv, 0.0), axis=1)
    nopat = np.sum(np.where(operating, lines["nopat"], 0.0), axis=1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        roic = np.where(invested > 0, nopat / invested, np.nan)
        gross_yield = (
            p["lease_rate_busd_per_gw_year"] * p["lease_utilization"] / p["capex_per_gw_busd"]
        )
    reaction = p["shares_outstanding_b"] * p["share_price_usd"] * p["market_reaction_excess_return"]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        npv_to_reaction = npv / reaction  # inf or NaN where there was no reaction: cleaned below
    n_op = np.maximum(np.sum(operating, axis=1), 1)
    revenue_total = np.sum(lines["revenue"], axis=1)
    with np.errstate(over="ignore"):
        ebitda_margin = np.divide(
            np.sum(lines["ebitda"], axis=1),
            revenue_total,
            out=np.full(fcf.shape[0], np.nan),
            where=revenue_total > 0,
        )
    metrics = {
        "npv_busd": npv,
        "irr": irr,
        "irr_root_count": n_roots.astype(np.float64),
        "mirr": mirr,
        "payback_years": payback,
        "discounted_payback_years": disc_payback,
        "roic": roic,
        "gross_lease_yield": gross_yield,
        "npv_per_share_usd": npv / p["shares_outstanding_b"],
        "capex_initial_busd": p["gw_built"] * p["capex_per_gw_busd"],
        "capex_lifetime_busd": np.sum(lines["capex"], axis=1),
        "revenue_total_busd": revenue_total,
        "ebitda_margin": ebitda_margin,
        "average_revenue_busd_per_year": revenue_total / n_op,
        "market_reaction_busd": reaction,
        "npv_to_market_reaction": npv_to_reaction,
    }
    # every metric is finite or NaN (undefined): a ratio over a subnormal denominator (a revenue
    # or a market reaction of 1e-310) overflows to inf and means nothing
    for key, value in metrics.items():
        if not np.isfinite(value).all():
            metrics[key] = np.where(np.isfinite(value), value, np.nan)
    return metrics


def _tax_with_carryforward(ebit: FloatArray, rate: FloatArray) -> FloatArray:
    """Cash tax per year: ``rate`` x positive EBIT after using losses carried forward.

    With unlimited carryforward (no carryback), cumulative taxable income to year t equals the
    running maximum of cumulative EBIT, floored at zero: ``X_t = max(0, max_{s<=t} C_s)``. Tax is
    paid on its increments, so no loop over years is needed.
    """
    cumulative = np.cumsum(ebit, axis=1)
    taxed = np.maximum(np.maximum.accumulate(cumulative, axis=1), 0.0)
    increments = taxed.copy()
    increments[:, 1:] -= taxed[:, :-1]
    return np.asarray(rate[:, None] * increments, dtype=np.float64)


def _breakeven_lease(p: dict[str, FloatArray], base: EngineOutput) -> FloatArray:
    """Lease rate (US$ B per GW-year) at which NPV = 0, by a bracketing secant on [0, max].

    Every line but tax is affine in the lease rate, so one extra engine pass at ``rate + 1``
    gives the slopes; NPV(x) is then rebuilt cheaply with the tax recursion. NPV is continuous,
    non-decreasing and piecewise linear in the rate (tax is the only kink), so the Illinois
    variant of regula falsi converges in a few steps. NaN where nothing is leased or resold or
    where no root lies in ``[0, BREAKEVEN_LEASE_MAX]``.
    """
    n = p["gw_built"].shape[0]
    rate0 = p["lease_rate_busd_per_gw_year"]
    slope_ebit = base.ebit_per_lease_rate
    ebitda0, ebit0 = base.lines["ebitda"], base.lines["ebit"]
    other = -base.lines["capex"] + base.lines["residual_value"]
    disc = (
        base.discount
        if base.discount is not None
        else finance.discount_factors(p["wacc"], ebit0.shape[1])
    )
    tax_rate = p["tax_rate"]

    def npv_at(x: FloatArray) -> FloatArray:
        shift = (x - rate0)[:, None] * slope_ebit
        tax = _tax_with_carryforward(ebit0 + shift, tax_rate)
        return np.asarray(np.sum((ebitda0 + shift - tax + other) * disc, axis=1), dtype=np.float64)

    exposed = np.any(slope_ebit > 0, axis=1)
    a = np.zeros(n)
    b = np.full(n, BREAKEVEN_LEASE_MAX)
    fa, fb = npv_at(a), npv_at(b)
    ok = exposed & (fa <= 0) & (fb >= 0)
    scale = np.maximum(1.0, np.abs(base.lines["capex"]).sum(axis=1))
    side = np.zeros(n)
    x = a.copy()
    for _ in range(100):
        denom = fb - fa
        x = np.where(denom != 0, a - fa * (b - a) / np.where(denom != 0, denom, 1.0), 0.5 * (a + b))
        fx = npv_at(x)
        if np.all((np.abs(fx) <= 1e-11 * scale) | ~ok):
            break
        keep_b = np.sign(fx) == np.sign(fa)  # root lies in [x, b]
        # Illinois: halve the value at the end kept twice in a row
        fb = np.where(keep_b & (side == 1), fb / 2.0, fb)
        fa = np.where(~keep_b & (side == -1), fa / 2.0, fa)
        a, fa = np.where(keep_b, x, a), np.where(keep_b, fx, fa)
        b, fb = np.where(keep_b, b, x), np.where(keep_b, fb, fx)
        side = np.where(keep_b, 1.0, -1.0)
    return np.where(ok, x, np.nan)
