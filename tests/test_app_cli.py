"""``python -m app export``: the round trip of every file, bad input, and no Chromium.

The full export runs in-process (sharing the session's one kaleido browser with
tests/test_export.py); a few runs go through a real subprocess to prove the exit codes and that no
traceback ever reaches the terminal.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from app import cli, export
from app.charts import all_figures
from model import load_preset
from model.io import load_scenario_file, to_json

ROOT = Path(__file__).resolve().parents[1]
SCRIPT_SRC = re.compile(r"<script[^>]*\bsrc\s*=", re.I)
EXPECTED = load_preset("bofa-bull").replace(gw_built=6.0, wacc=0.095, efficiency_multiplier=3.0)


def _need_chromium() -> None:
    if Path("/usr/bin/chromium").exists() or export.images_available():
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("CI=true but Chromium is missing: image export cannot be tested")
    pytest.skip("Chromium not installed (image export needs it)")


@pytest.fixture(scope="module")
def full_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, list[str]]:
    """One export of every format for a scenario file plus a --set override."""
    _need_chromium()
    base = tmp_path_factory.mktemp("cli")
    scenario_file = base / "in.json"
    scenario_file.write_text(to_json(EXPECTED.replace(efficiency_multiplier=1.5), "bofa-bull"))
    out = base / "out"
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = cli.main(
            [
                "export",
                "--scenario",
                str(scenario_file),
                "--set",
                "efficiency_multiplier=3",
                "--out",
                str(out),
            ]
        )
    return out, code, buffer.getvalue().splitlines()


def test_round_trip_every_file_is_there_and_valid(full_export) -> None:
    out, code, lines = full_export
    assert code == 0
    ctx = export.make_context(EXPECTED, "bofa-bull")
    charts, notes = export.scenario_figures(ctx)
    assert notes == []
    assert set(all_figures(ctx)) <= set(charts)  # the dashboard's charts, plus analysis ones
    for name in charts:
        png = (out / f"{name}.png").read_bytes()
        assert png.startswith(b"\x89PNG\r\n\x1a\n"), name
        pdf = (out / f"{name}.pdf").read_bytes()
        assert pdf.startswith(b"%PDF-"), name
        root = ET.parse(out / f"{name}.svg").getroot()
        assert root.tag.endswith("svg"), name
        page = (out / f"{name}.html").read_text(encoding="utf-8")
        # offline: the only script loaded is the one plotly.js written beside the pages
        assert SCRIPT_SRC.findall(page) == ['<script charset="utf-8" src='], name
        assert f'src="{export.PLOTLY_JS}"' in page and (out / export.PLOTLY_JS).is_file()
        assert "Plotly.newPlot" in page
    report = (out / "report.html").read_text(encoding="utf-8")
    assert not SCRIPT_SRC.search(report)
    assert report.count("Plotly.newPlot") >= len(charts)
    # the workbook opens and has the sheets
    wb = load_workbook(out / "workbook.xlsx", read_only=True)
    for sheet in ("Inputs", "Cash flows", "Returns", "input_sources", "cash_flows", "metrics"):
        assert sheet in wb.sheetnames
    if "tornado" in charts:  # the analysis module is there: its summaries are in the workbook
        assert {"sensitivity_npv", "monte_carlo_summary"} <= set(wb.sheetnames)
    # CSVs parse
    cf = pd.read_csv(out / "cash_flows.csv", header=1)  # row 0: labels with units
    assert {"year", "revenue", "fcf"} <= set(cf.columns)
    metrics = pd.read_csv(out / "metrics.csv", header=1)
    assert "npv_busd" in set(metrics["metric"])
    conditions = pd.read_csv(out / "conditions.csv")
    assert list(conditions.columns) == ["Condition", "Severity", "What it means for this result"]
    # the scenario file loads back to the same Scenario
    scenario, preset = load_scenario_file(out / "scenario.toml")
    assert scenario == EXPECTED
    assert preset == "bofa-bull"
    # a progress line per file, and nothing else written
    written = sorted(p.name for p in out.iterdir())
    wrote = [ln for ln in lines if ln.startswith("wrote ")]
    assert len(wrote) == len(written)
    # + scenario, cash flows, metrics, conditions, workbook, report and the chart pages'
    # shared plotly.min.js
    assert len(written) == 4 * len(charts) + 7
    assert lines[-1].startswith(f"done: {len(written)} files")


def test_exported_metrics_match_the_model(full_export) -> None:
    out, _, _ = full_export
    from model import evaluate

    metrics = pd.read_csv(out / "metrics.csv", header=1).set_index("metric")
    assert metrics.loc["npv_busd", "value"] == pytest.approx(evaluate(EXPECTED).npv_busd)


# ---- bad input: exit 2, one line naming the problem, nothing written -------------------------
BAD_ARGS: list[tuple[str, list[str], str]] = [
    ("unknown preset", ["--preset", "nope"], "preset = 'nope' is unknown"),
    ("script preset", ["--preset", "<script>alert(1)</script>"], "is unknown"),
    ("unknown field", ["--set", "gw_bilt=3"], "did you mean gw_built"),
    ("not a number", ["--set", "gw_built=abc"], "gw_built = 'abc' is not a number"),
    ("nan", ["--set", "wacc=nan"], "not a finite number"),
    ("1e309", ["--set", "wacc=1e309"], "not a finite number"),
    ("out of range", ["--set", "gw_built=-3"], "out of range"),
    ("no equals", ["--set", "gw_built"], "field=value"),
    ("bad format", ["--formats", "png,gif"], "'gif' is not a format"),
    ("empty formats", ["--formats", ","], "--formats is empty"),
    ("both sources", ["--preset", "bofa-base", "--scenario", "x.toml"], "not allowed with"),
    ("missing file", ["--scenario", "/nonexistent/s.toml"], "cannot read scenario file"),
    ("wrong suffix", ["--scenario", "/etc/hostname"], "must end in .toml or .json"),
    ("unknown option", ["--evil"], "unrecognized arguments"),
]


@pytest.mark.parametrize(("label", "args", "says"), BAD_ARGS, ids=[b[0] for b in BAD_ARGS])
def test_bad_input_exits_2_with_one_line(
    label: str, args: list[str], says: str, tmp_path, capsys
) -> None:
    out = tmp_path / "out"
    try:
        code = cli.main(["export", *args, "--out", str(out)])
    except SystemExit as exc:  # argparse errors
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ")
    assert says in lines[0]
    assert not out.exists()


def test_bad_scenario_file_lists_its_problems_on_one_line(tmp_path, capsys) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[scenario]\ngw_built = -1.0\npue = 'high'\n")
    code = cli.main(["export", "--scenario", str(bad), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and "gw_built" in err[0] and "pue" in err[0]


def test_out_that_is_a_file_is_refused(tmp_path, capsys) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    code = cli.main(["export", "--out", str(target), "--formats", "csv"])
    assert code == 2
    assert "is not a folder" in capsys.readouterr().err


def test_subprocess_bad_input_has_no_traceback(tmp_path) -> None:
    for args in (
        ["export", "--preset", "<img src=x onerror=alert(1)>", "--out", str(tmp_path / "a")],
        [],
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "app", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr + proc.stdout
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


# ---- without Chromium -----------------------------------------------------------------------
def test_without_chromium_default_formats_still_write_the_rest(
    tmp_path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")
    out = tmp_path / "out"
    code = cli.main(["export", "--preset", "bofa-base", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0
    names = {p.name for p in out.iterdir()}
    assert {
        "report.html",
        "workbook.xlsx",
        "cash_flows.csv",
        "metrics.csv",
        "scenario.toml",
        "cash_flows.html",
    } <= names
    assert not any(n.endswith((".png", ".svg", ".pdf")) for n in names)
    assert "needs Chromium" in captured.err


def test_without_chromium_asking_for_images_exits_3(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")
    out = tmp_path / "out"
    code = cli.main(["export", "--out", str(out), "--formats", "png,csv"])
    captured = capsys.readouterr()
    assert code == cli.EXIT_IMAGES_UNAVAILABLE == 3
    assert {p.name for p in out.iterdir()} == {
        "scenario.toml",
        "cash_flows.csv",
        "metrics.csv",
        "conditions.csv",
    }
    assert captured.err.strip().splitlines()[-1].startswith("error: images not written")


# ---- unusable --out: refused before anything is exported ------------------------------------
@pytest.mark.parametrize(
    ("label", "out", "says"),
    [
        ("empty", "", "--out is empty"),
        ("blank", "   ", "--out is empty"),
        ("over-long path", "/tmp/" + "a" * 10_000, "is too long"),
        ("over-long name", "/tmp/" + "b" * 300 + "/x", "is too long"),
        ("NUL in path", "/tmp/a\x00b", "NUL"),
        ("not creatable", "/proc/no-such-folder/x", "cannot be created"),
        ("not writable", "/proc", "is not writable"),
    ],
)
def test_unusable_out_exits_2_with_one_line(label, out, says, capsys, monkeypatch) -> None:
    called = []
    monkeypatch.setattr(export, "write_exports", lambda *a, **k: called.append(a))
    code = cli.main(["export", "--formats", "csv", "--out", out])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and called == []
    assert len(err) == 1 and says in err[0], err
    assert len(err[0]) < 300  # the path is cut


def test_out_folder_is_created_and_probed(tmp_path) -> None:
    out = tmp_path / "a" / "b"
    assert cli.prepare_out(str(out)) == out
    assert out.is_dir() and list(out.iterdir()) == []  # the probe file is gone


def test_preset_and_scenario_are_exclusive(tmp_path, capsys) -> None:
    f = tmp_path / "s.toml"
    f.write_text("[scenario]\ngw_built = 4.5\n")
    with pytest.raises(SystemExit) as info:
        cli.main(["export", "--preset", "bofa-bull", "--scenario", str(f), "--out", "o"])
    assert info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_many_problems_are_capped_on_the_one_line(tmp_path, capsys) -> None:
    from hostile_corpus import unknown_keys_json

    f = tmp_path / "many.json"
    f.write_bytes(unknown_keys_json(20_000))
    code = cli.main(["export", "--scenario", str(f), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "and 19,980 more problems" in err[0] and err[0].count("unknown field") == 20
