"""``python -m app export``: write a scenario's charts, data, workbook and report to a folder.

Usage::

    python -m app export [--preset ID | --scenario FILE] [--set field=value ...] --out DIR
                         [--formats png,svg,pdf,html,csv,xlsx,report]

All formats by default. Writes one file per chart per format named by chart (``cash_flows.png``,
``npv_profile.svg``, ...), ``cash_flows.csv``, ``metrics.csv``, ``conditions.csv``,
``workbook.xlsx``, ``report.html`` and always ``scenario.toml`` (loads back with
``--scenario``), printing a progress line per file.

Exit status:

* 0: every requested file was written. With the default formats on a machine without Chromium,
  the PNG/SVG/PDF files are skipped with a note on stderr and the rest is written: still 0.
* 2: bad input (unknown preset, bad scenario file, bad ``--set``, unknown format, unusable
  ``--out``): one line naming the problem on stderr, nothing written.
* 3: image formats were asked for explicitly with ``--formats`` but Chromium is missing (or
  failed); everything else requested was still written.
* 1: the files could not be written (e.g. disk full); one line on stderr.
* 130: interrupted (Ctrl-C): "interrupted" on stderr, no partial file, no Chromium left.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import tempfile
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


#: Longest ``--out`` accepted (bytes of the path; Linux's PATH_MAX) and per part (NAME_MAX).
MAX_OUT_PATH_BYTES = 4096
MAX_OUT_NAME_BYTES = 255


def prepare_out(text: str) -> Path | str:
    """The ``--out`` folder, created and proved writable; or one line saying why it is unusable.

    Checked before anything is exported: empty text, a NUL character, a path longer than
    :data:`MAX_OUT_PATH_BYTES` (or a part longer than :data:`MAX_OUT_NAME_BYTES`), an existing
    file, a folder that cannot be created, or one in which a file cannot be created (probed by
    creating and removing a temporary file). The path is shown truncated.
    """
    from model.io import show_path

    if not text.strip():
        return "--out is empty (allowed: a folder path, e.g. --out exports)"
    shown = show_path(text)
    if "\x00" in text:
        return f"--out {shown} contains a NUL character (allowed: a folder path)"
    encoded = os.fsencode(text)
    longest_part = max((len(part) for part in encoded.split(b"/")), default=0)
    if len(encoded) > MAX_OUT_PATH_BYTES or longest_part > MAX_OUT_NAME_BYTES:
        return (
            f"--out {shown} is too long (allowed: at most {MAX_OUT_PATH_BYTES:,} bytes, "
            f"{MAX_OUT_NAME_BYTES} per folder name)"
        )
    out = Path(text)
    try:
        if out.exists() and not out.is_dir():
            return f"--out {shown} exists and is not a folder"
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"--out {shown} cannot be created ({exc.strerror or type(exc).__name__})"
    try:
        fd, probe = tempfile.mkstemp(prefix=".write-probe-", dir=out)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return f"--out {shown} is not writable ({exc.strerror or type(exc).__name__})"
    return out


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> int:
    sys.stderr.write(f"error: {message}\n")
    return code


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from model import ScenarioError
    from model.cli import capped_problems, resolve_scenario

    try:
        formats = parse_formats(args.formats)
    except ValueError as exc:
        return _fail(str(exc))
    try:
        scenario, preset_id = resolve_scenario(args.preset, args.scenario, args.set)
    except ScenarioError as exc:
        return _fail("; ".join(capped_problems(exc.problems)))
    out_or_problem = prepare_out(args.out)
    if isinstance(out_or_problem, str):
        return _fail(out_or_problem)
    out = out_or_problem

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


EXIT_INTERRUPTED = 130


def _stop_images() -> None:
    if "app.export" in sys.modules:  # close the shared Chromium and reap its processes
        sys.modules["app.export"].stop_image_server()


#: Loggers of the libraries driving Chromium, silenced in the CLI (see :func:`run`).
_QUIET_LOGGERS = ("choreographer", "kaleido", "logistro")


def _interrupt_once(_signum: int, _frame: object) -> None:
    """Ctrl-C: raise KeyboardInterrupt once and ignore further presses, so that repeated presses
    cannot cut short the clean-up (closing Chromium, removing its temporary profile)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def run(argv: Sequence[str] | None = None) -> NoReturn:
    """Entry point that never shows a traceback for input problems or Ctrl-C.

    Ctrl-C at any point exits 130 with "interrupted" on stderr: the file being written is
    removed (files are written atomically), the shared Chromium is closed and its processes
    reaped, and further presses are ignored until that clean-up is done.
    """
    with contextlib.suppress(ValueError):  # not the main thread (tests): keep Python's handler
        signal.signal(signal.SIGINT, _interrupt_once)
    # the browser libraries log tracebacks when Chromium goes away mid-message (as it does on
    # Ctrl-C, which reaches it too); the CLI reports a browser failure in its own one line
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)
    try:
        try:
            code = main(argv)
        finally:
            _stop_images()
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _stop_images()  # again: the interrupt may have cut the first stop short
        sys.stderr.write("interrupted\n")
        sys.stderr.flush()
        code = EXIT_INTERRUPTED
    raise SystemExit(code)
