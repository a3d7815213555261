"""The XLSX workbook of an export: inputs, cash flows, metrics, market, analysis tables, notes."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Mapping

import pandas as pd

from app.context import ViewContext
from app.export.tables import (
    CASH_FLOW_NOTE,
    cash_flows_frame,
    inputs_frame,
    market_frame,
    metrics_frame,
)


def _sheet_name(name: str, taken: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\']", "_", name)[:31] or "sheet"
    candidate, n = base, 2
    while candidate.lower() in taken:
        suffix = f"_{n}"
        candidate = base[: 31 - len(suffix)] + suffix
        n += 1
    taken.add(candidate.lower())
    return candidate


def workbook_bytes(ctx: ViewContext, summaries: Mapping[str, pd.DataFrame] | None = None) -> bytes:
    """An XLSX workbook: inputs, cash_flows, metrics, market, any summaries, and notes."""
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    sheets: list[tuple[str, pd.DataFrame]] = [
        ("inputs", inputs_frame(ctx)),
        ("cash_flows", cash_flows_frame(ctx.result)),
        ("metrics", metrics_frame(ctx.result)),
        ("market", market_frame(ctx.result)),
    ]
    for key, frame in (summaries or {}).items():
        sheets.append((str(key), frame))
    notes = pd.DataFrame(
        {
            "note": [
                f"Scenario: {ctx.label}",
                f"Base preset: {ctx.preset_id}",
                CASH_FLOW_NOTE,
                "inputs: 'basis' says whether a value is the sourced default, the preset's, or "
                "changed in this scenario; 'source' and 'year' are the source of that value.",
                "metrics: empty value = undefined (e.g. no IRR without a sign change in the "
                "cash flows).",
                "Method: docs/methodology.md in the project (also in report.html).",
                f"Generated {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}.",
            ]
        }
    )
    sheets.append(("notes", notes))
    buffer = io.BytesIO()
    taken: set[str] = set()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for key, frame in sheets:
            name = _sheet_name(key, taken)
            frame.to_excel(writer, sheet_name=name, index=False)
            ws = writer.sheets[name]
            ws.freeze_panes = "A2"
            for cell in ws[1]:
                cell.font = Font(bold=True)
            for i, column in enumerate(frame.columns, start=1):
                values = [str(column), *(str(v) for v in frame[column].head(200))]
                width = min(max(len(v) for v in values) + 2, 60)
                ws.column_dimensions[get_column_letter(i)].width = max(width, 8)
            if name == "notes":
                ws.column_dimensions["A"].width = 110
                for row in ws.iter_rows(min_row=2):
                    row[0].alignment = Alignment(wrap_text=True)
    return buffer.getvalue()
