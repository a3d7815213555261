"""The XLSX workbook of an export: the live model (formulas), then the model's value sheets:
inputs with sources, cash flows, metrics, market, analysis tables, notes."""

from __future__ import annotations

import datetime as dt
import io
import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from app.context import ViewContext
from app.export.tables import (
    CASH_FLOW_NOTE,
    INPUTS_LABELS,
    METRICS_CSV_LABELS,
    cash_flows_frame,
    column_label,
    inputs_frame,
    market_frame,
    metrics_frame,
)
from model.workbook import live_workbook


def _sheet_name(name: str, taken: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\']", "_", name)[:31] or "sheet"
    candidate, n = base, 2
    while candidate.lower() in taken:
        suffix = f"_{n}"
        candidate = base[: 31 - len(suffix)] + suffix
        n += 1
    taken.add(candidate.lower())
    return candidate


#: The model's value sheets beside the live ones (names differ from the live sheets' in more
#: than case: spreadsheet sheet names are unique regardless of case).
VALUE_SHEETS: tuple[str, ...] = ("input_sources", "cash_flows", "metrics", "market_values")


def _cell_value(v: object) -> object:
    """A value openpyxl writes: numpy scalars as Python numbers, NaN and NA as empty."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if v is pd.NA or v is None:
        return None
    return v


def _write_frame(ws: Any, frame: pd.DataFrame, labels: dict[str, str] | None = None) -> None:
    """``frame`` with two header rows, as the CSVs: labels with units, then the code names
    (:func:`app.export.tables.column_label`); ``labels`` None writes the one header as is."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    codes = [str(c) for c in frame.columns]
    heads = [codes] if labels is None else [[column_label(c, labels) for c in codes], codes]
    for head in heads:
        ws.append(head)
    first = len(heads) + 1
    for r, row in enumerate(frame.itertuples(index=False), start=first):
        for c, v in enumerate(row, start=1):
            cell = ws.cell(r, c, _cell_value(v))
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # data is never a formula (a label starting with "=")
    ws.freeze_panes = f"A{first}"
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for i, column in enumerate(frame.columns, start=1):
        values = [*(str(h[i - 1]) for h in heads), *(str(v) for v in frame[column].head(200))]
        width = min(max(len(v) for v in values) + 2, 60)
        ws.column_dimensions[get_column_letter(i)].width = max(width, 8)


def workbook_bytes(ctx: ViewContext, summaries: Mapping[str, pd.DataFrame] | None = None) -> bytes:
    """An XLSX workbook: the live model (:func:`model.workbook.live_workbook`: About, Inputs,
    Market, Derived, Cash flows, Returns, Check, Tax tables, Conditions), then the model's value
    sheets (input sources, cash flows, metrics, market indices) and any summaries, each with
    labels and units over the code names as headers, and notes."""
    from openpyxl.styles import Alignment

    wb = live_workbook(ctx.scenario, ctx.result, ctx.label)
    sheets: list[tuple[str, pd.DataFrame, dict[str, str] | None]] = [
        (VALUE_SHEETS[0], inputs_frame(ctx), INPUTS_LABELS),
        (VALUE_SHEETS[1], cash_flows_frame(ctx.result), {}),
        (VALUE_SHEETS[2], metrics_frame(ctx.result), METRICS_CSV_LABELS),
        (VALUE_SHEETS[3], market_frame(ctx.result), {}),
    ]
    for key, frame in (summaries or {}).items():
        sheets.append((str(key), frame, {}))
    notes = pd.DataFrame(
        {
            "note": [
                f"Scenario: {ctx.label}",
                f"Base preset: {ctx.preset_id}",
                "The first sheets are a live model (formulas): see 'About'. The sheets from "
                f"'{VALUE_SHEETS[0]}' on hold the model's values at export.",
                CASH_FLOW_NOTE,
                f"{VALUE_SHEETS[0]}: 'basis' says whether a value is the sourced default, the "
                "preset's, or changed in this scenario; 'source' and 'year' are the source of "
                "that value.",
                "Value sheets have two header rows: the label with its unit, then the code "
                f"name (read with pandas.read_excel(path, sheet_name='{VALUE_SHEETS[1]}', "
                "header=1)). The sheet 'Conditions' lists the conditions that hold for this "
                "result, in sentences (as conditions.csv).",
                "metrics: empty value = undefined (e.g. no IRR without a sign change in the "
                "cash flows).",
                "Method: docs/methodology.md in the project (also in report.html); the live "
                "workbook is its section 13.",
                f"Generated {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}.",
            ]
        }
    )
    sheets.append(("notes", notes, None))
    taken = {name.lower() for name in wb.sheetnames}
    for key, frame, labels in sheets:
        name = _sheet_name(key, taken)
        ws = wb.create_sheet(name)
        _write_frame(ws, frame, labels)
        if key == "notes":
            ws.column_dimensions["A"].width = 110
            for row in ws.iter_rows(min_row=2):  # one header row: the notes are prose
                row[0].alignment = Alignment(wrap_text=True)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
