"""How many starts, and which tolerance, find the global maximum on the real data?

Usage::

    python -m experiments.restarts [--k 2 3 4] [--seeds 40] [--out outputs/restarts]

The measurement is :func:`simstudy.restarts.hit_rates`; the README's choice of
defaults quotes its table (outputs/restarts/restarts.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from simstudy.constants import OUTPUTS, REAL_DATA
from simstudy.restarts import hit_rates, write_restarts


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m experiments.restarts", description=__doc__)
    parser.add_argument("--data", type=Path, default=REAL_DATA)
    parser.add_argument("--k", type=int, nargs="+", default=[2, 3, 4])
    parser.add_argument("--n-init", type=int, nargs="+", default=[5, 10, 20, 50])
    parser.add_argument("--tol", type=float, nargs="+", default=[1e-8, 1e-10, 1e-12])
    parser.add_argument("--max-iter", type=int, default=5000)
    parser.add_argument("--seeds", type=int, default=40, help="independent fits per setting")
    parser.add_argument("--reference-starts", type=int, default=400)
    parser.add_argument("--hit", type=float, default=1e-4, help="loglik distance that counts")
    parser.add_argument("--out", type=Path, default=OUTPUTS / "restarts")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Measure hit rates of the global maximum against n_init and tol."""
    args = parse_args(argv)
    rows = hit_rates(
        args.data,
        args.k,
        args.n_init,
        args.tol,
        args.max_iter,
        args.seeds,
        args.reference_starts,
        args.hit,
        progress=lambda row: print(row, flush=True),
    )
    settings = vars(args) | {"data": str(args.data), "out": str(args.out)}
    print(write_restarts(args.out, rows, settings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
