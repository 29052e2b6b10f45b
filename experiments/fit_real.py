"""Fit the real panel for every K, choose K by BIC, write results.json and store segments.

Every K gets observed-information and naive standard errors and 95% intervals
(docs/inference.md); ``--bootstrap B`` adds a parametric bootstrap for the chosen K,
``--blrt B`` the bootstrap likelihood-ratio tests of K0 vs K0 + 1 (results.json
``blrt``, figure real/blrt_lr).
``--sigma common|segment`` estimates the error standard deviation (default: fixed
at 1, the assignment's model); ``--missing drop`` reads empty cells of a wide file
as weeks the store was not observed; a long file (columns store, week, sales,
price and extra regressors such as promo) is detected from its header
(docs/extensions.md).

Usage::

    python -m experiments.fit_real [--data PATH] [--k 1 2 3 4] [--n-init N] [--seed S] [--out DIR]
                                   [--bootstrap B] [--blrt B] [--n-jobs J]
                                   [--sigma {fixed,common,segment}] [--missing {error,drop}]
                                   [--format {auto,wide,long}]
                                   [--extra COL [COL ...]]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import platform
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy
from tabulate import tabulate

from estimator import DEFAULT_MAX_ITER, DEFAULT_N_INIT, DEFAULT_TOL, fit_k_range
from estimator.atomic import write_json_unit
from estimator.csvio import detect_format, load_panel
from estimator.em import DEFAULT_INIT
from estimator.engine import SIGMA_MODES
from estimator.inference import Inference, bootstrap_se, naive_se, observed_information_se
from estimator.init import INIT_METHODS
from estimator.longpanel import ExcludedStoresWarning, LongPanel
from estimator.panel import Panel
from estimator.results import MixtureFit
from estimator.selection import CRITERIA, ModelSelection
from simstudy import cliargs
from simstudy.blrt_report import blrt_argument_problem, blrt_on_fits, blrt_text, plot_blrt

DEFAULT_DATA = Path("data/609948.csv")
DEFAULT_SEED = 20261121
SCHEMA_VERSION = 1
RESERVED_NAMES = frozenset(
    {
        *("K", "theta", "pi", "sigma", "sigma_mode", "sigma_floored", "loglik", "n_params"),
        *("converged", "degenerate", "iterations", "n_init", "restarts_at_best"),
        *("degenerate_starts", "criteria", "standard_errors", *CRITERIA),
        *("method", "level", "valid", "interval", "parameters", "cov", "n_stores"),
        *("condition_number", "newton_step_in_se", "n_boot", "n_used", "n_degenerate"),
        "n_not_converged",
        *("newton_steps", "gradient_norm", "newton_decrement", "hessian_max_eigenvalue"),
        *("distinct_maxima", "duplicate_segments"),
    }
)
"""Keys of a results.json model entry (and of its standard errors) a coefficient may not take."""


def build_parser() -> argparse.ArgumentParser:
    """Command-line options, each checked as it is parsed (simstudy.cliargs)."""
    parser = cliargs.Parser(prog="python -m experiments.fit_real", description=__doc__)
    parser.add_argument(
        "--data",
        metavar="PATH",
        type=cliargs.data_file,
        default=str(DEFAULT_DATA),
        help="sales CSV: wide (Price, one column per store) or long",
    )
    parser.add_argument(
        "--k",
        metavar="K",
        type=cliargs.positive_int,
        nargs="+",
        default=[1, 2, 3, 4],
        help="numbers of segments to fit",
    )
    parser.add_argument(
        "--n-init", type=cliargs.positive_int, default=DEFAULT_N_INIT, help="EM starts per K"
    )
    parser.add_argument(
        "--tol",
        type=cliargs.positive_float,
        default=DEFAULT_TOL,
        help="relative change in log-likelihood at which EM hands over to Newton polishing",
    )
    parser.add_argument(
        "--max-iter", type=cliargs.positive_int, default=DEFAULT_MAX_ITER, help="EM iterations"
    )
    parser.add_argument(
        "--seed", type=cliargs.non_negative_int, default=DEFAULT_SEED, help="seed of the starts"
    )
    parser.add_argument(
        "--init",
        choices=INIT_METHODS,
        default=DEFAULT_INIT,
        help="starting values: all schemes in turn, k-means++, small groups, random stores "
        "or random partitions",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        type=cliargs.output_dir,
        default="outputs",
        help="output folder (results.json, real/store_segments.csv)",
    )
    parser.add_argument(
        "--bootstrap",
        type=cliargs.non_negative_int,
        default=0,
        metavar="B",
        help="parametric bootstrap refits of the chosen K (0: none)",
    )
    parser.add_argument(
        "--n-jobs", type=cliargs.n_jobs, default=1, help="bootstrap workers (-1: every core)"
    )
    parser.add_argument(
        "--blrt",
        type=cliargs.non_negative_int,
        default=0,
        metavar="B",
        help="bootstrap likelihood-ratio tests of K0 vs K0 + 1 segments, B samples each",
    )
    parser.add_argument(
        "--sigma",
        choices=SIGMA_MODES,
        default="fixed",
        help="error SD: fixed at 1 (the assignment's model), one common, or one per segment",
    )
    parser.add_argument(
        "--missing",
        choices=("error", "drop"),
        default="error",
        help="wide file: empty/NaN sales cells are an error, or weeks the store was not observed",
    )
    parser.add_argument(
        "--format",
        dest="data_format",
        choices=("auto", "wide", "long"),
        default="auto",
        help="wide (Price, one column per store) or long (store, week, sales, price, extras); "
        "auto: from the header",
    )
    parser.add_argument(
        "--extra",
        nargs="+",
        default=None,
        metavar="COL",
        help="long file: extra regressor columns, in order (default: every other column)",
    )
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    return build_parser().parse_args(argv)


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_data(args: argparse.Namespace) -> tuple[Panel | LongPanel, str, list[str]]:
    """Load the panel the options describe.

    Returns
    -------
    panel : Panel or LongPanel
    data_format : {"wide", "long"}
    warnings : list of str
        Messages of stores excluded for too few weeks.

    Raises
    ------
    ValueError
        Every loading error, and coefficient names that would clash in results.json.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ExcludedStoresWarning)
        data_format = detect_format(args.data) if args.data_format == "auto" else args.data_format
        panel = load_panel(args.data, data_format, args.missing, args.extra)
    names = list(panel.coef_names)
    clash = sorted(set(names) & RESERVED_NAMES)
    twice = sorted({name for name in names if names.count(name) > 1})
    if clash or twice:
        raise ValueError(
            f"{args.data}: regressor column name(s) {clash or twice} "
            + ("are reserved in results.json" if clash else "appear twice")
            + "; rename the column"
        )
    messages = [str(w.message) for w in caught if issubclass(w.category, ExcludedStoresWarning)]
    return panel, data_format, messages


def standard_errors(
    panel: Panel | LongPanel,
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


def data_summary(
    panel: Panel | LongPanel, data_path: Path, detailed: bool = False
) -> dict[str, Any]:
    """The results.json ``data`` entry: file, hash, N, T.

    With ``detailed`` (a long file or ``--missing drop``) also the store-weeks
    used and the stores excluded (name and reason; empty when none).
    """
    data: dict[str, Any] = {
        "file": data_path.name,
        "sha256": sha256(data_path),
        "N": panel.n_stores,
        "T": panel.n_weeks,
    }
    if detailed or isinstance(panel, LongPanel):
        data["store_weeks"] = int(panel.y.size)
        excluded = getattr(panel, "excluded", ())
        data["excluded_stores"] = [{"store": name, "reason": reason} for name, reason in excluded]
    return data


def results_document(
    panel: Panel | LongPanel,
    selection: ModelSelection,
    settings: dict[str, Any],
    data_path: Path,
    inference: dict[int, dict[str, Inference]] | None = None,
) -> dict[str, Any]:
    """The results.json document (schema in the README; standard errors in docs/inference.md,
    sigma, missing weeks, long files and extra regressors in docs/extensions.md)."""
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
        "data": data_summary(
            panel, data_path, settings.get("missing") == "drop" or settings.get("format") == "long"
        ),
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


def store_segments_csv(panel: Panel | LongPanel, selection: ModelSelection) -> str:
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
    An estimated sigma gets a row per segment (``--sigma segment``) or one row,
    segment "all" (``--sigma common``).
    """
    fit = selection.fits[selection.chosen_k]
    names = fit.names()
    if inference is None:
        sigma = [] if fit.sigma_mode == "fixed" else ["sigma"]
        rows = [
            [c + 1, *fit.theta[c], fit.pi[c], *fit.sigma[[c] if sigma else []]]
            for c in range(fit.n_components)
        ]
        return tabulate(rows, headers=["segment", *names, "pi", *sigma], floatfmt=".4f")
    methods = inference[selection.chosen_k]
    headers = ["segment", "parameter", "estimate"]
    for method, result in methods.items():
        label = f"{round(100 * result.level)}%"
        kind = "percentile" if method == "bootstrap" else "CI"
        headers += [f"se ({method})", f"{label} {kind} ({method})"]
    rows = []
    for label, name, c, j in _table_rows(fit):
        row: list[Any] = [label, name, f"{_estimate(fit, name, c, j):.4f}"]
        for result in methods.values():
            se, (low, high) = _se_interval(result, name, c, j)
            row += [f"{se:.4f}", f"[{low:.4f}, {high:.4f}]"]
        rows.append(row)
    return tabulate(rows, headers=headers, disable_numparse=True)


def _table_rows(fit: MixtureFit) -> list[tuple[int | str, str, int, int]]:
    """(segment label, parameter name, segment index, coefficient index) per table row."""
    rows: list[tuple[int | str, str, int, int]] = []
    for c in range(fit.n_components):
        rows += [(c + 1, name, c, j) for j, name in enumerate(fit.names())]
        rows.append((c + 1, "pi", c, -1))
        if fit.sigma_mode == "segment":
            rows.append((c + 1, "sigma", c, -1))
    if fit.sigma_mode == "common":
        rows.append(("all", "sigma", 0, -1))
    return rows


def _estimate(fit: MixtureFit, name: str, c: int, j: int) -> float:
    """Estimate of one table row (j < 0: pi or sigma of segment c)."""
    return float(getattr(fit, name)[c] if j < 0 else fit.theta[c, j])


def _se_interval(result: Inference, name: str, c: int, j: int) -> tuple[float, np.ndarray]:
    """Standard error and interval of one table row (j < 0: pi or sigma of segment c)."""
    if j < 0:
        return getattr(result, f"se_{name}")[c], getattr(result, f"ci_{name}")[c]
    return result.se_theta[c, j], result.ci_theta[c, j]


def describe(panel: Panel | LongPanel, path: Path) -> str:
    """One line about the data fitted (the balanced wide panel's line is unchanged)."""
    if not isinstance(panel, LongPanel):
        return f"{path}: N = {panel.n_stores} stores, T = {panel.n_weeks} weeks"
    return (
        f"{path}: N = {panel.n_stores} stores ({len(panel.excluded)} excluded), "
        f"{len(panel.y)} store-weeks over T = {panel.n_weeks} weeks; "
        f"regressors: {', '.join(panel.coef_names)}"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the real-data fit and write its outputs."""
    args = parse_args(argv)
    if (problem := blrt_argument_problem(args.k, args.blrt)) is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        panel, data_format, excluded_messages = load_data(args)
    except ValueError as err:
        hint = " (command line: --missing drop)" if "missing='drop'" in str(err) else ""
        print(f"error: {err}{hint}", file=sys.stderr)
        return 2
    for message in excluded_messages:
        print(f"warning: {message}", file=sys.stderr)
    settings = {
        "k_range": sorted(set(args.k)),
        "tol": args.tol,
        "max_iter": args.max_iter,
        "n_init": args.n_init,
        "seed": args.seed,
        "init": args.init,
        "bootstrap": args.bootstrap,
        "blrt": args.blrt,
        "sigma": args.sigma,
        "missing": args.missing,
        "format": data_format,
        "extra_regressors": list(panel.coef_names[2:]),
    }
    with cliargs.Heartbeat(f"fitting K = {sorted(set(args.k))}, {args.n_init} starts each"):
        selection = fit_k_range(
            panel.sufficient_stats(),
            args.k,
            n_init=args.n_init,
            tol=args.tol,
            max_iter=args.max_iter,
            seed=args.seed,
            init=args.init,
            coef_names=panel.coef_names,
            sigma=args.sigma,
        )
    with cliargs.Heartbeat(
        "standard errors" + (f", {args.bootstrap} bootstrap refits" if args.bootstrap else "")
    ):
        inference = standard_errors(panel, selection, args.bootstrap, args.seed, args.n_jobs)
    document = results_document(panel, selection, settings, args.data, inference)
    if args.blrt:
        blrt = blrt_on_fits(panel.sufficient_stats(), selection, args.blrt, args.seed, args.n_jobs)
        document["blrt"] = blrt.to_dict()
    segments = store_segments_csv(panel, selection)
    try:
        write_json_unit(args.out / "results.json", document, {"real/store_segments.csv": segments})
    except OSError as err:  # disk full, read-only: what was there before is whole
        print(f"error: cannot write {err.filename or args.out}: {err.strerror}", file=sys.stderr)
        return 1
    print(describe(panel, args.data))
    print(comparison_table(selection))
    if args.blrt:
        plot_blrt(blrt, args.out / "real" / "blrt_lr")
        print(f"\n{blrt_text(blrt)}")
    sigma_note = {
        "fixed": "",
        "common": "; sigma estimated, one for all segments",
        "segment": "; sigma estimated per segment",
    }[args.sigma]
    print(
        f"\nchosen K = {selection.chosen_k} (lowest BIC); estimates, standard errors "
        f"(observed information; naive = posteriors taken as known) and 95% intervals"
        f"{sigma_note}:"
    )
    print(segment_table(selection, inference))
    print(f"\nwrote {args.out / 'results.json'} and {args.out / 'real' / 'store_segments.csv'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(cliargs.run_cli(main))
