"""The scenario's input fields: label, unit, bounds, step and group, one row each.

Sourced defaults live in ``data/assumptions.csv``; this table holds what the model needs to
validate and what a user interface needs to draw a control. Bounds are the model's domain: every
value inside them evaluates without error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class FieldSpec:
    """Metadata for one scenario input."""

    name: str
    label: str
    unit: str
    low: float
    high: float
    step: float
    group: str
    description: str
    integer: bool = False
    #: Names of a choice field's values: the value ``i`` (a whole number) is ``choices[i]``.
    #: Files, links and ``--set`` accept and write the names; the model computes with the codes.
    choices: tuple[str, ...] = ()

    def range_text(self) -> str:
        """Human-readable allowed range, e.g. ``0.1 to 50 GW of facility power``."""
        if self.choices:
            names = ", ".join(f"{i} or {c!r}" for i, c in enumerate(self.choices))
            return f"one of {names}"
        return f"{_fmt(self.low)} to {_fmt(self.high)} {self.unit}"

    def choice_code(self, value: str) -> int:
        """The code of a choice's name (raises ValueError naming the field and the choices)."""
        try:
            return self.choices.index(value)
        except ValueError:
            raise ValueError(
                f"{self.name} = {value[:40]!r} is not a known choice (allowed: {self.range_text()})"
            ) from None


def _fmt(x: float) -> str:
    return f"{x:,.10g}"


def is_percent_unit(unit: str) -> bool:
    """True for a share or a rate (unit ``fraction ...``): kept as a fraction, shown in percent."""
    return unit.startswith("fraction")


def format_field_value(name: str, value: float) -> str:
    """A field's value as people read it, the one format: ``8.7%`` for a rate or share (the
    model keeps 0.087), ``2x`` for a multiplier, ``4.5`` otherwise (the unit is in the label).

    Examples
    --------
    >>> format_field_value("wacc", 0.087), format_field_value("gw_built", 4.5)
    ('8.7%', '4.5')
    >>> format_field_value("hosting_share", 0.5), format_field_value("efficiency_multiplier", 2)
    ('50%', '2x')

    A choice reads as its name and a yes/no input as what its value means (never a code):

    >>> format_field_value("entrant_profile", 0), format_field_value("macrs_depreciation", 1)
    ('builder', 'MACRS')
    """
    spec = FIELD_SPECS[name]
    code = int(value) if float(value).is_integer() else -1
    if spec.choices and 0 <= code < len(spec.choices):
        return spec.choices[code]
    meanings = flag_meanings(name)
    if meanings is not None and code in (0, 1):
        return meanings[code]
    if is_percent_unit(spec.unit):
        return f"{float(value) * 100:.4g}%"
    if spec.unit.startswith("x "):
        return f"{float(value):,.10g}x"
    return f"{float(value):,.10g}"


_FLAG_UNIT = re.compile(r"^0 \((?P<off>[^()]*(?:\([^()]*\)[^()]*)*)\) or 1 \((?P<on>.*)\)$")


def flag_meanings(name: str) -> tuple[str, str] | None:
    """What off (0) and on (1) mean for a yes/no input, read from its unit; None for others.

    A yes/no input is a whole number from 0 to 1 whose unit says ``0 (...) or 1 (...)``: the
    dashboard shows it as a toggle; links and files keep 0 or 1.

    Examples
    --------
    >>> flag_meanings("macrs_depreciation")
    ('tax follows book straight-line', 'MACRS')
    >>> flag_meanings("gw_built") is None
    True
    """
    spec = FIELD_SPECS[name]
    if not (spec.integer and spec.low == 0 and spec.high == 1):
        return None
    m = _FLAG_UNIT.match(spec.unit)
    return None if m is None else (m.group("off"), m.group("on"))


#: Inputs that take one of a few sourced values (the dashboard shows a select; links and files
#: may hold any value within the bounds, which the select then adds to its options).
FIELD_CHOICES: dict[str, tuple[float, ...]] = {
    # MACRS classes of the facility (IRS Publication 946)
    "facility_tax_class_years": (15, 20, 39),
}


def format_field_range(name: str) -> str:
    """The allowed range as people read it: ``0% to 100%``, ``0.1 to 50 GW of facility power``."""
    spec = FIELD_SPECS[name]
    if is_percent_unit(spec.unit):
        return f"{format_field_value(name, spec.low)} to {format_field_value(name, spec.high)}"
    return spec.range_text()


BUILD = "Build"
MONETISE = "Monetise"
EFFICIENCY = "Efficiency and pricing"
FINANCE = "Finance and valuation"
FINANCING = "Financing"
GROUPS: tuple[str, ...] = (BUILD, MONETISE, EFFICIENCY, FINANCE, FINANCING)
#: Values of ``entrant_profile`` in code order (0 = builder, the meaning before entrants).
ENTRANT_PROFILES: tuple[str, ...] = ("builder", "neocloud", "hyperscaler")
#: Values of ``debt_sizing`` in code order (0 = ltc, the meaning before DSCR sizing).
DEBT_SIZINGS: tuple[str, ...] = ("ltc", "dscr")
#: Values of ``refresh_rule`` in code order (0 = always, the meaning before refresh decisions).
REFRESH_RULES: tuple[str, ...] = ("always", "when_it_pays")
#: Values of ``facility_residual`` in code order (0 = book, the meaning before the facility's
#: annuity value; methodology section 2.5).
FACILITY_RESIDUALS: tuple[str, ...] = ("book", "annuity")

_SPECS: tuple[FieldSpec, ...] = (
    # Build
    FieldSpec(
        "gw_built",
        "GW built",
        "GW of facility power",
        0.1,
        50.0,
        0.1,
        BUILD,
        "Facility power the builder constructs and owns.",
    ),
    FieldSpec(
        "capex_per_gw_busd",
        "Capex per GW",
        "US$ B per GW",
        5.0,
        120.0,
        0.5,
        BUILD,
        "All-in build cost per GW of facility power (IT and facility).",
    ),
    FieldSpec(
        "it_share_of_capex",
        "IT share of capex",
        "fraction of capex",
        0.0,
        1.0,
        0.01,
        BUILD,
        "Share of capex in IT (GPUs, servers, network), refreshed at the end of its life.",
    ),
    FieldSpec(
        "build_years",
        "Build years",
        "years",
        1,
        5,
        1,
        BUILD,
        "Years of construction; capex is spread evenly over them.",
        integer=True,
    ),
    FieldSpec(
        "operating_years",
        "Operating years",
        "years",
        1,
        30,
        1,
        BUILD,
        "Years of operation modelled after construction.",
        integer=True,
    ),
    FieldSpec(
        "it_life_years",
        "IT life",
        "years",
        1.0,
        15.0,
        0.5,
        BUILD,
        "Useful life of IT; straight-line depreciation and a like-for-like refresh.",
    ),
    FieldSpec(
        "facility_life_years",
        "Facility life",
        "years",
        5.0,
        40.0,
        1.0,
        BUILD,
        "Useful life of buildings, power and cooling; straight-line depreciation.",
    ),
    FieldSpec(
        "power_price_usd_per_mwh",
        "Power price",
        "US$ per MWh",
        0.0,
        300.0,
        1.0,
        BUILD,
        "Price of electricity drawn by owned capacity.",
    ),
    FieldSpec(
        "pue",
        "PUE",
        "ratio of facility power to IT power",
        1.0,
        2.5,
        0.01,
        BUILD,
        "Power usage effectiveness: facility power / IT power; sets the GPUs per facility GW.",
    ),
    FieldSpec(
        "power_load_factor",
        "Power load factor",
        "fraction of facility power drawn on average",
        0.0,
        1.0,
        0.01,
        BUILD,
        "Average grid draw as a share of rated facility power.",
    ),
    FieldSpec(
        "other_opex_busd_per_gw_year",
        "Other opex",
        "US$ B per GW-year",
        0.0,
        10.0,
        0.05,
        BUILD,
        "Fixed operating cost other than power: staff, maintenance, insurance.",
    ),
    FieldSpec(
        "variable_opex_share_of_revenue",
        "Variable opex",
        "fraction of revenue",
        0.0,
        0.9,
        0.01,
        BUILD,
        "Sales, support, software and billing as a share of revenue.",
    ),
    FieldSpec(
        "build_front_loading",
        "Build front-loading",
        "-1 (back-loaded) to 1 (front-loaded)",
        -1.0,
        1.0,
        0.05,
        BUILD,
        "Tilt of the build: share of GW built in build year j is (1 + f (1 - 2j / (B - 1))) / B "
        "(0 = even, today's spread).",
    ),
    FieldSpec(
        "phased_online",
        "Phases online as built",
        "0 (all at completion) or 1 (each phase the year after its build)",
        0,
        1,
        1,
        BUILD,
        "1: the GW built in each build year comes online the next year and earns before the "
        "campus is complete; 0: all capacity comes online at completion.",
        integer=True,
    ),
    FieldSpec(
        "ramp_first_year_share",
        "Ramp: first operating year",
        "fraction of steady-state billing",
        0.0,
        1.0,
        0.05,
        BUILD,
        "Billed share of owned capacity's revenue in the first operating year (1 = no ramp).",
    ),
    FieldSpec(
        "ramp_second_year_share",
        "Ramp: second operating year",
        "fraction of steady-state billing",
        0.0,
        1.0,
        0.05,
        BUILD,
        "Billed share of owned capacity's revenue in the second operating year (1 = no ramp).",
    ),
    # Monetise
    FieldSpec(
        "lease_share",
        "Leased share",
        "fraction of capacity",
        0.0,
        1.0,
        0.05,
        MONETISE,
        "Share of owned capacity leased as raw compute (CoreWeave-style).",
    ),
    FieldSpec(
        "hosting_share",
        "Hosted share",
        "fraction of capacity",
        0.0,
        1.0,
        0.05,
        MONETISE,
        "Share of owned capacity hosting models billed per token (Bedrock-style).",
    ),
    FieldSpec(
        "lease_rate_busd_per_gw_year",
        "Lease rate",
        "US$ B per GW-year",
        0.0,
        60.0,
        0.25,
        MONETISE,
        "Annual lease revenue per GW of facility power at full occupancy, today.",
    ),
    FieldSpec(
        "lease_utilization",
        "Lease utilisation",
        "fraction of leased capacity billed",
        0.0,
        1.0,
        0.01,
        MONETISE,
        "Share of leased capacity that is billed.",
    ),
    FieldSpec(
        "contracted_share",
        "Contracted share",
        "fraction of leased capacity",
        0.0,
        1.0,
        0.05,
        MONETISE,
        "Share of leased capacity on fixed-price contracts.",
    ),
    FieldSpec(
        "contract_years",
        "Contract term",
        "years",
        0,
        20,
        1,
        MONETISE,
        "Operating years for which contracted capacity keeps its price.",
        integer=True,
    ),
    FieldSpec(
        "gpus_per_gw",
        "GPUs per GW of IT",
        "GPUs per GW of IT power",
        50_000.0,
        2_000_000.0,
        1000.0,
        MONETISE,
        "Accelerators per GW of IT power (host and network share included).",
    ),
    FieldSpec(
        "tokens_per_sec_per_gpu",
        "Tokens per second per GPU",
        "output tokens/s per GPU at a latency target",
        1.0,
        100_000.0,
        50.0,
        MONETISE,
        "Output tokens per second per GPU at a latency target (with the stated input tokens).",
    ),
    FieldSpec(
        "hosting_price_usd_per_m_tokens",
        "Output token price",
        "US$ per million output tokens",
        0.0,
        100.0,
        0.01,
        MONETISE,
        "Price billed per million output tokens, today.",
    ),
    FieldSpec(
        "hosting_utilization",
        "Hosting utilisation",
        "fraction of token capacity sold",
        0.0,
        1.0,
        0.01,
        MONETISE,
        "Share of the latency-target token throughput that is sold.",
    ),
    FieldSpec(
        "input_tokens_per_output_token",
        "Input tokens per output token",
        "input tokens per output token",
        0.0,
        50.0,
        0.1,
        MONETISE,
        "Input (prompt) tokens billed with each output token, at the workload of the throughput.",
    ),
    FieldSpec(
        "hosting_input_price_usd_per_m_tokens",
        "Input token price",
        "US$ per million input tokens",
        0.0,
        100.0,
        0.01,
        MONETISE,
        "Price billed per million input tokens, today.",
    ),
    FieldSpec(
        "hosting_licence_fee_share",
        "Licence fee",
        "fraction of hosting revenue",
        0.0,
        0.9,
        0.01,
        MONETISE,
        "Share of hosting revenue paid to the developer of a third-party model.",
    ),
    FieldSpec(
        "market_tokens_quadrillion_per_year",
        "Market token volume",
        "quadrillion tokens per year (input and output)",
        1.0,
        1_000_000.0,
        1.0,
        MONETISE,
        "Tokens the whole market serves per year today; grows with the token volume index.",
    ),
    FieldSpec(
        "hosting_market_share_cap",
        "Hosting market share cap",
        "fraction of market token volume",
        0.0,
        1.0,
        0.01,
        MONETISE,
        "Largest share of the market's tokens the builder can sell; spare hosting capacity is "
        "leased at spot or idles.",
    ),
    FieldSpec(
        "procured_gw",
        "Procured GW",
        "GW",
        0.0,
        20.0,
        0.1,
        MONETISE,
        "Capacity bought from third parties (e.g. Crusoe) and resold at the lease rate.",
    ),
    FieldSpec(
        "procurement_cost_busd_per_gw_year",
        "Procurement cost",
        "US$ B per GW-year",
        0.0,
        60.0,
        0.25,
        MONETISE,
        "Annual cost of procured capacity, power included.",
    ),
    FieldSpec(
        "internal_transfer_price_share",
        "Internal transfer price",
        "fraction of the lease rate",
        0.0,
        2.0,
        0.05,
        MONETISE,
        "Capacity kept for internal use is valued at this share of what it would earn leased "
        "(1 = the lease rate, its opportunity cost; 0 = a pure cost centre).",
    ),
    # Efficiency and pricing
    FieldSpec(
        "efficiency_multiplier",
        "Inference efficiency",
        "x tokens per GPU versus today",
        0.25,
        10.0,
        0.05,
        EFFICIENCY,
        "Builder's tokens per GPU relative to today from system-level optimisation.",
    ),
    FieldSpec(
        "efficiency_diffusion",
        "Efficiency diffusion",
        "fraction (0 builder only; 1 whole industry)",
        0.0,
        1.0,
        0.05,
        EFFICIENCY,
        "How far the gain spreads: industry multiplier = multiplier ** diffusion.",
    ),
    FieldSpec(
        "price_pass_through",
        "Price pass-through",
        "fraction of industry cost decline passed into token prices",
        0.0,
        1.0,
        0.05,
        EFFICIENCY,
        "Share of the industry's cost decline passed into token prices.",
    ),
    FieldSpec(
        "demand_elasticity",
        "Demand elasticity",
        "absolute price elasticity of token demand",
        0.0,
        3.0,
        0.05,
        EFFICIENCY,
        "Token volume ~ price ** -elasticity; above 1 is Jevons territory.",
    ),
    FieldSpec(
        "token_demand_growth_per_year",
        "Token demand growth",
        "fraction per year",
        -0.5,
        2.0,
        0.01,
        EFFICIENCY,
        "Exogenous growth of token demand at a constant price (agentic workloads).",
    ),
    FieldSpec(
        "industry_capacity_growth_per_year",
        "Industry capacity growth",
        "fraction per year",
        -0.5,
        2.0,
        0.01,
        EFFICIENCY,
        "Growth of the industry's installed compute.",
    ),
    FieldSpec(
        "token_price_decline_per_year",
        "Secular token price decline",
        "fraction per year",
        0.0,
        0.95,
        0.01,
        EFFICIENCY,
        "Yearly fall in the price of a fixed capability (algorithms, smaller models, "
        "competition): more tokens per unit of compute; it does not age hardware.",
    ),
    FieldSpec(
        "hardware_cost_decline_per_year",
        "Hardware cost decline",
        "fraction per year",
        0.0,
        0.6,
        0.01,
        EFFICIENCY,
        "Yearly fall in the cost of a unit of compute of new hardware (frontier price-"
        "performance): an older IT vintage's rent per GW falls behind the frontier at this rate.",
    ),
    FieldSpec(
        "compute_demand_elasticity",
        "Compute demand elasticity",
        "absolute price elasticity of compute demand",
        0.2,
        5.0,
        0.05,
        EFFICIENCY,
        "Frontier rent per unit of compute ~ (compute demand / industry compute) ** (1 / this).",
    ),
    FieldSpec(
        "entry_lag_years",
        "Entry lag",
        "years",
        0.0,
        50.0,
        0.5,
        EFFICIENCY,
        "Years a rent above the user cost of new capacity lasts whole before new capacity "
        "starts to enter; it then fades over the entry fade (beyond the horizon: the premium "
        "persists).",
    ),
    FieldSpec(
        "lease_rate_index_cap",
        "Spot lease-rate ceiling",
        "x today's lease rate",
        1.0,
        50.0,
        0.1,
        EFFICIENCY,
        "Optional override: highest frontier lease-rate index (x today's rate). The ceiling is "
        "the user cost of new capacity; at the upper bound (default) this has no effect.",
    ),
    # Finance and valuation
    FieldSpec(
        "wacc",
        "WACC",
        "fraction per year",
        0.0,
        0.3,
        0.001,
        FINANCE,
        "Nominal after-tax discount rate.",
    ),
    FieldSpec(
        "tax_rate",
        "Tax rate",
        "fraction of taxable profit",
        0.0,
        0.5,
        0.01,
        FINANCE,
        "Cash tax on positive EBIT after losses carried forward.",
    ),
    FieldSpec(
        "residual_value_fraction",
        "Residual value",
        "fraction of end-of-horizon market value",
        0.0,
        1.0,
        0.05,
        FINANCE,
        "Share of the assets' market value at the horizon recovered as cash (IT at market "
        "value, facility as set by Facility residual); gains and losses against book are taxed.",
    ),
    FieldSpec(
        "shares_outstanding_b",
        "Diluted shares",
        "billion diluted shares",
        0.1,
        20.0,
        0.01,
        FINANCE,
        "Diluted shares for NPV per share.",
    ),
    FieldSpec(
        "share_price_usd",
        "Share price",
        "US$ per share",
        1.0,
        10_000.0,
        1.0,
        FINANCE,
        "Used only to size the market's one-day re-rating in US$ B.",
    ),
    FieldSpec(
        "price_target_usd",
        "Price target",
        "US$ per share",
        1.0,
        10_000.0,
        1.0,
        FINANCE,
        "An analyst's price target per share; changes no cash flow, only the share of the gap "
        "from the share price to the target that the build's NPV per share explains.",
    ),
    FieldSpec(
        "market_reaction_excess_return",
        "Market reaction",
        "fraction of market value",
        -1.0,
        1.0,
        0.0025,
        FINANCE,
        "One-day share move relative to the index on the report.",
    ),
    # Financing (debt, partner, campus lease) and tax depreciation
    FieldSpec(
        "debt_share_of_capex",
        "Debt share of capex",
        "fraction of build capex (loan-to-cost)",
        0.0,
        0.95,
        0.01,
        FINANCING,
        "Share of the builder's initial build capex drawn as debt during construction.",
    ),
    FieldSpec(
        "debt_interest_rate",
        "Debt interest rate",
        "fraction per year",
        0.0,
        0.3,
        0.0025,
        FINANCING,
        "Interest on the opening balance each year; also the cost of debt that discounts the "
        "debt's flows and its tax shield (the campus lease is valued at the lessee borrowing "
        "rate).",
    ),
    FieldSpec(
        "debt_tenor_years",
        "Debt tenor",
        "years of repayment after completion",
        1,
        30,
        1,
        FINANCING,
        "Years over which the debt is repaid from the first operating year (cut at the horizon).",
        integer=True,
    ),
    FieldSpec(
        "debt_sculpted",
        "Sculpted amortisation",
        "0 (level debt service) or 1 (sculpted to the target DSCR)",
        0,
        1,
        1,
        FINANCING,
        "0: level annual debt service (annuity); 1: debt service = cash available / target DSCR, "
        "the rest repaid in the last year of the tenor.",
        integer=True,
    ),
    FieldSpec(
        "target_dscr",
        "Target DSCR",
        "x debt service",
        1.0,
        5.0,
        0.05,
        FINANCING,
        "Debt-service cover ratio the sculpted repayment aims at.",
    ),
    FieldSpec(
        "partner_share_of_capex",
        "Partner share",
        "fraction of capex and of the project's cash flows",
        0.0,
        0.95,
        0.01,
        FINANCING,
        "An equity partner funds this share of the project's equity and takes the same share of "
        "its cash flows; the builder's equity metrics are on the rest.",
    ),
    FieldSpec(
        "campus_lease_share",
        "Campus leased from a lessor",
        "fraction of the facility",
        0.0,
        1.0,
        0.05,
        FINANCING,
        "Share of the facility (not the IT) a lessor owns and leases to the builder (the "
        "Hyperion shape): the lessor funds it, the builder pays rent.",
    ),
    FieldSpec(
        "campus_lease_yield",
        "Lessor yield",
        "fraction per year",
        0.0,
        0.3,
        0.0025,
        FINANCING,
        "Return the lessor requires: the builder's level rent in operating years recovers the "
        "lessor's funding at this yield, with the lessor's share of the campus at the end of "
        "the priced lease.",
    ),
    FieldSpec(
        "campus_rvg_share",
        "Residual-value guarantee",
        "fraction of the lessor's unrecovered balance",
        0.0,
        1.0,
        0.05,
        FINANCING,
        "At the horizon the builder pays the lessor any shortfall of the lessor's share of the "
        "campus's value below this share of the lessor's unrecovered balance (its funding at "
        "its yield less the rent received): 1 makes the lessor whole, as Hyperion's bonds are.",
    ),
    FieldSpec(
        "campus_lease_priced_years",
        "Campus lease priced over",
        "years of operation (0 = the operating years modelled)",
        0,
        40,
        1,
        FINANCING,
        "Years of operation the lessor prices its level rent over (the lease with its expected "
        "renewals). Longer than the operating years: the builder leaves at the horizon (the "
        "initial term) paying that rent, and the guarantee settles then. 0: renewed through the "
        "horizon.",
        integer=True,
    ),
    FieldSpec(
        "macrs_depreciation",
        "MACRS tax depreciation",
        "0 (tax follows book straight-line) or 1 (MACRS)",
        0,
        1,
        1,
        FINANCING,
        "1: tax depreciation by MACRS (IT 5-year class, 200% declining balance, half-year); "
        "0: tax depreciation equals book straight-line.",
        integer=True,
    ),
    FieldSpec(
        "facility_tax_class_years",
        "Facility tax class",
        "years (MACRS recovery period)",
        15,
        39,
        1,
        FINANCING,
        "MACRS class of the facility: 15 or 20 (150% declining balance, bonus-eligible) or 39 "
        "(nonresidential real property: straight line, no bonus).",
        integer=True,
    ),
    FieldSpec(
        "bonus_depreciation_share",
        "Bonus depreciation",
        "fraction of eligible cost",
        0.0,
        1.0,
        0.05,
        FINANCING,
        "Share of IT (and of a facility in a class of at most 20 years) deducted in the year it "
        "is placed in service.",
    ),
    FieldSpec(
        "tax_in_group",
        "Taxed inside a profitable group",
        "0 (stand-alone) or 1 (inside a group)",
        0,
        1,
        1,
        FINANCING,
        "1: the project's tax losses offset other group income the year they arise (a negative "
        "tax is a saving); 0: stand-alone, losses carried forward.",
        integer=True,
    ),
    FieldSpec(
        "nol_offset_limit_share",
        "Loss offset limit",
        "fraction of taxable income",
        0.0,
        1.0,
        0.05,
        FINANCING,
        "Stand-alone: carried-forward losses offset at most this share of a year's taxable "
        "income (US law since 2018: 0.8).",
    ),
    FieldSpec(
        "interest_limit_share_of_ati",
        "Interest deduction limit",
        "fraction of adjusted taxable income",
        0.0,
        1.0,
        0.01,
        FINANCING,
        "Stand-alone: net interest deducted at most this share of adjusted taxable income (tax "
        "EBITDA), the excess carried forward (section 163(j): 0.3).",
    ),
    # The marginal entrant who sets the ceiling (methodology section 4.2, "The entrant"); last,
    # so that random tables drawn field by field keep every older field's draws
    FieldSpec(
        "entrant_profile",
        "Marginal entrant",
        "choice: builder, neocloud, hyperscaler",
        0,
        2,
        1,
        EFFICIENCY,
        "Whose costs set the ceiling on rents (the user cost of new capacity): a row of "
        "data/entrant_profiles.csv (neocloud, hyperscaler), or the builder's own inputs "
        "(builder: the meaning before entrants, which older links and files load with).",
        integer=True,
        choices=ENTRANT_PROFILES,
    ),
    FieldSpec(
        "entrant_wacc",
        "Entrant WACC",
        "fraction per year (0 = the profile's)",
        0.0,
        0.3,
        0.0025,
        EFFICIENCY,
        "Nominal after-tax cost of capital of the marginal entrant; 0 keeps its profile's. "
        "Not used when the entrant is the builder.",
    ),
    # Book life apart from service life (methodology section 11.8); after the entrant, so that
    # random tables drawn field by field keep every older field's draws
    FieldSpec(
        "it_book_life_years",
        "IT book depreciation life",
        "years",
        1.0,
        15.0,
        0.5,
        BUILD,
        "Life over which the IT is depreciated in the accounts (reported EBIT, EPS, ROIC, book "
        "value); what is left at an early retirement is written off. Moves no cash: the IT "
        "life sets the refresh and the tax straight-line.",
    ),
    # Leases and financing at their own rates (methodology sections 11.9 and 11.10)
    FieldSpec(
        "lessee_borrowing_rate",
        "Lessee borrowing rate",
        "fraction per year (pre-tax)",
        0.0,
        0.3,
        0.0025,
        FINANCING,
        "The builder's incremental borrowing rate: the campus lease's flows are valued at it "
        "after tax, (1 - tax rate) x this rate (Myers, Dill and Bautista 1976).",
    ),
    FieldSpec(
        "debt_sizing",
        "Debt sizing",
        "choice: ltc, dscr",
        0,
        1,
        1,
        FINANCING,
        "ltc: debt is the loan-to-cost share of the build; dscr: the smaller of that and the "
        "debt the cash flow available for debt service carries at the target DSCR over the "
        "tenor.",
        integer=True,
        choices=DEBT_SIZINGS,
    ),
    FieldSpec(
        "campus_colocation_rent_busd_per_gw_year",
        "Colocation rent",
        "US$ B per GW-year (today)",
        0.0,
        10.0,
        0.05,
        FINANCING,
        "Rent a campus earns leased as colocation (powered shell, no IT): what the lessor's "
        "campus is worth when the builder leaves at the end of the initial term.",
    ),
    FieldSpec(
        "campus_colocation_rent_growth",
        "Colocation rent growth",
        "fraction per year",
        -0.1,
        0.1,
        0.005,
        FINANCING,
        "Yearly growth of the colocation rent from today.",
    ),
    # The term structure of lease rates (methodology section 4.6); last, as above
    FieldSpec(
        "lease_rate_tenor_years",
        "Tenor of the quoted lease rate",
        "years (0 = spot)",
        0.0,
        10.0,
        0.5,
        MONETISE,
        "Contract length the quoted lease rate is a level rent for: 0 reads it as today's spot "
        "rent (older links and files load with 0), 3 as a 3-year contract's rent; the spot "
        "rent it implies follows from the term structure.",
    ),
    FieldSpec(
        "contract_term_premium",
        "Contract term premium",
        "fraction per year of tenor",
        -0.03,
        0.02,
        0.0025,
        MONETISE,
        "A contract's level rent over the expected spot rents of its vintage, per year of its "
        "term: (1 + premium)^years (0: the expectations hypothesis; shipping time charters: "
        "usually below 0, above 0 in tight markets).",
    ),
    # Scarcity while capacity lags (methodology section 4.7); last, as above
    FieldSpec(
        "scarcity_multiple_max",
        "Scarcity bound",
        "x the entrant's user cost",
        1.0,
        4.0,
        0.1,
        EFFICIENCY,
        "Highest frontier rent while new capacity lags, as a multiple of the marginal "
        "entrant's user cost: within the entry lag the rent clears demand on the installed "
        "capacity up to the value of a GW's tokens relative to today, capped at this (1: no "
        "rent above today's rate or the user cost; older links and files load with 1).",
    ),
    FieldSpec(
        "entry_fade_years",
        "Entry fade",
        "years",
        0.25,
        5.0,
        0.25,
        EFFICIENCY,
        "Years over which a rent above the user cost falls back to it once the entry lag ends "
        "(geometrically: entrants' capacity arriving).",
    ),
    # Counterparty risk on contracts (methodology section 11.12); last, as above
    FieldSpec(
        "counterparty_default_rate_per_year",
        "Counterparty default rate",
        "fraction per year (physical hazard)",
        0.0,
        0.5,
        0.005,
        MONETISE,
        "Physical default hazard of the buyer of the contracted capacity (rating agencies' "
        "default rates, not a spread): by t years into a contract it has defaulted with "
        "probability 1 - exp(-rate t); 0: contracts are risk-free (older links and files).",
    ),
    FieldSpec(
        "counterparty_recovery_share",
        "Counterparty recovery",
        "fraction of the contract's lost value",
        0.0,
        1.0,
        0.05,
        MONETISE,
        "Share of a defaulted contract's value above market that the buyer's estate pays; a "
        "contract below market is assumed by the estate and loses nothing.",
    ),
    FieldSpec(
        "counterparty_default_quantile",
        "Counterparty default quantile",
        "quantile (0 = expected loss)",
        0.0,
        1.0,
        0.01,
        MONETISE,
        "0: each contract loses its expected value at the hazard. Above 0 (the Monte Carlo's "
        "draw, correlated with token demand growth): the buyer defaults u-quantile years into "
        "each contract, -ln(1 - u) / rate, and the contract's value above market is lost "
        "from then on.",
    ),
    # The calendar (methodology section 1); last, as above
    FieldSpec(
        "first_year",
        "First year",
        "calendar year",
        2000,
        2100,
        1,
        BUILD,
        "Calendar year of the model's year 0 (the first construction year): tables, charts and "
        "exports show first_year + t, and dated price curves are read against it. No cash flow "
        "moves with it (older links and files load with 2026).",
        integer=True,
    ),
    # Competition in hosting (methodology section 4.9); last, as above
    FieldSpec(
        "hosting_entry_lag_years",
        "Hosting entry lag",
        "years",
        0.0,
        50.0,
        0.25,
        EFFICIENCY,
        "Years a hosted token's markup over the rent of the compute it uses stays at today's "
        "before rival hosts enter; it then falls over the entry fade to the competitive markup "
        "(1 - variable opex) / (1 - variable opex - licence fee) where it is above it (50: "
        "today's markup for ever, older links and files).",
    ),
    FieldSpec(
        "efficiency_diffusion_years",
        "Efficiency diffusion time",
        "years",
        0.0,
        5.0,
        0.25,
        EFFICIENCY,
        "Years the industry takes to adopt the builder's gain up to the efficiency diffusion "
        "share (linearly); until then the builder's hosted tokens keep more of the gain (0: at "
        "once, older links and files).",
    ),
    # Retire and replace when it pays (methodology section 2.4); last, as above
    FieldSpec(
        "refresh_rule",
        "IT refresh rule",
        "choice: always, when_it_pays",
        0,
        1,
        1,
        BUILD,
        "At each retirement (every IT life, the service life): when_it_pays buys a new vintage "
        "only if its value (rents net of avoidable costs, residual, tax) covers its cost, else "
        "that GW idles for the vintage's span; always refreshes like for like (the meaning "
        "before, which older links and files load with).",
        integer=True,
        choices=REFRESH_RULES,
    ),
    # The facility's residual (methodology section 2.5)
    FieldSpec(
        "facility_residual",
        "Facility residual",
        "choice: book, annuity",
        0,
        1,
        1,
        FINANCE,
        "annuity: the facility at the horizon is worth its capital charge over the life it has "
        "left plus the site's surplus that the IT's residual leaves out; book: its net book "
        "value (the earlier meaning).",
        integer=True,
        choices=FACILITY_RESIDUALS,
    ),
)

FIELD_SPECS: dict[str, FieldSpec] = {spec.name: spec for spec in _SPECS}
FIELD_NAMES: tuple[str, ...] = tuple(FIELD_SPECS)
INTEGER_FIELDS: frozenset[str] = frozenset(s.name for s in _SPECS if s.integer)
CHOICE_FIELDS: frozenset[str] = frozenset(s.name for s in _SPECS if s.choices)
HEADLINE_FIELDS: tuple[str, ...] = (
    "gw_built",
    "capex_per_gw_busd",
    "lease_rate_busd_per_gw_year",
    "efficiency_multiplier",
)
