"""The scenario's input fields: label, unit, bounds, step and group, one row each.

Sourced defaults live in ``data/assumptions.csv``; this table holds what the model needs to
validate and what a user interface needs to draw a control. Bounds are the model's domain: every
value inside them evaluates without error.
"""

from __future__ import annotations

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

    def range_text(self) -> str:
        """Human-readable allowed range, e.g. ``0.1 to 50 GW of facility power``."""
        return f"{_fmt(self.low)} to {_fmt(self.high)} {self.unit}"


def _fmt(x: float) -> str:
    return f"{x:,.10g}"


BUILD = "Build"
MONETISE = "Monetise"
EFFICIENCY = "Efficiency and pricing"
FINANCE = "Finance and valuation"
GROUPS: tuple[str, ...] = (BUILD, MONETISE, EFFICIENCY, FINANCE)

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
        "fraction of facility power",
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
        "fraction of leased capacity",
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
        "tokens/s per GPU",
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
        "fraction of token capacity",
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
        "fraction (0 builder only, 1 industry)",
        0.0,
        1.0,
        0.05,
        EFFICIENCY,
        "How far the gain spreads: industry multiplier = multiplier ** diffusion.",
    ),
    FieldSpec(
        "price_pass_through",
        "Price pass-through",
        "fraction of cost decline",
        0.0,
        1.0,
        0.05,
        EFFICIENCY,
        "Share of the industry's cost decline passed into token prices.",
    ),
    FieldSpec(
        "demand_elasticity",
        "Demand elasticity",
        "absolute price elasticity",
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
        "Years a rent above the user cost of new capacity can last before new capacity enters "
        "(beyond the horizon: today's premium persists).",
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
        "value, facility at book); gains and losses against book are taxed.",
    ),
    FieldSpec(
        "shares_outstanding_b",
        "Diluted shares",
        "billion shares",
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
        "market_reaction_excess_return",
        "Market reaction",
        "fraction of market value",
        -1.0,
        1.0,
        0.0025,
        FINANCE,
        "One-day share move relative to the index on the report.",
    ),
)

FIELD_SPECS: dict[str, FieldSpec] = {spec.name: spec for spec in _SPECS}
FIELD_NAMES: tuple[str, ...] = tuple(FIELD_SPECS)
INTEGER_FIELDS: frozenset[str] = frozenset(s.name for s in _SPECS if s.integer)
HEADLINE_FIELDS: tuple[str, ...] = (
    "gw_built",
    "capex_per_gw_busd",
    "lease_rate_busd_per_gw_year",
    "efficiency_multiplier",
)
