"""Information criteria, fits over a range of K, and the choice of K.

With k free parameters, log-likelihood l, N stores and n = sum_i T_i store-weeks:

=========  =================================  ==================================
criterion  formula                            note
=========  =================================  ==================================
bic        k log(n) - 2 l                     the assignment's BIC; chooses K
bic_n      k log(N) - 2 l                     stores as the sampling unit
aic        2 k - 2 l
aic3       3 k - 2 l
caic       k (log(n) + 1) - 2 l               consistent AIC, with n = N*T
icl        bic + 2 EN                         EN = -sum_ic w_ic log w_ic
sabic      k log((n + 2) / 24) - 2 l          sample-size-adjusted BIC (Sclove 1987)
sabic_n    k log((N + 2) / 24) - 2 l          the same with stores as the unit
=========  =================================  ==================================

The bootstrap likelihood-ratio test, the one choice of K that is a test rather
than a criterion, is in :mod:`estimator.blrt`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .fit import fit_mixture
from .init import seed_sequence
from .logs import get_logger
from .options import FitOptions, fit_options
from .panel import SufficientStats, as_stats
from .results import MixtureFit
from .validation import check_k_range

LOG = get_logger(__name__)
CRITERIA: tuple[str, ...] = ("bic", "bic_n", "aic", "aic3", "caic", "icl", "sabic", "sabic_n")
SELECTING_CRITERION = "bic"
DEFAULT_K_RANGE: tuple[int, ...] = (1, 2, 3, 4)


def classification_entropy(posteriors: np.ndarray) -> float:
    """EN = -sum_i sum_c w_ic log w_ic (0 log 0 = 0).

    Parameters
    ----------
    posteriors : ndarray of shape (N, K)
    """
    W = np.asarray(posteriors, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(W > 0, W * np.log(W), 0.0)
    return float(-terms.sum())


def information_criteria(
    loglik: float, n_params: int, n_obs: float, n_stores: int, entropy: float
) -> dict[str, float]:
    """All criteria of the module table (lower is better).

    Parameters
    ----------
    loglik : float
    n_params : int
        Free parameters k.
    n_obs : float
        Store-weeks n = N*T (the assignment's BIC sample size).
    n_stores : int
        N.
    entropy : float
        Classification entropy of the posteriors (for ICL).
    """
    deviance = -2.0 * loglik
    bic = n_params * np.log(n_obs) + deviance
    return {
        "bic": float(bic),
        "bic_n": float(n_params * np.log(n_stores) + deviance),
        "aic": float(2.0 * n_params + deviance),
        "aic3": float(3.0 * n_params + deviance),
        "caic": float(n_params * (np.log(n_obs) + 1.0) + deviance),
        "icl": float(bic + 2.0 * entropy),
        "sabic": float(n_params * np.log((n_obs + 2.0) / 24.0) + deviance),
        "sabic_n": float(n_params * np.log((n_stores + 2.0) / 24.0) + deviance),
    }


def fit_criteria(fit: MixtureFit, stats: SufficientStats) -> dict[str, float]:
    """Information criteria of one fit on the data it was fitted to."""
    return information_criteria(
        fit.loglik,
        fit.n_params,
        stats.n_total,
        stats.n_stores,
        classification_entropy(fit.posteriors),
    )


@dataclass(frozen=True, eq=False)
class ModelSelection:
    """Fits over a range of K and their criteria.

    Attributes
    ----------
    fits : dict of int to MixtureFit
    criteria : dict of int to dict of str to float
    """

    fits: dict[int, MixtureFit]
    criteria: dict[int, dict[str, float]]

    @property
    def k_range(self) -> tuple[int, ...]:
        """The K values fitted, ascending."""
        return tuple(sorted(self.fits))

    def chosen(self, criterion: str = SELECTING_CRITERION) -> int:
        """K with the lowest value of ``criterion`` among non-degenerate fits."""
        if criterion not in CRITERIA:
            raise ValueError(f"criterion must be one of {CRITERIA}, got {criterion!r}")
        # a K whose every start lost a segment, or whose every maximum the guard set
        # aside, is not a candidate
        eligible = [
            k for k in self.k_range if not (self.fits[k].degenerate or self.fits[k].guard_exhausted)
        ] or list(self.k_range)
        return min(eligible, key=lambda k: self.criteria[k][criterion])

    @property
    def chosen_k(self) -> int:
        """K chosen by the assignment's BIC."""
        return self.chosen(SELECTING_CRITERION)

    def chosen_by(self) -> dict[str, int]:
        """K chosen by every criterion."""
        return {name: self.chosen(name) for name in CRITERIA}

    def table(self) -> list[dict[str, Any]]:
        """One row per K: K, loglik, n_params, every criterion, converged, restarts at best."""
        rows = []
        for k in self.k_range:
            fit = self.fits[k]
            rows.append(
                {
                    "K": k,
                    "loglik": fit.loglik,
                    "n_params": fit.n_params,
                    **self.criteria[k],
                    "converged": fit.converged,
                    "at_best": f"{fit.n_at_best}/{fit.n_init}",
                }
            )
        return rows


def fit_k_range(
    stats: SufficientStats,
    k_range: Iterable[int] = DEFAULT_K_RANGE,
    options: FitOptions | None = None,
    *,
    coef_names: tuple[str, ...] | None = None,
    covariates: np.ndarray | None = None,
    covariate_names: tuple[str, ...] | None = None,
    **overrides: Any,
) -> ModelSelection:
    """Fit every K in ``k_range`` and compute the criteria.

    Each K draws its starts from its own child stream of the options' seed
    (:func:`estimator.init.seed_sequence`), so the fit for one K does not depend
    on which other K are in the range. The whole range is checked before any fit.

    Parameters
    ----------
    stats : SufficientStats
    k_range : iterable of int
        Whole numbers from 1 to N (the number of units).
    options : FitOptions, optional
        The settings of every fit (:func:`estimator.fit.fit_mixture`).
    coef_names : tuple of str, optional
    covariates : ndarray of shape (N, Q), optional
        Unit covariates of a concomitant (multinomial-logit) prior.
    covariate_names : tuple of str, optional
    **overrides
        Any :class:`~estimator.options.FitOptions` field.

    Returns
    -------
    ModelSelection
    """
    options = fit_options(options, **overrides)
    stats = as_stats(stats, "stats")
    ks = check_k_range(k_range, stats.n_stores)  # the whole range, before any fit
    root = seed_sequence(options.seed)
    fits = {
        k: fit_mixture(
            stats,
            k,
            options.replace(seed=seed_sequence(root, k)),
            coef_names=coef_names,
            covariates=covariates,
            covariate_names=covariate_names,
        )
        for k in ks
    }
    criteria = {k: fit_criteria(fit, stats) for k, fit in fits.items()}
    for k, fit in fits.items():
        LOG.info("K = %d: log L %.3f, BIC %.3f, %d/%d starts at best", k, fit.loglik,
                 criteria[k]["bic"], fit.n_at_best, fit.n_init)  # fmt: skip
    return ModelSelection(fits=fits, criteria=criteria)
