"""A straightforward EM for the mixture of price regressions, kept only for the benchmark.

The textbook implementation (docs/benchmark.md): the full N x T x K ``norm.logpdf`` array,
``logsumexp`` posteriors, weighted least squares on the stacked N*T observations, restarts
in a Python loop, and the engine's stopping rule, so both reach the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp
from scipy.stats import norm

from estimator import MIN_SEGMENT_WEIGHT, canonical_order


@dataclass(frozen=True, eq=False)
class NaiveRun:
    """Outcome of the straightforward EM from one start: theta (K, P), pi (K,), the
    log-likelihood there, the M-steps made (``n_iter``), ``converged``, ``degenerate``,
    and ``trace`` (n_iter + 1,), the log-likelihood before the first and after every update."""

    theta: np.ndarray
    pi: np.ndarray
    loglik: float
    n_iter: int
    converged: bool
    degenerate: bool
    trace: np.ndarray


@dataclass(frozen=True, eq=False)
class NaiveFit:
    """The best of R straightforward EM runs: theta (K, P) and pi (K,) in canonical order, its
    log-likelihood, and ``runs``, one per restart in the order of the starting values."""

    theta: np.ndarray
    pi: np.ndarray
    loglik: float
    runs: list[NaiveRun]

    @property
    def restart_logliks(self) -> np.ndarray:
        """Log-likelihood of every restart, shape (R,)."""
        return np.array([run.loglik for run in self.runs])

    @property
    def n_iter(self) -> np.ndarray:
        """M-steps made by every restart, shape (R,)."""
        return np.array([run.n_iter for run in self.runs])


def naive_e_step(
    y: np.ndarray, X: np.ndarray, theta: np.ndarray, pi: np.ndarray
) -> tuple[float, np.ndarray]:
    """Log-likelihood and posteriors (N, K) of y (N, T), X (T, P), theta (K, P), pi (K,) from
    the full N x T x K log-density array."""
    means = X @ theta.T  # (T, K)
    log_density = norm.logpdf(y[:, :, None] - means[None, :, :]).sum(axis=1)  # (N, K)
    with np.errstate(divide="ignore"):
        log_joint = log_density + np.log(pi)
    per_store = logsumexp(log_joint, axis=1)
    W = np.exp(log_joint - per_store[:, None])
    return float(per_store.sum()), W


def naive_m_step(
    stacked_X: np.ndarray, stacked_y: np.ndarray, W: np.ndarray, n_weeks: int
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares on ``stacked_X`` (N*T, P), ``stacked_y`` (N*T,) with posteriors
    W (N, K) repeated over each store's ``n_weeks``: theta (K, P) and pi (K,)."""
    n_components = W.shape[1]
    theta = np.empty((n_components, stacked_X.shape[1]))
    for c in range(n_components):
        w = np.repeat(W[:, c], n_weeks)
        weighted_X = stacked_X * w[:, None]
        theta[c] = np.linalg.solve(weighted_X.T @ stacked_X, weighted_X.T @ stacked_y)
    return theta, W.mean(axis=0)


def naive_em(
    y: np.ndarray, X: np.ndarray, theta0: np.ndarray, pi0: np.ndarray, tol: float, max_iter: int
) -> NaiveRun:
    """EM on y (N, T), X (T, P) from theta0 (K, P), pi0 (K,) with the engine's stopping rule
    (relative change ``tol`` of the log-likelihood, at most ``max_iter`` M-steps)."""
    n_stores, n_weeks = y.shape
    stacked_X = np.tile(X, (n_stores, 1))
    stacked_y = y.reshape(-1)
    theta = np.array(theta0, dtype=float, copy=True)
    pi = np.array(pi0, dtype=float, copy=True)
    trace: list[float] = []
    previous = np.nan
    for iteration in range(max_iter + 1):
        loglik, W = naive_e_step(y, X, theta, pi)
        trace.append(loglik)
        done = abs(loglik - previous) <= tol * abs(previous)
        collapsed = bool((W.sum(axis=0) < MIN_SEGMENT_WEIGHT).any())
        if done or collapsed or iteration == max_iter:
            converged = bool(done and not collapsed)
            return NaiveRun(theta, pi, loglik, iteration, converged, collapsed, np.array(trace))
        theta, pi = naive_m_step(stacked_X, stacked_y, W, n_weeks)
        previous = loglik
    raise AssertionError("unreachable: the loop returns at iteration == max_iter")


def naive_fit(
    y: np.ndarray, X: np.ndarray, theta0: np.ndarray, pi0: np.ndarray, tol: float, max_iter: int
) -> NaiveFit:
    """:func:`naive_em` from every start, theta0 (R, K, P) and pi0 (R, K), in a Python loop;
    the best non-degenerate restart (any, if all are degenerate), segments in canonical order."""
    runs = [naive_em(y, X, theta0[r], pi0[r], tol, max_iter) for r in range(len(theta0))]
    candidates = [r for r, run in enumerate(runs) if not run.degenerate] or list(range(len(runs)))
    best = runs[max(candidates, key=lambda r: runs[r].loglik)]
    order = canonical_order(best.theta)
    return NaiveFit(theta=best.theta[order], pi=best.pi[order], loglik=best.loglik, runs=runs)
