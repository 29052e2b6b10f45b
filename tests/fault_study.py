"""A tiny, fast study for the fault-injection tests (also runnable: python tests/fault_study.py).

Its records depend only on the replication's seed, so an interrupted-then-resumed
run must give exactly the records of an uninterrupted one.

Usage::

    python tests/fault_study.py OUT [--n-jobs J] [--sleep S] [--replications R]
"""

from __future__ import annotations

import argparse
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


def generate(condition: Condition, seed: np.random.SeedSequence) -> np.ndarray:
    """Twenty normal draws around the condition's mean."""
    return np.random.default_rng(seed).normal(condition.mean, 1.0, size=20)


def analyse(condition: Condition, data: np.ndarray, seed: np.random.SeedSequence) -> dict:
    """Mean, SD and a bootstrap draw (uses the analysis seed); sleeps to make the run last."""
    time.sleep(SLEEP[0])
    draw = np.random.default_rng(seed).choice(data, size=data.size).mean()
    return {"mean": float(data.mean()), "sd": float(data.std()), "boot": float(draw), "ok": True}


def summarise(condition: Condition, records) -> dict:
    """Replications and the mean of the means."""
    return {"n": len(records), "mean": float(records["mean"].mean())}


SLEEP = [0.0]


def study(replications: int = 30, n_conditions: int = 4, seed: int = 7) -> Study:
    """The fault study: ``n_conditions`` x ``replications``."""
    return Study(
        name="faults",
        conditions=[Condition(i, float(i)) for i in range(n_conditions)],
        generate=generate,
        analyse=analyse,
        summarise=summarise,
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
    except RUN_ERRORS as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except StudyInterrupted as err:
        print(err, file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
