"""Phased build, utilisation ramp, internal use at a transfer price and the external-business
view (methodology sections 11.4 and 11.5)."""

from __future__ import annotations

import numpy as np
import pytest
from old_meanings import OLD_MEANINGS

from model import evaluate, external_business, load_preset


def test_ramp_bills_the_stated_share_in_the_first_two_years() -> None:
    # the facility at book, as section 11.4 measured (section 2.5 adds the site's surplus)
    base = load_preset("bofa-base").replace(facility_residual="book")
    full = evaluate(base).cash_flows
    ramp = evaluate(base.replace(ramp_first_year_share=0.5, ramp_second_year_share=0.85))
    cf = ramp.cash_flows
    np.testing.assert_allclose(cf["revenue"][2:4], [0.5 * 37.5, 0.85 * 37.5])
    np.testing.assert_allclose(cf["revenue"][4:], full["revenue"][4:])
    np.testing.assert_allclose(cf["power_cost"], full["power_cost"])  # costs run regardless
    # methodology section 11.4: NPV 18.0 -> 3.5 (US$ B)
    assert ramp.npv_busd == pytest.approx(3.51, abs=0.01)


def test_front_loading_moves_capex_and_phases_earn_before_completion() -> None:
    s = load_preset("bofa-base").replace(build_years=3, build_front_loading=1.0)
    cf = evaluate(s).cash_flows
    np.testing.assert_allclose(cf["capex"][:3], 127.5 * np.array([2, 1, 0]) / 3)
    phased = evaluate(s.replace(phased_online=1)).cash_flows
    # online share: 2/3 from year 1, all of it from year 2 (the last phase is empty)
    np.testing.assert_allclose(phased["revenue"][:3], [0.0, 37.5 * 2 / 3, 37.5])
    assert evaluate(s.replace(phased_online=1)).npv_busd > evaluate(s).npv_busd


def test_internal_capacity_at_the_lease_rate_earns_what_leasing_would() -> None:
    base = load_preset("bofa-base")
    npv = evaluate(base).npv_busd
    internal = evaluate(base.replace(lease_share=0.75))
    assert internal.npv_busd == pytest.approx(npv, abs=1e-9)
    cost_centre = evaluate(base.replace(lease_share=0.75, internal_transfer_price_share=0.0))
    # methodology section 11.5: a cost centre loses 48.6 (US$ B)
    assert cost_centre.npv_busd - npv == pytest.approx(-48.56, abs=0.01)
    assert (cost_centre.cash_flows["revenue_internal"] == 0).all()


def test_external_business_is_the_leased_share_of_the_build() -> None:
    s = load_preset("bofa-base").replace(lease_share=0.75, internal_transfer_price_share=0.0)
    ext = external_business(s)
    assert ext is not None
    assert ext.capex_initial_busd == pytest.approx(0.75 * 127.5)
    # a build without a hosting cap is linear in its GW
    assert ext.npv_busd == pytest.approx(0.75 * evaluate(load_preset("bofa-base")).npv_busd)
    assert external_business(s.replace(lease_share=0.0)) is None


def test_defaults_reproduce_the_unlevered_results() -> None:
    # every new input at its default: the numbers recorded before the financing inputs existed
    # (the facility at book, as then: section 2.5)
    r = evaluate(load_preset("bofa-base").replace(facility_residual="book"))
    assert r.npv_busd == pytest.approx(17.962274, abs=1e-6)
    assert r.irr == pytest.approx(0.110844, abs=1e-6)


def test_old_scenario_files_and_share_links_keep_their_numbers() -> None:
    # saved before the financing, tax and timing inputs existed: they take their defaults
    from app.state import parse_query_params, query_params_for
    from model.io import parse_scenario_text

    old = 'format = "ai-dc-returns/scenario"\nversion = 1\npreset = "bofa-base"\n\n'
    old += "[scenario]\ngw_built = 4.5\nwacc = 0.0925\n"
    s, preset = parse_scenario_text(old, "toml")
    # ... and the builder sets the ceiling, as it did then (methodology section 4.2)
    want = load_preset("bofa-base").replace(
        gw_built=4.5,
        wacc=0.0925,
        **OLD_MEANINGS,
    )
    assert preset == "bofa-base" and s == want
    assert s.debt_share_of_capex == 0.0 and s.macrs_depreciation == 0
    assert evaluate(s).npv_equity_busd == evaluate(s).npv_busd
    preset, linked, warnings = parse_query_params({"preset": "bofa-base", "gw_built": "4.5"})
    assert not warnings
    assert linked == load_preset("bofa-base").replace(
        gw_built=4.5,
        **OLD_MEANINGS,
    )
    # a new input travels in a link and comes back
    levered = load_preset("coreweave-spv").replace(debt_tenor_years=3)
    params = query_params_for("coreweave-spv", levered)
    assert params["debt_tenor_years"] == "3"
    assert parse_query_params(params)[1] == levered
