"""Fixtures for end-to-end tests in a real Chromium (pytest-playwright + Debian's Chromium).

* ``app_url`` (session): starts ``streamlit run app/streamlit_app.py`` on a free port, waits for
  ``/_stcore/health`` and yields the base URL (``http://127.0.0.1:PORT``); stops it at the end.
* ``browser_type_launch_args`` (session): launches ``/usr/bin/chromium`` with the flags that work
  on these machines.
* Without Chromium every test in this folder is skipped, unless the environment variable ``CI``
  is ``"true"``: then a missing Chromium is a failure.

Use the ``page``/``context``/``browser`` fixtures of pytest-playwright as usual and mark tests
with ``@pytest.mark.browser``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
STARTUP_TIMEOUT_S = 60.0


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip this folder's tests without Chromium (fail instead when CI=true)."""
    if CHROMIUM.exists() or _in_ci():
        return
    skip = pytest.mark.skip(reason=f"Chromium not found at {CHROMIUM} (set CI=true to fail)")
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(skip)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_streamlit(port: int, log_path: Path) -> subprocess.Popen[bytes]:
    """Start the dashboard headless on ``port``, logging to ``log_path``."""
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(ROOT / "app" / "streamlit_app.py"),
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
    ]
    log = log_path.open("wb")
    return subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Poll ``url/_stcore/health`` until it answers ``ok``; raise if the server dies or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.read().decode().strip() == "ok":
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    raise TimeoutError(f"streamlit did not answer {url}/_stcore/health within {timeout:.0f} s")


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a dashboard server started for this test session."""
    if not CHROMIUM.exists() and not _in_ci():
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    port = free_port()
    log_path = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    proc = start_streamlit(port, log_path)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, STARTUP_TIMEOUT_S)
    except Exception:
        proc.terminate()
        proc.wait(timeout=10)
        raise RuntimeError(
            f"dashboard did not start; log:\n{log_path.read_text(errors='replace')}"
        ) from None
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Launch Debian's Chromium (Playwright cannot download a browser offline)."""
    if not CHROMIUM.exists():
        if _in_ci():
            pytest.fail(f"CI=true but Chromium is missing at {CHROMIUM}")
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": CHROMIUM_ARGS,
    }
