"""The command lines of the entry points (experiments/*.py): every flag, checked as parsed.

Each ``*_parser(description)`` is the :class:`simstudy.cli.args.Parser` of one
``python -m experiments.NAME``, its flags a table, one row a flag: (name, help, argparse
keywords).
"""

from __future__ import annotations

import argparse
from typing import Any

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
from ..bench.settings import REFRESHABLE
from ..harness.parallel import BACKENDS, CONNECT_SECONDS
from ..studies.paths import OUTPUTS, REAL_DATA, REAL_FIT_SEED
from .args import (
    Parser,
    data_file,
    existing_dir,
    n_jobs,
    non_negative_float,
    non_negative_int,
    output_dir,
    positive_float,
    positive_int,
)

Flags = list[tuple[str, str, dict[str, Any]]]
DEFAULT_BATCH_SIZE = 10
SWITCH = {"action": "store_true"}


def parser_of(command: str, flags: Flags, description: str | None = None) -> Parser:
    """The parser of ``python -m experiments.COMMAND`` with ``flags``."""
    parser = Parser(prog=f"python -m experiments.{command}", description=description)
    for name, help_text, keywords in flags:
        parser.add_argument(name, help=help_text, **keywords)
    return parser


def out(default: str | None, what: str) -> tuple[str, str, dict[str, Any]]:
    """The ``--out DIR`` flag every command has: a writable folder, checked as parsed."""
    return "--out", what, {"metavar": "DIR", "type": output_dir, "default": default}


def workers(what: str = "parallel workers") -> tuple[str, str, dict[str, Any]]:
    """The ``--n-jobs J`` flag: a worker count (-1: every core; never 0)."""
    return "--n-jobs", f"{what} (-1: every core)", {"metavar": "J", "type": n_jobs, "default": 1}


def study_parser(kind: str) -> Parser:
    """The options of ``python -m experiments.recovery`` and ``experiments.selection``."""
    # the study modules import pandas, which fit_real's parser (this module) does without
    from ..harness.runner import CHECKPOINT_SECONDS

    flags: Flags = [
        ("--config", "study config (JSON)",
         {"metavar": "FILE", "type": data_file, "required": True}),
        ("--replications", "replications per condition (R); default: the config's",
         {"metavar": "R", "type": positive_int}),
        workers(),
        out(None, "results folder; default: outputs/NAME of the config"),
        ("--backend", "joblib backend (dask: a dask.distributed cluster)",
         {"choices": BACKENDS, "default": "loky"}),
        ("--scheduler", "with --backend dask: a running scheduler (tcp://host:8786 or a "
                        "scheduler file); default: a LocalCluster of --n-jobs worker processes",
         {"metavar": "ADDRESS"}),
        ("--connect-timeout", "with --scheduler: seconds the scheduler has to answer",
         {"metavar": "SECONDS", "type": positive_float, "default": CONNECT_SECONDS}),
        ("--batch-size", f"replications per work unit; default: the config's batch_size, else "
                         f"{DEFAULT_BATCH_SIZE}",
         {"metavar": "B", "type": positive_int}),
        ("--checkpoint-seconds", "seconds between checkpoints of raw/ (0: after every batch)",
         {"metavar": "S", "type": non_negative_float, "default": CHECKPOINT_SECONDS}),
        ("--restart", "discard the results folder's records and start over (also when its study "
                      "changed)", SWITCH),
        ("--no-figures", "tables only, no figures", SWITCH),
    ]  # fmt: skip
    description = f"Run a Monte Carlo {kind} study from a JSON config (docs/simstudy.md)."
    return parser_of(kind, flags, description)


def fit_real_parser(description: str | None = None) -> Parser:
    """The options of ``python -m experiments.fit_real``."""
    flags: Flags = [
        ("--data", "sales CSV: wide (Price, one column per store) or long",
         {"metavar": "PATH", "type": data_file, "default": str(REAL_DATA)}),
        ("--k", "numbers of segments to fit",
         {"metavar": "K", "type": positive_int, "nargs": "+", "default": [1, 2, 3, 4]}),
        ("--n-init", "EM starts per K", {"type": positive_int, "default": DEFAULT_N_INIT}),
        ("--tol", "relative change in log-likelihood at which EM hands over to Newton polishing",
         {"type": positive_float, "default": DEFAULT_TOL}),
        ("--max-iter", "EM iterations", {"type": positive_int, "default": DEFAULT_MAX_ITER}),
        ("--seed", "seed of the starts", {"type": non_negative_int, "default": REAL_FIT_SEED}),
        ("--init", "starting values: all schemes in turn, k-means++, small groups, random stores "
                   "or random partitions",
         {"choices": INIT_METHODS, "default": DEFAULT_INIT}),
        out(str(OUTPUTS), "output folder (results.json, real/store_segments.csv)"),
        ("--bootstrap", "parametric bootstrap refits of the chosen K (0: none)",
         {"type": non_negative_int, "default": 0, "metavar": "B"}),
        workers("bootstrap workers"),
        ("--blrt", "bootstrap likelihood-ratio tests of K0 vs K0 + 1 segments, B samples each",
         {"type": non_negative_int, "default": 0, "metavar": "B"}),
        ("--sigma", "error SD: fixed at 1 (the assignment's model), one common, or one per segment",
         {"choices": SIGMA_MODES, "default": "fixed"}),
        ("--missing", "wide file: empty/NaN sales cells are an error, or weeks the store was not "
                      "observed",
         {"choices": ("error", "drop"), "default": "error"}),
        ("--format", "wide (Price, one column per store) or long (store, week, sales, price, "
                     "extras); auto: from the header",
         {"dest": "data_format", "choices": ("auto", "wide", "long"), "default": "auto"}),
        ("--extra", "long file: extra regressor columns, in order (default: every other column)",
         {"nargs": "+", "default": None, "metavar": "COL"}),
        ("--formula", "any mixture of regressions: 'y ~ x1 + x2' on the columns of the --data "
                      "table (formulaic); without it, log sales on log price",
         {"default": None}),
        ("--group", "with --formula: the column naming each row's unit (default: every row "
                    "is its own unit)",
         {"default": None, "metavar": "COL"}),
        ("--concomitant", "unit covariates of a multinomial-logit prior, '~ z1 + z2', from the "
                          "data or --unit-data",
         {"default": None}),
        ("--unit-data", "one row per unit: the unit column (--group, or store) and the "
                        "covariates of --concomitant",
         {"metavar": "PATH", "type": data_file, "default": None}),
        ("--guard", "guard against spurious maxima with sigma per segment (docs/engine.md); "
                    "none: the unconstrained MLE",
         {"choices": ("size", "none"), "default": "size"}),
    ]  # fmt: skip
    return parser_of("fit_real", flags, description)


def baselines_parser(description: str | None = None) -> Parser:
    """The options of ``python -m experiments.baselines``."""
    from ..studies.baselines import DEFAULT_CONFIG, DEFAULT_OUT, DEFAULT_REPLICATIONS

    flags: Flags = [
        ("--config", "study config (JSON)",
         {"metavar": "FILE", "type": data_file, "default": str(DEFAULT_CONFIG)}),
        ("--replications", "replications of the study",
         {"metavar": "R", "type": positive_int, "default": DEFAULT_REPLICATIONS}),
        workers(),
        out(str(DEFAULT_OUT), "results folder"),
        ("--gmm-n-init", "starts of each Gaussian mixture; default: the config's n_init",
         {"metavar": "N", "type": positive_int}),
    ]  # fmt: skip
    return parser_of("baselines", flags, description)


def benchmark_parser(description: str | None = None) -> Parser:
    """The options of ``python -m experiments.benchmark``."""
    flags: Flags = [
        ("--quick", "fast smoke run (small cases)", SWITCH),
        out(str(BENCH_OUT), "output folder"),
        ("--repeats", "timed runs per case (median); default: the settings' (fewer with --quick)",
         {"metavar": "R", "type": positive_int}),
        ("--naive-budget", "seconds a straightforward run may take (cases 3-4); default: the "
                           "settings'",
         {"metavar": "S", "type": positive_float}),
        ("--study", "also run case 5 (the whole real_like study)", SWITCH),
        ("--study-replications", "replications of case 5; default: the config's",
         {"metavar": "R", "type": positive_int}),
        ("--blas-threads", "BLAS threads of this process (threadpoolctl; 0: leave BLAS as it is)",
         {"metavar": "T", "type": non_negative_int, "default": 1}),
        ("--seed", "seed of data and starts", {"type": non_negative_int, "default": BENCH_SEED}),
        ("--refresh", "redo only these parts into the existing results, the rest kept: studies "
                      "(re-read the committed studies' wall times), newton-steps (case 6), "
                      "probes (N = 1,000,000 in fresh processes)",
         {"metavar": "PART", "nargs": "+", "choices": REFRESHABLE}),
        # internal: one timed probe in a fresh process (run by the benchmark itself)
        ("--probe-n", argparse.SUPPRESS,
         {"type": positive_int}),
        ("--probe-n-init", argparse.SUPPRESS,
         {"type": positive_int, "default": 5}),
    ]  # fmt: skip
    return parser_of("benchmark", flags, description)


def report_parser(description: str | None = None) -> Parser:
    """The options of ``python -m experiments.report``."""
    from ..studies.baselines import DEFAULT_REPLICATIONS

    flags: Flags = [
        out(str(OUTPUTS / "report"), "report folder"),
        ("--rerun-baselines", "run (or resume) python -m experiments.baselines into "
                              "outputs/baselines first", SWITCH),
        ("--baseline-replications", "replications of the baseline study (with --rerun-baselines)",
         {"metavar": "R", "type": positive_int, "default": DEFAULT_REPLICATIONS}),
        workers("workers for --rerun-baselines"),
        ("--rebuild-studies", "first rewrite each committed study's tables and figures from its "
                              "summary and raw records (no refitting)", SWITCH),
    ]  # fmt: skip
    return parser_of("report", flags, description)


def restarts_parser(description: str | None = None) -> Parser:
    """The options of ``python -m experiments.restarts``."""
    flags: Flags = [
        ("--data", "real panel", {"type": data_file, "default": str(REAL_DATA)}),
        ("--k", "K values", {"type": positive_int, "nargs": "+", "default": [2, 3, 4]}),
        ("--n-init", "starts", {"type": positive_int, "nargs": "+", "default": [10, 20, 50, 100]}),
        ("--init", "schemes", {"nargs": "+", "default": [DEFAULT_INIT, "kmeans++"]}),
        ("--tol", "tol", {"type": positive_float, "nargs": "+", "default": [1e-8]}),
        ("--seeds", "fits per setting", {"type": positive_int, "default": 40}),
        ("--per-scheme", "search starts", {"type": positive_int, "default": 500}),
        ("--hard-seeds", "hard-case fits", {"type": positive_int, "default": 20}),
        ("--hard", "best-known maxima of the hard-case suite (python -m experiments.hard_cases)",
         {"type": data_file, "default": "tests/data/hard_cases.json"}),
        ("--seed", "root seed of the fits", {"type": non_negative_int, "default": REAL_FIT_SEED}),
        workers(),
        out(str(OUTPUTS / "restarts"), "folder (real/ and hard_cases/ study folders)"),
    ]  # fmt: skip
    return parser_of("restarts", flags, description)


def sigma_calibration_parser(description: str | None = None) -> Parser:
    """The options of ``python -m experiments.sigma_calibration``."""
    flags: Flags = [
        ("--data", "wide sales CSV (its prices are the design)",
         {"metavar": "PATH", "type": data_file, "default": str(REAL_DATA)}),
        ("--truth-dir", "folder holding real_sigma_common/ and real_sigma_segment/ results.json",
         {"metavar": "DIR", "type": existing_dir, "default": str(OUTPUTS)}),
        ("--reps", "replications per sigma mode", {"type": positive_int, "default": 1000}),
        ("--n-init", "EM starts per fit", {"type": positive_int, "default": 5}),
        ("--seed", "seed of the study", {"type": non_negative_int, "default": REAL_FIT_SEED}),
        workers(),
        out(str(OUTPUTS / "sigma_calibration"), "output folder"),
    ]  # fmt: skip
    return parser_of("sigma_calibration", flags, description)
