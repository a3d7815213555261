"""Speed of the economics model: ``evaluate``, ``evaluate_batch`` and the two per-scenario ratios.

Prints
- ``evaluate``: median wall time and median CPU time of one call over many calls (goal < 2 ms);
- ``evaluate_batch``: scenarios per second at 100,000 random scenarios inside the field bounds
  (goal >= 100,000 per second), twice: every field random, and the financing, tax and timing
  inputs at their defaults (the rest random); judged by wall time on the machine's cores
  (``evaluate_batch`` runs its row chunks on up to two threads), with the CPU seconds of all
  threads beside it (on a shared machine, a CPU figure near the wall figure times the threads
  says the cores were free);
- the per-scenario speed ratio of ``evaluate_batch`` against a Python loop of ``evaluate``
  (a few hundred calls timed, extrapolated) and against ``numpy_financial.irr`` in a Python loop
  over the same scenarios' free-cash-flow rows (a subset timed, extrapolated).

Run by ``scripts/bench.py`` (``make bench``); also ``python scripts/bench_model.py``.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from model import FIELD_SPECS, Scenario, engine, evaluate, evaluate_batch, finance, load_preset  # noqa: E402
from model.results import scenario_params  # noqa: E402

N_BATCH = 100_000
N_EVALUATE = 2_000
N_LOOP = 300
N_NPF = 2_000
SEED = 20260701


def random_table(n: int, seed: int = SEED) -> pd.DataFrame:
    """``n`` scenarios drawn uniformly inside every field's bounds (lease + hosting share <= 1)."""
    rng = np.random.default_rng(seed)
    cols: dict[str, np.ndarray] = {}
    for name, spec in FIELD_SPECS.items():
        v = rng.uniform(spec.low, spec.high, n)
        cols[name] = np.round(v) if spec.integer else v
    cols["hosting_share"] = cols["hosting_share"] * (1.0 - cols["lease_share"])
    return pd.DataFrame(cols)


#: Inputs of the capital structure, tax and timing (methodology section 11): held at their
#: defaults for the "unlevered" batch figure, drawn like every other input for the main one.
FINANCING_FIELDS = (
    *(name for name, spec in FIELD_SPECS.items() if spec.group == "Financing"),
    "build_front_loading",
    "phased_online",
    "ramp_first_year_share",
    "ramp_second_year_share",
    "internal_transfer_price_share",
)


def unlevered_table(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` without the financing, tax and timing inputs (they take their defaults)."""
    return table.drop(columns=[c for c in FINANCING_FIELDS if c in table.columns])


def _scenario(row: dict[str, float]) -> Scenario:
    return Scenario(**{k: (int(v) if FIELD_SPECS[k].integer else float(v)) for k, v in row.items()})


def bench_evaluate(n: int = N_EVALUATE) -> tuple[float, float]:
    """Median wall seconds and median CPU seconds per ``evaluate`` call on the default preset."""
    s = load_preset()
    for _ in range(100):
        evaluate(s)
    wall, cpu = [], []
    for _ in range(n):
        t0, c0 = time.perf_counter(), time.process_time()
        evaluate(s)
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - t0)
    return statistics.median(wall), statistics.median(cpu)


def bench_batch(table: pd.DataFrame, repeats: int = 3) -> tuple[float, float]:
    """Best-of-``repeats`` wall seconds and CPU seconds for ``evaluate_batch`` on the table."""
    evaluate_batch(table.head(2_000))  # warm caches
    best_wall = best_cpu = float("inf")
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        evaluate_batch(table)
        best_cpu = min(best_cpu, time.process_time() - c0)
        best_wall = min(best_wall, time.perf_counter() - t0)
    return best_wall, best_cpu


def bench_evaluate_loop(table: pd.DataFrame, n: int = N_LOOP) -> float:
    """Seconds per scenario for a Python loop of ``evaluate`` (scenarios validated beforehand)."""
    scenarios = [_scenario(row) for row in table.head(n).to_dict("records")]
    evaluate(scenarios[0])
    t0 = time.perf_counter()
    for s in scenarios:
        evaluate(s)
    return (time.perf_counter() - t0) / n


def bench_npf_irr(table: pd.DataFrame, n: int = N_NPF) -> tuple[float, float]:
    """Seconds per row of ``numpy_financial.irr`` in a loop and of ``model.finance.irr`` (batch)
    over the free-cash-flow rows of the first ``n`` scenarios (each row cut to its horizon)."""
    import numpy_financial as npf

    scenarios = [_scenario(row) for row in table.head(n).to_dict("records")]
    out = engine.run(scenario_params(scenarios))
    fcf = out.lines["fcf"]
    rows = [fcf[i, : int(h)] for i, h in enumerate(out.horizon_years)]
    t0 = time.perf_counter()
    for row in rows:
        npf.irr(row)
    per_npf = (time.perf_counter() - t0) / n
    t0 = time.perf_counter()
    finance.irr(fcf)
    per_ours = (time.perf_counter() - t0) / n
    return per_npf, per_ours


#: The figures the goals name, filled by :func:`main` for ``scripts/bench.py``'s summary.
SUMMARY: list[str] = []


def _goal(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main() -> int:
    table = random_table(N_BATCH)
    eval_wall, eval_cpu = bench_evaluate()
    batch_wall, batch_cpu = bench_batch(table)
    plain_wall, plain_cpu = bench_batch(unlevered_table(table))
    per_batch = batch_wall / N_BATCH
    cores = engine.available_cores()
    threads = min(2, cores)  # evaluate_batch's chunks run on up to two threads
    per_loop = bench_evaluate_loop(table)
    per_npf, per_irr = bench_npf_irr(table)

    lines = [
        f"evaluate (bofa-base, one call): median {eval_wall * 1e3:.3f} ms wall, "
        f"{eval_cpu * 1e3:.3f} ms CPU over {N_EVALUATE:,} calls (goal < 2 ms: "
        f"{_goal(eval_wall < 2e-3)} by wall, {_goal(eval_cpu < 2e-3)} by CPU)",
        f"evaluate_batch, every field random ({N_BATCH:,} scenarios inside the bounds, "
        f"{threads} threads): {N_BATCH / batch_wall:,.0f} scenarios/s wall ({batch_wall:.3f} s; "
        f"{batch_cpu:.3f} CPU s in all threads), best of 3 (goal >= 100,000/s on {cores} cores: "
        f"{_goal(N_BATCH / batch_wall >= 1e5)})",
        f"evaluate_batch, financing, tax and timing inputs at their defaults (all-equity, book "
        f"tax; the rest random, {N_BATCH:,} scenarios, {threads} threads): "
        f"{N_BATCH / plain_wall:,.0f} scenarios/s wall ({plain_wall:.3f} s; {plain_cpu:.3f} CPU s "
        f"in all threads), best of 3 (goal >= 100,000/s on {cores} cores: "
        f"{_goal(N_BATCH / plain_wall >= 1e5)})",
    ]
    for line in lines:
        print(line)
    SUMMARY[:] = lines
    print(
        f"per scenario: evaluate_batch {per_batch * 1e6:.2f} us; loop of evaluate "
        f"{per_loop * 1e3:.3f} ms ({N_LOOP} random scenarios timed, extrapolated) "
        f"-> batch is {per_loop / per_batch:,.0f}x faster"
    )
    print(
        f"numpy_financial.irr in a Python loop: {per_npf * 1e6:.1f} us per fcf row "
        f"({N_NPF:,} of the {N_BATCH:,} rows timed, extrapolated: "
        f"{per_npf * N_BATCH:.1f} s for all) -> evaluate_batch (full metrics) is "
        f"{per_npf / per_batch:,.1f}x faster per scenario; model.finance.irr on the same rows "
        f"{per_irr * 1e6:.2f} us per row ({per_npf / per_irr:,.0f}x)"
    )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"machine: {os.cpu_count()} CPUs, load average {load:.2f} (other work slows every "
        "wall-time figure; CPU time is what this process used)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
