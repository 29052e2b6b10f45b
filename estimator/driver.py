"""The component driver: every formula of the Gaussian regression component.

For unit i (a store, or a single observation when the data are not grouped) and
segment c the log-density of all the unit's observations is

    log f_ic = -n_i/2 log(2 pi) - n_i log sigma_c - D_ic / (2 sigma_c^2),
    D_ic = ||y_i - X_i theta_c||^2 = RSS_i + (b_i - theta_c)' G_i (b_i - theta_c),

with G_i = X_i'X_i the unit's Gram matrix, b_i any least-squares solution of its
own regression (the minimum-norm one when G_i is singular: a unit with fewer
observations than regressors; the identity holds for every least-squares
solution, so no step needs a unique b_i) and RSS_i its residual sum of squares.
Nothing else of the data is ever read, so one E-step costs O(N K P^2) whatever
the number of observations per unit is. With every quantity centred at ``m``
(the pooled least-squares fit, for numerical accuracy), -D_ic / 2 expands to

    q_ic = h_i' t_c - 1/2 t_c' G_i t_c - 1/2 A_i,   t_c = theta_c - m,
    h_i = G_i (b_i - m) = X_i'(y_i - X_i m),   A_i = ||y_i - X_i m||^2,

a matrix product over all units at once.

This module is the only place that math lives (as flexmix's FLXMRglm driver is
for its FLXfit loop): the log-density of every unit under every segment, the
posterior-weighted sums and the M-step for theta and each sigma mode, the
unit-level derivatives of log f_ic that the Newton step and the observed
information assemble (:mod:`estimator.derivatives`), the "posteriors as known"
information, the data's scale and the relative sigma floor, the starting sigma,
the distance between segments, the Gram-metric distance used by the starting
values, and drawing sufficient statistics from the model (parametric bootstrap,
BLRT, the study generator's large panels). The mixing proportions are the prior
model's (:mod:`estimator.prior`); the loop (:mod:`estimator.engine`) knows only
the two interfaces.

Two implementations share it: :class:`SharedDesign` (one X'X for every unit:
balanced panel, common prices) and :class:`UnitGrams` (a Gram matrix per unit:
missing weeks, unit-specific regressors, ungrouped observations). They differ
only in how G_i enters a handful of products.

Scale. Nothing depends on the units of y: the data's scale ``s`` is the residual
standard deviation of the pooled regression (one theta for every unit), the
sigma floor is ``SIGMA_FLOOR_REL * s`` and two segments coincide when their
fitted values differ by less than ``DUPLICATE_TOL * s`` per observation.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from .panel import SufficientStats
from .params import MIN_SEGMENT_WEIGHT, SigmaMode

SIGMA_FLOOR_REL = 1e-6
"""Smallest sigma an M-step may return, relative to the data's scale; reaching it is reported.

A segment whose sigma falls this far below the pooled residual standard deviation
fits its observations exactly: the likelihood is unbounded there. The bound is far
below any segment that can be estimated (a segment on a nearly exact line keeps
its sigma) and above the rounding of the deviances (about 1e-16 of the data's
squared scale), so a floored segment is always a collapse, never a maximum.
"""
DUPLICATE_TOL = 1e-4
"""Two segments coincide when their fitted values differ by less than this fraction of the
data's scale per observation (root mean square) and their sigmas by less than this fraction."""
STORE_BLOCK = 8192
"""Units per block in a sweep: bounds the (R, K, block) temporaries whatever N is."""
_TINY = np.finfo(float).tiny


@dataclass(frozen=True, eq=False)
class PosteriorSums:
    """Posterior-weighted sums over units: everything the component's M-step reads.

    Attributes
    ----------
    weight : ndarray of shape (R, K)
        sum_i w_ic.
    moment : ndarray of shape (R, K, P)
        sum_i w_ic (b_i - m) (shared design) or sum_i w_ic G_i (b_i - m) (per-unit Gram).
    gram : ndarray of shape (R, K, P(P+1)/2) or None
        sum_i w_ic G_i (upper triangle) for per-unit Gram matrices; None when shared.
    base : ndarray of shape (R, K) or None
        sum_i w_ic A_i, when sigma is estimated.
    n_obs : ndarray of shape (R, K) or None
        sum_i w_ic n_i, when sigma is estimated: each segment's effective number of
        observations.
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


@dataclass(frozen=True, eq=False)
class ComponentStep:
    """The component's M-step: new theta and sigma of R restarts.

    Attributes
    ----------
    theta : ndarray of shape (R, K, P)
    sigma : ndarray of shape (R, K) or None
        None when sigma is fixed.
    floored : ndarray of shape (R,)
        Some sigma update hit the floor.
    """

    theta: np.ndarray
    sigma: np.ndarray | None
    floored: np.ndarray


@dataclass(frozen=True, eq=False)
class UnitDerivatives:
    """Derivatives of log f_ic in each segment's own parameters (theta_c, [log sigma_c]).

    Attributes
    ----------
    grad : ndarray of shape (R, K, n, Pc)
        Gradient of log f_ic for every unit of the block, Pc = P (+ 1 with sigma).
    curvature : ndarray of shape (R, K, Pc, Pc)
        sum_i w_ic d^2 log f_ic over the block's units.
    """

    grad: np.ndarray
    curvature: np.ndarray


class ComponentDriver(ABC):
    """The regression component on one data set's sufficient statistics.

    Build one with :func:`component_driver` (cached per statistics object); all
    arrays are computed once.

    Attributes
    ----------
    stats : SufficientStats
    center : ndarray of shape (P,)
        The pooled least-squares fit; parameters are handled relative to it.
    centered : ndarray of shape (N, P)
        b_i - center.
    h_t : ndarray of shape (P, N)
        Columns G_i (b_i - center).
    half_base : ndarray of shape (N,)
        -A_i / 2.
    offset : ndarray of shape (N,)
        -n_i/2 log(2 pi).
    n_obs : ndarray of shape (N,)
        Observations per unit.
    scale : float
        The data's scale: residual standard deviation of the pooled regression.
    """

    def __init__(
        self, stats: SufficientStats, center: np.ndarray | None = None, scale: float | None = None
    ) -> None:
        self.stats = stats
        self.center = self.pooled_fit() if center is None else center
        self.centered = stats.ols - self.center
        h = self.apply_gram(self.centered)
        self.h_t = np.ascontiguousarray(h.T)
        self.n_obs = stats.n_obs
        self.half_base = -0.5 * (stats.rss + np.einsum("np,np->n", self.centered, h))
        self.offset = -0.5 * stats.n_obs * np.log(2.0 * np.pi)
        self.scale = self._data_scale() if scale is None else scale
        self._parts: list[ComponentDriver] | None = None
        self._blocks: list[tuple[slice, ComponentDriver]] | None = None

    def parts(self) -> list[ComponentDriver]:
        """The driver in blocks of at most ``STORE_BLOCK`` units (built once, then reused).

        A sweep over the blocks keeps the (R, K, block) temporaries small whatever N is.
        """
        if self._parts is None:
            if self.n_stores <= STORE_BLOCK:
                self._parts = [self]
            else:
                self._parts = [self.block(a, b) for a, b in store_blocks(self.n_stores)]
        return self._parts

    def blocks(self) -> list[tuple[slice, ComponentDriver]]:
        """(rows, driver) of every block of :meth:`parts`, rows the block's units among all N
        (built once: every E-step asks)."""
        if self._blocks is None:
            parts = self.parts()
            ranges = store_blocks(self.n_stores) if len(parts) > 1 else [(0, self.n_stores)]
            self._blocks = [(slice(a, b), part) for (a, b), part in zip(ranges, parts, strict=True)]
        return self._blocks

    def block(self, start: int, stop: int) -> ComponentDriver:
        """The same driver restricted to units ``start:stop`` (same centre and scale)."""
        rows = slice(start, stop)
        stats = self.stats
        part = SufficientStats(
            ols=stats.ols[rows],
            rss=stats.rss[rows],
            gram=stats.gram if stats.shared_gram else stats.gram[rows],
            n_obs=stats.n_obs[rows],
        )
        return type(self)(part, self.center, self.scale)

    @property
    def n_stores(self) -> int:
        """Number of units N."""
        return self.centered.shape[0]

    @property
    def n_coef(self) -> int:
        """Number of regressors P."""
        return self.centered.shape[1]

    @property
    def n_total(self) -> float:
        """Number of observations n = sum_i n_i."""
        return self.stats.n_total

    @property
    def sigma_floor(self) -> float:
        """Smallest sigma an M-step returns: ``SIGMA_FLOOR_REL`` times the data's scale."""
        return SIGMA_FLOOR_REL * self.scale

    # -- the few products in which G_i appears --------------------------------------------

    @abstractmethod
    def apply_gram(self, diff: np.ndarray) -> np.ndarray:
        """G_i d_i for every unit: ``diff`` of shape (..., N, P) -> (..., N, P)."""

    @abstractmethod
    def solve(
        self, sums: PosteriorSums, with_variance: bool = True
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Weighted least squares: (t (R, K, P), sum w G (R, K, P, P), sum w h (R, K, P)).

        Returns the centred solution t_c = theta_c - m, the weighted Gram sums
        and the weighted h sums, the last two for the variance update (None
        without ``with_variance`` where they would cost extra work).
        """

    @abstractmethod
    def weighted_gram(self, W: np.ndarray) -> np.ndarray:
        """sum_i w_ic G_i: ``W`` of shape (R, K, N) -> (R, K, P, P)."""

    @abstractmethod
    def total_gram(self) -> np.ndarray:
        """sum_i G_i, shape (P, P)."""

    @abstractmethod
    def noise_shift(self, noise: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Map standard normal draws z_i (N, P) to N(0, G_i^+) draws, and the projectors.

        Returns the draws (N, P) and P_i = G_i^+ G_i (N, P, P), or None when every
        G_i is invertible (P_i = I).
        """

    @property
    def full_rank(self) -> np.ndarray:
        """Whether each unit's own regression is identified (G_i invertible), shape (N,)."""
        cached = self.__dict__.get("_rank_cache")
        if cached is None:
            gram = self.stats.gram
            if gram.ndim == 2:
                cached = np.ones(self.n_stores, dtype=bool)
            else:
                values = np.linalg.eigvalsh(gram)
                top = np.maximum(values[:, -1:], np.finfo(float).tiny)
                cached = np.all(values > top * 1e-10, axis=1)
            self.__dict__["_rank_cache"] = cached
        return cached

    def unit_gram(self, unit: int) -> np.ndarray:
        """G_i of one unit, (P, P)."""
        gram = self.stats.gram
        return gram if gram.ndim == 2 else gram[unit]

    def pooled_fit_of(self, units: np.ndarray) -> np.ndarray:
        """The least-squares fit pooled over ``units`` (minimum-norm if not identified), (P,)."""
        stats = self.stats
        if stats.gram.ndim == 2:
            return stats.ols[units].mean(axis=0)
        gram = stats.gram[units].sum(axis=0)
        cross = np.einsum("npq,nq->p", stats.gram[units], stats.ols[units])
        return np.linalg.lstsq(gram, cross, rcond=None)[0]

    def metric(self) -> np.ndarray:
        """The average Gram matrix, (P, P): the likelihood's metric between segments."""
        return self.total_gram() / self.n_stores

    def pooled_fit(self) -> np.ndarray:
        """The pooled least-squares fit (sum_i G_i)^-1 sum_i G_i b_i, shape (P,)."""
        if self.stats.shared_gram:
            # one design for every unit: the pooled fit is the mean of the units' own fits
            return self.stats.ols.mean(axis=0)
        cross = np.einsum("npq,nq->p", self.stats.gram, self.stats.ols)
        return np.linalg.solve(self.total_gram(), cross)

    def _data_scale(self) -> float:
        """sqrt(RSS of the pooled fit / n): zero only when every unit lies on one line."""
        rss = -2.0 * self.half_base.sum()
        scale = float(np.sqrt(max(rss, 0.0) / max(self.n_total, 1.0)))
        return scale if scale > 0 and np.isfinite(scale) else 1.0

    # -- log-density and E-step pieces ------------------------------------------------------

    def log_density(self, theta: np.ndarray, sigma: np.ndarray | None = None) -> np.ndarray:
        """log f_ic for every restart, segment and unit (see :meth:`joint_log_density`)."""
        return self.joint_log_density(theta, sigma, None)

    def joint_log_density(
        self, theta: np.ndarray, sigma: np.ndarray | None, log_pi: np.ndarray | None
    ) -> np.ndarray:
        """log f_ic + log pi_c for every restart, segment and unit, as one matrix product.

        log f_ic = (h_i' t_c - 1/2 t_c' G_i t_c - 1/2 A_i) / sigma_c^2 - n_i log sigma_c
        - n_i/2 log(2 pi) is linear in the unit's columns (h_i, the entries of G_i,
        A_i, n_i, 1), so one (R K, d) @ (d, N) product gives every term at once;
        a term that is the same for every unit (t' G t with a shared design,
        n_i log sigma_c in a balanced panel) joins the constant column.

        Parameters
        ----------
        theta : ndarray of shape (R, K, P)
        sigma : ndarray of shape (R, K), optional
            Error standard deviations; None means 1 (no sigma enters the arithmetic).
        log_pi : ndarray of shape (R, K), optional
            Log prior probabilities (constant over units); None adds nothing.

        Returns
        -------
        ndarray of shape (R, K, N)
            Units last, so that sums over segments run over contiguous rows.
        """
        n_restarts, n_components, n_coef = theta.shape
        shifted = (theta - self.center).reshape(-1, n_coef)
        rows = len(shifted)
        quad = self.quad_terms(shifted)
        shared = quad.ndim == 1  # the same for every unit: joins the constant
        left = np.empty((rows, self._e_columns.shape[0]))
        constant = left[:, -1]
        constant[:] = 0.0 if log_pi is None else log_pi.reshape(-1)
        if sigma is None:
            left[:, :n_coef] = shifted
            stop = n_coef
            if shared:
                constant -= 0.5 * quad
            else:
                stop = n_coef + quad.shape[1]
                left[:, n_coef:stop] = -0.5 * quad
            left[:, stop] = 1.0
            log_sigma = 0.0
        else:
            flat = sigma.reshape(-1)
            inverse = 1.0 / (flat * flat)
            left[:, :n_coef] = shifted * inverse[:, None]
            stop = n_coef
            if shared:
                constant -= 0.5 * quad * inverse
            else:
                stop = n_coef + quad.shape[1]
                left[:, n_coef:stop] = -0.5 * quad * inverse[:, None]
            left[:, stop] = inverse
            log_sigma = np.log(flat)
        if self._equal_obs:
            constant += self.offset[0] - log_sigma * self.n_obs[0]
        else:
            left[:, stop + 1] = -log_sigma
            left[:, stop + 2] = 1.0
        out = left @ self._e_columns
        return out.reshape(n_restarts, n_components, self.n_stores)

    @property
    def _equal_obs(self) -> bool:
        """Every unit has the same number of observations (balanced panel, ungrouped rows)."""
        cached = self.__dict__.get("_equal_cache")
        if cached is None:
            cached = bool(np.all(self.n_obs == self.n_obs[0]))
            self.__dict__["_equal_cache"] = cached
        return cached

    @property
    def _e_columns(self) -> np.ndarray:
        """The unit-side matrix of :meth:`joint_log_density`, (d, N), built once."""
        cached = self.__dict__.get("_e_cache")
        if cached is None:
            rows = [self.h_t, *self.quad_columns(), self.half_base[None]]
            if not self._equal_obs:
                rows += [self.n_obs[None], self.offset[None]]
            rows.append(np.ones((1, self.n_stores)))
            cached = np.ascontiguousarray(np.concatenate(rows, axis=0))
            self.__dict__["_e_cache"] = cached
        return cached

    @abstractmethod
    def quad_terms(self, shifted: np.ndarray) -> np.ndarray:
        """Coefficients of t' G_i t: (M,) values (shared G) or (M, T) on :meth:`quad_columns`."""

    @abstractmethod
    def quad_columns(self) -> list[np.ndarray]:
        """Unit-side rows that t' G_i t is linear in: none (shared) or the packed G_i (T, N)."""

    def residual_pieces(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """u_ic = G_i (b_i - theta_c) = X_i'(y_i - X_i theta_c) and D_ic.

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
        """Posterior-weighted sums over the units, as one matrix product.

        Parameters
        ----------
        W : ndarray of shape (R, K, N)
        with_sigma : bool
            Also the sums the variance update needs (always computed; kept only then).
        """
        n_restarts, n_components, n_stores = W.shape
        sums = W.reshape(-1, n_stores) @ self._m_columns
        sums = sums.reshape(n_restarts, n_components, -1)
        n_coef, n_gram = self.n_coef, self._m_columns.shape[1] - self.n_coef - 3
        return PosteriorSums(
            weight=sums[..., -1],
            moment=sums[..., :n_coef],
            gram=sums[..., n_coef : n_coef + n_gram] if n_gram else None,
            base=sums[..., -3] if with_sigma else None,
            n_obs=sums[..., -2] if with_sigma else None,
        )

    @property
    def _m_columns(self) -> np.ndarray:
        """The unit-side matrix of :meth:`posterior_sums`, (N, d'), built once:
        moment columns, packed G_i (per-unit Gram only), A_i, n_i, 1."""
        cached = self.__dict__.get("_m_cache")
        if cached is None:
            columns = [
                *self.moment_columns(),
                -2.0 * self.half_base[:, None],
                self.n_obs[:, None],
                np.ones((self.n_stores, 1)),
            ]
            cached = np.ascontiguousarray(np.concatenate(columns, axis=1))
            self.__dict__["_m_cache"] = cached
        return cached

    @abstractmethod
    def moment_columns(self) -> list[np.ndarray]:
        """Unit-side columns of the M-step's moments: [b_i - m] (shared) or [h_i, packed G_i]."""

    def m_step(self, sums: PosteriorSums, sigma_mode: SigmaMode = "fixed") -> ComponentStep:
        """The component's M-step from posterior sums: weighted least squares and variances.

        theta_c = (sum_i w_ic G_i)^-1 sum_i w_ic G_i b_i (the same whatever sigma is);
        sigma_c^2 = sum_i w_ic D_ic / sum_i w_ic n_i (pooled over segments when
        common), floored at :attr:`sigma_floor`.
        """
        weight = sums.weight
        shifted, lhs, weighted_h = self.solve(sums, with_variance=sigma_mode != "fixed")
        theta = shifted + self.center
        floored = np.zeros(weight.shape[0], dtype=bool)
        if sigma_mode == "fixed":
            return ComponentStep(theta, None, floored)
        # sum_i w_ic D_ic(theta_c) = sum w A_i - 2 t_c' sum w h_i + t_c' (sum w G_i) t_c
        quad = np.einsum("rkp,rkpq,rkq->rk", shifted, lhs, shifted)
        deviance = sums.base - 2.0 * np.einsum("rkp,rkp->rk", shifted, weighted_h) + quad
        if sigma_mode == "common":
            variance = deviance.sum(axis=1, keepdims=True) / sums.n_obs.sum(axis=1, keepdims=True)
            variance = np.broadcast_to(variance, weight.shape)
        else:
            # an emptied segment (its start is about to stop as degenerate) keeps a finite sigma
            emptied = sums.n_obs < MIN_SEGMENT_WEIGHT
            variance = np.where(
                emptied, self.scale**2, deviance / np.where(emptied, 1.0, sums.n_obs)
            )
        floor = self.sigma_floor**2
        low = ~(variance >= floor)
        sigma = np.sqrt(np.where(low, floor, variance))
        return ComponentStep(theta, sigma, low.any(axis=1))

    # -- derivatives ----------------------------------------------------------------------

    def unit_derivatives(
        self, theta: np.ndarray, sigma: np.ndarray | None, W: np.ndarray
    ) -> UnitDerivatives:
        """Gradient of log f_ic per unit and its posterior-weighted curvature, per segment.

        With ~u = u / sigma_c^2 and v_ic = D_ic / sigma_c^2 - n_i, in (theta_c, tau_c),
        tau = log sigma:

            d log f / d theta_c = ~u_ic,              d log f / d tau_c = v_ic,
            d^2 log f / d theta_c^2 = -G_i / sigma_c^2,
            d^2 log f / d theta_c d tau_c = -2 ~u_ic,
            d^2 log f / d tau_c^2 = -2 D_ic / sigma_c^2.

        Parameters
        ----------
        theta : ndarray of shape (R, K, P)
        sigma : ndarray of shape (R, K) or None
            None: sigma fixed at 1 (no tau coordinate).
        W : ndarray of shape (R, K, n)
            Posteriors of this block's units.

        Returns
        -------
        UnitDerivatives
        """
        u, D = self.residual_pieces(theta)
        wgram = self.weighted_gram(W)
        if sigma is None:
            return UnitDerivatives(grad=u, curvature=-wgram)
        variance = sigma**2
        u /= variance[..., None, None]
        scaled = D / variance[..., None]
        v = scaled - self.n_obs
        grad = np.concatenate([u, v[..., None]], axis=3)
        n_coef = self.n_coef
        curvature = np.empty((*theta.shape[:2], n_coef + 1, n_coef + 1))
        curvature[..., :n_coef, :n_coef] = -wgram / variance[..., None, None]
        cross = -2.0 * np.einsum("rkn,rknp->rkp", W, u)
        curvature[..., :n_coef, n_coef] = cross
        curvature[..., n_coef, :n_coef] = cross
        curvature[..., n_coef, n_coef] = -2.0 * np.einsum("rkn,rkn->rk", W, scaled)
        return UnitDerivatives(grad=grad, curvature=curvature)

    def naive_information(self, W: np.ndarray, sigma: np.ndarray | None) -> np.ndarray:
        """The complete-data information of each segment's (theta_c, [tau_c]), posteriors known.

        theta: sum_i w_ic G_i / sigma_c^2 (weighted least squares); tau: the textbook
        2 sum_i w_ic n_i; no cross term.

        Parameters
        ----------
        W : ndarray of shape (K, N)
        sigma : ndarray of shape (K,) or None

        Returns
        -------
        ndarray of shape (K, Pc, Pc)
        """
        wgram = self.weighted_gram(W[None])[0]
        if sigma is None:
            return wgram
        n_coef = self.n_coef
        info = np.zeros((len(W), n_coef + 1, n_coef + 1))
        info[:, :n_coef, :n_coef] = wgram / sigma[:, None, None] ** 2
        info[:, n_coef, n_coef] = 2.0 * (W @ self.n_obs)
        return info

    # -- starts, distances and draws --------------------------------------------------------

    def start_sigma(self) -> float:
        """A starting sigma: the pooled within-unit residual SD where units have residual
        degrees of freedom, else the data's scale (ungrouped observations)."""
        dof = float(np.sum(self.stats.n_obs - self.n_coef))
        rss = float(self.stats.rss.sum())
        if dof > 0 and rss > 0:
            return float(np.sqrt(rss / dof))
        return self.scale

    def distance_to(self, centre: np.ndarray) -> np.ndarray:
        """(b_i - centre)' G_i (b_i - centre) = D_i(centre) - RSS_i for every unit, shape (N,)."""
        diff = self.stats.ols - centre
        return np.maximum(np.einsum("np,np->n", diff, self.apply_gram(diff)), 0.0)

    def duplicate_segments(self, theta: np.ndarray, sigma: np.ndarray) -> bool:
        """Whether two segments have the same parameters within ``DUPLICATE_TOL``.

        Fitted values are compared per observation, sqrt((a - b)' Gbar (a - b) / nbar),
        relative to the data's scale (Gbar the mean Gram matrix, nbar the mean
        number of observations per unit), and sigmas relative to each other.

        Parameters
        ----------
        theta : ndarray of shape (K, P)
        sigma : ndarray of shape (K,)
        """
        per_obs = self.metric() / max(float(np.mean(self.n_obs)), 1.0)
        gaps = segment_distances(theta, per_obs) / self.scale
        close = gaps < DUPLICATE_TOL
        similar = np.abs(sigma[:, None] - sigma[None, :]) <= DUPLICATE_TOL * sigma[:, None]
        return bool(np.any(np.triu(close & similar, k=1)))

    def draw_stats(
        self,
        theta: np.ndarray,
        segment: np.ndarray,
        rng: np.random.Generator,
        sigma: np.ndarray | None = None,
    ) -> SufficientStats:
        """Sufficient statistics of a data set drawn from the component, with this design.

        Same N, Gram matrices and observations per unit: given unit i's segment c_i,
        b_i ~ N(P_i theta_{c_i}, sigma_{c_i}^2 G_i^+) with P_i = G_i^+ G_i and
        RSS_i ~ sigma_{c_i}^2 chi2(n_i - rank G_i), independently, which is exact
        for y_i = X_i theta_c + sigma_c eps_i with b_i the minimum-norm solution
        (and all EM reads).

        Parameters
        ----------
        theta : ndarray of shape (K, P)
        segment : ndarray of int, shape (N,)
            Every unit's segment (drawn by the prior model).
        rng : numpy Generator
        sigma : ndarray of shape (K,), optional
            None means 1.

        Returns
        -------
        SufficientStats
        """
        stats = self.stats
        n_stores, n_coef = stats.n_stores, stats.n_coef
        noise = rng.standard_normal((n_stores, n_coef))
        shift, projector = self.noise_shift(noise)
        if projector is None:
            mean = theta[segment]
            dof = stats.n_obs - n_coef
        else:
            mean = np.einsum("npq,nq->np", projector, theta[segment])
            dof = stats.n_obs - np.rint(np.einsum("npp->n", projector))
        rss = np.where(dof > 0, rng.chisquare(np.maximum(dof, 1.0)), 0.0)
        if sigma is not None:
            shift *= sigma[segment, None]
            rss *= sigma[segment] ** 2
        return SufficientStats(ols=mean + shift, rss=rss, gram=stats.gram, n_obs=stats.n_obs)


class SharedDesign(ComponentDriver):
    """Every unit has the same Gram matrix X'X (balanced panel, common prices)."""

    def __init__(
        self, stats: SufficientStats, center: np.ndarray | None = None, scale: float | None = None
    ) -> None:
        self.gram = stats.gram
        super().__init__(stats, center, scale)

    def apply_gram(self, diff: np.ndarray) -> np.ndarray:
        return diff @ self.gram

    def quad_terms(self, shifted: np.ndarray) -> np.ndarray:
        return np.einsum("mp,pq,mq->m", shifted, self.gram, shifted)

    def quad_columns(self) -> list[np.ndarray]:
        return []

    def moment_columns(self) -> list[np.ndarray]:
        return [self.centered]

    def solve(
        self, sums: PosteriorSums, with_variance: bool = True
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        weight = sums.weight
        shifted = sums.moment / np.maximum(weight, _TINY)[..., None]
        if not with_variance:
            return shifted, None, None
        lhs = weight[..., None, None] * self.gram
        return shifted, lhs, sums.moment @ self.gram

    def weighted_gram(self, W: np.ndarray) -> np.ndarray:
        return W.sum(axis=2)[..., None, None] * self.gram

    def total_gram(self) -> np.ndarray:
        return self.n_stores * self.gram

    def metric(self) -> np.ndarray:
        return self.gram

    def noise_shift(self, noise: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        chol = np.linalg.cholesky(self.gram)  # G = L L'  =>  L'^-1 z ~ N(0, G^-1)
        return np.linalg.solve(chol.T, noise.T).T, None


class UnitGrams(ComponentDriver):
    """Each unit has its own Gram matrix G_i = X_i'X_i (missing weeks, own regressors,
    ungrouped observations); G_i may be singular.

    The Gram matrices are kept packed, their P(P+1)/2 upper-triangular entries per
    unit, in both layouts the products read contiguously.
    """

    def __init__(
        self, stats: SufficientStats, center: np.ndarray | None = None, scale: float | None = None
    ) -> None:
        rows, cols = np.triu_indices(stats.n_coef)
        self._rows, self._cols = rows, cols
        self._twice = np.where(rows == cols, 1.0, 2.0)  # t'Gt counts off-diagonal pairs twice
        self.gram_packed = np.ascontiguousarray(stats.gram[:, rows, cols])
        super().__init__(stats, center, scale)
        self.h = np.ascontiguousarray(self.h_t.T)

    def _unpack(self, packed: np.ndarray) -> np.ndarray:
        """(..., P(P+1)/2) -> symmetric (..., P, P)."""
        n_coef = self.n_coef
        out = np.empty((*packed.shape[:-1], n_coef, n_coef))
        out[..., self._rows, self._cols] = packed
        out[..., self._cols, self._rows] = packed
        return out

    def apply_gram(self, diff: np.ndarray) -> np.ndarray:
        return np.einsum("npq,...nq->...np", self.stats.gram, diff)

    def quad_terms(self, shifted: np.ndarray) -> np.ndarray:
        return shifted[:, self._rows] * shifted[:, self._cols] * self._twice

    def quad_columns(self) -> list[np.ndarray]:
        return [self.gram_packed.T]

    def moment_columns(self) -> list[np.ndarray]:
        return [self.h, self.gram_packed]

    def solve(
        self, sums: PosteriorSums, with_variance: bool = True
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        weight = sums.weight
        n_coef = self.n_coef
        lhs = self._unpack(sums.gram)
        # a collapsed segment's lhs is ~0; its restart is discarded, so keep it solvable
        solvable = lhs + np.eye(n_coef) * (weight < MIN_SEGMENT_WEIGHT)[..., None, None]
        try:
            shifted = np.linalg.solve(solvable, sums.moment[..., None])[..., 0]
        except np.linalg.LinAlgError:
            # a segment whose units' designs are jointly rank deficient (a regressor that
            # never varies among them): the minimum-norm solution; no certificate follows
            shifted = (np.linalg.pinv(solvable) @ sums.moment[..., None])[..., 0]
        return shifted, lhs, sums.moment

    def weighted_gram(self, W: np.ndarray) -> np.ndarray:
        n_restarts, n_components, _ = W.shape
        flat = W.reshape(n_restarts * n_components, -1) @ self.gram_packed
        return self._unpack(flat).reshape(n_restarts, n_components, self.n_coef, self.n_coef)

    def total_gram(self) -> np.ndarray:
        return self.stats.gram.sum(axis=0)

    def noise_shift(self, noise: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        gram = self.stats.gram
        try:
            chol = np.linalg.cholesky(gram)
        except np.linalg.LinAlgError:
            pass
        else:
            return np.linalg.solve(np.swapaxes(chol, 1, 2), noise[..., None])[..., 0], None
        # some unit has fewer observations than regressors: on the range of G_i,
        # G_i^+ = V diag(1/l) V', so V diag(1/sqrt(l)) V' z ~ N(0, G_i^+)
        values, vectors = np.linalg.eigh(gram)
        top = values.max(axis=1, keepdims=True)
        keep = values > top * gram.shape[1] * np.finfo(float).eps
        root = np.where(keep, 1.0 / np.sqrt(np.where(keep, values, 1.0)), 0.0)
        coords = np.einsum("nqp,nq->np", vectors, noise) * root
        projector = np.einsum("npk,nqk->npq", vectors * keep[:, None, :], vectors)
        return np.einsum("npk,nk->np", vectors, coords), projector


class SingleRows(UnitGrams):
    """Every unit is one observation (x_i, y_i): ungrouped data.

    The rows are read back from the statistics (G_i = x_i x_i', y_i = x_i'b_i, up to
    a common sign) and the residual r_ic = y_i - x_i'theta_c is computed directly:
    a segment on a nearly exact line has deviances D_ic = r_ic^2 far below the
    squared distances to the pooled fit that the expansion of :class:`UnitGrams`
    subtracts, and only the direct residual keeps their relative precision (the
    Newton decrement of such a maximum sits at the rounding floor otherwise).
    The M-step's sums are :class:`UnitGrams`'s.
    """

    def __init__(
        self, stats: SufficientStats, center: np.ndarray | None = None, scale: float | None = None
    ) -> None:
        gram = stats.gram
        diagonal = np.einsum("npp->np", gram)
        lead = diagonal.argmax(axis=1)
        units = np.arange(stats.n_stores)
        root = np.sqrt(np.maximum(diagonal[units, lead], np.finfo(float).tiny))
        self.rows = np.ascontiguousarray(gram[units, :, lead] / root[:, None])
        self.response = np.einsum("np,np->n", self.rows, stats.ols)
        super().__init__(stats, center, scale)

    def joint_log_density(
        self, theta: np.ndarray, sigma: np.ndarray | None, log_pi: np.ndarray | None
    ) -> np.ndarray:
        n_restarts, n_components, n_coef = theta.shape
        flat = theta.reshape(-1, n_coef)
        residual = self.response - flat @ self.rows.T  # (M, N)
        residual *= residual
        constant = np.full(len(flat), self.offset[0])
        if log_pi is not None:
            constant += log_pi.reshape(-1)
        if sigma is None:
            residual *= -0.5
        else:
            variance = sigma.reshape(-1) ** 2
            residual *= (-0.5 / variance)[:, None]
            constant -= np.log(sigma.reshape(-1))
        residual += constant[:, None]
        return residual.reshape(n_restarts, n_components, self.n_stores)

    def residual_pieces(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        residual = self.response - theta @ self.rows.T  # (R, K, N)
        return residual[..., None] * self.rows, residual * residual


StoreGrams = UnitGrams
"""The earlier name of :class:`UnitGrams` (a Gram matrix per store)."""


def simulate_outcomes(
    X: np.ndarray, theta_rows: np.ndarray, scale: float | np.ndarray, noise: np.ndarray
) -> np.ndarray:
    """Outcomes drawn from the component: y_it = x_it' theta_{c_i} + sigma_{c_i} eps_it.

    Parameters
    ----------
    X : ndarray of shape (T, P) or (N, T, P)
        The design shared by every unit, or each unit's own.
    theta_rows : ndarray of shape (N, P)
        Each unit's segment coefficients.
    scale : float or ndarray of shape (N, 1)
        Error standard deviation, common or of each unit's segment.
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
        A Gram matrix (X'X: the distance of the fitted values over all observations).
    """
    diff = theta[:, None, :] - theta[None, :, :]
    return np.sqrt(np.maximum(np.einsum("abp,pq,abq->ab", diff, gram, diff), 0.0))


_DRIVER_KEY = "_component_driver"
"""Where :func:`component_driver` keeps a statistics object's driver: in the object itself.
A table keyed by weak references would keep every object alive, since the driver refers to
its statistics (``driver.stats``); on the object the pair is a cycle the collector frees."""


def component_driver(stats: SufficientStats) -> ComponentDriver:
    """The driver for ``stats``: :class:`SharedDesign`, :class:`SingleRows` or :class:`UnitGrams`.

    Built once per statistics object and cached on it (not pickled with it), so the
    fits, standard errors and tests of one data set share it.

    Parameters
    ----------
    stats : SufficientStats

    Returns
    -------
    ComponentDriver
    """
    driver = stats.__dict__.get(_DRIVER_KEY)
    if driver is None:
        if stats.shared_gram:
            driver = SharedDesign(stats)
        elif np.all(stats.n_obs == 1) and not np.any(stats.rss):
            driver = SingleRows(stats)
        else:
            driver = UnitGrams(stats)
        stats.__dict__[_DRIVER_KEY] = driver  # as functools.cached_property does (frozen)
    return driver


def store_blocks(n_stores: int, block: int = STORE_BLOCK) -> list[tuple[int, int]]:
    """Consecutive (start, stop) ranges of at most ``block`` units covering 0..N."""
    return [(start, min(start + block, n_stores)) for start in range(0, n_stores, block)]
