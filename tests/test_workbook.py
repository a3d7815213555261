"""The live workbook (methodology section 13) recalculated by a real spreadsheet engine.

LibreOffice Calc (``soffice``, Debian's libreoffice-calc-nogui) recalculates every workbook of a
test session in one headless call; its values are then read back with openpyxl. Without
``soffice`` those tests are skipped, unless ``CI=true``: then a missing LibreOffice fails them.
"""

from __future__ import annotations

import fcntl
import io
import math
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from openpyxl import load_workbook

from model import Scenario, ScenarioError, evaluate, load_preset, preset_ids
from model.conditions import conditions_of
from model.curves import make_curve
from model.engine import INDEX_NAMES, LINE_NAMES
from model.fields import FIELD_SPECS
from model.workbook import (
    CASH,
    CHECK,
    CONDITIONS,
    CURVE_NOTE,
    CURVE_WARNING,
    FIRST_YEAR_COL,
    INPUTS,
    LIVE_INPUTS,
    MARKET,
    NOT_EXPRESSED_INPUTS,
    RETURN_METRICS,
    RETURNS,
    STRUCTURAL_INPUTS,
    live_workbook,
    model_metrics,
)

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
REL, ABS = 1e-6, 1e-9
EDITED_PRESETS = ("bofa-base", "market-base", "coreweave-spv", "meta-hyperion-jv")
N_RANDOM = 30
#: Live inputs edited together in one workbook (each input is edited in some workbook).
EDIT_GROUP = 7
ERRORS = ("#VALUE!", "#NAME?", "#DIV/0!", "#NUM!", "#REF!", "#N/A", "#NULL!", "Err:")


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _as_built(scenario: Scenario) -> Scenario:
    """The scenario the workbook expresses: every IT vintage refreshed (``refresh_rule``
    "always"; methodology 13 states that the rule "when_it_pays" is not expressed)."""
    return scenario.replace(refresh_rule=0)


def _random_scenarios(n: int, seed: int) -> list[Scenario]:
    """Uniform draws over every field's bounds (lease + hosting share <= 1)."""
    rng = np.random.default_rng(seed)
    # first_year (a label, methodology 1) from its own stream: the other fields' draws stay the
    # scenarios they were before it existed
    years = np.random.default_rng(seed + 1).integers(2000, 2101, n)
    out = []
    for i in range(n):
        # (an input the workbook does not express is not drawn: the draws of every other
        # field stay those of the scenarios before it)
        v = {
            k: (round(x) if s.integer else float(x))
            for k, s in FIELD_SPECS.items()
            if k != "first_year" and k not in NOT_EXPRESSED_INPUTS
            for x in [rng.uniform(s.low, s.high)]
        }
        v["hosting_share"] *= 1.0 - v["lease_share"]
        v["first_year"] = int(years[i])
        out.append(Scenario(**v))
    return out


def _edit_value(name: str, old: float, rng: np.random.Generator) -> float:
    """A new value of a live input inside its bounds (a flag flips)."""
    spec = FIELD_SPECS[name]
    if spec.integer and spec.high - spec.low == 1:
        return float(spec.high if old == spec.low else spec.low)
    for _ in range(100):
        x = rng.uniform(spec.low, spec.high)
        x = float(round(x)) if spec.integer else float(x)
        if x != old:
            return x
    raise AssertionError(name)


@dataclass
class Case:
    """A workbook to recalculate: the scenario it should equal after the edits."""

    key: str
    built_from: Scenario
    expected: Scenario
    edits: dict[str, float]


def _cases() -> list[Case]:
    cases = [Case(f"preset-{p}", load_preset(p), load_preset(p), {}) for p in preset_ids()]
    cases += [
        Case(f"random-{i}", s, s, {}) for i, s in enumerate(_random_scenarios(N_RANDOM, 2026))
    ]
    # a quote read on the market's floor (section 4.6) where that floor binds inside its tenor
    # and the builder's floor is far above it
    quote = load_preset("market-base").replace(
        entrant_profile="neocloud",
        lease_rate_tenor_years=10.0,
        hardware_cost_decline_per_year=0.3,
        other_opex_busd_per_gw_year=10.0,
        power_price_usd_per_mwh=150.0,
    )
    cases.append(Case("quote-market-floor", quote, quote, {}))
    rng = np.random.default_rng(7)
    for p in EDITED_PRESETS:
        base = load_preset(p)
        for g in range(0, len(LIVE_INPUTS), EDIT_GROUP):
            names = LIVE_INPUTS[g : g + EDIT_GROUP]
            for _ in range(100):  # redraw until the edited scenario is valid (shares sum <= 1)
                edits = {n: _edit_value(n, float(getattr(base, n)), rng) for n in names}
                typed = {n: (int(v) if FIELD_SPECS[n].integer else v) for n, v in edits.items()}
                try:
                    edited = base.replace(**typed)
                except (ScenarioError, ValueError):
                    continue
                break
            cases.append(Case(f"edit-{p}-{g}", base, edited, edits))
        # an input that sets the columns: the workbook says it needs the model
        years = base.operating_years + 1
        cases.append(Case(f"stale-{p}", base, base, {"operating_years": float(years)}))
    # a dated curve (section 4.8): exported as static values, the live formulas without it
    market = load_preset("market-base")
    cases.append(Case("curve-market-base", market.replace(lease_curve=CURVE), market, {}))
    return cases


#: A dated lease-rate curve the workbook does not express as formulas (methodology 4.8, 13).
CURVE = make_curve({2027: 14.0, 2029: 17.0, 2031: 12.0})


@dataclass
class Recalculated:
    case: Case
    book: Any  # openpyxl workbook of values


def _convert(cases: list[Case], root: Path) -> str:
    """Build, edit and save every case's workbook under ``root/in``; LibreOffice recalculates
    them all in one call into ``root/out``. Returns LibreOffice's error output."""
    src = root / "in"
    src.mkdir()
    for case in cases:
        wb = live_workbook(case.built_from, label=case.key)
        ws = wb[INPUTS]
        for row in range(2, ws.max_row + 1):
            name = ws.cell(row, 1).value
            if name in case.edits:
                ws.cell(row, 3).value = case.edits[name]
        wb.save(src / f"{case.key}.xlsx")
    done = subprocess.run(
        [
            str(SOFFICE),
            f"-env:UserInstallation={(root / 'profile').as_uri()}",
            "--headless",
            "--calc",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(root / "out"),
            *(str(src / f"{c.key}.xlsx") for c in cases),
        ],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    return done.stderr


@pytest.fixture(scope="session")
def recalculated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Recalculated]]:
    """Every case's workbook built, edited, recalculated by LibreOffice in one call, read back.

    Under pytest-xdist the workers share one set: the first to take the lock converts, the
    others wait for it and read the same files (the workbooks do not depend on the worker).
    """
    if SOFFICE is None:
        if _in_ci():
            pytest.fail("LibreOffice (soffice) not found: CI needs libreoffice-calc-nogui")
        pytest.skip("LibreOffice (soffice) not found (set CI=true to fail)")
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the run's folder, above each worker's own
    root = base / "recalculated-workbooks"
    cases = _cases()
    with open(base / "recalculated-workbooks.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "done").exists():
            if root.exists():
                shutil.rmtree(root)  # a conversion that did not finish
            root.mkdir()
            (root / "stderr.txt").write_text(_convert(cases, root))
            (root / "done").write_text("ok")
        fcntl.flock(lock, fcntl.LOCK_UN)
    books = {}
    for case in cases:
        path = root / "out" / f"{case.key}.xlsx"
        stderr = (root / "stderr.txt").read_text()[-2000:]
        assert path.exists(), f"LibreOffice did not convert {case.key}: {stderr}"
        books[case.key] = Recalculated(case, load_workbook(path, data_only=True))
    yield books


def _rows(ws: Any) -> dict[str, int]:
    return {ws.cell(r, 1).value: r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value}


def _close(got: float | None, want: float | None, scale: float = 0.0) -> bool:
    if want is None or (isinstance(want, float) and math.isnan(want)):
        return got is None
    if got is None or isinstance(got, str):
        return False
    return abs(got - want) <= REL * abs(want) + ABS * max(1.0, scale)


def _mismatches(book: Any, scenario: Scenario) -> list[str]:
    """Every cash-flow line and return metric of ``book`` against ``evaluate(scenario)``."""
    result = evaluate(_as_built(scenario))
    bad = []
    ws = book[CASH]
    rows = _rows(ws)
    n = len(result.cash_flow_columns["year"])
    for name in LINE_NAMES:
        want = result.cash_flow_columns[name]
        scale = float(np.max(np.abs(want), initial=0.0))
        for j in range(n):
            got = ws.cell(rows[name], FIRST_YEAR_COL + j).value
            if not _close(got, float(want[j]), scale):
                bad.append(f"{name}[{j}]: workbook {got}, model {want[j]}")
    # the calendar row: first_year + t (methodology section 1)
    for j, year in enumerate(result.calendar_years):
        got = ws.cell(rows["calendar_year"], FIRST_YEAR_COL + j).value
        if got != year:
            bad.append(f"calendar_year[{j}]: workbook {got}, model {year}")
    metrics = model_metrics(result)
    # MIRR needs both a positive and a negative present value; where one of them is float noise
    # (flows of 1e-15 where revenue exactly meets the costs), the model's MIRR is that noise's
    # and no spreadsheet can reproduce it: not compared there
    disc = result.cash_flow_columns["discounted_fcf"]
    noise = 1e-12 * max(1.0, float(np.abs(disc).sum()))
    smaller = min(disc[disc > 0].sum(), -disc[disc < 0].sum())
    skip = {"mirr"} if 0.0 < smaller < noise else set()
    ws = book[RETURNS]
    for name, r in _rows(ws).items():
        if name in RETURN_METRICS and name not in skip:
            got = ws.cell(r, 3).value
            if not _close(got, metrics[name]):
                bad.append(f"{name}: workbook {got}, model {metrics[name]}")
    return bad


def _status(book: Any) -> str:
    return str(book[MARKET]["B2"].value)


@pytest.mark.parametrize("kind", ["preset", "random"])
def test_every_line_and_metric_equals_the_model(recalculated, kind: str) -> None:
    """Section 13: recalculated in LibreOffice, the workbook gives the model's numbers."""
    cases = [b for k, b in recalculated.items() if k.startswith(kind + "-")]
    assert len(cases) >= (len(preset_ids()) if kind == "preset" else N_RANDOM)
    failures = {}
    for b in cases:
        bad = _mismatches(b.book, b.case.expected)
        if bad:
            failures[b.case.key] = bad[:5]
        assert _status(b.book) == "market paths are current", b.case.key
    assert not failures, failures


def test_an_analysts_edit_of_each_live_input_recalculates(recalculated) -> None:
    """Section 13: every live input, edited in ``Inputs``, moves the workbook to the model's
    numbers for the edited scenario (four presets), and the paths stay current."""
    edited: set[str] = set()
    failures = {}
    for key, b in recalculated.items():
        if not key.startswith("edit-"):
            continue
        edited |= set(b.case.edits)
        bad = _mismatches(b.book, b.case.expected)
        if bad:
            failures[f"{key} {b.case.edits}"] = bad[:5]
        assert _status(b.book) == "market paths are current", key
    assert edited == set(LIVE_INPUTS)
    assert not failures, failures


def test_an_edit_of_the_horizon_shows_the_stale_flag(recalculated) -> None:
    """The columns are the years of the horizon: a new horizon needs the model (section 13)."""
    stale = [b for k, b in recalculated.items() if k.startswith("stale-")]
    assert len(stale) == len(EDITED_PRESETS)
    for b in stale:
        assert _status(b.book) == (
            "market paths are stale: re-run the model for operating_years"
        ), b.case.key


def test_no_spreadsheet_errors_anywhere(recalculated) -> None:
    """No #VALUE!, #NAME?, #DIV/0!, #NUM! (or any error) in any recalculated cell."""
    found = []
    for key, b in recalculated.items():
        for ws in b.book.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    v = cell.value
                    if isinstance(v, str) and v.startswith(ERRORS):
                        found.append((key, ws.title, cell.coordinate, v))
    assert not found, found[:20]


def test_every_market_index_equals_the_model(recalculated) -> None:
    """Sections 4.1-4.5: each market index of ``Result.market`` is a formula row of ``Market``
    equal to the model's, year by year (presets and random scenarios)."""
    failures = []
    for key, b in recalculated.items():
        if not key.startswith(("preset-", "random-")):
            continue
        result = evaluate(_as_built(b.case.expected))
        ws = b.book[MARKET]
        rows = _rows(ws)
        for name in INDEX_NAMES:
            want = result.market_columns[name]
            scale = float(np.max(np.abs(want), initial=0.0))
            for j, w in enumerate(want):
                got = ws.cell(rows[name], FIRST_YEAR_COL + j).value
                if not _close(got, float(w), scale):
                    failures.append((key, name, j, got, float(w)))
    assert not failures, failures[:10]


# ---- without a spreadsheet engine ------------------------------------------------------------


def test_every_cash_flow_column_has_a_formula_row() -> None:
    """A new line of the model's statement cannot be forgotten: every column of
    ``Result.cash_flows`` is a named row of ``Cash flows`` with a formula in every year."""
    result = evaluate(load_preset("bofa-base"))
    wb = live_workbook(result.scenario, result)
    ws = wb[CASH]
    rows = _rows(ws)
    n = len(result.cash_flow_columns["year"])
    columns = [c for c in result.cash_flows.columns if c not in ("year", "operating")]
    assert columns
    for name in columns:
        assert name in rows, f"cash-flow column {name} has no formula row"
        assert name in wb.defined_names, name
        for j in range(n):
            v = ws.cell(rows[name], FIRST_YEAR_COL + j).value
            assert isinstance(v, str) and v.startswith("="), (name, j, v)


def test_inputs_are_named_cells_and_every_field_is_listed() -> None:
    wb = live_workbook(load_preset("coreweave-spv"))
    ws = wb[INPUTS]
    names = [ws.cell(r, 1).value for r in range(2, ws.max_row + 1)]
    assert names == list(FIELD_SPECS)
    for r, name in enumerate(names, start=2):
        dn = wb.defined_names[name]
        assert dn.attr_text == f"'{INPUTS}'!$C${r}"
        kind = "live" if name in LIVE_INPUTS else "structural: re-run"
        if name in NOT_EXPRESSED_INPUTS:  # (section 13: the workbook refreshes always)
            kind = "not expressed: always"
        assert ws.cell(r, 7).value == kind
    assert set(LIVE_INPUTS) | set(STRUCTURAL_INPUTS) | set(NOT_EXPRESSED_INPUTS) == set(FIELD_SPECS)
    for name in RETURN_METRICS:
        assert name in wb.defined_names


def test_default_workbook_is_small() -> None:
    buffer = io.BytesIO()
    live_workbook(load_preset()).save(buffer)
    assert len(buffer.getvalue()) < 1_000_000


def test_only_functions_every_spreadsheet_has() -> None:
    """No LAMBDA, LET, dynamic arrays or other functions Google Sheets or older Excel lack."""
    allowed = {
        "IF", "AND", "OR", "MIN", "MAX", "SUM", "SUMPRODUCT", "INDEX", "MATCH", "EXP", "LN",
        "INT", "ROUND", "IRR", "MIRR", "IFERROR", "COUNT", "LEN", "TRIM", "ABS", "ISNUMBER", "NA", "SUMIF", "CHOOSE",
    }  # fmt: skip
    wb = live_workbook(load_preset("meta-hyperion-jv"))

    used: set[str] = set()
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    used |= set(re.findall(r"([A-Z][A-Z0-9.]*)\(", cell.value))
    assert used <= allowed, used - allowed


def test_workbook_saves_and_opens_again(tmp_path: Path) -> None:
    """The workbook saves and opens again with its sheets in order."""
    path = tmp_path / "w.xlsx"
    live_workbook(load_preset("hosting-mix")).save(path)
    wb = load_workbook(path)
    assert wb.sheetnames[:7] == ["About", INPUTS, MARKET, "Derived", CASH, RETURNS, "Check"]


def test_conditions_sheet_says_the_hosting_cap_binds() -> None:
    """Every hosted GW at 100% (bofa-base, lease share 0): the workbook states, as a sentence,
    that the hosting cap binds (methodology section 13), as conditions.csv does; About names
    the sheet."""
    scenario = load_preset("bofa-base").model_copy(
        update={"lease_share": 0.0, "hosting_share": 1.0}
    )
    result = evaluate(_as_built(scenario))
    held = {c.code: c.text for c in conditions_of(result)}
    assert "hosting_cap_binds" in held
    wb = live_workbook(scenario, result)
    rows = [[c.value for c in row] for row in wb[CONDITIONS].iter_rows()]
    assert rows[0] == ["Condition", "Severity", "What it means for this result"]
    assert {r[0]: r[2] for r in rows[1:]} == held
    assert "hosting market-share cap binds" in held["hosting_cap_binds"]
    about = " ".join(str(c.value) for c in wb["About"]["A"] if c.value)
    assert f"'{CONDITIONS}'" in about
    # the bofa-base preset as published carries no such condition
    base = live_workbook(load_preset("bofa-base"))
    texts = [c.value for c in base[CONDITIONS]["C"]]
    assert not any("hosting market-share cap" in str(t) for t in texts)


def test_methodology_states_which_inputs_are_live() -> None:
    """Section 13: every field is live but the structural ones, which it names."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "methodology.md").read_text()
    section = text[text.index("## 13. The live workbook") :]
    live = section[section.index("**Live inputs**") : section.index("**Structural inputs**")]
    assert "every field of `model/fields.py` but the two structural ones" in live
    rest = section[section.index("**Structural inputs**") :]
    assert set(STRUCTURAL_INPUTS) <= set(re.findall(r"`(\w+)`", rest))
    assert set(LIVE_INPUTS) == set(FIELD_SPECS) - set(STRUCTURAL_INPUTS) - {"refresh_rule"}
    assert "`refresh_rule`" in section[section.index("**Not expressed**") :]


def test_check_sheet_shows_no_difference_after_recalculation(recalculated) -> None:
    """``Check`` compares the workbook with the model at export: every difference ~0."""
    for key in ("preset-bofa-base", "preset-meta-hyperion-jv", "random-2"):
        ws = recalculated[key].book[CHECK]
        seen = 0
        for r in range(4, ws.max_row + 1):
            name = ws.cell(r, 1).value
            if name in RETURN_METRICS:
                model, diff = ws.cell(r, 2).value, ws.cell(r, 4).value
                assert diff == 0 or abs(diff) <= REL * abs(model or 0.0) + ABS, (key, name, diff)
                seen += 1
            elif name in LINE_NAMES:
                total = ws.cell(r, 2).value  # sum over the years of |workbook - model|
                scale = sum(
                    abs(ws.cell(r, c).value or 0.0)
                    for c in range(FIRST_YEAR_COL, ws.max_column + 1)
                )
                assert total <= REL * scale + ABS * len(LINE_NAMES), (key, name, total)
                seen += 1
        assert seen == len(RETURN_METRICS) + len(LINE_NAMES), key


def test_a_dated_curve_is_exported_as_static_values_and_the_workbook_says_so(
    recalculated,
) -> None:
    """Section 13 (and 4.8): the workbook does not express a dated curve as formulas. It says
    so on 'About' (first lines for a scenario with a curve), and its live sheets recalculate to
    the closed form without the curve, which the model with the curve does not equal."""
    b = recalculated["curve-market-base"]
    about = " ".join(
        str(c.value) for row in b.book["About"].iter_rows() for c in row if c.value is not None
    )
    assert CURVE_NOTE in about and CURVE_WARNING in about
    assert CURVE_WARNING not in " ".join(
        str(c.value)
        for row in recalculated["preset-market-base"].book["About"].iter_rows()
        for c in row
        if c.value is not None
    )
    assert _mismatches(b.book, b.case.expected) == []  # the closed form, as stated
    assert _mismatches(b.book, b.case.built_from)  # not the curve's numbers
