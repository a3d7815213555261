"""The market charts (app/charts/market.py): what they draw comes from model.derived, with
units on the axes and percentages as %."""

from __future__ import annotations

import numpy as np

from app.charts.market import lease_rate_paths_chart, pricing_pressure_map_chart
from model import evaluate, load_preset
from model.derived import lease_rate_paths, pricing_pressure_map


def test_pricing_pressure_map_chart() -> None:
    s = load_preset("bofa-base").replace(capex_per_gw_busd=80.0, lease_rate_busd_per_gw_year=5.0)
    fig = pricing_pressure_map_chart(s, "test")
    kinds = [t.type for t in fig.data]
    assert kinds[:2] == ["heatmap", "contour"]
    m = pricing_pressure_map(s)
    np.testing.assert_allclose(np.asarray(fig.data[0].z, dtype=float), m.delta_npv_busd)
    contour = fig.data[1]
    assert contour.contours.start == 0.0 and contour.contours.end == 0.0
    assert fig.layout.xaxis.tickformat == ".0%"
    assert "%" in fig.layout.xaxis.title.text
    assert "US$ B" in fig.data[0].colorbar.title.text
    # the scenario is marked where it sits
    assert fig.data[2].x[0] == s.price_pass_through and fig.data[2].y[0] == s.demand_elasticity


def test_lease_rate_paths_chart() -> None:
    # a rate below market-base's user cost (US$12.28 B): the frontier starts under the ceiling,
    # so both are drawn
    s = load_preset("market-base").replace(lease_rate_busd_per_gw_year=12.0)
    r = evaluate(s)
    fig = lease_rate_paths_chart(s, r)
    names = [t.name for t in fig.data]
    assert any(n.startswith("Ceiling") for n in names)
    assert any(n.startswith("Floor") for n in names)
    assert "US$ B per GW-year" in fig.layout.yaxis.title.text
    paths = lease_rate_paths(r)
    ceiling = next(t for t in fig.data if t.name.startswith("Ceiling"))
    np.testing.assert_allclose(ceiling.y, paths["ceiling_busd_per_gw_year"])


def test_lease_rate_paths_chart_draws_a_frontier_pinned_at_the_ceiling_once() -> None:
    # market-base with the builder as entrant, quoted above its user cost (US$20 B against
    # 18.65: contracts no longer lower it, section 4.6): its frontier sits on the ceiling in
    # every year (methodology section 6.2)
    # (the rent capped at today's rate within the lag, scarcity_multiple_max 1: methodology 4.7)
    s = load_preset("market-base").replace(
        entrant_profile="builder", lease_rate_busd_per_gw_year=20.0, scarcity_multiple_max=1.0
    )
    r = evaluate(s)
    fig = lease_rate_paths_chart(s, r)
    paths = lease_rate_paths(r)
    assert not any(t.name.startswith("Ceiling") for t in fig.data)
    merged = next(t for t in fig.data if t.name.startswith("Frontier = ceiling"))
    np.testing.assert_allclose(merged.y, paths["ceiling_busd_per_gw_year"])
