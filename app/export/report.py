"""The one-file HTML report: metrics, every chart, inputs with sources, cash flows, the method.

plotly.js is inlined once (the file works offline); every text is escaped; the methodology is
rendered by markdown-it-py with raw HTML off (its links are validated: no ``javascript:``).
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from markdown_it import MarkdownIt
from plotly.offline import get_plotlyjs

from app.context import ViewContext, changes_text, field_value_text, percent_unit, verdict
from app.export.images import figure_size
from app.export.tables import CASH_FLOW_NOTE, cash_flows_frame, inputs_frame, metrics_frame
from model import FIELD_SPECS
from model.conditions import conditions_text
from model.data import DOCS_DIR, presets
from model.metrics import format_metric, metric_label

METHODOLOGY_PATH = DOCS_DIR / "methodology.md"
PLOTLY_CONFIG: dict[str, Any] = {"displaylogo": False, "responsive": True}


def markdown_to_html(text: str, *, shift_headings: int = 2) -> str:
    """Markdown (CommonMark plus tables) to HTML, raw HTML off; headings moved down a level or two.

    Examples
    --------
    >>> markdown_to_html("# Title\\n\\n<b>x</b> **y** US$ 5")
    '<h3>Title</h3>\\n<p>&lt;b&gt;x&lt;/b&gt; <strong>y</strong> US$ 5</p>\\n'
    """
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = md.parse(text)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1]) + shift_headings, 6)}"
        if token.type == "table_open":
            token.attrSet("class", "md")
    return str(md.renderer.render(tokens, md.options, {}))


def methodology_text() -> str | None:
    try:
        return METHODOLOGY_PATH.read_text(encoding="utf-8")
    except OSError:
        return None


#: Text that is a formatted number (``-US$ 3.0 B``, ``11.3%``, ``+2.1 pp``): right-aligned, unwrapped.
_NUMBER_TEXT = re.compile(r"^[-+±]?(US\$ )?[\d.,]+( B| years| pp|%)?$")


def _table_html(
    frame: pd.DataFrame, formatters: Mapping[str, Callable[[Any], str]] | None = None, css: str = ""
) -> str:
    formatters = formatters or {}
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, record, strict=True):
            fmt = formatters.get(str(column))
            text = fmt(value) if fmt else _plain(value)
            numeric = (isinstance(value, (int, float)) and not isinstance(value, bool)) or bool(
                _NUMBER_TEXT.match(text)
            )
            cls = ' class="num"' if numeric else ""
            cells.append(f"<td{cls}>{html.escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    cls = f' class="{html.escape(css)}"' if css else ""
    return f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.4g}"
    return str(value)


#: How the report titles the known summary tables: title and caption (the workbook has all).
_SUMMARY_VIEWS: dict[str, tuple[str, str]] = {
    "sensitivity_npv": (
        "Sensitivity: NPV as each input moves across its sourced range",
        "One input at a time, the others as set; NPV at the input's low and high value and the "
        "swing between them. Ranges and sources in the workbook.",
    ),
    "stress_tests": (
        "Stress tests",
        "Each shock applied to the scenario as set; differences against the scenario as set "
        "(IRR differences in percentage points). Descriptions and sources in the workbook.",
    ),
    "monte_carlo_summary": (
        "Monte Carlo summary",
        "Percentiles over the draws of the input distributions (data/distributions.toml); "
        "'chance above zero' is the share of draws with the metric above zero.",
    ),
    "monte_carlo_drivers": (
        "Monte Carlo: what drives the spread of NPV",
        "Rank correlation of each drawn input with NPV.",
    ),
}


def _num(value: Any) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def summary_view(key: str, frame: pd.DataFrame) -> pd.DataFrame:
    """A summary table as people read it: labels instead of names, each metric in its format."""
    if key == "sensitivity_npv" and {"field", "low", "high", "metric_low"} <= set(frame.columns):
        return pd.DataFrame(
            {
                "Input": [FIELD_SPECS[f].label if f in FIELD_SPECS else f for f in frame["field"]],
                "Low": [
                    field_value_text(f, v)
                    for f, v in zip(frame["field"], frame["low"], strict=True)
                ],
                "High": [
                    field_value_text(f, v)
                    for f, v in zip(frame["field"], frame["high"], strict=True)
                ],
                "NPV at low": [format_metric("npv_busd", _num(v)) for v in frame["metric_low"]],
                "NPV at high": [format_metric("npv_busd", _num(v)) for v in frame["metric_high"]],
                "Swing": [format_metric("npv_busd", _num(v)) for v in frame["swing"]],
            }
        )
    if key == "stress_tests" and {"name", "npv_busd", "irr"} <= set(frame.columns):
        out = pd.DataFrame({"Shock": frame["name"]})
        if "changes" in frame.columns:
            out["What changes"] = [changes_text(str(t)) for t in frame["changes"]]
        out["NPV"] = [format_metric("npv_busd", _num(v)) for v in frame["npv_busd"]]
        if "delta_npv_busd" in frame.columns:
            out["Δ NPV"] = [
                format_metric("npv_busd", _num(v), signed=True) for v in frame["delta_npv_busd"]
            ]
        out["IRR"] = [format_metric("irr", _num(v)) for v in frame["irr"]]
        if "delta_irr" in frame.columns:
            out["Δ IRR"] = [format_metric("irr", _num(v), signed=True) for v in frame["delta_irr"]]
        return out
    if key == "monte_carlo_summary" and "metric" in frame.columns:
        out = pd.DataFrame({"Metric": [metric_label(str(m)) for m in frame["metric"]]})
        for col, head in (("mean", "Mean"), ("p10", "P10"), ("p50", "P50"), ("p90", "P90")):
            if col in frame.columns:
                out[head] = [
                    format_metric(str(m), _num(v))
                    for m, v in zip(frame["metric"], frame[col], strict=True)
                ]
        if "prob_above_zero" in frame.columns:
            out["Chance above zero"] = [
                "n/a" if _num(v) is None else f"{float(v) * 100:.1f}%"
                for v in frame["prob_above_zero"]
            ]
        if "draws" in frame.columns:
            out["Draws"] = [f"{int(v):,}" for v in frame["draws"]]
        return out
    shown = frame.copy()
    for col in shown.columns:
        if shown[col].dtype.kind == "f":
            shown[col] = [("n/a" if _num(v) is None else f"{float(v):,.3f}") for v in shown[col]]
    if "field" in shown.columns:
        shown["field"] = [FIELD_SPECS[f].label if f in FIELD_SPECS else f for f in shown["field"]]
    return shown


_REPORT_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#1f2933;
max-width:1180px;margin:0 auto;padding:24px 28px 60px;line-height:1.45}
h1{font-size:1.7rem;margin:0 0 4px}h2{font-size:1.3rem;margin:36px 0 10px;border-bottom:2px solid
#e4e7eb;padding-bottom:4px}h3{font-size:1.1rem;margin:22px 0 6px}h4,h5,h6{font-size:1rem}
.sub{color:#52606d;margin:0 0 16px}.meta{color:#52606d;font-size:.85rem}
table{border-collapse:collapse;font-size:.86rem;margin:8px 0 16px}th,td{border:1px solid #d9dee3;
padding:4px 8px;text-align:left;vertical-align:top}th{background:#f1f4f7}td.num{text-align:right;
font-variant-numeric:tabular-nums;white-space:nowrap}table.kpi td:nth-child(2){font-weight:600;
text-align:right;white-space:nowrap}.chart{margin:10px 0 26px;page-break-inside:avoid}
.chart h3{margin-bottom:2px}.wide{overflow-x:auto}.note{background:#fff8e1;border-left:4px solid
#f0b429;padding:8px 12px}code{background:#f1f4f7;padding:0 3px;border-radius:3px}
pre{background:#f1f4f7;padding:8px;overflow-x:auto}blockquote{border-left:4px solid #cbd2d9;
margin:8px 0;padding:2px 12px;color:#52606d}nav a{margin-right:14px}
@media print{.chart{page-break-inside:avoid}nav{display:none}}
"""


def report_html(
    ctx: ViewContext,
    figures: Mapping[str, go.Figure],
    *,
    summaries: Mapping[str, pd.DataFrame] | None = None,
    notes: list[str] | None = None,
    methodology: str | None = None,
) -> str:
    """One self-contained HTML file: metrics, all charts, inputs with sources, cash flows, method.

    plotly.js is inlined once, so the file works offline; every text is escaped.
    """
    esc = html.escape
    s = ctx.scenario
    preset = presets().get(ctx.preset_id)
    preset_name = preset.name if preset is not None else ctx.preset_id
    changed = s.diff(ctx.preset_scenario)
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    metrics = metrics_frame(ctx.result)
    base_metrics = ctx.preset_result.metrics()

    kpi_rows = []
    for name, label, value in zip(
        metrics["metric"], metrics["label"], metrics["value"], strict=True
    ):
        key = str(name)
        now = None if value is None or value != value else float(value)
        kpi_rows.append(
            "<tr>"
            f"<td>{esc(str(label))}</td>"
            f"<td>{esc(format_metric(key, now))}</td>"
            f"<td>{esc(format_metric(key, base_metrics.get(key)))}</td>"
            "</tr>"
        )
    kpi_html = (
        '<table class="kpi"><thead><tr><th>Metric</th><th>This scenario</th>'
        f"<th>Preset {esc(ctx.preset_id)}</th></tr></thead><tbody>"
        + "".join(kpi_rows)
        + "</tbody></table>"
    )

    if changed:
        items = "".join(
            f"<li>{esc(FIELD_SPECS[k].label)} (<code>{esc(k)}</code>): "
            f"{esc(field_value_text(k, new))} instead of {esc(field_value_text(k, old))} "
            f"({esc(percent_unit(FIELD_SPECS[k]))})</li>"
            for k, (new, old) in changed.items()
        )
        changed_html = f"<p>Inputs changed from the preset:</p><ul>{items}</ul>"
    else:
        changed_html = "<p>No inputs changed from the preset.</p>"

    chart_blocks: list[str] = []
    toc: list[str] = []
    for name, fig in figures.items():
        title = figure_title(fig) or name.replace("_", " ")
        div = pio.to_html(
            fig,
            include_plotlyjs=False,
            full_html=False,
            config=PLOTLY_CONFIG,
            default_width="100%",
            default_height=f"{figure_size(fig)[1]}px",
        )
        toc.append(f'<li><a href="#chart-{esc(name)}">{esc(title)}</a></li>')
        chart_blocks.append(
            f'<section class="chart" id="chart-{esc(name)}">{div}'
            f'<p class="meta">Chart file name: <code>{esc(name)}</code></p></section>'
        )
    if not chart_blocks:
        chart_blocks.append("<p>No charts are available in this version.</p>")
    notes_html = "".join(f'<p class="note">{esc(n)}</p>' for n in (notes or []))
    conditions_html = "".join(
        f'<p class="note">{esc(line)}</p>' for line in conditions_text(ctx.result)
    )

    inputs = inputs_frame(ctx)
    inputs_view = inputs[["label", "value", "unit", "basis", "source", "year", "note"]].copy()
    inputs_view["year"] = inputs_view["year"].map(
        lambda y: "" if y is None or y != y else str(int(y))
    )
    inputs_html = _table_html(inputs_view, {"value": lambda v: f"{v:,.10g}"})

    cf = cash_flows_frame(ctx.result)
    cf_t = cf.drop(columns=["operating", "year_index"]).set_index("year").T
    cf_t.columns = [str(int(c)) for c in cf_t.columns]  # calendar years (methodology 1)
    years = list(cf_t.columns)
    cf_t.insert(0, "line (US$ B)", cf_t.index)
    cf_html = _table_html(
        cf_t.reset_index(drop=True),
        {c: (lambda v: f"{v:,.1f}") for c in years},
    )

    summary_html = ""
    for key, frame in (summaries or {}).items():
        title, caption = _SUMMARY_VIEWS.get(str(key), (str(key).replace("_", " "), ""))
        shown = summary_view(str(key), frame)
        summary_html += (
            f"<h3>{esc(title)}</h3>"
            + (f'<p class="meta">{esc(caption)}</p>' if caption else "")
            + f"<div class='wide'>{_table_html(shown)}</div>"
        )

    method_src = methodology if methodology is not None else methodology_text()
    method_html = (
        markdown_to_html(method_src)
        if method_src
        else "<p>The methodology document (docs/methodology.md) is not available.</p>"
    )

    nav = (
        '<nav><a href="#metrics">Metrics</a><a href="#charts">Charts</a>'
        '<a href="#inputs">Inputs</a><a href="#cash-flows">Cash flows</a>'
        + ('<a href="#analysis">Analysis tables</a>' if summary_html else "")
        + '<a href="#method">Method</a></nav>'
    )
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>AI data-center returns: {esc(ctx.preset_id)} scenario report</title>"
        f"<style>{_REPORT_CSS}</style>"
        f'<script type="text/javascript">{get_plotlyjs()}</script>'
        "</head><body>"
        "<h1>AI data-center returns: scenario report</h1>"
        f'<p class="sub">{esc(ctx.label)}</p>'
        f'<p class="verdict"><strong>{esc(verdict(ctx))}</strong></p>'
        f'<p class="meta">Base preset: {esc(preset_name)} (<code>{esc(ctx.preset_id)}</code>). '
        f"Generated {esc(generated)}. Money in US$ billions (B), nominal; rates per year. "
        "Charts are interactive (hover for values; the camera icon saves a PNG).</p>"
        f"{nav}"
        f'<h2 id="metrics">Metrics</h2>{changed_html}{kpi_html}{conditions_html}'
        f'<h2 id="charts">Charts</h2>{notes_html}'
        + (f'<ol class="toc">{"".join(toc)}</ol>' if toc else "")
        + f"{''.join(chart_blocks)}"
        f'<h2 id="inputs">Inputs and sources</h2><p class="meta">{esc(_inputs_note())}</p>'
        f'<div class="wide">{inputs_html}</div>'
        f'<h2 id="cash-flows">Cash flows</h2><p class="meta">{esc(CASH_FLOW_NOTE)}</p>'
        f'<div class="wide">{cf_html}</div>'
        + (f'<h2 id="analysis">Analysis tables</h2>{summary_html}' if summary_html else "")
        + f'<h2 id="method">Method</h2>{method_html}'
        "</body></html>\n"
    )


def _inputs_note() -> str:
    return (
        "'basis' says where each value comes from: the sourced default (data/assumptions.csv), "
        "the preset, or a change made in this scenario. 'source' and 'year' belong to that value."
    )


def figure_title(fig: go.Figure) -> str:
    """The chart's main title as plain text (the bold lines before the grey subtitle)."""
    title = fig.layout.title.text if fig.layout.title is not None else None
    if not title:
        return ""
    main = re.split(r"<span", str(title), maxsplit=1)[0]
    main = re.sub(r"<br\s*/?>", " ", main)
    return " ".join(html.unescape(re.sub(r"<[^>]*>", "", main)).split())


def chart_html(fig: go.Figure, title: str = "", *, plotlyjs: str = "inline") -> str:
    """An HTML page of one interactive chart that works offline.

    ``plotlyjs="inline"`` (default) carries plotly.js inside the page (one self-contained file,
    about 4.6 MB); ``"directory"`` loads ``plotly.min.js`` from the same folder, so a folder of
    charts shares one copy (the export CLI writes it beside them).
    """
    page = pio.to_html(
        fig,
        include_plotlyjs=True if plotlyjs == "inline" else "directory",
        full_html=True,
        config=PLOTLY_CONFIG,
        default_width="100%",
        default_height="90vh",
    )
    if title:
        page = page.replace(
            "<head>",
            f'<head><title>{html.escape(title)}</title><meta name="robots" content="noindex">',
            1,
        )
    return str(page)
