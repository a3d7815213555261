"""Charts of the Returns tab: the NPV bridge's labels and the scenario line's money format
(methodology §12, reading the dashboard and the NPV bridge)."""

from __future__ import annotations

import re

import numpy as np

from app.charts.returns import npv_bridge_chart, waterfall_range
from app.context import ViewContext
from model import evaluate, load_preset


def _ctx(preset: str) -> ViewContext:
    s = load_preset(preset)
    r = evaluate(s)
    return ViewContext(preset, s, r, s, r)


def test_waterfall_range_leaves_room_below_the_lowest_running_total() -> None:
    values = [273.2, -41.5, -122.4, -84.7, -20.8, 17.1, 20.9]
    lo, hi = waterfall_range(values)
    running = np.cumsum(values[:-1])
    # the cash-tax step ends at ~3.8: its "-20.8" label below the bar needs room above the axis
    assert lo < min(0.0, float(running.min())) - 0.05 * (hi - lo)
    assert hi > float(running.max())


def test_npv_bridge_names_which_residual_value_it_shows() -> None:
    ctx = _ctx("bofa-base")
    fig = npv_bridge_chart(ctx)
    title = re.sub(r"<[^>]+>", " ", fig.layout.title.text)
    assert "the tax on its gain is in Cash tax" in " ".join(title.split())
    lo, _ = fig.layout.yaxis.range
    assert lo < 0  # the labels of the steps that end near zero stay inside the plot


def test_scenario_label_spaces_money_like_every_other_figure() -> None:
    label = _ctx("bofa-base").label
    assert "US$ 42.5 B/GW" in label and "lease US$ 12.5 B/GW-yr" in label
    assert "US$4" not in label and "US$1" not in label
