"""salesmix estimator: finite mixtures of store-level price regressions, fitted by EM.

The assignment's functions are importable from here::

    from estimator import LogL, EStep, MStep, EM, Estimate
"""

from .blrt import BLRTResult, BLRTStep, bootstrap_lrt
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
)
from .engine import SIGMA_MODES
from .init import INIT_METHODS
from .longpanel import LongPanel, load_long_csv, load_panel
from .panel import (
    Panel,
    SufficientStats,
    design_matrix,
    load_csv,
    panel_from_arrays,
    sufficient_stats,
)
from .results import ConvergenceWarning, MixtureFit
from .selection import CRITERIA, ModelSelection, fit_k_range

__all__ = [
    "BLRTResult",
    "BLRTStep",
    "CRITERIA",
    "DEFAULT_INIT",
    "INIT_METHODS",
    "SIGMA_MODES",
    "DEFAULT_MAX_ITER",
    "DEFAULT_N_INIT",
    "DEFAULT_TOL",
    "EM",
    "ConvergenceWarning",
    "EStep",
    "Estimate",
    "LogL",
    "LongPanel",
    "MStep",
    "MixtureFit",
    "ModelSelection",
    "Panel",
    "bootstrap_lrt",
    "SufficientStats",
    "design_matrix",
    "distinct_maxima",
    "fit_k_range",
    "fit_mixture",
    "load_csv",
    "load_long_csv",
    "load_panel",
    "panel_from_arrays",
    "sufficient_stats",
]
