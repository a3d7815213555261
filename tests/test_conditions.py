"""The conditions a result carries (methodology §12, Conditions; §4.2 and §4.4 for the market)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.context import ViewContext, verdict
from model import CONDITIONS, evaluate, load_preset, preset_ids
from model.cli import main
from model.conditions import compare_to, conditions_of, frontier_before_bounds
from model.curves import make_curve

#: bofa-base with 60% debt, MACRS tax depreciation, 100% bonus, taxed inside a group: the
#: refresh year's capex leaves the cash before debt service below zero (min DSCR about -0.50)
NEGATIVE_DSCR = {
    "debt_share_of_capex": 0.6,
    "macrs_depreciation": 1,
    "bonus_depreciation_share": 1.0,
    "tax_in_group": 1,
}
ALL_HOSTED = {"lease_share": 0.0, "hosting_share": 1.0}


def codes(update: dict[str, float], preset: str = "bofa-base") -> list[str]:
    return [c.code for c in conditions_of(evaluate(load_preset(preset).model_copy(update=update)))]


def test_hosting_cap_case_says_capacity_is_leased() -> None:
    r = evaluate(load_preset("bofa-base").model_copy(update=ALL_HOSTED))
    found = {c.code: c for c in conditions_of(r)}
    assert "hosting_cap_binds" in found
    assert found["hosting_cap_binds"].severity == "warning"
    text = found["hosting_cap_binds"].text
    assert "leased" in text and "leased share of 0%" in text
    assert r.cash_flows["revenue_lease"].sum() > 0  # what the sentence explains
    assert "hosting_cap_binds" not in codes({})


def test_negative_dscr_is_a_warning_beside_the_equity_irr() -> None:
    r = evaluate(load_preset("bofa-base").model_copy(update=NEGATIVE_DSCR))
    assert r.min_dscr is not None and r.min_dscr < 0
    assert r.equity_irr is not None and r.equity_irr > r.scenario.wacc  # looks attractive
    found = {c.code: c for c in conditions_of(r)}
    assert "dscr_negative" in found and "dscr_below_one" not in found
    assert f"{r.min_dscr:.2f}x" in found["dscr_negative"].text
    assert "equity_irr" in found["dscr_negative"].metrics


def test_dscr_below_one_but_positive() -> None:
    r = evaluate(
        load_preset("bofa-base").model_copy(
            update={"debt_share_of_capex": 0.8, "debt_tenor_years": 3}
        )
    )
    assert r.min_dscr is not None and 0 < r.min_dscr < 1  # about 0.74
    found = [c.code for c in conditions_of(r)]
    assert "dscr_below_one" in found and "dscr_negative" not in found
    assert "dscr_below_one" not in codes({"debt_share_of_capex": 0.7, "debt_tenor_years": 4})


def test_irr_equal_to_wacc_reads_equal_to() -> None:
    # epoch-1gw with the facility at book earns its WACC (NPV 0.01; section 2.5's site surplus
    # lifts it to 0.43)
    ctx_preset = load_preset("epoch-1gw").replace(facility_residual="book")
    r = evaluate(ctx_preset)
    assert "irr_equals_wacc" in [c.code for c in conditions_of(r)]
    ctx = ViewContext("epoch-1gw", ctx_preset, r, ctx_preset, r)
    line = verdict(ctx)
    assert "equal to the 6.8% cost of capital" in line
    assert "above" not in line.split(",")[0]


def test_compare_to_uses_the_shown_precision() -> None:
    assert compare_to(0.06755, 0.0675) == "equal to"
    assert compare_to(0.0686, 0.0675) == "above"
    assert compare_to(0.0664, 0.0675) == "below"


def test_bofa_base_carries_nothing_and_every_code_is_catalogued() -> None:
    assert codes({}) == []
    for p in preset_ids():
        for c in conditions_of(evaluate(load_preset(p))):
            assert c.code in CONDITIONS
            assert c.severity == CONDITIONS[c.code][0]
            assert "None" not in c.text


@pytest.mark.parametrize("preset_id", preset_ids())
def test_frontier_before_bounds_reproduces_the_rent(preset_id: str) -> None:
    """min(max(X, floor), ceiling) is the lease-rate index in every year (methodology §4.2)."""
    r = evaluate(load_preset(preset_id))
    m = r.market
    x = frontier_before_bounds(r)
    bounded = np.minimum(
        np.maximum(x, m["lease_rate_floor_index"].to_numpy()),
        m["lease_rate_ceiling_index"].to_numpy(),
    )
    assert bounded == pytest.approx(m["lease_rate_index"].to_numpy(), rel=1e-9, abs=1e-12)


def test_market_bounds_with_a_dated_curve_count_the_years_outside_it() -> None:
    """Methodology §4.8: the curve's years are the analyst's rents (not bounded, not counted);
    after its last point the closed form is rebased through it, so a curve far above the
    ceiling leaves the rent held at the ceiling afterwards (a still market's X is otherwise
    equal to the ceiling, which does not count as binding)."""
    high = load_preset("bofa-base").replace(lease_curve=make_curve({2024: 30.0}))
    found = {c.code: c for c in conditions_of(evaluate(high))}
    assert "market_ceiling_binds" in found
    assert (
        "14 of 14 operating years outside the dated curve's" in found["market_ceiling_binds"].text
    )
    # a curve over every operating year leaves no year to count: no bound condition
    over = load_preset("market-base").replace(lease_curve=make_curve({2026: 20.0, 2045: 20.0}))
    assert not {"market_ceiling_binds", "market_floor_binds"} & {
        c.code for c in conditions_of(evaluate(over))
    }


def test_market_ceiling_binds_in_market_base() -> None:
    assert "market_ceiling_binds" in codes({}, "market-base")
    assert "market_ceiling_binds" not in codes({}, "bofa-base")  # a still market: X = ceiling


def test_breakeven_outside_range_and_payback_never() -> None:
    # capex at its upper bound and a 30% cost of capital: no lease rate up to 60 breaks even
    found = codes({"capex_per_gw_busd": 120.0, "wacc": 0.3})
    assert {"breakeven_outside_range", "payback_never"} <= set(found)
    assert not {"breakeven_outside_range", "payback_never"} & set(codes({}))


def test_cli_prints_and_serialises_the_conditions(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--set", "lease_share=0", "--set", "hosting_share=1"]) == 0
    out = capsys.readouterr().out
    assert "Warning: The hosting market-share cap binds" in out
    book = ["--set", "facility_residual=book"]
    assert main(["evaluate", "--preset", "epoch-1gw", *book, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [c["code"] for c in doc["conditions"]] == ["irr_equals_wacc"]


def test_report_and_conditions_csv_carry_the_conditions() -> None:
    from app.export.report import report_html
    from app.export.tables import conditions_frame

    s = load_preset("bofa-base").model_copy(update=ALL_HOSTED)
    r = evaluate(s)
    base = load_preset("bofa-base")
    ctx = ViewContext("bofa-base", s, r, base, evaluate(base))
    html_text = report_html(ctx, {}, methodology="")
    assert "Warning: The hosting market-share cap binds" in html_text
    frame = conditions_frame(r)
    assert frame["Condition"].tolist()[0] == "hosting_cap_binds"
    assert conditions_frame(evaluate(base)).empty


def test_breakeven_is_exact_where_the_entrants_ceiling_binds() -> None:
    """market-base's rent sits on the entrant's ceiling, an absolute cost that does not scale with
    today's rate: the breakeven lease rate is still the rate at which NPV = 0 (every bound
    applied, methodology §5), so no condition calls it approximate."""
    market = evaluate(load_preset("market-base"))
    x = market.breakeven_lease_rate_busd_per_gw_year
    assert x is not None
    at = evaluate(market.scenario.replace(lease_rate_busd_per_gw_year=x)).npv_busd
    assert abs(at) <= 1e-9 * market.capex_lifetime_busd
    assert "breakeven_approximate" not in CONDITIONS
    assert not [c for c in conditions_of(market) if c.code.startswith("breakeven")]


def test_breakeven_outside_range_says_which_side_npv_stays() -> None:
    """No rate reaches NPV = 0: the sentence says NPV's side with its values at 0 and 60."""
    below = evaluate(load_preset("bofa-base").replace(capex_per_gw_busd=120.0, wacc=0.3))
    text = next(c.text for c in conditions_of(below) if c.code == "breakeven_outside_range")
    assert text.startswith("NPV stays below zero at every lease rate from 0 to 60")
    assert "at 0," in text and "at 60)" in text and text.endswith("reads n/a.")
