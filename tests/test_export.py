"""app.export: images through one persistent Chromium, offline HTML, CSV, XLSX and the report.

Image tests need Chromium: they skip without /usr/bin/chromium unless CI=true (then they fail).
One kaleido browser serves the whole test session (it is a process-wide singleton).
"""

from __future__ import annotations

import concurrent.futures
import io
import os
import re
import sys
import time
import types
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pytest
from openpyxl import load_workbook

from app import export
from app.charts import all_figures
from model import FIELD_NAMES, METRIC_UNITS, load_preset

CHROMIUM = Path("/usr/bin/chromium")
SCRIPT_SRC = re.compile(r"<script[^>]*\bsrc\s*=", re.I)


def _need_chromium() -> None:
    if CHROMIUM.exists() or export.images_available():
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("CI=true but Chromium is missing: image export cannot be tested")
    pytest.skip("Chromium not installed (image export needs it)")


@pytest.fixture(scope="module")
def image_server() -> None:
    """Start the shared browser once; it stays up for the rest of the session."""
    _need_chromium()
    export.start_image_server()


@pytest.fixture(scope="module")
def ctx():
    scenario = load_preset("bofa-base").replace(gw_built=4.5, efficiency_multiplier=2.0)
    return export.make_context(scenario, "bofa-base")


def _labelled_figure(label: str) -> go.Figure:
    fig = go.Figure(go.Bar(x=["a", "b"], y=[1, 2]))
    fig.update_layout(title={"text": label}, width=500, height=300)
    return fig


# ---- images ----------------------------------------------------------------------------------
def test_png_svg_pdf_are_valid(image_server: None, ctx) -> None:
    fig = all_figures(ctx)["cash_flows"]
    png = export.chart_image(fig, "png")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width = int.from_bytes(png[16:20], "big")
    height = int.from_bytes(png[20:24], "big")
    assert (width, height) == (export.DEFAULT_WIDTH * 2, fig.layout.height * 2)  # 2x scale
    svg = export.chart_image(fig, "svg")
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    assert "Annual cash flows" in svg.decode()
    pdf = export.chart_image(fig, "pdf")
    assert pdf.startswith(b"%PDF-")
    assert b"%%EOF" in pdf[-64:]


def test_one_browser_serves_every_image_and_later_ones_are_fast(image_server: None) -> None:
    starts = export.image_server_starts()
    times = []
    for i in range(4):
        t = time.perf_counter()
        export.chart_image(_labelled_figure(f"speed {i}"), "png")
        times.append(time.perf_counter() - t)
    assert export.image_server_starts() == starts  # no new browser
    assert max(times) < 5.0, times  # a browser start costs ~4-6 s; a render ~0.3 s


def test_concurrent_exports_each_get_their_own_image(image_server: None) -> None:
    labels = [f"chart-number-{i}" for i in range(6)]

    def render(label: str) -> tuple[str, str]:
        return label, export.chart_image(_labelled_figure(label), "svg").decode()

    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(render, labels))
    for label, svg in results:
        assert label in svg
        others = [x for x in labels if x != label]
        assert not any(o in svg for o in others)


def test_bad_format_is_refused() -> None:
    with pytest.raises(export.ExportError, match="not an image format"):
        export.chart_image(go.Figure(), "gif")


def test_without_chromium_images_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")
    assert export.find_browser() is None
    assert not export.images_available()
    with pytest.raises(export.ExportError) as info:
        export.chart_image(go.Figure(), "png")
    assert "needs Chromium" in str(info.value)
    assert "HTML" in str(info.value)


# ---- HTML --------------------------------------------------------------------------------------
def test_chart_html_is_self_contained(ctx) -> None:
    fig = all_figures(ctx)["npv_profile"]
    page = export.chart_html(fig, "NPV <profile>")
    assert page.startswith("<html") or page.lstrip().lower().startswith(("<!doctype", "<html"))
    assert not SCRIPT_SRC.search(page)
    assert "<link" not in page.split("<body", 1)[0]  # no external stylesheet either
    assert len(page) > 3_000_000  # plotly.js inlined
    assert "<title>NPV &lt;profile&gt;</title>" in page


def test_report_has_everything_and_nothing_external(ctx) -> None:
    figures = all_figures(ctx)
    summary = pd.DataFrame({"input": ["wacc"], "npv_low": [1.0], "npv_high": [2.0]})
    page = export.report_html(
        ctx,
        figures,
        summaries={"tornado": summary},
        methodology="# Method\n\nNPV = sum of discounted FCF.",
    )
    assert not SCRIPT_SRC.search(page)
    assert page.count("Plotly.newPlot") == len(figures)
    for name in figures:
        assert f'id="chart-{name}"' in page
    for name in FIELD_NAMES:  # the inputs table lists every input with its unit and source
        assert export.FIELD_SPECS[name].label in page
    assert "BofA Securities note" in page
    assert "changed in this scenario" in page
    assert "NPV = sum of discounted FCF." in page
    assert "tornado" in page and "npv_high" in page


def test_report_escapes_every_text() -> None:
    payload = "<script>alert(1)</script><img src=x onerror=alert(1)>"
    scenario = load_preset("bofa-base")
    ctx = export.make_context(scenario, "bofa-base")
    fig = go.Figure(go.Scatter(x=[1], y=[1], name=payload))
    fig.update_layout(title={"text": payload})
    page = export.report_html(
        ctx,
        {"evil": fig},
        summaries={payload: pd.DataFrame({payload: [payload]})},
        notes=[payload],
        methodology=f"# {payload}\n\n{payload} [x](javascript:alert(1)) [ok](https://example.com)",
    )
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert 'href="javascript' not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert '<a href="https://example.com">ok</a>' in page
    # the plotly JSON keeps the payload with "<" escaped
    assert "\\u003cscript\\u003e" in page


def test_markdown_subset() -> None:
    md = (
        "# Title\n\nSome **bold** and *it* and `code`.\n\n- one\n- two\n\n1. a\n2. b\n\n"
        "| x | y |\n|---|---|\n| 1 | 2 |\n\n```\nraw <b>\n```\n\n> quote\n"
    )
    out = export.markdown_to_html(md)
    assert "<h3>Title</h3>" in out
    assert "<strong>bold</strong>" in out and "<em>it</em>" in out and "<code>code</code>" in out
    assert "<ul><li>one</li><li>two</li></ul>" in out
    assert "<ol><li>a</li><li>b</li></ol>" in out
    assert "<th>x</th>" in out and "<td>2</td>" in out
    assert "raw &lt;b&gt;" in out
    assert "<blockquote>quote</blockquote>" in out


# ---- data --------------------------------------------------------------------------------------
def test_csv_round_trips(ctx) -> None:
    cf = pd.read_csv(io.StringIO(export.csv_text(export.cash_flows_frame(ctx.result))))
    assert list(cf.columns) == list(ctx.result.cash_flows.columns)
    pd.testing.assert_frame_equal(
        cf, ctx.result.cash_flows.reset_index(drop=True), check_dtype=False, rtol=1e-12
    )
    metrics = pd.read_csv(io.StringIO(export.csv_text(export.metrics_frame(ctx.result))))
    values = ctx.result.metrics()
    assert list(metrics["metric"]) == list(values)
    for row in metrics.itertuples():
        expected = values[row.metric]
        if expected is None:
            assert pd.isna(row.value)
        else:
            assert row.value == pytest.approx(expected, rel=1e-12)
        if row.metric in METRIC_UNITS:
            assert row.unit == METRIC_UNITS[row.metric]


def test_workbook_sheets_and_values(ctx) -> None:
    summary = pd.DataFrame({"draw": [1, 2], "npv_busd": [3.0, 4.0]})
    data = export.workbook_bytes(ctx, {"monte_carlo": summary})
    wb = load_workbook(io.BytesIO(data), read_only=True)
    assert wb.sheetnames[:4] == ["inputs", "cash_flows", "metrics", "market"]
    assert "monte_carlo" in wb.sheetnames and "notes" in wb.sheetnames
    inputs = pd.read_excel(io.BytesIO(data), sheet_name="inputs")
    for column in ("field", "value", "unit", "source", "year", "basis"):
        assert column in inputs.columns
    assert list(inputs["field"]) == list(FIELD_NAMES)
    row = inputs.set_index("field").loc["gw_built"]
    assert row["value"] == 4.5 and row["basis"] == "changed in this scenario"
    wacc = inputs.set_index("field").loc["wacc"]
    assert wacc["basis"] == "sourced default" and isinstance(wacc["source"], str)
    cf = pd.read_excel(io.BytesIO(data), sheet_name="cash_flows")
    assert cf["fcf"].to_numpy() == pytest.approx(ctx.result.cash_flows["fcf"].to_numpy())
    mc = pd.read_excel(io.BytesIO(data), sheet_name="monte_carlo")
    assert list(mc["npv_busd"]) == [3.0, 4.0]


def test_sheet_names_are_made_valid() -> None:
    taken: set[str] = set()
    a = export._sheet_name("a/b:c*d?[e]" + "x" * 40, taken)
    b = export._sheet_name("a/b:c*d?[e]" + "x" * 40, taken)
    assert len(a) <= 31 and len(b) <= 31 and a != b
    assert not re.search(r"[\[\]:*?/\\]", a + b)


def test_inputs_basis_for_a_preset_override() -> None:
    ctx = export.make_context(load_preset("bofa-bull"), "bofa-bull")
    frame = export.inputs_frame(ctx).set_index("field")
    overridden = [
        k
        for k, v in export.presets()["bofa-bull"].overrides.items()
        if v != export.assumptions()[k].value
    ]
    assert overridden
    for name in overridden:
        assert frame.loc[name, "basis"] == "preset bofa-bull"


# ---- chart collection -------------------------------------------------------------------------
def test_export_uses_the_dashboards_chart_builders(ctx) -> None:
    figures, notes = export.scenario_figures(ctx, analysis=False)
    assert list(figures) == list(all_figures(ctx))
    assert notes == []
    for name, fig in all_figures(ctx).items():
        assert figures[name].to_plotly_json() == fig.to_plotly_json()


def test_a_failing_analysis_module_does_not_block_the_main_charts(ctx, monkeypatch) -> None:
    fake = types.ModuleType("app.charts_analysis")

    def analysis_figures(_ctx):
        raise ValueError("boom")

    fake.analysis_figures = analysis_figures  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "app.charts_analysis", fake)
    figures, notes = export.scenario_figures(ctx)
    assert set(all_figures(ctx)) <= set(figures)
    assert len(notes) == 1 and "boom" in notes[0]


def test_safe_names() -> None:
    assert export.safe_name("NPV / IRR (base)") == "npv_irr_base"
    assert export.safe_name("../../etc/passwd") == "etc_passwd"
    assert export.safe_name("") == "chart"
    assert len(export.safe_name("x" * 500)) <= 80


def test_metric_formats() -> None:
    assert export.format_metric("irr", 0.1129) == "11.3%"
    assert export.format_metric("npv_busd", 18.7) == "US$ 18.7 B"
    assert export.format_metric("irr", None) == "n/a (undefined)"
    assert export.format_metric("payback_years", 8.44) == "8.4 years"


# ---- the Export tab (AppTest) ------------------------------------------------------------------
APP = str(Path(__file__).resolve().parents[1] / "app" / "streamlit_app.py")


def _export_tab():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["tab"] = "Export"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_export_tab_offers_every_chart_in_every_format() -> None:
    at = _export_tab()
    buttons = at.get("download_button")
    labels = [b.proto.label for b in buttons]
    ctx = export.make_context(load_preset("bofa-base"), "bofa-base")
    charts, _ = export.scenario_figures(ctx)
    for fmt in ("PNG", "SVG", "PDF", "HTML"):
        assert labels.count(fmt) == len(charts), fmt
    for label in (
        "Report (HTML)",
        "Workbook (XLSX)",
        "Cash flows (CSV)",
        "Metrics (CSV)",
        "Scenario (TOML)",
        "Scenario (JSON)",
    ):
        assert label in labels
    if export.images_available():
        assert not any(b.proto.disabled for b in buttons if b.proto.label == "PNG")


def test_export_tab_without_chromium_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")
    at = _export_tab()
    infos = " ".join(str(i.value) for i in at.info)
    assert "needs Chromium" in infos and "toolbar" in infos
    buttons = at.get("download_button")
    assert all(b.proto.disabled for b in buttons if b.proto.label in ("PNG", "SVG", "PDF"))
    assert not any(b.proto.disabled for b in buttons if b.proto.label == "HTML")


def test_a_browser_that_cannot_start_is_reported_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROWSER_PATH", "/bin/false")  # executable, but not a browser
    server = export._ImageServer()  # a private instance: the shared one stays as it is
    with pytest.raises(export.ExportError) as info:
        server.start()
    message = str(info.value)
    assert "could not start" in message and "/bin/false" in message
    assert "HTML" in message
    assert server.failed == message
    assert not server.running()
