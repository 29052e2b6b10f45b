"""The command lines of the entry points (experiments/*.py): every flag, checked as parsed.

Each ``*_parser(description)`` returns the :class:`simstudy.cli.args.Parser` of one
``python -m experiments.NAME``: one line naming the flag for a bad value (exit 2),
defaults shown by ``--help``. The entry points pass their module docstring as the
description, parse, call the library and print.
"""

from __future__ import annotations

import argparse

from estimator import (
    DEFAULT_INIT,
    DEFAULT_MAX_ITER,
    DEFAULT_N_INIT,
    DEFAULT_TOL,
    INIT_METHODS,
    SIGMA_MODES,
)

from ..bench.settings import DEFAULT_OUT as BENCH_OUT
from ..bench.settings import DEFAULT_SEED as BENCH_SEED
from ..studies.baselines import DEFAULT_CONFIG, DEFAULT_OUT, DEFAULT_REPLICATIONS
from ..studies.paths import OUTPUTS, REAL_DATA, REAL_FIT_SEED
from . import args as cliargs


def fit_real_parser(description: str | None = None) -> argparse.ArgumentParser:
    """The options of ``python -m experiments.fit_real``."""
    parser = cliargs.Parser(prog="python -m experiments.fit_real", description=description)
    parser.add_argument(
        "--data",
        metavar="PATH",
        type=cliargs.data_file,
        default=str(REAL_DATA),
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
        "--seed", type=cliargs.non_negative_int, default=REAL_FIT_SEED, help="seed of the starts"
    )
    parser.add_argument(
        "--init",
        choices=INIT_METHODS,
        default=DEFAULT_INIT,
        help="starting values: all schemes in turn, k-means++, small groups, random stores "
        "or random partitions",
    )
    cliargs.add_out(parser, str(OUTPUTS), "output folder (results.json, real/store_segments.csv)")
    parser.add_argument(
        "--bootstrap",
        type=cliargs.non_negative_int,
        default=0,
        metavar="B",
        help="parametric bootstrap refits of the chosen K (0: none)",
    )
    cliargs.add_n_jobs(parser, "bootstrap workers")
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


def baselines_parser(description: str | None = None) -> argparse.ArgumentParser:
    """The options of ``python -m experiments.baselines``."""
    parser = cliargs.Parser(
        prog="python -m experiments.baselines",
        description=description,
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        type=cliargs.data_file,
        default=str(DEFAULT_CONFIG),
        help="study config (JSON)",
    )
    parser.add_argument(
        "--replications",
        metavar="R",
        type=cliargs.positive_int,
        default=DEFAULT_REPLICATIONS,
        help="replications of the study",
    )
    cliargs.add_n_jobs(parser, "parallel workers")
    cliargs.add_out(parser, str(DEFAULT_OUT), "results folder")
    parser.add_argument(
        "--gmm-n-init",
        metavar="N",
        type=cliargs.positive_int,
        help="starts of each Gaussian mixture; default: the config's n_init",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return parser


def benchmark_parser(description: str | None = None) -> argparse.ArgumentParser:
    """The options of ``python -m experiments.benchmark``."""
    parser = cliargs.Parser(prog="python -m experiments.benchmark", description=description)
    parser.add_argument("--quick", action="store_true", help="fast smoke run (small cases)")
    cliargs.add_out(parser, str(BENCH_OUT), "output folder")
    parser.add_argument(
        "--repeats",
        metavar="R",
        type=cliargs.positive_int,
        help="timed runs per case (median); default: the settings' (fewer with --quick)",
    )
    parser.add_argument(
        "--naive-budget",
        metavar="S",
        type=cliargs.positive_float,
        help="seconds a straightforward run may take (cases 3-4); default: the settings'",
    )
    parser.add_argument(
        "--study", action="store_true", help="also run case 5 (the whole real_like study)"
    )
    parser.add_argument(
        "--study-replications",
        metavar="R",
        type=cliargs.positive_int,
        help="replications of case 5; default: the config's",
    )
    parser.add_argument(
        "--blas-threads",
        metavar="T",
        type=cliargs.non_negative_int,
        default=1,
        help="BLAS threads of this process (threadpoolctl; 0: leave BLAS as it is)",
    )
    parser.add_argument(
        "--seed",
        type=cliargs.non_negative_int,
        default=BENCH_SEED,
        help="seed of data and starts",
    )
    parser.add_argument(
        "--refresh-studies",
        action="store_true",
        help="only re-read the committed studies' wall times into the existing results",
    )
    # internal: one timed probe in a fresh process (run by the benchmark itself)
    parser.add_argument("--probe-n", type=cliargs.positive_int, help=argparse.SUPPRESS)
    parser.add_argument(
        "--probe-n-init", type=cliargs.positive_int, default=5, help=argparse.SUPPRESS
    )
    return parser


def report_parser(description: str | None = None) -> argparse.ArgumentParser:
    """The options of ``python -m experiments.report``."""
    parser = cliargs.Parser(
        prog="python -m experiments.report",
        description=description,
    )
    cliargs.add_out(parser, str(OUTPUTS / "report"), "report folder")
    parser.add_argument(
        "--rerun-baselines",
        action="store_true",
        help="run (or resume) python -m experiments.baselines into outputs/baselines first",
    )
    parser.add_argument(
        "--baseline-replications",
        metavar="R",
        type=cliargs.positive_int,
        default=DEFAULT_REPLICATIONS,
        help="replications of the baseline study (with --rerun-baselines)",
    )
    cliargs.add_n_jobs(parser, "workers for --rerun-baselines")
    parser.add_argument(
        "--rebuild-studies",
        action="store_true",
        help="first rewrite each committed study's tables and figures from its summary and "
        "raw records (no refitting)",
    )
    return parser


def restarts_parser(description: str | None = None) -> argparse.ArgumentParser:
    """The options of ``python -m experiments.restarts``."""
    p = cliargs.Parser(prog="python -m experiments.restarts", description=description)
    p.add_argument("--data", type=cliargs.data_file, default=str(REAL_DATA), help="real panel")
    p.add_argument("--k", type=cliargs.positive_int, nargs="+", default=[2, 3, 4], help="K values")
    p.add_argument(
        "--n-init", type=cliargs.positive_int, nargs="+", default=[10, 20, 50, 100], help="starts"
    )
    p.add_argument("--init", nargs="+", default=[DEFAULT_INIT, "kmeans++"], help="schemes")
    p.add_argument("--tol", type=cliargs.positive_float, nargs="+", default=[1e-8], help="tol")
    p.add_argument("--seeds", type=cliargs.positive_int, default=40, help="fits per setting")
    p.add_argument("--per-scheme", type=cliargs.positive_int, default=500, help="search starts")
    p.add_argument("--hard-seeds", type=cliargs.positive_int, default=20, help="hard-case fits")
    p.add_argument(
        "--hard",
        type=cliargs.data_file,
        default="tests/data/hard_cases.json",
        help="best-known maxima of the hard-case suite (python -m experiments.hard_cases)",
    )
    p.add_argument(
        "--seed", type=cliargs.non_negative_int, default=REAL_FIT_SEED, help="root seed of the fits"
    )
    cliargs.add_n_jobs(p)
    cliargs.add_out(p, str(OUTPUTS / "restarts"), "folder (real/ and hard_cases/ study folders)")
    return p


def sigma_calibration_parser(description: str | None = None) -> argparse.ArgumentParser:
    """The options of ``python -m experiments.sigma_calibration``."""
    parser = cliargs.Parser(prog="python -m experiments.sigma_calibration", description=description)
    parser.add_argument(
        "--data",
        metavar="PATH",
        type=cliargs.data_file,
        default=str(REAL_DATA),
        help="wide sales CSV (its prices are the design)",
    )
    parser.add_argument(
        "--truth-dir",
        metavar="DIR",
        type=cliargs.existing_dir,
        default=str(OUTPUTS),
        help="folder holding real_sigma_common/ and real_sigma_segment/ results.json",
    )
    parser.add_argument(
        "--reps", type=cliargs.positive_int, default=1000, help="replications per sigma mode"
    )
    parser.add_argument("--n-init", type=cliargs.positive_int, default=5, help="EM starts per fit")
    parser.add_argument(
        "--seed", type=cliargs.non_negative_int, default=REAL_FIT_SEED, help="seed of the study"
    )
    cliargs.add_n_jobs(parser)
    cliargs.add_out(parser, str(OUTPUTS / "sigma_calibration"), "output folder")
    return parser
