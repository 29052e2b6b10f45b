"""Gaussian mixtures with full covariance, fitted by EM on numpy (the two-step baseline).

The two-step route an analyst might try before the mixture of regressions:
estimate every store's own OLS coefficients b_i, then cluster the points b_i
with a Gaussian mixture

    f(b) = sum_k w_k N(b; mu_k, Sigma_k),   Sigma_k full (D x D),

choosing K by the mixture's own BIC with n = N points,

    BIC = p log N - 2 log L,   p = K D + K D (D + 1) / 2 + (K - 1).

EM (Dempster, Laird and Rubin 1977; the updates as in scikit-learn's
``GaussianMixture``):

* E-step: log w_k + log N(x_n; mu_k, Sigma_k) for every point and component,
  responsibilities r_nk by log-sum-exp (no density is exponentiated before
  normalising: log-sum-exp shifted by the maximum);
* M-step: n_k = sum_n r_nk, w_k = n_k / N, mu_k = sum_n r_nk x_n / n_k,
  Sigma_k = sum_n r_nk (x_n - mu_k)(x_n - mu_k)' / n_k + reg I.

The log-density uses the Cholesky factor L_k of Sigma_k: with z = L_k^{-1} (x - mu_k),
log N = -D/2 log(2 pi) - sum_d log L_k[d, d] - z'z / 2.

All starts run together as one array computation (starts x points x
components); each stops on its own when the relative change of its
log-likelihood per point falls below ``tol``. A start whose component holds fewer than
``min_count`` points' worth of responsibility (a component collapsing onto a
few points makes the likelihood unbounded) is stopped and counted as
degenerate; the best valid start wins. Starting values: k-means++ seeding
followed by a few Lloyd iterations on the raw coordinates (the scikit-learn
default ``init_params="kmeans"``), then one M-step from the hard labels.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from estimator import ConvergenceWarning, SeedLike, as_generator, canonical_order, seed_sequence

DEFAULT_REG_COVAR = 1e-8
"""Added to the diagonal of every covariance (relative to the data's variance)."""
DEFAULT_TOL = 1e-8
"""Stopping rule: change of the log-likelihood per point (see :func:`fit_gmm`)."""
LLOYD_STEPS = 10
"""Lloyd (k-means) iterations after k-means++ seeding, per start."""


@dataclass(frozen=True, eq=False)
class GaussianMixtureFit:
    """The best of several EM runs of a K-component Gaussian mixture.

    Attributes
    ----------
    weights : ndarray of shape (K,)
        Mixing proportions w_k.
    means : ndarray of shape (K, D)
        Component means mu_k, ordered by the first coordinate (then the next ones).
    covariances : ndarray of shape (K, D, D)
        Full component covariances Sigma_k.
    loglik : float
        Log-likelihood of the data at the estimates.
    converged : bool
        The best start met the stopping rule before ``max_iter``.
    n_iter : int
        EM updates made by the best start.
    loglik_trace : ndarray of shape (n_iter + 1,)
        Log-likelihood of the best start before and after every update.
    responsibilities : ndarray of shape (N, K)
        Posterior component probabilities of every point.
    n_init : int
        Number of starts.
    n_degenerate : int
        Starts stopped because a component collapsed.
    restart_logliks : ndarray of shape (n_init,)
        Final log-likelihood of every start (NaN for a degenerate one).
    degenerate : bool
        Every start lost a component; BIC is then +inf (the K is never chosen).
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    loglik: float
    converged: bool
    n_iter: int
    loglik_trace: np.ndarray
    responsibilities: np.ndarray
    n_init: int
    n_degenerate: int
    restart_logliks: np.ndarray
    degenerate: bool = False

    @property
    def n_components(self) -> int:
        """Number of components K."""
        return self.means.shape[0]

    @property
    def n_features(self) -> int:
        """Dimension D of the points."""
        return self.means.shape[1]

    @property
    def n_params(self) -> int:
        """Free parameters K D + K D (D + 1) / 2 + K - 1."""
        return gmm_n_params(self.n_components, self.n_features)

    @property
    def labels(self) -> np.ndarray:
        """Most likely component of every point (0-based), shape (N,)."""
        return self.responsibilities.argmax(axis=1)

    def bic(self) -> float:
        """BIC = p log N - 2 log L with N the number of points (+inf when degenerate)."""
        if self.degenerate or not np.isfinite(self.loglik):
            return float("inf")
        return gmm_bic(self.loglik, self.n_params, self.responsibilities.shape[0])


@dataclass(frozen=True, eq=False)
class GaussianMixtureSelection:
    """Gaussian mixtures fitted for several K, and the K their BIC chooses.

    Attributes
    ----------
    fits : dict of int to GaussianMixtureFit
    bic : dict of int to float
    chosen_k : int
        K with the lowest BIC.
    """

    fits: dict[int, GaussianMixtureFit]
    bic: dict[int, float]
    chosen_k: int


def gmm_n_params(n_components: int, n_features: int) -> int:
    """Free parameters of a full-covariance Gaussian mixture: K D + K D (D + 1) / 2 + K - 1."""
    d = n_features
    return n_components * (d + d * (d + 1) // 2) + n_components - 1


def gmm_bic(loglik: float, n_params: int, n_points: int) -> float:
    """BIC = n_params log(n_points) - 2 loglik."""
    return float(n_params * math.log(n_points) - 2.0 * loglik)


def _check_points(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"x must have shape (N, D), got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("x must be finite")
    return x


def second_moments(x: np.ndarray) -> np.ndarray:
    """Flattened outer products x_n x_n', shape (N, D*D) (precomputed once per fit)."""
    return np.einsum("nd,ne->nde", x, x).reshape(x.shape[0], -1)


def component_log_densities(
    x: np.ndarray, means: np.ndarray, covariances: np.ndarray, xx: np.ndarray | None = None
) -> np.ndarray:
    """log N(x_n; mu_k, Sigma_k) for every start, point and component.

    With P = Sigma^{-1} the Mahalanobis term is expanded as
    x'Px - 2 mu'Px + mu'P mu, so every term is one matrix product over all
    starts and components (the data should be centred, :func:`fit_gmm` does it).

    Parameters
    ----------
    x : ndarray of shape (N, D)
    means : ndarray of shape (R, K, D)
    covariances : ndarray of shape (R, K, D, D)
        Positive definite.
    xx : ndarray of shape (N, D*D), optional
        :func:`second_moments` of x.

    Returns
    -------
    ndarray of shape (R, N, K)
    """
    n, d = x.shape
    r, k = means.shape[:2]
    xx = second_moments(x) if xx is None else xx
    chol = np.linalg.cholesky(covariances)  # (R, K, D, D); fails loudly if not PD
    half_logdet = np.log(np.diagonal(chol, axis1=-2, axis2=-1)).sum(axis=-1)  # (R, K)
    precision = np.linalg.inv(covariances)
    p_mu = np.einsum("rkde,rke->rkd", precision, means)  # (R, K, D)
    quad = xx @ precision.reshape(r, k, d * d).transpose(0, 2, 1)  # (R, N, K)
    cross = x @ p_mu.transpose(0, 2, 1)  # (R, N, K)
    const = np.einsum("rkd,rkd->rk", means, p_mu)[:, None, :]
    maha = np.maximum(quad - 2.0 * cross + const, 0.0)
    return -0.5 * d * math.log(2.0 * math.pi) - half_logdet[:, None, :] - 0.5 * maha


def e_step(
    x: np.ndarray,
    weights: np.ndarray,
    means: np.ndarray,
    covariances: np.ndarray,
    xx: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Log-likelihood and responsibilities of every start.

    Parameters
    ----------
    x : ndarray of shape (N, D)
    weights : ndarray of shape (R, K)
    means : ndarray of shape (R, K, D)
    covariances : ndarray of shape (R, K, D, D)
    xx : ndarray of shape (N, D*D), optional
        :func:`second_moments` of x.

    Returns
    -------
    loglik : ndarray of shape (R,)
    responsibilities : ndarray of shape (R, N, K)
    """
    log_dens = component_log_densities(x, means, covariances, xx)
    with np.errstate(divide="ignore"):  # a weight of exactly 0 is log 0 = -inf, harmless here
        log_joint = np.log(weights)[:, None, :] + log_dens
    # log-sum-exp over components, shifted by the maximum (as estimator.engine.e_step)
    top = log_joint.max(axis=2, keepdims=True)
    resp = np.exp(log_joint - top)
    total = resp.sum(axis=2, keepdims=True)
    resp /= total
    return (np.log(total) + top).sum(axis=(1, 2)), resp


def m_step(
    x: np.ndarray, responsibilities: np.ndarray, reg_covar: float, xx: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Weights, means and full covariances that maximise the expected complete-data likelihood.

    Sigma_k = sum_n r_nk x_n x_n' / n_k - mu_k mu_k' + reg I (the data should be centred).

    Parameters
    ----------
    x : ndarray of shape (N, D)
    responsibilities : ndarray of shape (R, N, K)
    reg_covar : float
        Added to every covariance's diagonal.
    xx : ndarray of shape (N, D*D), optional
        :func:`second_moments` of x.

    Returns
    -------
    weights : ndarray of shape (R, K)
    means : ndarray of shape (R, K, D)
    covariances : ndarray of shape (R, K, D, D)
    counts : ndarray of shape (R, K)
        n_k = sum_n r_nk.
    """
    n, d = x.shape
    xx = second_moments(x) if xx is None else xx
    counts = responsibilities.sum(axis=1)  # (R, K)
    safe = np.maximum(counts, np.finfo(float).tiny)[:, :, None]
    resp_t = responsibilities.transpose(0, 2, 1)  # (R, K, N)
    means = (resp_t @ x) / safe
    moments = ((resp_t @ xx) / safe).reshape(*counts.shape, d, d)
    covariances = moments - means[..., :, None] * means[..., None, :]
    covariances += reg_covar * np.eye(d)
    return counts / n, means, covariances, counts


def kmeans_labels(
    x: np.ndarray, n_components: int, rng: np.random.Generator, steps: int = LLOYD_STEPS
) -> np.ndarray:
    """Hard labels from k-means++ seeding and a few Lloyd iterations (Euclidean).

    Parameters
    ----------
    x : ndarray of shape (N, D)
    n_components : int
    rng : Generator
    steps : int
        Lloyd iterations after seeding (fewer if the labels stop changing).

    Returns
    -------
    ndarray of shape (N,)
        Labels 0..K-1.
    """
    n = x.shape[0]
    centres = [x[rng.integers(n)]]
    dist = np.sum((x - centres[0]) ** 2, axis=1)
    for _ in range(1, n_components):
        total = dist.sum()
        index = rng.choice(n, p=dist / total) if total > 0 else rng.integers(n)
        centres.append(x[index])
        dist = np.minimum(dist, np.sum((x - x[index]) ** 2, axis=1))
    centre_array = np.array(centres)
    labels = np.full(n, -1)
    for _ in range(steps):
        new = np.argmin(((x[:, None, :] - centre_array[None]) ** 2).sum(axis=2), axis=1)
        if np.array_equal(new, labels):
            break
        labels = new
        for k in range(n_components):
            if np.any(labels == k):
                centre_array[k] = x[labels == k].mean(axis=0)
    return labels


def fit_gmm(
    x: np.ndarray,
    n_components: int,
    *,
    n_init: int = 10,
    tol: float = DEFAULT_TOL,
    max_iter: int = 1000,
    seed: SeedLike = None,
    reg_covar: float = DEFAULT_REG_COVAR,
    min_count: float | None = None,
) -> GaussianMixtureFit:
    """Fit a K-component full-covariance Gaussian mixture by EM from several starts.

    Parameters
    ----------
    x : ndarray of shape (N, D)
        Points (for the two-step baseline, the stores' OLS estimates).
    n_components : int
        K.
    n_init : int
        Starts (k-means++ seeding + Lloyd, then one M-step from the hard labels).
    tol : float
        A start stops when the log-likelihood per point changes by at most tol,
        |L_new - L_old| <= tol N. (Per point, not relative: the log-likelihood of
        N = 300 points in 2-D is of order 10-100, so a relative rule would ask
        far more of it than the mixture of regressions' relative rule asks of its
        log-likelihood of order 10^4. At N = 300, tol = 1e-8 is an absolute change of
        3e-6, the mixture's 1e-10 relative at its real_like scale, about 2e-6.)
    max_iter : int
        EM updates at most, per start.
    seed : int, SeedSequence, Generator or None
        Start r uses the child stream ``seed_sequence(seed, r)``.
    reg_covar : float
        Diagonal regularisation, relative to the mean variance of the coordinates.
    min_count : float, optional
        A component with less total responsibility than this is collapsing; its start
        is stopped as degenerate. Default D + 1 (fewer points cannot span a full covariance).

    Returns
    -------
    GaussianMixtureFit
        The best non-degenerate start, components ordered by their means
        (lexicographically). A :class:`estimator.results.ConvergenceWarning` is
        issued when every start was degenerate or the best did not converge.
    """
    x = _check_points(x)
    n, d = x.shape
    if not 1 <= n_components <= n:
        raise ValueError(f"n_components must be in 1..{n}, got {n_components}")
    if n_init < 1 or max_iter < 1:
        raise ValueError("n_init and max_iter must be at least 1")
    min_count = float(d + 1) if min_count is None else float(min_count)
    reg = reg_covar * float(np.mean(np.var(x, axis=0)))
    centre = x.mean(axis=0)
    x = x - centre  # EM is translation-equivariant; centring keeps the expansions exact
    xx = second_moments(x)
    resp0 = np.zeros((n_init, n, n_components))
    for r in range(n_init):
        labels = kmeans_labels(x, n_components, as_generator(seed_sequence(seed, r)))
        resp0[r, np.arange(n), labels] = 1.0
    weights, means, covs, counts = m_step(x, resp0, reg, xx)
    active = np.all(counts >= min_count, axis=1)
    degenerate = ~active
    loglik = np.full(n_init, np.nan)
    n_iter = np.zeros(n_init, dtype=int)
    converged = np.zeros(n_init, dtype=bool)
    traces: list[list[float]] = [[] for _ in range(n_init)]
    resp = resp0
    if np.any(active):
        current, resp_active = e_step(x, weights[active], means[active], covs[active], xx)
        loglik[active] = current
        resp[active] = resp_active
        for r in np.flatnonzero(active):
            traces[r].append(float(loglik[r]))
    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        w_new, mu_new, cov_new, counts = m_step(x, resp[idx], reg, xx)
        collapsed = np.any(counts < min_count, axis=1)
        degenerate[idx[collapsed]] = True
        active[idx[collapsed]] = False
        keep = ~collapsed
        idx = idx[keep]
        if idx.size == 0:
            break
        weights[idx], means[idx], covs[idx] = w_new[keep], mu_new[keep], cov_new[keep]
        new_loglik, new_resp = e_step(x, weights[idx], means[idx], covs[idx], xx)
        resp[idx] = new_resp
        old = loglik[idx]
        loglik[idx] = new_loglik
        n_iter[idx] += 1
        for j, r in enumerate(idx):
            traces[r].append(float(new_loglik[j]))
        done = np.abs(new_loglik - old) <= tol * n
        converged[idx[done]] = True
        active[idx[done]] = False
    return _best(weights, means + centre, covs, loglik, converged, degenerate, n_iter, traces, resp)


def _best(
    weights: np.ndarray,
    means: np.ndarray,
    covs: np.ndarray,
    loglik: np.ndarray,
    converged: np.ndarray,
    degenerate: np.ndarray,
    n_iter: np.ndarray,
    traces: list[list[float]],
    resp: np.ndarray,
) -> GaussianMixtureFit:
    """The best valid start of a batched run as a :class:`GaussianMixtureFit`."""
    n_init, k = weights.shape
    final = np.where(degenerate, np.nan, loglik)
    if np.all(degenerate):
        warnings.warn(
            f"K = {k}: every one of {n_init} starts lost a component (degenerate); "
            "the result is the first start's last valid state",
            ConvergenceWarning,
            stacklevel=3,
        )
        best = 0
    else:
        best = int(np.nanargmax(final))
        if not converged[best]:
            warnings.warn(
                f"K = {k}: the best start did not converge in {n_iter[best]} iterations",
                ConvergenceWarning,
                stacklevel=3,
            )
    order = canonical_order(means[best])
    return GaussianMixtureFit(
        weights=weights[best][order],
        means=means[best][order],
        covariances=covs[best][order],
        loglik=float(loglik[best]),
        converged=bool(converged[best]),
        n_iter=int(n_iter[best]),
        loglik_trace=np.asarray(traces[best]),
        responsibilities=resp[best][:, order],
        n_init=n_init,
        n_degenerate=int(degenerate.sum()),
        restart_logliks=final,
        degenerate=bool(np.all(degenerate)),
    )


def select_gmm(
    x: np.ndarray,
    k_range: Iterable[int],
    *,
    n_init: int = 10,
    tol: float = DEFAULT_TOL,
    max_iter: int = 1000,
    seed: SeedLike = None,
    reg_covar: float = DEFAULT_REG_COVAR,
) -> GaussianMixtureSelection:
    """Fit a Gaussian mixture for every K and choose K by BIC (n = number of points).

    Parameters
    ----------
    x : ndarray of shape (N, D)
    k_range : iterable of int
    n_init, tol, max_iter, reg_covar
        As in :func:`fit_gmm`.
    seed : int, SeedSequence, Generator or None
        K uses the child stream ``seed_sequence(seed, K)``.

    Returns
    -------
    GaussianMixtureSelection
    """
    root = seed_sequence(seed)
    fits = {
        k: fit_gmm(
            x,
            k,
            n_init=n_init,
            tol=tol,
            max_iter=max_iter,
            seed=seed_sequence(root, k),
            reg_covar=reg_covar,
        )
        for k in sorted(set(k_range))
    }
    bic = {k: fit.bic() for k, fit in fits.items()}
    return GaussianMixtureSelection(fits=fits, bic=bic, chosen_k=min(bic, key=bic.get))
