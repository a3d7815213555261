"""The NPV bridge: what carries the value, from revenue to NPV in present-value bars.

Each bar is the present value at the WACC of one group of annual lines of
:attr:`model.Result.cash_flows`; the bars sum to the NPV exactly, because free cash flow is
``ebitda - tax - capex + residual_value`` and EBITDA is revenue less operating costs
(methodology §"Returns": end-of-year discounting, year 0 = first capex year).

Examples
--------
>>> from model import evaluate, load_preset
>>> r = evaluate(load_preset("bofa-base"))
>>> b = npv_bridge(r)
>>> round(float(b["pv_busd"].sum()), 6) == round(r.npv_busd, 6)
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from model.results import Result

#: Bars of the bridge: (key, label, lines added, lines subtracted).
BRIDGE_STEPS: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("revenue", "Revenue", ("revenue",), ()),
    (
        "operating_costs",
        "Operating costs",
        (),
        ("power_cost", "other_opex", "variable_opex", "procurement_cost", "licence_fee"),
    ),
    ("capex_build", "Initial capex", (), ("capex",)),
    ("capex_refresh", "Refresh capex", (), ("capex_refresh",)),
    ("tax", "Cash tax", (), ("tax",)),
    ("residual_value", "Residual value", ("residual_value",), ()),
)


def discount_factors(years: np.ndarray, wacc: float) -> np.ndarray:
    """End-of-year discount factors ``(1 + wacc) ** -year``."""
    return np.power(1.0 + wacc, -np.asarray(years, dtype=np.float64))


def npv_bridge(result: Result) -> pd.DataFrame:
    """Present value (US$ B) of each component of the free cash flows; the rows sum to NPV.

    Returns
    -------
    DataFrame
        Columns ``step`` (key), ``label``, ``pv_busd`` (signed: costs negative) and
        ``share_of_npv`` (``pv_busd / npv``; NaN when NPV is 0).

    Notes
    -----
    ``PV(x) = sum_t x_t (1 + wacc)^-t``. Capex in the cash flows includes refreshes; the
    "initial build" bar is ``capex - capex_refresh`` (the refresh bar subtracts its own part, so
    the two add up to all capex). Operating costs are revenue less EBITDA, split by line.
    """
    cf = result.cash_flows
    df = discount_factors(cf["year"].to_numpy(), result.scenario.wacc)

    def pv(line: str) -> float:
        return float(np.dot(cf[line].to_numpy(dtype=np.float64), df))

    rows = []
    for key, label, plus, minus in BRIDGE_STEPS:
        value = sum(pv(x) for x in plus) - sum(pv(x) for x in minus)
        if key == "capex_build":  # capex includes refreshes: the build bar is the rest
            value = -(pv("capex") - pv("capex_refresh"))
        rows.append({"step": key, "label": label, "pv_busd": value})
    frame = pd.DataFrame(rows)
    npv = float(frame["pv_busd"].sum())
    frame["share_of_npv"] = frame["pv_busd"] / npv if npv != 0 else np.nan
    return frame


__all__ = ["BRIDGE_STEPS", "discount_factors", "npv_bridge"]
