"""The dashboard page: sidebar inputs, headline sliders, verdict, KPIs and the tabs.

:mod:`app.streamlit_app` is a thin entry that calls :func:`main`. The URL holds the preset and
every input that differs from it (see :mod:`app.state`), so a link reproduces the scenario.

Only the open tab is drawn. In AppTest, choose it before ``run()`` with
``at.session_state["tab"] = "Export"`` (any title of :data:`TABS`).

Session state holds each input's *model* value under ``f_<field name>``
(:func:`app.state.widget_key`, a fraction for shares and rates). The widgets show values in the
unit people read (percent for shares and rates) under their own keys: ``in_<name>`` for the
sidebar's number inputs and ``hs_<name>`` for the headline sliders. A widget's callback checks a
typed value and either stores it in ``f_<name>`` or puts the box back and says why; before the
widgets are drawn, :func:`sync_inputs` copies the model values into them (a preset, a reset, an
upload or a link changes ``f_<name>`` only).
"""

from __future__ import annotations

import importlib
import json
import logging
import math
import re
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx

from app import charts, state, ui
from app.context import ViewContext, display_scale, target_gap_text, verdict
from app.curve_editor import curve_editor
from app.text import cite, escape_markdown
from app.views import scenario_files
from model import (
    FIELD_NAMES,
    FIELD_SPECS,
    GROUPS,
    HEADLINE_FIELDS,
    Readings,
    Result,
    Scenario,
    evaluate,
    finance,
    load_preset,
    make_scenario,
    median_entry_lag_years,
    moving_market,
    preset_ids,
    presets,
    still_market,
)
from model.fields import EFFICIENCY, FIELD_CHOICES, flag_meanings
from model.metrics import format_metric, metric_label, metric_spec

if TYPE_CHECKING:
    from model.band import HeadlineBand

log = logging.getLogger(__name__)

TITLE = "AI data-center returns"
#: Tab title -> module with ``render(ctx)``; a view is imported when its tab is first opened
#: (some pull in heavy libraries), so the first page shows without waiting for them.
TABS: tuple[tuple[str, str], ...] = (
    ("Returns", "app.views.returns"),
    ("Pricing pressure", "app.views.pricing"),
    ("Build vs buy", "app.views.build_vs_buy"),
    ("Sensitivity", "app.views.sensitivity"),
    ("Uncertainty", "app.views.uncertainty"),
    ("Stress tests", "app.views.stress"),
    ("Compare", "app.views.compare"),
    ("Export", "app.views.export"),
    ("Assumptions & method", "app.views.assumptions"),
)

#: How the leased and hosted shares interact (shown at the top of their input group).
SHARES_NOTE = (
    "Leased and hosted shares split the owned capacity: together at most 100%; the rest is "
    "kept for internal use (valued at the internal transfer price). Raising one share past "
    "what the other leaves lowers the other. Hosted capacity whose tokens the market-share "
    "cap leaves unsold is leased at the market rate instead."
)
INIT_KEY = "_initialised"
#: Session-state key set while a full run draws the main block (unset in a run of the block alone).
FULL_RUN_KEY = "_full_run"
#: Session-state key of what the sidebar showed at the last full run (:func:`sidebar_state`).
SIDEBAR_STATE_KEY = "_sidebar_state"
#: Session-state key of the holder of the session's latest view context (:func:`_latest_box`).
LATEST_KEY = "_latest_context"
#: Session-state key of the open tab (its title); set it in AppTest to draw another tab.
TAB_KEY = "tab"
SHARE_NOTE_KEY = "_share_note"
#: Session-state key of the message about a typed value that was refused.
INPUT_NOTE_KEY = "_input_note"
INPUT_PREFIX = "in_"
SLIDER_PREFIX = "hs_"
#: Headline slider ranges narrower than the field's bounds (the sidebar box covers the rest),
#: so the typical value does not sit at the slider's edge.
SLIDER_RANGES: dict[str, tuple[float, float]] = {"gw_built": (0.1, 10.0)}


def input_key(name: str) -> str:
    """Session-state key of the sidebar number input of field ``name`` (value as shown)."""
    return f"{INPUT_PREFIX}{name}"


def group_key(group: str) -> str:
    """Session-state key of the sidebar expander of input group ``group`` (True when open).

    >>> group_key("Build & buy")
    'grp_build_buy'
    """
    return "grp_" + re.sub(r"[^a-z0-9]+", "_", group.lower()).strip("_")


def slider_key(name: str) -> str:
    """Session-state key of the headline slider of field ``name``."""
    return f"{SLIDER_PREFIX}{name}"


def view(module: str) -> Callable[[ViewContext], None]:
    """The ``render`` function of a view module (imported on first use)."""
    render: Callable[[ViewContext], None] = importlib.import_module(module).render
    return render


def render_view(module: str, ctx: ViewContext) -> None:
    view(module)(ctx)


def deferred_view(module: str) -> Callable[[ViewContext], None]:
    """A render function that imports its view when called (inside the page's error guard)."""

    def render(ctx: ViewContext) -> None:
        render_view(module, ctx)

    return render


def scenario_key(scenario: Scenario) -> str:
    """The cache key of a scenario: its fields as JSON (floats written to round-trip exactly).

    A string, because Streamlit hashes a string in microseconds but walks a dict of ~100 fields
    value by value (about 5 ms a call on the project's machine, several calls a rerun).
    """
    key = scenario.model_dump_json()
    if scenario.lease_curve is None:
        return key
    # a dated curve (methodology 4.8) is not in model_dump: added as its file table
    return key[:-1] + ',"lease_curve":' + json.dumps(scenario.lease_curve.document()) + "}"


def _from_key(key: str) -> Scenario:
    return make_scenario(json.loads(key))


@st.cache_data(max_entries=512, show_spinner=False)
def evaluate_cached(key: str) -> Result:
    """:func:`model.evaluate`, cached on the scenario's :func:`scenario_key`."""
    return evaluate(_from_key(key))


def readings_cached(scenario: Scenario, result: Result) -> Readings:
    """The still-market and moving-market readings (:func:`model.market_readings`), each
    through :func:`evaluate_cached`: one more ``evaluate`` (about 1-2 ms) where the scenario as
    set is one of them, a cache hit on a rerun."""
    still, moving = (
        evaluate_cached(scenario_key(reading(scenario)))
        for reading in (still_market, moving_market)
    )
    return Readings(scenario, result, still, moving, median_entry_lag_years())


@st.cache_data(max_entries=64, show_spinner=False)
def band_cached(key: str) -> HeadlineBand:
    """:func:`model.band.headline_band` of the scenario, cached on its :func:`scenario_key` (the
    draws' count and seed are fixed, so the inputs are all that matters)."""
    from model.band import headline_band  # scipy: imported after the first chart is sent

    return headline_band(_from_key(key))


def start_band(scenario: Scenario) -> Callable[[], HeadlineBand]:
    """Start :func:`band_cached` of ``scenario`` in a worker thread; returns a function that
    waits for it (and raises what it raised).

    The page's KPIs, sliders and open tab are drawn meanwhile: the simulation is mostly numpy,
    which lets the script's thread run, so a slider move waits for the longer of the two rather
    than their sum. On a session's first run while ``model.band`` (and so scipy) is not yet
    imported, nothing starts early: the import would hold up the first chart.
    """
    key = scenario_key(scenario)
    if "model.band" not in sys.modules:
        return lambda: band_cached(key)
    box: dict[str, Any] = {}

    def job() -> None:
        try:
            box["band"] = band_cached(key)
        except Exception as exc:  # re-raised in the script's thread by wait()
            box["error"] = exc

    worker = threading.Thread(target=job, name="headline-band", daemon=True)
    add_script_run_ctx(worker)  # band_cached is a Streamlit cache: it needs the run's context
    worker.start()

    def wait() -> HeadlineBand:
        worker.join()
        if "error" in box:
            raise box["error"]
        band: HeadlineBand = box["band"]
        return band

    return wait


@st.cache_data(max_entries=32, show_spinner=False)
def preset_scenario(preset_id: str) -> Scenario:
    return load_preset(preset_id)


# ---- state ----------------------------------------------------------------------------------------
def init_session() -> None:
    """On a session's first run, load the scenario from the URL (warnings kept for display)."""
    if st.session_state.get(INIT_KEY):
        return
    params = {k: st.query_params.get_all(k) for k in st.query_params}
    preset_id, scenario, warnings = state.parse_query_params(params)
    state.apply_to_session(st.session_state, preset_id, scenario, warnings)
    st.session_state[INIT_KEY] = True


def on_preset_change() -> None:
    preset_id = st.session_state[state.PRESET_KEY]
    state.apply_to_session(st.session_state, preset_id, preset_scenario(preset_id))
    st.session_state.pop(INPUT_NOTE_KEY, None)


def on_reset() -> None:
    preset_id = st.session_state[state.PRESET_KEY]
    state.apply_to_session(st.session_state, preset_id, preset_scenario(preset_id))
    st.session_state.pop(SHARE_NOTE_KEY, None)
    st.session_state.pop(INPUT_NOTE_KEY, None)


def _shown(name: str, model_value: float) -> float | int:
    """A model value in the unit shown by the widgets (percent for shares and rates)."""
    if FIELD_SPECS[name].integer:
        return int(model_value)
    return float(f"{float(model_value) * display_scale(name):.12g}")


def _slider_bounds(name: str) -> tuple[float, float]:
    spec = FIELD_SPECS[name]
    return SLIDER_RANGES.get(name, (float(spec.low), float(spec.high)))


def sync_inputs() -> None:
    """Show each field's model value in its widgets (run before the widgets are drawn)."""
    ss = st.session_state
    for name in FIELD_NAMES:
        value = ss.get(state.widget_key(name))
        if value is None:
            continue
        shown: float | int | bool = _shown(name, value)
        if flag_meanings(name) is not None:
            shown = bool(shown)  # a toggle holds True/False; the model keeps 1/0
        key = input_key(name)
        if ss.get(key) != shown:
            ss[key] = shown
        if name in HEADLINE_FIELDS:
            lo, hi = _slider_bounds(name)
            clamped = min(max(float(shown), lo), hi)
            if ss.get(slider_key(name)) != clamped:
                ss[slider_key(name)] = clamped


def _refuse(name: str, typed: object) -> None:
    """Put the box back to the model's value and say why the typed value was refused."""
    spec = FIELD_SPECS[name]
    ss = st.session_state
    ss[input_key(name)] = _shown(name, ss[state.widget_key(name)])
    kind = "a whole number" if spec.integer else "a number"
    ss[INPUT_NOTE_KEY] = (
        f"{spec.label}: {typed} is not allowed (allowed: {kind} from "
        f"{ui.field_range_text(spec)}); kept {ui.field_value(name, ss[state.widget_key(name)])}."
    )


def on_input_change(name: str, key: str) -> None:
    """A typed or slid value: store it in the model's unit, or refuse it visibly."""
    spec = FIELD_SPECS[name]
    ss = st.session_state
    raw = ss.get(key)
    if raw is None or not isinstance(raw, (int, float)) or not math.isfinite(float(raw)):
        _refuse(name, raw)
        return
    value = float(raw) / display_scale(name)
    value = float(f"{value:.12g}")
    if spec.integer and value != int(value):
        _refuse(name, raw)
        return
    if value < spec.low - 1e-12 or value > spec.high + 1e-12:
        _refuse(name, raw)
        return
    ss.pop(INPUT_NOTE_KEY, None)
    ss[state.widget_key(name)] = int(value) if spec.integer else value
    if name in ("lease_share", "hosting_share"):
        _keep_shares(name, "hosting_share" if name == "lease_share" else "lease_share")


def _keep_shares(changed: str, other: str) -> None:
    """Keep leased + hosted shares <= 100%: lower the other share when one is raised."""
    ss = st.session_state
    a = float(ss[state.widget_key(changed)])
    b = float(ss[state.widget_key(other)])
    if a + b > 1.0 + 1e-9:
        new_b = round(max(0.0, 1.0 - a), 10)
        ss[state.widget_key(other)] = new_b
        ss[SHARE_NOTE_KEY] = (
            f"Leased + hosted shares cannot exceed 100%: {FIELD_SPECS[other].label} lowered to "
            f"{new_b * 100:g}%."
        )


# ---- controls ---------------------------------------------------------------------------------
def _decimals(name: str) -> int:
    spec = FIELD_SPECS[name]
    if spec.integer:
        return 0
    scale = display_scale(name)
    value = float(st.session_state.get(state.widget_key(name), spec.low)) * scale
    text = f"{value:.6f}".rstrip("0")
    shown = len(text.split(".")[1]) if "." in text else 0
    step_digits = ui.step_decimals(spec.step * scale)
    return min(6, max(step_digits, shown))


def number_control(name: str) -> None:
    """A sidebar input for one field: unit in the label, range and source in the help; a
    yes/no input (:func:`model.fields.flag_meanings`) is a toggle, an input with a few sourced
    values (:data:`model.fields.FIELD_CHOICES`) or named choices (``FieldSpec.choices``) a select.

    No min/max on the widget: an out-of-range value reaches :func:`on_input_change`, which puts
    the box back and says why (a bounded widget only turns red and keeps the bad value).
    """
    spec = FIELD_SPECS[name]
    key = input_key(name)
    meanings = flag_meanings(name)
    if meanings is not None:
        off, on = meanings
        st.toggle(
            escape_markdown(spec.label, keep_markup=True),
            key=key,
            help=escape_markdown(f"On: {on}. Off: {off}. ", keep_markup=True) + ui.field_help(name),
            on_change=on_input_change,
            args=(name, key),
        )
        return
    if spec.choices:  # named choices (the entrant): the model keeps the code, the select names
        names = spec.choices
        st.selectbox(
            escape_markdown(spec.label, keep_markup=True),
            list(range(len(names))),
            key=key,
            format_func=lambda code: names[int(code)],
            help=ui.field_help(name),
            on_change=on_input_change,
            args=(name, key),
        )
        return
    if name in FIELD_CHOICES:
        current = _shown(name, st.session_state[state.widget_key(name)])
        options = sorted({*FIELD_CHOICES[name], current})  # a linked value off the list stays
        st.selectbox(
            ui.field_label(spec),
            options,
            key=key,
            help=ui.field_help(name),
            on_change=on_input_change,
            args=(name, key),
        )
        return
    common: dict[str, Any] = {
        "key": key,
        "help": ui.field_help(name),
        "on_change": on_input_change,
        "args": (name, key),
    }
    if spec.integer:
        st.number_input(ui.field_label(spec), step=int(spec.step), format="%d", **common)
    else:
        st.number_input(
            ui.field_label(spec),
            step=float(f"{spec.step * display_scale(name):.10g}"),
            format=f"%.{_decimals(name)}f",
            **common,
        )


def headline_slider(name: str) -> None:
    spec = FIELD_SPECS[name]
    lo, hi = _slider_bounds(name)
    key = slider_key(name)
    st.slider(
        ui.field_label(spec),
        min_value=lo,
        max_value=hi,
        step=float(spec.step),
        format=f"%.{_decimals(name)}f",
        key=key,
        help=ui.field_help(name)
        + (
            escape_markdown(
                f" The slider spans {lo:g} to {hi:g}; type any value from "
                f"{spec.range_text()} in the sidebar ({spec.group}).",
                keep_markup=True,
            )
            if (lo, hi) != (spec.low, spec.high)
            else ""
        ),
        on_change=on_input_change,
        args=(name, key),
    )


def sidebar_controls() -> None:
    known = presets()
    st.header("Scenario")
    st.selectbox(
        "Preset",
        preset_ids(),
        format_func=lambda i: short_preset_name(known[i].name) if i in known else str(i),
        key=state.PRESET_KEY,
        on_change=on_preset_change,
        help="A named, sourced starting point. Inputs you change are kept in the URL.",
    )
    preset = known[st.session_state[state.PRESET_KEY]]
    st.caption(
        f"**{escape_markdown(preset.name)}**  \n"
        + escape_markdown(f"{preset.description} Source: {cite(preset.source, preset.year)}.")
    )
    st.button(
        "Reset to preset",
        on_click=on_reset,
        help="Set every input back to the preset's value and clear the URL overrides.",
    )
    note = st.session_state.get(INPUT_NOTE_KEY)
    if note:
        st.warning(escape_markdown(note), icon="⚠️")
    st.caption(
        "Shares and rates are in percent. The four headline inputs are also the sliders at the "
        "top of the page."
    )
    for group in GROUPS:
        names = [n for n in FIELD_NAMES if FIELD_SPECS[n].group == group]
        # A group's inputs are drawn only while it is open (opening it reruns the script): ~70
        # number boxes drawn up front cost the browser about as much as the charts on a first
        # visit. Closed groups keep their values in session state (f_<name>), so nothing is lost.
        box = st.expander(f"{group} ({len(names)} inputs)", key=group_key(group), on_change="rerun")
        if box.open:
            with box:
                if group == "Monetise":
                    st.caption(SHARES_NOTE)
                for name in names:
                    number_control(name)
                if group == EFFICIENCY:  # the market inputs: a dated lease-rate curve (4.8)
                    curve_editor()
                if group == "Monetise" and st.session_state.get(SHARE_NOTE_KEY):
                    st.caption(escape_markdown(st.session_state[SHARE_NOTE_KEY]))
    st.segmented_control(
        "Chart toolbar downloads",
        ["PNG", "SVG"],
        default="PNG",
        required=True,
        key=ui.CHART_FORMAT_KEY,
        help="Format of the camera button in each chart's toolbar (top right of a chart).",
    )


# ---- header, verdict and KPIs -------------------------------------------------------------------
def show_url_warnings() -> None:
    warnings = st.session_state.get(state.WARNINGS_KEY) or []
    if not warnings:
        return
    items = "\n".join(f"- {escape_markdown(w)}" for w in warnings[:20])
    more = f"\n- … and {len(warnings) - 20} more" if len(warnings) > 20 else ""
    st.warning(
        f"This link has {len(warnings)} problem{'s' if len(warnings) != 1 else ''}; "
        f"the inputs concerned use the preset's values:\n{items}{more}",
        icon="⚠️",
    )


def _metric(
    col: Any,
    name: str,
    value: str,
    result: Result,
    preset: Result,
    help_text: str,
    *,
    label: str | None = None,
    inverse: bool = False,
    bands: dict[str, Any],
    note: str = "",
) -> None:
    """One KPI card: the value, its change against the preset, an optional note (a caption),
    and a slot for its band (filled by :func:`fill_bands` once the open tab is drawn)."""
    now, ref = _value(result, name), _value(preset, name)
    delta = ui.metric_delta(name, now, ref)
    card = col.container(border=True, key=f"kpi_{name}")
    card.metric(
        escape_markdown(label or metric_label(name), keep_markup=True),
        value,
        delta=delta,
        delta_color="inverse" if inverse else "normal",
        help=escape_markdown(help_text, keep_markup=True),
    )
    if note:
        card.caption(escape_markdown(note, keep_markup=True))
    bands[name] = card.empty()


def _value(result: Result, name: str) -> float | None:
    v = result.metrics().get(name)
    return None if v is None else float(v)


def kpi_header(ctx: ViewContext) -> dict[str, Any]:
    """Six KPIs with the unit in the label and the change against the preset (none when zero).

    Returns each card's empty slot for its P10-P90 band, by metric name.
    """
    r, p, s = ctx.result, ctx.preset_result, ctx.scenario
    bands: dict[str, Any] = {}
    cols = [*st.columns(3), *st.columns([1.0, 1.0, 1.3])]
    _metric(
        cols[0],
        "npv_busd",
        format_metric("npv_busd", r.npv_busd),
        r,
        p,
        f"{metric_spec('npv_busd').description} WACC {s.wacc:.1%}."
        + (f" Two readings of these inputs: {ctx.readings.sentence()}" if ctx.readings else ""),
        bands=bands,
        note="" if ctx.readings is None else readings_note(ctx.readings),
    )
    irr_value = format_metric("irr", r.irr)
    irr_help = metric_spec("irr").description
    if r.irr_multiple:
        irr_value += " ⚠"
        irr_help += (
            " ⚠ The NPV profile has several roots (refresh capex flips the sign of the cash "
            f"flows), so the IRR is ambiguous: read it with MIRR {format_metric('mirr', r.mirr)} "
            "and the NPV profile in Returns (under Payback and NPV profile)."
        )
    if r.irr is None:
        irr_help += " " + finance.irr_reason(r.cash_flows["fcf"].to_numpy()) + "."
    _metric(
        cols[1],
        "irr",
        irr_value,
        r,
        p,
        irr_help,
        label="IRR, per year" + (" (several)" if r.irr_multiple else ""),
        bands=bands,
    )
    _metric(
        cols[2],
        "payback_years",
        format_metric("payback_years", r.payback_years).replace(" years", ""),
        r,
        p,
        metric_spec("payback_years").description
        + " From the start of operation, first crossing (the cluster payback CoreWeave reports): "
        + format_metric("payback_from_operation_years", r.payback_from_operation_years)
        + ". See the cumulative cash chart in Returns (under Payback and NPV profile). "
        "'never' = not within the horizon.",
        label="Payback, years",
        inverse=True,
        bands=bands,
    )
    _metric(
        cols[3],
        "roic",
        format_metric("roic", r.roic),
        r,
        p,
        metric_spec("roic").description,
        label="ROIC, per year",
        bands=bands,
    )
    _metric(
        cols[4],
        "npv_per_share_usd",
        format_metric("npv_per_share_usd", r.npv_per_share_usd),
        r,
        p,
        f"NPV divided by {s.shares_outstanding_b:g} B diluted shares. {target_gap_text(r)}",
        label="NPV per share",
        bands=bands,
    )
    be = r.breakeven_lease_rate_busd_per_gw_year
    _metric(
        cols[5],
        "breakeven_lease_rate_busd_per_gw_year",
        "n/a" if be is None else f"US$ {be:,.2f} B",
        r,
        p,
        "Lease rate (US$ B per GW-year, today) at which NPV = 0, all else equal; lower is "
        f"better. The scenario's lease rate is US$ {s.lease_rate_busd_per_gw_year:g} B. n/a when "
        "nothing is leased or no rate in 0-60 breaks even.",
        label="Breakeven lease, per GW-yr",
        inverse=True,
        bands=bands,
    )
    # the builder's own position when debt, a partner or a campus lease is set (methodology §11)
    entries = charts.equity_kpis(r)
    if entries:
        names = {"Equity IRR": "equity_irr", "NPV to equity": "npv_equity_busd"}
        names["Minimum DSCR"] = "min_dscr"
        for col, (label, value, help_text) in zip(st.columns(3), entries, strict=False):
            _metric(col, names[label], value, r, p, help_text + ".", label=label, bands=bands)
    return bands


def readings_note(readings: Readings) -> str:
    """The NPV card's line with both readings (methodology §12.1), amounts kept on one line.

    >>> from model import load_preset, market_readings
    >>> note = readings_note(market_readings(load_preset("bofa-bear")))
    >>> note.replace("\u00a0", " ")  # doctest: +ELLIPSIS
    'Premium lasts: -US$ ... B · entrants catch up after 2.7 years: -US$ ... B'
    """

    def money(x: float) -> str:
        return nbsp(format_metric("npv_busd", x))

    return (
        f"Premium lasts: {money(readings.still.npv_busd)} · entrants catch up after "
        f"{nbsp(readings.lag_text())}: {money(readings.moving.npv_busd)}"
    )


def nbsp(text: str) -> str:
    """Text whose amounts never break across lines (``US$`` / ``13.0 B``, ``2`` / ``years``)."""
    return text.replace("US$ ", "US$\u00a0").replace(" B", "\u00a0B").replace(" year", "\u00a0year")


def changed_summary(ctx: ViewContext) -> str:
    """Plain text naming every changed input with its old and new value (percent for rates)."""
    changes = ctx.changes
    if not changes:
        return "No inputs changed from the preset."
    return "Changed from the preset: " + "; ".join(changes) + "."


def share_link(preset_id: str, scenario: Scenario) -> str:
    """The link that reproduces the scenario: the page's address (as the browser reports it)
    and the query parameters of :func:`app.state.query_params_for` (the address bar's)."""
    query = urlencode(state.query_params_for(preset_id, scenario))
    base = st.context.url or ""
    return f"{base}?{query}" if query else base


def copy_link(ctx: ViewContext) -> None:
    """A "Copy link" button: the scenario's link in a box with a copy button."""
    with st.popover("Copy link", icon=":material/link:"):
        st.code(share_link(ctx.preset_id, ctx.scenario), language=None, wrap_lines=True)
        st.caption(
            "Copy it with the button at the box's top right. It opens this scenario exactly "
            "(the preset and every input that differs from it); the address bar holds the same."
        )


def sync_url(preset_id: str, scenario: Scenario) -> None:
    """Write the scenario into the URL, only when the URL does not already read back as it: a
    link as the visitor wrote it (``4.50``, an older link without a newer field) stays as it is,
    and nothing is rounded (:func:`app.state.url_represents`)."""
    current = {k: st.query_params.get_all(k) for k in st.query_params}
    if state.url_represents(current, preset_id, scenario):
        return
    desired = state.query_params_for(preset_id, scenario)
    if current != {k: [v] for k, v in desired.items()}:
        st.query_params.from_dict(desired)


# ---- page ---------------------------------------------------------------------------------------
#: The project's own CSS (no user text): captions and help text dark enough for WCAG AA
#: (4.5:1 on white and on the sidebar's grey); KPI values sized to the viewport and allowed to
#: wrap rather than be cut with an ellipsis ("-US$ 12.37" in a narrow card); the stress figures'
#: shock names wrapped on a wide screen (app.views.stress.STRESS_FIGURES_KEY); then the static
#: number tables' own (:data:`app.ui.NUMBERS_TABLE_CSS`).
PAGE_CSS = (
    """
<style>
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p,
[data-testid="stMetricDelta"] { color: #4a5563 !important; }
[data-testid="stCaptionContainer"] { opacity: 1 !important; }
[data-testid="stSidebar"] [data-testid="stCaptionContainer"] { color: #3e4753 !important;
  opacity: 1 !important; }
[class*="st-key-kpi_"] [data-testid="stMetricValue"] { font-size: clamp(1.5rem, 2.1vw, 2.25rem); }
[class*="st-key-kpi_"] [data-testid="stMetricValue"] > div { white-space: normal;
  overflow: visible; text-overflow: clip; }
@media (min-width: 641px) { .st-key-stress_figures .dc-numbers th[scope="row"] {
  white-space: normal; width: 24rem; } }
</style>
"""
    + ui.NUMBERS_TABLE_CSS
)


def short_preset_name(name: str) -> str:
    """The part of a preset's name before its colon, so the picker never cuts it."""
    return name.split(":", 1)[0].strip()


def main() -> None:
    st.set_page_config(page_title=TITLE, page_icon="🏭", layout="wide")
    st.html(PAGE_CSS)  # constant CSS, no user text; style only, so it takes no space
    first_run = not st.session_state.get(INIT_KEY)
    init_session()
    sync_inputs()
    # On a session's first run the sidebar's ~70 inputs are drawn after the main content: the
    # script streams elements as it runs, so the verdict, KPIs and first chart reach the browser
    # first (cold first chart). On later runs the sidebar comes first, so it is not left faded
    # while a heavy tab computes. It is drawn even when the main content fails (Reset at hand).
    sidebar = st.sidebar.container()
    if not first_run:
        with sidebar:
            sidebar_controls()
    ctx: ViewContext | None = None
    st.session_state[FULL_RUN_KEY] = True
    try:
        ctx = main_block()
    finally:
        st.session_state.pop(FULL_RUN_KEY, None)
        with sidebar:
            if first_run:
                sidebar_controls()
            if ctx is not None:
                st.divider()
                ui.guarded("Scenario files", _scenario_files, ctx)
        st.session_state[SIDEBAR_STATE_KEY] = sidebar_state()


def _scenario_files(ctx: ViewContext) -> None:
    """The sidebar's scenario files. Their downloads are written when clicked, from the
    session's latest view context: a run of the main block alone leaves the sidebar as it was."""
    box = _latest_box()
    box["ctx"] = ctx
    scenario_files.render(ctx, lambda: box["ctx"])


def _latest_box() -> dict[str, ViewContext]:
    """This session's holder of its latest view context (a plain dict, so a download's worker
    thread reads it without Streamlit's session)."""
    box: dict[str, ViewContext] = st.session_state.setdefault(LATEST_KEY, {})
    return box


def sidebar_state() -> tuple[object, ...]:
    """What the sidebar shows that an input in the main block can change: the value of each
    headline field whose input group is open, and the sidebar's notes."""
    ss = st.session_state
    open_headline = tuple(
        (name, ss.get(state.widget_key(name)))
        for name in HEADLINE_FIELDS
        if ss.get(group_key(FIELD_SPECS[name].group))
    )
    return open_headline, ss.get(INPUT_NOTE_KEY), ss.get(SHARE_NOTE_KEY)


@st.fragment
def main_block() -> ViewContext | None:
    """The main block (:func:`main_content`) as a fragment: a headline slider, a tab or an
    expander in it reruns this block alone, so the browser does not rebuild the sidebar on
    every move. A full run (:func:`main`) draws the sidebar around it. When a run of the block
    alone changed something the sidebar shows (an open input box of a headline field, a note),
    the whole page reruns instead, so the sidebar never shows a stale value."""
    ss = st.session_state
    if ss.get(FULL_RUN_KEY):
        return main_content()
    sync_inputs()
    if sidebar_state() != ss.get(SIDEBAR_STATE_KEY):
        st.rerun(scope="app")
    try:
        ctx = main_content()
    except Exception as exc:  # a full run's errors are caught by run(); this is its twin
        log.exception("dashboard failed")
        st.error(failure_message(exc))
        return None
    _latest_box()["ctx"] = ctx
    return ctx


def main_content() -> ViewContext:
    """Title, verdict, headline sliders, KPIs and the open tab; returns the view context."""
    st.title(TITLE)
    st.caption(
        "What does an AI data center earn, and what happens to those returns when inference "
        "gets cheaper? Every input is sourced (hover the ? of any control); money is in US\\$ "
        "billions (B), nominal, unless stated."
    )
    show_url_warnings()
    preset_id = st.session_state[state.PRESET_KEY]
    base = preset_scenario(preset_id)
    scenario, problems = state.scenario_from_session(st.session_state, base)
    for problem in problems:
        st.warning(escape_markdown(problem) + " Using the preset's values meanwhile.")
    result = evaluate_cached(scenario_key(scenario))
    ctx = ViewContext(
        preset_id=preset_id,
        scenario=scenario,
        result=result,
        preset_scenario=base,
        preset_result=evaluate_cached(scenario_key(base)),
        readings=readings_cached(scenario, result),
    )
    band = start_band(scenario)
    sync_url(preset_id, scenario)
    # The headline block's place comes first on the page, but it is filled after the open tab:
    # the tab's first chart then reaches the browser first, which starts loading the chart
    # code (plotly.js, the largest part of a cold first view) while the rest is drawn.
    head = st.container()

    # Only the open tab is drawn (a tab click reruns the script): a slider move then redraws
    # one view, not nine. Tests pick the tab with session_state[TAB_KEY] = "<tab title>".
    tabs = st.tabs([t for t, _ in TABS], key=TAB_KEY, on_change="rerun")
    for tab, (title, module) in zip(tabs, TABS, strict=True):
        if tab.open:
            with tab:
                ui.guarded(title, deferred_view(module), ctx)
    with head:
        verdict_box = st.empty()
        verdict_box.markdown(f"**{escape_markdown(verdict(ctx))}**")
        ui.show_conditions(ctx)
        controls, kpis = st.columns([1, 2], gap="medium")
        with controls:
            for name in HEADLINE_FIELDS:
                headline_slider(name)
        with kpis:
            band_slots = kpi_header(ctx)
        st.caption(escape_markdown(f"Scenario: {ctx.label}. {changed_summary(ctx)}"))
        copy_link(ctx)
    fill_bands(ctx, verdict_box, band_slots, band)
    return ctx


def fill_bands(
    ctx: ViewContext,
    verdict_box: Any,
    slots: dict[str, Any],
    band_of: Callable[[], HeadlineBand] | None = None,
) -> None:
    """Each KPI's P10-P90 band (and P(NPV > 0) on NPV), and the verdict's sentence when the
    NPV as set lies outside its P25-P75 range (methodology §9, Headline band).

    Drawn last, into slots the cards left, so the verdict, KPIs and open tab reach the browser
    before the simulation ends (or, on a session's first run, before scipy's import). ``band_of``
    is :func:`start_band`'s waiting function (default: compute it here).
    """
    try:
        band = band_of() if band_of is not None else band_cached(scenario_key(ctx.scenario))
    except Exception:
        log.exception("headline band failed")
        for slot in slots.values():
            slot.caption("P10–P90: not available (the simulation failed; see the server log)")
        return
    for name, slot in slots.items():
        slot.caption(escape_markdown(band_caption(name, band), keep_markup=True))
    extra = band.npv_outside_text()
    if extra:
        verdict_box.markdown(f"**{escape_markdown(verdict(ctx))}** {escape_markdown(extra)}")


def band_caption(name: str, band: HeadlineBand) -> str:
    """The caption under a KPI: its P10-P90 range; NPV adds the chance of value created."""
    text = band.bands[name].text()
    if name == "npv_busd":
        text += f" · P(NPV > 0) {band.prob_npv_positive * 100:.0f}%"
    return nbsp(text)  # an amount never breaks across lines ("US$" / "13.0 B")


def run() -> None:
    """Draw the page; the last line of defence: never a traceback on the page."""
    try:
        main()
    except Exception as exc:
        log.exception("dashboard failed")
        st.error(failure_message(exc))


def failure_message(exc: Exception) -> str:
    """What the page says when it could not finish drawing (never a traceback)."""
    return (
        "The dashboard hit an unexpected error and could not finish drawing "
        f"({type(exc).__name__}). Try Reset to preset; the details are in the server log."
    )
