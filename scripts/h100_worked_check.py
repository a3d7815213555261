"""The worked check of methodology section 4.8: the sourced H100 rent path against what the
model's scarcity and ageing give for an H100-era vintage (US$ per GPU-hour).

Run: ``.venv/bin/python scripts/h100_worked_check.py``. The vintage is new at the start of 2023
(``first_year`` 2023), on the coreweave-cluster build and its conversion (US$ 2.35 per GPU-hour =
US$ 11.9 B per GW-year), today's spot the 2023 peak of US$ 8 per GPU-hour; the entry lag, the
fade and the scarcity bound at the project's defaults (2, 1, 2x).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from model import engine, load_preset  # noqa: E402
from model.results import scenario_params  # noqa: E402

#: US$ B per GW-year per US$ per GPU-hour (coreweave-cluster: 11.9 B at US$ 2.35).
BUSD_PER_USD_GPU_HOUR = 11.9 / 2.35
#: (date, years from the start of 2023, observed US$ per GPU-hour)
OBSERVED: tuple[tuple[str, float, float], ...] = (
    ("mid-2023 (peak)", 0.5, 8.0),
    ("early 2024", 1.1, 2.85),
    ("Oct 2025 (1-yr)", 2.8, 1.70),
    ("Mar 2026 (1-yr)", 3.2, 2.35),
    ("mid-2026 (index)", 3.5, 2.60),
)


def vintage_path(h: float, lag: float = 2.0, fade: float = 1.0, m_s: float = 2.0) -> np.ndarray:
    """The model's rent of a vintage new at the start of 2023, US$ per GPU-hour, at OBSERVED."""
    s = load_preset("coreweave-cluster").replace(
        first_year=2023,
        lease_rate_busd_per_gw_year=8.0 * BUSD_PER_USD_GPU_HOUR,
        lease_rate_tenor_years=0.0,
        hardware_cost_decline_per_year=h,
        entry_lag_years=lag,
        entry_fade_years=fade,
        scarcity_multiple_max=m_s,
    )
    p = scenario_params([s])
    uc = engine._unit_costs(p)
    mk = engine._market(p, uc)
    tau = np.array([[t for _, t, _ in OBSERVED]])
    frontier = mk.frontier(tau)[0] * s.lease_rate_busd_per_gw_year
    return np.asarray(frontier * (1.0 - h) ** tau[0] / BUSD_PER_USD_GPU_HOUR)


def user_cost(h: float) -> float:
    """The neocloud entrant's user cost, US$ per GPU-hour, at ``h``."""
    s = load_preset("coreweave-cluster").replace(hardware_cost_decline_per_year=h)
    c = engine.user_cost_busd_per_gw_year(scenario_params([s]))[0]
    return float(c / BUSD_PER_USD_GPU_HOUR)


def main() -> None:
    paths = {h: vintage_path(h) for h in (0.15, 0.2, 0.25)}
    u = user_cost(0.2)
    print(f"user cost u_e at h = 0.2: US$ {u:.2f} per GPU-hour")
    print("| date | observed | h = 0.15 | h = 0.20 | h = 0.25 | observed / ((1 - h)^age u_e) |")
    for i, (date, t, obs) in enumerate(OBSERVED):
        implied = obs / (0.8**t) / u
        cells = " | ".join(f"{paths[h][i]:.2f}" for h in (0.15, 0.2, 0.25))
        print(f"| {date} | {obs:g} | {cells} | {implied:.2f} |")


if __name__ == "__main__":
    main()
