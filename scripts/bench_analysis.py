"""Speed of the analyst toolkit (``make bench``): tornado, grid, breakeven, stress, Monte Carlo.

Targets: tornado < 50 ms, 50 x 50 grid < 150 ms, the default Monte Carlo run
(``monte_carlo(scenario)``: DEFAULT_DRAWS draws, summary, gap explanation and SALib driver ranking)
< 300 ms in process, 1,000,000 draws < 5 s on 2 cores. Each figure is the best of a few runs after
a warm-up (the machine may be shared); the 1,000,000-draw run is timed twice (the faster is the
figure judged; both are printed), each with its CPU seconds (this process and its workers), so a
loaded machine can be told from a slow one.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from model import load_preset  # noqa: E402
from model.sensitivity import breakeven, grid, tornado  # noqa: E402
from model.stress import stress_tests  # noqa: E402
from model.uncertainty import (  # noqa: E402
    DEFAULT_DRAWS,
    available_cores,
    default_distributions,
    monte_carlo,
)


def best_ms(fn: Callable[[], object], repeat: int = 5) -> float:
    fn()  # warm-up (imports, caches)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times) * 1000.0


def _cpu_seconds() -> float:
    """CPU seconds of this process and its finished children (the Monte Carlo workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _wait_for_workers(timeout_s: float = 30.0) -> None:
    """Wait until the Monte Carlo's worker processes have exited (and been reaped)."""
    end = time.perf_counter() + timeout_s
    while multiprocessing.active_children() and time.perf_counter() < end:
        time.sleep(0.01)


#: The figure the goal names, filled by :func:`main` for ``scripts/bench.py``'s summary.
SUMMARY: list[str] = []


def main() -> int:
    s = load_preset("bofa-base")
    d = default_distributions()
    xs = np.linspace(30.0, 60.0, 50)
    ys = np.linspace(5.0, 20.0, 50)
    rows: list[tuple[str, float, float | None, str]] = [
        ("tornado (default ranges, NPV)", best_ms(lambda: tornado(s)), 50.0, "ms"),
        (
            "grid 50 x 50 (capex x lease rate, NPV)",
            best_ms(
                lambda: grid(
                    s, "capex_per_gw_busd", xs, "lease_rate_busd_per_gw_year", ys, "npv_busd"
                )
            ),
            150.0,
            "ms",
        ),
        (
            "breakeven lease rate at NPV = 0",
            best_ms(lambda: breakeven(s, "lease_rate_busd_per_gw_year"), 3),
            None,
            "ms",
        ),
        (
            "breakeven capex per GW at IRR = WACC",
            best_ms(lambda: breakeven(s, "capex_per_gw_busd", "irr", s.wacc), 3),
            None,
            "ms",
        ),
        ("stress tests (6 shocks + all)", best_ms(lambda: stress_tests(s)), None, "ms"),
        (
            f"Monte Carlo default run ({DEFAULT_DRAWS:,} draws, {len(d.distributions)} inputs)",
            best_ms(lambda: monte_carlo(s), 3),
            300.0,
            "ms",
        ),
    ]
    workers = min(2, available_cores())
    runs: list[tuple[float, float]] = []  # (wall ms, CPU s) of each 1,000,000-draw run
    for _ in range(2):
        cpu0 = _cpu_seconds()
        t = time.perf_counter()
        mc = monte_carlo(s, n=1_000_000, workers=workers)
        wall = (time.perf_counter() - t) * 1000.0
        _wait_for_workers()  # they exit after the results are in: count their CPU once they have
        runs.append((wall, _cpu_seconds() - cpu0))
    million, cpu = min(runs)
    rows.append((f"Monte Carlo 1,000,000 draws ({workers} processes)", million, 5000.0, "ms"))
    status = 0
    print(f"{'analysis':<55} {'time':>10} {'target':>10}")
    for name, ms, target, unit in rows:
        flag = ""
        if target is not None:
            flag = "ok" if ms < target else "SLOW"
        tgt = f"< {target:,.0f}" if target is not None else ""
        print(f"{name:<55} {ms:>8,.1f} {unit} {tgt:>10} {flag}")
    line = (
        f"Monte Carlo 1,000,000 draws ({workers} processes), faster of 2 runs: "
        f"{million / 1000.0:.2f} s wall, {cpu:.2f} CPU s in all ({cpu / workers:.2f} s per process "
        f"if the {workers} run side by side) (goal < 5 s: "
        f"{'met' if million < 5000.0 else 'NOT met'} by wall, "
        f"{'met' if cpu / workers < 5.0 else 'NOT met'} by CPU per process); runs: "
        + ", ".join(f"{w / 1000.0:.2f} s wall / {c:.2f} CPU s" for w, c in runs)
    )
    print(line)
    SUMMARY[:] = [line]
    print(
        f"(1,000,000 draws: P(NPV < 0) = {mc.prob_loss:.3f}; load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
    )
    return status


if __name__ == "__main__":
    sys.exit(main())
