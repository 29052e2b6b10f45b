"""salesmix estimator: finite mixtures of store-level price regressions, fitted by EM.

This module is the complete public API: simstudy/ and experiments/ import only
names listed here; every other module of the package is private.
The assignment's functions are importable from here::

    from estimator import LogL, EStep, MStep, EM, Estimate

and so is a scikit-learn-style estimator::

    from estimator import SalesMixture, select_k

The sales path (reading a wide CSV, fitting, the standard errors) needs numpy and scipy
only; the names that work on DataFrames and formulas (pandas, formulaic) are imported
on first use, so ``import estimator`` does not import pandas (the bootstraps import joblib).
"""

import importlib
from typing import TYPE_CHECKING

from .assignment import EM, EStep, Estimate, LogL, MStep
from .blrt import BLRTResult, BLRTStep, bootstrap_lrt, check_blrt_settings
from .csvio import as_panel, detect_format, load_csv, load_long_csv, load_panel
from .driver import SIGMA_FLOOR_REL, segment_distances, simulate_outcomes
from .engine import loglik_at
from .fit import distinct_maxima, fit_mixture, refit
from .guard import SetAside
from .inference import (
    Inference,
    InferenceWarning,
    bootstrap_se,
    naive_se,
    observed_information_se,
)
from .init import INIT_METHODS, SeedLike, as_generator, seed_sequence, starting_values
from .longpanel import ExcludedStoresWarning, LongPanel, long_from_arrays
from .options import (
    DEFAULT_GUARD,
    DEFAULT_INIT,
    DEFAULT_MAX_ITER,
    DEFAULT_N_INIT,
    DEFAULT_TOL,
    GUARDS,
    FitOptions,
)
from .panel import (
    PRICE_COLUMN,
    Panel,
    SufficientStats,
    concat_stats,
    design_matrix,
    panel_from_arrays,
    sufficient_stats,
)
from .params import (
    DEFAULT_COEF_NAMES,
    MIN_SEGMENT_WEIGHT,
    SIGMA_MODES,
    canonical_order,
    check_theta_pi,
    default_coef_names,
    match_segments,
    n_free_params,
)
from .plausibility import PlausibilityWarning
from .provenance import jsonable
from .results import ConvergenceWarning, MixtureFit
from .selection import CRITERIA, ModelSelection, fit_k_range

if TYPE_CHECKING:  # for type checkers and editors; at run time see _ON_FIRST_USE
    from .formula import RegressionData, regression_data, unit_covariates
    from .model import SalesMixture, select_k
    from .regression import MixtureRegression
    from .summary import MixtureSummary

__all__ = [
    "CRITERIA",
    "DEFAULT_GUARD",
    "GUARDS",
    "SIGMA_FLOOR_REL",
    "FitOptions",
    "SetAside",
    "DEFAULT_COEF_NAMES",
    "DEFAULT_INIT",
    "DEFAULT_MAX_ITER",
    "DEFAULT_N_INIT",
    "DEFAULT_TOL",
    "EM",
    "INIT_METHODS",
    "MIN_SEGMENT_WEIGHT",
    "PRICE_COLUMN",
    "SIGMA_MODES",
    "as_generator",
    "as_panel",
    "bootstrap_lrt",
    "bootstrap_se",
    "check_blrt_settings",
    "canonical_order",
    "check_theta_pi",
    "concat_stats",
    "default_coef_names",
    "design_matrix",
    "detect_format",
    "distinct_maxima",
    "fit_k_range",
    "fit_mixture",
    "jsonable",
    "load_csv",
    "loglik_at",
    "load_long_csv",
    "load_panel",
    "long_from_arrays",
    "match_segments",
    "n_free_params",
    "naive_se",
    "observed_information_se",
    "panel_from_arrays",
    "refit",
    "regression_data",
    "unit_covariates",
    "RegressionData",
    "seed_sequence",
    "segment_distances",
    "simulate_outcomes",
    "select_k",
    "starting_values",
    "sufficient_stats",
    "BLRTResult",
    "BLRTStep",
    "ConvergenceWarning",
    "EStep",
    "Estimate",
    "ExcludedStoresWarning",
    "Inference",
    "InferenceWarning",
    "LogL",
    "LongPanel",
    "MStep",
    "MixtureFit",
    "MixtureRegression",
    "MixtureSummary",
    "ModelSelection",
    "NotFittedError",
    "PlausibilityWarning",
    "Panel",
    "SalesMixture",
    "SeedLike",
    "SufficientStats",
]


_ON_FIRST_USE = {
    "MixtureRegression": "regression",
    "MixtureSummary": "summary",
    "RegressionData": "formula",
    "SalesMixture": "model",
    "regression_data": "formula",
    "select_k": "model",
    "unit_covariates": "formula",
}
"""Public names whose modules import pandas: imported when first asked for."""


def __getattr__(name: str) -> object:
    if name == "NotFittedError":  # subclasses scikit-learn's, imported on first use
        return importlib.import_module(".estimator_base", __name__).not_fitted_error()
    if name in _ON_FIRST_USE:
        value = getattr(importlib.import_module(f".{_ON_FIRST_USE[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
