"""The one brute-force oracle and the fixtures several test files share.

The oracle evaluates the mixture straight from its definition, every store and
week through scipy's normal density, with no sufficient statistics and no
shortcut: the fast paths of the estimator are tested against it.
"""

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import norm

from estimator import SufficientStats, load_csv

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = REPO / "data" / "609948.csv"
"""The real panel (absolute, so tests do not depend on the working directory)."""


def brute_log_joint(theta, pi, y, X, store=None, sigma=None) -> np.ndarray:
    """log pi_c + sum_t log N(y_it; x_it' theta_c, sigma_c^2) for every store i and segment c.

    Parameters
    ----------
    theta : array_like of shape (K, P), or (K * P,) in the assignment's layout
    pi : array_like of shape (K,)
    y, X : the observations, in one of three layouts:
        balanced, y (N, T) and X (T, P), ``store`` None;
        stacked, y (n,) and X (n, P) with ``store`` (n,) the 0-based store of each row;
        per store, lists of y_i (T_i,) and X_i (T_i, P), ``store`` None.
    sigma : array_like of shape (K,), optional
        Error SDs (1 when omitted, the assignment's model).

    Returns
    -------
    ndarray of shape (N, K)
    """
    pi = np.asarray(pi, dtype=float)
    n_components = len(pi)
    theta = np.asarray(theta, dtype=float).reshape(n_components, -1)
    sigma = np.ones(n_components) if sigma is None else np.asarray(sigma, dtype=float)
    if isinstance(y, list | tuple):
        store = np.repeat(np.arange(len(y)), [len(v) for v in y])
        y, X = np.concatenate(y), np.vstack(X)
    columns = []
    for c in range(n_components):
        if store is None:
            dens = norm.logpdf(y - X @ theta[c], scale=sigma[c]).sum(axis=1)
        else:
            logpdf = norm.logpdf(y, loc=X @ theta[c], scale=sigma[c])
            dens = np.bincount(store, weights=logpdf)
        columns.append(np.log(pi[c]) + dens)
    return np.column_stack(columns)


def brute_loglik(theta, pi, y, X, store=None, sigma=None) -> float:
    """sum_i log sum_c pi_c prod_t N(y_it; x_it' theta_c, sigma_c^2) (layouts as above)."""
    return float(logsumexp(brute_log_joint(theta, pi, y, X, store, sigma), axis=1).sum())


def brute_posteriors(theta, pi, y, X, store=None, sigma=None) -> np.ndarray:
    """Posterior segment probabilities (N, K) from the brute-force joint densities."""
    joint = brute_log_joint(theta, pi, y, X, store, sigma)
    return np.exp(joint - logsumexp(joint, axis=1, keepdims=True))


def random_params(rng: np.random.Generator, n_components: int, n_coef: int = 2):
    """Segments close together (posteriors far from 0/1), no tiny pi; extra coefficients ~ 0.4.

    Returns theta (K, P) and pi (K,).
    """
    theta = np.column_stack(
        [
            10.0 + 0.4 * rng.standard_normal(n_components),
            -1.2 + 0.4 * rng.standard_normal(n_components),
            *(0.4 + 0.3 * rng.standard_normal((n_coef - 2, n_components))),
        ]
    )
    pi = 0.1 + 0.9 * rng.dirichlet(np.full(n_components, 2.0))
    return theta, pi / pi.sum()


@pytest.fixture(scope="session")
def real_panel():
    """The real panel, loaded once."""
    return load_csv(REAL_DATA)


@pytest.fixture(scope="session")
def real_stats(real_panel):
    """Sufficient statistics of the real panel."""
    return real_panel.sufficient_stats()


@pytest.fixture(scope="session")
def real(real_panel, real_stats):
    """(panel, sufficient statistics) of the real data."""
    return real_panel, real_stats


def per_store_stats(ys, Xs):
    """SufficientStats of stores with their own designs, from the definitions (lstsq per store)."""
    ols = np.array([np.linalg.lstsq(X, y, rcond=None)[0] for y, X in zip(ys, Xs, strict=True)])
    rss = np.array([np.sum((y - X @ b) ** 2) for y, X, b in zip(ys, Xs, ols, strict=True)])
    gram = np.array([X.T @ X for X in Xs])
    return SufficientStats(ols, rss, gram, np.array([len(y) for y in ys], dtype=float))


@pytest.fixture
def small_disk(tmp_path):
    """A 192 kB tmpfs when this runs as root and may mount; None otherwise (fault tests)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        yield None
        return
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=192k", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode:
        yield None
        return
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)
