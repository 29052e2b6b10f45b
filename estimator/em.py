"""EM with restarts on sufficient statistics, and the assignment's fronts.

:func:`fit_mixture` draws starting values, runs the batched engine
(:mod:`estimator.engine`) from all of them at once, and keeps the best
non-degenerate start, its segments in canonical order.

:func:`LogL`, :func:`EStep`, :func:`MStep`, :func:`EM` and :func:`Estimate`
take the assignment's raw ``y`` (N x T) and ``X`` (T x 2) and call the same
engine: there is no second copy of the math.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from .driver import SIGMA_FLOOR
from .engine import (
    SIGMA_MODES,
    EMRun,
    SigmaMode,
    e_step,
    m_step,
    prepare,
    run_em,
)
from .init import InitMethod, SeedLike, starting_points, starting_values
from .logs import get_logger
from .panel import SufficientStats, check_y_X, sufficient_stats
from .params import MIN_SEGMENT_WEIGHT, canonical_order
from .results import ConvergenceWarning, MixtureFit
from .validation import (
    as_float_array,
    check_count,
    check_flat_theta,
    check_instance,
    check_non_negative,
    check_positive,
    check_probabilities,
    check_seed,
    check_start_pi,
    check_start_sigma,
    check_start_theta,
    check_weights,
    check_whole_number,
)

__all__ = [
    "EM",
    "EStep",
    "Estimate",
    "LogL",
    "MStep",
    "e_step",
    "fit_mixture",
    "m_step",
    "prepare",
    "refit",
    "run_em",
]

LOG = get_logger(__name__)
DEFAULT_TOL = 1e-8
DEFAULT_MAX_ITER = 5000
DEFAULT_N_INIT = 100
DEFAULT_INIT = "mixed"
SAME_MAXIMUM = 1e-6
"""Certified starts whose log-likelihoods differ by at most this (absolute) reached the same
maximum; the distinct maxima of a fit are the clusters of certified log-likelihoods at this
resolution."""
DUPLICATE_TOL = 1e-4
"""Two segments closer than this (Gram-metric distance per week, and relative sigma) coincide."""
MAX_GRAM_CONDITION = 1e12
"""The fronts refuse an X whose X'X is worse conditioned (the estimates would be noise)."""
MAX_N_INIT = 1_000_000
"""More starts than this are refused (they would not fit in memory as one batch)."""


def fit_mixture(
    stats: SufficientStats,
    n_components: int,
    *,
    n_init: int = DEFAULT_N_INIT,
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER,
    seed: SeedLike = None,
    init: InitMethod = DEFAULT_INIT,
    theta0: np.ndarray | None = None,
    pi0: np.ndarray | None = None,
    sigma0: np.ndarray | float | None = None,
    batch: bool = True,
    coef_names: tuple[str, ...] | None = None,
    sigma: SigmaMode = "fixed",
    polish: bool = True,
) -> MixtureFit:
    """Fit a K-segment mixture of regressions from several starts; keep the best maximum.

    Every start runs accelerated EM, then Newton polishing to a certified maximum
    (:mod:`estimator.engine`); the highest certified maximum is returned.

    Parameters
    ----------
    stats : SufficientStats
        Per-store sufficient statistics of the panel.
    n_components : int
        Number of segments K.
    n_init : int
        Number of drawn starting points (ignored when ``theta0`` is given).
    tol : float
        Relative change of the log-likelihood at which EM hands over to Newton.
    max_iter : int
        EM-map evaluations per start at most.
    seed : int, SeedSequence, Generator or None
        Randomness of the starting values.
    init : {"mixed", "kmeans++", "stores", "partition"}
        Starting-value scheme (:mod:`estimator.init`).
    theta0 : ndarray of shape (R, K, P) or (K, P), optional
        Explicit starting values instead of drawn ones (warm start).
    pi0 : ndarray of shape (R, K) or (K,), optional
        Starting mixing proportions (uniform when omitted): non-negative, summing to 1.
    sigma0 : float or ndarray of shape (K,) or (R, K), optional
        Starting error standard deviations when sigma is estimated (default: the
        pooled within-store residual standard deviation).
    batch : bool
        Run all starts as one array computation (True) or one after another
        (False); the two give the same result.
    coef_names : tuple of str of length P, optional
    sigma : {"fixed", "common", "segment"}
        Error standard deviation: fixed at 1 (the assignment's model), one
        estimated for all segments, or one per segment.
    polish : bool
        Newton polish and certificate (default); False stops at the EM rule.

    Returns
    -------
    MixtureFit
        The best start, segments in canonical order. A :class:`ConvergenceWarning`
        when it is not a certified maximum, when every start lost a segment, or
        when two of its segments coincide.
    """
    started = time.perf_counter()
    check_instance(stats, "stats", SufficientStats, " (from Panel.sufficient_stats())")
    n_components = check_count(n_components, "n_components")
    n_init = check_whole_number(n_init, "n_init", minimum=1, maximum=MAX_N_INIT)
    max_iter = check_count(max_iter, "max_iter")  # 0 would report the start as a fit
    tol = check_non_negative(tol, "tol")
    check_seed(seed)
    if sigma not in SIGMA_MODES:
        raise ValueError(f"sigma must be one of {SIGMA_MODES}, got {sigma!r}")
    driver = prepare(stats)
    drawn_sigma = None
    if theta0 is None:
        theta0, drawn_pi, drawn_sigma = starting_points(
            stats, n_components, n_init, seed, init, driver, sigma
        )
        pi0 = drawn_pi if pi0 is None else pi0
    theta0 = check_start_theta(theta0, "theta0", n_components, stats.n_coef)
    shape = theta0.shape[:2]
    pi0 = np.full(shape, 1.0 / n_components) if pi0 is None else check_start_pi(pi0, "pi0", *shape)
    sigma_start = np.full(shape, pooled_sigma(stats))
    if sigma0 is not None:
        sigma_start[:] = check_start_sigma(np.broadcast_to(sigma0, shape), "sigma0", shape)
    elif sigma == "segment" and drawn_sigma is not None:  # grouped starts: the groups' own SD
        own = np.isfinite(drawn_sigma) & (drawn_sigma > 0)
        sigma_start[own] = np.maximum(drawn_sigma[own], SIGMA_FLOOR)
    if batch:
        run = run_em(driver, theta0, pi0, tol, max_iter, sigma_start, sigma, polish=polish)
    else:
        runs = [
            run_em(
                driver, theta0[[r]], pi0[[r]], tol, max_iter, sigma_start[[r]], sigma, polish=polish
            )
            for r in range(len(theta0))
        ]
        run = _stack_runs(runs)
    fit = _best_fit(driver, run, tol, max_iter, coef_names, sigma, time.perf_counter() - started)
    _warn_about(fit, len(theta0), max_iter, tol)
    LOG.debug(
        "K = %d: best log L %.6f from %d starts (%d at best), %s, %d EM steps + %d Newton, %.3f s",
        n_components, fit.loglik, fit.n_init, fit.n_at_best,
        "certified" if fit.converged else "NOT certified", fit.n_iter, fit.n_newton, fit.seconds,
    )  # fmt: skip
    return fit


def refit(
    stats: SufficientStats,
    theta: np.ndarray,
    pi: np.ndarray,
    sigma: np.ndarray | None,
    rng: np.random.Generator,
    *,
    n_init: int,
    init: InitMethod = DEFAULT_INIT,
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER,
    sigma_mode: SigmaMode = "fixed",
) -> MixtureFit:
    """Fit len(pi) segments from a known point plus ``n_init`` drawn starts, quietly.

    The parametric bootstrap and the bootstrap likelihood-ratio test refit every
    drawn panel this way: starting at the generating (or observed) parameters
    guarantees the refit reaches at least that maximum, the drawn starts look for a
    higher one.

    Parameters
    ----------
    stats : SufficientStats
    theta : ndarray of shape (K, P) or (S, K, P)
        The known point, or S known points.
    pi : ndarray of shape (K,) or (S, K)
    sigma : ndarray of shape (K,) or (S, K), or None
        Starting sigma of the known point(s) when sigma is estimated.
    rng : numpy Generator
        Randomness of the drawn starts.
    n_init, init, tol, max_iter, sigma_mode
        As in :func:`fit_mixture` (``sigma_mode`` is its ``sigma``).

    Returns
    -------
    MixtureFit
        No warning is issued; read ``converged`` and ``degenerate``.
    """
    known_theta = np.asarray(theta, dtype=float)
    known_theta = known_theta[None] if known_theta.ndim == 2 else known_theta
    n_known, n_components = known_theta.shape[:2]
    driver = prepare(stats)
    theta0 = [known_theta]
    pi0 = [np.broadcast_to(np.asarray(pi, dtype=float), (n_known, n_components))]
    if n_init > 0 and n_components > 1:
        drawn, drawn_pi = starting_values(
            stats, n_components, n_init, rng, init, driver, sigma_mode
        )
        theta0.append(drawn)
        pi0.append(drawn_pi)
    n_starts = sum(len(t) for t in theta0)
    sigma0 = np.full((n_starts, n_components), pooled_sigma(stats))
    if sigma is not None:
        sigma0[:n_known] = sigma
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit_mixture(
            stats,
            n_components,
            theta0=np.concatenate(theta0),
            pi0=np.concatenate(pi0),
            sigma0=sigma0,
            tol=tol,
            max_iter=max_iter,
            sigma=sigma_mode,
        )


def _warn_about(fit: MixtureFit, n_starts: int, max_iter: int, tol: float) -> None:
    k = fit.n_components
    if fit.degenerate:
        _warn(
            f"K = {k}: every one of {n_starts} starts lost a segment "
            "(degenerate); the result has an empty segment. Reduce K or add starts."
        )
    elif fit.sigma_floored:
        _warn(
            f"K = {k}: a segment's sigma reached the floor; that segment fits "
            "(almost) exactly and its likelihood is unbounded without the floor"
        )
    elif not fit.converged:
        _warn(
            f"K = {k}: the best start is not a certified maximum (Newton decrement "
            f"{fit.decrement:.3g}, largest Hessian eigenvalue {fit.max_eigen:.3g}, "
            f"{fit.n_iter} EM steps of at most {max_iter}, tol = {tol:g}); "
            "the model may have more segments than the data support"
        )
    if fit.duplicate_segments:
        _warn(
            f"K = {k}: two segments coincide (same parameters within {DUPLICATE_TOL:g}); "
            "the data support fewer segments"
        )


def _warn(message: str) -> None:
    warnings.warn(message, ConvergenceWarning, stacklevel=4)


def pooled_sigma(stats: SufficientStats) -> float:
    """Pooled within-store residual standard deviation, sqrt(sum RSS_i / sum (n_i - P))."""
    dof = float(np.sum(stats.n_obs - stats.n_coef))
    return float(np.sqrt(stats.rss.sum() / dof)) if dof > 0 else 1.0


def _stack_runs(runs: list[EMRun]) -> EMRun:
    names = [f for f in EMRun.__dataclass_fields__ if f != "traces"]
    arrays = {name: np.concatenate([getattr(r, name) for r in runs]) for name in names}
    return EMRun(**arrays, traces=[t for r in runs for t in r.traces])


def distinct_maxima(logliks: np.ndarray, tol: float = SAME_MAXIMUM) -> int:
    """Number of clusters of log-likelihood values at resolution ``tol`` (sorted gaps > tol)."""
    values = np.sort(np.asarray(logliks, dtype=float))
    if not values.size:
        return 0
    return int(1 + np.sum(np.diff(values) > tol))


def duplicate_segments(
    theta: np.ndarray, sigma: np.ndarray, metric: np.ndarray, n_weeks: float
) -> bool:
    """Whether two segments have the same parameters within ``DUPLICATE_TOL``.

    Distance between segments is sqrt((a - b)' G (a - b) / T), the root mean square
    difference of their fitted log sales over the weeks, G the average Gram matrix.
    """
    n_components = len(theta)
    for a in range(n_components):
        for b in range(a + 1, n_components):
            diff = theta[a] - theta[b]
            gap = np.sqrt(max(diff @ metric @ diff, 0.0) / max(n_weeks, 1.0))
            if gap < DUPLICATE_TOL and abs(sigma[a] - sigma[b]) <= DUPLICATE_TOL * sigma[a]:
                return True
    return False


def _best_fit(
    driver: object,
    run: EMRun,
    tol: float,
    max_iter: int,
    coef_names: tuple[str, ...] | None,
    sigma_mode: SigmaMode,
    seconds: float,
) -> MixtureFit:
    valid = ~run.degenerate
    candidates = np.flatnonzero(valid) if valid.any() else np.arange(len(run.loglik))
    certified = candidates[run.converged[candidates]]
    pool = certified if certified.size else candidates
    best = int(pool[np.argmax(run.loglik[pool])])
    best_ll = run.loglik[best]
    at_best = valid & (np.abs(run.loglik - best_ll) <= SAME_MAXIMUM)
    order = canonical_order(run.theta[best])
    theta = run.theta[best][order]
    pi = run.pi[best][order]
    sigma = run.sigma[best][order]
    _, W = e_step(driver, theta[None], pi[None], None if sigma_mode == "fixed" else sigma[None])
    n_weeks = float(np.mean(driver.stats.n_obs))
    return MixtureFit(
        theta=theta,
        pi=pi,
        sigma=sigma,
        sigma_mode=sigma_mode,
        sigma_floored=bool(run.sigma_floored[best]),
        loglik=float(best_ll),
        converged=bool(run.converged[best]),
        degenerate=bool(run.degenerate[best]),
        n_iter=int(run.n_iter[best]),
        loglik_trace=run.traces[best],
        n_init=len(run.loglik),
        n_at_best=int(at_best.sum()),
        n_degenerate=int(run.degenerate.sum()),
        restart_logliks=run.loglik.copy(),
        posteriors=W[0].T.copy(),
        tol=tol,
        max_iter=max_iter,
        seconds=seconds,
        coef_names=coef_names,
        n_newton=int(run.n_newton[best]),
        grad_norm=float(run.grad_norm[best]),
        decrement=float(run.decrement[best]),
        max_eigen=float(run.max_eigen[best]),
        n_maxima=distinct_maxima(run.loglik[certified]),
        duplicate_segments=duplicate_segments(theta, sigma, driver.metric(), n_weeks),
    )


# ---------------------------------------------------------------------------
# The assignment's fronts: raw y (N x T) and X (T x 2), flat theta.
# ---------------------------------------------------------------------------


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
        loglik, _ = e_step(prepare(stats), theta[None], pi[None])
    return float(_finite(loglik, blame)[0])


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
        _, W = e_step(prepare(stats), theta_k[None], pi[None])
    return _finite(W[0].T.copy(), "theta")


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
        theta, pi = m_step(prepare(stats), W.T[None])
    return _finite(theta[0].ravel(), "y"), pi[0]


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
        Naming the argument at fault (see :mod:`estimator.validation`).
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
