"""The command line shared by ``experiments.recovery`` and ``experiments.selection``.

Usage::

    python -m experiments.recovery --config FILE [--replications R] [--n-jobs J] [--out DIR]
                                   [--backend loky|threading|sequential|dask]
                                   [--scheduler ADDRESS] [--batch-size B]
                                   [--checkpoint-seconds S] [--restart] [--no-figures]
                                   [--quiet]

``--backend dask`` runs the batches on a dask.distributed cluster: the scheduler at
``--scheduler`` (an address such as ``tcp://host:8786`` or a scheduler file), or
without it a LocalCluster of ``--n-jobs`` worker processes started for the run
(see docs/cluster.md). dask is an optional extra: ``pip install -e ".[dask]"``.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any, Literal

import joblib
from tabulate import tabulate

from ..harness.files import jsonable, software_versions, write_json_atomic
from ..harness.runinfo import count_records, previous_summary, records_wall_seconds
from ..harness.runner import (
    BACKENDS,
    CHECKPOINT_SECONDS,
    RUN_ERRORS,
    Study,
    StudyFailedError,
    StudyInterrupted,
    run_study,
    summarise_study,
)
from ..studies import mixture
from ..studies.config import conditions, load_config
from ..studies.paths import OUTPUTS
from ..writeup.study_report import (
    CRITERION_LABELS,
    blrt_table,
    hit_rate_pivot,
    recovery_table,
    selection_methods,
    write_report,
)
from . import args as cliargs

StudyKind = Literal["recovery", "selection"]
DEFAULT_BATCH_SIZE = 10


def build_parser(kind: StudyKind) -> argparse.ArgumentParser:
    """The options of a study entry point (every one checked as it is parsed)."""
    parser = cliargs.Parser(
        prog=f"python -m experiments.{kind}",
        description=f"Run a Monte Carlo {kind} study from a JSON config (docs/simstudy.md).",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        type=cliargs.data_file,
        required=True,
        help="study config (JSON)",
    )
    parser.add_argument(
        "--replications",
        metavar="R",
        type=cliargs.positive_int,
        help="replications per condition (R); default: the config's",
    )
    cliargs.add_n_jobs(parser, "parallel workers")
    cliargs.add_out(parser, None, "results folder; default: outputs/NAME of the config")
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="loky",
        help="joblib backend (dask: a dask.distributed cluster)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="with --backend dask: a running scheduler (tcp://host:8786 or a scheduler file); "
        "default: a LocalCluster of --n-jobs worker processes",
    )
    parser.add_argument(
        "--batch-size",
        metavar="B",
        type=cliargs.positive_int,
        help=f"replications per work unit; default: the config's batch_size, else "
        f"{DEFAULT_BATCH_SIZE}",
    )
    parser.add_argument(
        "--checkpoint-seconds",
        metavar="S",
        type=cliargs.non_negative_float,
        default=CHECKPOINT_SECONDS,
        help="seconds between checkpoints of raw/ (0: after every batch)",
    )
    parser.add_argument(
        "--restart",
        action="store_true",
        help="discard the results folder's records and start over (also when its study changed)",
    )
    parser.add_argument("--no-figures", action="store_true", help="tables only, no figures")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return parser


def parse_args(argv: list[str] | None, kind: StudyKind) -> argparse.Namespace:
    """Command-line options of a study entry point."""
    parser = build_parser(kind)
    args = parser.parse_args(argv)
    if args.scheduler is not None and args.backend != "dask":
        parser.error("argument --scheduler: needs --backend dask")
    return args


def build_study(config: dict[str, Any]) -> Study:
    """The mixture study of a checked config."""
    return Study(
        name=config["name"],
        conditions=conditions(config),
        generate=mixture.generate,
        analyse=mixture.analyse,
        summarise=mixture.summarise,
        replications=int(config["replications"]),
        seed=int(config["seed"]),
        settings={
            "k_range": config["k_range"],
            "fit": config["fit"],
            "price_data": config["price_data"],
        },
    )


def _selection_console(summaries: list[dict[str, Any]]) -> str:
    methods = selection_methods(summaries)
    headers = ["condition", "n", "err", *[CRITERION_LABELS[c] for c in methods]]
    body = [
        [
            s["label"],
            s["n_ok"],
            s["n_errors"],
            *[f"{s['selection'][c]['hit_rate']:.3f}" if s["n_ok"] else "-" for c in methods],
        ]
        for s in summaries
    ]
    return tabulate(body, headers=headers, disable_numparse=True)


def _how(args: argparse.Namespace) -> str:
    if args.backend != "dask":
        return f"with n_jobs = {args.n_jobs}"
    if args.scheduler is not None:
        return f"on the dask scheduler {args.scheduler}"
    return f"on a dask LocalCluster of n_jobs = {args.n_jobs} workers"


def main(argv: list[str] | None, kind: StudyKind) -> int:
    """Run a study, write summary.json, raw/, tables/ and figures/; print the headline table."""
    args = parse_args(argv, kind)
    try:
        config = load_config(args.config)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.replications is not None:
        config["replications"] = args.replications
    try:
        out_dir = args.out or cliargs.check_output_dir(OUTPUTS / config["name"])
    except ValueError as err:
        print(f"error: argument --out (default): {err}", file=sys.stderr)
        return 2
    batch_size = args.batch_size or int(config.get("batch_size", DEFAULT_BATCH_SIZE))
    study = build_study(config)
    # --restart discards the folder's records: this run then starts from nothing
    previous = None if args.restart else previous_summary(out_dir)
    before = 0 if args.restart else count_records(out_dir, [c.id for c in study.conditions])
    started = time.perf_counter()
    try:
        records = run_study(
            study,
            out_dir,
            n_jobs=args.n_jobs,
            backend=args.backend,
            scheduler=args.scheduler,
            batch_size=batch_size,
            progress=None if args.quiet else sys.stderr,
            checkpoint_every=args.checkpoint_seconds,
            restart=args.restart,
        )
    except RUN_ERRORS as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except StudyFailedError as err:
        print(f"error: {err} (records in {out_dir}/raw/)", file=sys.stderr)
        return 1
    except StudyInterrupted as err:
        print(err, file=sys.stderr)
        return 130
    wall = time.perf_counter() - started
    after = sum(len(frame) for frame in records.values())
    summaries = summarise_study(study, records)
    document = {
        "study": config["name"],
        "kind": kind,
        "description": config.get("description", ""),
        "config": config,
        "run": {
            "replications": study.replications,
            "conditions": len(study.conditions),
            "n_jobs": args.n_jobs,
            "backend": args.backend,
            "scheduler": args.scheduler,
            "batch_size": batch_size,
            "wall_seconds_this_run": wall,
            "wall_seconds_records": records_wall_seconds(previous, before, after, wall),
            "replication_seconds_total": sum(s["seconds"]["total"] for s in summaries),
            "software": {**software_versions(), "joblib": joblib.__version__},
        },
        "conditions": summaries,
    }
    write_json_atomic(out_dir / "summary.json", jsonable(document))
    write_report(jsonable(summaries), records, out_dir, figures=not args.no_figures)
    n_errors = sum(s["n_errors"] for s in summaries)
    if kind == "recovery" and len(summaries) <= 4:
        print(recovery_table(jsonable(summaries), fmt="md"))
        print()
    if len(summaries) <= 24:
        print(_selection_console(summaries))
    if any("blrt" in s for s in summaries):
        print("\nbootstrap likelihood-ratio tests (rejections of K0 segments)")
        print(blrt_table(jsonable(summaries), fmt="md"))
    else:
        print("hit rate of BIC (all criteria: tables/selection.md)")
        print(hit_rate_pivot(jsonable(summaries), fmt="md"))
    print(
        f"\n{len(summaries)} conditions x {study.replications} replications, {n_errors} errors; "
        f"{wall:.1f} s {_how(args)}; wrote {out_dir}/summary.json, raw/, tables/"
        f"{'' if args.no_figures else ', figures/'}"
    )
    return 0
