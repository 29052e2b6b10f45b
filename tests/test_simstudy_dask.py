"""The dask backend: the records of a loky run; none lost or doubled if a worker or client dies.

Every cluster here is a LocalCluster of 2 worker processes (one thread each),
closed when its fixture ends; a watchdog ends the test process if a test hangs.
Skipped when the optional extra is not installed (``pip install -e ".[dask]"``).
"""

import dataclasses
import faulthandler
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.slow  # dask clusters: seconds each

from experiments import selection  # noqa: E402
from simstudy.cli.args import run_cli  # noqa: E402
from simstudy.harness.parallel import (  # noqa: E402
    DASK_INSTALL,
    DaskMissingError,
    SchedulerUnreachableError,
)
from simstudy.harness.runner import raw_path, read_records, replication_seed, run_study  # noqa: E402
from simstudy.studies import mixture  # noqa: E402
from simstudy.studies.config import load_config  # noqa: E402
from simstudy.studies.mixture import study as build_study  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SMOKE = REPO / "experiments" / "configs" / "smoke.json"
R = 6  # replications per condition: 8 conditions x 6 = 48 replications
BATCH = 2
HANG_SECONDS = 120  # a test still running after this has hung: dump the stacks and exit


def small_study(replications=R, **changes):
    config = load_config(SMOKE)
    config["replications"] = replications
    config["price_data"] = str(REPO / config["price_data"])
    return dataclasses.replace(build_study(config), **changes)


def saved(out, n_conditions=8):
    """The checkpoint files' records, per condition (sorted by replication)."""
    return {c: pd.DataFrame(read_records(raw_path(out, c))) for c in range(n_conditions)}


def assert_same_records(got, expected):
    assert got.keys() == expected.keys()
    for cid in expected:
        pd.testing.assert_frame_equal(
            got[cid].drop(columns="seconds").reset_index(drop=True),
            expected[cid].drop(columns="seconds").reset_index(drop=True),
            check_exact=True,
        )


def assert_complete_and_unique(out, replications=R):
    for frame in saved(out).values():
        assert frame["replication"].tolist() == list(range(replications))


def new_cluster():
    return distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )


@pytest.fixture(autouse=True)
def watchdog():
    faulthandler.dump_traceback_later(HANG_SECONDS, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The loky run (2 processes) every dask run must reproduce."""
    out = tmp_path_factory.mktemp("loky")
    return run_study(small_study(), out, n_jobs=2, backend="loky", batch_size=3, progress=None)


@pytest.fixture(scope="module")
def cluster():
    with new_cluster() as cluster:
        with distributed.Client(cluster, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=60)
        yield cluster


def test_records_identical_to_loky(cluster, reference, tmp_path):
    records = run_study(
        small_study(),
        tmp_path,
        backend="dask",
        scheduler=cluster.scheduler_address,
        batch_size=BATCH,
        progress=None,
    )
    assert_same_records(records, reference)
    assert_same_records(saved(tmp_path), reference)  # and so are the checkpoint files


def test_cli_starts_a_local_cluster_of_n_jobs_workers(reference, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(REPO)  # the config's price data path is relative to the repository
    argv = ["--config", str(SMOKE), "--replications", str(R), "--out", str(tmp_path)]
    argv += ["--backend", "dask", "--n-jobs", "2", "--batch-size", "4", "--no-figures"]
    assert selection.main(argv) == 0
    assert "dask: 2 workers, 2 threads" in capsys.readouterr().err
    assert_same_records(saved(tmp_path), reference)
    run = json.loads((tmp_path / "summary.json").read_text())["run"]
    assert run["backend"] == "dask" and run["scheduler"] is None


def logging_generate(log, marker=None, victim=None):
    """``mixture.generate`` that logs every call (condition, seed, process) to ``log``.

    With a ``victim`` (a replication seed), the first process to reach that
    replication kills itself (the marker file, created atomically, holds its
    pid); the rerun of its batch goes through.
    """

    def generate(condition, rng):
        entropy = rng.bit_generator.seed_seq.entropy  # the replication's seed
        with open(log, "a") as f:
            f.write(f"{condition.id} {entropy} {os.getpid()}\n")
        if victim is not None and entropy == victim:
            try:
                fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                pass
            else:
                os.write(fd, str(os.getpid()).encode())
                os.close(fd)
                os.kill(os.getpid(), signal.SIGKILL)
        return mixture.generate(condition, rng)

    return generate


def test_a_killed_worker_loses_no_replication_and_records_none_twice(reference, tmp_path):
    # batches of 2, conditions interleaved: (0, [0, 1]), ..., (7, [0, 1]), (0, [2, 3]), ...
    # the 12th of 24 batches, (3, [2, 3]), dies at its second replication: replication 2
    # was computed in the dead process and is lost with it, so dask must rerun the batch
    study = small_study()
    first, victim = (replication_seed(study.seed, 3, r) for r in (2, 3))
    log, marker = tmp_path / "calls.txt", tmp_path / "killed.txt"
    study = dataclasses.replace(study, generate=logging_generate(log, marker, victim))
    with new_cluster() as cluster, distributed.Client(cluster, set_as_default=False) as client:
        client.wait_for_workers(2, timeout=60)
        workers = set(client.run(os.getpid).values())
        records = run_study(
            study,
            tmp_path / "out",
            backend="dask",
            scheduler=client,
            batch_size=BATCH,
            progress=None,
            checkpoint_every=0,
        )
        client.wait_for_workers(2, timeout=60)  # the nanny restarted the dead worker
        restarted = set(client.run(os.getpid).values()) - workers
        assert len(restarted) == 1
    killed = int(marker.read_text())
    assert killed in workers
    calls = [line.split() for line in log.read_text().splitlines()]
    assert {int(pid) for _, _, pid in calls} <= workers | restarted  # all on the cluster
    # replication 2 of condition 3 ran twice (in the killed worker, then in the rerun) ...
    runs_of_first = [int(pid) for cid, seed, pid in calls if int(seed) == first]
    assert len(runs_of_first) == 2 and runs_of_first[0] == killed != runs_of_first[1]
    # (so are batches the dead worker had finished but the driver had not yet collected)
    assert len(calls) >= 8 * R + 2
    # ... and is recorded once, with every other replication, as in the loky run
    assert_complete_and_unique(tmp_path / "out")
    assert_same_records(records, reference)
    assert_same_records(saved(tmp_path / "out"), reference)


def test_a_one_worker_cluster_runs_the_study_on_its_worker(reference, tmp_path):
    # joblib would run a one-thread backend's calls in this process; the runner must not
    log = tmp_path / "calls.txt"
    records = run_study(
        small_study(replications=2, generate=logging_generate(log)),
        tmp_path / "out",
        backend="dask",
        n_jobs=1,  # no scheduler: a LocalCluster of 1 worker process
        batch_size=BATCH,
        progress=None,
    )
    pids = {int(line.split()[2]) for line in log.read_text().splitlines()}
    assert len(pids) == 1 and os.getpid() not in pids
    assert_same_records(records, {c: f[f["replication"] < 2] for c, f in reference.items()})


DRIVER = """
import dataclasses, sys, time
from simstudy.studies import mixture
from simstudy.studies.mixture import study as build_study
from simstudy.studies.config import load_config
from simstudy.harness.runner import run_study


def slow_generate(condition, seed):
    time.sleep(0.2)  # long enough for the driver to be killed mid-study
    return mixture.generate(condition, seed)


config = load_config({smoke!r})
config["replications"] = {replications}
config["price_data"] = {price_data!r}
study = dataclasses.replace(build_study(config), generate=slow_generate, version="1")
run_study(study, {out!r}, backend="dask", scheduler={address!r}, batch_size=1,
          checkpoint_every=0, progress=None)
"""


def test_resume_after_the_client_is_killed(cluster, reference, tmp_path):
    out = tmp_path / "out"
    config = load_config(SMOKE)
    script = DRIVER.format(
        smoke=str(SMOKE),
        replications=R,
        price_data=str(REPO / config["price_data"]),
        out=str(out),
        address=cluster.scheduler_address,
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not list((out / "raw").glob("condition_*.csv")):
            assert proc.poll() is None, "the driver ended before its first checkpoint"
            time.sleep(0.01)
    finally:
        if proc.poll() is None:  # else the assertion above says why it ended
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    partial = sum(len(read_records(p)) for p in (out / "raw").glob("condition_*.csv"))
    assert 0 < partial < 8 * R, "the driver should be killed mid-study"

    log = tmp_path / "calls.txt"
    resumed = run_study(
        small_study(generate=logging_generate(log), version="1"),
        out,
        backend="dask",
        scheduler=cluster.scheduler_address,
        batch_size=BATCH,
        progress=None,
    )
    assert len(log.read_text().splitlines()) == 8 * R - partial  # only the missing ones ran
    assert_same_records(resumed, reference)
    assert_complete_and_unique(out)
    assert_same_records(saved(out), reference)


def test_missing_dask_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    with pytest.raises(DaskMissingError, match=r'pip install -e "\.\[dask\]"'):
        run_study(small_study(1), tmp_path / "api", backend="dask", progress=None)
    assert not (tmp_path / "api").exists()
    argv = ["--config", str(SMOKE), "--out", str(tmp_path / "cli"), "--backend", "dask"]
    assert run_cli(selection.main, argv) == 2
    assert DASK_INSTALL in capsys.readouterr().err


def test_a_scheduler_needs_the_dask_backend(tmp_path):
    with pytest.raises(SystemExit):
        selection.main(["--config", str(SMOKE), "--scheduler", "tcp://127.0.0.1:8786"])
    with pytest.raises(ValueError, match="backend='dask'"):
        run_study(small_study(1), tmp_path, scheduler="tcp://127.0.0.1:8786", progress=None)


def test_no_scheduler_at_the_address_is_a_clear_error(tmp_path):
    with pytest.raises(SchedulerUnreachableError, match="no dask scheduler answers at tcp://"):
        run_study(
            small_study(1),
            tmp_path,
            backend="dask",
            scheduler="tcp://127.0.0.1:9",
            progress=None,
            connect_timeout=1,
        )


def test_a_server_that_is_not_dask_is_one_line_and_exit_2_within_the_timeout(tmp_path):
    """A listening socket that never answers (distributed alone waits for it for ever)."""
    import socket

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
        argv = ["--config", str(SMOKE), "--out", str(tmp_path / "out"), "--backend", "dask"]
        done = subprocess.run(
            [sys.executable, "-m", "experiments.selection", *argv, "--scheduler", address,
             "--connect-timeout", "2"],
            cwd=REPO, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr == (
        f"error: no dask scheduler answers at {address} within 2 s (--connect-timeout)\n"
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("where", ["garbage file", "unroutable"])
def test_a_garbage_scheduler_file_or_an_unroutable_address_is_one_line(tmp_path, capsys, where):
    scheduler = tmp_path / "scheduler.json"
    scheduler.write_text("{garbage")
    if where == "unroutable":
        scheduler = "tcp://192.0.2.1:8786"  # TEST-NET-1 (RFC 5737): never routed
    argv = ["--config", str(SMOKE), "--out", str(tmp_path / "out"), "--backend", "dask"]
    argv += ["--scheduler", str(scheduler), "--connect-timeout", "1"]
    assert run_cli(selection.main, argv) == 2
    expected = {
        "garbage file": f"error: {scheduler} is not a scheduler file (no JSON with the "
        'scheduler\'s "address", as dask scheduler --scheduler-file writes, within 1 s)\n',
        "unroutable": f"error: no dask scheduler answers at {scheduler} within 1 s "
        "(--connect-timeout)",
    }[where]
    assert capsys.readouterr().err.startswith(expected)
    assert not (tmp_path / "out").exists()
