"""app.export: images through one persistent Chromium, offline HTML, CSV, XLSX and the report.

Image tests need Chromium: they skip without /usr/bin/chromium unless CI=true (then they fail).
One kaleido browser serves the whole test session (it is a process-wide singleton).
"""

from __future__ import annotations

import concurrent.futures
import importlib
import io
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pytest
from openpyxl import load_workbook

from app import export
from app.charts import all_figures
from model import FIELD_NAMES, FIELD_SPECS, METRIC_UNITS, assumptions, load_preset, presets

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


def test_one_browser_serves_every_image(image_server: None) -> None:
    # timings are in `make bench`; here only that no new browser starts per image
    starts = export.image_server_starts()
    for i in range(4):
        png = export.chart_image(_labelled_figure(f"image {i}"), "png")
        assert export.image_problem(png, "png") == ""
    assert export.image_server_starts() == starts


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
        assert FIELD_SPECS[name].label in page
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
    flat = out.replace("\n", "")
    assert "<ul><li>one</li><li>two</li></ul>" in flat
    assert "<ol><li>a</li><li>b</li></ol>" in flat
    assert "<th>x</th>" in flat and "<td>2</td>" in flat
    assert "raw &lt;b&gt;" in out
    assert "<blockquote><p>quote</p></blockquote>" in flat


def test_markdown_has_no_raw_html_or_script_links() -> None:
    out = export.markdown_to_html(
        "<script>alert(1)</script>\n\n[x](javascript:alert(1)) <img src=x onerror=alert(1)> US$ 5"
    )
    assert "<script" not in out and "<img" not in out
    assert 'href="javascript' not in out
    assert "US$ 5" in out  # the report is HTML: a dollar stays a dollar


# ---- data --------------------------------------------------------------------------------------
def test_csv_round_trips(ctx) -> None:
    text = export.cash_flows_csv(ctx.result)
    # first header row: labels with units for people; the second: code names for machines
    labels = pd.read_csv(io.StringIO(text), nrows=0).columns
    # calendar years first, then the model's year index (methodology section 1)
    assert list(labels)[:4] == [
        "Year (calendar: first_year + t)",
        "Year from first capex (t; 0 = first construction year)",
        "Operating (True in the years that earn revenue)",
        "Revenue: lease (US$ B)",
    ]
    assert all("(" in label for label in labels)  # every header names its unit
    cf = pd.read_csv(io.StringIO(text), header=1)
    assert list(cf.columns) == list(ctx.result.dated_cash_flows.columns)
    assert cf["year"].iloc[0] == ctx.result.scenario.first_year == 2026
    assert (cf["year"] - cf["year_index"] == ctx.result.scenario.first_year).all()
    pd.testing.assert_frame_equal(
        cf, ctx.result.dated_cash_flows.reset_index(drop=True), check_dtype=False, rtol=1e-12
    )
    metrics = pd.read_csv(io.StringIO(export.metrics_csv(ctx.result)), header=1)
    values = {**ctx.result.metrics(), **ctx.result.surplus_metrics()}  # exports add 11.11
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
    # the live model first (methodology section 13), then the model's value sheets
    assert wb.sheetnames[:5] == ["About", "Inputs", "Market", "Derived", "Cash flows"]
    values = wb.sheetnames.index("input_sources")
    assert wb.sheetnames[values : values + 4] == [
        "input_sources",
        "cash_flows",
        "metrics",
        "market_values",
    ]
    assert "monte_carlo" in wb.sheetnames and "notes" in wb.sheetnames
    assert len(data) < 1_000_000  # a default-sized export stays under 1 MB
    # two header rows: labels with units on top, the code names below (as the CSVs)
    inputs = pd.read_excel(io.BytesIO(data), sheet_name="input_sources", header=1)
    for column in ("field", "value", "unit", "source", "year", "basis"):
        assert column in inputs.columns
    assert list(inputs["field"]) == list(FIELD_NAMES)
    row = inputs.set_index("field").loc["gw_built"]
    assert row["value"] == 4.5 and row["basis"] == "changed in this scenario"
    wacc = inputs.set_index("field").loc["wacc"]
    assert wacc["basis"] == "sourced default" and isinstance(wacc["source"], str)
    cf = pd.read_excel(io.BytesIO(data), sheet_name="cash_flows", header=1)
    assert cf["fcf"].to_numpy() == pytest.approx(ctx.result.cash_flows["fcf"].to_numpy())
    mc = pd.read_excel(io.BytesIO(data), sheet_name="monte_carlo", header=1)
    assert list(mc["npv_busd"]) == [3.0, 4.0]


def test_workbook_headers_are_labels_with_units_and_conditions_are_stated() -> None:
    """No value sheet has code names as its headers: labels (with units for the figures) on top,
    the code names in the second row; the hosting-cap case states its condition (the sentence
    of conditions.csv) on 'Conditions'."""
    scenario = load_preset("bofa-base").model_copy(
        update={"lease_share": 0.0, "hosting_share": 1.0}
    )
    c = export.make_context(scenario, "bofa-base")
    stress = pd.DataFrame({"shock": ["x"], "npv_busd": [1.0], "delta_irr": [0.01]})
    wb = load_workbook(io.BytesIO(export.workbook_bytes(c, {"stress_tests": stress})))
    conditions = export.conditions_frame(c.result)
    sentence = conditions.set_index("Condition").loc["hosting_cap_binds"].iloc[-1]
    assert sentence in [cell.value for cell in wb["Conditions"]["C"]]
    for sheet in ("input_sources", "cash_flows", "metrics", "market_values", "stress_tests"):
        ws = wb[sheet]
        labels = [cell.value for cell in ws[1]]
        codes = [cell.value for cell in ws[2]]
        assert not set(labels) & set(codes), (sheet, set(labels) & set(codes))
        assert ws.freeze_panes == "A3"
    cf_labels = dict(
        zip([x.value for x in wb["cash_flows"][2]], [x.value for x in wb["cash_flows"][1]])
    )
    assert cf_labels["fcf"] == "Free cash flow (US$ B)"
    assert all("(" in cf_labels[n] for n in cf_labels if n not in ("year", "operating"))
    market = dict(
        zip([x.value for x in wb["market_values"][2]], [x.value for x in wb["market_values"][1]])
    )
    assert market["lease_rate_index"] == "Frontier lease rate (index, 1 = today)"
    st = dict(
        zip([x.value for x in wb["stress_tests"][2]], [x.value for x in wb["stress_tests"][1]])
    )
    assert st["npv_busd"] == "NPV at WACC (US$ B)"


def test_workbook_value_sheets_never_hold_a_formula(ctx) -> None:
    """A table cell that starts with "=" stays text in the value sheets (no formula injection)."""
    data = export.workbook_bytes(ctx, {"labels": pd.DataFrame({"label": ["=1+1", "plain"]})})
    wb = load_workbook(io.BytesIO(data))
    ws = wb["labels"]
    assert ws["A3"].value == "=1+1" and ws["A3"].data_type == "s"


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
        k for k, v in presets()["bofa-bull"].overrides.items() if v != assumptions()[k].value
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


def test_a_failing_analysis_chart_does_not_block_the_main_charts(ctx, monkeypatch) -> None:
    analyses = importlib.import_module(
        "app.export.analyses"
    )  # (the package's name is the function)

    def analysis_figures(_ctx):
        raise ValueError("boom")

    monkeypatch.setattr(analyses, "analysis_figures", analysis_figures)
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
    assert export.format_metric("irr", None) == "n/a"
    assert export.format_metric("payback_years", None) == "never"
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


# ---- writing files: atomic, inside the folder, never through a symlink ------------------------
def test_write_file_replaces_a_symlink_instead_of_following_it(tmp_path: Path) -> None:
    out, outside = tmp_path / "out", tmp_path / "outside.txt"
    out.mkdir()
    outside.write_text("keep me")
    (out / "report.html").symlink_to(outside)
    export.write_file(out, "report.html", "new")
    assert outside.read_text() == "keep me"
    assert not (out / "report.html").is_symlink()
    assert (out / "report.html").read_text() == "new"


@pytest.mark.parametrize("name", ["../escape.txt", "a/b.txt", "", "..", "x\x00y"])
def test_write_file_refuses_names_outside_the_folder(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="plain file name"):
        export.write_file(tmp_path, name, "x")
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_leaves_no_partial_file_and_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "workbook.xlsx").write_bytes(b"old complete file")
    real_fsync = os.fsync

    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError) as info:
        export.write_file(tmp_path, "workbook.xlsx", b"x" * 10_000)
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert "workbook.xlsx" in str(info.value) and "No space left" in str(info.value)
    assert info.value.errno == 28
    # the earlier file is intact and no temporary file is left behind
    assert [p.name for p in tmp_path.iterdir()] == ["workbook.xlsx"]
    assert (tmp_path / "workbook.xlsx").read_bytes() == b"old complete file"


def test_a_folder_in_the_way_is_named(tmp_path: Path) -> None:
    (tmp_path / "metrics.csv").mkdir()
    with pytest.raises(OSError, match=r"metrics\.csv"):
        export.write_file(tmp_path, "metrics.csv", "x")


def test_full_export_shares_one_plotly_js_and_stays_small(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ctx
) -> None:
    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")  # images are tested above
    outcome = export.write_exports(ctx, tmp_path, ("html", "csv", "xlsx", "report"))
    names = {p.name for p in outcome.written}
    assert export.PLOTLY_JS in names
    pages = [p for p in tmp_path.glob("*.html") if p.name != "report.html"]
    assert pages
    for page in pages:
        text = page.read_text()
        assert f'src="{export.PLOTLY_JS}"' in text  # loads the shared copy beside it
        assert page.stat().st_size < 200_000
    total = sum(p.stat().st_size for p in tmp_path.iterdir())
    assert total < 15 * 1024 * 1024, total
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_analyses_run_once_per_export(monkeypatch: pytest.MonkeyPatch) -> None:
    analyses = importlib.import_module("app.export.analyses")
    calls = []
    real = analyses.tornado

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(analyses, "tornado", counting)
    export.analyses.cache_clear()
    c = export.make_context(load_preset("bofa-bull").replace(gw_built=2.2), "bofa-bull")
    figures, _ = export.scenario_figures(c)
    tables = export.scenario_summaries(c)
    assert "tornado" in figures and "sensitivity_npv" in tables
    assert len(calls) == 1


# ---- images: bounded and checked ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (b"\x89PN", "png"),
        (b"\x89PNG\r\n\x1a\n" + b"0" * 2000, "png"),  # no IEND: truncated
        (b"%PDF-1.4 short", "pdf"),
        (b"<html>not svg</html>" * 50, "svg"),
        (b"", "svg"),
    ],
)
def test_garbage_is_not_an_image(data: bytes, fmt: str) -> None:
    assert export.image_problem(data, fmt)


def test_an_oversized_chart_is_refused_before_rendering() -> None:
    fig = _labelled_figure("huge")
    fig.update_layout(width=50_000, height=300)
    with pytest.raises(export.ExportError, match="px"):
        export.chart_image(fig, "png")


def test_stopping_the_image_server_leaves_no_browser_process(image_server: None) -> None:
    export.chart_image(_labelled_figure("before stop"), "png")
    assert export.browser_processes()  # the shared browser runs as our descendant
    export.stop_image_server()
    assert export.browser_processes() == []
    export.start_image_server()  # the other tests of the session keep their browser


def test_a_hung_render_is_given_up_and_its_browser_reaped(
    image_server: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.export import images

    server = images._ImageServer()
    server.start()
    assert export.browser_processes()
    monkeypatch.setattr(images, "RENDER_TIMEOUT_S", -4.9)  # wait 0.1 s, as if it hung

    with pytest.raises(export.ExportError, match="could not render"):
        server.render(_labelled_figure("hung").to_dict(), {"format": "png", "width": 300})
    assert not server.running()
    # the private server's browser is gone; the shared one is restarted for the other tests
    export.stop_image_server()
    assert export.browser_processes() == []
    export.start_image_server()


def test_export_tab_names_files_after_the_scenario_and_its_changes() -> None:
    from streamlit.testing.v1 import AppTest

    from app.views import export as export_view

    c = export.make_context(load_preset("bofa-base").replace(gw_built=4.5), "bofa-base")
    assert export_view.data_file_name("report", c, "html") == "report_bofa-base_gw-built-4.5.html"
    assert export_view.chart_file_name("cash_flows", c, "png") == (
        "cash_flows_bofa-base_gw-built-4.5.png"
    )
    same = export.make_context(load_preset("bofa-base"), "bofa-base")
    assert export_view.data_file_name("report", same, "html") == "report_bofa-base.html"
    # the chart toolbar on the Returns tab saves under the same name as the Export tab
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["preset"] = "bofa-base"
    at.query_params["gw_built"] = "4.5"
    at.query_params["entrant_profile"] = "neocloud"  # the preset's: a link written today
    at.query_params["refresh_rule"] = "when_it_pays"  # likewise (its old meaning is "always")
    at.query_params["facility_residual"] = "annuity"
    at.run()
    assert not at.exception
    configs = [c.proto.config for c in at.get("plotly_chart")]
    assert any('"cash_flows_bofa-base_gw-built-4.5"' in cfg for cfg in configs)
