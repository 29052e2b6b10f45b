"""Where a study's work units run: this process, joblib's loky processes or threads, or dask.

:func:`execute` yields the units' results as they complete, :func:`stop` cancels the rest;
with dask, a unit whose worker dies is rerun on another (:func:`dask_client`). A loky worker
exits when the driver dies, even by ``kill -9`` (:func:`exit_with_parent`).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from distributed import Client

BACKENDS: tuple[str, ...] = ("loky", "threading", "sequential", "dask")


DASK_INSTALL = 'pip install -e ".[dask]"'
"""How to install the optional dask backend (quoted in the error when it is missing)."""


CONNECT_SECONDS = 10.0
"""How long a dask scheduler (or its scheduler file) has to answer."""

WATCHDOG_SECONDS = 0.25
"""How often a loky worker checks that the driver is alive."""


class DaskMissingError(ImportError):
    """``backend="dask"`` without dask.distributed installed."""


class SchedulerUnreachableError(ConnectionError):
    """No dask scheduler answers at the given address or scheduler file."""


def exit_with_parent(parent: int) -> None:
    """A loky worker's initializer: exit as soon as the driver ``parent`` is gone (loky has
    no such mechanism on POSIX, and a driver killed right after starting its pool never sends
    a first batch). A daemon thread polls the parent PID, which changes on re-parenting."""
    if os.getppid() != parent:  # gone already
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(WATCHDOG_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def import_distributed() -> Any:
    try:
        import distributed
    except ImportError as err:
        raise DaskMissingError(
            "the dask backend needs dask.distributed, which is not installed; "
            f"install the optional extra: {DASK_INSTALL}"
        ) from err
    return distributed


def local_workers(n_jobs: int) -> int:
    """Worker processes of a LocalCluster for ``n_jobs`` (as joblib: -1 is every core)."""
    return n_jobs if n_jobs > 0 else max(1, (os.cpu_count() or 1) + 1 + n_jobs)


@contextmanager
def dask_client(
    scheduler: str | Path | Client | None = None,
    n_workers: int = 1,
    timeout: float = CONNECT_SECONDS,
) -> Iterator[Client]:
    """A dask.distributed client to run a study on; what it opens is closed on exit.

    ``scheduler``: an address (``tcp://host:8786``), a ``--scheduler-file`` JSON, a connected
    ``Client`` (left open), or None: a ``LocalCluster`` of ``n_workers`` one-thread processes.
    :class:`SchedulerUnreachableError` when no dask scheduler answers within ``timeout`` s.
    """
    distributed = import_distributed()
    import dask

    if isinstance(scheduler, distributed.Client):
        yield scheduler
        return
    if scheduler is None:
        # distributed sets MALLOC_TRIM_THRESHOLD_ in its workers, which turns off glibc's
        # adaptive mmap threshold: the estimator's many short-lived arrays then cost about
        # 7% more time per replication. These workers hold little memory: keep glibc's default.
        with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
            cluster = distributed.LocalCluster(
                n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=":0"
            )
        try:
            with distributed.Client(cluster, set_as_default=False) as client:
                yield client
        finally:
            cluster.close()
        return
    address = _address(scheduler, timeout)
    try:  # distributed waits for a handshake without a limit: another server would hang it
        with ThreadPoolExecutor(1) as thread:  # a loop of its own, whatever runs in this one
            thread.submit(asyncio.run, _handshake(distributed, address, timeout)).result()
        client = distributed.Client(address, timeout=timeout, set_as_default=False)
    except Exception as err:  # noqa: BLE001 - whatever it is, no scheduler answered
        source = "" if address == str(scheduler) else f" (from {scheduler})"
        message = f"no dask scheduler answers at {address}{source} within {timeout:g} s"
        raise SchedulerUnreachableError(f"{message} (--connect-timeout)") from err
    with client:
        yield client


async def _handshake(distributed: Any, address: str, timeout: float) -> None:
    comm = await asyncio.wait_for(distributed.comm.connect(address, timeout=timeout), timeout)
    await comm.close()


def _address(scheduler: str | Path, timeout: float) -> str:
    """The address ``scheduler`` is, or the one its scheduler file holds (waited for up to
    ``timeout`` seconds: a scheduler may be writing it)."""
    path, deadline = Path(scheduler), time.monotonic() + timeout
    if not path.is_file():
        if _is_address(str(scheduler)):
            return str(scheduler)
        raise SchedulerUnreachableError(
            f"scheduler file {scheduler} does not exist (give the file a scheduler wrote with "
            "--scheduler-file, or an address such as tcp://host:8786)"
        )
    while True:
        try:
            return str(json.loads(path.read_text(encoding="utf-8"))["address"])
        except (ValueError, KeyError, TypeError):
            if time.monotonic() > deadline:
                raise SchedulerUnreachableError(
                    f'{path} is not a scheduler file (no JSON with the scheduler\'s "address", '
                    f"as dask scheduler --scheduler-file writes, within {timeout:g} s)"
                ) from None
            time.sleep(0.1)


def _is_address(scheduler: str) -> bool:
    """Whether ``scheduler`` reads as a scheduler address (protocol://... or host:port)."""
    return (
        "://" in scheduler
        or re.fullmatch(r"[\w.\-]+:\d+|\[[0-9a-fA-F:]+\]:\d+", scheduler) is not None
    )


def _cluster_backend(client: Client) -> Any:
    """joblib's dask backend on ``client``, reporting at least 2 workers: joblib runs a
    call in this process when its backend reports one, and a study sent to a cluster runs there."""
    from joblib._dask import DaskDistributedBackend

    class ClusterBackend(DaskDistributedBackend):
        def effective_n_jobs(self, n_jobs: int) -> int:
            return max(2, super().effective_n_jobs(n_jobs))

    return ClusterBackend(client=client, wait_for_workers_timeout=0)


def _describe(client: Client, stream: TextIO | None) -> None:
    """Wait for a first worker, then say where the study runs."""
    if not client.nthreads():
        if stream is not None:
            print(
                f"waiting for a dask worker at {client.scheduler.address}", file=stream, flush=True
            )
        client.wait_for_workers(1)
    if stream is not None:
        threads = client.nthreads()
        workers = f"dask: {len(threads)} workers, {sum(threads.values())} threads"
        print(f"{workers}, scheduler {client.scheduler.address}", file=stream, flush=True)


def execute(
    function: Callable[..., Any],
    units: Sequence[tuple[Any, ...]],
    n_jobs: int,
    backend: str,
    client: Client | None = None,
    stream: TextIO | None = None,
) -> Iterator[Any]:
    """Call ``function(*unit, parent)`` for every unit; yield each result as it completes
    (``parent``: this process's PID in a worker, None here). With ``backend="dask"``: on
    ``client``, or without one on a LocalCluster of ``n_jobs`` processes started here."""
    if backend == "sequential" or (backend != "dask" and n_jobs == 1):
        for unit in units:
            yield function(*unit, None)
        return
    # imported when work runs in parallel: the real-data command must start without joblib
    from joblib import Parallel, delayed, parallel_config

    driver = os.getpid()
    calls = (delayed(function)(*unit, driver) for unit in units)
    if backend != "dask":
        watch = (
            {"initializer": exit_with_parent, "initargs": (driver,)} if backend == "loky" else {}
        )
        with parallel_config(backend=backend, **watch):
            batches = Parallel(n_jobs=n_jobs, return_as="generator_unordered", batch_size=1)(calls)
        yield from batches
        return
    if not units:  # nothing to run: no cluster to start
        return
    with dask_client(client, local_workers(n_jobs)) as connected:
        _describe(connected, stream)
        # every unit is submitted at once (a growing cluster gets work at once);
        # dask runs them in submission order and reruns those of a worker that dies
        with parallel_config(backend=_cluster_backend(connected)):
            results = Parallel(return_as="generator_unordered", batch_size=1, pre_dispatch="all")(
                calls
            )
        yield from results


def stop(batches: Iterator[Any]) -> None:
    """Close the batch generator: joblib cancels what is running and stops its workers.
    Batches not yet received are dropped (the next run computes them), without joblib's
    warnings about them."""
    with warnings.catch_warnings():
        # "N tasks ... executed but not used", "N tasks ... cancelled"
        warnings.filterwarnings("ignore", category=UserWarning, module=r"joblib\.parallel")
        batches.close()
