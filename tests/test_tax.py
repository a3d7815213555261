"""Tax depreciation and cash tax: MACRS tables, bonus, the 80% loss limit, group relief,
section 163(j) (methodology section 11.2)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_engine import tax_loop

from model import evaluate, load_preset
from model.tax import cash_tax, macrs_rates

# IRS Publication 946, Table A-1 (half-year convention), in percent
IRS_5_YEAR = [20.00, 32.00, 19.20, 11.52, 11.52, 5.76]
IRS_15_YEAR = [5.00, 9.50, 8.55, 7.70, 6.93, 6.23, 5.90, 5.90, 5.91, 5.90, 5.91, 5.90, 5.91, 5.90]
IRS_15_YEAR += [5.91, 2.95]


def test_macrs_tables_match_irs_publication_946() -> None:
    np.testing.assert_allclose(macrs_rates(5) * 100, IRS_5_YEAR, atol=1e-9)
    np.testing.assert_allclose(macrs_rates(15) * 100, IRS_15_YEAR, atol=0.006)
    r39 = macrs_rates(39)
    assert r39[1] == pytest.approx(1 / 39) and r39[0] == pytest.approx(0.5 / 39)
    for n in range(3, 40):
        assert macrs_rates(n).sum() == pytest.approx(1.0, abs=1e-12)


def _arr(*rows: list[float]) -> np.ndarray:
    return np.array(rows, dtype=float)


def test_losses_offset_at_most_80_percent_of_a_years_income() -> None:
    one = np.ones(1)
    tax = cash_tax(_arr([-100.0, 100.0, 100.0]), 0.21 * one, in_group=0 * one, nol_limit=0.8 * one)
    np.testing.assert_allclose(tax[0], [0.0, 0.21 * 20.0, 0.21 * 80.0])


def test_inside_a_group_losses_save_tax_the_year_they_arise() -> None:
    one = np.ones(1)
    tax = cash_tax(_arr([-100.0, 50.0]), 0.21 * one, in_group=one, nol_limit=0.8 * one)
    np.testing.assert_allclose(tax[0], [-21.0, 10.5])


def test_interest_above_30_percent_of_ati_is_carried_forward() -> None:
    one = np.ones(1)
    tax = cash_tax(
        _arr([50.0, 50.0]),
        0.2 * one,
        in_group=0 * one,
        nol_limit=one,
        interest=_arr([40.0, 0.0]),
        ati=_arr([100.0, 100.0]),
        interest_limit=0.3 * one,
    )
    # year 0 deducts 30 of 40, year 1 the 10 carried
    np.testing.assert_allclose(tax[0], [0.2 * 20.0, 0.2 * 40.0])


@given(
    st.lists(st.floats(-100, 100), min_size=1, max_size=12),
    st.floats(0, 0.5),
    st.floats(0, 1),
)
def test_cash_tax_matches_a_plain_loop(income: list[float], rate: float, limit: float) -> None:
    one = np.ones(1)
    got = cash_tax(_arr(income), rate * one, in_group=0 * one, nol_limit=limit * one)
    np.testing.assert_allclose(got[0], tax_loop(np.array(income), rate, limit), atol=1e-9)


def test_bonus_depreciation_raises_npv_more_inside_a_group() -> None:
    base = load_preset("bofa-base")
    plain = evaluate(base).npv_busd
    bonus = dict(macrs_depreciation=1, bonus_depreciation_share=1.0)
    alone = evaluate(base.replace(**bonus)).npv_busd - plain
    group = evaluate(base.replace(tax_in_group=1, **bonus)).npv_busd - plain
    # methodology section 11.2: +3.0 stand-alone, +5.1 inside the group (US$ B)
    assert 2.0 < alone < group < 8.0


def test_bonus_deducts_the_whole_it_cost_when_placed_in_service() -> None:
    s = load_preset("bofa-base").replace(macrs_depreciation=1, bonus_depreciation_share=1.0)
    cf = evaluate(s).cash_flows
    it_cost = 127.5 * 0.7
    # year 2: the whole IT by bonus + the first MACRS year of the 39-year facility (mid-year)
    assert cf["tax_depreciation"].iloc[2] == pytest.approx(it_cost + 127.5 * 0.3 * 0.5 / 39)
    # 39-year property gets no bonus
    cf15 = evaluate(s.replace(facility_tax_class_years=15)).cash_flows
    assert cf15["tax_depreciation"].iloc[2] == pytest.approx(127.5)


def test_macrs_schedules_by_class_match_a_plain_convolution() -> None:
    # methodology section 11.2: each year's deduction is sum_k placed_{t-k} x rate_k of the
    # row's class (a matrix product per class in the model)
    from model.tax import _convolve

    rng = np.random.default_rng(5)
    placed = np.where(rng.random((200, 30)) < 0.2, rng.uniform(0.0, 50.0, (200, 30)), 0.0)
    classes = rng.integers(15, 40, 200)
    rows = rng.random(200) < 0.7
    got = _convolve(placed, classes, rows)
    for i in range(200):
        want = (
            np.convolve(placed[i], macrs_rates(int(classes[i])))[:30] if rows[i] else np.zeros(30)
        )
        np.testing.assert_allclose(got[i], want, rtol=1e-13, atol=1e-12)


def test_carryforward_increments_equal_the_running_maximum_closed_form() -> None:
    # methodology section 3: X_t = max(0, max_{s<=t} C_s); the year loop gives the same numbers
    from model.tax import carryforward_increments

    rng = np.random.default_rng(6)
    income = rng.normal(0.0, 10.0, (300, 25))
    income[::4] -= 6.0
    taxed = np.maximum(np.maximum.accumulate(np.cumsum(income, axis=1), axis=1), 0.0)
    want = np.diff(taxed, axis=1, prepend=0.0)
    np.testing.assert_array_equal(carryforward_increments(income), want)
