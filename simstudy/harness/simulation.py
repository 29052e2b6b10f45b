"""A study of your own, as SimDesign's ``runSimulation``: a design, three functions, a table.

:func:`run_simulation` takes a design (one row per condition, any factor names)
and three plain functions, and returns one row of summaries per condition::

    generate(condition, rng) -> data
    analyse(condition, data, rng) -> dict    # one replication's results
    summarise(condition, results) -> dict    # one condition's summary (optional)

``condition`` is a dict of the row's factor levels, ``rng`` a
``numpy.random.Generator`` of its own for every (condition, replication, step),
``results`` a DataFrame with one row per successful replication (the columns
``analyse`` returned, plus ``replication`` and ``seed``). Everything else is the
runner's (:mod:`simstudy.harness.runner`): reproducible seeds whatever the number of
workers, parallel workers (joblib loky processes, threads or dask), checkpoints
and resume in ``out_dir``, error capture (a replication that raises is recorded
and the study goes on) and progress on stderr. See docs/own_study.md.

To rerun one replication by hand (a failing one, say): its record's ``seed``
column is s; ``generate`` got ``default_rng(SeedSequence(s).spawn(2)[0])`` and
``analyse`` ``default_rng(SeedSequence(s).spawn(2)[1])``.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd

from ..cli.args import check_output_dir
from .files import jsonable, write_json_atomic, write_text_atomic
from .runner import RECORD_KEYS, Study, run_study

SUMMARY_KEYS: tuple[str, ...] = ("n_replications", "n_ok", "n_errors", "first_error")
"""Columns :func:`run_simulation` adds to every condition's summary."""
Scalar = bool | int | float | str | None


# ---------------------------------------------------------------------------
# the design
# ---------------------------------------------------------------------------


def _plain(value: Any, where: str) -> Any:
    """``value`` as plain JSON (numpy scalars unwrapped); one-line ValueError if it cannot be."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(
            f"{where}: {value!r} cannot be stored in the study's JSON manifest; "
            f"use a finite number or a string such as {str(value)!r}"
        )
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        return {str(k): _plain(v, f"{where}.{k}") for k, v in value.items()}
    raise ValueError(
        f"{where}: a level of type {type(value).__name__} cannot be stored in the study's "
        "JSON manifest; use numbers, strings, booleans, or lists/dicts of them"
    )


def design_rows(design: pd.DataFrame | Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Check a design and return its rows as plain dicts (one per condition).

    Parameters
    ----------
    design : DataFrame or sequence of mapping
        One row per condition; the columns (keys) are the factors, any names.

    Returns
    -------
    list of dict
        Factor name to level, levels as plain JSON values.

    Raises
    ------
    ValueError
        One line naming the row and factor at fault: an empty design, rows with
        different factors, a factor name that is not a string, or a level that JSON
        cannot hold (``np.inf``, NaN, arrays, objects).
    """
    if isinstance(design, pd.DataFrame):
        rows: list[Any] = design.to_dict(orient="records")
    elif isinstance(design, Mapping) or isinstance(design, str | bytes):
        raise ValueError(
            "design: expected a DataFrame or a list of dicts (one per condition), "
            f"got a {type(design).__name__}"
        )
    else:
        rows = list(design)
    if not rows:
        raise ValueError("design: no conditions (an empty design)")
    names = None
    out = []
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise ValueError(f"design row {i}: expected a dict of factor levels, got {row!r}")
        bad = [k for k in row if not isinstance(k, str)]
        if bad:
            raise ValueError(f"design row {i}: factor names must be strings, got {bad[0]!r}")
        if names is None:
            names = list(row)
        elif set(row) != set(names):
            raise ValueError(
                f"design row {i}: factors {sorted(row)} differ from row 0's {sorted(names)}"
            )
        out.append({name: _plain(row[name], f"design row {i}, factor {name!r}") for name in names})
    reserved = sorted(set(names or ()) & {*RECORD_KEYS, *SUMMARY_KEYS, "id", "label"})
    if reserved:
        raise ValueError(f"design: factor name(s) {reserved} are reserved; rename them")
    return out


def _label(factors: Mapping[str, Any]) -> str:
    return " ".join(
        f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in factors.items()
    )


@dataclass(frozen=True, eq=False)
class DesignCondition:
    """One row of a user's design, in the runner's condition protocol.

    Attributes
    ----------
    id : int
        Row position in the design.
    factors : dict
        Factor name to level (plain JSON values).
    """

    id: int
    factors: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (the checkpoint manifest compares these)."""
        return {"id": self.id, "label": _label(self.factors), "factors": self.factors}


# ---------------------------------------------------------------------------
# the user's functions, adapted to the runner's
# ---------------------------------------------------------------------------


def _scalar(value: Any, where: str) -> Scalar:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(
        f"{where} must be a number, bool or string, got {type(value).__name__} "
        "(return one entry per number, e.g. est_1, est_2)"
    )


@dataclass(frozen=True)
class _UserScience:
    """The user's generate/analyse/summarise behind the runner's signatures (picklable)."""

    generate: Callable[[dict[str, Any], np.random.Generator], Any]
    analyse: Callable[[dict[str, Any], Any, np.random.Generator], Mapping[str, Any]]
    summarise: Callable[[dict[str, Any], pd.DataFrame], Mapping[str, Any]] | None

    def run_generate(self, condition: DesignCondition, seed: np.random.SeedSequence) -> Any:
        return self.generate(dict(condition.factors), np.random.default_rng(seed))

    def run_analyse(
        self, condition: DesignCondition, data: Any, seed: np.random.SeedSequence
    ) -> dict[str, Scalar]:
        fields = self.analyse(dict(condition.factors), data, np.random.default_rng(seed))
        if not isinstance(fields, Mapping):
            raise TypeError(
                f"analyse must return a dict of name -> number, got {type(fields).__name__}"
            )
        return {str(k): _scalar(v, f"analyse's {k!r}") for k, v in fields.items()}

    def run_summarise(self, condition: DesignCondition, records: pd.DataFrame) -> dict[str, Any]:
        ok = records[records["status"] == "ok"] if len(records) else records
        failed = records[records["status"] != "ok"] if len(records) else records
        results = ok.drop(columns=["condition_id", "status", "error"], errors="ignore")
        results = results.reset_index(drop=True)
        if self.summarise is None:
            summary = default_summary(results)
        elif not len(ok):  # nothing to summarise: the user's fields are left empty (NaN)
            summary = {}
        else:
            summary = self.summarise(dict(condition.factors), results)
            if not isinstance(summary, Mapping):
                raise TypeError(
                    f"summarise must return a dict of name -> number, got {type(summary).__name__}"
                )
        clash = sorted(set(summary) & {*SUMMARY_KEYS, *condition.factors, "id", "label"})
        if clash:
            raise ValueError(f"summarise returned reserved or factor name(s) {clash}; rename them")
        return {
            "n_replications": int(len(records)),
            "n_ok": int(len(ok)),
            "n_errors": int(len(failed)),
            "first_error": str(failed["error"].iloc[0]) if len(failed) else "",
            **{str(k): _scalar(v, f"summarise's {k!r}") for k, v in summary.items()},
        }


def default_summary(results: pd.DataFrame) -> dict[str, float]:
    """Mean of every numeric result column over the successful replications.

    Parameters
    ----------
    results : DataFrame
        One row per successful replication (``replication``, ``seed`` and
        ``seconds`` are left out).

    Returns
    -------
    dict
        Column name to its mean (NaN when no replication succeeded).
    """
    skip = {"replication", "seed", "seconds"}
    numeric = results.select_dtypes(include=["number", "bool"]).drop(
        columns=[c for c in results if c in skip], errors="ignore"
    )
    return {str(name): float(numeric[name].astype(float).mean()) for name in numeric}


# ---------------------------------------------------------------------------
# the front
# ---------------------------------------------------------------------------


def _check_count(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def run_simulation(
    design: pd.DataFrame | Sequence[Mapping[str, Any]],
    replications: int,
    generate: Callable[[dict[str, Any], np.random.Generator], Any],
    analyse: Callable[[dict[str, Any], Any, np.random.Generator], Mapping[str, Any]],
    summarise: Callable[[dict[str, Any], pd.DataFrame], Mapping[str, Any]] | None = None,
    *,
    out_dir: str | Path,
    n_jobs: int = 1,
    backend: str = "loky",
    seed: int = 0,
    name: str = "simulation",
    batch_size: int = 10,
    progress: TextIO | None | str = "stderr",
    scheduler: Any = None,
) -> pd.DataFrame:
    """Run ``replications`` replications of every condition of ``design``; one summary row each.

    Parameters
    ----------
    design : DataFrame or list of dict
        One row per condition; factor names and levels are free (levels must be
        numbers, strings, booleans or lists/dicts of them, JSON-able: ``np.inf``
        is refused, write ``"inf"``).
    replications : int
        R >= 1 per condition.
    generate : callable (condition: dict, rng: numpy.random.Generator) -> data
        Draws one data set for a condition.
    analyse : callable (condition: dict, data, rng: numpy.random.Generator) -> dict
        Analyses one data set; returns a flat dict of name -> number, bool or
        string (one replication's results; names other than the runner's
        ``condition_id, replication, seed, status, error, seconds``).
    summarise : callable (condition: dict, results: DataFrame) -> dict, optional
        Summarises a condition from its successful replications (one row each,
        ``replication``, ``seed``, the fields of ``analyse`` and ``seconds``);
        default: the mean of every numeric field (:func:`default_summary`). Must
        be importable by worker processes when ``n_jobs != 1`` (functions from a
        module, or from a notebook: joblib pickles them with cloudpickle).
    out_dir : str or Path
        Results folder: ``study.json`` (what it holds), ``raw/`` (one CSV of
        records per condition, checkpointed while the study runs) and
        ``summary.csv`` / ``summary.json``. Rerunning the same call resumes: only
        missing replications run; a different design, seed or name is refused.
    n_jobs : int
        Parallel workers (1: in this process; -1: every core).
    backend : {"loky", "threading", "sequential", "dask"}
        joblib backend (:func:`simstudy.harness.runner.run_study`).
    seed : int
        Root of every random stream: replication r of condition c gets its own
        streams, the same for any ``n_jobs``, ``batch_size`` or backend.
    name : str
        Study name, recorded in ``study.json``.
    batch_size : int
        Replications per work unit.
    progress : text stream, None or "stderr"
        Progress lines (None: silent; "stderr": ``sys.stderr`` at the time of the call).
    scheduler : str, Path, distributed.Client or None
        With ``backend="dask"``: the cluster (:func:`simstudy.harness.runner.run_study`).

    Returns
    -------
    DataFrame
        One row per condition, in design order: the factors, ``n_replications``,
        ``n_ok``, ``n_errors``, ``first_error`` and the summary's fields.

    Raises
    ------
    ValueError
        A bad design or argument (one line naming it), before anything is written.
    StudyFailedError
        Every replication raised (records and summaries are written first; the
        message is the first error).
    simstudy.harness.runner.StudyMismatchError
        ``out_dir`` holds a different study.
    """
    rows = design_rows(design)
    replications = _check_count(replications, "replications", 1)
    seed = _check_count(seed, "seed", 0)
    batch_size = _check_count(batch_size, "batch_size", 1)
    n_jobs = int(n_jobs)
    if n_jobs == 0:
        raise ValueError("n_jobs must be a positive number of workers or negative (-1: all cores)")
    for label, fn in (("generate", generate), ("analyse", analyse)):
        if not callable(fn):
            raise ValueError(f"{label} must be a function, got {type(fn).__name__}")
    if summarise is not None and not callable(summarise):
        raise ValueError(f"summarise must be a function or None, got {type(summarise).__name__}")
    science = _UserScience(generate, analyse, summarise)
    study = Study(
        name=str(name),
        conditions=[DesignCondition(i, row) for i, row in enumerate(rows)],
        generate=science.run_generate,
        analyse=science.run_analyse,
        summarise=science.run_summarise,
        replications=replications,
        seed=seed,
        settings={"kind": "run_simulation"},
    )
    try:
        out_dir = check_output_dir(out_dir)
    except ValueError as err:
        raise ValueError(f"out_dir: {err}") from None
    records = run_study(
        study, out_dir, n_jobs=n_jobs, backend=backend, scheduler=scheduler,
        batch_size=batch_size, progress=sys.stderr if progress == "stderr" else progress,
    )  # fmt: skip
    summaries = [science.run_summarise(c, records[c.id]) for c in study.conditions]
    frame = pd.DataFrame(
        [{**c.factors, **s} for c, s in zip(study.conditions, summaries, strict=True)]
    )
    write_text_atomic(out_dir / "summary.csv", frame.to_csv(index=False))
    document = {
        "study": study.name,
        "kind": "run_simulation",
        "replications": replications,
        "seed": seed,
        "factors": list(rows[0]),
        "conditions": [
            {**c.to_dict(), **s} for c, s in zip(study.conditions, summaries, strict=True)
        ],
    }
    write_json_atomic(out_dir / "summary.json", jsonable(document))
    return frame
