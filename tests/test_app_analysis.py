"""The Sensitivity, Uncertainty, Stress tests and Compare tabs run in AppTest without exceptions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.charts_analysis import analysis_figures
from app.context import ViewContext
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


@pytest.fixture()
def at() -> AppTest:
    app = AppTest.from_file(str(APP), default_timeout=90)
    app.run()
    _clean(app)
    return app


def test_analysis_tabs_render_their_charts(at: AppTest) -> None:
    titles = _titles(at)
    for start in (
        "<b>Tornado: NPV at WACC",
        "<b>NPV at WACC over Capex per GW and Lease rate",
        "<b>Stress tests: NPV and IRR",
        "<b>NPV at WACC over 10,000 draws",
        "<b>IRR over 10,000 draws",
        "<b>Cumulative distribution of NPV",
        "<b>What drives the spread of NPV",
        "<b>Cumulative free cash flow of the compared scenarios",
    ):
        assert any(t.startswith(start) for t in titles), (start, titles)
    # every analysis chart names the scenario and has units on its value axis
    spec = _spec(at, "<b>Tornado")
    assert "bofa-base" in spec["layout"]["title"]["text"]
    assert "US$ B" in spec["layout"]["xaxis"]["title"]["text"]
    assert any("Probability of loss" in m.label for m in at.metric)


def test_sensitivity_widgets(at: AppTest) -> None:
    at.selectbox(key="sens_tornado_metric").set_value("irr").run()
    _clean(at)
    assert "IRR (% per year)" in _spec(at, "<b>Tornado: IRR")["layout"]["xaxis"]["title"]["text"]
    at.selectbox(key="sens_be_question").set_value("Capex per GW at which IRR = WACC").run()
    _clean(at)
    shown = [s.value.replace("\\", "") for s in at.success]
    assert any("capex_per_gw_busd" in v and "irr = 0.087" in v for v in shown), shown
    at.selectbox(key="sens_heat_y").set_value("capex_per_gw_busd").run()
    _clean(at)
    assert any("two different inputs" in w.value for w in at.warning)


def test_uncertainty_fewer_draws_and_bad_correlation(at: AppTest) -> None:
    at.select_slider(key="unc_n").set_value(1000).run()
    _clean(at)
    assert any(t.startswith("<b>NPV at WACC over 1,000 draws") for t in _titles(at))


def test_compare_saves_and_escapes_names(at: AppTest) -> None:
    at.text_input(key="cmp_name").input("<b>bold</b> & <script>x</script>")
    submit = next(b for b in at.button if b.label == "Save current scenario")
    submit.click().run()
    _clean(at)
    spec = _spec(at, "<b>Cumulative free cash flow of the compared")
    names = [t["name"] for t in spec["data"]]
    assert len(names) == 2
    assert any("&lt;script&gt;" in n for n in names)
    assert not any("<script>" in n for n in names)


def test_analysis_figures_for_export() -> None:
    s = load_preset("hosting-mix")
    ctx = ViewContext("hosting-mix", s, evaluate(s), s, evaluate(s))
    figs = analysis_figures(ctx)
    assert set(figs) == {"tornado", "heatmap", "stress_tests", "mc_npv"}
    for fig in figs.values():
        assert "hosting-mix" in fig.layout.title.text
        assert fig.layout.xaxis.title.text  # a unit on the value axis
    assert "US$ B" in figs["tornado"].layout.xaxis.title.text
