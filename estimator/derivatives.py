"""Score and Hessian of the mixture log-likelihood, exact and analytic: the generic assembly.

Unit i contributes l_i = logsumexp_c a_ic with a_ic = log pi_ic + log f_ic. With
posteriors w_ic, g_ic the gradient of a_ic and s_i = sum_c w_ic g_ic the unit's
score, the Hessian of a log-sum-exp is

    d^2 l_i = sum_c w_ic (d^2 a_ic + g_ic g_ic') - s_i s_i'.

a_ic depends on segment c's own component parameters (theta_c and, when sigma
is estimated, its tau = log sigma, shared by every segment when common) and on
the prior's parameters. This module only assembles: the component's derivatives
of log f_ic come from the driver (:meth:`estimator.driver.ComponentDriver.unit_derivatives`),
the prior's derivatives of log pi_ic from the prior model
(:mod:`estimator.prior`), and the parameter space (:mod:`estimator.space`)
says where each piece sits in psi = (theta_1, ..., theta_K, prior, tau).
Summed over units everything reduces to posterior-weighted sums, so the cost is
O(N K P^2 + N D^2) per parameter set and the units are visited in blocks
(memory flat in N). Everything is batched over R parameter sets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .driver import ComponentDriver
from .prior import Coordinates, PriorModel
from .space import ParameterSpace


@dataclass(frozen=True, eq=False)
class Derivatives:
    """Log-likelihood, gradient and Hessian of R parameter sets.

    Attributes
    ----------
    loglik : ndarray of shape (R,)
    score : ndarray of shape (R, D)
    hessian : ndarray of shape (R, D, D)
        Symmetric.
    posteriors : ndarray of shape (R, K, N) or None
        Only when asked for.
    store_scores : ndarray of shape (R, N, D) or None
        Only when asked for.
    """

    loglik: np.ndarray
    score: np.ndarray
    hessian: np.ndarray
    posteriors: np.ndarray | None = None
    store_scores: np.ndarray | None = None


def posteriors_and_loglik(
    part: ComponentDriver,
    prior: PriorModel,
    rows: slice,
    theta: np.ndarray,
    prior_state: np.ndarray,
    sigma: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-unit log-likelihood and posteriors of one block of units, in log space.

    Parameters
    ----------
    part : ComponentDriver
        The block's driver.
    prior : PriorModel
    rows : slice
        The block's units among all N.
    theta : ndarray of shape (R, K, P)
    prior_state : ndarray
        pi (R, K) or gamma (R, K, Q).
    sigma : ndarray of shape (R, K) or None

    Returns
    -------
    per_unit : ndarray of shape (R, n)
        l_i = log sum_c pi_ic f_ic (log-sum-exp shifted by the maximum).
    W : ndarray of shape (R, K, n)
        Posteriors; W[r, :, i] sums to 1.
    """
    if prior.concomitant:
        W = part.joint_log_density(theta, sigma, None)
        W += prior.log_prior(prior_state, rows)
    else:
        W = part.joint_log_density(theta, sigma, prior.log_prior(prior_state, rows)[..., 0])
    top = W.max(axis=1, keepdims=True)
    W -= top
    np.exp(W, out=W)
    total = W.sum(axis=1, keepdims=True)
    W /= total
    per_unit = np.log(total)
    per_unit += top
    return per_unit[:, 0, :], W


def mixture_derivatives(
    driver: ComponentDriver,
    prior: PriorModel,
    space: ParameterSpace,
    theta: np.ndarray,
    prior_state: np.ndarray,
    sigma: np.ndarray | None,
    coords: Coordinates = "logratio",
    keep_posteriors: bool = False,
    keep_store_scores: bool = False,
) -> Derivatives:
    """Log-likelihood, score and Hessian in psi (module docstring).

    Parameters
    ----------
    driver : ComponentDriver
    prior : PriorModel
    space : ParameterSpace
    theta : ndarray of shape (R, K, P)
    prior_state : ndarray
        pi (R, K), all entries positive, or gamma (R, K, Q).
    sigma : ndarray of shape (R, K) or None
        Each segment's sigma (equal entries when common); None when fixed at 1.
    coords : {"free", "logratio"}
        Coordinates of constant mixing proportions (:mod:`estimator.prior`).
    keep_posteriors, keep_store_scores : bool
        Also return the (R, K, N) posteriors / the (R, N, D) unit scores.

    Returns
    -------
    Derivatives
    """
    n_restarts, n_components, n_coef = theta.shape
    dim = space.dim
    index = space.component_index()
    block_prior = space.prior_slice
    component_sigma = sigma if space.n_sigma else None

    loglik = np.zeros(n_restarts)
    score = np.zeros((n_restarts, dim))
    hessian = np.zeros((n_restarts, dim, dim))
    kept_W, kept_S = [], []
    for rows, part in driver.blocks():
        per_unit, W = posteriors_and_loglik(part, prior, rows, theta, prior_state, component_sigma)
        pieces = part.unit_derivatives(theta, component_sigma, W)
        grad = pieces.grad
        weighted = W[..., None] * grad
        # sum_i w_ic (d^2 log f_ic + g_ic g_ic') for segment c's own parameters
        own = pieces.curvature + np.matmul(weighted.transpose(0, 1, 3, 2), grad)
        prior_scores, prior_curvature, cross = prior.derivative_pieces(
            prior_state, W, grad, rows, coords
        )
        S = np.zeros((n_restarts, W.shape[2], dim))
        for c in range(n_components):
            at = index[c]
            # theta_c is contiguous in psi: a slice copies it at once (fancy += is 5x slower);
            # tau is added, since a common sigma's tau is every segment's
            S[:, :, at[0] : at[0] + n_coef] = weighted[:, c, :, :n_coef]
            if at.size > n_coef:
                S[:, :, at[n_coef]] += weighted[:, c, :, n_coef]
            hessian[:, at[:, None], at[None, :]] += own[:, c]
            hessian[:, at, block_prior] += cross[:, c]
            hessian[:, block_prior, at] += cross[:, c].transpose(0, 2, 1)
        S[:, :, block_prior] = prior_scores
        hessian[:, block_prior, block_prior] += prior_curvature
        hessian -= np.matmul(S.transpose(0, 2, 1), S)
        score += S.sum(axis=1)
        loglik += per_unit.sum(axis=1)
        if keep_posteriors:
            kept_W.append(W)
        if keep_store_scores:
            kept_S.append(S)
    hessian = 0.5 * (hessian + hessian.transpose(0, 2, 1))
    return Derivatives(
        loglik=loglik,
        score=score,
        hessian=hessian,
        posteriors=np.concatenate(kept_W, axis=2) if keep_posteriors else None,
        store_scores=np.concatenate(kept_S, axis=1) if keep_store_scores else None,
    )
