"""salesmix estimator: finite mixtures of store-level price regressions, fitted by EM.

This module is the complete public API: simstudy/ and experiments/ import only
names listed here (and the shared file utilities :mod:`estimator.atomic` and
:mod:`estimator.provenance`); every other module of the package is private.
The assignment's functions are importable from here::

    from estimator import LogL, EStep, MStep, EM, Estimate
"""

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
    fit_mixture,
)
from .inference import (
    Inference,
    InferenceWarning,
    bootstrap_se,
    naive_se,
    observed_information_se,
)
from .init import SeedLike, as_generator, seed_sequence, starting_values
from .longpanel import (
    ExcludedStoresWarning,
    LongPanel,
    detect_format,
    load_long_csv,
    load_panel,
    long_from_arrays,
)
from .panel import (
    PRICE_COLUMN,
    Panel,
    SufficientStats,
    concat_stats,
    design_matrix,
    load_csv,
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
    "MIN_SEGMENT_WEIGHT",
    "PRICE_COLUMN",
    "SIGMA_MODES",
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
    "ModelSelection",
    "Panel",
    "SeedLike",
    "SufficientStats",
    "as_generator",
    "bootstrap_se",
    "canonical_order",
    "check_theta_pi",
    "concat_stats",
    "default_coef_names",
    "design_matrix",
    "detect_format",
    "fit_k_range",
    "fit_mixture",
    "load_csv",
    "load_long_csv",
    "load_panel",
    "long_from_arrays",
    "match_segments",
    "n_free_params",
    "naive_se",
    "observed_information_se",
    "panel_from_arrays",
    "seed_sequence",
    "starting_values",
    "sufficient_stats",
]
