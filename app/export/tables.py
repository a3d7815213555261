"""The data tables of an export: metrics, cash flows, market indices and inputs with sources.

Labels and formats of metrics come from the one table of metrics (:mod:`model.metrics`).
"""

from __future__ import annotations

import pandas as pd

from app.context import ViewContext
from app.text import cite
from model import FIELD_NAMES, FIELD_SPECS, Result
from model.conditions import conditions_of
from model.data import assumptions, presets
from model.metrics import LINE_LABELS, format_metric, metric_label, metric_spec

CASH_FLOW_NOTE = (
    "Cash-flow lines are US$ B per year (nominal); 'year' is the calendar year (first_year + "
    "t) and 'year_index' t, 0 in the first construction year; "
    "'operating' is True in the years the capacity earns revenue. Market indices are "
    "dimensionless (1 = today)."
)


def metric_unit(name: str) -> str:
    """Unit of a metric as the model keeps it (a fraction for rates), for data files."""
    return metric_spec(name).model_unit


def metrics_frame(result: Result) -> pd.DataFrame:
    """One row per metric: metric, label, value (model unit, None if undefined), unit, shown."""
    rows = [
        {
            "metric": name,
            "label": metric_label(name),
            "value": value,
            "unit": metric_unit(name),
            "shown": format_metric(name, value),
        }
        # the surplus lease value (methodology 11.11) is computed for exports only, not per KPI
        for name, value in {**result.metrics(), **result.surplus_metrics()}.items()
    ]
    return pd.DataFrame(rows, columns=["metric", "label", "value", "unit", "shown"])


def cash_flows_frame(result: Result) -> pd.DataFrame:
    """The annual cash-flow table (US$ B per year), as the model returns it, the years as
    calendar years (``year``) beside the model's year index (``year_index``; methodology 1)."""
    return result.dated_cash_flows


def market_frame(result: Result) -> pd.DataFrame:
    """The market indices per year, dated as :func:`cash_flows_frame`."""
    return result.dated_market


def inputs_frame(ctx: ViewContext) -> pd.DataFrame:
    """Every input with its value, unit and the source of that value.

    ``basis`` says where the value comes from: the sourced default (data/assumptions.csv), the
    preset (its source and year), or a change made in this scenario (the default's source is then
    still shown in ``sourced_default_source`` for reference).
    """
    values = ctx.scenario.model_dump()
    preset_values = ctx.preset_scenario.model_dump()
    preset = presets().get(ctx.preset_id)
    overrides = preset.overrides if preset is not None else {}
    table = assumptions()
    rows = []
    for name in FIELD_NAMES:
        spec = FIELD_SPECS[name]
        a = table[name]
        value = values[name]
        year: int | None
        if value != preset_values[name]:
            basis, source, year = "changed in this scenario", "Set in this scenario", None
        elif name in overrides and preset is not None and float(overrides[name]) != a.value:
            basis = f"preset {ctx.preset_id}"
            source, year = cite(preset.source, preset.year), preset.year
        else:
            basis, source, year = "sourced default", cite(a.source, a.year), a.year
        rows.append(
            {
                "field": name,
                "label": spec.label,
                "group": spec.group,
                "value": value,
                "unit": spec.unit,
                "source": source,
                "year": year,
                "basis": basis,
                "sourced_default": int(a.value) if spec.integer else a.value,
                "sourced_default_source": a.source,
                "sourced_default_year": a.year,
                "allowed_range": spec.range_text(),
                "note": a.note,
            }
        )
    return pd.DataFrame(rows)


def conditions_frame(result: Result) -> pd.DataFrame:
    """The conditions the result carries (:func:`model.conditions.conditions_of`), one a row:
    ``Condition`` (stable code), ``Severity``, ``What it means for this result``."""
    rows = [
        {"Condition": c.code, "Severity": c.severity, "What it means for this result": c.text}
        for c in conditions_of(result)
    ]
    return pd.DataFrame(rows, columns=["Condition", "Severity", "What it means for this result"])


#: Header labels of metrics.csv's columns (the second header row keeps the code names).
METRICS_CSV_LABELS: dict[str, str] = {
    "metric": "Metric code",
    "label": "Metric",
    "value": "Value in the model unit (rates and shares as fractions)",
    "unit": "Model unit",
    "shown": "As shown (rates and shares in %)",
}


def labelled_csv(frame: pd.DataFrame, labels: dict[str, str]) -> str:
    r"""CSV with two header rows: labels with units for people, then the code names.

    Read it back with ``pandas.read_csv(path, header=1)`` (code names) or ``header=0``
    (labels); a spreadsheet shows the labels on top.

    Examples
    --------
    >>> labelled_csv(pd.DataFrame({"fcf": [1.5]}), {"fcf": "Free cash flow (US$ B)"})
    'Free cash flow (US$ B)\nfcf\n1.5\n'
    """
    head = pd.DataFrame([list(frame.columns)], columns=[labels.get(c, c) for c in frame.columns])
    return head.to_csv(index=False, lineterminator="\n") + frame.to_csv(
        index=False, header=False, lineterminator="\n"
    )


#: Header labels of input_sources' columns (the workbook's second header row keeps the codes).
INPUTS_LABELS: dict[str, str] = {
    "field": "Input code",
    "label": "Input",
    "group": "Group",
    "value": "Value (in the unit of the next column; rates as fractions)",
    "unit": "Unit",
    "source": "Source of this value",
    "year": "Year of the source",
    "basis": "Where the value comes from",
    "sourced_default": "Sourced default (same unit)",
    "sourced_default_source": "Source of the default",
    "sourced_default_year": "Year of the default's source",
    "allowed_range": "Allowed range",
    "note": "Note",
}
#: Header labels of the analysis tables' descriptive columns (sensitivity, stress, Monte Carlo).
SUMMARY_LABELS: dict[str, str] = {
    "field": "Input code",
    "label": "Label",
    "unit": "Unit",
    "low": "Low value of the input (its unit)",
    "high": "High value of the input (its unit)",
    "base": "Base value of the input (its unit)",
    "metric_low": "NPV at the low value (US$ B)",
    "metric_high": "NPV at the high value (US$ B)",
    "metric_base": "NPV at the base value (US$ B)",
    "swing": "Swing of NPV, high minus low (US$ B)",
    "clipped": "Clipped to the allowed range (True/False)",
    "note": "Note",
    "source": "Source",
    "shock": "Shock code",
    "name": "Shock",
    "changes": "Inputs it changes",
    "description": "What it does",
    "delta_npv_busd": "Change in NPV vs the scenario (US$ B)",
    "delta_irr": "Change in IRR vs the scenario (fraction per year)",
    "metric": "Metric code",
    "draws": "Draws (count)",
    "seed": "Random seed",
    "point": "Point estimate (model unit)",
    "mean": "Mean (model unit)",
    "std": "Standard deviation (model unit)",
    "p10": "10th percentile (model unit)",
    "p50": "Median (model unit)",
    "p90": "90th percentile (model unit)",
    "prob_above_zero": "Probability above zero (fraction)",
    "prob_below_zero": "Probability below zero (fraction)",
    "defined_share": "Share of draws where defined (fraction)",
    "s1": "First-order Sobol index (fraction of variance)",
    "s1_conf": "95% confidence half-width of the Sobol index",
    "spearman_rho": "Spearman rank correlation with NPV",
    "p_value": "p-value of the correlation",
    "share_of_rho2": "Share of the squared correlations (fraction)",
}


def _market_labels() -> dict[str, str]:
    from model.workbook_market import index_rows

    unit = {"index": "index, 1 = today", "share": "fraction"}
    out = {
        "year": LINE_LABELS["year"],
        "year_index": LINE_LABELS["year_index"],
        "operating": LINE_LABELS["operating"],
    }
    for r in index_rows():
        out[r.name] = f"{r.label[0].upper()}{r.label[1:]} ({unit.get(r.kind, r.kind)})"
    out.setdefault("hosting_capacity_used_share", "Share of the hosting capacity in use (fraction)")
    return out


def column_label(name: str, labels: dict[str, str] | None = None) -> str:
    """The header a person reads for a table column: its label with its unit.

    Looked up in ``labels``, then the cash-flow lines, the market indices, the metrics (label
    and model unit) and the analysis tables' columns; a column none of them knows gets its
    code written as words.

    Examples
    --------
    >>> column_label("fcf")
    'Free cash flow (US$ B)'
    >>> column_label("npv_busd")
    'NPV at WACC (US$ B)'
    """
    for table in (labels or {}, LINE_LABELS, _market_labels()):
        if name in table:
            return table[name]
    try:
        spec = metric_spec(name)
    except (KeyError, ValueError):
        spec = None
    if spec is not None and spec.model_unit:
        return f"{metric_label(name)} ({spec.model_unit})"
    if name in SUMMARY_LABELS:
        return SUMMARY_LABELS[name]
    words = str(name).replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def cash_flows_csv(result: Result) -> str:
    """cash_flows.csv: one row per year, labels with units then code names as headers."""
    return labelled_csv(cash_flows_frame(result), LINE_LABELS)


def metrics_csv(result: Result) -> str:
    """metrics.csv: one row per metric, labels then code names as headers."""
    return labelled_csv(metrics_frame(result), METRICS_CSV_LABELS)


def csv_text(frame: pd.DataFrame) -> str:
    """CSV (UTF-8, comma, '.' decimal, no index); undefined values as empty cells."""
    return frame.to_csv(index=False, lineterminator="\n")


__all__ = [
    "CASH_FLOW_NOTE",
    "INPUTS_LABELS",
    "SUMMARY_LABELS",
    "cash_flows_csv",
    "cash_flows_frame",
    "column_label",
    "conditions_frame",
    "csv_text",
    "format_metric",
    "inputs_frame",
    "labelled_csv",
    "market_frame",
    "metric_unit",
    "metrics_csv",
    "metrics_frame",
]
