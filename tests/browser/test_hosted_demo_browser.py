"""The hosted demo under a hostile upload: ten sessions keep answering while one uploads files
built to exhaust the parser (docs/deploy.md, per-session limits; methodology §9, Limits).

Before the parse budget, the first file here (an 88 KB dotted key) took ~8 GB and ~29 s of the
server; every other session waited. Now each hostile file is refused with a message, and the
other nine sessions, each moving its own slider meanwhile, get their new KPIs. Loopback only
(the ``app_url`` fixture binds 127.0.0.1); every wait is bounded by a timeout.
"""

from __future__ import annotations

import re

import pytest
from hostile_corpus import HOSTILE_DIR, SHAPES
from links import written_link
from playwright.sync_api import Browser, Page, expect
from waits import STATE_CEILING_MS, with_ceiling

from app.state import format_value
from model import evaluate, load_preset
from model.io import MAX_FILE_BYTES

pytestmark = pytest.mark.browser

GW_LABEL = "GW built (GW of facility power)"

#: At the limit: Streamlit's uploader passes files of up to 1,000,000 bytes, the parser's limit.
NEAR_LIMIT = MAX_FILE_BYTES

HOSTILE_UPLOADS: list[tuple[str, bytes, str]] = [
    ("dotted.toml", (HOSTILE_DIR / "dotted-key-88kb.toml").read_bytes(), "dotted keys"),
    ("wide.toml", SHAPES["wide inline table"](NEAR_LIMIT)[0], "key = value pairs outside strings"),
    ("digits.json", SHAPES["long JSON integer"](NEAR_LIMIT)[0], "digits"),
    ("deep.json", SHAPES["deep JSON arrays"](NEAR_LIMIT)[0], "nested too deeply"),
]


def _skip_chart_code(route) -> None:
    route.abort()


def _upload(page: Page, name: str, data: bytes) -> None:
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
        files=[{"name": name, "mimeType": "application/octet-stream", "buffer": data}]
    )


def _expect_kpi(page: Page, gw: float) -> None:
    shown = re.escape(format_value("gw_built", gw))
    page.wait_for_url(
        re.compile(rf"gw_built={shown}(&|$)"), timeout=STATE_CEILING_MS, wait_until="commit"
    )
    npv = evaluate(load_preset("bofa-base").replace(gw_built=gw)).npv_busd
    metric = page.get_by_test_id("stMetric").filter(has_text="NPV at WACC").first
    expect(metric.get_by_test_id("stMetricValue")).to_contain_text(
        f"{npv:,.1f}", timeout=STATE_CEILING_MS
    )


def test_ten_sessions_keep_answering_while_one_uploads_hostile_files(
    browser: Browser, app_url: str
) -> None:
    values = [round(1.0 + 0.5 * i, 1) for i in range(10)]
    contexts = [
        with_ceiling(browser.new_context(viewport={"width": 1280, "height": 900})) for _ in values
    ]
    try:
        for c in contexts:
            c.route(re.compile(r".*/PlotlyChart\.[^/]*\.js$"), _skip_chart_code)
        pages = [c.new_page() for c in contexts]
        for page, v in zip(pages, values, strict=True):
            page.goto(f"{app_url}/?{written_link(gw_built=v)}", wait_until="commit")
        for page in pages:
            page.get_by_test_id("stMetric").first.wait_for(timeout=STATE_CEILING_MS)
        attacker, others = pages[0], pages[1:]
        expected = list(values)
        for round_no, (name, data, says) in enumerate(HOSTILE_UPLOADS):
            _upload(attacker, name, data)  # not awaited: the others act while it is parsed
            for i, page in enumerate(others, start=1):
                slider = page.get_by_role("slider", name=GW_LABEL)
                slider.focus()
                page.keyboard.press("ArrowRight")
                expected[i] = round(expected[i] + 0.1, 1)
            for i, page in enumerate(others, start=1):
                _expect_kpi(page, expected[i])
            # the error names this file (an earlier file's error does not count)
            error = attacker.get_by_test_id("stAlertContentError").filter(has_text=name)
            error.first.wait_for(timeout=STATE_CEILING_MS)
            text = error.first.inner_text()
            assert "was not loaded" in text and says in text, (round_no, text)
            # the attacker's own scenario is unchanged and its page still works
            assert float(attacker.get_by_role("slider", name=GW_LABEL).input_value()) == 1.0
        assert attacker.get_by_test_id("stException").count() == 0
        _expect_kpi(attacker, 1.0)
    finally:
        for c in contexts:
            c.close()
