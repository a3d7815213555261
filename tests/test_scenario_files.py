"""Scenario files: round trips, and a corpus of bad files that each get a clear message.

Covers the parser (``model.io.parse_scenario_text``), the upload reader of the sidebar
(``app.views.scenario_files.read_upload``) and its Markdown escaping. The upload widget itself is
exercised through the running dashboard in ``tests/test_hardening.py``.
"""

from __future__ import annotations

import json

import pytest
from old_meanings import OLD_MEANINGS

from app.views.scenario_files import escape_markdown, read_upload, show_name
from model import FIELD_NAMES, FIELD_SPECS, ScenarioError, load_preset, preset_ids
from model.io import MAX_FILE_BYTES, load_scenario_file, parse_scenario_text, to_json, to_toml

BASE = load_preset("bofa-base")
CHANGED = BASE.replace(gw_built=4.5, wacc=0.0925, build_years=3, efficiency_multiplier=2.25)


def _toml_with(line: str) -> str:
    return f'format = "ai-dc-returns/scenario"\nversion = 1\npreset = "bofa-base"\n\n[scenario]\n{line}\n'


def _json_with(fields: object, **top: object) -> str:
    doc = {"format": "ai-dc-returns/scenario", "version": 1, "preset": "bofa-base"}
    doc.update(top)  # type: ignore[arg-type]
    doc["scenario"] = fields  # type: ignore[assignment]
    return json.dumps(doc)


# ---- round trips -------------------------------------------------------------------------------
@pytest.mark.parametrize("preset", preset_ids())
@pytest.mark.parametrize("fmt", ["toml", "json"])
def test_every_preset_round_trips(preset: str, fmt: str) -> None:
    scenario = load_preset(preset)
    text = to_toml(scenario, preset) if fmt == "toml" else to_json(scenario, preset)
    back, back_preset = parse_scenario_text(text, fmt)
    assert back == scenario
    assert back_preset == preset


@pytest.mark.parametrize("fmt", ["toml", "json"])
def test_changed_scenario_round_trips_through_a_file(tmp_path, fmt: str) -> None:
    path = tmp_path / f"s.{fmt}"
    text = to_toml(CHANGED, "bofa-bull") if fmt == "toml" else to_json(CHANGED, "bofa-bull")
    path.write_text(text, encoding="utf-8")
    back, preset = load_scenario_file(path)
    assert back == CHANGED
    assert preset == "bofa-bull"
    assert back.diff(CHANGED) == {}


def test_upload_reader_accepts_what_the_app_writes() -> None:
    for name, text in [("a.toml", to_toml(CHANGED)), ("b.JSON", to_json(CHANGED))]:
        scenario, preset = read_upload(name, text.encode())
        assert scenario == CHANGED
        assert preset == "bofa-base"


def test_flat_table_is_read_over_the_default_preset() -> None:
    scenario, preset = parse_scenario_text("gw_built = 2.5\n", "toml")
    assert preset == "bofa-base"
    # no version: it may predate entrant_profile, so it keeps the builder as entrant (section 4.2)
    assert scenario == BASE.replace(
        gw_built=2.5,
        **OLD_MEANINGS,
    )


# ---- the bad-file corpus -----------------------------------------------------------------------
# (label, file name, content, text every message set must contain)
BAD_FILES: list[tuple[str, str, bytes, str]] = [
    ("malformed TOML", "s.toml", b"[scenario\ngw_built = 3", "malformed TOML"),
    ("TOML missing value", "s.toml", _toml_with("gw_built =").encode(), "malformed TOML"),
    ("malformed JSON", "s.json", b'{"scenario": {"gw_built": 3,}}', "malformed JSON"),
    ("JSON truncated", "s.json", b'{"scenario": {"gw_built": ', "malformed JSON"),
    ("empty JSON", "s.json", b"", "file is empty"),
    ("empty TOML", "s.toml", b"", "file is empty"),
    ("blank TOML", "s.toml", b"\n  \n# only a comment\n", "file is empty"),
    ("empty JSON object", "s.json", b"{}", "file is empty"),
    ("JSON is a list", "s.json", b"[1, 2, 3]", "table of fields"),
    ("JSON is a string", "s.json", b'"gw_built"', "table of fields"),
    ("string value", "s.toml", _toml_with('gw_built = "3"').encode(), "gw_built"),
    ("boolean value", "s.toml", _toml_with("gw_built = true").encode(), "gw_built"),
    ("array value", "s.toml", _toml_with("gw_built = [3]").encode(), "gw_built"),
    ("table value", "s.json", _json_with({"gw_built": {"v": 3}}).encode(), "gw_built"),
    ("null value", "s.json", _json_with({"gw_built": None}).encode(), "gw_built"),
    ("negative", "s.toml", _toml_with("gw_built = -3.0").encode(), "out of range"),
    ("past the upper bound", "s.toml", _toml_with("wacc = 7.5").encode(), "wacc"),
    ("1e309 in JSON", "s.json", b'{"scenario": {"gw_built": 1e309}}', "finite"),
    ("NaN in JSON", "s.json", b'{"scenario": {"gw_built": NaN}}', "NaN"),
    ("Infinity in JSON", "s.json", b'{"scenario": {"gw_built": Infinity}}', "Infinity"),
    ("-Infinity in JSON", "s.json", b'{"scenario": {"gw_built": -Infinity}}', "Infinity"),
    ("nan in TOML", "s.toml", _toml_with("gw_built = nan").encode(), "finite"),
    ("inf in TOML", "s.toml", _toml_with("wacc = inf").encode(), "finite"),
    ("fractional integer field", "s.toml", _toml_with("build_years = 2.5").encode(), "whole"),
    ("unknown field", "s.toml", _toml_with("gw_bilt = 3.0").encode(), "did you mean gw_built"),
    ("unknown top-level key", "s.json", _json_with({}, run="rm -rf /").encode(), "'run'"),
    ("unknown preset", "s.json", _json_with({}, preset="<script>").encode(), "preset"),
    ("wrong format id", "s.json", _json_with({}, format="other").encode(), "format"),
    ("wrong version", "s.json", _json_with({}, version=99).encode(), "version"),
    ("scenario not a table", "s.json", _json_with([1, 2]).encode(), "table"),
    (
        "shares above one",
        "s.toml",
        _toml_with("lease_share = 0.8\nhosting_share = 0.5").encode(),
        "exceeds 1",
    ),
    ("deep JSON nesting", "s.json", b"[" * 100_000 + b"]" * 100_000, "nested"),
    ("deep JSON objects", "s.json", b'{"a":' * 50_000 + b"1" + b"}" * 50_000, ""),
    ("deep TOML nesting", "s.toml", b"x = " + b"[" * 50_000 + b"]" * 50_000, ""),
    ("oversize", "s.toml", b"# " + b"x" * MAX_FILE_BYTES + b"\n", f"{MAX_FILE_BYTES + 3:,} bytes"),
    ("not UTF-8", "s.toml", "gw_built = 3.0 # caf\u00e9".encode("latin-1"), "UTF-8"),
    ("UTF-16", "s.json", '{"gw_built": 3}'.encode("utf-16"), "UTF-8"),
    ("binary junk", "s.json", bytes(range(256)) * 4, "UTF-8"),
    (
        "code in a string",
        "s.toml",
        _toml_with("gw_built = \"__import__('os').system('id')\"").encode(),
        "not a number",
    ),
]


@pytest.mark.parametrize(
    ("label", "name", "data", "expected"), BAD_FILES, ids=[b[0] for b in BAD_FILES]
)
def test_bad_file_gets_a_clear_message(label: str, name: str, data: bytes, expected: str) -> None:
    with pytest.raises(ScenarioError) as info:
        read_upload(name, data)
    problems = info.value.problems
    assert problems, label
    text = " | ".join(problems)
    assert expected in text
    # one line per problem, bounded, no Python internals
    for p in problems:
        assert "\n" not in p
        assert len(p) < 400, p
        assert "Traceback" not in p


def test_every_value_problem_is_reported_at_once() -> None:
    text = _toml_with('gw_built = -1.0\nwacc = "x"\npue = 9.0\nnot_a_field = 1')
    with pytest.raises(ScenarioError) as info:
        parse_scenario_text(text, "toml")
    joined = " | ".join(info.value.problems)
    for name in ("gw_built", "wacc", "pue", "not_a_field"):
        assert name in joined
    assert len(info.value.problems) == 4
    assert FIELD_SPECS["pue"].range_text() in joined


def test_messages_name_field_value_and_range() -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario_text(_toml_with("capex_per_gw_busd = 500.0"), "toml")
    (message,) = info.value.problems
    assert "capex_per_gw_busd" in message
    assert "500" in message
    assert FIELD_SPECS["capex_per_gw_busd"].range_text() in message


def test_oversize_is_refused_before_decoding() -> None:
    # not UTF-8 and too big: the size is what is reported
    with pytest.raises(ScenarioError) as info:
        read_upload("s.toml", b"\xff" * (MAX_FILE_BYTES + 1))
    assert "bytes" in info.value.problems[0]
    assert "UTF-8" not in info.value.problems[0]


def test_exactly_the_limit_is_accepted() -> None:
    body = to_toml(CHANGED).encode()
    padded = body + b"#" * (MAX_FILE_BYTES - len(body))
    assert len(padded) == MAX_FILE_BYTES
    scenario, _ = read_upload("s.toml", padded)
    assert scenario == CHANGED


@pytest.mark.parametrize("name", ["s.txt", "s.py", "scenario", "s.toml.exe", ".json.sh"])
def test_upload_needs_a_toml_or_json_name(name: str) -> None:
    with pytest.raises(ScenarioError) as info:
        read_upload(name, b"gw_built = 3.0")
    assert ".toml or .json" in info.value.problems[0]


def test_hostile_file_name_is_shown_truncated_and_printable() -> None:
    shown = show_name("<img src=x onerror=alert(1)>\n" + "a" * 200 + ".toml")
    assert len(shown) <= 62
    assert "\n" not in shown


@pytest.mark.parametrize(
    "payload",
    [
        "<script>alert(1)</script>",
        "[click](javascript:alert(1))",
        "![x](http://example.com/x.png)",
        ":material/warning: **bold** $x^2$ `code`",
        "line1\nline2",
    ],
)
def test_escape_markdown_leaves_no_markup(payload: str) -> None:
    escaped = escape_markdown(payload)
    assert "\n" not in escaped
    # every ASCII punctuation character is backslash-escaped
    for i, ch in enumerate(escaped):
        if ch.isascii() and not ch.isalnum() and ch not in " \\":
            assert escaped[i - 1] == "\\", (payload, escaped)


def test_fields_written_are_all_the_fields() -> None:
    doc = json.loads(to_json(BASE))
    assert list(doc["scenario"]) == list(FIELD_NAMES)
    toml_text = to_toml(BASE)
    for name in FIELD_NAMES:
        assert f"\n{name} = " in toml_text


def test_upload_limit_is_the_same_everywhere() -> None:
    """The uploader's stated limit, Streamlit's limit and the parser's limit agree (1 MB)."""
    import tomllib
    from pathlib import Path

    from app.views.scenario_files import UPLOAD_LIMIT_MB

    config = tomllib.loads(
        (Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml").read_text()
    )
    assert config["server"]["maxUploadSize"] == UPLOAD_LIMIT_MB == 1
    assert MAX_FILE_BYTES == UPLOAD_LIMIT_MB * 1_000_000 < 1024 * 1024 - 4096
    source = (Path(__file__).resolve().parents[1] / "app/views/scenario_files.py").read_text()
    assert "256 KB" not in source
