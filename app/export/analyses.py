"""Each analysis of an export computed once, for its charts and its tables alike.

:func:`analyses` runs the tornado, the stress tests, the heatmap grid and the Monte Carlo for a
scenario once (cached per scenario), and both :func:`scenario_figures` (charts) and
:func:`scenario_summaries` (workbook and report tables) read from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from app.context import ViewContext
from app.export.images import _brief
from model import Scenario, evaluate, load_preset


def make_context(scenario: Scenario, preset_id: str) -> ViewContext:
    """The ViewContext the dashboard builds, for a scenario and its base preset."""
    preset = load_preset(preset_id)
    return ViewContext(
        preset_id=preset_id,
        scenario=scenario,
        result=evaluate(scenario),
        preset_scenario=preset,
        preset_result=evaluate(preset),
    )


def safe_name(name: str) -> str:
    """A file-safe chart name: lower-case letters, digits, '-' and '_' only."""
    import re

    cleaned = re.sub(r"[^a-z0-9_-]+", "_", str(name).lower()).strip("_-")
    return cleaned[:80] or "chart"


@dataclass
class Analyses:
    """The analyses of one scenario (None where one could not run; ``notes`` say why)."""

    tornado: pd.DataFrame | None = None
    grid: pd.DataFrame | None = None
    stress: pd.DataFrame | None = None
    monte_carlo: Any = None
    notes: list[str] = field(default_factory=list)


@lru_cache(maxsize=8)
def analyses(scenario: Scenario) -> Analyses:
    """Run every analysis of the export once for ``scenario`` (cached)."""
    out = Analyses()
    try:
        from model.sensitivity import tornado

        out.tornado = tornado(scenario).reset_index(drop=True)
    except Exception as exc:  # an analysis bug must not block the other exports
        out.notes.append(f"sensitivity: could not be computed ({_brief(exc)})")
    try:
        from app import charts_analysis as ca
        from model.sensitivity import grid

        xs = ca.default_heatmap_values(scenario, ca.HEATMAP_X)
        ys = ca.default_heatmap_values(scenario, ca.HEATMAP_Y)
        out.grid = grid(scenario, ca.HEATMAP_X, xs, ca.HEATMAP_Y, ys, "npv_busd")
    except Exception as exc:
        out.notes.append(f"heatmap: could not be computed ({_brief(exc)})")
    try:
        from model.stress import stress_tests

        out.stress = stress_tests(scenario).reset_index(drop=True)
    except Exception as exc:
        out.notes.append(f"stress tests: could not be computed ({_brief(exc)})")
    try:
        from model.uncertainty import monte_carlo

        # the default run: the same draws the Uncertainty tab shows (methodology §9)
        out.monte_carlo = monte_carlo(scenario)
    except Exception as exc:
        out.notes.append(f"Monte Carlo: could not be computed ({_brief(exc)})")
    return out


def scenario_figures(
    ctx: ViewContext, *, analysis: bool = True
) -> tuple[dict[str, go.Figure], list[str]]:
    """Every chart the dashboard draws for this scenario, keyed by file-safe name.

    Returns the figures and notes about any chart group that failed to load or build (so a
    failing analysis module never blocks exporting the main charts).
    """
    figures: dict[str, go.Figure] = {}
    notes: list[str] = []
    builders: list[tuple[str, str, str]] = [("main charts", "app.charts", "all_figures")]
    if analysis:
        builders.append(("analysis charts", "app.charts_analysis", "analysis_figures"))
    for label, module_name, func_name in builders:
        try:
            module = __import__(module_name, fromlist=[func_name])
            build = getattr(module, func_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:  # the module exists but an import inside it failed
                notes.append(f"{label}: could not be loaded ({_brief(exc)})")
            continue  # a chart group not in this version: nothing to export, nothing to say
        except (ImportError, AttributeError) as exc:
            notes.append(f"{label}: could not be loaded ({_brief(exc)})")
            continue
        try:
            built = build(ctx)
        except Exception as exc:  # a chart bug must not stop the other exports
            notes.append(f"{label}: could not be built ({type(exc).__name__}: {_brief(exc)})")
            continue
        for key, fig in built.items():
            name = safe_name(key)
            while name in figures:
                name += "_2"
            figures[name] = fig
    return figures, notes


def scenario_summaries(ctx: ViewContext) -> dict[str, pd.DataFrame]:
    """Sensitivity, stress and Monte Carlo summary tables for the workbook and the report.

    Read from :func:`analyses` (the same runs the analysis charts draw); anything unavailable is
    left out, never an error.
    """
    a = analyses(ctx.scenario)
    out: dict[str, pd.DataFrame] = {}
    if a.tornado is not None:
        out["sensitivity_npv"] = a.tornado
    if a.stress is not None:
        out["stress_tests"] = a.stress
    mc = a.monte_carlo
    if mc is not None:
        try:
            summary = mc.summary.reset_index()
            summary.insert(1, "draws", mc.n)
            summary.insert(2, "seed", mc.seed)
            out["monte_carlo_summary"] = summary
            out["monte_carlo_drivers"] = mc.drivers.reset_index(drop=True)
        except Exception:  # noqa: S110 (a changed Monte Carlo API: leave the table out)
            pass
    return out
