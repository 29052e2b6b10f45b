"""Are the standard errors with estimated sigma right? A Monte Carlo check on the real design.

For ``--sigma common`` and ``--sigma segment`` the truth is the real-data K = 3 fit
of that mode (outputs/real_sigma_<mode>/results.json): its theta, pi and sigma,
the real prices, N = 300 stores, T = 52 weeks. Each replication draws a panel,
fits K = 3 with the same sigma mode, matches the segments to the truth and
records the observed-information and naive standard errors and whether the 95%
intervals cover the truth (sigma: the log-scale interval). The summary gives,
per parameter, mean SE / empirical SD of the estimates and the coverage with a
Monte Carlo 95% margin.

Run by ``python -m experiments.sigma_calibration``.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from tabulate import tabulate

from estimator import (
    ConvergenceWarning,
    fit_mixture,
    load_csv,
    match_segments,
    naive_se,
    observed_information_se,
    seed_sequence,
    sufficient_stats,
)
from estimator.atomic import write_json_atomic, write_text_atomic

MODES = ("common", "segment")
METHODS = ("observed", "naive")


def load_truth(path: Path, k: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """theta (K, 2), pi (K,), sigma (K,) of the K-segment model in a results.json."""
    model = next(m for m in json.loads(path.read_text())["models"] if m["K"] == k)
    theta = np.column_stack([model["alpha"], model["beta"]])
    pi = np.asarray(model["pi"])
    return theta, pi / pi.sum(), np.asarray(model["sigma"])


def replicate(
    mode: str,
    truth: tuple[np.ndarray, np.ndarray, np.ndarray],
    X: np.ndarray,
    n_stores: int,
    n_init: int,
    seq: np.random.SeedSequence,
) -> dict[str, np.ndarray] | None:
    """One draw, fit and inference; None when the fit lost a segment or hit the sigma floor."""
    theta, pi, sigma = truth
    rng = np.random.default_rng(seq)
    segment = rng.choice(len(pi), size=n_stores, p=pi)
    noise = rng.standard_normal((n_stores, X.shape[0]))
    y = theta[segment] @ X.T + sigma[segment, None] * noise
    stats = sufficient_stats(y, X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit = fit_mixture(stats, len(pi), n_init=n_init, seed=rng, sigma=mode)
    if fit.degenerate or fit.sigma_floored:
        return None
    order = match_segments(fit.theta, theta)
    record = {
        "estimate": np.concatenate([fit.theta[order].ravel(), fit.pi[order], fit.sigma[order]])
    }
    for method, function in (("observed", observed_information_se), ("naive", naive_se)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = function(fit, stats).reordered(order)
        covered_theta, covered_pi = result.covers(theta, pi)
        record[f"se_{method}"] = np.concatenate(
            [result.se_theta.ravel(), result.se_pi, result.se_sigma]
        )
        record[f"covered_{method}"] = np.concatenate(
            [covered_theta.ravel(), covered_pi, result.covers_sigma(sigma)]
        )
    return record


def summarise(records: list[dict[str, np.ndarray]], names: list[str]) -> list[dict[str, Any]]:
    """Per parameter: empirical SD, mean SE / SD and coverage (with MC margin) per method."""
    stacked = {key: np.array([r[key] for r in records]) for key in records[0]}
    sd = stacked["estimate"].std(axis=0, ddof=1)
    rows = []
    for j, name in enumerate(names):
        row: dict[str, Any] = {"parameter": name, "sd": float(sd[j])}
        for method in METHODS:
            se = stacked[f"se_{method}"][:, j]
            covered = stacked[f"covered_{method}"][:, j]
            rate = float(covered.mean())
            row[f"se_over_sd_{method}"] = float(np.nanmean(se) / sd[j])
            row[f"coverage_{method}"] = rate
            row[f"coverage_margin_{method}"] = float(1.96 * np.sqrt(rate * (1 - rate) / len(se)))
        rows.append(row)
    return rows


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
    headers = [
        "parameter",
        "SD of estimates",
        "mean SE / SD (observed)",
        "coverage (observed)",
        "mean SE / SD (naive)",
        "coverage (naive)",
    ]
    title = f"### sigma = {mode}: {n_used} of {n_reps} replications used\n\n"
    return title + tabulate(table, headers=headers, tablefmt="github", disable_numparse=True)


def calibrate(
    data: Path,
    truth_dir: Path,
    reps: int,
    n_init: int,
    seed: int,
    settings: dict[str, Any],
    progress: Callable[[str], None] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """Run the check for both estimated-sigma modes.

    Parameters
    ----------
    data : Path
        The real panel (its prices and N are the design).
    truth_dir : Path
        Folder holding ``real_sigma_<mode>/results.json``.
    reps, n_init, seed : int
        Replications per mode, EM starts per fit, root seed.
    settings : dict
        Recorded as the document's ``settings``.
    progress : callable, optional
        Called with each mode's markdown section when it is done.

    Returns
    -------
    document : dict
        The summary.json document.
    sections : list of str
        The markdown section of each mode.
    """
    panel = load_csv(data)
    document: dict[str, Any] = {"settings": settings, "modes": {}}
    sections = []
    for index, mode in enumerate(MODES):
        truth = load_truth(truth_dir / f"real_sigma_{mode}" / "results.json")
        started = time.perf_counter()
        runs = [
            replicate(mode, truth, panel.X, panel.n_stores, n_init, seed_sequence(seed, index, r))
            for r in range(reps)
        ]
        records = [r for r in runs if r is not None]
        names = [f"{n}_{c + 1}" for c in range(3) for n in ("alpha", "beta")]
        names += [f"pi_{c + 1}" for c in range(3)] + [f"sigma_{c + 1}" for c in range(3)]
        rows = summarise(records, names)
        document["modes"][mode] = {
            "truth": {
                "theta": truth[0].tolist(),
                "pi": truth[1].tolist(),
                "sigma": truth[2].tolist(),
            },
            "n_used": len(records),
            "seconds": time.perf_counter() - started,
            "parameters": rows,
        }
        sections.append(markdown(mode, rows, len(records), reps))
        if progress is not None:
            progress(sections[-1])
    return document, sections


def write_calibration(out: Path, document: dict[str, Any], sections: list[str]) -> None:
    """Write OUT/summary.json and OUT/summary.md."""
    write_json_atomic(out / "summary.json", document)
    write_text_atomic(out / "summary.md", "\n\n".join(sections) + "\n")
