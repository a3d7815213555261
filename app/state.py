"""The URL contract of the dashboard: query parameters <-> (preset, scenario).

A shareable link holds ``preset=<id>`` plus every scenario input that differs from that preset,
under the model's field names (``?preset=bofa-base&gw_built=4.5``). Values are plain decimal
numbers written so that they parse back to the identical float; they are read with the same strict
grammar as the CLI's ``--set`` (:func:`model.scenario.number_from_text`: ASCII digits, optional
sign, decimal point and exponent; no ``1_0``, no full-width digits, no hex).

Two pure functions make the contract (no Streamlit needed, so they can be tested directly):

* :func:`parse_query_params` turns a ``st.query_params``-like mapping into
  ``(preset_id, scenario, warnings)``. It never raises: every bad parameter (not a number,
  out of range, NaN, inf, unknown name, repeated key, over-long text, markup) yields one warning
  naming the parameter and the allowed range, and that parameter falls back to the preset's value.
  Warnings are plain text; user text in them is truncated and made printable, and the UI must still
  escape it for Markdown (see :func:`app.ui.escape_markdown`).
* :func:`query_params_for` gives the query parameters of a scenario; :func:`url_represents` says
  whether the current ones already read back as it (then the URL is left as written).

Links, files and the session carry every input exactly: a value is written as Python's shortest
``repr`` of the float and read back to the identical float (tested with Hypothesis).

:func:`apply_to_session` loads a (preset, scenario) into the widgets' session state; call it from a
widget callback (``on_change``/``on_click``), as Streamlit allows widget keys to be set only there
or before the widgets are drawn.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

from model import (
    DEFAULT_PRESET,
    FIELD_NAMES,
    FIELD_SPECS,
    Scenario,
    ScenarioError,
    load_preset,
    make_scenario,
    preset_ids,
)
from model.curves import LINK_PARAMS, LINK_POINTS, CurveError, curve_from_link, link_params
from model.io import legacy_values
from model.scenario import MAX_SUGGESTIONS, choice_text, value_from_text

PRESET_PARAM = "preset"
#: Longest raw value (characters) accepted for one parameter; longer text is rejected unread.
MAX_VALUE_CHARS = 64
#: User text shown in a warning is cut to this many characters.
SHOW_CHARS = 40
#: Session-state key of a field's widget.
WIDGET_PREFIX = "f_"
#: Session-state keys used by the dashboard besides the field widgets.
PRESET_KEY = "preset"
WARNINGS_KEY = "url_warnings"
#: Session-state keys of the dated lease-rate curve (methodology 4.8) and of its table's
#: version (bumped when a link, a file or a preset loads a curve, so the table shows it).
CURVE_KEY = "lease_curve"
CURVE_VERSION_KEY = "lease_curve_version"


def widget_key(name: str) -> str:
    """Session-state key of the widget for scenario field ``name`` (e.g. ``f_gw_built``)."""
    return f"{WIDGET_PREFIX}{name}"


def show_user_text(value: object, limit: int = SHOW_CHARS) -> str:
    """User text made safe to quote in a plain-text message: printable, quoted, truncated."""
    text = value if isinstance(value, str) else str(value)
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"'{text}'"


def format_value(name: str, value: float) -> str:
    """A field value as written in the URL: the shortest text that parses back to it exactly."""
    name_of_choice = choice_text(name, value)
    if name_of_choice is not None:
        return name_of_choice
    if FIELD_SPECS[name].integer:
        return str(int(value))
    x = float(value)
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return repr(x)


def query_params_for(preset_id: str, scenario: Scenario) -> dict[str, str]:
    """Query parameters of a scenario: ``preset`` plus every field that differs from the preset.

    Examples
    --------
    >>> from model import load_preset
    >>> query_params_for("bofa-base", load_preset("bofa-base").replace(gw_built=4.5))
    ... # doctest: +NORMALIZE_WHITESPACE
    {'preset': 'bofa-base', 'gw_built': '4.5', 'entrant_profile': 'neocloud',
     'refresh_rule': 'when_it_pays', 'facility_residual': 'annuity'}

    A field added since old links were written is named where a link without it would read it
    differently (here the book life, which an old link takes from the IT life):

    >>> query_params_for("bofa-base", load_preset("bofa-base").replace(it_life_years=4.0))
    ... # doctest: +NORMALIZE_WHITESPACE
    {'preset': 'bofa-base', 'it_life_years': '4', 'entrant_profile': 'neocloud',
     'refresh_rule': 'when_it_pays', 'facility_residual': 'annuity', 'it_book_life_years': '5.5'}
    >>> query_params_for("bofa-base", load_preset("bofa-base"))
    {'preset': 'bofa-base'}
    """
    base = load_preset(preset_id)
    params = {PRESET_PARAM: preset_id}
    changed = scenario.diff(base)
    # a link with fields but without a field added since (model.io.LEGACY_VALUES, LEGACY_FROM)
    # reads that field at its old meaning: with any change, each is written where its old
    # meaning differs from the scenario's value; a link of a preset alone shows the preset as it is
    old = legacy_values(changed, scenario.model_dump()) if changed else {}
    for name in [*changed, *(k for k, v in old.items() if getattr(scenario, k) != v)]:
        params[name] = format_value(name, getattr(scenario, name))
    # a dated curve (methodology section 4.8): curve_lease=2026:12.5,2027:13.1 and its tags
    params.update(link_params(scenario.lease_curve))
    return params


def url_represents(params: Mapping[str, Any], preset_id: str, scenario: Scenario) -> bool:
    """Whether query parameters already read back, without a warning, as this preset and scenario.

    A link that spells a value differently (``4.50``, ``45e-1``) or names a field at its preset
    value still represents the scenario (a link with fields but no ``entrant_profile`` reads as
    the old "builder" entrant, so it does not represent a scenario with today's default), so the page leaves the URL as the visitor wrote it and
    writes :func:`query_params_for` only when the scenario differs.

    Examples
    --------
    >>> from model import load_preset
    >>> scenario = load_preset("bofa-base").replace(gw_built=4.5)
    >>> link = {"preset": "bofa-base", "gw_built": "4.50", "entrant_profile": "neocloud",
    ...         "refresh_rule": "when_it_pays",
    ...         "facility_residual": "annuity"}
    >>> url_represents(link, "bofa-base", scenario)
    True
    >>> url_represents({"preset": "bofa-base", "gw_built": "4.5"}, "bofa-base", scenario)
    False
    >>> url_represents({"gw_built": "4.6"}, "bofa-base", scenario)
    False
    """
    read_preset, read_scenario, warnings = parse_query_params(params)
    return not warnings and read_preset == preset_id and read_scenario == scenario


def _values(raw: object) -> list[str]:
    """All values of one parameter as a list of strings (repeated keys give several)."""
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, Iterable):
        return [str(v) for v in raw]
    return [str(raw)]


def _range_text(name: str) -> str:
    spec = FIELD_SPECS[name]
    if spec.choices:
        return spec.range_text()
    kind = "a whole number" if spec.integer else "a number"
    return f"{kind} from {spec.range_text()}"


def _parse_number(name: str, text: str) -> tuple[float | int | None, str | None]:
    """One field's raw text -> (value, None) or (None, warning)."""
    spec = FIELD_SPECS[name]
    fallback = "; using the preset's value"
    if len(text) > MAX_VALUE_CHARS:
        return None, (
            f"URL parameter {name}: value of {len(text)} characters is too long "
            f"(allowed: {_range_text(name)}){fallback}"
        )
    try:
        # the same strict grammar as --set: ASCII decimals only (no 1_0, no full-width digits)
        x = value_from_text(name, text.strip(" \t"))
    except ValueError as exc:
        return None, (
            f"URL parameter {name} = {show_user_text(text)} {exc} "
            f"(allowed: {_range_text(name)}){fallback}"
        )
    if spec.integer and x != int(x):
        return None, (
            f"URL parameter {name} = {show_user_text(text)} is not a whole number "
            f"(allowed: {_range_text(name)}){fallback}"
        )
    if x < spec.low or x > spec.high:
        return None, (
            f"URL parameter {name} = {show_user_text(text)} is out of range "
            f"(allowed: {_range_text(name)}){fallback}"
        )
    return (int(x) if spec.integer else x), None


def parse_query_params(
    params: Mapping[str, Any],
) -> tuple[str, Scenario, list[str]]:
    """Read a shareable link: ``(preset_id, scenario, warnings)``; never raises.

    Parameters
    ----------
    params : mapping of str to str or list of str
        Query parameters, e.g. ``{k: st.query_params.get_all(k) for k in st.query_params}``
        (a list holds the values of a repeated key) or a plain ``dict[str, str]``.

    Returns
    -------
    preset_id : str
        The ``preset`` parameter if it names a known preset, else the default preset.
    scenario : Scenario
        The preset's scenario with every valid override applied.
    warnings : list of str
        One plain-text message per rejected parameter, naming it and the allowed values.
    """
    warnings: list[str] = []
    known_presets = preset_ids()
    preset_id = DEFAULT_PRESET
    overrides: dict[str, float | int] = {}
    curve_texts: dict[str, str] = {}
    n_unknown = 0
    for key in params:
        raw_key = str(key)
        values = _values(params[key])
        if raw_key in LINK_PARAMS:  # a dated curve's points or tags (section 4.8)
            if len(values) != 1:
                warnings.append(
                    f"URL parameter {raw_key} is given {len(values)} times (allowed: once); "
                    "the dated curve is ignored"
                )
                curve_texts[LINK_POINTS] = ""  # (refused below, once)
                continue
            curve_texts[raw_key] = values[0]
            continue
        if raw_key == PRESET_PARAM:
            if len(values) != 1:
                warnings.append(
                    f"URL parameter preset is given {len(values)} times "
                    f"(allowed: once, one of {', '.join(known_presets)}); "
                    f"using the default preset {DEFAULT_PRESET}"
                )
            elif values[0] not in known_presets:
                warnings.append(
                    f"URL parameter preset = {show_user_text(values[0])} is unknown "
                    f"(allowed: {', '.join(known_presets)}); "
                    f"using the default preset {DEFAULT_PRESET}"
                )
            else:
                preset_id = values[0]
            continue
        if raw_key not in FIELD_SPECS:
            # a suggestion for the first few only: each costs ~1 ms (see MAX_SUGGESTIONS)
            close = (
                difflib.get_close_matches(raw_key[:MAX_VALUE_CHARS], FIELD_NAMES, n=3)
                if n_unknown < MAX_SUGGESTIONS
                else []
            )
            n_unknown += 1
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            warnings.append(
                f"unknown URL parameter {show_user_text(raw_key)} "
                f"(not a scenario input{hint}); ignored"
            )
            continue
        if len(values) != 1:
            warnings.append(
                f"URL parameter {raw_key} is given {len(values)} times "
                f"(allowed: once, {_range_text(raw_key)}); using the preset's value"
            )
            continue
        value, problem = _parse_number(raw_key, values[0])
        if problem is not None:
            warnings.append(problem)
        elif value is not None:
            overrides[raw_key] = value

    base = load_preset(preset_id)
    if overrides:
        # a link that sets fields but not one added since means what it meant when written
        # (unknown parameters and refused values set nothing, so they do not make a link old)
        given = [str(k) for k in params]
        old = legacy_values(given, {**base.model_dump(), **overrides})
        overrides = {**old, **overrides}
    try:
        scenario = base.replace(**overrides)
    except ScenarioError as exc:
        # only cross-field rules are left (each value passed its own check): drop those fields
        scenario, dropped = _drop_conflicts(base, overrides)
        warnings.append(
            "URL parameters conflict: "
            + "; ".join(exc.problems)
            + f"; using the preset's {' and '.join(dropped)}"
        )
    if curve_texts and curve_texts.get(LINK_POINTS) != "":
        try:
            curve = curve_from_link(curve_texts)
        except CurveError as exc:  # the curve is dropped, every other input kept
            warnings += [
                f"{show_user_text(p, 300)[1:-1]}; the dated curve is ignored"
                for p in exc.problems[:MAX_SUGGESTIONS]
            ]
        else:
            scenario = scenario.replace(lease_curve=curve)
    return preset_id, scenario, warnings


def _drop_conflicts(
    base: Scenario, overrides: dict[str, float | int]
) -> tuple[Scenario, list[str]]:
    """Apply overrides except the shares that break ``lease_share + hosting_share <= 1``."""
    dropped: list[str] = [k for k in ("lease_share", "hosting_share") if k in overrides]
    kept = {k: v for k, v in overrides.items() if k not in dropped}
    try:
        return base.replace(**kept), dropped
    except ScenarioError:
        return base, sorted(overrides)


def session_values(scenario: Scenario) -> dict[str, float | int]:
    """Widget values for a scenario: ``{widget_key(name): value}`` (ints for integer fields)."""
    dump = scenario.model_dump()
    return {
        widget_key(name): (int(dump[name]) if FIELD_SPECS[name].integer else float(dump[name]))
        for name in FIELD_NAMES
    }


def apply_to_session(
    session: MutableMapping[Any, Any],
    preset_id: str,
    scenario: Scenario,
    warnings: Iterable[str] = (),
) -> None:
    """Load a preset and scenario into the dashboard's widgets (call from a widget callback)."""
    session[PRESET_KEY] = preset_id
    session.update(session_values(scenario))
    session[CURVE_KEY] = scenario.lease_curve
    session[CURVE_VERSION_KEY] = int(session.get(CURVE_VERSION_KEY, 0)) + 1
    session[WARNINGS_KEY] = list(warnings)


def scenario_from_session(
    session: Mapping[Any, Any], fallback: Scenario
) -> tuple[Scenario, list[str]]:
    """The scenario the widgets hold; on a rule broken across fields, the fallback and problems."""
    # the values as stored, unrounded: a link's or a file's value is used exactly (the widget
    # callbacks already drop the float noise of their own percent arithmetic)
    values: dict[str, object] = {
        name: session.get(widget_key(name), getattr(fallback, name)) for name in FIELD_NAMES
    }
    values["lease_curve"] = session.get(CURVE_KEY, fallback.lease_curve)
    try:
        return make_scenario(values), []
    except ScenarioError as exc:
        return fallback, list(exc.problems)


__all__ = [
    "MAX_VALUE_CHARS",
    "PRESET_PARAM",
    "apply_to_session",
    "format_value",
    "parse_query_params",
    "query_params_for",
    "scenario_from_session",
    "session_values",
    "show_user_text",
    "url_represents",
    "widget_key",
]
