"""The estimator against a single EM start and the two-step route, on the real_like condition.

Usage::

    python -m experiments.baselines [--replications R] [--n-jobs J] [--out outputs/baselines]
                                    [--config experiments/configs/real_like.json]
                                    [--gmm-n-init N] [--quiet]

The study itself (methods, records, summary) is :mod:`simstudy.studies.baselines`.
"""

from __future__ import annotations

import argparse
import sys

from simstudy.cli import args as cliargs
from simstudy.cli.parsers import baselines_parser
from simstudy.harness.runner import StudyMismatchError
from simstudy.studies.baselines import run


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (:func:`simstudy.cli.parsers.baselines_parser`)."""
    return baselines_parser(__doc__).parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the baseline comparison and print its headline numbers."""
    args = parse_args(argv)
    try:
        document = run(
            args.config, args.out, args.replications, args.n_jobs, args.gmm_n_init, args.quiet
        )
    except (ValueError, StudyMismatchError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for summary in document["conditions"]:
        for m, result in summary["methods"].items():
            sel = result["selection"]
            print(
                f"{m:8s} hit rate {sel['hit_rate']:.3f} [{sel['ci_low']:.3f}, {sel['ci_high']:.3f}]"
                f"  misclassification {result['classification']['misclassification_mean']:.4f}"
                f"  {result['seconds']['mean']:.3f} s/replication"
            )
    print(f"wrote {args.out}/summary.json and raw/")
    return 0


if __name__ == "__main__":
    raise SystemExit(cliargs.run_cli(main))
