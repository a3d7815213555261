"""The headline in AppTest: every KPI card carries its P10-P90 band (methodology §9, Headline band)."""

from __future__ import annotations

from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from model import load_preset
from model.band import headline_band
from model.metrics import format_metric
from tests.test_app import assert_clean, run_app

BAND_START = "P10–P90: "


def kpi_cards(at: AppTest) -> dict[str, tuple[str, str]]:
    """Metric name -> (the card's value, the card's band caption), for every KPI card."""
    cards: dict[str, tuple[str, str]] = {}

    def walk(node: Any) -> None:
        for child in getattr(node, "children", {}).values():
            proto = getattr(child, "proto", None)
            block_id = str(getattr(proto, "id", "")) if proto is not None else ""
            if "-kpi_" in block_id:
                name = block_id.split("-kpi_", 1)[1]
                captions = [c.value for c in child.caption]
                band = next((c for c in captions if c.startswith(BAND_START)), "")
                cards[name] = (child.metric[0].value, band)
            elif hasattr(child, "children"):
                walk(child)

    walk(at.main)
    return cards


@pytest.mark.parametrize("preset_id", ["bofa-base", "coreweave-spv"])
def test_every_kpi_card_shows_its_band(preset_id: str) -> None:
    at = run_app({"preset": preset_id}, groups_open=False)
    assert_clean(at)
    cards = kpi_cards(at)
    assert len(cards) >= 6, cards
    for name, (_, band) in cards.items():
        assert band.startswith(BAND_START), (name, band)
        assert " to " in band or "n/a" in band, (name, band)
    # NPV's card also says how likely value is created
    assert "P(NPV > 0) " in cards["npv_busd"][1]


def test_band_matches_the_model_and_says_the_chance_of_value() -> None:
    at = run_app(groups_open=False)
    band = headline_band(load_preset("bofa-base"))
    npv = band.bands["npv_busd"]
    shown = kpi_cards(at)["npv_busd"][1].replace("\\", "")
    assert format_metric("npv_busd", npv.p10) in shown
    assert format_metric("npv_busd", npv.p90) in shown
    assert f"P(NPV > 0) {band.prob_npv_positive * 100:.0f}%" in shown


def test_band_moves_with_an_input_and_not_on_a_rerun() -> None:
    at = run_app(groups_open=False)
    before = kpi_cards(at)
    at.run()
    assert kpi_cards(at) == before  # same inputs: the same draws, the same band
    at.slider(key="hs_lease_rate_busd_per_gw_year").set_value(15.0).run()
    assert_clean(at)
    after = kpi_cards(at)
    assert after["npv_busd"][1] != before["npv_busd"][1]
    assert after["irr"][1] != before["irr"][1]


def test_verdict_says_when_the_point_estimate_is_outside_the_middle_half() -> None:
    at = run_app(groups_open=False)
    verdict = at.markdown[0].value.replace("\\", "")
    # bofa-base sits above its draws (full use, a 5.5-year IT life at the top of 3-6 years)
    assert "The point estimate is above the middle half" in verdict
    assert "IT life" in verdict and "Lease utilisation" in verdict
