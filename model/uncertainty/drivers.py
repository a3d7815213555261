"""The Monte Carlo's driver ranking: first-order variance shares by RBD-FAST with the Spearman rank
correlation for the direction, on the first draws (methodology §9, Drivers).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

from model.fields import FIELD_SPECS
from model.uncertainty.common import DEFAULT_SEED
from model.uncertainty.distributions import Distribution

FloatArray = NDArray[np.float64]


#: Draws the driver ranking uses (the first ones; draws are independent, so they are a random
#: subsample): keeps the ranking fast on large runs.
RANKING_DRAWS = 20_000
#: Bootstrap resamples of SALib's RBD-FAST confidence interval (few: a rough +- that says
#: which shares are indistinguishable, at a tenth of the cost of SALib's default 100).
RANKING_RESAMPLES = 10


#: Harmonics of RBD-FAST (SALib's default).
RBD_HARMONICS = 10


def _rbd_first_order(x: FloatArray, y: FloatArray, harmonics: int) -> float:
    """RBD-FAST first-order index of one input: the outputs reordered along it (up then down,
    Plischke 2010), the share of their spectrum's variance in the first ``harmonics`` bins."""
    order = np.argsort(x)
    order = np.concatenate([order[::2], order[1::2][::-1]])
    yp = y[order]
    # the one-sided periodogram (a boxcar window, the mean removed): bins 1.. count twice except
    # the Nyquist bin of an even length; its scale cancels in the ratio
    power = np.abs(np.fft.rfft(yp - yp.mean())) ** 2
    if yp.size % 2 == 0:
        power[1:-1] *= 2.0
    else:
        power[1:] *= 2.0
    total = float(np.sum(power[1:]))
    # outputs that do not vary: no share to explain (NaN, without a 0 / 0 warning)
    return float(np.sum(power[1 : harmonics + 1]) / total) if total > 0.0 else math.nan


def _unskew(s1: float, harmonics: int, n: int) -> float:
    """Tissot and Prieur (2012) bias correction of an RBD-FAST index from ``n`` draws."""
    lamb = 2 * harmonics / n
    return s1 - lamb / (1 - lamb) * (1 - s1)


def rbd_fast(
    x: FloatArray, y: FloatArray, harmonics: int, resamples: int, seed: int, conf: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """First-order indices (S1) of each column of ``x`` on ``y`` by RBD-FAST, and the half-width
    of their ``conf`` interval from ``resamples`` bootstrap halves.

    The same numbers as ``SALib.analyze.rbd_fast.analyze`` (Tarantola et al. 2006; Plischke 2010;
    Tissot and Prieur 2012) with the same seed, from numpy's FFT instead of
    ``scipy.signal.periodogram`` (whose set-up per call cost more than the transform).
    """
    rng = np.random.default_rng(seed)
    n, k = x.shape
    half = int(n * 0.5)
    s1 = np.empty(k)
    width = np.empty(k)
    for i in range(k):
        s1[i] = _unskew(_rbd_first_order(x[:, i], y, harmonics), harmonics, n)
        boot = np.empty(resamples)
        for j in range(resamples):
            pick = rng.choice(n, replace=True, size=half)
            boot[j] = _unskew(_rbd_first_order(x[pick, i], y[pick], harmonics), harmonics, half)
        width[i] = stats.norm.ppf(0.5 + conf / 2.0) * boot.std(ddof=1)
    return s1, width


def _ranking(
    draws: pd.DataFrame, fields: list[str], metric: str, seed: int | None = DEFAULT_SEED
) -> pd.DataFrame:
    y_all = draws[metric].to_numpy(dtype=np.float64)
    ok = np.flatnonzero(np.isfinite(y_all))[:RANKING_DRAWS]
    y = y_all[ok]
    x = draws[fields].to_numpy(dtype=np.float64)[ok]
    k = len(fields)
    rho = np.full(k, np.nan)
    pval = np.full(k, np.nan)
    s1 = np.full(k, np.nan)
    s1_conf = np.full(k, np.nan)
    varies = np.ptp(x, axis=0) > 0 if x.shape[0] else np.zeros(k, dtype=bool)
    # RBD-FAST needs a few draws per harmonic: 2 M / N below 1 (its bias correction)
    if y.size > 4 * RBD_HARMONICS and np.ptp(y) > 0 and varies.any():
        cols = np.column_stack([x[:, varies], y])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = stats.spearmanr(cols)  # one call: ranks each column once
        r = np.asarray(res.statistic, dtype=np.float64)
        p = np.asarray(res.pvalue, dtype=np.float64)
        if r.ndim == 0:  # two columns: spearmanr returns scalars
            rho[varies], pval[varies] = float(r), float(p)
        else:
            rho[varies] = r[:-1, -1]
            pval[varies] = p[:-1, -1]
        idx = np.flatnonzero(varies)
        s1[idx], s1_conf[idx] = rbd_fast(
            np.ascontiguousarray(x[:, idx]),
            y,
            RBD_HARMONICS,
            RANKING_RESAMPLES,
            DEFAULT_SEED if seed is None else int(seed),
        )
    out = pd.DataFrame(
        {
            "field": fields,
            "label": [FIELD_SPECS[f].label for f in fields],
            "s1": s1,
            "s1_conf": s1_conf,
            "spearman_rho": rho,
            "p_value": pval,
        }
    )
    r2 = np.nan_to_num(rho) ** 2
    out["share_of_rho2"] = r2 / r2.sum() if r2.sum() > 0 else np.nan
    order = np.lexsort((-np.nan_to_num(np.abs(rho), nan=-1.0), -np.nan_to_num(s1, nan=-np.inf)))
    out = out.iloc[order].reset_index(drop=True)
    out.attrs["metric"] = metric
    return out


def _npv_drivers(
    draws: pd.DataFrame, dists: dict[str, Distribution], seed: int | None
) -> pd.DataFrame:
    """The result's driver ranking: of NPV, over the uncertain inputs (:func:`_ranking`)."""
    return _ranking(draws, list(dists), "npv_busd", seed)


def _early_drivers(
    columns: FloatArray, names: list[str], dists: dict[str, Distribution], seed: int | None
) -> pd.DataFrame | None:
    """:func:`_npv_drivers` from the first rows of the draws (``columns``: every column, those
    rows), or None where they hold fewer than :data:`RANKING_DRAWS` defined NPVs (the ranking
    would read later rows too)."""
    npv = columns[names.index("npv_busd")]
    if int(np.count_nonzero(np.isfinite(npv))) < RANKING_DRAWS:
        return None
    return _npv_drivers(_draws_frame(columns, names), dists, seed)


def _draws_frame(columns: FloatArray, names: list[str]) -> pd.DataFrame:
    """The draws as a frame over ``columns`` (one row per column), without a copy."""
    return pd.DataFrame(columns.T, columns=names, copy=False)
