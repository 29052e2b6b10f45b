"""The component driver: every formula of the Gaussian regression component.

For store i and segment c the log-density of all the store's weeks is

    log f_ic = -n_i/2 log(2 pi) - n_i log sigma_c - D_ic / (2 sigma_c^2),
    D_ic = RSS_i + (b_i - theta_c)' G_i (b_i - theta_c),

with b_i the store's own OLS estimate, RSS_i its residual sum of squares and
G_i = X_i'X_i its Gram matrix. Nothing else of the data is ever read, so one
E-step costs O(N K P^2) whatever T is. With every quantity centred at ``m`` (the
mean of the b_i, for numerical accuracy), -D_ic / 2 expands to

    q_ic = h_i' t_c - 1/2 t_c' G_i t_c - 1/2 A_i,   t_c = theta_c - m,
    h_i = G_i (b_i - m),   A_i = RSS_i + (b_i - m)' G_i (b_i - m),

a matrix product over all stores at once.

This module is the only place that math lives (as flexmix's FLXMRglm driver is
for its FLXfit loop): the log-density of every store under every segment, the
posterior-weighted sums and the M-step for theta and each sigma mode, the
per-store pieces of the score and Hessian (:mod:`estimator.derivatives`), the
Gram-metric distance used by the starting values, and drawing sufficient
statistics from the model (parametric bootstrap, BLRT, the study generator's
large panels). The loop (:mod:`estimator.engine`) knows only this interface.

Two implementations share it: :class:`SharedDesign` (one X'X for every store:
balanced panel, common prices) and :class:`StoreGrams` (a Gram matrix per
store: missing weeks, store-specific prices or regressors). They differ only in
how G_i enters a handful of products.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .panel import SufficientStats
from .params import MIN_SEGMENT_WEIGHT

SigmaMode = Literal["fixed", "common", "segment"]
SIGMA_FLOOR = 1e-3
"""Smallest error standard deviation an M-step may return; reaching it is reported."""
STORE_BLOCK = 8192
"""Stores per block in a sweep: bounds the (R, K, block) temporaries whatever N is."""
_TINY = np.finfo(float).tiny


@dataclass(frozen=True, eq=False)
class PosteriorSums:
    """Posterior-weighted sums over stores: everything the M-step reads.

    Attributes
    ----------
    weight : ndarray of shape (R, K)
        sum_i w_ic.
    moment : ndarray of shape (R, K, P)
        sum_i w_ic (b_i - m) (shared design) or sum_i w_ic G_i (b_i - m) (per-store Gram).
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
        return PosteriorSums(*(None if a is None else a + b for a, b in pairs))

    def take(self, keep: np.ndarray) -> PosteriorSums:
        """The sums of the restarts selected by ``keep`` (boolean or indices over R)."""
        return PosteriorSums(*(None if a is None else a[keep] for a in self._fields()))

    def _fields(self) -> tuple[np.ndarray | None, ...]:
        return (self.weight, self.moment, self.gram, self.base, self.n_obs)


class ComponentDriver(ABC):
    """The regression component on one data set's sufficient statistics.

    Build one with :func:`component_driver`; all arrays are computed once.

    Attributes
    ----------
    stats : SufficientStats
    center : ndarray of shape (P,)
        Mean of the stores' OLS estimates; parameters are handled relative to it.
    centered : ndarray of shape (N, P)
        b_i - center.
    h_t : ndarray of shape (P, N)
        Columns G_i (b_i - center).
    half_base : ndarray of shape (N,)
        -A_i / 2.
    offset : ndarray of shape (N,)
        -n_i/2 log(2 pi).
    n_obs : ndarray of shape (N,)
        Weeks observed per store.
    """

    def __init__(self, stats: SufficientStats, center: np.ndarray | None = None) -> None:
        self.stats = stats
        self.center = stats.ols.mean(axis=0) if center is None else center
        self.centered = stats.ols - self.center
        h = self.apply_gram(self.centered)
        self.h_t = np.ascontiguousarray(h.T)
        self.n_obs = stats.n_obs
        self.half_base = -0.5 * (stats.rss + np.einsum("np,np->n", self.centered, h))
        self.offset = -0.5 * stats.n_obs * np.log(2.0 * np.pi)
        self._parts: list[ComponentDriver] | None = None

    def parts(self) -> list[ComponentDriver]:
        """The driver in blocks of at most ``STORE_BLOCK`` stores (built once, then reused).

        A sweep over the blocks keeps the (R, K, block) temporaries small whatever N is.
        """
        if self._parts is None:
            if self.n_stores <= STORE_BLOCK:
                self._parts = [self]
            else:
                self._parts = [self.block(a, b) for a, b in store_blocks(self.n_stores)]
        return self._parts

    def block(self, start: int, stop: int) -> ComponentDriver:
        """The same driver restricted to stores ``start:stop`` (same centre)."""
        rows = slice(start, stop)
        stats = self.stats
        part = SufficientStats(
            ols=stats.ols[rows],
            rss=stats.rss[rows],
            gram=stats.gram if stats.shared_gram else stats.gram[rows],
            n_obs=stats.n_obs[rows],
        )
        return type(self)(part, self.center)

    @property
    def n_stores(self) -> int:
        """Number of stores N."""
        return self.centered.shape[0]

    @property
    def n_coef(self) -> int:
        """Number of regressors P."""
        return self.centered.shape[1]

    # -- the few products in which G_i appears --------------------------------------------

    @abstractmethod
    def apply_gram(self, diff: np.ndarray) -> np.ndarray:
        """G_i d_i for every store: ``diff`` of shape (..., N, P) -> (..., N, P)."""

    @abstractmethod
    def quad_shifted(self, shifted: np.ndarray) -> np.ndarray:
        """t' G_i t for M vectors t: (M, P) -> (M, 1) (shared) or (M, N)."""

    @abstractmethod
    def moments(self, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(moment (M, P), gram sums (M, P*P) or None) of M weight rows (M, N)."""

    @abstractmethod
    def solve(self, sums: PosteriorSums) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Weighted least squares: (t (R, K, P), sum w G t-ready matrix, sum w h (R, K, P)).

        Returns the centred solution t_c = theta_c - m, the weighted Gram sums
        (R, K, P, P) and the weighted h sums, the last two for the variance update.
        """

    @abstractmethod
    def weighted_gram(self, W: np.ndarray) -> np.ndarray:
        """sum_i w_ic G_i: ``W`` of shape (R, K, N) -> (R, K, P, P)."""

    @abstractmethod
    def noise_factor(self) -> np.ndarray:
        """Cholesky factors L with G = L L': (P, P) or (N, P, P)."""

    @abstractmethod
    def metric(self) -> np.ndarray:
        """The average Gram matrix, (P, P): the likelihood's metric between segments."""

    # -- log-density and E-step pieces ------------------------------------------------------

    def log_density(self, theta: np.ndarray, sigma: np.ndarray | None = None) -> np.ndarray:
        """log f_ic for every restart, segment and store.

        Parameters
        ----------
        theta : ndarray of shape (R, K, P)
        sigma : ndarray of shape (R, K), optional
            Error standard deviations; None means 1 (no sigma enters the arithmetic).

        Returns
        -------
        ndarray of shape (R, K, N)
            Stores last, so that sums over segments run over contiguous rows.
        """
        n_restarts, n_components, n_coef = theta.shape
        shifted = (theta - self.center).reshape(-1, n_coef)
        out = shifted @ self.h_t
        out -= 0.5 * self.quad_shifted(shifted)
        out += self.half_base
        if sigma is not None:
            flat_sigma = sigma.reshape(-1, 1)
            out /= flat_sigma**2
            out -= np.log(flat_sigma) * self.n_obs
        out += self.offset
        return out.reshape(n_restarts, n_components, self.n_stores)

    def deviance(self, theta: np.ndarray) -> np.ndarray:
        """D_ic = RSS_i + (b_i - theta_c)' G_i (b_i - theta_c), shape (R, K, N)."""
        n_restarts, n_components, n_coef = theta.shape
        shifted = (theta - self.center).reshape(-1, n_coef)
        out = shifted @ self.h_t
        out -= 0.5 * self.quad_shifted(shifted)
        out += self.half_base
        return (-2.0 * out).reshape(n_restarts, n_components, self.n_stores)

    def residual_pieces(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """u_ic = G_i (b_i - theta_c) and D_ic, the derivative pieces of log f_ic.

        Parameters
        ----------
        theta : ndarray of shape (R, K, P)

        Returns
        -------
        u : ndarray of shape (R, K, N, P)
        D : ndarray of shape (R, K, N)
        """
        diff = self.centered[None, None] - (theta - self.center)[:, :, None, :]
        u = self.apply_gram(diff)
        D = self.stats.rss + np.einsum("rknp,rknp->rkn", diff, u)
        return u, D

    def posterior_sums(self, W: np.ndarray, with_sigma: bool = False) -> PosteriorSums:
        """Posterior-weighted sums over the stores.

        Parameters
        ----------
        W : ndarray of shape (R, K, N)
        with_sigma : bool
            Also the sums the variance update needs.
        """
        n_restarts, n_components, n_stores = W.shape
        flat = W.reshape(-1, n_stores)
        moment, gram = self.moments(flat)
        base = n_obs = None
        if with_sigma:
            base = (flat @ (-2.0 * self.half_base)).reshape(n_restarts, n_components)
            n_obs = (flat @ self.n_obs).reshape(n_restarts, n_components)
        return PosteriorSums(
            weight=W.sum(axis=2),
            moment=moment.reshape(n_restarts, n_components, -1),
            gram=None if gram is None else gram.reshape(n_restarts, n_components, -1),
            base=base,
            n_obs=n_obs,
        )

    def m_step(
        self, sums: PosteriorSums, sigma_mode: SigmaMode = "fixed"
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
        """The M-step from posterior sums: weighted least squares, proportions, variances.

        Returns
        -------
        theta : ndarray of shape (R, K, P)
            theta_c = (sum_i w_ic G_i)^-1 sum_i w_ic G_i b_i; the same whatever sigma is.
        pi : ndarray of shape (R, K)
            Mean posterior of each segment.
        sigma : ndarray of shape (R, K) or None
            None when fixed; otherwise sigma_c^2 = sum_i w_ic D_ic / sum_i w_ic n_i
            (pooled over segments when common), floored at ``SIGMA_FLOOR``.
        floored : ndarray of shape (R,)
            A sigma hit the floor.
        """
        weight = sums.weight
        shifted, lhs, weighted_h = self.solve(sums)
        theta = shifted + self.center
        pi = weight / self.n_stores
        floored = np.zeros(weight.shape[0], dtype=bool)
        if sigma_mode == "fixed":
            return theta, pi, None, floored
        # sum_i w_ic D_ic(theta_c) = sum w A_i - 2 t_c' sum w h_i + t_c' (sum w G_i) t_c
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

    # -- distances and draws ---------------------------------------------------------------

    def distance_to(self, centre: np.ndarray) -> np.ndarray:
        """(b_i - centre)' G_i (b_i - centre) for every store, shape (N,)."""
        diff = self.stats.ols - centre
        return np.einsum("np,np->n", diff, self.apply_gram(diff))

    def draw_stats(
        self,
        theta: np.ndarray,
        pi: np.ndarray,
        rng: np.random.Generator,
        sigma: np.ndarray | None = None,
    ) -> tuple[SufficientStats, np.ndarray]:
        """Sufficient statistics of a panel drawn from the model, with this data's design.

        Same N, Gram matrices and weeks observed: segment c_i ~ pi,
        b_i ~ N(theta_{c_i}, sigma_{c_i}^2 G_i^-1), RSS_i ~ sigma_{c_i}^2 chi2(n_i - P),
        independently, which is exact for y_i = X_i theta_c + sigma_c eps_i
        (and all EM reads).

        Parameters
        ----------
        theta : ndarray of shape (K, P)
        pi : ndarray of shape (K,)
        rng : numpy Generator
        sigma : ndarray of shape (K,), optional
            None means 1.

        Returns
        -------
        stats : SufficientStats
        segment : ndarray of int, shape (N,)
            The drawn segment of every store.
        """
        stats = self.stats
        n_stores, n_coef = stats.n_stores, stats.n_coef
        segment = rng.choice(len(pi), size=n_stores, p=pi)
        noise = rng.standard_normal((n_stores, n_coef))
        chol = self.noise_factor()  # G = L L'  =>  L'^-1 z ~ N(0, G^-1)
        if chol.ndim == 2:
            shift = np.linalg.solve(chol.T, noise.T).T
        else:
            shift = np.linalg.solve(np.swapaxes(chol, 1, 2), noise[..., None])[..., 0]
        dof = stats.n_obs - n_coef
        rss = np.where(dof > 0, rng.chisquare(np.maximum(dof, 1.0)), 0.0)
        if sigma is not None:
            shift *= sigma[segment, None]
            rss *= sigma[segment] ** 2
        drawn = SufficientStats(
            ols=theta[segment] + shift, rss=rss, gram=stats.gram, n_obs=stats.n_obs
        )
        return drawn, segment


class SharedDesign(ComponentDriver):
    """Every store has the same Gram matrix X'X (balanced panel, common prices)."""

    def __init__(self, stats: SufficientStats, center: np.ndarray | None = None) -> None:
        self.gram = stats.gram
        super().__init__(stats, center)

    def apply_gram(self, diff: np.ndarray) -> np.ndarray:
        return diff @ self.gram

    def quad_shifted(self, shifted: np.ndarray) -> np.ndarray:
        return np.einsum("mp,pq,mq->m", shifted, self.gram, shifted)[:, None]

    def moments(self, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        return flat @ self.centered, None

    def solve(self, sums: PosteriorSums) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        weight = sums.weight
        shifted = sums.moment / np.maximum(weight, _TINY)[..., None]
        lhs = weight[..., None, None] * self.gram
        return shifted, lhs, sums.moment @ self.gram

    def weighted_gram(self, W: np.ndarray) -> np.ndarray:
        return W.sum(axis=2)[..., None, None] * self.gram

    def noise_factor(self) -> np.ndarray:
        return np.linalg.cholesky(self.gram)

    def metric(self) -> np.ndarray:
        return self.gram


class StoreGrams(ComponentDriver):
    """Each store has its own Gram matrix G_i = X_i'X_i (missing weeks, own prices)."""

    def __init__(self, stats: SufficientStats, center: np.ndarray | None = None) -> None:
        self.gram_flat = stats.gram.reshape(stats.n_stores, -1)
        super().__init__(stats, center)

    def apply_gram(self, diff: np.ndarray) -> np.ndarray:
        return np.einsum("npq,...nq->...np", self.stats.gram, diff)

    def quad_shifted(self, shifted: np.ndarray) -> np.ndarray:
        outer = np.einsum("mp,mq->mpq", shifted, shifted).reshape(len(shifted), -1)
        return outer @ self.gram_flat.T

    def moments(self, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        return flat @ self.h_t.T, flat @ self.gram_flat

    def solve(self, sums: PosteriorSums) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        weight = sums.weight
        n_coef = self.n_coef
        lhs = sums.gram.reshape(*weight.shape, n_coef, n_coef)
        # a collapsed segment's lhs is ~0; its restart is discarded, so keep it solvable
        solvable = lhs + np.eye(n_coef) * (weight < MIN_SEGMENT_WEIGHT)[..., None, None]
        try:
            shifted = np.linalg.solve(solvable, sums.moment[..., None])[..., 0]
        except np.linalg.LinAlgError:
            # a segment whose stores' designs are jointly rank deficient (a regressor that
            # never varies among them): the minimum-norm solution; no certificate follows
            shifted = (np.linalg.pinv(solvable) @ sums.moment[..., None])[..., 0]
        return shifted, lhs, sums.moment

    def weighted_gram(self, W: np.ndarray) -> np.ndarray:
        n_restarts, n_components, _ = W.shape
        flat = W.reshape(n_restarts * n_components, -1) @ self.gram_flat
        return flat.reshape(n_restarts, n_components, self.n_coef, self.n_coef)

    def noise_factor(self) -> np.ndarray:
        return np.linalg.cholesky(self.stats.gram)

    def metric(self) -> np.ndarray:
        return self.stats.gram.mean(axis=0)


def simulate_outcomes(
    X: np.ndarray, theta_rows: np.ndarray, scale: float | np.ndarray, noise: np.ndarray
) -> np.ndarray:
    """Log sales drawn from the component: y_it = x_it' theta_{c_i} + sigma_{c_i} eps_it.

    Parameters
    ----------
    X : ndarray of shape (T, P) or (N, T, P)
        The design shared by every store, or each store's own.
    theta_rows : ndarray of shape (N, P)
        Each store's segment coefficients.
    scale : float or ndarray of shape (N, 1)
        Error standard deviation, common or of each store's segment.
    noise : ndarray of shape (N, T)
        Standard normal draws.

    Returns
    -------
    ndarray of shape (N, T)
    """
    mean = theta_rows @ X.T if X.ndim == 2 else np.einsum("ntp,np->nt", X, theta_rows)
    return mean + scale * noise


def segment_distances(theta: np.ndarray, gram: np.ndarray) -> np.ndarray:
    """Distances sqrt((a - b)' G (a - b)) between every two segments, shape (K, K).

    Parameters
    ----------
    theta : ndarray of shape (K, P)
    gram : ndarray of shape (P, P)
        A Gram matrix (X'X: the distance of the fitted log sales over all weeks).
    """
    diff = theta[:, None, :] - theta[None, :, :]
    return np.sqrt(np.einsum("abp,pq,abq->ab", diff, gram, diff))


def component_driver(stats: SufficientStats) -> ComponentDriver:
    """The driver for ``stats``: :class:`SharedDesign` or :class:`StoreGrams`.

    Parameters
    ----------
    stats : SufficientStats

    Returns
    -------
    ComponentDriver
    """
    return SharedDesign(stats) if stats.shared_gram else StoreGrams(stats)


def store_blocks(n_stores: int, block: int = STORE_BLOCK) -> list[tuple[int, int]]:
    """Consecutive (start, stop) ranges of at most ``block`` stores covering 0..N."""
    return [(start, min(start + block, n_stores)) for start in range(0, n_stores, block)]
