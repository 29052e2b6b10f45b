"""What the benchmark runs: its settings, stopping rules and targets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from estimator import DEFAULT_MAX_ITER, DEFAULT_TOL

from ..harness.files import read_json
from ..studies.paths import BENCHMARK_SEED, OUTPUTS, REAL_LIKE_CONFIG

DEFAULT_OUT = OUTPUTS / "benchmark"
REFRESHABLE = ("studies", "newton-steps", "probes", "flexmix")
"""Parts of benchmark.json that ``--refresh`` redoes alone: the committed studies' wall times
(re-read, nothing timed), case 6, the million-store probes (fresh processes), case 7 (R's
flexmix on the real panel)."""


DEFAULT_SEED = BENCHMARK_SEED
LIBRARY_RULE = (DEFAULT_TOL, DEFAULT_MAX_ITER)
BRIEF_STUDY_RULE = (1e-8, 1000)
CHUNK_STORES = 50_000
"""Stores generated (and reduced to sufficient statistics) at a time in case 3."""
KEEP_Y_MAX_STORES = 100_000
"""Largest N whose full N x T matrix is kept for the straightforward implementation."""
TARGET_REAL_RATIO = 100.0
TARGET_STUDY_SECONDS = 25.0
TARGET_REAL_FIT_SECONDS = 0.025
"""Case 1: K = 1..4 x 10 starts on the real data, certified maxima, median fit time."""
TARGET_REPLICATION_SECONDS = 0.040
"""Case 2: one real_like replication (K = 1..5 x 10 starts)."""
TARGET_MILLION_FIT_SECONDS = 3.0
"""Case 3 at N = 1,000,000 (K = 3, 5 starts): the fit after the sufficient-statistics pass."""
TARGET_MILLION_RSS_MB = 500.0
"""The N = 1,000,000 probe: peak resident memory of the whole pipeline in a fresh process."""
TARGET_GRID_SECONDS = 20 * 60.0
"""The selection grid study (288 conditions x 200 replications), n_jobs = 2."""
TARGET_BLRT_REAL_SECONDS = 5.0
"""The BLRT on the real data: K0 = 1..3, B = 99, n_jobs = 2 (the observed fits excluded)."""
TARGET_BLRT_REPLICATION_SECONDS = 2.0
"""One replication of the blrt_grid study (fits of K = 1..4 and the sequential BLRT)."""
TARGET_BLRT_GRID_SECONDS = 60 * 60.0
"""The blrt_grid study (12 conditions x 200 replications, B = 99), n_jobs = 2."""
TARGET_UNGROUPED_SECONDS = 2.0
"""An ungrouped fit of 100,000 rows, K = 3, 3 coefficients, 10 starts (issue 19)."""
TARGET_CONCOMITANT_RATIO = 2.0
"""A concomitant fit at most twice the constant-prior fit of the same data (issue 20)."""
TARGET_FLEXMIX_RATIO = 400.0
"""Case 7: salesmix at least this many times faster than R's flexmix on the same fit."""
MB = 1024.0**2


# -- settings -----------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """What the benchmark runs: ``repeats`` timed runs of ours per case (``big_repeats`` for
    N >= 300,000); the straightforward EM as often as fits in ``naive_repeat_seconds``, if
    its estimate is within ``naive_budget`` (cases 3, 4) or ``naive_budget_real`` (1, 2);
    cases 1 and 2 under every stopping rule of ``rules``; ``million_probe``: the largest N
    again in fresh processes; case 5 with ``study``; ``blrt_n_boot`` 0: no BLRT case.
    """

    quick: bool = False
    repeats: int = 5
    big_repeats: int = 2
    naive_budget: float = 60.0
    naive_budget_real: float = 300.0
    naive_repeat_seconds: float = 30.0
    real_ks: tuple[int, ...] = (1, 2, 3, 4)
    real_n_init: int = 10
    study_ks: tuple[int, ...] = (1, 2, 3, 4, 5)
    study_n_init: int = 10
    rules: tuple[tuple[float, int], ...] = ()
    n_values: tuple[int, ...] = (300, 3000, 30_000, 300_000, 1_000_000)
    n_init_synth: int = 5
    t_values: tuple[int, ...] = (13, 52, 208, 520)
    k_values: tuple[int, ...] = (2, 4, 8)
    n_case4: int = 3000
    million_probe: bool = True
    study: bool = False
    study_replications: int | None = None
    study_jobs: tuple[int, ...] = (1, 2)
    blrt_n_boot: int = 99
    seed: int = DEFAULT_SEED


def default_settings(quick: bool = False) -> Settings:
    """The full benchmark, or with ``quick`` a smoke run of a few seconds."""
    candidates = (LIBRARY_RULE, _config_rule(), BRIEF_STUDY_RULE)
    rules = tuple(dict.fromkeys(rule for rule in candidates if rule is not None))
    if not quick:
        return Settings(rules=rules)
    return Settings(
        quick=True, repeats=1, big_repeats=1, naive_budget=1.0, naive_budget_real=2.0,
        naive_repeat_seconds=0.5, real_ks=(1, 2), real_n_init=2, study_ks=(1, 2), study_n_init=2,
        rules=(BRIEF_STUDY_RULE,), n_values=(300, 1000), n_init_synth=2, t_values=(26, 52),
        k_values=(2,), n_case4=300, million_probe=False, study_jobs=(1, 2), blrt_n_boot=19,
    )  # fmt: skip


def real_like_config() -> dict[str, Any] | None:
    return read_json(REAL_LIKE_CONFIG) if REAL_LIKE_CONFIG.is_file() else None


def _config_rule() -> tuple[float, int] | None:
    """The real_like study's own stopping rule, when its config exists."""
    fit = (real_like_config() or {}).get("fit")
    return None if fit is None else (float(fit["tol"]), int(fit["max_iter"]))


def rule_label(tol: float, max_iter: int) -> str:
    """The stopping rule as the tables print it."""
    origin = ""
    if (tol, max_iter) == LIBRARY_RULE:
        origin = " (library default)"
    elif (tol, max_iter) == _config_rule():
        origin = " (real_like.json)"
    elif (tol, max_iter) == BRIEF_STUDY_RULE:
        origin = " (study setting in the brief)"
    return f"tol {tol:g}, max_iter {max_iter}{origin}"
