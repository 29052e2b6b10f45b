"""Parameter recovery at the true K: how close are the estimates to the truth?

Usage::

    python -m experiments.recovery --config experiments/configs/real_like.json \
        [--replications R] [--n-jobs J] [--out DIR]

Writes DIR/summary.json, DIR/raw/ (one CSV of records per condition),
DIR/tables/ (markdown and LaTeX) and DIR/figures/ (PNG and PDF); see docs/simstudy.md.
"""

from __future__ import annotations

from simstudy.cli.args import run_cli
from simstudy.cli.study import main as run


def main(argv: list[str] | None = None) -> int:
    """Run a recovery study (see :func:`simstudy.cli.study.main`)."""
    return run(argv, "recovery")


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
