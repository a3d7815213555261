"""Dashboard speed in a real browser (Playwright + Debian's Chromium), run by `make bench`.

Prints:
* cold page: seconds from navigation to the first chart drawn, on a server just started (its first
  script run pays the Python imports) and again in a fresh browser context on the warm server;
* the same for a bare Streamlit page with one metric and one Plotly chart
  (``scripts/bare_page.py``), measured in the same run, and the dashboard's warm cold-page
  median as a multiple of the bare page's;
* slider move: seconds from a keyboard step of the "GW built" slider to the NPV KPI, its P10-P90
  band and the first chart's title all showing the new scenario (median, min and max over
  several moves), and the CPU seconds a move costs the Streamlit server and Chromium (all its
  processes; median, from the step until 1 s after the page showed the move). On a shared
  machine the CPU seconds move much less with the load than the wall times.

Goals (the project's, on a quiet machine): first chart on a warm server < 4 s and <= 1.15x the
bare page's, slider move < 0.4 s median; each line says met or NOT met. Without Chromium it
prints a note and returns 0.
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
#: The dashboard's cold first chart against the bare page's, measured in the same run.
BARE_RATIO_GOAL = 1.15
MOVE_GOAL_S = 0.4
BARE_PAGE = Path(__file__).resolve().parent / "bare_page.py"

#: The NPV card's band caption (the caption in the NPV card that starts with P10). Looked up in
#: that card: while a rerun redraws the cards, the NPV card's band slot is empty for a moment and
#: the first P10 caption on the page is another card's, which must not count as the new band.
NPV_BAND = """Array.from(document.querySelectorAll(
  '.st-key-kpi_npv_busd [data-testid="stCaptionContainer"]'))
  .find(e => e.innerText.startsWith('P10'))"""
BAND_JS = f"""() => {{ const c = {NPV_BAND}; return c ? c.innerText : ''; }}"""
#: True once the first KPI and the NPV band differ from ``old`` and some chart title mentions
#: ``gw`` GW.
UPDATED_JS = f"""([old, band, gw]) => {{
  const v = document.querySelector('[data-testid="stMetricValue"]');
  if (!v || v.textContent === old) return false;
  const c = {NPV_BAND};
  if (!c || c.innerText === band) return false;
  const titles = Array.from(document.querySelectorAll('.js-plotly-plot .gtitle'));
  return titles.some(t => t.textContent.includes(' ' + gw + ' GW at'));
}}"""


TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
#: After a move is shown, its CPU is counted for this long more (the browser finishes drawing).
SETTLE_MS = 1000


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (all its threads; 0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND


def _chromium_cpu_seconds() -> float:
    """CPU seconds so far of every Chromium process below this one (the browser Playwright
    started, its renderers, GPU and utility processes)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(
                    (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
                )
            except (OSError, IndexError, ValueError):
                continue
    me, total = os.getpid(), 0.0
    for pid in parents:
        ancestor, hops = parents.get(pid), 0
        while ancestor not in (None, 0, 1, me) and hops < 64:
            ancestor, hops = parents.get(ancestor), hops + 1
        if ancestor != me:
            continue
        try:
            if "chrom" in os.readlink(f"/proc/{pid}/exe"):
                total += _cpu_seconds(pid)
        except OSError:
            continue
    return total


def _first_chart_seconds(browser: object, url: str) -> float:
    context = browser.new_context(viewport={"width": 1440, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    start = time.perf_counter()
    page.goto(url)
    page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=60_000)
    elapsed = time.perf_counter() - start
    context.close()
    return elapsed


def _slider_moves(
    browser: object, url: str, moves: int, server_pid: int
) -> tuple[list[float], list[float], list[float]]:
    """Wall seconds of each move, and the CPU seconds each cost the server and Chromium."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(url)
    page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=60_000)
    page.wait_for_function(BAND_JS, timeout=60_000)
    page.wait_for_timeout(1000)
    slider = page.get_by_role("slider", name=GW_SLIDER)
    times: list[float] = []
    server_cpu: list[float] = []
    browser_cpu: list[float] = []
    for _ in range(moves):
        old = page.locator('[data-testid="stMetricValue"]').first.text_content() or ""
        band = page.evaluate(BAND_JS)
        slider.focus()
        before = float(slider.input_value())
        new_gw = f"{before + 0.1:g}"
        server0, browser0 = _cpu_seconds(server_pid), _chromium_cpu_seconds()
        start = time.perf_counter()
        page.keyboard.press("ArrowRight")
        page.wait_for_function(UPDATED_JS, arg=[old, band, new_gw], timeout=30_000, polling="raf")
        times.append(time.perf_counter() - start)
        page.wait_for_timeout(SETTLE_MS)
        server_cpu.append(_cpu_seconds(server_pid) - server0)
        browser_cpu.append(_chromium_cpu_seconds() - browser0)
    context.close()
    return times, server_cpu, browser_cpu


def _measure(
    url: str, bare_url: str, server_pid: int
) -> tuple[float, list[float], float, list[float], tuple[list[float], list[float], list[float]]]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            cold_server = _first_chart_seconds(browser, url)
            bare_cold = _first_chart_seconds(browser, bare_url)
            # alternate the two pages, so a busy spell on the machine falls on both alike
            warm: list[float] = []
            bare: list[float] = []
            for _ in range(COLD_CONTEXTS):
                warm.append(_first_chart_seconds(browser, url))
                bare.append(_first_chart_seconds(browser, bare_url))
            moves = _slider_moves(browser, url, MOVES, server_pid)
        finally:
            browser.close()
    return cold_server, warm, bare_cold, bare, moves


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def main() -> int:
    if not CHROMIUM.exists():
        print(
            f"bench_browser: Chromium not found at {CHROMIUM}; skipped (apt-get install chromium)"
        )
        return 0
    port, bare_port = free_port(), free_port()
    url, bare_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{bare_port}"
    logs = Path(tempfile.mkdtemp(prefix="bench-browser-"))
    log = logs / "streamlit.log"
    proc = start_streamlit(port, log)
    bare_proc = start_streamlit(bare_port, logs / "bare.log", BARE_PAGE)
    try:
        wait_healthy(url, proc)
        wait_healthy(bare_url, bare_proc)
        cold_server, warm, bare_cold, bare, (moves, server_cpu, browser_cpu) = _measure(
            url, bare_url, proc.pid
        )
    except Exception as exc:
        print(f"bench_browser: measurement failed ({type(exc).__name__}: {exc}); log: {log}")
        return 1
    finally:
        _stop(proc)
        _stop(bare_proc)
    med = statistics.median(moves)
    ratio = statistics.median(warm) / statistics.median(bare)
    print(f"cold page, server just started: first chart after {cold_server:.2f} s")
    print(
        f"cold page, fresh browser context on a warm server: first chart after "
        f"{statistics.median(warm):.2f} s (median of {len(warm)}, min {min(warm):.2f} s, max "
        f"{max(warm):.2f} s; goal < {COLD_GOAL_S:g} s: "
        f"{'met' if statistics.median(warm) < COLD_GOAL_S else 'NOT met'})"
    )
    print(
        f"bare page (one metric, one Plotly chart), same run: first chart after "
        f"{statistics.median(bare):.2f} s on a warm server (median of {len(bare)}; "
        f"{bare_cold:.2f} s just started); dashboard / bare page = {ratio:.2f}x "
        f"(goal <= {BARE_RATIO_GOAL:g}x: {'met' if ratio <= BARE_RATIO_GOAL else 'NOT met'})"
    )
    print(
        f"slider move (GW built, keyboard) to KPIs, band and chart updated: median {med:.2f} s, "
        f"min {min(moves):.2f} s, max {max(moves):.2f} s over {len(moves)} moves "
        f"(goal < {MOVE_GOAL_S:g} s: {'met' if med < MOVE_GOAL_S else 'NOT met'})"
    )
    print(
        f"slider move CPU (median over the same moves, until {SETTLE_MS / 1000:g} s after it "
        f"showed): Streamlit server {statistics.median(server_cpu):.2f} s, Chromium (all "
        f"processes) {statistics.median(browser_cpu):.2f} s"
    )
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
