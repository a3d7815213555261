"""Every chart of the Returns, Pricing pressure and Build vs buy tabs, as plain functions.

Each ``*_chart(ctx)`` takes a :class:`app.context.ViewContext` and returns a Plotly figure with
the project's one look (:func:`style`): same fonts, colours, margins and hover formats, a unit on
every axis, and a title that names the scenario (``ctx.label``). They need no Streamlit, so the
dashboard and the export CLI draw the same figures. :func:`all_figures` returns them all.

Sweeps (pricing pressure, Jevons, build vs buy) go through :func:`model.evaluate_batch` or
:func:`model.evaluate`; nothing economic is computed here. They are cached per scenario
(``Scenario`` is frozen and hashable) with :func:`functools.lru_cache`, which works both inside
Streamlit and in a plain Python process.
"""

from __future__ import annotations

from collections.abc import Callable

import plotly.graph_objects as go

from app.charts.base import (
    BUSD,
    COLORS,
    ELASTICITY_GRID,
    FONT,
    GRID,
    ILLUSTRATIVE_PROCURED_GW,
    INDEX_COLORS,
    INDEX_GRID,
    INDEX_STYLE,
    INDEX_TICKS,
    INK,
    MULTIPLIER_GRID,
    MUTED,
    NEGATIVE,
    POSITIVE,
    SUBTITLE_CHARS,
    TEMPLATE,
    TITLE_CHARS,
    Chart,
    chart_config,
    same_series,
    style,
    title_html,
    title_margin,
)
from app.charts.buy import build_vs_buy_chart, build_vs_buy_npv_chart
from app.charts.financing import (
    debt_balance_chart,
    debt_chart,
    equity_chart,
    equity_kpis,
    equity_vs_project_chart,
    has_debt,
    has_financing,
    sources_and_uses,
)
from app.charts.market import (
    lease_paths_chart,
    lease_rate_paths_chart,
    pricing_pressure_chart,
    pricing_pressure_map_chart,
)
from app.charts.pricing import (
    INDEX_LABELS,
    jevons_chart,
    npv_vs_multiplier_chart,
    pricing_indices_chart,
    revenue_per_gw_chart,
)
from app.charts.returns import (
    cash_flow_chart,
    cumulative_fcf_chart,
    depreciation_life_eps_chart,
    depreciation_life_income_chart,
    npv_bridge_chart,
    npv_profile_chart,
    payback_note,
)
from app.context import ViewContext

# The economics the charts draw live in the model (methodology §10); re-exported for callers.
from model.derived import (
    elasticity_sweep,
    index_sweep,
    npv_multiplier_sweep,
    procured_scenario,
    resale_contribution,
    resale_lease_sweep,
    revenue_per_gw_sweep,
)

CHARTS: dict[str, Callable[[ViewContext], go.Figure]] = {
    "cash_flows": cash_flow_chart,
    "npv_bridge": npv_bridge_chart,
    "cumulative_fcf": cumulative_fcf_chart,
    "npv_profile": npv_profile_chart,
    "depreciation_life_income": depreciation_life_income_chart,
    "depreciation_life_eps": depreciation_life_eps_chart,
    "pricing_indices": pricing_indices_chart,
    "npv_vs_multiplier": npv_vs_multiplier_chart,
    "revenue_per_gw": revenue_per_gw_chart,
    "jevons": jevons_chart,
    "pricing_pressure_map": pricing_pressure_chart,
    "lease_rate_paths": lease_paths_chart,
    "build_vs_buy": build_vs_buy_chart,
    "build_vs_buy_npv": build_vs_buy_npv_chart,
}


def all_figures(ctx: ViewContext) -> dict[str, go.Figure]:
    """Every chart of the Returns, Pricing pressure and Build vs buy tabs, by file-safe name.

    Keys: ``cash_flows``, ``cumulative_fcf``, ``npv_profile``, ``depreciation_life_income``,
    ``depreciation_life_eps`` (Returns); ``pricing_indices``,
    ``npv_vs_multiplier``, ``revenue_per_gw``, ``jevons``, ``pricing_pressure_map``,
    ``lease_rate_paths`` (Pricing pressure); ``build_vs_buy``,
    ``build_vs_buy_npv`` (Build vs buy); with financing ``equity_vs_project`` and, with debt,
    ``debt_balance`` (Returns). Values are fresh ``plotly.graph_objects.Figure`` objects
    (safe to mutate) drawn exactly as on screen; no Streamlit needed.

    Examples
    --------
    >>> from app.context import ViewContext
    >>> from model import evaluate, load_preset
    >>> s = load_preset("bofa-base")
    >>> ctx = ViewContext("bofa-base", s, evaluate(s), s, evaluate(s))
    >>> sorted(all_figures(ctx))[:3]
    ['build_vs_buy', 'build_vs_buy_npv', 'cash_flows']
    """
    figures = {name: build(ctx) for name, build in CHARTS.items()}
    # the capital-structure charts exist only when the scenario is financed (methodology §11)
    if has_financing(ctx.result):
        figures["equity_vs_project"] = equity_chart(ctx)
    if has_debt(ctx.result):
        figures["debt_balance"] = debt_chart(ctx)
    return figures


__all__ = [
    "BUSD",
    "CHARTS",
    "COLORS",
    "ELASTICITY_GRID",
    "FONT",
    "GRID",
    "ILLUSTRATIVE_PROCURED_GW",
    "INDEX_COLORS",
    "INDEX_GRID",
    "INDEX_LABELS",
    "INDEX_STYLE",
    "INDEX_TICKS",
    "INK",
    "MULTIPLIER_GRID",
    "MUTED",
    "NEGATIVE",
    "POSITIVE",
    "SUBTITLE_CHARS",
    "TEMPLATE",
    "TITLE_CHARS",
    "Chart",
    "all_figures",
    "build_vs_buy_chart",
    "build_vs_buy_npv_chart",
    "cash_flow_chart",
    "chart_config",
    "cumulative_fcf_chart",
    "debt_balance_chart",
    "debt_chart",
    "depreciation_life_eps_chart",
    "depreciation_life_income_chart",
    "elasticity_sweep",
    "equity_chart",
    "equity_kpis",
    "equity_vs_project_chart",
    "has_debt",
    "has_financing",
    "index_sweep",
    "jevons_chart",
    "lease_paths_chart",
    "lease_rate_paths_chart",
    "npv_bridge_chart",
    "npv_multiplier_sweep",
    "npv_profile_chart",
    "npv_vs_multiplier_chart",
    "payback_note",
    "pricing_indices_chart",
    "pricing_pressure_chart",
    "pricing_pressure_map_chart",
    "procured_scenario",
    "resale_contribution",
    "resale_lease_sweep",
    "revenue_per_gw_chart",
    "revenue_per_gw_sweep",
    "same_series",
    "sources_and_uses",
    "style",
    "title_html",
    "title_margin",
]
