"""Dashboard speed in a real browser (Playwright + Debian's Chromium), run by `make bench`.

Prints:
* cold page: seconds from navigation to the first chart drawn, on a server just started (its first
  script run pays the Python imports) and again in a fresh browser context on the warm server;
* slider move: seconds from a keyboard step of the "GW built" slider to the NPV KPI and the first
  chart's title both showing the new scenario (median, min and max over several moves).

Goals (the project's, on a quiet machine): first chart on a warm server < 4 s, slider move
< 0.5 s median; each line says met or NOT met. Without Chromium it prints a note and returns 0.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from app.devserver import CHROMIUM, CHROMIUM_ARGS, free_port, start_streamlit, wait_healthy

GW_SLIDER = "GW built (GW of facility power)"
MOVES = 11
#: Fresh browser contexts timed on the warm server (their median is the figure judged).
COLD_CONTEXTS = 5
COLD_GOAL_S = 4.0
MOVE_GOAL_S = 0.5

#: True once the first KPI differs from ``old`` and some chart title mentions ``gw`` GW.
UPDATED_JS = """([old, gw]) => {
  const v = document.querySelector('[data-testid="stMetricValue"]');
  if (!v || v.textContent === old) return false;
  const titles = Array.from(document.querySelectorAll('.js-plotly-plot .gtitle'));
  return titles.some(t => t.textContent.includes(' ' + gw + ' GW at'));
}"""


def _first_chart_seconds(browser: object, url: str) -> float:
    context = browser.new_context(viewport={"width": 1440, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    start = time.perf_counter()
    page.goto(url)
    page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=60_000)
    elapsed = time.perf_counter() - start
    context.close()
    return elapsed


def _slider_moves(browser: object, url: str, moves: int) -> list[float]:
    context = browser.new_context(viewport={"width": 1440, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(url)
    page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=60_000)
    page.wait_for_timeout(1000)
    slider = page.get_by_role("slider", name=GW_SLIDER)
    times: list[float] = []
    for _ in range(moves):
        old = page.locator('[data-testid="stMetricValue"]').first.text_content() or ""
        slider.focus()
        before = float(slider.input_value())
        new_gw = f"{before + 0.1:g}"
        start = time.perf_counter()
        page.keyboard.press("ArrowRight")
        page.wait_for_function(UPDATED_JS, arg=[old, new_gw], timeout=30_000, polling="raf")
        times.append(time.perf_counter() - start)
        page.wait_for_timeout(300)
    context.close()
    return times


def _measure(url: str) -> tuple[float, list[float], list[float]]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            cold_server = _first_chart_seconds(browser, url)
            warm = [_first_chart_seconds(browser, url) for _ in range(COLD_CONTEXTS)]
            moves = _slider_moves(browser, url, MOVES)
        finally:
            browser.close()
    return cold_server, warm, moves


def main() -> int:
    if not CHROMIUM.exists():
        print(
            f"bench_browser: Chromium not found at {CHROMIUM}; skipped (apt-get install chromium)"
        )
        return 0
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = Path(tempfile.mkdtemp(prefix="bench-browser-")) / "streamlit.log"
    proc = start_streamlit(port, log)
    try:
        wait_healthy(url, proc)
        cold_server, warm, moves = _measure(url)
    except Exception as exc:
        print(f"bench_browser: measurement failed ({type(exc).__name__}: {exc}); log: {log}")
        return 1
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    med = statistics.median(moves)
    print(f"cold page, server just started: first chart after {cold_server:.2f} s")
    print(
        f"cold page, fresh browser context on a warm server: first chart after "
        f"{statistics.median(warm):.2f} s (median of {len(warm)}, min {min(warm):.2f} s, max "
        f"{max(warm):.2f} s; goal < {COLD_GOAL_S:g} s: "
        f"{'met' if statistics.median(warm) < COLD_GOAL_S else 'NOT met'})"
    )
    print(
        f"slider move (GW built, keyboard) to KPIs and chart updated: median {med:.2f} s, "
        f"min {min(moves):.2f} s, max {max(moves):.2f} s over {len(moves)} moves "
        f"(goal < {MOVE_GOAL_S:g} s: {'met' if med < MOVE_GOAL_S else 'NOT met'})"
    )
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
