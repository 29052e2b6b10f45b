"""Score and Hessian of the mixture log-likelihood, exact and analytic.

Store i contributes l_i = logsumexp_c a_ic with a_ic = log pi_c + log f_ic
(:mod:`estimator.driver`). With posteriors w_ic, g_ic the gradient of a_ic and
s_i = sum_c w_ic g_ic the store's score, the Hessian of a log-sum-exp is

    d^2 l_i = sum_c w_ic (d^2 a_ic + g_ic g_ic') - s_i s_i'.

The parameters are psi = (theta_1, ..., theta_K, pi coordinates (K - 1),
[tau]), tau = log sigma (one entry when common, K when per segment, none when
sigma is fixed at 1). The component's derivatives (u_ic = G_i (b_i - theta_c),
D_ic, from the driver; ~u = u / sigma_c^2, v_ic = -n_i + D_ic / sigma_c^2) are

    d a / d theta_c = ~u_ic,   d^2 a / d theta_c^2 = -G_i / sigma_c^2,
    d a / d tau_c = v_ic,      d^2 a / d theta_c d tau_c = -2 ~u_ic,
    d^2 a / d tau_c^2 = -2 D_ic / sigma_c^2,

and the mixing proportions enter only through log pi_c, whose gradient L_c and
Hessian M_c in the chosen pi coordinates are

* ``"free"`` (pi_1, ..., pi_{K-1}; pi_K = 1 - sum): L_c = a_c / pi_c,
  M_c = -a_c a_c' / pi_c^2 with a_c row c of [I; -1'] (standard errors);
* ``"logratio"`` (eta_c = log(pi_c / pi_K), unconstrained: the Newton step):
  L_c = e_c - pi_{1..K-1}, M_c = -(diag(pi_{1..K-1}) - pi pi'), e_K = 0.

Summed over stores everything reduces to a few posterior-weighted sums, so the
cost is O(N K P^2 + N D^2) per parameter set and the stores are visited in
blocks (memory flat in N). Everything is batched over R parameter sets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from .driver import ComponentDriver

PiCoordinates = Literal["free", "logratio"]


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


def n_sigma_params(sigma_mode: str, n_components: int) -> int:
    """Number of log sigma parameters S: 0 (fixed), 1 (common) or K (segment)."""
    return {"fixed": 0, "common": 1}.get(sigma_mode, n_components)


def sigma_groups(n_components: int, n_sigma: int) -> np.ndarray:
    """(K, S) 0/1 map from segments to log sigma: identity (per segment) or ones (common)."""
    if n_sigma == n_components:
        return np.eye(n_components)
    return np.ones((n_components, n_sigma))


def pi_jacobian(n_components: int) -> np.ndarray:
    """d pi / d (pi_1..pi_{K-1}), shape (K, K-1): identity above a row of -1."""
    return np.vstack([np.eye(n_components - 1), -np.ones((1, n_components - 1))])


def log_pi_derivatives(pi: np.ndarray, coords: PiCoordinates) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and Hessian of every log pi_c in the chosen pi coordinates.

    Parameters
    ----------
    pi : ndarray of shape (R, K)
    coords : {"free", "logratio"}

    Returns
    -------
    grad : ndarray of shape (R, K, K-1)
    hess : ndarray of shape (R, K, K-1, K-1)
    """
    n_restarts, n_components = pi.shape
    if coords == "free":
        a = pi_jacobian(n_components)
        grad = a[None] / pi[..., None]
        hess = -grad[..., :, None] * grad[..., None, :]
        return grad, hess
    head = pi[:, :-1]
    grad = np.eye(n_components, n_components - 1)[None] - head[:, None, :]
    curvature = np.einsum("rj,rk->rjk", head, head)
    curvature[:, np.arange(n_components - 1), np.arange(n_components - 1)] -= head
    hess = np.broadcast_to(curvature[:, None], (n_restarts, n_components, *curvature.shape[1:]))
    return grad, hess


def posteriors_and_loglik(
    driver: ComponentDriver, theta: np.ndarray, pi: np.ndarray, sigma: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Per-store log-likelihood and posteriors, in log space.

    Parameters
    ----------
    driver : ComponentDriver
    theta : ndarray of shape (R, K, P)
    pi : ndarray of shape (R, K)
    sigma : ndarray of shape (R, K) or None

    Returns
    -------
    per_store : ndarray of shape (R, N)
        l_i = log sum_c pi_c f_ic (log-sum-exp shifted by the maximum).
    W : ndarray of shape (R, K, N)
        Posteriors; W[r, :, i] sums to 1.
    """
    W = driver.log_density(theta, sigma)
    with np.errstate(divide="ignore"):
        W += np.log(pi)[..., None]
    top = W.max(axis=1, keepdims=True)
    W -= top
    np.exp(W, out=W)
    total = W.sum(axis=1, keepdims=True)
    W /= total
    per_store = np.log(total)
    per_store += top
    return per_store[:, 0, :], W


def mixture_derivatives(
    driver: ComponentDriver,
    theta: np.ndarray,
    pi: np.ndarray,
    sigma: np.ndarray | None,
    sigma_mode: str = "fixed",
    coords: PiCoordinates = "logratio",
    keep_posteriors: bool = False,
    keep_store_scores: bool = False,
) -> Derivatives:
    """Log-likelihood, score and Hessian in (theta, pi coordinates, log sigma).

    Parameters
    ----------
    driver : ComponentDriver
    theta : ndarray of shape (R, K, P)
    pi : ndarray of shape (R, K)
        All entries positive.
    sigma : ndarray of shape (R, K) or None
        Each segment's sigma (equal entries when common); None when fixed at 1.
    sigma_mode : {"fixed", "common", "segment"}
    coords : {"free", "logratio"}
        Coordinates of the mixing proportions (module docstring).
    keep_posteriors, keep_store_scores : bool
        Also return the (R, K, N) posteriors / the (R, N, D) store scores.

    Returns
    -------
    Derivatives
    """
    n_restarts, n_components, n_coef = theta.shape
    n_sigma = n_sigma_params(sigma_mode, n_components) if sigma is not None else 0
    groups = sigma_groups(n_components, n_sigma)
    n_theta = n_components * n_coef
    n_pi = n_theta + n_components - 1
    dim = n_pi + n_sigma
    log_pi_grad, log_pi_hess = log_pi_derivatives(pi, coords)
    variance = None if sigma is None else sigma**2

    loglik = np.zeros(n_restarts)
    outer = np.zeros((n_restarts, dim, dim))
    weight = np.zeros((n_restarts, n_components))
    wu = np.zeros((n_restarts, n_components, n_coef))
    wuu = np.zeros((n_restarts, n_components, n_coef, n_coef))
    wgram = np.zeros((n_restarts, n_components, n_coef, n_coef))
    wv = np.zeros((n_restarts, n_components))
    wu_v = np.zeros((n_restarts, n_components, n_coef))
    w_tau = np.zeros((n_restarts, n_components))
    kept_W, kept_S = [], []
    for part in driver.parts():
        per_store, W = posteriors_and_loglik(part, theta, pi, sigma)
        u, D = part.residual_pieces(theta)
        if variance is not None:
            u /= variance[..., None, None]
        n_block = W.shape[2]
        weighted_u = W[..., None] * u
        S = np.empty((n_restarts, n_block, dim))
        S_theta = S[:, :, :n_theta].reshape(n_restarts, n_block, n_components, n_coef)
        S_theta[...] = weighted_u.transpose(0, 2, 1, 3)
        S[:, :, n_theta:n_pi] = np.einsum("rkn,rkj->rnj", W, log_pi_grad)
        loglik += per_store.sum(axis=1)
        weight += W.sum(axis=2)
        wu += weighted_u.sum(axis=2)
        wuu += np.matmul(weighted_u.transpose(0, 1, 3, 2), u)
        wgram += part.weighted_gram(W)
        if variance is not None:
            scaled = D / variance[..., None]
            v = scaled - part.n_obs
            S[:, :, n_pi:] = np.einsum("rkn,ks->rns", W * v, groups)
            wv += np.einsum("rkn,rkn->rk", W, v)
            wu_v += np.matmul((v - 2.0)[:, :, None, :], weighted_u)[:, :, 0, :]
            w_tau += np.einsum("rkn,rkn->rk", W, v**2 - 2.0 * scaled)
        outer += np.matmul(S.transpose(0, 2, 1), S)
        if keep_posteriors:
            kept_W.append(W)
        if keep_store_scores:
            kept_S.append(S)

    score = np.zeros((n_restarts, dim))
    score[:, :n_theta] = wu.reshape(n_restarts, n_theta)
    score[:, n_theta:n_pi] = np.einsum("rk,rkj->rj", weight, log_pi_grad)
    hessian = -outer
    if variance is not None:
        wgram = wgram / variance[..., None, None]
    pi_block = slice(n_theta, n_pi)
    theta_pi = np.einsum("rkp,rkj->rkpj", wu, log_pi_grad)
    for c in range(n_components):
        block = slice(c * n_coef, (c + 1) * n_coef)
        hessian[:, block, block] += wuu[:, c] - wgram[:, c]
        hessian[:, block, pi_block] += theta_pi[:, c]
        hessian[:, pi_block, block] += theta_pi[:, c].transpose(0, 2, 1)
    hessian[:, pi_block, pi_block] += np.einsum(
        "rk,rkij->rij", weight, log_pi_hess + log_pi_grad[..., :, None] * log_pi_grad[..., None, :]
    )
    if variance is not None:
        tau = slice(n_pi, dim)
        score[:, tau] = wv @ groups
        theta_tau = (wu_v[..., None] * groups[None, :, None, :]).reshape(n_restarts, n_theta, -1)
        hessian[:, :n_theta, tau] += theta_tau
        hessian[:, tau, :n_theta] += theta_tau.transpose(0, 2, 1)
        pi_tau = np.einsum("rk,rkj,ks->rjs", wv, log_pi_grad, groups)
        hessian[:, pi_block, tau] += pi_tau
        hessian[:, tau, pi_block] += pi_tau.transpose(0, 2, 1)
        idx = np.arange(n_pi, dim)
        hessian[:, idx, idx] += w_tau @ groups
    hessian = 0.5 * (hessian + hessian.transpose(0, 2, 1))
    return Derivatives(
        loglik=loglik,
        score=score,
        hessian=hessian,
        posteriors=np.concatenate(kept_W, axis=2) if keep_posteriors else None,
        store_scores=np.concatenate(kept_S, axis=1) if keep_store_scores else None,
    )
