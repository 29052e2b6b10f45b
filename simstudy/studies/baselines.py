"""The estimator against the baselines an analyst would try first, on the real_like condition.

``python -m experiments.baselines``: replication r fits the real_like study's panel r by
the estimator (``full``), one start per K (``single``) and the two-step route (``twostep``:
each store's OLS, then scikit-learn's ``GaussianMixture``, K by its own BIC, n = N).
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from estimator import (
    DEFAULT_COEF_NAMES,
    ConvergenceWarning,
    fit_k_range,
    match_segments,
    seed_sequence,
)

if TYPE_CHECKING:
    from sklearn.mixture import GaussianMixture

from ..harness.measures import (
    adjusted_rand_index,
    misclassification_rate,
    parameter_recovery,
    selection_rates,
)
from ..harness.runner import Study, silenced
from ..harness.simulation import build_study, simulate
from . import mixture
from .config import Condition, conditions, load_config
from .paths import OUTPUTS, REAL_LIKE_CONFIG

DEFAULT_CONFIG = REAL_LIKE_CONFIG
DEFAULT_OUT = OUTPUTS / "baselines"
DEFAULT_REPLICATIONS = 200
METHODS: dict[str, str] = {
    "full": "mixture of regressions, EM with n_init starts per K, BIC",
    "single": "mixture of regressions, EM with one start per K, BIC",
    "twostep": "stores' own OLS, then a full-covariance Gaussian mixture, its own BIC",
}
"""Method keys (record prefixes) and what each is."""
SINGLE_SEED_KEY = 101
GMM_SEED_KEY = 102
"""Child streams of a replication's fitting seed for the baselines (``full`` uses the
seed itself, exactly as :func:`simstudy.studies.mixture.analyse`, whose children are keyed by K)."""
VERSION = "baselines-2 (two-step on scikit-learn's GaussianMixture)"
REACHED_RTOL = 1e-6
"""A single start reaches the maximum when within this relative distance of ``full``."""


def _segment_fields(
    prefix: str,
    theta: np.ndarray,
    pi: np.ndarray,
    labels: np.ndarray,
    condition: Condition,
    data: mixture.SimData,
) -> dict[str, Any]:
    """Estimates matched to the true segments, ARI and misclassification of one method."""
    perm = match_segments(theta, condition.truth.theta, data.stats.gram / condition.factors["T"])
    estimates = mixture.segment_values(theta[perm], pi[perm], DEFAULT_COEF_NAMES)
    fields = {f"{prefix}_est_{name}": value for name, value in estimates.items()}
    fields[f"{prefix}_ari"] = adjusted_rand_index(data.labels, labels)
    fields[f"{prefix}_misclassification"] = misclassification_rate(data.labels, labels, perm)
    return fields


def _mixture_fields(
    prefix: str,
    condition: Condition,
    data: mixture.SimData,
    n_init: int,
    seed: np.random.SeedSequence,
) -> dict[str, Any]:
    """Fit every K by the estimator with ``n_init`` starts; record choice, fit and time."""
    fit = condition.fit
    started = time.perf_counter()
    selection = fit_k_range(
        data.stats, condition.k_range, n_init=n_init, tol=fit["tol"], max_iter=fit["max_iter"],
        seed=seed, init=fit["init"],
    )  # fmt: skip
    seconds = time.perf_counter() - started
    at_true = selection.fits[condition.truth.n_components]
    fields: dict[str, Any] = {f"{prefix}_chosen_k": selection.chosen_k}
    fields |= {f"{prefix}_loglik_K{k}": selection.fits[k].loglik for k in selection.k_range}
    fields[f"{prefix}_converged"] = at_true.converged
    fields.update(
        _segment_fields(prefix, at_true.theta, at_true.pi, at_true.labels, condition, data)
    )
    fields[f"{prefix}_seconds"] = seconds
    return fields


def gaussian_mixtures(
    points: np.ndarray, k_range: tuple[int, ...], n_init: int, seed: Any
) -> tuple[dict[int, GaussianMixture | None], dict[int, float]]:
    """Full-covariance Gaussian mixtures of ``points`` for every K (random state from
    ``seed_sequence(seed, K)``) and their BIC (n = N); a failed fit is None, BIC inf."""
    from sklearn.mixture import GaussianMixture  # here: the command lines load this module
    from threadpoolctl import threadpool_limits

    fits: dict[int, GaussianMixture | None] = {}
    bic: dict[int, float] = {}
    # a few hundred points: BLAS and OpenMP threads only add overhead (20 times the time)
    with threadpool_limits(1):
        for k in k_range:
            state = int(seed_sequence(seed, k).generate_state(1)[0])
            model = GaussianMixture(k, n_init=n_init, random_state=state)
            try:
                fits[k] = model.fit(points)
                bic[k] = float(model.bic(points))
            except ValueError:  # "ill-defined empirical covariance"
                fits[k], bic[k] = None, math.inf
    return fits, bic


def _twostep_fields(
    condition: Condition, data: mixture.SimData, n_init: int, seed: np.random.SeedSequence
) -> dict[str, Any]:
    """Gaussian mixture of the stores' OLS estimates for every K; choice by its BIC."""
    started = time.perf_counter()
    points = data.stats.ols
    fits, bic = gaussian_mixtures(points, condition.k_range, n_init, seed)
    seconds = time.perf_counter() - started
    at_true = fits[condition.truth.n_components]
    fields: dict[str, Any] = {"twostep_chosen_k": min(bic, key=bic.get)}
    fields |= {f"twostep_bic_K{k}": value for k, value in bic.items()}
    if at_true is None:
        raise ValueError(f"the two-step Gaussian mixture failed at the true K = {len(bic)}")
    fields["twostep_converged"] = bool(at_true.converged_)
    labels = at_true.predict(points)
    fields.update(
        _segment_fields("twostep", at_true.means_, at_true.weights_, labels, condition, data)
    )
    fields["twostep_seconds"] = seconds
    return fields


def analyse(
    condition: Condition, data: mixture.SimData, rng: np.random.Generator
) -> dict[str, Any]:
    """Fit one panel by the estimator (``rng``'s stream, as the recovery study), a single start
    and the two-step route (``fit["gmm_n_init"]`` starts); the ``{method}_...`` fields."""
    from sklearn.exceptions import ConvergenceWarning as GaussianMixtureConvergence

    seed = rng.bit_generator.seed_seq
    fit = condition.fit
    with silenced([ConvergenceWarning, GaussianMixtureConvergence]):  # recorded
        record = _mixture_fields("full", condition, data, fit["n_init"], seed)
        single_seed = seed_sequence(seed, SINGLE_SEED_KEY)
        record.update(_mixture_fields("single", condition, data, 1, single_seed))
        gmm_seed = seed_sequence(seed, GMM_SEED_KEY)
        record.update(_twostep_fields(condition, data, fit["gmm_n_init"], gmm_seed))
    return record


def _paired(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Mean of a - b over replications and its Monte Carlo standard error."""
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    n = diff.size
    sd = float(diff.std(ddof=1)) if n > 1 else float("nan")
    return {"mean": float(diff.mean()) if n else float("nan"), "se": sd / math.sqrt(n)}


def summarise(condition: Condition, ok: pd.DataFrame) -> dict[str, Any]:
    """``true_k``; per method its recovery, hit rate, classification and time (``methods``);
    each baseline against ``full`` (``comparison``: RMSE ratios, paired differences, time
    ratio); and per K how often one start reached ``full``'s maximum (``single_start``)."""
    true_k = condition.truth.n_components
    true_values = mixture.segment_values(
        condition.truth.theta, condition.truth.pi, ("alpha", "beta")
    )
    methods: dict[str, Any] = {}
    for m, description in METHODS.items():
        seconds = ok[f"{m}_seconds"].to_numpy(dtype=float)
        methods[m] = {
            "description": description,
            "recovery": [
                {"parameter": p, **parameter_recovery(ok[f"{m}_est_{p}"].to_numpy(float), v)}
                for p, v in true_values.items()
            ],
            "selection": selection_rates(
                ok[f"{m}_chosen_k"].to_numpy(dtype=int), true_k, condition.k_range
            ),
            "classification": {
                "ari_mean": float(ok[f"{m}_ari"].mean()),
                "misclassification_mean": float(ok[f"{m}_misclassification"].mean()),
            },
            "converged_rate": float(ok[f"{m}_converged"].astype(bool).mean()),
            "seconds": {
                "mean": float(seconds.mean()),
                "median": float(np.median(seconds)),
                "total": float(seconds.sum()),
            },
        }
    full = methods["full"]
    comparison: dict[str, Any] = {}
    for m in (m for m in METHODS if m != "full"):
        rmse_ratio = {
            row["parameter"]: row["rmse"] / base["rmse"]
            for row, base in zip(methods[m]["recovery"], full["recovery"], strict=True)
        }
        hits, wrong = ok[f"{m}_chosen_k"] == true_k, ok[f"{m}_misclassification"]
        comparison[m] = {
            "rmse_ratio": rmse_ratio,
            "hit_rate_difference": _paired(ok["full_chosen_k"] == true_k, hits),
            "misclassification_difference": _paired(wrong, ok["full_misclassification"]),
            "ari_difference": _paired(ok["full_ari"], ok[f"{m}_ari"]),
            "time_ratio": methods[m]["seconds"]["mean"] / full["seconds"]["mean"],
        }
    single_start = {}
    for k in condition.k_range:
        best = ok[f"full_loglik_K{k}"].to_numpy(dtype=float)
        one = ok[f"single_loglik_K{k}"].to_numpy(dtype=float)
        gap = best - one
        single_start[str(k)] = {
            "reached_rate": float(np.mean(gap <= REACHED_RTOL * np.abs(best))),
            "gap_mean": float(gap.mean()),
            "gap_max": float(gap.max()),
        }
    return {"true_k": true_k, "methods": methods, "comparison": comparison,
            "single_start": single_start}  # fmt: skip


def baseline_study(
    config_path: Path = DEFAULT_CONFIG,
    replications: int = DEFAULT_REPLICATIONS,
    gmm_n_init: int | None = None,
) -> tuple[Study, dict[str, Any]]:
    """The baseline study of the config's condition(s), and what summary.json says of it."""
    config = load_config(config_path)
    gmm_n_init = int(config["fit"]["n_init"]) if gmm_n_init is None else gmm_n_init
    conds = [replace(c, fit={**c.fit, "gmm_n_init": gmm_n_init}) for c in conditions(config)]
    settings = {
        "config": config["name"],
        "k_range": config["k_range"],
        "fit": {**config["fit"], "gmm_n_init": gmm_n_init},
        "methods": METHODS,
    }
    about = {"description": __doc__.split("\n\n")[0], "config": config, "gmm_n_init": gmm_n_init}
    study = build_study(
        conds, replications, mixture.generate, analyse, seed=int(config["seed"]),
        name="baselines", settings=settings, version=VERSION,
    )  # fmt: skip
    return study, about


def run(
    config_path: Path = DEFAULT_CONFIG,
    out_dir: Path = DEFAULT_OUT,
    replications: int = DEFAULT_REPLICATIONS,
    n_jobs: int = 1,
    gmm_n_init: int | None = None,
    quiet: bool = False,
) -> dict[str, Any]:
    """Run (or resume) the baseline study on the config's condition(s); return summary.json."""
    study, about = baseline_study(config_path, replications, gmm_n_init)
    progress = None if quiet else "stderr"
    return simulate(
        study, summarise, out_dir, n_jobs=n_jobs, progress=progress, about=about
    ).document
