"""Fit the real panel for every K, choose K by BIC, write results.json and store segments.

Every K gets observed-information and naive standard errors and 95% intervals
(docs/inference.md); ``--bootstrap B`` adds a parametric bootstrap for the chosen K.

Usage::

    python -m experiments.fit_real [--data PATH] [--k 1 2 3 4] [--n-init N] [--seed S] [--out DIR]
                                   [--bootstrap B] [--n-jobs J]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import platform
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy
from tabulate import tabulate

from estimator import DEFAULT_MAX_ITER, DEFAULT_N_INIT, DEFAULT_TOL, fit_k_range, load_csv
from estimator.atomic import write_json_atomic, write_text_atomic
from estimator.em import DEFAULT_INIT
from estimator.inference import Inference, bootstrap_se, naive_se, observed_information_se
from estimator.panel import Panel
from estimator.selection import CRITERIA, ModelSelection

DEFAULT_DATA = Path("data/609948.csv")
DEFAULT_SEED = 20261121
SCHEMA_VERSION = 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m experiments.fit_real", description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="wide CSV: Price, stores")
    parser.add_argument("--k", type=int, nargs="+", default=[1, 2, 3, 4], help="K values to fit")
    parser.add_argument("--n-init", type=int, default=DEFAULT_N_INIT, help="EM starts per K")
    parser.add_argument("--tol", type=float, default=DEFAULT_TOL, help="relative loglik change")
    parser.add_argument("--max-iter", type=int, default=DEFAULT_MAX_ITER, help="EM iterations")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of the starts")
    parser.add_argument("--out", type=Path, default=Path("outputs"), help="output folder")
    parser.add_argument(
        "--bootstrap",
        type=int,
        default=0,
        metavar="B",
        help="parametric bootstrap refits (chosen K)",
    )
    parser.add_argument("--n-jobs", type=int, default=1, help="bootstrap workers (-1: all cores)")
    return parser.parse_args(argv)


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def standard_errors(
    panel: Panel,
    selection: ModelSelection,
    n_boot: int = 0,
    seed: int | None = None,
    n_jobs: int = 1,
) -> dict[int, dict[str, Inference]]:
    """Observed-information and naive inference for every K; bootstrap for the chosen K.

    Parameters
    ----------
    panel : Panel
    selection : ModelSelection
    n_boot : int
        Bootstrap refits for the chosen K (0: none).
    seed : int, optional
        Root seed of the bootstrap draws.
    n_jobs : int
        Bootstrap workers.

    Returns
    -------
    dict of int to dict of str to Inference
        ``{K: {"observed": ..., "naive": ..., ["bootstrap": ...]}}``.
    """
    stats = panel.sufficient_stats()
    out: dict[int, dict[str, Inference]] = {}
    for k in selection.k_range:
        fit = selection.fits[k]
        out[k] = {"observed": observed_information_se(fit, stats), "naive": naive_se(fit, stats)}
        if n_boot and k == selection.chosen_k:
            out[k]["bootstrap"] = bootstrap_se(fit, stats, n_boot, seed=seed, n_jobs=n_jobs)
    return out


def results_document(
    panel: Panel,
    selection: ModelSelection,
    settings: dict[str, Any],
    data_path: Path,
    inference: dict[int, dict[str, Inference]] | None = None,
) -> dict[str, Any]:
    """The results.json document (schema in the README; standard errors in docs/inference.md)."""
    models = []
    for k in selection.k_range:
        entry = selection.fits[k].to_dict()
        entry.update(selection.criteria[k])
        entry["criteria"] = dict(selection.criteria[k])
        if inference is not None:
            entry["standard_errors"] = {
                method: result.to_dict() for method, result in inference[k].items()
            }
        models.append(entry)
    return {
        "schema_version": SCHEMA_VERSION,
        "data": {
            "file": data_path.name,
            "sha256": sha256(data_path),
            "N": panel.n_stores,
            "T": panel.n_weeks,
        },
        "settings": settings,
        "models": models,
        "chosen_K": selection.chosen_k,
        "chosen_by": selection.chosen_by(),
        "software": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
        },
    }


def store_segments_csv(panel: Panel, selection: ModelSelection) -> str:
    """One row per store: posterior of every segment under the chosen K, and the most likely one."""
    fit = selection.fits[selection.chosen_k]
    frame = pd.DataFrame(
        fit.posteriors, columns=[f"posterior_{c + 1}" for c in range(fit.n_components)]
    )
    frame.insert(0, "store", panel.store_ids)
    frame["segment"] = fit.labels + 1
    frame["max_posterior"] = fit.posteriors.max(axis=1)
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, float_format="%.10g")
    return buffer.getvalue()


def comparison_table(selection: ModelSelection) -> str:
    """The model-comparison table over K (text, for the terminal)."""
    rows = selection.table()
    chosen = selection.chosen_k
    for row in rows:
        row["chosen"] = "<-- BIC" if row["K"] == chosen else ""
    headers = ["K", "loglik", "n_params", *CRITERIA, "converged", "at_best", "chosen"]
    return tabulate([[row[h] for h in headers] for row in rows], headers=headers, floatfmt=".3f")


def segment_table(
    selection: ModelSelection, inference: dict[int, dict[str, Inference]] | None = None
) -> str:
    """Estimates of the chosen K (text), with standard errors and 95% intervals when given.

    One row per parameter: estimate, then standard error and interval for each
    method in ``inference[K]`` (observed information first, naive, bootstrap).
    """
    fit = selection.fits[selection.chosen_k]
    names = fit.names()
    if inference is None:
        rows = [[c + 1, *fit.theta[c], fit.pi[c]] for c in range(fit.n_components)]
        return tabulate(rows, headers=["segment", *names, "pi"], floatfmt=".4f")
    methods = inference[selection.chosen_k]
    headers = ["segment", "parameter", "estimate"]
    for method, result in methods.items():
        label = f"{round(100 * result.level)}%"
        kind = "percentile" if method == "bootstrap" else "CI"
        headers += [f"se ({method})", f"{label} {kind} ({method})"]
    rows = []
    for c in range(fit.n_components):
        params = [(name, fit.theta[c, j], j) for j, name in enumerate(names)] + [
            ("pi", fit.pi[c], None)
        ]
        for name, estimate, j in params:
            row: list[Any] = [c + 1, name, f"{estimate:.4f}"]
            for result in methods.values():
                se = result.se_pi[c] if j is None else result.se_theta[c, j]
                low, high = result.ci_pi[c] if j is None else result.ci_theta[c, j]
                row += [f"{se:.4f}", f"[{low:.4f}, {high:.4f}]"]
            rows.append(row)
    return tabulate(rows, headers=headers, disable_numparse=True)


def main(argv: list[str] | None = None) -> int:
    """Run the real-data fit and write its outputs."""
    args = parse_args(argv)
    try:
        panel = load_csv(args.data)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    settings = {
        "k_range": sorted(set(args.k)),
        "tol": args.tol,
        "max_iter": args.max_iter,
        "n_init": args.n_init,
        "seed": args.seed,
        "init": DEFAULT_INIT,
        "bootstrap": args.bootstrap,
    }
    selection = fit_k_range(
        panel.sufficient_stats(),
        args.k,
        n_init=args.n_init,
        tol=args.tol,
        max_iter=args.max_iter,
        seed=args.seed,
        coef_names=panel.coef_names,
    )
    inference = standard_errors(panel, selection, args.bootstrap, args.seed, args.n_jobs)
    document = results_document(panel, selection, settings, args.data, inference)
    segments = store_segments_csv(panel, selection)
    write_json_atomic(args.out / "results.json", document)
    write_text_atomic(args.out / "real" / "store_segments.csv", segments)
    print(f"{args.data}: N = {panel.n_stores} stores, T = {panel.n_weeks} weeks")
    print(comparison_table(selection))
    print(
        f"\nchosen K = {selection.chosen_k} (lowest BIC); estimates, standard errors "
        "(observed information; naive = posteriors taken as known) and 95% intervals:"
    )
    print(segment_table(selection, inference))
    print(f"\nwrote {args.out / 'results.json'} and {args.out / 'real' / 'store_segments.csv'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
