"""The dashboard in Streamlit's AppTest: presets, sliders, shareable links, bad links, charts."""

from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from old_meanings import OLD_MEANINGS
from streamlit.testing.v1 import AppTest

from app import charts, page, state, ui
from app.context import ViewContext
from app.text import cite
from app.views import compare, returns, scenario_files
from model import (
    FIELD_NAMES,
    FIELD_SPECS,
    GROUPS,
    HEADLINE_FIELDS,
    assumptions,
    evaluate,
    external_business,
    load_preset,
    preset_ids,
)
from model.fields import FIELD_CHOICES, flag_meanings
from model.io import LEGACY_FIELDS, legacy_values
from model.metrics import format_metric, format_number, metric_label

APP = str(Path(__file__).resolve().parents[1] / "app" / "streamlit_app.py")
#: Every tab of the dashboard, in order (from the page, so a new tab is checked too).
TABS = tuple(title for title, _ in page.TABS)


def run_app(
    params: dict[str, str | list[str]] | None = None,
    tab: str | None = None,
    *,
    groups_open: bool = True,
) -> AppTest:
    """The dashboard after its first run; the sidebar's input groups open unless told otherwise
    (a first visit has them closed: see test_sidebar_groups_draw_their_inputs_only_when_open)."""
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in (params or {}).items():
        at.query_params[key] = value
    if tab is not None:
        at.session_state["tab"] = tab
    if groups_open:
        for group in GROUPS:
            at.session_state[page.group_key(group)] = True
    at.run()
    return at


def kpi(at: AppTest, label_start: str) -> float:
    """The number shown by the KPI whose label starts with ``label_start``."""
    for m in at.metric:
        if m.label.startswith(label_start):
            text = m.value.replace(",", "").replace("US$ ", "")
            found = re.search(r"-?\d+(\.\d+)?", text)
            assert found, f"KPI {label_start!r} shows no number: {m.value!r}"
            return float(found.group())
    raise AssertionError(f"no KPI labelled {label_start!r} in {[m.label for m in at.metric]}")


def url(at: AppTest) -> dict[str, str]:
    return {k: at.query_params[k] for k in at.query_params}


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


# ---- runs ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("preset_id", preset_ids())
def test_every_preset_renders_with_kpis_and_charts(preset_id: str) -> None:
    at = run_app({"preset": preset_id})
    assert_clean(at)
    assert len(at.metric) >= 6
    assert at.session_state["preset"] == preset_id
    r = evaluate(load_preset(preset_id))
    assert kpi(at, "NPV at WACC") == pytest.approx(r.npv_busd, abs=0.051)
    # the Returns tab's cash-flow chart (the others open on demand, methodology §12), plus
    # equity and debt charts when the preset is financed
    financed = charts.has_financing(r) + charts.has_debt(r)
    assert len(at.get("plotly_chart")) == 1 + financed
    assert url(at) == {"preset": preset_id}


def test_npv_bridge_is_drawn_when_its_expander_opens() -> None:
    at = run_app({"preset": "bofa-base"})
    box = [e for e in at.expander if e.label.startswith("NPV bridge")]
    assert len(box) == 1
    before = _chart_titles(at)
    assert not any("NPV bridge" in t for t in before), before
    at.session_state[returns.NPV_BRIDGE_KEY] = True
    at.run()
    assert_clean(at)
    after = _chart_titles(at)
    assert len(after) == len(before) + 1
    assert any("NPV bridge" in t for t in after), after
    assert url(at) == {"preset": "bofa-base"}  # opening it changes no input


def test_the_headline_block_is_drawn_above_the_tabs() -> None:
    """The headline's place is taken before the tabs though it is filled after the open tab
    (so the first chart reaches the browser first): the verdict, sliders and KPIs still read
    first on the page."""
    at = run_app({"preset": "bofa-base"})
    order = [node.type for node in at.main]  # the page's elements, top to bottom
    tabs = order.index("tab_container")
    assert order.index("markdown") < order.index("slider") < order.index("metric") < tabs, order
    assert order.index("plotly_chart") > tabs, order


def test_payback_and_npv_profile_charts_are_drawn_when_their_expander_opens() -> None:
    at = run_app({"preset": "openai-efficiency"})
    more = [e for e in at.expander if e.label.startswith("Payback and NPV profile")]
    assert len(more) == 1
    before = _chart_titles(at)
    assert not any(t.startswith("<b>Cumulative free cash flow") for t in before), before
    at.session_state[returns.MORE_CHARTS_KEY] = True
    at.run()
    assert_clean(at)
    after = _chart_titles(at)
    assert len(after) == len(before) + 2
    assert any(t.startswith("<b>Cumulative free cash flow and payback") for t in after), after
    assert any(t.startswith("<b>NPV profile") for t in after), after
    assert url(at) == {"preset": "openai-efficiency"}  # opening it changes no input


def _chart_titles(at: AppTest) -> list[str]:
    return [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]


@pytest.mark.parametrize("tab", TABS)
def test_every_tab_renders_without_error(tab: str) -> None:
    at = run_app({"preset": "hosting-mix"}, tab=tab)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_failing_view_shows_an_error_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(ctx: ViewContext) -> None:
        raise RuntimeError("<b>broken</b>")

    monkeypatch.setattr(compare, "render", boom)
    monkeypatch.setattr(scenario_files, "render", boom)
    at = run_app(tab="Compare")
    assert not at.exception
    messages = [e.value for e in at.error]
    assert any("Compare view could not be drawn" in m for m in messages), messages
    assert any("Scenario files view could not be drawn" in m for m in messages), messages
    assert all("<b>" not in m for m in messages)  # the exception text is escaped
    assert kpi(at, "NPV at WACC") > 0  # the rest of the page still works


# ---- headline sliders -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("field", "new_value", "npv_sign", "breakeven_sign"),
    [
        ("gw_built", 4.0, +1, 0),  # positive NPV scales with size; breakeven is per GW
        ("capex_per_gw_busd", 50.0, -1, +1),
        ("lease_rate_busd_per_gw_year", 14.0, +1, 0),
        # a pure lessor: industry-wide efficiency (diffusion 0.5) with pass-through x elasticity
        # below 1 lowers compute demand, so lease rates and NPV fall
        ("efficiency_multiplier", 2.0, -1, +1),
    ],
)
def test_headline_slider_moves_kpis_in_the_right_direction(
    field: str, new_value: float, npv_sign: int, breakeven_sign: int
) -> None:
    at = run_app({"preset": "bofa-base"})
    npv0, be0 = kpi(at, "NPV at WACC"), kpi(at, "Breakeven lease")
    at.slider(key=page.slider_key(field)).set_value(new_value).run()
    assert_clean(at)
    npv1, be1 = kpi(at, "NPV at WACC"), kpi(at, "Breakeven lease")
    assert (npv1 > npv0) if npv_sign > 0 else (npv1 < npv0), (npv0, npv1)
    if breakeven_sign > 0:
        assert be1 > be0, (be0, be1)
    else:
        assert be1 == pytest.approx(be0, abs=0.011), (be0, be1)
    expected = evaluate(load_preset("bofa-base").replace(**{field: new_value}))
    assert npv1 == pytest.approx(expected.npv_busd, abs=0.051)
    assert url(at) == {
        "preset": "bofa-base",
        field: state.format_value(field, new_value),
        "entrant_profile": "neocloud",  # a link with inputs names its entrant (section 4.2)
        "refresh_rule": "when_it_pays",  # likewise: its old meaning is "always"
        "facility_residual": "annuity",  # its old meaning is "book" (section 2.5)
    }
    delta = next(m.delta for m in at.metric if m.label.startswith("NPV at WACC"))
    assert delta is not None and delta.startswith("+" if npv_sign > 0 else "-")


def test_headline_sliders_are_the_four_headline_fields() -> None:
    at = run_app()
    keys = {s.key for s in at.slider}
    assert {page.slider_key(f) for f in HEADLINE_FIELDS} <= keys
    labels = {s.label for s in at.slider}
    assert "GW built (GW of facility power)" in labels


# ---- shareable links --------------------------------------------------------------------------
def test_query_params_round_trip_through_the_app() -> None:
    params = {
        "preset": "bofa-bull",
        "gw_built": "4.5",
        "wacc": "0.0912",
        "build_years": "3",
        "hosting_share": "0.25",
        "lease_share": "0.75",
    }
    at = run_app(params)
    assert_clean(at)
    # no problem with the link (the only warnings are the result's conditions: a quarter
    # hosted at 4.5 GW meets the hosting market-share cap)
    assert all("hosting market" in w.value for w in at.warning), [w.value for w in at.warning]
    # a link with inputs but no entrant_profile predates it: the builder sets the ceiling
    # (methodology section 4.2, "The entrant"), and the link stays as written, since it reads
    # back as the same scenario (app.state.url_represents)
    assert url(at) == params
    expected = load_preset("bofa-bull").replace(
        gw_built=4.5,
        wacc=0.0912,
        build_years=3,
        hosting_share=0.25,
        lease_share=0.75,
        **legacy_values(params),  # every field added since at its old meaning (the builder, ...)
    )
    assert kpi(at, "NPV at WACC") == pytest.approx(evaluate(expected).npv_busd, abs=0.051)
    assert at.slider(key="hs_gw_built").value == pytest.approx(4.5)
    assert at.number_input(key="in_wacc").value == pytest.approx(9.12)
    assert at.session_state["f_wacc"] == pytest.approx(0.0912)

    # the URL the app wrote opens the same scenario in a fresh session
    again = run_app(url(at))
    assert [m.value for m in again.metric] == [m.value for m in at.metric]


def test_moving_a_slider_writes_a_link_that_reproduces_the_kpis() -> None:
    at = run_app({"preset": "hosting-mix"})
    at.slider(key="hs_capex_per_gw_busd").set_value(47.5).run()
    at.number_input(key="in_demand_elasticity").set_value(1.6).run()
    assert url(at) == {
        "preset": "hosting-mix",
        "capex_per_gw_busd": "47.5",
        "demand_elasticity": "1.6",
        "entrant_profile": "neocloud",
        "refresh_rule": "when_it_pays",  # likewise: its old meaning is "always"
        "facility_residual": "annuity",  # its old meaning is "book" (section 2.5)
    }
    fresh = run_app(url(at))
    assert [m.value for m in fresh.metric] == [m.value for m in at.metric]


def test_reset_clears_the_overrides() -> None:
    at = run_app({"preset": "bofa-bear", "gw_built": "7", "pue": "1.4"})
    at.button[0].click().run()  # "Reset to preset" is the first button
    assert_clean(at)
    assert url(at) == {"preset": "bofa-bear"}
    assert at.slider(key="hs_gw_built").value == pytest.approx(load_preset("bofa-bear").gw_built)


def test_changing_preset_loads_it_and_clears_overrides() -> None:
    at = run_app({"gw_built": "7"})
    at.selectbox(key="preset").set_value("crusoe-resale").run()
    assert_clean(at)
    assert url(at) == {"preset": "crusoe-resale"}
    r = evaluate(load_preset("crusoe-resale"))
    assert kpi(at, "NPV at WACC") == pytest.approx(r.npv_busd, abs=0.051)


def test_raising_leased_share_lowers_hosted_share() -> None:
    at = run_app({"preset": "hosting-mix"})
    at.number_input(key="in_lease_share").set_value(80).run()
    assert_clean(at)
    assert at.number_input(key="in_hosting_share").value == pytest.approx(20)
    assert at.session_state["f_hosting_share"] == pytest.approx(0.2)
    assert url(at)["hosting_share"] == "0.2"


BAD = [
    ({"gw_built": "abc"}, "gw_built", "0.1 to 50"),
    ({"gw_built": "nan"}, "gw_built", "0.1 to 50"),
    ({"capex_per_gw_busd": "inf"}, "capex_per_gw_busd", "5 to 120"),
    ({"capex_per_gw_busd": "-Infinity"}, "capex_per_gw_busd", "5 to 120"),
    ({"wacc": "0.9"}, "wacc", "0 to 0.3"),
    ({"build_years": "2.5"}, "build_years", "whole number from 1 to 5"),
    ({"gw_bilt": "4"}, "gw_bilt", "did you mean gw_built"),
    ({"wacc": ["0.05", "0.06"]}, "wacc", "0 to 0.3"),
    ({"pue": "1" * 5000}, "pue", "1 to 2.5"),
    ({"preset": "nope"}, "preset", "bofa-base"),
    ({"lease_share": "0.9", "hosting_share": "0.9"}, "lease_share", "at most 1"),
]


@pytest.mark.parametrize(("params", "name", "allowed"), BAD)
def test_bad_params_warn_fall_back_and_render(
    params: dict[str, str | list[str]], name: str, allowed: str
) -> None:
    at = run_app(params)
    assert_clean(at)
    text = " ".join(w.value for w in at.warning)
    plain = text.replace("\\", "")  # the UI escapes Markdown with backslashes
    assert name in plain and allowed in plain, text
    assert len(text) < 2000
    # every bad value fell back to the preset's: only fields a link with inputs reads at their
    # old meaning (model.io.LEGACY_FIELDS) differ from the preset
    read = state.parse_query_params(params)[1]
    assert set(read.diff(load_preset())) <= set(LEGACY_FIELDS)
    assert kpi(at, "NPV at WACC") == pytest.approx(evaluate(read).npv_busd, abs=0.051)
    assert len(at.get("plotly_chart")) == 1


@pytest.mark.parametrize(
    "payload",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[click](javascript:alert(1))",
        "**bold** $x^2$ :red[alarm]",
    ],
)
def test_markup_in_params_is_shown_as_plain_text(payload: str) -> None:
    at = run_app({"gw_built": payload, payload: "1"})
    assert_clean(at)
    body = " ".join(w.value for w in at.warning)
    assert "gw\\_built" in body
    # every Markdown/HTML character of the user's text is backslash-escaped
    assert re.search(r"(?<!\\)[<>\[\]*$`]", body) is None, body
    assert re.search(r"(?<!\\):red", body) is None, body
    assert kpi(at, "NPV at WACC") > 0


# ---- the URL contract without Streamlit -------------------------------------------------------
def test_query_params_for_lists_only_differences_plus_preset() -> None:
    base = load_preset("crusoe-resale")
    assert state.query_params_for("crusoe-resale", base) == {"preset": "crusoe-resale"}
    s = base.replace(gw_built=3.3, contract_years=7)
    assert state.query_params_for("crusoe-resale", s) == {
        "preset": "crusoe-resale",
        "gw_built": "3.3",
        "contract_years": "7",
        "entrant_profile": "neocloud",  # its old meaning is "builder" (section 4.2)
        "refresh_rule": "when_it_pays",  # likewise: its old meaning is "always"
        "facility_residual": "annuity",  # its old meaning is "book" (section 2.5)
    }
    hyper = state.query_params_for("crusoe-resale", base.replace(entrant_profile="hyperscaler"))
    assert hyper == {
        "preset": "crusoe-resale",
        "entrant_profile": "hyperscaler",
        "refresh_rule": "when_it_pays",  # its old meaning is "always" (section 2.4)
        "facility_residual": "annuity",  # its old meaning is "book" (section 2.5)
    }
    # the book life is named where a link without it would read it otherwise (section 11.8):
    # an old link takes it from the IT life
    shorter = state.query_params_for("crusoe-resale", base.replace(it_life_years=4.0))
    assert shorter == {
        "preset": "crusoe-resale",
        "it_life_years": "4",
        "entrant_profile": "neocloud",
        "refresh_rule": "when_it_pays",  # likewise: its old meaning is "always"
        "facility_residual": "annuity",  # its old meaning is "book" (section 2.5)
        "it_book_life_years": state.format_value("it_book_life_years", base.it_book_life_years),
    }
    tenor = state.query_params_for("crusoe-resale", base.replace(lease_rate_tenor_years=3.0))
    assert tenor["lease_rate_tenor_years"] == "3"  # and the quote's tenor where it is not spot
    # an old link (inputs, no entrant) keeps the builder; a preset alone is the preset as it is
    old = state.parse_query_params({"preset": "market-base", "gw_built": "3"})[1]
    assert old == load_preset("market-base").replace(
        hosting_entry_lag_years=50,
        **OLD_MEANINGS,
    )
    assert state.parse_query_params({"preset": "market-base"})[1] == load_preset("market-base")
    _, named, warnings = state.parse_query_params(
        {"preset": "market-base", "gw_built": "3", "entrant_profile": "hyperscaler"}
    )
    assert named.entrant_profile_name == "hyperscaler" and not warnings
    _, bad, warnings = state.parse_query_params({"gw_built": "3", "entrant_profile": "cheap"})
    assert bad.entrant_profile_name == "neocloud"  # named (badly): the preset's, with a warning
    assert len(warnings) == 1 and "entrant_profile = 'cheap' is not a known choice" in warnings[0]
    assert "'builder'" in warnings[0] and "'hyperscaler'" in warnings[0]


@settings(max_examples=60, deadline=None)
@given(
    preset_id=st.sampled_from(preset_ids()),
    gw=st.floats(0.1, 50.0),
    wacc=st.floats(0.0, 0.3),
    life=st.floats(1.0, 15.0),
    years=st.integers(1, 30),
)
def test_parse_inverts_query_params_for(
    preset_id: str, gw: float, wacc: float, life: float, years: int
) -> None:
    s = load_preset(preset_id).replace(
        gw_built=gw, wacc=wacc, it_life_years=life, operating_years=years
    )
    got_id, got, warnings = state.parse_query_params(state.query_params_for(preset_id, s))
    assert (got_id, got, warnings) == (preset_id, s, [])


def test_parse_never_raises_and_names_each_bad_param() -> None:
    params: dict[str, object] = {
        "preset": "bofa-bull",
        "gw_built": "1e400",
        "pue": "",
        "tax_rate": " 0.25 ",
        "\x00evil": "1",
    }
    preset_id, s, warnings = state.parse_query_params(params)
    assert preset_id == "bofa-bull"
    assert s.tax_rate == 0.25
    assert s.gw_built == load_preset("bofa-bull").gw_built
    joined = "\n".join(warnings)
    assert "gw_built" in joined and "pue" in joined and "\x00" not in joined
    assert len(warnings) == 3


# ---- charts -------------------------------------------------------------------------------------
@pytest.mark.parametrize("preset_id", preset_ids())
def test_all_figures_have_titles_and_axis_units(preset_id: str) -> None:
    s = load_preset(preset_id)
    changed = s.replace(gw_built=s.gw_built + 1)
    ctx = ViewContext(preset_id, changed, evaluate(changed), s, evaluate(s))
    figures = charts.all_figures(ctx)
    assert set(figures) >= {
        "cash_flows",
        "cumulative_fcf",
        "npv_profile",
        "pricing_indices",
        "npv_vs_multiplier",
        "revenue_per_gw",
        "build_vs_buy",
    }
    unit_words = ("US$", "%", "years", "Year", "x tokens", "elasticity", "Index", "rate")
    for name, fig in figures.items():
        assert re.fullmatch(r"[a-z0-9_]+", name)
        title = " ".join(re.sub(r"<[^>]*>", " ", fig.layout.title.text).split())
        assert ctx.label in title, name
        for axis in (fig.layout.xaxis, fig.layout.yaxis):
            assert axis.title.text and any(w in axis.title.text for w in unit_words), (
                name,
                axis.title.text,
            )
        assert fig.data, name


def test_sweeps_follow_the_model() -> None:
    s = load_preset("openai-efficiency")
    sweep = charts.npv_multiplier_sweep(s)
    at_2x = sweep[sweep["multiplier"] == 2.0].iloc[0]
    assert at_2x["industry"] == pytest.approx(evaluate(s).npv_busd, rel=1e-9)
    idx = charts.index_sweep(s)
    r = evaluate(s)
    first = r.market[r.market["operating"]].iloc[0]
    row = idx[idx["multiplier"] == 2.0].iloc[0]
    for key in charts.INDEX_LABELS:
        assert row[key] == pytest.approx(first[key], rel=1e-12)


def test_chart_config_offers_png_and_svg() -> None:
    assert charts.chart_config("x")["toImageButtonOptions"]["format"] == "png"  # type: ignore[index]
    assert charts.chart_config("x", "svg")["toImageButtonOptions"]["format"] == "svg"  # type: ignore[index]


def test_toolbar_format_follows_the_sidebar_choice() -> None:
    at = run_app()
    spec = at.get("plotly_chart")[0].proto
    assert '"format": "png"' in spec.config.replace(":", ": ").replace(":  ", ": ")
    at.segmented_control(key="chart_format").set_value("SVG").run()
    spec = at.get("plotly_chart")[0].proto
    assert "svg" in spec.config


@pytest.mark.parametrize("field", sorted(FIELD_SPECS))
def test_every_field_has_a_control_with_unit_and_source(field: str) -> None:
    at = _default_app()
    spec = FIELD_SPECS[field]
    meanings = flag_meanings(field)
    if field in FIELD_CHOICES:  # a few sourced values: a select, unit and source as elsewhere
        box = at.selectbox(key=page.input_key(field))
        assert ui.field_unit(spec) in box.label.replace("\\", "")
        assert cite(assumptions()[field].source, assumptions()[field].year) in box.help.replace(
            "\\", ""
        )
        return
    if spec.choices:  # named choices (the entrant): a select of the names, the code kept
        box = at.selectbox(key=page.input_key(field))
        assert box.label.replace("\\", "") == spec.label
        assert list(box.options) == list(spec.choices)
        assert box.value == getattr(load_preset("bofa-base"), field)
        assert cite(assumptions()[field].source, assumptions()[field].year) in box.help.replace(
            "\\", ""
        )
        return
    if meanings is not None:  # a yes/no input: a toggle that says what on and off mean
        toggle = at.toggle(key=page.input_key(field))
        assert toggle.label.replace("\\", "") == spec.label
        plain = toggle.help.replace("\\", "")
        assert f"On: {meanings[1]}. Off: {meanings[0]}." in plain
        assert "Sourced default" in plain and field in plain
        assert cite(assumptions()[field].source, assumptions()[field].year) in plain
        return
    widget = at.number_input(key=page.input_key(field))
    assert ui.field_unit(spec) in widget.label.replace("\\", "")
    assert widget.help and "Sourced default" in widget.help and field in widget.help
    plain = widget.help.replace("\\", "")
    assert cite(assumptions()[field].source, assumptions()[field].year) in plain
    assert ui.field_range_text(spec) in plain
    if field in HEADLINE_FIELDS:
        assert at.slider(key=page.slider_key(field)).label == widget.label


_DEFAULT: list[AppTest] = []


def _default_app() -> AppTest:
    if not _DEFAULT:
        _DEFAULT.append(run_app())
    return _DEFAULT[0]


# ---- rendering: nothing turns into maths or markup (methodology "Reading the dashboard") -------
_CODE = re.compile(r"```.*?```|`[^`\n]*`", re.DOTALL)


def _markdown_texts(at: AppTest) -> list[str]:
    """Every text Streamlit renders as Markdown: bodies, captions, alerts, labels and help."""
    texts: list[str] = []
    for kind in ("markdown", "caption", "warning", "info", "error", "success", "subheader"):
        texts += [str(e.value) for e in at.get(kind)]
    for kind in ("metric", "slider", "number_input", "selectbox", "button", "text_input"):
        for e in at.get(kind):
            texts += [str(getattr(e, "label", "") or ""), str(getattr(e, "help", "") or "")]
    texts += [str(e.proto.label) for e in at.get("tab")]
    return texts


def _live_dollars(text: str) -> list[str]:
    """``$`` signs Streamlit would read as maths (not backslash-escaped, outside code)."""
    plain = _CODE.sub("", text)
    return [plain[max(0, m.start() - 30) : m.end() + 30] for m in re.finditer(r"(?<!\\)\$", plain)]


@pytest.mark.parametrize("tab", TABS)
def test_no_text_renders_as_maths_on_any_tab(tab: str) -> None:
    # a changed scenario: the scenario line then quotes money ("US$43 B/GW") from user input
    at = run_app({"preset": "crusoe-resale", "capex_per_gw_busd": "43", "wacc": "0.09"}, tab=tab)
    assert_clean(at)
    texts = _markdown_texts(at)
    live = [snippet for t in texts for snippet in _live_dollars(t)]
    assert not live, live[:5]
    # and "US$" survives as a literal (escaped) dollar, not dropped
    assert any("US\\$" in t for t in texts)


# ---- percent inputs, refused values, verdict and deltas (methodology "Reading the dashboard") ---
def test_rates_show_in_percent_and_the_model_keeps_fractions() -> None:
    at = run_app({"preset": "bofa-base"})
    wacc = at.number_input(key=page.input_key("wacc"))
    assert "% per year" in wacc.label
    assert wacc.value == pytest.approx(load_preset("bofa-base").wacc * 100)
    wacc.set_value(9.5).run()
    assert_clean(at)
    assert at.session_state[state.widget_key("wacc")] == pytest.approx(0.095)
    assert url(at)["wacc"] == "0.095"  # links keep the model's values
    expected = evaluate(load_preset("bofa-base").replace(wacc=0.095))
    assert kpi(at, "NPV at WACC") == pytest.approx(expected.npv_busd, abs=0.051)


@pytest.mark.parametrize(("field", "typed"), [("wacc", 45.0), ("gw_built", 80.0), ("pue", 0.5)])
def test_an_out_of_range_value_is_refused_visibly_and_the_box_reverts(
    field: str, typed: float
) -> None:
    at = run_app({"preset": "bofa-base"})
    before = at.number_input(key=page.input_key(field)).value
    at.number_input(key=page.input_key(field)).set_value(typed).run()
    assert_clean(at)
    box = at.number_input(key=page.input_key(field))
    assert box.value == pytest.approx(before)  # the box shows what the model uses
    assert at.session_state[state.widget_key(field)] == getattr(load_preset("bofa-base"), field)
    note = " ".join(str(w.value) for w in at.warning).replace("\\", "")
    assert FIELD_SPECS[field].label in note and "not allowed" in note
    assert ui.field_range_text(FIELD_SPECS[field]) in note


def test_verdict_reads_irr_against_wacc_npv_and_breakeven() -> None:
    at = run_app({"preset": "bofa-bear"})
    r = evaluate(load_preset("bofa-bear"))
    text = next(m.value for m in at.markdown if "cost of capital" in m.value).replace("\\", "")
    assert "below the" in text and "destroys" in text  # bear: IRR under the WACC, NPV < 0
    assert f"{abs(r.npv_busd):,.1f}" in text
    assert "breaks even" in text
    at = run_app({"preset": "bofa-base"})
    text = next(m.value for m in at.markdown if "cost of capital" in m.value).replace("\\", "")
    assert "above the" in text and "creates" in text and "market added" in text


def test_zero_deltas_are_hidden_and_real_ones_shown_in_the_metric_format() -> None:
    at = run_app({"preset": "bofa-base"})
    assert all(m.delta in (None, "") for m in at.metric), [m.delta for m in at.metric]
    # (a link written today names the facility residual: an old link's "book" would move the IRR)
    at = run_app({"preset": "bofa-base", "wacc": "0.1", "facility_residual": "annuity"})
    deltas = {m.label.replace("\\", ""): m.delta for m in at.metric}
    # the IRR moves with the WACC only through the residual's market value (its buyer's
    # discount, sections 2.3 and 2.5): at most a tenth of a point here
    assert deltas["IRR, per year"] in (None, "", "-0.1 pp vs preset")
    assert deltas["NPV at WACC"].startswith("-US$ ")
    caption = " ".join(c.value for c in at.caption).replace("\\", "")
    assert "WACC 8.7% → 10%" in caption  # subtitles and the scenario line name the change


# ---- charts read right (methodology "Reading the dashboard") -----------------------------------
def _ctx(preset_id: str, **changes: float) -> ViewContext:
    s = load_preset(preset_id)
    t = s.replace(**changes) if changes else s
    return ViewContext(preset_id, t, evaluate(t), s, evaluate(s))


def _visible_names(fig) -> list[str]:
    return [t.name for t in fig.data if t.showlegend is not False]


@pytest.mark.parametrize("preset_id", preset_ids())
def test_no_legend_entry_is_a_line_hidden_under_another(preset_id: str) -> None:
    for name in ("pricing_indices", "jevons", "npv_vs_multiplier"):
        fig = charts.CHARTS[name](_ctx(preset_id))
        lines = [t for t in fig.data if t.type == "scatter" and t.mode and "lines" in t.mode]
        for i, a in enumerate(lines):
            for b in lines[i + 1 :]:
                assert not charts.same_series(a.y, b.y), (name, a.name, b.name)


def test_payback_after_the_first_positive_year_is_explained() -> None:
    # bofa-bear: cumulative cash turns positive, then an IT refresh pulls it back
    ctx = _ctx("bofa-bear")
    cf = ctx.result.cash_flows
    first_positive = int(cf["year"][cf["cumulative_fcf"] > 0].iloc[0])
    assert ctx.result.payback_years is not None and ctx.result.payback_years > first_positive
    title = charts.cumulative_fcf_chart(ctx).layout.title.text
    assert f"positive in year {first_positive}" in " ".join(re.sub("<[^>]*>", " ", title).split())


def test_npv_bridge_chart_sums_to_npv_and_names_the_residual_share() -> None:
    ctx = _ctx("bofa-bull")
    fig = charts.npv_bridge_chart(ctx)
    (wf,) = fig.data
    assert list(wf.measure)[-1] == "total"
    assert sum(wf.y[:-1]) == pytest.approx(ctx.result.npv_busd, abs=1e-9)
    assert wf.y[-1] == pytest.approx(ctx.result.npv_busd)
    assert "of NPV" in fig.layout.title.text


def test_chart_titles_wrap_to_fit_a_phone() -> None:
    for fig in charts.all_figures(_ctx("hosting-mix", gw_built=4.5, wacc=0.1)).values():
        text = re.sub(r"<[^>]*>", "\n", fig.layout.title.text)
        assert all(len(line) <= charts.SUBTITLE_CHARS for line in text.split("\n")), text
        assert fig.layout.title.xref == "container"


def test_the_server_hands_freed_memory_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """Methodology section 5: the batch allocator setting is off in the dashboard's server."""
    from model import engine

    monkeypatch.delenv(engine.ALLOCATOR_TUNING_ENV, raising=False)
    run_app()
    assert os.environ.get(engine.ALLOCATOR_TUNING_ENV) == "off"


def test_cash_flow_table_shows_every_line_and_year_as_the_model_computes_them() -> None:
    at = run_app({"preset": "bofa-base"})
    (table,) = [h.proto.body for h in at.get("html") if "Cash-flow table" in h.proto.body]
    cf = evaluate(load_preset("bofa-base")).cash_flows
    rows = re.findall(r'<tr(?: class="strong")?><th scope="row">(.*?)</th>(.*?)</tr>', table)
    lines = [returns.line_label(h) for _, h in returns.TABLE_COLUMNS]
    assert [html.unescape(name) for name, _ in rows] == lines
    by_line = {html.unescape(name): re.findall(r"<td>(.*?)</td>", cells) for name, cells in rows}
    for column, header in returns.TABLE_COLUMNS:
        line = returns.line_label(header)
        # US$ B to 0.1, never "-0.0"
        assert by_line[line] == [format_number(v, 1) for v in cf[column]], line
    assert "Line (US$ B per year)" in table  # the unit, said once in the corner
    heads = re.findall(r'<th scope="col">(.*?)</th>', table)
    assert heads[1] == "2026 build" and heads[-1] == str(
        2026 + len(cf) - 1
    )  # calendar years (methodology 1)
    assert len(heads) == len(cf) + 1
    assert 'class="strong"><th scope="row">EBITDA</th>' in table


def test_numbers_table_escapes_every_label_and_marks_missing_values() -> None:
    frame = pd.DataFrame(
        {"<script>x</script>": [1234.5, float("nan")]}, index=['a"b', "<img src=x>"]
    )
    text = ui.numbers_table_html(frame, label="L<>", digits=1)
    assert "<script>" not in text and "<img" not in text
    assert "&lt;script&gt;" in text and "&lt;img src=x&gt;" in text and "a&quot;b" in text
    assert "<td>1,234.5</td>" in text and "<td>n/a</td>" in text
    assert 'aria-label="L&lt;&gt;"' in text
    assert f'class="{ui.NUMBERS_TABLE_CLASS}"' in text
    assert (
        f".{ui.NUMBERS_TABLE_CLASS} " in ui.NUMBERS_TABLE_CSS
        and ui.NUMBERS_TABLE_CSS in page.PAGE_CSS
    )


def test_sidebar_groups_draw_their_inputs_only_when_open() -> None:
    at = run_app({"preset": "hosting-mix"}, groups_open=False)
    assert_clean(at)
    # a first visit: every group listed, closed, and no input drawn (the first chart comes sooner)
    labels = [e.label for e in at.sidebar.expander]
    for group in GROUPS:
        assert any(label.startswith(f"{group} (") for label in labels), group
    assert not at.sidebar.number_input
    monetise = page.group_key("Monetise")
    at.session_state[monetise] = True
    at.run()
    shown = {w.key for w in at.sidebar.number_input}
    expected = {page.input_key(n) for n in FIELD_NAMES if FIELD_SPECS[n].group == "Monetise"}
    assert shown == expected
    at.number_input(key=page.input_key("lease_share")).set_value(80).run()
    at.session_state[monetise] = False
    at.run()
    assert_clean(at)
    # a closed group keeps what was typed: the model, the link and the KPIs still use it
    assert not at.sidebar.number_input
    assert at.session_state["f_lease_share"] == pytest.approx(0.8)
    assert url(at)["lease_share"] == "0.8"
    expected_npv = evaluate(load_preset("hosting-mix").replace(lease_share=0.8, hosting_share=0.2))
    assert kpi(at, "NPV at WACC") == pytest.approx(expected_npv.npv_busd, abs=0.051)


# ---- capital structure on the page (methodology §11) ---------------------------------------------
def test_financed_preset_shows_equity_kpis_and_the_financing_section() -> None:
    at = run_app({"preset": "coreweave-spv"})
    assert_clean(at)
    r = evaluate(load_preset("coreweave-spv"))
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Equity IRR"] == format_metric("equity_irr", r.equity_irr)
    assert metrics["Minimum DSCR"] == format_metric("min_dscr", r.min_dscr)
    assert "Financing: the builder's own position" in [s.value for s in at.subheader]
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert any(t.startswith("<b>Debt: drawdowns, repayments") for t in titles), titles


def test_unlevered_preset_has_no_equity_kpis() -> None:
    at = run_app({"preset": "bofa-base"})
    assert_clean(at)
    labels = {m.label for m in at.metric}
    assert "Equity IRR" not in labels and "Minimum DSCR" not in labels


def test_surplus_preset_shows_the_external_business_alone() -> None:
    at = run_app({"preset": "meta-surplus"})
    assert_clean(at)
    ext = external_business(load_preset("meta-surplus"))
    assert ext is not None
    shown = [m.value for m in at.metric if m.label == metric_label("npv_busd")]
    assert format_metric("npv_busd", ext.npv_busd) in shown


def test_all_figures_add_the_debt_chart_only_with_debt() -> None:
    assert "debt_balance" in charts.all_figures(_ctx("coreweave-spv"))
    assert "debt_balance" not in charts.all_figures(_ctx("bofa-base"))


def test_every_kpi_label_names_its_unit_or_the_value_carries_it() -> None:
    """A KPI that shows a bare number (payback) says its unit in the label (methodology §12)."""
    at = run_app()
    assert_clean(at)
    for m in at.metric:
        bare = re.fullmatch(r"-?[\d,.]+", m.value.strip()) is not None
        if bare:
            assert "," in m.label and m.label.split(",")[-1].strip(), (m.label, m.value)
    assert any(m.label == "Payback, years" for m in at.metric)
    # the sidebar is drawn after the main content, and still holds every input
    # (yes/no inputs as toggles, a choice as a select: the preset picker is the other select)
    controls = len(at.sidebar.number_input) + len(at.sidebar.toggle) + len(at.sidebar.selectbox)
    # every field, the preset, and the dated curve's unit, GPU count and tenor (methodology 4.8)
    assert controls == len(FIELD_SPECS) + 1 + 3


def test_assumption_notes_with_commas_are_read_in_full() -> None:
    """A note with commas is one quoted CSV field: the Assumptions table shows all of it."""
    notes = {k: a.note for k, a in assumptions().items()}
    assert notes["it_share_of_capex"].endswith("brackets it")
    assert notes["other_opex_busd_per_gw_year"].endswith("insurance, property tax")


def test_the_entrant_select_sets_the_scenario_and_the_link() -> None:
    """Choosing the hyperscaler entrant moves the ceiling and writes its name into the link
    (methodology section 4.2, "The entrant")."""
    at = run_app({"preset": "market-base"})
    before = kpi(at, "NPV at WACC")
    at.selectbox(key=page.input_key("entrant_profile")).set_value(2).run()
    assert_clean(at)
    expected = load_preset("market-base").replace(entrant_profile="hyperscaler")
    assert kpi(at, "NPV at WACC") == pytest.approx(evaluate(expected).npv_busd, abs=0.051)
    assert kpi(at, "NPV at WACC") != pytest.approx(before, abs=0.051)
    assert url(at)["entrant_profile"] == "hyperscaler"


def test_a_link_whose_values_are_all_refused_is_not_an_old_link() -> None:
    """Refused values set nothing, so the link shows the preset as it is today (its entrant
    included) and the URL becomes the preset's alone (methodology section 4.2, "The entrant")."""
    at = run_app({"gw_built": "abc", "wacc": "5"})
    assert_clean(at)
    assert url(at) == {"preset": "bofa-base"}
    assert at.selectbox(key=page.input_key("entrant_profile")).value == 1


def test_the_depreciation_life_panel_is_last_and_drawn_when_opened() -> None:
    """Methodology §11.8: operating income and EPS for book lives of 3 / 5.5 / 6 years."""
    at = run_app({"preset": "bofa-base"})
    labels = [e.label for e in at.expander]
    panel = [lab for lab in labels if lab.startswith("Reported operating income and EPS")]
    assert len(panel) == 1
    before = _chart_titles(at)
    at.session_state[returns.DEPRECIATION_LIFE_KEY] = True
    at.run()
    assert_clean(at)
    after = _chart_titles(at)
    assert len(after) == len(before) + 2
    assert after[-2].startswith("<b>Depreciation life: reported operating income")
    assert after[-1].startswith("<b>Depreciation life: EPS")
    assert url(at) == {"preset": "bofa-base"}
