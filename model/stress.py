"""Stress tests: named downside shocks from ``data/stress_tests.toml``, one at a time and together.

A shock is a documented change of inputs only (set, add, multiply, at least, at most), with a
source and rationale in the TOML file. Shocked values are clipped to each field's bounds (and to
``lease_share + hosting_share <= 1``); clipping is reported in the result. All shocks are
evaluated with the scenario as set in one :func:`model.evaluate_batch` call.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from model.data import DATA_DIR
from model.fields import FIELD_SPECS
from model.results import BATCH_METRICS, METRIC_UNITS, evaluate_batch
from model.scenario import Scenario, make_scenario, scenario_values
from model.sensitivity import check_field, check_finite, check_scenario, clip_to_domain

STRESS_FILE = DATA_DIR / "stress_tests.toml"
OPS: tuple[str, ...] = ("set", "add", "multiply", "at_least", "at_most")
#: Id of the row with every shock applied together.
ALL_TOGETHER = "all_together"
#: Id of the row with the scenario as set.
AS_SET = "as_set"


@dataclass(frozen=True)
class Change:
    """One change of one input: ``field`` <- op(field, value)."""

    field: str
    op: str
    value: float

    def apply(self, current: float) -> float:
        """The new value before clipping."""
        if self.op == "set":
            return self.value
        if self.op == "add":
            return current + self.value
        if self.op == "multiply":
            return current * self.value
        if self.op == "at_least":
            return max(current, self.value)
        return min(current, self.value)  # at_most

    def describe(self) -> str:
        """e.g. ``wacc + 0.03`` (unit in FIELD_SPECS)."""
        symbol = {
            "set": "=",
            "add": "+",
            "multiply": "x",
            "at_least": ">=",
            "at_most": "<=",
        }[self.op]
        return f"{self.field} {symbol} {self.value:g}"


@dataclass(frozen=True)
class Shock:
    """A named downside shock: its changes, rationale and source."""

    id: str
    name: str
    description: str
    source: str
    year: int
    changes: tuple[Change, ...]

    @property
    def fields(self) -> frozenset[str]:
        """The inputs this shock changes."""
        return frozenset(c.field for c in self.changes)


@cache
def shocks() -> tuple[Shock, ...]:
    """The shocks of ``data/stress_tests.toml``, validated (ValueError naming the bad entry)."""
    raw = tomllib.loads(STRESS_FILE.read_text(encoding="utf-8"))
    out: list[Shock] = []
    for i, entry in enumerate(raw.get("shock", [])):
        where = f"{STRESS_FILE.name} shock {i + 1} ({entry.get('id', '?')})"
        for key in ("id", "name", "description", "source", "year", "change"):
            if key not in entry:
                raise ValueError(f"{where}: missing {key}")
        changes = []
        for c in entry["change"]:
            name = check_field(c.get("field"), where)
            op = c.get("op")
            if op not in OPS:
                raise ValueError(
                    f"{where}: {name} op = {op!r} is unknown (allowed: {', '.join(OPS)})"
                )
            changes.append(
                Change(name, str(op), check_finite(name, c.get("value"), f"{where} value"))
            )
        out.append(
            Shock(
                id=str(entry["id"]),
                name=str(entry["name"]),
                description=str(entry["description"]),
                source=str(entry["source"]),
                year=int(entry["year"]),
                changes=tuple(changes),
            )
        )
    ids = [s.id for s in out]
    if len(set(ids)) != len(ids) or ALL_TOGETHER in ids or AS_SET in ids:
        raise ValueError(
            f"{STRESS_FILE.name}: shock ids must be unique and not {ALL_TOGETHER}/{AS_SET}"
        )
    return tuple(out)


def apply_changes(scenario: Scenario, changes: tuple[Change, ...]) -> tuple[Scenario, list[str]]:
    """The scenario with ``changes`` applied in order, clipped to the domain; notes on clipping."""
    check_scenario(scenario)
    values = scenario_values(scenario)  # (its dated curve kept, methodology 4.8)
    notes: list[str] = []
    for c in changes:
        current = make_scenario(values)
        new, note = clip_to_domain(current, c.field, c.apply(float(values[c.field])))
        if note:
            notes.append(f"{FIELD_SPECS[c.field].label}: {note}")
        values[c.field] = int(new) if FIELD_SPECS[c.field].integer else new
    return make_scenario(values), notes


def stress_scenarios(scenario: Scenario) -> dict[str, tuple[Scenario, list[str]]]:
    """Each shock's scenario (and clipping notes), then every shock together (:data:`ALL_TOGETHER`)."""
    check_scenario(scenario)
    out = {s.id: apply_changes(scenario, s.changes) for s in shocks()}
    every = tuple(c for s in shocks() for c in s.changes)
    out[ALL_TOGETHER] = apply_changes(scenario, every)
    return out


def stress_tests(scenario: Scenario) -> pd.DataFrame:
    """Metrics under each named shock, one at a time and all together, against the scenario as set.

    Returns
    -------
    DataFrame
        One row per case: :data:`AS_SET` first, then each shock in file order, then
        :data:`ALL_TOGETHER`. Columns ``shock, name, changes`` (what changed, old -> new with
        units), ``clipped`` (notes where a value was clipped to the field's bounds), ``description,
        source``, every metric of :data:`model.BATCH_METRICS`, and ``delta_npv_busd`` (US$ B) and
        ``delta_irr`` (fraction per year) against the scenario as set.

    Examples
    --------
    >>> from model import load_preset
    >>> table = stress_tests(load_preset("bofa-base")).set_index("shock")
    >>> round(float(table.loc["rate_spike", "delta_npv_busd"]), 1)  # US$ B against as set
    -25.3
    >>> round(float(table.loc["all_together", "npv_busd"]), 1)
    -97.0
    """
    cases = stress_scenarios(scenario)
    base = scenario.model_dump()
    rows: list[dict[str, object]] = [
        {
            "shock": AS_SET,
            "name": "Scenario as set",
            "changes": "",
            "clipped": "",
            "description": "The scenario as set, no shock.",
            "source": "",
        }
    ]
    scenarios = [scenario]
    meta = {s.id: s for s in shocks()}
    for sid, (shocked, notes) in cases.items():
        diff = scenario.diff(shocked)
        changes = "; ".join(
            f"{k} {a:g} -> {b:g} {FIELD_SPECS[k].unit}" for k, (a, b) in diff.items()
        )
        s = meta.get(sid)
        rows.append(
            {
                "shock": sid,
                "name": s.name if s else "All shocks together",
                "changes": changes or "no change (the scenario is already at or past this shock)",
                "clipped": "; ".join(notes),
                "description": s.description if s else "Every change above, applied in order.",
                "source": f"{s.source} ({s.year})" if s else "",
            }
        )
        scenarios.append(shocked)
    table = pd.DataFrame([{k: s.model_dump()[k] for k in base} for s in scenarios])
    metrics = evaluate_batch(table, scenario)
    out = pd.concat([pd.DataFrame(rows), metrics.reset_index(drop=True)], axis=1)
    npv = metrics["npv_busd"].to_numpy(dtype=np.float64)
    irr = metrics["irr"].to_numpy(dtype=np.float64)
    out["delta_npv_busd"] = npv - npv[0]
    out["delta_irr"] = irr - irr[0]
    out.attrs["units"] = {
        **{m: METRIC_UNITS[m] for m in BATCH_METRICS},
        "delta_npv_busd": METRIC_UNITS["npv_busd"],
        "delta_irr": METRIC_UNITS["irr"],
    }
    return out


__all__ = [
    "ALL_TOGETHER",
    "AS_SET",
    "Change",
    "Shock",
    "apply_changes",
    "shocks",
    "stress_scenarios",
    "stress_tests",
]
