"""Build the write-up bundle: every table and figure of the real data, baselines and studies.

Usage::

    python -m experiments.report [--out outputs/report] [--rerun-baselines]
                                 [--baseline-replications R] [--n-jobs J]

Reads the committed outputs and never refits (except the cheap real-data
quantities named in :mod:`simstudy.writeup.real`); what it reads and writes is
described in :mod:`simstudy.writeup.report` and docs/report.md.
"""

from __future__ import annotations

import argparse
import sys

from simstudy.cli import args as cliargs
from simstudy.cli.parsers import report_parser
from simstudy.writeup.report import STUDIES as report_studies
from simstudy.writeup.report import Sources, build
from simstudy.writeup.study_report import rebuild_study

STUDIES = tuple(getattr(Sources, name) for name in report_studies)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (:func:`simstudy.cli.parsers.report_parser`)."""
    return report_parser(__doc__).parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Build the report and print what it holds."""
    args = parse_args(argv)
    if args.rebuild_studies:
        for folder in STUDIES:
            rebuild_study(folder)
    manifest = build(
        args.out,
        rerun_baselines=args.rerun_baselines,
        baseline_replications=args.baseline_replications,
        n_jobs=args.n_jobs,
    )
    print(
        f"wrote {args.out}/report.md: {len(manifest['tables'])} tables, "
        f"{len(manifest['figures'])} figures in {manifest['seconds']:.1f} s"
    )
    for folder in manifest["missing"]:
        print(f"not yet available (the report says so): {folder}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(cliargs.run_cli(main))
