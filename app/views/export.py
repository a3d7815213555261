"""The Export tab: every chart as PNG/SVG/PDF/HTML, the data as CSV/XLSX, the report, the scenario.

Files are generated only when their button is clicked (deferred downloads), so drawing the tab
costs no rendering. Images go through the one shared Chromium of :mod:`app.export`; without
Chromium the tab says so plainly and still offers HTML, data and the report.
"""

from __future__ import annotations

from collections.abc import Callable

import plotly.graph_objects as go
import streamlit as st

from app import export, ui
from app.context import ViewContext
from app.text import escape_markdown
from app.ui import chart_file_stem
from model.io import to_json, to_toml


@st.cache_resource(max_entries=16, show_spinner=False)
def _figures(key: str, _ctx: ViewContext) -> tuple[dict[str, go.Figure], list[str]]:
    """The dashboard's figures for one scenario, built once and shared read-only."""
    return export.scenario_figures(_ctx)


def _image(fig: go.Figure, fmt: str) -> Callable[[], bytes]:
    return lambda: export.chart_image(fig, fmt)


def _html(fig: go.Figure, title: str) -> Callable[[], str]:
    return lambda: export.chart_html(fig, title)


def data_file_name(kind: str, ctx: ViewContext, ext: str) -> str:
    """Download name of a data file: ``report_bofa-base_gw-built-4.5.html``."""
    return f"{kind}_{ctx.file_stem}.{ext}"


def chart_file_name(name: str, ctx: ViewContext, fmt: str) -> str:
    """Download name of a chart, as the chart's own toolbar saves it."""
    return f"{chart_file_stem(name, ctx)}.{fmt}"


def render(ctx: ViewContext) -> None:
    key = f"{ctx.preset_id}|{ctx.scenario.model_dump_json()}"
    figures, notes = _figures(key, ctx)
    unavailable = export.image_unavailable_reason()
    images = unavailable is None

    st.subheader("Export")
    st.caption(escape_markdown(f"Scenario: {ctx.label}. Files are made when you click."))
    ui.show_conditions(ctx)  # what the files' notes say too (report, conditions.csv)

    st.markdown("**Report and data**")
    cols = st.columns(4)
    cols[0].download_button(
        "Report (HTML)",
        data=lambda: export.report_html(
            ctx, figures, summaries=export.scenario_summaries(ctx), notes=notes
        ),
        file_name=data_file_name("report", ctx, "html"),
        mime=export.MIME["html"],
        key="export_report",
        icon=":material/description:",
        help="One file: metrics, all charts (interactive, offline), inputs with sources, "
        "cash flows and the method",
        width="stretch",
    )
    cols[1].download_button(
        "Workbook (XLSX)",
        data=lambda: export.workbook_bytes(ctx, export.scenario_summaries(ctx)),
        file_name=data_file_name("workbook", ctx, "xlsx"),
        mime=export.MIME["xlsx"],
        key="export_xlsx",
        icon=":material/table:",
        help="Sheets: inputs (value, unit, source, year), cash_flows, metrics, market, notes",
        width="stretch",
    )
    cols[2].download_button(
        "Cash flows (CSV)",
        data=lambda: export.cash_flows_csv(ctx.result),
        file_name=data_file_name("cash_flows", ctx, "csv"),
        mime=export.MIME["csv"],
        key="export_cash_flows_csv",
        icon=":material/download:",
        help=export.CASH_FLOW_NOTE,
        width="stretch",
    )
    cols[3].download_button(
        "Metrics (CSV)",
        data=lambda: export.metrics_csv(ctx.result),
        file_name=data_file_name("metrics", ctx, "csv"),
        mime=export.MIME["csv"],
        key="export_metrics_csv",
        icon=":material/download:",
        help="One row per metric: label, value in the model's unit, unit, as shown; the first "
        "header row has labels, the second the code names (empty value = undefined)",
        width="stretch",
    )
    cols = st.columns(4)
    cols[0].download_button(
        "Scenario (TOML)",
        data=to_toml(ctx.scenario, ctx.preset_id),
        file_name=data_file_name("scenario", ctx, "toml"),
        mime=export.MIME["toml"],
        key="export_scenario_toml",
        on_click="ignore",
        icon=":material/download:",
        help="Load it back here, or run `python -m app export --scenario FILE`.",
        width="stretch",
    )
    cols[1].download_button(
        "Scenario (JSON)",
        data=to_json(ctx.scenario, ctx.preset_id),
        file_name=data_file_name("scenario", ctx, "json"),
        mime=export.MIME["json"],
        key="export_scenario_json",
        on_click="ignore",
        icon=":material/download:",
        width="stretch",
    )

    st.markdown("**Charts**")
    if not images:
        st.info(_plain_md(unavailable), icon=":material/info:")
    for note in notes:
        st.caption(escape_markdown(note))
    if not figures:
        st.write("No charts are available to export yet.")
        return
    for name, fig in figures.items():
        title = export.figure_title(fig) or name.replace("_", " ")
        row = st.columns([4, 1, 1, 1, 1], vertical_alignment="center")
        row[0].markdown(f"{_plain_md(title)}  \n`{chart_file_stem(name, ctx)}`")
        for i, fmt in enumerate(export.IMAGE_FORMATS, start=1):
            row[i].download_button(
                fmt.upper(),
                data=_image(fig, fmt) if images else b"",
                file_name=chart_file_name(name, ctx, fmt),
                mime=export.MIME[fmt],
                key=f"export_{name}_{fmt}",
                disabled=not images,
                help=None if images else "Needs Chromium on the server",
                width="stretch",
            )
        row[4].download_button(
            "HTML",
            data=_html(fig, title),
            file_name=chart_file_name(name, ctx, "html"),
            mime=export.MIME["html"],
            key=f"export_{name}_html",
            help="Interactive chart in one file; works offline",
            width="stretch",
        )


def _plain_md(text: str | None) -> str:
    return escape_markdown(text or "")
