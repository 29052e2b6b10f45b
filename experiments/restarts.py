"""Do the default settings reach the best-known maximum? Real data and the hard-case suite.

For the real data, every K's best-known log-likelihood comes from a large search
(``--per-scheme`` starts of every starting scheme); then, for each (tol, init,
n_init), ``--seeds`` independent fits measure how often the fit reaches it
(within 1e-6), the shortfall, the certified share and the time per fit. For the
hard-case suite (tests/data/hard_cases.json, ``python -m experiments.hard_cases``)
the same with the default settings. Both run through the study runner (seeds,
workers, checkpoints, resume) into OUT/real and OUT/hard_cases; the README's
choice of defaults quotes OUT/restarts.md.
"""

from __future__ import annotations

import json
import sys

from estimator import load_csv
from simstudy.cli import args as cliargs
from simstudy.cli.parsers import restarts_parser
from simstudy.harness.files import write_json_atomic, write_text_atomic
from simstudy.studies.hard_cases import best_known_for
from simstudy.studies.reliability import (
    hard_case_design,
    real_design,
    restarts_markdown,
    run_reliability,
)


def main(argv: list[str] | None = None) -> int:
    """Measure how often each setting reaches the best-known maxima; write tables."""
    args = restarts_parser(__doc__).parse_args(argv)
    stats = load_csv(args.data).sufficient_stats()
    best = {k: best_known_for(stats, k, "fixed", args.per_scheme)["loglik"] for k in args.k}
    design = real_design(str(args.data), best, args.n_init, args.init, args.tol)
    with open(args.hard, encoding="utf-8") as handle:
        hard_design = hard_case_design(json.load(handle)["cases"])
    run = {"n_jobs": args.n_jobs, "seed": args.seed}
    real = run_reliability(design, args.seeds, args.out / "real", name="restarts_real", **run)
    hard = run_reliability(
        hard_design, args.hard_seeds, args.out / "hard_cases", name="restarts_hard", **run
    )
    command = " ".join(["python -m experiments.restarts", *(argv or sys.argv[1:])])
    settings = {k: str(v) if hasattr(v, "parts") else v for k, v in vars(args).items()}
    document = {"command": command, "args": settings, "best_known": best}
    document |= {"real": real, "hard_cases": hard}
    write_json_atomic(args.out / "restarts.json", document)
    text = restarts_markdown(document)
    write_text_atomic(args.out / "restarts.md", text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(cliargs.run_cli(main))
