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
