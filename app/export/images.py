"""Chart images (PNG, SVG, PDF) through ONE persistent Chromium driven by kaleido.

The browser starts on first use and is shared by every session and every export (a lock
serialises renders; the first image costs the browser start, later ones a fraction of a second).
Without Chromium, :func:`images_available` is False and :func:`chart_image` raises
:class:`ExportError` with a plain message.

Hardening: a render that hangs or fails stops the browser, and every Chromium process it left
behind is killed and reaped (:func:`reap_browser_children`); Ctrl-C (KeyboardInterrupt) is never
taken for a browser failure: the browser is stopped and the interrupt passed on; a chart larger than
:data:`MAX_SIDE_PX` is refused before rendering; the bytes are checked (magic number and a
minimum size) before they count as an image.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import shutil
import signal
import threading
import time
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

IMAGE_FORMATS: tuple[str, ...] = ("png", "svg", "pdf")
DEFAULT_WIDTH = 1100
DEFAULT_HEIGHT = 620
PNG_SCALE = 2
#: Largest chart side accepted for an image, in CSS pixels (PNG doubles it).
MAX_SIDE_PX = 4000
#: Smallest plausible image, in bytes: anything shorter is a failed render, not a chart.
MIN_IMAGE_BYTES = 512
START_TIMEOUT_S = 60.0
RENDER_TIMEOUT_S = 60.0

NO_BROWSER_MESSAGE = (
    "Image export (PNG, SVG, PDF) needs Chromium, which is not installed where this app runs. "
    "Interactive HTML, CSV, XLSX and the report still work, and each chart's toolbar "
    "(camera icon) saves a PNG or SVG from your browser."
)


class ExportError(RuntimeError):
    """An export that cannot be produced; the message says why in plain words."""


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


# ---- child processes ---------------------------------------------------------------------------
def process_table() -> dict[int, list[str]]:
    """Every process's ``/proc/<pid>/stat`` fields after the command name: state, parent id,
    process group, session, ... (Linux; empty elsewhere). Processes that end while being read are
    left out."""
    table: dict[int, list[str]] = {}
    proc = Path("/proc")
    if not proc.is_dir():
        return table
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # the command name is in parentheses and may hold spaces: split after the last ')'
        table[int(entry.name)] = stat[stat.rfind(")") + 2 :].split()
    return table


def _children_of(pid: int) -> list[int]:
    """Direct children of ``pid`` (Linux /proc; empty elsewhere)."""
    return [child for child, f in process_table().items() if len(f) > 1 and int(f[1]) == pid]


def browser_processes(root: int | None = None) -> list[int]:
    """Chromium processes descended from this process (the browsers kaleido started)."""
    out: list[int] = []
    stack = _children_of(os.getpid() if root is None else root)
    while stack:
        pid = stack.pop()
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip().lower()
        except OSError:
            continue
        if "chrom" in comm or "headless" in comm:
            out.append(pid)
        stack.extend(_children_of(pid))
    return out


#: Longest wait for killed Chromium processes to be gone (s): a ceiling, normally ~10 ms.
REAP_WAIT_S = 5.0


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, dead but not yet reaped by its parent, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2 :].split()[:1] != ["Z"]


def reap_browser_children() -> int:
    """Kill every Chromium this process started and reap the direct children; returns the count.

    Waits (at most :data:`REAP_WAIT_S`) until the killed processes are gone, so that nothing
    writes into the browser's temporary profile while it is removed at exit.
    """
    pids = browser_processes()
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + REAP_WAIT_S
    for pid in pids:
        with contextlib.suppress(OSError):  # only direct children can be reaped by us
            os.waitpid(pid, os.WNOHANG)
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.01)
            with contextlib.suppress(OSError):
                os.waitpid(pid, os.WNOHANG)
    return len(pids)


# ---- the persistent kaleido server -------------------------------------------------------------
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
        # a render cancelled by a timeout or Ctrl-C can end in an error no one awaits (the
        # browser's pipe closed under it); render() has already reported or retried it, so the
        # loop must not print its traceback at exit
        loop.set_exception_handler(lambda _loop, _context: None)
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
            reap_browser_children()
            if not isinstance(exc, Exception):  # Ctrl-C is the user's, not a browser failure
                raise
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
        interrupted: BaseException | None = None
        if k is not None and thread is not None and thread.is_alive():
            try:
                asyncio.run_coroutine_threadsafe(k.close(), loop).result(timeout=10)
            except Exception:  # noqa: S110  a hung or dead browser: killed below
                pass
            except BaseException as exc:  # Ctrl-C: finish the clean-up, then pass it on
                interrupted = exc
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(timeout=5)
        # whatever close() left behind (a hung browser, its zygotes and renderers)
        reap_browser_children()
        if interrupted is not None:
            raise interrupted

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
        fmt = str(opts.get("format"))
        with self._lock:
            problem = ""
            for _attempt in (1, 2):
                if not self.running():
                    self._stop()
                    self._start()
                assert self._loop is not None
                future = asyncio.run_coroutine_threadsafe(
                    self._kaleido.calc_fig(fig_dict, opts=opts), self._loop
                )
                try:
                    data = bytes(future.result(timeout=RENDER_TIMEOUT_S + 5))
                except BaseException as exc:
                    future.cancel()
                    self._stop()  # a crashed or stuck browser: start afresh next time
                    if not isinstance(exc, Exception):  # Ctrl-C: stop, do not retry
                        raise
                    problem = _brief(exc)
                    continue
                problem = image_problem(data, fmt)
                if not problem:
                    return data
                self._stop()  # a browser that returns garbage is not trusted again
        raise ExportError(f"Chromium could not render the {fmt} image ({problem}).")


def image_problem(data: bytes, fmt: str) -> str:
    """Why ``data`` is not a plausible ``fmt`` image ('' when it is).

    Examples
    --------
    >>> image_problem(b"abc", "png")
    'got 3 bytes, not a PNG image'
    """
    what = f"got {len(data):,} bytes, not a {fmt.upper()} image"
    if fmt == "png":
        ok = data.startswith(b"\x89PNG\r\n\x1a\n") and b"IEND" in data[-16:]
    elif fmt == "pdf":
        ok = data.startswith(b"%PDF-") and b"%%EOF" in data[-64:]
    elif fmt == "svg":
        head = data[:512].lstrip()
        ok = (
            head.startswith((b"<svg", b"<?xml")) and b"<svg" in data[:4096]
        ) and data.rstrip().endswith(b"</svg>")
    else:
        return f"unknown image format {fmt[:20]!r}"
    if not ok or len(data) < MIN_IMAGE_BYTES:
        return what
    return ""


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
    """Close the shared Chromium and reap every process it started."""
    _SERVER.stop()


def image_server_starts() -> int:
    """How many times the shared browser has been started in this process (for tests)."""
    return _SERVER.starts


def figure_size(fig: go.Figure) -> tuple[int, int]:
    """Width and height of a chart in CSS pixels (the export defaults when unset)."""
    width = fig.layout.width or DEFAULT_WIDTH
    height = fig.layout.height or DEFAULT_HEIGHT
    return int(width), int(height)


def chart_image(fig: go.Figure, fmt: str) -> bytes:
    """The chart as PNG (at 2x), SVG or PDF bytes, through the shared Chromium.

    Raises :class:`ExportError` for a format that is not an image, a chart larger than
    :data:`MAX_SIDE_PX`, no Chromium, or output that is not a valid image.
    """
    fmt = str(fmt).lower()
    if fmt not in IMAGE_FORMATS:
        raise ExportError(f"format {fmt[:20]!r} is not an image format (allowed: png, svg, pdf)")
    width, height = figure_size(fig)
    if not (0 < width <= MAX_SIDE_PX and 0 < height <= MAX_SIDE_PX):
        raise ExportError(f"chart is {width} x {height} px (allowed: 1 to {MAX_SIDE_PX} px a side)")
    if find_browser() is None:
        raise ExportError(NO_BROWSER_MESSAGE)
    opts = {
        "format": fmt,
        "width": width,
        "height": height,
        "scale": PNG_SCALE if fmt == "png" else 1,
    }
    return _SERVER.render(fig.to_dict(), opts)
