"""Every flag of every entry point is checked as it is parsed: one line naming it, exit status 2."""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from simstudy.cli import args as cliargs
from simstudy.cli import parsers as commands
from simstudy.cli import study as cli
from simstudy.studies import mixture

REPO = Path(__file__).resolve().parents[1]
SMOKE = REPO / "experiments" / "configs" / "smoke.json"
PARSERS = {
    "fit_real": commands.fit_real_parser,
    "recovery": lambda: commands.study_parser("recovery"),
    "selection": lambda: commands.study_parser("selection"),
    "restarts": commands.restarts_parser,
    "report": commands.report_parser,
    "benchmark": commands.benchmark_parser,
    "baselines": commands.baselines_parser,
    "sigma_calibration": commands.sigma_calibration_parser,
    "guard": lambda: cli.design_parser("guard", 1, "The guard study."),
}


@pytest.mark.parametrize("name", PARSERS)
def test_help_documents_every_option_and_its_default(name):
    parser = PARSERS[name]()
    text = parser.format_help()
    for action in parser._actions:
        if action.help == argparse.SUPPRESS:  # internal flags the program passes itself
            continue
        assert action.help, f"{name}: {action.option_strings} has no help text"
        if action.default not in (None, False, argparse.SUPPRESS):
            assert f"(default: {action.default})" in " ".join(text.split()), action.option_strings
    assert "--debug" in text
    assert "issue" not in text.lower() and "brief" not in text.lower()


@pytest.fixture()
def places(tmp_path):
    a_file = tmp_path / "a_file.txt"
    a_file.write_text("x")
    return {"FILE": str(a_file), "DIR": str(tmp_path), "UNDER": str(a_file / "out")}


BAD = [
    ("fit_real", ["--k", "0"], "--k", "expected an integer >= 1, got '0'"),
    ("fit_real", ["--k", "2", "-1"], "--k", "expected an integer >= 1, got '-1'"),
    ("fit_real", ["--n-init", "0"], "--n-init", ">= 1"),
    ("fit_real", ["--tol", "-1"], "--tol", "expected a finite number > 0, got '-1'"),
    ("fit_real", ["--tol", "tiny"], "--tol", "expected a number > 0, got 'tiny'"),
    ("fit_real", ["--seed", "-1"], "--seed", "expected an integer >= 0, got '-1'"),
    ("fit_real", ["--bootstrap", "-5"], "--bootstrap", ">= 0, got '-5'"),
    ("fit_real", ["--max-iter", "0"], "--max-iter", ">= 1"),
    ("fit_real", ["--n-jobs", "0"], "--n-jobs", "workers >= 1 (or -1 for every core)"),
    ("fit_real", ["--data", "{DIR}"], "--data", "is a folder; expected a file"),
    ("fit_real", ["--data", "{DIR}/nothing.csv"], "--data", "no such file"),
    ("fit_real", ["--out", "{UNDER}"], "--out", "which is a file"),
    ("fit_real", ["--out", "{FILE}"], "--out", "is a file; expected a folder"),
    ("recovery", ["--config", str(SMOKE), "--replications", "0"], "--replications", ">= 1"),
    ("recovery", ["--config", str(SMOKE), "--batch-size", "0"], "--batch-size", ">= 1"),
    ("recovery", ["--config", str(SMOKE), "--n-jobs", "0"], "--n-jobs", "workers"),
    ("selection", ["--config", "{DIR}"], "--config", "is a folder"),
    ("selection", ["--config", str(SMOKE), "--out", "{UNDER}"], "--out", "which is a file"),
    ("selection", ["--config", str(SMOKE), "--checkpoint-seconds", "-1"], "--checkpoint", ">= 0"),
    ("restarts", ["--seeds", "0"], "--seeds", ">= 1"),
    ("restarts", ["--tol", "1e-8", "0"], "--tol", "> 0, got '0'"),
    ("report", ["--n-jobs", "0"], "--n-jobs", "workers"),
    ("report", ["--baseline-replications", "0"], "--baseline-replications", ">= 1"),
    ("benchmark", ["--repeats", "0"], "--repeats", ">= 1"),
    ("benchmark", ["--seed", "-1"], "--seed", ">= 0"),
    ("baselines", ["--replications", "0"], "--replications", ">= 1"),
    ("baselines", ["--gmm-n-init", "0"], "--gmm-n-init", ">= 1"),
    ("sigma_calibration", ["--reps", "0"], "--reps", ">= 1"),
    ("sigma_calibration", ["--truth-dir", "{FILE}"], "--truth-dir", "expected an existing folder"),
    ("guard", ["--replications", "-3"], "--replications", ">= 1, got '-3'"),
    ("guard", ["--n-jobs", "0"], "--n-jobs", "workers"),
    ("guard", ["--out", "{UNDER}"], "--out", "which is a file"),
]


@pytest.mark.parametrize(
    ("name", "argv", "flag", "message"), BAD, ids=[" ".join(b[1]) for b in BAD]
)
def test_bad_flags_get_one_line_naming_the_flag(name, argv, flag, message, places, capsys):
    argv = [a.format(**places) for a in argv]
    with pytest.raises(SystemExit) as caught:
        PARSERS[name]().parse_args(argv)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "usage" not in err
    assert f"error: argument {flag}" in err and message in err


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_an_unwritable_output_folder_is_refused(tmp_path):
    read_only = tmp_path / "read_only"
    read_only.mkdir(mode=0o500)
    targets = ["/proc/salesmix_out"] + ([str(read_only / "out")] if os.geteuid() != 0 else [])
    for target in targets:  # root may write anywhere but in /proc
        with pytest.raises(argparse.ArgumentTypeError, match="cannot write into"):
            cliargs.output_dir(target)
    assert cliargs.output_dir(str(tmp_path / "new" / "deeper")) == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()  # checked, not created


def test_cli_exits_2_in_a_subprocess_without_a_traceback():
    result = subprocess.run(
        [sys.executable, "-m", "experiments.fit_real", "--k", "0"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (
        "python -m experiments.fit_real: error: argument --k: expected an integer >= 1, "
        "got '0' (see --help)\n"
    )


def test_run_cli_turns_an_unexpected_error_into_one_line(capsys):
    def broken(argv):
        raise KeyError("columns")

    assert cliargs.run_cli(broken, []) == 1
    assert capsys.readouterr().err == ("error: KeyError: 'columns' (--debug shows the traceback)\n")
    with pytest.raises(KeyError):
        cliargs.run_cli(broken, ["--debug"])


def test_heartbeat_speaks_only_when_the_work_is_long():
    stream = io.StringIO()
    with cliargs.Heartbeat("fitting K = [1, 2]", stream, after=0.0, every=0.01) as beat:
        deadline = threading.Event()
        while not beat.lines and not deadline.wait(0.01):
            pass
    assert stream.getvalue().startswith("fitting K = [1, 2]: ")
    quiet = io.StringIO()
    with cliargs.Heartbeat("fast", quiet, after=3600):
        pass
    assert quiet.getvalue() == ""


def _study(tmp_path, capsys, *extra):
    code = cli.main(
        ["--config", str(SMOKE), "--replications", "1", "--backend", "sequential", "--quiet",
         "--out", str(tmp_path), *extra],
        "selection",
    )  # fmt: skip
    return code, capsys.readouterr()


@pytest.mark.filterwarnings("ignore::estimator.results.ConvergenceWarning")
def test_no_figures_does_not_claim_figures(tmp_path, capsys):
    code, out = _study(tmp_path, capsys, "--no-figures")
    assert code == 0
    assert out.out.splitlines()[-1].endswith("summary.json, raw/, tables/")
    assert not (tmp_path / "figures").exists()


def test_a_study_whose_every_replication_fails_exits_1_with_the_first_error(
    tmp_path, capsys, monkeypatch
):
    def boom(condition, data, seed):
        raise FloatingPointError("no stores left")

    monkeypatch.setattr(mixture, "analyse", boom)
    code, out = _study(tmp_path, capsys)
    assert code == 1
    assert out.err.splitlines() == [
        "error: every one of the 8 replications failed; the first (condition 0, replication 0): "
        f"FloatingPointError: no stores left (records in {tmp_path}/raw/)"
    ]
    assert (tmp_path / "raw" / "condition_0000.csv").is_file()
