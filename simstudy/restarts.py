"""How many starts, and which tolerance, find the global maximum on the real data?

For every K, a reference fit with many starts and a tight tolerance gives the
best log-likelihood known. Then, for each (tol, n_init), independent fits with
different seeds measure how often the default estimator reaches it (within
``--hit`` in log-likelihood), the median shortfall, and the time per fit.
The README's choice of defaults quotes this table.

Run by ``python -m experiments.restarts``.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tabulate import tabulate

from estimator import ConvergenceWarning, fit_mixture, load_csv
from estimator.atomic import write_json_atomic, write_text_atomic


def hit_rates(
    data: Path,
    ks: Sequence[int],
    n_inits: Sequence[int],
    tols: Sequence[float],
    max_iter: int,
    seeds: int,
    reference_starts: int,
    hit: float,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Hit rate of the best known maximum for every (K, tol, n_init).

    Parameters
    ----------
    data : Path
        Wide CSV of the real panel.
    ks, n_inits, tols : sequences
        The settings crossed.
    max_iter : int
        Iteration cap of every fit.
    seeds : int
        Independent fits (seeds 1..seeds) per setting.
    reference_starts : int
        Starts of the reference fit (seed 0, tol 1e-14).
    hit : float
        Log-likelihood distance to the reference that counts as reaching it.
    progress : callable, optional
        Called with every row as it is finished.

    Returns
    -------
    list of dict
        One row per setting: K, tol, n_init, best_known_loglik, hit_rate,
        median_shortfall, max_shortfall, converged_rate, median_seconds.
    """
    stats = load_csv(data).sufficient_stats()
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for k in ks:
            reference = fit_mixture(
                stats, k, n_init=reference_starts, seed=0, tol=1e-14, max_iter=50_000
            )
            for tol in tols:
                for n_init in n_inits:
                    gaps, seconds, converged = [], [], 0
                    for seed in range(1, seeds + 1):
                        started = time.perf_counter()
                        fit = fit_mixture(
                            stats, k, n_init=n_init, seed=seed, tol=tol, max_iter=max_iter
                        )
                        seconds.append(time.perf_counter() - started)
                        gaps.append(reference.loglik - fit.loglik)
                        converged += fit.converged
                    gaps_arr = np.asarray(gaps)
                    rows.append(
                        {
                            "K": k,
                            "tol": tol,
                            "n_init": n_init,
                            "best_known_loglik": reference.loglik,
                            "hit_rate": float(np.mean(gaps_arr <= hit)),
                            "median_shortfall": float(np.median(gaps_arr)),
                            "max_shortfall": float(gaps_arr.max()),
                            "converged_rate": converged / seeds,
                            "median_seconds": float(np.median(seconds)),
                        }
                    )
                    if progress is not None:
                        progress(rows[-1])
    return rows


def write_restarts(out: Path, rows: list[dict[str, Any]], settings: dict[str, Any]) -> str:
    """Write OUT/restarts.md and OUT/restarts.json; return the markdown table.

    ``settings`` holds the command's options (data, seeds, hit, reference_starts,
    max_iter, ...), recorded as given.
    """
    headers = list(rows[0])
    table = tabulate([[r[h] for h in headers] for r in rows], headers=headers, tablefmt="github")
    note = (
        f"Real data {settings['data']}; {settings['seeds']} independent seeds per setting; "
        f"a fit 'hits' when its log-likelihood is within {settings['hit']:g} of the best of a "
        f"{settings['reference_starts']}-start, tol 1e-14 reference fit; "
        f"max_iter = {settings['max_iter']}.\n\n"
    )
    write_text_atomic(out / "restarts.md", "# Restarts and tolerance\n\n" + note + table + "\n")
    write_json_atomic(out / "restarts.json", {"settings": settings, "rows": rows})
    return table
