"""Read the sourced assumptions and presets in ``data/`` (the one source of truth for figures)."""

from __future__ import annotations

import csv
import importlib.resources
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any


def resource_dir(name: str) -> Path:
    """Folder ``data`` or ``docs``: inside the installed package, else the repository's.

    A wheel carries ``data/`` and ``docs/`` as ``model/_data`` and ``model/_docs`` (hatch
    force-include), read through :mod:`importlib.resources`, so an installed copy works from any
    folder; a checkout (or an editable install) reads the top-level folders of the repository.
    """
    packaged = Path(str(importlib.resources.files("model") / f"_{name}"))
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[1] / name


DATA_DIR = resource_dir("data")
DOCS_DIR = resource_dir("docs")
PRESETS_DIR = DATA_DIR / "presets"
DEFAULT_PRESET = "bofa-base"


@dataclass(frozen=True)
class Assumption:
    """One sourced default: a row of ``data/assumptions.csv``."""

    parameter: str
    value: float
    unit: str
    source: str
    year: int
    note: str


@dataclass(frozen=True)
class Preset:
    """A named scenario in ``data/presets/ID.toml``: overrides of the sourced defaults."""

    id: str
    name: str
    description: str
    source: str
    year: int
    overrides: dict[str, float]


@cache
def assumptions() -> dict[str, Assumption]:
    """All sourced defaults, keyed by parameter name."""
    rows: dict[str, Assumption] = {}
    with (DATA_DIR / "assumptions.csv").open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            rows[row["parameter"]] = Assumption(
                parameter=row["parameter"],
                value=float(row["value"]),
                unit=row["unit"],
                source=row["source"],
                year=int(row["year"]),
                note=row["note"],
            )
    return rows


@cache
def default_ranges() -> dict[str, tuple[float, float, str]]:
    """Sourced low/high ranges for sensitivity analysis: ``{field: (low, high, source)}``."""
    out: dict[str, tuple[float, float, str]] = {}
    with (DATA_DIR / "ranges.csv").open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out[row["parameter"]] = (float(row["low"]), float(row["high"]), row["source"])
    return out


def default_value(parameter: str) -> float:
    """The sourced default of one parameter (raises KeyError naming it if absent)."""
    try:
        return assumptions()[parameter].value
    except KeyError:
        raise KeyError(f"no sourced default for {parameter!r} in data/assumptions.csv") from None


@cache
def presets() -> dict[str, Preset]:
    """All presets in ``data/presets``, keyed by id, the default first."""
    found: dict[str, Preset] = {}
    for path in sorted(PRESETS_DIR.glob("*.toml")):
        raw: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
        overrides = {str(k): float(v) for k, v in raw.get("scenario", {}).items()}
        found[raw["id"]] = Preset(
            id=str(raw["id"]),
            name=str(raw["name"]),
            description=str(raw["description"]),
            source=str(raw["source"]),
            year=int(raw["year"]),
            overrides=overrides,
        )
    ordered = {DEFAULT_PRESET: found.pop(DEFAULT_PRESET)} if DEFAULT_PRESET in found else {}
    ordered.update(found)
    return ordered
