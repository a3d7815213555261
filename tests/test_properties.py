"""Hypothesis over the whole bounded input space: evaluate never raises, every output is finite
or None, the accounting identities hold, and evaluate_batch equals evaluate.

Profiles (registered in tests/conftest.py): ``dev`` (default) and ``ci`` (when the CI environment
variable is set) keep the suite fast; ``thorough`` (HYPOTHESIS_PROFILE=thorough) runs many more
examples.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from edge_cases import at_field_lows
from hypothesis import example, given
from hypothesis import strategies as st
from test_engine import assert_accounting_identities
from test_finance import _assert_irr_properties
from test_results import assert_metrics_consistent

from model import FIELD_SPECS, Scenario, evaluate, evaluate_batch


def _field(name: str) -> st.SearchStrategy[float]:
    spec = FIELD_SPECS[name]
    if spec.integer:
        return st.integers(int(spec.low), int(spec.high)).map(float)
    inside = st.floats(spec.low, spec.high, allow_nan=False, allow_infinity=False)
    # the bounds themselves are where things break: draw them often
    return st.one_of(st.sampled_from([spec.low, spec.high]), inside)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    values: dict[str, float | int] = {}
    for name, spec in FIELD_SPECS.items():
        x = draw(_field(name))
        values[name] = int(x) if spec.integer else x
    # lease_share + hosting_share <= 1: hosting takes a share of what leasing leaves
    lease = float(values["lease_share"])
    values["hosting_share"] = draw(st.sampled_from([0.0, 1.0]) | st.floats(0.0, 1.0)) * (
        1.0 - lease
    )
    return Scenario(**values)


@given(scenarios())
def test_evaluate_never_raises_and_outputs_are_finite_or_none(s: Scenario) -> None:
    r = evaluate(s)
    for key, value in r.metrics().items():
        assert value is None or math.isfinite(value), key
    for key in ("npv_busd", "gross_lease_yield", "npv_per_share_usd", "capex_initial_busd"):
        assert math.isfinite(r.metrics()[key] or 0.0)
    assert np.isfinite(r.cash_flows.drop(columns=["year", "operating"]).to_numpy()).all()
    assert np.isfinite(r.market.drop(columns=["year", "operating"]).to_numpy()).all()
    assert (r.market.drop(columns=["year", "operating"]).to_numpy() >= 0).all()
    assert_accounting_identities(r)
    assert_metrics_consistent(r)


@pytest.mark.filterwarnings("error::RuntimeWarning")
@given(st.lists(scenarios(), min_size=1, max_size=4))
def test_no_numpy_warning_reaches_users(batch: list[Scenario]) -> None:
    """Valid extreme scenarios compute without overflow or 0 / 0 (methodology section 5: every
    metric finite or None): evaluate and evaluate_batch with the breakeven raise no warning."""
    for s in batch:
        evaluate(s)
    evaluate_batch(pd.DataFrame([s.model_dump() for s in batch]), breakeven=True)


def _close(got: float, want: float | None, scale: float) -> bool:
    if want is None or not math.isfinite(want):
        return math.isnan(got)
    return abs(got - want) <= 1e-9 * max(1.0, abs(want), scale)


@given(st.lists(scenarios(), min_size=1, max_size=6))
def test_evaluate_batch_equals_evaluate(batch: list[Scenario]) -> None:
    table = pd.DataFrame([s.model_dump() for s in batch])
    out = evaluate_batch(table, breakeven=True)
    for i, s in enumerate(batch):
        r = evaluate(s)
        want = {**r.metrics(), **r.extra}
        fcf_scale = float(np.abs(r.cash_flows["fcf"]).max())
        for key in out.columns:
            if key == "irr_root_count":
                continue
            got = float(out[key].iloc[i])
            scale = (
                fcf_scale if key in ("npv_busd", "npv_per_share_usd", "npv_equity_busd") else 0.0
            )
            if key == "breakeven_lease_rate_busd_per_gw_year":
                # a root within rounding of zero may fall either side of the bracket's end
                w = want[key]
                if (w is None) != math.isnan(got):
                    assert (w or 0.0) < 1e-9 and (0.0 if math.isnan(got) else got) < 1e-9
                    continue
            assert _close(got, want[key], scale), (i, key, got, want[key])


@pytest.mark.parametrize("seed", [0, 1])
def test_evaluate_batch_equals_evaluate_on_a_random_table(seed: int) -> None:
    """A few hundred uniform draws over every field (no Hypothesis shrinking needed)."""
    rng = np.random.default_rng(seed)
    n = 150
    cols: dict[str, np.ndarray] = {}
    for name, spec in FIELD_SPECS.items():
        v = rng.uniform(spec.low, spec.high, n)
        cols[name] = np.round(v) if spec.integer else v
    cols["hosting_share"] = cols["hosting_share"] * (1.0 - cols["lease_share"])
    table = pd.DataFrame(cols)
    out = evaluate_batch(table)
    for i in range(0, n, 5):
        r = evaluate(_at(cols, i))
        want = {**r.metrics(), **r.extra}
        scale = float(np.abs(r.cash_flows["fcf"]).max())
        for key in out.columns:
            if key == "irr_root_count":
                continue
            s = scale if key in ("npv_busd", "npv_per_share_usd", "npv_equity_busd") else 0.0
            assert _close(float(out[key].iloc[i]), want[key], s), (i, key)


def _at(cols: dict[str, np.ndarray], i: int) -> Scenario:
    return Scenario(
        **{k: (int(v[i]) if FIELD_SPECS[k].integer else float(v[i])) for k, v in cols.items()}
    )


# ---- IRR through evaluate_batch over random in-bounds scenarios (methodology §5) -------------
#: Found by Hypothesis (random seed 0, `thorough` profile): cash flows [0, -0.5, -1.95e-311] (no
#: spend in year 0, a denormal power cost) overflowed the test's root oracle (np.roots led by the
#: denormal; test_finance.py); the IRR search itself was right: no sign change, no root.
_DENORMAL_LAST_FLOW = at_field_lows(
    build_years=2, power_price_usd_per_mwh=2.2250738585072014e-308, power_load_factor=1.0
)
#: Found by Hypothesis (the dev profile's derandomized draw): four rows whose last one's cash
#: flows are [-43.1, -22.6, 0, 0, 0, -4.2e-23, -1.1e-23, 0, 1.65e-25], rounding residue after the
#: build; its last bits differ between the batch (4 rows) and evaluate, and so did the IRR of
#: -99.98% they made (the residue is now read as 0: no sign change, no IRR; finance.py).
_RESIDUE = _DENORMAL_LAST_FLOW.replace(
    build_years=1, power_price_usd_per_mwh=0.0, power_load_factor=0.0
)
_RESIDUE_ROWS = [
    _RESIDUE,
    _RESIDUE,
    _RESIDUE.replace(it_book_life_years=15.0),
    _RESIDUE.replace(
        gw_built=8.612455923676652,
        it_share_of_capex=1.0,
        operating_years=8,
        power_price_usd_per_mwh=300.0,
        power_load_factor=1.0,
        variable_opex_share_of_revenue=0.9,
        hosting_share=0.375,
        hosting_price_usd_per_m_tokens=100.0,
        hosting_utilization=1.0,
        hosting_licence_fee_share=0.5,
        hosting_market_share_cap=1.0,
        industry_capacity_growth_per_year=2.0,
        tax_rate=0.5,
        refresh_rule=1,
    ),
]


@given(st.lists(scenarios(), min_size=1, max_size=4))
@example([_DENORMAL_LAST_FLOW])
@example(_RESIDUE_ROWS)
def test_batch_irr_zeroes_the_profile_and_flags_several_roots(items: list[Scenario]) -> None:
    from model import finance

    batch = evaluate_batch(pd.DataFrame([s.model_dump() for s in items]))
    for i, s in enumerate(items):
        flows = evaluate(s).cash_flows["fcf"].to_numpy()
        _, _, reason = finance.irr_diagnostics(flows)
        irr = float(batch["irr"].iloc[i])
        count = int(batch["irr_root_count"].iloc[i])
        _assert_irr_properties(flows, irr, count, int(reason[0]))
        assert evaluate(s).irr_multiple == (count > 1)
