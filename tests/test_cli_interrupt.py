"""Ctrl-C during ``python -m app export`` (app/cli.py, app/export/images.py): exit 130,
"interrupted" on stderr, no traceback, no partial file, no Chromium left behind.

A terminal's Ctrl-C sends SIGINT to the whole foreground process group, Chromium included; the
tests do the same (the export runs in its own session, and the signal goes to its group) at
several points of the run, found from the progress lines it prints (states; a small offset after
a line only moves the press into the next render, nothing is timed). Needs
Debian's Chromium: skipped without it, a failure under ``CI=true`` (as tests/browser).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.export import image_problem
from app.export.images import process_table

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
#: Ceilings for states (generous: the machine may be busy); the tests never wait for a time.
STATE_CEILING_S = 180.0


def _need_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but Chromium is missing at {CHROMIUM}")
    pytest.skip(f"Chromium not found at {CHROMIUM}")


def _session_processes(sid: int) -> list[str]:
    """Processes left in the export's session (its Chromium would be here), as 'pid state'."""
    return [
        f"{pid} {f[0]}"
        for pid, f in process_table().items()
        if len(f) > 3 and int(f[3]) == sid and f[0] != "Z"
    ]


def _export_command(out: Path, formats: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "app",
        "export",
        "--preset",
        "bofa-base",
        "--formats",
        formats,
        "--out",
        str(out),
    ]


def _interrupt_export(
    out: Path, trigger: str, offset_s: float, presses: int
) -> tuple[int, str, str, list[str]]:
    """Run the export, send Ctrl-C (SIGINT to its process group) ``offset_s`` after the first
    stdout line containing ``trigger``, ``presses`` times; return (exit code, stdout, stderr,
    processes of its session still running once it has exited)."""
    proc = subprocess.Popen(
        _export_command(out, "png,svg,pdf,csv"),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        seen: list[str] = []
        assert proc.stdout is not None
        for line in proc.stdout:
            seen.append(line)
            if trigger in line:
                break
        else:
            pytest.fail(f"the export ended before {trigger!r}: {''.join(seen)}")
        # where the signal lands, not a budget: a line is printed between two renders, so an
        # offset puts the press inside the next render (where it used to be swallowed)
        time.sleep(offset_s)
        for _ in range(presses):
            os.killpg(proc.pid, signal.SIGINT)
            time.sleep(0.05)
        rest, err = proc.communicate(timeout=STATE_CEILING_S)
        # the export reaps its Chromium before it exits: anything still there was left behind
        # (a short grace for the kernel to finish tearing down killed processes)
        deadline = time.monotonic() + 5.0
        while _session_processes(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        return proc.returncode, "".join(seen) + rest, err, _session_processes(proc.pid)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for left in _session_processes(proc.pid):  # never leave a browser to the next test
            with contextlib.suppress(OSError):
                os.kill(int(left.split()[0]), signal.SIGKILL)


@pytest.mark.parametrize(
    ("trigger", "offset_s", "presses"),
    [
        ("scenario:", 0.0, 1),  # while the figures are built
        ("scenario.toml", 0.0, 1),  # while Chromium starts
        (".png", 0.0, 1),  # between two renders
        (".png", 0.1, 1),  # inside a render (exited 0 with every file written before)
        (".png", 0.25, 1),
        (".png", 0.1, 3),  # pressed again during the clean-up
    ],
    ids=["figures", "browser-start", "between-renders", "in-render", "in-render-later", "thrice"],
)
def test_ctrl_c_exits_130_quietly_leaving_whole_files_and_no_chromium(
    tmp_path: Path, trigger: str, offset_s: float, presses: int
) -> None:
    _need_chromium()
    out = tmp_path / "out"
    code, stdout, stderr, left = _interrupt_export(out, trigger, offset_s, presses)
    assert code == 130, (code, stdout, stderr)
    assert "interrupted" in stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert "never retrieved" not in stderr, stderr
    assert "done:" not in stdout
    files = sorted(p.name for p in out.iterdir()) if out.exists() else []
    assert not [f for f in files if f.endswith(".part") or f.startswith(".")], files
    for path in out.glob("*"):  # every file that is there is whole
        fmt = path.suffix.lstrip(".")
        if fmt in ("png", "svg", "pdf"):
            assert image_problem(path.read_bytes(), fmt) == "", path.name
    assert left == [], left


def test_an_export_left_alone_still_exits_0(tmp_path: Path) -> None:
    """The same command without Ctrl-C (so the interrupt tests prove the signal's effect)."""
    _need_chromium()
    out = tmp_path / "out"
    done = subprocess.run(
        _export_command(out, "png,csv"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=STATE_CEILING_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "done:" in done.stdout and "Traceback" not in done.stderr
