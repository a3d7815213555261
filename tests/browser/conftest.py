"""Fixtures for end-to-end tests in a real Chromium (pytest-playwright + Debian's Chromium).

* ``app_url`` (session): starts ``streamlit run app/streamlit_app.py`` on a free port, waits for
  ``/_stcore/health`` and yields the base URL (``http://127.0.0.1:PORT``); stops it at the end.
* ``browser_type_launch_args`` (session): launches ``/usr/bin/chromium`` with the flags that work
  on these machines.
* Without Chromium every test in this folder is skipped, unless the environment variable ``CI``
  is ``"true"``: then a missing Chromium is a failure.

Use the ``page``/``context``/``browser`` fixtures of pytest-playwright as usual and mark tests
with ``@pytest.mark.browser``. Waits are for states with one generous ceiling
(tests/browser/waits.py): the ``context`` fixture and ``expect`` default to it, and a context a
test makes itself goes through ``with_ceiling``.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, expect
from waits import STATE_CEILING_MS, with_ceiling

from app.devserver import CHROMIUM, CHROMIUM_ARGS, free_port, start_streamlit, wait_healthy

#: The server's start is a state too (health answers "ok"), with the same generous ceiling.
STARTUP_TIMEOUT_S = STATE_CEILING_MS / 1000

# every expect(...) assertion waits for its state up to the ceiling (Playwright's default is 5 s)
expect.set_options(timeout=STATE_CEILING_MS)


@pytest.fixture
def context(context: BrowserContext) -> BrowserContext:
    """pytest-playwright's context, with every wait and action of its pages bounded by the
    ceiling instead of Playwright's 30 s (tests/browser/waits.py)."""
    return with_ceiling(context)


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
