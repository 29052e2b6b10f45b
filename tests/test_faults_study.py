"""Fault injection on study folders: kills, torn files, concurrent runs, lost folders, full disk."""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import fault_study
import numpy as np
import pandas as pd
import pytest
from conftest import REPO

from experiments import selection
from simstudy.cli.args import run_cli
from simstudy.harness import records as records_module
from simstudy.harness.lock import LOCK_NAME, StudyLockedError, acquire
from simstudy.harness.records import CheckpointError, RecordWarning, read_records
from simstudy.harness.runner import (
    CheckpointWriteError,
    SchedulerUnreachableError,
    StudyChangedError,
    StudyFailedError,
    StudyFolderError,
    StudyInterrupted,
    raw_path,
    replication_seed,
    run_study,
)

SCRIPT = REPO / "tests" / "fault_study.py"
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def run(out, **kwargs):
    kwargs.setdefault("batch_size", 2)
    kwargs.setdefault("checkpoint_every", 0)
    kwargs.setdefault("progress", None)
    return run_study(kwargs.pop("study", None) or fault_study.study(), out, **kwargs)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Records of an uninterrupted run, as one frame without timings."""
    return as_frame(run(tmp_path_factory.mktemp("reference")))


def as_frame(result):
    frame = pd.concat(result.values(), ignore_index=True)
    return frame.drop(columns="seconds").sort_values(["condition_id", "replication"])


def on_disk(out):
    frames = [pd.DataFrame(read_records(p)) for p in sorted((Path(out) / "raw").glob("*.csv"))]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=["condition_id", "replication"])
    return pd.concat(frames, ignore_index=True).drop(columns="seconds")


def compare(records, reference):
    """(lost, duplicated, differing) of a frame of records against the reference."""
    keys = ["condition_id", "replication"]
    duplicated = int(records.duplicated(keys).sum())
    merged = reference.merge(records.drop_duplicates(keys), on=keys, how="left", indicator=True)
    lost = int((merged["_merge"] == "left_only").sum())
    both = reference.merge(records.drop_duplicates(keys), on=keys, suffixes=("", "_got"))
    columns = [c for c in reference.columns if c not in keys]
    differing = int(sum((both[c] != both[f"{c}_got"]).sum() for c in columns))
    return lost, duplicated, differing


def children(pid):
    """PIDs whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat")
    return not (state.exists() and state.read_text().rsplit(")", 1)[1].split()[0] == "Z")


@pytest.mark.slow
def test_sigkill_at_random_moments_then_resume_loses_nothing(tmp_path, reference):
    rng = np.random.default_rng(14)
    figures = []
    for trial in range(5):
        out = tmp_path / f"trial{trial}"
        job = subprocess.Popen([sys.executable, str(SCRIPT), str(out)], env=ENV)
        deadline = time.time() + 30
        while time.time() < deadline and not list((out / "raw").glob("condition_*.csv")):
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.8))  # somewhere in the run (it lasts about 1.2 s)
        job.send_signal(signal.SIGKILL)
        job.wait()
        partial = on_disk(out)
        assert compare(partial, reference)[1:] == (0, 0)  # what was saved is exact
        resumed = as_frame(run(out))
        figures.append((len(partial), *compare(resumed, reference)))
        assert compare(on_disk(out), reference) == (0, 0, 0)
    print("trials (saved at kill, lost, duplicated, differing):", figures)
    assert all(f[1:] == (0, 0, 0) for f in figures)
    assert any(0 < f[0] < len(reference) for f in figures)  # some kills landed mid-run


def start_with_busy_workers(out, tmp_path, sleep, **popen):
    """Start the fault study on 2 loky workers; return once both have taken work.

    Explicit waits with deadlines, not a guess: the driver writes a first checkpoint,
    and every worker logs its PID when it runs a replication (FAULT_STUDY_PIDS). The
    child restores SIGINT's default action (a shell that started pytest in the
    background passes it on ignored).
    """
    pids = tmp_path / "pids.log"
    job = subprocess.Popen(
        [sys.executable, str(SCRIPT), str(out), "--n-jobs", "2", "--sleep", str(sleep)],
        env={**ENV, "FAULT_STUDY_PIDS": str(pids)},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        **popen,
    )
    deadline = time.time() + 120
    workers: set[int] = set()
    while time.time() < deadline and (len(workers) < 2 or not list((out / "raw").glob("*.csv"))):
        assert job.poll() is None, "the driver ended before both workers took work"
        workers = {int(x) for x in pids.read_text().split()} if pids.exists() else set()
        time.sleep(0.02)
    assert len(workers) == 2, f"the workers did not both start within 120 s: {workers}"
    return job, [*workers, *(g for p in workers for g in children(p))]


@pytest.mark.slow
def test_loky_workers_exit_when_the_driver_is_killed(tmp_path):
    job, workers = start_with_busy_workers(tmp_path / "loky", tmp_path, sleep=0.2)
    job.send_signal(signal.SIGKILL)
    job.wait()
    deadline = time.time() + 30
    while time.time() < deadline and any(alive(p) for p in workers):
        time.sleep(0.05)
    assert not any(alive(p) for p in workers)


@pytest.mark.slow
def test_loky_workers_exit_when_the_driver_is_killed_as_the_pool_starts(tmp_path):
    """Killed as soon as both loky workers exist, before they ask for work."""
    pids = tmp_path / "pids.log"
    job = subprocess.Popen(
        [sys.executable, str(SCRIPT), str(tmp_path / "out"), "--n-jobs", "2"],
        env={**ENV, "FAULT_STUDY_PIDS": str(pids)},
    )
    deadline, spawned = time.time() + 120, []
    while time.time() < deadline and sum(b"LokyProcess" in command_line(p) for p in spawned) < 2:
        assert job.poll() is None, "the driver ended before its pool started"
        spawned = children(job.pid)  # the workers and loky's resource tracker
        time.sleep(0.005)
    job.kill()
    job.wait()
    assert sum(b"LokyProcess" in command_line(p) for p in spawned) == 2, "no pool within 120 s"
    print("workers that had taken work when the driver died:", pids.exists())
    deadline = time.time() + 30
    while time.time() < deadline and any(alive(p) for p in spawned):
        time.sleep(0.05)
    assert not [p for p in spawned if alive(p)]


def command_line(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def tear(path, line, keep):
    """Cut line ``line`` (1-based) of ``path`` to ``keep`` characters, joined to the next."""
    lines = path.read_text().splitlines(keepends=True)
    lines[line - 1] = lines[line - 1][:keep]
    path.write_text("".join(lines))


@pytest.mark.parametrize("where", ["last", "middle"])
def test_a_torn_record_is_dropped_named_and_recomputed(tmp_path, reference, where):
    run(tmp_path)
    path = raw_path(tmp_path, 2)
    n_lines = len(path.read_text().splitlines())
    line = n_lines if where == "last" else n_lines // 2
    tear(path, line, 40)
    with pytest.warns(RecordWarning) as caught:
        resumed = run(tmp_path)
    messages = [str(w.message) for w in caught]
    assert any(f"{path}: line {line}" in m for m in messages), messages
    assert compare(as_frame(resumed), reference) == (0, 0, 0)
    assert compare(on_disk(tmp_path), reference) == (0, 0, 0)


def test_a_record_cut_inside_its_last_field_is_caught(tmp_path, reference):
    run(tmp_path)
    path = raw_path(tmp_path, 0)
    text = path.read_text()
    path.write_text(text[:-3])  # the checksum loses its end: same field count
    with pytest.warns(RecordWarning, match="line 31"):
        records = read_records(path, 0)
    assert len(records) == 29


def test_an_altered_value_fails_the_checksum(tmp_path):
    run(tmp_path)
    path = raw_path(tmp_path, 1)
    lines = path.read_text().splitlines(keepends=True)
    fields = lines[5].split(",")
    fields[6] = repr(float(fields[6]) + 1e-9)  # a value changed, field count intact
    lines[5] = ",".join(fields)
    path.write_text("".join(lines))
    with pytest.warns(RecordWarning, match="line 6: invalid record \\(checksum mismatch\\)"):
        assert len(read_records(path, 1)) == 29


def header_with(path, rename):
    """Rewrite line 1 of ``path`` with names replaced by ``rename`` (old -> new, at once)."""
    lines = path.read_text().splitlines(keepends=True)
    names = [rename.get(name, name) for name in lines[0].rstrip("\n").split(",")]
    path.write_text(",".join(names) + "\n" + "".join(lines[1:]))


def test_a_header_with_two_names_swapped_is_refused_naming_both(tmp_path, capsys):
    args = [str(tmp_path), "--replications", "4", "--sleep", "0"]  # (its sleep stays set)
    assert fault_study.main(args) == 0
    path = raw_path(tmp_path, 2)
    header_with(path, {"mean": "sd", "sd": "mean"})
    before = path.read_text()
    assert fault_study.main(args) == 2
    assert capsys.readouterr().err == (
        f"error: {path}: line 1: the header is not the one its records were written under "
        "(columns 'sd' and 'mean' are swapped); restore the header, or delete the file to "
        "recompute that condition's replications\n"
    )
    assert path.read_text() == before  # nothing re-labelled or rewritten
    header_with(path, {"mean": "sd", "sd": "mean"})  # restored: resumes as if untouched
    assert fault_study.main(args) == 0


def test_a_renamed_column_is_refused_and_older_checksums_still_verify(tmp_path):
    small = fault_study.study(replications=4)
    first = as_frame(run(tmp_path, study=small))
    path = raw_path(tmp_path, 1)
    header_with(path, {"boot": "bootstrap"})
    with pytest.raises(CheckpointError, match=f"{path}: line 1: .*a column was renamed"):
        run(tmp_path, study=small)
    header_with(path, {"bootstrap": "boot"})
    lines = path.read_text().splitlines()  # as written before the header was covered
    rows = [line.split(",") for line in lines[1:]]
    older = [",".join([*r[:-1], records_module.checksum(r[:-1])]) for r in rows]
    path.write_text("\n".join([lines[0], *older]) + "\n")
    assert len(read_records(path, 1)) == 4
    assert compare(as_frame(run(tmp_path, study=small)), first) == (0, 0, 0)


def test_text_a_spreadsheet_would_run_is_quoted_in_records_and_read_back(tmp_path):
    labels = ["=1+2", "+1", "-x", "@SUM(A1)"]

    def labelled(condition, data, rng):
        return {**fault_study.analyse(condition, data, rng), "label": labels[condition.id]}

    study = fault_study.study(replications=2)
    first = run(tmp_path, study=type(study)(**{**study.__dict__, "analyse": labelled}))
    for cid, label in enumerate(labels):
        lines = raw_path(tmp_path, cid).read_text().splitlines()
        assert all(f",'{label}," in line for line in lines[1:])
        assert [r["label"] for r in read_records(raw_path(tmp_path, cid), cid)] == [label] * 2
        assert list(first[cid]["label"]) == [label] * 2


def test_committed_csv_study_folders_still_load(tmp_path):
    """The committed folder (checksummed rows) and its form without checksums both load."""
    path = REPO / "outputs" / "real_like" / "raw" / "condition_0000.csv"
    frame = pd.read_csv(path)
    assert "crc" in frame
    records = read_records(path, 0)
    assert len(records) == 1000
    assert pd.DataFrame(records).shape == frame.drop(columns="crc").shape
    old_form = tmp_path / "condition_0000.csv"  # as folders written before the checksums
    frame.drop(columns="crc").to_csv(old_form, index=False)
    old_records = read_records(old_form, 0)
    assert len(old_records) == 1000
    assert pd.DataFrame(old_records).shape == frame.drop(columns="crc").shape


def test_empty_checkpoint_and_torn_manifest_name_the_file(tmp_path):
    run(tmp_path)
    raw_path(tmp_path, 3).write_bytes(b"")
    with pytest.raises(CheckpointError, match=f"{raw_path(tmp_path, 3)}: empty .*delete it"):
        run(tmp_path)
    raw_path(tmp_path, 3).write_text("condition_id,replication,se")
    with pytest.raises(CheckpointError, match=f"{raw_path(tmp_path, 3)}: cut short inside its"):
        run(tmp_path)
    raw_path(tmp_path, 3).unlink()
    manifest = tmp_path / "study.json"
    manifest.write_text(manifest.read_text()[:25])
    with pytest.raises(StudyFolderError, match=f"{manifest} is empty or cut short"):
        run(tmp_path)


def test_a_second_run_is_refused_naming_the_holder(tmp_path):
    holder = acquire(tmp_path)
    try:
        with pytest.raises(StudyLockedError, match=f"process {os.getpid()} on host "):
            run(tmp_path)
    finally:
        holder.release()
    assert not (tmp_path / LOCK_NAME).exists()
    run(tmp_path)  # free again


@pytest.mark.slow
def test_a_second_process_is_refused_while_one_runs(tmp_path):
    # a replication per second: the job still holds the folder however slowly the second
    # process starts on a loaded machine (it is killed once the second one has answered)
    job = subprocess.Popen([sys.executable, str(SCRIPT), str(tmp_path), "--sleep", "1"], env=ENV)
    try:
        deadline = time.time() + 30
        while time.time() < deadline and not list((tmp_path / "raw").glob("*.csv")):
            time.sleep(0.01)
        second = subprocess.run(
            [sys.executable, str(SCRIPT), str(tmp_path)], env=ENV, capture_output=True, text=True
        )
    finally:
        job.kill()
        job.wait()
    assert second.returncode == 2
    assert second.stderr.strip() == (
        f"error: {tmp_path} is in use by process {job.pid} on host {os.uname().nodename} "
        f"(since {json.loads((tmp_path / LOCK_NAME).read_text())['started']}); "
        "wait for it to finish or use another --out"
    )


def test_the_stale_lock_of_a_dead_process_is_taken_over(tmp_path, capsys, reference):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], text=True, capture_output=True
    )
    info = {"pid": int(dead.stdout), "host": os.uname().nodename, "started": "earlier"}
    (tmp_path / LOCK_NAME).write_text(json.dumps(info))
    result = run(tmp_path, progress=sys.stderr)
    assert f"took over the stale lock of process {info['pid']}" in capsys.readouterr().err
    assert compare(as_frame(result), reference) == (0, 0, 0)


class Sabotage:
    """An analyse that does something to the folder at one replication."""

    def __init__(self, at, action):
        self.at, self.action, self.calls = at, action, 0

    def __call__(self, condition, data, seed):
        self.calls += 1
        if self.calls == self.at:
            self.action()
        return fault_study.analyse(condition, data, seed)


def test_a_folder_deleted_mid_run_stops_the_run_and_is_not_recreated(tmp_path):
    import shutil

    out = tmp_path / "study"
    study = fault_study.study()
    study = type(study)(**{**study.__dict__, "analyse": Sabotage(9, lambda: shutil.rmtree(out))})
    with pytest.raises(StudyFolderError, match=f"{out} was deleted or replaced"):
        run(out, study=study)
    assert not out.exists()


def test_a_folder_replaced_mid_run_is_not_written_into(tmp_path):
    out, other = tmp_path / "study", tmp_path / "other"

    def replace():
        out.rename(tmp_path / "moved")
        run(other, study=fault_study.study(replications=2, seed=99))
        other.rename(out)  # another study now sits at the path

    study = fault_study.study()
    study = type(study)(**{**study.__dict__, "analyse": Sabotage(9, replace)})
    with pytest.raises(StudyFolderError, match="deleted or replaced"):
        run(out, study=study)
    assert all(len(read_records(p)) == 2 for p in (out / "raw").glob("*.csv"))
    assert json.loads((out / "study.json").read_text())["seed"] == 99


def full_disk(monkeypatch, after):
    """Make the checkpoint writer fail with ENOSPC after ``after`` writes."""
    calls = {"n": 0}
    write = records_module.write_text_atomic

    def failing(path, text):
        calls["n"] += 1
        if calls["n"] > after:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return write(path, text)

    monkeypatch.setattr(records_module, "write_text_atomic", failing)


@pytest.mark.slow
def test_disk_full_mid_run_names_the_path_and_keeps_the_checkpoints(
    tmp_path, monkeypatch, small_disk, reference
):
    if small_disk is None:  # no tmpfs: the writer is made to fail instead
        out = tmp_path / "study"
        full_disk(monkeypatch, after=10)
    else:
        out = small_disk / "study"
        filler = small_disk / "filler"
        filler.write_bytes(b"\0" * 100_000)  # about 90 kB left; the run needs more
    message = f"cannot write {re.escape(str(out))}/raw/condition_000\\d.csv: No space left"
    with pytest.raises(CheckpointWriteError, match=message + ".* checkpointed before are intact"):
        run(out, study=fault_study.study(replications=200))
    saved = on_disk(out)  # read back without a warning: every record valid
    complete = as_frame(run(tmp_path / "complete", study=fault_study.study(replications=200)))
    lost, duplicated, differing = compare(saved, complete)
    assert 0 < len(saved) and lost > 0 and (duplicated, differing) == (0, 0)


def test_read_only_folder_names_the_path(tmp_path, monkeypatch):
    run(tmp_path)
    write = records_module.write_text_atomic

    def read_only(path, text):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))

    monkeypatch.setattr(records_module, "write_text_atomic", read_only)
    with pytest.raises(CheckpointWriteError, match="Read-only file system"):
        run(tmp_path, study=fault_study.study(replications=31))
    monkeypatch.setattr(records_module, "write_text_atomic", write)
    assert len(on_disk(tmp_path)) == 4 * 30  # intact


def test_a_changed_study_is_refused_unless_restarted(tmp_path, reference):
    run(tmp_path)
    changed = fault_study.study()
    changed = type(changed)(**{**changed.__dict__, "version": "2"})
    with pytest.raises(StudyChangedError, match="--restart"):
        run(tmp_path, study=changed)
    again = type(changed)(**{**changed.__dict__, "version": None})  # source fingerprints
    with pytest.raises(StudyChangedError):
        run(tmp_path, study=again)
    result = run(tmp_path, study=changed, restart=True)
    assert compare(as_frame(result), reference) == (0, 0, 0)
    assert json.loads((tmp_path / "study.json").read_text())["code"] == {"version": "2"}


def test_errored_replications_are_retried_on_a_rerun(tmp_path, reference):
    def flaky(condition, data, seed):
        if condition.id == 1:
            raise RuntimeError("flaky")
        return fault_study.analyse(condition, data, seed)

    study = fault_study.study()
    first = run(tmp_path, study=type(study)(**{**study.__dict__, "analyse": flaky}))
    assert (first[1]["status"] == "error").all()
    second = run(tmp_path)
    assert compare(as_frame(second), reference) == (0, 0, 0)


def test_a_study_where_everything_fails_raises_with_the_first_error(tmp_path):
    def broken(condition, data, seed):
        raise RuntimeError(f"broken {condition.id}")

    study = fault_study.study(replications=2)
    study = type(study)(**{**study.__dict__, "analyse": broken})
    with pytest.raises(
        StudyFailedError, match="every one of the 8 .*replication 0\\): RuntimeError: broken 0"
    ):
        run(tmp_path, study=study)


def test_ctrl_c_saves_what_finished_and_says_how_to_resume(tmp_path, reference):
    def interrupting(condition, data, seed):
        if condition.id == 2:
            raise KeyboardInterrupt
        return fault_study.analyse(condition, data, seed)

    study = fault_study.study()
    with pytest.raises(StudyInterrupted) as caught:
        run(tmp_path, study=type(study)(**{**study.__dict__, "analyse": interrupting}))
    saved = len(on_disk(tmp_path))
    assert str(caught.value) == (
        f"interrupted: {saved} of 120 replications saved; rerun the same command to resume"
    )
    assert saved > 0
    assert compare(as_frame(run(tmp_path)), reference) == (0, 0, 0)


@pytest.mark.slow
def test_sigint_to_the_cli_exits_130_without_orphans(tmp_path):
    job, workers = start_with_busy_workers(
        tmp_path / "out", tmp_path, sleep=0.1, stderr=subprocess.PIPE, text=True
    )
    job.send_signal(signal.SIGINT)
    _, err = job.communicate(timeout=60)
    assert job.returncode == 130
    assert err.strip().splitlines() == [err.strip()]  # one line, no joblib warning
    assert err.startswith("interrupted: ")
    assert err.strip().endswith("replications saved; rerun the same command to resume")
    deadline = time.time() + 30
    while time.time() < deadline and any(alive(p) for p in workers):
        time.sleep(0.05)
    assert not any(alive(p) for p in workers)


def test_a_missing_scheduler_file_fails_at_once_and_writes_nothing(tmp_path):
    pytest.importorskip("distributed")
    # the message of the check made before connecting (no 30 s connection attempt)
    with pytest.raises(SchedulerUnreachableError, match="scheduler file .*nope.json does not"):
        run(tmp_path / "out", backend="dask", scheduler=tmp_path / "nope.json")
    assert not (tmp_path / "out").exists()


SMOKE = REPO / "experiments" / "configs" / "smoke.json"


def test_the_study_cli_prints_one_line_and_exits_2_when_the_folder_is_locked(tmp_path, capsys):

    holder = acquire(tmp_path)
    try:
        assert run_cli(selection.main, ["--config", str(SMOKE), "--out", str(tmp_path)]) == 2
    finally:
        holder.release()
    err = capsys.readouterr().err
    assert err.startswith(f"error: {tmp_path} is in use by process {os.getpid()}")
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("raised", "status", "line"),
    [
        (
            StudyInterrupted(7, 160),
            130,
            "interrupted: 7 of 160 replications saved; rerun the same command to resume",
        ),
        (
            StudyFailedError("every one of the 160 replications failed; the first: E"),
            1,
            "error: every one of the 160 replications failed; the first: E",
        ),
    ],
)
def test_the_study_cli_reports_an_interruption_or_a_total_failure(
    tmp_path, capsys, monkeypatch, raised, status, line
):
    from simstudy.cli import study as cli

    def stopped(*args, **kwargs):
        raise raised

    monkeypatch.setattr(cli.mixture, "run", stopped)
    assert run_cli(selection.main, ["--config", str(SMOKE), "--out", str(tmp_path)]) == status
    err = capsys.readouterr().err
    if status == 1:  # a total failure also says where the failed records are
        line += f" (records in {tmp_path}/raw/)"
    assert err == line + "\n"


def test_another_seeds_records_are_not_adopted_when_study_json_is_gone(tmp_path, capsys):
    from simstudy.cli import study as cli

    config = json.loads(SMOKE.read_text())
    other = tmp_path / "other_seed.json"
    other.write_text(json.dumps({**config, "seed": config["seed"] + 1}))
    out = tmp_path / "out"
    common = ["--out", str(out), "--replications", "1", "--no-figures", "--quiet"]
    assert cli.main(["--config", str(SMOKE), *common], "selection") == 0
    (out / "study.json").unlink()
    (out / "summary.json").unlink()
    old = {p: p.read_text() for p in (out / "raw").glob("*.csv")}
    capsys.readouterr()
    assert run_cli(selection.main, ["--config", str(other), *common]) == 2
    err = capsys.readouterr().err
    assert re.fullmatch(
        f"error: {out}/raw/condition_0000.csv: records of another study \\(replication 0 has "
        "seed \\d+, this study's is \\d+\\); not resumed: use another --out folder, or "
        "--restart \\(restart=True\\) to discard them\n",
        err,
    ), err
    assert {p: p.read_text() for p in (out / "raw").glob("*.csv")} == old
    assert not (out / "study.json").exists()  # the folder does not claim the new study
    assert cli.main(["--config", str(other), *common, "--restart"], "selection") == 0
    seed = json.loads((out / "study.json").read_text())["seed"]
    records = read_records(raw_path(out, 0), 0)
    assert [r["seed"] for r in records] == [replication_seed(seed, 0, 0)]
