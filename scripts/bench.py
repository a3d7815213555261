"""`make bench`: run every scripts/bench_*.py section, print its speed figures, then the figures
the speed goals name (evaluate ms, evaluate_batch scenarios/s both ways, Monte Carlo 1M draws s).

The goals block starts with a machine-speed reference: one fixed workload (a Python loop and a
numpy pass, no project code) timed before and after the sections. A shared virtual machine's
speed drifts from one run to the next; the reference shows how fast this machine was during the
run, so figures from different runs can be compared.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def reference_seconds(repeats: int = 3) -> float:
    """Best of ``repeats`` timings of a fixed workload: 3,000,000 Python additions, then exp and
    a sort over 2,000,000 doubles (about 0.15 s on this project's 2-core VM)."""
    values = np.random.default_rng(0).standard_normal(2_000_000)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        total = 0
        for i in range(3_000_000):
            total += i
        np.sort(np.exp(values) + total * 0.0)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    status = 0
    summary: list[str] = []
    before = reference_seconds()
    for path in sorted(HERE.glob("bench_*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        print(f"\n== {path.stem} ==", flush=True)
        rc = int(module.main() or 0)
        status = status or rc
        summary += getattr(module, "SUMMARY", [])
    after = reference_seconds()
    # the figures the speed goals name, in one place
    print("\n== goals ==")
    print(
        f"machine speed reference (fixed workload, lower is faster): {before:.3f} s before the "
        f"sections, {after:.3f} s after"
    )
    for line in summary:
        print(line)
    return status


if __name__ == "__main__":
    sys.exit(main())
