"""The EM engine on per-store sufficient statistics, and the assignment's fronts.

Engine
------
For store i and segment c the Gaussian log-density of all its weeks is

    log f_ic = -n_i/2 log(2 pi) - 1/2 [RSS_i + (b_i - theta_c)' G_i (b_i - theta_c)],

so one E-step costs O(N K P^2) whatever T is. With every quantity centred at
``m`` (the mean of the b_i, for numerical accuracy) this expands to

    log f_ic = offset_i + h_i' t_c - 1/2 t_c' G_i t_c,   t_c = theta_c - m,
    h_i = G_i (b_i - m),  offset_i = -n_i/2 log(2 pi) - 1/2 [RSS_i + (b_i - m)' G_i (b_i - m)],

a matrix product over all stores at once. The engine runs R restarts together:
parameters are (R, K, P) and (R, K), posteriors (N, R, K); each restart keeps
its own convergence and stops on its own.

Fronts
------
:func:`LogL`, :func:`EStep`, :func:`MStep`, :func:`EM` and :func:`Estimate`
take the assignment's raw ``y`` (N x T) and ``X`` (T x 2) and call the engine;
:func:`fit_mixture` is the same estimator on sufficient statistics, returning a
:class:`~estimator.results.MixtureFit`.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np

from .init import InitMethod, SeedLike, starting_values
from .panel import SufficientStats, check_y_X, sufficient_stats
from .results import ConvergenceWarning, MixtureFit, canonical_order

DEFAULT_TOL = 1e-12
DEFAULT_MAX_ITER = 5000
DEFAULT_N_INIT = 50
DEFAULT_INIT = "kmeans++"
MIN_SEGMENT_WEIGHT = 1e-8
"""A segment whose summed posterior weight falls below this is collapsed (degenerate start)."""
STORE_BLOCK = 8192
"""Stores per block in a sweep: bounds the (R, K, block) temporaries whatever N is."""
BEST_RTOL = 1e-6
"""Restarts within this relative distance of the best log-likelihood count as reaching it."""


@dataclass(frozen=True, eq=False)
class Prepared:
    """Constants of one data set, computed once before any EM iteration.

    Attributes
    ----------
    center : ndarray of shape (P,)
        Mean of the stores' OLS estimates; parameters are handled relative to it.
    h_t : ndarray of shape (P, N)
        Columns G_i (b_i - center).
    offset : ndarray of shape (N,)
        -n_i/2 log(2 pi) - 1/2 [RSS_i + (b_i - center)' G_i (b_i - center)].
    centered_ols : ndarray of shape (N, P)
        b_i - center.
    gram : ndarray of shape (P, P) or (N, P*P)
        Shared X'X, or each store's G_i flattened.
    """

    center: np.ndarray
    h_t: np.ndarray
    offset: np.ndarray
    centered_ols: np.ndarray
    gram: np.ndarray
    shared_gram: bool

    @property
    def n_stores(self) -> int:
        """Number of stores N."""
        return self.h_t.shape[1]

    @property
    def n_coef(self) -> int:
        """Number of regressors P."""
        return self.h_t.shape[0]

    def block(self, start: int, stop: int) -> Prepared:
        """The same constants restricted to stores ``start:stop`` (views, no copies)."""
        return Prepared(
            center=self.center,
            h_t=self.h_t[:, start:stop],
            offset=self.offset[start:stop],
            centered_ols=self.centered_ols[start:stop],
            gram=self.gram if self.shared_gram else self.gram[start:stop],
            shared_gram=self.shared_gram,
        )


@dataclass(frozen=True, eq=False)
class PosteriorSums:
    """Posterior-weighted sums over stores: everything the M-step reads.

    Attributes
    ----------
    weight : ndarray of shape (R, K)
        sum_i w_ic.
    moment : ndarray of shape (R, K, P)
        sum_i w_ic (b_i - center) with a shared Gram matrix, else sum_i w_ic G_i (b_i - center).
    gram : ndarray of shape (R, K, P*P) or None
        sum_i w_ic G_i (flattened) for per-store Gram matrices; None when shared.
    """

    weight: np.ndarray
    moment: np.ndarray
    gram: np.ndarray | None

    def __add__(self, other: PosteriorSums) -> PosteriorSums:
        gram = None if self.gram is None else self.gram + other.gram
        return PosteriorSums(self.weight + other.weight, self.moment + other.moment, gram)

    def take(self, keep: np.ndarray) -> PosteriorSums:
        """The sums of the restarts selected by ``keep`` (boolean, shape (R,))."""
        gram = None if self.gram is None else self.gram[keep]
        return PosteriorSums(self.weight[keep], self.moment[keep], gram)


@dataclass(frozen=True, eq=False)
class EMRun:
    """Outcome of EM from R starting points.

    Attributes
    ----------
    theta : ndarray of shape (R, K, P)
    pi : ndarray of shape (R, K)
    loglik : ndarray of shape (R,)
        Log-likelihood at the returned parameters.
    n_iter : ndarray of shape (R,)
        Number of parameter updates (M-steps) made.
    converged : ndarray of shape (R,)
        Relative change in log-likelihood fell to ``tol`` or below.
    degenerate : ndarray of shape (R,)
        A segment's weight collapsed below ``MIN_SEGMENT_WEIGHT``.
    traces : list of R ndarrays
        Log-likelihood before the first update and after every update (n_iter + 1 values).
    """

    theta: np.ndarray
    pi: np.ndarray
    loglik: np.ndarray
    n_iter: np.ndarray
    converged: np.ndarray
    degenerate: np.ndarray
    traces: list[np.ndarray]


def prepare(stats: SufficientStats) -> Prepared:
    """Compute the engine's constants from sufficient statistics (one O(N P^2) pass)."""
    center = stats.ols.mean(axis=0)
    centered = stats.ols - center
    if stats.shared_gram:
        h = centered @ stats.gram
        gram = stats.gram
    else:
        h = np.einsum("npq,nq->np", stats.gram, centered)
        gram = stats.gram.reshape(stats.n_stores, -1)
    quad = np.einsum("np,np->n", centered, h)
    offset = -0.5 * stats.n_obs * np.log(2.0 * np.pi) - 0.5 * (stats.rss + quad)
    return Prepared(
        center=center,
        h_t=np.ascontiguousarray(h.T),
        offset=offset,
        centered_ols=centered,
        gram=gram,
        shared_gram=stats.shared_gram,
    )


def log_joint(prep: Prepared, theta: np.ndarray, pi: np.ndarray) -> np.ndarray:
    """log pi_c + log f_ic for every restart, segment and store.

    Parameters
    ----------
    prep : Prepared
    theta : ndarray of shape (R, K, P)
    pi : ndarray of shape (R, K)

    Returns
    -------
    ndarray of shape (R, K, N)
        Stores last, so that sums over segments run over contiguous rows.
    """
    n_restarts, n_components, n_coef = theta.shape
    shifted = (theta - prep.center).reshape(-1, n_coef)
    out = shifted @ prep.h_t
    with np.errstate(divide="ignore"):
        per_segment = np.log(pi).reshape(-1)
    if prep.shared_gram:
        per_segment = per_segment - 0.5 * np.einsum("mp,pq,mq->m", shifted, prep.gram, shifted)
    else:
        outer = np.einsum("mp,mq->mpq", shifted, shifted).reshape(len(shifted), -1)
        out -= 0.5 * (outer @ prep.gram.T)
    out += per_segment[:, None]
    out += prep.offset
    return out.reshape(n_restarts, n_components, prep.n_stores)


def e_step(prep: Prepared, theta: np.ndarray, pi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Posterior segment probabilities and the log-likelihood, in log space.

    Parameters
    ----------
    prep : Prepared
    theta : ndarray of shape (R, K, P)
    pi : ndarray of shape (R, K)

    Returns
    -------
    loglik : ndarray of shape (R,)
        sum_i log sum_c pi_c f_ic (a log-sum-exp over segments, shifted by the maximum).
    W : ndarray of shape (R, K, N)
        Posteriors; W[r, :, i] sums to 1.
    """
    W = log_joint(prep, theta, pi)
    top = W.max(axis=1, keepdims=True)
    W -= top
    np.exp(W, out=W)
    total = W.sum(axis=1, keepdims=True)
    W /= total
    per_store = np.log(total)
    per_store += top
    return per_store.sum(axis=(1, 2)), W


def posterior_sums(prep: Prepared, W: np.ndarray) -> PosteriorSums:
    """Posterior-weighted sums over the stores of ``prep``.

    Parameters
    ----------
    prep : Prepared
    W : ndarray of shape (R, K, N)

    Returns
    -------
    PosteriorSums
    """
    n_restarts, n_components, n_stores = W.shape
    flat = W.reshape(-1, n_stores)
    if prep.shared_gram:
        moment, gram = flat @ prep.centered_ols, None
    else:
        moment = flat @ prep.h_t.T
        gram = (flat @ prep.gram).reshape(n_restarts, n_components, -1)
    return PosteriorSums(
        weight=W.sum(axis=2),
        moment=moment.reshape(n_restarts, n_components, -1),
        gram=gram,
    )


def m_update(prep: Prepared, sums: PosteriorSums) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares per segment and mixing proportions, from posterior sums.

    Parameters
    ----------
    prep : Prepared
    sums : PosteriorSums

    Returns
    -------
    theta : ndarray of shape (R, K, P)
        theta_c = (sum_i w_ic G_i)^-1 sum_i w_ic G_i b_i (the weighted mean of
        the b_i when G is shared).
    pi : ndarray of shape (R, K)
        Mean posterior of each segment.
    """
    weight = sums.weight
    if sums.gram is None:
        shifted = sums.moment / np.maximum(weight, np.finfo(float).tiny)[..., None]
    else:
        n_coef = prep.n_coef
        lhs = sums.gram.reshape(*weight.shape, n_coef, n_coef).copy()
        # a collapsed segment's lhs is ~0; its restart is discarded, so keep it solvable
        lhs += np.eye(n_coef) * (weight < MIN_SEGMENT_WEIGHT)[..., None, None]
        shifted = np.linalg.solve(lhs, sums.moment[..., None])[..., 0]
    return shifted + prep.center, weight / prep.n_stores


def m_step(prep: Prepared, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares per segment and mixing proportions.

    Parameters
    ----------
    prep : Prepared
    W : ndarray of shape (R, K, N)
        Posteriors.

    Returns
    -------
    theta : ndarray of shape (R, K, P)
    pi : ndarray of shape (R, K)
    """
    return m_update(prep, posterior_sums(prep, W))


def em_sweep(prep: Prepared, theta: np.ndarray, pi: np.ndarray) -> tuple[np.ndarray, PosteriorSums]:
    """One pass over the stores, in blocks: the log-likelihood and the M-step's sums.

    The (R, K, N) posteriors exist one block of ``STORE_BLOCK`` stores at a
    time, so memory stays flat in N and the block stays in cache.

    Parameters
    ----------
    prep : Prepared
    theta : ndarray of shape (R, K, P)
    pi : ndarray of shape (R, K)

    Returns
    -------
    loglik : ndarray of shape (R,)
        Log-likelihood at (theta, pi).
    sums : PosteriorSums
        Posterior-weighted sums at (theta, pi).
    """
    loglik, sums = None, None
    for start in range(0, prep.n_stores, STORE_BLOCK):
        block = prep.block(start, start + STORE_BLOCK)
        part_loglik, W = e_step(block, theta, pi)
        part_sums = posterior_sums(block, W)
        if sums is None:
            loglik, sums = part_loglik, part_sums
        else:
            loglik, sums = loglik + part_loglik, sums + part_sums
    return loglik, sums


def run_em(
    prep: Prepared,
    theta0: np.ndarray,
    pi0: np.ndarray,
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER,
) -> EMRun:
    """Run EM from R starting points at once.

    Each restart stops on its own once the relative change in log-likelihood,
    ``|l_t - l_{t-1}| / |l_{t-1}|``, is at most ``tol``, after ``max_iter``
    updates, or when a segment collapses (degenerate). Stopped restarts leave
    the batch, so later iterations only compute the ones still running.

    Parameters
    ----------
    prep : Prepared
    theta0 : ndarray of shape (R, K, P)
    pi0 : ndarray of shape (R, K)
    tol : float
    max_iter : int

    Returns
    -------
    EMRun
    """
    _check_settings(tol, max_iter)
    n_restarts = theta0.shape[0]
    out_theta = np.array(theta0, dtype=float, copy=True)
    out_pi = np.array(pi0, dtype=float, copy=True)
    out_loglik = np.full(n_restarts, -np.inf)
    n_iter = np.zeros(n_restarts, dtype=int)
    converged = np.zeros(n_restarts, dtype=bool)
    degenerate = np.zeros(n_restarts, dtype=bool)
    history: list[tuple[np.ndarray, np.ndarray]] = []
    active = np.arange(n_restarts)
    theta, pi = out_theta, out_pi
    previous = np.full(n_restarts, np.nan)
    for iteration in range(max_iter + 1):
        loglik, sums = em_sweep(prep, theta, pi)
        history.append((active, loglik))
        done = np.abs(loglik - previous) <= tol * np.abs(previous)
        collapsed = (sums.weight < MIN_SEGMENT_WEIGHT).any(axis=1)
        stop = done | collapsed
        if iteration == max_iter:
            stop[:] = True
        if stop.any():
            finished = active[stop]
            out_theta[finished] = theta[stop]
            out_pi[finished] = pi[stop]
            out_loglik[finished] = loglik[stop]
            n_iter[finished] = iteration
            converged[finished] = done[stop] & ~collapsed[stop]
            degenerate[finished] = collapsed[stop]
            keep = ~stop
            if not keep.any():
                break
            active, sums, loglik = active[keep], sums.take(keep), loglik[keep]
        theta, pi = m_update(prep, sums)
        previous = loglik
    return EMRun(
        theta=out_theta,
        pi=out_pi,
        loglik=out_loglik,
        n_iter=n_iter,
        converged=converged,
        degenerate=degenerate,
        traces=_traces(history, n_restarts),
    )


def _traces(history: list[tuple[np.ndarray, np.ndarray]], n_restarts: int) -> list[np.ndarray]:
    """Split the per-iteration (active restarts, logliks) records into one trace per restart."""
    owners = np.concatenate([active for active, _ in history])
    values = np.concatenate([loglik for _, loglik in history])
    order = np.argsort(owners, kind="stable")
    bounds = np.searchsorted(owners[order], np.arange(n_restarts + 1))
    ordered = values[order]
    return [ordered[bounds[r] : bounds[r + 1]] for r in range(n_restarts)]


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
    batch: bool = True,
    coef_names: tuple[str, ...] | None = None,
) -> MixtureFit:
    """Fit a K-segment mixture of regressions by EM from several starts; keep the best.

    Parameters
    ----------
    stats : SufficientStats
        Per-store sufficient statistics of the panel.
    n_components : int
        Number of segments K.
    n_init : int
        Number of starting points R (ignored when ``theta0`` is given).
    tol, max_iter : float, int
        Stopping rule of :func:`run_em`.
    seed : int, SeedSequence, Generator or None
        Randomness of the starting values.
    init : {"mixed", "kmeans++", "stores"}
        Starting-value scheme (:mod:`estimator.init`).
    theta0 : ndarray of shape (R, K, P), optional
        Explicit starting values instead of drawn ones.
    pi0 : ndarray of shape (R, K), optional
        Starting mixing proportions (uniform when omitted).
    batch : bool
        Run all starts as one array computation (True) or one after another
        (False); the two give the same result.
    coef_names : tuple of str of length P, optional

    Returns
    -------
    MixtureFit
        The best non-degenerate start, segments in canonical order. A warning
        (:class:`ConvergenceWarning`) is issued when that start did not converge.
    """
    started = time.perf_counter()
    if theta0 is None:
        theta0, drawn_pi = starting_values(stats, n_components, n_init, seed, init)
        pi0 = drawn_pi if pi0 is None else pi0
    theta0 = np.asarray(theta0, dtype=float)
    if theta0.ndim == 2:
        theta0 = theta0[None]
    if theta0.shape[1:] != (n_components, stats.n_coef):
        raise ValueError(
            f"theta0 must have shape (R, {n_components}, {stats.n_coef}), got {theta0.shape}"
        )
    if pi0 is None:
        pi0 = np.full(theta0.shape[:2], 1.0 / n_components)
    pi0 = np.broadcast_to(np.asarray(pi0, dtype=float), theta0.shape[:2])
    prep = prepare(stats)
    if batch:
        run = run_em(prep, theta0, pi0, tol, max_iter)
    else:
        runs = [run_em(prep, theta0[[r]], pi0[[r]], tol, max_iter) for r in range(len(theta0))]
        run = _stack_runs(runs)
    fit = _best_fit(prep, run, tol, max_iter, coef_names, time.perf_counter() - started)
    if fit.degenerate:
        warnings.warn(
            f"K = {n_components}: every one of {len(theta0)} starts lost a segment "
            "(degenerate); the result has an empty segment. Reduce K or add starts.",
            ConvergenceWarning,
            stacklevel=2,
        )
    elif not fit.converged:
        warnings.warn(
            f"K = {n_components}: the best start did not converge in {max_iter} iterations "
            f"(tol = {tol:g}); increase max_iter or loosen tol",
            ConvergenceWarning,
            stacklevel=2,
        )
    return fit


def _stack_runs(runs: list[EMRun]) -> EMRun:
    return EMRun(
        theta=np.concatenate([r.theta for r in runs]),
        pi=np.concatenate([r.pi for r in runs]),
        loglik=np.concatenate([r.loglik for r in runs]),
        n_iter=np.concatenate([r.n_iter for r in runs]),
        converged=np.concatenate([r.converged for r in runs]),
        degenerate=np.concatenate([r.degenerate for r in runs]),
        traces=[t for r in runs for t in r.traces],
    )


def _best_fit(
    prep: Prepared,
    run: EMRun,
    tol: float,
    max_iter: int,
    coef_names: tuple[str, ...] | None,
    seconds: float,
) -> MixtureFit:
    valid = ~run.degenerate
    candidates = np.flatnonzero(valid) if valid.any() else np.arange(len(run.loglik))
    best = int(candidates[np.argmax(run.loglik[candidates])])
    best_ll = run.loglik[best]
    at_best = valid & (np.abs(run.loglik - best_ll) <= BEST_RTOL * np.abs(best_ll))
    order = canonical_order(run.theta[best])
    theta = run.theta[best][order]
    pi = run.pi[best][order]
    _, W = e_step(prep, theta[None], pi[None])
    return MixtureFit(
        theta=theta,
        pi=pi,
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
    )


def _check_settings(tol: float, max_iter: int) -> None:
    if not (np.isfinite(tol) and tol >= 0):
        raise ValueError(f"tol must be a finite number >= 0, got {tol}")
    if int(max_iter) != max_iter or max_iter < 0:
        raise ValueError(f"max_iter must be a whole number >= 0, got {max_iter}")


# ---------------------------------------------------------------------------
# The assignment's fronts: raw y (N x T) and X (T x 2), flat theta.
# ---------------------------------------------------------------------------


def _params(theta: np.ndarray, pi: np.ndarray, n_coef: int) -> tuple[np.ndarray, np.ndarray]:
    """Validate a flat theta (alpha_1, beta_1, ..., alpha_K, beta_K) and pi; return (K, P), (K,)."""
    pi = np.asarray(pi, dtype=float).ravel()
    theta = np.asarray(theta, dtype=float).ravel()
    n_components = pi.size
    if n_components == 0:
        raise ValueError("pi is empty: it needs one entry per segment")
    if theta.size != n_components * n_coef:
        raise ValueError(
            f"theta has {theta.size} entries but pi has {n_components}: theta must be "
            f"(alpha_1, beta_1, ..., alpha_K, beta_K) with {n_components * n_coef} entries"
        )
    if not (np.all(np.isfinite(theta)) and np.all(np.isfinite(pi))):
        raise ValueError("theta and pi must be finite")
    if np.any(pi < 0) or abs(pi.sum() - 1.0) > 1e-8:
        raise ValueError(f"pi must be non-negative and sum to 1, got {pi.tolist()}")
    return theta.reshape(n_components, n_coef), pi


def _stats(y: np.ndarray, X: np.ndarray) -> SufficientStats:
    return sufficient_stats(*check_y_X(y, X))


def LogL(theta: np.ndarray, pi: np.ndarray, y: np.ndarray, X: np.ndarray) -> float:  # noqa: N802
    """Exact mixture log-likelihood sum_i log sum_c pi_c prod_t phi(y_it - x_t' theta_c).

    Parameters
    ----------
    theta : array_like of shape (2K,)
        (alpha_1, beta_1, ..., alpha_K, beta_K).
    pi : array_like of shape (K,)
        Mixing proportions summing to 1.
    y : array_like of shape (N, T)
        Log sales, stores x weeks.
    X : array_like of shape (T, 2)
        Design [1, log p_t].

    Returns
    -------
    float
    """
    stats = _stats(y, X)
    theta_k, pi = _params(theta, pi, stats.n_coef)
    loglik, _ = e_step(prepare(stats), theta_k[None], pi[None])
    return float(loglik[0])


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
    """
    stats = _stats(y, X)
    theta_k, pi = _params(theta, pi, stats.n_coef)
    _, W = e_step(prepare(stats), theta_k[None], pi[None])
    return W[0].T.copy()


def MStep(y: np.ndarray, X: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # noqa: N802
    """Per-segment weighted least squares and mixing proportions.

    Parameters
    ----------
    y : array_like of shape (N, T)
    X : array_like of shape (T, 2)
    W : array_like of shape (N, K)
        Posterior weights.

    Returns
    -------
    theta : ndarray of shape (2K,)
        (alpha_1, beta_1, ..., alpha_K, beta_K).
    pi : ndarray of shape (K,)
        pi_c = mean of W[:, c].
    """
    stats = _stats(y, X)
    W = np.asarray(W, dtype=float)
    if W.ndim != 2 or W.shape[0] != stats.n_stores:
        raise ValueError(f"W must have shape (N, K) with N = {stats.n_stores}, got {W.shape}")
    if not np.all(np.isfinite(W)) or np.any(W < 0):
        raise ValueError("W must be finite and non-negative")
    empty = np.flatnonzero(W.sum(axis=0) < MIN_SEGMENT_WEIGHT)
    if empty.size:
        raise ValueError(f"segment(s) {empty.tolist()} have no weight in W: theta is undefined")
    theta, pi = m_step(prepare(stats), W.T[None])
    return theta[0].ravel(), pi[0]


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
        Number of segments.
    y : array_like of shape (N, T)
    X : array_like of shape (T, 2)
    tol : float
        Relative change in log-likelihood at which to stop.
    max_iter : int
        Maximum number of EM iterations.
    theta0 : array_like of shape (2K,), optional
        Starting theta; drawn by k-means++ over the stores' OLS estimates when omitted.
    pi0 : array_like of shape (K,), optional
        Starting mixing proportions (uniform when omitted).
    seed : int, SeedSequence, Generator or None
        Randomness of the drawn start.

    Returns
    -------
    theta : ndarray of shape (2K,)
    pi : ndarray of shape (K,)
    loglik : float
    """
    stats = _stats(y, X)
    if theta0 is not None:
        pi_start = np.full(K, 1.0 / K) if pi0 is None else pi0
        theta_k, pi_start = _params(theta0, pi_start, stats.n_coef)
        if len(pi_start) != K:
            raise ValueError(f"theta0 describes {len(pi_start)} segments, K = {K}")
        fit = fit_mixture(
            stats, K, theta0=theta_k[None], pi0=pi_start[None], tol=tol, max_iter=max_iter
        )
    else:
        fit = fit_mixture(
            stats, K, n_init=1, init="kmeans++", seed=seed, tol=tol, max_iter=max_iter
        )
    return fit.theta.ravel(), fit.pi, fit.loglik


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
    y : array_like of shape (N, T)
    X : array_like of shape (T, 2)
    n_init : int
        Number of starting values (k-means++ spreads over the stores' OLS estimates).
    tol, max_iter : float, int
        Stopping rule of each EM run.
    seed : int, SeedSequence, Generator or None

    Returns
    -------
    theta : ndarray of shape (2K,)
        Segments in canonical order (ascending alpha, then beta).
    pi : ndarray of shape (K,)
    loglik : float
    """
    fit = fit_mixture(_stats(y, X), K, n_init=n_init, seed=seed, tol=tol, max_iter=max_iter)
    return fit.theta.ravel(), fit.pi, fit.loglik
