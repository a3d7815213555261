"""Read the sourced assumptions and presets in ``data/`` (the one source of truth for figures)."""

from __future__ import annotations

import csv
import importlib.resources
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from model.fields import FIELD_SPECS


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
                value=_number(row["parameter"], row["value"]),
                unit=row["unit"],
                source=row["source"],
                year=int(row["year"]),
                note=row["note"],
            )
    return rows


def _number(name: str, value: object) -> float:
    """A value of ``data/`` as a float: a choice field's name (``neocloud``) as its code."""
    spec = FIELD_SPECS.get(name)
    if spec is not None and spec.choices and isinstance(value, str):
        return float(spec.choice_code(value))
    return float(value)  # type: ignore[arg-type]


@dataclass(frozen=True)
class EntrantProfile:
    """The marginal entrant's costs: a row of ``data/entrant_profiles.csv`` (methodology 4.2).

    Every figure is per GW of the entrant's own facility power; the entrant builds its own
    facility (``facility_capex_busd_per_gw``), pays the builder's hardware price per unit of
    compute and the market's tax rate, and bills the market's share of its capacity
    (``lease_utilization``). ``utilization`` is the source's own billing
    assumption, kept for the record (the model uses the market-wide billed share).
    """

    profile: str
    facility_capex_busd_per_gw: float
    wacc: float
    it_life_years: float
    facility_life_years: float
    build_years: float
    power_price_usd_per_mwh: float
    pue: float
    power_load_factor: float
    other_opex_busd_per_gw_year: float
    variable_opex_share_of_revenue: float
    contracted_share: float
    contract_years: float
    utilization: float
    source: str
    year: int
    note: str


#: Columns of ``data/entrant_profiles.csv`` that the user cost reads (scenario field names).
ENTRANT_COST_FIELDS: tuple[str, ...] = (
    "wacc",
    "it_life_years",
    "facility_life_years",
    "build_years",
    "power_price_usd_per_mwh",
    "pue",
    "power_load_factor",
    "other_opex_busd_per_gw_year",
    "variable_opex_share_of_revenue",
    "contracted_share",
    "contract_years",
)


@cache
def entrant_profiles() -> dict[str, EntrantProfile]:
    """The sourced entrant profiles, keyed by ``entrant_profile`` name (not ``builder``)."""
    rows: dict[str, EntrantProfile] = {}
    with (DATA_DIR / "entrant_profiles.csv").open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            numbers = {
                k: float(row[k])
                for k in (*ENTRANT_COST_FIELDS, "facility_capex_busd_per_gw", "utilization")
            }
            rows[row["profile"]] = EntrantProfile(
                profile=row["profile"],
                source=row["source"],
                year=int(row["year"]),
                note=row["note"],
                **numbers,
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
        overrides = {str(k): _number(str(k), v) for k, v in raw.get("scenario", {}).items()}
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
