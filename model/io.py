"""Scenario files: the one format the app, the CLI and uploads read and write (TOML or JSON).

A file holds an optional base ``preset`` and a ``scenario`` table of field values that override
it; a flat table of field values is read too. Parsing uses the standard library's safe parsers
(``tomllib``, ``json``); nothing in a file is ever executed. Every problem is reported with the
field, the value and the allowed range, all at once.

Parsing runs within a budget, so that any file up to :data:`MAX_FILE_BYTES` is accepted or
refused in well under a second and a few tens of MB: only regular files are read (a device or a
FIFO is refused before it is opened for reading), and a TOML file is pre-scanned for the shapes
that make ``tomllib`` slow (it is quadratic in the number of parts of a dotted key): at most
:data:`MAX_LINES` lines, :data:`MAX_DOTS_PER_LINE` dots per line, :data:`MAX_PAIRS` pairs,
:data:`MAX_TABLE_HEADERS` table headers and :data:`MAX_DIGITS` digits in a row; only the first
:data:`model.scenario.MAX_SUGGESTIONS` unknown keys get a "did you mean" suggestion. A UTF-8
byte-order mark is accepted; an empty file, duplicate JSON keys and numbers with more digits than
any field allows are refused with a message.
"""

from __future__ import annotations

import json
import os
import re
import stat
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from model.curves import CurveError, LeaseCurve, curves_from_document, to_toml_lines
from model.data import DEFAULT_PRESET, presets
from model.fields import CHOICE_FIELDS, FIELD_NAMES, FIELD_SPECS
from model.scenario import (
    MAX_SUGGESTIONS,
    Scenario,
    ScenarioError,
    check_value,
    choice_text,
    load_preset,
    make_scenario,
    show_text,
    unknown_field_message,
    value_from_text,
)

FORMAT_ID = "ai-dc-returns/scenario"
#: Version 2 adds ``entrant_profile``, written by name (version 1 files load it as "builder");
#: version 3 adds ``it_book_life_years`` (older files load it as their ``it_life_years``) and
#: ``lease_rate_tenor_years`` (older files read their lease rate as spot, 0); version 4 adds
#: ``scarcity_multiple_max`` (older files load 1: no rent above today's rate or the user cost)
#: and ``entry_fade_years`` (older files load 1, the fade's earlier length); version 5 adds
#: ``first_year`` (older files load 2026), the optional ``[curves]`` table of dated price
#: curves (methodology section 4.8; older files have none), ``hosting_entry_lag_years`` (older
#: files load 50: today's hosting markup for ever), ``efficiency_diffusion_years`` (older
#: files load 0: the industry's share of a gain at once), ``refresh_rule`` (older files load
#: "always": every retirement refreshed like for like) and ``facility_residual`` (older files
#: load "book": the facility at its book value at the horizon).
FORMAT_VERSION = 5
#: Versions read: an older file means what it meant (see :data:`LEGACY_VALUES`).
READ_VERSIONS = (1, 2, 3, 4, 5)
#: Fields that a file or link written before they existed takes at its old meaning rather than
#: at the preset's value: a version-1 (or unversioned) file, or a link with any field, without
#: ``entrant_profile`` keeps the ceiling the builder's own user cost (code 0, "builder"), and one
#: without ``lease_rate_tenor_years`` reads its lease rate as today's spot rent (0), one
#: without ``scarcity_multiple_max`` caps the rent within the entry lag at today's rate or the
#: user cost, whichever is higher (1: the cap before scarcity, methodology 4.7), and one without
#: ``entry_fade_years`` fades the premium over one year (the earlier fade's length; it now
#: follows the lag instead of ending it, a shift the file cannot undo); one without
#: ``hosting_entry_lag_years`` keeps today's hosting markup (50, methodology 4.9), one without
#: ``efficiency_diffusion_years`` spreads the builder's gain to the industry at once (0), one
#: without ``refresh_rule`` refreshes its IT at every retirement (0, "always": methodology 2.4),
#: and one without ``facility_residual`` values the facility at the horizon at its book value
#: (0, "book"; the annuity value and the site's surplus came later, methodology 2.5).
#: Files written since always name the field, and so do links with any field; a link of a
#: preset alone shows the preset as it is.
LEGACY_VALUES: dict[str, int] = {
    "entrant_profile": 0,
    "lease_rate_tenor_years": 0,
    "scarcity_multiple_max": 1,
    "entry_fade_years": 1,
    "first_year": 2026,
    "hosting_entry_lag_years": 50,
    "efficiency_diffusion_years": 0,
    "refresh_rule": 0,
    "facility_residual": 0,
}
#: Fields whose old meaning is another field's value: a file or link without
#: ``it_book_life_years`` depreciates the IT over the life it sets (``it_life_years``, the one
#: life before book and service lives were apart; methodology section 11.8).
LEGACY_FROM: dict[str, str] = {"it_book_life_years": "it_life_years"}
#: Every field an old file or link may lack (written in every link that changes a field).
LEGACY_FIELDS: tuple[str, ...] = (*LEGACY_VALUES, *LEGACY_FROM)
#: The file format version that added each of :data:`LEGACY_FIELDS`: a file of an older version
#: without the field takes its old meaning; a file of that version or later, the preset's value.
LEGACY_SINCE: dict[str, int] = {
    "entrant_profile": 2,
    "it_book_life_years": 3,
    "lease_rate_tenor_years": 3,
    "scarcity_multiple_max": 4,
    "entry_fade_years": 4,
    "first_year": 5,
    "hosting_entry_lag_years": 5,
    "efficiency_diffusion_years": 5,
    "refresh_rule": 5,
    "facility_residual": 5,
}
#: Largest scenario file read (bytes): 1 MB, the dashboard's upload limit
#: (``server.maxUploadSize = 1`` in ``.streamlit/config.toml``). Streamlit's uploader counts a MB
#: as 1,000,000 bytes in the browser (1,048,576 on the server, envelope included), so 1,000,000
#: is the limit every layer agrees on.
MAX_FILE_BYTES = 1_000_000
#: Most lines a TOML scenario file may have (a saved file has about 50).
MAX_LINES = 2_000
#: Most ``.`` characters on one line of a TOML file: ``tomllib``'s cost grows with the square of
#: a dotted key's parts (a 20,000-part key takes ~2 s and ~400 MB), so long keys are refused
#: before parsing. A saved file has at most one dot per line.
MAX_DOTS_PER_LINE = 16
#: Most ``key = value`` pairs in a TOML file (a saved file has about 40): bounds the parser's
#: work on one very long line (an inline table of 100,000 keys took ~0.5 s).
MAX_PAIRS = 2_000
#: Most dots in a TOML file outside strings and comments (a saved file has about 40): bounds the
#: work on many moderately dotted keys or table headers (2,000 lines of 16 took ~0.4 s).
MAX_DOTS = 2_000
#: Most table headers (``[name]`` or ``[[name]]`` lines) in a TOML file (a saved file has one):
#: each unknown header is a table ``tomllib`` builds and a problem to report, and a header has no
#: ``=`` or ``.`` for the other bounds to count (2,000 of them took ~1 s).
MAX_TABLE_HEADERS = 100
#: Most digits in a row (no field needs more; Python refuses to convert > 4,300-digit integers).
MAX_DIGITS = 100
_TOP_KEYS = frozenset({"format", "version", "preset", "name", "scenario", "curves"})
_DIGIT_RUN = re.compile(rf"[0-9_]{{{MAX_DIGITS + 1},}}")
_BOM = "\ufeff"
#: A line that opens a table header (after optional spaces); counted in one regex pass.
_TABLE_HEADER = re.compile(r"^[ \t]*\[", re.MULTILINE)
#: Single-line TOML strings (basic with escapes, literal) and a comment: one linear regex pass.
_STRINGS_AND_COMMENT = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#.*')


def scenario_document(
    scenario: Scenario, preset: str = DEFAULT_PRESET, name: str = ""
) -> dict[str, Any]:
    """The file content as a dict: every field's value (not only the overrides), for stability."""
    if not isinstance(scenario, Scenario):
        raise ScenarioError([f"scenario = {show_text(scenario)} is not a Scenario"])
    if not isinstance(preset, str) or preset not in presets():
        raise ScenarioError([f"preset = {show_text(preset)} is unknown"])
    if not isinstance(name, str):
        raise ScenarioError([f"name = {show_text(name)} is not text"])
    doc: dict[str, Any] = {"format": FORMAT_ID, "version": FORMAT_VERSION, "preset": preset}
    if name:
        doc["name"] = name
    doc["scenario"] = {
        k: (choice_text(k, v) if k in CHOICE_FIELDS else v)
        for k, v in scenario.model_dump().items()
    }
    if scenario.lease_curve is not None:  # a dated curve (methodology section 4.8)
        doc["curves"] = {"lease_rate": scenario.lease_curve.document()}
    return doc


def legacy_values(
    given: Iterable[str], values: Mapping[str, Any] | None = None, version: int | None = None
) -> dict[str, float | int]:
    """Old meanings of the fields not in ``given`` (an old file or link): the constants of
    :data:`LEGACY_VALUES` and, where ``values`` (the scenario's values as read, the preset's
    under the file's or link's) is given, the fields of :data:`LEGACY_FROM` at their source
    field's value. With a file's ``version``, only the fields added after it
    (:data:`LEGACY_SINCE`); a link has no version and may lack any.

    Examples
    --------
    >>> legacy_values(["gw_built"])  # doctest: +NORMALIZE_WHITESPACE
    {'entrant_profile': 0, 'lease_rate_tenor_years': 0, 'scarcity_multiple_max': 1,
     'entry_fade_years': 1, 'first_year': 2026, 'hosting_entry_lag_years': 50,
     'efficiency_diffusion_years': 0, 'refresh_rule': 0, 'facility_residual': 0}
    >>> legacy_values(["entrant_profile", "scarcity_multiple_max", "entry_fade_years",
    ...                "hosting_entry_lag_years", "efficiency_diffusion_years", "first_year"])
    {'lease_rate_tenor_years': 0, 'refresh_rule': 0, 'facility_residual': 0}
    >>> legacy_values(["entrant_profile", "it_life_years"], {"it_life_years": 3.0}, version=3)
    ... # doctest: +NORMALIZE_WHITESPACE
    {'scarcity_multiple_max': 1, 'entry_fade_years': 1, 'first_year': 2026,
     'hosting_entry_lag_years': 50, 'efficiency_diffusion_years': 0, 'refresh_rule': 0,
     'facility_residual': 0}
    """
    names = set(given)
    if version is not None:
        names |= {k for k, since in LEGACY_SINCE.items() if since <= version}
    out: dict[str, float | int] = {k: v for k, v in LEGACY_VALUES.items() if k not in names}
    if values is not None:
        out.update({k: values[src] for k, src in LEGACY_FROM.items() if k not in names})
    return out


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
        lines.append(f"name = {_toml_string(name)}")
    lines += ["", "[scenario]"]
    for key in FIELD_NAMES:
        value = doc["scenario"][key]
        if key in CHOICE_FIELDS:
            text = json.dumps(value)
        else:
            text = str(int(value)) if FIELD_SPECS[key].integer else repr(float(value))
        lines.append(f"{key} = {text}  # {FIELD_SPECS[key].unit}")
    if scenario.lease_curve is not None:  # a dated curve (methodology section 4.8)
        lines += to_toml_lines(scenario.lease_curve)
    return "\n".join(lines) + "\n"


def _toml_string(text: str) -> str:
    """A TOML basic string: JSON's escapes (valid in TOML) for quotes, backslashes and control
    characters, DEL escaped too, characters outside the BMP written as they are (TOML refuses the
    surrogate pairs ``json.dumps`` would write), lone surrogates replaced."""
    clean = text.encode("utf-8", errors="replace").decode("utf-8")
    return json.dumps(clean, ensure_ascii=False).replace("\x7f", "\\u007f")


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

    Examples
    --------
    >>> scenario, preset = parse_scenario_text("[scenario]\\ngw_built = 4.5\\n", "toml")
    >>> scenario.gw_built, preset
    (4.5, 'bofa-base')
    """
    if not isinstance(text, (str, bytes, bytearray)):
        raise ScenarioError([f"text = {show_text(text)} is not text or bytes"])
    if not isinstance(fmt, str):
        raise ScenarioError([f"format = {show_text(fmt)} is not supported (allowed: toml, json)"])
    if isinstance(text, str) and len(text) > MAX_FILE_BYTES:  # before encoding a huge string
        raise ScenarioError(
            [f"file is over {MAX_FILE_BYTES:,} bytes (allowed: at most {MAX_FILE_BYTES:,}, 1 MB)"]
        )
    raw = text.encode("utf-8", errors="replace") if isinstance(text, str) else bytes(text)
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(
            [f"file is {len(raw):,} bytes (allowed: at most {MAX_FILE_BYTES:,} bytes, 1 MB)"]
        )
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError(["file is not UTF-8 text"]) from None
    decoded = decoded.removeprefix(_BOM)  # a byte-order mark some editors write
    fmt = fmt.lower().lstrip(".")
    if fmt not in ("toml", "json"):
        raise ScenarioError([f"format = {show_text(fmt)} is not supported (allowed: toml, json)"])
    if not decoded.strip():
        raise ScenarioError(
            [f"file is empty (allowed: a {fmt.upper()} scenario file with a preset and/or fields)"]
        )
    try:
        if fmt == "toml":
            check_toml_budget(decoded)
            doc: object = tomllib.loads(decoded)
        else:
            doc = json.loads(
                decoded,
                parse_constant=_reject_constant,
                parse_int=_parse_json_int,
                object_pairs_hook=_unique_keys,
            )
    except ScenarioError:
        raise
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError([f"malformed TOML: {exc}"]) from None
    except json.JSONDecodeError as exc:
        raise ScenarioError(
            [f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"]
        ) from None
    except RecursionError:
        raise ScenarioError(["file is nested too deeply to be a scenario"]) from None
    except ValueError:  # e.g. an out-of-range date; never Python's own text
        raise ScenarioError([f"malformed {fmt.upper()}: a value cannot be read"]) from None
    if isinstance(doc, Mapping) and not doc:
        raise ScenarioError(
            [f"file is empty (allowed: a {fmt.upper()} scenario file with a preset and/or fields)"]
        )
    return scenario_from_document(doc)


def check_toml_budget(text: str) -> None:
    """Refuse TOML text whose shape would make ``tomllib`` slow (raises ScenarioError).

    Checks, before any parsing: at most :data:`MAX_LINES` lines, :data:`MAX_DOTS_PER_LINE` dots on
    a line outside strings and comments (long dotted keys are quadratic to parse),
    :data:`MAX_PAIRS` ``=`` signs and :data:`MAX_DOTS` dots outside strings and comments,
    :data:`MAX_TABLE_HEADERS` lines opening with ``[``, and :data:`MAX_DIGITS` digits in a row.
    Each check is one linear pass over the text.
    """
    n_lines = text.count("\n") + 1
    if n_lines > MAX_LINES:
        raise ScenarioError(
            [f"file has {n_lines:,} lines (allowed: at most {MAX_LINES:,} lines in a TOML file)"]
        )
    if text.count(".") > MAX_DOTS_PER_LINE:  # only then look line by line
        for number, line in enumerate(text.split("\n"), start=1):
            if line.count(".") <= MAX_DOTS_PER_LINE:
                continue
            dots = _dots_outside_strings(line)
            if dots > MAX_DOTS_PER_LINE:
                raise ScenarioError(
                    [
                        f"line {number} has {dots:,} '.' characters (allowed: at most "
                        f"{MAX_DOTS_PER_LINE} per line; long dotted keys are refused)"
                    ]
                )
    if text.count("=") > MAX_PAIRS or text.count(".") > MAX_DOTS:  # then look outside strings
        plain = text if ('"""' in text or "'''" in text) else _STRINGS_AND_COMMENT.sub("", text)
        for char, what, limit in (("=", "key = value pairs", MAX_PAIRS), (".", "dots", MAX_DOTS)):
            found = plain.count(char)
            if found > limit:
                raise ScenarioError(
                    [
                        f"file has {found:,} {what} outside strings (allowed: at most "
                        f"{limit:,} in a TOML file)"
                    ]
                )
    headers = len(_TABLE_HEADER.findall(text))
    if headers > MAX_TABLE_HEADERS:
        raise ScenarioError(
            [
                f"file has {headers:,} table headers (allowed: at most {MAX_TABLE_HEADERS} "
                "[table] lines in a TOML file)"
            ]
        )
    run = _DIGIT_RUN.search(text)
    if run is not None:
        line_no = text.count("\n", 0, run.start()) + 1
        raise ScenarioError(
            [
                f"line {line_no} has a number of {len(run.group()):,} digits "
                f"(allowed: at most {MAX_DIGITS} digits in a row)"
            ]
        )


def _dots_outside_strings(line: str) -> int:
    """Dots on one TOML line outside single-line strings and comments (keys, numbers).

    A line with a triple quote counts every dot: a multi-line string's state spans lines, and a
    per-line reading could mistake a key for string content. Strings of a saved file (a name
    with dots) are then not counted, while every dot of a key is.
    """
    if '"""' in line or "'''" in line:
        return line.count(".")
    return _STRINGS_AND_COMMENT.sub("", line).count(".")


def _reject_constant(name: str) -> float:
    raise ScenarioError([f"JSON constant {name} is not allowed (values must be finite numbers)"])


class _LongInt(int):
    """Stand-in for a JSON integer with more digits than any field allows (beyond every bound,
    same sign), shown as its digit count: Python will not convert one of > 4,300 digits."""

    digits: int

    def __repr__(self) -> str:
        return f"<a number of {self.digits:,} digits>"


def _parse_json_int(text: str) -> int:
    n_digits = len(text.lstrip("-"))
    if n_digits <= MAX_DIGITS:
        return int(text)
    out = _LongInt(-(10**MAX_DIGITS) if text.startswith("-") else 10**MAX_DIGITS)
    out.digits = n_digits
    return out


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            raise ScenarioError(
                [f"key {show_text(key)} is given twice in a JSON object (allowed: each key once)"]
            )
        out[key] = value
    return out


def scenario_from_document(doc: object) -> tuple[Scenario, str]:
    """Validate a parsed document (nested or flat) into a Scenario and its base preset id."""
    if not isinstance(doc, Mapping):
        raise ScenarioError([f"file must hold a table of fields, not {type(doc).__name__}"])
    problems: list[str] = []
    curve: LeaseCurve | None = None
    if "scenario" in doc or any(
        k in doc for k in ("format", "version", "preset", "name", "curves")
    ):
        extra = [k for k in doc if k not in _TOP_KEYS]
        problems += [_top_key_message(str(k)) for k in extra]
        fields_obj = doc.get("scenario", {})
        fmt = doc.get("format", FORMAT_ID)
        if fmt != FORMAT_ID:
            problems.append(f"format = {str(fmt)[:40]!r} is not {FORMAT_ID!r}")
        version = doc.get("version")
        if version is not None and (isinstance(version, bool) or version not in READ_VERSIONS):
            problems.append(
                f"version = {str(version)[:20]!r} is not supported (allowed: "
                f"{', '.join(map(str, READ_VERSIONS))})"
            )
        preset = doc.get("preset", DEFAULT_PRESET)
        if "curves" in doc:  # a dated curve (methodology section 4.8): its own messages
            try:
                curve = curves_from_document(doc["curves"])
            except CurveError as exc:
                problems += exc.problems
    else:
        fields_obj, preset, version = doc, DEFAULT_PRESET, None
    if not isinstance(preset, str) or preset not in presets():
        problems.append(
            f"preset = {str(preset)[:40]!r} is unknown (allowed: {', '.join(presets())})"
        )
        preset = DEFAULT_PRESET
    if not isinstance(fields_obj, Mapping):
        problems.append("scenario must be a table of field = value pairs")
        fields_obj = {}
    values: dict[str, object] = {}
    n_unknown = 0
    for key, value in fields_obj.items():
        if key not in FIELD_SPECS:
            problems.append(unknown_field_message(str(key), suggest=n_unknown < MAX_SUGGESTIONS))
            n_unknown += 1
            continue
        try:
            values[key] = check_value(key, value)
        except ValueError as exc:
            problems.append(str(exc))
    if problems:
        raise ScenarioError(problems)
    base = load_preset(preset).model_dump()
    # unversioned reads as 1
    read_as = 1 if version is None else int(version)
    old = legacy_values(values, {**base, **values}, read_as)
    return make_scenario({**base, **old, **values, "lease_curve": curve}), preset


def _top_key_message(key: str) -> str:
    allowed = f"allowed: {', '.join(sorted(_TOP_KEYS))}"
    if key in FIELD_SPECS:
        return (
            f"unknown top-level key {show_text(key)} ({allowed}): {key} is a scenario input; "
            'put inputs under [scenario] (TOML) or in the "scenario" object (JSON)'
        )
    return f"unknown top-level key {show_text(key)} ({allowed})"


#: Longest path quoted in a message (characters); longer paths are cut in the middle.
SHOW_PATH_CHARS = 80


def show_path(path: str | Path) -> str:
    """A path made safe to quote in a one-line message: printable, quoted, cut to 80 characters."""
    text = "".join(ch if ch.isprintable() else "?" for ch in str(path))
    if len(text) > SHOW_PATH_CHARS:
        half = (SHOW_PATH_CHARS - 1) // 2
        text = f"{text[:half]}…{text[-half:]}"
    return f"'{text}'"


def read_regular_file(path: str | Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; raises ScenarioError otherwise.

    Devices (``/dev/zero``), FIFOs, sockets and folders are refused from ``stat`` before they are
    opened for reading (their size says 0); the file is opened without blocking, checked again on
    the open descriptor (a swap between the two checks is caught), and at most ``limit + 1``
    bytes are read.
    """
    p = Path(path)
    shown = show_path(p)
    try:
        info = os.stat(p)
        if not stat.S_ISREG(info.st_mode):
            raise ScenarioError([f"scenario file {shown} is not a regular file"])
        if info.st_size > limit:
            raise ScenarioError(
                [f"scenario file {shown} is {info.st_size:,} bytes (allowed: at most {limit:,})"]
            )
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
        fd = os.open(p, flags)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise ScenarioError([f"scenario file {shown} is not a regular file"])
            chunks: list[bytes] = []
            total = 0
            while total <= limit:
                chunk = os.read(fd, limit + 1 - total)
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
        finally:
            os.close(fd)
    except ScenarioError:
        raise
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ScenarioError([f"cannot read scenario file {shown}: {reason}"]) from None
    except ValueError:  # e.g. a NUL character in the path
        raise ScenarioError([f"cannot read scenario file {shown}: not a valid path"]) from None
    data = b"".join(chunks)
    if len(data) > limit:
        raise ScenarioError(
            [f"scenario file {shown} is over {limit:,} bytes (allowed: at most {limit:,})"]
        )
    return data


def load_scenario_file(path: str | Path) -> tuple[Scenario, str]:
    """Read a ``.toml`` or ``.json`` scenario file (format from the suffix)."""
    if not isinstance(path, (str, Path)):
        raise ScenarioError([f"path = {show_text(path)} is not a file path"])
    p = Path(path)
    fmt = p.suffix.lower().lstrip(".")
    if fmt not in ("toml", "json"):
        raise ScenarioError([f"scenario file {show_path(p.name)} must end in .toml or .json"])
    return parse_scenario_text(read_regular_file(p), fmt)


def parse_assignment(text: str) -> tuple[str, float]:
    """Parse a ``field=value`` override (CLI ``--set``); raises ScenarioError naming the problem.

    The value is read by :func:`model.scenario.value_from_text` (plain ASCII decimals, as in
    share links, or a choice's name: ``entrant_profile=hyperscaler``).
    """
    if not isinstance(text, str) or "=" not in text:
        raise ScenarioError([f"--set {show_text(text)} must look like field=value"])
    key, _, raw = text.partition("=")
    key, raw = key.strip(), raw.strip(" \t")
    if key not in FIELD_SPECS:
        raise ScenarioError([unknown_field_message(key)])
    allowed = f"allowed: {FIELD_SPECS[key].range_text()}"
    try:
        value = value_from_text(key, raw)
    except ValueError as exc:
        raise ScenarioError([f"{key} = {show_text(raw)} {exc} ({allowed})"]) from None
    try:
        check_value(key, value)
    except ValueError as exc:
        raise ScenarioError([str(exc)]) from None
    return key, value
