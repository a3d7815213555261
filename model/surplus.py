"""The value of leasing surplus: operating the built capacity against leaving it idle.

``surplus_lease_value = PV(FCF_operate - FCF_idle) = NPV - NPV_idle`` (methodology section
11.11). Both branches pay for the same build; the idle branch earns nothing, pays none of the
avoidable costs (power, other opex, the variable share, procurement, the licence fee), buys no
refresh (nobody replaces IT that earns nothing) and sells nothing at the horizon, while the
build's tax depreciation runs on as if it operated and its remaining tax basis is written off at
the horizon. It is an operating option value, not a switching option: the build is sunk in both
branches, so the NPV of the idle branch is never positive and the surplus lease value is at
least the NPV.

Computed only when asked (:attr:`model.Result.surplus_lease_value_busd` runs this once more on
the scenario), never inside :func:`model.evaluate` or :func:`model.evaluate_batch`.

Examples
--------
>>> from model import load_preset
>>> from model.results import scenario_params
>>> round(float(idle_branch_npv(scenario_params([load_preset("bofa-base")]))[0]), 2)
-122.4
"""

from __future__ import annotations

import numpy as np

from model import engine, finance
from model.engine import FloatArray
from model.fields import FIELD_NAMES
from model.tax import tax_depreciation


def idle_branch_fcf(params: dict[str, FloatArray]) -> tuple[FloatArray, FloatArray]:
    """Free cash flow of the idle branch (S, T, US$ B) and the discount factors (S, T).

    ``FCF_idle = -build_spend - tax_idle`` with ``tax_idle`` the cash tax (the scenario's own
    treatment: in a group a loss is a saving now; stand-alone it is carried forward, here never
    used) on taxable income ``-D_t`` (the build's tax depreciation, MACRS and bonus as set, over
    the service lives) less, in the last year, the tax basis left (written off: nothing is sold).
    """
    p = {k: np.asarray(params[k], dtype=np.float64) for k in FIELD_NAMES}
    tl = engine._timeline(p)
    cap = engine._capital(p, tl)
    t, b, h_end = tl.t, tl.b, tl.h_end
    at_start = t == b

    def straight(cost: FloatArray, life: FloatArray) -> FloatArray:
        # cost / life over [b, b + life) inside the horizon, split at the exact end of the life
        end = np.minimum(b + life[:, None], h_end)
        width = np.clip(np.minimum(t + 1.0, end) - np.maximum(t, b), 0.0, 1.0)
        return np.asarray(width * (cost / life)[:, None])

    dep = tax_depreciation(
        placed_it=np.where(at_start, cap.cost_it[:, None], 0.0),
        placed_facility=np.where(at_start, cap.cost_fac[:, None], 0.0),
        book_it=straight(cap.cost_it, p["it_life_years"]),
        book_facility=straight(cap.cost_fac, p["facility_life_years"]),
        active=tl.active,
        macrs=p["macrs_depreciation"],
        facility_class=p["facility_tax_class_years"],
        bonus=p["bonus_depreciation_share"],
    )
    last_year = t == (h_end - 1.0)
    basis_end = (dep.basis_it_end + dep.basis_facility_end)[:, None]
    taxable = -dep.total - np.where(last_year, basis_end, 0.0)
    tax = engine._unlevered_tax(p, taxable)
    fcf = -cap.build_spend - tax
    return fcf, finance.discount_factors(p["wacc"], tl.n_years)


def idle_branch_npv(params: dict[str, FloatArray]) -> FloatArray:
    """NPV of the idle branch (S,), US$ B at the WACC: the build less the tax it saves."""
    fcf, disc = idle_branch_fcf(params)
    return np.asarray((fcf * disc).sum(axis=1))
