"""A tiny, fast study for the fault-injection tests (also runnable: python tests/fault_study.py).

Its records depend only on the replication's seed, so an interrupted-then-resumed
run must give exactly the records of an uninterrupted one.

Usage::

    python tests/fault_study.py OUT [--n-jobs J] [--sleep S] [--replications R]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass

import numpy as np

from simstudy.harness.runner import RUN_ERRORS, Study, StudyInterrupted, run_study


@dataclass(frozen=True)
class Condition:
    """A condition: an id and a mean."""

    id: int
    mean: float

    def to_dict(self) -> dict:
        """JSON form (compared on resume)."""
        return {"id": self.id, "mean": self.mean}


def generate(condition: Condition, rng: np.random.Generator) -> np.ndarray:
    """Twenty normal draws around the condition's mean."""
    return rng.normal(condition.mean, 1.0, size=20)


def analyse(condition: Condition, data: np.ndarray, rng: np.random.Generator) -> dict:
    """Mean, SD and a bootstrap draw (uses the analysis stream); sleeps to make the run last.

    With ``FAULT_STUDY_PIDS`` set, the process that runs it appends its PID to that
    file (so a test can wait until every worker has taken work).
    """
    if os.environ.get("FAULT_STUDY_PIDS"):
        with open(os.environ["FAULT_STUDY_PIDS"], "a", encoding="utf-8") as log:
            log.write(f"{os.getpid()}\n")
    time.sleep(SLEEP[0])
    draw = rng.choice(data, size=data.size).mean()
    return {"mean": float(data.mean()), "sd": float(data.std()), "boot": float(draw), "ok": True}


SLEEP = [0.0]


def study(replications: int = 30, n_conditions: int = 4, seed: int = 7) -> Study:
    """The fault study: ``n_conditions`` x ``replications``."""
    return Study(
        name="faults",
        conditions=[Condition(i, float(i)) for i in range(n_conditions)],
        generate=generate,
        analyse=analyse,
        replications=replications,
        seed=seed,
        version="1",
    )


def main(argv: list[str] | None = None) -> int:
    """Run the study into OUT; one line and a status like the study CLIs on failure."""
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--sleep", type=float, default=0.01)
    parser.add_argument("--replications", type=int, default=30)
    args = parser.parse_args(argv)
    SLEEP[0] = args.sleep
    try:
        run_study(
            study(args.replications),
            args.out,
            n_jobs=args.n_jobs,
            batch_size=2,
            checkpoint_every=0,
            progress=None,
        )
    except (*RUN_ERRORS, StudyInterrupted) as err:  # one line, the study CLIs' statuses
        interrupted = isinstance(err, StudyInterrupted)
        print(err if interrupted else f"error: {err}", file=sys.stderr)
        return 130 if interrupted else 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
