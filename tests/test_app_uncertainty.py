"""The Uncertainty tab in AppTest (methodology §9, Monte Carlo): its default run is
``monte_carlo(scenario)``, its numbers follow the scenario, absolute ranges remain an option, the
gap between point estimate and median is explained, and no raw metric name reaches the screen."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from model import BATCH_METRICS, evaluate, load_preset
from model.metrics import format_metric
from model.uncertainty import DEFAULT_DRAWS, monte_carlo

APP = str(Path(__file__).resolve().parents[1] / "app" / "streamlit_app.py")


def _app(params: dict[str, str] | None = None, ranges: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    for k, v in (params or {}).items():
        at.query_params[k] = v
    at.session_state["tab"] = "Uncertainty"
    if ranges is not None:
        at.session_state["unc_ranges"] = ranges
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def _kpi(at: AppTest, label: str) -> str:
    for m in at.metric:
        if m.label == label:
            return str(m.value)
    raise AssertionError(f"no KPI {label!r} in {[m.label for m in at.metric]}")


def _number(text: str) -> float:
    """-US$ 7.3 B -> -7.3; 63.5% -> 63.5."""
    found = re.search(r"(-?)(?:US\$ ?)?(\d[\d,]*\.?\d*)", text)
    assert found, text
    return float(found.group(1) + found.group(2).replace(",", ""))


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def test_default_tab_shows_the_shared_default_run() -> None:
    at = _app()
    mc = monte_carlo(load_preset("bofa-base"))
    assert mc.n == DEFAULT_DRAWS
    npv = mc.summary.loc["npv_busd"]
    assert _kpi(at, "NPV as set (point estimate)") == format_metric("npv_busd", npv["point"])
    assert _kpi(at, "Median NPV (P50)") == format_metric("npv_busd", npv["p50"])
    assert _kpi(at, "Mean NPV") == format_metric("npv_busd", npv["mean"])
    assert _kpi(at, "Probability of loss") == f"{mc.prob_loss * 100:.1f}%"
    # the gap is explained in plain words, the same words as the model's
    assert any(_unescape(i.value) == mc.gap.reason for i in at.info)
    assert any("follow the scenario" in _unescape(m.value) for m in at.markdown)


@pytest.mark.parametrize("follow", [True, False])
def test_tab_numbers_follow_the_scenario_unless_absolute(follow: bool) -> None:
    cases = {
        "bear": {"preset": "bofa-bear"},
        "base": {"preset": "bofa-base"},
        "bull": {"preset": "bofa-bull"},
        # a link written today (without these it reads their old meanings, sections 2.4-2.5, 4.7)
        "lease20": {
            "preset": "bofa-base",
            "lease_rate_busd_per_gw_year": "20",
            "entrant_profile": "neocloud",
            "scarcity_multiple_max": "2",
            "refresh_rule": "when_it_pays",  # (section 2.4)
            "facility_residual": "annuity",  # (section 2.5)
        },
    }
    shown = {}
    for name, params in cases.items():
        at = _app(params, None if follow else "Absolute ranges (as sourced)")
        shown[name] = (
            _number(_kpi(at, "NPV as set (point estimate)")),
            _number(_kpi(at, "Median NPV (P50)")),
            _number(_kpi(at, "Probability of loss")),
        )
    point = {k: v[0] for k, v in shown.items()}
    assert point["bear"] < point["base"] < point["bull"] < point["lease20"]
    assert point["base"] == pytest.approx(evaluate(load_preset("bofa-base")).npv_busd, abs=0.05)
    p50 = {k: v[1] for k, v in shown.items()}
    loss = {k: v[2] for k, v in shown.items()}
    if follow:
        assert p50["bear"] < p50["base"] < p50["bull"] < p50["lease20"]
        assert loss["bear"] > loss["base"] > loss["bull"] >= loss["lease20"]
    else:
        # absolute ranges: the drawn inputs ignore the values as set, as before
        assert len(set(p50.values())) == 1 and len(set(loss.values())) == 1
        assert any("Absolute ranges" in _unescape(c.value) for c in at.caption)


def _all_text(at: AppTest) -> str:
    parts = [m.label + " " + str(m.value) for m in at.metric]
    parts += [e.value for kind in ("info", "caption", "markdown", "warning") for e in at.get(kind)]
    for df in at.dataframe:
        v = df.value
        if "field" in v.columns:  # the editors: their raw-name key column is hidden on screen
            continue
        parts.append(" ".join(map(str, v.columns)) + " " + v.to_string())
    for table in at.table:  # the read-only tables: every row shown, cells wrapped
        v = table.value
        parts.append(" ".join(map(str, v.columns)) + " " + v.to_string())
    return "\n".join(parts)


def test_no_raw_metric_names_and_rates_in_percent() -> None:
    at = _app({"preset": "bofa-bull"})
    text = _all_text(at)
    for name in BATCH_METRICS:
        assert not re.search(rf"\b{name}\b", text), name
    summary = next(tb.value for tb in at.table if tb.value.index.name == "Metric")
    irr = summary.loc["IRR"]
    for col in ("As set (point estimate)", "P10", "P50 (median)", "P90", "Mean"):
        assert irr[col].endswith("%"), irr[col]
    editor = next(df.value for df in at.dataframe if "reference" in df.value.columns)
    wacc = editor.set_index("field").loc["wacc"]
    assert wacc["low"] == pytest.approx(7.4) and wacc["high"] == pytest.approx(10.0)  # in %
    assert "WACC (% per year)" in wacc["input"]


def test_preview_of_a_scaled_range_below_zero_says_the_runs_refusal() -> None:
    """An input set below 0 with a range that scales (§9, following the scenario): the preview
    names the field, the value and the remedy, as the run's MonteCarloError does, never the
    flipped range the scaling would give (0.0975 x -0.25/0.0975 ... reversed)."""
    from model import FIELD_NAMES
    from model.uncertainty import MonteCarloError, default_distributions, monte_carlo

    field = "market_reaction_excess_return"
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params["preset"] = "bofa-base"
    at.query_params[field] = "-0.25"
    at.session_state["tab"] = "Uncertainty"
    at.session_state["unc_fields"] = [*default_distributions().distributions, field]
    # the analyst chose "scaled with the value as set" for it (its default row shifts)
    spec = {"kind": "triangular", "low": 0.05, "mode": 0.0975, "high": 0.15, "follow": "scale"}
    at.session_state["unc_store"] = {
        field: {"field": field, **spec, "reference": 0.0975, "source": "test"}
    }
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    drawn = next(t.value for t in at.table if "Drawn for the scenario as set" in t.value.columns)
    text = drawn.loc["Market reaction", "Drawn for the scenario as set"]
    assert text.startswith("cannot run: market_reaction_excess_return = -0.25"), text
    assert "follow = 'shift'" in text and "%" not in text  # no range, flipped or not
    scenario = load_preset("bofa-base").replace(**{field: -0.25})
    with pytest.raises(MonteCarloError) as info:
        monte_carlo(scenario, {field: {**spec, "reference": 0.0975}}, n=100)
    assert text == f"cannot run: {info.value}"  # the run's own words
    assert field in FIELD_NAMES
    # the other rows still preview their ranges
    assert "cannot run" not in drawn.loc["Capex per GW", "Drawn for the scenario as set"]
