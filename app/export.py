"""Export a scenario: chart images, offline HTML, CSV, an XLSX workbook and a one-file report.

Used by the dashboard's Export tab and by ``python -m app export``, with the same chart builders
as the dashboard (``app.charts.all_figures`` and, where present,
``app.charts_analysis.analysis_figures``).

Images (PNG, SVG, PDF) are rendered by kaleido in ONE persistent Chromium, started on first use
and shared by every session and every export (a lock serialises renders; the first image costs
the browser start, later ones a fraction of a second). Without Chromium, :func:`images_available`
is False and :func:`chart_image` raises :class:`ExportError` with a plain message; HTML, CSV,
XLSX and the report never need a browser.

Nothing user-supplied is ever put into HTML unescaped: every text goes through
:func:`html.escape`, and plotly serialises figure JSON with ``<`` escaped.
"""

from __future__ import annotations

import asyncio
import atexit
import datetime as dt
import html
import io
import math
import os
import re
import shutil
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from app.context import ViewContext
from model import FIELD_NAMES, FIELD_SPECS, METRIC_UNITS, Result, Scenario, evaluate, load_preset
from model.data import DATA_DIR, assumptions, presets

ROOT = DATA_DIR.parent
METHODOLOGY_PATH = ROOT / "docs" / "methodology.md"

IMAGE_FORMATS: tuple[str, ...] = ("png", "svg", "pdf")
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
DEFAULT_WIDTH = 1100
DEFAULT_HEIGHT = 620
PNG_SCALE = 2
START_TIMEOUT_S = 60.0
RENDER_TIMEOUT_S = 60.0
PLOTLY_CONFIG: dict[str, Any] = {"displaylogo": False, "responsive": True}

NO_BROWSER_MESSAGE = (
    "Image export (PNG, SVG, PDF) needs Chromium, which is not installed where this app runs. "
    "Interactive HTML, CSV, XLSX and the report still work, and each chart's toolbar "
    "(camera icon) saves a PNG or SVG from your browser."
)


class ExportError(RuntimeError):
    """An export that cannot be produced; the message says why in plain words."""


# ---------------------------------------------------------------------------------------------
# Chromium and the persistent kaleido server
# ---------------------------------------------------------------------------------------------

_BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_browser() -> str | None:
    """Path of the Chromium kaleido will use, or None.

    Honours ``BROWSER_PATH`` as kaleido does: when it is set, only that browser counts (set it to
    a missing path to simulate a machine without Chromium).
    """
    env = os.environ.get("BROWSER_PATH")
    if env is not None:
        found = shutil.which(env)
        if found:
            return found
        return env if os.path.isfile(env) and os.access(env, os.X_OK) else None
    for name in _BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return found
    fallback = "/usr/bin/chromium"
    return fallback if os.path.isfile(fallback) and os.access(fallback, os.X_OK) else None


def images_available() -> bool:
    """True when a Chromium is installed (and has not failed to start), so images can work."""
    return image_unavailable_reason() is None


def image_unavailable_reason() -> str | None:
    """Why PNG/SVG/PDF export cannot work here, in plain words; None when it can."""
    if find_browser() is None:
        return NO_BROWSER_MESSAGE
    return _SERVER.failed


class _ImageServer:
    """One kaleido (one headless Chromium) on its own event loop thread, shared by all callers.

    kaleido's own ``start_sync_server`` is not safe for concurrent callers (results can cross)
    and blocks forever if the browser fails to start; this equivalent serialises calls with a
    lock, waits with timeouts and restarts the browser once after a failure.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._kaleido: Any = None
        self.starts = 0
        #: Set when the browser could not start: later exports say so at once instead of waiting.
        self.failed: str | None = None

    def running(self) -> bool:
        return self._kaleido is not None and self._thread is not None and self._thread.is_alive()

    def _start(self) -> None:
        browser = find_browser()
        if browser is None:
            raise ExportError(NO_BROWSER_MESSAGE)
        import kaleido

        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="kaleido-image-server", daemon=True)
        thread.start()

        async def open_browser() -> Any:
            k = kaleido.Kaleido(n=1, timeout=RENDER_TIMEOUT_S, mathjax=False, path=browser)
            await k.open()
            return k

        future = asyncio.run_coroutine_threadsafe(open_browser(), loop)
        try:
            k = future.result(timeout=START_TIMEOUT_S)
        except BaseException as exc:
            future.cancel()
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=5)
            self.failed = (
                f"Image export (PNG, SVG, PDF) is unavailable: Chromium at {browser} could not "
                f"start ({_brief(exc)}). Interactive HTML, CSV, XLSX and the report still work, "
                "and each chart's toolbar (camera icon) saves a PNG or SVG from your browser."
            )
            raise ExportError(self.failed) from None
        self._loop, self._thread, self._kaleido = loop, thread, k
        self.failed = None
        self.starts += 1

    def _stop(self) -> None:
        loop, thread, k = self._loop, self._thread, self._kaleido
        self._loop = self._thread = self._kaleido = None
        if loop is None:
            return
        if k is not None and thread is not None and thread.is_alive():
            with _suppress():
                asyncio.run_coroutine_threadsafe(k.close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(timeout=5)

    def start(self) -> None:
        """Start the browser now (optional: :meth:`render` starts it on first use)."""
        with self._lock:
            if not self.running():
                self._stop()
                self._start()

    def stop(self) -> None:
        with self._lock:
            self._stop()

    def render(self, fig_dict: dict[str, Any], opts: dict[str, Any]) -> bytes:
        with self._lock:
            for attempt in (1, 2):
                if not self.running():
                    self._stop()
                    self._start()
                assert self._loop is not None
                future = asyncio.run_coroutine_threadsafe(
                    self._kaleido.calc_fig(fig_dict, opts=opts), self._loop
                )
                try:
                    data = future.result(timeout=RENDER_TIMEOUT_S + 5)
                except BaseException as exc:
                    future.cancel()
                    self._stop()  # a crashed or stuck browser: start afresh next time
                    if attempt == 2:
                        raise ExportError(
                            f"Chromium could not render the {opts.get('format')} image "
                            f"({_brief(exc)})."
                        ) from None
                    continue
                return bytes(data)
        raise ExportError("image export failed")  # pragma: no cover (loop always returns)


class _suppress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return True


def _brief(exc: BaseException) -> str:
    """The first line of an exception's message (choreographer nests it in a tuple)."""
    arg: object = exc.args[0] if exc.args else ""
    while isinstance(arg, (tuple, list)) and arg:
        arg = arg[0]
    text = str(arg).strip() or type(exc).__name__
    return text.splitlines()[0][:200]


_SERVER = _ImageServer()
atexit.register(_SERVER.stop)


def start_image_server() -> None:
    """Start the shared Chromium now (raises ExportError without one)."""
    _SERVER.start()


def stop_image_server() -> None:
    _SERVER.stop()


def image_server_starts() -> int:
    """How many times the shared browser has been started in this process (for tests)."""
    return _SERVER.starts


# ---------------------------------------------------------------------------------------------
# Charts
# ---------------------------------------------------------------------------------------------


def safe_name(name: str) -> str:
    """A file-safe chart name: lower-case letters, digits, '-' and '_' only."""
    cleaned = re.sub(r"[^a-z0-9_-]+", "_", str(name).lower()).strip("_-")
    return cleaned[:80] or "chart"


def _size(fig: go.Figure) -> tuple[int, int]:
    width = fig.layout.width or DEFAULT_WIDTH
    height = fig.layout.height or DEFAULT_HEIGHT
    return int(width), int(height)


def chart_image(fig: go.Figure, fmt: str) -> bytes:
    """The chart as PNG (at 2x), SVG or PDF bytes, through the shared Chromium."""
    fmt = fmt.lower()
    if fmt not in IMAGE_FORMATS:
        raise ExportError(f"format {fmt[:20]!r} is not an image format (allowed: png, svg, pdf)")
    if find_browser() is None:
        raise ExportError(NO_BROWSER_MESSAGE)
    width, height = _size(fig)
    opts = {
        "format": fmt,
        "width": width,
        "height": height,
        "scale": PNG_SCALE if fmt == "png" else 1,
    }
    return _SERVER.render(fig.to_dict(), opts)


def chart_html(fig: go.Figure, title: str = "") -> str:
    """A self-contained HTML page of one interactive chart (plotly.js inline; works offline)."""
    page = pio.to_html(
        fig,
        include_plotlyjs=True,
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
    return page


def make_context(scenario: Scenario, preset_id: str) -> ViewContext:
    """The ViewContext the dashboard builds, for a scenario and its base preset."""
    preset = load_preset(preset_id)
    return ViewContext(
        preset_id=preset_id,
        scenario=scenario,
        result=evaluate(scenario),
        preset_scenario=preset,
        preset_result=evaluate(preset),
    )


def scenario_figures(
    ctx: ViewContext, *, analysis: bool = True
) -> tuple[dict[str, go.Figure], list[str]]:
    """Every chart the dashboard draws for this scenario, keyed by file-safe name.

    Returns the figures and notes about any chart group that failed to load or build (so a
    failing analysis module never blocks exporting the main charts). A chart module that does not
    exist in this version is skipped silently.
    """
    figures: dict[str, go.Figure] = {}
    notes: list[str] = []
    builders: list[tuple[str, str, str]] = [("main charts", "app.charts", "all_figures")]
    if analysis:
        builders.append(("analysis charts", "app.charts_analysis", "analysis_figures"))
    for label, module_name, func_name in builders:
        try:
            module = __import__(module_name, fromlist=[func_name])
            build = getattr(module, func_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:  # the module exists but an import inside it failed
                notes.append(f"{label}: could not be loaded ({_brief(exc)})")
            continue  # a chart group not in this version: nothing to export, nothing to say
        except (ImportError, AttributeError) as exc:
            notes.append(f"{label}: could not be loaded ({_brief(exc)})")
            continue
        try:
            built = build(ctx)
        except Exception as exc:  # a chart bug must not stop the other exports
            notes.append(f"{label}: could not be built ({type(exc).__name__}: {_brief(exc)})")
            continue
        for key, fig in built.items():
            name = safe_name(key)
            while name in figures:
                name += "_2"
            figures[name] = fig
    return figures, notes


def scenario_summaries(ctx: ViewContext) -> dict[str, pd.DataFrame]:
    """Sensitivity, stress and Monte Carlo summary tables for the workbook and the report.

    Uses ``app.charts_analysis.analysis_tables(ctx)`` when the analysis module provides it;
    otherwise computes the defaults the analysis charts export with (tornado of NPV over
    ``data/ranges.csv``, the stress tests, and a Monte Carlo of the default distributions with
    the charts' draw count and seed). Anything unavailable is left out, never an error.
    """
    try:
        from app import charts_analysis
    except ImportError:
        charts_analysis = None  # type: ignore[assignment]
    tables_fn = getattr(charts_analysis, "analysis_tables", None)
    if tables_fn is not None:
        try:
            tables = tables_fn(ctx)
        except Exception:  # an analysis bug must not break the data exports
            return {}
        return {str(k): v for k, v in tables.items() if isinstance(v, pd.DataFrame)}
    out: dict[str, pd.DataFrame] = {}
    s = ctx.scenario
    try:
        from model.sensitivity import tornado

        out["sensitivity_npv"] = tornado(s).reset_index(drop=True)
    except Exception:  # noqa: S110 (optional table: absent module or bad range)
        pass
    try:
        from model.stress import stress_tests

        out["stress_tests"] = stress_tests(s).reset_index(drop=True)
    except Exception:  # noqa: S110
        pass
    try:
        from model.uncertainty import default_distributions, monte_carlo

        draws = int(getattr(charts_analysis, "EXPORT_DRAWS", 2_000))
        d = default_distributions()
        mc = monte_carlo(s, d.distributions, draws, 1, d.correlation)
        summary = mc.summary.reset_index()
        summary.insert(1, "draws", mc.n)
        summary.insert(2, "seed", mc.seed)
        out["monte_carlo_summary"] = summary
        out["monte_carlo_drivers"] = mc.ranking().reset_index(drop=True)
    except Exception:  # noqa: S110
        pass
    return out


# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------

METRIC_LABELS: dict[str, str] = {
    "npv_busd": "NPV at the WACC",
    "irr": "IRR",
    "irr_multiple": "Several IRRs (if yes, read MIRR)",
    "mirr": "MIRR",
    "payback_years": "Payback",
    "discounted_payback_years": "Discounted payback",
    "roic": "ROIC (average, operating years)",
    "gross_lease_yield": "Gross lease yield",
    "breakeven_lease_rate_busd_per_gw_year": "Break-even lease rate (NPV = 0)",
    "npv_per_share_usd": "NPV per share",
    "capex_initial_busd": "Initial capex",
    "capex_lifetime_busd": "Lifetime capex (with IT refresh)",
    "revenue_total_busd": "Total revenue",
    "ebitda_margin": "EBITDA margin",
    "market_reaction_busd": "Market reaction (value implied by the move)",
    "npv_to_market_reaction": "NPV / market reaction",
}

CASH_FLOW_NOTE = (
    "Cash-flow lines are US$ B per year (nominal); year 0 is the first construction year; "
    "'operating' is True in the years the capacity earns revenue. Market indices are "
    "dimensionless (1 = today)."
)


def metric_unit(name: str) -> str:
    if name == "irr_multiple":
        return "flag (1 = the NPV profile has several roots)"
    return METRIC_UNITS.get(name, "")


def format_metric(name: str, value: float | None) -> str:
    """A metric for people: percentages for rates, US$ B for money, n/a where undefined."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a (undefined)"
    unit = metric_unit(name)
    if name == "irr_multiple":
        return "yes" if value else "no"
    if unit.startswith("fraction"):
        return f"{value * 100:,.1f}%"
    if unit == "US$ B":
        return f"US$ {value:,.1f} B"
    if unit == "US$ B per year":
        return f"US$ {value:,.1f} B per year"
    if unit == "US$ per share":
        return f"US$ {value:,.2f}"
    if unit == "US$ B per GW-year":
        return f"US$ {value:,.2f} B per GW-year"
    if unit.startswith("years"):
        return f"{value:,.1f} years"
    if unit == "ratio":
        return f"{value:,.2f}x"
    return f"{value:,.4g}"


def metrics_frame(result: Result) -> pd.DataFrame:
    """One row per metric: metric, label, value (raw, None if undefined), unit."""
    rows = [
        {
            "metric": name,
            "label": METRIC_LABELS.get(name, name),
            "value": value,
            "unit": metric_unit(name),
        }
        for name, value in result.metrics().items()
    ]
    return pd.DataFrame(rows, columns=["metric", "label", "value", "unit"])


def cash_flows_frame(result: Result) -> pd.DataFrame:
    """The annual cash-flow table (US$ B per year), as the model returns it."""
    return result.cash_flows.copy()


def market_frame(result: Result) -> pd.DataFrame:
    return result.market.copy()


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
        if value != preset_values[name]:
            basis, source, year = "changed in this scenario", "Set in this scenario", None
        elif name in overrides and preset is not None and float(overrides[name]) != a.value:
            basis = f"preset {ctx.preset_id}"
            source, year = preset.source, preset.year
        else:
            basis, source, year = "sourced default", a.source, a.year
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


def csv_text(frame: pd.DataFrame) -> str:
    """CSV (UTF-8, comma, '.' decimal, no index); undefined values as empty cells."""
    return frame.to_csv(index=False, lineterminator="\n")


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


# ---------------------------------------------------------------------------------------------
# The one-file HTML report
# ---------------------------------------------------------------------------------------------

_INLINE_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITALIC = re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


def _inline(text: str) -> str:
    """Escape a line of Markdown, then render code, bold, italics and safe links."""
    out = html.escape(text, quote=True)
    codes: list[str] = []

    def keep_code(m: re.Match[str]) -> str:
        codes.append(f"<code>{m.group(1)}</code>")
        return f"\x00{len(codes) - 1}\x00"

    out = _INLINE_CODE.sub(keep_code, out)

    def link(m: re.Match[str]) -> str:
        label, url = m.group(1), html.unescape(m.group(2))
        if re.match(r"^(https?://|#|[\w./-]+$)", url) and not url.lower().startswith(
            ("javascript:", "data:")
        ):
            return f'<a href="{html.escape(url, quote=True)}">{label}</a>'
        return label

    out = _LINK.sub(link, out)
    out = _BOLD.sub(r"<strong>\1</strong>", out)
    out = _ITALIC.sub(r"<em>\1</em>", out)
    return re.sub(r"\x00(\d+)\x00", lambda m: codes[int(m.group(1))], out)


def markdown_to_html(text: str) -> str:
    """A small, safe Markdown subset (headings, paragraphs, lists, tables, code, quotes).

    Everything is escaped first; no raw HTML from the source passes through.
    """
    lines = text.replace("\r\n", "\n").split("\n")
    out: list[str] = []
    para: list[str] = []
    i = 0

    def flush() -> None:
        if para:
            out.append("<p>" + " ".join(_inline(p) for p in para) + "</p>")
            para.clear()

    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith("```"):
            flush()
            block = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("```"):
                block.append(lines[i])
                i += 1
            out.append("<pre><code>" + html.escape("\n".join(block)) + "</code></pre>")
            i += 1
            continue
        if not stripped:
            flush()
            i += 1
            continue
        heading = re.match(r"^(#{1,6})\s+(.*)$", stripped)
        if heading:
            flush()
            level = min(len(heading.group(1)) + 2, 6)  # the report's own h1/h2 come first
            out.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
            i += 1
            continue
        if (
            stripped.startswith("|")
            and i + 1 < len(lines)
            and re.match(r"^\s*\|?\s*:?-{2,}", lines[i + 1])
        ):
            flush()
            header = _cells(stripped)
            i += 2
            body = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                body.append(_cells(lines[i].strip()))
                i += 1
            head_html = "".join(f"<th>{_inline(c)}</th>" for c in header)
            rows_html = "".join(
                "<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in body
            )
            out.append(
                f'<table class="md"><thead><tr>{head_html}</tr></thead>'
                f"<tbody>{rows_html}</tbody></table>"
            )
            continue
        bullet = re.match(r"^\s*([-*+]|\d+[.)])\s+(.*)$", line)
        if bullet:
            flush()
            ordered = bullet.group(1)[0].isdigit()
            tag = "ol" if ordered else "ul"
            items: list[str] = []
            while i < len(lines):
                m = re.match(r"^\s*([-*+]|\d+[.)])\s+(.*)$", lines[i])
                if m and (m.group(1)[0].isdigit()) == ordered:
                    items.append(m.group(2))
                elif m is None and lines[i].startswith("  ") and lines[i].strip() and items:
                    items[-1] += " " + lines[i].strip()
                else:
                    break
                i += 1
            out.append(f"<{tag}>" + "".join(f"<li>{_inline(x)}</li>" for x in items) + f"</{tag}>")
            continue
        if stripped.startswith(">"):
            flush()
            quote = []
            while i < len(lines) and lines[i].strip().startswith(">"):
                quote.append(lines[i].strip().lstrip(">").strip())
                i += 1
            out.append("<blockquote>" + _inline(" ".join(quote)) + "</blockquote>")
            continue
        para.append(stripped)
        i += 1
    flush()
    return "\n".join(out)


def _cells(row: str) -> list[str]:
    return [c.strip() for c in row.strip().strip("|").split("|")]


def methodology_text() -> str | None:
    try:
        return METHODOLOGY_PATH.read_text(encoding="utf-8")
    except OSError:
        return None


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
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
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


#: How the report shows the known summary tables: title, caption, columns (the workbook has all).
_SUMMARY_VIEWS: dict[str, tuple[str, str, list[str] | None]] = {
    "sensitivity_npv": (
        "Sensitivity: NPV as each input moves across its sourced range",
        "One input at a time, the others as set; metric_low / metric_high are NPV (US$ B) at the "
        "input's low / high value; swing = |difference|. Ranges and sources in the workbook.",
        ["label", "low", "high", "unit", "metric_low", "metric_high", "swing"],
    ),
    "stress_tests": (
        "Stress tests",
        "Each shock applied to the scenario as set; NPV in US$ B, IRR as a fraction per year; "
        "deltas against the scenario as set. Descriptions and sources in the workbook.",
        ["name", "changes", "npv_busd", "delta_npv_busd", "irr", "delta_irr"],
    ),
    "monte_carlo_summary": (
        "Monte Carlo summary",
        "Percentiles over the draws of the default input distributions (data/distributions.toml); "
        "prob_above_zero = share of draws with the metric above zero (for NPV: P(NPV > 0)).",
        ["metric", "unit", "draws", "mean", "p10", "p50", "p90", "prob_above_zero"],
    ),
    "monte_carlo_drivers": (
        "Monte Carlo: what drives the spread of NPV",
        "Spearman rank correlation of each drawn input with NPV; share_of_rho2 is a rough share "
        "of the spread.",
        None,
    ),
}


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
    for row in metrics.itertuples(index=False):
        base_value = base_metrics.get(row.metric)
        kpi_rows.append(
            "<tr>"
            f"<td>{esc(row.label)}</td>"
            f"<td>{esc(format_metric(row.metric, row.value))}</td>"
            f"<td>{esc(format_metric(row.metric, base_value))}</td>"
            f"<td>{esc(row.unit)}</td>"
            "</tr>"
        )
    kpi_html = (
        '<table class="kpi"><thead><tr><th>Metric</th><th>This scenario</th>'
        f"<th>Preset {esc(ctx.preset_id)}</th><th>Unit</th></tr></thead><tbody>"
        + "".join(kpi_rows)
        + "</tbody></table>"
    )

    if changed:
        items = "".join(
            f"<li>{esc(FIELD_SPECS[k].label)} (<code>{esc(k)}</code>): "
            f"{esc(_plain(new))} instead of {esc(_plain(old))} {esc(FIELD_SPECS[k].unit)}</li>"
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
            default_height=f"{_size(fig)[1]}px",
        )
        toc.append(f'<li><a href="#chart-{esc(name)}">{esc(title)}</a></li>')
        chart_blocks.append(
            f'<section class="chart" id="chart-{esc(name)}">{div}'
            f'<p class="meta">Chart file name: <code>{esc(name)}</code></p></section>'
        )
    if not chart_blocks:
        chart_blocks.append("<p>No charts are available in this version.</p>")
    notes_html = "".join(f'<p class="note">{esc(n)}</p>' for n in (notes or []))

    inputs = inputs_frame(ctx)
    inputs_view = inputs[["label", "value", "unit", "basis", "source", "year", "note"]].copy()
    inputs_view["year"] = inputs_view["year"].map(
        lambda y: "" if y is None or y != y else str(int(y))
    )
    inputs_html = _table_html(inputs_view, {"value": lambda v: f"{v:,.10g}"})

    cf = cash_flows_frame(ctx.result)
    cf_t = cf.drop(columns=["operating"]).set_index("year").T
    cf_t.columns = [f"Y{int(c)}" for c in cf_t.columns]
    cf_t.insert(0, "line (US$ B)", cf_t.index)
    cf_html = _table_html(
        cf_t.reset_index(drop=True),
        {c: (lambda v: f"{v:,.1f}") for c in cf_t.columns if c.startswith("Y")},
    )

    summary_html = ""
    for key, frame in (summaries or {}).items():
        title, caption, columns = _SUMMARY_VIEWS.get(str(key), (str(key), "", None))
        shown = frame[[c for c in columns if c in frame.columns]] if columns else frame
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
        f'<p class="meta">Base preset: {esc(preset_name)} (<code>{esc(ctx.preset_id)}</code>). '
        f"Generated {esc(generated)}. Money in US$ billions (B), nominal; rates per year. "
        "Charts are interactive (hover for values; the camera icon saves a PNG).</p>"
        f"{nav}"
        f'<h2 id="metrics">Metrics</h2>{changed_html}{kpi_html}'
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
    """The chart's main title as plain text (the part before any ``<br>`` subtitle)."""
    title = fig.layout.title.text if fig.layout.title is not None else None
    if not title:
        return ""
    main = re.split(r"<br\s*/?>", str(title), maxsplit=1)[0]
    return html.unescape(re.sub(r"<[^>]*>", "", main)).strip()


# ---------------------------------------------------------------------------------------------
# Writing everything (the CLI)
# ---------------------------------------------------------------------------------------------

ALL_FORMATS: tuple[str, ...] = ("png", "svg", "pdf", "html", "csv", "xlsx", "report")


@dataclass
class ExportOutcome:
    written: list[Path]
    skipped: list[str]
    image_error: str | None = None


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
    when Chromium is missing or fails; everything else is still written.
    """
    import time

    from model.io import to_toml

    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    skipped: list[str] = []
    outcome = ExportOutcome(written, skipped)

    def put(name: str, data: bytes | str, started: float) -> None:
        path = out_dir / name
        if isinstance(data, str):
            path.write_text(data, encoding="utf-8")
        else:
            path.write_bytes(data)
        written.append(path)
        took = time.perf_counter() - started
        progress(f"wrote {path} ({_human_size(path.stat().st_size)}, {took:.2f} s)")

    t = time.perf_counter()
    put("scenario.toml", to_toml(ctx.scenario, ctx.preset_id), t)

    figures: dict[str, go.Figure] = {}
    notes: list[str] = []
    if any(f in formats for f in ("png", "svg", "pdf", "html", "report")):
        figures, notes = scenario_figures(ctx)
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
    if "html" in formats:
        for name, fig in figures.items():
            t = time.perf_counter()
            put(f"{name}.html", chart_html(fig, figure_title(fig) or name), t)
    if "csv" in formats:
        t = time.perf_counter()
        put("cash_flows.csv", csv_text(cash_flows_frame(ctx.result)), t)
        t = time.perf_counter()
        put("metrics.csv", csv_text(metrics_frame(ctx.result)), t)
    if "xlsx" in formats:
        t = time.perf_counter()
        put("workbook.xlsx", workbook_bytes(ctx, summaries), t)
    if "report" in formats:
        t = time.perf_counter()
        put("report.html", report_html(ctx, figures, summaries=summaries, notes=notes), t)
    return outcome


def _human_size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} B"
