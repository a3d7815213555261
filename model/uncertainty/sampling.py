"""The Monte Carlo's sampling: checks of draws and seed, correlated normals drawn in blocks, their
transform into each input's distribution inside the field's bounds, and the notes on truncation
and scaled shares (methodology §9, Monte Carlo).
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import special

from model.fields import FIELD_SPECS, INTEGER_FIELDS
from model.scenario import Scenario
from model.sensitivity import SHARE_FIELDS
from model.uncertainty.common import MAX_DRAWS, SESSION_MAX_DRAWS, MonteCarloError, _short
from model.uncertainty.distributions import Distribution, copula_matrix, parse_distribution

FloatArray = NDArray[np.float64]


#: Rows of normals drawn from one random stream: block b uses ``SeedSequence(seed, spawn_key=(b,))``,
#: so any range of rows can be drawn on its own (in any process) and gives the same numbers.
NORMAL_BLOCK = 65_536


def check_session_draws(n: object, limit: int = SESSION_MAX_DRAWS) -> int:
    """``n`` if one session of the hosted demo may run that many draws, else MonteCarloError.

    The dashboard calls this before a run; the library itself accepts up to :data:`MAX_DRAWS`.
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or not 1 <= int(n) <= limit:
        raise MonteCarloError(
            "n",
            f"draws = {_short(n)} is above this demo's limit per run "
            f"(allowed: a whole number from 1 to {limit:,})"
            if isinstance(n, numbers.Integral) and not isinstance(n, bool) and int(n) > limit
            else f"draws = {_short(n)} is not allowed (allowed: a whole number from 1 to {limit:,})",
        )
    return int(n)


def _check_n_seed(n: object, seed: object) -> tuple[int, int | None]:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or not 1 <= int(n) <= MAX_DRAWS:
        raise MonteCarloError(
            "n", f"n = {_short(n)} is not allowed (allowed: a whole number from 1 to {MAX_DRAWS:,})"
        )
    if seed is not None and (
        isinstance(seed, bool)
        or not isinstance(seed, numbers.Integral)
        or not 0 <= int(seed) < 2**128
    ):
        raise MonteCarloError(
            "seed",
            f"seed = {_short(seed)} is not allowed (allowed: a whole number from 0 to 2^128 - 1, "
            "or None)",
        )
    return int(n), None if seed is None else int(seed)


def _prepare(
    scenario: Scenario,
    distributions: Mapping[str, Mapping[str, object]],
    follow_scenario: bool,
) -> tuple[dict[str, Distribution], dict[str, Distribution]]:
    """Parsed specs and the absolute distributions drawn for the scenario as set."""
    if not isinstance(distributions, Mapping):
        raise MonteCarloError(
            "distributions",
            f"distributions must be a mapping field -> spec (got {_short(distributions)})",
        )
    if not distributions:
        raise MonteCarloError(
            "distributions", "distributions is empty: choose at least one uncertain input"
        )
    for name in distributions:
        if not isinstance(name, str):
            raise MonteCarloError(
                "distributions", f"distributions: key {_short(name)} is not a field name"
            )
    specs = {name: parse_distribution(name, spec) for name, spec in distributions.items()}
    if follow_scenario:
        for name, d in specs.items():
            _check_scale_base(d, float(getattr(scenario, name)))
    dists = {
        name: (d.at(float(getattr(scenario, name))) if follow_scenario else d.at_reference())
        for name, d in specs.items()
    }
    return specs, dists


def _check_scale_base(d: Distribution, value_as_set: float) -> None:
    """Refuse a "scale"-following distribution on a value as set < 0 (raises MonteCarloError).

    Scaling by ``value_as_set / reference < 0`` would flip low and high and squeeze the range,
    silently: an input set to -0.25 drew -0.05 every time. "shift" moves the range by the
    difference instead (a lognormal, positive by nature, takes absolute ranges). At exactly 0 the
    documented rule holds: every draw is 0, and the run's notes say so.
    """
    if d.follow != "scale" or value_as_set >= 0:
        return
    remedy = (
        "use absolute ranges for a lognormal"
        if d.kind == "lognormal"
        else "use follow = 'shift', or absolute ranges"
    )
    raise MonteCarloError(
        "distributions",
        f"{d.field} = {value_as_set:g} ({FIELD_SPECS[d.field].unit}): follow = 'scale' multiplies "
        f"the range by the value as set / reference, which is negative (allowed: 'scale' for a "
        f"value as set >= 0; {remedy})",
    )


def sample_inputs(
    scenario: Scenario,
    distributions: Mapping[str, Mapping[str, object]],
    n: int,
    seed: int | None,
    correlation: Mapping[tuple[str, str], object] | None = None,
    *,
    follow_scenario: bool = True,
) -> tuple[pd.DataFrame, dict[str, Distribution], list[str]]:
    """Draw ``n`` input rows (one column per uncertain field) and notes on what was adjusted."""
    n, seed = _check_n_seed(n, seed)
    _, dists = _prepare(scenario, distributions, follow_scenario)
    z = _Normals.of(copula_matrix(list(dists), correlation), seed).rows(0, n)
    cols, over = _transform(scenario, dists, z)
    return pd.DataFrame(cols), dists, _notes(dists, n, over)


@dataclass(frozen=True)
class _Normals:
    """Correlated standard normals, drawn block by block from independent streams of one seed."""

    pearson: FloatArray
    entropy: int

    @classmethod
    def of(cls, pearson: FloatArray, seed: int | None) -> _Normals:
        entropy = np.random.SeedSequence(seed).entropy
        assert isinstance(entropy, int)
        return cls(pearson, entropy)

    def rows(self, i0: int, i1: int) -> FloatArray:
        """Rows ``i0:i1``: the same numbers however the rows are split.

        A small range (at most :data:`CACHED_NORMAL_ROWS` rows, e.g. the dashboard's headline
        band, which draws the same seed on every input change) is kept and returned read-only,
        so a rerun does not draw the same 65,536-row block again.
        """
        if 0 <= i1 - i0 <= CACHED_NORMAL_ROWS:
            p = np.ascontiguousarray(self.pearson, dtype=np.float64)
            return _cached_rows(p.tobytes(), p.shape[0], self.entropy, i0, i1)
        return self._draw(i0, i1)

    def _draw(self, i0: int, i1: int) -> FloatArray:
        k = self.pearson.shape[0]
        out = np.empty((i1 - i0, k))
        chol = None if np.allclose(self.pearson, np.eye(k)) else np.linalg.cholesky(self.pearson).T
        for b in range(i0 // NORMAL_BLOCK, (i1 - 1) // NORMAL_BLOCK + 1 if i1 > i0 else 0):
            b0 = b * NORMAL_BLOCK
            rng = np.random.default_rng(np.random.SeedSequence(self.entropy, spawn_key=(b,)))
            z = rng.standard_normal((NORMAL_BLOCK, k))
            lo, hi = max(i0, b0), min(i1, b0 + NORMAL_BLOCK)
            part = z[lo - b0 : hi - b0]
            out[lo - i0 : hi - i0] = part if chol is None else part @ chol
        return out


#: Ranges of at most this many rows of normals are cached (:meth:`_Normals.rows`).
CACHED_NORMAL_ROWS = 10_000


@functools.lru_cache(maxsize=4)
def _cached_rows(pearson: bytes, k: int, entropy: int, i0: int, i1: int) -> FloatArray:
    """:meth:`_Normals.rows` of a small range, drawn once per correlation matrix, seed and range
    (read-only: a caller cannot change what the next one gets)."""
    matrix = np.frombuffer(pearson, dtype=np.float64).reshape(k, k)
    out = _Normals(matrix, entropy)._draw(i0, i1)
    out.flags.writeable = False
    return out


def _transform(
    scenario: Scenario, dists: dict[str, Distribution], z: FloatArray
) -> tuple[dict[str, FloatArray], int]:
    """Input values for rows of correlated normals, and how many rows had their shares scaled.

    Row by row (no statistic over rows), so any split of the rows into chunks gives the same
    values: the result does not depend on the number of processes.
    """
    u = special.ndtr(z)
    cols: dict[str, FloatArray] = {}
    for j, f in enumerate(dists):
        x = dists[f].ppf(np.ascontiguousarray(u[:, j]))
        cols[f] = np.round(x) if f in INTEGER_FIELDS else x
    over_count = 0
    uncertain_shares = [f for f in SHARE_FIELDS if f in cols]
    if uncertain_shares:
        m = z.shape[0]
        lease = cols.get("lease_share", np.full(m, scenario.lease_share))
        hosting = cols.get("hosting_share", np.full(m, scenario.hosting_share))
        total = lease + hosting
        over = total > 1.0
        over_count = int(over.sum())
        if over_count:
            if len(uncertain_shares) == 2:
                cols["lease_share"] = np.where(over, lease / total, lease)
                cols["hosting_share"] = np.where(over, hosting / total, hosting)
            else:
                f = uncertain_shares[0]
                fixed = hosting if f == "lease_share" else lease
                cols[f] = np.where(over, 1.0 - fixed, cols[f])
    return cols, over_count


def _notes(dists: dict[str, Distribution], n: int, over_count: int) -> list[str]:
    notes = [
        f"{FIELD_SPECS[f].label} is a whole number: draws rounded to the nearest whole number"
        for f in dists
        if f in INTEGER_FIELDS
    ]
    notes += [
        f"{FIELD_SPECS[f].label} is set to 0 and its range follows the scenario by scale: every "
        "draw is 0 (follow = 'shift' keeps a spread around 0)"
        for f, d in dists.items()
        if d.low == d.high == 0.0  # only scaling by 0 gives this (a range needs low < high)
    ]
    truncated = [f for f, d in dists.items() if d.truncated()]
    if truncated:
        notes.append(
            "Draws truncated to the inputs' allowed ranges (not clipped): "
            + "; ".join(f"{FIELD_SPECS[f].label} {FIELD_SPECS[f].range_text()}" for f in truncated)
        )
    if over_count:
        shares = [f for f in SHARE_FIELDS if f in dists]
        how = (
            "both scaled down in proportion to sum to 1"
            if len(shares) == 2
            else f"{FIELD_SPECS[shares[0]].label} clipped to 1 - the other share"
        )
        notes.append(
            f"{over_count:,} of {n:,} draws ({over_count / n:.1%}) had "
            f"lease_share + hosting_share > 1: {how}"
        )
    return notes
