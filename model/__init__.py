"""Economics of AI data centers: what a GW earns, and what cheaper inference does to the returns.

The public API::

    from model import Scenario, evaluate, evaluate_batch, Result, load_preset

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

__all__ = [
    "BATCH_METRICS",
    "DEFAULT_PRESET",
    "FIELD_NAMES",
    "FIELD_SPECS",
    "GROUPS",
    "HEADLINE_FIELDS",
    "METRIC_UNITS",
    "FieldSpec",
    "Result",
    "Scenario",
    "ScenarioError",
    "assumptions",
    "default_ranges",
    "default_scenario",
    "evaluate",
    "evaluate_batch",
    "finance",
    "load_preset",
    "make_scenario",
    "preset_ids",
    "presets",
]
