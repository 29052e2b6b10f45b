"""Fit the real panel for every K, choose K by BIC, write results.json and store segments.

Every K gets observed-information and naive standard errors and 95% intervals
(docs/inference.md); ``--bootstrap B`` adds a parametric bootstrap for the chosen K.
``--sigma common|segment`` estimates the error standard deviation (default: fixed
at 1, the assignment's model); ``--missing drop`` reads empty cells of a wide file
as weeks the store was not observed; a long file (columns store, week, sales,
price and extra regressors such as promo) is detected from its header
(docs/extensions.md).

Usage::

    python -m experiments.fit_real [--data PATH] [--k 1 2 3 4] [--n-init N] [--seed S] [--out DIR]
                                   [--bootstrap B] [--n-jobs J] [--sigma {fixed,common,segment}]
                                   [--missing {error,drop}] [--format {auto,wide,long}]
                                   [--extra COL [COL ...]]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from estimator import DEFAULT_MAX_ITER, DEFAULT_N_INIT, DEFAULT_TOL, SIGMA_MODES
from simstudy.constants import OUTPUTS, REAL_DATA, REAL_FIT_SEED
from simstudy.realfit import run_fit

DEFAULT_DATA = REAL_DATA
DEFAULT_SEED = REAL_FIT_SEED


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m experiments.fit_real", description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="wide CSV: Price, stores")
    parser.add_argument("--k", type=int, nargs="+", default=[1, 2, 3, 4], help="K values to fit")
    parser.add_argument("--n-init", type=int, default=DEFAULT_N_INIT, help="EM starts per K")
    parser.add_argument("--tol", type=float, default=DEFAULT_TOL, help="relative loglik change")
    parser.add_argument("--max-iter", type=int, default=DEFAULT_MAX_ITER, help="EM iterations")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of the starts")
    parser.add_argument("--out", type=Path, default=OUTPUTS, help="output folder")
    parser.add_argument(
        "--bootstrap",
        type=int,
        default=0,
        metavar="B",
        help="parametric bootstrap refits (chosen K)",
    )
    parser.add_argument("--n-jobs", type=int, default=1, help="bootstrap workers (-1: all cores)")
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
    return parser.parse_args(argv)


def _echo(text: str) -> None:
    print(text, file=sys.stderr if text.startswith("warning: ") else sys.stdout)


def main(argv: list[str] | None = None) -> int:
    """Run the real-data fit and write its outputs."""
    args = parse_args(argv)
    try:
        run_fit(
            args.data,
            args.out,
            args.k,
            n_init=args.n_init,
            tol=args.tol,
            max_iter=args.max_iter,
            seed=args.seed,
            bootstrap=args.bootstrap,
            n_jobs=args.n_jobs,
            sigma=args.sigma,
            missing=args.missing,
            data_format=args.data_format,
            extra=args.extra,
            echo=lambda text: print(
                text, file=sys.stderr if text.startswith("warning: ") else None
            ),
        )
    except ValueError as err:
        hint = " (command line: --missing drop)" if "missing='drop'" in str(err) else ""
        print(f"error: {err}{hint}", file=sys.stderr)
        return 2
    print(f"\nwrote {args.out / 'results.json'} and {args.out / 'real' / 'store_segments.csv'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
