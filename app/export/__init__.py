"""Export a scenario: chart images, offline HTML, CSV, an XLSX workbook and a one-file report.

Used by the dashboard's Export tab and by ``python -m app export``, with the same chart builders
as the dashboard. One module per job:

* :mod:`app.export.images`: the one persistent Chromium (kaleido) for PNG, SVG and PDF, with
  size limits, output checks and reaping of the browser's processes;
* :mod:`app.export.analyses`: each analysis (tornado, heatmap, stress, Monte Carlo) run once per
  scenario for both charts and tables;
* :mod:`app.export.tables`, :mod:`app.export.workbook`: CSV and XLSX data;
* :mod:`app.export.report`: the one-file HTML report (methodology through markdown-it-py, HTML
  off) and single-chart HTML pages;
* :mod:`app.export.bundle`: :func:`write_exports`, every file written atomically in the folder.

Nothing user-supplied is ever put into HTML unescaped: every text goes through
:func:`html.escape`, and plotly serialises figure JSON with ``<`` escaped.
"""

from __future__ import annotations

from app.export.analyses import (
    Analyses,
    analyses,
    make_context,
    safe_name,
    scenario_figures,
    scenario_summaries,
)
from app.export.bundle import ALL_FORMATS, PLOTLY_JS, ExportOutcome, write_exports, write_file
from app.export.images import (
    _SERVER,
    DEFAULT_HEIGHT,
    DEFAULT_WIDTH,
    IMAGE_FORMATS,
    MAX_SIDE_PX,
    NO_BROWSER_MESSAGE,
    PNG_SCALE,
    ExportError,
    _ImageServer,
    browser_processes,
    chart_image,
    find_browser,
    image_problem,
    image_server_starts,
    image_unavailable_reason,
    images_available,
    reap_browser_children,
    start_image_server,
    stop_image_server,
)
from app.export.report import (
    PLOTLY_CONFIG,
    chart_html,
    figure_title,
    markdown_to_html,
    methodology_text,
    report_html,
    summary_view,
)
from app.export.tables import (
    CASH_FLOW_NOTE,
    cash_flows_csv,
    cash_flows_frame,
    conditions_frame,
    csv_text,
    format_metric,
    inputs_frame,
    labelled_csv,
    market_frame,
    metric_unit,
    metrics_csv,
    metrics_frame,
)
from app.export.workbook import _sheet_name, workbook_bytes

MIME: dict[str, str] = {
    "png": "image/png",
    "svg": "image/svg+xml",
    "pdf": "application/pdf",
    "html": "text/html",
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "toml": "application/toml",
    "json": "application/json",
}

__all__ = [
    "ALL_FORMATS",
    "CASH_FLOW_NOTE",
    "DEFAULT_HEIGHT",
    "DEFAULT_WIDTH",
    "IMAGE_FORMATS",
    "MAX_SIDE_PX",
    "MIME",
    "NO_BROWSER_MESSAGE",
    "PLOTLY_CONFIG",
    "PLOTLY_JS",
    "PNG_SCALE",
    "_SERVER",
    "Analyses",
    "ExportError",
    "ExportOutcome",
    "_ImageServer",
    "_sheet_name",
    "analyses",
    "browser_processes",
    "cash_flows_csv",
    "cash_flows_frame",
    "chart_html",
    "chart_image",
    "conditions_frame",
    "csv_text",
    "figure_title",
    "find_browser",
    "format_metric",
    "image_problem",
    "image_server_starts",
    "image_unavailable_reason",
    "images_available",
    "inputs_frame",
    "labelled_csv",
    "make_context",
    "markdown_to_html",
    "market_frame",
    "methodology_text",
    "metric_unit",
    "metrics_csv",
    "metrics_frame",
    "reap_browser_children",
    "report_html",
    "safe_name",
    "scenario_figures",
    "scenario_summaries",
    "start_image_server",
    "stop_image_server",
    "summary_view",
    "workbook_bytes",
    "write_exports",
    "write_file",
]
