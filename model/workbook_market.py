"""The market block of the live workbook as spreadsheet formulas (methodology sections 2.3, 4, 13).

Row templates and derived scalars for :mod:`model.workbook`: the user cost of new capacity and the
lease-rate bounds (section 4.2), the frontier rent ``F(tau)`` (section 4.1), the IT vintages of
each year split at the exact switch time with contract and spot billing (section 4.5), hosting
bounded by the market's tokens (section 4.4), the running GW (idle capacity saves its costs) and
the residual at market value (section 2.3). Each formula is the engine's (``model/engine.py``)
written for one scenario; the template syntax is :class:`model.workbook.Row`'s.
"""

from __future__ import annotations

from typing import NamedTuple

from model import data
from model.fields import ENTRANT_PROFILES

#: Tenors (years) of the ``contract_rate_index_<m>y`` indices (``model.engine.CONTRACT_TENORS``).
CONTRACT_TENORS = (1, 3, 5)
#: Seconds per year and tokens per quadrillion / per million, as in the engine.
SECONDS_PER_YEAR = 31_536_000
M_PER_QUADRILLION = 1_000_000_000


class MarketRow(NamedTuple):
    name: str
    label: str
    template: str
    kind: str  # "index", "busd", "gw", "years", "share" or "count"


def psi(y: str) -> str:
    """``(1 - exp(-y)) / y`` (1 at 0), precise near 0 (a series below |y| = 1e-4)."""
    return f"IF(ABS({y})<1E-4,1-({y})/2+({y})^2/6-({y})^3/24,(1-EXP(-({y})))/({y}))"


def log_x(tau: str) -> str:
    """Log of the frontier rent before its bounds, clipped at +-700 (section 4.1)."""
    return f"MAX(MIN(frontier_log_a+frontier_log_b*({tau}),700),-700)"


def ceiling(tau: str) -> str:
    """The ceiling ``min(u (max(S, u) / u)^w, cap)`` (section 4.7): the scarcity bound
    ``S(tau) = clip(exp(a + delta tau), lo, hi)`` whole while entry lags, then a geometric fade
    to the user cost ``u`` over ``entry_fade_years``."""
    weight = f"MIN(MAX((entry_lag_years+entry_fade_years-({tau}))/entry_fade_years,0),1)"
    bound = (
        f"MIN(MAX(scarcity_log_a+hardware_decline_rate*({tau}),scarcity_log_lo),scarcity_log_hi)"
    )
    return f"MIN(user_cost_index*EXP({weight}*({bound}-log_user_cost)),ceiling_cap_index)"


def hosting_markup_log(tau: str) -> str:
    """Log of the hosted token's markup at ``tau`` relative to today's (section 4.9): the
    competition fade (whole until ``hosting_entry_lag_years``, then over ``entry_fade_years``
    to the competitive markup) plus the builder's edge not yet diffused to the industry."""
    weight = f"MIN(MAX((hosting_entry_lag_years+entry_fade_years-({tau}))/entry_fade_years,0),1)"
    left = f"IF(efficiency_diffusion_years>0,MAX(1-({tau})/efficiency_diffusion_years,0),0)"
    return f"((1-{weight})*hosting_markup_gap_log+{left}*log_k_industry)"


def frontier(tau: str) -> str:
    """``F(tau) = min(max(exp(log X), floor), ceiling(tau))`` (sections 4.2, 4.7)."""
    return f"MIN(MAX(EXP({log_x(tau)}),lease_rate_floor_index_now),{ceiling(tau)})"


def discounted_years(k: str, x: str) -> str:
    """``integral_0^x exp(-k a) da = x psi(k x)`` for ``x >= 0`` and ``k`` of either sign
    (section 4.6)."""
    return f"(({x})*{psi(f'({k})*({x})')})"


def level_parts(
    name: str,
    ref: str,
    sign: str,
    tenor: str,
    f_start: str,
    floor: str = "lease_rate_floor_index_now",
) -> list[tuple[str, str, str]]:
    """The level rent of a ``tenor``-year contract on a new vintage signed at ``sign`` before
    the term premium (section 4.6, ``model.engine._level_rent``), as named parts: the frontier
    at expiry, the vintage's rent growth on the chord, the years above the floor, and the level
    (the last). ``ref`` formats a part's name as a reference (``"{}"`` for a defined name,
    ``"{{{}}}"`` for a row of the year); ``f_start`` is the frontier at signing and ``floor``
    the floor's name (the builder's; the market's when reading a quote)."""
    end, growth, above = (ref.format(f"{name}_{x}") for x in ("end", "growth", "above"))
    rho, m = "ent_log_discount", f"MAX({tenor},1E-9)"
    return [
        (f"{name}_end", frontier(f"({sign})+{m}"), "frontier at expiry"),
        (
            f"{name}_growth",
            f"LN({end}/({f_start}))/{m}+log_keep_hardware",
            "growth of the vintage's rent over the term",
        ),
        (
            f"{name}_above",
            f"IF({growth}<0,MIN(MAX((LN(MAX({floor},1E-300))-LN({f_start}))/{growth},0),{m}),{m})",
            "years of the term above the floor",
        ),
        (
            f"{name}_level",
            f"(({f_start})*{discounted_years(f'{rho}-{growth}', above)}"
            f"+{floor}*({discounted_years(rho, m)}-{discounted_years(rho, above)}))"
            f"/{discounted_years(rho, m)}",
            "level rent before the premium",
        ),
    ]


def _quoted_spot_scalars() -> list[tuple[str, str, str, str]]:
    """Today's spot rent relative to a quote of ``lease_rate_tenor_years`` (section 4.6): the
    level rent on the demand path and the market's floor (the entrant's; no ceiling)."""
    q = "lease_rate_tenor_years"

    def unbounded(tau: str) -> str:
        return (
            f"MAX(EXP(MAX(MIN(frontier_log_a0+frontier_log_b*({tau}),700),-700)),"
            "market_floor_index_now)"
        )

    parts = level_parts("quote", "{}", "0", q, "quote_now", floor="market_floor_index_now")
    parts[0] = ("quote_end", unbounded(q), "frontier at the quote's expiry (no ceiling)")
    return [
        (
            "market_floor_index_now",
            "IF(entrant_profile=0,lease_rate_floor_index_now,ent_avoidable_busd_per_gw_year"
            "*ent_pue/pue/(1-ent_variable_opex_share_of_revenue)"
            "/MAX(lease_rate_busd_per_gw_year,0.001))",
            "index",
            "the market's floor: the entrant's avoidable cost per GW of the builder's facility "
            "power, against today's rate",
        ),
        ("quote_now", unbounded("0"), "index", "frontier today without the ceiling"),
        *((n, f, "index" if n.endswith(("end", "level")) else "per year", w) for n, f, w in parts),
        (
            "quoted_spot",
            f"IF({q}>0,quote_now/(quote_level*EXP({q}*log_term_premium)),1)",
            "index",
            "today's spot rent against the quoted rate",
        ),
    ]


def _entrant_scalars() -> list[tuple[str, str, str, str]]:
    """The marginal entrant's user cost (section 4.2, "The entrant"): the builder's inputs for
    ``entrant_profile`` 0, the sourced profile's (``data/entrant_profiles.csv``) otherwise."""
    profiles = [data.entrant_profiles()[name] for name in ENTRANT_PROFILES[1:]]
    out = []
    for f in data.ENTRANT_COST_FIELDS:
        values = ",".join(repr(float(getattr(r, f))) for r in profiles)
        out.append(
            (
                f"ent_{f}",
                f"CHOOSE(entrant_profile+1,{f},{values})",
                "as the field",
                f"entrant's {f}",
            )
        )
    out[0] = (
        "ent_wacc",
        "IF(OR(entrant_profile=0,entrant_wacc<=0),CHOOSE(entrant_profile+1,wacc,"
        + ",".join(repr(float(r.wacc)) for r in profiles)
        + "),entrant_wacc)",
        "fraction per year",
        "entrant's WACC (entrant_wacc where above 0)",
    )
    facility = ",".join(repr(float(r.facility_capex_busd_per_gw)) for r in profiles)
    rho, life_it, life_fac = "ent_log_discount", "ent_it_life_years", "ent_facility_life_years"
    out += [
        (
            "ent_facility_busd_per_gw",
            f"CHOOSE(entrant_profile+1,facility_busd_per_gw,{facility})",
            "US$ B per GW",
            "entrant's facility capex per GW of its facility power",
        ),
        (
            "ent_it_busd_per_gw",
            "it_busd_per_gw*pue/ent_pue",
            "US$ B per GW",
            "entrant's IT capex per GW of its facility power (the builder's price of compute)",
        ),
        (
            "ent_avoidable_busd_per_gw_year",
            "8760*1000*ent_power_load_factor*ent_power_price_usd_per_mwh/1E9"
            "+ent_other_opex_busd_per_gw_year",
            "US$ B per GW-year",
            "entrant's avoidable costs",
        ),
        ("ent_log_discount", "LN(1+ent_wacc)", "per year", "ln(1 + entrant's WACC)"),
        ("ent_aged_rate", f"{rho}+hardware_decline_rate", "per year", "discount + decline"),
        ("kappa_it", f"1/{psi(f'{rho}*{life_it}')}/{life_it}", "per year", "IT capital recovery"),
        (
            "ent_kappa_facility",
            f"1/{psi(f'{rho}*{life_fac}')}/{life_fac}",
            "per year",
            "facility capital recovery (entrant)",
        ),
        (
            "contract_term_years",
            f"MIN(ent_contract_years,{life_it})",
            "years",
            "entrant's contract term within its IT life",
        ),
        (
            "rent_pv_years",
            f"{life_it}*{psi(f'ent_aged_rate*{life_it}')}+ent_contracted_share"
            "*((1+contract_term_premium)^contract_term_years-1)*contract_term_years*"
            f"{psi('ent_aged_rate*contract_term_years')}",
            "years",
            "present value of an entrant's rent per unit of its starting level (contracts at "
            "the level rent: only the term premium adds)",
        ),
        ("rent_factor", "kappa_it*rent_pv_years", "ratio", "rent factor"),
        (
            "arrears_factor",
            f"1/{psi(f'-{rho}')}",
            "ratio",
            "year-end flows against a continuous flow: ln(1 + r) / r",
        ),
        (
            "build_interest",
            f"{rho}*({psi(f'-{rho}*ent_build_years')}/{psi(f'-{rho}')}-1)",
            "per year",
            "the first build's interest per unit of capex, rho (b - 1)",
        ),
        (
            "user_cost_busd_per_gw_year",
            "((1-tax_rate)*ent_avoidable_busd_per_gw_year*arrears_factor"
            "+ent_it_busd_per_gw*(kappa_it+build_interest-tax_rate*arrears_factor/ent_it_life_years)"
            "+ent_facility_busd_per_gw*(ent_kappa_facility+build_interest"
            "-tax_rate*arrears_factor/ent_facility_life_years))"
            "/((1-ent_variable_opex_share_of_revenue)*(1-tax_rate)*rent_factor*arrears_factor)"
            "*ent_pue/pue/IF(entrant_profile=0,1,MAX(lease_utilization,0.001))",
            "US$ B per GW-year",
            "the marginal entrant's user cost per GW of the builder's facility power",
        ),
    ]
    return out


_USER_COST_INDEX = (
    "MAX(user_cost_busd_per_gw_year/MAX(lease_rate_busd_per_gw_year,0.001),"
    "lease_rate_floor_index_now)"
)

#: name, formula, unit, what: scalars of the ``Derived`` sheet (each a defined name).
MARKET_SCALARS: tuple[tuple[str, str, str, str], ...] = (
    (
        "avoidable_busd_per_gw_year",
        "power_busd_per_gw_year+other_opex_busd_per_gw_year",
        "US$ B per GW-year",
        "costs a GW saves when idle (power and other opex)",
    ),
    ("log_discount", "LN(1+wacc)", "per year", "ln(1 + wacc)"),
    (
        "log_keep_hardware",
        "LN(1-hardware_cost_decline_per_year)",
        "per year",
        "ln of the compute per dollar kept",
    ),
    ("hardware_decline_rate", "-log_keep_hardware", "per year", "continuous hardware decline"),
    ("it_busd_per_gw", "capex_per_gw_busd*it_share_of_capex", "US$ B per GW", "IT capex per GW"),
    (
        "facility_busd_per_gw",
        "capex_per_gw_busd-it_busd_per_gw",
        "US$ B per GW",
        "facility capex per GW",
    ),
    ("aged_rate", "log_discount+hardware_decline_rate", "per year", "discount + decline"),
    (
        "kappa_facility",
        f"1/{psi('log_discount*facility_life_years')}/facility_life_years",
        "per year",
        "capital recovery of the builder's facility (the residual's charge)",
    ),
    *_entrant_scalars(),
    (
        "user_cost_index",
        _USER_COST_INDEX,
        "index",
        "the user cost against today's lease rate, not below the floor",
    ),
    ("log_user_cost", "LN(user_cost_index)", "log", "log of the user cost index"),
    (
        "scarcity_log_a",
        "LN(quoted_spot)+(1-price_pass_through)*log_k_industry",
        "log",
        "scarcity bound before its limits: intercept (section 4.7)",
    ),
    (
        "scarcity_log_lo",
        "LN(MAX(quoted_spot,user_cost_index))",
        "log",
        "scarcity bound: never below today's spot rent or the user cost",
    ),
    (
        "scarcity_log_hi",
        "MAX(LN(scarcity_multiple_max*user_cost_index),scarcity_log_lo)",
        "log",
        "scarcity bound: at most scarcity_multiple_max x the user cost",
    ),
    ("log_term_premium", "LN(1+contract_term_premium)", "per year", "ln(1 + term premium)"),
    (
        "contract_term_m",
        "MIN(contract_years,it_life_years)",
        "years",
        "contract term within the IT life",
    ),
    (
        "ceiling_cap_index",
        "MAX(lease_rate_index_cap,lease_rate_floor_index_now)",
        "index",
        "cap on the ceiling (never below the floor)",
    ),
    ("log_k_builder", "LN(efficiency_multiplier)", "log", "builder's efficiency gain (log)"),
    (
        "frontier_log_a0",
        "demand_a/compute_demand_elasticity",
        "log",
        "frontier rent before bounds: intercept at the quoted rate",
    ),
    *_quoted_spot_scalars(),
    (
        "frontier_log_a",
        "frontier_log_a0+LN(quoted_spot)",
        "log",
        "frontier rent before bounds: intercept (today's spot)",
    ),
    (
        "frontier_log_b",
        "(demand_b-capacity_b)/compute_demand_elasticity-log_keep_hardware",
        "log per year",
        "frontier rent before bounds: slope",
    ),
    ("frontier_now", frontier("0"), "index", "frontier rent index at year 0"),
    (
        "log_floor",
        "LN(MAX(lease_rate_floor_index_now,1E-300))",
        "log",
        "log of the floor index",
    ),
    (
        "host_markup",
        "EXP(log_k_builder+price_a)/frontier_now",
        "ratio",
        "hosted token price per unit of the compute rent (section 4.4)",
    ),
    (
        "hosting_revenue_today_busd_per_gw",
        f"gpus_per_gw/pue*tokens_per_sec_per_gpu*{SECONDS_PER_YEAR}*hosting_utilization/1E6"
        "*(hosting_price_usd_per_m_tokens+input_tokens_per_output_token"
        "*hosting_input_price_usd_per_m_tokens)/1E9",
        "US$ B per GW-year",
        "today's hosting revenue per hosted GW-year (section 4.9)",
    ),
    (
        "hosting_markup_gap_log",
        "IF(AND(hosting_revenue_today_busd_per_gw>0,"
        "1-variable_opex_share_of_revenue-hosting_licence_fee_share>0),"
        "MIN(LN(1-variable_opex_share_of_revenue)"
        "-LN(MAX(1-variable_opex_share_of_revenue-hosting_licence_fee_share,1E-300))"
        "-LN(MAX(hosting_revenue_today_busd_per_gw,1E-300))-(log_k_industry+price_a)"
        "+LN(MAX(lease_rate_busd_per_gw_year,0.001)*frontier_now),0),0)",
        "log",
        "competitive markup over today's, never above 0 (section 4.9)",
    ),
    ("lease_gw", "gw_built*lease_share", "GW", "GW leased"),
    ("host_gw", "gw_built*hosting_share", "GW", "GW hosting"),
    ("internal_gw", "gw_built*MAX(1-lease_share-hosting_share,0)", "GW", "GW for internal use"),
    (
        "hosting_capacity_today_m",
        f"host_gw/pue*gpus_per_gw*tokens_per_sec_per_gpu*{SECONDS_PER_YEAR}"
        "*hosting_utilization/1E6",
        "M output tokens per year",
        "tokens the hosted GW can sell at today's tokens per GPU",
    ),
    (
        "hosting_price_usd_per_m",
        "hosting_price_usd_per_m_tokens+input_tokens_per_output_token"
        "*hosting_input_price_usd_per_m_tokens",
        "US$ per M output tokens",
        "price of an output token with its input tokens",
    ),
    # ---- the residual at market value (section 2.3) ------------------------------------------
    (
        "age_end_years",
        "horizon_years-build_years-last_it_vintage*it_life_years",
        "years",
        "age of the IT in service at the horizon",
    ),
    ("left_end_years", "MAX(it_life_years-age_end_years,0)", "years", "its life left"),
    (
        "net_rent_gw",
        "gw_built*lease_utilization*(1-variable_opex_share_of_revenue)",
        "GW",
        "GW billed, net of variable opex",
    ),
    ("frontier_end", frontier("horizon_years"), "index", "frontier rent at the horizon"),
    # contract rates of the IT in service at the horizon (the first vintage's is the quote) and
    # of a new vintage signed there (section 4.6)
    ("old_start_years", "horizon_years-age_end_years", "years", "start of the IT in service"),
    ("old_start_frontier", frontier("old_start_years"), "index", "frontier at its start"),
    *(
        (n, f, "index", w)
        for n, f, w in level_parts(
            "old_contract", "{}", "old_start_years", "contract_term_m", "old_start_frontier"
        )
    ),
    *(
        (n, f, "index", w)
        for n, f, w in level_parts(
            "new_contract", "{}", "horizon_years", "contract_term_m", "frontier_end"
        )
    ),
    (
        "residual_charge_busd",
        "gw_built*(avoidable_busd_per_gw_year+facility_busd_per_gw*kappa_facility)",
        "US$ B per year",
        "avoidable costs and the facility's capital charge the IT must cover",
    ),
)

#: The two rent streams the residual compares: the IT in service at the horizon (old) and a new
#: vintage bought there (new); name suffix -> (rent per rate, contract rent per rate, term, life).
_STREAMS: dict[str, tuple[str, str, str, str]] = {
    "old": (
        "net_rent_gw*frontier_end*EXP(log_keep_hardware*age_end_years)",
        "net_rent_gw*IF(old_start_years=build_years,1,"
        "old_contract_level*EXP(contract_term_m*log_term_premium))",
        "MIN(MAX(MIN(contract_years,it_life_years)-age_end_years,0),left_end_years)",
        "left_end_years",
    ),
    "new": (
        "net_rent_gw*frontier_end",
        "net_rent_gw*new_contract_level*EXP(contract_term_m*log_term_premium)",
        "MIN(contract_years,it_life_years)",
        "it_life_years",
    ),
}


def _stream_scalars(s: str) -> list[tuple[str, str, str, str]]:
    rent_per_rate, contract_per_rate, term, left = _STREAMS[s]
    what = "IT in service at the horizon" if s == "old" else "a new vintage at the horizon"
    out = [
        (f"rent_{s}_busd", f"{rent_per_rate}*lease_rate_busd_per_gw_year", "US$ B per year", what),
        (f"contract_rent_{s}_per_rate", contract_per_rate, "GW", f"contract rent per rate: {what}"),
        (f"term_{s}_years", term, "years", f"contract term left: {what}"),
        (f"left_{s}_years", left, "years", f"life left: {what}"),
        (
            f"rent_at_term_{s}",
            f"term_{s}_years*{psi(f'aged_rate*term_{s}_years')}",
            "years",
            "rent integral over the term",
        ),
        (
            f"charge_at_term_{s}",
            f"term_{s}_years*{psi(f'log_discount*term_{s}_years')}",
            "years",
            "charge integral over the term",
        ),
        (
            f"buyer_{s}",
            f"(1-tax_rate)/(1-tax_rate*{psi(f'log_discount*left_{s}_years')})",
            "ratio",
            "a taxed buyer's value per pre-tax value",
        ),
        (
            f"reach_{s}_years",
            f"IF(rent_{s}_busd>residual_charge_busd,MIN(left_{s}_years,"
            f"(LN(MAX(rent_{s}_busd,1E-300))-LN(MAX(residual_charge_busd,1E-300)))"
            "/MAX(hardware_decline_rate,1E-12)),0)",
            "years",
            "years until the falling rent meets the charge",
        ),
    ]
    for k, start in (("0", "0"), ("1", f"term_{s}_years")):
        stop = f"MAX({start},reach_{s}_years)"
        out += [
            (f"stop_{s}_{k}", stop, "years", f"end of the spot rents from {start}"),
            (
                f"rent_int_{s}_{k}",
                f"stop_{s}_{k}*{psi(f'aged_rate*stop_{s}_{k}')}",
                "years",
                "rent integral to the stop",
            ),
            (
                f"charge_int_{s}_{k}",
                f"stop_{s}_{k}*{psi(f'log_discount*stop_{s}_{k}')}",
                "years",
                "charge integral to the stop",
            ),
        ]
    out.append(
        (
            f"value_{s}_busd",
            f"buyer_{s}*((1-contracted_share)*(rent_{s}_busd*rent_int_{s}_0"
            f"-residual_charge_busd*charge_int_{s}_0)+contracted_share*("
            f"(contract_rent_{s}_per_rate*lease_rate_busd_per_gw_year-residual_charge_busd)"
            f"*charge_at_term_{s}+rent_{s}_busd*(rent_int_{s}_1-rent_at_term_{s})"
            f"-residual_charge_busd*(charge_int_{s}_1-charge_at_term_{s})))",
            "US$ B",
            f"value of the rents: {what}",
        )
    )
    return out


RESIDUAL_SCALARS: tuple[tuple[str, str, str, str], ...] = (
    *_stream_scalars("old"),
    *_stream_scalars("new"),
    (
        "residual_it_value_busd",
        "MAX(0,value_old_busd*IF(value_new_busd>cost_it_busd,"
        "cost_it_busd/IF(value_new_busd>0,value_new_busd,1),1))",
        "US$ B",
        "IT at market value, capped at the cost of new IT (the surplus is the site's)",
    ),
    # the facility's residual (methodology section 2.5)
    (
        "facility_annuity_busd",
        "cost_facility_busd*(kappa_facility-tax_rate/facility_life_years)*facility_life_left_years"
        f"*{psi('log_discount*facility_life_left_years')}"
        f"/(1-tax_rate*{psi('log_discount*facility_life_left_years')})",
        "US$ B",
        "facility's capital charge over the life it has left, to a taxed buyer",
    ),
    (
        "surplus_tail",
        "EXP(-log_discount*left_end_years)*MAX(it_life_years-left_end_years,0)"
        f"*{psi('log_discount*MAX(it_life_years-left_end_years,0)')}"
        f"/MAX(it_life_years*{psi('log_discount*it_life_years')},1E-300)",
        "ratio",
        "share of a new vintage's site surplus after the IT in service retires, within one IT life",
    ),
    (
        "site_surplus_busd",
        "IF(cost_facility_busd>0,MAX(value_old_busd,0)-residual_it_value_busd"
        "+surplus_tail*MAX(value_new_busd-cost_it_busd,0),0)",
        "US$ B",
        "the site's surplus the IT's cap strips (the IT in service's, then a new vintage's), "
        "if the builder owns the site",
    ),
    (
        "facility_value_busd",
        "IF(facility_residual=1,facility_annuity_busd+site_surplus_busd,nbv_facility_end_busd)",
        "US$ B",
        "facility at the horizon: annuity value + site surplus, or book value (facility_residual)",
    ),
    (
        "residual_value_at_full_fraction_busd",
        "residual_it_value_busd+facility_value_busd",
        "US$ B",
        "residual at a fraction of 100%: IT at market value + the facility's value",
    ),
)


def _segment(s: str, x0: str, x1: str, start: str) -> list[MarketRow]:
    """One segment of a year served by one IT vintage (section 4.5)."""
    runs = f"{{spot_{s}}}>=lease_rate_floor_index_now"
    return [
        MarketRow(f"width_{s}", f"segment {s}: years of the year served", f"{x1}-{x0}", "years"),
        MarketRow(f"mid_{s}", f"segment {s}: midpoint", f"({x0}+{x1})*0.5", "years"),
        MarketRow(
            f"frontier_start_{s}",
            f"segment {s}: frontier at the vintage's start",
            frontier(start),
            "index",
        ),
        *(
            MarketRow(
                n, f"segment {s}: {w}", f, "index" if n.endswith(("end", "level")) else "years"
            )
            for n, f, w in level_parts(
                f"contract_{s}", "{{{}}}", start, "contract_term_m", f"{{frontier_start_{s}}}"
            )
        ),
        MarketRow(
            f"contract_rate_{s}",
            f"segment {s}: the vintage's contract rate (the first: the quote)",
            f"IF({start}=build_years,1,{{contract_{s}_level}}*EXP(contract_term_m*log_term_premium))",
            "index",
        ),
        MarketRow(
            f"in_contract_{s}",
            f"segment {s}: years under contract",
            f"MIN(MAX(MIN({x1},{start}+contract_years)-{x0},0),{{width_{s}}})",
            "years",
        ),
        MarketRow(
            f"spot_{s}",
            f"segment {s}: spot rent of the vintage for its age",
            f"{frontier(f'{{mid_{s}}}')}*EXP(log_keep_hardware*({{mid_{s}}}-{start}))",
            "index",
        ),
        MarketRow(
            f"default_lost_{s}",
            f"segment {s}: years under contract after the buyer's default (expected, or drawn)",
            # section 11.12: w (1 - e^(-lambda a)) at the midpoint a of the contracted years, or
            # the part of them after -ln(1 - u) / lambda years into the contract
            "IF(counterparty_default_quantile>0,IF(AND(counterparty_default_rate_per_year>0,"
            f"counterparty_default_quantile<1),MIN(MAX({x0}+{{in_contract_{s}}}-{start}"
            "+LN(1-counterparty_default_quantile)/counterparty_default_rate_per_year,0),"
            f"{{in_contract_{s}}}),0),{{in_contract_{s}}}*(1-EXP(-counterparty_default_rate_per_year"
            f"*({x0}-{start}+0.5*{{in_contract_{s}}}))))",
            "years",
        ),
        MarketRow(
            f"billed_{s}",
            f"segment {s}: index-years billed (contract + spot, less the default's expected loss)",
            f"contracted_share*{{contract_rate_{s}}}*{{in_contract_{s}}}"
            f"+IF({runs},{{spot_{s}}},0)*({{width_{s}}}-contracted_share*{{in_contract_{s}}})"
            f"-contracted_share*(1-counterparty_recovery_share)*{{default_lost_{s}}}"
            f"*MAX({{contract_rate_{s}}}-IF({runs},{{spot_{s}}},0),0)",
            "index",
        ),
        MarketRow(
            f"idle_{s}",
            f"segment {s}: share-years idle (spot below the floor)",
            f"IF({runs},0,{{width_{s}}}-contracted_share*{{in_contract_{s}}})",
            "years",
        ),
        MarketRow(
            f"sold_share_{s}",
            f"segment {s}: share of hosted tokens the market takes",
            f"EXP(MIN(compute_demand_elasticity*({log_x(f'{{mid_{s}}}')}-log_floor),0))",
            "share",
        ),
        MarketRow(
            f"host_units_{s}",
            f"segment {s}: builder tokens per GPU x sold share",
            f"{{width_{s}}}*{{sold_share_{s}}}*EXP(log_k_builder-log_keep*{{mid_{s}}}"
            f"+hardware_decline_rate*{start})",
            "index",
        ),
        MarketRow(
            f"host_value_{s}",
            f"segment {s}: hosted tokens x their price index",
            f"{{width_{s}}}*{{sold_share_{s}}}*{{spot_{s}}}*host_markup",
            "index",
        ),
        MarketRow(
            f"spot_billed_{s}",
            f"segment {s}: index-years billed all at spot",
            f"IF({runs},{{spot_{s}}},0)*{{width_{s}}}",
            "index",
        ),
        MarketRow(
            f"spot_idle_{s}",
            f"segment {s}: share-years idle all at spot",
            f"IF({runs},0,{{width_{s}}})",
            "years",
        ),
    ]


def _sum(name: str, label: str, kind: str) -> MarketRow:
    return MarketRow(name, label, f"{{{name}_a}}+{{{name}_b}}", kind)


def market_rows() -> list[MarketRow]:
    """Per-year rows of the market block, in sheet order (templates reference earlier rows)."""
    rows = [
        MarketRow(
            "since_start", "years since operation began", "MAX({year}-build_years,0)", "years"
        ),
        MarketRow(
            "vintage_index",
            "IT vintage in service at the year's start",
            "MIN(INT(ROUND({since_start}/it_life_years,9)),last_it_vintage)",
            "years",
        ),
        MarketRow(
            "vintage_start",
            "its start time",
            "{vintage_index}*it_life_years+build_years",
            "years",
        ),
        MarketRow(
            "next_vintage_start",
            "the next vintage's start time",
            "{vintage_start}+it_life_years",
            "years",
        ),
        MarketRow(
            "year_lo",
            "operating part of the year: from",
            "MIN(MAX({year},build_years),horizon_years)",
            "years",
        ),
        MarketRow(
            "year_hi",
            "operating part of the year: to",
            "MIN(MAX({year}+1,build_years),horizon_years)",
            "years",
        ),
        MarketRow(
            "switch_time",
            "time the next vintage takes over (within the year)",
            "MIN(MAX(IF({vintage_index}<last_it_vintage,{next_vintage_start},horizon_years),"
            "{year_lo}),{year_hi})",
            "years",
        ),
        *_segment("a", "{year_lo}", "{switch_time}", "{vintage_start}"),
        *_segment("b", "{switch_time}", "{year_hi}", "{next_vintage_start}"),
        _sum("billed", "index-years billed per leased GW", "index"),
        _sum("idle", "share-years of leased GW idled", "years"),
        _sum("spot_billed", "index-years per GW all at spot", "index"),
        _sum("spot_idle", "share-years idle all at spot", "years"),
        _sum("host_units", "year-weighted builder tokens x sold share", "index"),
        _sum("host_value", "hosted tokens x their price index", "index"),
        MarketRow(
            "hosting_capacity_m",
            "output tokens the hosted GW can sell, M",
            "hosting_capacity_today_m*{host_units}",
            "count",
        ),
        MarketRow("mid_year", "middle of the operating part", "({year_lo}+{year_hi})*0.5", "years"),
        MarketRow(
            "hosting_markup_log",
            "hosted token's markup against today's, log (section 4.9)",
            hosting_markup_log("{mid_year}"),
            "index",
        ),
        MarketRow(
            "market_tokens_m",
            "the market's output and input tokens at the hosted price, M",
            f"market_tokens_quadrillion_per_year*{M_PER_QUADRILLION}*EXP(MAX(MIN(volume_a"
            "+volume_b*{mid_year}-demand_elasticity*(log_keep_hardware*{mid_year}"
            f"+LN({frontier('{mid_year}')}/frontier_now)+{{hosting_markup_log}}),700),-700))"
            "*({year_hi}-{year_lo})",
            "count",
        ),
        MarketRow(
            "hosting_allowed_m",
            "output tokens the share cap allows, M",
            "hosting_market_share_cap*{market_tokens_m}/(1+input_tokens_per_output_token)",
            "count",
        ),
        MarketRow(
            "hosting_capacity_used_share",
            "share of hosting capacity sold",
            "IF({hosting_capacity_m}>0,MIN({hosting_capacity_m},{hosting_allowed_m})"
            "/{hosting_capacity_m},1)",
            "share",
        ),
        MarketRow(
            "spare_hosting_gw",
            "hosted GW left unsold, leased at spot",
            "host_gw*(1-{hosting_capacity_used_share})*IF({year_hi}-{year_lo}>0,1,0)",
            "gw",
        ),
        MarketRow(
            "lease_revenue_before_ramp_busd",
            "lease revenue before the ramp and phasing",
            "lease_rate_busd_per_gw_year*(lease_utilization*(lease_gw*{billed}"
            "+{spare_hosting_gw}*{spot_billed}))",
            "busd",
        ),
        MarketRow(
            "hosting_revenue_before_ramp_busd",
            "hosting revenue before the ramp and phasing",
            "{hosting_capacity_used_share}*hosting_capacity_today_m*{host_value}"
            "*EXP({hosting_markup_log})*hosting_price_usd_per_m/1E9",
            "busd",
        ),
        MarketRow(
            "internal_revenue_at_full_transfer_busd",
            "internal use at a transfer price of 100% of the lease rate, before ramp",
            "lease_rate_busd_per_gw_year*(lease_utilization*internal_gw*{billed})",
            "busd",
        ),
        MarketRow(
            "running_gw",
            "GW running (idle capacity saves its costs)",
            "gw_built*({year_hi}-{year_lo})-lease_gw*{idle}-{spare_hosting_gw}*{spot_idle}"
            "-internal_gw*{idle}",
            "gw",
        ),
        MarketRow(
            "power_cost_before_phasing_busd",
            "power of the running GW",
            "power_busd_per_gw_year*{running_gw}",
            "busd",
        ),
        MarketRow(
            "other_opex_before_phasing_busd",
            "other opex of the running GW",
            "other_opex_busd_per_gw_year*{running_gw}",
            "busd",
        ),
        # contract rates (section 4.6): the vintage in service, and new vintages by tenor
        MarketRow(
            "installed_start_frontier",
            "frontier at the start of the vintage in service",
            frontier("{vintage_start}"),
            "index",
        ),
        *(
            MarketRow(n, f"vintage in service: {w}", f, "index")
            for n, f, w in level_parts(
                "installed",
                "{{{}}}",
                "{vintage_start}",
                "contract_term_m",
                "{installed_start_frontier}",
            )
        ),
        *(
            MarketRow(n, f"{m}-year contract signed in the year: {w}", f, "index")
            for m in CONTRACT_TENORS
            for n, f, w in level_parts(
                f"tenor{m}", "{{{}}}", "{year}", str(m), "{lease_rate_index}"
            )
        ),
    ]
    return rows


def index_rows() -> list[MarketRow]:
    """The model's market indices (``model.engine.INDEX_NAMES``) as formulas, in its order."""
    clip = "EXP(MAX(MIN({0},700),-700))"
    return [
        MarketRow("token_price_index", "token price", "EXP(price_a+log_keep*{year})", "index"),
        MarketRow(
            "token_volume_index", "token volume", clip.format("volume_a+volume_b*{year}"), "index"
        ),
        MarketRow(
            "compute_demand_index",
            "compute demand",
            clip.format("demand_a+demand_b*{year}"),
            "index",
        ),
        MarketRow(
            "industry_capacity_index",
            "industry compute capacity",
            clip.format("capacity_b*{year}"),
            "index",
        ),
        MarketRow("lease_rate_index", "frontier lease rate", frontier("{year}"), "index"),
        MarketRow(
            "lease_rate_ceiling_index",
            "ceiling: the scarcity bound while entry lags, fading to the user cost; capped",
            ceiling("{year}"),
            "index",
        ),
        MarketRow(
            "lease_rate_floor_index",
            "floor: avoidable costs",
            "lease_rate_floor_index_now",
            "index",
        ),
        MarketRow(
            "fleet_lease_rate_index",
            "spot rent of the vintage in service",
            "{lease_rate_index}*EXP(log_keep_hardware*MAX({year}-{vintage_start},0))",
            "index",
        ),
        MarketRow(
            "contracted_lease_rate_index",
            "contract rate of the vintage in service",
            "IF({vintage_start}=build_years,1,"
            "{installed_level}*EXP(contract_term_m*log_term_premium))",
            "index",
        ),
        MarketRow(
            "billed_lease_rate_index",
            "billed lease rate per operating year",
            "IF({year_hi}-{year_lo}>0,{billed}/({year_hi}-{year_lo}),0)",
            "index",
        ),
        MarketRow(
            "builder_tokens_per_gpu_index",
            "builder's tokens per GPU",
            clip.format("log_k_builder-log_keep*{year}+hardware_decline_rate*{vintage_start}"),
            "index",
        ),
        MarketRow(
            "hosting_volume_factor",
            "hosted tokens the market takes at the floor",
            f"EXP(MIN(compute_demand_elasticity*({log_x('{year}')}-log_floor),0))",
            "share",
        ),
        MarketRow(
            "hosting_token_price_index",
            "hosted token price",
            clip.format("price_a+(log_keep+log_keep_hardware)*{year}")
            + "*{lease_rate_index}/frontier_now"
            + f"*EXP({hosting_markup_log('{year}')})",
            "index",
        ),
        *(
            MarketRow(
                f"contract_rate_index_{m}y",
                f"{m}-year contract rate of a new vintage signed in the year",
                f"{{tenor{m}_level}}*EXP({m}*log_term_premium)",
                "index",
            )
            for m in CONTRACT_TENORS
        ),
    ]
