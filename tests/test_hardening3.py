"""Hardening of inputs at the edges: hostile file shapes within the parse budget, exact round
trips of links and files, refused distributions, CPU quotas (docs/deploy.md, "Resource limits";
docs/methodology.md section 9 for the Monte Carlo)."""

from __future__ import annotations

import difflib

import pytest
from hostile_corpus import HOSTILE_DIR, SHAPES

import model.io as io_module
from app import state
from model import evaluate_batch, load_preset
from model.io import MAX_FILE_BYTES, MAX_TABLE_HEADERS, parse_scenario_text
from model.scenario import MAX_SUGGESTIONS, ScenarioError, make_scenario

BASE = load_preset("bofa-base")


@pytest.fixture
def suggestions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every name a "did you mean" suggestion is computed for (difflib's close matches)."""
    seen: list[str] = []
    real = difflib.get_close_matches

    def counting(word: str, *args: object, **kwargs: object) -> list[str]:
        seen.append(word)
        return real(word, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(difflib, "get_close_matches", counting)
    return seen


# ---- hostile file shapes: bounded work, every problem still reported ---------------------------
def test_field_like_unknown_keys_get_a_few_suggestions_and_every_key_a_problem(
    suggestions: list[str],
) -> None:
    """~31,700 unknown keys resembling field names: the work per key is a dict lookup, and only the
    first few get difflib's (~1 ms) suggestion; each key is still named."""
    data, fmt = SHAPES["field-like unknown JSON keys"](MAX_FILE_BYTES)
    n_keys = data.count(b":")
    assert n_keys > 30_000
    with pytest.raises(ScenarioError) as info:
        parse_scenario_text(data, fmt)
    problems = info.value.problems
    assert len(problems) == n_keys
    assert len(suggestions) <= MAX_SUGGESTIONS
    assert sum("did you mean" in p for p in problems) == MAX_SUGGESTIONS
    assert "did you mean gw_built?" in problems[0]
    assert problems[-1].startswith("unknown field") and "did you mean" not in problems[-1]


def test_unknown_table_headers_are_refused_before_tomllib(
    monkeypatch: pytest.MonkeyPatch, suggestions: list[str]
) -> None:
    """~2,000 ``[header]`` lines have no ``=`` or ``.``: the pre-scan counts them, so tomllib
    never builds their tables and no suggestion is computed."""

    def boom(_: str) -> object:
        raise AssertionError("tomllib was called")

    monkeypatch.setattr(io_module.tomllib, "loads", boom)
    data = (HOSTILE_DIR / "unknown-table-headers.toml").read_bytes()
    with pytest.raises(ScenarioError, match=r"1,999 table headers \(allowed: at most 100"):
        parse_scenario_text(data, "toml")
    assert suggestions == []


def test_table_headers_at_the_limit_are_parsed() -> None:
    """At the limit the file reaches tomllib (and is refused for its unknown keys)."""
    text = "".join(f"[t{i}]\n" for i in range(MAX_TABLE_HEADERS))
    with pytest.raises(ScenarioError) as info:
        parse_scenario_text(text, "toml")
    assert len(info.value.problems) == MAX_TABLE_HEADERS
    assert info.value.problems[0].startswith("unknown field 't0'")


def test_many_unknown_url_parameters_get_a_few_suggestions(suggestions: list[str]) -> None:
    params = {f"gw_built_{i}": "1" for i in range(200)}
    _, scenario, warnings = state.parse_query_params(params)
    assert scenario == BASE and len(warnings) == 200
    assert len(suggestions) <= MAX_SUGGESTIONS
    assert sum("did you mean" in w for w in warnings) == MAX_SUGGESTIONS


def test_many_unknown_columns_and_keywords_get_a_few_suggestions(
    suggestions: list[str],
) -> None:
    columns = {f"gw_built_{i}": [1.0] for i in range(200)}
    with pytest.raises(ScenarioError) as info:
        evaluate_batch(columns, base=BASE)
    assert len(info.value.problems) == 200 and len(suggestions) <= MAX_SUGGESTIONS
    suggestions.clear()
    with pytest.raises(ScenarioError) as info:
        make_scenario({**BASE.model_dump(), **{f"gw_built_{i}": 1.0 for i in range(200)}})
    assert len(info.value.problems) == 200 and len(suggestions) <= MAX_SUGGESTIONS
