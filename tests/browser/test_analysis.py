"""The analysis tabs in a real Chromium: each opens, draws its key charts, shows no exception."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from waits import STATE_CEILING_MS

from model import load_preset
from model.sensitivity import breakeven

#: Tab -> texts of chart titles that must be drawn (Plotly SVG text).
TABS = {
    "Sensitivity": ["Tornado: NPV at WACC", "NPV at WACC over Capex per GW and Lease rate"],
    "Uncertainty": ["of 10,000 draws below zero", "What drives the spread of NPV"],
    "Stress tests": ["Stress tests: NPV and IRR under each shock"],
    "Compare": ["Cumulative free cash flow of the compared scenarios"],
}


def _open(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.get_by_role("tab", name="Sensitivity")).to_be_visible(timeout=STATE_CEILING_MS)


@pytest.mark.browser
def test_analysis_tabs_draw_charts(page: Page, app_url: str) -> None:
    """One page load, each tab in turn (a cold page costs most of the time on 2 cores)."""
    _open(page, app_url)
    for tab, titles in TABS.items():
        page.get_by_role("tab", name=tab).click()
        panel = page.get_by_role("tabpanel", name=tab)
        for title in titles:
            # titles wrap onto several SVG lines, which join without spaces
            words = re.compile(r"\s*".join(re.escape(w) for w in title.split()))
            expect(panel.locator("svg text.gtitle", has_text=words).first).to_be_visible(
                timeout=STATE_CEILING_MS
            )
        if tab == "Sensitivity":  # the default breakeven question is answered, as the model
            value = breakeven(load_preset(), "lease_rate_busd_per_gw_year").value
            assert value is not None
            shown = re.escape(f"{value:,.2f}")  # the tab's format (app.views.sensitivity)
            expect(
                panel.get_by_text(re.compile(rf"Lease rate = US\$ {shown} B")).first
            ).to_be_visible(timeout=STATE_CEILING_MS)
        body = page.locator("body").inner_text()
        assert "Traceback" not in body, tab
        assert not re.search(r"could not be drawn|StreamlitAPIException", body), tab
        assert page.locator("[data-testid='stException']").count() == 0, tab
