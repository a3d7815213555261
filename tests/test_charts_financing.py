"""The capital-structure pieces (app/charts/financing.py): sources equal uses, the chart draws
the model's debt lines, KPIs appear only with financing (methodology section 11.1)."""

from __future__ import annotations

import numpy as np
import pytest

from app.charts.financing import (
    debt_balance_chart,
    equity_kpis,
    equity_vs_project_chart,
    sources_and_uses,
)
from model import evaluate, load_preset


def test_sources_equal_uses_for_the_coreweave_spv() -> None:
    r = evaluate(load_preset("coreweave-spv"))
    t = sources_and_uses(r)
    uses = t[t["side"] == "Uses"]["busd"].sum()
    sources = t[t["side"] == "Sources"]["busd"].sum()
    assert uses == pytest.approx(sources)
    assert uses == pytest.approx(0.1 * 20.23)  # one build year: no capitalised interest
    debt = t[t["item"].str.startswith("Debt")]["busd"].sum()
    assert debt / uses == pytest.approx(0.85)


def test_sources_and_uses_with_lessor_partner_and_construction_interest() -> None:
    s = load_preset("bofa-base").replace(
        debt_share_of_capex=0.5, partner_share_of_capex=0.2, campus_lease_share=0.8
    )
    t = sources_and_uses(evaluate(s)).set_index("item")["busd"]
    assert t["Build capex"] == pytest.approx(127.5)
    assert t["Lessor: campus funding"] == pytest.approx(0.8 * 0.3 * 127.5)
    # debt: half of the builder's own build capex, plus a year of interest on the first draw
    own = 127.5 - 0.8 * 0.3 * 127.5
    assert t["Debt: drawn for capex"] == pytest.approx(0.5 * own)
    assert t["Interest capitalised during construction"] == pytest.approx(0.07 * 0.25 * own)
    equity = t["Partner equity"] + t["Builder equity"]
    assert t["Partner equity"] == pytest.approx(0.2 * equity)


def test_debt_balance_chart_draws_the_model_lines() -> None:
    s = load_preset("coreweave-spv")
    r = evaluate(s)
    fig = debt_balance_chart(s, r)
    line = next(tr for tr in fig.data if tr.type == "scatter")
    np.testing.assert_allclose(line.y, r.cash_flows["debt_balance"])
    assert "US$ B" in fig.layout.yaxis.title.text
    assert "85%" in fig.layout.title.text
    fig2 = equity_vs_project_chart(s, r)
    eq = fig2.data[1]
    np.testing.assert_allclose(eq.y, np.cumsum(r.cash_flows["fcf_to_equity"]))


def test_equity_kpis_only_with_financing_and_dscr_only_with_debt() -> None:
    assert equity_kpis(evaluate(load_preset("bofa-base"))) == []
    labels = [k[0] for k in equity_kpis(evaluate(load_preset("coreweave-spv")))]
    assert labels == ["Equity IRR", "NPV to equity", "Minimum DSCR"]
    jv = [k[0] for k in equity_kpis(evaluate(load_preset("meta-hyperion-jv")))]
    assert jv == ["Equity IRR", "NPV to equity"]
