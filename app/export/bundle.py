"""Write an export into a folder: every file atomically, inside the folder, never via a symlink.

Each file is written to a temporary name in the output folder, flushed, then renamed over its
final name (:func:`write_file`). A failure (full disk, permissions, a folder in the way) removes
the temporary file, leaves any earlier file of that name untouched, and raises an ``OSError``
whose message names the file. The rename replaces a symlink at the final name instead of
following it, so nothing outside the folder is ever written. Interactive chart pages share one
``plotly.min.js`` written beside them, so a full export stays small (a few MB, not one copy of
plotly.js per chart).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from app.context import ViewContext
from app.export.analyses import scenario_figures
from app.export.images import (
    IMAGE_FORMATS,
    NO_BROWSER_MESSAGE,
    ExportError,
    chart_image,
    find_browser,
)
from app.export.report import chart_html, figure_title, report_html
from app.export.tables import cash_flows_csv, conditions_frame, csv_text, metrics_csv
from app.export.workbook import workbook_bytes

ALL_FORMATS: tuple[str, ...] = ("png", "svg", "pdf", "html", "csv", "xlsx", "report")
#: The one copy of plotly.js the chart pages of an export load (written beside them).
PLOTLY_JS = "plotly.min.js"


@dataclass
class ExportOutcome:
    written: list[Path]
    skipped: list[str]
    image_error: str | None = None
    notes: list[str] = field(default_factory=list)


def _check_name(name: str) -> None:
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\x00" in name:
        raise ValueError(f"file name {name[:40]!r} is not a plain file name")


def write_file(out_dir: Path, name: str, data: bytes | str) -> Path:
    """Write ``data`` to ``out_dir/name`` atomically (temporary file, then rename).

    Raises
    ------
    OSError
        With the file's path in the message (and ``filename``); no partial file is left.
    ValueError
        When ``name`` is not a plain file name (no folders: nothing outside ``out_dir``).
    """
    _check_name(name)
    folder = Path(out_dir)
    target = folder / name
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    tmp: str | None = None
    try:
        if target.is_dir() and not target.is_symlink():
            raise IsADirectoryError(21, "a folder of that name is in the way")
        fd, tmp = tempfile.mkstemp(prefix=f".{name[:60]}.", suffix=".part", dir=folder)
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)  # replaces a symlink itself; never writes through it
        tmp = None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise OSError(exc.errno, f"{reason} (writing {target})", str(target)) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return target


def write_exports(
    ctx: ViewContext,
    out_dir: Path,
    formats: tuple[str, ...] = ALL_FORMATS,
    *,
    summaries: Mapping[str, pd.DataFrame] | None = None,
    progress: Callable[[str], None] = lambda _line: None,
) -> ExportOutcome:
    """Write the chosen formats for this scenario into ``out_dir`` (created if needed).

    ``scenario.toml`` is always written. Image formats are skipped (with ``image_error`` set)
    when Chromium is missing or fails; everything else is still written. A file that cannot be
    written raises ``OSError`` naming it (files already written stay, each one complete).
    """
    from model.io import to_toml

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    skipped: list[str] = []
    outcome = ExportOutcome(written, skipped)

    def put(name: str, data: bytes | str, started: float) -> None:
        path = write_file(out_dir, name, data)
        written.append(path)
        took = time.perf_counter() - started
        progress(f"wrote {path} ({_human_size(path.stat().st_size)}, {took:.2f} s)")

    t = time.perf_counter()
    put("scenario.toml", to_toml(ctx.scenario, ctx.preset_id), t)

    figures: dict[str, go.Figure] = {}
    if any(f in formats for f in ("png", "svg", "pdf", "html", "report")):
        figures, notes = scenario_figures(ctx)
        outcome.notes += notes
        for note in notes:
            progress(f"note: {note}")

    image_formats = [f for f in IMAGE_FORMATS if f in formats]
    if image_formats:
        if find_browser() is None:
            outcome.image_error = NO_BROWSER_MESSAGE
            skipped += [f"{name}.{fmt}" for fmt in image_formats for name in figures]
            progress(f"skipped {', '.join(image_formats)}: {NO_BROWSER_MESSAGE}")
        else:
            try:
                for fmt in image_formats:
                    for name, fig in figures.items():
                        t = time.perf_counter()
                        put(f"{name}.{fmt}", chart_image(fig, fmt), t)
            except ExportError as exc:
                outcome.image_error = str(exc)
                progress(f"skipped the remaining images: {exc}")
    if "html" in formats and figures:
        t = time.perf_counter()
        put(PLOTLY_JS, get_plotlyjs(), t)
        for name, fig in figures.items():
            t = time.perf_counter()
            put(f"{name}.html", chart_html(fig, figure_title(fig) or name, plotlyjs="directory"), t)
    if "csv" in formats:
        t = time.perf_counter()
        put("cash_flows.csv", cash_flows_csv(ctx.result), t)
        t = time.perf_counter()
        put("metrics.csv", metrics_csv(ctx.result), t)
        t = time.perf_counter()
        put("conditions.csv", csv_text(conditions_frame(ctx.result)), t)
    if "xlsx" in formats:
        t = time.perf_counter()
        put("workbook.xlsx", workbook_bytes(ctx, summaries), t)
    if "report" in formats:
        t = time.perf_counter()
        put("report.html", report_html(ctx, figures, summaries=summaries, notes=outcome.notes), t)
    return outcome


def _human_size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} B"
