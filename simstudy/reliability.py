"""How often does a fit setting reach the best-known maximum? (the defaults' justification)

For a data set, a K and a best-known log-likelihood, :func:`reach_rate` fits
with ``n_seeds`` independent seeds and counts the fits that end within
``hit`` of it. :func:`settings_table` does that over a grid of settings
(number of starts, starting scheme, hand-over tolerance) on the real data, and
:func:`hard_case_table` for the default settings on every fit of the hard-case
suite (:mod:`simstudy.hard_cases`).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from tabulate import tabulate

from estimator import (
    DEFAULT_INIT,
    DEFAULT_N_INIT,
    DEFAULT_TOL,
    ConvergenceWarning,
    SufficientStats,
    fit_mixture,
)

from .hard_cases import SCHEMES, hard_cases

HIT = 1e-6
"""Log-likelihood units within which a fit counts as reaching the best-known maximum."""


def reach_rate(
    stats: SufficientStats,
    k: int,
    best: float,
    n_seeds: int,
    hit: float = HIT,
    **fit_settings: Any,
) -> dict[str, Any]:
    """Fit ``n_seeds`` times with seeds 1..n_seeds; how often is ``best`` reached?

    Returns
    -------
    dict
        ``reached`` (fraction), ``median_shortfall``, ``max_shortfall``,
        ``certified`` (fraction of certified fits), ``median_seconds``.
    """
    gaps, seconds, certified = [], [], 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for seed in range(1, n_seeds + 1):
            started = time.perf_counter()
            fit = fit_mixture(stats, k, seed=seed, **fit_settings)
            seconds.append(time.perf_counter() - started)
            gaps.append(best - fit.loglik)
            certified += fit.converged
    gaps_arr = np.maximum(np.asarray(gaps), 0.0)
    return {
        "reached": float(np.mean(gaps_arr <= hit)),
        "median_shortfall": float(np.median(gaps_arr)),
        "max_shortfall": float(gaps_arr.max()),
        "certified": certified / n_seeds,
        "median_seconds": float(np.median(seconds)),
    }


def settings_table(
    stats: SufficientStats,
    best: dict[int, float],
    n_inits: Sequence[int],
    inits: Sequence[str],
    tols: Sequence[float],
    n_seeds: int,
) -> list[dict[str, Any]]:
    """:func:`reach_rate` for every K of ``best`` and every (n_init, init, tol)."""
    rows = []
    for k, value in best.items():
        for tol in tols:
            for init in inits:
                for n_init in n_inits:
                    rate = reach_rate(stats, k, value, n_seeds, n_init=n_init, init=init, tol=tol)
                    rows.append({"K": k, "tol": tol, "init": init, "n_init": n_init, **rate})
    return rows


def hard_case_table(
    known: dict[str, dict[str, dict[str, Any]]], n_seeds: int, names: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    """Default settings on every fit of the hard-case suite.

    Parameters
    ----------
    known : dict
        tests/data/hard_cases.json's ``cases``: per case name and K, ``loglik``.
    n_seeds : int
    names : iterable of str, optional
        Only these cases.
    """
    wanted = None if names is None else set(names)
    rows = []
    for case in hard_cases():
        if wanted is not None and case.name not in wanted:
            continue
        stats = case.stats()
        for k in case.k_values:
            best = known[case.name][str(k)]["loglik"]
            rate = reach_rate(stats, k, best, n_seeds, sigma=case.sigma_mode)
            rows.append({"case": case.name, "K": k, "sigma": case.sigma_mode, **rate})
    return rows


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
