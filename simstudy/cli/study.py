"""The command line shared by ``experiments.recovery`` and ``experiments.selection``.

Its flags are :func:`simstudy.cli.parsers.study_parser`'s (``--help``); ``--backend dask``
runs the batches on a dask.distributed cluster (docs/cluster.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Literal

from estimator import ConvergenceWarning

from ..harness.runner import StudyFailedError
from ..harness.simulation import SimulationResult, build_study, simulate
from ..studies import mixture
from ..studies.config import load_config
from ..studies.paths import OUTPUTS
from ..writeup import tables
from ..writeup.study_report import write_report
from . import args as cliargs
from .parsers import DEFAULT_BATCH_SIZE, study_parser

StudyKind = Literal["recovery", "selection"]


def parse_args(argv: list[str] | None, kind: StudyKind) -> argparse.Namespace:
    """Command-line options of a study entry point."""
    parser = study_parser(kind)
    args = parser.parse_args(argv)
    if args.scheduler is not None and args.backend != "dask":
        parser.error("argument --scheduler: needs --backend dask")
    return args


def _how(args: argparse.Namespace) -> str:
    if args.backend != "dask":
        return f"with n_jobs = {args.n_jobs}"
    if args.scheduler is not None:
        return f"on the dask scheduler {args.scheduler}"
    return f"on a dask LocalCluster of n_jobs = {args.n_jobs} workers"


def main(argv: list[str] | None, kind: StudyKind) -> int:
    """Run a study, write summary.json, raw/, tables/ and figures/; print the headline table
    (run by :func:`simstudy.cli.args.run_cli`, which handles run errors and Ctrl-C)."""
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
    try:
        result = mixture.run(
            config, out_dir, kind, n_jobs=args.n_jobs, backend=args.backend,
            scheduler=args.scheduler, connect_timeout=args.connect_timeout,
            batch_size=args.batch_size or int(config.get("batch_size", DEFAULT_BATCH_SIZE)),
            progress=None if args.quiet else sys.stderr, checkpoint_every=args.checkpoint_seconds,
            restart=args.restart,
        )  # fmt: skip
    except StudyFailedError as err:  # a folder's, a checkpoint's, the scheduler's: run_cli's
        print(f"error: {err} (records in {out_dir}/raw/)", file=sys.stderr)
        return 1
    summaries = result.document["conditions"]
    write_report(summaries, result.records, out_dir, figures=not args.no_figures)
    shown = [tables.recovery(summaries)] if kind == "recovery" and len(summaries) <= 4 else []
    shown += [tables.selection(summaries)] if len(summaries) <= 24 else []
    if any("blrt" in s for s in summaries):
        shown.append(tables.blrt(summaries))
    else:
        shown.append(tables.hit_rate_pivot(summaries))
    for table in shown:
        print(f"{table.caption}\n{tables.render(table, 'text')}\n")
    run = result.document["run"]
    n_errors = sum(s["n_errors"] for s in summaries)
    print(
        f"\n{len(summaries)} conditions x {run['replications']} replications, {n_errors} errors; "
        f"{run['wall_seconds_this_run']:.1f} s {_how(args)}; wrote {out_dir}/summary.json, raw/, "
        f"tables/{'' if args.no_figures else ', figures/'}"
    )
    return 0


def design_parser(name: str, seed: int, doc: str) -> cliargs.Parser:
    """The flags of a fixed-design study's command (``python -m experiments.NAME``)."""
    parser = cliargs.Parser(f"python -m experiments.{name}", description=doc)
    parser.add_argument("--replications", type=cliargs.positive_int, default=500,
                        help="replications per condition")  # fmt: skip
    parser.add_argument("--n-jobs", type=cliargs.n_jobs, default=2, help="worker processes")
    parser.add_argument("--seed", type=cliargs.non_negative_int, default=seed, help="study seed")
    parser.add_argument("--out", type=cliargs.output_dir, default=OUTPUTS / name,
                        help="results folder")  # fmt: skip
    return parser


def run_design(
    argv: list[str] | None, module: Any, design: list[dict[str, Any]], seed: int, doc: str
) -> tuple[SimulationResult, Path]:
    """The command line of a study module with a fixed design (``experiments.guard``, say):
    ``--replications``, ``--n-jobs``, ``--seed``, ``--out``; run it; the result and folder."""
    name = module.__name__.rsplit(".", 1)[-1]
    args = design_parser(name, seed, doc).parse_args(argv)
    study = build_study(
        design, args.replications, module.generate, module.analyse, seed=args.seed, name=name,
        version=module.VERSION, quiet=(ConvergenceWarning,),
    )  # fmt: skip
    return simulate(study, module.summarise, args.out, n_jobs=args.n_jobs), args.out
