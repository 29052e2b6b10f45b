"""Do the default settings reach the best-known maximum? Real data and the hard-case suite.

For the real data, every K's best-known log-likelihood comes from a large search
(``--per-scheme`` starts of every starting scheme); then, for each (tol, init,
n_init), ``--seeds`` independent fits measure how often the fit reaches it
(within 1e-6), the shortfall, the certified share and the time per fit. For the
hard-case suite (tests/data/hard_cases.json, ``python -m experiments.hard_cases``)
the same with the default settings. The README's choice of defaults quotes these tables.

Usage::

    python -m experiments.restarts [--k 2 3 4] [--seeds 40] [--out outputs/restarts]
"""

from __future__ import annotations

import argparse
import json
import sys

from estimator import DEFAULT_INIT, load_csv
from estimator.atomic import write_json_atomic, write_text_atomic
from simstudy import cliargs
from simstudy.hard_cases import best_known_for
from simstudy.reliability import hard_case_table, restarts_markdown, settings_table


def build_parser() -> argparse.ArgumentParser:
    """Command-line options, each checked as it is parsed (simstudy.cliargs)."""
    p = cliargs.Parser(prog="python -m experiments.restarts", description=__doc__)
    p.add_argument("--data", type=cliargs.data_file, default="data/609948.csv", help="real panel")
    p.add_argument("--k", type=cliargs.positive_int, nargs="+", default=[2, 3, 4], help="K values")
    p.add_argument(
        "--n-init", type=cliargs.positive_int, nargs="+", default=[10, 20, 50], help="starts"
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
    p.add_argument("--out", type=cliargs.output_dir, default="outputs/restarts", help="folder")
    return p


def main(argv: list[str] | None = None) -> int:
    """Measure how often each setting reaches the best-known maxima; write tables."""
    args = build_parser().parse_args(argv)
    stats = load_csv(args.data).sufficient_stats()
    best = {k: best_known_for(stats, k, "fixed", args.per_scheme)["loglik"] for k in args.k}
    real = settings_table(stats, best, args.n_init, args.init, args.tol, args.seeds)
    with open(args.hard, encoding="utf-8") as handle:
        hard = hard_case_table(json.load(handle)["cases"], args.hard_seeds)
    command = " ".join(["python -m experiments.restarts", *(argv or sys.argv[1:])])
    settings = {
        key: str(value) if hasattr(value, "parts") else value for key, value in vars(args).items()
    }
    document = {"command": command, "args": settings, "best_known": best}
    document |= {"real": real, "hard_cases": hard}
    write_json_atomic(args.out / "restarts.json", document)
    text = restarts_markdown(document)
    write_text_atomic(args.out / "restarts.md", text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(cliargs.run_cli(main))
