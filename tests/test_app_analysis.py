"""The Sensitivity, Uncertainty, Stress tests and Compare tabs run in AppTest without exceptions."""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.charts import analysis as ca
from app.context import ViewContext
from app.export.analyses import analysis_figures
from model import evaluate, load_preset

APP = Path(__file__).resolve().parents[1] / "app" / "streamlit_app.py"


def _titles(at: AppTest) -> list[str]:
    out = []
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        title = spec.get("layout", {}).get("title", {})
        out.append(title.get("text", "") if isinstance(title, dict) else str(title))
    return out


def _spec(at: AppTest, starts: str) -> dict:
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        if spec["layout"]["title"]["text"].startswith(starts):
            return spec
    raise AssertionError(f"no chart titled {starts!r}: {_titles(at)}")


def _clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _app(tab: str) -> AppTest:
    """The dashboard with ``tab`` open (only the open tab is drawn)."""
    app = AppTest.from_file(str(APP), default_timeout=90)
    app.session_state["tab"] = tab
    app.run()
    _clean(app)
    return app


EXPECTED = {
    "Sensitivity": ("<b>Tornado: NPV at WACC", "<b>NPV at WACC over Capex per GW and Lease rate"),
    "Stress tests": ("<b>Stress tests: NPV and IRR",),
    "Uncertainty": (
        "<b>NPV at WACC: ",
        "<b>IRR: ",
        "<b>Cumulative distribution of NPV",
        "<b>What drives the spread of NPV",
    ),
    "Compare": ("<b>Cumulative free cash flow of the compared",),
}


@pytest.mark.parametrize("tab", list(EXPECTED))
def test_analysis_tabs_render_their_charts(tab: str) -> None:
    at = _app(tab)
    titles = _titles(at)
    for start in EXPECTED[tab]:
        assert any(t.startswith(start) for t in titles), (start, titles)
        # every analysis chart names the scenario and has a unit on its value axis
        spec = _spec(at, start)
        assert "bofa-base" in spec["layout"]["title"]["text"] or tab == "Compare"
        assert "(" in spec["layout"]["xaxis"]["title"]["text"]
    if tab == "Sensitivity":
        assert "US$ B" in _spec(at, "<b>Tornado")["layout"]["xaxis"]["title"]["text"]
    if tab == "Uncertainty":
        assert any("Probability of loss" in m.label for m in at.metric)


def test_sensitivity_widgets() -> None:
    at = _app("Sensitivity")
    at.selectbox(key="sens_tornado_metric").set_value("irr").run()
    _clean(at)
    assert "IRR (% per year)" in _spec(at, "<b>Tornado: IRR")["layout"]["xaxis"]["title"]["text"]
    at.selectbox(key="sens_be_question").set_value("Capex per GW at which IRR = WACC").run()
    _clean(at)
    shown = [s.value.replace("\\", "") for s in at.success]
    # the target and the answer in the KPIs' formats: a rate in percent, money as US$ B
    assert any("IRR reaches 8.7% at Capex per GW = US$ " in v for v in shown), shown
    assert not any("0.087" in v for v in shown), shown
    at.selectbox(key="sens_heat_y").set_value("capex_per_gw_busd").run()
    _clean(at)
    assert any("two different inputs" in w.value for w in at.warning)


def test_uncertainty_fewer_draws() -> None:
    at = _app("Uncertainty")
    at.select_slider(key="unc_n").set_value(1000).run()
    _clean(at)
    assert any(t.startswith("<b>NPV at WACC: ") and "of 1,000 draws" in t for t in _titles(at))


def test_compare_saves_and_escapes_names() -> None:
    at = _app("Compare")
    at.text_input(key="cmp_name").input("<b>bold</b> & <script>x</script>")
    submit = next(b for b in at.button if b.label == "Save current scenario")
    submit.click().run()
    _clean(at)
    spec = _spec(at, "<b>Cumulative free cash flow of the compared")
    names = [t["name"] for t in spec["data"]]
    # the saved scenario beside the presets, not beside its own unsaved copy
    assert len(names) == 3
    assert any("&lt;script&gt;" in n for n in names)
    assert not any("<script>" in n for n in names)
    assert not any(n.startswith("Current scenario") for n in names)


def test_compare_after_save_keeps_presets_and_the_saved_scenario_side_by_side() -> None:
    at = _app("Compare")
    before = at.multiselect[0].value
    at.text_input(key="cmp_name").set_value("mine")
    next(b for b in at.button if b.label == "Save current scenario").click().run()
    _clean(at)
    chosen = at.multiselect[0].value
    assert chosen == ["mine", "Preset: bofa-bear", "Preset: bofa-bull"], chosen
    assert set(before) - {"Current scenario (unsaved)"} <= set(chosen)
    kpis = next(t.value for t in at.table if t.value.index.name == "KPI")
    # every delta against the base is a real comparison (not all ±0 against a copy)
    deltas = [c for c in kpis.columns if c.endswith("Δ vs base")]
    assert deltas and any(not str(v).startswith("±") for c in deltas for v in kpis[c])


def test_analysis_figures_for_export() -> None:
    s = load_preset("hosting-mix")
    ctx = ViewContext("hosting-mix", s, evaluate(s), s, evaluate(s))
    figs = analysis_figures(ctx)
    assert set(figs) == {"tornado", "heatmap", "stress_tests", "mc_npv", "mc_drivers"}
    for fig in figs.values():
        assert "hosting-mix" in fig.layout.title.text
        assert fig.layout.xaxis.title.text  # a unit on the value axis
    assert "US$ B" in figs["tornado"].layout.xaxis.title.text


def test_uncertainty_bad_distribution_is_a_warning_not_a_traceback() -> None:
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.session_state["tab"] = "Uncertainty"
    bad = {"field": "wacc", "kind": "uniform", "low": 0.2, "mode": None, "high": 0.1, "source": ""}
    at.session_state["unc_store"] = {"wacc": bad}
    at.run()
    _clean(at)
    shown = [w.value.replace("\\", "") for w in at.warning]
    assert any("wacc: low = 0.2 must be below high = 0.1" in w for w in shown), shown


def test_compare_defaults_to_something_else_and_offers_presets() -> None:
    at = _app("Compare")
    chosen = at.multiselect[0]
    assert len(chosen.value) >= 2 and chosen.value[0] == "Current scenario (unsaved)"
    assert "Preset: bofa-bull" in chosen.options
    # a preset added directly is compared (its KPIs appear beside the current scenario's)
    chosen.set_value(["Current scenario (unsaved)", "Preset: bofa-bull"]).run()
    assert not at.exception and not at.error
    tables = at.table  # static tables: no column is cut at the right edge
    assert any("Preset: bofa-bull" in t.value.columns for t in tables)
    assert any("Preset: bofa-bull: Δ vs base" in t.value.columns for t in tables)
    assert not at.dataframe


def test_compare_enter_then_save_does_not_warn() -> None:
    at = _app("Compare")

    def save():
        return next(b for b in at.button if b.label == "Save current scenario")

    at.text_input(key="cmp_name").set_value("mine")
    save().click().run()  # Enter in the box submits the form
    assert not at.warning, [w.value for w in at.warning]
    save().click().run()  # ...and the Save click after it has nothing new to do
    assert not at.warning, [w.value for w in at.warning]
    assert list(at.session_state["compare_saved"]) == ["mine"]


def test_one_palette_low_high_is_neutral_and_gain_loss_is_fixed() -> None:
    from app import charts

    assert {ca.LOW, ca.HIGH}.isdisjoint({charts.POSITIVE, charts.NEGATIVE})
    assert (ca.POS, ca.NEG) == (charts.POSITIVE, charts.NEGATIVE)


def test_stress_chart_labels_are_not_clipped() -> None:
    from model import load_preset
    from model.stress import stress_tests

    table = stress_tests(load_preset("bofa-base"))
    fig = ca.stress_chart(table, "x")
    for trace, axis in zip(fig.data, (fig.layout.xaxis, fig.layout.xaxis2), strict=True):
        assert trace.cliponaxis is False and trace.textposition == "outside"
        values = [v for v in trace.x if v is not None]
        _lo, hi = axis.range
        span = max(values) - min(0, min(values))
        assert hi >= max(values) + 0.15 * span  # room for "4.5%" beside the longest bar


def test_percentile_labels_sit_above_the_histogram() -> None:
    import numpy as np

    fig = ca.histogram_chart(np.linspace(-50, 50, 2000), "npv_busd", "x", 2000)
    marks = [a for a in fig.layout.annotations if a.text and a.text.startswith("P")]
    assert marks and all(a.y >= 1.0 and a.yanchor == "bottom" for a in marks)
    assert len({a.yshift for a in marks}) == len(marks)  # one row each


def test_heatmap_axis_bounds_of_a_rate_are_typed_in_percent() -> None:
    """Rates show as percentages in every input (methodology §12, "Inputs in percent")."""
    at = _app("Sensitivity")
    at.selectbox(key="sens_heat_x").set_value("wacc").run()
    _clean(at)
    box = at.number_input(key="sens_heat_x_lo_wacc")
    assert "%" in box.label
    assert 1.0 < box.value < 100.0  # a percentage, not the model's fraction
    box.set_value(6.0).run()
    _clean(at)
    spec = _spec(at, "<b>NPV at WACC over")
    assert min(spec["data"][0]["x"]) == pytest.approx(0.06)


def test_stress_table_shows_every_shock_name_and_change_in_full() -> None:
    """A static table wraps long shock names and change lists instead of cutting them."""
    from model.stress import shocks

    at = _app("Stress tests")
    assert len(at.table) == 1 and not at.dataframe
    table = at.table[0].value
    # (without debt the refinancing squeeze's name says it needs debt)
    names = {n.split(" (needs debt")[0] for n in table.index}
    assert {s.name for s in shocks()} <= names
    assert "What changes" in table.columns


def test_stress_figures_table_has_every_shock_and_its_formatted_figures() -> None:
    """The figures sit in a static table whose shock names are pinned and whose figures never
    wrap (methodology §12): a phone scrolls it sideways, one figure per line."""
    from app.page import PAGE_CSS
    from app.views.stress import STRESS_FIGURES_KEY
    from model.metrics import format_metric
    from model.stress import stress_tests

    at = _app("Stress tests")
    tables = [m.value for m in at.markdown if 'aria-label="Stress test figures"' in m.value]
    assert len(tables) == 1
    html_text = tables[0]
    expected = stress_tests(load_preset("bofa-base"))
    for row in expected.itertuples():
        assert f'<th scope="row">{html.escape(str(row.name))}' in html_text
        npv = html.escape(format_metric("npv_busd", row.npv_busd)).replace("$", "&#36;")
        assert f"<td>{npv}</td>" in html_text
        assert f"<td>{format_metric('irr', row.irr)}</td>" in html_text
    assert f".st-key-{STRESS_FIGURES_KEY} .dc-numbers" in PAGE_CSS  # names wrap on a wide screen


def test_stress_reference_lines_sit_under_the_value_labels() -> None:
    from model import load_preset
    from model.stress import stress_tests

    fig = ca.stress_chart(stress_tests(load_preset("bofa-base")), "x")
    assert fig.layout.shapes and all(sh.layer == "below" for sh in fig.layout.shapes)
    npv = fig.data[0]
    lo, _ = fig.layout.xaxis.range
    low = min(v for v in npv.x if v is not None)
    assert lo <= low - 0.25 * (max(0.0, max(npv.x)) - min(0.0, low))  # room for "-168.0"
