"""The scenario contract: a frozen, validated set of inputs with units, bounds and sourced defaults.

Every field's default is read from ``data/assumptions.csv`` (value, unit, source, year), its bounds
and unit from :mod:`model.fields`. Bad input (NaN, inf, out of range, wrong type, unknown name) is
rejected with a message that names the field, the value and the allowed range.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from model.curves import CurveError, LeaseCurve, curve_from_document
from model.data import DEFAULT_PRESET, assumptions, default_value, presets
from model.fields import FIELD_NAMES, FIELD_SPECS

SHARE_SUM_TOLERANCE = 1e-9
#: Unknown names given a "did you mean" suggestion per file, link or table; the rest are listed
#: without one. A suggestion costs ~1 ms for a name close to a field's (difflib's full ratio), so
#: suggesting for all 33,000 field-like keys of a 1 MB file took 20-45 s (docs/deploy.md's budget
#: is ~0.5 s a file).
MAX_SUGGESTIONS = 5


class ScenarioError(ValueError):
    """Invalid scenario input; ``problems`` holds one clear message per bad field."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def _f(name: str) -> Any:
    spec = FIELD_SPECS[name]
    a = assumptions()[name]
    default: float | int = int(a.value) if spec.integer else a.value
    return Field(
        default=default,
        ge=spec.low,
        le=spec.high,
        description=f"{spec.description} Unit: {spec.unit}. Default: {a.source} ({a.year}).",
        json_schema_extra={"unit": spec.unit, "group": spec.group, "source": a.source},
    )


def check_value(name: str, value: object) -> float | int:
    """Validate one raw value for field ``name``; return it as float (or int for integer fields).

    A choice field (``entrant_profile``) takes its value's name or its code; the code is returned.

    Raises
    ------
    ValueError
        With a message naming the field, the value and the allowed range.
    """
    spec = FIELD_SPECS[name]
    if spec.choices and isinstance(value, str):
        return spec.choice_code(value)  # a choice by name: its code
    allowed = (
        f"allowed: {spec.range_text()}"
        if spec.choices
        else f"allowed: {'a whole number' if spec.integer else 'a number'} from {spec.range_text()}"
    )
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} = {_show(value)} is not a number ({allowed})")
    try:
        x = float(value)
    except OverflowError:  # an int too large for a float is certainly out of range
        raise ValueError(f"{name} = {_show(value)} is out of range ({allowed})") from None
    if not math.isfinite(x):
        raise ValueError(f"{name} = {_show(value)} is not a finite number ({allowed})")
    if spec.integer and x != int(x):
        raise ValueError(f"{name} = {_show(value)} is not a whole number ({allowed})")
    if x < spec.low or x > spec.high:
        raise ValueError(f"{name} = {_show(value)} is out of range ({allowed})")
    # + 0.0 turns a signed zero into 0 and leaves every other float as it is, bit for bit: a
    # scenario holds one zero, so a link, a file and the session give back the same bits
    return int(x) if spec.integer else x + 0.0


def _show(value: object, limit: int = 40) -> str:
    if isinstance(value, str) and len(value) > 4 * limit:
        value = value[: 4 * limit]  # repr of a huge string costs; only the start is shown
    try:
        text = repr(value)
    except ValueError:  # e.g. an int with more digits than Python converts to text
        text = f"<{type(value).__name__} too large to show>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def show_text(value: object, limit: int = 40) -> str:
    """A value quoted for a one-line message: ``repr``, cut to ``limit`` characters.

    Examples
    --------
    >>> show_text("gw_built")
    "'gw_built'"
    >>> show_text("x" * 100)
    "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx..."
    """
    return _show(value, limit)


#: Longest number text (characters) read from ``--set`` or a share link.
MAX_NUMBER_CHARS = 64
_NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NON_FINITE_TEXT = re.compile(r"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)


def number_from_text(text: str) -> float:
    """A number written as text (``--set``, share links): plain ASCII decimal notation only.

    Accepted: an optional sign, ASCII digits with an optional decimal point, an optional exponent
    (``4.5``, ``-0.25``, ``.5``, ``3e2``, ``1E-3``), at most :data:`MAX_NUMBER_CHARS` characters.
    Refused: digit separators (``1_0``), non-ASCII digits (full-width ``３``), hex, spaces inside,
    and ``nan``/``inf`` (as not finite).

    Raises
    ------
    ValueError
        With the reason as a phrase: "is not a number", "is not a finite number", "is too long".

    Examples
    --------
    >>> number_from_text("4.5"), number_from_text("-1e-3")
    (4.5, -0.001)
    >>> number_from_text("1_0")
    Traceback (most recent call last):
    ...
    ValueError: is not a number
    """
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError(f"is too long ({len(text):,} characters; at most {MAX_NUMBER_CHARS})")
    if _NON_FINITE_TEXT.fullmatch(text):
        raise ValueError("is not a finite number")
    if not _NUMBER_TEXT.fullmatch(text):
        raise ValueError("is not a number")
    x = float(text)
    if not math.isfinite(x):  # e.g. 1e309
        raise ValueError("is not a finite number")
    return x


def value_from_text(name: str, text: str) -> float:
    """A field's value written as text (``--set``, share links): a number, or a choice's name.

    A choice field (``entrant_profile``) takes its value's name (``neocloud``) or its code; every
    other field a number in the grammar of :func:`number_from_text`. Range checks are the
    caller's (:func:`check_value`).

    Raises
    ------
    ValueError
        With the reason as a phrase (``is not a number``, ``is not a known choice``).

    Examples
    --------
    >>> value_from_text("entrant_profile", "hyperscaler"), value_from_text("gw_built", "4.5")
    (2.0, 4.5)
    """
    spec = FIELD_SPECS[name]
    if spec.choices and text in spec.choices:
        return float(spec.choices.index(text))
    try:
        return number_from_text(text)
    except ValueError:
        if spec.choices:
            raise ValueError("is not a known choice") from None
        raise


def choice_text(name: str, value: float) -> str | None:
    """The name of a choice field's value (``neocloud``); None for other fields."""
    spec = FIELD_SPECS[name]
    return spec.choices[int(value)] if spec.choices else None


class Scenario(BaseModel):
    """One scenario of an AI data-center build: every input with unit, bounds and sourced default.

    Examples
    --------
    >>> from model import Scenario
    >>> s = Scenario(gw_built=3.0, capex_per_gw_busd=42.5)
    >>> s.gw_built * s.capex_per_gw_busd
    127.5
    """

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    # Build
    gw_built: float = _f("gw_built")
    capex_per_gw_busd: float = _f("capex_per_gw_busd")
    it_share_of_capex: float = _f("it_share_of_capex")
    build_years: int = _f("build_years")
    operating_years: int = _f("operating_years")
    it_life_years: float = _f("it_life_years")
    facility_life_years: float = _f("facility_life_years")
    power_price_usd_per_mwh: float = _f("power_price_usd_per_mwh")
    pue: float = _f("pue")
    power_load_factor: float = _f("power_load_factor")
    other_opex_busd_per_gw_year: float = _f("other_opex_busd_per_gw_year")
    variable_opex_share_of_revenue: float = _f("variable_opex_share_of_revenue")
    build_front_loading: float = _f("build_front_loading")
    phased_online: int = _f("phased_online")
    ramp_first_year_share: float = _f("ramp_first_year_share")
    ramp_second_year_share: float = _f("ramp_second_year_share")
    # Monetise
    lease_share: float = _f("lease_share")
    hosting_share: float = _f("hosting_share")
    lease_rate_busd_per_gw_year: float = _f("lease_rate_busd_per_gw_year")
    lease_utilization: float = _f("lease_utilization")
    contracted_share: float = _f("contracted_share")
    contract_years: int = _f("contract_years")
    gpus_per_gw: float = _f("gpus_per_gw")
    tokens_per_sec_per_gpu: float = _f("tokens_per_sec_per_gpu")
    hosting_price_usd_per_m_tokens: float = _f("hosting_price_usd_per_m_tokens")
    hosting_utilization: float = _f("hosting_utilization")
    input_tokens_per_output_token: float = _f("input_tokens_per_output_token")
    hosting_input_price_usd_per_m_tokens: float = _f("hosting_input_price_usd_per_m_tokens")
    hosting_licence_fee_share: float = _f("hosting_licence_fee_share")
    market_tokens_quadrillion_per_year: float = _f("market_tokens_quadrillion_per_year")
    hosting_market_share_cap: float = _f("hosting_market_share_cap")
    procured_gw: float = _f("procured_gw")
    procurement_cost_busd_per_gw_year: float = _f("procurement_cost_busd_per_gw_year")
    internal_transfer_price_share: float = _f("internal_transfer_price_share")
    # Efficiency and pricing
    efficiency_multiplier: float = _f("efficiency_multiplier")
    efficiency_diffusion: float = _f("efficiency_diffusion")
    price_pass_through: float = _f("price_pass_through")
    demand_elasticity: float = _f("demand_elasticity")
    token_demand_growth_per_year: float = _f("token_demand_growth_per_year")
    industry_capacity_growth_per_year: float = _f("industry_capacity_growth_per_year")
    token_price_decline_per_year: float = _f("token_price_decline_per_year")
    hardware_cost_decline_per_year: float = _f("hardware_cost_decline_per_year")
    compute_demand_elasticity: float = _f("compute_demand_elasticity")
    entry_lag_years: float = _f("entry_lag_years")
    lease_rate_index_cap: float = _f("lease_rate_index_cap")
    # Finance and valuation
    wacc: float = _f("wacc")
    tax_rate: float = _f("tax_rate")
    residual_value_fraction: float = _f("residual_value_fraction")
    shares_outstanding_b: float = _f("shares_outstanding_b")
    share_price_usd: float = _f("share_price_usd")
    price_target_usd: float = _f("price_target_usd")
    market_reaction_excess_return: float = _f("market_reaction_excess_return")
    # Financing and tax
    debt_share_of_capex: float = _f("debt_share_of_capex")
    debt_interest_rate: float = _f("debt_interest_rate")
    debt_tenor_years: int = _f("debt_tenor_years")
    debt_sculpted: int = _f("debt_sculpted")
    target_dscr: float = _f("target_dscr")
    partner_share_of_capex: float = _f("partner_share_of_capex")
    campus_lease_share: float = _f("campus_lease_share")
    campus_lease_yield: float = _f("campus_lease_yield")
    campus_rvg_share: float = _f("campus_rvg_share")
    campus_lease_priced_years: int = _f("campus_lease_priced_years")
    macrs_depreciation: int = _f("macrs_depreciation")
    facility_tax_class_years: int = _f("facility_tax_class_years")
    bonus_depreciation_share: float = _f("bonus_depreciation_share")
    tax_in_group: int = _f("tax_in_group")
    nol_offset_limit_share: float = _f("nol_offset_limit_share")
    interest_limit_share_of_ati: float = _f("interest_limit_share_of_ati")
    # The marginal entrant (a code of FIELD_SPECS["entrant_profile"].choices; 0 = builder)
    entrant_profile: int = _f("entrant_profile")
    entrant_wacc: float = _f("entrant_wacc")
    # Book life apart from the service life (methodology section 11.8)
    it_book_life_years: float = _f("it_book_life_years")
    # Leases and financing at their own rates (methodology sections 11.9 and 11.10)
    lessee_borrowing_rate: float = _f("lessee_borrowing_rate")
    debt_sizing: int = _f("debt_sizing")
    campus_colocation_rent_busd_per_gw_year: float = _f("campus_colocation_rent_busd_per_gw_year")
    campus_colocation_rent_growth: float = _f("campus_colocation_rent_growth")
    lease_rate_tenor_years: float = _f("lease_rate_tenor_years")
    contract_term_premium: float = _f("contract_term_premium")
    # Scarcity while capacity lags (methodology section 4.7)
    scarcity_multiple_max: float = _f("scarcity_multiple_max")
    entry_fade_years: float = _f("entry_fade_years")
    # Counterparty risk on contracts (methodology section 11.12)
    counterparty_default_rate_per_year: float = _f("counterparty_default_rate_per_year")
    counterparty_recovery_share: float = _f("counterparty_recovery_share")
    counterparty_default_quantile: float = _f("counterparty_default_quantile")
    # The calendar year of year 0 (methodology section 1)
    first_year: int = _f("first_year")
    #: A dated curve of the lease rate (methodology section 4.8): not a field of the input
    #: table (no column in batches, not in ``model_dump``); files, links and the dashboard's
    #: table carry it; None follows the closed form in every year.
    lease_curve: LeaseCurve | None = Field(default=None, exclude=True)
    # Competition in hosting (methodology section 4.9)
    hosting_entry_lag_years: float = _f("hosting_entry_lag_years")
    efficiency_diffusion_years: float = _f("efficiency_diffusion_years")
    # Retire and replace when it pays (methodology section 2.4; a code of REFRESH_RULES)
    refresh_rule: int = _f("refresh_rule")
    # The facility's residual (methodology section 2.5)
    facility_residual: int = _f("facility_residual")

    @field_validator(*FIELD_NAMES, mode="before")
    @classmethod
    def _checked(cls, value: object, info: Any) -> float | int:
        return check_value(str(info.field_name), value)

    @field_validator("lease_curve", mode="before")
    @classmethod
    def _curve(cls, value: object) -> LeaseCurve | None:
        if value is None or isinstance(value, LeaseCurve):
            return value
        if isinstance(value, Mapping):
            try:
                return curve_from_document(value)
            except CurveError as exc:
                raise ValueError(str(exc)) from None
        raise ValueError(
            f"lease_curve = {_show(value)} is not a dated curve (allowed: a LeaseCurve or a "
            "table of unit, tenor_years, basis and points)"
        )

    @model_validator(mode="after")
    def _shares_fit(self) -> Scenario:
        if self.lease_share + self.hosting_share > 1.0 + SHARE_SUM_TOLERANCE:
            raise ValueError(share_sum_message(self.lease_share, self.hosting_share))
        return self

    # ---- convenience -------------------------------------------------------------------------
    def replace(self, **changes: object) -> Scenario:
        """A validated copy with some fields changed (raises ScenarioError on bad input)."""
        return make_scenario({**self.model_dump(), "lease_curve": self.lease_curve, **changes})

    @property
    def entrant_profile_name(self) -> str:
        """The entrant profile's name (``builder``, ``neocloud`` or ``hyperscaler``)."""
        return FIELD_SPECS["entrant_profile"].choices[self.entrant_profile]

    def diff(self, other: Scenario) -> dict[str, tuple[float, float]]:
        """Fields whose values differ: ``{name: (self_value, other_value)}``."""
        a, b = self.model_dump(), other.model_dump()
        return {k: (a[k], b[k]) for k in FIELD_NAMES if a[k] != b[k]}


def scenario_values(scenario: Scenario) -> dict[str, Any]:
    """Every input of a scenario as plain values, its dated curve (methodology 4.8) included
    as its file table where it has one: what :func:`make_scenario` reads back to the same
    scenario (``model_dump`` leaves the curve out, as it is not a field of the input table).

    Examples
    --------
    >>> from model.curves import make_curve
    >>> s = Scenario().replace(lease_curve=make_curve({2027: 14.0}))
    >>> make_scenario(scenario_values(s)) == s, "lease_curve" in scenario_values(Scenario())
    (True, False)
    """
    values: dict[str, Any] = scenario.model_dump()
    if scenario.lease_curve is not None:
        values["lease_curve"] = scenario.lease_curve.document()
    return values


def share_sum_message(lease_share: float, hosting_share: float) -> str:
    """The message for ``lease_share + hosting_share > 1`` (Scenario and evaluate_batch)."""
    lease, hosting = float(lease_share), float(hosting_share)
    return (
        f"lease_share + hosting_share = {lease:g} + {hosting:g} = {lease + hosting:g} exceeds 1 "
        "(allowed: the two shares of capacity sum to at most 1)"
    )


def validation_problems(exc: ValidationError) -> list[str]:
    """Turn a pydantic ValidationError on Scenario into one clear message per problem."""
    problems: list[str] = []
    n_unknown = 0
    for err in exc.errors():
        loc = err.get("loc", ())
        name = str(loc[0]) if loc else ""
        if err.get("type") == "extra_forbidden":
            problems.append(unknown_field_message(name, suggest=n_unknown < MAX_SUGGESTIONS))
            n_unknown += 1
            continue
        msg = str(err.get("msg", ""))
        msg = msg.removeprefix("Value error, ")
        if name and not msg.startswith(name) and name in FIELD_SPECS:
            msg = f"{name} = {_show(err.get('input'))}: {msg} (allowed: {FIELD_SPECS[name].range_text()})"
        problems.append(msg)
    return problems


def unknown_field_message(name: str, suggest: bool = True) -> str:
    """Message for a field name the scenario does not have, with the closest known names.

    ``suggest=False`` leaves the suggestion out: callers reporting many unknown names suggest
    for the first :data:`MAX_SUGGESTIONS` only (see :func:`unknown_field_messages`).

    Examples
    --------
    >>> unknown_field_message("gw_biult")
    "unknown field 'gw_biult' (not a scenario input; did you mean gw_built?)"
    >>> unknown_field_message("gw_biult", suggest=False)
    "unknown field 'gw_biult' (not a scenario input)"
    """
    close = difflib.get_close_matches(name[:80], FIELD_NAMES, n=3) if suggest else []
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return f"unknown field {_show(name)} (not a scenario input{hint})"


def unknown_field_messages(names: Iterable[str]) -> list[str]:
    """One message per unknown name; the first :data:`MAX_SUGGESTIONS` with suggestions.

    Examples
    --------
    >>> messages = unknown_field_messages(["gw_biult"] * 7)
    >>> sum("did you mean" in m for m in messages), len(messages)
    (5, 7)
    """
    return [
        unknown_field_message(name, suggest=i < MAX_SUGGESTIONS) for i, name in enumerate(names)
    ]


def make_scenario(values: Mapping[str, object]) -> Scenario:
    """Build a Scenario, raising :class:`ScenarioError` with one message per bad field."""
    try:
        return Scenario(**{str(k): v for k, v in values.items()})
    except ValidationError as exc:
        raise ScenarioError(validation_problems(exc)) from None


def preset_ids() -> list[str]:
    """Ids of the presets in ``data/presets``, the default first."""
    return list(presets())


def load_preset(preset_id: str = DEFAULT_PRESET) -> Scenario:
    """The scenario of a preset: sourced defaults with the preset's overrides.

    Raises
    ------
    ScenarioError
        If the id is unknown (the message lists the known ids).
    """
    known = presets()
    if preset_id not in known:
        raise ScenarioError(
            [f"preset = {_show(preset_id)} is unknown (allowed: {', '.join(known)})"]
        )
    return make_scenario(known[preset_id].overrides)


def default_scenario() -> Scenario:
    """The default preset's scenario."""
    return load_preset(DEFAULT_PRESET)


__all__ = [
    "MAX_SUGGESTIONS",
    "Scenario",
    "ScenarioError",
    "check_value",
    "choice_text",
    "default_scenario",
    "default_value",
    "load_preset",
    "make_scenario",
    "number_from_text",
    "preset_ids",
    "scenario_values",
    "share_sum_message",
    "show_text",
    "unknown_field_message",
    "unknown_field_messages",
    "validation_problems",
    "value_from_text",
]
