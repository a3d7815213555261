"""The sourced data: one assumptions row per field (value, unit, source, year, note), ranges
inside the bounds, and the named presets (methodology §6)."""

from __future__ import annotations

import csv

import pytest

from model import FIELD_NAMES, FIELD_SPECS, load_preset, preset_ids
from model.data import DATA_DIR, assumptions, default_ranges, default_value, presets


def test_assumptions_table_has_one_sourced_row_per_field() -> None:
    with (DATA_DIR / "assumptions.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["parameter", "value", "unit", "source", "year", "note"]
    names = [r["parameter"] for r in rows]
    assert len(names) == len(set(names))
    assert set(names) == set(FIELD_NAMES)
    for a in assumptions().values():
        assert a.source.strip() and a.unit.strip(), a.parameter
        assert 2015 <= a.year <= 2030
        spec = FIELD_SPECS[a.parameter]
        assert spec.low <= a.value <= spec.high, a.parameter
        if spec.integer:
            assert a.value == int(a.value)


def test_entrant_profiles_are_sourced_rows_inside_the_fields_bounds() -> None:
    """Methodology 4.2, "The entrant": one sourced row per profile other than the builder, each
    figure inside the bounds of the scenario field it stands in for; the neocloud is SemiAnalysis's
    Neocloud Giant (6-year life, 80% use, US$0.087/kWh, PUE 1.35, WACC 10.25%)."""
    from model.data import ENTRANT_COST_FIELDS, entrant_profiles
    from model.fields import ENTRANT_PROFILES

    profiles = entrant_profiles()
    assert list(profiles) == list(ENTRANT_PROFILES[1:])
    assert FIELD_SPECS["entrant_profile"].choices == ENTRANT_PROFILES
    assert ENTRANT_PROFILES[0] == "builder"  # code 0: the meaning before entrants
    for name, row in profiles.items():
        assert row.source.strip() and row.note.strip() and 2015 <= row.year <= 2030, name
        for f in ENTRANT_COST_FIELDS:
            x = float(getattr(row, f))
            assert FIELD_SPECS[f].low <= x <= FIELD_SPECS[f].high, (name, f)
            if FIELD_SPECS[f].integer:
                assert x == int(x), (name, f)
        assert 0.0 < row.facility_capex_busd_per_gw < FIELD_SPECS["capex_per_gw_busd"].high
        assert 0.0 < row.utilization <= 1.0
    neo = profiles["neocloud"]
    assert (neo.it_life_years, neo.utilization, neo.power_price_usd_per_mwh) == (6.0, 0.8, 87.0)
    assert (neo.pue, neo.wacc) == (1.35, 0.1025)
    assert "after tax" in neo.note  # the reading of its WACC is stated
    assert assumptions()["entrant_profile"].value == ENTRANT_PROFILES.index("neocloud")


def test_default_value_and_missing_parameter() -> None:
    assert default_value("capex_per_gw_busd") == 42.5
    with pytest.raises(KeyError, match="nope"):
        default_value("nope")


def test_ranges_are_inside_the_bounds() -> None:
    for name, (low, high, source) in default_ranges().items():
        spec = FIELD_SPECS[name]
        assert spec.low <= low < high <= spec.high, name
        assert source.strip()
    assert default_ranges()["capex_per_gw_busd"][:2] == (40.0, 45.0)
    assert default_ranges()["lease_rate_busd_per_gw_year"][:2] == (10.0, 15.0)


def test_named_presets_exist() -> None:
    assert preset_ids()[0] == "bofa-base"
    assert {
        "bofa-base",
        "bofa-bear",
        "bofa-bull",
        "openai-efficiency",
        "hosting-mix",
        "crusoe-resale",
    } <= set(preset_ids())
    bear, bull = load_preset("bofa-bear"), load_preset("bofa-bull")
    assert (bear.capex_per_gw_busd, bear.lease_rate_busd_per_gw_year) == (45.0, 10.0)
    assert (bull.capex_per_gw_busd, bull.lease_rate_busd_per_gw_year) == (40.0, 15.0)
    eff = load_preset("openai-efficiency")
    assert (eff.efficiency_multiplier, eff.efficiency_diffusion) == (2.0, 1.0)
    assert load_preset("crusoe-resale").procured_gw == 1.6
    mix = load_preset("hosting-mix")
    assert mix.hosting_share > 0 and mix.lease_share + mix.hosting_share <= 1


def test_every_preset_is_valid_and_sourced() -> None:
    for pid, p in presets().items():
        assert p.id == pid and p.name and p.description and p.source and p.year
        assert set(p.overrides) <= set(FIELD_NAMES), pid
        s = load_preset(pid)
        for k, v in p.overrides.items():
            assert getattr(s, k) == pytest.approx(v)


# ---- which inputs are uncertain (drawn) and which are structural choices (methodology §9) ----

#: The inputs that existed before the capital-structure, tax and timing inputs (methodology 11).
#: Every input added since must be classified: drawn, or a documented structural choice.
EARLIER_INPUTS = frozenset(
    [
        "gw_built",
        "capex_per_gw_busd",
        "it_share_of_capex",
        "build_years",
        "operating_years",
        "it_life_years",
        "facility_life_years",
        "wacc",
        "tax_rate",
        "power_price_usd_per_mwh",
        "pue",
        "power_load_factor",
        "other_opex_busd_per_gw_year",
        "variable_opex_share_of_revenue",
        "lease_share",
        "hosting_share",
        "lease_rate_busd_per_gw_year",
        "lease_utilization",
        "contracted_share",
        "contract_years",
        "gpus_per_gw",
        "tokens_per_sec_per_gpu",
        "hosting_price_usd_per_m_tokens",
        "hosting_utilization",
        "efficiency_multiplier",
        "efficiency_diffusion",
        "price_pass_through",
        "demand_elasticity",
        "token_demand_growth_per_year",
        "industry_capacity_growth_per_year",
        "token_price_decline_per_year",
        "lease_rate_index_cap",
        "procured_gw",
        "procurement_cost_busd_per_gw_year",
        "residual_value_fraction",
        "shares_outstanding_b",
        "share_price_usd",
        "market_reaction_excess_return",
        "hardware_cost_decline_per_year",
        "compute_demand_elasticity",
        "entry_lag_years",
        "input_tokens_per_output_token",
        "hosting_input_price_usd_per_m_tokens",
        "hosting_licence_fee_share",
        "market_tokens_quadrillion_per_year",
        "hosting_market_share_cap",
    ]
)


def structural_choices() -> dict[str, str]:
    """The table of structural choices in methodology section 9: ``{field: reason}``."""
    text = (DATA_DIR.parent / "docs" / "methodology.md").read_text(encoding="utf-8")
    section = text[text.index("## 9. Analyst toolkit") : text.index("## 10.")]
    lines = section[section.index("| field | why it is a choice, not drawn |") :].splitlines()
    out: dict[str, str] = {}
    for line in lines[2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        out[cells[0].strip("`")] = cells[1]
    return out


def test_every_new_input_is_drawn_or_a_documented_structural_choice() -> None:
    from model.uncertainty import default_distributions

    drawn = set(default_distributions().distributions)
    ranged = set(default_ranges())
    structural = structural_choices()
    assert set(FIELD_NAMES) >= EARLIER_INPUTS
    assert set(structural) <= set(FIELD_NAMES), set(structural) - set(FIELD_NAMES)
    assert all(len(reason) > 20 for reason in structural.values())
    for name in sorted(set(FIELD_NAMES) - EARLIER_INPUTS):
        uncertain = name in drawn or name in ranged
        # an uncertain quantity has both a distribution and a tornado range; a structural choice
        # neither; nothing is both or unclassified
        assert uncertain != (name in structural), name
        if uncertain:
            assert name in drawn and name in ranged, name
    assert {"debt_interest_rate", "bonus_depreciation_share", "ramp_first_year_share"} <= drawn
    assert {"debt_share_of_capex", "tax_in_group", "campus_lease_priced_years"} <= set(structural)
