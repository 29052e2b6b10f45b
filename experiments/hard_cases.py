"""Search the hard-case suite's best-known maxima and write them to tests/data/hard_cases.json.

Usage::

    python -m experiments.hard_cases [--per-scheme 1000] [--out tests/data/hard_cases.json]
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

from estimator import ConvergenceWarning
from simstudy.cli.args import Parser, run_cli
from simstudy.harness.files import write_json_atomic
from simstudy.studies.hard_cases import best_known, hard_cases


def main(argv: list[str] | None = None) -> int:
    parser = Parser(
        prog="python -m experiments.hard_cases",
        description=__doc__,
    )
    parser.add_argument("--per-scheme", type=int, default=1000, help="starts of every scheme")
    parser.add_argument(
        "--out", type=Path, default=Path("tests/data/hard_cases.json"), help="output JSON"
    )
    args = parser.parse_args(argv)
    if args.per_scheme < 1:
        parser.error(f"--per-scheme must be at least 1, got {args.per_scheme}")
    started = time.perf_counter()
    cases = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for case in hard_cases():
            cases[case.name] = {str(k): v for k, v in best_known(case, args.per_scheme).items()}
            print(case.name, json.dumps(cases[case.name]), file=sys.stderr, flush=True)
    write_json_atomic(
        args.out,
        {
            "command": f"python -m experiments.hard_cases --per-scheme {args.per_scheme}",
            "seconds": round(time.perf_counter() - started, 1),
            "cases": cases,
        },
    )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
