"""The dashboard's dated lease-rate curve (methodology section 4.8): a share link's curve is
followed and written back, the sidebar's table and tags edit it, a bad cell or tag shows its
message while the dashboard keeps working, and calendar years label the tables (section 1)."""

from __future__ import annotations

import pandas as pd
import pytest
from test_app import kpi, run_app

from app import state
from app.curve_editor import curve_frame, curve_from_table
from model import evaluate, load_preset
from model.curves import CurveError, make_curve

LINK = {"preset": "market-base", "curve_lease": "2027:14,2030:12"}


def _npv(scenario: object) -> float:
    return round(evaluate(scenario).npv_busd, 1)  # type: ignore[arg-type]


def test_a_links_curve_is_followed_shown_and_written_back() -> None:
    at = run_app(LINK)
    assert not at.exception
    curve = make_curve({2027: 14.0, 2030: 12.0})
    assert at.session_state[state.CURVE_KEY] == curve
    with_curve = load_preset("market-base").replace(lease_curve=curve)
    assert kpi(at, "NPV") == _npv(with_curve) != _npv(load_preset("market-base"))
    assert at.query_params["curve_lease"] == "2027:14,2030:12"  # the URL keeps it


def test_a_bad_tag_shows_its_message_and_keeps_the_last_valid_curve() -> None:
    at = run_app(LINK)
    (basis,) = [w for w in at.text_input if w.key and w.key.startswith("curve_basis_")]
    basis.set_value("age 99").run()
    assert not at.exception
    shown = [w.value.replace("\\", "") for w in at.warning]  # (Markdown escapes removed)
    assert any("curve basis = 'age 99' is out of range" in w for w in shown), shown
    assert at.session_state[state.CURVE_KEY] == make_curve({2027: 14.0, 2030: 12.0})
    (basis,) = [w for w in at.text_input if w.key and w.key.startswith("curve_basis_")]
    basis.set_value("age 1").run()
    curve = make_curve({2027: 14.0, 2030: 12.0}, basis="age 1")
    assert at.session_state[state.CURVE_KEY] == curve
    assert at.query_params["curve_lease_basis"] == "age:1"
    with_curve = load_preset("market-base").replace(lease_curve=curve)
    assert kpi(at, "NPV") == _npv(with_curve)


def test_a_bad_link_curve_is_dropped_with_a_warning_and_the_rest_kept() -> None:
    link = {"preset": "market-base", "gw_built": "4", "curve_lease": "2027:abc"}
    at = run_app(link)
    assert not at.exception
    assert at.session_state[state.CURVE_KEY] is None
    shown = " ".join(w.value.replace("\\", "") for w in at.warning)
    assert "curve value for 2027" in shown and "is not a number" in shown
    # the other inputs as the link gives them (gw_built 4, with a link's older meanings)
    _, expected, _ = state.parse_query_params(link)
    assert expected.gw_built == 4.0 and expected.lease_curve is None
    assert kpi(at, "NPV") == _npv(expected)


def test_the_table_reads_back_its_curve_and_names_a_bad_cell() -> None:
    """Section 4.8: the table of a curve gives the curve back; an empty table no curve; a bad
    cell is named by its year and value."""
    curve = make_curve({2026: 2.35, 2027: 2.6}, unit="usd_per_gpu_hour", tenor_years=1.0)
    frame = curve_frame(curve)
    assert curve_from_table(frame, curve.unit, 0.0, 1.0, "frontier") == curve
    assert curve_from_table(curve_frame(None), "busd_per_gw_year", 0.0, 0.0, "frontier") is None
    bad = pd.DataFrame({"year": [2026, 2040], "value": [2.35, float("nan")]})
    with pytest.raises(CurveError, match="curve value for 2040 = nan is not a finite number"):
        curve_from_table(bad, "usd_per_gpu_hour", 0.0, 0.0, "frontier")
    no_year = pd.DataFrame({"year": pd.Series([None], dtype="Int64"), "value": [3.0]})
    with pytest.raises(CurveError, match="curve year None is not a calendar year"):
        curve_from_table(no_year, "busd_per_gw_year", 0.0, 0.0, "frontier")


def test_the_analyses_keep_the_curve_and_the_table_shows_it() -> None:
    """Section 4.8: the sidebar's table shows the link's curve, and the analyses' cached
    inputs carry the curve (model.scenario.scenario_values), so a stress test of a scenario
    with a curve is the scenario's, not the closed form's."""
    from app.views.stress import _stress
    from model.scenario import scenario_values
    from model.stress import stress_tests

    at = run_app(LINK)
    (table,) = at.dataframe
    assert table.value["year"].tolist() == [2027, 2030]
    assert table.value["value"].tolist() == [14.0, 12.0]
    curve = make_curve({2027: 14.0, 2030: 12.0})
    with_curve = load_preset("market-base").replace(lease_curve=curve)
    got = _stress(scenario_values(with_curve))
    pd.testing.assert_frame_equal(got, stress_tests(with_curve))
    assert not got["npv_busd"].equals(stress_tests(load_preset("market-base"))["npv_busd"])


def test_compare_keeps_a_saved_scenarios_curve() -> None:
    """Section 4.8: a scenario saved with its dated curve is compared with that curve (and the
    preset it started from without one)."""
    at = run_app(LINK)
    at.session_state["tab"] = "Compare"
    at.run()
    at.text_input(key="cmp_name").set_value("curved")
    next(b for b in at.button if b.label == "Save current scenario").click().run()
    assert not at.exception and not at.error
    kpis = next(t.value for t in at.table if t.value.index.name == "KPI")
    npv_row = next(label for label in kpis.index if str(label).startswith("NPV"))
    with_curve = load_preset("market-base").replace(
        lease_curve=make_curve({2027: 14.0, 2030: 12.0})
    )
    shown = str(kpis.loc[npv_row, "curved"])
    assert f"{evaluate(with_curve).npv_busd:.1f}" in shown, shown
    preset = str(kpis.loc[npv_row, "Preset: market-base"])
    assert f"{evaluate(load_preset('market-base')).npv_busd:.1f}" in preset, preset
