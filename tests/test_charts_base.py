"""The shared chart helpers: one money hover, one gain/loss colour rule, metric formats from the
table of metrics (methodology §12, reading the dashboard)."""

from __future__ import annotations

import math

import numpy as np

from app.charts.analysis import metric_axis, metric_scale, stress_chart
from app.charts.base import (
    NEGATIVE,
    POSITIVE,
    Chart,
    busd_hover,
    gain_loss_colors,
    metric_hover,
    style,
    with_label,
)
from app.export.analyses import analyses
from model import load_preset
from model.metrics import METRICS


def test_metric_hover_uses_the_metric_table() -> None:
    assert metric_hover("npv_busd") == "US$ %{x:,.1f} B"
    assert metric_hover("irr", "y") == "%{y:,.1f}%"
    assert metric_hover("payback_years") == "%{x:,.1f} years"
    assert busd_hover(label="Debt") == "Debt: US$ %{y:,.2f} B"  # as the KPIs: US$ 20.9 B


def test_every_percent_metric_is_shown_in_percent_on_chart_axes() -> None:
    for name, spec in METRICS.items():
        if spec.percent:
            assert metric_scale(name) == 100.0, name
            assert "%" in metric_axis(name), name
        else:
            assert metric_scale(name) == 1.0, name
    # a share of the market's re-rating is a percentage, not a ratio of 0.11
    assert metric_axis("npv_to_market_reaction") == "NPV / market re-rating (%)"


def test_gain_loss_colours_split_at_the_hurdle() -> None:
    assert gain_loss_colors([-1.0, 0.0, 2.0]) == [NEGATIVE, POSITIVE, POSITIVE]
    assert gain_loss_colors([-1.0, 0.0, 2.0], strict=True) == [NEGATIVE, NEGATIVE, POSITIVE]
    assert gain_loss_colors([0.05, 0.1], hurdle=0.087) == [NEGATIVE, POSITIVE]
    assert gain_loss_colors([math.nan]) == [POSITIVE]


def test_with_label_never_leaves_a_dangling_separator() -> None:
    assert with_label("a", "b") == "a · b"
    assert with_label("", "b") == "b"
    assert with_label("a", "") == "a"


def test_year_line_names_the_series_on_hover_and_points_share_one_legend_entry() -> None:
    c = Chart()
    c.year_line([0, 1], np.array([1.0, 2.0]), "Debt balance", "#000000")
    c.point([0.1, 0.3], [0.0, 0.0], "IRRs", "#000000", hover="IRR %{x:.2%}", symbol="x")
    fig = style(c, "t", "s", "x", "y")
    line, points = fig.data
    assert line.mode == "lines+markers"
    assert "<extra></extra>" not in line.hovertemplate  # the box says which series it is
    assert list(points.x) == [0.1, 0.3]
    assert points.marker.symbol == "x"


def test_stress_bars_carry_metric_formats_and_colours() -> None:
    table = analyses(load_preset("bofa-base")).stress
    assert table is not None
    fig = stress_chart(table, "bofa-base")
    npv, irr = fig.data
    assert npv.hovertemplate.endswith("NPV at WACC: US$ %{x:,.1f} B<extra></extra>")
    assert irr.hovertemplate.endswith("IRR: %{x:,.1f}%<extra></extra>")
    for trace in (npv, irr):
        values = np.asarray(trace.x, dtype=np.float64)
        expected = gain_loss_colors(values)
        assert list(trace.marker.color) == expected
    # IRR labels are percentages with one decimal, as in the KPIs
    assert all(t == "n/a" or t.endswith("%") for t in irr.text)


def test_scenario_mark_label_goes_where_no_line_runs() -> None:
    from app.charts.pricing import _free_side

    x = [1.0, 2.0, 3.0]
    # lines start at their highest: the label at 1x goes to the bottom of the plot
    assert _free_side(x, [[20.0, 10.0, 0.0], [20.0, 15.0, 12.0]], 1.0) == "bottom"
    # lines start low and rise: the top is free at 1x
    assert _free_side(x, [[-5.0, 10.0, 30.0]], 1.0) == "top"


def test_title_margin_counts_every_subtitle_line_break() -> None:
    from app.charts.base import title_html, title_margin

    sub = "a scenario label<br>† range clipped<br>No effect here: a, b, c"
    lines = title_html("Title", sub).count("<br>") + 1
    assert lines == 4
    assert title_margin("Title", sub) >= 32 + 20 + 16 * 3


def test_tornado_leaves_room_for_its_notes_and_shows_both_ends() -> None:
    from app.charts.analysis import tornado_chart

    table = analyses(load_preset("bofa-base")).tornado
    assert table is not None
    fig = tornado_chart(table, "bofa-base")
    lines = fig.layout.title.text.count("<br>") + 1
    # every title line (20 px bold, 16 px grey) sits above the plot, with the "as set" label
    assert fig.layout.margin.t >= 32 + 16 * lines + 18
    low, high = fig.data
    both_same_side = [
        (lo > 0) == (hi > 0) for lo, hi in zip(low.x, high.x, strict=True) if lo and hi
    ]
    narrow = [w < 0.75 for w in high.width]
    assert sum(narrow) == sum(both_same_side) > 0  # hardware cost decline: both ends lower NPV


def test_distribution_marks_use_the_metric_decimals() -> None:
    from app.charts.analysis import histogram_chart

    fig = histogram_chart(np.linspace(-50.0, 50.0, 2001), "npv_busd", "x", 2001, point=20.88)
    texts = [a.text for a in fig.layout.annotations]
    assert "As set 20.9" in texts  # as in the KPI US$ 20.9 B, not 20.88
    assert any(
        t.startswith("P50 ") and t.count(".") == 1 and len(t.split(".")[1]) == 1 for t in texts
    )
    irr = histogram_chart(np.linspace(0.0, 0.2, 2001), "irr", "x", 2001, point=0.114)
    assert "As set 11.4%" in [a.text for a in irr.layout.annotations]


def test_drivers_bars_never_point_below_zero_share() -> None:
    import pandas as pd

    from app.charts.analysis import drivers_chart

    ranking = pd.DataFrame(
        {"field": ["wacc", "capex_per_gw_busd"], "s1": [0.6, -0.002], "spearman_rho": [-0.5, 0.1]}
    )
    fig = drivers_chart(ranking, "x")
    (bars,) = fig.data
    assert min(bars.x) >= 0.0
    assert "−" not in bars.text[list(bars.y).index("Capex per GW")].split("%")[0]


def test_stress_shock_names_sit_above_their_bars_so_a_phone_keeps_the_plot() -> None:
    """Names across the width above each pair of bars, not on the y axis (where on a 390 px
    phone they took half the plot and overlapped): one name per bar, in order, wrapped, and no
    name reaching into the bar above it."""
    from app.charts.analysis import (
        SHOCK_NAME_CHARS,
        STRESS_BAR_PX,
        STRESS_LINE_PX,
        esc,
        wrap_text,
    )

    table = analyses(load_preset("bofa-base")).stress
    assert table is not None
    fig = stress_chart(table, "bofa-base")
    assert fig.layout.yaxis.showticklabels is False
    names = [a for a in fig.layout.annotations if a.yref == "y"]
    expected = [wrap_text(n, SHOCK_NAME_CHARS) for n in table["name"][::-1]]
    assert [a.text for a in names] == expected
    for a in names:
        assert a.xref == "paper" and a.x == 0 and a.yanchor == "bottom"
        assert all(len(line) <= SHOCK_NAME_CHARS for line in a.text.split("<br>")), a.text
    bars = list(fig.data[0].y)
    assert list(fig.data[0].customdata) == [esc(n) for n in table["name"][::-1]]
    # the bottom of the next bar up, then the top of the plot
    ceilings = [b - STRESS_BAR_PX / 2 for b in bars[1:]] + [fig.layout.yaxis.range[1]]
    for a, bar, ceiling in zip(names, bars, ceilings, strict=True):
        assert a.y > bar + STRESS_BAR_PX / 2  # above its own bar
        top = a.y + STRESS_LINE_PX * (a.text.count("<br>") + 1)
        assert top <= ceiling + 1e-9  # clear of the next bar up
    plot_px = fig.layout.height - fig.layout.margin.t - fig.layout.margin.b
    assert plot_px >= fig.layout.yaxis.range[1]  # a y unit is at least a pixel


def test_wrapped_label_is_not_wrapped_again_by_the_title() -> None:
    from app.charts.analysis import wrap_label
    from app.charts.base import title_html

    for label in (
        "bofa-base: 3 GW at US$ 42.5 B/GW, lease US$ 12.5 B/GW-yr, efficiency 1x",
        "coreweave-spv: 0.1 GW at US$ 20.23 B/GW, lease US$ 11.9 B/GW-yr, efficiency 1x",
    ):
        wrapped = wrap_label(label)
        assert title_html("T", wrapped).count("<br>") == 1 + wrapped.count("<br>")


def test_jevons_says_where_reference_curves_run_under_the_scenario() -> None:
    import re

    from app.charts import jevons_chart
    from app.charts.pricing import merged_from
    from app.context import ViewContext
    from model import evaluate

    assert merged_from([0.0, 1.0, 2.0, 3.0], [1.0, 2.0, 5.0, 5.0], [5.0, 5.0, 5.0, 5.0]) == 2.0
    assert merged_from([0.0, 1.0], [1.0, 2.0], [5.0, 5.0]) is None
    # with the rent capped at today's rate within the lag (scarcity_multiple_max 1, the cap
    # before methodology 4.7) the industry's gains stop raising NPV at high elasticity: their
    # lines merge into the scenario's (bofa-base holds the bound at 1, methodology 7.7); with
    # scarcity (the default 2) they keep rising above it
    capped = load_preset("bofa-base").replace(scarcity_multiple_max=1.0)
    ctx = ViewContext("bofa-base", capped, evaluate(capped), capped, evaluate(capped))
    title = " ".join(re.sub("<[^>]+>", " ", jevons_chart(ctx).layout.title.text).split())
    assert "the 2x and 4x lines run under the scenario's" in title
    s = load_preset("bofa-base").replace(scarcity_multiple_max=2.0)
    ctx = ViewContext("bofa-base", s, evaluate(s), s, evaluate(s))
    title = " ".join(re.sub("<[^>]+>", " ", jevons_chart(ctx).layout.title.text).split())
    assert "run under the scenario's" not in title
