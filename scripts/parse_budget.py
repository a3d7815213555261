"""Worst-case cost of reading a scenario file: each hostile shape at the size limit, in a child.

Prints wall time and peak RSS (MB) of ``parse_scenario_text`` per shape; the goal (docs/deploy.md)
is under a second and a few hundred MB for any file up to ``model.io.MAX_FILE_BYTES``.
Run: ``.venv/bin/python scripts/parse_budget.py``. (Without the pre-scan, ``tomllib`` took 1.8 s
and 396 MB for a 20 KB dotted key on this machine kind, and ~8 GB for 88 KB: do not measure that
here.)

The red team's shapes, before and after bounding them (this machine kind, one run each):
"field-like unknown JSON keys" (1 MB, ~31,700 keys like ``gw_built_7``) took 34.3 s with a
"did you mean" for every key and 0.085 s with one for the first 5 only; "unknown TOML table
headers" (1,999 ``[gw_built_7]`` lines) took 2.85 s through tomllib and 0.001 s refused by the
pre-scan (at most 100 headers).
"""

from __future__ import annotations

import subprocess
import sys

CHILD = r"""
import resource, sys, time
from model.io import parse_scenario_text, MAX_FILE_BYTES
from model.scenario import ScenarioError
sys.path.insert(0, "tests")
from hostile_corpus import SHAPES
name = sys.argv[1]
data, fmt = SHAPES[name](MAX_FILE_BYTES)
t = time.perf_counter()
try:
    parse_scenario_text(data, fmt)
    outcome = "accepted"
except ScenarioError as exc:
    outcome = "refused: " + exc.problems[0][:70]
except Exception as exc:
    outcome = "raised " + type(exc).__name__
dt = time.perf_counter() - t
print(f"{name:28s} {len(data):>9,} B  {dt:6.3f} s  "
      f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024:5d} MB  {outcome}")
"""


def main() -> None:
    sys.path.insert(0, "tests")
    from hostile_corpus import SHAPES

    for name in SHAPES:
        subprocess.run([sys.executable, "-c", CHILD, name], timeout=120, check=False)


if __name__ == "__main__":
    main()
