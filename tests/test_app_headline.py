"""The headline in AppTest: every KPI card carries its P10-P90 band (methodology §9, Headline band)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from streamlit.testing.v1 import AppTest

from app.state import query_params_for
from model import FIELD_NAMES, evaluate, load_preset
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
    shown = kpi_cards(at)["npv_busd"][1].replace("\\", "").replace("\u00a0", " ")
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


# ---- conditions (methodology §12, Conditions) ---------------------------------------------------
def warnings_text(at: AppTest) -> str:
    return " ".join(w.value for w in at.warning).replace("\\", "")


def test_landing_says_the_hosting_cap_binds() -> None:
    at = run_app({"lease_share": "0", "hosting_share": "1"}, groups_open=False)
    assert_clean(at)
    assert "The hosting market-share cap binds" in warnings_text(at)
    assert "The hosting market-share cap binds" not in warnings_text(run_app(groups_open=False))


def test_returns_tab_warns_of_a_negative_dscr() -> None:
    params = {
        "debt_share_of_capex": "0.6",
        "macrs_depreciation": "1",
        "bonus_depreciation_share": "1",
        "tax_in_group": "1",
    }
    at = run_app(params, tab="Returns", groups_open=False)
    assert_clean(at)
    text = warnings_text(at)
    # on the landing view and again in the tab that shows the equity IRR and the DSCR
    assert text.count("The minimum debt-service cover ratio is -0.50x") == 2


def test_equal_irr_and_wacc_read_equal_to() -> None:
    # (the facility at book, section 2.5: epoch-1gw's IRR then rounds to its WACC)
    at = run_app({"preset": "epoch-1gw", "facility_residual": "book"}, groups_open=False)
    verdict = at.markdown[0].value.replace("\\", "")
    assert "equal to the 6.8% cost of capital" in verdict
    notes = " ".join(c.value for c in at.caption).replace("\\", "")
    assert "is equal to the 6.8% cost of capital at the precision shown" in notes


# ---- yes/no inputs are toggles (methodology §12) ------------------------------------------------
def test_yes_no_inputs_are_toggles_that_round_trip_through_links_and_files() -> None:
    from model.fields import flag_meanings
    from model.io import load_scenario_file, to_toml

    at = run_app()
    assert_clean(at)
    flags = [n for n in FIELD_NAMES if flag_meanings(n) is not None]
    assert set(flags) == {"phased_online", "debt_sculpted", "macrs_depreciation", "tax_in_group"}
    for name in flags:
        assert at.toggle(key=f"in_{name}").value is False  # bofa-base: all off
    assert not [n for n in at.number_input if n.key in {f"in_{f}" for f in flags}]
    at.toggle(key="in_macrs_depreciation").set_value(True).run()
    assert_clean(at)
    assert at.session_state["f_macrs_depreciation"] == 1
    link = {k: at.query_params[k] for k in at.query_params}
    assert link["macrs_depreciation"] == "1"  # links keep 0/1
    again = run_app(link)
    assert again.toggle(key="in_macrs_depreciation").value is True
    # a scenario file written from it keeps the value and loads back into the toggle
    path = Path(tempfile.mkdtemp()) / "s.toml"
    path.write_text(to_toml(load_preset("bofa-base").replace(macrs_depreciation=1), "bofa-base"))
    scenario, _ = load_scenario_file(path)
    assert scenario.macrs_depreciation == 1


# ---- small frictions ---------------------------------------------------------------------------
def test_copy_link_box_holds_the_scenarios_link() -> None:
    at = run_app(groups_open=False)
    at.slider(key="hs_gw_built").set_value(4.5).run()
    assert_clean(at)
    links = [c.value for c in at.code if "preset=" in c.value]
    # the change, then the fields whose old meaning a link must pin (app.state.query_params_for)
    query = urlencode(query_params_for("bofa-base", load_preset("bofa-base").replace(gw_built=4.5)))
    assert query.startswith("preset=bofa-base&gw_built=4.5")
    assert links and links[0].endswith("?" + query), links
    assert any(p.proto.popover.label == "Copy link" for p in at.get("popover"))


def test_shares_say_how_they_interact() -> None:
    at = run_app()
    notes = " ".join(c.value for c in at.sidebar.caption).replace("\\", "")
    assert "Leased and hosted shares split the owned capacity: together at most 100%" in notes


def test_refinancing_squeeze_says_it_needs_debt() -> None:
    at = run_app(tab="Stress tests", groups_open=False)
    names = list(at.table[0].value.index)
    squeeze = [n for n in names if n.startswith("Refinancing squeeze")]
    assert squeeze and squeeze[0].endswith(
        "(needs debt: none set, so only its slower ramp applies)"
    )
    levered = run_app({"preset": "coreweave-spv"}, tab="Stress tests", groups_open=False)
    assert not [n for n in levered.table[0].value.index if "needs debt" in n]


def test_price_target_gap_share_in_the_verdict_and_the_link() -> None:
    """BofA's US$ 835 target: the build's NPV per share against the gap from today's price
    (methodology §12, Verdict)."""
    at = run_app(groups_open=False)
    verdict = at.markdown[0].value.replace("\\", "")
    r = evaluate(load_preset("bofa-base"))
    share = r.npv_per_share_usd / (835.0 - 700.0)
    assert f"is {share * 100:.0f}% of the US$ 135 gap from the US$ 700 share price" in verdict
    assert "US$ 835 price target" in verdict
    # (a link written today names the facility residual; an old link's would be "book")
    lower = run_app({"price_target_usd": "1000", "facility_residual": "annuity"}, groups_open=False)
    text = lower.markdown[0].value.replace("\\", "")
    assert f"is {r.npv_per_share_usd / 300 * 100:.0f}% of the US$ 300 gap" in text
    # no gap to explain when the target is at or below the price
    none = run_app({"price_target_usd": "700"}, groups_open=False)
    assert "price target" not in none.markdown[0].value


def test_a_choice_is_a_select_and_keeps_a_linked_value_off_its_list() -> None:
    at = run_app()
    box = at.selectbox(key="in_facility_tax_class_years")
    assert box.options == ["15", "20", "39"] and box.value == 39
    box.set_value(15).run()
    assert_clean(at)
    assert at.session_state["f_facility_tax_class_years"] == 15
    assert at.query_params["facility_tax_class_years"] == "15"
    linked = run_app({"facility_tax_class_years": "25"})  # within bounds, not a class
    assert linked.selectbox(key="in_facility_tax_class_years").value == 25
    assert "25" in linked.selectbox(key="in_facility_tax_class_years").options
