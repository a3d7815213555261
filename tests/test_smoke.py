"""The seed arithmetic, end to end through the public API."""

import pytest

from model import evaluate, load_preset


def test_seed_arithmetic_bofa_base() -> None:
    r = evaluate(load_preset("bofa-base"))
    assert r.capex_initial_busd == pytest.approx(127.5)
    operating = r.cash_flows[r.cash_flows["operating"]]
    assert operating["revenue_lease"].to_numpy() == pytest.approx(37.5)
    assert r.gross_lease_yield == pytest.approx(12.5 / 42.5)
    assert round(r.gross_lease_yield * 100, 1) == 29.4
