"""`make bench`: run every scripts/bench_*.py section, print its speed figures, then the figures
the speed goals name (evaluate ms, evaluate_batch scenarios/s both ways, Monte Carlo 1M draws s)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    status = 0
    summary: list[str] = []
    for path in sorted(HERE.glob("bench_*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        print(f"\n== {path.stem} ==", flush=True)
        rc = int(module.main() or 0)
        status = status or rc
        summary += getattr(module, "SUMMARY", [])
    # the figures the speed goals name, in one place
    print("\n== goals ==")
    for line in summary:
        print(line)
    return status


if __name__ == "__main__":
    sys.exit(main())
