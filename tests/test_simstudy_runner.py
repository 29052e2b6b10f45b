"""The runner: seeds, determinism across workers, checkpoints, resume, error capture."""

import dataclasses
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from estimator.init import seed_sequence
from simstudy.harness.files import jsonable
from simstudy.harness.runner import (
    StudyMismatchError,
    plan_batches,
    raw_path,
    read_records,
    replication_seed,
    run_study,
)
from simstudy.harness.simulation import build_study as make_study
from simstudy.harness.simulation import condition_summary, summarise_study
from simstudy.studies import mixture
from simstudy.studies.config import load_config
from simstudy.studies.mixture import study as build_study
from simstudy.writeup import study_report as report
from simstudy.writeup import style
from simstudy.writeup.study_figures import plot_nested_loops

SMOKE = Path("experiments/configs/smoke.json")
REPO = Path(__file__).resolve().parents[1]


def small_study(replications=4, **changes):
    config = load_config(REPO / SMOKE)
    config["replications"] = replications
    config["price_data"] = str(REPO / config["price_data"])
    study = build_study(config)
    return dataclasses.replace(study, **changes)


def frames_equal(a, b):
    assert a.keys() == b.keys()
    for cid in a:
        left = a[cid].drop(columns="seconds")
        right = b[cid].drop(columns="seconds")
        pd.testing.assert_frame_equal(left, right, check_exact=True)


def test_replication_seeds_are_distinct_and_stable():
    seeds = {replication_seed(7, c, r) for c in range(20) for r in range(50)}
    assert len(seeds) == 1000
    assert replication_seed(7, 3, 4) == replication_seed(7, 3, 4)
    assert replication_seed(7, 3, 4) != replication_seed(8, 3, 4)
    assert all(0 <= s < 2**63 for s in seeds)


@pytest.mark.filterwarnings("ignore::estimator.results.ConvergenceWarning")
def test_a_record_is_reproduced_from_its_seed_alone(tmp_path):
    study = small_study(replications=2)
    records = run_study(study, tmp_path, progress=None)
    row = records[1].iloc[1]
    root = np.random.SeedSequence(int(row["seed"]))
    condition = study.conditions[1]
    data = mixture.generate(condition, np.random.default_rng(seed_sequence(root, 0)))
    again = mixture.analyse(condition, data, np.random.default_rng(seed_sequence(root, 1)))
    for key, value in again.items():
        assert row[key] == value, key


@pytest.mark.slow
@pytest.mark.parametrize(("n_jobs", "backend", "batch_size"), [(2, "loky", 3), (2, "threading", 1)])
def test_records_identical_for_any_number_of_workers(tmp_path, n_jobs, backend, batch_size):
    study = small_study(replications=5)
    one = run_study(study, tmp_path / "one", n_jobs=1, batch_size=5, progress=None)
    many = run_study(
        study,
        tmp_path / "many",
        n_jobs=n_jobs,
        backend=backend,
        batch_size=batch_size,
        progress=None,
    )
    frames_equal(one, many)
    for cid in one:  # and the checkpoint files hold exactly the same records
        a = pd.DataFrame(read_records(raw_path(tmp_path / "one", cid))).drop(columns="seconds")
        b = pd.DataFrame(read_records(raw_path(tmp_path / "many", cid))).drop(columns="seconds")
        pd.testing.assert_frame_equal(a, b, check_exact=True)
        pd.testing.assert_frame_equal(a, one[cid].drop(columns="seconds"), check_exact=True)


class Interrupted(BaseException):
    """Stands for Ctrl-C or a killed job: not an error of one replication."""


@pytest.mark.slow
def test_resume_after_interrupted_run(tmp_path):
    reference = run_study(small_study(replications=6), tmp_path / "ref", progress=None)
    calls = {"n": 0}

    def dying_generate(condition, seed):
        calls["n"] += 1
        if calls["n"] > 17:
            raise Interrupted
        return mixture.generate(condition, seed)

    with pytest.raises(Interrupted):
        run_study(
            small_study(replications=6, generate=dying_generate, version="1"),
            tmp_path / "run",
            batch_size=2,
            progress=None,
        )
    saved = sum(len(read_records(raw_path(tmp_path / "run", c))) for c in range(8))
    assert 0 < saved < 48 and saved % 2 == 0  # whole batches only

    def counting_generate(condition, seed):
        calls["again"] = calls.get("again", 0) + 1
        return mixture.generate(condition, seed)

    resumed = run_study(
        small_study(replications=6, generate=counting_generate, version="1"),
        tmp_path / "run",
        batch_size=2,
        progress=None,
    )
    assert calls["again"] == 48 - saved  # finished replications were not recomputed
    frames_equal(resumed, reference)
    for cid, frame in resumed.items():
        assert frame["replication"].tolist() == list(range(6))  # none missing, none twice
        assert len(read_records(raw_path(tmp_path / "run", cid))) == 6


@pytest.mark.slow
def test_more_replications_later_runs_only_the_new_ones(tmp_path):
    run_study(small_study(replications=2, version="1"), tmp_path, progress=None)
    calls = []

    def counting_generate(condition, seed):
        calls.append(condition.id)
        return mixture.generate(condition, seed)

    records = run_study(
        small_study(replications=3, generate=counting_generate, version="1"),
        tmp_path,
        progress=None,
    )
    assert len(calls) == 8  # one new replication in each of the 8 conditions
    frames_equal(records, run_study(small_study(replications=3), tmp_path / "fresh", progress=None))


def test_a_different_study_is_refused(tmp_path):
    run_study(small_study(replications=1), tmp_path, progress=None)
    with pytest.raises(StudyMismatchError):
        run_study(small_study(replications=1, seed=99), tmp_path, progress=None)


@pytest.mark.slow
def test_a_failing_replication_is_recorded_and_the_study_goes_on(tmp_path, capsys):
    def flaky_generate(condition, seed):
        data = mixture.generate(condition, seed)
        if condition.id == 1 and data.labels.sum() % 2:
            raise ValueError("odd draw")
        return data

    study = small_study(replications=6, generate=flaky_generate)
    records = run_study(study, tmp_path, progress=sys.stderr)
    bad = records[1][records[1]["status"] == "error"]
    assert 0 < len(bad) < 6
    assert set(bad["error"]) == {"ValueError: odd draw"}
    for _, row in bad.iterrows():  # the recorded seed is that replication's seed
        assert row["seed"] == replication_seed(study.seed, 1, row["replication"])
    assert all((f["status"] == "ok").all() for cid, f in records.items() if cid != 1)
    summary = condition_summary(study.conditions[1], records[1], mixture.summarise)
    assert summary["n_errors"] == len(bad) and summary["n_ok"] == 6 - len(bad)
    assert "errors" in capsys.readouterr().err  # progress line counts them


def test_one_condition_failing_everywhere(tmp_path):
    study = small_study(replications=2)
    broken = dataclasses.replace(
        study.conditions[0], factors={**study.conditions[0].factors, "T": 60}
    )
    study = dataclasses.replace(study, conditions=[broken, *study.conditions[1:]])
    records = run_study(study, tmp_path, progress=None)
    assert (records[0]["status"] == "error").all()
    assert records[0]["error"].str.contains("52 weeks").all()
    assert (records[1]["status"] == "ok").all()
    summary = condition_summary(broken, records[0], mixture.summarise)
    assert summary["n_errors"] == 2 and "selection" not in summary
    # tables and figures still come out, the failed condition shown as missing
    summaries = jsonable(summarise_study(study, records, mixture.summarise))
    report.write_report(summaries, records, tmp_path / "report", figures=False)
    with style.style():
        assert plot_nested_loops(summaries, tmp_path / "report")
    selection_md = (tmp_path / "report" / "tables" / "selection.md").read_text()
    cells = [cell.strip() for cell in selection_md.splitlines()[2].split("|")]
    assert cells[2:5] == ["0", "2", "- [-, -]"]  # n ok, errors, BIC hit rate [interval]


def test_batches_interleave_conditions():
    tasks = plan_batches({0: [0, 1, 2], 1: [4], 2: [0, 1, 2, 3]}, batch_size=2)
    assert tasks == [(0, [0, 1]), (1, [4]), (2, [0, 1]), (0, [2]), (2, [2, 3])]


@pytest.mark.slow
def test_killed_process_resumes_without_loss_or_duplicates(tmp_path):
    out = tmp_path / "killed"
    command = [
        sys.executable,
        "-m",
        "experiments.selection",
        "--config",
        str(SMOKE),
        "--replications",
        "12",
        "--batch-size",
        "1",
        "--out",
        str(out),
        "--quiet",
        "--no-figures",
    ]
    proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and not list((out / "raw").glob("condition_*.csv")):
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = sum(len(read_records(p)) for p in (out / "raw").glob("condition_*.csv"))
    assert 0 < partial < 96, "the process should be killed mid-study"
    subprocess.run(command, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    assert not list((out / "raw").glob(".*.tmp"))  # a temp file torn by the kill is removed
    resumed = {c: pd.DataFrame(read_records(raw_path(out, c))) for c in range(8)}
    reference = run_study(small_study(replications=12), tmp_path / "ref", progress=None)
    for frame in resumed.values():
        assert frame["replication"].tolist() == list(range(12))
    frames_equal(resumed, reference)


class Noise(UserWarning):
    """A warning a study records and silences."""


def _warn_and_wait(condition, rng):
    time.sleep(0.002 * rng.random())  # threads interleave their entries and exits
    warnings.warn("recorded by the study", Noise, stacklevel=1)
    return 0.0


def _noted(condition, data, rng):
    warnings.warn("recorded by the study", Noise, stacklevel=1)
    return {"value": data}


@pytest.mark.parametrize("backend", ["threading", "sequential"])
def test_quiet_warnings_stay_quiet_with_worker_threads(tmp_path, backend):
    """catch_warnings is not thread-safe: worker threads run under the driver's filters."""
    study = make_study([{"a": i} for i in range(4)], 60, _warn_and_wait, _noted, quiet=(Noise,))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_study(study, tmp_path, n_jobs=2, backend=backend, batch_size=1, progress=None)
    assert [w for w in caught if issubclass(w.category, Noise)] == []
