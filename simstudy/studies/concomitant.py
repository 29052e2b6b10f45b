"""Recovery of concomitant coefficients: store covariates that drive segment membership.

``python -m experiments.concomitant`` (docs/library.md): two segments, store-specific
prices, pi_i1 = expit(gamma_0 + gamma_1 z_i); rsimsum's measures of gamma at K = 2 and
BIC's hit rates with and without the concomitant.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from estimator import (
    ConvergenceWarning,
    InferenceWarning,
    fit_k_range,
    match_segments,
    observed_information_se,
    regression_data,
)

from ..harness.measures import (
    interval_coverage,
    parameter_recovery,
    selection_rates,
    standard_error_measures,
)
from ..harness.runner import silenced

VERSION = "concomitant-1"
THETA = np.array([[10.8, -1.07], [9.9, -1.8]])
GAMMA = np.array([[-0.5, 1.0], [0.0, 0.0]])
NAMES = ("intercept", "z")
K_RANGE = (1, 2, 3)
N_INIT = 20


def generate(condition: dict[str, Any], rng: np.random.Generator) -> pd.DataFrame:
    """One panel: ``n_stores`` stores of ``n_weeks`` weeks, membership drawn from pi(z)."""
    n, t = condition["n_stores"], condition["n_weeks"]
    z = rng.normal(size=n)
    first = rng.random(n) < 1.0 / (1.0 + np.exp(-(GAMMA[0, 0] + GAMMA[0, 1] * z)))
    segment = np.where(first, 0, 1)
    store = np.repeat(np.arange(n), t)
    log_price = rng.normal(0.5, 0.15, n * t)
    mean = THETA[segment[store], 0] + THETA[segment[store], 1] * log_price
    return pd.DataFrame(
        {"store": store, "z": z[store], "log_price": log_price,
         "log_sales": mean + rng.normal(size=n * t)}
    )  # fmt: skip


def analyse(condition: dict[str, Any], data: pd.DataFrame, rng: np.random.Generator) -> dict:
    """gamma at K = 2 with SEs and coverage; BIC's K with and without the concomitant."""
    units = regression_data(data, "log_sales ~ log_price", "store", concomitant="~ z")
    stats = units.sufficient_stats()
    seeds = rng.bit_generator.seed_seq.spawn(2)
    shared = {"n_init": N_INIT, "sigma": "fixed"}
    with silenced([ConvergenceWarning, InferenceWarning]):
        plain = fit_k_range(stats, K_RANGE, seed=seeds[0], **shared)
        with_z = fit_k_range(stats, K_RANGE, seed=seeds[1], covariates=units.covariates,
                             covariate_names=units.covariate_names, **shared)  # fmt: skip
        fit = with_z.fits[2]
        order = match_segments(fit.theta, THETA)
        inference = observed_information_se(fit, stats).reordered(order)
    out = {"k_plain": plain.chosen_k, "k_concomitant": with_z.chosen_k}
    covered = inference.covers_gamma(GAMMA)[0]
    for q, name in enumerate(NAMES):
        out[f"gamma_{name}"] = float(inference.gamma[0, q])
        out[f"se_{name}"] = float(inference.se_gamma[0, q])
        out[f"cover_{name}"] = float(covered[q]) if inference.valid else float("nan")
    return out


def summarise(condition: dict[str, Any], results: pd.DataFrame) -> dict[str, Any]:
    """rsimsum's measures of gamma (with Monte Carlo SEs) and both choices of K."""
    recovery = []
    for q, name in enumerate(NAMES):
        estimates = results[f"gamma_{name}"].to_numpy()
        measures = parameter_recovery(estimates, GAMMA[0, q])
        measures |= standard_error_measures(estimates, results[f"se_{name}"], measures["sd"])
        coverage = interval_coverage(results[f"cover_{name}"])
        recovery.append({"parameter": f"gamma_{name}", **measures,
                         "coverage": coverage["coverage"], "mcse_coverage": coverage["mcse"],
                         "coverage_ci": [coverage["ci_low"], coverage["ci_high"]]})  # fmt: skip
    return {
        "recovery": recovery,
        "selection": {
            kind: selection_rates(results[f"k_{kind}"], 2, K_RANGE)
            for kind in ("plain", "concomitant")
        },
    }
