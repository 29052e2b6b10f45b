"""Parameter recovery at the true K: how close are the estimates to the truth?

Usage::

    python -m experiments.recovery --config experiments/configs/real_like.json \
        [--replications R] [--n-jobs J] [--out DIR]

Writes DIR/summary.json, DIR/raw/ (one CSV of records per condition),
DIR/tables/ (markdown and LaTeX) and DIR/figures/ (PNG and PDF); see docs/simstudy.md.
The options and what the study does: :mod:`simstudy.cli.study`.
"""

from __future__ import annotations

from functools import partial

from simstudy.cli import args, study

main = partial(study.main, kind="recovery")

if __name__ == "__main__":
    raise SystemExit(args.run_cli(main))
