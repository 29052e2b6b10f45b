"""Choice of K across a design grid: how often does each criterion find the true K?

Usage::

    python -m experiments.selection --config experiments/configs/selection_grid.json \
        [--replications R] [--n-jobs J] [--out DIR]

The same command line as ``python -m experiments.recovery`` (the study is the
same; only what the console shows first differs); see docs/simstudy.md.
"""

from __future__ import annotations

from simstudy.cli.args import run_cli
from simstudy.cli.study import main as run


def main(argv: list[str] | None = None) -> int:
    """Run a selection study (see :func:`simstudy.cli.study.main`)."""
    return run(argv, "selection")


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
