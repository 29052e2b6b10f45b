"""Are the standard errors with estimated sigma right? A Monte Carlo check on the real design.

Usage::

    python -m experiments.sigma_calibration [--reps 1000] [--n-init 5] [--seed S]
                                            [--out outputs/sigma_calibration]

The check is :func:`simstudy.studies.sigma_calibration.calibrate` (its module says what it does).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from simstudy.cli import args as cliargs
from simstudy.cli.parsers import sigma_calibration_parser
from simstudy.studies.sigma_calibration import calibrate, write_calibration


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (:func:`simstudy.cli.parsers.sigma_calibration_parser`)."""
    return sigma_calibration_parser(__doc__).parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the check for both estimated-sigma modes and write summary.json and summary.md."""
    args = parse_args(argv)
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    document, sections = calibrate(
        args.data,
        args.truth_dir,
        args.reps,
        args.n_init,
        args.seed,
        settings,
        args.out,
        args.n_jobs,
    )
    write_calibration(args.out, document, sections)
    print("\n\n".join(sections))
    print(f"wrote {args.out / 'calibration.json'} and {args.out / 'calibration.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(cliargs.run_cli(main))
