"""Monte Carlo metrics: label matching, classification agreement, recovery and hit rates.

Nothing here knows the model's likelihood; these are the statistics of a
simulation study computed from its per-replication estimates.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from statistics import NormalDist
from typing import Any

import numpy as np
from scipy.special import comb


def adjusted_rand_index(labels_a: np.ndarray, labels_b: np.ndarray) -> float:
    """Hubert and Arabie's adjusted Rand index of two partitions (1 = identical).

    Parameters
    ----------
    labels_a, labels_b : ndarray of shape (N,)
        Cluster labels (any integers).

    Returns
    -------
    float
        1.0 when both partitions are a single cluster (or identical).
    """
    labels_a = np.asarray(labels_a).ravel()
    labels_b = np.asarray(labels_b).ravel()
    if labels_a.shape != labels_b.shape:
        raise ValueError(f"label arrays differ in length: {labels_a.size} vs {labels_b.size}")
    _, a = np.unique(labels_a, return_inverse=True)
    _, b = np.unique(labels_b, return_inverse=True)
    table = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(table, (a, b), 1)
    pairs = comb(table, 2).sum()
    rows = comb(table.sum(axis=1), 2).sum()
    cols = comb(table.sum(axis=0), 2).sum()
    expected = rows * cols / comb(labels_a.size, 2) if labels_a.size > 1 else 0.0
    top = 0.5 * (rows + cols)
    if top == expected:  # both partitions trivial in the same way
        return 1.0
    return float((pairs - expected) / (top - expected))


def misclassification_rate(true_labels: np.ndarray, labels: np.ndarray, perm: np.ndarray) -> float:
    """Share of stores whose most likely segment is not their true one, after matching.

    Parameters
    ----------
    true_labels : ndarray of shape (N,)
        True segments 0..K-1.
    labels : ndarray of shape (N,)
        Estimated segments 0..K-1.
    perm : ndarray of shape (K,)
        From :func:`match_segments`: estimated segment ``perm[c]`` is true segment c.
    """
    to_true = np.empty_like(perm)
    to_true[perm] = np.arange(perm.size)
    return float(np.mean(to_true[np.asarray(labels)] != np.asarray(true_labels)))


def wilson_interval(successes: int, trials: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion.

    Parameters
    ----------
    successes, trials : int
    level : float
        Coverage of the interval.

    Returns
    -------
    (low, high) : tuple of float
        (nan, nan) when ``trials`` is 0.
    """
    if trials == 0:
        return float("nan"), float("nan")
    if not 0 <= successes <= trials:
        raise ValueError(f"successes must be in [0, trials], got {successes} of {trials}")
    z = NormalDist().inv_cdf(0.5 + level / 2)
    p = successes / trials
    denom = 1 + z**2 / trials
    centre = (p + z**2 / (2 * trials)) / denom
    half = z * np.sqrt(p * (1 - p) / trials + z**2 / (4 * trials**2)) / denom
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def _finite(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Values as a flat float array with NaN and infinities (failed replications) dropped."""
    values = np.asarray(values, dtype=float).ravel()
    return values[np.isfinite(values)]


def bias(estimates: Sequence[float] | np.ndarray, truth: float) -> float:
    """Mean error of the estimates, ``mean(estimates) - truth`` (NaN entries dropped).

    Parameters
    ----------
    estimates : array-like of shape (R,)
        One estimate per replication.
    truth : float

    Returns
    -------
    float
        NaN when no estimate is finite.
    """
    values = _finite(estimates)
    return float(np.mean(values - truth)) if values.size else float("nan")


def rmse(estimates: Sequence[float] | np.ndarray, truth: float) -> float:
    """Root mean squared error ``sqrt(mean((estimates - truth)^2))`` (NaN entries dropped).

    Parameters
    ----------
    estimates : array-like of shape (R,)
    truth : float

    Returns
    -------
    float
        NaN when no estimate is finite.
    """
    values = _finite(estimates)
    return float(np.sqrt(np.mean((values - truth) ** 2))) if values.size else float("nan")


def mcse_mean(values: Sequence[float] | np.ndarray) -> float:
    """Monte Carlo standard error of a mean over replications, ``sd / sqrt(R)``.

    The MCSE of a bias is that of the mean of the estimates.

    Parameters
    ----------
    values : array-like of shape (R,)
        One value per replication (NaN entries dropped).

    Returns
    -------
    float
        NaN with fewer than two finite values.
    """
    values = _finite(values)
    if values.size < 2:
        return float("nan")
    return float(values.std(ddof=1) / np.sqrt(values.size))


def parameter_recovery(estimates: np.ndarray, truth: float) -> dict[str, float]:
    """Mean, bias, RMSE, standard deviation and the Monte Carlo standard error of the bias.

    Parameters
    ----------
    estimates : ndarray of shape (R,)
        One estimate per replication (NaN entries are dropped).
    truth : float

    Returns
    -------
    dict
        ``true, n, mean, bias, mcse_bias, sd, rmse``; the MCSE of the bias is sd / sqrt(n).
    """
    values = _finite(estimates)
    n = values.size
    if n == 0:
        nan = float("nan")
        return {
            "true": truth,
            "n": 0,
            "mean": nan,
            "bias": nan,
            "mcse_bias": nan,
            "sd": nan,
            "rmse": nan,
        }
    return {
        "true": float(truth),
        "n": n,
        "mean": float(values.mean()),
        "bias": bias(values, truth),
        "mcse_bias": mcse_mean(values),
        "sd": float(values.std(ddof=1)) if n > 1 else float("nan"),
        "rmse": rmse(values, truth),
    }


def selection_rates(
    chosen: Sequence[int] | np.ndarray,
    true_k: int,
    k_range: Iterable[int],
    level: float = 0.95,
) -> dict[str, Any]:
    """Hit rate of a selection criterion with its Wilson interval, and its misses.

    Parameters
    ----------
    chosen : sequence of int, length R
        K chosen in every replication (failed replications already removed).
    true_k : int
    k_range : iterable of int
        Candidate K values (for the full distribution, zeros included).
    level : float

    Returns
    -------
    dict
        ``n, hits, hit_rate, ci_low, ci_high, too_few, too_many, distribution``,
        distribution mapping every K (as a string, for JSON) to its count.
    """
    chosen = np.asarray(chosen, dtype=int)
    n = int(chosen.size)
    hits = int(np.sum(chosen == true_k))
    low, high = wilson_interval(hits, n, level)
    nan = float("nan")
    return {
        "n": n,
        "hits": hits,
        "hit_rate": hits / n if n else nan,
        "ci_low": low,
        "ci_high": high,
        "too_few": float(np.mean(chosen < true_k)) if n else nan,
        "too_many": float(np.mean(chosen > true_k)) if n else nan,
        "distribution": {str(k): int(np.sum(chosen == k)) for k in sorted(k_range)},
    }


def interval_coverage(covered: Sequence[float] | np.ndarray, level: float = 0.95) -> dict[str, Any]:
    """Empirical coverage of confidence intervals with its Monte Carlo (Wilson) interval.

    Parameters
    ----------
    covered : sequence of float or bool, length R
        Per replication 1 (the interval contained the truth), 0 (it did not) or NaN
        (no interval: the standard error could not be computed; left out and counted).
    level : float
        Coverage of the Wilson interval (of the Monte Carlo error, not of the
        intervals being checked).

    Returns
    -------
    dict
        ``n`` (replications with an interval), ``n_missing``, ``covered`` (count),
        ``coverage`` (covered / n, NaN when n = 0), ``ci_low``, ``ci_high``.
    """
    values = np.asarray(covered, dtype=float).ravel()
    present = values[np.isfinite(values)]
    if np.any((present != 0.0) & (present != 1.0)):
        raise ValueError("covered must hold 0, 1 (or NaN for a missing interval)")
    n = int(present.size)
    hits = int(present.sum())
    low, high = wilson_interval(hits, n, level)
    return {
        "n": n,
        "n_missing": int(values.size - n),
        "covered": hits,
        "coverage": hits / n if n else float("nan"),
        "ci_low": low,
        "ci_high": high,
    }
