"""Economics of AI data centers: what a GW earns, and what cheaper inference does to the returns.

The public API::

    from model import Scenario, evaluate, evaluate_batch, Result, load_preset
    from model import tornado, grid, breakeven, monte_carlo, stress_tests   # analyst toolkit

Everything is pure (no Streamlit, no Plotly), typed, and vectorised where it runs in batch.
"""

from model import finance
from model.data import DEFAULT_PRESET, assumptions, default_ranges, presets
from model.fields import FIELD_NAMES, FIELD_SPECS, GROUPS, HEADLINE_FIELDS, FieldSpec
from model.results import BATCH_METRICS, METRIC_UNITS, Result, evaluate, evaluate_batch
from model.scenario import (
    Scenario,
    ScenarioError,
    default_scenario,
    load_preset,
    make_scenario,
    preset_ids,
)
from model.sensitivity import Breakeven, breakeven, grid, tornado
from model.stress import shocks, stress_scenarios, stress_tests
from model.uncertainty import MonteCarloResult, default_distributions, monte_carlo

__all__ = [
    "BATCH_METRICS",
    "DEFAULT_PRESET",
    "FIELD_NAMES",
    "FIELD_SPECS",
    "GROUPS",
    "HEADLINE_FIELDS",
    "METRIC_UNITS",
    "Breakeven",
    "FieldSpec",
    "MonteCarloResult",
    "Result",
    "Scenario",
    "ScenarioError",
    "assumptions",
    "breakeven",
    "default_distributions",
    "default_ranges",
    "default_scenario",
    "evaluate",
    "evaluate_batch",
    "finance",
    "grid",
    "load_preset",
    "make_scenario",
    "monte_carlo",
    "preset_ids",
    "presets",
    "shocks",
    "stress_scenarios",
    "stress_tests",
    "tornado",
]
