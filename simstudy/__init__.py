"""Monte Carlo studies of the sales mixture, and their write-up, in parts that say what they are.

:mod:`simstudy.harness` (model-agnostic, as SimDesign's runSimulation), :mod:`simstudy.studies`
(the studies of this model), :mod:`simstudy.writeup` (every table and figure, the report,
the generated blocks of README.md and docs/), :mod:`simstudy.bench` (the benchmark) and
:mod:`simstudy.cli` (the command lines of ``experiments/``). A study of your own:
:func:`run_simulation` (docs/own_study.md) with the measures below for its ``summarise``.

The study runner (pandas) is imported on first use: the real-data fit runs on numpy and scipy.
"""

import importlib
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:  # for type checkers and editors; at run time see _ON_FIRST_USE
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

_ON_FIRST_USE = {
    "StudyFailedError": ".harness.runner",
    "default_summary": ".harness.simulation",
    "run_simulation": ".harness.simulation",
}
"""Public names whose modules import pandas: imported when first asked for."""


def __getattr__(name: str) -> object:
    if name in _ON_FIRST_USE:
        value = getattr(importlib.import_module(_ON_FIRST_USE[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
