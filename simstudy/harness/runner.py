"""Run a study: conditions x replications, in parallel, seeded, checkpointed and resumable.

A :class:`Study` is a list of conditions and two functions of its science,
``generate(condition, rng) -> data`` and ``analyse(condition, data, rng) -> dict``;
the runner owns everything else (docs/simstudy.md): per-replication seeds
(:func:`replication_seed`: the same records for any workers, batch size or backend),
work units run where :mod:`simstudy.harness.parallel` says, checkpoints in
``DIR/raw/`` verified and resumed (:mod:`simstudy.harness.records`), ``DIR/study.json``
refusing another study or changed code, one writer per folder
(:mod:`simstudy.harness.lock`), errors recorded per replication, and every failure of
the run itself one exception naming the path at fault (:data:`RUN_ERRORS`).
It imports nothing of the estimator.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from itertools import zip_longest
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TextIO

import numpy as np
import pandas as pd

from .files import write_json_atomic
from .lock import FolderLock, StudyLockedError, acquire
from .parallel import (
    BACKENDS,
    CONNECT_SECONDS,
    DaskMissingError,
    SchedulerUnreachableError,
    dask_client,
    execute,
    import_distributed,
    stop,
)
from .progress import Progress
from .records import (
    RECORD_KEYS,
    CheckpointError,
    RecordWarning,
    read_records,
    records_frame,
    write_records,
)

if TYPE_CHECKING:
    from distributed import Client

MANIFEST = "study.json"
CHECKPOINT_SECONDS = 5.0
"""Default time between checkpoints (rewriting a condition's file costs O(its records))."""
WALL_LEDGER = "raw/wall_seconds.json"
"""Wall seconds of the runs that produced the checkpointed records, written with them (an
interrupted run counts up to its last checkpoint; --restart clears it with the records)."""
SeedLike = int | np.random.SeedSequence


class StudyCondition(Protocol):
    """What the runner needs of a condition."""

    id: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (compared on resume)."""
        ...


@dataclass(frozen=True, eq=False)
class Study:
    """A design grid and the functions of its science (module docstring).

    ``seed``, ``settings`` (anything else that defines the results) and ``version`` are
    compared on resume; ``version`` None: a fingerprint of the two functions' source (a
    change in a function they call is not seen). ``quiet``: warning categories silenced
    while replications run (their content is in the records).
    """

    name: str
    conditions: Sequence[StudyCondition]
    generate: Callable[[Any, np.random.Generator], Any]
    analyse: Callable[[Any, Any, np.random.Generator], dict[str, Any]]
    replications: int
    seed: int
    settings: dict[str, Any] = field(default_factory=dict)
    version: str | None = None
    quiet: tuple[type[Warning], ...] = ()

    def unit(self) -> Study:
        """This study without its conditions: what a worker needs besides one condition."""
        return replace(self, conditions=())

    def manifest(self) -> dict[str, Any]:
        """What a results folder must agree with to be resumed (R excluded: it may grow)."""
        return {
            "name": self.name,
            "seed": self.seed,
            "settings": self.settings,
            "conditions": [c.to_dict() for c in self.conditions],
        }

    def code(self) -> dict[str, str]:
        """What identifies the study's code (compared on resume): its version or fingerprint."""
        if self.version is not None:
            return {"version": self.version}
        return {"generate": fingerprint(self.generate), "analyse": fingerprint(self.analyse)}


def fingerprint(function: Callable[..., Any]) -> str:
    """SHA-256 of a function's source (of its qualified name when the source is unavailable)."""
    # functools.partial, or run_simulation's adapter of a user's function
    function = getattr(function, "func", getattr(function, "function", function))
    try:
        text = inspect.getsource(function)
    except (OSError, TypeError):
        text = f"{getattr(function, '__module__', '')}.{getattr(function, '__qualname__', '')}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class StudyMismatchError(ValueError):
    """The results folder holds a different study."""


class StudyChangedError(StudyMismatchError):
    """The results folder holds this study made by other code (generate/analyse changed)."""


class StudyFolderError(RuntimeError):
    """The results folder cannot be used: deleted or replaced during the run, or unwritable."""


class CheckpointWriteError(RuntimeError):
    """A checkpoint could not be written (disk full, read-only); earlier ones are intact."""


class StudyFailedError(RuntimeError):
    """Every replication of the run failed; the message holds the first error."""


class StudyInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run, after every finished replication was saved (``str(err)``: the
    line to print)."""

    def __init__(self, saved: int, total: int) -> None:
        super().__init__(
            f"interrupted: {saved} of {total} replications saved; rerun the same command to resume"
        )
        self.saved, self.total = saved, total


def child_seed(seed: SeedLike, *keys: int) -> np.random.SeedSequence:
    """The child stream ``keys`` of ``seed`` (an int or a SeedSequence), as numpy spawns it."""
    if isinstance(seed, np.random.SeedSequence):
        return np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, *keys))
    return np.random.SeedSequence(seed, spawn_key=keys)


def replication_seed(study_seed: int, condition_id: int, replication: int) -> int:
    """The integer seed of one replication, 63 bits of ``child_seed(study_seed, c, r)``, from
    which ``np.random.SeedSequence(seed)`` reproduces the replication on its own."""
    state = child_seed(study_seed, condition_id, replication).generate_state(1, np.uint64)
    return int(state[0] >> np.uint64(1))


def run_replication(study: Study, condition: StudyCondition, replication: int) -> dict[str, Any]:
    """Generate, analyse and record one replication; an exception becomes an error record."""
    seed = replication_seed(study.seed, condition.id, replication)
    root = np.random.SeedSequence(seed)
    own = (condition.id, replication, seed, "ok", "")  # the runner's fields, RECORD_KEYS
    record: dict[str, Any] = dict(zip(RECORD_KEYS, own, strict=True))
    started = time.perf_counter()
    try:
        data = study.generate(condition, np.random.default_rng(child_seed(root, 0)))
        fields = study.analyse(condition, data, np.random.default_rng(child_seed(root, 1)))
    except Exception as err:  # noqa: BLE001 - recorded, the study goes on
        record.update(status="error", error=f"{type(err).__name__}: {err}")
    else:
        clash = set(fields) & set(RECORD_KEYS + ("seconds",))
        if clash:
            raise ValueError(f"analyse returned reserved field name(s) {sorted(clash)}")
        record.update(fields)
    record["seconds"] = time.perf_counter() - started
    return record


def run_batch(
    study: Study,
    condition: StudyCondition,
    replications: Sequence[int],
    parent: int | None = None,
) -> list[dict[str, Any]]:
    """Run several replications of one condition (one work unit); ``study`` is a
    :meth:`Study.unit` (cheap to send), ``parent`` the driver's PID (None: this process)."""
    # a thread of the driver keeps the driver's filters (catch_warnings is not thread-safe)
    with nullcontext() if parent == os.getpid() else silenced(study.quiet):
        return [run_replication(study, condition, r) for r in replications]


@contextmanager
def silenced(categories: Sequence[type[Warning]]) -> Iterator[None]:
    """Warnings of ``categories`` ignored (a study records what they say; on stderr they
    would only spam)."""
    with warnings.catch_warnings():
        for category in categories:
            warnings.simplefilter("ignore", category)
        yield


# -- checkpoints --------------------------------------------------------------


def records_wall_seconds(out_dir: Path) -> float | None:
    """The wall seconds of the runs that produced ``out_dir``'s records (:data:`WALL_LEDGER`),
    None when not known (records checkpointed by a harness that kept no ledger)."""
    try:
        seconds = json.loads((Path(out_dir) / WALL_LEDGER).read_text(encoding="utf-8"))["seconds"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return float(seconds) if isinstance(seconds, (int, float)) else None


def raw_path(out_dir: Path, condition_id: int) -> Path:
    """Checkpoint file of one condition's records."""
    return Path(out_dir) / "raw" / f"condition_{condition_id:04d}.csv"


def _read_json(path: Path) -> dict[str, Any]:
    """A JSON object the runner wrote; a torn or empty file is named with what to do."""
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        obj = None
    if not isinstance(obj, dict):
        raise StudyFolderError(
            f"{path} is empty or cut short (not a JSON object); if the folder holds this "
            "study, delete the file and rerun (it is rewritten), else use another --out"
        )
    return obj


def _check_manifest(out_dir: Path, study: Study, restart: bool) -> dict[str, Any] | None:
    """Check ``out_dir``'s study.json against ``study``: the document to write (None: current)."""
    path = out_dir / MANIFEST
    manifest = study.manifest()
    document = {**manifest, "code": study.code()}
    if path.is_file():
        existing = _read_json(path)
        stored = {key: existing.get(key) for key in manifest}
        if stored != json.loads(json.dumps(manifest)) and not restart:
            raise StudyMismatchError(
                f"{out_dir} holds results of a different study (its {MANIFEST} differs in "
                "name, seed, settings or conditions); use another --out folder, or --restart "
                "(restart=True) to discard its records"
            )
        # folders written before code fingerprints existed carry none: nothing to compare
        code = existing.get("code", document["code"])
        if code != document["code"] and not restart:
            raise StudyChangedError(
                f"{out_dir} holds records made by other code (generate/analyse or the study's "
                "version changed since); rerun with --restart (restart=True) to discard them "
                "and start over, or use another --out folder"
            )
        if existing == document and not restart:
            return None
    return document


def _checkpointed(out_dir: Path, study: Study, report: Callable[[str], None]) -> dict:
    """Records already in ``out_dir`` per condition id (errored ones left out: they are rerun);
    :class:`StudyMismatchError` when a record's seed is not the study's (another study's)."""
    records = {}
    for cid in (c.id for c in study.conditions):
        found = read_records(path := raw_path(out_dir, cid), cid, report)
        for r in found:
            if r["seed"] != (seed := replication_seed(study.seed, cid, r["replication"])):
                raise StudyMismatchError(
                    f"{path}: records of another study (replication {r['replication']} has seed "
                    f"{r['seed']}, this study's is {seed}); not resumed: use another --out "
                    "folder, or --restart (restart=True) to discard them"
                )
        records[cid] = {r["replication"]: r for r in found if r["status"] == "ok"}
    return records


# -- the run ------------------------------------------------------------------


def plan_batches(missing: dict[int, list[int]], batch_size: int) -> list[tuple[int, list[int]]]:
    """Work units: batches of one condition's missing replications, conditions interleaved
    (cheap and expensive ones spread over the run: an honest time estimate, results early)."""
    per_condition = [
        [(cid, reps[i : i + batch_size]) for i in range(0, len(reps), batch_size)]
        for cid, reps in missing.items()
    ]
    return [unit for layer in zip_longest(*per_condition) for unit in layer if unit is not None]


def run_study(
    study: Study,
    out_dir: str | Path,
    *,
    n_jobs: int = 1,
    backend: str = "loky",
    scheduler: str | Path | Client | None = None,
    batch_size: int = 10,
    progress: TextIO | None = sys.stderr,
    checkpoint_every: float = CHECKPOINT_SECONDS,
    restart: bool = False,
    connect_timeout: float = CONNECT_SECONDS,
) -> dict[int, pd.DataFrame]:
    """Run every missing replication of ``study`` and checkpoint the records in ``out_dir``.

    The other arguments are :func:`simstudy.harness.simulation.run_simulation`'s; warnings
    about dropped records go to ``progress`` (None: a :class:`.records.RecordWarning`).

    Parameters
    ----------
    checkpoint_every : float
        Seconds between checkpoints of the conditions with new records (also at the end,
        after Ctrl-C or an exception); 0 writes after every batch.
    restart : bool
        Discard the folder's records (and its study.json) and start over, even when
        the folder holds a different or changed study.
    connect_timeout : float
        Seconds a dask ``scheduler`` (or its scheduler file) has to answer.

    Returns
    -------
    dict of int to DataFrame
        Per condition id, the records of replications 0..R-1 sorted by replication.

    Raises
    ------
    StudyMismatchError
        ``out_dir`` holds a different study (:class:`StudyChangedError`: other code).
    StudyLockedError
        Another live process runs in ``out_dir`` (the message names it).
    StudyFolderError
        ``out_dir`` is unwritable, has a torn study.json, or was deleted or replaced.
    CheckpointError, CheckpointWriteError
        A checkpoint file has no header; a checkpoint could not be written (earlier intact).
    StudyFailedError
        Every replication of the study failed (the message holds the first error).
    StudyInterrupted
        Ctrl-C; every finished replication was saved first.
    DaskMissingError, SchedulerUnreachableError
        ``backend="dask"`` without dask.distributed; no scheduler answers in time.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if scheduler is not None and backend != "dask":
        raise ValueError(f"a scheduler needs backend='dask', not {backend!r}")
    if backend == "dask":
        import_distributed()  # fail before touching out_dir
    if batch_size < 1 or n_jobs == 0:
        raise ValueError("batch_size must be >= 1 and n_jobs non-zero")
    ids = [c.id for c in study.conditions]
    if len(set(ids)) != len(ids):
        raise ValueError("condition ids must be distinct")
    out_dir = Path(out_dir)
    with ExitStack() as stack:
        client = None
        if backend == "dask" and scheduler is not None:
            # connected before anything is written
            client = stack.enter_context(dask_client(scheduler, timeout=connect_timeout))
        try:
            lock = acquire(out_dir)
        except OSError as err:
            raise StudyFolderError(f"cannot use {out_dir}: {err.strerror or err}") from err
        stack.callback(lock.release)
        if lock.took_over and progress is not None:
            print(f"{out_dir}: {lock.took_over}", file=progress, flush=True)
        return _run_locked(
            study, lock, n_jobs, backend, client, batch_size, progress, checkpoint_every, restart
        )
    raise AssertionError("unreachable")  # pragma: no cover - ExitStack does not swallow


def _run_locked(
    study: Study,
    lock: FolderLock,
    n_jobs: int,
    backend: str,
    client: Client | None,
    batch_size: int,
    progress: TextIO | None,
    checkpoint_every: float,
    restart: bool,
) -> dict[int, pd.DataFrame]:
    """:func:`run_study` once the folder is locked (and a dask scheduler connected)."""
    out_dir = lock.folder
    ids = [c.id for c in study.conditions]

    def report(message: str) -> None:
        if progress is None:
            warnings.warn(message, RecordWarning, stacklevel=2)
        else:
            print(f"warning: {message}", file=progress, flush=True)

    manifest = _check_manifest(out_dir, study, restart)
    # checked against the study's seeds before study.json names this study
    records = {cid: {} for cid in ids} if restart else _checkpointed(out_dir, study, report)
    try:
        if manifest is not None:
            write_json_atomic(out_dir / MANIFEST, manifest)
    except OSError as err:
        raise StudyFolderError(f"cannot write {out_dir / MANIFEST}: {err.strerror}") from err
    for torn in (out_dir / "raw").glob(".condition_*.tmp"):  # left by a killed run
        torn.unlink(missing_ok=True)
    if restart:
        for path in (out_dir / "raw").glob("condition_*.csv"):
            path.unlink()
        (out_dir / WALL_LEDGER).unlink(missing_ok=True)
    started = time.perf_counter()
    # None: records of a harness that kept no ledger, whose runs' time is not known
    earlier = records_wall_seconds(out_dir) if any(records.values()) else 0.0
    missing = {cid: [r for r in range(study.replications) if r not in records[cid]] for cid in ids}
    total = len(ids) * study.replications
    todo = sum(len(reps) for reps in missing.values())
    if progress is not None and todo < total:
        print(
            f"resuming {out_dir}: {total - todo} of {total} replications already done",
            file=progress,
            flush=True,
        )
    meter = Progress(total, total - todo, progress)
    dirty: set[int] = set()
    last_flush = -np.inf  # the first batch is written at once: the run shows it works

    def flush() -> None:
        if not dirty:  # nothing new: the ledger keeps the time of the runs that made records
            return
        for cid in sorted(dirty):
            if not lock.intact():
                raise StudyFolderError(
                    f"{out_dir} was deleted or replaced during the run; stopped without writing "
                    f"into it ({len(records[cid])} records of condition {cid} not saved); "
                    "rerun to start again"
                )
            _checkpoint(write_records, raw_path(out_dir, cid), records[cid].values())
            dirty.discard(cid)
        spent = None if earlier is None else earlier + time.perf_counter() - started
        _checkpoint(write_json_atomic, out_dir / WALL_LEDGER, {"seconds": spent})

    by_id, unit = {c.id: c for c in study.conditions}, study.unit()
    units = [(unit, by_id[cid], reps) for cid, reps in plan_batches(missing, batch_size)]
    with silenced(study.quiet):  # for worker threads, which cannot set their own
        batches = execute(run_batch, units, n_jobs, backend, client, progress)
        failed = False
        try:
            for batch in batches:
                cid = batch[0]["condition_id"]
                for record in batch:
                    records[cid][record["replication"]] = record
                dirty.add(cid)
                if time.perf_counter() - last_flush >= checkpoint_every:
                    flush()
                    last_flush = time.perf_counter()
                meter.update(len(batch), sum(r["status"] != "ok" for r in batch))
        except KeyboardInterrupt:
            meter.close()
            stop(batches)  # stop the workers first: Ctrl-C again must not lose the records
            flush()
            failed = True  # saved: nothing left to write
            saved = sum(rep < study.replications for cid in ids for rep in records[cid])
            raise StudyInterrupted(saved, total) from None
        except (StudyFolderError, CheckpointWriteError):
            failed = True  # the checkpoint that failed is not retried
            raise
        finally:  # also on an error: keep every finished replication
            try:
                if not failed:
                    flush()
            finally:
                meter.close()
                stop(batches)  # then stop the workers (a dask cluster: release its tasks)
    frames = {
        cid: records_frame(r for rep, r in records[cid].items() if rep < study.replications)
        for cid in ids
    }
    _check_not_all_failed(frames)
    return frames


def _checkpoint(write: Callable[[Path, Any], Any], path: Path, content: Any) -> None:
    """``write(path, content)``; an OSError becomes a :class:`CheckpointWriteError`."""
    try:
        write(path, content)
    except OSError as err:
        raise CheckpointWriteError(
            f"cannot write {path}: {err.strerror or err}; the records checkpointed before are "
            "intact: free space or fix permissions, then rerun the same command to resume"
        ) from err


def _check_not_all_failed(frames: dict[int, pd.DataFrame]) -> None:
    """Raise :class:`StudyFailedError` when there are records and every one is an error."""
    every = pd.concat([f for f in frames.values() if len(f)] or [pd.DataFrame()])
    if len(every) and (every["status"] == "error").all():
        first = every.sort_values(["condition_id", "replication"]).iloc[0]
        raise StudyFailedError(
            f"every one of the {len(every)} replications failed; the first (condition "
            f"{first['condition_id']}, replication {first['replication']}): {first['error']}"
        )


RUN_ERRORS = (
    StudyMismatchError,
    StudyLockedError,
    StudyFolderError,
    CheckpointError,
    CheckpointWriteError,
    DaskMissingError,
    SchedulerUnreachableError,
)
"""What ends a run with one line to print (the message names the path or address at fault)."""
