"""Fit the real panel for every K, choose K by BIC, write results.json and store segments.

Every K gets observed-information and naive standard errors and 95% intervals
(docs/inference.md); ``--bootstrap B`` adds a parametric bootstrap for the chosen K,
``--blrt B`` the bootstrap likelihood-ratio tests of K0 vs K0 + 1 (results.json
``blrt``, figure real/blrt_lr). ``--sigma common|segment`` estimates the error
standard deviation (default: fixed at 1, the assignment's model); ``--missing drop``
reads empty cells of a wide file as weeks the store was not observed; a long file
(columns store, week, sales, price and extra regressors such as promo) is detected
from its header (docs/extensions.md). Every fit is a certified maximum or says it
is not (docs/engine.md).
"""

from __future__ import annotations

import sys

from simstudy.cli import args as cliargs
from simstudy.cli.parsers import fit_real_parser
from simstudy.cli.realfit import ModelSpec, run_fit
from simstudy.studies.blrt import blrt_argument_problem


def main(argv: list[str] | None = None) -> int:
    """Run the real-data fit and write its outputs."""
    args = fit_real_parser(__doc__).parse_args(argv)
    if (problem := blrt_argument_problem(args.k, args.blrt)) is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        run_fit(
            args.data,
            args.out,
            args.k,
            n_init=args.n_init,
            tol=args.tol,
            max_iter=args.max_iter,
            seed=args.seed,
            init=args.init,
            bootstrap=args.bootstrap,
            blrt=args.blrt,
            n_jobs=args.n_jobs,
            sigma=args.sigma,
            missing=args.missing,
            data_format=args.data_format,
            extra=args.extra,
            model=ModelSpec(
                args.formula,
                args.group,
                args.concomitant,
                args.unit_data,
                None if args.guard == "none" else args.guard,
            ),  # fmt: skip
            echo=lambda text: print(
                text, file=sys.stderr if text.startswith("warning: ") else None
            ),
        )
    except ValueError as err:
        hint = " (command line: --missing drop)" if "missing='drop'" in str(err) else ""
        print(f"error: {err}{hint}", file=sys.stderr)
        return 2
    except OSError as err:  # disk full, read-only: what was there before is whole
        print(f"error: cannot write {err.filename or args.out}: {err.strerror}", file=sys.stderr)
        return 1
    print(f"\nwrote {args.out / 'results.json'} and {args.out / 'real' / 'store_segments.csv'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(cliargs.run_cli(main))
