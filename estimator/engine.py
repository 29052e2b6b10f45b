"""The EM engine on per-store sufficient statistics.

For store i and segment c the Gaussian log-density of all the store's weeks is

    log f_ic = -n_i/2 log(2 pi sigma_c^2) - D_ic / (2 sigma_c^2),
    D_ic = RSS_i + (b_i - theta_c)' G_i (b_i - theta_c),

so one E-step costs O(N K P^2) whatever T is. With every quantity centred at
``m`` (the mean of the b_i, for numerical accuracy), -D_ic / 2 expands to

    q_ic = h_i' t_c - 1/2 t_c' G_i t_c - 1/2 A_i,   t_c = theta_c - m,
    h_i = G_i (b_i - m),   A_i = RSS_i + (b_i - m)' G_i (b_i - m),

a matrix product over all stores at once. The engine runs R restarts
together: parameters are (R, K, P), (R, K) and, when estimated, sigma (R, K);
posteriors are (R, K, N), built one block of stores at a time; each restart
keeps its own convergence and leaves the batch when it stops.

The error standard deviation is ``"fixed"`` at 1 (the assignment's model; no
sigma enters the arithmetic), ``"common"`` to all segments or per ``"segment"``;
its M-step is closed form, sigma_c^2 = sum_i w_ic D_ic(theta_c) / sum_i w_ic n_i,
floored at ``SIGMA_FLOOR``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from .panel import SufficientStats

SigmaMode = Literal["fixed", "common", "segment"]
SIGMA_MODES: tuple[str, ...] = ("fixed", "common", "segment")
MIN_SEGMENT_WEIGHT = 1e-8
"""A segment whose summed posterior weight falls below this is collapsed (degenerate start)."""
SIGMA_FLOOR = 1e-3
"""Smallest error standard deviation an M-step may return; reaching it is reported."""
_TINY = np.finfo(float).tiny
STORE_BLOCK = 8192
"""Stores per block in a sweep: bounds the (R, K, block) temporaries whatever N is."""


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
        -n_i/2 log(2 pi) - A_i/2: log f_ic minus its theta-dependent part when sigma = 1.
    half_base : ndarray of shape (N,)
        -A_i/2.
    n_obs : ndarray of shape (N,)
        Weeks observed per store.
    centered_ols : ndarray of shape (N, P)
        b_i - center.
    gram : ndarray of shape (P, P) or (N, P*P)
        Shared X'X, or each store's G_i flattened.
    shared_gram : bool
    """

    center: np.ndarray
    h_t: np.ndarray
    offset: np.ndarray
    half_base: np.ndarray
    n_obs: np.ndarray
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
            half_base=self.half_base[start:stop],
            n_obs=self.n_obs[start:stop],
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
    base : ndarray of shape (R, K) or None
        sum_i w_ic A_i, when sigma is estimated.
    n_obs : ndarray of shape (R, K) or None
        sum_i w_ic n_i, when sigma is estimated.
    """

    weight: np.ndarray
    moment: np.ndarray
    gram: np.ndarray | None
    base: np.ndarray | None = None
    n_obs: np.ndarray | None = None

    def __add__(self, other: PosteriorSums) -> PosteriorSums:
        pairs = zip(self._fields(), other._fields(), strict=True)
        return PosteriorSums(*(_add(a, b) for a, b in pairs))

    def take(self, keep: np.ndarray) -> PosteriorSums:
        """The sums of the restarts selected by ``keep`` (boolean, shape (R,))."""
        return PosteriorSums(*(None if a is None else a[keep] for a in self._fields()))

    def _fields(self) -> tuple[np.ndarray | None, ...]:
        return (self.weight, self.moment, self.gram, self.base, self.n_obs)


def _add(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    return None if a is None else a + b


@dataclass(frozen=True, eq=False)
class EMRun:
    """Outcome of EM from R starting points.

    Attributes
    ----------
    theta : ndarray of shape (R, K, P)
    pi : ndarray of shape (R, K)
    sigma : ndarray of shape (R, K)
        Error standard deviations (all 1 when fixed).
    loglik : ndarray of shape (R,)
        Log-likelihood at the returned parameters.
    n_iter : ndarray of shape (R,)
        Number of parameter updates (M-steps) made.
    converged : ndarray of shape (R,)
        Relative change in log-likelihood fell to ``tol`` or below.
    degenerate : ndarray of shape (R,)
        A segment's weight collapsed below ``MIN_SEGMENT_WEIGHT``.
    sigma_floored : ndarray of shape (R,)
        Some sigma update hit ``SIGMA_FLOOR``.
    traces : list of R ndarrays
        Log-likelihood before the first update and after every update (n_iter + 1 values).
    """

    theta: np.ndarray
    pi: np.ndarray
    sigma: np.ndarray
    loglik: np.ndarray
    n_iter: np.ndarray
    converged: np.ndarray
    degenerate: np.ndarray
    sigma_floored: np.ndarray
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
        half_base=-0.5 * (stats.rss + quad),
        n_obs=stats.n_obs,
        centered_ols=centered,
        gram=gram,
        shared_gram=stats.shared_gram,
    )


def log_joint(
    prep: Prepared, theta: np.ndarray, pi: np.ndarray, sigma: np.ndarray | None = None
) -> np.ndarray:
    """log pi_c + log f_ic for every restart, segment and store.

    Parameters
    ----------
    prep : Prepared
    theta : ndarray of shape (R, K, P)
    pi : ndarray of shape (R, K)
    sigma : ndarray of shape (R, K), optional
        Error standard deviations; None means 1 (the assignment's model).

    Returns
    -------
    ndarray of shape (R, K, N)
        Stores last, so that sums over segments run over contiguous rows.
    """
    n_restarts, n_components, n_coef = theta.shape
    shifted = (theta - prep.center).reshape(-1, n_coef)
    out = shifted @ prep.h_t
    if pi.min() > 0:
        log_pi = np.log(pi).reshape(-1)
    else:
        with np.errstate(divide="ignore"):
            log_pi = np.log(pi).reshape(-1)
    if prep.shared_gram:
        quad = -0.5 * np.einsum("mp,pq,mq->m", shifted, prep.gram, shifted)
    else:
        outer = np.einsum("mp,mq->mpq", shifted, shifted).reshape(len(shifted), -1)
        out -= 0.5 * (outer @ prep.gram.T)
        quad = 0.0
    if sigma is None:
        out += (log_pi + quad)[:, None]
        out += prep.offset
    else:
        variance = sigma.reshape(-1) ** 2
        if prep.shared_gram:
            out += quad[:, None]
        out += prep.half_base
        out /= variance[:, None]
        out -= np.outer(np.log(sigma.reshape(-1)), prep.n_obs)
        out += log_pi[:, None]
        out += prep.offset - prep.half_base
    return out.reshape(n_restarts, n_components, prep.n_stores)


def e_step(
    prep: Prepared, theta: np.ndarray, pi: np.ndarray, sigma: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior segment probabilities and the log-likelihood, in log space.

    Parameters
    ----------
    prep : Prepared
    theta : ndarray of shape (R, K, P)
    pi : ndarray of shape (R, K)
    sigma : ndarray of shape (R, K), optional

    Returns
    -------
    loglik : ndarray of shape (R,)
        sum_i log sum_c pi_c f_ic (a log-sum-exp over segments, shifted by the maximum).
    W : ndarray of shape (R, K, N)
        Posteriors; W[r, :, i] sums to 1.
    """
    W = log_joint(prep, theta, pi, sigma)
    top = W.max(axis=1, keepdims=True)
    W -= top
    np.exp(W, out=W)
    total = W.sum(axis=1, keepdims=True)
    W /= total
    per_store = np.log(total)
    per_store += top
    return per_store.sum(axis=(1, 2)), W


def posteriors(
    stats: SufficientStats,
    theta: np.ndarray,
    pi: np.ndarray,
    sigma: np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    """Log-likelihood and posterior segment probabilities of one parameter set.

    Parameters
    ----------
    stats : SufficientStats
    theta : ndarray of shape (K, P)
    pi : ndarray of shape (K,)
    sigma : ndarray of shape (K,), optional
        Error standard deviations; None means 1.

    Returns
    -------
    loglik : float
    W : ndarray of shape (N, K)
        Rows sum to 1.
    """
    theta = np.asarray(theta, dtype=float)
    pi = np.asarray(pi, dtype=float)
    sigma = None if sigma is None else np.asarray(sigma, dtype=float)[None]
    loglik, W = e_step(prepare(stats), theta[None], pi[None], sigma)
    return float(loglik[0]), W[0].T.copy()


def posterior_sums(prep: Prepared, W: np.ndarray, with_sigma: bool = False) -> PosteriorSums:
    """Posterior-weighted sums over the stores of ``prep``.

    Parameters
    ----------
    prep : Prepared
    W : ndarray of shape (R, K, N)
    with_sigma : bool
        Also the sums the variance update needs.

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
    base = n_obs = None
    if with_sigma:
        base = (flat @ (-2.0 * prep.half_base)).reshape(n_restarts, n_components)
        n_obs = (flat @ prep.n_obs).reshape(n_restarts, n_components)
    return PosteriorSums(
        weight=W.sum(axis=2),
        moment=moment.reshape(n_restarts, n_components, -1),
        gram=gram,
        base=base,
        n_obs=n_obs,
    )


def m_update(
    prep: Prepared, sums: PosteriorSums, sigma_mode: SigmaMode = "fixed"
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
    """The M-step from posterior sums: weighted least squares, proportions, variances.

    Parameters
    ----------
    prep : Prepared
    sums : PosteriorSums
    sigma_mode : {"fixed", "common", "segment"}

    Returns
    -------
    theta : ndarray of shape (R, K, P)
        theta_c = (sum_i w_ic G_i)^-1 sum_i w_ic G_i b_i (the weighted mean of
        the b_i when G is shared); the same whatever sigma is.
    pi : ndarray of shape (R, K)
        Mean posterior of each segment.
    sigma : ndarray of shape (R, K) or None
        None when fixed.
    floored : ndarray of shape (R,)
        A sigma hit the floor.
    """
    weight = sums.weight
    n_coef = prep.n_coef
    if sums.gram is None:
        shifted = sums.moment / np.maximum(weight, _TINY)[..., None]
    else:
        lhs = sums.gram.reshape(*weight.shape, n_coef, n_coef).copy()
        # a collapsed segment's lhs is ~0; its restart is discarded, so keep it solvable
        lhs += np.eye(n_coef) * (weight < MIN_SEGMENT_WEIGHT)[..., None, None]
        shifted = np.linalg.solve(lhs, sums.moment[..., None])[..., 0]
    theta = shifted + prep.center
    pi = weight / prep.n_stores
    floored = np.zeros(weight.shape[0], dtype=bool)
    if sigma_mode == "fixed":
        return theta, pi, None, floored
    # sum_i w_ic D_ic(theta_c) = sum w A_i - 2 t_c' sum w h_i + t_c' (sum w G_i) t_c
    if sums.gram is None:
        weighted_h = sums.moment @ prep.gram
        quad = weight * np.einsum("rkp,pq,rkq->rk", shifted, prep.gram, shifted)
    else:
        weighted_h = sums.moment
        quad = np.einsum("rkp,rkpq,rkq->rk", shifted, lhs, shifted)
    deviance = sums.base - 2.0 * np.einsum("rkp,rkp->rk", shifted, weighted_h) + quad
    if sigma_mode == "common":
        variance = deviance.sum(axis=1, keepdims=True) / sums.n_obs.sum(axis=1, keepdims=True)
        variance = np.broadcast_to(variance, weight.shape)
    else:
        variance = deviance / np.maximum(sums.n_obs, _TINY)
    low = ~(variance >= SIGMA_FLOOR**2)
    floored = low.any(axis=1)
    sigma = np.sqrt(np.where(low, SIGMA_FLOOR**2, variance))
    return theta, pi, sigma, floored


def m_step(prep: Prepared, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares per segment and mixing proportions (sigma fixed).

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
    theta, pi, _, _ = m_update(prep, posterior_sums(prep, W))
    return theta, pi


def em_sweep(
    prep: Prepared,
    theta: np.ndarray,
    pi: np.ndarray,
    sigma: np.ndarray | None = None,
    with_sigma: bool = False,
) -> tuple[np.ndarray, PosteriorSums]:
    """One pass over the stores, in blocks: the log-likelihood and the M-step's sums.

    The (R, K, N) posteriors exist one block of ``STORE_BLOCK`` stores at a
    time, so memory stays flat in N and the block stays in cache.

    Parameters
    ----------
    prep : Prepared
    theta : ndarray of shape (R, K, P)
    pi : ndarray of shape (R, K)
    sigma : ndarray of shape (R, K), optional
    with_sigma : bool
        Also accumulate the sums of the variance update.

    Returns
    -------
    loglik : ndarray of shape (R,)
        Log-likelihood at the parameters.
    sums : PosteriorSums
        Posterior-weighted sums at the parameters.
    """
    if prep.n_stores <= STORE_BLOCK:
        loglik, W = e_step(prep, theta, pi, sigma)
        return loglik, posterior_sums(prep, W, with_sigma)
    loglik, sums = None, None
    for start in range(0, prep.n_stores, STORE_BLOCK):
        block = prep.block(start, start + STORE_BLOCK)
        part_loglik, W = e_step(block, theta, pi, sigma)
        part_sums = posterior_sums(block, W, with_sigma)
        if sums is None:
            loglik, sums = part_loglik, part_sums
        else:
            loglik, sums = loglik + part_loglik, sums + part_sums
    return loglik, sums


def run_em(
    prep: Prepared,
    theta0: np.ndarray,
    pi0: np.ndarray,
    tol: float,
    max_iter: int,
    sigma0: np.ndarray | None = None,
    sigma_mode: SigmaMode = "fixed",
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
    sigma0 : ndarray of shape (R, K), optional
        Starting sigma when it is estimated (default 1).
    sigma_mode : {"fixed", "common", "segment"}

    Returns
    -------
    EMRun
    """
    if not (np.isfinite(tol) and tol >= 0):
        raise ValueError(f"tol must be a finite number >= 0, got {tol}")
    if int(max_iter) != max_iter or max_iter < 0:
        raise ValueError(f"max_iter must be a whole number >= 0, got {max_iter}")
    if sigma_mode not in SIGMA_MODES:
        raise ValueError(f"sigma must be one of {SIGMA_MODES}, got {sigma_mode!r}")
    estimate_sigma = sigma_mode != "fixed"
    n_restarts = theta0.shape[0]
    out_theta = np.array(theta0, dtype=float, copy=True)
    out_pi = np.array(pi0, dtype=float, copy=True)
    out_sigma = np.ones(out_pi.shape)
    if estimate_sigma and sigma0 is not None:
        out_sigma[:] = sigma0
    out_loglik = np.full(n_restarts, -np.inf)
    n_iter = np.zeros(n_restarts, dtype=int)
    converged = np.zeros(n_restarts, dtype=bool)
    degenerate = np.zeros(n_restarts, dtype=bool)
    sigma_floored = np.zeros(n_restarts, dtype=bool)
    history: list[tuple[np.ndarray, np.ndarray]] = []
    active = np.arange(n_restarts)
    theta, pi = out_theta, out_pi
    sigma = out_sigma if estimate_sigma else None
    previous = np.full(n_restarts, np.nan)
    for iteration in range(max_iter + 1):
        loglik, sums = em_sweep(prep, theta, pi, sigma, estimate_sigma)
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
            if estimate_sigma:
                out_sigma[finished] = sigma[stop]
            out_loglik[finished] = loglik[stop]
            n_iter[finished] = iteration
            converged[finished] = done[stop] & ~collapsed[stop]
            degenerate[finished] = collapsed[stop]
            keep = ~stop
            if not keep.any():
                break
            active, sums, loglik = active[keep], sums.take(keep), loglik[keep]
        theta, pi, sigma, floored = m_update(prep, sums, sigma_mode)
        sigma_floored[active] |= floored
        previous = loglik
    return EMRun(
        theta=out_theta,
        pi=out_pi,
        sigma=out_sigma,
        loglik=out_loglik,
        n_iter=n_iter,
        converged=converged,
        degenerate=degenerate,
        sigma_floored=sigma_floored,
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
