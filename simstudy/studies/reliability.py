"""How often does a fit setting reach the best-known maximum? (the defaults' justification)

A study like any other: a condition per data set, K and fit setting (:func:`real_design`,
:func:`hard_case_design`), a replication per seed, summarised as the share reaching the
best-known log-likelihood (within :data:`HIT`), shortfalls, certified share and time.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tabulate import tabulate

from estimator import (
    DEFAULT_INIT,
    DEFAULT_N_INIT,
    DEFAULT_TOL,
    ConvergenceWarning,
    SufficientStats,
    fit_mixture,
    load_csv,
)

from ..harness.runner import silenced
from ..harness.simulation import build_study, simulate
from .hard_cases import SCHEMES, hard_cases

HIT = 1e-6
"""Log-likelihood units within which a fit counts as reaching the best-known maximum."""
VERSION = "restarts-1"
"""Version of :func:`generate` and :func:`analyse` (a change that alters records bumps it)."""
SUMMARY_FIELDS = ("reached", "median_shortfall", "max_shortfall", "max_excess", "certified",
                  "median_seconds")  # fmt: skip


def real_design(
    data: str,
    best: dict[int, float],
    n_inits: Sequence[int],
    inits: Sequence[str],
    tols: Sequence[float],
) -> list[dict[str, Any]]:
    """One condition per K of ``best`` and every (tol, init, n_init) on the panel ``data``
    (best-known values rounded to 1e-9: their last digits vary with BLAS, and a rerun must
    find its own design again)."""
    return [
        {"data": data, "K": k, "sigma": "fixed", "tol": tol, "init": init, "n_init": n,
         "best": round(b, 9)}
        for k, b in best.items() for tol in tols for init in inits for n in n_inits
    ]  # fmt: skip


def hard_case_design(known: dict[str, dict[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """The default settings on every fit of the hard-case suite (``known``: its best-known)."""
    defaults = {"tol": DEFAULT_TOL, "init": DEFAULT_INIT, "n_init": DEFAULT_N_INIT}
    return [
        {"data": case.name, "K": k, "sigma": case.sigma_mode, **defaults,
         "best": known[case.name][str(k)]["loglik"]}
        for case in hard_cases() for k in case.k_values
    ]  # fmt: skip


@lru_cache(maxsize=16)
def _stats(data: str) -> SufficientStats:
    """A hard case by name, else the panel at the path ``data``."""
    for case in hard_cases():
        if case.name == data:
            return case.stats()
    return load_csv(data).sufficient_stats()


def generate(condition: dict[str, Any], rng: np.random.Generator) -> SufficientStats:
    """The condition's data set (fixed: only the fits' starts are random)."""
    return _stats(condition["data"])


def analyse(
    condition: dict[str, Any], stats: SufficientStats, rng: np.random.Generator
) -> dict[str, float]:
    """One fit with the condition's settings: its shortfall from the best-known maximum,
    and its ``excess`` above it (the search missed a higher one)."""
    started = time.perf_counter()
    with silenced([ConvergenceWarning]):
        settings = {key: condition[key] for key in ("n_init", "init", "tol", "sigma")}
        fit = fit_mixture(stats, condition["K"], seed=rng, **settings)
    return {
        "shortfall": max(condition["best"] - fit.loglik, 0.0),
        "excess": max(fit.loglik - condition["best"], 0.0),
        "certified": float(fit.converged),
        "fit_seconds": time.perf_counter() - started,
    }


def summarise(condition: dict[str, Any], results: pd.DataFrame) -> dict[str, float]:
    """Share reaching the best-known maximum, shortfalls, share certified, median seconds."""
    shortfall = results["shortfall"].to_numpy()
    return {
        "reached": float(np.mean(shortfall <= HIT)),
        "median_shortfall": float(np.median(shortfall)),
        "max_shortfall": float(shortfall.max()),
        "max_excess": float(results["excess"].max()),
        "certified": float(results["certified"].mean()),
        "median_seconds": float(results["fit_seconds"].median()),
    }


def run_reliability(
    design: list[dict[str, Any]], seeds: int, out_dir: Path, n_jobs: int, seed: int, name: str
) -> list[dict[str, Any]]:
    """Run one reliability study through the runner; its summary rows as dicts."""
    study = build_study(
        design, seeds, generate, analyse, seed=seed, name=name, version=VERSION,
        quiet=(ConvergenceWarning,),
    )  # fmt: skip
    frame = simulate(study, summarise, out_dir, n_jobs=n_jobs, progress=None).frame
    keys = [k for k in design[0] if k != "best"]
    return [
        {**{k: row[k] for k in keys}, **{f: row[f] for f in SUMMARY_FIELDS}}
        for row in frame.to_dict("records")
    ]


def restarts_markdown(document: dict[str, Any]) -> str:
    """The restarts study's tables (real data, then the hard-case suite) as markdown."""
    args = document["args"]
    return (
        f"# Do the defaults reach the maximum?\n\n`{document['command']}`\n\n"
        f"Real data: best known from {args['per_scheme']} starts of each of "
        f"{', '.join(SCHEMES)}; {args['seeds']} seeds per setting; reached = within {HIT:g}. "
        f"Defaults: n_init {DEFAULT_N_INIT}, init {DEFAULT_INIT}, tol {DEFAULT_TOL:g}.\n\n"
        + tabulate(document["real"], headers="keys", tablefmt="github")
        + f"\n\n## Hard-case suite, default settings, {args['hard_seeds']} seeds per fit\n\n"
        + tabulate(document["hard_cases"], headers="keys", tablefmt="github")
        + "\n"
    )
