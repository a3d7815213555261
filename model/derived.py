"""Economics the charts need, as vectorised model functions (methodology section 10).

Every sweep is one pass of the engine over a table of scenarios (:func:`model.evaluate_batch` or,
where annual indices are needed, :func:`batch_tables`): no per-scenario loop of
:func:`model.evaluate`. Return shapes and column names are those the dashboard's charts use, so
a chart only has to draw them. Sweeps are cached per scenario (``Scenario`` is frozen and
hashable).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from model import engine, finance
from model.results import Result, _validate_columns, evaluate_batch
from model.scenario import Scenario

#: Efficiency multipliers of the pricing-pressure sweeps (x tokens per GPU versus today).
MULTIPLIER_GRID = np.round(np.linspace(1.0, 4.0, 31), 6)
#: Coarser grid for the index sweep (annual tables of every point).
INDEX_GRID = np.round(np.linspace(1.0, 4.0, 13), 6)
ELASTICITY_GRID = np.round(np.linspace(0.0, 3.0, 31), 6)
#: The Crusoe deal, used to illustrate build vs buy when a scenario procures nothing.
ILLUSTRATIVE_PROCURED_GW = 1.6
#: Indices of the index sweep (1 = today).
INDEX_COLUMNS: tuple[str, ...] = (
    "token_price_index",
    "token_volume_index",
    "compute_demand_index",
    "lease_rate_index",
)
#: Axes of the pricing-pressure map: price pass-through 0-1 and token demand elasticity 0.3-2.
PASS_THROUGH_GRID = np.round(np.linspace(0.0, 1.0, 21), 6)
MAP_ELASTICITY_GRID = np.round(np.linspace(0.3, 2.0, 18), 6)
#: Efficiency gain shown on the map when the scenario has none (OpenAI's ~2x, industry-wide).
ILLUSTRATIVE_MULTIPLIER = 2.0


def batch_tables(table: pd.DataFrame, base: Scenario) -> engine.EngineOutput:
    """Annual lines and market indices of every row of ``table`` (fields missing: ``base``'s).

    One vectorised engine pass; rows are padded with zero years to the longest horizon.
    Raises :class:`model.ScenarioError` on bad input, like :func:`model.evaluate_batch`.
    """
    params = _validate_columns(table, base)
    return engine.run(params)


# ---- pricing pressure ---------------------------------------------------------------------------
@lru_cache(maxsize=128)
def index_sweep(scenario: Scenario) -> pd.DataFrame:
    """Market indices in the first operating year as the efficiency multiplier goes 1x..4x.

    Columns ``multiplier``, ``year`` and :data:`INDEX_COLUMNS` (1 = today), one row per point
    of :data:`INDEX_GRID`.
    """
    out = batch_tables(pd.DataFrame({"efficiency_multiplier": INDEX_GRID}), scenario)
    year = int(scenario.build_years)
    frame = pd.DataFrame({"multiplier": INDEX_GRID.astype(float), "year": year})
    for key in INDEX_COLUMNS:
        frame[key] = np.asarray(out.market[key][:, year], dtype=np.float64)
    return frame


@lru_cache(maxsize=128)
def npv_multiplier_sweep(scenario: Scenario) -> pd.DataFrame:
    """NPV (US$ B) against the multiplier: builder-only, whole industry and current diffusion.

    Columns ``multiplier``, ``builder``, ``industry``, ``current``.
    """
    n = len(MULTIPLIER_GRID)
    diffusions = {"builder": 0.0, "industry": 1.0, "current": scenario.efficiency_diffusion}
    table = pd.DataFrame(
        {
            "efficiency_multiplier": np.tile(MULTIPLIER_GRID, len(diffusions)),
            "efficiency_diffusion": np.repeat(list(diffusions.values()), n),
        }
    )
    npv = evaluate_batch(table, base=scenario)["npv_busd"].to_numpy()
    frame = pd.DataFrame({"multiplier": MULTIPLIER_GRID})
    for i, key in enumerate(diffusions):
        frame[key] = npv[i * n : (i + 1) * n]
    return frame


@lru_cache(maxsize=128)
def revenue_per_gw_sweep(scenario: Scenario) -> pd.DataFrame:
    """Average revenue per GW-year for an all-lease and an all-hosting builder vs the multiplier.

    Columns ``multiplier``, ``lessor``, ``host`` (US$ B per GW-year of facility power, average
    over the operating years, no procured capacity).
    """
    n = len(MULTIPLIER_GRID)
    table = pd.DataFrame(
        {
            "efficiency_multiplier": np.tile(MULTIPLIER_GRID, 2),
            "lease_share": np.repeat([1.0, 0.0], n),
            "hosting_share": np.repeat([0.0, 1.0], n),
            "procured_gw": 0.0,
        }
    )
    out = evaluate_batch(table, base=scenario)
    per_gw = out["average_revenue_busd_per_year"].to_numpy() / scenario.gw_built
    return pd.DataFrame({"multiplier": MULTIPLIER_GRID, "lessor": per_gw[:n], "host": per_gw[n:]})


@lru_cache(maxsize=128)
def elasticity_sweep(scenario: Scenario) -> pd.DataFrame:
    """NPV (US$ B) against demand elasticity: the scenario, 2x and 4x industry-wide gains.

    Columns ``elasticity``, ``scenario``, ``industry_2x``, ``industry_4x``, ``no_gain``.
    """
    n = len(ELASTICITY_GRID)
    cases = {
        "scenario": (scenario.efficiency_multiplier, scenario.efficiency_diffusion),
        "industry_2x": (2.0, 1.0),
        "industry_4x": (4.0, 1.0),
        "no_gain": (1.0, scenario.efficiency_diffusion),
    }
    table = pd.DataFrame(
        {
            "demand_elasticity": np.tile(ELASTICITY_GRID, len(cases)),
            "efficiency_multiplier": np.repeat([c[0] for c in cases.values()], n),
            "efficiency_diffusion": np.repeat([c[1] for c in cases.values()], n),
        }
    )
    npv = evaluate_batch(table, base=scenario)["npv_busd"].to_numpy()
    frame = pd.DataFrame({"elasticity": ELASTICITY_GRID})
    for i, key in enumerate(cases):
        frame[key] = npv[i * n : (i + 1) * n]
    return frame


@dataclass(frozen=True)
class PricingPressureMap:
    """Change in NPV (US$ B) caused by an efficiency gain, over pass-through x elasticity.

    ``delta_npv_busd[i, j]`` is at ``elasticity[i]`` and ``pass_through[j]``: NPV with the gain
    (``multiplier`` at ``diffusion``) less NPV without it (multiplier 1), everything else as in
    the scenario. Its zero contour is where margin expansion exactly offsets price pressure.
    """

    pass_through: np.ndarray
    elasticity: np.ndarray
    delta_npv_busd: np.ndarray
    npv_without_gain_busd: np.ndarray
    multiplier: float
    diffusion: float
    illustrative: bool

    def frame(self) -> pd.DataFrame:
        """Long form: ``price_pass_through``, ``demand_elasticity``, ``delta_npv_busd``."""
        p, e = np.meshgrid(self.pass_through, self.elasticity)
        return pd.DataFrame(
            {
                "price_pass_through": p.ravel(),
                "demand_elasticity": e.ravel(),
                "delta_npv_busd": self.delta_npv_busd.ravel(),
                "npv_without_gain_busd": self.npv_without_gain_busd.ravel(),
            }
        )


@lru_cache(maxsize=64)
def pricing_pressure_map(
    scenario: Scenario,
    pass_through: tuple[float, ...] = tuple(PASS_THROUGH_GRID),
    elasticity: tuple[float, ...] = tuple(MAP_ELASTICITY_GRID),
) -> PricingPressureMap:
    """NPV change from the scenario's efficiency gain over pass-through x token elasticity.

    Notes
    -----
    One :func:`model.evaluate_batch` call of ``2 x len(pass_through) x len(elasticity)`` rows:
    each point with the gain and without it (multiplier 1). A scenario without a gain is shown
    with an illustrative 2x gain (OpenAI's optimisation) at its own diffusion. Derived-demand
    signs (methodology section 4.3): a lessor's rents move with compute demand
    ``k^(p e - 1)``, so the zero contour of an uncontracted lessor at full diffusion is
    ``p e = 1``; a host also gains the margin ``k^(1 - p)`` on tokens it sells.
    """
    illustrative = scenario.efficiency_multiplier == 1.0
    k = ILLUSTRATIVE_MULTIPLIER if illustrative else scenario.efficiency_multiplier
    p_grid = np.asarray(pass_through, dtype=np.float64)
    e_grid = np.asarray(elasticity, dtype=np.float64)
    p, e = np.meshgrid(p_grid, e_grid)
    m = p.size
    table = pd.DataFrame(
        {
            "price_pass_through": np.tile(p.ravel(), 2),
            "demand_elasticity": np.tile(e.ravel(), 2),
            "efficiency_multiplier": np.repeat([k, 1.0], m),
        }
    )
    npv = evaluate_batch(table, base=scenario)["npv_busd"].to_numpy()
    with_gain, without = npv[:m].reshape(p.shape), npv[m:].reshape(p.shape)
    return PricingPressureMap(
        pass_through=p_grid,
        elasticity=e_grid,
        delta_npv_busd=with_gain - without,
        npv_without_gain_busd=without,
        multiplier=float(k),
        diffusion=float(scenario.efficiency_diffusion),
        illustrative=illustrative,
    )


# ---- lease-rate paths ---------------------------------------------------------------------------
def lease_rate_paths(result: Result) -> pd.DataFrame:
    """Lease-rate paths over the horizon, as indices (1 = today's rate) and in US$ B per GW-year.

    Columns ``year``, ``operating`` and for each of ``frontier`` (a new vintage's rent),
    ``fleet`` (the installed vintage's spot rent for its age), ``contracted`` (the installed
    vintage's contract rate: the frontier at its start), ``billed`` (what leased capacity
    earns on average), ``ceiling`` (user cost of new capacity, or today's rate within the
    entry lag) and ``floor`` (avoidable cash cost): ``<name>_index`` and
    ``<name>_busd_per_gw_year``. Then ``vintage_<k>_index`` for every IT vintage: its spot rent
    for its age while it is in service (NaN outside).
    """
    m = result.market
    s = result.scenario
    rate = s.lease_rate_busd_per_gw_year
    names = {
        "frontier": "lease_rate_index",
        "fleet": "fleet_lease_rate_index",
        "contracted": "contracted_lease_rate_index",
        "billed": "billed_lease_rate_index",
        "ceiling": "lease_rate_ceiling_index",
        "floor": "lease_rate_floor_index",
    }
    frame = pd.DataFrame({"year": m["year"].to_numpy(), "operating": m["operating"].to_numpy()})
    for key, col in names.items():
        values = m[col].to_numpy(dtype=np.float64)
        frame[f"{key}_index"] = values
        frame[f"{key}_busd_per_gw_year"] = values * rate
    t = frame["year"].to_numpy(dtype=np.float64)
    frontier = frame["frontier_index"].to_numpy()
    life = s.it_life_years
    horizon = s.build_years + s.operating_years
    n_vintages = int(np.ceil(np.round(s.operating_years / life, 9)))
    starts = s.build_years + life * np.arange(max(n_vintages, 1))
    # each vintage's spot rent: the frontier times (1 - h) ** age, while in service
    age = t[None, :] - starts[:, None]
    alive = (age >= 0) & (age < life) & (t[None, :] < horizon)
    spot = frontier[None, :] * (1.0 - s.hardware_cost_decline_per_year) ** np.maximum(age, 0.0)
    values = np.where(alive, spot, np.nan)
    for k in range(values.shape[0]):
        frame[f"vintage_{k}_index"] = values[k]
    return frame


# ---- NPV profile --------------------------------------------------------------------------------
def profile_rates(result: Result) -> np.ndarray:
    """Discount rates of the NPV profile: 0 to max(30%, 2 x WACC, 1.5 x IRR), capped at 100%."""
    top = max(0.30, 2.0 * result.scenario.wacc, 1.5 * (result.irr or 0.0))
    top = min(top, 1.0)
    return np.round(np.linspace(0.0, top, 121), 6)


def npv_profile_roots(result: Result, rates: np.ndarray | None = None) -> list[float]:
    """IRRs read off the NPV profile: every sign change, interpolated linearly between rates.

    The model's IRR is added when no plotted root lies within one percentage point of it, so a
    root the grid misses still shows; sorted.
    """
    r = profile_rates(result) if rates is None else np.asarray(rates, dtype=np.float64)
    npv = finance.npv_profile(result.cash_flows["fcf"].to_numpy(), r)
    sign = np.sign(npv)
    crossings = np.nonzero(sign[:-1] * sign[1:] < 0)[0]
    roots = [float(r[i] - npv[i] * (r[i + 1] - r[i]) / (npv[i + 1] - npv[i])) for i in crossings]
    if result.irr is not None and not any(abs(x - result.irr) < 0.01 for x in roots):
        roots.append(result.irr)
    return sorted(roots)


# ---- build vs buy -------------------------------------------------------------------------------
def procured_scenario(s: Scenario) -> tuple[Scenario, bool]:
    """The scenario with its procured capacity, or the 1.6 GW deal added if it has none."""
    if s.procured_gw > 0:
        return s, False
    return s.replace(procured_gw=ILLUSTRATIVE_PROCURED_GW), True


@lru_cache(maxsize=128)
def resale_contribution(scenario: Scenario) -> dict[str, float]:
    """NPV with and without the procured capacity (US$ B) and the contribution per GW.

    Keys ``procured_gw``, ``npv_with_busd``, ``npv_without_busd``, ``contribution_busd``,
    ``contribution_busd_per_gw``, ``build_npv_busd_per_gw``.
    """
    s, _ = procured_scenario(scenario)
    out = evaluate_batch(pd.DataFrame({"procured_gw": [s.procured_gw, 0.0]}), base=s)
    with_p, without = (float(v) for v in out["npv_busd"])
    return {
        "procured_gw": s.procured_gw,
        "npv_with_busd": with_p,
        "npv_without_busd": without,
        "contribution_busd": with_p - without,
        "contribution_busd_per_gw": (with_p - without) / s.procured_gw,
        "build_npv_busd_per_gw": without / s.gw_built,
    }


@lru_cache(maxsize=128)
def resale_lease_sweep(scenario: Scenario) -> pd.DataFrame:
    """NPV contribution of the procured block (US$ B) against the lease rate.

    Columns ``lease_rate`` (US$ B per GW-year, 61 points from 0) and ``contribution``.
    """
    s, _ = procured_scenario(scenario)
    top = max(30.0, 1.5 * s.lease_rate_busd_per_gw_year, 1.5 * s.procurement_cost_busd_per_gw_year)
    rates = np.round(np.linspace(0.0, min(top, 60.0), 61), 6)
    n = len(rates)
    table = pd.DataFrame(
        {
            "lease_rate_busd_per_gw_year": np.tile(rates, 2),
            "procured_gw": np.repeat([s.procured_gw, 0.0], n),
        }
    )
    npv = evaluate_batch(table, base=s)["npv_busd"].to_numpy()
    return pd.DataFrame({"lease_rate": rates, "contribution": npv[:n] - npv[n:]})


def breakeven_resale_rate(sweep: pd.DataFrame) -> float | None:
    """Lease rate where the procured block's NPV contribution first turns non-negative.

    Linear between the sweep's points (``lease_rate``, ``contribution``); None if it never does
    from below.
    """
    rates = sweep["lease_rate"].to_numpy(dtype=np.float64)
    values = sweep["contribution"].to_numpy(dtype=np.float64)
    up = np.nonzero((values[:-1] < 0) & (values[1:] >= 0))[0]
    if not len(up):
        return None
    i = int(up[0])
    return float(rates[i] - values[i] * (rates[i + 1] - rates[i]) / (values[i + 1] - values[i]))


def price_target_gap_share(result: Result) -> float | None:
    """Share of the gap from the share price to the analyst's price target that the build's
    NPV per share explains (methodology §12, Verdict).

    Notes
    -----
    ``share = npv_per_share_usd / (price_target_usd - share_price_usd)``; None when the target
    is not above the share price (no gap to explain). Negative when the build destroys value.

    Examples
    --------
    >>> from model import evaluate, load_preset
    >>> round(price_target_gap_share(evaluate(load_preset("bofa-base"))), 3)  # 9.18 / (835 - 700)
    0.068
    """
    s = result.scenario
    gap = s.price_target_usd - s.share_price_usd
    if not gap > 0:
        return None
    return float(result.npv_per_share_usd / gap)


__all__ = [
    "ELASTICITY_GRID",
    "INDEX_COLUMNS",
    "INDEX_GRID",
    "MAP_ELASTICITY_GRID",
    "MULTIPLIER_GRID",
    "PASS_THROUGH_GRID",
    "PricingPressureMap",
    "batch_tables",
    "breakeven_resale_rate",
    "elasticity_sweep",
    "index_sweep",
    "lease_rate_paths",
    "npv_multiplier_sweep",
    "npv_profile_roots",
    "price_target_gap_share",
    "pricing_pressure_map",
    "procured_scenario",
    "profile_rates",
    "resale_contribution",
    "resale_lease_sweep",
    "revenue_per_gw_sweep",
]


# ---- depreciation life (methodology section 11.8) --------------------------------------------
#: Book lives the depreciation-life panel compares (years): the critics' ~3-year economic life,
#: Meta's 5.5 (10-K) and the peers' 6 (Microsoft, Alphabet, Amazon, CoreWeave).
BOOK_LIFE_GRID: tuple[float, ...] = (3.0, 5.5, 6.0)


@lru_cache(maxsize=128)
def depreciation_life_paths(scenario: Scenario) -> pd.DataFrame:
    """Reported operating income and EPS by year for each book life of :data:`BOOK_LIFE_GRID`
    against the cash they do not change (one engine pass, methodology section 11.8).

    Long table, one row per book life and year: ``book_life_years``, ``year``,
    ``operating_income_busd`` (reported EBIT), ``reported_tax_busd`` (GAAP tax expense: the tax
    rate on pre-tax book income, ``tax_rate x (ebit + residual_gain - interest)``, current and
    deferred together), ``net_income_busd``, ``eps_usd`` (net income per diluted share, US$),
    ``pretax_cash_busd`` (EBITDA - capex + residual value: the same for every book life) and
    ``cash_per_share_usd`` (FCF to equity per share). Years from the first to the last of the
    horizon.
    """
    lives = np.asarray(BOOK_LIFE_GRID, dtype=np.float64)
    out = batch_tables(pd.DataFrame({"it_book_life_years": lives}), scenario)
    n_years = int(out.horizon_years[0])
    lines = {k: v[:, :n_years] for k, v in out.lines.items()}
    pretax_book = lines["ebit"] + lines["residual_gain"] - lines["interest"]
    reported_tax = scenario.tax_rate * pretax_book
    net_income = pretax_book - reported_tax
    shares = scenario.shares_outstanding_b
    pretax_cash = lines["ebitda"] - lines["capex"] + lines["residual_value"]
    years = np.tile(out.years[:n_years], len(lives))
    return pd.DataFrame(
        {
            "book_life_years": np.repeat(lives, n_years),
            "year": years.astype(np.int64),
            "operating_income_busd": lines["ebit"].ravel(),
            "reported_tax_busd": reported_tax.ravel(),
            "net_income_busd": net_income.ravel(),
            "eps_usd": (net_income / shares).ravel(),
            "pretax_cash_busd": pretax_cash.ravel(),
            "cash_per_share_usd": (lines["fcf_to_equity"] / shares).ravel(),
        }
    )
