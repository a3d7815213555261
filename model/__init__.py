"""Economics of AI data centers: what a GW earns, and what cheaper inference does to the returns.

The public API::

    from model import Scenario, evaluate, evaluate_batch, Result, load_preset
    from model import tornado, grid, breakeven, monte_carlo, stress_tests   # analyst toolkit
    from model import derived   # the sweeps, maps and paths the charts draw
    from model import market_readings  # a scenario's NPV if the market stays still or moves

Everything is pure (no Streamlit, no Plotly), typed, and vectorised where it runs in batch.
"""

import importlib
from typing import TYPE_CHECKING, Any

from model import derived, finance
from model.conditions import CONDITIONS, Condition, conditions_of
from model.data import DEFAULT_PRESET, assumptions, default_ranges, presets
from model.fields import FIELD_NAMES, FIELD_SPECS, GROUPS, HEADLINE_FIELDS, FieldSpec
from model.readings import (
    Readings,
    market_readings,
    median_entry_lag_years,
    moving_market,
    still_market,
)
from model.results import (
    BATCH_METRICS,
    METRIC_UNITS,
    Result,
    evaluate,
    evaluate_batch,
    evaluate_columns,
    external_business,
)
from model.scenario import (
    Scenario,
    ScenarioError,
    default_scenario,
    load_preset,
    make_scenario,
    preset_ids,
)

if TYPE_CHECKING:
    from model.sensitivity import Breakeven, breakeven, grid, tornado
    from model.stress import shocks, stress_scenarios, stress_tests
    from model.uncertainty import MonteCarloResult, default_distributions, monte_carlo

# The analyst toolkit pulls in scipy (about a second to import): load it on first use, so the
# CLI and the dashboard's first paint do not wait for it.
_LAZY: dict[str, str] = {
    "Breakeven": "model.sensitivity",
    "breakeven": "model.sensitivity",
    "grid": "model.sensitivity",
    "tornado": "model.sensitivity",
    "shocks": "model.stress",
    "stress_scenarios": "model.stress",
    "stress_tests": "model.stress",
    "MonteCarloResult": "model.uncertainty",
    "default_distributions": "model.uncertainty",
    "monte_carlo": "model.uncertainty",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'model' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "BATCH_METRICS",
    "CONDITIONS",
    "DEFAULT_PRESET",
    "FIELD_NAMES",
    "FIELD_SPECS",
    "GROUPS",
    "HEADLINE_FIELDS",
    "METRIC_UNITS",
    "Breakeven",
    "Condition",
    "FieldSpec",
    "MonteCarloResult",
    "Readings",
    "Result",
    "Scenario",
    "ScenarioError",
    "assumptions",
    "breakeven",
    "conditions_of",
    "default_distributions",
    "default_ranges",
    "default_scenario",
    "derived",
    "evaluate",
    "evaluate_batch",
    "evaluate_columns",
    "external_business",
    "finance",
    "grid",
    "load_preset",
    "make_scenario",
    "market_readings",
    "median_entry_lag_years",
    "monte_carlo",
    "moving_market",
    "preset_ids",
    "presets",
    "shocks",
    "still_market",
    "stress_scenarios",
    "stress_tests",
    "tornado",
]
