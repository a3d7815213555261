"""Dated price curves for the lease rate (methodology section 4.8) and calendar years
(methodology section 1): the curve is followed in its years, the closed form rebased at its ends,
the bounds hold in the years no curve gives, files and links carry curves exactly, and hostile
curves are refused with a message naming the year, the value and the allowed range."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_properties import scenarios as every_field

from app.state import parse_query_params, query_params_for
from model import engine, evaluate, load_preset
from model.conditions import conditions_of
from model.curves import (
    MAX_POINTS,
    UNIT_GPU_HOUR,
    CurveError,
    LeaseCurve,
    curve_from_link,
    link_params,
    make_curve,
)
from model.io import parse_scenario_text, to_json, to_toml
from model.results import scenario_params
from model.scenario import Scenario, ScenarioError

PRESETS = ("bofa-base", "market-base", "coreweave-spv")


def _rent_busd(result: object) -> np.ndarray:
    r = result
    return np.asarray(r.market["lease_rate_index"]) * r.scenario.lease_rate_busd_per_gw_year  # type: ignore[attr-defined]


@pytest.mark.parametrize("preset", PRESETS)
def test_a_dated_curve_is_followed_in_its_years(preset: str) -> None:
    """Section 4.8: in every year the curve gives (its points and the years between them, read
    at the start of each calendar year as the market table is), the frontier rent is the curve,
    log-linear between points, to 1e-9."""
    s = load_preset(preset)
    points = {2027: 9.0, 2029: 16.0, 2032: 11.0}
    r = evaluate(s.replace(lease_curve=make_curve(points)))
    years = r.calendar_years
    rent = _rent_busd(r)
    for y, v in points.items():
        assert rent[years == y][0] == pytest.approx(v, rel=1e-9)
    # 2028 is the geometric mean of 2027 and 2029; 2030 one third of the way in logs
    assert rent[years == 2028][0] == pytest.approx(math.sqrt(9.0 * 16.0), rel=1e-9)
    want_2030 = math.exp(math.log(16.0) + (math.log(11.0) - math.log(16.0)) / 3.0)
    assert rent[years == 2030][0] == pytest.approx(want_2030, rel=1e-9)
    # the curve moves NPV: the closed form alone is not what was followed
    assert r.npv_busd != evaluate(s).npv_busd


def test_a_curve_per_gpu_hour_of_a_named_vintage_is_converted_as_stated() -> None:
    """Section 4.8: US$ per GPU-hour x GPUs per GW x 8,760 h / 1e9 is US$ B per GW-year; a
    vintage of age a rents for (1 - h)^a of the frontier, so the frontier is the rent over it."""
    s = load_preset("market-base").replace(first_year=2024)
    curve = make_curve(
        {2025: 1.70, 2026: 2.35}, unit=UNIT_GPU_HOUR, gpus_per_gw=578_035, basis="age 2"
    )
    r = evaluate(s.replace(lease_curve=curve))
    rent = _rent_busd(r)
    keep = (1.0 - s.hardware_cost_decline_per_year) ** 2
    for i, price in ((1, 1.70), (2, 2.35)):
        assert rent[i] * keep == pytest.approx(price * 578_035 * 8760 / 1e9, rel=1e-9)
    # the scenario's own GPU count where the curve names none
    r2 = evaluate(s.replace(lease_curve=make_curve({2025: 1.70}, unit=UNIT_GPU_HOUR)))
    assert _rent_busd(r2)[1] == pytest.approx(1.70 * s.gpus_per_gw * 8760 / 1e9, rel=1e-9)


def test_a_curve_of_contract_rents_is_read_as_the_spot_they_imply() -> None:
    """Section 4.8: a tenor-m curve is the level rent of an m-year contract; the frontier's
    spot rent at its date is the value over the closed form's level-to-spot ratio there, so a
    curve equal to the closed form's own m-year rents leaves the frontier where it was."""
    s = load_preset("market-base")
    p = scenario_params([s])
    base = evaluate(s)
    level3 = np.asarray(base.market["contract_rate_index_3y"]) * s.lease_rate_busd_per_gw_year
    years = base.calendar_years
    pts = {int(years[i]): float(level3[i]) for i in (3, 4)}
    r = evaluate(s.replace(lease_curve=make_curve(pts, tenor_years=3)))
    spot0, spot = _rent_busd(base), _rent_busd(r)
    for i in (3, 4):
        assert spot[i] == pytest.approx(spot0[i], rel=1e-9)
    assert p  # (the parameters the engine read)


@pytest.mark.parametrize("preset", ["market-base", "coreweave-spv"])
def test_the_closed_form_is_rebased_at_the_curves_ends_without_a_jump(preset: str) -> None:
    """Section 4.8: just before the first point and just after the last one the frontier is
    within 1e-6 (relative) of the curve's end values, where those lie within the bounds."""
    s = load_preset(preset)
    p = scenario_params([s])
    uc = engine._unit_costs(p)
    mk = engine._market(p, uc)
    base = mk.frontier(np.array([[2.0, 5.0]]))[0]  # inside the bounds at both ends
    rate = s.lease_rate_busd_per_gw_year
    curve = make_curve({2028: float(base[0] * rate), 2031: float(base[1] * rate * 0.97)})
    mc = engine._with_curve(p, uc, mk, curve)
    eps = 1e-7
    tau = np.array([[2.0 - eps, 2.0, 2.0 + eps, 5.0 - eps, 5.0, 5.0 + eps]])
    f = mc.frontier(tau)[0]
    assert f[0] == pytest.approx(f[1], rel=1e-6) and f[2] == pytest.approx(f[1], rel=1e-6)
    assert f[3] == pytest.approx(f[4], rel=1e-6) and f[5] == pytest.approx(f[4], rel=1e-6)
    # and far outside the span the closed form moves as before: its slope in logs is kept
    far = mc.frontier(np.array([[9.0, 10.0]]))[0]
    far0 = mk.frontier(np.array([[9.0, 10.0]]))[0]
    floor, cap = float(uc.floor_idx[0, 0]), float(mk.ceiling(np.array([[10.0]]))[0, 0])
    if floor < far0[0] < cap and floor < far[0] < cap and far[1] < cap and far0[1] < cap:
        assert far[1] / far[0] == pytest.approx(far0[1] / far0[0], rel=1e-9)


@st.composite
def _curves(draw: st.DrawFn) -> LeaseCurve:
    n = draw(st.integers(1, 6))
    years = draw(st.lists(st.integers(2020, 2060), min_size=n, max_size=n, unique=True))
    values = draw(st.lists(st.floats(0.5, 60.0, allow_nan=False), min_size=n, max_size=n))
    unit = draw(st.sampled_from(["busd_per_gw_year", "usd_per_gpu_hour"]))
    if unit == "usd_per_gpu_hour":
        values = [v / 5.0 for v in values]
    gpus = draw(st.none() | st.floats(100_000, 2_000_000))
    return make_curve(
        dict(zip(years, values, strict=True)),
        unit=unit,
        gpus_per_gw=gpus,
        tenor_years=draw(st.sampled_from([0.0, 1.0, 3.0, 2.5])),
        basis=draw(st.sampled_from(["frontier", "age 1", "age 3.5"])),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(s=every_field(), curve=_curves())
def test_bounds_hold_in_the_years_no_curve_gives(s: Scenario, curve: LeaseCurve) -> None:
    """Section 4.8 (with 4.2 and 4.7), over every field's bounds: outside the curve's span the
    rebased closed form is bounded as everywhere, floor <= frontier <= ceiling (the ceiling is
    at most max(S, u_e), section 4.7); inside it the curve is followed, finite and positive."""
    r = evaluate(s.replace(lease_curve=curve))
    m = r.market
    years = r.calendar_years
    rent = np.asarray(m["lease_rate_index"])
    floor = np.asarray(m["lease_rate_floor_index"])
    ceiling = np.asarray(m["lease_rate_ceiling_index"])
    assert np.all(np.isfinite(rent)) and np.all(rent > 0)
    outside = (years < curve.years[0]) | (years > curve.years[-1])
    tol = 1e-9 * np.maximum(1.0, rent)
    assert np.all(floor[outside] <= rent[outside] + tol[outside])
    assert np.all(rent[outside] <= ceiling[outside] + tol[outside])
    assert math.isfinite(r.npv_busd)


@settings(max_examples=80, deadline=None)
@given(curve=_curves(), preset=st.sampled_from(PRESETS))
def test_files_and_links_carry_a_curve_exactly(curve: LeaseCurve, preset: str) -> None:
    """Section 4.8: TOML, JSON and a share link read back the identical curve (every value to
    the bit), with the rest of the scenario."""
    s = load_preset(preset).replace(gw_built=2.5, lease_curve=curve)
    for text, fmt in ((to_toml(s, preset), "toml"), (to_json(s, preset), "json")):
        back, pid = parse_scenario_text(text, fmt)
        assert pid == preset and back == s and back.lease_curve == curve
    pid, back, warnings = parse_query_params(query_params_for(preset, s))
    assert warnings == [] and pid == preset and back == s
    assert curve_from_link(link_params(curve)) == curve


def test_a_scenario_without_a_curve_writes_and_reads_none() -> None:
    s = load_preset()
    assert "curves" not in to_toml(s) and "curves" not in json.loads(to_json(s))
    assert not any(k.startswith("curve_") for k in query_params_for("bofa-base", s))
    assert parse_scenario_text(to_toml(s), "toml")[0].lease_curve is None


HOSTILE_POINTS: list[tuple[object, str]] = [
    ({2026: "abc"}, "curve value for 2026 = 'abc' is not a number (allowed: a number from 0.01"),
    ({2026: float("nan")}, "curve value for 2026 = nan is not a finite number"),
    ({2026: float("inf")}, "curve value for 2026 = inf is not a finite number"),
    ({2026: -3.0}, "curve value for 2026 = -3.0 is out of range (allowed: a number from 0.01 to"),
    ({2026: 0.0}, "curve value for 2026 = 0.0 is out of range"),
    ({1999: 12.0}, "curve year 1999 is out of range (allowed: a whole calendar year from 2000"),
    ({2101: 12.0}, "curve year 2101 is out of range"),
    ({"20x6": 12.0}, "curve year '20x6' is not a calendar year"),
    ({2026.5: 12.0}, "curve year 2026.5 is not a calendar year"),
    ({True: 12.0}, "curve year True is not a calendar year"),
    ({2026: True}, "curve value for 2026 = True is not a number"),
    ({}, "curve has no points (allowed: 1 to 100)"),
    ({2000 + i: 1.0 for i in range(MAX_POINTS + 1)}, "curve has 101 points (allowed: 1 to 100)"),
]


@pytest.mark.parametrize(("points", "message"), HOSTILE_POINTS)
def test_hostile_curves_are_refused_with_a_clear_message(points: object, message: str) -> None:
    """Section 4.8: a bad year or value is named with the allowed range."""
    with pytest.raises(CurveError) as info:
        make_curve(points)  # type: ignore[arg-type]
    assert any(message in p for p in info.value.problems), info.value.problems


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        ({"unit": "eur"}, "curve unit = 'eur' is not a unit"),
        ({"tenor_years": -1}, "curve tenor_years = -1 is out of range"),
        ({"tenor_years": "x"}, "curve tenor_years = 'x' is not a number"),
        ({"basis": "age -2"}, "curve basis = 'age -2' is not a basis"),
        ({"basis": "age 99"}, "curve basis = 'age 99' is out of range"),
        ({"basis": 3}, "curve basis = 3 is not a basis"),
        (
            {"unit": "usd_per_gpu_hour", "gpus_per_gw": 1e12},
            "curve gpus_per_gw = 1000000000000.0 is out of range",
        ),
    ],
)
def test_hostile_curve_tags_are_refused(tags: dict, message: str) -> None:
    with pytest.raises(CurveError) as info:
        make_curve({2026: 1.0}, **tags)
    assert any(message in p for p in info.value.problems), info.value.problems


def test_a_file_with_a_bad_curve_names_every_problem_and_a_link_keeps_the_rest() -> None:
    """Section 4.8: a file lists the curve's problems with the others, in one message each; a
    link drops the curve with a warning and keeps every other input."""
    text = (
        '[scenario]\ngw_built = 4.0\n\n[curves.lease_rate]\nunit = "usd_per_gpu_hour"\n'
        '[curves.lease_rate.points]\n2026 = "x"\n1990 = 2.0\n2030 = nan\n'
    )
    with pytest.raises(ScenarioError) as info:
        parse_scenario_text(text, "toml")
    problems = info.value.problems
    assert (
        "curve value for 2026 = 'x' is not a number (allowed: a number from 0.001 to 100 US$ per GPU-hour)"
        in problems
    )
    assert any("curve year 1990 is out of range" in p for p in problems)
    assert any("curve value for 2030 = nan is not a finite number" in p for p in problems)
    for bad in ("[curves]\nsomething = 1\n", '[curves.lease_rate]\nunit = "busd_per_gw_year"\n'):
        with pytest.raises(ScenarioError):
            parse_scenario_text("[scenario]\ngw_built = 4.0\n" + bad, "toml")
    doc = {"scenario": {"gw_built": 4.0}, "curves": {"lease_rate": {"points": {"2026": 1e400}}}}
    with pytest.raises(ScenarioError):
        parse_scenario_text(json.dumps(doc).replace("Infinity", "1e400"), "json")
    # a link: the curve is dropped, gw_built kept
    _, s, warnings = parse_query_params(
        {"preset": "bofa-base", "gw_built": "4", "curve_lease": "2026:abc,1999:3"}
    )
    assert s.gw_built == 4.0 and s.lease_curve is None
    assert any("curve value for 2026 = 'abc' is not a number" in w for w in warnings)
    assert any("curve year 1999 is out of range" in w for w in warnings)
    many = ",".join(f"{2000 + i}:1" for i in range(MAX_POINTS + 1))
    assert "101 points" in parse_query_params({"curve_lease": many})[2][0]
    assert "too long" in parse_query_params({"curve_lease": "1" * 5000})[2][0]
    assert "without curve_lease" in parse_query_params({"curve_lease_tenor": "1"})[2][0]
    assert "given 2 times" in parse_query_params({"curve_lease": ["2026:1", "2027:1"]})[2][0]


def test_the_condition_names_the_years_a_curve_crosses_a_bound() -> None:
    """Section 4.8: bofa-base's still market holds the ceiling at today's rate: a curve above
    it is flagged in the years it is above, and a curve within the bounds is not."""
    s = load_preset("bofa-base")
    r = evaluate(s.replace(lease_curve=make_curve({2027: 13.0, 2029: 15.0})))
    found = [c for c in conditions_of(r) if c.code == "curve_crosses_bound"]
    assert len(found) == 1 and "2027, 2028, 2029" in found[0].text and "2030" not in found[0].text
    r = evaluate(s.replace(lease_curve=make_curve({2027: 12.0, 2029: 11.0})))
    assert not [c for c in conditions_of(r) if c.code == "curve_crosses_bound"]


def test_calendar_years_label_every_table_and_move_no_number() -> None:
    """Section 1: first_year labels the years (first_year + t) and changes no cash flow."""
    s = load_preset("market-base")
    a, b = evaluate(s), evaluate(s.replace(first_year=2031))
    assert a.npv_busd == b.npv_busd
    assert (
        b.calendar_years[0] == 2031
        and b.dated_cash_flows["year"].iloc[-1] == 2031 + len(b.cash_flows) - 1
    )
    assert (b.dated_market["year_index"] == b.market["year"]).all()
    # a curve is read against first_year: the same curve, one year later, in the next row
    c = make_curve({2033: 14.0})
    ra, rb = evaluate(s.replace(lease_curve=c)), evaluate(s.replace(first_year=2027, lease_curve=c))
    assert _rent_busd(ra)[7] == pytest.approx(14.0, rel=1e-9)
    assert _rent_busd(rb)[6] == pytest.approx(14.0, rel=1e-9)


def test_a_batch_follows_its_base_scenarios_curve() -> None:
    """Section 4.8: evaluate_batch's rows follow the base scenario's curve (the Monte Carlo and
    the sensitivities of a scenario with a curve), row by row as evaluate."""
    from model import evaluate_batch

    s = load_preset("market-base").replace(lease_curve=make_curve({2027: 14.0, 2030: 12.0}))
    batch = evaluate_batch({"wacc": [0.08, 0.1]}, s)
    for i, w in enumerate((0.08, 0.1)):
        assert batch["npv_busd"].iloc[i] == pytest.approx(
            evaluate(s.replace(wacc=w)).npv_busd, rel=1e-12
        )
