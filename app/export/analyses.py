"""Each analysis of an export computed once, for its charts and its tables alike.

:func:`analyses` runs the tornado, the stress tests, the heatmap grid and the Monte Carlo for a
scenario once (cached per scenario), and both :func:`scenario_figures` (charts, the analysis
ones by :func:`analysis_figures` from :mod:`app.charts.analysis`) and :func:`scenario_summaries`
(workbook and report tables) read from it. It imports the chart modules; they never import it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import pandas as pd
import plotly.graph_objects as go

from app.charts import all_figures
from app.charts import analysis as ca
from app.context import ViewContext
from app.export.images import _brief
from model import Scenario, evaluate, load_preset
from model.sensitivity import grid, tornado
from model.stress import stress_tests
from model.uncertainty import MonteCarloResult, monte_carlo


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
    monte_carlo: MonteCarloResult | None = None
    notes: list[str] = field(default_factory=list)


@lru_cache(maxsize=8)
def analyses(scenario: Scenario) -> Analyses:
    """Run every analysis of the export once for ``scenario`` (cached)."""
    out = Analyses()
    try:
        out.tornado = tornado(scenario).reset_index(drop=True)
    except Exception as exc:  # an analysis bug must not block the other exports
        out.notes.append(f"sensitivity: could not be computed ({_brief(exc)})")
    try:
        xs = ca.default_heatmap_values(scenario, ca.HEATMAP_X)
        ys = ca.default_heatmap_values(scenario, ca.HEATMAP_Y)
        out.grid = grid(scenario, ca.HEATMAP_X, xs, ca.HEATMAP_Y, ys, "npv_busd")
    except Exception as exc:
        out.notes.append(f"heatmap: could not be computed ({_brief(exc)})")
    try:
        out.stress = stress_tests(scenario).reset_index(drop=True)
    except Exception as exc:
        out.notes.append(f"stress tests: could not be computed ({_brief(exc)})")
    try:
        # the default run: the same draws the Uncertainty tab shows (methodology §9)
        out.monte_carlo = monte_carlo(scenario)
    except Exception as exc:
        out.notes.append(f"Monte Carlo: could not be computed ({_brief(exc)})")
    return out


def analysis_figures(ctx: ViewContext) -> dict[str, go.Figure]:
    """The analysis charts for export: ``tornado``, ``heatmap``, ``stress_tests``, ``mc_npv``, ``mc_drivers``.

    Drawn from :func:`analyses` (each analysis runs once per export and also
    fills the workbook and report tables): tornado of NPV over the ranges of
    ``data/ranges.csv``; heatmap of NPV over capex per GW and lease rate; the stress tests of
    ``data/stress_tests.toml``; a Monte Carlo histogram of NPV. No Streamlit needed.
    """
    s = ctx.scenario
    label = ctx.label
    a = analyses(s)
    out: dict[str, go.Figure] = {}
    if a.tornado is not None:
        out["tornado"] = ca.tornado_chart(a.tornado, label)
    if a.grid is not None:
        out["heatmap"] = ca.heatmap_chart(
            a.grid, label, (getattr(s, ca.HEATMAP_X), getattr(s, ca.HEATMAP_Y))
        )
    if a.stress is not None:
        out["stress_tests"] = ca.stress_chart(a.stress, label)
    if a.monte_carlo is not None:
        mc = a.monte_carlo
        out["mc_npv"] = ca.histogram_chart(
            mc.draws["npv_busd"].to_numpy(),
            "npv_busd",
            label,
            mc.n,
            point=float(
                mc.summary["point"].to_numpy(dtype=float)[mc.summary.index.get_loc("npv_busd")]
            ),
        )
        out["mc_drivers"] = ca.drivers_chart(mc.drivers, label)
    return out


def scenario_figures(
    ctx: ViewContext, *, analysis: bool = True
) -> tuple[dict[str, go.Figure], list[str]]:
    """Every chart the dashboard draws for this scenario, keyed by file-safe name.

    Returns the figures and notes about any chart group that failed to build (so a failing
    analysis chart never blocks exporting the main charts).
    """
    figures: dict[str, go.Figure] = {}
    notes: list[str] = []
    builders: list[tuple[str, Callable[[ViewContext], dict[str, go.Figure]]]] = [
        ("main charts", all_figures)
    ]
    if analysis:
        builders.append(("analysis charts", analysis_figures))
    for label, build in builders:
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
        summary = mc.summary.reset_index()
        summary.insert(1, "draws", mc.n)
        summary.insert(2, "seed", mc.seed)
        out["monte_carlo_summary"] = summary
        out["monte_carlo_drivers"] = mc.drivers.reset_index(drop=True)
    return out
