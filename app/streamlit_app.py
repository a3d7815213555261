"""The dashboard: what AI data centers earn, and what cheaper inference does to the returns.

Run with ``make run`` or ``streamlit run app/streamlit_app.py``. The URL holds the preset and every
input that differs from it (see :mod:`app.state`), so a link reproduces the scenario.

Only the open tab is drawn. In AppTest, choose it before ``run()`` with
``at.session_state["tab"] = "Export"`` (any title of :data:`TABS`); widgets of the scenario have
keys ``f_<field name>`` (see :func:`app.state.widget_key`).
"""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:  # Streamlit puts only app/ on sys.path
    sys.path.insert(0, str(_ROOT))

import importlib  # noqa: E402
import logging  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import streamlit as st  # noqa: E402

from app import state, ui  # noqa: E402
from app.context import ViewContext  # noqa: E402
from app.views import scenario_files  # noqa: E402
from model import (  # noqa: E402
    FIELD_NAMES,
    FIELD_SPECS,
    GROUPS,
    HEADLINE_FIELDS,
    Result,
    Scenario,
    evaluate,
    load_preset,
    make_scenario,
    preset_ids,
    presets,
)

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


def view(module: str) -> Callable[[ViewContext], None]:
    """The ``render`` function of a view module (imported on first use)."""
    render: Callable[[ViewContext], None] = importlib.import_module(module).render
    return render


def render_view(module: str, ctx: ViewContext) -> None:
    view(module)(ctx)


INIT_KEY = "_initialised"
#: Session-state key of the open tab (its title); set it in AppTest to draw another tab.
TAB_KEY = "tab"
SHARE_NOTE_KEY = "_share_note"


@st.cache_data(max_entries=512, show_spinner=False)
def evaluate_cached(values: dict[str, Any]) -> Result:
    """:func:`model.evaluate`, cached on the scenario's ``model_dump()``."""
    return evaluate(make_scenario(values))


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


def on_reset() -> None:
    preset_id = st.session_state[state.PRESET_KEY]
    state.apply_to_session(st.session_state, preset_id, preset_scenario(preset_id))
    st.session_state.pop(SHARE_NOTE_KEY, None)


def on_share_change(changed: str, other: str) -> None:
    """Keep leased + hosted shares <= 1: lower the other share when one is raised."""
    a = float(st.session_state[state.widget_key(changed)])
    b = float(st.session_state[state.widget_key(other)])
    if a + b > 1.0 + 1e-9:
        new_b = round(max(0.0, 1.0 - a), 10)
        st.session_state[state.widget_key(other)] = new_b
        st.session_state[SHARE_NOTE_KEY] = (
            f"Leased + hosted shares cannot exceed 1: {FIELD_SPECS[other].label} lowered to "
            f"{new_b:g}."
        )


# ---- controls ---------------------------------------------------------------------------------
def _decimals(name: str) -> int:
    spec = FIELD_SPECS[name]
    if spec.integer:
        return 0
    value = float(st.session_state.get(state.widget_key(name), spec.low))
    text = f"{value:.6f}".rstrip("0")
    shown = len(text.split(".")[1]) if "." in text else 0
    return min(6, max(ui.step_decimals(spec.step), shown))


def number_control(name: str) -> None:
    """A sidebar input for one field: unit in the label, range and source in the help."""
    spec = FIELD_SPECS[name]
    kwargs: dict[str, Any] = {}
    if name in ("lease_share", "hosting_share"):
        other = "hosting_share" if name == "lease_share" else "lease_share"
        kwargs = {"on_change": on_share_change, "args": (name, other)}
    if spec.integer:
        st.number_input(
            ui.field_label(spec),
            min_value=int(spec.low),
            max_value=int(spec.high),
            step=int(spec.step),
            format="%d",
            key=state.widget_key(name),
            help=ui.field_help(name),
            **kwargs,
        )
    else:
        st.number_input(
            ui.field_label(spec),
            min_value=float(spec.low),
            max_value=float(spec.high),
            step=float(spec.step),
            format=f"%.{_decimals(name)}f",
            key=state.widget_key(name),
            help=ui.field_help(name),
            **kwargs,
        )


def headline_slider(name: str) -> None:
    spec = FIELD_SPECS[name]
    st.slider(
        ui.field_label(spec),
        min_value=float(spec.low),
        max_value=float(spec.high),
        step=float(spec.step),
        format=f"%.{_decimals(name)}f",
        key=state.widget_key(name),
        help=ui.field_help(name),
    )


def sidebar_controls() -> None:
    known = presets()
    st.header("Scenario")
    st.selectbox(
        "Preset",
        preset_ids(),
        format_func=lambda i: known[i].name if i in known else str(i),
        key=state.PRESET_KEY,
        on_change=on_preset_change,
        help="A named, sourced starting point. Inputs you change are kept in the URL.",
    )
    preset = known[st.session_state[state.PRESET_KEY]]
    st.caption(f"{preset.description} Source: {preset.source} ({preset.year}).")
    st.button(
        "Reset to preset",
        on_click=on_reset,
        help="Set every input back to the preset's value and clear the URL overrides.",
    )
    st.caption(
        "The four headline inputs are the sliders at the top of the page; the rest are here."
    )
    for group in GROUPS:
        names = [n for n in FIELD_NAMES if FIELD_SPECS[n].group == group]
        others = [n for n in names if n not in HEADLINE_FIELDS]
        with st.expander(f"{group} ({len(others)} inputs)"):
            for name in others:
                number_control(name)
            if group == "Monetise" and st.session_state.get(SHARE_NOTE_KEY):
                st.caption(ui.escape_markdown(st.session_state[SHARE_NOTE_KEY]))
    st.segmented_control(
        "Chart toolbar downloads",
        ["PNG", "SVG"],
        default="PNG",
        required=True,
        key=ui.CHART_FORMAT_KEY,
        help="Format of the camera button in each chart's toolbar (top right of a chart).",
    )


# ---- header and KPIs ----------------------------------------------------------------------------
def show_url_warnings() -> None:
    warnings = st.session_state.get(state.WARNINGS_KEY) or []
    if not warnings:
        return
    items = "\n".join(f"- {ui.escape_markdown(w)}" for w in warnings[:20])
    more = f"\n- … and {len(warnings) - 20} more" if len(warnings) > 20 else ""
    st.warning(
        f"This link has {len(warnings)} problem{'s' if len(warnings) != 1 else ''}; "
        f"the inputs concerned use the preset's values:\n{items}{more}",
        icon="⚠️",
    )


def _metric(
    col: Any,
    label: str,
    value: str,
    delta: str | None,
    help_text: str,
    *,
    inverse: bool = False,
) -> None:
    zero = delta is None or delta.startswith("±0")
    col.metric(
        label,
        value,
        delta=delta,
        delta_color="off" if zero else ("inverse" if inverse else "normal"),
        delta_arrow="off" if zero else "auto",
        help=help_text,
        border=True,
    )


def _num(x: float | None, digits: int, suffix: str = "") -> str:
    return "n/a" if x is None else f"{x:,.{digits}f}{suffix}"


def kpi_header(ctx: ViewContext) -> None:
    """Six KPIs with the unit in the label and the change against the preset."""
    r, p, s = ctx.result, ctx.preset_result, ctx.scenario
    cols = [*st.columns(3), *st.columns([1.0, 1.0, 1.35])]  # the breakeven label is long
    _metric(
        cols[0],
        "NPV at WACC, US$ B",
        _num(r.npv_busd, 1),
        ui.fmt_delta(r.npv_busd, p.npv_busd, ""),
        f"Net present value of unlevered after-tax free cash flows at the WACC of {s.wacc:.1%}, "
        "US$ B (nominal).",
    )
    irr_value = _num(None if r.irr is None else r.irr * 100, 1, "%")
    irr_help = "Internal rate of return of the free cash flows, % per year (after tax, unlevered)."
    if r.irr_multiple:
        irr_value += " ⚠"
        irr_help += (
            " ⚠ The NPV profile has several roots (refresh capex flips the sign of the cash "
            f"flows), so the IRR is ambiguous: read it with MIRR {ui.fmt_pct(r.mirr)} and the "
            "NPV profile in Returns."
        )
    if r.irr is None:
        irr_help += " n/a: the cash flows never change sign."
    _metric(
        cols[1],
        "IRR, % per year" + (" (several)" if r.irr_multiple else ""),
        irr_value,
        ui.fmt_delta(r.irr, p.irr, "pp", scale=100.0),
        irr_help,
    )
    _metric(
        cols[2],
        "Payback, years",
        "never" if r.payback_years is None else f"{r.payback_years:,.1f}",
        ui.fmt_delta(r.payback_years, p.payback_years, ""),
        "Years from the first capex year until cumulative free cash flow turns positive for "
        "good (refreshes can push it back below zero). 'never' = not within the horizon.",
        inverse=True,
    )
    _metric(
        cols[3],
        "ROIC, % per year",
        _num(None if r.roic is None else r.roic * 100, 1, "%"),
        ui.fmt_delta(r.roic, p.roic, "pp", scale=100.0),
        "Return on invested capital: NOPAT over the operating years divided by the opening net "
        "book value summed over the same years.",
    )
    _metric(
        cols[4],
        "NPV per share, US$",
        _num(r.npv_per_share_usd, 2),
        ui.fmt_delta(r.npv_per_share_usd, p.npv_per_share_usd, ""),
        f"NPV divided by {s.shares_outstanding_b:g} B diluted shares.",
    )
    be = r.breakeven_lease_rate_busd_per_gw_year
    _metric(
        cols[5],
        "Breakeven lease, US$ B/GW-yr",
        _num(be, 2),
        ui.fmt_delta(be, p.breakeven_lease_rate_busd_per_gw_year, ""),
        "Lease rate (US$ B per GW-year, today) at which NPV = 0, all else equal; lower is "
        f"better. The scenario's lease rate is US$ {s.lease_rate_busd_per_gw_year:g} B. n/a when "
        "nothing is leased or no rate in 0-60 breaks even.",
        inverse=True,
    )


def changed_summary(ctx: ViewContext) -> str:
    diff = ctx.scenario.diff(ctx.preset_scenario)
    if not diff:
        return "No inputs changed from the preset."
    parts = [
        f"{FIELD_SPECS[k].label} {b:g} → {a:g} ({FIELD_SPECS[k].unit})"
        for k, (a, b) in diff.items()
    ]
    return "Changed from the preset: " + "; ".join(parts) + "."


def sync_url(preset_id: str, scenario: Scenario) -> None:
    """Write the scenario into the URL (only when it differs, to avoid history noise)."""
    desired = state.query_params_for(preset_id, scenario)
    current = {k: st.query_params.get_all(k) for k in st.query_params}
    if current != {k: [v] for k, v in desired.items()}:
        st.query_params.from_dict(desired)


# ---- page ---------------------------------------------------------------------------------------
def main() -> None:
    st.set_page_config(page_title=TITLE, page_icon="🏭", layout="wide")
    init_session()
    with st.sidebar:
        sidebar_controls()
    st.title(TITLE)
    st.caption(
        "What does an AI data center earn, and what happens to those returns when inference "
        "gets cheaper? Every input is sourced (hover the ? of any control); figures are US$ B "
        "nominal unless stated."
    )
    show_url_warnings()
    controls, kpis = st.columns([1, 2], gap="medium")
    with controls:
        for name in HEADLINE_FIELDS:
            headline_slider(name)

    preset_id = st.session_state[state.PRESET_KEY]
    base = preset_scenario(preset_id)
    scenario, problems = state.scenario_from_session(st.session_state, base)
    for problem in problems:
        st.warning(ui.escape_markdown(problem) + " Using the preset's values meanwhile.")
    ctx = ViewContext(
        preset_id=preset_id,
        scenario=scenario,
        result=evaluate_cached(scenario.model_dump()),
        preset_scenario=base,
        preset_result=evaluate_cached(base.model_dump()),
    )
    sync_url(preset_id, scenario)
    with kpis:
        kpi_header(ctx)
    st.caption(f"Scenario: {ctx.label}. {changed_summary(ctx)}")

    # Only the open tab is drawn (a tab click reruns the script): a slider move then redraws
    # one view, not nine. Tests pick the tab with session_state[TAB_KEY] = "<tab title>".
    tabs = st.tabs([t for t, _ in TABS], key=TAB_KEY, on_change="rerun")
    for tab, (title, module) in zip(tabs, TABS, strict=True):
        if tab.open:
            with tab:
                ui.guarded(title, lambda c, m=module: render_view(m, c), ctx)
    with st.sidebar:
        st.divider()
        ui.guarded("Scenario files", scenario_files.render, ctx)


try:
    main()
except Exception as exc:  # last line of defence: never a traceback on the page
    log.exception("dashboard failed")
    st.error(
        "The dashboard hit an unexpected error and could not finish drawing "
        f"({type(exc).__name__}). Try Reset to preset; the details are in the server log."
    )
