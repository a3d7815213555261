"""The scenario contract: defaults, bounds, and every kind of bad input rejected with a message
that names the field, the value and the allowed range."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import numpy as np
import pydantic
import pytest

from model import FIELD_NAMES, FIELD_SPECS, Scenario, ScenarioError, load_preset, make_scenario
from model.data import assumptions
from model.scenario import check_value, default_scenario, preset_ids

#: Field names other code, links and files rely on (the scenario contract): never renamed.
CONTRACT_FIELDS = [
    "gw_built",
    "capex_per_gw_busd",
    "it_share_of_capex",
    "build_years",
    "operating_years",
    "it_life_years",
    "facility_life_years",
    "wacc",
    "tax_rate",
    "power_price_usd_per_mwh",
    "pue",
    "lease_share",
    "hosting_share",
    "lease_rate_busd_per_gw_year",
    "lease_utilization",
    "contracted_share",
    "contract_years",
    "gpus_per_gw",
    "tokens_per_sec_per_gpu",
    "hosting_price_usd_per_m_tokens",
    "hosting_utilization",
    "efficiency_multiplier",
    "efficiency_diffusion",
    "price_pass_through",
    "demand_elasticity",
    "procured_gw",
    "procurement_cost_busd_per_gw_year",
    "shares_outstanding_b",
]


def test_contract_field_names_exist() -> None:
    assert set(CONTRACT_FIELDS) <= set(FIELD_NAMES)
    # every input field, plus the dated curve the scenario may carry (methodology 4.8), which is
    # not a field of the input table
    assert set(Scenario.model_fields) == {*FIELD_NAMES, "lease_curve"}


def test_defaults_are_the_sourced_values_and_bofa_base() -> None:
    s = Scenario()
    for name in FIELD_NAMES:
        assert getattr(s, name) == pytest.approx(assumptions()[name].value), name
    b = load_preset("bofa-base")
    assert (b.gw_built, b.capex_per_gw_busd, b.lease_rate_busd_per_gw_year) == (3.0, 42.5, 12.5)
    assert (b.lease_share, b.hosting_share, b.lease_utilization) == (1.0, 0.0, 1.0)
    assert b.efficiency_multiplier == 1.0 and b.procured_gw == 0.0
    assert default_scenario() == b
    assert preset_ids()[0] == "bofa-base"


def test_scenario_is_frozen_and_replace_validates() -> None:
    s = Scenario()
    with pytest.raises(pydantic.ValidationError):
        s.gw_built = 5.0  # type: ignore[misc]
    t = s.replace(gw_built=5.0)
    assert t.gw_built == 5.0 and s.gw_built == 3.0
    assert s.diff(t) == {"gw_built": (3.0, 5.0)}
    with pytest.raises(ScenarioError, match="gw_built"):
        s.replace(gw_built=0.0)


def test_integer_fields_take_whole_floats_and_numpy_numbers() -> None:
    s = Scenario(build_years=3.0, operating_years=np.int64(10), gw_built=np.float32(2.5))
    assert s.build_years == 3 and isinstance(s.build_years, int)
    assert s.operating_years == 10
    assert s.gw_built == 2.5


def test_bounds_are_inclusive() -> None:
    for name, spec in FIELD_SPECS.items():
        if name in ("lease_share", "hosting_share"):
            continue
        for edge in (spec.low, spec.high):
            value = int(edge) if spec.integer else edge
            assert getattr(Scenario(**{name: value}), name) == value


BAD: list[tuple[str, Any, str]] = [
    ("gw_built", math.nan, "not a finite number"),
    ("gw_built", math.inf, "not a finite number"),
    ("wacc", -math.inf, "not a finite number"),
    ("pue", np.float64("nan"), "not a finite number"),
    ("gw_built", 0.0, "out of range"),
    ("gw_built", 50.0001, "out of range"),
    ("wacc", -0.01, "out of range"),
    ("tax_rate", 0.51, "out of range"),
    ("lease_share", 1.5, "out of range"),
    ("build_years", 0, "out of range"),
    ("operating_years", 31, "out of range"),
    ("gw_built", 10**400, "out of range"),
    ("gw_built", "3.0", "not a number"),
    ("gw_built", "", "not a number"),
    ("gw_built", True, "not a number"),
    ("build_years", False, "not a number"),
    ("gw_built", None, "not a number"),
    ("gw_built", [3.0], "not a number"),
    ("gw_built", {"v": 3}, "not a number"),
    ("gw_built", Decimal("3.0"), "not a number"),
    ("gw_built", 3 + 0j, "not a number"),
    ("build_years", 2.5, "not a whole number"),
    ("contract_years", 4.000001, "not a whole number"),
]


@pytest.mark.parametrize(("name", "value", "kind"), BAD)
def test_bad_value_message_names_field_value_and_range(name: str, value: Any, kind: str) -> None:
    spec = FIELD_SPECS[name]
    with pytest.raises(ScenarioError) as info:
        make_scenario({name: value})
    assert len(info.value.problems) == 1
    msg = info.value.problems[0]
    assert msg.startswith(f"{name} = ")
    assert kind in msg
    assert f"from {spec.range_text()}" in msg
    shown = repr(value)
    assert shown[:30] in msg or "..." in msg
    # the same check through the public constructor (pydantic's error carries our message)
    with pytest.raises(pydantic.ValidationError) as exc:
        Scenario(**{name: value})
    assert name in str(exc.value) and spec.range_text() in str(exc.value)
    # check_value is the single source of these messages
    with pytest.raises(ValueError, match=name):
        check_value(name, value)


def test_unknown_fields_are_rejected_with_suggestions() -> None:
    with pytest.raises(ScenarioError) as info:
        make_scenario({"gw_buildt": 3.0})
    assert info.value.problems == [
        "unknown field 'gw_buildt' (not a scenario input; did you mean gw_built?)"
    ]
    with pytest.raises(ScenarioError, match="unknown field 'zzz'"):
        make_scenario({"zzz": 1})
    with pytest.raises(pydantic.ValidationError, match="gw_buildt"):
        Scenario(gw_buildt=3.0)  # type: ignore[call-arg]


def test_shares_summing_past_one() -> None:
    with pytest.raises(ScenarioError) as info:
        make_scenario({"lease_share": 0.7, "hosting_share": 0.5})
    msg = info.value.problems[0]
    assert "lease_share + hosting_share" in msg and "1.2" in msg and "at most 1" in msg
    # exactly one, and one within rounding, are fine
    assert Scenario(lease_share=0.7, hosting_share=0.3).hosting_share == 0.3
    assert Scenario(lease_share=0.1 + 0.2, hosting_share=0.7)


def test_several_bad_fields_are_all_reported() -> None:
    with pytest.raises(ScenarioError) as info:
        make_scenario({"gw_built": -1, "wacc": "x", "foo": 1})
    text = "; ".join(info.value.problems)
    assert len(info.value.problems) == 3
    for part in ("gw_built", "wacc", "foo"):
        assert part in text


def test_unknown_preset() -> None:
    with pytest.raises(ScenarioError, match=r"preset = 'nope' is unknown.*bofa-base"):
        load_preset("nope")


def test_json_schema_has_units_and_sources() -> None:
    props = Scenario.model_json_schema()["properties"]
    for name in FIELD_NAMES:
        assert props[name]["unit"] == FIELD_SPECS[name].unit
        assert props[name]["source"]
        assert "Unit:" in props[name]["description"]


# ---- one validation path: evaluate_batch says what Scenario says ----------------------------
import pandas as pd  # noqa: E402

from model import evaluate_batch  # noqa: E402
from model.scenario import number_from_text  # noqa: E402

BASE = load_preset()
BAD_BATCH_VALUES: list[tuple[str, str, object]] = [
    ("bool", "wacc", True),
    ("complex", "wacc", 0.1 + 1j),
    ("text", "wacc", "0.1"),
    ("None", "gw_built", None),
    ("NaN", "gw_built", float("nan")),
    ("inf", "pue", float("inf")),
    ("below", "pue", 0.5),
    ("above", "capex_per_gw_busd", 500.0),
    ("fraction on a whole-number field", "build_years", 2.5),
    ("huge int", "gw_built", 10**400),
    ("list", "gw_built", [1.0]),
    ("Decimal", "gw_built", Decimal("3")),
]


@pytest.mark.parametrize(
    ("label", "name", "value"), BAD_BATCH_VALUES, ids=[b[0] for b in BAD_BATCH_VALUES]
)
def test_evaluate_batch_rejects_what_scenario_rejects_with_the_same_message(
    label: str, name: str, value: object
) -> None:
    with pytest.raises(ScenarioError) as single:
        make_scenario({name: value})
    column = pd.Series([3.0 if name == "gw_built" else getattr(BASE, name), value], dtype=object)
    if isinstance(value, bool):
        column = pd.Series([value, value])  # a bool column, as pandas builds it
    with pytest.raises(ScenarioError) as batch:
        evaluate_batch(pd.DataFrame({name: column}))
    (expected,) = single.value.problems
    (got,) = batch.value.problems
    row = 0 if isinstance(value, bool) else 1
    assert got.startswith(f"row {row}: {expected}; "), (got, expected)


def test_evaluate_batch_share_rule_has_scenario_message() -> None:
    with pytest.raises(ScenarioError) as single:
        make_scenario({"lease_share": 0.8, "hosting_share": 0.5})
    with pytest.raises(ScenarioError) as batch:
        evaluate_batch(pd.DataFrame({"lease_share": [0.1, 0.8], "hosting_share": [0.1, 0.5]}))
    assert batch.value.problems == [f"row 1: {single.value.problems[0]}; 1 bad row"]


@pytest.mark.parametrize(
    ("table", "needle"),
    [
        (pd.DataFrame([[0.1, 0.2]], columns=["wacc", "wacc"]), "'wacc' is given 2 times"),
        ({"wacc": 0.1}, "same length"),
        ("not a table", "is not a DataFrame"),
        (pd.DataFrame({0: [1.0]}), "unknown field '0'"),
    ],
)
def test_evaluate_batch_malformed_tables(table: object, needle: str) -> None:
    with pytest.raises(ScenarioError, match=needle):
        evaluate_batch(table)  # type: ignore[arg-type]


def test_evaluate_batch_base_must_be_a_scenario() -> None:
    with pytest.raises(ScenarioError, match="base = "):
        evaluate_batch(pd.DataFrame({"wacc": [0.1]}), base={"wacc": 0.1})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "value"), [("4.5", 4.5), ("-0.25", -0.25), (".5", 0.5), ("3e2", 300.0), ("1E-3", 1e-3)]
)
def test_number_text_accepted(text: str, value: float) -> None:
    assert number_from_text(text) == value


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1_0", "is not a number"),
        ("\uff13", "is not a number"),
        ("\u0663", "is not a number"),
        ("0x10", "is not a number"),
        ("1 0", "is not a number"),
        ("", "is not a number"),
        ("nan", "is not a finite number"),
        ("-Infinity", "is not a finite number"),
        ("1e309", "is not a finite number"),
        ("1" * 65, "is too long"),
    ],
)
def test_number_text_refused(text: str, reason: str) -> None:
    with pytest.raises(ValueError) as info:
        number_from_text(text)
    assert str(info.value).startswith(reason)
