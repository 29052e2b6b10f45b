"""The one way into a study, as SimDesign's ``runSimulation``: a design and three functions.

The replication with record seed s had ``default_rng(SeedSequence(s).spawn(2)[i])``, i = 0
for ``generate``, 1 for ``analyse``; the runner (:mod:`simstudy.harness.runner`) does the rest.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd

from .files import (
    check_output_dir,
    jsonable,
    software_versions,
    write_json_atomic,
    write_text_atomic,
)
from .parallel import CONNECT_SECONDS
from .records import RECORD_KEYS
from .runner import (
    CHECKPOINT_SECONDS,
    Study,
    StudyCondition,
    records_wall_seconds,
    run_study,
)

SUMMARY_KEYS: tuple[str, ...] = ("n_replications", "n_ok", "n_errors", "errors", "seconds")
"""What :func:`run_simulation` adds to every condition's summary."""
FRAME_KEYS: tuple[str, ...] = ("n_replications", "n_ok", "n_errors", "first_error")
"""The counts of summary.csv and of the frame :func:`run_simulation` returns."""
DEFAULT_SETTINGS: dict[str, Any] = {"kind": "run_simulation"}
"""The settings of a study that gives none (recorded in study.json)."""
Scalar = bool | int | float | str | None


# -- the design ---------------------------------------------------------------


def _plain(value: Any, where: str) -> Any:
    """``value`` as plain JSON (numpy values unwrapped); one-line ValueError if it cannot be."""
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
    """A design's rows (columns or keys: the factors) as dicts of plain JSON levels; ValueError
    naming the row and factor at fault (empty, ragged, a level JSON cannot hold such as NaN)."""
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
    reserved = sorted(set(names or ()) & {*RECORD_KEYS, *FRAME_KEYS, "id", "label"})
    if reserved:
        raise ValueError(f"design: factor name(s) {reserved} are reserved; rename them")
    return out


def level_text(value: Any) -> str:
    """A factor level as short text (floats with %g, lists and dicts as compact JSON)."""
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


@dataclass(frozen=True, eq=False)
class DesignCondition:
    """One row of a design in the runner's condition protocol: its position ``id`` and
    ``factors``, factor name to level (plain JSON values)."""

    id: int
    factors: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (the checkpoint manifest compares these)."""
        label = " ".join(
            f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in self.factors.items()
        )
        return {"id": self.id, "label": label, "factors": self.factors}


def conditions_of(design: Any) -> list[StudyCondition]:
    """The conditions of a design: rows become :class:`DesignCondition`, objects stay."""
    if isinstance(design, Sequence) and design and hasattr(design[0], "to_dict"):
        ids = [c.id for c in design]
        if len(set(ids)) != len(ids):
            raise ValueError("design: condition ids must be distinct")
        return list(design)
    return [DesignCondition(i, row) for i, row in enumerate(design_rows(design))]


# -- the user's functions, adapted to the runner's ----------------------------


def _scalar(value: Any, where: str) -> Scalar:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(
        f"{where} must be a number, bool or string, got {type(value).__name__} "
        "(return one entry per number, e.g. est_1, est_2)"
    )


def _condition_argument(condition: Any) -> Any:
    """What the user's functions get: a design row as a dict, any other condition as itself."""
    return dict(condition.factors) if isinstance(condition, DesignCondition) else condition


@dataclass(frozen=True)
class _Call:
    """A user's generate or analyse behind the runner's signature (picklable)."""

    function: Callable[..., Any]
    returns_record: bool = False

    def __call__(self, condition: Any, *args: Any) -> Any:
        result = self.function(_condition_argument(condition), *args)
        if not self.returns_record:
            return result
        if not isinstance(result, Mapping):
            raise TypeError(
                f"analyse must return a dict of name -> number, got {type(result).__name__}"
            )
        return {str(k): _scalar(v, f"analyse's {k!r}") for k, v in result.items()}


def default_summary(results: pd.DataFrame) -> dict[str, float]:
    """Mean of every numeric column of ``results`` (one row per successful replication;
    ``replication``, ``seed`` and ``seconds`` left out); NaN when there is none."""
    skip = {"replication", "seed", "seconds"}
    numeric = results.select_dtypes(include=["number", "bool"]).drop(
        columns=[c for c in results if c in skip], errors="ignore"
    )
    return {str(name): float(numeric[name].astype(float).mean()) for name in numeric}


def condition_summary(
    condition: StudyCondition,
    records: pd.DataFrame,
    summarise: Callable[[Any, pd.DataFrame], Mapping[str, Any]] | None,
) -> dict[str, Any]:
    """One condition's summary: the runner's counts, then ``summarise`` (None:
    :func:`default_summary`) of its successful ``records``, if any (else its fields are absent)."""
    ok = records[records["status"] == "ok"] if len(records) else records
    failed = records[records["status"] != "ok"] if len(records) else records
    results = ok.drop(columns=["condition_id", "status", "error"], errors="ignore")
    results = results.reset_index(drop=True)
    if summarise is None:
        summary: Mapping[str, Any] = default_summary(results)
    elif not len(ok):  # nothing to summarise: the study's fields are left out
        summary = {}
    else:
        summary = summarise(_condition_argument(condition), results)
        if not isinstance(summary, Mapping):
            raise TypeError(
                f"summarise must return a dict of name -> number, got {type(summary).__name__}"
            )
    factors = getattr(condition, "factors", {})
    clash = sorted(set(summary) & {*SUMMARY_KEYS, *factors, "id", "label", "first_error"})
    if clash:
        raise ValueError(f"summarise returned reserved or factor name(s) {clash}; rename them")
    errors = failed["error"].value_counts(sort=False).to_dict() if len(failed) else {}
    seconds = records["seconds"].to_numpy(dtype=float) if len(records) else np.array([])
    return {
        "n_replications": int(len(records)),
        "n_ok": int(len(ok)),
        "n_errors": int(len(failed)),
        "errors": {str(message): int(count) for message, count in errors.items()},
        "seconds": {
            "mean": float(seconds.mean()) if seconds.size else float("nan"),
            "total": float(seconds.sum()),
        },
        **{str(k): _summary_value(v, f"summarise's {k!r}") for k, v in summary.items()},
    }


def _summary_value(value: Any, where: str) -> Any:
    """A summary field as JSON: a scalar, or lists and dicts of them (NaN kept as a float)."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, list | tuple):
        return [_summary_value(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        return {str(k): _summary_value(v, f"{where}.{k}") for k, v in value.items()}
    return _scalar(value, where)


def summary_frame(document: Mapping[str, Any]) -> pd.DataFrame:
    """The flat view of a summary.json: factors, counts, ``first_error`` and scalar fields."""
    rows = []
    for entry in document["conditions"]:
        counts = {k: entry[k] for k in FRAME_KEYS[:3]}
        first = next(iter(entry.get("errors", {})), "")
        scalars = {
            k: (np.nan if v is None else v)
            for k, v in entry.items()
            if k not in (*SUMMARY_KEYS, *entry["factors"], "id", "label", "factors")
            and (v is None or isinstance(v, bool | int | float | str))
        }
        rows.append({**entry["factors"], **counts, "first_error": first, **scalars})
    return pd.DataFrame(rows)


# -- the run ------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """What :func:`simulate` returns: summary.json as written (``document``), every
    condition's records, errors included, by id (``records``), and summary.csv (``frame``)."""

    document: dict[str, Any]
    records: dict[int, pd.DataFrame]
    frame: pd.DataFrame


def build_study(
    design: Any,
    replications: int,
    generate: Callable[[Any, np.random.Generator], Any],
    analyse: Callable[[Any, Any, np.random.Generator], Mapping[str, Any]],
    *,
    seed: int = 0,
    name: str = "simulation",
    settings: Mapping[str, Any] | None = None,
    version: str | None = None,
    quiet: tuple[type[Warning], ...] = (),
) -> Study:
    """The runner's :class:`~simstudy.harness.runner.Study` of a design and two functions (the
    arguments are :func:`run_simulation`'s; ``settings`` default: :data:`DEFAULT_SETTINGS`)."""
    for label, fn in (("generate", generate), ("analyse", analyse)):
        if not callable(fn):
            raise ValueError(f"{label} must be a function, got {type(fn).__name__}")
    return Study(
        name=str(name),
        conditions=conditions_of(design),
        generate=_Call(generate),
        analyse=_Call(analyse, returns_record=True),
        replications=_check_count(replications, "replications", 1),
        seed=_check_count(seed, "seed", 0),
        settings=dict(DEFAULT_SETTINGS if settings is None else settings),
        version=version,
        quiet=tuple(quiet),
    )


def summarise_study(
    study: Study,
    records: Mapping[int, pd.DataFrame],
    summarise: Callable[[Any, pd.DataFrame], Mapping[str, Any]] | None,
) -> list[dict[str, Any]]:
    """Every condition's description and summary (:func:`condition_summary`), in order."""
    return [
        {**c.to_dict(), **condition_summary(c, records[c.id], summarise)} for c in study.conditions
    ]


def _check_count(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def simulate(
    study: Study,
    summarise: Callable[[Any, pd.DataFrame], Mapping[str, Any]] | None,
    out_dir: str | Path,
    *,
    n_jobs: int = 1,
    backend: str = "loky",
    batch_size: int = 10,
    progress: TextIO | None | str = "stderr",
    scheduler: Any = None,
    checkpoint_every: float = CHECKPOINT_SECONDS,
    restart: bool = False,
    about: Mapping[str, Any] | None = None,
    connect_timeout: float = CONNECT_SECONDS,
) -> SimulationResult:
    """Run ``study`` (:func:`build_study`) into ``out_dir``, as every study runs; the keywords are
    :func:`simstudy.harness.runner.run_study`'s, and ``about``: entries added to summary.json."""
    batch_size = _check_count(batch_size, "batch_size", 1)
    n_jobs = int(n_jobs)
    if n_jobs == 0:
        raise ValueError("n_jobs must be a positive number of workers or negative (-1: all cores)")
    if summarise is not None and not callable(summarise):
        raise ValueError(f"summarise must be a function or None, got {type(summarise).__name__}")
    try:
        out_dir = check_output_dir(out_dir)
    except ValueError as err:
        raise ValueError(f"out_dir: {err}") from None
    conditions, replications = study.conditions, study.replications
    stream = sys.stderr if progress == "stderr" else progress
    started = time.perf_counter()
    records = run_study(
        study, out_dir, n_jobs=n_jobs, backend=backend, scheduler=scheduler,
        batch_size=batch_size, progress=stream, checkpoint_every=checkpoint_every,
        restart=restart, connect_timeout=connect_timeout,
    )  # fmt: skip
    wall = time.perf_counter() - started
    summaries = summarise_study(study, records, summarise)
    document = {
        "study": study.name,
        **dict(about or {}),
        "replications": replications,
        "seed": study.seed,
        "factors": list(getattr(conditions[0], "factors", {})),
        "settings": study.settings,
        "run": {
            "replications": replications,
            "conditions": len(conditions),
            "n_jobs": n_jobs,
            "backend": backend,
            "scheduler": None if scheduler is None else str(scheduler),
            "batch_size": batch_size,
            "wall_seconds_this_run": wall,
            "wall_seconds_records": records_wall_seconds(out_dir),
            "replication_seconds_total": sum(s["seconds"]["total"] for s in summaries),
            "software": {**software_versions(), "joblib": version("joblib")},
        },
        "conditions": summaries,
    }
    document = jsonable(document)
    frame = summary_frame(document)
    write_text_atomic(out_dir / "summary.csv", frame.to_csv(index=False))
    write_json_atomic(out_dir / "summary.json", document)
    return SimulationResult(document, records, frame)


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
    restart: bool = False,
) -> pd.DataFrame:
    """Run ``replications`` replications of every condition of ``design``; one summary row each.

    Parameters
    ----------
    design : DataFrame or list of dict
        One row per condition, factor name -> level (numbers, strings, booleans or
        lists/dicts of them; ``np.inf`` is refused, write ``"inf"``), or a list of
        condition objects (``id``, ``factors``, ``to_dict()``) passed on as they are.
    replications : int
        R >= 1 per condition.
    generate, analyse, summarise : callable
        ``generate(condition, rng) -> data``; ``analyse(condition, data, rng) -> dict``
        of name -> number, bool or string (not the runner's ``condition_id,
        replication, seed, status, error, seconds``); ``summarise(condition, results)
        -> dict`` over the successful replications (default: every numeric field's
        mean, :func:`default_summary`). With ``n_jobs != 1`` they must reach worker
        processes (functions of a module, or of a notebook: joblib uses cloudpickle).
    out_dir : str or Path
        ``study.json``, ``raw/`` (a CSV of records per condition, checkpointed) and
        ``summary.csv`` / ``summary.json``. The same call again resumes (only missing
        replications run); a different design, seed or name is refused.
    n_jobs : int
        Workers (1: this process; -1: every core; with dask, the LocalCluster's).
    backend : {"loky", "threading", "sequential", "dask"}
        joblib backend; ``"dask"`` needs the ``dask`` extra. Records do not depend on it.
    seed : int
        Root of every stream: the same records for any ``n_jobs``, ``batch_size`` or backend.
    name : str
        Study name, recorded in ``study.json``.
    batch_size : int
        Replications per work unit.
    progress : text stream, None or "stderr"
        Progress (None: silent; "stderr": ``sys.stderr`` at the time of the call).
    scheduler : str, Path, distributed.Client or None
        With dask: a scheduler address or file, or a Client (``n_jobs`` is then ignored).
    restart : bool
        Discard the records in ``out_dir`` (of this or another study) and start over.

    Returns
    -------
    DataFrame
        A row per condition in design order: the factors, ``n_replications``, ``n_ok``,
        ``n_errors``, ``first_error`` and the summary's scalar fields.

    Raises
    ------
    ValueError
        A bad design or argument (one line naming it), before anything is written.
    Exception
        :func:`simstudy.harness.runner.run_study`'s: another study in ``out_dir``, every
        replication failed (records written first), Ctrl-C, ...
    """
    study = build_study(design, replications, generate, analyse, seed=seed, name=name)
    return simulate(
        study, summarise, out_dir, n_jobs=n_jobs, backend=backend, batch_size=batch_size,
        progress=progress, scheduler=scheduler, restart=restart,
    ).frame  # fmt: skip
