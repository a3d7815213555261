"""Hardening of the running dashboard (Streamlit's AppTest, no browser).

* A corpus of bad URLs: each renders the whole page, warns naming the parameter, keeps the
  preset's value for it, never shows the raw payload unescaped, and raises nothing.
* A corpus of bad scenario files through the sidebar's upload widget: each is refused with a
  message and the current scenario is kept; a good file is loaded.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hostile_corpus import HOSTILE_DIR as HOSTILE
from hostile_corpus import unknown_keys_json
from streamlit.testing.v1 import AppTest

from app import state
from app.views.scenario_files import MESSAGE_KEY, UPLOAD_KEY
from model import FIELD_SPECS, load_preset
from model.io import MAX_FILE_BYTES, to_toml

APP = str(Path(__file__).resolve().parents[1] / "app" / "streamlit_app.py")
BASE = load_preset("bofa-base")
LONG = "9" * 5000
XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = "<img src=x onerror=alert(1)>"
MD_LINK = "[pwn](javascript:alert(1))"


def _run(params: dict[str, object]) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    return at


def _texts(at: AppTest) -> list[str]:
    """Every text the page shows (Markdown sources, alerts, captions, labels, headings)."""
    out: list[str] = []
    for kind in (
        "markdown",
        "caption",
        "warning",
        "error",
        "info",
        "success",
        "title",
        "header",
        "subheader",
        "text",
        "code",
    ):
        out += [str(e.value) for e in getattr(at, kind)]
    return out


def _assert_clean_page(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    # the dashboard drew its tabs and KPIs (not just an error box)
    assert len(at.tabs) >= 8
    assert len(at.metric) >= 6
    errors = [e.value for e in at.error]
    assert not errors, errors


# (label, query params, parameter the warning must name, text the warning must contain)
BAD_URLS: list[tuple[str, dict[str, object], str, str]] = [
    ("not a number", {"gw_built": "abc"}, "gw_built", "not a number"),
    ("empty value", {"wacc": ""}, "wacc", "not a number"),
    ("NaN", {"gw_built": "NaN"}, "gw_built", "not a finite number"),
    ("nan lower", {"pue": "nan"}, "pue", "not a finite number"),
    ("inf", {"wacc": "inf"}, "wacc", "not a finite number"),
    ("-Infinity", {"capex_per_gw_busd": "-Infinity"}, "capex_per_gw_busd", "finite"),
    ("1e309", {"gw_built": "1e309"}, "gw_built", "not a finite number"),
    ("negative", {"gw_built": "-3"}, "gw_built", "out of range"),
    ("past the upper bound", {"capex_per_gw_busd": "121"}, "capex_per_gw_busd", "out of range"),
    ("below the lower bound", {"pue": "0.99"}, "pue", "out of range"),
    ("fraction on an integer field", {"build_years": "2.5"}, "build_years", "whole number"),
    ("hex", {"gw_built": "0x10"}, "gw_built", "not a number"),
    ("very long value", {"gw_built": LONG}, "gw_built", "too long"),
    ("script payload", {"gw_built": XSS_SCRIPT}, "gw_built", "not a number"),
    ("img payload", {"wacc": XSS_IMG}, "wacc", "not a number"),
    ("markdown link payload", {"pue": MD_LINK}, "pue", "not a number"),
    ("script in a key", {XSS_SCRIPT: "1"}, "unknown URL parameter", "not a scenario input"),
    ("img in a key", {XSS_IMG: "1"}, "unknown URL parameter", "not a scenario input"),
    ("very long key", {"k" * 3000: "1"}, "unknown URL parameter", "not a scenario input"),
    ("unknown key", {"gw_bilt": "3"}, "gw_bilt", "did you mean gw_built"),
    ("repeated key", {"gw_built": ["3", "4"]}, "gw_built", "given 2 times"),
    ("repeated preset", {"preset": ["bofa-base", "bofa-bull"]}, "preset", "given 2 times"),
    ("bad preset id", {"preset": "no-such-preset"}, "preset", "unknown"),
    ("script preset id", {"preset": XSS_SCRIPT}, "preset", "unknown"),
    ("shares above one", {"lease_share": "0.9", "hosting_share": "0.9"}, "hosting_share", "exceed"),
    ("unicode junk", {"gw_built": "３\u202e\u0000"}, "gw_built", ""),
    ("digit separator", {"gw_built": "1_0"}, "gw_built", "not a number"),
    ("full-width digit", {"gw_built": "\uff13"}, "gw_built", "not a number"),
    ("Arabic-Indic digit", {"wacc": "\u0660.\u0661"}, "wacc", "not a number"),
    ("space inside", {"gw_built": "1 0"}, "gw_built", "not a number"),
]

#: Markup that would be live in Streamlit's Markdown: a "<" or "](" not escaped by a backslash.
LIVE_MARKUP = re.compile(r"(?<!\\)<\s*/?\s*(script|img)|(?<!\\)\]\((?<!\\)javascript", re.I)


def _assert_no_live_markup(texts: list[str], label: str) -> None:
    for text in texts:
        match = LIVE_MARKUP.search(text)
        assert match is None, (label, text[max(0, match.start() - 60) : match.end() + 60])


@pytest.mark.parametrize(
    ("label", "params", "names", "says"), BAD_URLS, ids=[b[0] for b in BAD_URLS]
)
def test_bad_url_renders_with_a_warning(
    label: str, params: dict[str, object], names: str, says: str
) -> None:
    at = _run(params)
    _assert_clean_page(at)
    warnings = [str(w.value) for w in at.warning]
    assert warnings, f"{label}: no warning shown"
    # the Markdown source is escaped; undo the backslashes to read it as the visitor does
    shown = [re.sub(r"\\(.)", r"\1", w) for w in warnings]
    assert any(names in w and says in w for w in shown), shown
    # nothing live: every payload appears only escaped (or cut), in every text on the page
    _assert_no_live_markup(_texts(at), label)
    # the rejected value is not used: the scenario stays on its preset for that field
    for key in params:
        if key in FIELD_SPECS and label != "shares above one":
            assert at.session_state[state.widget_key(key)] == getattr(BASE, key)


def test_long_values_are_cut_in_the_warning() -> None:
    at = _run({"pue": "1" * 63 + "x"})  # under the length cap: quoted, but truncated
    assert not at.exception
    (warning,) = [str(w.value) for w in at.warning]
    assert "1" * 45 not in warning.replace("\\", "")


def test_many_bad_params_stay_bounded() -> None:
    params = {f"junk{i}": XSS_SCRIPT for i in range(60)}
    at = _run(params)
    _assert_clean_page(at)
    (warning,) = [str(w.value) for w in at.warning]
    assert "and 40 more" in warning
    assert len(warning) < 20_000


def test_good_url_is_applied_without_warning() -> None:
    at = _run({"preset": "bofa-bull", "gw_built": "4.5", "build_years": "3"})
    _assert_clean_page(at)
    assert not at.warning
    assert at.session_state[state.widget_key("gw_built")] == 4.5
    assert at.session_state[state.widget_key("build_years")] == 3
    assert at.session_state[state.PRESET_KEY] == "bofa-bull"


# ---- uploads through the sidebar widget ------------------------------------------------------
def _upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key=UPLOAD_KEY).set_value((name, data, "application/octet-stream"))
    return at.run()


def _field_values(at: AppTest) -> dict[str, object]:
    return {k: at.session_state[state.widget_key(k)] for k in FIELD_SPECS}


def test_upload_loads_a_good_file() -> None:
    at = _run({})
    target = load_preset("bofa-bull").replace(gw_built=7.5, wacc=0.095)
    _upload(at, "mine.toml", to_toml(target, "bofa-bull").encode())
    _assert_clean_page(at)
    assert at.session_state[state.PRESET_KEY] == "bofa-bull"
    assert at.session_state[state.widget_key("gw_built")] == 7.5
    assert at.session_state[state.widget_key("wacc")] == 0.095
    loaded = [str(s.value) for s in at.success if "Loaded" in str(s.value)]
    assert len(loaded) == 1 and "mine" in loaded[0]
    # and the URL now carries the loaded scenario
    assert at.query_params.get("gw_built") == "7.5"


BAD_UPLOADS: list[tuple[str, str, bytes, str]] = [
    ("malformed TOML", "s.toml", b"[scenario\ngw_built = 3", "malformed TOML"),
    ("malformed JSON", "s.json", b"{,}", "malformed JSON"),
    ("wrong type", "s.toml", b'gw_built = "lots"', "gw_built"),
    ("extra key", "s.json", b'{"scenario": {}, "exec": "x"}', "exec"),
    ("deep nesting", "s.json", b"[" * 100_000, ""),
    ("oversize", "s.toml", b"#" * (MAX_FILE_BYTES + 10), "bytes"),
    ("not UTF-8", "s.toml", b"gw_built = 3 # \xff\xfe", "UTF"),
    ("NaN in JSON", "s.json", b'{"gw_built": NaN}', "NaN"),
    ("script name", "<script>alert(1)</script>.json", b'{"gw_built": 3e9}', "gw"),
    ("wrong suffix", "s.exe", b"gw_built = 3.0", "toml or"),
    ("quadratic dotted key", "s.toml", (HOSTILE / "dotted-key-88kb.toml").read_bytes(), "dotted"),
    ("huge integer", "s.json", (HOSTILE / "huge-int.json").read_bytes(), "5,001 digits"),
    ("duplicate keys", "s.json", (HOSTILE / "duplicate-keys.json").read_bytes(), "twice"),
    ("empty TOML", "s.toml", b"", "file is empty"),
    ("empty JSON", "s.json", b"", "file is empty"),
    (
        "inputs beside preset",
        "s.toml",
        (HOSTILE / "flat-with-preset.toml").read_bytes(),
        "[scenario]",
    ),
    ("unknown keys", "s.json", unknown_keys_json(20_000), "19,980 more"),
]


@pytest.mark.parametrize(
    ("label", "name", "data", "says"), BAD_UPLOADS, ids=[b[0] for b in BAD_UPLOADS]
)
def test_bad_upload_keeps_the_current_scenario(
    label: str, name: str, data: bytes, says: str
) -> None:
    at = _run({"gw_built": "5"})
    before = _field_values(at)
    assert before["gw_built"] == 5.0
    _upload(at, name, data)
    assert not at.exception
    assert _field_values(at) == before
    assert at.session_state[MESSAGE_KEY][0] == "error"
    errors = [str(e.value) for e in at.error]
    assert len(errors) == 1, errors
    shown = re.sub(r"\\(.)", r"\1", errors[0])
    assert "not loaded" in shown and "unchanged" in shown
    assert says in shown
    _assert_no_live_markup(_texts(at), label)


def test_sidebar_offers_the_scenario_as_toml_and_json() -> None:
    at = _run({"gw_built": "5"})
    _assert_clean_page(at)
    labels = [b.proto.label for b in at.get("download_button")]
    assert "TOML" in labels and "JSON" in labels


def test_upload_with_a_byte_order_mark_loads() -> None:
    at = _run({})
    _upload(at, "bom.toml", (HOSTILE / "bom.toml").read_bytes())
    _assert_clean_page(at)
    assert at.session_state[state.widget_key("gw_built")] == 4.5


def test_uploader_label_states_the_real_limit() -> None:
    from app.views.scenario_files import UPLOAD_LIMIT_MB

    at = _run({})
    (uploader,) = at.get("file_uploader")
    assert f"at most {UPLOAD_LIMIT_MB} MB" in uploader.proto.label
    assert uploader.proto.max_upload_size_mb == UPLOAD_LIMIT_MB
    assert MAX_FILE_BYTES == UPLOAD_LIMIT_MB * 1_000_000 < 1024 * 1024 - 4096
