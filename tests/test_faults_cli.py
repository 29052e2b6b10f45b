"""The commands as their users meet them: exit statuses, Ctrl-C, verbosity and warnings.

Real processes: Ctrl-C is a SIGINT sent to a running command, its child restoring
SIGINT's default action (a shell that started pytest in the background passes it on
ignored); every wait has a deadline and waits for something the command says or does.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from experiments import sigma_calibration
from simstudy.cli.args import run_cli

REPO = Path(__file__).resolve().parents[1]


def command(*args, env=None, **popen):
    """Start ``python -m experiments.ARGS`` with SIGINT's default action."""
    return subprocess.Popen(
        [sys.executable, "-m", *args],
        cwd=REPO,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        **popen,
    )


def test_an_empty_checkpoint_exits_2_from_every_command(tmp_path, capsys):
    args = ["--reps", "2", "--n-init", "1", "--out", str(tmp_path)]
    assert run_cli(sigma_calibration.main, args) == 0
    empty = tmp_path / "raw" / "condition_0000.csv"
    empty.write_bytes(b"")
    capsys.readouterr()
    assert run_cli(sigma_calibration.main, args) == 2
    assert capsys.readouterr().err == (
        f"error: {empty}: empty checkpoint file (0 bytes); delete it to recompute that "
        "condition's replications, or restore it from a copy\n"
    )


def test_ctrl_c_while_a_command_imports_is_one_line_and_130(tmp_path):
    """The command is held inside ``import scipy`` (a finder on PYTHONPATH) until Ctrl-C."""
    (tmp_path / "sitecustomize.py").write_text(
        textwrap.dedent(
            """
            import importlib.abc, os, sys, time

            class Hold(importlib.abc.MetaPathFinder):
                def find_spec(self, name, path, target=None):
                    if name == "scipy":
                        open(os.environ["HELD"], "w").close()
                        time.sleep(120)

            sys.meta_path.insert(0, Hold())
            """
        )
    )
    held = tmp_path / "held"
    env = {"PYTHONPATH": f"{tmp_path}{os.pathsep}{REPO}", "HELD": str(held)}
    job = command("experiments.fit_real", "--k", "1", env=env)
    deadline = time.time() + 60
    while time.time() < deadline and not held.exists():
        assert job.poll() is None, job.communicate()
        time.sleep(0.01)
    job.send_signal(signal.SIGINT)
    out, err = job.communicate(timeout=60)
    assert (job.returncode, out, err) == (130, "", "interrupted\n")


@pytest.mark.slow
def test_ctrl_c_in_fit_real_blrt_is_one_line_and_130(tmp_path):
    job = command(
        "experiments.fit_real", "--k", "1", "2", "--n-init", "2", "--blrt", "999",
        "--out", str(tmp_path),
    )  # fmt: skip
    deadline = threading.Timer(120, job.kill)  # no heartbeat within 120 s: stop waiting
    deadline.start()
    for line in job.stderr:  # the heartbeat of the bootstrap tests, after 3 s
        if line.startswith("bootstrap likelihood-ratio tests, B = 999: "):
            break
    deadline.cancel()
    assert job.poll() is None, "the bootstrap tests ended (or hung) before Ctrl-C"
    job.send_signal(signal.SIGINT)
    out, err = job.communicate(timeout=60)
    assert (job.returncode, err) == (130, "interrupted\n")
    assert not (tmp_path / "results.json").exists()


@pytest.fixture
def few_stores(tmp_path):
    """Eight stores of the real panel: K >= 2 gives warnings (coinciding segments)."""
    rows = [line.split(",")[:9] for line in (REPO / "data" / "609948.csv").read_text().split()]
    path = tmp_path / "few.csv"
    path.write_text("".join(",".join(row) + "\n" for row in rows))
    return path


def test_a_command_shows_each_warning_as_one_line(tmp_path, few_stores):
    job = command(
        "experiments.fit_real", "--data", str(few_stores), "--k", "1", "2", "3", "--n-init", "2",
        "--out", str(tmp_path),
    )  # fmt: skip
    out, err = job.communicate(timeout=120)
    lines = err.splitlines()
    assert job.returncode == 0 and out
    assert "warning: K = 2: two segments coincide; the data support fewer segments" in lines
    assert all(line.startswith("warning: ") for line in lines), err  # no source lines


def test_v_shows_the_library_log_and_q_only_warnings(tmp_path, few_stores, capsys):
    import logging
    import warnings

    from experiments import fit_real, selection

    shown, handlers = warnings.showwarning, logging.getLogger("salesmix").handlers[:]
    args = ["--data", str(few_stores), "--k", "1", "2", "--n-init", "2", "--out", str(tmp_path)]
    for flags, expected in [
        ([], set()),
        (["-v"], {"INFO"}),
        (["-vv"], {"INFO", "DEBUG"}),
        (["-q"], set()),
    ]:
        assert run_cli(fit_real.main, [*args, *flags]) == 0
        err = capsys.readouterr().err.splitlines()
        assert {line.split()[0] for line in err} == expected | {"warning:"}, err
        if "DEBUG" in expected:
            assert any(line.startswith("DEBUG salesmix.estimator.fit: K = 1: ") for line in err)
    assert warnings.showwarning is shown  # nothing left behind in this process
    assert logging.getLogger("salesmix").handlers == handlers
    smoke = REPO / "experiments" / "configs" / "smoke.json"
    argv = ["--config", str(smoke), "--replications", "1", "--out", str(tmp_path / "s")]
    argv += ["--no-figures", "-q"]
    assert run_cli(selection.main, argv) == 0
    assert capsys.readouterr().err == ""  # no progress lines
