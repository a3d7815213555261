"""The NPV bridge (methodology §"Returns": free cash flow and NPV at the WACC)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model import FIELD_SPECS, evaluate, load_preset, preset_ids
from model.bridge import BRIDGE_STEPS, npv_bridge


@pytest.mark.parametrize("preset_id", preset_ids())
def test_bars_sum_to_npv(preset_id: str) -> None:
    r = evaluate(load_preset(preset_id))
    bridge = npv_bridge(r)
    assert list(bridge["step"]) == [s[0] for s in BRIDGE_STEPS]
    assert bridge["pv_busd"].sum() == pytest.approx(r.npv_busd, abs=1e-9)


def test_known_answer_bofa_base_capex_and_signs() -> None:
    # 3 GW x US$42.5 B = US$127.5 B over 2 build years at 8.7%: 63.75 + 63.75 / 1.087
    r = evaluate(load_preset("bofa-base"))
    b = npv_bridge(r).set_index("step")["pv_busd"]
    assert b["capex_build"] == pytest.approx(-(63.75 + 63.75 / 1.087), rel=1e-9)
    assert b["revenue"] > 0 and b["residual_value"] >= 0
    assert b["operating_costs"] < 0 and b["capex_refresh"] < 0 and b["tax"] <= 0


_fields = ("gw_built", "capex_per_gw_busd", "lease_rate_busd_per_gw_year", "wacc", "tax_rate")


@settings(max_examples=40, deadline=None)
@given(
    st.tuples(*[st.floats(FIELD_SPECS[f].low, FIELD_SPECS[f].high) for f in _fields]),
    st.sampled_from(preset_ids()),
)
def test_bars_sum_to_npv_across_the_input_space(values: tuple[float, ...], preset_id: str) -> None:
    s = load_preset(preset_id).replace(**dict(zip(_fields, values, strict=True)))
    r = evaluate(s)
    total = float(npv_bridge(r)["pv_busd"].sum())
    assert np.isclose(total, r.npv_busd, rtol=1e-9, atol=1e-6)
