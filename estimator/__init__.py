"""salesmix estimator: finite mixtures of store-level price regressions, fitted by EM.

This module is the complete public API: simstudy/ and experiments/ import only
names listed here; every other module of the package is private.
The assignment's functions are importable from here::

    from estimator import LogL, EStep, MStep, EM, Estimate

and so is a scikit-learn-style estimator::

    from estimator import SalesMixture, select_k
"""

from .blrt import BLRTResult, BLRTStep, bootstrap_lrt, check_blrt_settings
from .csvio import as_panel, detect_format, load_csv, load_long_csv, load_panel
from .driver import segment_distances, simulate_outcomes
from .em import (
    DEFAULT_INIT,
    DEFAULT_MAX_ITER,
    DEFAULT_N_INIT,
    DEFAULT_TOL,
    EM,
    EStep,
    Estimate,
    LogL,
    MStep,
    distinct_maxima,
    fit_mixture,
    refit,
)
from .inference import (
    Inference,
    InferenceWarning,
    bootstrap_se,
    naive_se,
    observed_information_se,
)
from .init import INIT_METHODS, SeedLike, as_generator, seed_sequence, starting_values
from .longpanel import ExcludedStoresWarning, LongPanel, long_from_arrays
from .model import MixtureSummary, NotFittedError, SalesMixture, select_k
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
from .provenance import jsonable
from .results import ConvergenceWarning, MixtureFit
from .selection import CRITERIA, ModelSelection, fit_k_range

__all__ = [
    "CRITERIA",
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
    "load_long_csv",
    "load_panel",
    "long_from_arrays",
    "match_segments",
    "n_free_params",
    "naive_se",
    "observed_information_se",
    "panel_from_arrays",
    "refit",
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
    "MixtureSummary",
    "ModelSelection",
    "NotFittedError",
    "Panel",
    "SalesMixture",
    "SeedLike",
    "SufficientStats",
]
