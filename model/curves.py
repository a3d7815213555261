"""Dated price curves: an analyst's lease rates by calendar year (methodology section 4.8).

A scenario may carry one dated curve of the lease rate (:class:`LeaseCurve`): values by calendar
year, in US$ B per GW-year of facility power or in US$ per GPU-hour with a GPU count per GW,
tagged with the tenor of the rents quoted (0 = spot) and their basis (the frontier vintage, or a
vintage of a named age). The engine follows the curve in the years it gives (log-linear between
its points) and rebases its closed form at the curve's ends outside them.

The curve is read and written in three places with one validation (:func:`make_curve`):

* scenario files, a ``[curves.lease_rate]`` table (TOML) or ``"curves": {"lease_rate": ...}``
  (JSON) with ``unit``, ``gpus_per_gw``, ``tenor_years``, ``basis`` and a ``points`` table of
  ``year = value``;
* share links, ``curve_lease=2026:12.5,2027:13.1`` plus ``curve_lease_unit``,
  ``curve_lease_gpus``, ``curve_lease_tenor`` and ``curve_lease_basis`` where they differ from
  the defaults (:func:`link_params`, :func:`curve_from_link`);
* the dashboard's editable table (a frame of ``year`` and ``value``).

Every problem is one message naming the year and the value and the allowed range; nothing
else of the scenario is lost with a bad curve.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from model.fields import FIELD_SPECS

#: Units a curve's values may be given in.
UNIT_BUSD = "busd_per_gw_year"
UNIT_GPU_HOUR = "usd_per_gpu_hour"
UNITS: tuple[str, ...] = (UNIT_BUSD, UNIT_GPU_HOUR)
UNIT_TEXT: dict[str, str] = {
    UNIT_BUSD: "US$ B per GW-year",
    UNIT_GPU_HOUR: "US$ per GPU-hour",
}
#: Allowed values per unit (inclusive): positive (the engine interpolates in logs), and at most
#: about 10x the highest sourced rent (H100 US$8+ per GPU-hour in 2023, ~US$40 B per GW-year).
VALUE_RANGE: dict[str, tuple[float, float]] = {
    UNIT_BUSD: (0.01, 500.0),
    UNIT_GPU_HOUR: (0.001, 100.0),
}
#: Calendar years a point may carry (those of ``first_year``'s bounds).
YEAR_RANGE: tuple[int, int] = (
    int(FIELD_SPECS["first_year"].low),
    int(FIELD_SPECS["first_year"].high),
)
#: Most points in a curve: bounds the work and the text of files, links and the table.
MAX_POINTS = 100
#: Tenor of the rents quoted (years; 0 = spot), and the age of a named vintage (years).
TENOR_RANGE: tuple[float, float] = (0.0, 10.0)
AGE_RANGE: tuple[float, float] = (0.0, 15.0)
#: GPUs per GW of facility power for a curve in US$ per GPU-hour (the field's bounds).
GPUS_RANGE: tuple[float, float] = (FIELD_SPECS["gpus_per_gw"].low, FIELD_SPECS["gpus_per_gw"].high)
HOURS_PER_YEAR = 8760.0
USD_PER_BUSD = 1e9
FRONTIER = "frontier"
#: Longest text of a curve in a link (characters): 100 points of ``yyyy:value,``.
MAX_LINK_CHARS = 3_000
#: Keys of a curve's table in a file.
FILE_KEYS: tuple[str, ...] = ("unit", "gpus_per_gw", "tenor_years", "basis", "points")
#: Link parameters of a curve (the points, then its tags).
LINK_POINTS = "curve_lease"
LINK_UNIT = "curve_lease_unit"
LINK_GPUS = "curve_lease_gpus"
LINK_TENOR = "curve_lease_tenor"
LINK_BASIS = "curve_lease_basis"
LINK_PARAMS: tuple[str, ...] = (LINK_POINTS, LINK_UNIT, LINK_GPUS, LINK_TENOR, LINK_BASIS)
_BASIS_TEXT = re.compile(r"age[ :=]?(?P<age>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_YEAR_TEXT = re.compile(r"[0-9]{1,4}")
_NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


class CurveError(ValueError):
    """An invalid curve; ``problems`` holds one clear message per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class LeaseCurve:
    """A dated curve of the lease rate (methodology section 4.8).

    ``points`` are ``(calendar year, value)`` in ascending years, each year once; ``unit`` is
    :data:`UNIT_BUSD` or :data:`UNIT_GPU_HOUR` (then ``gpus_per_gw`` converts it; None: the
    scenario's ``gpus_per_gw``); ``tenor_years`` the tenor of the rents quoted (0 = spot);
    ``basis_age_years`` the age of the vintage the rents are for (0 = the frontier vintage).
    """

    points: tuple[tuple[int, float], ...]
    unit: str = UNIT_BUSD
    gpus_per_gw: float | None = None
    tenor_years: float = 0.0
    basis_age_years: float = 0.0

    @property
    def years(self) -> tuple[int, ...]:
        return tuple(y for y, _ in self.points)

    @property
    def basis(self) -> str:
        """``frontier`` or ``age <years>`` (how files and the table write the basis)."""
        return FRONTIER if self.basis_age_years == 0.0 else f"age {self.basis_age_years:g}"

    def busd_per_gw_year(self, gpus_per_gw: float) -> list[float]:
        """The values in US$ B per GW-year: a GPU-hour price times the GPUs per GW (the
        curve's, else ``gpus_per_gw``) times 8,760 hours over 1e9 (every hour billed, as the
        presets' conversion: US$2.35 x 578,035 GPUs x 8,760 h = US$11.90 B per GW-year)."""
        if self.unit == UNIT_BUSD:
            return [v for _, v in self.points]
        gpus = self.gpus_per_gw if self.gpus_per_gw is not None else gpus_per_gw
        return [v * gpus * HOURS_PER_YEAR / USD_PER_BUSD for _, v in self.points]

    def document(self) -> dict[str, Any]:
        """The curve as a file writes it (``[curves.lease_rate]``)."""
        doc: dict[str, Any] = {"unit": self.unit}
        if self.gpus_per_gw is not None:
            doc["gpus_per_gw"] = self.gpus_per_gw
        doc["tenor_years"] = self.tenor_years
        doc["basis"] = self.basis
        doc["points"] = {str(y): v for y, v in self.points}
        return doc


def _show(value: object, limit: int = 40) -> str:
    if isinstance(value, str) and len(value) > 4 * limit:
        value = value[: 4 * limit]
    try:
        text = repr(value)
    except ValueError:
        text = f"<{type(value).__name__} too large to show>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _g(x: float) -> str:
    return f"{x:,.10g}"


def _number(what: str, value: object, low: float, high: float, unit: str) -> tuple[float, str]:
    """A number within [low, high], or (nan, message)."""
    allowed = f"allowed: a number from {_g(low)} to {_g(high)} {unit}".rstrip()
    if isinstance(value, str):
        text = value.strip()
        if len(text) <= 64 and _NUMBER_TEXT.fullmatch(text):
            value = float(text)
        else:
            return math.nan, f"{what} = {_show(value)} is not a number ({allowed})"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            import numpy as np

            if isinstance(value, (np.integer, np.floating)):
                value = float(value)
            else:
                return math.nan, f"{what} = {_show(value)} is not a number ({allowed})"
        except ImportError:  # pragma: no cover
            return math.nan, f"{what} = {_show(value)} is not a number ({allowed})"
    try:
        x = float(value)
    except OverflowError:
        return math.nan, f"{what} = {_show(value)} is out of range ({allowed})"
    if not math.isfinite(x):
        return math.nan, f"{what} = {_show(value)} is not a finite number ({allowed})"
    if x < low or x > high:
        return math.nan, f"{what} = {_show(value)} is out of range ({allowed})"
    return x, ""


def _year(key: object) -> tuple[int, str]:
    """A point's calendar year from a key (int, or whole-number text), or (0, message)."""
    low, high = YEAR_RANGE
    allowed = f"allowed: a whole calendar year from {low} to {high}"
    if isinstance(key, bool):
        return 0, f"curve year {_show(key)} is not a calendar year ({allowed})"
    if isinstance(key, float) and key.is_integer():
        key = int(key)
    if isinstance(key, str):
        text = key.strip()
        if not _YEAR_TEXT.fullmatch(text):
            return 0, f"curve year {_show(key)} is not a calendar year ({allowed})"
        key = int(text)
    if not isinstance(key, int):
        try:
            import numpy as np

            if isinstance(key, np.integer) or (
                isinstance(key, np.floating) and float(key).is_integer()
            ):
                key = int(key)
        except ImportError:  # pragma: no cover
            pass
    if not isinstance(key, int):
        return 0, f"curve year {_show(key)} is not a calendar year ({allowed})"
    if key < low or key > high:
        return 0, f"curve year {key} is out of range ({allowed})"
    return key, ""


def parse_basis(value: object) -> tuple[float, str]:
    """``frontier`` (age 0) or ``age <years>`` (``age 2.5``, ``age:2.5``) -> (age, '')."""
    low, high = AGE_RANGE
    allowed = f'allowed: "frontier" or "age <years>" with years from {_g(low)} to {_g(high)}'
    if not isinstance(value, str):
        return math.nan, f"curve basis = {_show(value)} is not a basis ({allowed})"
    text = value.strip().lower()
    if text == FRONTIER:
        return 0.0, ""
    m = _BASIS_TEXT.fullmatch(text)
    if m is None:
        return math.nan, f"curve basis = {_show(value)} is not a basis ({allowed})"
    age = float(m.group("age"))
    if age < low or age > high:
        return math.nan, f"curve basis = {_show(value)} is out of range ({allowed})"
    return age, ""


def make_curve(
    points: Mapping[object, object] | Iterable[tuple[object, object]],
    unit: object = UNIT_BUSD,
    gpus_per_gw: object = None,
    tenor_years: object = 0.0,
    basis: object = FRONTIER,
) -> LeaseCurve:
    """A validated :class:`LeaseCurve` (raises :class:`CurveError`, one message per problem).

    Examples
    --------
    >>> make_curve({2026: 12.5, "2027": 13.1}).points
    ((2026, 12.5), (2027, 13.1))
    >>> make_curve({2026: -1.0})
    Traceback (most recent call last):
    ...
    model.curves.CurveError: curve value for 2026 = -1.0 is out of range (allowed: a number from 0.01 to 500 US$ B per GW-year)
    """
    problems: list[str] = []
    if not isinstance(unit, str) or unit not in UNITS:
        problems.append(f"curve unit = {_show(unit)} is not a unit (allowed: {', '.join(UNITS)})")
        unit = UNIT_BUSD
    assert isinstance(unit, str)
    gpus: float | None = None
    if gpus_per_gw is not None:
        gpus, msg = _number("curve gpus_per_gw", gpus_per_gw, *GPUS_RANGE, "GPUs per GW")
        if msg:
            problems.append(msg)
    tenor, msg = _number("curve tenor_years", tenor_years, *TENOR_RANGE, "years (0 = spot)")
    if msg:
        problems.append(msg)
    age, msg = parse_basis(basis)
    if msg:
        problems.append(msg)
    if isinstance(points, Mapping):
        items: list[tuple[object, object]] = list(points.items())
    elif isinstance(points, (str, bytes)) or not isinstance(points, Iterable):
        raise CurveError(
            [*problems, f"curve points = {_show(points)} is not a table of year = value"]
        )
    else:
        items = []
        for i, item in enumerate(points):
            if i >= MAX_POINTS + 1:
                break
            if not isinstance(item, tuple) or len(item) != 2:
                problems.append(f"curve point {_show(item)} is not a (year, value) pair")
                continue
            items.append(item)
    if len(items) > MAX_POINTS:
        many = f"{len(items):,}" if isinstance(points, Mapping) else f"more than {MAX_POINTS}"
        raise CurveError([*problems, f"curve has {many} points (allowed: 1 to {MAX_POINTS})"])
    if not items:
        problems.append(f"curve has no points (allowed: 1 to {MAX_POINTS})")
    low, high = VALUE_RANGE[unit]
    seen: dict[int, float] = {}
    for key, raw in items:
        year, msg = _year(key)
        if msg:
            problems.append(msg)
            continue
        value, msg = _number(f"curve value for {year}", raw, low, high, UNIT_TEXT[unit])
        if msg:
            problems.append(msg)
            continue
        if year in seen:
            problems.append(f"curve year {year} is given twice (allowed: each year once)")
            continue
        seen[year] = value
    if problems:
        raise CurveError(problems)
    return LeaseCurve(
        points=tuple(sorted(seen.items())),
        unit=unit,
        gpus_per_gw=gpus,
        tenor_years=tenor,
        basis_age_years=age,
    )


def curve_from_document(doc: object) -> LeaseCurve:
    """A curve from a file's ``[curves.lease_rate]`` table (raises :class:`CurveError`)."""
    if not isinstance(doc, Mapping):
        raise CurveError(["curves.lease_rate must be a table (unit, tenor_years, basis, points)"])
    extra = [k for k in doc if k not in FILE_KEYS]
    if extra:
        raise CurveError(
            [
                f"unknown key {_show(str(k))} in curves.lease_rate (allowed: "
                f"{', '.join(FILE_KEYS)})"
                for k in extra[:5]
            ]
        )
    points = doc.get("points")
    if points is None:
        raise CurveError(["curves.lease_rate has no points table (allowed: year = value pairs)"])
    if not isinstance(points, Mapping):
        raise CurveError(["curves.lease_rate.points must be a table of year = value pairs"])
    return make_curve(
        points,
        unit=doc.get("unit", UNIT_BUSD),
        gpus_per_gw=doc.get("gpus_per_gw"),
        tenor_years=doc.get("tenor_years", 0.0),
        basis=doc.get("basis", FRONTIER),
    )


def curves_from_document(doc: object) -> LeaseCurve | None:
    """The lease curve of a file's ``curves`` table (None for an empty table)."""
    if not isinstance(doc, Mapping):
        raise CurveError(["curves must be a table (allowed key: lease_rate)"])
    extra = [k for k in doc if k != "lease_rate"]
    if extra:
        raise CurveError(
            [f"unknown curve {_show(str(k))} (allowed: lease_rate)" for k in extra[:5]]
        )
    return curve_from_document(doc["lease_rate"]) if "lease_rate" in doc else None


def _shortest(x: float) -> str:
    return str(int(x)) if x == int(x) and abs(x) < 1e15 else repr(float(x))


def to_toml_lines(curve: LeaseCurve) -> list[str]:
    """The ``[curves.lease_rate]`` table of a TOML file (values read back exactly)."""
    lines = ["", "[curves.lease_rate]", f'unit = "{curve.unit}"  # {UNIT_TEXT[curve.unit]}']
    if curve.gpus_per_gw is not None:
        lines.append(f"gpus_per_gw = {float(curve.gpus_per_gw)!r}  # GPUs per GW")
    lines.append(f"tenor_years = {float(curve.tenor_years)!r}  # years (0 = spot)")
    lines.append(f'basis = "{curve.basis}"  # frontier, or age <years>')
    lines += ["", "[curves.lease_rate.points]  # calendar year = value"]
    lines += [f"{y} = {float(v)!r}" for y, v in curve.points]
    return lines


def link_params(curve: LeaseCurve | None) -> dict[str, str]:
    """A curve's share-link parameters: ``curve_lease=2026:12.5,2027:13.1`` and its tags where
    they differ from the defaults (busd_per_gw_year, spot, frontier)."""
    if curve is None:
        return {}
    out = {LINK_POINTS: ",".join(f"{y}:{_shortest(v)}" for y, v in curve.points)}
    if curve.unit != UNIT_BUSD:
        out[LINK_UNIT] = curve.unit
    if curve.gpus_per_gw is not None:
        out[LINK_GPUS] = _shortest(curve.gpus_per_gw)
    if curve.tenor_years != 0.0:
        out[LINK_TENOR] = _shortest(curve.tenor_years)
    if curve.basis_age_years != 0.0:
        out[LINK_BASIS] = f"age:{_shortest(curve.basis_age_years)}"
    return out


def curve_from_link(params: Mapping[str, str]) -> LeaseCurve | None:
    """A curve from a link's ``curve_lease*`` parameters (None without ``curve_lease``; raises
    :class:`CurveError`). ``curve_lease`` is ``year:value`` pairs joined by commas."""
    text = params.get(LINK_POINTS)
    if text is None:
        others = [k for k in LINK_PARAMS[1:] if k in params]
        if others:
            raise CurveError(
                [f"URL parameter {others[0]} is given without {LINK_POINTS} (the curve's points)"]
            )
        return None
    if len(text) > MAX_LINK_CHARS:
        raise CurveError(
            [
                f"URL parameter {LINK_POINTS}: value of {len(text):,} characters is too long "
                f"(allowed: at most {MAX_LINK_CHARS:,}, {MAX_POINTS} points)"
            ]
        )
    pairs: list[tuple[object, object]] = []
    problems: list[str] = []
    parts = [p for p in text.split(",") if p.strip()]
    if len(parts) > MAX_POINTS:
        raise CurveError([f"curve has {len(parts):,} points (allowed: 1 to {MAX_POINTS})"])
    for part in parts:
        year, sep, value = part.partition(":")
        if not sep:
            problems.append(
                f"URL parameter {LINK_POINTS}: {_show(part)} is not year:value "
                "(allowed: e.g. 2026:12.5,2027:13.1)"
            )
            continue
        pairs.append((year, value))
    if problems:
        raise CurveError(problems)
    return make_curve(
        pairs,
        unit=params.get(LINK_UNIT, UNIT_BUSD),
        gpus_per_gw=params.get(LINK_GPUS),
        tenor_years=params.get(LINK_TENOR, "0"),
        basis=params.get(LINK_BASIS, FRONTIER),
    )


__all__ = [
    "FRONTIER",
    "LINK_PARAMS",
    "MAX_POINTS",
    "UNITS",
    "UNIT_BUSD",
    "UNIT_GPU_HOUR",
    "CurveError",
    "LeaseCurve",
    "curve_from_document",
    "curve_from_link",
    "curves_from_document",
    "link_params",
    "make_curve",
    "parse_basis",
    "to_toml_lines",
]
