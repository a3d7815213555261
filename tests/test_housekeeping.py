"""One fact in one place, and the project's own tooling: Hypothesis profiles for every test, the
fast inner loop and the equivalence check in the Makefile, the runtime dependencies limited to
what the app imports."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]
#: The profile in force when this module was imported (collection order: "h" before "p", so a
#: profile loaded from tests/test_properties.py was not yet in force here).
PROFILE_AT_IMPORT = settings.default


def test_every_test_module_gets_the_derandomized_profile() -> None:
    assert PROFILE_AT_IMPORT.derandomize is True
    assert PROFILE_AT_IMPORT.deadline is None


def _imported_modules(folder: str) -> set[str]:
    found: set[str] = set()
    for path in (ROOT / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found


def test_salib_is_a_test_oracle_only() -> None:
    """SALib checks the Monte Carlo drivers in the tests; the app never imports it."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {d.split(">")[0].split("=")[0].strip().lower() for d in project["dependencies"]}
    dev = {
        d.split(">")[0].split("=")[0].strip().lower()
        for d in project["optional-dependencies"]["dev"]
    }
    assert "salib" not in runtime and "salib" in dev
    assert "SALib" not in _imported_modules("model") | _imported_modules("app")
    assert "SALib" in _imported_modules("tests")


def test_make_has_the_inner_loop_and_the_equivalence_check() -> None:
    for target, says in (
        ("test-fast", "--doctest-modules model"),
        ("equivalence", "scripts/check_equivalence.py compare"),
    ):
        plan = subprocess.run(
            ["make", "-n", "-o", ".venv/.synced-stamp", target],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert plan.returncode == 0, plan.stderr
        assert says in plan.stdout


# ---- units in one place: the fields table and the metrics table --------------------------------
def test_every_default_in_data_has_its_fields_unit() -> None:
    """data/assumptions.csv states each input's unit beside its source; it must be the unit of
    model/fields.py (which every message, file comment and label uses), word for word."""
    from model import FIELD_NAMES, FIELD_SPECS, assumptions

    table = assumptions()
    differ = {
        name: (table[name].unit, FIELD_SPECS[name].unit)
        for name in FIELD_NAMES
        if table[name].unit != FIELD_SPECS[name].unit
    }
    assert differ == {}


def test_metric_units_are_the_metrics_tables() -> None:
    from model import BATCH_METRICS, METRIC_UNITS
    from model.metrics import METRICS

    assert {name: spec.model_unit for name, spec in METRICS.items()} == METRIC_UNITS
    assert set(BATCH_METRICS) <= set(METRIC_UNITS)


def test_the_analysis_functions_have_runnable_examples() -> None:
    """Each has a numpydoc example (run by ``pytest --doctest-modules model``, make test-fast)."""
    import doctest

    from model import evaluate_batch
    from model.sensitivity import breakeven, grid, tornado
    from model.stress import stress_tests

    for func in (tornado, grid, breakeven, stress_tests, evaluate_batch):
        examples = doctest.DocTestParser().get_examples(func.__doc__ or "")
        assert examples, f"{func.__name__} has no example"


def test_deleted_unused_functions_stay_gone() -> None:
    """Functions nothing called (found by searching model/, app/, tests/ and scripts/)."""
    import model.derived
    import model.stress

    assert not hasattr(model.stress, "changed_fields")
    assert not hasattr(model.derived, "procured_result")


# ---- the browser tests wait for states, not for times (tests/browser/waits.py) -----------------
def test_browser_tests_wait_for_states_with_one_ceiling() -> None:
    """No fixed pause, and every explicit timeout is the shared generous ceiling, so a busy
    machine slows the suite down instead of failing it."""
    import re

    folder = ROOT / "tests" / "browser"
    for path in sorted(folder.glob("*.py")):
        text = path.read_text()
        assert "wait_for_timeout(" not in text, path.name
        if not path.name.startswith("test_"):  # conftest's server shutdown falls back to kill
            continue
        for found in re.finditer(r"timeout(?:_s)?=([^,)\n]+)", text):
            assert "STATE_CEILING_MS" in found.group(1), (path.name, found.group())
    conftest = (folder / "conftest.py").read_text()
    assert "expect.set_options(timeout=STATE_CEILING_MS)" in conftest
    assert "with_ceiling(context)" in conftest


# ---- one tax dispatch: every cash tax through model.tax.cash_tax (methodology §3, §11.2) -----
def test_the_engine_dispatches_tax_in_one_place() -> None:
    """The engine's unlevered tax and the breakeven's trial rates both call ``cash_tax`` (its
    closed form for stand-alone rows with unlimited loss offset); no copy of that test or of the
    closed form is left in the engine."""
    from model import engine

    source = (ROOT / "model" / "engine.py").read_text()
    assert not hasattr(engine, "_tax_with_carryforward")
    assert "carryforward_increments" not in source
    assert "simple_tax" not in source
    assert source.count("cash_tax(") == 2  # _unlevered_tax and the breakeven's trial rates


# ---- no import cycle: the analysis charts live in app/charts/, the export imports them ---------
def _import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports, from every import statement (those inside
    functions too, so a local import cannot hide a cycle); the ``model`` package's own
    re-exports left out (its submodules import names from it by design)."""
    paths = {}
    for folder in ("app", "model"):
        for path in (ROOT / folder).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            paths[".".join(parts)] = path
    paths.pop("model")
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name in paths}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                deps |= {node.module} & paths.keys()
                deps |= {f"{node.module}.{a.name}" for a in node.names} & paths.keys()
        graph[name] = deps - {name}
    return graph


def test_no_import_cycle_in_app_or_model() -> None:
    graph = _import_graph()
    assert "app.charts.analysis" in graph and "app.charts_analysis" not in graph

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            for nxt in graph[todo.pop()]:
                if nxt == goal:
                    return True
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return False

    cycles = sorted(m for m in graph if reaches(m, m))
    assert cycles == []


def test_the_chart_modules_load_without_the_export() -> None:
    """Importing every chart module (a fresh interpreter) loads no ``app.export`` module: the
    export imports the charts, never the other way round."""
    code = (
        "import sys, app.charts, app.charts.analysis; "
        "print(sorted(m for m in sys.modules if m.startswith('app.export')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_no_exception_is_swallowed_in_the_export_of_analyses() -> None:
    """Every ``except Exception`` in app/export/analyses.py records what failed in a note (no
    bare ``pass`` leaving a table out without a word)."""
    tree = ast.parse((ROOT / "app" / "export" / "analyses.py").read_text(encoding="utf-8"))
    handlers = [n for n in ast.walk(tree) if isinstance(n, ast.ExceptHandler)]
    assert handlers
    for node in handlers:
        assert not all(isinstance(s, ast.Pass) for s in node.body), node.lineno


# ---- one formatter path: the app formats money, percent and metrics with model/metrics.py ------
def test_the_app_has_no_formatter_of_its_own() -> None:
    """No ``fmt_*`` function or alias in app/: money, percent and metric figures come from
    :mod:`model.metrics` as they are (the dashboard, the CLI and the exports read the same)."""
    import app.ui

    assert not [name for name in dir(app.ui) if name.startswith("fmt_")]
    for path in (ROOT / "app").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.Assign):
                names = (
                    [node.name]
                    if isinstance(node, ast.FunctionDef)
                    else [t.id for t in node.targets if isinstance(t, ast.Name)]
                )
                assert not [n for n in names if n.startswith("fmt_")], path.name


# ---- the Monte Carlo split by job, its names importable from model.uncertainty as before --------
#: The public names of model.uncertainty before the split (and the private ones other modules use).
UNCERTAINTY_NAMES = [
    "DEFAULT_DRAWS",
    "DEFAULT_SEED",
    "FOLLOW",
    "KINDS",
    "MAX_DRAWS",
    "SESSION_MAX_DRAWS",
    "DefaultDistributions",
    "Distribution",
    "GapExplanation",
    "MonteCarloError",
    "MonteCarloResult",
    "available_cores",
    "check_session_draws",
    "check_workers",
    "column_stats",
    "copula_matrix",
    "default_distributions",
    "default_spec",
    "format_field",
    "format_metric",
    "is_percent_field",
    "monte_carlo",
    "parse_distribution",
    "percentiles_linear",
    "rbd_fast",
    "sample_inputs",
    "summarise",
    "_check_scale_base",
    "_explain_gap",
    "_gap_table",
]


def test_the_monte_carlo_is_split_by_job() -> None:
    import importlib

    import model.uncertainty

    folder = ROOT / "model" / "uncertainty"
    jobs = ("common", "distributions", "sampling", "statistics", "drivers", "run")
    assert sorted(p.stem for p in folder.glob("*.py")) == sorted([*jobs, "__init__"])
    for job in jobs:
        module = importlib.import_module(f"model.uncertainty.{job}")
        assert module.__doc__, job
        assert len((folder / f"{job}.py").read_text().splitlines()) <= 500, job
    missing = [n for n in UNCERTAINTY_NAMES if not hasattr(model.uncertainty, n)]
    assert missing == []
    assert (
        model.uncertainty.monte_carlo
        is importlib.import_module("model.uncertainty.run").monte_carlo
    )


def test_the_sweep_grids_are_defined_once() -> None:
    """The pricing-pressure sweeps' grids (and the illustrative Crusoe deal) are model/derived.py's;
    the charts use the same objects, not copies (methodology §10)."""
    import app.charts.base
    import model.derived

    for name in ("MULTIPLIER_GRID", "INDEX_GRID", "ELASTICITY_GRID", "ILLUSTRATIVE_PROCURED_GW"):
        assert getattr(app.charts.base, name) is getattr(model.derived, name), name
    assert "np.linspace" not in (ROOT / "app" / "charts" / "base.py").read_text()
