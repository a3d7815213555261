"""The result metrics for people: label, unit, number format and definition, one row each.

The table of fields (:mod:`model.fields`) says what each *input* is; this table says what each
*output* is. Every place that shows a metric (the dashboard's KPIs, tables, chart axes, Compare,
the Monte Carlo summary, CSV/XLSX and the report) reads its label and format from here, so a
metric looks the same everywhere. The model keeps fractions (``irr = 0.113``); a metric with
``percent=True`` is shown as a percentage (``11.3%``).

Examples
--------
>>> metric_label("npv_busd")
'NPV at WACC'
>>> format_metric("irr", 0.11296)
'11.3%'
>>> format_metric("npv_busd", 18.708)
'US$ 18.7 B'
>>> format_metric("payback_years", None), format_metric("irr", None)
('never', 'n/a')
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class MetricSpec:
    """How one metric is named and shown.

    Attributes
    ----------
    name : str
        Attribute of :class:`model.Result` / column of :func:`model.evaluate_batch`.
    label : str
        Short name for people (no unit).
    unit : str
        Unit of the value *as shown* (``%`` per year for a percent metric).
    model_unit : str
        Unit of the value as the model keeps it (a fraction for percent metrics).
    digits : int
        Decimals shown.
    percent : bool
        The model keeps a fraction; show ``value * 100`` with a ``%`` sign.
    description : str
        One-sentence definition.
    prefix, suffix : str
        Text around the number in :func:`format_metric` (``US$ `` and `` B``, say).
    undefined : str
        Text shown when the metric is undefined (``None`` or not finite).
    """

    name: str
    label: str
    unit: str
    model_unit: str
    digits: int
    percent: bool
    description: str
    prefix: str = ""
    suffix: str = ""
    undefined: str = "n/a"

    @property
    def scale(self) -> float:
        """Factor from the model's value to the value shown (100 for percentages)."""
        return 100.0 if self.percent else 1.0

    @property
    def label_with_unit(self) -> str:
        """``label (unit)``, e.g. ``IRR (% per year)``."""
        return f"{self.label} ({self.unit})" if self.unit else self.label


_B = "US$ B"
_PY = "% per year"

_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "npv_busd",
        "NPV at WACC",
        _B,
        _B,
        1,
        False,
        "Net present value of the unlevered after-tax free cash flows at the WACC (nominal).",
        "US$ ",
        " B",
    ),
    MetricSpec(
        "irr",
        "IRR",
        _PY,
        "fraction per year",
        1,
        True,
        "Internal rate of return of the free cash flows (after tax, unlevered).",
    ),
    MetricSpec(
        "irr_root_count",
        "Number of IRRs",
        "count",
        "count of NPV roots at rates above -100%",
        0,
        False,
        "How many discount rates make the NPV zero; above 1 the IRR alone is ambiguous.",
    ),
    MetricSpec(
        "irr_multiple",
        "Several IRRs",
        "yes/no",
        "flag (1 = the NPV profile has several roots)",
        0,
        False,
        "Yes when the NPV profile has several roots: read the IRR with the MIRR.",
    ),
    MetricSpec(
        "mirr",
        "MIRR",
        _PY,
        "fraction per year",
        1,
        True,
        "Modified IRR: outflows financed and inflows reinvested at the WACC.",
    ),
    MetricSpec(
        "payback_years",
        "Payback",
        "years",
        "years from the first capex year (last crossing of cumulative FCF)",
        1,
        False,
        "Years from the first capex year until cumulative free cash flow turns positive for "
        "good (a later refresh can push it back below zero, so it can come after the first "
        "positive year).",
        "",
        " years",
        "never",
    ),
    MetricSpec(
        "discounted_payback_years",
        "Discounted payback",
        "years",
        "years from the first capex year",
        1,
        False,
        "As payback, on free cash flows discounted at the WACC.",
        "",
        " years",
        "never",
    ),
    MetricSpec(
        "payback_from_operation_years",
        "Payback from operation",
        "years",
        "years from the start of operation (first crossing)",
        1,
        False,
        "Years from the start of operation until cumulative free cash flow (capex included) "
        "first turns non-negative, interpolated within the year: the cluster payback "
        "CoreWeave reports (about 2.5 years).",
        "",
        " years",
        "never",
    ),
    MetricSpec(
        "residual_pv_busd",
        "Residual value in NPV",
        _B,
        "US$ B (present value of the residual, after tax on the gain)",
        1,
        False,
        "Present value at the WACC of the assets' market value at the horizon, after tax on "
        "the gain or loss against book: how much of NPV the end-of-horizon sale carries.",
        "US$ ",
        " B",
    ),
    MetricSpec(
        "equity_irr",
        "Equity IRR",
        _PY,
        "fraction per year (after tax, levered, the builder's own position)",
        1,
        True,
        "IRR of the builder's own cash flows after debt service, the partner's share and campus "
        "rent (after tax, levered).",
    ),
    MetricSpec(
        "equity_irr_multiple",
        "Several equity IRRs",
        "yes/no",
        "flag (1 = the equity NPV profile has several roots)",
        0,
        False,
        "Yes when the equity NPV profile has several roots: read the equity IRR with NPV to equity.",
    ),
    MetricSpec(
        "equity_irr_root_count",
        "Number of equity IRRs",
        "count",
        "count of roots of the equity NPV profile at rates above -100%",
        0,
        False,
        "How many discount rates make the equity NPV zero.",
    ),
    MetricSpec(
        "npv_equity_busd",
        "NPV to equity",
        _B,
        "US$ B (NPV to the builder's equity, adjusted present value)",
        1,
        False,
        "Adjusted present value of the builder's own position: the unlevered NPV plus the value "
        "of the financing (interest tax shield, partner and lease terms) at the cost of debt.",
        "US$ ",
        " B",
    ),
    MetricSpec(
        "min_dscr",
        "Minimum DSCR",
        "x",
        "x debt service (lowest cover ratio in a year with debt service)",
        2,
        False,
        "Lowest debt-service cover ratio (cash available for debt service / debt service) in a "
        "repayment year; n/a without debt.",
        "",
        "x",
    ),
    MetricSpec(
        "peak_debt_busd",
        "Peak debt",
        _B,
        _B,
        1,
        False,
        "Largest year-end debt balance, capitalised construction interest included.",
        "US$ ",
        " B",
    ),
    MetricSpec(
        "roic",
        "ROIC",
        _PY,
        "fraction per year",
        1,
        True,
        "Return on invested capital: NOPAT over the operating years divided by the opening net "
        "book value summed over the same years.",
    ),
    MetricSpec(
        "gross_lease_yield",
        "Gross lease yield",
        _PY,
        "fraction per year",
        1,
        True,
        "Lease rate per GW-year divided by capex per GW.",
    ),
    MetricSpec(
        "breakeven_lease_rate_busd_per_gw_year",
        "Breakeven lease rate",
        "US$ B per GW-year",
        "US$ B per GW-year",
        2,
        False,
        "Lease rate today at which NPV = 0, all else equal (lower is better).",
        "US$ ",
        " B",
    ),
    MetricSpec(
        "npv_per_share_usd",
        "NPV per share",
        "US$ per share",
        "US$ per share",
        2,
        False,
        "NPV divided by the diluted shares outstanding.",
        "US$ ",
    ),
    MetricSpec(
        "capex_initial_busd",
        "Initial capex",
        _B,
        _B,
        1,
        False,
        "Capex of the initial build (GW built x capex per GW).",
        "US$ ",
        " B",
    ),
    MetricSpec(
        "capex_lifetime_busd",
        "Lifetime capex",
        _B,
        _B,
        1,
        False,
        "Capex over the horizon, IT refreshes included.",
        "US$ ",
        " B",
    ),
    MetricSpec(
        "revenue_total_busd",
        "Total revenue",
        _B,
        _B,
        1,
        False,
        "Revenue summed over the operating years (nominal).",
        "US$ ",
        " B",
    ),
    MetricSpec(
        "ebitda_margin",
        "EBITDA margin",
        "% of revenue",
        "fraction of revenue",
        1,
        True,
        "EBITDA over revenue, summed over the operating years.",
    ),
    MetricSpec(
        "average_revenue_busd_per_year",
        "Average revenue",
        "US$ B per year",
        "US$ B per year",
        1,
        False,
        "Revenue per operating year, on average (nominal).",
        "US$ ",
        " B",
    ),
    MetricSpec(
        "market_reaction_busd",
        "Market re-rating",
        _B,
        _B,
        1,
        False,
        "Value the market added on the report: excess return x share price x shares.",
        "US$ ",
        " B",
    ),
    MetricSpec(
        "npv_to_market_reaction",
        "NPV / market re-rating",
        "%",
        "ratio",
        0,
        True,
        "Share of the market's re-rating that the build's NPV explains.",
    ),
    MetricSpec(
        "surplus_lease_value_busd",
        "Surplus lease value",
        _B,
        _B,
        1,
        False,
        "Value of leasing the built capacity rather than leaving it idle: NPV less the NPV of "
        "the idle branch (the build sunk in both; methodology 11.11).",
        "US$ ",
        " B",
    ),
    MetricSpec(
        "surplus_lease_value_busd_per_gw",
        "Surplus lease value per GW",
        "US$ B per GW",
        "US$ B per GW",
        1,
        False,
        "Surplus lease value per GW built (methodology 11.11).",
        "US$ ",
        " B per GW",
    ),
    MetricSpec(
        "market_reaction_surplus_gw",
        "GW the re-rating implies",
        "GW",
        "GW",
        1,
        False,
        "GW of built surplus whose surplus lease value per GW adds up to the market's re-rating "
        "(methodology 11.11).",
        "",
        " GW",
    ),
)

#: Metric specs by name, in display order.
METRICS: dict[str, MetricSpec] = {m.name: m for m in _METRICS}


def metric_spec(name: str) -> MetricSpec:
    """The spec of a metric; an unknown name gets a plain spec that shows the name as label."""
    spec = METRICS.get(name)
    if spec is not None:
        return spec
    return MetricSpec(name, name.replace("_", " "), "", "", 3, False, "")


def metric_label(name: str, *, unit: bool = False) -> str:
    """Label of a metric for people, with its shown unit when ``unit`` is True.

    Examples
    --------
    >>> metric_label("irr", unit=True)
    'IRR (% per year)'
    """
    spec = metric_spec(name)
    return spec.label_with_unit if unit else spec.label


def metric_unit(name: str) -> str:
    """Unit of a metric as shown (``% per year`` for IRR)."""
    return metric_spec(name).unit


def metric_value(name: str, value: float | None) -> float | None:
    """The value in the unit shown (x100 for percentages); None when undefined."""
    if value is None or not math.isfinite(float(value)):
        return None
    return float(value) * metric_spec(name).scale


def format_metric(name: str, value: float | None, *, signed: bool = False) -> str:
    """A metric as text in its one format, e.g. ``US$ 18.7 B``, ``11.3%``, ``8.4 years``.

    Parameters
    ----------
    name : str
        Metric name (see :data:`METRICS`).
    value : float or None
        The value as the model keeps it (a fraction for percentages).
    signed : bool
        Show a sign (for differences): ``+2.1 pp`` for percentages, ``+US$ 3.0 B`` for money.

    Notes
    -----
    A difference of two percentages is in percentage points (``pp``), not percent.
    """
    spec = metric_spec(name)
    if name in ("irr_multiple", "equity_irr_multiple"):
        return spec.undefined if value is None else ("yes" if value else "no")
    shown = metric_value(name, value)
    if shown is None:
        return spec.undefined
    digits = spec.digits
    if signed:
        shown = round(shown, digits) + 0.0  # a change that rounds to zero reads as ±0
        sign = "+" if shown > 0 else ("-" if shown < 0 else "±")
        number = f"{abs(shown):,.{digits}f}"
        if spec.percent:
            return f"{sign}{number} pp"
        return f"{sign}{spec.prefix}{number}{spec.suffix}"
    return _number(shown, digits, spec.prefix, "%" if spec.percent else spec.suffix)


def _number(shown: float, digits: int, prefix: str = "", suffix: str = "") -> str:
    """``shown`` with ``digits`` decimals between prefix and suffix, the sign before the prefix
    (``-US$ 3.0 B``, not ``US$ -3.0 B``), and no sign on a value that rounds to zero."""
    number = f"{round(shown, digits) + 0.0:,.{digits}f}"
    if number.startswith("-") and float(number[1:].replace(",", "")) == 0:
        number = number[1:]  # -0.0 rounds to zero: no sign ("US$ 0.0 B", never "-US$ 0.0 B")
    if number.startswith("-"):
        return f"-{prefix}{number[1:]}{suffix}"
    return f"{prefix}{number}{suffix}"


def format_number(value: float, digits: int) -> str:
    """A plain number with thousands separators, never ``-0.0``: the cells of number tables.

    >>> format_number(-1234.56, 1), format_number(-0.04, 1)
    ('-1,234.6', '0.0')
    """
    return _number(float(value), digits)


def format_busd(value: float | None, digits: int = 1) -> str:
    """US$ billions in the one money format: ``US$ 12.5 B``, ``-US$ 12.5 B``; ``n/a`` when
    undefined.

    Examples
    --------
    >>> format_busd(12.54), format_busd(-12.54), format_busd(-0.04), format_busd(None)
    ('US$ 12.5 B', '-US$ 12.5 B', 'US$ 0.0 B', 'n/a')
    """
    if value is None or not math.isfinite(float(value)):
        return "n/a"
    return _number(float(value), digits, "US$ ", " B")


def format_percent(value: float | None, digits: int = 1) -> str:
    """A fraction as a percentage: ``0.087`` -> ``8.7%``; ``n/a`` when undefined.

    >>> format_percent(0.087), format_percent(-0.0001), format_percent(None)
    ('8.7%', '0.0%', 'n/a')
    """
    if value is None or not math.isfinite(float(value)):
        return "n/a"
    return _number(float(value) * 100.0, digits, suffix="%")


def format_usd(value: float | None, digits: int = 2) -> str:
    """US dollars (per share, say): ``US$ 6.99``; ``n/a`` when undefined.

    >>> format_usd(6.991), format_usd(-19.284)
    ('US$ 6.99', '-US$ 19.28')
    """
    if value is None or not math.isfinite(float(value)):
        return "n/a"
    return _number(float(value), digits, "US$ ")


def is_zero_change(name: str, value: float | None, ref: float | None) -> bool:
    """True when ``value`` and ``ref`` show the same in the metric's format (a zero delta)."""
    a, b = metric_value(name, value), metric_value(name, ref)
    if a is None or b is None:
        return a is None and b is None
    return round(a, metric_spec(name).digits) == round(b, metric_spec(name).digits)


#: Every line of :attr:`model.Result.cash_flows`: its label with the unit, as the cash-flow
#: table, the CSV files' first header row and the exports show it (the second header row of a
#: CSV keeps these code names for machines).
LINE_LABELS: dict[str, str] = {
    "year": "Year (calendar: first_year + t)",
    "year_index": "Year from first capex (t; 0 = first construction year)",
    "operating": "Operating (True in the years that earn revenue)",
    # the cash-flow statement's lines, in its order (STATEMENT_LINES)
    "revenue_lease": "Revenue: lease (US$ B)",
    "revenue_hosting": "Revenue: hosting (US$ B)",
    "revenue_resale": "Revenue: resale (US$ B)",
    "revenue": "Revenue, total (US$ B)",
    "power_cost": "Power (US$ B)",
    "other_opex": "Other fixed opex (US$ B)",
    "variable_opex": "Variable opex (US$ B)",
    "procurement_cost": "Procurement (US$ B)",
    "licence_fee": "Model licence fee (US$ B)",
    "ebitda": "EBITDA (US$ B)",
    "depreciation": "Depreciation (US$ B)",
    "ebit": "EBIT (US$ B)",
    "tax": "Cash tax (US$ B)",
    "capex": "Capex incl. refresh (US$ B)",
    "capex_refresh": "of which refresh (US$ B)",
    "residual_value": "Residual value, market (US$ B)",
    "residual_gain": "of which gain over book, taxed (US$ B)",
    "fcf": "Free cash flow (US$ B)",
    "cumulative_fcf": "Cumulative FCF (US$ B)",
    "discounted_fcf": "Discounted FCF at WACC (US$ B)",
    # the other lines of the annual table (CSV and workbook)
    "revenue_internal": "Revenue: internal use at the transfer price (US$ B)",
    "tax_depreciation": "Tax depreciation (US$ B)",
    "nopat": "NOPAT (US$ B)",
    "net_book_value": "Net book value, end of year (US$ B)",
    "lessor_funding": "Facility funded by the campus lessor (US$ B)",
    "campus_rent": "Campus lease rent (US$ B)",
    "debt_drawdown": "Debt drawn (US$ B)",
    "interest": "Interest (US$ B)",
    "debt_repayment": "Debt repaid (US$ B)",
    "debt_balance": "Debt balance, end of year (US$ B)",
    "tax_levered": "Cash tax with the debt's interest deducted (US$ B)",
    "fcf_to_equity": "Free cash flow to the builder's equity (US$ B)",
}
#: The lines of the cash-flow statement (Returns tab), in order: from revenue to discounted FCF.
STATEMENT_LINES: tuple[str, ...] = tuple(LINE_LABELS)[
    tuple(LINE_LABELS).index("revenue_lease") : tuple(LINE_LABELS).index("discounted_fcf") + 1
]


#: The return metrics an analyst reads first, in the order they are shown: the Monte Carlo
#: summary lists these, and Compare starts with them.
RETURN_METRICS: tuple[str, ...] = (
    "npv_busd",
    "irr",
    "mirr",
    "payback_years",
    "roic",
    "npv_per_share_usd",
)


__all__ = [
    "LINE_LABELS",
    "METRICS",
    "RETURN_METRICS",
    "STATEMENT_LINES",
    "MetricSpec",
    "format_busd",
    "format_metric",
    "format_number",
    "format_percent",
    "format_usd",
    "is_zero_change",
    "metric_label",
    "metric_spec",
    "metric_unit",
    "metric_value",
]
