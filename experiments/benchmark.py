"""Benchmark the EM engine against a straightforward implementation (issue 5).

Usage::

    python -m experiments.benchmark [--quick] [--out outputs/benchmark] [--repeats R]
        [--study] [--study-replications R] [--naive-budget SECONDS] [--blas-threads N]
        [--refresh {studies,newton-steps,probes,flexmix} ...]

Cases (each timed in this one process, median of several runs):

1. the real panel (data/609948.csv), K = 1..4, n_init = 10 each;
2. one replication of the real_like study (experiments/configs/real_like.json):
   a generated N = 300, T = 52 panel, K = 1..5, n_init = 10;
3. synthetic panels, N in {300, ..., 1,000,000}, T = 52, K = 3, n_init = 5,
   generated in chunks of stores so that the N x T matrix never exists at once;
4. T in {13, 52, 208, 520} and K in {2, 4, 8} at N = 3000;
5. (``--study``) the whole real_like study through ``python -m experiments.recovery``
   with n_jobs = 1 and 2, wall time of the command;
6. the engine's Newton step against a trust-region step on the real panel, K = 3 and 4
   (``--refresh newton-steps`` re-times only this into the existing results);
7. R's flexmix against salesmix on the same fit of the real panel (sigma per segment,
   K = 1..4 x 10 starts, three seeds; needs Rscript with flexmix; ``--refresh flexmix``).

"Ours" is :func:`estimator.selection.fit_k_range` (the user's path: it draws the
starts and runs all restarts of one K as one batched array computation) on
sufficient statistics, plus the one pass that computes them. The
straightforward implementation (:mod:`simstudy.bench.naive_em`) is handed the very
same starting values and uses the same stopping rule; its log-likelihoods are
compared with ours restart by restart. It runs only where its estimated time
(its measured time per iteration times our iteration count) is within the
budget; otherwise the estimate is reported and marked as such.

Writes OUT/benchmark.md, OUT/benchmark.json and OUT/time_vs_n.{png,pdf}.
"""

from __future__ import annotations

import argparse
import json
import sys

from simstudy.bench.cases import probe
from simstudy.bench.run import (
    limit_blas_threads,
    refresh,
    run_benchmark,
    settings_from,
)
from simstudy.cli import args as cliargs
from simstudy.cli.parsers import benchmark_parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (:func:`simstudy.cli.parsers.benchmark_parser`)."""
    return benchmark_parser(__doc__).parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m experiments.benchmark``."""
    args = parse_args(argv)
    if args.probe_n:
        print(json.dumps(probe(args.probe_n, args.seed, args.probe_n_init)))
        return 0
    argv_full = sys.argv[1:] if argv is None else argv
    limit_blas_threads(args.blas_threads)
    settings = settings_from(args)
    if args.refresh:  # some parts redone, the rest kept
        refresh(args.out, args.refresh, settings)
        print(f"refreshed {', '.join(args.refresh)} in {args.out / 'benchmark.md'} and .json")
        return 0
    command = "python -m experiments.benchmark " + " ".join(argv_full)
    result = run_benchmark(settings, args.out, command.strip())
    for target in result["targets"]:
        print(f"{target['status']:>12}  {target['target']}: {target['measured']}")
    print(f"wrote {args.out / 'benchmark.md'}, benchmark.json, time_vs_n.png/pdf")
    return 0


if __name__ == "__main__":
    raise SystemExit(cliargs.run_cli(main))
