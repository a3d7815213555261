"""Hardening of inputs at the edges: hostile file shapes within the parse budget, exact round
trips of links and files, refused distributions, CPU quotas (docs/deploy.md, "Resource limits";
docs/methodology.md section 9 for the Monte Carlo)."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
from hostile_corpus import HOSTILE_DIR, SHAPES
from hypothesis import assume, given
from hypothesis import strategies as st

import model.io as io_module
from app import state
from model import (
    FIELD_NAMES,
    FIELD_SPECS,
    Scenario,
    cpus,
    engine,
    evaluate_batch,
    load_preset,
    preset_ids,
    uncertainty,
)
from model.io import MAX_FILE_BYTES, MAX_TABLE_HEADERS, parse_scenario_text, to_json, to_toml
from model.scenario import MAX_SUGGESTIONS, ScenarioError, make_scenario
from model.uncertainty import MonteCarloError, monte_carlo, sample_inputs

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


# ---- links, files and the session carry every input exactly (shortest repr) -------------------
_FLOAT_FIELDS = [name for name in FIELD_NAMES if not FIELD_SPECS[name].integer]


@st.composite
def _scenarios(draw: st.DrawFn) -> tuple[str, Scenario]:
    """A preset and a scenario with a few fields set to arbitrary floats in their ranges."""
    preset_id = draw(st.sampled_from(preset_ids()))
    names = draw(st.lists(st.sampled_from(_FLOAT_FIELDS), min_size=1, max_size=6, unique=True))
    values = {
        name: draw(st.floats(FIELD_SPECS[name].low, FIELD_SPECS[name].high, allow_nan=False))
        for name in names
    }
    try:
        scenario = load_preset(preset_id).replace(**values)
    except ScenarioError:  # lease_share + hosting_share > 1
        assume(False)
    return preset_id, scenario


def _assert_identical(a: Scenario, b: Scenario) -> None:
    """Every field bit for bit (float.hex tells 0.1 from 0.1000000000000001 and -0.0 from 0.0)."""
    for name in FIELD_NAMES:
        x, y = getattr(a, name), getattr(b, name)
        assert type(x) is type(y) and float(x).hex() == float(y).hex(), (name, x, y)


@given(_scenarios())
def test_a_link_reads_back_every_input_exactly(case: tuple[str, Scenario]) -> None:
    preset_id, scenario = case
    params = state.query_params_for(preset_id, scenario)
    read_preset, read, warnings = state.parse_query_params(params)
    assert warnings == [] and read_preset == preset_id
    _assert_identical(read, scenario)
    assert state.url_represents(params, preset_id, scenario)


def test_a_signed_zero_is_read_as_zero_so_a_link_gives_back_its_bits() -> None:
    """-0.0 and 0.0 are one input: a scenario holds 0.0, so a link (which writes the fields that
    differ from the preset's, and -0.0 == 0.0) reads back the same bits (a random example found
    a link that turned -0.0 into 0.0)."""
    scenario = BASE.replace(token_demand_growth_per_year=-0.0, hardware_cost_decline_per_year=-0.0)
    assert float(scenario.token_demand_growth_per_year).hex() == "0x0.0p+0"
    assert float(scenario.hardware_cost_decline_per_year).hex() == "0x0.0p+0"
    params = state.query_params_for("bofa-base", scenario)
    read_preset, read, warnings = state.parse_query_params(params)
    assert warnings == [] and read_preset == "bofa-base"
    _assert_identical(read, scenario)


@given(_scenarios())
def test_the_session_keeps_every_input_of_a_link_exactly(case: tuple[str, Scenario]) -> None:
    """A link's values go through the widgets' session state unrounded, so the page writes back
    the URL it read (no 12-significant-digit rounding)."""
    preset_id, scenario = case
    session: dict[str, object] = {}
    state.apply_to_session(session, preset_id, scenario)
    read, problems = state.scenario_from_session(session, load_preset(preset_id))
    assert problems == []
    _assert_identical(read, scenario)
    assert state.query_params_for(preset_id, read) == state.query_params_for(preset_id, scenario)


@given(_scenarios(), st.sampled_from(["toml", "json"]))
def test_a_file_reads_back_every_input_exactly(case: tuple[str, Scenario], fmt: str) -> None:
    preset_id, scenario = case
    text = (to_toml if fmt == "toml" else to_json)(scenario, preset_id, "round trip")
    read, read_preset = parse_scenario_text(text, fmt)
    assert read_preset == preset_id
    _assert_identical(read, scenario)


def test_a_link_spelled_differently_is_not_rewritten() -> None:
    scenario = BASE.replace(gw_built=4.5, wacc=0.0725)
    # links with fields always carry the entrant (without it they read as the old "builder")
    written = {
        "preset": "bofa-base",
        "gw_built": "4.50",
        "wacc": "7.25e-2",
        "entrant_profile": "neocloud",
        "refresh_rule": "when_it_pays",
        "facility_residual": "annuity",
    }
    assert state.url_represents(written, "bofa-base", scenario)
    plain = {
        "gw_built": "4.5",
        "wacc": "0.0725",
        "entrant_profile": "neocloud",
        "refresh_rule": "when_it_pays",
        "facility_residual": "annuity",
    }
    assert state.url_represents(plain, "bofa-base", scenario)
    assert not state.url_represents({"gw_built": "4.5", "wacc": "0.0725"}, "bofa-base", scenario)
    # a different value, a bad parameter or another preset is rewritten
    assert not state.url_represents({**written, "gw_built": "4.6"}, "bofa-base", scenario)
    assert not state.url_represents({**written, "x": "1"}, "bofa-base", scenario)
    assert not state.url_represents(written, "bofa-base", BASE)


# ---- a "scale"-following distribution below 0 is refused (docs/methodology.md section 9) -------
_SCALED_EXCESS = {
    "market_reaction_excess_return": {
        "kind": "triangular",
        "low": 0.05,
        "mode": 0.0975,
        "high": 0.15,
        "follow": "scale",
    }
}


def test_scale_following_below_zero_is_refused_naming_the_field_and_shift() -> None:
    """Scaling by v / reference < 0 flipped low and high: every draw sat near one value."""
    scenario = BASE.replace(market_reaction_excess_return=-0.25)
    for run in (
        lambda: monte_carlo(scenario, _SCALED_EXCESS, n=200),
        lambda: sample_inputs(scenario, _SCALED_EXCESS, 200, 1),
    ):
        with pytest.raises(MonteCarloError) as info:
            run()
        text = str(info.value)
        assert info.value.argument == "distributions"
        assert text.startswith("market_reaction_excess_return = -0.25")
        assert "follow = 'shift'" in text
    lognormal = {
        "market_reaction_excess_return": {
            "kind": "lognormal",
            "low": 0.05,
            "high": 0.15,
            "follow": "scale",
        }
    }
    with pytest.raises(MonteCarloError, match="absolute ranges for a lognormal"):
        monte_carlo(scenario, lognormal, n=200)


def test_scale_following_below_zero_runs_by_shift_or_absolute() -> None:
    """The remedies the message names run and keep a spread."""
    scenario = BASE.replace(market_reaction_excess_return=-0.25)
    shifted = {k: {**v, "follow": "shift"} for k, v in _SCALED_EXCESS.items()}
    draws = monte_carlo(scenario, shifted, n=400).draws["market_reaction_excess_return"]
    assert draws.min() < -0.25 < draws.max() and draws.std() > 0.01
    absolute = monte_carlo(scenario, _SCALED_EXCESS, n=400, follow_scenario=False)
    assert absolute.draws["market_reaction_excess_return"].between(0.05, 0.15).all()


def test_scale_following_at_zero_draws_zero_and_says_so() -> None:
    mc = monte_carlo(BASE.replace(power_price_usd_per_mwh=0.0), n=300)
    assert (mc.draws["power_price_usd_per_mwh"] == 0.0).all()
    assert any("every draw is 0" in note and "shift" in note for note in mc.notes)


# ---- the Monte Carlo pool respects the container's CPU quota (model/cpus.py) -------------------
def _fake_cgroup(tmp_path: Path, proc: str, files: dict[str, str]) -> tuple[Path, Path]:
    root = tmp_path / "cgroup"
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    proc_file = tmp_path / "proc-self-cgroup"
    proc_file.write_text(proc)
    return root, proc_file


@pytest.mark.parametrize(
    ("proc", "files", "quota"),
    [
        ("0::/\n", {"cpu.max": "200000 100000\n"}, 2.0),  # v2, cgroup namespace
        ("0::/\n", {"cpu.max": "max 100000\n"}, None),
        ("0::/a/b\n", {"a/b/cpu.max": "max 100000", "a/cpu.max": "150000 100000"}, 1.5),
        ("0::/a/b\n", {"a/b/cpu.max": "400000 100000", "cpu.max": "300000 100000"}, 3.0),
        ("0::/\n", {}, None),  # no controller file
        ("0::/\n", {"cpu.max": "garbage"}, None),
        # v1 (Docker before cgroup v2): quota / period, -1 = no limit
        (
            "12:cpu,cpuacct:/docker/abc\n",
            {"cpu,cpuacct/cpu.cfs_quota_us": "50000\n", "cpu,cpuacct/cpu.cfs_period_us": "100000"},
            0.5,
        ),
        (
            "3:cpu:/\n2:cpuacct:/\n",
            {"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"},
            None,
        ),
        (
            "4:cpuacct,cpu:/x\n",
            {"cpu/x/cpu.cfs_quota_us": "400000", "cpu/x/cpu.cfs_period_us": "100000"},
            4.0,
        ),
    ],
)
def test_cgroup_quota_is_read_from_v1_and_v2_files(
    tmp_path: Path, proc: str, files: dict[str, str], quota: float | None
) -> None:
    root, proc_file = _fake_cgroup(tmp_path, proc, files)
    assert cpus.cgroup_cpu_quota(root, proc_file) == quota


def test_no_proc_file_means_no_quota(tmp_path: Path) -> None:
    assert cpus.cgroup_cpu_quota(tmp_path, tmp_path / "missing") is None


def test_the_worker_count_is_capped_by_the_quota(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--cpus=2`` on a 64-core host: 2 workers, not 64 (affinity alone said 64)."""
    root, proc_file = _fake_cgroup(tmp_path, "0::/\n", {"cpu.max": "200000 100000\n"})
    monkeypatch.setattr(engine, "available_cores", lambda: 64)
    monkeypatch.setattr(cpus, "CGROUP_ROOT", root)
    monkeypatch.setattr(cpus, "PROC_SELF_CGROUP", proc_file)
    assert uncertainty.available_cores() == 2
    assert uncertainty.check_workers(0) == 2 and uncertainty.check_workers(8) == 2
    (root / "cpu.max").write_text("max 100000\n")
    assert uncertainty.check_workers(0) == 64


def test_the_batch_threads_are_capped_by_the_quota(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``evaluate_batch`` threads on a one-CPU quota: none (affinity alone said 64)."""
    from concurrent.futures import ThreadPoolExecutor

    import pandas as pd

    from model import evaluate_batch

    root, proc_file = _fake_cgroup(tmp_path, "0::/\n", {"cpu.max": "100000 100000\n"})
    monkeypatch.setattr(engine, "available_cores", lambda: 64)
    monkeypatch.setattr(cpus, "CGROUP_ROOT", root)
    monkeypatch.setattr(cpus, "PROC_SELF_CGROUP", proc_file)
    pools: list[int | None] = []

    class Recording(ThreadPoolExecutor):
        def __init__(self, max_workers: int | None = None) -> None:
            pools.append(max_workers)
            super().__init__(max_workers)

    monkeypatch.setattr(engine, "ThreadPoolExecutor", Recording)
    table = pd.DataFrame([BASE.model_dump()] * (2 * engine.CHUNK_ROWS + 1))
    assert engine.usable_cores() == 1
    evaluate_batch(table)
    assert pools == []
    (root / "cpu.max").write_text("300000 100000\n")
    assert engine.usable_cores() == 3
    with engine.batch_threads(4):  # the batch asks for 4; 3 chunks and a 3-CPU quota give 3
        evaluate_batch(table)
    assert pools == [3]
