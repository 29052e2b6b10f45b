"""Render every generated block of README.md and docs/*.md from the committed outputs.

Usage::

    python -m experiments.docs [--check] [--outputs outputs]

Blocks are marked ``<!-- gen:NAME -->`` ... ``<!-- /gen:NAME -->``; what each
holds is :data:`simstudy.writeup.blocks.BLOCKS`. ``--check`` writes nothing and exits 1
when a document disagrees with the outputs (a test runs the same check).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from simstudy.cli.args import Parser, run_cli
from simstudy.studies.paths import OUTPUTS
from simstudy.writeup.blocks import documents, update_documents


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = Parser(prog="python -m experiments.docs", description=__doc__)
    parser.add_argument("--check", action="store_true", help="report stale documents only")
    parser.add_argument("--outputs", type=Path, default=OUTPUTS, help="outputs folder")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Rewrite (or check) the generated blocks."""
    args = parse_args(argv)
    try:
        stale = update_documents(documents(), args.outputs, check=args.check)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    verb = "out of date" if args.check else "rewrote"
    for path in stale:
        print(f"{verb}: {path}")
    if not stale:
        print("every generated block agrees with the outputs")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
