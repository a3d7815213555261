"""``python -m app export``: write a scenario's charts, data, workbook and report to a folder.

Usage::

    python -m app export [--preset ID | --scenario FILE] [--set field=value ...] --out DIR
                         [--formats png,svg,pdf,html,csv,xlsx,report]

All formats by default. Writes one file per chart per format named by chart (``cash_flows.png``,
``npv_profile.svg``, ...), ``cash_flows.csv``, ``metrics.csv``, ``workbook.xlsx``,
``report.html`` and always ``scenario.toml`` (loads back with ``--scenario``), printing a
progress line per file.

Exit status:

* 0: every requested file was written. With the default formats on a machine without Chromium,
  the PNG/SVG/PDF files are skipped with a note on stderr and the rest is written: still 0.
* 2: bad input (unknown preset, bad scenario file, bad ``--set``, unknown format, unusable
  ``--out``): one line naming the problem on stderr, nothing written.
* 3: image formats were asked for explicitly with ``--formats`` but Chromium is missing (or
  failed); everything else requested was still written.
* 1: the files could not be written (e.g. disk full); one line on stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

EXIT_OK = 0
EXIT_WRITE_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_IMAGES_UNAVAILABLE = 3

FORMATS: tuple[str, ...] = ("png", "svg", "pdf", "html", "csv", "xlsx", "report")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"error: {message}\n")
        raise SystemExit(EXIT_BAD_INPUT)


def build_parser() -> argparse.ArgumentParser:
    from model import DEFAULT_PRESET, preset_ids

    parser = _Parser(
        prog="python -m app",
        description="Headless export of a scenario's charts, data, workbook and report.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="export")
    ex = sub.add_parser(
        "export",
        help="write charts, CSV, XLSX, report and scenario file to a folder",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ex.error = parser.error  # type: ignore[method-assign]
    source = ex.add_mutually_exclusive_group()
    source.add_argument(
        "--preset",
        default=None,
        metavar="ID",
        help=f"preset id (default {DEFAULT_PRESET}); one of: {', '.join(preset_ids())}",
    )
    source.add_argument(
        "--scenario", default=None, metavar="FILE", help="scenario file (.toml or .json)"
    )
    ex.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override one input (repeatable), e.g. --set gw_built=4.5",
    )
    ex.add_argument("--out", required=True, metavar="DIR", help="output folder (created)")
    ex.add_argument(
        "--formats",
        default=None,
        metavar="LIST",
        help=f"comma-separated subset of {','.join(FORMATS)} (default: all)",
    )
    return parser


def parse_formats(text: str | None) -> tuple[str, ...]:
    """``png,svg`` -> ('png', 'svg'); raises ValueError naming a bad entry."""
    if text is None:
        return FORMATS
    items = [t.strip().lower() for t in text.split(",") if t.strip()]
    if not items:
        raise ValueError(
            f"--formats is empty (allowed: a comma-separated subset of {','.join(FORMATS)})"
        )
    for item in items:
        if item not in FORMATS:
            shown = item if len(item) <= 20 else item[:19] + "…"
            raise ValueError(
                f"--formats: {shown!r} is not a format (allowed: {', '.join(FORMATS)})"
            )
    return tuple(f for f in FORMATS if f in items)


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> int:
    sys.stderr.write(f"error: {message}\n")
    return code


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from model import ScenarioError
    from model.cli import resolve_scenario

    try:
        formats = parse_formats(args.formats)
    except ValueError as exc:
        return _fail(str(exc))
    try:
        scenario, preset_id = resolve_scenario(args.preset, args.scenario, args.set)
    except ScenarioError as exc:
        return _fail("; ".join(exc.problems))
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        return _fail(f"--out {str(out)!r} exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return _fail(f"--out {str(out)!r} cannot be created ({exc.strerror})")

    from app import export

    images_requested = args.formats is not None and any(f in formats for f in export.IMAGE_FORMATS)
    ctx = export.make_context(scenario, preset_id)
    print(f"scenario: {ctx.label}", flush=True)

    def progress(line: str) -> None:
        stream = sys.stderr if line.startswith(("note:", "skipped")) else sys.stdout
        stream.write(line + "\n")
        stream.flush()

    try:
        outcome = export.write_exports(
            ctx, out, formats, summaries=export.scenario_summaries(ctx), progress=progress
        )
    except OSError as exc:
        return _fail(f"cannot write to {str(out)!r}: {exc.strerror or exc}", EXIT_WRITE_FAILED)
    print(f"done: {len(outcome.written)} files in {out}", flush=True)
    if outcome.image_error is not None and images_requested:
        return _fail(f"images not written: {outcome.image_error}", EXIT_IMAGES_UNAVAILABLE)
    return EXIT_OK


def run(argv: Sequence[str] | None = None) -> NoReturn:
    """Entry point that never shows a traceback for input problems or Ctrl-C."""
    try:
        code = main(argv)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        code = 130
    finally:
        if "app.export" in sys.modules:  # close the shared Chromium before exiting
            sys.modules["app.export"].stop_image_server()
    raise SystemExit(code)
