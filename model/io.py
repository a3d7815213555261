"""Scenario files: the one format the app, the CLI and uploads read and write (TOML or JSON).

A file holds an optional base ``preset`` and a ``scenario`` table of field values that override
it; a flat table of field values is read too. Parsing uses the standard library's safe parsers
(``tomllib``, ``json``); nothing in a file is ever executed. Every problem is reported with the
field, the value and the allowed range, all at once.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from model.data import DEFAULT_PRESET, presets
from model.fields import FIELD_NAMES, FIELD_SPECS
from model.scenario import (
    Scenario,
    ScenarioError,
    check_value,
    load_preset,
    make_scenario,
    unknown_field_message,
)

FORMAT_ID = "ai-dc-returns/scenario"
FORMAT_VERSION = 1
MAX_FILE_BYTES = 256 * 1024
_TOP_KEYS = frozenset({"format", "version", "preset", "name", "scenario"})


def scenario_document(
    scenario: Scenario, preset: str = DEFAULT_PRESET, name: str = ""
) -> dict[str, Any]:
    """The file content as a dict: every field's value (not only the overrides), for stability."""
    doc: dict[str, Any] = {"format": FORMAT_ID, "version": FORMAT_VERSION, "preset": preset}
    if name:
        doc["name"] = name
    doc["scenario"] = scenario.model_dump()
    return doc


def to_toml(scenario: Scenario, preset: str = DEFAULT_PRESET, name: str = "") -> str:
    """Serialise a scenario as TOML (with a unit comment on every field)."""
    doc = scenario_document(scenario, preset, name)
    lines = [
        "# AI data-center returns: scenario file (units in comments; see docs/methodology.md)",
        f'format = "{FORMAT_ID}"',
        f"version = {FORMAT_VERSION}",
        f"preset = {json.dumps(preset)}",
    ]
    if name:
        lines.append(f"name = {json.dumps(name)}")
    lines += ["", "[scenario]"]
    for key in FIELD_NAMES:
        value = doc["scenario"][key]
        text = str(int(value)) if FIELD_SPECS[key].integer else repr(float(value))
        lines.append(f"{key} = {text}  # {FIELD_SPECS[key].unit}")
    return "\n".join(lines) + "\n"


def to_json(scenario: Scenario, preset: str = DEFAULT_PRESET, name: str = "") -> str:
    """Serialise a scenario as JSON."""
    return json.dumps(scenario_document(scenario, preset, name), indent=2) + "\n"


def parse_scenario_text(text: str | bytes, fmt: str) -> tuple[Scenario, str]:
    """Parse a scenario file's text (``fmt`` is ``"toml"`` or ``"json"``).

    Returns
    -------
    (Scenario, preset id)

    Raises
    ------
    ScenarioError
        One message per problem (size, syntax, structure, unknown keys, bad values).
    """
    raw = text.encode("utf-8") if isinstance(text, str) else text
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(
            [f"file is {len(raw):,} bytes (allowed: at most {MAX_FILE_BYTES:,} bytes)"]
        )
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError(["file is not UTF-8 text"]) from None
    fmt = fmt.lower().lstrip(".")
    try:
        if fmt == "toml":
            doc: object = tomllib.loads(decoded)
        elif fmt == "json":
            doc = json.loads(decoded, parse_constant=_reject_constant)
        else:
            raise ScenarioError([f"format = {fmt!r} is not supported (allowed: toml, json)"])
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError([f"malformed TOML: {exc}"]) from None
    except json.JSONDecodeError as exc:
        raise ScenarioError(
            [f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"]
        ) from None
    except RecursionError:
        raise ScenarioError(["file is nested too deeply to be a scenario"]) from None
    except ValueError as exc:  # from _reject_constant
        raise ScenarioError([str(exc)]) from None
    return scenario_from_document(doc)


def _reject_constant(name: str) -> float:
    raise ValueError(f"JSON constant {name} is not allowed (values must be finite numbers)")


def scenario_from_document(doc: object) -> tuple[Scenario, str]:
    """Validate a parsed document (nested or flat) into a Scenario and its base preset id."""
    if not isinstance(doc, Mapping):
        raise ScenarioError([f"file must hold a table of fields, not {type(doc).__name__}"])
    problems: list[str] = []
    if "scenario" in doc or any(k in doc for k in ("format", "version", "preset")):
        extra = [k for k in doc if k not in _TOP_KEYS]
        problems += [
            f"unknown top-level key {k!r} (allowed: {', '.join(sorted(_TOP_KEYS))})" for k in extra
        ]
        fields_obj = doc.get("scenario", {})
        fmt = doc.get("format", FORMAT_ID)
        if fmt != FORMAT_ID:
            problems.append(f"format = {str(fmt)[:40]!r} is not {FORMAT_ID!r}")
        version = doc.get("version", FORMAT_VERSION)
        if version != FORMAT_VERSION:
            problems.append(
                f"version = {str(version)[:20]!r} is not supported (allowed: {FORMAT_VERSION})"
            )
        preset = doc.get("preset", DEFAULT_PRESET)
    else:
        fields_obj, preset = doc, DEFAULT_PRESET
    if not isinstance(preset, str) or preset not in presets():
        problems.append(
            f"preset = {str(preset)[:40]!r} is unknown (allowed: {', '.join(presets())})"
        )
        preset = DEFAULT_PRESET
    if not isinstance(fields_obj, Mapping):
        problems.append("scenario must be a table of field = value pairs")
        fields_obj = {}
    values: dict[str, object] = {}
    for key, value in fields_obj.items():
        if key not in FIELD_SPECS:
            problems.append(unknown_field_message(str(key)))
            continue
        try:
            values[key] = check_value(key, value)
        except ValueError as exc:
            problems.append(str(exc))
    if problems:
        raise ScenarioError(problems)
    base = load_preset(preset).model_dump()
    return make_scenario({**base, **values}), preset


def load_scenario_file(path: str | Path) -> tuple[Scenario, str]:
    """Read a ``.toml`` or ``.json`` scenario file (format from the suffix)."""
    p = Path(path)
    fmt = p.suffix.lower().lstrip(".")
    if fmt not in ("toml", "json"):
        raise ScenarioError([f"scenario file {p.name!r} must end in .toml or .json"])
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ScenarioError(
                [f"file is {size:,} bytes (allowed: at most {MAX_FILE_BYTES:,} bytes)"]
            )
        data = p.read_bytes()
    except OSError as exc:
        raise ScenarioError([f"cannot read scenario file {str(p)!r}: {exc.strerror}"]) from None
    return parse_scenario_text(data, fmt)


def parse_assignment(text: str) -> tuple[str, float]:
    """Parse a ``field=value`` override (CLI ``--set``); raises ScenarioError naming the problem."""
    if "=" not in text:
        raise ScenarioError([f"--set {text!r} must look like field=value"])
    key, _, raw = text.partition("=")
    key, raw = key.strip(), raw.strip()
    if key not in FIELD_SPECS:
        raise ScenarioError([unknown_field_message(key)])
    try:
        value = float(raw)
    except ValueError:
        raise ScenarioError(
            [f"{key} = {raw[:40]!r} is not a number (allowed: {FIELD_SPECS[key].range_text()})"]
        ) from None
    if not math.isfinite(value):
        raise ScenarioError(
            [
                f"{key} = {raw[:40]!r} is not a finite number (allowed: {FIELD_SPECS[key].range_text()})"
            ]
        )
    try:
        check_value(key, value)
    except ValueError as exc:
        raise ScenarioError([str(exc)]) from None
    return key, value
