"""The parameter space of a K-segment mixture: one object for every coordinate system.

A parameter set is (theta (K, P), the prior's state, sigma (K,)): segment
coefficients, the prior model's parameters (pi, or the concomitant coefficients
gamma; :mod:`estimator.prior`) and the error standard deviations. Three
coordinate systems are in use, all laid out as

    psi = (theta_1, ..., theta_K, prior parameters, tau),   tau = log sigma,

with D = K P + n_prior + S entries (S = 0, 1 or K sigma parameters):

* **Newton** (unconstrained): the prior in its log-ratio (constant pi: eta_c =
  log(pi_c / pi_K)) or gamma coordinates; the loop's polishing steps and
  certificate live here;
* **free** (standard errors): constant pi as pi_1, ..., pi_{K-1}; gamma as is;
* **SQUAREM**: theta divided by its scale (so that the extrapolation does not
  depend on the units of y or of a regressor), the prior's SQUAREM coordinates
  (log pi, or gamma), log sigma.

The assignment's flat theta (alpha_1, beta_1, ..., alpha_K, beta_K) is theta
row by row. This module also gives the parameter names, the count of free
parameters, the Jacobian from the free coordinates to (theta, pi_1..pi_K, tau)
and the permutation that reorders segments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from .params import n_sigma_params, sigma_groups
from .prior import ConstantPrior, LogitPrior, PriorModel, pi_jacobian


@dataclass(frozen=True, eq=False)
class ParameterSpace:
    """Coordinates of the parameters of K segments with P coefficients.

    Parameters
    ----------
    prior : PriorModel
    n_coef : int
        P.
    sigma_mode : {"fixed", "common", "segment"}
    theta_scale : ndarray of shape (P,), optional
        Scale of each coefficient in the SQUAREM coordinates (theta / scale);
        ones by default.
    """

    prior: PriorModel
    n_coef: int
    sigma_mode: str
    theta_scale: np.ndarray | None = field(default=None)

    @property
    def n_components(self) -> int:
        """K."""
        return self.prior.n_components

    @cached_property
    def n_theta(self) -> int:
        """K P."""
        return self.n_components * self.n_coef

    @cached_property
    def n_prior(self) -> int:
        """Free parameters of the prior: K - 1, or (K - 1) Q with concomitants."""
        return self.prior.n_params

    @cached_property
    def n_sigma(self) -> int:
        """S: 0 (fixed), 1 (common) or K (segment)."""
        return n_sigma_params(self.sigma_mode, self.n_components)

    @cached_property
    def dim(self) -> int:
        """D = K P + n_prior + S, the number of free parameters."""
        return self.n_theta + self.n_prior + self.n_sigma

    @cached_property
    def prior_slice(self) -> slice:
        """Where the prior's parameters sit in psi."""
        return slice(self.n_theta, self.n_theta + self.n_prior)

    @cached_property
    def sigma_slice(self) -> slice:
        """Where tau = log sigma sits in psi."""
        return slice(self.n_theta + self.n_prior, self.dim)

    @cached_property
    def groups(self) -> np.ndarray:
        """(K, S) 0/1: which tau each segment uses."""
        return sigma_groups(self.n_components, self.n_sigma)

    def component_index(self) -> np.ndarray:
        """Positions in psi of each segment's own (theta_c, [tau_c]): (K, P) or (K, P + 1).

        The tau position is shared by every segment when sigma is common.
        """
        return self._component_index

    @cached_property
    def _component_index(self) -> np.ndarray:
        K, P = self.n_components, self.n_coef
        theta = np.arange(K * P).reshape(K, P)
        if not self.n_sigma:
            return theta
        start = self.sigma_slice.start
        tau = start + (np.arange(K) if self.n_sigma == K else np.zeros(K, dtype=int))
        return np.column_stack([theta, tau])

    # -- Newton's coordinates ----------------------------------------------------------------

    def to_newton(self, theta: np.ndarray, prior: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        """(R, D) Newton coordinates of R parameter sets."""
        return self._stack(theta, self.prior.to_newton(prior), sigma)

    def from_newton(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(theta (R, K, P), prior state, sigma (R, K)) of Newton coordinates (R, D)."""
        theta = x[:, : self.n_theta].reshape(-1, self.n_components, self.n_coef)
        prior = self.prior.from_newton(x[:, self.prior_slice])
        return theta, prior, self._sigma(x[:, self.sigma_slice])

    # -- SQUAREM's coordinates -----------------------------------------------------------------

    def to_squarem(self, theta: np.ndarray, prior: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        """(R, d) SQUAREM coordinates: theta / scale, the prior's, log sigma."""
        scaled = theta if self.theta_scale is None else theta / self.theta_scale
        return self._stack(scaled, self.prior.to_squarem(prior), sigma)

    def from_squarem(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The parameter sets of SQUAREM coordinates ``x`` (R, d)."""
        theta = x[:, : self.n_theta].reshape(-1, self.n_components, self.n_coef)
        if self.theta_scale is not None:
            theta = theta * self.theta_scale
        width = x.shape[1] - self.n_theta - self.n_sigma
        prior = self.prior.from_squarem(x[:, self.n_theta : self.n_theta + width])
        return theta, prior, self._sigma(x[:, self.n_theta + width :])

    def _stack(self, theta: np.ndarray, prior: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        """theta (R, K, P) flattened, the prior's coordinates (R, .) and log sigma, side by side."""
        parts = [theta.reshape(len(theta), -1), prior]
        if self.n_sigma:
            parts.append(np.log(sigma[:, : self.n_sigma]))
        return np.concatenate(parts, axis=1)

    def _sigma(self, log_sigma: np.ndarray) -> np.ndarray:
        if not self.n_sigma:
            return np.ones((len(log_sigma), self.n_components))
        sigma = np.exp(log_sigma)
        return np.broadcast_to(sigma, (len(sigma), self.n_components)).copy()

    # -- names, Jacobian, reordering -------------------------------------------------------

    def names(
        self,
        coef_names: tuple[str, ...],
        covariate_names: tuple[str, ...] | None = None,
    ) -> list[str]:
        """Names of psi in the free coordinates: alpha_1, ..., pi_{K-1} or gamma, [log sigma]."""
        K = self.n_components
        names = [f"{name}_{c + 1}" for c in range(K) for name in coef_names]
        if self.prior.concomitant:
            covariate_names = covariate_names or tuple(
                f"z{q}" for q in range(self.prior.n_params // max(K - 1, 1))
            )
            names += [f"gamma_{c + 1}[{z}]" for c in range(K - 1) for z in covariate_names]
        else:
            names += [f"pi_{c + 1}" for c in range(K - 1)]
        if self.sigma_mode == "common":
            return names + ["log_sigma"]
        return names + [f"log_sigma_{c + 1}" for c in range(self.n_sigma)]

    def free_to_full(self) -> np.ndarray:
        """Jacobian of (theta flat, pi_1..pi_K, tau) w.r.t. the free coordinates (constant pi).

        Shape (K P + K + S, D); with concomitants the prior block is the identity on gamma.
        """
        K = self.n_components
        n_theta, n_sigma = self.n_theta, self.n_sigma
        n_prior_full = self.n_prior if self.prior.concomitant else K
        jac = np.zeros((n_theta + n_prior_full + n_sigma, self.dim))
        jac[:n_theta, :n_theta] = np.eye(n_theta)
        block = np.eye(self.n_prior) if self.prior.concomitant else pi_jacobian(K)
        jac[n_theta : n_theta + n_prior_full, self.prior_slice] = block
        jac[n_theta + n_prior_full :, self.sigma_slice] = np.eye(n_sigma)
        return jac

    def reorder_map(self, order: np.ndarray) -> np.ndarray:
        """Matrix M (D, D) with psi' = M psi the free coordinates after permuting segments.

        theta and tau are permuted; with concomitants gamma'_c = gamma_{order[c]} -
        gamma_{order[K-1]} (the new reference row), a linear map, so a covariance
        transforms as M V M'. Constant pi uses :meth:`full_order` instead.
        """
        K, P = self.n_components, self.n_coef
        jac = np.zeros((self.dim, self.dim))
        theta_index = (order[:, None] * P + np.arange(P)).ravel()
        jac[np.arange(self.n_theta), theta_index] = 1.0
        if self.prior.concomitant:
            Q = self.n_prior // (K - 1)
            full = np.zeros((K * Q, self.n_prior))  # full gamma (K rows) of the free K - 1
            full[: self.n_prior] = np.eye(self.n_prior)
            select = np.zeros((K * Q, K * Q))
            for c in range(K):
                for q in range(Q):
                    select[c * Q + q, order[c] * Q + q] = 1.0
                    select[c * Q + q, order[-1] * Q + q] -= 1.0
            jac[self.prior_slice, self.prior_slice] = (select @ full)[: self.n_prior]
        tau = self.sigma_slice.start
        sigma_order = order if self.n_sigma == K else np.arange(self.n_sigma)
        jac[tau + np.arange(self.n_sigma), tau + sigma_order] = 1.0
        return jac

    def full_order(self, order: np.ndarray) -> np.ndarray:
        """Index into (theta flat, pi_1..pi_K, tau) that permutes segments by ``order``.

        Constant prior only (the full pi has one entry per segment).
        """
        K, P = self.n_components, self.n_coef
        n_base = K * (P + 1)
        sigma_index = n_base + (order if self.n_sigma == K else np.arange(self.n_sigma))
        return np.concatenate(
            [(order[:, None] * P + np.arange(P)).ravel(), K * P + order, sigma_index]
        )


def theta_scale(metric: np.ndarray, n_obs: float, scale: float) -> np.ndarray:
    """The scale of each coefficient, shape (P,): s / sqrt(Gbar_jj / nbar).

    ``metric`` is the mean Gram matrix Gbar, ``n_obs`` the mean number of
    observations per unit nbar and ``scale`` the data's scale s; theta_j / scale_j
    is the effect of regressor j's root mean square in units of s, free of the
    units of y and of the regressor.
    """
    root = np.sqrt(np.maximum(np.diag(metric) / max(n_obs, 1.0), np.finfo(float).tiny))
    return scale / root


def space_of(
    n_components: int, n_coef: int, sigma_mode: str = "fixed", n_covariates: int | None = None
) -> ParameterSpace:
    """The parameter space of K segments without data (names, counts, Jacobians).

    ``n_covariates`` Q: a concomitant prior with Q covariates; None: constant pi.
    """
    if n_covariates is None:
        prior: PriorModel = ConstantPrior(n_components, 1)
    else:
        prior = LogitPrior(n_components, np.ones((1, n_covariates)))
    return ParameterSpace(prior, n_coef, sigma_mode)
