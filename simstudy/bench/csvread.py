"""Time and memory of reading a large wide sales CSV with :func:`estimator.load_csv`.

A synthetic wide CSV is loaded in a fresh process, so its peak resident memory is the
load's alone. By hand (10^6 stores write a 440 MB temporary file)::

    python -m simstudy.bench.csvread --stores 1000000 --weeks 52 \
        --out outputs/csv_read/wide_csv.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..harness.files import write_json_atomic

_REPO = Path(__file__).resolve().parents[1]
_CHILD = """
import json, resource, sys, time
from estimator import load_csv
def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
start, start_cpu = time.perf_counter(), cpu()
panel = load_csv(sys.argv[1])
seconds, cpu_seconds = time.perf_counter() - start, cpu() - start_cpu
try:  # this process's own peak (ru_maxrss would include the parent's: see measure.max_rss_mb)
    peak_mb = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024
except (OSError, IndexError):
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "peak_rss_mb": peak_mb,
                  "shape": panel.y.shape}))
"""


def write_wide_csv(path: str | os.PathLike, n_stores: int, n_weeks: int, seed: int = 0) -> Path:
    """Write a synthetic wide sales CSV of N store columns and T week rows to ``path``, a
    week at a time: log sales 10 - 1.1 log p_t + N(0, 1), prices and sales to 2 decimals."""
    rng = np.random.default_rng(seed)
    prices = np.round(rng.uniform(1.5, 4.5, n_weeks), 2)
    path = Path(path)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(",".join(["Price", *(f"Sales{i + 1}" for i in range(n_stores))]) + "\n")
        for price in prices:
            sales = np.exp(10.0 - 1.1 * np.log(price) + rng.standard_normal(n_stores))
            handle.write(f"{price:.2f}," + ",".join(np.char.mod("%.2f", sales)) + "\n")
    return path


def time_wide_csv(n_stores: int, n_weeks: int = 52, seed: int = 0) -> dict[str, Any]:
    """Write a wide CSV of ``n_stores`` x ``n_weeks`` and load it in a fresh process: its
    size, the wall and CPU seconds of :func:`estimator.load_csv`, and the process's peak RSS."""
    with tempfile.TemporaryDirectory() as folder:
        path = write_wide_csv(Path(folder) / "wide.csv", n_stores, n_weeks, seed)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(_REPO), os.environ.get("PYTHONPATH", "")]),
        }
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, str(path)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"loading {path} failed: {done.stderr.strip().splitlines()[-1]}")
        measured = json.loads(done.stdout)
        file_mb = path.stat().st_size / 2**20
    if tuple(measured.pop("shape")) != (n_stores, n_weeks):
        raise RuntimeError("the loaded panel does not have the written shape")
    return {"n_stores": n_stores, "n_weeks": n_weeks, "file_mb": file_mb, **measured}


def record_wide_csv(out: str | os.PathLike, n_stores: int, n_weeks: int = 52) -> dict[str, Any]:
    """Run :func:`time_wide_csv` once and write its figures to ``out`` with ``command``,
    ``date`` (UTC), ``load_average`` before the run, ``cpu_count`` and ``software``; return them."""
    load = list(os.getloadavg())
    command = f"python -m simstudy.bench.csvread --stores {n_stores} --weeks {n_weeks} --out {out}"
    figures = time_wide_csv(n_stores, n_weeks)
    record = {
        **figures,
        "command": command,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "load_average": load,
        "cpu_count": os.cpu_count(),
        "software": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "pandas": pd.__version__,
        },
    }
    write_json_atomic(out, record)
    return record


def main(argv: list[str] | None = None) -> None:
    """Command line: time one wide CSV read and record it."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--stores", type=int, default=100_000, help="store columns N")
    parser.add_argument("--weeks", type=int, default=52, help="week rows T")
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    args = parser.parse_args(argv)
    if args.stores < 1 or args.weeks < 2:
        parser.error("--stores must be >= 1 and --weeks >= 2")
    print(json.dumps(record_wide_csv(args.out, args.stores, args.weeks), indent=2))


if __name__ == "__main__":
    main()
