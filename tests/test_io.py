"""Scenario files: TOML and JSON written by model.io load back to the same Scenario; every bad
file is reported with the field, the value and the allowed range."""

from __future__ import annotations

import json
import tomllib

import pytest
from old_meanings import OLD_MEANINGS

from model import FIELD_NAMES, ScenarioError, evaluate, load_preset, preset_ids
from model.io import (
    FORMAT_ID,
    FORMAT_VERSION,
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
    assert doc["format"] == FORMAT_ID and doc["version"] == FORMAT_VERSION == 5
    assert set(doc["scenario"]) == set(FIELD_NAMES)
    assert "# GW of facility power" in to_toml(s)
    # a choice is written by name
    assert doc["scenario"]["entrant_profile"] == "neocloud"
    names = {
        "entrant_profile": "neocloud",
        "debt_sizing": "ltc",
        "refresh_rule": "when_it_pays",
        "facility_residual": "annuity",
    }
    assert json.loads(to_json(s))["scenario"] == {**s.model_dump(), **names}


def test_flat_and_partial_documents() -> None:
    # a document without a version may predate entrant_profile: it means what it meant (builder)
    s, pid = scenario_from_document({"gw_built": 1.0})
    assert s == load_preset().replace(
        gw_built=1.0,
        **OLD_MEANINGS,
    )
    assert pid == "bofa-base"
    s, pid = scenario_from_document({"preset": "bofa-bull", "scenario": {"wacc": 0.1}})
    assert s == load_preset("bofa-bull").replace(
        wacc=0.1,
        **OLD_MEANINGS,
    )
    assert pid == "bofa-bull"


def test_version_1_files_load_with_the_builder_as_entrant_and_version_2_with_the_preset() -> None:
    """Section 4.2, "The entrant": files saved before entrant_profile keep their ceiling."""
    s = load_preset("market-base").replace(gw_built=2.0)
    text = to_toml(s, "market-base")
    assert 'entrant_profile = "neocloud"' in text and parse_scenario_text(text, "toml")[0] == s
    old = "\n".join(
        line
        for line in text.replace(f"version = {FORMAT_VERSION}", "version = 1").splitlines()
        if not line.startswith("entrant_profile")
    )
    loaded, pid = parse_scenario_text(old, "toml")
    assert pid == "market-base"
    assert loaded == s.replace(entrant_profile="builder")  # the file names the others
    assert evaluate(loaded).npv_busd != evaluate(s).npv_busd  # the meaning kept is a different one
    newer = parse_scenario_text(f'version = {FORMAT_VERSION}\npreset = "market-base"\n', "toml")[0]
    assert newer == load_preset("market-base")
    # by name or code; a bad name is named with the choices
    # a version-2 file names the entrant but predates the quote's tenor: it reads its lease rate
    # as spot (section 4.6), where the preset now reads a 3-year rent
    spv = load_preset("coreweave-spv")
    assert spv.lease_rate_tenor_years == 3.0
    v2 = "\n".join(
        line
        for line in to_toml(spv, "coreweave-spv")
        .replace(f"version = {FORMAT_VERSION}", "version = 2")
        .splitlines()
        if not line.startswith("lease_rate_tenor_years")
    )
    assert parse_scenario_text(v2, "toml")[0] == spv.replace(lease_rate_tenor_years=0.0)
    assert evaluate(spv.replace(lease_rate_tenor_years=0.0)).npv_busd != evaluate(spv).npv_busd
    assert parse_scenario_text("[scenario]\nentrant_profile = 2\n", "toml")[0].entrant_profile == 2
    with pytest.raises(ScenarioError, match="entrant_profile = 'cheap' is not a known choice"):
        parse_scenario_text('[scenario]\nentrant_profile = "cheap"\n', "toml")
    assert parse_assignment("entrant_profile=hyperscaler") == ("entrant_profile", 2.0)
    with pytest.raises(ScenarioError, match="entrant_profile = 'x' is not a known choice"):
        parse_assignment("entrant_profile=x")


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


# ---- hostile files (tests/hostile): refused within a budget, with a message; docs/deploy.md ---
from hostile_corpus import FILE_EXPECTATIONS, HOSTILE_DIR, SHAPES, unknown_keys_json  # noqa: E402

from model.io import (  # noqa: E402
    MAX_DOTS_PER_LINE,
    MAX_LINES,
    load_scenario_file,
    read_regular_file,
    show_path,
)


@pytest.mark.parametrize("name", sorted(FILE_EXPECTATIONS))
def test_hostile_file_corpus(name: str) -> None:
    expected = FILE_EXPECTATIONS[name]
    path = HOSTILE_DIR / name
    if not expected:
        scenario, preset = load_scenario_file(path)
        # no version: the meanings before entrants and scarcity
        old = load_preset().replace(
            gw_built=4.5,
            **OLD_MEANINGS,
        )
        assert scenario == old and preset == "bofa-base"
        return
    with pytest.raises(ScenarioError) as info:
        load_scenario_file(path)
    text = " | ".join(info.value.problems)
    assert expected in text, text
    for problem in info.value.problems:
        assert len(problem) < 300 and "\n" not in problem
        assert "Exceeds the limit" not in problem and "sys.set_int" not in problem


def test_every_hostile_file_has_an_expectation() -> None:
    assert sorted(p.name for p in HOSTILE_DIR.iterdir() if p.is_file()) == sorted(FILE_EXPECTATIONS)


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_hostile_shapes_at_the_size_limit_end_in_a_clear_outcome(shape: str) -> None:
    """Each costly shape at the size limit is refused (or accepted) with a ScenarioError only."""
    data, fmt = SHAPES[shape](MAX_FILE_BYTES)
    assert len(data) <= MAX_FILE_BYTES
    try:
        parse_scenario_text(data, fmt)
    except ScenarioError as exc:
        assert exc.problems and all(len(p) < 300 for p in exc.problems)


def test_dotted_key_is_refused_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The quadratic shape never reaches tomllib (so its cost cannot grow with the file)."""
    import model.io as io_module

    def boom(_: str) -> object:
        raise AssertionError("tomllib was called")

    monkeypatch.setattr(io_module.tomllib, "loads", boom)
    data = (HOSTILE_DIR / "dotted-key-88kb.toml").read_bytes()
    with pytest.raises(ScenarioError, match="long dotted keys are refused"):
        parse_scenario_text(data, "toml")
    ok = "a" + ".a" * MAX_DOTS_PER_LINE + " = 1\n"  # at the limit: parsed (then unknown key)
    monkeypatch.undo()
    with pytest.raises(ScenarioError, match="unknown field 'a'"):
        parse_scenario_text(ok, "toml")
    with pytest.raises(ScenarioError, match="lines"):
        parse_scenario_text("#\n" * MAX_LINES, "toml")


def test_saved_files_fit_the_budget() -> None:
    text = to_toml(load_preset(), "bofa-base", "a name with dots... v1.2.3")
    assert text.count("\n") < MAX_LINES / 10
    assert max(line.count(".") for line in text.splitlines()) <= MAX_DOTS_PER_LINE


def test_unknown_keys_are_all_reported() -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario_text(unknown_keys_json(20_000), "json")
    assert len(info.value.problems) == 20_000


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null", "/dev/urandom"])
def test_devices_are_refused_without_reading(device: str, tmp_path) -> None:
    link = tmp_path / "s.toml"
    link.symlink_to(device)
    with pytest.raises(ScenarioError, match="not a regular file"):
        load_scenario_file(link)


def test_a_fifo_is_refused_without_blocking(tmp_path) -> None:
    import os

    fifo = tmp_path / "s.toml"
    os.mkfifo(fifo)  # nobody writes: opening it for reading would wait forever
    with pytest.raises(ScenarioError, match="not a regular file"):
        load_scenario_file(fifo)
    folder = tmp_path / "folder.json"
    folder.mkdir()
    with pytest.raises(ScenarioError, match="not a regular file"):
        load_scenario_file(folder)


def test_read_regular_file_stops_at_the_limit(tmp_path) -> None:
    big = tmp_path / "big.toml"
    big.write_bytes(b"#" * 101)
    assert read_regular_file(big, limit=101) == b"#" * 101
    with pytest.raises(ScenarioError, match="allowed: at most 100"):
        read_regular_file(big, limit=100)


def test_long_paths_are_cut_and_printable() -> None:
    path = "/tmp/" + "x" * 10_000 + "\x1b[31m.toml"
    with pytest.raises(ScenarioError) as info:
        load_scenario_file(path)
    (problem,) = info.value.problems
    assert len(problem) < 200 and "\x1b" not in problem
    assert len(show_path("y" * 500)) <= 82


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("gw_built=1_0", "not a number"),
        ("gw_built=\uff13", "not a number"),  # full-width 3
        ("gw_built=\u0663", "not a number"),  # Arabic-Indic 3
        ("gw_built=0x10", "not a number"),
        ("gw_built=1 0", "not a number"),
        ("gw_built=" + "9" * 5000, "too long"),
        ("gw_built=Infinity", "not a finite number"),
        ("gw_built=1e309", "not a finite number"),
    ],
)
def test_set_number_text_is_strict(text: str, needle: str) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_assignment(text)
    (problem,) = info.value.problems
    assert needle in problem and "gw_built" in problem and len(problem) < 200


@pytest.mark.parametrize("text", ["4.5", "+4.5", "4.50", ".45e1", "45E-1", " 4.5 "])
def test_set_accepts_plain_decimals(text: str) -> None:
    assert parse_assignment(f"gw_built={text}") == ("gw_built", 4.5)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("".join(f"[x{i}.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a]\n" for i in range(1999)), "dots outside"),
        ("x = {" + ", ".join(f"k{i} = 1" for i in range(3000)) + "}\n", "key = value pairs"),
    ],
)
def test_many_keys_or_dots_are_refused_before_parsing(text: str, needle: str) -> None:
    with pytest.raises(ScenarioError, match=needle):
        parse_scenario_text(text, "toml")


def test_dots_and_equals_inside_strings_and_comments_do_not_count() -> None:
    name = "v1.2=3 " * 400  # 800 dots and 400 '=' in a string, over 16 on the line
    text = to_toml(load_preset(), "bofa-base", name) + "# " + "a.b=c " * 3000 + "\n"
    scenario, _ = parse_scenario_text(text, "toml")
    assert scenario == load_preset()
