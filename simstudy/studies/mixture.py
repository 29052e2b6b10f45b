"""The mixture-of-regressions study: generate, analyse and summarise one condition.

SimDesign's trio for the recovery and selection studies, run by :func:`run` on a config's
conditions; a replication's flat record is laid out in docs/simstudy.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from estimator import (
    CRITERIA,
    DEFAULT_COEF_NAMES,
    ConvergenceWarning,
    Inference,
    InferenceWarning,
    MixtureFit,
    SufficientStats,
    bootstrap_lrt,
    fit_k_range,
    match_segments,
    naive_se,
    observed_information_se,
    seed_sequence,
)

from ..harness.measures import (
    adjusted_rand_index,
    interval_coverage,
    misclassification_rate,
    parameter_recovery,
    selection_rates,
    standard_error_measures,
    wilson_interval,
)
from ..harness.runner import Study, silenced
from ..harness.simulation import SimulationResult, build_study, simulate
from .config import Condition, conditions, fit_options
from .generate import Truth, draw_prices, generate_long, generate_stats

SE_KINDS: dict[str, Callable[[SufficientStats], Inference]] = {
    "observed": observed_information_se,
    "naive": naive_se,
}
"""Standard errors recorded per replication (``fit["inference"]``), by record-key name."""


@dataclass(frozen=True, eq=False)
class SimData:
    """One synthetic data set: the panel's per-store ``stats`` (N stores), the true
    ``labels`` (shape (N,), rows of the condition's truth) and ``prices`` (shape (T,))."""

    stats: SufficientStats
    labels: np.ndarray
    prices: np.ndarray


def generate(condition: Condition, rng: np.random.Generator) -> SimData:
    """Draw one data set (prices from child 0, stores from child 1 of the rng's seed)."""
    seed = rng.bit_generator.seed_seq
    f = condition.factors
    prices = draw_prices(f["prices"], f["T"], seed_sequence(seed, 0), condition.price_data)
    irregular = condition.irregularities
    if irregular is None:
        stats, labels = generate_stats(condition.truth, prices, f["N"], seed_sequence(seed, 1))
    else:
        panel, labels = generate_long(
            condition.truth, prices, f["N"], seed_sequence(seed, 1), irregular
        )
        stats = panel.sufficient_stats()
    return SimData(stats=stats, labels=labels, prices=prices)


def analyse(condition: Condition, data: SimData, rng: np.random.Generator) -> dict[str, Any]:
    """Fit every K of the condition's k_range from ``rng``'s stream; the flat record."""
    seed = rng.bit_generator.seed_seq
    fit_settings = condition.fit
    selection = fit_k_range(
        data.stats, condition.k_range, seed=seed, coef_names=condition.coef_names,
        **fit_options(fit_settings),
    )  # fmt: skip
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
    if "blrt" in fit_settings:
        record.update(blrt_fields(fit_settings, data.stats, selection.fits, seed_sequence(seed, 0)))

    truth = condition.truth
    fit = selection.fits[truth.n_components]
    gram = data.stats.gram if data.stats.shared_gram else data.stats.gram.mean(axis=0)
    metric = gram / condition.factors["T"]
    perm = match_segments(fit.theta, truth.theta, metric)
    sigma = fit.sigma[perm] if fit_settings["sigma"] != "fixed" else None
    estimates = segment_values(fit.theta[perm], fit.pi[perm], condition.coef_names, sigma)
    record |= {f"est_{name}": value for name, value in estimates.items()}
    if fit_settings.get("inference", False):
        estimated_sigma = fit.sigma_mode != "fixed"
        record.update(
            inference_fields(fit, data.stats, truth, perm, estimated_sigma, condition.coef_names)
        )
    record["ari"] = adjusted_rand_index(data.labels, fit.labels)
    record["misclassification"] = misclassification_rate(data.labels, fit.labels, perm)
    record["n_iter"] = fit.n_iter
    record["converged"] = fit.converged
    record["degenerate"] = fit.degenerate
    record["restarts_at_best"] = fit.n_at_best
    return record


def blrt_fields(
    fit_settings: dict[str, Any],
    stats: SufficientStats,
    fits: dict[int, Any],
    seed: np.random.SeedSequence,
) -> dict[str, Any]:
    """The bootstrap LRT's fields of a record (module docstring): the test of a condition's
    ``fit`` settings (with their ``blrt`` entry) on the replication's ``fits`` over its
    k_range, bootstrap streams from ``seed``."""
    blrt = fit_settings["blrt"]
    result = bootstrap_lrt(
        stats, int(blrt["k_max"]), int(blrt["n_boot"]), level=float(blrt["level"]),
        k_min=int(blrt["k_min"]), seed=seed, fits=fits, sequential=bool(blrt["sequential"]),
        **fit_options(fit_settings),
    )  # fmt: skip
    fields: dict[str, Any] = {"chosen_blrt": result.chosen_k}
    nan = float("nan")
    for k0 in range(result.k_min, result.k_max):
        step = next((s for s in result.steps if s.k0 == k0), None)
        fields[f"blrt_lr_K{k0}"] = nan if step is None else step.lr
        fields[f"blrt_p_K{k0}"] = nan if step is None else step.p_value
        fields[f"blrt_n_used_K{k0}"] = nan if step is None else float(step.n_used)
    return fields


def blrt_summary(blrt: dict[str, Any], ok: pd.DataFrame) -> dict[str, Any]:
    """How often the test of K0 against K0 + 1 rejected: ``level``, ``n_boot`` and ``tests``,
    per K0 ``K0``, ``n`` (replications that reached it), ``rejections``, ``rejection_rate``,
    ``ci_low``, ``ci_high`` (Wilson 95%) and ``n_used_mean`` (bootstrap samples drawn)."""
    tests = []
    for k0 in range(int(blrt["k_min"]), int(blrt["k_max"])):
        column = f"blrt_p_K{k0}"
        p = ok[column].to_numpy(dtype=float) if column in ok else np.array([])
        reached = p[np.isfinite(p)]
        rejections = int(np.sum(reached <= blrt["level"]))
        low, high = wilson_interval(rejections, int(reached.size))
        used = ok[f"blrt_n_used_K{k0}"].to_numpy(dtype=float) if reached.size else reached
        tests.append(
            {
                "K0": k0,
                "n": int(reached.size),
                "rejections": rejections,
                "rejection_rate": rejections / reached.size if reached.size else float("nan"),
                "ci_low": low,
                "ci_high": high,
                "n_used_mean": float(np.nanmean(used)) if reached.size else float("nan"),
            }
        )
    return {"level": float(blrt["level"]), "n_boot": int(blrt["n_boot"]), "tests": tests}


def inference_fields(
    fit: MixtureFit | tuple[np.ndarray, ...],
    stats: SufficientStats,
    truth: Truth,
    perm: np.ndarray,
    estimated_sigma: bool = False,
    coef_names: tuple[str, ...] = DEFAULT_COEF_NAMES,
) -> dict[str, Any]:
    """Standard errors and interval coverage of one fit at the true K (fitted segment
    ``perm[c]`` is true segment c): per kind of :data:`SE_KINDS` ``se_valid_{kind}``,
    ``se_{kind}_{name}``, ``cover_{kind}_{name}`` and ``cover_{kind}_logit_pi_{c}``."""
    fields: dict[str, Any] = {}
    for kind, method in SE_KINDS.items():
        # validity is recorded (se_valid_*, NaN errors); the warning would only spam
        with silenced([InferenceWarning]):
            inference = method(fit, stats).reordered(perm)
        theta_cover, pi_cover = inference.covers(truth.theta, truth.pi)
        fields[f"se_valid_{kind}"] = bool(inference.valid)
        for c in range(truth.n_components):
            segment = c + 1
            for j, name in enumerate(coef_names):
                se = inference.se_theta[c, j]
                fields[f"se_{kind}_{name}_{segment}"] = float(se)
                fields[f"cover_{kind}_{name}_{segment}"] = _flag(theta_cover[c, j], se)
            se = inference.se_pi[c]
            fields[f"se_{kind}_pi_{segment}"] = float(se)
            fields[f"cover_{kind}_pi_{segment}"] = _flag(pi_cover[c], se)
            # the estimator's one pi interval is the logit-scale one
            fields[f"cover_{kind}_logit_pi_{segment}"] = _flag(pi_cover[c], se)
            if estimated_sigma:
                se = inference.se_sigma[c]
                fields[f"se_{kind}_sigma_{segment}"] = float(se)
                fields[f"cover_{kind}_sigma_{segment}"] = _flag(
                    inference.covers_sigma(truth.sigma)[c], se
                )
    return fields


def _flag(covered: bool, se: float) -> float:
    """1.0 / 0.0 for a computed interval, NaN when the standard error is missing."""
    return float(covered) if np.isfinite(se) else float("nan")


def segment_values(
    theta: np.ndarray, pi: np.ndarray, coef_names: Sequence[str], sigma: Any = None
) -> dict[str, float]:
    """``{name}_{c}`` -> value, segment by segment: theta (K, P)'s coefficients named
    ``coef_names``, pi (K,) and, unless None, sigma (K,)."""
    values: dict[str, float] = {}
    for c in range(len(pi)):
        values |= {f"{name}_{c + 1}": float(theta[c, j]) for j, name in enumerate(coef_names)}
        values[f"pi_{c + 1}"] = float(pi[c])
        if sigma is not None:
            values[f"sigma_{c + 1}"] = float(sigma[c])
    return values


def true_values(condition: Condition) -> dict[str, float]:
    """The condition's true parameters by name (sigma too when the fits estimate it)."""
    truth = condition.truth
    sigma = (
        np.broadcast_to(truth.sigma, truth.pi.shape) if condition.fit["sigma"] != "fixed" else None
    )
    return segment_values(truth.theta, truth.pi, condition.coef_names, sigma)


def _coverage_columns(ok: pd.DataFrame, name: str, sd: float) -> dict[str, Any]:
    """Per SE kind recorded: mean SE and its ratio to ``sd``, coverage (MCSE, Wilson bounds,
    ``_n``, ``_missing``; pi's logit one too) and the standard-error measures (docs/simstudy.md)."""
    out: dict[str, Any] = {}
    for kind in SE_KINDS:
        se_column = f"se_{kind}_{name}"
        if se_column not in ok:
            continue
        se = ok[se_column].to_numpy(dtype=float)
        finite = se[np.isfinite(se)]
        mean_se = float(finite.mean()) if finite.size else float("nan")
        out[f"se_{kind}_mean"] = mean_se
        out[f"se_{kind}_ratio"] = mean_se / sd if np.isfinite(sd) and sd > 0 else float("nan")
        variants = [("", f"cover_{kind}_{name}")]
        if name.startswith("pi_"):
            variants.append(("_logit", f"cover_{kind}_logit_{name}"))
        for suffix, column in variants:
            if column not in ok:
                continue
            rate = interval_coverage(ok[column].to_numpy(dtype=float))
            key = f"coverage_{kind}{suffix}"
            names = {"coverage": key, "ci_low": f"{key}_low", "ci_high": f"{key}_high"}
            if not suffix:
                names |= {"mcse": f"mcse_{key}", "n": f"{key}_n", "n_missing": f"{key}_missing"}
            out |= {name: rate[field] for field, name in names.items()}
        measures = standard_error_measures(ok[f"est_{name}"].to_numpy(dtype=float), se, sd)
        out |= {
            (f"mcse_{k[5:]}_{kind}" if k.startswith("mcse_") else f"{k}_{kind}"): v
            for k, v in measures.items()
            if k != "n_se"
        }
    return out


def summarise(condition: Condition, results: pd.DataFrame) -> dict[str, Any]:
    """A condition's summary of its successful replications (``results``, one row each):
    ``recovery`` (a row per parameter, with :func:`_coverage_columns` when recorded),
    ``inference`` (valid SEs per kind, when recorded), ``classification``, ``convergence``,
    ``selection`` per criterion and, when the config asks for it, ``blrt``."""
    ok = results
    true_k = condition.truth.n_components
    recovery = []
    for name, value in true_values(condition).items():
        column = f"est_{name}"
        estimates = ok[column].to_numpy(dtype=float) if column in ok else np.array([])
        row = {"parameter": name, **parameter_recovery(estimates, value)}
        recovery.append({**row, **_coverage_columns(ok, name, row["sd"])})
    summary: dict[str, Any] = {"recovery": recovery}
    validity = {}
    for kind in (k for k in SE_KINDS if f"se_valid_{k}" in ok):
        valid = ok[f"se_valid_{kind}"].astype(bool)
        validity[kind] = {"valid": int(valid.sum()), "invalid": int((~valid).sum())}
    if validity:
        summary["inference"] = validity
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
    methods = (*CRITERIA, *(["blrt"] if "blrt" in condition.fit else []))
    summary["selection"] = {
        name: selection_rates(ok[f"chosen_{name}"].to_numpy(dtype=int), true_k, condition.k_range)
        for name in methods
    }
    if "blrt" in condition.fit:
        summary["blrt"] = blrt_summary(condition.fit["blrt"], ok)
    return summary


VERSION = "mixture-1"
"""Version of :func:`generate` and :func:`analyse`: change it when their records would change."""


def study(config: dict[str, Any]) -> Study:
    """The study of a checked config: its conditions, the two functions, seed and settings."""
    settings = {k: config[k] for k in ("k_range", "fit", "price_data")}
    return build_study(
        conditions(config), int(config["replications"]), generate, analyse,
        seed=int(config["seed"]), name=config["name"], settings=settings, version=VERSION,
        quiet=(ConvergenceWarning,),
    )  # fmt: skip


def run(
    config: dict[str, Any], out_dir: Path, kind: str = "recovery", **harness: Any
) -> SimulationResult:
    """Run (or resume) the study of a checked config into ``out_dir``; ``kind`` (the command)
    is recorded, ``harness`` holds :func:`simstudy.harness.simulation.simulate`'s keywords."""
    about = {"kind": kind, "description": config.get("description", ""), "config": config}
    return simulate(study(config), summarise, out_dir, about=about, **harness)
