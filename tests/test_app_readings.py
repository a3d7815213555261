"""The landing view gives both readings of the inputs (methodology §12.1, Two readings)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from app.state import parse_query_params
from model import (
    evaluate,
    load_preset,
    market_readings,
    median_entry_lag_years,
    moving_market,
    still_market,
)
from model.metrics import format_metric
from tests.test_app import assert_clean, run_app
from tests.test_app_headline import BAND_START, kpi_cards


def verdict_text(at: AppTest) -> str:
    return next(m.value for m in at.markdown if "cost of capital" in m.value).replace("\\", "")


def npv_card_captions(at: AppTest) -> list[str]:
    """Every caption in the NPV card (its readings line and its band), spaces made plain."""
    found: list[str] = []

    def walk(node: object) -> None:
        for child in getattr(node, "children", {}).values():
            proto = getattr(child, "proto", None)
            if proto is not None and str(getattr(proto, "id", "")).endswith("-kpi_npv_busd"):
                found.extend(
                    c.value.replace("\\", "").replace("\u00a0", " ") for c in child.caption
                )
            elif hasattr(child, "children"):
                walk(child)

    walk(at.main)
    return found


def money(x: float) -> str:
    return format_metric("npv_busd", x)


@pytest.mark.parametrize("preset_id", ["bofa-base", "market-base", "bofa-bear"])
def test_the_verdict_and_the_npv_card_give_both_readings(preset_id: str) -> None:
    at = run_app({"preset": preset_id}, groups_open=False)
    assert_clean(at)
    s = load_preset(preset_id)
    still = evaluate(still_market(s)).npv_busd  # independently of the page
    moving = evaluate(moving_market(s)).npv_busd
    text = verdict_text(at)
    assert f"NPV {money(still)} if today's rent premium lasts" in text
    lag = f"{round(median_entry_lag_years(), 1):g}"
    assert f"once entrants catch up after the median entry lag ({lag} years)" in text
    if money(still) != money(moving):
        assert f"; {money(moving)} once entrants catch up" in text
    else:
        assert "and the same once entrants catch up" in text
    captions = npv_card_captions(at)
    assert (
        f"Premium lasts: {money(still)} · entrants catch up after {lag} years: {money(moving)}"
        in captions
    )
    # the card's band is still the Monte Carlo of the scenario as set, after the readings
    assert captions[-1].startswith(BAND_START)
    assert kpi_cards(at)["npv_busd"][0] == money(evaluate(s).npv_busd)


def test_bofa_base_reads_18_if_the_premium_lasts_and_less_once_entrants_catch_up() -> None:
    at = run_app(groups_open=False)
    r = market_readings(load_preset("bofa-base"))
    text = verdict_text(at)
    assert r.sentence() in text
    assert r.moving.npv_busd < r.still.npv_busd
    assert money(r.still.npv_busd) == kpi_cards(at)["npv_busd"][0]  # the KPI is the still one


def test_the_readings_follow_an_input_and_name_a_lag_that_is_neither() -> None:
    at = run_app(groups_open=False)
    at.slider(key="hs_lease_rate_busd_per_gw_year").set_value(15.0).run()
    assert_clean(at)
    s = load_preset("bofa-base").replace(lease_rate_busd_per_gw_year=15.0)
    assert market_readings(s).sentence() in verdict_text(at)
    params = {"entry_lag_years": "6", "entrant_profile": "1"}
    at = run_app(params, groups_open=False)
    assert_clean(at)
    _, s6, _ = parse_query_params({k: [v] for k, v in params.items()})
    assert s6.entry_lag_years == 6.0
    text = verdict_text(at)
    assert f"(as set, with an entry lag of 6 years: {money(evaluate(s6).npv_busd)})" in text
