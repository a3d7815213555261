"""model.finance against numpy-financial and against first principles (1-D and 2-D inputs)."""

from __future__ import annotations

import math

import numpy as np
import numpy_financial as npf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model import finance


def _conventional(rng: np.random.Generator, n_rows: int, n_t: int) -> np.ndarray:
    """Rows of outflows then inflows: one sign change, so exactly one IRR (Descartes)."""
    flows = np.empty((n_rows, n_t))
    for i in range(n_rows):
        k = int(rng.integers(1, max(2, n_t // 2)))
        flows[i, :k] = -rng.uniform(10.0, 100.0, k)
        flows[i, k:] = rng.uniform(1.0, 60.0, n_t - k)
    return flows


# ---- discount factors and NPV ----------------------------------------------------------------


def test_discount_factors_match_the_power_formula() -> None:
    rates = np.array([0.0, 0.087, 0.3, -0.5])
    got = finance.discount_factors(rates, 20)
    want = (1.0 + rates[:, None]) ** -np.arange(20.0)[None, :]
    np.testing.assert_allclose(got, want, rtol=1e-13)
    assert got.shape == (4, 20)


def test_npv_matches_numpy_financial_1d() -> None:
    rng = np.random.default_rng(1)
    for _ in range(50):
        flows = rng.normal(0.0, 50.0, int(rng.integers(1, 40)))
        rate = float(rng.uniform(-0.5, 1.0))
        assert finance.npv(rate, flows) == pytest.approx(npf.npv(rate, flows), rel=1e-12, abs=1e-9)


def test_npv_2d_rows_with_one_rate_each() -> None:
    rng = np.random.default_rng(2)
    flows = rng.normal(0.0, 50.0, (30, 17))
    rates = rng.uniform(0.0, 0.3, 30)
    got = finance.npv(rates, flows)
    assert isinstance(got, np.ndarray) and got.shape == (30,)
    want = [npf.npv(r, row) for r, row in zip(rates, flows)]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-9)
    # one rate for all rows broadcasts
    np.testing.assert_allclose(
        finance.npv(0.1, flows), [npf.npv(0.1, row) for row in flows], rtol=1e-12, atol=1e-9
    )


def test_npv_first_flow_is_not_discounted() -> None:
    assert finance.npv(0.1, [-100.0, 110.0]) == pytest.approx(0.0, abs=1e-12)
    assert finance.npv(0.5, [7.0]) == 7.0


def test_npv_profile_equals_npv_at_each_rate() -> None:
    flows = np.array([[-100.0, 30.0, 40.0, 50.0], [-10.0, 0.0, 0.0, 12.0]])
    rates = np.array([0.0, 0.05, 0.1, 0.2])
    prof = finance.npv_profile(flows, rates)
    assert prof.shape == (2, 4)
    for j, r in enumerate(rates):
        np.testing.assert_allclose(prof[:, j], finance.npv(r, flows), rtol=1e-13)
    np.testing.assert_allclose(finance.npv_profile(flows[0], rates), prof[0], rtol=1e-13)


# ---- IRR -------------------------------------------------------------------------------------


def test_irr_matches_numpy_financial_where_the_root_is_unique() -> None:
    rng = np.random.default_rng(3)
    flows = _conventional(rng, 300, 16)
    got = finance.irr(flows)
    assert isinstance(got, np.ndarray) and got.shape == (300,)
    checked = 0
    for g, row in zip(got, flows):
        want = npf.irr(row)
        if math.isnan(want) or want < -0.9 or want > 50:  # outside the scanned range
            continue
        assert g == pytest.approx(want, abs=1e-9), row
        checked += 1
    assert checked > 250


def test_irr_1d_returns_a_float_and_npv_at_irr_is_zero() -> None:
    flows = np.array([-100.0, 39.0, 59.0, 55.0, 20.0])
    r = finance.irr(flows)
    assert isinstance(r, float)
    assert r == pytest.approx(0.28095, abs=1e-5)  # numpy-financial's docstring example
    assert finance.npv(r, flows) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize(
    "flows",
    [
        [100.0, 50.0, 10.0],
        [-100.0, -50.0, -10.0],
        [0.0, 0.0, 0.0],
        [-100.0, 0.0, 0.0],
        [5.0],
        [-5.0],
    ],
)
def test_irr_without_a_sign_change_is_nan_not_an_error(flows: list[float]) -> None:
    assert math.isnan(finance.irr(np.array(flows)))
    root, count = finance.irr_details(np.array(flows))
    assert math.isnan(root[0]) and count[0] == 0
    assert math.isnan(finance.mirr(np.array(flows), 0.1, 0.1))


def test_irr_2d_mixes_defined_and_undefined_rows() -> None:
    flows = np.array([[-100.0, 60.0, 60.0], [100.0, 50.0, 10.0], [-100.0, 0.0, 121.0]])
    got = finance.irr(flows)
    assert got[0] == pytest.approx(npf.irr(flows[0]), abs=1e-12)
    assert math.isnan(got[1])
    assert got[2] == pytest.approx(0.1, abs=1e-12)


def test_irr_two_roots_are_flagged_and_the_one_closest_to_zero_is_reported() -> None:
    # -100 + 230 x - 132 x^2 = 0 at 1 + r = 1.1 and 1.2
    flows = np.array([-100.0, 230.0, -132.0])
    root, count = finance.irr_details(flows)
    assert count[0] == 2
    assert root[0] == pytest.approx(0.1, abs=1e-12)
    assert root[0] == pytest.approx(npf.irr(flows), abs=1e-9)


def test_several_sign_changes_but_one_root_is_not_flagged() -> None:
    # an IT-refresh-like dip: three sign changes in the flows, one root of the NPV profile
    flows = np.array([-60.0, -60.0, 30.0, 30.0, 30.0, -50.0, 30.0, 30.0, 30.0, 30.0])
    root, count = finance.irr_details(flows)
    assert count[0] == 1
    assert finance.npv(root[0], flows) == pytest.approx(0.0, abs=1e-9)
    assert root[0] == pytest.approx(npf.irr(flows), abs=1e-9)


def test_irr_ignores_trailing_zero_padding() -> None:
    flows = np.array([-100.0, 30.0, 40.0, 50.0, 20.0])
    padded = np.concatenate([flows, np.zeros(10)])
    assert finance.irr(padded) == pytest.approx(finance.irr(flows), abs=1e-13)
    assert finance.npv(0.1, padded) == pytest.approx(finance.npv(0.1, flows), abs=1e-12)


def test_irr_chunking_does_not_change_results() -> None:
    flows = _conventional(np.random.default_rng(4), 100, 12)
    a, na = finance.irr_details(flows)
    b, nb = finance.irr_details(flows, chunk_rows=7)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)  # BLAS blocking: last-bit noise
    np.testing.assert_array_equal(na, nb)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(1, 100), min_size=1, max_size=4),
    st.lists(st.integers(0, 100), min_size=1, max_size=25),
)
def test_irr_property_conventional_flows(outflows: list[int], inflows: list[int]) -> None:
    # whole-number flows keep numpy-financial's polynomial roots well conditioned (with flows
    # like 1e-12 its np.roots answer is off by ~1e-8 while ours has NPV ~ 0 to machine precision)
    flows = np.array([-float(x) for x in outflows] + [float(x) for x in inflows])
    r = finance.irr(flows)
    want = npf.irr(flows)
    if math.isnan(want) or not -0.9 < want < 50:
        return
    assert r == pytest.approx(want, abs=1e-9)
    scale = np.abs(flows).sum()
    assert abs(finance.npv(r, flows)) <= 1e-9 * scale


# ---- MIRR ------------------------------------------------------------------------------------


def test_mirr_matches_numpy_financial() -> None:
    rng = np.random.default_rng(5)
    flows = rng.normal(0.0, 50.0, (100, 14))
    fin = rng.uniform(0.0, 0.2, 100)
    rein = rng.uniform(0.0, 0.2, 100)
    got = finance.mirr(flows, fin, rein)
    want = [npf.mirr(row, f, r) for row, f, r in zip(flows, fin, rein)]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert finance.mirr(flows[0], fin[0], rein[0]) == pytest.approx(want[0], rel=1e-12)


def test_mirr_with_own_period_counts_equals_unpadded() -> None:
    short = np.array([-100.0, 20.0, 70.0, 60.0])
    long = np.array([-100.0, 20.0, 30.0, 40.0, 50.0, 10.0])
    padded = np.zeros((2, 6))
    padded[0, :4] = short
    padded[1] = long
    got = finance.mirr(padded, 0.08, 0.1, n_periods=np.array([4, 6]))
    assert got[0] == pytest.approx(npf.mirr(short, 0.08, 0.1), rel=1e-12)
    assert got[1] == pytest.approx(npf.mirr(long, 0.08, 0.1), rel=1e-12)


def test_mirr_from_present_values_is_the_same_formula() -> None:
    flows = np.array([[-100.0, 30.0, -10.0, 80.0, 40.0]])
    d = finance.discount_factors(0.09, 5)
    pos = np.sum(np.where(flows > 0, flows * d, 0.0), axis=1)
    neg = np.sum(np.where(flows < 0, flows * d, 0.0), axis=1)
    got = finance.mirr_from_present_values(pos, neg, np.array([5.0]), np.array([0.09]))
    assert got[0] == pytest.approx(npf.mirr(flows[0], 0.09, 0.09), rel=1e-13)


# ---- payback ---------------------------------------------------------------------------------


def test_payback_interpolates_inside_the_crossing_period() -> None:
    assert finance.payback([-100.0, 60.0, 60.0]) == pytest.approx(1 + 40 / 60)
    assert finance.payback([-100.0, 100.0]) == pytest.approx(1.0)


def test_payback_uses_the_last_crossing() -> None:
    # pays back at 1.0, falls below zero again in year 2, pays back for good at 2.5
    assert finance.payback([-100.0, 150.0, -100.0, 100.0]) == pytest.approx(2.5)


def test_payback_never_and_immediately() -> None:
    assert math.isnan(finance.payback([-100.0, 10.0, 10.0]))
    assert math.isnan(finance.payback([-100.0, 200.0, -150.0]))
    assert finance.payback([0.0, 10.0]) == 0.0
    assert finance.payback([5.0, 10.0]) == 0.0


def test_payback_point_has_zero_interpolated_cumulative_flow() -> None:
    rng = np.random.default_rng(6)
    flows = rng.normal(5.0, 40.0, (200, 15))
    flows[:, 0] = -np.abs(flows[:, 0]) - 1.0
    pb = finance.payback(flows)
    cum = np.cumsum(flows, axis=1)
    for p, c in zip(pb, cum):
        if math.isnan(p):
            assert c[-1] < 0
            continue
        # interpolated cumulative position at the payback point is zero...
        assert np.interp(p, np.arange(c.size), c) == pytest.approx(0.0, abs=1e-9)
        # ...and it stays non-negative afterwards
        assert (c[math.floor(p) + 1 :] >= -1e-9).all()


def test_discounted_payback_is_payback_of_discounted_flows() -> None:
    flows = np.array([[-100.0, 30.0, 40.0, 50.0, 60.0], [-50.0, 10.0, 10.0, 10.0, 10.0]])
    rates = np.array([0.1, 0.05])
    got = finance.payback(flows, rate=rates)
    want = finance.payback(flows * finance.discount_factors(rates, 5))
    np.testing.assert_array_equal(got, want)
    assert got[0] > finance.payback(flows[0])
    assert math.isnan(got[1])


def test_functions_reject_3d_input() -> None:
    with pytest.raises(ValueError, match="1-D or 2-D"):
        finance.npv(0.1, np.zeros((2, 2, 2)))


# ---- IRR over the whole input space (methodology §5: IRR, several roots, undefined IRR) -------
def _true_sign_change_roots(flows: np.ndarray) -> np.ndarray:
    """Rates r > -1 where NPV changes sign, from the polynomial in x = 1 / (1 + r) (np.roots)."""
    nz = np.flatnonzero(flows)
    if nz.size == 0:
        return np.array([])
    # Leading zero periods only multiply NPV by x^k (x = 1 / (1 + r) > 0): no root. Dropped, so
    # that the end coefficients compared below are the first and the last non-zero flows.
    f = flows[nz[0] : nz[-1] + 1]
    # NPV (1 + r)^(T-1) = sum_t f_t y^(T-1-t) with y = 1 + r, or NPV = sum_t f_t x^t with
    # x = 1 / (1 + r): the same roots. Lead with the larger end coefficient, so a denormal one
    # (e.g. 2e-309) never divides the companion matrix into infinities.
    if abs(f[0]) >= abs(f[-1]):
        ys = np.roots(f)
        real_y = ys[(np.abs(ys.imag) <= 1e-7 * np.abs(ys)) & (ys.real > 0)].real
        rates = np.sort(real_y - 1.0)
    else:
        xs = np.roots(f[::-1])
        real = xs[(np.abs(xs.imag) <= 1e-7 * np.abs(xs)) & (xs.real > 0)].real
        rates = np.sort(1.0 / real - 1.0)
    keep = []
    for r in rates:  # keep roots where the profile really changes sign (odd multiplicity)
        d = 1e-6 * max(1.0, abs(r)) + 1e-9
        lo, hi = r - d, r + d
        if lo <= -1:
            continue
        if np.signbit(finance.npv(lo, flows)) != np.signbit(finance.npv(hi, flows)):
            keep.append(r)
    # A root so close to -100% that -1 + d rounds to -1 (flows [-0.5, 0.25, -7.5e-144] have one
    # at r = -1 + 3e-143) is dropped above, yet the profile does change sign there: as r -> -1
    # the scaled profile sum_t f_t (1 + r)^(T-1-t) tends to the last flow. Count it at -1.
    left = (keep[0] if keep else 0.0) - 1e-6
    left = max(left, -1.0 + 1e-12)
    scaled = float(np.polyval(f, 1.0 + left))
    if scaled != 0.0 and np.signbit(scaled) != np.signbit(f[-1]):
        keep.insert(0, -1.0)
    return np.array(keep)


def test_root_next_to_minus_100_percent_is_counted() -> None:
    """Flows [-0.5, 0.25, -7.5e-12] have roots at -50% and at -1 + 3e-11 (not representable
    apart from -1 within the oracle's step); the profile changes sign at both, so two roots are
    counted and the oracle agrees."""
    flows = np.array([-0.5, 0.25, -7.5e-12])
    root, count, reason = finance.irr_diagnostics(flows)
    assert int(count[0]) == 2
    assert _true_sign_change_roots(flows).tolist() == pytest.approx([-1.0, -0.5], abs=1e-9)
    assert float(root[0]) == pytest.approx(-0.5, abs=1e-9)
    _assert_irr_properties(flows, float(root[0]), int(count[0]), int(reason[0]))


def test_a_negligible_flow_makes_no_root() -> None:
    """Methodology section 5 (IRR): a flow at most IRR_NEGLIGIBLE_SHARE of the sum of its row's
    magnitudes is read as 0. Found by Hypothesis (through evaluate_batch): flows [-0.5, 0.25, -7.5e-144] (a
    last flow of 1.5e-143 of the largest) had a second root at -1 + 3e-143 and were flagged as
    having several IRRs; and rounding residue (a last flow of 1.7e-25 next to a capex of 43,
    which a batch and a single evaluation round differently) made an IRR of -99.98% that moved
    with the residue's last bits, so the batch's IRR did not zero the single run's profile."""
    flows = np.array([-0.5, 0.25, -7.5e-144])
    root, count, reason = finance.irr_diagnostics(flows)
    assert float(root[0]) == pytest.approx(-0.5, rel=1e-12) and int(count[0]) == 1
    assert int(reason[0]) == finance.IRR_OK
    residue = [-43.06227961838326, -22.633534167422244, 0.0, 0.0, 0.0]
    residue += [-4.235164736271502e-23, -1.0587911840678755e-23, 0.0]
    single = np.array([*residue, 1.6543612251060554e-25])  # evaluate's last flow
    batch = np.array([*residue, 1.6543549142188138e-25])  # evaluate_batch's
    for flows in (single, batch, np.vstack([batch, single, -single])):
        root, count, reason = finance.irr_diagnostics(flows)
        assert np.isnan(root).all() and (count == 0).all()
        assert (reason == finance.IRR_NO_SIGN_CHANGE).all()
    # a subnormal tail after a real sign change: the one root, as without the tail
    flows = np.array([-100.0, 60.0, 60.0, 1e-310, -5e-324])
    root, count, reason = finance.irr_diagnostics(flows)
    assert root[0] == finance.irr_diagnostics(flows[:3])[0][0] and int(count[0]) == 1
    # above the share (of 2.1 here) a tiny flow is a flow: the input itself is searched
    flows = np.array([[-1.0, 1.1, 1e-11]])
    assert finance._negligible_as_zero(flows) is flows
    assert (finance._negligible_as_zero(flows * [[1.0, 1.0, 0.2]]) == [[-1.0, 1.1, 0.0]]).all()
    # the sum of magnitudes does not overflow (1e-12 of 3e308 is 3e296), nor where it cannot
    # be taken in a row of 2,000 periods (read against the largest flow then)
    flows = np.array([[-1e308, 1e308, 1e308, 1e296, 4e296]])
    assert (finance._negligible_as_zero(flows) == [[-1e308, 1e308, 1e308, 0.0, 4e296]]).all()
    flows = np.zeros((2, 2_000))
    flows[:, :3] = [[-1.0, 2.0, 1e-11], [1e308, -1e308, 1e-300]]
    flows[1, 3:1_500] = 1e308
    with np.errstate(over="ignore"):  # (as the IRR search calls it)
        read = finance._negligible_as_zero(flows)
    assert read[0, 2] == 1e-11 and read[1, 2] == 0.0 and (read[1, 3:1_500] == 1e308).all()


def test_root_oracle_survives_denormal_flows() -> None:
    """Found by Hypothesis: a denormal last flow (opex of 2e-309) overflowed np.roots."""
    flows = np.array([-0.5, -2.225073858507203e-310])
    assert _true_sign_change_roots(flows).size == 0
    root, count, reason = finance.irr_diagnostics(flows)
    _assert_irr_properties(flows, float(root[0]), int(count[0]), int(reason[0]))
    flows = np.array([-1.0, 1.1, 2.2e-309])
    assert _true_sign_change_roots(flows) == pytest.approx([0.1])


def test_root_oracle_survives_a_denormal_last_flow_after_a_zero_first_one() -> None:
    """Found by Hypothesis (random seed 0, `thorough` profile, through evaluate_batch): no spend
    in year 0 (build_front_loading -1), then the build and a denormal power cost (a power price
    of 2.2e-308). The oracle compared the zero first flow with the denormal last one, led the
    companion matrix with the denormal and overflowed np.roots; the IRR search itself was right
    (no sign change, no root)."""
    flows = np.array([0.0, -0.5, -1.9491647000525e-311])
    assert _true_sign_change_roots(flows).size == 0
    root, count, reason = finance.irr_diagnostics(flows)
    assert int(count[0]) == 0 and int(reason[0]) == finance.IRR_NO_SIGN_CHANGE
    _assert_irr_properties(flows, float(root[0]), int(count[0]), int(reason[0]))
    # a root after leading zeros is still found: NPV = x (-1 + 1.1 x), x = 1 / (1 + r)
    assert _true_sign_change_roots(np.array([0.0, 0.0, -1.0, 1.1, 2.2e-309])) == pytest.approx(
        [0.1]
    )


def _relative_residual(rate: float, flows: np.ndarray) -> float:
    terms = flows * (1.0 + rate) ** -np.arange(flows.size)
    return float(abs(terms.sum()) / np.abs(terms).sum())


def _as_the_irr_reads(flows: np.ndarray) -> np.ndarray:
    """The flows with every one at most IRR_NEGLIGIBLE_SHARE of the sum of their magnitudes
    read as 0, as the IRR search reads them (methodology section 5, IRR)."""
    magnitude = np.abs(flows)
    return np.where(magnitude <= finance.IRR_NEGLIGIBLE_SHARE * magnitude.sum(), 0.0, flows)


def _assert_irr_properties(flows: np.ndarray, root: float, count: int, reason: int) -> None:
    flows = _as_the_irr_reads(flows)
    truth = _true_sign_change_roots(flows)
    scan = finance.IRR_SCAN_RATES
    if math.isfinite(root):
        assert reason == finance.IRR_OK
        assert _relative_residual(root, flows) <= 1e-8, (root, flows)
    else:
        assert reason != finance.IRR_OK
    inside = truth[(truth > scan[0]) & (truth < scan[-1])]
    if reason in (finance.IRR_NO_SIGN_CHANGE, finance.IRR_ALL_ZERO):
        assert truth.size == 0
        assert not ((flows > 0).any() and (flows < 0).any())
    if inside.size:  # a root in the scanned range is reported, or the search says why not
        assert count >= 1 and reason in (finance.IRR_OK, finance.IRR_NOT_CONVERGED), (truth, reason)
    # two sign changes of the profile with a scan rate between them: several IRRs, flagged
    cells = np.searchsorted(scan, truth)
    if np.unique(cells).size >= 2:
        assert count >= 2, (truth, count)
    if truth.size == 1:  # exactly one root: exactly one counted
        assert count == 1, (truth, count)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(-1000, 1000), min_size=1, max_size=36))
def test_irr_properties_random_cash_flows(values: list[int]) -> None:
    flows = np.array(values, dtype=np.float64)
    root, count, reason = finance.irr_diagnostics(flows)
    _assert_irr_properties(flows, float(root[0]), int(count[0]), int(reason[0]))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False).filter(
            lambda x: x == 0 or abs(x) > 1e-3
        ),
        min_size=2,
        max_size=36,
    )
)
def test_irr_reported_always_zeroes_the_profile(values: list[float]) -> None:
    flows = np.array(values)
    root, _, reason = finance.irr_diagnostics(flows)
    if math.isfinite(root[0]):
        assert _relative_residual(float(root[0]), flows) <= 1e-8
    assert int(reason[0]) in finance.IRR_REASONS


def test_irr_above_the_old_scan_range_is_found() -> None:
    # -1 + 500 x: root at 1 + r = 500 (49,900%), above the former 10,000% scan
    flows = np.array([-1.0, 500.0])
    root, count, reason = finance.irr_diagnostics(flows)
    assert root[0] == pytest.approx(499.0, rel=1e-12) and count[0] == 1 and reason[0] == 0


@pytest.mark.parametrize(
    ("flows", "code"),
    [
        ([-1.0, 1e9], finance.IRR_ROOT_ABOVE_RANGE),  # 1 + r = 1e9
        ([-1.0, 1e-7], finance.IRR_ROOT_BELOW_RANGE),  # 1 + r = 1e-7
        ([1.0, -3.0, 3.0], finance.IRR_PROFILE_ONE_SIGN),  # 1 - 3x + 3x^2 > 0 for all x
        ([1.0, 2.0], finance.IRR_NO_SIGN_CHANGE),
        ([0.0, 0.0], finance.IRR_ALL_ZERO),
        ([-1.0, float("nan")], finance.IRR_NOT_FINITE),
    ],
)
def test_undefined_irr_says_why(flows: list[float], code: int) -> None:
    root, count, reason = finance.irr_diagnostics(np.array(flows))
    assert math.isnan(root[0]) and reason[0] == code
    assert finance.irr_reason(np.array(flows)) == finance.IRR_REASONS[code]
    assert finance.irr_reason(np.array(flows)).startswith("n/a: ")
    if code in (finance.IRR_ROOT_ABOVE_RANGE, finance.IRR_ROOT_BELOW_RANGE):
        assert count[0] == 1  # the root exists and is counted


def test_root_outside_the_scan_makes_several_roots() -> None:
    # roots at 1 + r = 0.5 and 1e9: one reported, both counted, so irr_multiple
    x1, x2 = 1 / 0.5, 1 / 1e9
    flows = np.array([x1 * x2, -(x1 + x2), 1.0])
    root, count, _ = finance.irr_diagnostics(flows)
    assert root[0] == pytest.approx(-0.5, abs=1e-9) and count[0] == 2


@pytest.mark.parametrize("rate", [-1.0, -1.5, float("nan")])
def test_rates_at_or_below_minus_one_raise_naming_the_argument(rate: float) -> None:
    with pytest.raises(finance.FinanceInputError, match=r"^rate = "):
        finance.payback(np.array([-100.0, 60.0, 60.0]), rate)
    with pytest.raises(ValueError, match=r"^rate = "):
        finance.npv(rate, [-100.0, 110.0])
    with pytest.raises(ValueError, match=r"^finance_rate = "):
        finance.mirr([-100.0, 110.0], rate, 0.1)
    with pytest.raises(ValueError, match=r"^reinvest_rate = "):
        finance.mirr([-100.0, 110.0], 0.1, rate)
    with pytest.raises(ValueError, match=r"^rates = "):
        finance.npv_profile([-100.0, 110.0], [0.1, rate])


def test_payback_near_minus_one_is_still_defined() -> None:
    # discounting at -99% magnifies later flows: pays back within the first period
    assert finance.payback(np.array([-100.0, 60.0, 60.0]), -0.99) == pytest.approx(100 / 6000)


# ---- the IRR search's paths give the same answers (methodology section 5) -----------------------


def _mixed_flows(rng: np.random.Generator, n_rows: int, n_t: int) -> np.ndarray:
    """Conventional rows, rows with refresh-like outflows later, one-signed rows, large IRRs."""
    flows = _conventional(rng, n_rows, n_t)
    flows[1::5, n_t // 2] -= rng.uniform(50.0, 400.0, len(flows[1::5]))  # several sign changes
    flows[2::5] = np.abs(flows[2::5])  # one sign: no root
    flows[3::5, 0] = -rng.uniform(1e-3, 1.0, len(flows[3::5]))  # tiny outlay: IRR far above 100%
    flows[3::5, 1:] = np.abs(flows[3::5, 1:])
    flows[4::5, 0] = -rng.uniform(1e4, 1e6, len(flows[4::5]))  # most of the outlay lost
    flows[4::5, 1:] = rng.uniform(0.0, 20.0, (len(flows[4::5]), n_t - 1))
    return flows


def test_irr_of_one_row_equals_its_irr_in_a_batch() -> None:
    # one or two rows take the scalar Newton steps; a batch of 600 the vectorised ones (Horner's
    # rule while many rows iterate); the scan decides the counts and reasons in both
    flows = _mixed_flows(np.random.default_rng(11), 600, 18)
    root, count, reason = finance.irr_diagnostics(flows)
    assert (reason == finance.IRR_OK).sum() > 300  # the batch does exercise the Newton steps
    assert np.nanmax(root) > 10.0 and np.nanmin(root) < -0.4  # far above 100% and far below 0
    for i in range(0, 600, 7):
        r1, c1, why1 = finance.irr_diagnostics(flows[i])
        assert c1[0] == count[i] and why1[0] == reason[i]
        if reason[i] == finance.IRR_OK:
            assert r1[0] == pytest.approx(root[i], rel=1e-12, abs=1e-13)
        else:
            assert math.isnan(r1[0]) and math.isnan(root[i])


def test_irr_in_a_batch_matches_numpy_financial_far_from_zero() -> None:
    flows = _mixed_flows(np.random.default_rng(12), 500, 12)[3::5]  # IRRs far above 100%
    root, count = finance.irr_details(np.tile(flows, (3, 1)))  # 300 rows: the Horner steps
    for i, row in enumerate(flows):
        assert count[i] == 1
        assert root[i] == pytest.approx(npf.irr(row), rel=1e-9)
        assert finance.npv(root[i], row) == pytest.approx(0.0, abs=1e-9 * np.abs(row).sum())


@pytest.mark.parametrize("scale", [1e-200, 1e-60, 1.0, 1e60, 1e200])
def test_one_signed_rows_are_classified_as_by_the_scan_at_any_scale(scale: float) -> None:
    # a batch of 100 rows skips the scan for well-scaled one-signed rows; a lone row is always
    # scanned: the two must agree, also where the scan's terms underflow or overflow
    rng = np.random.default_rng(13)
    flows = -rng.uniform(0.5, 2.0, (100, 41)) * scale
    flows[::2] *= -1.0
    flows[::3, :5] = 0.0
    flows[5] = 0.0
    root, count, reason = finance.irr_diagnostics(flows)
    for i in range(100):
        r1, c1, why1 = finance.irr_diagnostics(flows[i])
        assert (c1[0], why1[0]) == (count[i], reason[i])
        assert math.isnan(root[i]) and math.isnan(r1[0])
    if 1e-60 <= scale <= 1e60:
        assert (count == 0).all()
        assert (reason[5] == finance.IRR_ALL_ZERO) and (np.delete(reason, 5) == 1).all()


@pytest.mark.parametrize("rows", [1, 255, 256, 3000])
def test_cumulative_sum_is_numpy_cumsum_bit_for_bit(rows: int) -> None:
    """Methodology section 5: the paybacks' running sums, by columns or by numpy, are one number."""
    rng = np.random.default_rng(rows)
    for n_t in (1, 2, 17, 41):
        f = rng.standard_normal((rows, n_t)) * rng.lognormal(0.0, 3.0, (rows, 1))
        assert np.array_equal(finance.cumulative_sum(f), np.cumsum(f, axis=1))
    f[0, 0], f[-1, -1] = np.nan, np.inf
    assert np.array_equal(finance.cumulative_sum(f), np.cumsum(f, axis=1), equal_nan=True)


def test_payback_from_cumulative_matches_payback() -> None:
    """Methodology section 5: payback from running sums already built is payback."""
    rng = np.random.default_rng(3)
    f = rng.standard_normal((500, 12)) - 0.2
    got = finance.payback_from_cumulative(f, finance.cumulative_sum(f))
    np.testing.assert_array_equal(got, np.asarray(finance.payback(f)))
    np.testing.assert_allclose(
        [finance.payback(row) for row in f[:20]], got[:20], rtol=0.0, atol=0.0, equal_nan=True
    )
