"""salesmix estimator: finite mixtures of store-level price regressions, fitted by EM.

The assignment's functions are importable from here::

    from estimator import LogL, EStep, MStep, EM, Estimate

and so is a scikit-learn-style estimator::

    from estimator import SalesMixture, select_k
"""

from .blrt import BLRTResult, BLRTStep, bootstrap_lrt
from .csvio import as_panel, detect_format, load_csv, load_long_csv, load_panel
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
from .longpanel import ExcludedStoresWarning, LongPanel
from .model import MixtureSummary, NotFittedError, SalesMixture, select_k
from .panel import (
    Panel,
    SufficientStats,
    design_matrix,
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
    "ExcludedStoresWarning",
    "LogL",
    "LongPanel",
    "MStep",
    "MixtureFit",
    "MixtureSummary",
    "ModelSelection",
    "NotFittedError",
    "Panel",
    "bootstrap_lrt",
    "SalesMixture",
    "SufficientStats",
    "as_panel",
    "design_matrix",
    "distinct_maxima",
    "detect_format",
    "fit_k_range",
    "fit_mixture",
    "load_csv",
    "load_long_csv",
    "load_panel",
    "panel_from_arrays",
    "select_k",
    "sufficient_stats",
]
