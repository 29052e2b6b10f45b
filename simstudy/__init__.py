"""Monte Carlo studies of the sales mixture, and their write-up, in parts that say what they are.

* :mod:`simstudy.harness`: model-agnostic (it imports nothing of the estimator), as
  SimDesign's runSimulation: :func:`run_simulation` takes a design and the three
  functions of a study and owns seeds, parallel workers, checkpoints, resume, errors
  and progress; the performance measures with their Monte Carlo SEs for ``summarise``;
* :mod:`simstudy.studies`: the studies of this model (configs and truths, synthetic
  panels, recovery and selection, baselines, BLRT, hard cases, calibration);
* :mod:`simstudy.writeup`: every table and figure, built once, the report and the
  generated blocks of README.md and docs/;
* :mod:`simstudy.bench`: the benchmark;
* :mod:`simstudy.cli`: the command lines of ``experiments/``.

A study of your own: :func:`run_simulation` (docs/own_study.md), with the measures
below for its ``summarise``; tables and figures of its summaries:
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
    standard_error_measures,
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
    "standard_error_measures",
    "wilson_interval",
]
