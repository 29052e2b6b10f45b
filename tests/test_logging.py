"""The library logs through `logging` under one named logger, never prints, keeps warnings."""

import ast
import logging
import subprocess
import sys

import pytest
from conftest import REAL_DATA, REPO

from estimator import (
    ConvergenceWarning,
    bootstrap_lrt,
    bootstrap_se,
    fit_mixture,
    load_csv,
    select_k,
    sufficient_stats,
)

FAST = {"n_init": 3, "tol": 1e-8}


def test_the_estimator_never_prints():
    printing = []
    for path in sorted((REPO / "estimator").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
                printing.append(f"{path.relative_to(REPO)}:{node.lineno}")
            if isinstance(node, ast.Attribute) and node.attr in ("stdout", "stderr"):
                printing.append(f"{path.relative_to(REPO)}:{node.lineno} sys.{node.attr}")
    assert printing == []


def test_the_library_logger_has_only_a_null_handler():
    logger = logging.getLogger("salesmix")
    assert [type(h) for h in logger.handlers] == [logging.NullHandler]
    assert logger.propagate and logger.level == logging.NOTSET


def test_fits_selection_and_bootstraps_log_under_salesmix(caplog):
    caplog.set_level(logging.DEBUG, logger="salesmix")
    panel = load_csv(REAL_DATA)
    stats = panel.sufficient_stats()
    select_k(panel, (1, 2), random_state=0, **FAST)
    fit = fit_mixture(stats, 2, seed=1, **FAST)
    bootstrap_se(fit, stats, 2, seed=0, n_init=0)
    bootstrap_lrt(stats, 2, 19, seed=0, n_init=1)
    records = [r for r in caplog.records if r.name.startswith("salesmix")]
    assert records and all(r.name.startswith("salesmix.estimator.") for r in records)
    by_level = {
        level: [r.getMessage() for r in records if r.levelno == level]
        for level in (logging.DEBUG, logging.INFO)
    }
    assert any(m.startswith(f"{REAL_DATA}: wide, 300 stores x 52 weeks") for m in by_level[10])
    assert any(m.startswith("K = 2: best log L") and "certified" in m for m in by_level[10])
    infos = by_level[logging.INFO]
    assert [m.split(":")[0] for m in infos if m.startswith("K = ")] == ["K = 1", "K = 2"]
    assert any(m.startswith("bootstrap standard errors: 2 of 2 refits used") for m in infos)
    assert any(m.startswith("BLRT 1 vs 2 segments: LR") for m in infos)
    assert all("\n" not in r.getMessage() for r in records)


def test_warnings_stay_warnings_when_logging_is_on(caplog):
    caplog.set_level(logging.DEBUG, logger="salesmix")
    panel = load_csv(REAL_DATA)
    stats = sufficient_stats(panel.y[:40] * 1e100, panel.X)  # Newton cannot certify it
    with pytest.warns(ConvergenceWarning, match="not a certified maximum"):
        fit_mixture(stats, 2, n_init=3, seed=3, max_iter=50)
    assert any("NOT certified" in r.getMessage() for r in caplog.records)  # logged as well


def test_a_program_that_configures_nothing_sees_nothing_and_basic_config_shows_records():
    script = (
        "import logging, sys, warnings\n"
        "warnings.simplefilter('ignore')\n"
        "if sys.argv[1] == 'on':\n"
        "    logging.basicConfig(\n"
        "        level=logging.DEBUG, format='%(name)s %(levelname)s %(message)s')\n"
        "from estimator import select_k\n"
        "select_k('data/609948.csv', (1, 2), n_init=2, random_state=0)\n"
    )
    runs = {
        mode: subprocess.run(
            [sys.executable, "-c", script, mode],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
        )
        for mode in ("off", "on")
    }
    assert runs["off"].returncode == 0 and runs["off"].stdout == runs["off"].stderr == ""
    lines = runs["on"].stderr.splitlines()
    assert "salesmix.estimator.selection INFO K = 2: log L -22204.865" in "\n".join(lines)
    assert all(line.startswith("salesmix.") for line in lines)
