"""The assignment's fronts: raw y (N x T) and X (T x 2), and the flat theta.

:func:`LogL`, :func:`EStep`, :func:`MStep`, :func:`EM` and :func:`Estimate`
take the assignment's raw ``y`` (N x T) and ``X`` (T x 2) and call the same
driver and fit as everything else: there is no second copy of the math. theta
is laid out as the assignment lays it out, (alpha_1, beta_1, ..., alpha_K, beta_K).
"""

from __future__ import annotations

import numpy as np

from .driver import component_driver
from .engine import posteriors
from .fit import fit_mixture
from .init import SeedLike
from .options import DEFAULT_MAX_ITER, DEFAULT_N_INIT, DEFAULT_TOL, MAX_N_INIT
from .panel import SufficientStats, check_y_X, sufficient_stats
from .params import MIN_SEGMENT_WEIGHT
from .results import MixtureFit
from .validation import (
    as_float_array,
    check_count,
    check_flat_theta,
    check_positive,
    check_probabilities,
    check_seed,
    check_weights,
    check_whole_number,
)

__all__ = ["EM", "EStep", "Estimate", "LogL", "MStep"]

MAX_GRAM_CONDITION = 1e12
"""The fronts refuse an X whose X'X is worse conditioned (the estimates would be noise)."""


def _params(theta: np.ndarray, pi: np.ndarray, n_coef: int) -> tuple[np.ndarray, np.ndarray]:
    """Validate a flat theta (alpha_1, beta_1, ..., alpha_K, beta_K) and pi; return (K, P), (K,)."""
    pi = check_probabilities(pi, "pi", (None,))
    return check_flat_theta(theta, "theta", pi.size, n_coef), pi


def _stats(y: np.ndarray, X: np.ndarray) -> SufficientStats:
    """Validated sufficient statistics of raw y (N, T) and X (T, P); overflow is refused."""
    X = as_float_array(X, "X")
    if X.ndim == 2 and X.shape[1] == 0:
        raise ValueError(f"X has no columns, shape {X.shape}: it needs one per regressor")
    y, X = check_y_X(as_float_array(y, "y"), X)
    with np.errstate(all="ignore"):
        stats = sufficient_stats(y, X)
        finite = np.all(np.isfinite(stats.gram))
        condition = np.linalg.cond(stats.gram) if finite else np.inf
    if not condition < MAX_GRAM_CONDITION:
        raise ValueError(
            f"X is too large or too small in magnitude (max |X| = {np.abs(X).max():.3g}): X'X "
            f"overflows or is numerically singular (condition number {condition:.3g})"
        )
    if not (np.all(np.isfinite(stats.ols)) and np.all(np.isfinite(stats.rss))):
        raise ValueError(
            f"y is too large in magnitude (max |y| = {np.abs(y).max():.3g}): its sums of squares "
            "overflow; y is log sales"
        )
    return stats


def _finite(value: np.ndarray, blame: str) -> np.ndarray:
    """``value`` when every entry is finite; else a ValueError blaming the argument ``blame``."""
    if not np.all(np.isfinite(value)):
        raise ValueError(
            f"{blame} is too large in magnitude: the result overflows in floating point "
            f"(it would be NaN or infinite); check the scale of {blame}"
        )
    return value


def LogL(theta: np.ndarray, pi: np.ndarray, y: np.ndarray, X: np.ndarray) -> float:  # noqa: N802
    """Exact mixture log-likelihood sum_i log sum_c pi_c prod_t phi(y_it - x_t' theta_c).

    Parameters
    ----------
    theta : array_like of shape (2K,)
        (alpha_1, beta_1, ..., alpha_K, beta_K). A 2-D array is refused (see
        :func:`estimator.validation.check_flat_theta`).
    pi : array_like of shape (K,)
        Mixing proportions, non-negative, summing to 1.
    y : array_like of shape (N, T)
        Log sales, stores x weeks.
    X : array_like of shape (T, 2)
        Design [1, log p_t].

    Returns
    -------
    float
        Finite.

    Raises
    ------
    TypeError
        Non-numeric arrays (strings, booleans, complex).
    ValueError
        Wrong shapes, NaN or infinite values, pi not a probability vector, or
        values so large that the log-likelihood overflows (naming the argument).
    """
    stats = _stats(y, X)
    theta_k, pi = _params(theta, pi, stats.n_coef)
    return _loglik(stats, theta_k, pi, "theta")


def _loglik(stats: SufficientStats, theta: np.ndarray, pi: np.ndarray, blame: str) -> float:
    """Finite log-likelihood at theta (K, P) and pi (K,); else a ValueError blaming ``blame``."""
    with np.errstate(all="ignore"):
        loglik, _ = posteriors(stats, theta, pi)
    return float(_finite(np.asarray(loglik), blame))


def EStep(theta: np.ndarray, pi: np.ndarray, y: np.ndarray, X: np.ndarray) -> np.ndarray:  # noqa: N802
    """Posterior segment probabilities of every store.

    Parameters
    ----------
    theta : array_like of shape (2K,)
    pi : array_like of shape (K,)
    y : array_like of shape (N, T)
    X : array_like of shape (T, 2)

    Returns
    -------
    W : ndarray of shape (N, K)
        Rows sum to 1; computed in log space.

    Raises
    ------
    TypeError, ValueError
        As :func:`LogL`.
    """
    stats = _stats(y, X)
    theta_k, pi = _params(theta, pi, stats.n_coef)
    with np.errstate(all="ignore"):
        _, W = posteriors(stats, theta_k, pi)
    return _finite(W, "theta")


def MStep(y: np.ndarray, X: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # noqa: N802
    """Per-segment weighted least squares and mixing proportions.

    Parameters
    ----------
    y : array_like of shape (N, T)
    X : array_like of shape (T, 2)
    W : array_like of shape (N, K)
        Posterior weights: non-negative, every row summing to 1.

    Returns
    -------
    theta : ndarray of shape (2K,)
        (alpha_1, beta_1, ..., alpha_K, beta_K).
    pi : ndarray of shape (K,)
        pi_c = mean of W[:, c].

    Raises
    ------
    TypeError, ValueError
        As :func:`LogL`; also W not of shape (N, K), a row of W not summing to 1,
        or a segment with no weight.
    """
    stats = _stats(y, X)
    W = check_weights(W, "W", stats.n_stores, "the stores of y")
    empty = np.flatnonzero(W.sum(axis=0) < MIN_SEGMENT_WEIGHT)
    if empty.size:
        raise ValueError(f"segment(s) {empty.tolist()} have no weight in W: theta is undefined")
    with np.errstate(all="ignore"):
        driver = component_driver(stats)
        theta = driver.m_step(driver.posterior_sums(W.T[None])).theta
    return _finite(theta[0].ravel(), "y"), W.mean(axis=0)


def EM(  # noqa: N802
    K: int,  # noqa: N803
    y: np.ndarray,
    X: np.ndarray,
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER,
    *,
    theta0: np.ndarray | None = None,
    pi0: np.ndarray | None = None,
    seed: SeedLike = None,
) -> tuple[np.ndarray, np.ndarray, float]:
    """EM from one starting point until the relative change in log-likelihood is below tol.

    Parameters
    ----------
    K : int
        Number of segments (a whole number >= 1; bool, float and str are refused).
    y : array_like of shape (N, T)
    X : array_like of shape (T, 2)
    tol : float
        Relative change in log-likelihood at which to stop (> 0).
    max_iter : int
        Maximum number of EM iterations (>= 1).
    theta0 : array_like of shape (2K,), optional
        Starting theta; drawn by k-means++ over the stores' OLS estimates when omitted.
    pi0 : array_like of shape (K,), optional
        Starting mixing proportions (uniform when omitted; only with ``theta0``).
    seed : int >= 0, SeedSequence, Generator or None
        Randomness of the drawn start.

    Returns
    -------
    theta : ndarray of shape (2K,)
    pi : ndarray of shape (K,)
    loglik : float

    Raises
    ------
    TypeError, ValueError
        Naming the argument at fault (see :mod:`estimator.validation`); ``pi0``
        without ``theta0``; a ``theta0`` at which the log-likelihood is not finite.
    """
    K, tol, max_iter, seed = _loop_args(K, tol, max_iter, seed)  # noqa: N806
    stats = _enough_stores(_stats(y, X), K)
    if theta0 is not None:
        pi_start = np.full(K, 1.0 / K) if pi0 is None else pi0
        pi_start = check_probabilities(pi_start, "pi0", (K,))
        theta_k = check_flat_theta(theta0, "theta0", K, stats.n_coef)
        _loglik(stats, theta_k, pi_start, "theta0")  # a start too far out is refused here
        with np.errstate(all="ignore"):
            fit = fit_mixture(
                stats, K, theta0=theta_k[None], pi0=pi_start[None], tol=tol, max_iter=max_iter
            )
    else:
        if pi0 is not None:
            raise ValueError("pi0 is only used with theta0: give both, or neither")
        with np.errstate(all="ignore"):
            fit = fit_mixture(
                stats, K, n_init=1, init="kmeans++", seed=seed, tol=tol, max_iter=max_iter
            )
    return _result(fit)


def Estimate(  # noqa: N802
    K: int,  # noqa: N803
    y: np.ndarray,
    X: np.ndarray,
    n_init: int = DEFAULT_N_INIT,
    *,
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER,
    seed: SeedLike = None,
) -> tuple[np.ndarray, np.ndarray, float]:
    """EM from ``n_init`` starting values; keep the highest log-likelihood.

    Parameters
    ----------
    K : int
        Whole number >= 1.
    y : array_like of shape (N, T)
    X : array_like of shape (T, 2)
    n_init : int
        Number of starting values, >= 1 (k-means++ spreads over the stores' OLS estimates).
    tol, max_iter : float, int
        Stopping rule of each EM run (> 0, >= 1).
    seed : int >= 0, SeedSequence, Generator or None

    Returns
    -------
    theta : ndarray of shape (2K,)
        Segments in canonical order (ascending alpha, then beta).
    pi : ndarray of shape (K,)
    loglik : float

    Raises
    ------
    TypeError, ValueError
        Naming the argument at fault (see :mod:`estimator.validation`).
    """
    K, tol, max_iter, seed = _loop_args(K, tol, max_iter, seed)  # noqa: N806
    n_init = check_whole_number(n_init, "n_init", minimum=1, maximum=MAX_N_INIT)
    stats = _enough_stores(_stats(y, X), K)
    with np.errstate(all="ignore"):
        fit = fit_mixture(stats, K, n_init=n_init, seed=seed, tol=tol, max_iter=max_iter)
    return _result(fit)


def _loop_args(K: object, tol: object, max_iter: object, seed: object) -> tuple:  # noqa: N803
    """Checked (K, tol, max_iter, seed) of :func:`EM` and :func:`Estimate`."""
    return (
        check_count(K, "K"),
        check_positive(tol, "tol"),
        check_count(max_iter, "max_iter"),
        check_seed(seed, "seed"),
    )


def _enough_stores(stats: SufficientStats, K: int) -> SufficientStats:  # noqa: N803
    """``stats`` when y has at least K stores."""
    if K > stats.n_stores:
        raise ValueError(f"K = {K} segments needs 1 <= K <= N = {stats.n_stores} (the stores of y)")
    return stats


def _result(fit: MixtureFit) -> tuple[np.ndarray, np.ndarray, float]:
    """(flat theta, pi, loglik) of a fit, all finite (else the data's scale is blamed)."""
    theta = _finite(fit.theta.ravel(), "y")
    pi = _finite(fit.pi, "y")
    return theta, pi, float(_finite(np.asarray(fit.loglik), "y"))
