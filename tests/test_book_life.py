"""Book life apart from service life (methodology section 11.8)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app import state
from model import evaluate, evaluate_batch, load_preset
from model.derived import BOOK_LIFE_GRID, depreciation_life_paths
from model.io import FORMAT_VERSION, parse_scenario_text, to_toml

PRESETS = ("bofa-base", "market-base", "coreweave-spv", "meta-hyperion-jv", "epoch-1gw")


def _pretax(result) -> np.ndarray:  # type: ignore[no-untyped-def]
    cf = result.cash_flows
    return np.asarray(cf["ebitda"] - cf["capex"] + cf["residual_value"])


@settings(max_examples=40, deadline=None)
@given(
    preset=st.sampled_from(PRESETS),
    book=st.floats(1.0, 15.0),
    service=st.floats(1.0, 15.0),
)
def test_the_book_life_moves_no_cash(preset: str, book: float, service: float) -> None:
    """Section 11.8: pre-tax cash flows are identical for every book life, after-tax cash and
    every value metric equal to rounding (tax straight-line stays on the service life)."""
    base = load_preset(preset).replace(it_life_years=service, it_book_life_years=service)
    moved = base.replace(it_book_life_years=book)
    a, b = evaluate(base), evaluate(moved)
    assert np.array_equal(_pretax(a), _pretax(b))
    np.testing.assert_allclose(b.cash_flows["fcf"], a.cash_flows["fcf"], rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(
        b.cash_flows["fcf_to_equity"], a.cash_flows["fcf_to_equity"], rtol=1e-12, atol=1e-10
    )
    assert b.npv_busd == pytest.approx(a.npv_busd, rel=1e-12, abs=1e-10)
    assert b.npv_equity_busd == pytest.approx(a.npv_equity_busd, rel=1e-12, abs=1e-10)
    # the book: every cost placed is charged or left on the books at the horizon
    cf = b.cash_flows
    nbv_end = float(np.asarray(cf["net_book_value"])[-1])
    gain_end = float(np.asarray(cf["residual_gain"])[-1])
    resid_end = float(np.asarray(cf["residual_value"])[-1])
    assert resid_end - gain_end == pytest.approx(nbv_end, rel=1e-9, abs=1e-9)
    assert (np.asarray(cf["depreciation"]) >= -1e-12).all()


def test_a_book_life_longer_than_service_writes_the_rest_off_at_each_refresh() -> None:
    """bofa-base: IT 38.25 B a vintage, service 5.5 years, book 6: 6.375 a year plus a
    write-off of 38.25 x (1 - 5.5 / 6) = 3.1875 in the year of each retirement."""
    s = load_preset("bofa-base").replace(it_book_life_years=6.0)
    cf = evaluate(s).cash_flows
    fac = s.gw_built * s.capex_per_gw_busd * (1 - s.it_share_of_capex) / s.facility_life_years
    it = np.asarray(cf["depreciation"])[2:] - fac
    cost = s.gw_built * s.capex_per_gw_busd * s.it_share_of_capex
    # retirements at 2 + 5.5 = 7.5 (year 7) and 13.0 (year 12, the year ending at 13)
    expected = np.full(it.shape, cost / 6.0)
    expected[[7 - 2, 12 - 2]] += cost * (1 - 5.5 / 6.0)
    np.testing.assert_allclose(it, expected, rtol=1e-12)
    # the vintage in service at 16 has run 3 of its 6 book years
    nbv_end = float(np.asarray(cf["net_book_value"])[-1])
    nbv_fac = evaluate(s.replace(it_book_life_years=5.5)).cash_flows["net_book_value"]
    nbv_fac_end = float(np.asarray(nbv_fac)[-1]) - cost * (1 - 3.0 / 5.5)
    assert nbv_end == pytest.approx(nbv_fac_end + cost * 0.5, rel=1e-12)


def test_a_shorter_book_life_charges_early_and_nothing_after() -> None:
    s = load_preset("bofa-base").replace(it_book_life_years=3.0)
    cf = evaluate(s).cash_flows
    cost = s.gw_built * s.capex_per_gw_busd * s.it_share_of_capex
    fac = s.gw_built * s.capex_per_gw_busd * (1 - s.it_share_of_capex) / s.facility_life_years
    it = np.asarray(cf["depreciation"]) - np.where(np.asarray(cf["operating"]), fac, 0.0)
    # vintage 0 from 2: charged 2..5 (3 years), idle 5..7.5, vintage 1 from 7.5 to 10.5
    np.testing.assert_allclose(it[2:5], cost / 3.0, rtol=1e-12)
    assert it[5] == pytest.approx(0.0, abs=1e-9) and it[6] == pytest.approx(0.0, abs=1e-9)
    assert it[7] == pytest.approx(cost / 3.0 * 0.5, rel=1e-12)


def test_old_files_and_links_depreciate_over_the_life_they_set() -> None:
    """Section 11.8: a file or link without it_book_life_years keeps book life = IT life."""
    s = load_preset("market-base").replace(it_life_years=3.0, it_book_life_years=3.0)
    text = to_toml(s, "market-base")
    assert f"version = {FORMAT_VERSION}" in text
    old = "\n".join(
        line
        for line in text.replace(f"version = {FORMAT_VERSION}", "version = 2").splitlines()
        if not line.startswith("it_book_life_years")
    )
    loaded = parse_scenario_text(old, "toml")[0]
    assert loaded == s and loaded.it_book_life_years == 3.0
    # a link that sets the IT life (an old one: no book life) keeps the book life with it
    link = {"preset": "market-base", "it_life_years": "3", "entrant_profile": "neocloud"}
    read = state.parse_query_params(link)[1]
    assert read.it_book_life_years == 3.0 and read.it_life_years == 3.0
    # a link written today names the book life; a preset alone is the preset as it is
    moved = load_preset("market-base").replace(it_life_years=3.0)
    written = state.query_params_for("market-base", moved)
    assert written["it_book_life_years"] == "5.5"
    assert state.parse_query_params(written)[1] == moved
    assert state.parse_query_params({"preset": "coreweave-spv"})[1] == load_preset("coreweave-spv")


def test_depreciation_life_paths_share_their_cash_and_split_their_eps() -> None:
    s = load_preset("bofa-base")
    paths = depreciation_life_paths(s)
    assert sorted(paths["book_life_years"].unique()) == sorted(BOOK_LIFE_GRID)
    wide = paths.pivot(index="year", columns="book_life_years", values="pretax_cash_busd")
    assert (wide.nunique(axis=1) == 1).all()
    eps = paths.pivot(index="year", columns="book_life_years", values="eps_usd")
    # GAAP tax at the rate on book income: EPS x shares = (1 - tax) x EBIT before the horizon
    ebit = paths.pivot(index="year", columns="book_life_years", values="operating_income_busd")
    np.testing.assert_allclose(
        eps.iloc[:-1].to_numpy() * s.shares_outstanding_b,
        (1 - s.tax_rate) * ebit.iloc[:-1].to_numpy(),
        rtol=1e-12,
        atol=1e-12,
    )
    # a 3-year book life reports less in the first operating years than 5.5 or 6
    assert eps.loc[2, 3.0] < eps.loc[2, 5.5] < eps.loc[2, 6.0]
    # the 5.5-year column is the scenario's own result
    r = evaluate(s)
    np.testing.assert_allclose(ebit[5.5].to_numpy(), np.asarray(r.cash_flows["ebit"]), rtol=1e-12)


def test_batch_equals_single_with_a_book_life_apart() -> None:
    base = load_preset("meta-hyperion-jv")
    table = pd.DataFrame({"it_book_life_years": [3.0, 5.5, 6.0, 9.0], "it_life_years": 4.5})
    batch = evaluate_batch(table, base)
    for i, row in table.iterrows():
        one = evaluate(base.replace(**row.to_dict()))
        assert batch["roic"][i] == pytest.approx(one.roic, rel=1e-12)
        assert batch["npv_busd"][i] == pytest.approx(one.npv_busd, rel=1e-12)


def test_every_legacy_field_names_the_version_that_added_it() -> None:
    from model.io import LEGACY_FIELDS, LEGACY_SINCE, READ_VERSIONS

    assert set(LEGACY_FIELDS) == set(LEGACY_SINCE)
    assert all(v in READ_VERSIONS and v > min(READ_VERSIONS) for v in LEGACY_SINCE.values())
    # a version-2 file keeps its entrant as written but lacks the book life: its IT life's
    text = 'version = 2\npreset = "coreweave-spv"\n[scenario]\nit_life_years = 4.0\n'
    s = parse_scenario_text(text, "toml")[0]
    assert s.it_book_life_years == 4.0 and s.entrant_profile_name == "neocloud"
