"""Monte Carlo machinery for salesmix: generate, fit, record, summarise.

A study of your own: :func:`run_simulation` (docs/own_study.md), with the
metrics below for its ``summarise``; tables and figures of its summaries:
:mod:`simstudy.writeup.generic`.
"""

from estimator import match_segments

from .harness.measures import (
    adjusted_rand_index,
    bias,
    interval_coverage,
    mcse_mean,
    misclassification_rate,
    parameter_recovery,
    rmse,
    selection_rates,
    wilson_interval,
)
from .harness.runner import StudyFailedError
from .harness.simulation import default_summary, run_simulation

__all__ = [
    "StudyFailedError",
    "adjusted_rand_index",
    "bias",
    "default_summary",
    "interval_coverage",
    "match_segments",
    "mcse_mean",
    "misclassification_rate",
    "parameter_recovery",
    "rmse",
    "run_simulation",
    "selection_rates",
    "wilson_interval",
]
