"""Are the standard errors with estimated sigma right? A Monte Carlo check on the real design.

``python -m experiments.sigma_calibration`` (docs/extensions.md). Per estimated-sigma
mode the truth is the real-data K = 3 fit of that mode at the real prices; each
replication refits K = 3 and records both kinds of standard error and whether the 95%
intervals (sigma's on the log scale) cover the truth.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tabulate import tabulate

from estimator import (
    ConvergenceWarning,
    fit_mixture,
    load_csv,
    match_segments,
    naive_se,
    observed_information_se,
    simulate_outcomes,
    sufficient_stats,
)

from ..harness.files import read_json, write_json_atomic, write_text_atomic
from ..harness.runner import silenced
from ..harness.simulation import build_study, simulate

MODES = ("common", "segment")
VERSION = "sigma-calibration-1"
"""Version of :func:`generate` and :func:`analyse` (a change that alters records bumps it)."""
METHODS = ("observed", "naive")


def load_truth(path: Path, k: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """theta (K, 2), pi (K,), sigma (K,) of the K-segment model in a results.json."""
    model = next(m for m in read_json(path)["models"] if m["K"] == k)
    theta = np.column_stack([model["alpha"], model["beta"]])
    pi = np.asarray(model["pi"])
    return theta, pi / pi.sum(), np.asarray(model["sigma"])


PARAMETERS = [f"{n}_{c + 1}" for c in range(3) for n in ("alpha", "beta")]
PARAMETERS += [f"pi_{c + 1}" for c in range(3)] + [f"sigma_{c + 1}" for c in range(3)]
"""The K = 3 model's parameters, in the order of a record's fields."""


def generate(condition: dict[str, Any], rng: np.random.Generator) -> Any:
    """One panel drawn from the condition's truth at the real design (sufficient statistics)."""
    theta, pi, sigma = (np.asarray(condition[k], dtype=float) for k in ("theta", "pi", "sigma"))
    X = _design(condition["data"])
    segment = rng.choice(len(pi), size=condition["N"], p=pi)
    noise = rng.standard_normal((condition["N"], X.shape[0]))
    y = simulate_outcomes(X, theta[segment], sigma[segment, None], noise)
    return sufficient_stats(y, X)


def analyse(condition: dict[str, Any], stats: Any, rng: np.random.Generator) -> dict[str, float]:
    """Fit K = 3 with the condition's sigma mode; estimates, SEs and coverage of every parameter
    (only ``used`` = 0 for a fit that lost a segment or hit the sigma floor)."""
    theta, pi, sigma = (np.asarray(condition[k], dtype=float) for k in ("theta", "pi", "sigma"))
    mode = condition["sigma_mode"]
    with silenced([ConvergenceWarning]):
        fit = fit_mixture(stats, len(pi), n_init=condition["n_init"], seed=rng, sigma=mode)
    if fit.degenerate or fit.sigma_floored:
        return {"used": 0.0}
    order = match_segments(fit.theta, theta)
    record = {"used": 1.0}
    estimate = np.concatenate([fit.theta[order].ravel(), fit.pi[order], fit.sigma[order]])
    record |= {f"estimate_{n}": float(v) for n, v in zip(PARAMETERS, estimate, strict=True)}
    for method, function in (("observed", observed_information_se), ("naive", naive_se)):
        with silenced([Warning]):
            result = function(fit, stats).reordered(order)
        covered_theta, covered_pi = result.covers(theta, pi)
        se = np.concatenate([result.se_theta.ravel(), result.se_pi, result.se_sigma])
        covered = np.concatenate([covered_theta.ravel(), covered_pi, result.covers_sigma(sigma)])
        for name, s, c in zip(PARAMETERS, se, covered, strict=True):
            record[f"se_{method}_{name}"] = float(s)
            record[f"covered_{method}_{name}"] = float(c)
    return record


def summarise(condition: dict[str, Any], results: pd.DataFrame) -> dict[str, float]:
    """Per parameter: empirical SD, mean SE / SD and coverage (with MC margin) per method."""
    used = results[results["used"] == 1.0]
    out: dict[str, float] = {"n_used": float(len(used))}
    for name in PARAMETERS:
        sd = float(used[f"estimate_{name}"].std(ddof=1))
        out[f"sd_{name}"] = sd
        for method in METHODS:
            rate = float(used[f"covered_{method}_{name}"].mean())
            out[f"se_over_sd_{method}_{name}"] = float(used[f"se_{method}_{name}"].mean() / sd)
            out[f"coverage_{method}_{name}"] = rate
            out[f"coverage_margin_{method}_{name}"] = float(
                1.96 * np.sqrt(rate * (1 - rate) / len(used))
            )
    return out


def parameter_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """A condition's summary as one row per parameter (the table and summary.json's form)."""
    rows = []
    for name in PARAMETERS:
        row: dict[str, Any] = {"parameter": name, "sd": summary[f"sd_{name}"]}
        for method in METHODS:
            for key in ("se_over_sd", "coverage", "coverage_margin"):
                row[f"{key}_{method}"] = summary[f"{key}_{method}_{name}"]
        rows.append(row)
    return rows


@lru_cache(maxsize=4)
def _design(data: str) -> np.ndarray:
    return load_csv(data).X


def markdown(mode: str, rows: list[dict[str, Any]], n_used: int, n_reps: int) -> str:
    """The summary table of one sigma mode."""
    table = [
        [
            r["parameter"],
            f"{r['sd']:.4f}",
            f"{r['se_over_sd_observed']:.3f}",
            f"{r['coverage_observed']:.3f} ± {r['coverage_margin_observed']:.3f}",
            f"{r['se_over_sd_naive']:.3f}",
            f"{r['coverage_naive']:.3f} ± {r['coverage_margin_naive']:.3f}",
        ]
        for r in rows
    ]
    headers = ["parameter", "SD of estimates", "mean SE / SD (observed)", "coverage (observed)",
               "mean SE / SD (naive)", "coverage (naive)"]  # fmt: skip
    title = f"### sigma = {mode}: {n_used} of {n_reps} replications used\n\n"
    return title + tabulate(table, headers=headers, tablefmt="github", disable_numparse=True)


def calibrate(
    data: Path,
    truth_dir: Path,
    reps: int,
    n_init: int,
    seed: int,
    settings: dict[str, Any],
    out: Path,
    n_jobs: int = 1,
) -> tuple[dict[str, Any], list[str]]:
    """Run the check for both estimated-sigma modes into the study folder ``out`` (resumable):
    the real panel ``data``, the truths in ``truth_dir/real_sigma_<mode>/results.json``.
    Returns calibration.json's document and each mode's markdown section."""
    n_stores = load_csv(data).n_stores
    design = []
    for mode in MODES:
        theta, pi, sigma = load_truth(truth_dir / f"real_sigma_{mode}" / "results.json")
        truth = {"theta": theta.tolist(), "pi": pi.tolist(), "sigma": sigma.tolist()}
        design.append(
            {"sigma_mode": mode, **truth, "N": n_stores, "n_init": n_init, "data": str(data)}
        )
    study = build_study(
        design, reps, generate, analyse, seed=seed, name="sigma_calibration", version=VERSION,
        quiet=(ConvergenceWarning,),
    )  # fmt: skip
    frame = simulate(study, summarise, out, n_jobs=n_jobs, progress=None).frame
    document: dict[str, Any] = {"settings": settings, "modes": {}}
    sections = []
    for condition, summary in zip(design, frame.to_dict("records"), strict=True):
        rows = parameter_rows(summary)
        n_used = int(summary["n_used"])
        document["modes"][condition["sigma_mode"]] = {
            "truth": {k: condition[k] for k in ("theta", "pi", "sigma")},
            "n_used": n_used,
            "parameters": rows,
        }
        sections.append(markdown(condition["sigma_mode"], rows, n_used, reps))
    return document, sections


def write_calibration(out: Path, document: dict[str, Any], sections: list[str]) -> None:
    """Write OUT/calibration.json and OUT/calibration.md (the runner owns summary.*)."""
    write_json_atomic(out / "calibration.json", document)
    write_text_atomic(out / "calibration.md", "\n\n".join(sections) + "\n")
