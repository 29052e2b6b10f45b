"""The parameter conventions every part of salesmix shares, written once.

Segment coefficients are theta (K x P, row c = (alpha_c, beta_c, extra
coefficients)), proportions pi (K,), error SDs sigma. This module holds the
canonical segment order, the default coefficient names, the free-parameter
count, the validation of (theta, pi), the matching of estimated to true
segments and the weight below which a segment counts as empty.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy.optimize import linear_sum_assignment

from .validation import (
    PROBABILITY_ATOL,
    as_float_array,
    check_finite_array,
    check_flat_theta,
    check_probabilities,
)

SigmaMode = Literal["fixed", "common", "segment"]
SIGMA_MODES: tuple[str, ...] = ("fixed", "common", "segment")
"""Error SD fixed at 1 (the assignment's model), one common SD, or one per segment."""

DEFAULT_COEF_NAMES: tuple[str, ...] = ("alpha", "beta")
"""Names of the two coefficients of the assignment's model (intercept, log price)."""

MIN_SEGMENT_WEIGHT = 1e-8
"""Posterior weight (expected number of stores) below which a segment counts as empty.

EM stops a start whose segment falls below it (degenerate); the straightforward
reference EM and the standard errors use the same threshold."""

PI_SUM_TOL = PROBABILITY_ATOL
"""How far the proportions may sum from 1 (rounding of a printed or stored pi)."""


def canonical_order(theta: np.ndarray) -> np.ndarray:
    """Order of segments by ascending alpha, ties broken by beta, then later coefficients.

    Parameters
    ----------
    theta : ndarray of shape (K, P)

    Returns
    -------
    ndarray of shape (K,)
        Indices that sort the segments.
    """
    theta = np.asarray(theta)
    return np.lexsort(theta.T[::-1])


def default_coef_names(n_coef: int) -> tuple[str, ...]:
    """``("alpha", "beta")`` for the assignment's two coefficients, else ``x0, x1, ...``."""
    return DEFAULT_COEF_NAMES if n_coef == 2 else tuple(f"x{j}" for j in range(n_coef))


def check_sigma_mode(sigma_mode: object, name: str = "sigma") -> str:
    """``sigma_mode`` when it is one of :data:`SIGMA_MODES`; else a ValueError naming ``name``."""
    if not isinstance(sigma_mode, str) or sigma_mode not in SIGMA_MODES:
        raise ValueError(f"{name} must be one of {SIGMA_MODES}, got {sigma_mode!r}")
    return sigma_mode


def n_sigma_params(sigma_mode: str, n_components: int) -> int:
    """Number of log sigma parameters S: 0 (fixed), 1 (common) or K (segment)."""
    return {"fixed": 0, "common": 1}.get(check_sigma_mode(sigma_mode), n_components)


def sigma_groups(n_components: int, n_sigma: int) -> np.ndarray:
    """(K, S) 0/1 map from segments to log sigma: identity (per segment) or ones (common)."""
    if n_sigma == n_components:
        return np.eye(n_components)
    return np.ones((n_components, n_sigma))


def n_free_params(
    n_components: int, n_coef: int = 2, sigma_mode: str = "fixed", n_covariates: int = 1
) -> int:
    """Free parameters: K*P coefficients, (K - 1) Q prior parameters, 0, 1 or K error SDs.

    Q = 1 (K - 1 proportions) without concomitant variables: 3K - 1 for the
    assignment's model (P = 2, sigma fixed).
    """
    n_sigma = n_sigma_params(check_sigma_mode(sigma_mode, "sigma_mode"), n_components)
    return n_components * n_coef + (n_components - 1) * n_covariates + n_sigma


def check_theta_pi(
    theta: np.ndarray, pi: np.ndarray, n_coef: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Validate segment coefficients and proportions; return them as (K, P) and (K,).

    Parameters
    ----------
    theta : array_like of shape (K, P), or (K * P,) in the assignment's layout
        (alpha_1, beta_1, ..., alpha_K, beta_K); a flat theta needs ``n_coef``.
    pi : array_like of shape (K,)
        Non-negative, summing to 1 within :data:`PI_SUM_TOL`.
    n_coef : int, optional
        P, the coefficients per segment (required for a flat theta; checked for a 2-D one).

    Returns
    -------
    theta : ndarray of shape (K, P)
    pi : ndarray of shape (K,)

    Raises
    ------
    ValueError
        Naming ``theta`` or ``pi`` and what was expected.
    """
    pi = check_probabilities(np.asarray(pi, dtype=float).ravel(), "pi", (None,))
    theta = as_float_array(theta, "theta")
    if theta.ndim == 1:
        if n_coef is None:
            raise ValueError("a flat theta needs n_coef (coefficients per segment)")
        return check_flat_theta(theta, "theta", pi.size, n_coef), pi
    if theta.ndim != 2 or theta.shape[0] != pi.size:
        raise ValueError(
            f"theta must have shape (K, P), one row per segment (K = {pi.size} segments in pi), "
            f"got {theta.shape}"
        )
    return check_finite_array(theta, "theta", (pi.size, n_coef)), pi


def match_segments(
    theta_hat: np.ndarray, theta_true: np.ndarray, metric: np.ndarray | None = None
) -> np.ndarray:
    """Match estimated segments to true ones (Hungarian algorithm on parameter distance).

    Parameters
    ----------
    theta_hat : ndarray of shape (K, P)
        Estimated segment coefficients, in any order.
    theta_true : ndarray of shape (K, P)
        True segment coefficients.
    metric : ndarray of shape (P, P), optional
        Positive definite M of the squared distance (a - b)' M (a - b); Euclidean
        when omitted. X'X / T makes the distance that of fitted log sales.

    Returns
    -------
    ndarray of shape (K,)
        ``perm`` with ``theta_hat[perm[c]]`` the estimate of true segment c.
    """
    theta_hat = np.atleast_2d(np.asarray(theta_hat, dtype=float))
    theta_true = np.atleast_2d(np.asarray(theta_true, dtype=float))
    if theta_hat.shape != theta_true.shape:
        raise ValueError(
            f"theta_hat {theta_hat.shape} and theta_true {theta_true.shape} must both be (K, P)"
        )
    M = np.eye(theta_true.shape[1]) if metric is None else np.asarray(metric, dtype=float)
    diff = theta_true[:, None, :] - theta_hat[None, :, :]
    cost = np.einsum("tep,pq,teq->te", diff, M, diff)
    rows, cols = linear_sum_assignment(cost)
    return cols[np.argsort(rows)]
