"""Result and the metrics: seed arithmetic, NPV/IRR/MIRR/payback consistent with the cash flows,
ROIC and the other definitions, and evaluate_batch equal to evaluate."""

from __future__ import annotations

import math

import numpy as np
import numpy_financial as npf
import pandas as pd
import pytest

from model import (
    BATCH_METRICS,
    Result,
    Scenario,
    ScenarioError,
    evaluate,
    evaluate_batch,
    evaluate_columns,
    finance,
    load_preset,
    preset_ids,
)

REQUIRED_LINES = [
    "year",
    "revenue_lease",
    "revenue_hosting",
    "revenue_resale",
    "revenue",
    "power_cost",
    "other_opex",
    "procurement_cost",
    "ebitda",
    "depreciation",
    "ebit",
    "tax",
    "capex",
    "fcf",
    "cumulative_fcf",
    "discounted_fcf",
]
REQUIRED_INDICES = [
    "token_price_index",
    "token_volume_index",
    "compute_demand_index",
    "lease_rate_index",
]


def assert_metrics_consistent(r: Result) -> None:
    """NPV, IRR, MIRR, paybacks and the simple ratios, recomputed from the cash-flow table."""
    s = r.scenario
    cf = r.cash_flows
    fcf = cf["fcf"].to_numpy(dtype=float)
    scale = max(1.0, float(np.abs(fcf).sum()))
    t = np.arange(fcf.size)
    # NPV from the fcf column
    assert r.npv_busd == pytest.approx(float(np.sum(fcf / (1 + s.wacc) ** t)), abs=1e-9 * scale)
    # IRR: NPV at the IRR is zero; none only where the NPV profile has no sign change
    _, count, reason = finance.irr_diagnostics(fcf)
    if r.irr is None:
        # no root, or the only one beyond the scanned rates (counted, not reported)
        outside = (finance.IRR_ROOT_BELOW_RANGE, finance.IRR_ROOT_ABOVE_RANGE)
        assert count[0] == 0 or (count[0] == 1 and reason[0] in outside)
    else:
        assert r.irr > -1
        terms = fcf / (1 + r.irr) ** t
        # relative to the size of the discounted terms (large where the IRR is near -100%)
        assert abs(float(np.sum(terms))) <= 1e-9 * max(1.0, float(np.abs(terms).sum()))
        assert r.irr_multiple == (count[0] > 1)
    # MIRR with finance and reinvestment rate = wacc
    want_mirr = npf.mirr(fcf, s.wacc, s.wacc)
    if r.mirr is None:
        assert math.isnan(want_mirr)
    else:
        assert r.mirr == pytest.approx(want_mirr, rel=1e-9, abs=1e-12)
    # paybacks: the interpolated cumulative position is zero there and stays >= 0 afterwards
    for value, flows in (
        (r.payback_years, fcf),
        (r.discounted_payback_years, cf["discounted_fcf"].to_numpy(dtype=float)),
    ):
        cum = np.cumsum(flows)
        if value is None:
            assert cum[-1] < 0 or (cum < 0).any()
            continue
        assert 0 <= value <= fcf.size - 1
        assert np.interp(value, t, cum) == pytest.approx(0.0, abs=1e-9 * scale)
        assert (cum[math.floor(value) + 1 :] >= -1e-9 * scale).all()
    assert r.npv_per_share_usd == pytest.approx(r.npv_busd / s.shares_outstanding_b, rel=1e-12)
    assert r.gross_lease_yield == pytest.approx(
        s.lease_rate_busd_per_gw_year * s.lease_utilization / s.capex_per_gw_busd, rel=1e-12
    )


# ---- the seed --------------------------------------------------------------------------------


def test_seed_arithmetic() -> None:
    r = evaluate(load_preset("bofa-base"))
    assert r.capex_initial_busd == pytest.approx(127.5)  # 3 GW x US$42.5 B
    op = r.cash_flows[r.cash_flows["operating"]]
    assert op["revenue"].to_numpy() == pytest.approx(37.5)  # 3 GW x US$12.5 B per GW-year
    assert r.gross_lease_yield == pytest.approx(12.5 / 42.5)
    assert f"{r.gross_lease_yield:.1%}" == "29.4%"
    assert_metrics_consistent(r)


def test_default_evaluate_is_bofa_base() -> None:
    assert evaluate().scenario == load_preset("bofa-base")


def test_bofa_base_headline_figures() -> None:
    """Pinned figures of the default case (docs/methodology.md works them by hand, sections 2.3
    and 6.1, with the facility at book; section 2.5's annuity value and site surplus are pinned
    in tests/test_facility_residual.py)."""
    r = evaluate(load_preset("bofa-base").replace(facility_residual="book"))
    assert r.npv_busd == pytest.approx(17.9623, abs=1e-4)
    assert r.irr == pytest.approx(0.1108, abs=1e-4)
    assert r.irr == pytest.approx(npf.irr(r.cash_flows["fcf"].to_numpy()), abs=1e-9)
    assert not r.irr_multiple
    assert r.payback_years == pytest.approx(8 + 12.990 / 29.1086, abs=1e-3)
    assert r.breakeven_lease_rate_busd_per_gw_year == pytest.approx(11.3441, abs=1e-4)
    # first crossing: cumulative -12.990 after year 8, +16.119 after year 9; operation starts
    # at the end of year 1
    assert r.payback_from_operation_years == pytest.approx(8 + 12.990 / 29.1086 - 1, abs=1e-3)
    assert r.capex_lifetime_busd == pytest.approx(127.5 + 2 * 89.25)
    assert r.revenue_total_busd == pytest.approx(14 * 37.5)
    assert r.market_reaction_busd == pytest.approx(2.57 * 700 * 0.0975)
    assert r.npv_to_market_reaction == pytest.approx(r.npv_busd / r.market_reaction_busd)


@pytest.mark.parametrize("preset", preset_ids())
def test_every_preset_is_consistent(preset: str) -> None:
    r = evaluate(load_preset(preset))
    assert list(r.cash_flows.columns[:2]) == ["year", "operating"]
    assert set(REQUIRED_LINES) <= set(r.cash_flows.columns)
    assert set(REQUIRED_INDICES) <= set(r.market.columns)
    assert len(r.market) == len(r.cash_flows)
    assert isinstance(r.cash_flows, pd.DataFrame)
    assert_metrics_consistent(r)


def test_roic_definition() -> None:
    r = evaluate(load_preset("hosting-mix"))
    cf = r.cash_flows
    opening = np.concatenate([[0.0], cf["net_book_value"].to_numpy()[:-1]])
    op = cf["operating"].to_numpy()
    assert r.roic == pytest.approx(cf["nopat"][op].sum() / opening[op].sum(), rel=1e-12)


def test_metrics_dict_and_npv_profile() -> None:
    r = evaluate(load_preset("bofa-base"))
    m = r.metrics()
    for key in BATCH_METRICS:
        if key in ("irr_root_count", "equity_irr_root_count", "average_revenue_busd_per_year"):
            continue
        assert key in m
    assert m["breakeven_lease_rate_busd_per_gw_year"] == r.breakeven_lease_rate_busd_per_gw_year
    prof = r.npv_profile([0.0, r.scenario.wacc, r.irr or 0.0])
    assert list(prof.columns) == ["discount_rate", "npv_busd"]
    assert prof["npv_busd"].iloc[1] == pytest.approx(r.npv_busd, rel=1e-12)
    assert prof["npv_busd"].iloc[2] == pytest.approx(0.0, abs=1e-8)
    assert prof["npv_busd"].iloc[0] == pytest.approx(r.cash_flows["fcf"].sum(), rel=1e-12)


def test_undefined_metrics_are_none() -> None:
    # nothing sold: no revenue, so no IRR, no payback, no MIRR; NPV is minus the spend
    # internal capacity as a cost centre (transfer price 0): nothing earns
    r = evaluate(
        load_preset("bofa-base").replace(
            lease_share=0.0, residual_value_fraction=0.0, internal_transfer_price_share=0.0
        )
    )
    assert r.irr is None and r.mirr is None
    assert r.payback_years is None and r.discounted_payback_years is None
    assert r.ebitda_margin is None
    assert r.npv_busd < 0
    zero = evaluate(load_preset("bofa-base").replace(market_reaction_excess_return=0.0))
    assert zero.npv_to_market_reaction is None


def test_irr_multiple_flag_where_the_profile_has_two_roots() -> None:
    # an IT refresh paid in the last year (2 + 5.5 = 7.5) and written off (no residual value):
    # the flows end negative, and the NPV profile crosses zero twice
    s = load_preset("bofa-base").replace(
        lease_rate_busd_per_gw_year=20.0,
        it_life_years=5.5,
        it_share_of_capex=0.95,
        operating_years=6,
        residual_value_fraction=0.0,
        refresh_rule="always",  # the forced refresh (section 2.4: when_it_pays skips it)
    )
    r = evaluate(s)
    fcf = r.cash_flows["fcf"].to_numpy()
    assert fcf[-1] < 0
    assert r.irr_multiple
    assert r.irr == pytest.approx(npf.irr(fcf), abs=1e-9)  # the root closest to zero
    rates = np.linspace(-0.9, 3.0, 400)
    profile = finance.npv_profile(fcf, rates)
    assert int(np.sum(np.signbit(profile[:-1]) != np.signbit(profile[1:]))) == 2
    assert not evaluate(load_preset("bofa-base")).irr_multiple


# ---- evaluate_batch --------------------------------------------------------------------------


def _compare(batch: pd.DataFrame, results: list[Result]) -> None:
    for i, r in enumerate(results):
        m = {**r.metrics(), **r.extra, "irr_root_count": None}
        for key in batch.columns:
            if key == "irr_root_count":
                continue
            want = m[key]
            got = float(batch[key].iloc[i])
            if want is None:
                assert math.isnan(got), (i, key)
            else:
                assert got == pytest.approx(want, rel=1e-9, abs=1e-9), (i, key)


def test_evaluate_batch_equals_evaluate_on_presets() -> None:
    scenarios = [load_preset(p) for p in preset_ids()]
    table = pd.DataFrame([s.model_dump() for s in scenarios])
    batch = evaluate_batch(table, breakeven=True)
    assert list(batch.columns) == [*BATCH_METRICS, "breakeven_lease_rate_busd_per_gw_year"]
    _compare(batch, [evaluate(s) for s in scenarios])


def test_evaluate_batch_subset_of_fields_uses_the_base() -> None:
    base = load_preset("hosting-mix")
    table = pd.DataFrame(
        {"capex_per_gw_busd": [40.0, 45.0], "build_years": [1, 4]}, index=["a", "b"]
    )
    batch = evaluate_batch(table, base=base)
    assert list(batch.index) == ["a", "b"]
    results = [
        evaluate(base.replace(capex_per_gw_busd=40.0, build_years=1)),
        evaluate(base.replace(capex_per_gw_busd=45.0, build_years=4)),
    ]
    _compare(batch, results)
    # a mapping works too; the default base is bofa-base
    by_map = evaluate_batch({"gw_built": [1.0, 3.0]})
    assert by_map["npv_busd"].iloc[1] == pytest.approx(evaluate().npv_busd, rel=1e-12)


def test_evaluate_batch_mixed_horizons_match_evaluate() -> None:
    rng = np.random.default_rng(11)
    n = 40
    table = pd.DataFrame(
        {
            "build_years": rng.integers(1, 6, n),
            "operating_years": rng.integers(1, 31, n),
            "it_life_years": rng.choice([1.0, 2.5, 4.0, 5.5, 7.0], n),
            "lease_rate_busd_per_gw_year": rng.uniform(5, 25, n),
            "efficiency_multiplier": rng.uniform(0.5, 4, n),
            "token_price_decline_per_year": rng.uniform(0, 0.5, n),
        }
    )
    batch = evaluate_batch(table, breakeven=True)
    results = [evaluate(load_preset().replace(**row)) for row in table.to_dict("records")]
    _compare(batch, results)


def test_evaluate_batch_empty_and_bad_input() -> None:
    empty = evaluate_batch(pd.DataFrame({"gw_built": []}))
    assert len(empty) == 0 and list(empty.columns) == list(BATCH_METRICS)
    with pytest.raises(ScenarioError, match="gw_built"):
        evaluate_batch(pd.DataFrame({"gw_built": [1.0, 99.0]}))
    with pytest.raises(ScenarioError, match="row 1: build_years"):
        evaluate_batch(pd.DataFrame({"build_years": [2, 2.5]}))
    with pytest.raises(ScenarioError, match="unknown field 'gw'"):
        evaluate_batch(pd.DataFrame({"gw": [1.0]}))
    with pytest.raises(ScenarioError, match="lease_share \\+ hosting_share"):
        evaluate_batch(pd.DataFrame({"lease_share": [0.8], "hosting_share": [0.5]}))
    with pytest.raises(ScenarioError, match="wacc"):
        evaluate_batch(pd.DataFrame({"wacc": [0.1, float("nan")]}))
    with pytest.raises(ScenarioError, match="not a number"):
        evaluate_batch(pd.DataFrame({"wacc": [0.1, "x"]}))
    with pytest.raises(ScenarioError, match="booleans"):
        evaluate_batch(pd.DataFrame({"wacc": [True, False]}))


def test_evaluate_columns_is_evaluate_batch_without_frames() -> None:
    # methodology §5 (batches): the same validation, engine and numbers, to the last bit
    rng = np.random.default_rng(5)
    n = 3_000
    columns = {
        "capex_per_gw_busd": rng.uniform(30.0, 60.0, n),
        "lease_rate_busd_per_gw_year": rng.uniform(5.0, 25.0, n),
        "it_life_years": rng.choice([2.5, 4.0, 5.5, 7.0], n),
        "operating_years": rng.integers(5, 31, n).astype(np.float64),  # mixed horizons
        "wacc": rng.uniform(0.05, 0.15, n),
        "debt_share_of_capex": rng.uniform(0.0, 0.8, n),
    }
    base = load_preset("hosting-mix")
    arrays = evaluate_columns(columns, base)
    frame = evaluate_batch(pd.DataFrame(columns), base)
    assert list(arrays) == list(BATCH_METRICS)
    for metric in BATCH_METRICS:
        assert np.array_equal(arrays[metric], frame[metric].to_numpy(), equal_nan=True), metric


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"gw_built": [1.0, 99.0]}, "row 1: gw_built"),
        ({"build_years": [2, 2.5]}, "row 1: build_years"),
        ({"gw": [1.0]}, "unknown field 'gw'"),
        ({"lease_share": [0.8], "hosting_share": [0.5]}, "lease_share \\+ hosting_share"),
        ({"wacc": [0.1, float("nan")]}, "row 1: wacc"),
        ({"wacc": np.array([0.1, "x"], dtype=object)}, "not a number"),
        ({"wacc": [True, False]}, "booleans"),
        ({"wacc": [0.1, 0.1], "gw_built": [1.0]}, "same length"),
        ({"wacc": [[0.1, 0.1]]}, "one-dimensional"),
    ],
)
def test_evaluate_columns_refuses_what_evaluate_batch_refuses(columns, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        evaluate_columns(columns)
    if message not in ("same length", "one-dimensional"):  # a frame cannot hold these
        with pytest.raises(ScenarioError, match=message):
            evaluate_batch(pd.DataFrame(columns))


def test_evaluate_columns_empty_and_not_a_mapping() -> None:
    empty = evaluate_columns({"gw_built": np.empty(0)})
    assert list(empty) == list(BATCH_METRICS) and all(v.size == 0 for v in empty.values())
    with pytest.raises(ScenarioError, match="not a mapping"):
        evaluate_columns([1.0, 2.0])  # type: ignore[arg-type]
    with pytest.raises(ScenarioError, match="not a Scenario"):
        evaluate_columns({"gw_built": [1.0]}, base="bofa-base")  # type: ignore[arg-type]


def test_ratios_over_subnormal_denominators_are_undefined_not_infinite() -> None:
    # regression (found by Hypothesis): a subnormal market reaction overflowed the ratio to -inf
    # in evaluate_batch while evaluate reported None
    s = load_preset("bofa-base").replace(market_reaction_excess_return=1e-320)
    assert evaluate(s).npv_to_market_reaction is None
    batch = evaluate_batch(pd.DataFrame([s.model_dump()]))
    assert math.isnan(batch["npv_to_market_reaction"].iloc[0])
    # min_dscr is undefined without debt
    finite = batch.drop(columns=["npv_to_market_reaction", "min_dscr"])
    assert np.isfinite(finite.to_numpy()).all()


def test_result_is_frozen() -> None:
    r = evaluate()
    with pytest.raises(AttributeError):
        r.npv_busd = 0.0  # type: ignore[misc]
    assert isinstance(r.scenario, Scenario)


# ---- payback from operation (methodology section 5) -------------------------------------------


def test_payback_from_operation_is_the_first_crossing_from_the_start_of_operation() -> None:
    from model.engine import payback_from_operation

    # build 1 year: capex 100 at the end of year 0, then 40 a year: 2.5 years of operation
    flows = np.array([[-100.0, 40.0, 40.0, 40.0, 40.0]])
    assert payback_from_operation(flows, np.array([1.0]))[0] == pytest.approx(2.5)
    # build 2 years: operation starts at the end of year 1
    flows2 = np.array([[-50.0, -50.0, 40.0, 40.0, 40.0, 40.0]])
    assert payback_from_operation(flows2, np.array([2.0]))[0] == pytest.approx(2.5)
    # a later refresh does not undo a first crossing (unlike payback_years, the last crossing)
    flows3 = np.array([[-100.0, 60.0, 60.0, -100.0, 60.0, 60.0]])
    assert payback_from_operation(flows3, np.array([1.0]))[0] == pytest.approx(100 / 60)
    assert finance.payback(flows3[0]) > 4
    # never
    assert np.isnan(payback_from_operation(np.array([[-100.0, 10.0, 10.0]]), np.array([1.0]))[0])


def test_payback_from_operation_matches_the_cumulative_table() -> None:
    for preset in preset_ids():
        r = evaluate(load_preset(preset))
        cum = r.cash_flows["cumulative_fcf"].to_numpy()
        value = r.payback_from_operation_years
        if value is None:
            assert (cum < 0).all()
            continue
        x = value + r.scenario.build_years - 1  # back on the discounting axis
        assert np.interp(x, np.arange(cum.size), cum) == pytest.approx(0.0, abs=1e-9 * 500)
        assert (cum[: math.floor(x) + 1 if x > math.floor(x) else int(x)] < 0).all()
