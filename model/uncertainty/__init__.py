"""Monte Carlo simulation with correlated inputs (Gaussian copula), vectorised via evaluate_batch.

Each uncertain input gets a distribution; rank (Spearman) correlations between inputs are imposed
through a Gaussian copula; every draw is one full scenario, evaluated once, so all metrics of a
draw come from the same inputs. Results: the draws, a summary per metric (the point estimate of
the scenario as set beside the mean, P10, P50, P90 and the probability of a value below zero),
an explanation of the gap between the point estimate and the median, and a ranking of the inputs
that drive the spread (first-order variance shares from SALib's RBD-FAST on the draws, with the
Spearman rank correlation for the direction). Methodology §9 (Monte Carlo).

Distributions (``low``/``high``/``mode`` in the field's own unit)
-----------------------------------------------------------------
``uniform``     flat between ``low`` and ``high``.
``triangular``  minimum ``low``, most likely ``mode``, maximum ``high``.
``pert``        Beta-PERT: ``low``, ``mode``, ``high`` with the classic weight 4 on the mode
                (``alpha = 1 + 4 (mode - low) / (high - low)``, ``beta = 1 + 4 (high - mode) / (high - low)``).
``normal``      ``low`` and ``high`` are the 5th and 95th percentiles.
``lognormal``   ``low`` and ``high`` (> 0) are the 5th and 95th percentiles.

Following the scenario (``follow``)
-----------------------------------
``low``/``mode``/``high`` are stated around a ``reference`` value (default: the field's sourced
default in ``data/assumptions.csv``). With ``follow = "scale"`` (positive levels: prices, costs,
lives) the run multiplies them by ``value as set / reference``; with ``follow = "shift"`` (rates
and shares) it adds ``value as set - reference``; with ``follow = "absolute"`` (the default for a
mapping without ``follow``) it uses them as given. So a sourced range keeps its relative spread
and skew wherever the scenario puts the input. ``monte_carlo(..., follow_scenario=False)`` treats
every distribution as absolute. Scaling needs a value as set >= 0: below 0 it would flip low and
high and squeeze the range, so the run refuses it with a message naming the field and suggesting
"shift" (or absolute ranges for a lognormal); at 0 every draw is 0, and the notes say so.

Every draw lies within the field's bounds: a distribution that reaches past them is **truncated**
(the copula's uniform is rescaled into the bounds' quantile range; no point mass piles up at a
bound, and ranks, hence correlations, are kept). Whole-number fields are rounded to the nearest
whole number. Where a draw would make ``lease_share + hosting_share > 1`` the uncertain share(s)
are scaled down to sum to 1 and the number of such draws is reported in ``notes``.

The package is split by job: :mod:`~model.uncertainty.distributions` (the input distributions,
the copula's matrix, the sourced defaults), :mod:`~model.uncertainty.sampling` (correlated draws
inside the bounds), :mod:`~model.uncertainty.statistics` (percentiles, the summary, the gap
explanation), :mod:`~model.uncertainty.drivers` (the ranking), :mod:`~model.uncertainty.run`
(:func:`monte_carlo` and its workers) and :mod:`~model.uncertainty.common` (the error, limits
and formats they share). Every public name is importable from ``model.uncertainty`` as before.
"""

from __future__ import annotations

from model.uncertainty.common import (
    DEFAULT_DRAWS as DEFAULT_DRAWS,
)
from model.uncertainty.common import (
    DEFAULT_SEED as DEFAULT_SEED,
)
from model.uncertainty.common import (
    MAX_DRAWS as MAX_DRAWS,
)
from model.uncertainty.common import (
    PERCENTILES as PERCENTILES,
)
from model.uncertainty.common import (
    SESSION_MAX_DRAWS as SESSION_MAX_DRAWS,
)
from model.uncertainty.common import (
    SUMMARY_METRICS as SUMMARY_METRICS,
)
from model.uncertainty.common import (
    MonteCarloError as MonteCarloError,
)
from model.uncertainty.common import (
    format_field as format_field,
)
from model.uncertainty.common import (
    format_metric as format_metric,
)
from model.uncertainty.common import (
    is_percent_field as is_percent_field,
)
from model.uncertainty.common import (
    metric_label as metric_label,
)
from model.uncertainty.distributions import (
    DISTRIBUTIONS_FILE as DISTRIBUTIONS_FILE,
)
from model.uncertainty.distributions import (
    FOLLOW as FOLLOW,
)
from model.uncertainty.distributions import (
    KINDS as KINDS,
)
from model.uncertainty.distributions import (
    PERT_TABLE_POINTS as PERT_TABLE_POINTS,
)
from model.uncertainty.distributions import (
    TRUNCATION_NOTE_MASS as TRUNCATION_NOTE_MASS,
)
from model.uncertainty.distributions import (
    Z95 as Z95,
)
from model.uncertainty.distributions import (
    DefaultDistributions as DefaultDistributions,
)
from model.uncertainty.distributions import (
    Distribution as Distribution,
)
from model.uncertainty.distributions import (
    copula_matrix as copula_matrix,
)
from model.uncertainty.distributions import (
    default_distributions as default_distributions,
)
from model.uncertainty.distributions import (
    default_follow as default_follow,
)
from model.uncertainty.distributions import (
    default_spec as default_spec,
)
from model.uncertainty.distributions import (
    parse_distribution as parse_distribution,
)
from model.uncertainty.drivers import (
    RANKING_DRAWS as RANKING_DRAWS,
)
from model.uncertainty.drivers import (
    RANKING_RESAMPLES as RANKING_RESAMPLES,
)
from model.uncertainty.drivers import (
    RBD_HARMONICS as RBD_HARMONICS,
)
from model.uncertainty.drivers import (
    rbd_fast as rbd_fast,
)
from model.uncertainty.run import (
    EVAL_CHUNK as EVAL_CHUNK,
)
from model.uncertainty.run import (
    FILL_ROWS as FILL_ROWS,
)
from model.uncertainty.run import (
    STATS_COLUMNS_PER_TASK as STATS_COLUMNS_PER_TASK,
)
from model.uncertainty.run import (
    MonteCarloResult as MonteCarloResult,
)
from model.uncertainty.run import (
    available_cores as available_cores,
)
from model.uncertainty.run import (
    check_workers as check_workers,
)
from model.uncertainty.run import (
    monte_carlo as monte_carlo,
)
from model.uncertainty.sampling import (
    NORMAL_BLOCK as NORMAL_BLOCK,
)
from model.uncertainty.sampling import (
    _check_scale_base as _check_scale_base,
)
from model.uncertainty.sampling import (
    check_session_draws as check_session_draws,
)
from model.uncertainty.sampling import (
    sample_inputs as sample_inputs,
)
from model.uncertainty.statistics import (
    SELECT_MIN_VALUES as SELECT_MIN_VALUES,
)
from model.uncertainty.statistics import (
    GapExplanation as GapExplanation,
)
from model.uncertainty.statistics import (
    _explain_gap as _explain_gap,
)
from model.uncertainty.statistics import (
    _gap_table as _gap_table,
)
from model.uncertainty.statistics import (
    column_stats as column_stats,
)
from model.uncertainty.statistics import (
    percentiles_linear as percentiles_linear,
)
from model.uncertainty.statistics import (
    summarise as summarise,
)

__all__ = [
    "DEFAULT_DRAWS",
    "DEFAULT_SEED",
    "FOLLOW",
    "KINDS",
    "SESSION_MAX_DRAWS",
    "DefaultDistributions",
    "Distribution",
    "GapExplanation",
    "MonteCarloError",
    "MonteCarloResult",
    "available_cores",
    "check_session_draws",
    "check_workers",
    "copula_matrix",
    "default_distributions",
    "default_spec",
    "format_field",
    "format_metric",
    "monte_carlo",
    "parse_distribution",
    "rbd_fast",
    "summarise",
]
