"""Performance measures of a simulation study, each with its Monte Carlo standard error.

The measures and their MCSEs are those of Morris, White & Crowther (2019, Statistics in
Medicine 38:2074-2102, table 6) as R's rsimsum computes them, over the replications with
a finite estimate (and standard error): of the estimates (:func:`parameter_recovery`),
of the standard errors and intervals (:func:`standard_error_measures`), of a choice
(:func:`selection_rates`) and of any 0/1 outcome (:func:`interval_coverage`). The MCSE
of the RMSE is the delta method's, MCSE(MSE) / (2 RMSE). Nothing here knows a model.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from statistics import NormalDist
from typing import Any

import numpy as np

ArrayLike = Sequence[float] | np.ndarray


def adjusted_rand_index(labels_a: ArrayLike, labels_b: ArrayLike) -> float:
    """Hubert and Arabie's adjusted Rand index of two labellings of shape (N,) (1 = identical,
    or both a single cluster): scikit-learn's, with a clear error for unequal lengths."""
    from sklearn.metrics import adjusted_rand_score

    labels_a, labels_b = np.ravel(labels_a), np.ravel(labels_b)
    if labels_a.shape != labels_b.shape:
        raise ValueError(f"label arrays differ in length: {labels_a.size} vs {labels_b.size}")
    return float(adjusted_rand_score(labels_a, labels_b))


def misclassification_rate(true_labels: np.ndarray, labels: np.ndarray, perm: np.ndarray) -> float:
    """Share of stores whose estimated segment (``labels``, (N,)) is not their true one
    (``true_labels``, (N,)), estimated segment ``perm[c]`` being true segment c (K,)."""
    to_true = np.empty_like(perm)
    to_true[perm] = np.arange(perm.size)
    return float(np.mean(to_true[np.asarray(labels)] != np.asarray(true_labels)))


def wilson_interval(successes: int, trials: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval (low, high) of ``successes`` out of ``trials`` at ``level``;
    (nan, nan) when ``trials`` is 0. (Hand-written: scipy's ``binomtest(...).proportion_ci``
    differs in the last bits, and the committed summaries hold these digits.)"""
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


def proportion_mcse(rate: float, n: int) -> float:
    """Monte Carlo SE of a proportion over ``n`` replications, sqrt(p (1 - p) / n)."""
    return float(np.sqrt(rate * (1 - rate) / n)) if n else float("nan")


def _finite(values: ArrayLike) -> np.ndarray:
    """Values as a flat float array with NaN and infinities (failed replications) dropped."""
    values = np.asarray(values, dtype=float).ravel()
    return values[np.isfinite(values)]


def bias(estimates: ArrayLike, truth: float) -> float:
    """Mean error ``mean(estimates) - truth`` of R estimates (NaN entries dropped; NaN when
    none is finite)."""
    values = _finite(estimates)
    return float(np.mean(values - truth)) if values.size else float("nan")


def rmse(estimates: ArrayLike, truth: float) -> float:
    """Root mean squared error ``sqrt(mean((estimates - truth)^2))``; arguments as :func:`bias`."""
    values = _finite(estimates)
    return float(np.sqrt(np.mean((values - truth) ** 2))) if values.size else float("nan")


def mcse_mean(values: ArrayLike) -> float:
    """Monte Carlo SE of a mean of R values, ``sd / sqrt(R)`` (NaN entries dropped; NaN with
    fewer than two): the MCSE of a bias is that of the mean of the estimates."""
    values = _finite(values)
    return float(values.std(ddof=1) / np.sqrt(values.size)) if values.size > 1 else float("nan")


def mcse_sd(sd: float, n: int) -> float:
    """Monte Carlo SE of an empirical SE ``sd`` of ``n`` estimates: sd / sqrt(2 (n - 1))."""
    return sd / np.sqrt(2 * (n - 1)) if n > 1 else float("nan")


def parameter_recovery(estimates: ArrayLike, truth: float) -> dict[str, float]:
    """Measures of the estimates (R,) of one parameter (NaN entries dropped) against
    ``truth``: ``true, n, mean``, and ``bias``, ``sd`` (the empirical SE), ``mse`` and
    ``rmse`` each with its ``mcse_``; NaN where undefined (no estimate; an SD of one)."""
    values = _finite(estimates)
    n = values.size
    nan = float("nan")
    if n == 0:
        keys = ("mean", "bias", "mcse_bias", "sd", "mcse_sd", "mse", "mcse_mse", "rmse")
        return {"true": truth, "n": 0, **dict.fromkeys(keys, nan), "mcse_rmse": nan}
    squared = (values - truth) ** 2
    mse = float(squared.mean())
    sd = float(values.std(ddof=1)) if n > 1 else nan
    mcse_mse = float(np.sqrt(np.sum((squared - mse) ** 2) / (n * (n - 1)))) if n > 1 else nan
    rmse_value = rmse(values, truth)
    return {
        "true": float(truth),
        "n": n,
        "mean": float(values.mean()),
        "bias": bias(values, truth),
        "mcse_bias": mcse_mean(values),
        "sd": sd,
        "mcse_sd": mcse_sd(sd, n),
        "mse": mse,
        "mcse_mse": mcse_mse,
        "rmse": rmse_value,
        "mcse_rmse": mcse_mse / (2 * rmse_value) if rmse_value > 0 else nan,
    }


def standard_error_measures(
    estimates: ArrayLike,
    standard_errors: ArrayLike,
    empirical_se: float,
    level: float = 0.95,
) -> dict[str, float]:
    """Measures of one parameter's model standard errors, each with its Monte Carlo SE.

    Over the n replications with a finite estimate and standard error (R of each, NaN:
    none), against the SD of the estimates ``empirical_se``: ``n_se``; ``modelse``
    (sqrt of the mean SE^2); ``relerror`` (100 (modelse / empirical SE - 1), %);
    ``becoverage`` and ``rejection`` (of theta = 0) of the Wald intervals est +- z SE at
    ``level``; each with ``mcse_{measure}``.
    """
    est = np.asarray(estimates, dtype=float).ravel()
    se = np.asarray(standard_errors, dtype=float).ravel()
    both = np.isfinite(est) & np.isfinite(se)
    n, nan = int(both.sum()), float("nan")
    if n < 2:
        keys = ("modelse", "relerror", "becoverage", "rejection")
        return {"n_se": n, **{k: nan for key in keys for k in (key, f"mcse_{key}")}}
    z = NormalDist().inv_cdf(0.5 + level / 2)
    mean_est = float(_finite(est).mean())
    est, se = est[both], se[both]
    var_se2 = float(np.var(se**2, ddof=1))
    modelse = float(np.sqrt(np.mean(se**2)))
    ratio = modelse / empirical_se if empirical_se > 0 else nan
    becoverage = float(np.mean(np.abs(est - mean_est) <= z * se))
    rejection = float(np.mean(np.abs(est) >= z * se))
    return {
        "n_se": n,
        "modelse": modelse,
        "mcse_modelse": float(np.sqrt(var_se2 / (4 * n * modelse**2))),
        "relerror": 100 * (ratio - 1),
        "mcse_relerror": 100
        * ratio
        * float(np.sqrt(var_se2 / (4 * n * modelse**4) + 1 / (2 * (n - 1)))),
        "becoverage": becoverage,
        "mcse_becoverage": proportion_mcse(becoverage, n),
        "rejection": rejection,
        "mcse_rejection": proportion_mcse(rejection, n),
    }


def selection_rates(
    chosen: Sequence[int] | np.ndarray,
    true_k: int,
    k_range: Iterable[int],
    level: float = 0.95,
) -> dict[str, Any]:
    """Hit rate of a selection criterion with its MCSE and Wilson interval, and its misses.

    ``chosen``: the K chosen in each of R (successful) replications; ``k_range``: the
    candidates. Returns ``n, hits, hit_rate, mcse, ci_low, ci_high, too_few, too_many``
    and ``distribution``, every candidate K (a string, for JSON) to its count.
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
        "mcse": proportion_mcse(hits / n, n) if n else nan,
        "ci_low": low,
        "ci_high": high,
        "too_few": float(np.mean(chosen < true_k)) if n else nan,
        "too_many": float(np.mean(chosen > true_k)) if n else nan,
        "distribution": {str(k): int(np.sum(chosen == k)) for k in sorted(k_range)},
    }


def interval_coverage(covered: ArrayLike, level: float = 0.95) -> dict[str, Any]:
    """Empirical coverage of confidence intervals with its MCSE and Wilson interval.

    ``covered``: per replication 1 (the interval contained the truth), 0 (it did not)
    or NaN (no interval: left out and counted). Returns ``n`` (replications with an
    interval), ``n_missing``, ``covered`` (count), ``coverage`` (NaN when n = 0),
    ``mcse``, ``ci_low``, ``ci_high`` (Wilson at ``level``, of the Monte Carlo error).
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
        "mcse": proportion_mcse(hits / n, n) if n else float("nan"),
        "ci_low": low,
        "ci_high": high,
    }
