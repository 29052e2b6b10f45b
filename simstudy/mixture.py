"""The mixture-of-regressions study: generate, analyse and summarise one condition.

These three functions are the science of a study (SimDesign's trio); seeds,
parallelism, checkpoints and error capture belong to :mod:`simstudy.runner`.

A replication's record is a flat dict. For every fitted K: ``loglik_K{k}``,
every criterion ``{criterion}_K{k}``, ``converged_K{k}`` and ``n_iter_K{k}``;
for every criterion the K it chooses, ``chosen_{criterion}``; and for the true
K the estimates matched to the true segments (``est_alpha_{c}``,
``est_beta_{c}``, ``est_pi_{c}``, c = 1..K in the truth's order, and
``est_sigma_{c}`` when sigma is estimated), ``ari`` and
``misclassification`` of the most likely labels, ``n_iter``, ``converged``,
``degenerate`` and ``restarts_at_best``. New per-replication quantities are new
keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from estimator.init import seed_sequence
from estimator.panel import SufficientStats
from estimator.selection import CRITERIA, fit_k_range

from .design import Condition
from .generate import draw_prices, generate_stats
from .metrics import (
    adjusted_rand_index,
    match_segments,
    misclassification_rate,
    parameter_recovery,
    selection_rates,
)

COEF_NAMES: tuple[str, ...] = ("alpha", "beta")


@dataclass(frozen=True, eq=False)
class SimData:
    """One synthetic data set.

    Attributes
    ----------
    stats : SufficientStats
        Per-store statistics of the generated panel (N stores).
    labels : ndarray of shape (N,)
        True segments (0-based, rows of the condition's truth).
    prices : ndarray of shape (T,)
    """

    stats: SufficientStats
    labels: np.ndarray
    prices: np.ndarray


def generate(condition: Condition, seed: np.random.SeedSequence) -> SimData:
    """Draw one data set for ``condition`` (prices from child 0, stores from child 1 of seed)."""
    f = condition.factors
    prices = draw_prices(f["prices"], f["T"], seed_sequence(seed, 0), condition.price_data)
    stats, labels = generate_stats(condition.truth, prices, f["N"], seed_sequence(seed, 1))
    return SimData(stats=stats, labels=labels, prices=prices)


def parameter_names(n_components: int) -> list[str]:
    """Names of a K-segment truth's parameters: alpha_1, beta_1, pi_1, ..., pi_K."""
    return [f"{name}_{c + 1}" for c in range(n_components) for name in (*COEF_NAMES, "pi")]


def analyse(condition: Condition, data: SimData, seed: np.random.SeedSequence) -> dict[str, Any]:
    """Fit every K in the condition's k_range and return the replication's record.

    Parameters
    ----------
    condition : Condition
    data : SimData
    seed : SeedSequence
        Randomness of the EM starting values.

    Returns
    -------
    dict
        Flat record (module docstring).
    """
    fit_settings = condition.fit
    selection = fit_k_range(
        data.stats,
        condition.k_range,
        n_init=fit_settings["n_init"],
        tol=fit_settings["tol"],
        max_iter=fit_settings["max_iter"],
        seed=seed,
        init=fit_settings["init"],
        sigma=fit_settings["sigma"],
    )
    record: dict[str, Any] = {}
    for k in selection.k_range:
        fit = selection.fits[k]
        record[f"loglik_K{k}"] = fit.loglik
        for name in CRITERIA:
            record[f"{name}_K{k}"] = selection.criteria[k][name]
        record[f"converged_K{k}"] = fit.converged
        record[f"n_iter_K{k}"] = fit.n_iter
    for name, k in selection.chosen_by().items():
        record[f"chosen_{name}"] = k

    truth = condition.truth
    fit = selection.fits[truth.n_components]
    metric = data.stats.gram / condition.factors["T"]
    perm = match_segments(fit.theta, truth.theta, metric)
    for c in range(truth.n_components):
        for j, name in enumerate(COEF_NAMES):
            record[f"est_{name}_{c + 1}"] = float(fit.theta[perm[c], j])
        record[f"est_pi_{c + 1}"] = float(fit.pi[perm[c]])
        if fit_settings["sigma"] != "fixed":
            record[f"est_sigma_{c + 1}"] = float(fit.sigma[perm[c]])
    record["ari"] = adjusted_rand_index(data.labels, fit.labels)
    record["misclassification"] = misclassification_rate(data.labels, fit.labels, perm)
    record["n_iter"] = fit.n_iter
    record["converged"] = fit.converged
    record["degenerate"] = fit.degenerate
    record["restarts_at_best"] = fit.n_at_best
    return record


def _true_values(condition: Condition) -> dict[str, float]:
    truth = condition.truth
    values = {}
    for c in range(truth.n_components):
        for j, name in enumerate(COEF_NAMES):
            values[f"{name}_{c + 1}"] = float(truth.theta[c, j])
        values[f"pi_{c + 1}"] = float(truth.pi[c])
        if condition.fit["sigma"] != "fixed":
            values[f"sigma_{c + 1}"] = float(truth.sigma)
    return values


def summarise(condition: Condition, records: pd.DataFrame) -> dict[str, Any]:
    """Per-condition summary: recovery at the true K, hit rates, convergence, errors.

    Parameters
    ----------
    condition : Condition
    records : DataFrame
        One row per replication (the runner's records, errors included).

    Returns
    -------
    dict
        JSON-ready: ``n_replications, n_ok, n_errors, errors`` (distinct messages
        with counts), ``recovery`` (one row per parameter), ``classification``,
        ``convergence``, ``selection`` (per criterion) and ``seconds``.
    """
    ok = records[records["status"] == "ok"] if len(records) else records
    failed = records[records["status"] != "ok"] if len(records) else records
    errors = failed["error"].value_counts().to_dict() if len(failed) else {}
    true_k = condition.truth.n_components
    recovery = []
    for name, value in _true_values(condition).items():
        column = f"est_{name}"
        estimates = ok[column].to_numpy(dtype=float) if column in ok else np.array([])
        recovery.append({"parameter": name, **parameter_recovery(estimates, value)})
    summary: dict[str, Any] = {
        "n_replications": int(len(records)),
        "n_ok": int(len(ok)),
        "n_errors": int(len(failed)),
        "errors": {str(message): int(count) for message, count in errors.items()},
        "recovery": recovery,
    }
    if len(ok):
        summary["classification"] = {
            "ari_mean": float(ok["ari"].mean()),
            "misclassification_mean": float(ok["misclassification"].mean()),
        }
        summary["convergence"] = {
            "converged_rate": float(ok["converged"].astype(bool).mean()),
            "degenerate_rate": float(ok["degenerate"].astype(bool).mean()),
            "n_iter_mean": float(ok["n_iter"].mean()),
            "restarts_at_best_mean": float(ok["restarts_at_best"].mean()),
            "not_converged_any_k": int(
                (~ok[[f"converged_K{k}" for k in condition.k_range]].astype(bool)).any(axis=1).sum()
            ),
        }
    summary["selection"] = {
        name: selection_rates(
            ok[f"chosen_{name}"].to_numpy(dtype=int) if len(ok) else [], true_k, condition.k_range
        )
        for name in CRITERIA
    }
    seconds = records["seconds"].to_numpy(dtype=float) if len(records) else np.array([])
    summary["seconds"] = {
        "mean": float(seconds.mean()) if seconds.size else float("nan"),
        "total": float(seconds.sum()),
    }
    return summary
