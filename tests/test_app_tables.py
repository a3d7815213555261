"""Tables people paste: every row, one format per unit, no code names or "None" (methodology §12)."""

from __future__ import annotations

import re

from model import FIELD_NAMES, FIELD_SPECS, load_preset
from model.sensitivity import tornado
from model.uncertainty import default_distributions
from tests.test_app import assert_clean, run_app


def _cells(frame) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(v) for v in frame.to_numpy().ravel()] + [str(i) for i in frame.index]


def test_tornado_table_every_row_percent_and_sources_in_full() -> None:
    at = run_app(tab="Sensitivity", groups_open=False)
    assert_clean(at)
    table = at.table[0].value
    expected = tornado(load_preset("bofa-base"))
    assert len(table) == len(expected)  # every input, none hidden behind a scroll bar
    wacc = table.loc["WACC (% per year)"]
    assert (wacc["As set"], wacc["Low"], wacc["High"]) == ("8.7%", "7.4%", "10%")
    assert wacc["NPV at WACC at low"].startswith("US$ ")
    assert re.fullmatch(r"[+-]US\$ \d+\.\d B", wacc["Swing (high - low)"])
    sources = set(table["Range source"])
    assert "Third-party estimate of Meta's WACC range" in sources
    cells = _cells(table)
    assert not any(c in ("None", "nan") for c in cells)
    assert not any(name in c for c in cells for name in FIELD_NAMES if "_" in name)


def test_monte_carlo_tables_every_row_and_no_none() -> None:
    at = run_app(tab="Uncertainty", groups_open=False)
    assert_clean(at)
    drawn = next(t.value for t in at.table if "Drawn for the scenario as set" in t.value.columns)
    # every uncertain input of data/distributions.toml, by its label
    names = default_distributions().distributions
    assert list(drawn.index) == [FIELD_SPECS[f].label for f in names]
    bonus = drawn.loc["Bonus depreciation", "Drawn for the scenario as set"]
    assert "every draw is 0.0%" in bonus  # the shifted range below 0 is truncated, and says so
    for t in at.table:
        assert not any(c in ("None", "nan") for c in _cells(t.value)), t.value
    editor = next(df.value for df in at.dataframe if "reference" in df.value.columns)
    assert editor["mode"].notna().all()  # no "None" cell for distributions without a mode
