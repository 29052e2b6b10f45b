"""The multi-start fit: starts, the loop from all of them, the guard, the best maximum.

:func:`fit_mixture` draws starting values, runs the batched loop
(:mod:`estimator.engine`) from all of them at once, sets aside the spurious
maxima (:mod:`estimator.guard`) and returns the best certified maximum, its
segments in canonical order, as an immutable :class:`~estimator.results.MixtureFit`.
:func:`refit` fits from known points plus drawn starts, quietly: the parametric
bootstrap and the bootstrap likelihood-ratio test refit every drawn data set so.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np

from .driver import component_driver
from .engine import EMRun, Problem, posteriors, prepare, run_em
from .guard import admissible, set_aside_maxima
from .init import starting_points
from .logs import get_logger
from .options import FitOptions, fit_options
from .panel import SufficientStats
from .params import canonical_order
from .prior import LogitPrior
from .results import ConvergenceWarning, MixtureFit
from .threads import one_blas_thread
from .validation import (
    check_count,
    check_finite_array,
    check_instance,
    check_start_pi,
    check_start_sigma,
    check_start_theta,
)

__all__ = ["SAME_MAXIMUM", "distinct_maxima", "fit_mixture", "refit"]

LOG = get_logger(__name__)
SAME_MAXIMUM = 1e-6
"""Certified starts whose log-likelihoods differ by at most this (absolute) reached the same
maximum; the distinct maxima of a fit are the clusters of certified log-likelihoods at this
resolution."""


@one_blas_thread
def fit_mixture(
    stats: SufficientStats,
    n_components: int,
    options: FitOptions | None = None,
    *,
    theta0: np.ndarray | None = None,
    pi0: np.ndarray | None = None,
    sigma0: np.ndarray | float | None = None,
    gamma0: np.ndarray | None = None,
    covariates: np.ndarray | None = None,
    covariate_names: tuple[str, ...] | None = None,
    coef_names: tuple[str, ...] | None = None,
    batch: bool = True,
    quiet: bool = False,
    **overrides: Any,
) -> MixtureFit:
    """Fit a K-segment mixture of regressions from several starts; keep the best maximum.

    Every start runs accelerated EM, then Newton polishing to a certified maximum
    (:mod:`estimator.engine`); the highest certified maximum that the guard admits
    is returned.

    Parameters
    ----------
    stats : SufficientStats
        Per-unit sufficient statistics of the data.
    n_components : int
        Number of segments K.
    options : FitOptions, optional
        Starts, stopping rule, sigma mode, seed, guard (defaults: :class:`FitOptions`).
    theta0 : ndarray of shape (R, K, P) or (K, P), optional
        Explicit starting values instead of drawn ones (warm start).
    pi0 : ndarray of shape (R, K) or (K,), optional
        Starting mixing proportions (uniform when omitted): non-negative, summing to 1.
    sigma0 : float or ndarray of shape (K,) or (R, K), optional
        Starting error standard deviations when sigma is estimated (default: the
        driver's starting sigma).
    gamma0 : ndarray of shape (K, Q) or (R, K, Q), optional
        Starting concomitant coefficients (with ``covariates``; last row zero).
    covariates : ndarray of shape (N, Q), optional
        Unit covariates z_i of a multinomial-logit prior (concomitant variables),
        full column rank; None: constant pi.
    covariate_names : tuple of str of length Q, optional
    coef_names : tuple of str of length P, optional
    batch : bool
        Run all starts as one array computation (True) or one after another
        (False); the two give the same result.
    quiet : bool
        No :class:`ConvergenceWarning` (read ``converged`` and ``degenerate``).
    **overrides
        Any :class:`FitOptions` field (``n_init``, ``tol``, ``max_iter``, ``seed``,
        ``init``, ``sigma``, ``guard``, ``polish``, ``accelerate``).

    Returns
    -------
    MixtureFit
        The best start, segments in canonical order. A :class:`ConvergenceWarning`
        when it is not a certified maximum, when every start lost a segment, when
        two of its segments coincide, or when the guard set every maximum aside.
    """
    started = time.perf_counter()
    check_instance(stats, "stats", SufficientStats, " (from Panel.sufficient_stats())")
    options = fit_options(options, **overrides)
    n_components = check_count(n_components, "n_components")
    if n_components > stats.n_stores:
        raise ValueError(
            f"n_components = {n_components} segments needs 1 <= K <= N = {stats.n_stores} units"
        )
    covariates = _check_covariates(covariates, stats.n_stores)
    driver = component_driver(stats)
    problem = prepare(driver, n_components, options.sigma, covariates, options.guarded)
    theta, prior, sigma = _starts(problem, options, theta0, pi0, sigma0, gamma0)
    if batch:
        run = run_em(
            problem,
            theta,
            prior,
            options.tol,
            options.max_iter,
            sigma,
            options.accelerate,
            options.polish,
        )
    else:
        runs = [
            run_em(
                problem,
                theta[[r]],
                prior[[r]],
                options.tol,
                options.max_iter,
                sigma[[r]],
                options.accelerate,
                options.polish,
            )
            for r in range(len(theta))
        ]
        run = _stack_runs(runs)
    fit = _best_fit(
        problem,
        run,
        options,
        coef_names,
        covariates,
        covariate_names,
        time.perf_counter() - started,
    )
    if not quiet:
        _warn_about(fit, options)
    LOG.debug(
        "K = %d: best log L %.6f from %d starts (%d at best), %s, %d EM steps + %d Newton, %.3f s",
        n_components, fit.loglik, fit.n_init, fit.n_at_best,
        "certified" if fit.converged else "NOT certified", fit.n_iter, fit.n_newton, fit.seconds,
    )  # fmt: skip
    return fit


def refit(
    stats: SufficientStats,
    theta: np.ndarray,
    prior: np.ndarray,
    sigma: np.ndarray | None,
    rng: np.random.Generator,
    options: FitOptions,
    covariates: np.ndarray | None = None,
) -> MixtureFit:
    """Fit K segments from S known points plus ``options.n_init`` drawn starts, quietly.

    Starting at the generating (or observed) parameters guarantees the refit
    reaches at least that maximum; the drawn starts look for a higher one.

    Parameters
    ----------
    stats : SufficientStats
    theta : ndarray of shape (K, P) or (S, K, P)
        The known point, or S known points.
    prior : ndarray of shape (K,) or (S, K) (pi), or (K, Q) or (S, K, Q) (gamma)
    sigma : ndarray of shape (K,) or (S, K), or None
        Starting sigma of the known point(s) when sigma is estimated.
    rng : numpy Generator
        Randomness of the drawn starts.
    options : FitOptions
        ``n_init`` drawn starts (0: the known points only); the rest as in
        :func:`fit_mixture`.
    covariates : ndarray of shape (N, Q), optional

    Returns
    -------
    MixtureFit
        No warning is issued; read ``converged`` and ``degenerate``.
    """
    known_theta = np.asarray(theta, dtype=float)
    known_theta = known_theta[None] if known_theta.ndim == 2 else known_theta
    n_known, n_components = known_theta.shape[:2]
    driver = component_driver(stats)
    concomitant = covariates is not None
    known_prior = np.asarray(prior, dtype=float)
    prior_ndim = 2 if concomitant else 1
    if known_prior.ndim == prior_ndim:
        known_prior = np.broadcast_to(known_prior, (n_known, *known_prior.shape))
    thetas, priors = [known_theta], [known_prior]
    if options.n_init > 0 and n_components > 1:
        drawn, drawn_pi, _ = starting_points(
            driver, n_components, options.n_init, rng, options.init, options.sigma
        )
        thetas.append(drawn)
        priors.append(_prior_from_pi(drawn_pi, covariates) if concomitant else drawn_pi)
    n_starts = sum(len(t) for t in thetas)
    sigma0 = np.full((n_starts, n_components), driver.start_sigma())
    if sigma is not None:
        sigma0[:n_known] = sigma
    prior0 = np.concatenate(priors)
    return fit_mixture(
        stats,
        n_components,
        options,
        theta0=np.concatenate(thetas),
        pi0=None if concomitant else prior0,
        gamma0=prior0 if concomitant else None,
        sigma0=sigma0,
        covariates=covariates,
        quiet=True,
    )


def _check_covariates(covariates: np.ndarray | None, n_units: int) -> np.ndarray | None:
    if covariates is None:
        return None
    array = check_finite_array(covariates, "covariates", (n_units, None))
    if np.linalg.matrix_rank(array) < array.shape[1]:
        raise ValueError(
            "covariates are collinear (a column is a combination of the others, e.g. of the "
            "intercept): the concomitant coefficients are not identified"
        )
    return array


def _prior_from_pi(pi: np.ndarray, covariates: np.ndarray | None) -> np.ndarray:
    """The prior state of starting proportions pi (R, K): pi itself, or gamma (R, K, Q).

    With covariates gamma is 0 except, when some covariate is constant (the
    intercept), that column: log(pi_c / pi_K), so the start's prior is pi.
    """
    if covariates is None:
        return pi
    n_starts, n_components = pi.shape
    gamma = np.zeros((n_starts, n_components, covariates.shape[1]))
    constant = np.flatnonzero(np.all(covariates == covariates[:1], axis=0) & (covariates[0] != 0))
    if constant.size:
        q = int(constant[0])
        with np.errstate(divide="ignore"):
            ratio = np.log(pi) - np.log(pi[:, -1:])
        gamma[:, :, q] = np.clip(ratio, -30.0, 30.0) / covariates[0, q]
    return gamma


def _starts(
    problem: Problem,
    options: FitOptions,
    theta0: np.ndarray | None,
    pi0: np.ndarray | None,
    sigma0: np.ndarray | float | None,
    gamma0: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Starting (theta (R, K, P), prior state, sigma (R, K)): drawn or given."""
    driver = problem.driver
    n_components = problem.n_components
    covariates = getattr(problem.prior, "covariates", None)
    drawn_sigma = None
    if theta0 is None:
        if options.n_init < 1:
            raise ValueError("n_init must be >= 1 when no starting values (theta0) are given")
        theta0, drawn_pi, drawn_sigma = starting_points(
            driver, n_components, options.n_init, options.seed, options.init, options.sigma
        )
        pi0 = drawn_pi if pi0 is None else pi0
    theta0 = check_start_theta(theta0, "theta0", n_components, driver.n_coef)
    shape = theta0.shape[:2]
    if gamma0 is not None:
        if covariates is None:
            raise ValueError("gamma0 needs covariates (a concomitant prior)")
        gamma = check_finite_array(gamma0, "gamma0", (None, n_components, covariates.shape[1]))
        if gamma.ndim == 2:
            gamma = gamma[None]
        prior = np.broadcast_to(gamma - gamma[:, -1:], (shape[0], *gamma.shape[1:])).copy()
    else:
        pi = np.full(shape, 1.0 / n_components) if pi0 is None else pi0
        pi = check_start_pi(pi, "pi0", *shape)
        prior = _prior_from_pi(np.array(pi, dtype=float), covariates)
    sigma = np.full(shape, driver.start_sigma())
    if sigma0 is not None:
        sigma[:] = check_start_sigma(np.broadcast_to(sigma0, shape), "sigma0", shape)
    elif options.sigma == "segment" and drawn_sigma is not None:  # grouped starts: own SD
        own = np.isfinite(drawn_sigma) & (drawn_sigma > 0)
        sigma[own] = np.maximum(drawn_sigma[own], driver.sigma_floor)
    return theta0, prior, sigma


def _warn_about(fit: MixtureFit, options: FitOptions) -> None:
    k = fit.n_components
    n_starts = fit.n_init
    if fit.degenerate:
        _warn(
            f"K = {k}: every one of {n_starts} starts lost a segment "
            "(degenerate); the result has an empty segment. Reduce K or add starts."
        )
    elif fit.guard_exhausted:
        _warn(
            f"K = {k}: the guard set aside every maximum the {n_starts} starts reached "
            f"(each has a segment of too few observations; {fit.set_aside[0].reason}); "
            "the best of them is returned. The data support fewer segments."
        )
    elif fit.sigma_floored:
        _warn(
            f"K = {k}: a segment's sigma reached the floor ({fit.sigma.min():.3g}, a millionth "
            "of the data's scale): it fits its observations exactly and the likelihood is "
            "unbounded there (no maximum)"
        )
    elif not fit.converged:
        _warn(
            f"K = {k}: the best start is not a certified maximum (Newton decrement "
            f"{fit.decrement:.3g}, largest Hessian eigenvalue {fit.max_eigen:.3g}, "
            f"{fit.n_iter} EM steps of at most {options.max_iter}, tol = {options.tol:g}); "
            "the model may have more segments than the data support"
        )
    if fit.separated:
        _warn(
            f"K = {k}: complete separation in the concomitant model: fitted prior "
            "probabilities are 0 or 1 for some units and the concomitant coefficients "
            "diverge (their estimates and standard errors are not meaningful)"
        )
    if fit.duplicate_segments:
        _warn(f"K = {k}: two segments coincide; the data support fewer segments")


def _warn(message: str) -> None:
    warnings.warn(message, ConvergenceWarning, stacklevel=4)


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


def _best_fit(
    problem: Problem,
    run: EMRun,
    options: FitOptions,
    coef_names: tuple[str, ...] | None,
    covariates: np.ndarray | None,
    covariate_names: tuple[str, ...] | None,
    seconds: float,
) -> MixtureFit:
    driver = problem.driver
    valid = ~run.degenerate
    candidates = np.flatnonzero(valid) if valid.any() else np.arange(len(run.loglik))
    certified = candidates[run.converged[candidates]]
    passes = admissible(run.segment_obs, driver.n_coef, options.guarded)
    admitted = certified[passes[certified]]
    exhausted = bool(certified.size) and not admitted.size
    if admitted.size:
        pool = admitted
    elif certified.size:
        pool = certified
    else:
        pool = candidates[passes[candidates]] if passes[candidates].any() else candidates
    best = int(pool[np.argmax(run.loglik[pool])])
    best_ll = run.loglik[best]
    set_aside = set_aside_maxima(
        run.loglik,
        run.segment_obs,
        run.sigma,
        run.pi,
        certified[~passes[certified]],
        -np.inf if exhausted else best_ll,
        driver.n_coef,
        SAME_MAXIMUM,
    )
    at_best = valid & (np.abs(run.loglik - best_ll) <= SAME_MAXIMUM)
    order = canonical_order(run.theta[best])
    theta = run.theta[best][order]
    prior = problem.prior.reorder(run.prior[best], order)
    sigma = run.sigma[best][order]
    _, W = posteriors(driver.stats, theta, prior, problem.sigma_arg(sigma), covariates)
    concomitant = isinstance(problem.prior, LogitPrior)
    return MixtureFit(
        theta=theta,
        pi=W.mean(axis=0) if concomitant else prior,
        sigma=sigma,
        sigma_mode=options.sigma,
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
        posteriors=W,
        tol=options.tol,
        max_iter=options.max_iter,
        seconds=seconds,
        coef_names=coef_names,
        n_newton=int(run.n_newton[best]),
        grad_norm=float(run.grad_norm[best]),
        decrement=float(run.decrement[best]),
        max_eigen=float(run.max_eigen[best]),
        n_maxima=distinct_maxima(run.loglik[certified]),
        duplicate_segments=driver.duplicate_segments(theta, sigma),
        segment_obs=run.segment_obs[best][order],
        guard=options.guard if options.guarded else None,
        set_aside=set_aside,
        guard_exhausted=exhausted and options.guarded,
        gamma=prior if concomitant else None,
        covariate_names=tuple(covariate_names) if covariate_names is not None else None,
        covariates=covariates,
        separated=concomitant and problem.prior.separated(prior),
        n_obs=float(driver.n_total),
        scale=float(driver.scale),
    )
