"""Scenario files: TOML and JSON written by model.io load back to the same Scenario; every bad
file is reported with the field, the value and the allowed range."""

from __future__ import annotations

import json
import tomllib

import pytest

from model import FIELD_NAMES, ScenarioError, load_preset, preset_ids
from model.io import (
    FORMAT_ID,
    MAX_FILE_BYTES,
    parse_assignment,
    parse_scenario_text,
    scenario_from_document,
    to_json,
    to_toml,
)


@pytest.mark.parametrize("preset", preset_ids())
def test_round_trip_every_preset(preset: str) -> None:
    s = load_preset(preset).replace(gw_built=2.3, wacc=0.0911, contract_years=7)
    for fmt, text in (("toml", to_toml(s, preset, "a name")), ("json", to_json(s, preset))):
        loaded, pid = parse_scenario_text(text, fmt)
        assert loaded == s and pid == preset


def test_files_carry_every_field_with_units() -> None:
    s = load_preset()
    doc = tomllib.loads(to_toml(s))
    assert doc["format"] == FORMAT_ID and doc["version"] == 1
    assert set(doc["scenario"]) == set(FIELD_NAMES)
    assert "# GW of facility power" in to_toml(s)
    assert json.loads(to_json(s))["scenario"] == s.model_dump()


def test_flat_and_partial_documents() -> None:
    s, pid = scenario_from_document({"gw_built": 1.0})
    assert s == load_preset().replace(gw_built=1.0) and pid == "bofa-base"
    s, pid = scenario_from_document({"preset": "bofa-bull", "scenario": {"wacc": 0.1}})
    assert s == load_preset("bofa-bull").replace(wacc=0.1) and pid == "bofa-bull"


@pytest.mark.parametrize(
    ("text", "fmt", "needle"),
    [
        ('[scenario]\ngw_built = "3"\n', "toml", "gw_built = '3' is not a number"),
        ("[scenario]\ngw_built = nan\n", "toml", "gw_built = nan is not a finite number"),
        ("[scenario]\ngw_built = 999.0\n", "toml", "0.1 to 50 GW"),
        ("[scenario]\nbuild_years = 2.5\n", "toml", "build_years = 2.5 is not a whole number"),
        ("[scenario]\ngw_built = true\n", "toml", "gw_built = True is not a number"),
        ("[scenario]\ngw_biult = 1.0\n", "toml", "unknown field 'gw_biult'"),
        ('{"scenario": {"wacc": Infinity}}', "json", "JSON constant Infinity"),
        ('{"scenario": {"wacc": 1e999}}', "json", "wacc = inf is not a finite number"),
        ('{"scenario": {"wacc": [0.1]}}', "json", "wacc = [0.1] is not a number"),
        ('{"scenario": {"lease_share": 0.9, "hosting_share": 0.9}}', "json", "exceeds 1"),
        ('{"preset": "nope"}', "json", "preset = 'nope' is unknown"),
        ('{"format": "x", "scenario": {}}', "json", "is not 'ai-dc-returns/scenario'"),
        ('{"version": 7}', "json", "version = '7' is not supported"),
        ('{"extra": 1, "scenario": {}}', "json", "unknown top-level key 'extra'"),
        ("[1, 2]", "json", "must hold a table"),
        ("{", "json", "malformed JSON"),
        ("a = = 1", "toml", "malformed TOML"),
        ("gw_built: 3", "yaml", "not supported"),
    ],
)
def test_bad_documents(text: str, fmt: str, needle: str) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario_text(text, fmt)
    assert needle in str(info.value)


def test_all_problems_reported_at_once_and_size_limit() -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario_text('{"scenario": {"gw_built": -1, "wacc": "x", "zz": 1}}', "json")
    assert len(info.value.problems) == 3
    with pytest.raises(ScenarioError, match="bytes"):
        parse_scenario_text(" " * (MAX_FILE_BYTES + 1), "json")
    with pytest.raises(ScenarioError, match="UTF-8"):
        parse_scenario_text(b"\xff\xfe", "json")


def test_parse_assignment() -> None:
    assert parse_assignment(" gw_built = 2.5 ") == ("gw_built", 2.5)
    for bad, needle in (
        ("gw_built", "field=value"),
        ("gw_built=x", "not a number"),
        ("gw_built=inf", "not a finite number"),
        ("gw_built=0", "out of range"),
        ("nope=1", "unknown field"),
    ):
        with pytest.raises(ScenarioError, match=needle):
            parse_assignment(bad)
