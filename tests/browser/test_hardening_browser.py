"""Hardening in a real Chromium: hostile links, ten sessions at once, uploads and downloads.

The bulk of the bad-URL and bad-file corpora runs in tests/test_hardening.py (AppTest); here a
representative subset proves what only a browser can: no dialog fires, no injected element exists
in the DOM, the payload shows only as text, sessions never share state, and the deferred downloads
(report, PNG through the server's one Chromium) arrive intact.
"""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote

import pytest
from links import written_link
from playwright.sync_api import Browser, Locator, Page, expect
from waits import STATE_CEILING_MS, wait_settled, with_ceiling

from app.state import format_value
from model import evaluate, load_preset
from model.io import to_toml

pytestmark = pytest.mark.browser

GW_LABEL = "GW built (GW of facility power)"
SCRIPT_SRC = re.compile(r"<script[^>]*\bsrc\s*=", re.I)
NO_INJECTION_JS = """() => ({
  scripts: [...document.scripts].filter(s => s.textContent.includes('alert(1)')).length,
  imgs: document.querySelectorAll('img[src="x"], img[onerror]').length,
  svgs: document.querySelectorAll('svg[onload]').length,
  bold: [...document.querySelectorAll('b')].filter(b => b.textContent === 'bold-key').length,
  flag: window.__pwned === true,
})"""


def _url(base: str, pairs: list[tuple[str, str]]) -> str:
    return base + "/?" + "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)


def _open(page: Page, url: str) -> list[str]:
    dialogs: list[str] = []

    def on_dialog(dialog) -> None:  # record and dismiss, so a firing payload cannot block
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(url)
    page.get_by_test_id("stMetric").first.wait_for(timeout=STATE_CEILING_MS)
    return dialogs


def _assert_not_injected(page: Page, dialogs: list[str]) -> None:
    wait_settled(page)  # the page drawn and idle: a payload would have run by now
    assert dialogs == []
    found = page.evaluate(NO_INJECTION_JS)
    assert found == {"scripts": 0, "imgs": 0, "svgs": 0, "bold": 0, "flag": False}, found
    assert page.get_by_test_id("stException").count() == 0


HOSTILE_LINKS: list[tuple[str, list[tuple[str, str]], list[str]]] = [
    (
        "markup in values",
        [
            ("gw_built", "<script>alert(1)</script>"),
            ("wacc", "<img src=x onerror=alert(1)>"),
            ("pue", "NaN"),
            ("capex_per_gw_busd", "1e309"),
            ("lease_rate_busd_per_gw_year", "-5"),
            ("build_years", "2"),
            ("build_years", "3"),
        ],
        [
            "gw_built = '<script>alert(1)</script>' is not a number",
            "wacc = '<img src=x onerror=alert(1)>' is not a number",
            "pue = 'NaN' is not a finite number",
            "capex_per_gw_busd = '1e309' is not a finite number",
            "lease_rate_busd_per_gw_year = '-5' is out of range",
            "build_years is given 2 times",
        ],
    ),
    (
        "markup in keys, preset and a long value",
        [
            ("preset", "<svg onload=window.__pwned=true>"),
            ("<b>bold-key</b>", "1"),
            ("efficiency_multiplier", "9" * 3000),
            ("[x](javascript:alert(1))", "2"),
        ],
        [
            "preset = '<svg onload=window.__pwned=true>' is unknown",
            "unknown URL parameter '<b>bold-key</b>'",
            "efficiency_multiplier: value of 3000 characters is too long",
            "unknown URL parameter '[x](javascript:alert(1))'",
        ],
    ),
]


@pytest.mark.parametrize(
    ("label", "pairs", "messages"), HOSTILE_LINKS, ids=[h[0] for h in HOSTILE_LINKS]
)
def test_hostile_link_shows_text_not_markup(
    page: Page, app_url: str, label: str, pairs: list[tuple[str, str]], messages: list[str]
) -> None:
    dialogs = _open(page, _url(app_url, pairs))
    warning = page.get_by_test_id("stAlertContentWarning").first
    warning.wait_for(timeout=STATE_CEILING_MS)
    text = warning.inner_text()
    for message in messages:  # the payload is on the page as plain text
        assert message in text, (message, text)
    _assert_not_injected(page, dialogs)
    # the rejected values are not used, and the URL no longer carries them
    if any(k == "gw_built" for k, _ in pairs):
        assert float(page.get_by_role("slider", name=GW_LABEL).input_value()) == 3.0
    assert "script" not in page.url and "svg" not in page.url


def _skip_chart_code(route) -> None:
    route.abort()


def test_ten_sessions_keep_their_own_state(browser: Browser, app_url: str) -> None:
    """Ten separate browser sessions, each with its own scenario, never see each other's.

    The charts' 4.7 MB script is not loaded in these pages (ten cold plotly.js loads would take
    minutes on two cores and prove nothing about session state); sliders, KPIs and URL are.
    """
    values = [round(1.0 + 0.5 * i, 1) for i in range(10)]  # gw_built 1.0 ... 5.5
    contexts = [
        with_ceiling(browser.new_context(viewport={"width": 1280, "height": 900})) for _ in values
    ]
    try:
        for c in contexts:
            c.route(re.compile(r".*/PlotlyChart\.[^/]*\.js$"), _skip_chart_code)
        pages = [c.new_page() for c in contexts]
        for page, v in zip(pages, values, strict=True):  # all ten load at once
            # written as the app writes links (a link that reads back is left as written)
            page.goto(f"{app_url}/?{written_link(gw_built=v)}", wait_until="commit")
        expected = dict(enumerate(values))
        for i, page in enumerate(pages):
            page.get_by_test_id("stMetric").first.wait_for(timeout=STATE_CEILING_MS)
            assert float(page.get_by_role("slider", name=GW_LABEL).input_value()) == values[i]
        # three sessions move their slider (two steps of 0.1); the others must not follow
        for i in (0, 4, 9):
            slider = pages[i].get_by_role("slider", name=GW_LABEL)
            for step in (1, 2):
                # one step at a time, each seen by the slider before the next (on two loaded
                # cores a second key press during the first one's rerun can be slow to land)
                slider.focus()
                pages[i].keyboard.press("ArrowRight")
                _wait_for_value(slider, round(values[i] + 0.1 * step, 1))
            expected[i] = round(values[i] + 0.2, 1)
        for i, page in enumerate(pages):
            v = expected[i]
            shown = re.escape(format_value("gw_built", v))  # as the app writes it: 1.0 -> "1"
            page.wait_for_url(
                re.compile(rf"gw_built={shown}(&|$)"), timeout=STATE_CEILING_MS, wait_until="commit"
            )
            assert float(page.get_by_role("slider", name=GW_LABEL).input_value()) == v
            npv = evaluate(load_preset("bofa-base").replace(gw_built=v)).npv_busd
            metric = page.get_by_test_id("stMetric").filter(has_text="NPV at WACC").first
            expect(metric.get_by_test_id("stMetricValue")).to_contain_text(
                f"{npv:,.1f}", timeout=STATE_CEILING_MS
            )
    finally:
        for c in contexts:
            c.close()


def _wait_for_value(
    slider: Locator, value: float, timeout_s: float = STATE_CEILING_MS / 1000
) -> None:
    """Wait until ``slider`` shows ``value`` (its aria value, as the tests read it)."""
    deadline = time.monotonic() + timeout_s
    while float(slider.input_value()) != value:
        assert time.monotonic() < deadline, (slider.input_value(), value)
        time.sleep(0.1)


def _upload(page: Page, name: str, data: bytes) -> None:
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
        files=[{"name": name, "mimeType": "application/octet-stream", "buffer": data}]
    )


def test_upload_refuses_a_bad_file_and_loads_a_good_one(page: Page, app_url: str) -> None:
    dialogs = _open(page, f"{app_url}/?{written_link(gw_built=4.5)}")
    slider = page.get_by_role("slider", name=GW_LABEL)
    _upload(page, "<img src=x onerror=alert(1)>.json", b'{"scenario": {"gw_built": "<b>9</b>"}}')
    error = page.get_by_test_id("stAlertContentError").filter(has_text="was not loaded")
    error.wait_for(timeout=STATE_CEILING_MS)
    assert "gw_built" in error.inner_text()
    assert float(slider.input_value()) == 4.5
    _assert_not_injected(page, dialogs)
    good = load_preset("bofa-base").replace(gw_built=7.5)
    _upload(page, "good.toml", to_toml(good).encode())
    page.wait_for_url(re.compile(r"gw_built=7\.5"), timeout=STATE_CEILING_MS, wait_until="commit")
    expect(page.get_by_test_id("stAlertContentSuccess").filter(has_text="Loaded")).to_be_visible(
        timeout=STATE_CEILING_MS
    )
    expect(page.get_by_role("slider", name=GW_LABEL)).to_have_value("7.5", timeout=STATE_CEILING_MS)


def test_export_tab_downloads_report_and_images(page: Page, app_url: str, tmp_path: Path) -> None:
    _open(page, f"{app_url}/?{written_link(gw_built=4.5)}")
    page.get_by_role("tab", name="Export").click()
    report_button = page.get_by_role("button", name="Report (HTML)")
    report_button.wait_for(timeout=STATE_CEILING_MS)
    with page.expect_download(timeout=STATE_CEILING_MS) as info:
        report_button.click()
    report = tmp_path / info.value.suggested_filename
    info.value.save_as(report)
    html = report.read_text(encoding="utf-8")
    assert not SCRIPT_SRC.search(html)
    assert 'id="chart-cash_flows"' in html and "4.5 GW" in html
    with page.expect_download(timeout=STATE_CEILING_MS) as info:
        page.get_by_role("button", name="PNG").first.click()
    png = tmp_path / "chart.png"
    info.value.save_as(png)
    assert info.value.suggested_filename == "cash_flows_bofa-base_gw-built-4.5.png"
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    with page.expect_download(timeout=STATE_CEILING_MS) as info:
        page.get_by_role("button", name="SVG").first.click()
    svg = tmp_path / "chart.svg"
    info.value.save_as(svg)
    assert ET.parse(svg).getroot().tag.endswith("svg")
    # the report works offline: opening it requests nothing from the network
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(report.as_uri())
    page.locator(".js-plotly-plot").first.wait_for(timeout=STATE_CEILING_MS)
    assert [u for u in requests if not u.startswith(("file:", "data:", "blob:"))] == []
