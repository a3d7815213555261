"""The table of metrics: every metric the model returns has a label, unit and one format."""

from __future__ import annotations

import pytest

from model import BATCH_METRICS, evaluate, load_preset
from model.metrics import (
    METRICS,
    RETURN_METRICS,
    format_metric,
    is_zero_change,
    metric_label,
    metric_unit,
)


def test_every_model_metric_has_a_row() -> None:
    names = set(BATCH_METRICS) | set(evaluate(load_preset()).metrics())
    assert names <= set(METRICS), names - set(METRICS)
    for spec in METRICS.values():
        assert spec.label and spec.description and spec.unit


def test_return_metrics_are_batch_metrics_once_each() -> None:
    # the Monte Carlo summary and Compare read them from every draw or scenario
    assert len(set(RETURN_METRICS)) == len(RETURN_METRICS)
    assert set(RETURN_METRICS) <= set(BATCH_METRICS)


@pytest.mark.parametrize(
    ("name", "value", "text"),
    [
        ("irr", 0.11296, "11.3%"),  # rates as percentages; the model keeps fractions
        ("npv_busd", 18.708, "US$ 18.7 B"),
        ("npv_busd", -29.81, "-US$ 29.8 B"),
        ("payback_years", 8.44, "8.4 years"),
        ("npv_per_share_usd", 7.2812, "US$ 7.28"),
        ("breakeven_lease_rate_busd_per_gw_year", 11.2961, "US$ 11.30 B"),
        ("npv_to_market_reaction", 0.1067, "11%"),
        ("irr_multiple", 1.0, "yes"),
    ],
)
def test_one_format_per_metric(name: str, value: float, text: str) -> None:
    assert format_metric(name, value) == text


def test_differences_of_rates_are_percentage_points() -> None:
    assert format_metric("irr", 0.021, signed=True) == "+2.1 pp"
    assert format_metric("npv_busd", -3.04, signed=True) == "-US$ 3.0 B"
    assert format_metric("payback_years", -0.001, signed=True) == "±0.0 years"
    assert is_zero_change("irr", 0.11296, 0.11301)  # equal as shown: no delta
    assert not is_zero_change("irr", 0.113, 0.118)


def test_labels_and_units() -> None:
    assert metric_label("irr", unit=True) == "IRR (% per year)"
    assert metric_unit("npv_busd") == "US$ B"
    assert metric_label("not_a_metric") == "not a metric"


def test_money_never_reads_minus_zero() -> None:
    """One money style: ``-US$ 12.5 B`` for a loss, and no sign on a value that rounds to zero."""
    from model.metrics import format_busd, format_percent

    assert format_metric("npv_busd", -0.04) == "US$ 0.0 B"
    assert format_metric("npv_busd", -12.54) == "-US$ 12.5 B"
    assert format_busd(-0.049) == "US$ 0.0 B" and format_busd(-0.05001) == "-US$ 0.1 B"
    assert format_metric("irr", -0.00004) == "0.0%" and format_percent(-0.0004) == "0.0%"
    assert format_metric("npv_per_share_usd", -0.004) == "US$ 0.00"
