"""salesmix against R's flexmix and mixtools (docs/peers.md).

Usage::

    python -m experiments.peers [--rerun-r] [--cases NAME ...] [--n-init N]

Fits every case of tests/data/peers with salesmix, compares with R's committed
results, writes outputs/peers/peers.json and peers.md, and regenerates the block
of docs/peers.md. ``--rerun-r`` first reruns tests/data/peers/run_peers.R (R with
flexmix and mixtools); ``--cases`` writes nothing but prints the table.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

from simstudy.cli.args import Parser, run_cli
from simstudy.studies.peers import CASES, N_INIT, PEERS_DATA, compare_all
from simstudy.writeup.peers import table, write_doc, write_outputs

OUTPUT = Path("outputs/peers")
DOC = Path("docs/peers.md")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = Parser(prog="python -m experiments.peers", description=__doc__)
    parser.add_argument("--rerun-r", action="store_true", help="rerun the R scripts first")
    parser.add_argument("--cases", nargs="+", choices=CASES, help="only these (nothing written)")
    parser.add_argument("--n-init", type=int, default=N_INIT, help="salesmix's starts per fit")
    args = parser.parse_args(argv)
    if args.n_init < 1:
        parser.error(f"--n-init must be at least 1, got {args.n_init}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the comparison; write the outputs and the docs block."""
    args = parse_args(argv)
    if args.rerun_r:
        if shutil.which("Rscript") is None:
            print("error: --rerun-r needs Rscript on PATH (R with flexmix and mixtools)")
            return 2
        command = ["Rscript", str(PEERS_DATA / "run_peers.R"), *(args.cases or [])]
        if subprocess.run(command, check=False).returncode != 0:
            print(f"error: {' '.join(command)} failed; the comparison was not run")
            return 2
    result = compare_all(tuple(args.cases or CASES), n_init=args.n_init)
    print(table(result))
    if not args.cases:
        write_outputs(OUTPUT, result)
        rewrote = f"; rewrote {DOC}" if write_doc(DOC, result) else ""
        print(f"wrote {OUTPUT}/peers.json and peers.md{rewrote}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
