"""``python -m model evaluate`` in a subprocess: table, --json, --preset, --scenario, --set, and
bad input (exit status 2, one line naming the field, no traceback)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from model import ScenarioError, evaluate, load_preset
from model.io import load_scenario_file, to_json, to_toml

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = load_preset("hosting-mix").replace(gw_built=1.7, build_years=3, wacc=0.0915)


def _start(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "model", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every subprocess run of this module, started at once (interpreter start-up dominates)."""
    tmp = tmp_path_factory.mktemp("cli")
    (tmp / "s.toml").write_text(to_toml(SCENARIO, "hosting-mix"), "utf-8")
    (tmp / "s.json").write_text(to_json(SCENARIO, "hosting-mix"), "utf-8")
    cases = {
        "table": ["evaluate"],
        "json": [
            "evaluate",
            "--preset",
            "bofa-bear",
            "--set",
            "gw_built=2",
            "--set",
            "wacc = 0.09",
            "--json",
        ],
        "toml": ["evaluate", "--scenario", str(tmp / "s.toml"), "--set", "tax_rate=0.15", "--json"],
        "json_file": ["evaluate", "--scenario", str(tmp / "s.json"), "--json"],
        "bad_set": ["evaluate", "--set", "gw_built=500"],
    }
    procs = {k: _start(v) for k, v in cases.items()}
    out = {}
    for k, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=300)
        out[k] = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    return out


def test_table_output_for_the_default_preset(
    runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    p = runs["table"]
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    lines = p.stdout.splitlines()
    assert lines[0].startswith("Scenario: preset bofa-base; 3 GW at US$42.5 B per GW")
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:]}
    r = evaluate(load_preset("bofa-base"))
    assert float(rows["npv_busd"][0].replace(",", "")) == pytest.approx(r.npv_busd, abs=1e-4)
    assert rows["npv_busd"][1:] == ["US$", "B"]
    assert float(rows["gross_lease_yield"][0]) == pytest.approx(0.2941, abs=1e-4)
    assert float(rows["capex_initial_busd"][0]) == 127.5


def test_json_output_with_preset_and_set(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    p = runs["json"]
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert {"scenario", "metrics", "cash_flows", "market"} <= set(doc)
    assert doc["preset"] == "bofa-bear"
    s = load_preset("bofa-bear").replace(gw_built=2.0, wacc=0.09)
    assert doc["scenario"] == s.model_dump()
    r = evaluate(s)
    assert doc["metrics"]["npv_busd"] == pytest.approx(r.npv_busd, rel=1e-12)
    assert doc["metrics"]["irr"] == pytest.approx(r.irr, rel=1e-12)
    assert len(doc["cash_flows"]) == len(r.cash_flows)
    # calendar years beside the year index (methodology section 1)
    assert list(doc["cash_flows"][0]) == list(r.dated_cash_flows.columns)
    assert [row["year"] for row in doc["cash_flows"]] == r.calendar_years.tolist()
    assert doc["cash_flows"][0]["year"] == s.first_year and doc["cash_flows"][0]["year_index"] == 0
    assert [row["fcf"] for row in doc["cash_flows"]] == pytest.approx(
        r.cash_flows["fcf"].tolist(), rel=1e-12
    )
    assert list(doc["market"][0]) == list(r.dated_market.columns)


def test_json_has_null_for_undefined_metrics(capsys: pytest.CaptureFixture[str]) -> None:
    from model.cli import main

    # nothing sold: nothing leased, and internal capacity a cost centre (transfer price 0)
    args = ["evaluate", "--set", "lease_share=0", "--set", "residual_value_fraction=0"]
    args += ["--set", "internal_transfer_price_share=0", "--json"]
    assert main(args) == 0
    doc = json.loads(capsys.readouterr().out)  # strict JSON: no NaN
    assert doc["metrics"]["irr"] is None
    assert doc["metrics"]["payback_years"] is None


def test_scenario_files_round_trip(
    tmp_path: Path, runs: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    for fmt in ("toml", "json"):
        path = tmp_path / f"scenario.{fmt}"
        text = (
            to_toml(SCENARIO, "hosting-mix") if fmt == "toml" else to_json(SCENARIO, "hosting-mix")
        )
        path.write_text(text, "utf-8")
        loaded, preset = load_scenario_file(path)
        assert loaded == SCENARIO and preset == "hosting-mix"
    p = runs["toml"]
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["scenario"] == SCENARIO.replace(tax_rate=0.15).model_dump()
    assert doc["preset"] == "hosting-mix"
    p = runs["json_file"]
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["scenario"] == SCENARIO.model_dump()
    assert doc["metrics"]["npv_busd"] == pytest.approx(evaluate(SCENARIO).npv_busd, rel=1e-12)


def test_bad_input_in_a_subprocess(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    p = runs["bad_set"]
    assert p.returncode == 2
    assert p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert lines[0] == (
        "error: gw_built = 500.0 is out of range "
        "(allowed: a number from 0.1 to 50 GW of facility power)"
    )
    assert "Traceback" not in p.stderr


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    from model.cli import main

    for argv in (["frobnicate"], ["evaluate", "--set"], ["evaluate", "--bogus"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--set", "gw_built=500"], "gw_built"),
        (["--set", "wacc=abc"], "wacc"),
        (["--set", "wacc=nan"], "wacc"),
        (["--set", "wacc=1e400"], "wacc"),
        (["--set", "gw_biult=3"], "gw_biult"),
        (["--set", "gw_built"], "field=value"),
        (["--set", "lease_share=0.8", "--set", "hosting_share=0.5"], "lease_share + hosting_share"),
        (["--preset", "nope"], "preset"),
        (["--set", "build_years=2.5"], "build_years"),
        (["--set", "build_years=true"], "build_years"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    args: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same code path as the subprocess, in-process (fast): status 2, one line, the field."""
    from model.cli import main

    assert main(["evaluate", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ") and needle in lines[0]


def test_bad_scenario_files_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from model.cli import main

    huge = tmp_path / "huge.json"
    huge.write_text('{"scenario": {"gw_built": 1' + "0" * 400 + "}}", "utf-8")
    nan = tmp_path / "nan.json"
    nan.write_text('{"scenario": {"gw_built": NaN}}', "utf-8")
    wrong = tmp_path / "s.yaml"
    wrong.write_text("gw_built: 3\n", "utf-8")
    broken = tmp_path / "broken.toml"
    broken.write_text("[scenario\n", "utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text('[scenario]\ngw_built = "three"\n', "utf-8")
    cases = [
        (bad, "gw_built = 'three' is not a number"),
        (huge, "gw_built"),
        (nan, "NaN"),
        (tmp_path / "missing.toml", "cannot read"),
        (wrong, ".toml or .json"),
        (broken, "malformed TOML"),
    ]
    for path, needle in cases:
        assert main(["evaluate", "--scenario", str(path)]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and needle in err, err


def test_main_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    from model.cli import main

    assert main(["evaluate", "--preset", "crusoe-resale"]) == 0
    out = capsys.readouterr().out
    assert "preset crusoe-resale" in out and "npv_busd" in out
    assert main(["evaluate", "--set", "pue=9"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: pue = 9.0 is out of range") and "1 to 2.5" in err


# ---- hostile input (tests/hostile): capped, truncated, no Python internals ------------------
def _run_main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    from model.cli import main

    try:
        code = main(argv)
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code or 0)
    return code, capsys.readouterr().err.strip().splitlines()


def test_twenty_problems_then_a_count(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from hostile_corpus import unknown_keys_json

    f = tmp_path / "many.json"
    f.write_bytes(unknown_keys_json(20_000))
    code, lines = _run_main(["evaluate", "--scenario", str(f)], capsys)
    assert code == 2 and len(lines) == 21
    assert all(line.startswith("error: unknown field") for line in lines[:20])
    assert lines[20] == "error: ... and 19,980 more problems"


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("huge-int.json", "gw_built = <a number of 5,001 digits> is out of range"),
        ("huge-int.toml", "a number of 5,001 digits"),
        ("dotted-key-88kb.toml", "long dotted keys are refused"),
        ("empty.toml", "file is empty"),
        ("empty.json", "file is empty"),
        ("duplicate-keys.json", "given twice"),
        ("flat-with-preset.toml", "put inputs under [scenario]"),
    ],
)
def test_hostile_files_exit_2_with_a_clear_line(
    name: str, needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from hostile_corpus import HOSTILE_DIR

    code, lines = _run_main(["evaluate", "--scenario", str(HOSTILE_DIR / name)], capsys)
    assert code == 2 and len(lines) == 1 and needle in lines[0], lines
    assert "Exceeds the limit" not in lines[0] and "Traceback" not in lines[0]


def test_bom_files_load(capsys: pytest.CaptureFixture[str]) -> None:
    from hostile_corpus import HOSTILE_DIR

    from model.cli import main

    for name in ("bom.toml", "bom.json"):
        assert main(["evaluate", "--json", "--scenario", str(HOSTILE_DIR / name)]) == 0
        assert json.loads(capsys.readouterr().out)["scenario"]["gw_built"] == 4.5


def test_long_paths_are_truncated(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = _run_main(["evaluate", "--scenario", "/tmp/" + "p" * 10_000 + ".toml"], capsys)
    assert code == 2 and len(lines) == 1 and len(lines[0]) < 200


def test_devices_and_fifos_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import os

    link = tmp_path / "zero.toml"
    link.symlink_to("/dev/zero")
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    for path in (link, fifo):
        code, lines = _run_main(["evaluate", "--scenario", str(path)], capsys)
        assert code == 2 and "not a regular file" in lines[0]


def test_preset_and_scenario_are_exclusive(tmp_path: Path, capsys) -> None:
    from hostile_corpus import HOSTILE_DIR

    code, lines = _run_main(
        ["evaluate", "--preset", "bofa-bull", "--scenario", str(HOSTILE_DIR / "bom.toml")], capsys
    )
    assert code == 2 and len(lines) == 1 and "not allowed with argument" in lines[0]
    from model.cli import resolve_scenario

    with pytest.raises(ScenarioError, match="exclusive"):
        resolve_scenario("bofa-bull", str(HOSTILE_DIR / "bom.toml"), [])


@pytest.mark.parametrize("value", ["1_0", "\uff13", "0x3", "3 0", "9" * 5000])
def test_set_numbers_are_strict(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = _run_main(["evaluate", "--set", f"gw_built={value}"], capsys)
    assert code == 2 and len(lines) == 1 and "gw_built" in lines[0] and len(lines[0]) < 200
