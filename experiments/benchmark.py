"""Benchmark the EM engine against a straightforward implementation.

Usage::

    python -m experiments.benchmark [--quick] [--out outputs/benchmark] [--repeats R]
        [--study] [--study-replications R] [--naive-budget SECONDS] [--blas-threads N]

Cases (each timed in this one process, median of several runs):

1. the real panel (data/609948.csv), K = 1..4, n_init = 10 each;
2. one replication of the real_like study (experiments/configs/real_like.json):
   a generated N = 300, T = 52 panel, K = 1..5, n_init = 10;
3. synthetic panels, N in {300, ..., 1,000,000}, T = 52, K = 3, n_init = 5,
   generated in chunks of stores so that the N x T matrix never exists at once;
4. T in {13, 52, 208, 520} and K in {2, 4, 8} at N = 3000;
5. (``--study``) the whole real_like study through ``python -m experiments.recovery``
   with n_jobs = 1 and 2, wall time of the command.

"Ours" is :func:`estimator.selection.fit_k_range` (the user's path: it draws the
starts and runs all restarts of one K as one batched array computation) on
sufficient statistics, plus the one pass that computes them. The
straightforward implementation (:mod:`experiments.naive_em`) is handed the very
same starting values and uses the same stopping rule; its log-likelihoods are
compared with ours restart by restart. It runs only where its estimated time
(its measured time per iteration times our iteration count) is within the
budget; otherwise the estimate is reported and marked as such.

Writes OUT/benchmark.md, OUT/benchmark.json and OUT/time_vs_n.{png,pdf}.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import scipy
from scipy.special import logsumexp
from scipy.stats import norm
from tabulate import tabulate

from estimator.atomic import write_json_atomic, write_text_atomic
from estimator.csvio import load_csv
from estimator.em import DEFAULT_INIT, DEFAULT_MAX_ITER, DEFAULT_TOL, prepare, run_em
from estimator.engine import em_sweep
from estimator.init import seed_sequence, starting_values
from estimator.panel import (
    SufficientStats,
    concat_stats,
    design_matrix,
    sufficient_stats,
)
from estimator.results import ConvergenceWarning
from estimator.selection import fit_k_range
from simstudy import cliargs
from simstudy.generate import Truth, draw_prices, generate_panel

from .naive_em import naive_e_step, naive_fit, naive_m_step

REAL_DATA = Path("data/609948.csv")
REAL_LIKE_CONFIG = Path("experiments/configs/real_like.json")
DEFAULT_OUT = Path("outputs/benchmark")
DEFAULT_SEED = 20261205
LIBRARY_RULE = (DEFAULT_TOL, DEFAULT_MAX_ITER)
BRIEF_STUDY_RULE = (1e-8, 1000)
FALLBACK_TRUTH = {
    "theta": [[9.886, -1.202], [10.794, -1.065], [11.654, -1.822]],
    "pi": [0.0733, 0.8357, 0.0910],
    "sigma": 1.0,
}
CHUNK_STORES = 50_000
"""Stores generated (and reduced to sufficient statistics) at a time in case 3."""
KEEP_Y_MAX_STORES = 100_000
"""Largest N whose full N x T matrix is kept for the straightforward implementation."""
TARGET_REAL_SECONDS = 0.1
TARGET_REAL_RATIO = 100.0
TARGET_STUDY_SECONDS = 60.0
TARGET_MILLION_SECONDS = 60.0
TARGET_MILLION_BYTES = 2 * 1024**3
MB = 1024.0**2


# ---------------------------------------------------------------------------
# settings
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """What the benchmark runs.

    Attributes
    ----------
    quick : bool
        A fast smoke run (small cases, one repeat).
    repeats : int
        Timed runs per case (median reported) for ours; the straightforward
        implementation runs as often as fits in ``naive_repeat_seconds``.
    big_repeats : int
        Timed runs for N >= 300,000.
    naive_budget : float
        Seconds one straightforward run may take in cases 3 and 4 (estimated first).
    naive_budget_real : float
        The same for cases 1 and 2 (the real workloads, measured even when slow).
    naive_repeat_seconds : float
        Total seconds for repeated straightforward runs of one case.
    real_ks, real_n_init : tuple of int, int
        Case 1.
    study_ks, study_n_init : tuple of int, int
        Case 2.
    rules : tuple of (float, int)
        Stopping rules (tol, max_iter) of cases 1 and 2.
    n_values, n_init_synth : tuple of int, int
        Case 3 (K = 3, T = 52).
    t_values, k_values, n_case4 : tuple of int, tuple of int, int
        Case 4.
    million_probe : bool
        Run the largest N of case 3 again in fresh processes for their maximum RSS.
    study : bool
        Run case 5.
    study_replications : int or None
        Replications of case 5 (None: the config's).
    study_jobs : tuple of int
    seed : int
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
    seed: int = DEFAULT_SEED


def default_settings(quick: bool = False) -> Settings:
    """The full benchmark, or with ``quick`` a smoke run of a few seconds."""
    rules = _unique_rules([LIBRARY_RULE, _config_rule(), BRIEF_STUDY_RULE])
    if not quick:
        return Settings(rules=rules)
    return Settings(
        quick=True,
        repeats=1,
        big_repeats=1,
        naive_budget=1.0,
        naive_budget_real=2.0,
        naive_repeat_seconds=0.5,
        real_ks=(1, 2),
        real_n_init=2,
        study_ks=(1, 2),
        study_n_init=2,
        rules=(BRIEF_STUDY_RULE,),
        n_values=(300, 1000),
        n_init_synth=2,
        t_values=(26, 52),
        k_values=(2,),
        n_case4=300,
        million_probe=False,
        study_jobs=(1, 2),
    )


def _unique_rules(rules: Sequence[tuple[float, int] | None]) -> tuple[tuple[float, int], ...]:
    out: list[tuple[float, int]] = []
    for rule in rules:
        if rule is not None and rule not in out:
            out.append(rule)
    return tuple(out)


def _real_like_config() -> dict[str, Any] | None:
    if not REAL_LIKE_CONFIG.is_file():
        return None
    return json.loads(REAL_LIKE_CONFIG.read_text(encoding="utf-8"))


def _config_rule() -> tuple[float, int] | None:
    """The real_like study's own stopping rule, when its config exists."""
    config = _real_like_config()
    if config is None or "fit" not in config:
        return None
    return float(config["fit"]["tol"]), int(config["fit"]["max_iter"])


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


# ---------------------------------------------------------------------------
# measuring
# ---------------------------------------------------------------------------


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, list[float], Any]:
    """Run ``fn`` ``repeats`` times; return the median seconds, every time and the last result.

    The garbage collector is run before and disabled during each call.
    """
    times, result = [], None
    for _ in range(max(1, repeats)):
        result = None
        gc.collect()
        gc.disable()
        try:
            started = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - started)
        finally:
            gc.enable()
    return float(np.median(times)), times, result


def traced_peak(fn: Callable[[], Any]) -> float:
    """Peak bytes allocated (tracemalloc, numpy included) while ``fn`` runs, in MB."""
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / MB


def max_rss_mb() -> float:
    """Maximum resident set size of this process so far (ru_maxrss), in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def load_average() -> list[float]:
    """1, 5 and 15 minute load averages of the machine."""
    return [round(x, 2) for x in os.getloadavg()]


# ---------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------


@dataclass
class Workload:
    """One data set to fit, with what both implementations need.

    Attributes
    ----------
    stats : SufficientStats
    X : ndarray of shape (T, P)
    y : ndarray of shape (N, T) or None
        The full panel, kept only where the straightforward implementation may run.
    pass_seconds : float
        Time of the one pass that computed ``stats`` (median when ``y`` is held,
        else the sum over the generated chunks).
    """

    stats: SufficientStats
    X: np.ndarray
    y: np.ndarray | None
    pass_seconds: float


def in_memory_workload(y: np.ndarray, X: np.ndarray, repeats: int) -> Workload:
    """A workload whose panel fits in memory; the sufficient-statistics pass is timed."""
    seconds, _, stats = timed(lambda: sufficient_stats(y, X), repeats)
    return Workload(stats=stats, X=X, y=y, pass_seconds=seconds)


def _truth_arrays(truth: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, float]:
    return (
        np.asarray(truth["theta"], dtype=float),
        np.asarray(truth["pi"], dtype=float),
        float(truth.get("sigma", 1.0)),
    )


def generate_y(
    truth: dict[str, Any], prices: np.ndarray, n_stores: int, seed: np.random.SeedSequence
) -> np.ndarray:
    """Log sales of ``n_stores`` synthetic stores, shape (N, T) (simstudy's generator)."""
    theta, pi, sigma = _truth_arrays(truth)
    panel, _ = generate_panel(Truth(theta, pi, sigma), prices, n_stores, seed)
    return panel.y


def chunked_workload(
    truth: dict[str, Any],
    prices: np.ndarray,
    n_stores: int,
    seed: np.random.SeedSequence,
    keep_y: bool,
) -> Workload:
    """Generate a panel chunk by chunk, reducing each chunk to sufficient statistics.

    At most ``CHUNK_STORES`` x T values exist at once (unless ``keep_y``); the
    time of the sufficient-statistics pass (not of the random draws) is summed.
    """
    X = design_matrix(prices)
    parts, ys, pass_seconds = [], [], 0.0
    for index, start in enumerate(range(0, n_stores, CHUNK_STORES)):
        size = min(CHUNK_STORES, n_stores - start)
        y = generate_y(truth, prices, size, seed_sequence(seed, index))
        started = time.perf_counter()
        parts.append(sufficient_stats(y, X))
        pass_seconds += time.perf_counter() - started
        if keep_y:
            ys.append(y)
        del y
    started = time.perf_counter()
    stats = concat_stats(parts)
    pass_seconds += time.perf_counter() - started
    return Workload(
        stats=stats, X=X, y=np.concatenate(ys) if keep_y else None, pass_seconds=pass_seconds
    )


def real_like_truth() -> tuple[dict[str, Any], dict[str, Any]]:
    """Truth and fit settings of the real_like study (config, or the brief's fallback)."""
    config = _real_like_config()
    if config is None:
        return dict(FALLBACK_TRUTH), {"N": 300, "T": 52, "source": "fallback (no config)"}
    truth = dict(config["truth"])
    truth.setdefault("sigma", config.get("factors", {}).get("sigma", [1.0])[0])
    factors = config.get("factors", {})
    return truth, {
        "N": int(factors.get("N", [300])[0]),
        "T": int(factors.get("T", [52])[0]),
        "source": str(REAL_LIKE_CONFIG),
    }


def real_prices() -> np.ndarray:
    """The 52-week price series of the real panel."""
    return np.exp(load_csv(REAL_DATA).X[:, 1])


def lognormal_prices(n_weeks: int, seed: np.random.SeedSequence) -> np.ndarray:
    """I.i.d. log-normal prices with the mean and spread of the real log prices."""
    log_real = np.log(real_prices())
    spec = {
        "process": "lognormal",
        "meanlog": float(log_real.mean()),
        "sdlog": float(log_real.std()),
    }
    return draw_prices(spec, n_weeks, seed)


# ---------------------------------------------------------------------------
# the two implementations on one workload
# ---------------------------------------------------------------------------


def drawn_starts(
    stats: SufficientStats, ks: Sequence[int], n_init: int, seed: int
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """The starting values :func:`fit_k_range` draws for every K with this seed.

    fit_k_range draws K's starts from ``seed_sequence(seed_sequence(seed), K)``
    with the default init; the restart-by-restart comparison below checks that
    the straightforward implementation really got the same starts.
    """
    root = seed_sequence(seed)
    return {k: starting_values(stats, k, n_init, seed_sequence(root, k), DEFAULT_INIT) for k in ks}


def naive_iteration_seconds(
    y: np.ndarray, X: np.ndarray, theta: np.ndarray, pi: np.ndarray, repeats: int = 3
) -> float:
    """Seconds of one straightforward E-step plus M-step (median of ``repeats``)."""
    n_stores, n_weeks = y.shape
    stacked_X, stacked_y = np.tile(X, (n_stores, 1)), y.reshape(-1)

    def one() -> None:
        _, W = naive_e_step(y, X, theta, pi)
        naive_m_step(stacked_X, stacked_y, W, n_weeks)

    seconds, _, _ = timed(one, repeats)
    return seconds


@dataclass
class NaivePlan:
    """Whether and how often the straightforward implementation runs on a workload."""

    seconds_per_iter: dict[int, float]
    estimate: float
    runs: int
    reason: str
    extrapolated: bool = False


def measure(
    work: Workload,
    *,
    ks: Sequence[int],
    n_init: int,
    tol: float,
    max_iter: int,
    seed: int,
    repeats: int,
    naive_budget: float,
    naive_repeat_seconds: float,
    naive_per_iter_hint: Callable[[int], float] | None = None,
) -> dict[str, Any]:
    """Time ours and (where it fits the budget) the straightforward EM on one workload.

    Parameters
    ----------
    work : Workload
    ks : sequence of int
        Numbers of segments fitted (one fit_k_range call over all of them).
    n_init : int
        Restarts per K.
    tol, max_iter : float, int
        Stopping rule, the same for both implementations.
    seed : int
        Seed of the starting values.
    repeats : int
        Timed runs of ours.
    naive_budget : float
        Seconds one straightforward run may take; beyond it only the estimate is reported.
    naive_repeat_seconds : float
        Total seconds for repeated straightforward runs.
    naive_per_iter_hint : callable, optional
        K -> straightforward seconds per iteration, extrapolated from smaller
        data; used instead of a calibration when there is no ``work.y``.

    Returns
    -------
    dict
        One row of the benchmark (see :func:`row_columns`).
    """
    stats, ks = work.stats, tuple(ks)

    def ours() -> Any:
        return fit_k_range(stats, ks, n_init=n_init, tol=tol, max_iter=max_iter, seed=seed)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit_seconds, fit_times, selection = timed(ours, repeats)
        ours_peak = traced_peak(ours)
    starts = drawn_starts(stats, ks, n_init, seed)
    prep = prepare(stats)
    # the same starts as fit_k_range's, run by the engine's plain EM (no SQUAREM, no Newton):
    # the straightforward EM must reproduce these restart by restart; the certified fits
    # must reach at least as high a log-likelihood
    engine_runs = {
        k: run_em(prep, *starts[k], tol, max_iter, accelerate=False, polish=False) for k in ks
    }
    for k in ks:
        assert selection.fits[k].loglik >= engine_runs[k].loglik.max() - 1e-9 * abs(
            selection.fits[k].loglik
        )
    iters = int(sum(run.n_iter.sum() for run in engine_runs.values()))
    at_max = int(sum((run.n_iter >= max_iter).sum() for run in engine_runs.values()))
    ours_total = work.pass_seconds + fit_seconds
    row: dict[str, Any] = {
        "N": stats.n_stores,
        "T": work.X.shape[0],
        "K": _k_label(ks),
        "n_init": n_init,
        "tol": tol,
        "max_iter": max_iter,
        "rule": rule_label(tol, max_iter),
        "ours_pass_s": work.pass_seconds,
        "ours_fit_s": fit_seconds,
        "ours_fit_runs": fit_times,
        "ours_s": ours_total,
        "iterations": iters,
        "restarts": n_init * len(ks),
        "restarts_at_max_iter": at_max,
        "ours_us_per_iter_amortized": 1e6 * fit_seconds / max(iters, 1),
        "ours_us_per_iter": ours_iteration_us(prep, starts, ks),
        "ours_peak_mb": ours_peak,
        "best_logliks": {str(k): selection.fits[k].loglik for k in ks},
    }
    plan = _plan_naive(
        work, ks, starts, engine_runs, naive_budget, naive_repeat_seconds, naive_per_iter_hint
    )
    steps = int(sum((run.n_iter + 1).sum() for run in engine_runs.values()))
    row["naive_s_per_iter_by_k"] = {str(k): v for k, v in plan.seconds_per_iter.items()}
    row["naive_estimate_s"] = plan.estimate
    row["naive_estimate_extrapolated"] = plan.extrapolated
    if plan.runs == 0:
        row.update(
            naive_s=None,
            naive_runs=[],
            naive_status=plan.reason,
            ratio=plan.estimate / ours_total,
            ratio_estimated=True,
            naive_us_per_iter=1e6 * plan.estimate / steps,
            naive_peak_mb=None,
        )
        return row
    y, X = work.y, work.X

    def naive() -> dict[int, Any]:
        return {k: naive_fit(y, X, *starts[k], tol, max_iter) for k in ks}

    naive_seconds, naive_times, naive_fits = timed(naive, plan.runs)
    big_k = max(ks)
    naive_peak = traced_peak(
        lambda: naive_fit(y, X, starts[big_k][0][:1], starts[big_k][1][:1], tol, 2)
    )
    row.update(
        naive_s=naive_seconds,
        naive_runs=naive_times,
        naive_status=f"measured ({plan.runs} run{'s' if plan.runs > 1 else ''})",
        ratio=naive_seconds / ours_total,
        ratio_estimated=False,
        naive_us_per_iter=1e6 * naive_seconds / steps,
        naive_peak_mb=naive_peak,
    )
    row.update(_agreement(selection, engine_runs, naive_fits, ks))
    return row


FIXED_SWEEPS = 20
"""Engine iterations timed at fixed work when measuring our time per iteration."""


def engine_iteration(prep: Any, theta: np.ndarray, pi: np.ndarray) -> None:
    """One engine iteration of R batched restarts: the blockwise sweep and the M-step."""
    _, sums = em_sweep(prep, theta, pi)
    prep.m_step(sums)


def ours_iteration_us(
    prep: Any, starts: dict[int, tuple[np.ndarray, np.ndarray]], ks: tuple[int, ...]
) -> float:
    """Our microseconds per restart-iteration at fixed work.

    One engine iteration (E-step sweep over all stores and M-step) of all R
    restarts of each K together, at the starting values, ``FIXED_SWEEPS`` times;
    the time is divided by R x ``FIXED_SWEEPS``. Unlike fit time / iterations
    this mixes in neither the fixed cost of a fit nor the batch shrinking as
    restarts converge, so it is the number to compare across N and T.
    Median of 3.
    """

    def sweeps() -> int:
        for k in ks:
            for _ in range(FIXED_SWEEPS):
                engine_iteration(prep, *starts[k])
        return FIXED_SWEEPS * sum(len(starts[k][0]) for k in ks)

    seconds, _, done = timed(sweeps, 3)
    return 1e6 * seconds / done


def _plan_naive(
    work: Workload,
    ks: tuple[int, ...],
    starts: dict[int, tuple[np.ndarray, np.ndarray]],
    engine_runs: dict[int, Any],
    budget: float,
    repeat_seconds: float,
    hint: Callable[[int], float] | None,
) -> NaivePlan:
    """Estimate the straightforward time as (its seconds per iteration) x (our iterations)."""
    extrapolated = work.y is None
    if extrapolated:
        if hint is None:
            return NaivePlan({}, float("nan"), 0, "not run (no panel in memory, no estimate)")
        per_iter = {k: hint(k) for k in ks}
    else:
        per_iter = {
            k: naive_iteration_seconds(work.y, work.X, starts[k][0][0], starts[k][1][0]) for k in ks
        }
    # n_iter M-steps and n_iter + 1 E-steps per restart: count one iteration per E-step
    estimate = sum(per_iter[k] * (engine_runs[k].n_iter + 1).sum() for k in ks)
    if extrapolated or estimate > budget:
        reason = f"skipped: est. {estimate:.3g} s > {budget:g} s"
        return NaivePlan(per_iter, float(estimate), 0, reason, extrapolated)
    runs = int(max(1, min(5, repeat_seconds // max(estimate, 1e-9))))
    return NaivePlan(per_iter, float(estimate), runs, "", extrapolated)


def _agreement(
    selection: Any, engine_runs: dict[int, Any], naive_fits: dict[int, Any], ks: tuple[int, ...]
) -> dict[str, Any]:
    """How closely the straightforward EM reproduces ours from the same starts."""
    best_rel, restart_rel, theta_abs, iter_diff = 0.0, 0.0, 0.0, 0
    for k in ks:
        ours_fit, naive = selection.fits[k], naive_fits[k]
        best_rel = max(best_rel, abs(ours_fit.loglik - naive.loglik) / abs(naive.loglik))
        ours_restarts = engine_runs[k].loglik
        restart_rel = max(
            restart_rel,
            float(
                np.max(
                    np.abs(ours_restarts - naive.restart_logliks) / np.abs(naive.restart_logliks)
                )
            ),
        )
        theta_abs = max(theta_abs, float(np.max(np.abs(ours_fit.theta - naive.theta))))
        iter_diff = max(iter_diff, int(np.max(np.abs(engine_runs[k].n_iter - naive.n_iter))))
    return {
        "loglik_rel_diff_best": best_rel,
        "loglik_rel_diff_restarts": restart_rel,
        "theta_max_abs_diff": theta_abs,
        "n_iter_max_diff": iter_diff,
    }


def _k_label(ks: Sequence[int]) -> str:
    ks = sorted(ks)
    if len(ks) > 2 and ks == list(range(ks[0], ks[-1] + 1)):
        return f"{ks[0]}-{ks[-1]}"
    return ",".join(map(str, ks))


# ---------------------------------------------------------------------------
# cases
# ---------------------------------------------------------------------------


def _log(message: str) -> None:
    print(f"[benchmark {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _case_row(
    case: str, data: str, row: dict[str, Any], started_load: list[float]
) -> dict[str, Any]:
    out = {"case": case, "data": data, **row, "load_at_start": started_load}
    naive = row["naive_status"] if row["naive_s"] is None else f"{row['naive_s']:.4g} s"
    _log(
        f"case {case} {data} N={row['N']} T={row['T']} K={row['K']} {row['rule']}: ours "
        f"{row['ours_s']:.4g} s, straightforward {naive}, ratio {row['ratio']:.3g}"
    )
    return out


def case_real(settings: Settings) -> list[dict[str, Any]]:
    """Case 1: the real panel, K = 1..4, n_init = 10, under every stopping rule."""
    panel = load_csv(REAL_DATA)
    work = in_memory_workload(panel.y, panel.X, settings.repeats)
    rows = []
    for tol, max_iter in settings.rules:
        load = load_average()
        row = measure(
            work,
            ks=settings.real_ks,
            n_init=settings.real_n_init,
            tol=tol,
            max_iter=max_iter,
            seed=settings.seed,
            repeats=settings.repeats,
            naive_budget=settings.naive_budget_real,
            naive_repeat_seconds=settings.naive_repeat_seconds,
        )
        rows.append(_case_row("1", "real data (609948.csv)", row, load))
    return rows


def case_real_like(settings: Settings) -> list[dict[str, Any]]:
    """Case 2: one replication of the real_like study, K = 1..5, n_init = 10."""
    truth, shape = real_like_truth()
    prices = real_prices()[: shape["T"]]
    y = generate_y(truth, prices, shape["N"], seed_sequence(settings.seed, 2))
    work = in_memory_workload(y, design_matrix(prices), settings.repeats)
    rows = []
    for tol, max_iter in settings.rules:
        load = load_average()
        row = measure(
            work,
            ks=settings.study_ks,
            n_init=settings.study_n_init,
            tol=tol,
            max_iter=max_iter,
            seed=settings.seed + 2,
            repeats=settings.repeats,
            naive_budget=settings.naive_budget_real,
            naive_repeat_seconds=settings.naive_repeat_seconds,
        )
        rows.append(_case_row("2", "one real_like replication", row, load))
    return rows


def case_scale_n(settings: Settings) -> list[dict[str, Any]]:
    """Case 3: N from 300 to 1,000,000, T = 52, K = 3, n_init = 5, generated in chunks."""
    truth, _ = real_like_truth()
    prices = real_prices()
    rows: list[dict[str, Any]] = []
    measured: tuple[int, float] | None = None  # (N, naive s/iteration at K = 3)
    for n in settings.n_values:
        load = load_average()
        work = chunked_workload(
            truth, prices, n, seed_sequence(settings.seed, 3, n), keep_y=n <= KEEP_Y_MAX_STORES
        )
        hint = None
        if measured is not None:
            n_ref, per_iter = measured
            hint = lambda k, n=n, n_ref=n_ref, per_iter=per_iter: per_iter * n / n_ref  # noqa: E731
            if work.y is not None and _extrapolated_over_budget(work, settings, hint):
                work = replace(work, y=None)  # the brief's rule: skip on the extrapolation
        row = measure(
            work,
            ks=(3,),
            n_init=settings.n_init_synth,
            tol=DEFAULT_TOL,
            max_iter=DEFAULT_MAX_ITER,
            seed=settings.seed + 3,
            repeats=settings.repeats if n < 300_000 else settings.big_repeats,
            naive_budget=settings.naive_budget,
            naive_repeat_seconds=settings.naive_repeat_seconds,
            naive_per_iter_hint=hint,
        )
        if not row["naive_estimate_extrapolated"] and row["naive_s_per_iter_by_k"]:
            measured = (n, row["naive_s_per_iter_by_k"]["3"])
        row["process_max_rss_mb"] = max_rss_mb()
        rows.append(_case_row("3", "synthetic, chunked", row, load))
        del work
        gc.collect()
    return rows


def _extrapolated_over_budget(
    work: Workload, settings: Settings, hint: Callable[[int], float]
) -> bool:
    """True when even the extrapolated straightforward run would exceed the budget.

    Uses our iteration count on this panel (one quick engine run).
    """
    stats = work.stats
    starts = drawn_starts(stats, (3,), settings.n_init_synth, settings.seed + 3)
    run = run_em(prepare(stats), *starts[3], DEFAULT_TOL, DEFAULT_MAX_ITER)
    return hint(3) * (run.n_iter + 1).sum() > settings.naive_budget


def case_shape(settings: Settings) -> list[dict[str, Any]]:
    """Case 4: T in {13, 52, 208, 520} (K = 3) and K in {2, 4, 8} (T = 52), N = 3000."""
    truth, _ = real_like_truth()
    rows = []
    n = settings.n_case4
    for n_weeks in settings.t_values:
        load = load_average()
        prices = lognormal_prices(n_weeks, seed_sequence(settings.seed, 4, n_weeks))
        y = generate_y(truth, prices, n, seed_sequence(settings.seed, 5, n_weeks))
        work = in_memory_workload(y, design_matrix(prices), settings.repeats)
        row = measure(
            work,
            ks=(3,),
            n_init=settings.n_init_synth,
            tol=DEFAULT_TOL,
            max_iter=DEFAULT_MAX_ITER,
            seed=settings.seed + 4,
            repeats=settings.repeats,
            naive_budget=settings.naive_budget,
            naive_repeat_seconds=settings.naive_repeat_seconds,
        )
        rows.append(_case_row("4T", "synthetic, log-normal prices", row, load))
    prices = real_prices()
    y = generate_y(truth, prices, n, seed_sequence(settings.seed, 6))
    work = in_memory_workload(y, design_matrix(prices), settings.repeats)
    for k in settings.k_values:
        load = load_average()
        row = measure(
            work,
            ks=(k,),
            n_init=settings.n_init_synth,
            tol=DEFAULT_TOL,
            max_iter=DEFAULT_MAX_ITER,
            seed=settings.seed + 5,
            repeats=settings.repeats,
            naive_budget=settings.naive_budget,
            naive_repeat_seconds=settings.naive_repeat_seconds,
        )
        rows.append(_case_row("4K", "synthetic (true K = 3)", row, load))
    return rows


def case_study(settings: Settings, env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Case 5: the whole real_like study through its entry point, wall time per n_jobs.

    Runs ``python -m experiments.recovery --config experiments/configs/real_like.json
    --n-jobs J --out TMP`` in a fresh temporary folder (so nothing is resumed).
    """
    rows = []
    entry = Path("experiments/recovery.py")
    if not entry.is_file() or not REAL_LIKE_CONFIG.is_file():
        return [{"case": "5", "status": "not run: experiments/recovery.py or its config missing"}]
    config = _real_like_config() or {}
    replications = settings.study_replications or int(config.get("replications", 1000))
    for jobs in settings.study_jobs:
        out = Path(tempfile.mkdtemp(prefix="salesmix-bench-study-"))
        command = [
            sys.executable,
            "-m",
            "experiments.recovery",
            "--config",
            str(REAL_LIKE_CONFIG),
            "--n-jobs",
            str(jobs),
            "--out",
            str(out / "study"),
            "--quiet",
        ]
        if settings.study_replications:
            command += ["--replications", str(settings.study_replications)]
        load = load_average()
        _log(f"case 5: {' '.join(command[1:])}")
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        seconds = time.perf_counter() - started
        summary = out / "study" / "summary.json"
        replication_seconds = _replication_seconds(out / "study")
        row = {
            "case": "5",
            "data": "real_like study",
            "command": " ".join(["python", *command[1:7], "--out", "TMP", "--quiet"]),
            "n_jobs": jobs,
            "replications": replications,
            "seconds": seconds,
            "ms_per_replication": 1000 * seconds / replications,
            "replication_seconds_sum": replication_seconds,
            "returncode": done.returncode,
            "summary_written": summary.is_file(),
            "status": "ok" if done.returncode == 0 else "failed: " + done.stderr[-500:],
            "load_at_start": load,
        }
        _log(f"case 5 n_jobs={jobs}: {seconds:.1f} s, {row['status'][:80]}")
        rows.append(row)
        shutil.rmtree(out, ignore_errors=True)
    return rows


def _replication_seconds(folder: Path) -> float | None:
    """Sum of the per-replication ``seconds`` in a study's raw records (None if unreadable)."""
    try:
        import pandas as pd

        frames = [pd.read_csv(path) for path in sorted((folder / "raw").glob("*.csv"))]
        return float(sum(frame["seconds"].sum() for frame in frames)) if frames else None
    except (OSError, KeyError, ValueError):
        return None


# ---------------------------------------------------------------------------
# the million-store probe (fresh process: its max RSS is the pipeline's alone)
# ---------------------------------------------------------------------------


def probe(n_stores: int, seed: int, n_init: int) -> dict[str, Any]:
    """Generate N stores in chunks, fit K = 3, report times and this process's max RSS."""
    truth, _ = real_like_truth()
    started = time.perf_counter()
    work = chunked_workload(truth, real_prices(), n_stores, seed_sequence(seed, 3, n_stores), False)
    generated = time.perf_counter() - started
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit_seconds, _, selection = timed(
            lambda: fit_k_range(work.stats, (3,), n_init=n_init, seed=seed + 3), 1
        )
    return {
        "N": n_stores,
        "generate_and_pass_s": generated,
        "pass_s": work.pass_seconds,
        "fit_s": fit_seconds,
        "n_iter_best": selection.fits[3].n_iter,
        "max_rss_mb": max_rss_mb(),
        "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS", "unset"),
    }


def run_probes(settings: Settings, base_env: dict[str, str]) -> list[dict[str, Any]]:
    """Run :func:`probe` for the largest N with single-threaded and default BLAS."""
    n = max(settings.n_values)
    results = []
    variants = {"1": "1", "default": None}
    for label, threads in variants.items():
        env = dict(base_env)
        env.pop("OPENBLAS_NUM_THREADS", None)
        if threads is not None:
            env["OPENBLAS_NUM_THREADS"] = threads
        command = [
            sys.executable,
            "-m",
            "experiments.benchmark",
            "--probe-n",
            str(n),
            "--seed",
            str(settings.seed),
            "--probe-n-init",
            str(settings.n_init_synth),
        ]
        load = load_average()
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0:
            results.append({"blas_threads": label, "status": "failed: " + done.stderr[-500:]})
            continue
        result = json.loads(done.stdout.strip().splitlines()[-1])
        result.update(blas_threads=label, load_at_start=load, status="ok")
        _log(
            f"probe N={n} BLAS {label}: fit {result['fit_s']:.2f} s, "
            f"max RSS {result['max_rss_mb']:.0f} MB"
        )
        results.append(result)
    return results


# ---------------------------------------------------------------------------
# where the time of one iteration goes
# ---------------------------------------------------------------------------


def by_hand(resid: np.ndarray) -> np.ndarray:
    """The standard normal log-density written out (for the breakdown only)."""
    return -0.5 * resid * resid - 0.5 * np.log(2.0 * np.pi)


def posteriors_of(joint: np.ndarray) -> np.ndarray:
    """Posteriors from log joint densities (N, K) via logsumexp."""
    return np.exp(joint - logsumexp(joint, axis=1)[:, None])


def iteration_breakdown(repeats: int = 200, timings: int = 3) -> list[dict[str, Any]]:
    """Microseconds of the pieces of one iteration on the real panel, K = 4.

    Straightforward: the N x T x K residuals, norm.logpdf on them, the sum over
    weeks, logsumexp, the stacked weighted least squares. Ours: one sweep
    (E-step and posterior sums) plus M-step, with R = 1 and R = 10 restarts.
    """
    panel = load_csv(REAL_DATA)
    y, X = panel.y, panel.X
    stats = panel.sufficient_stats()
    theta, pi = starting_values(stats, 4, 10, DEFAULT_SEED, DEFAULT_INIT)
    means = X @ theta[0].T
    resid = y[:, :, None] - means[None]
    dens = norm.logpdf(resid)
    joint = dens.sum(axis=1) + np.log(pi[0])
    _, W = naive_e_step(y, X, theta[0], pi[0])
    stacked_X, stacked_y = np.tile(X, (y.shape[0], 1)), y.reshape(-1)
    prep = prepare(stats)

    def ours(r: int) -> Callable[[], Any]:
        return loop(lambda: engine_iteration(prep, theta[:r], pi[:r]))

    def naive_iteration() -> None:
        _, posteriors = naive_e_step(y, X, theta[0], pi[0])
        naive_m_step(stacked_X, stacked_y, posteriors, y.shape[1])

    def loop(fn: Callable[[], Any]) -> Callable[[], Any]:
        return lambda: [fn() for _ in range(repeats)]

    sf = "straightforward"
    pieces: list[tuple[str, str, Callable[[], Any], int]] = [
        (sf, "residuals y - X theta (N x T x K)", loop(lambda: y[:, :, None] - means[None]), 1),
        (sf, "scipy.stats.norm.logpdf (N x T x K)", loop(lambda: norm.logpdf(resid)), 1),
        (sf, "(same density by hand: -r^2/2 - log(2 pi)/2)", loop(lambda: by_hand(resid)), 1),
        (sf, "sum over weeks", loop(lambda: dens.sum(axis=1)), 1),
        (sf, "logsumexp and posteriors", loop(lambda: posteriors_of(joint)), 1),
        (
            sf,
            "M-step: stacked weighted least squares",
            loop(lambda: naive_m_step(stacked_X, stacked_y, W, y.shape[1])),
            1,
        ),
        (sf, "whole iteration (E + M)", loop(naive_iteration), 1),
        ("ours", "whole iteration (sweep + M-step), R = 1", ours(1), 1),
        ("ours", "whole iteration (sweep + M-step), R = 10", ours(10), 10),
    ]
    rows = []
    for who, what, fn, restarts in pieces:
        seconds, _, _ = timed(fn, timings)
        micro = 1e6 * seconds / repeats
        rows.append(
            {"implementation": who, "piece": what, "us": micro, "us_per_restart": micro / restarts}
        )
    return rows


# ---------------------------------------------------------------------------
# targets, tables, figure
# ---------------------------------------------------------------------------


def _slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    return float(np.polyfit(np.log(xs), np.log(ys), 1)[0]) if len(xs) >= 2 else float("nan")


def evaluate_targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of issue 5: measured value, met or the gap."""
    rows = result["cases"]
    targets = []
    for row in [r for r in rows if r["case"] == "1"]:
        targets.append(
            _target(
                f"case 1 ours < {TARGET_REAL_SECONDS} s [{row['rule']}]",
                f"{row['ours_s']:.3f} s",
                row["ours_s"] < TARGET_REAL_SECONDS,
                f"{row['ours_s'] / TARGET_REAL_SECONDS:.1f}x over",
            )
        )
        targets.append(
            _target(
                f"case 1 >= {TARGET_REAL_RATIO:g}x faster [{row['rule']}]",
                f"{row['ratio']:.0f}x{' (est.)' if row['ratio_estimated'] else ''}",
                row["ratio"] >= TARGET_REAL_RATIO,
                f"{TARGET_REAL_RATIO / row['ratio']:.1f}x short",
            )
        )
    study = [
        r for r in result.get("study", []) if r.get("n_jobs") == 2 and r.get("returncode") == 0
    ]
    if study:
        s = study[0]
        serial = [
            r for r in result.get("study", []) if r.get("n_jobs") == 1 and r.get("returncode") == 0
        ]
        ideal = ""
        if serial and serial[0].get("replication_seconds_sum"):
            ideal = (
                f" (n_jobs = 1 replications took {serial[0]['replication_seconds_sum']:.0f} s "
                f"in all: split over 2 free cores >= "
                f"{serial[0]['replication_seconds_sum'] / 2:.0f} s plus start-up)"
            )
        targets.append(
            _target(
                f"case 5 (real_like, {s['replications']} replications) n_jobs = 2 "
                f"< {TARGET_STUDY_SECONDS:g} s",
                f"{s['seconds']:.1f} s{ideal}",
                s["seconds"] < TARGET_STUDY_SECONDS,
                f"{s['seconds'] / TARGET_STUDY_SECONDS:.2f}x over",
            )
        )
    else:
        targets.append(
            {
                "target": f"case 5 n_jobs = 2 < {TARGET_STUDY_SECONDS:g} s",
                "measured": "not run (--study)",
                "status": "not measured",
            }
        )
    scale = sorted([r for r in rows if r["case"] == "3"], key=lambda r: r["N"])
    million = [r for r in scale if r["N"] >= 1_000_000]
    if million:
        m = million[-1]
        targets.append(
            _target(
                f"N = {m['N']:,}: pass + fit < {TARGET_MILLION_SECONDS:g} s",
                f"{m['ours_s']:.1f} s",
                m["ours_s"] < TARGET_MILLION_SECONDS,
                f"{m['ours_s'] / TARGET_MILLION_SECONDS:.2f}x over",
            )
        )
        probes = [p for p in result.get("probes", []) if p.get("status") == "ok"]
        peak = max([p["max_rss_mb"] for p in probes], default=m["ours_peak_mb"])
        what = (
            "max RSS of a fresh process (generate + pass + fit)"
            if probes
            else "tracemalloc peak of the fit"
        )
        targets.append(
            _target(
                f"N = {m['N']:,}: peak memory < 2 GB",
                f"{peak:.0f} MB ({what}); fit alone {m['ours_peak_mb']:.0f} MB (tracemalloc)",
                peak * MB < TARGET_MILLION_BYTES,
                f"{peak * MB / TARGET_MILLION_BYTES:.2f}x over",
            )
        )
    large = [r for r in scale if r["N"] >= 30_000]
    if len(large) >= 2:
        per_iter = _slope([r["N"] for r in large], [r["ours_us_per_iter"] for r in large])
        total = _slope([r["N"] for r in large], [r["ours_s"] for r in large])
        targets.append(
            _target(
                "time linear in N (log-log slope, N >= 30,000)",
                f"per iteration {per_iter:.2f}, total {total:.2f}",
                per_iter <= 1.15,
                "super-linear",
            )
        )
    t_rows = [r for r in rows if r["case"] == "4T"]
    if len(t_rows) >= 2:
        values = [r["ours_us_per_iter"] for r in t_rows]
        spread = max(values) / min(values)
        slope = _slope([r["T"] for r in t_rows], values)
        naive_slope = _slope([r["T"] for r in t_rows], [r["naive_us_per_iter"] for r in t_rows])
        targets.append(
            _target(
                "per-iteration time flat in T (max/min over T)",
                f"{spread:.2f} (log-log slope {slope:.2f}; straightforward slope "
                f"{naive_slope:.2f})",
                spread <= 1.5,
                "grows with T",
            )
        )
    return targets


def _target(name: str, measured: str, met: bool, gap: str) -> dict[str, Any]:
    return {"target": name, "measured": measured, "status": "met" if met else f"not met ({gap})"}


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def _study_fit_note() -> str:
    fit = (_real_like_config() or {}).get("fit", {})
    return ", ".join(f"{k} {v}" for k, v in fit.items()) or "unknown"


def _load_note(result: dict[str, Any]) -> str:
    """A warning when the machine was busy while the benchmark ran."""
    loads = [row["load_at_start"][0] for row in result["cases"]]
    loads += [row["load_at_start"][0] for row in result.get("study", []) if "load_at_start" in row]
    cores = result["meta"].get("cores") or 1
    if not loads or max(loads) <= 0.75 * cores + 1:
        return ""
    return (
        f"**The machine was busy during this run** (1-minute load {min(loads):g}-{max(loads):g} "
        f"on {cores} cores, mostly other people's jobs): times are upper bounds, and "
        "n_jobs = 2 cannot beat n_jobs = 1 while the other core is taken. Ratios are less "
        "affected (both implementations run in the same process, one after the other)."
    )


def _short_rule(row: dict[str, Any]) -> str:
    return f"{row['tol']:g} / {row['max_iter']}"


def summary_table(rows: list[dict[str, Any]]) -> str:
    """A compact markdown table of cases 1-4 (the one the README quotes)."""
    table = []
    for r in rows:
        if r["naive_s"] is None:
            naive = f"~{r['naive_estimate_s']:.3g} (est.)"
        else:
            naive = _fmt(r["naive_s"])
        table.append(
            [
                r["case"],
                f"{r['N']:,}",
                r["T"],
                r["K"],
                r["n_init"],
                _short_rule(r),
                _fmt(r["ours_s"]),
                naive,
                f"{r['ratio']:.0f}x" + (" (est.)" if r["ratio_estimated"] else ""),
                f"{r['iterations']:,} ({r['restarts_at_max_iter']})",
                f"{_fmt(r['ours_us_per_iter'])} / {_fmt(r['naive_us_per_iter'])}",
                f"{_fmt(r['ours_peak_mb'])} / {_fmt(r['naive_peak_mb'])}",
                _fmt(r.get("loglik_rel_diff_restarts"), 2),
            ]
        )
    headers = [
        "case",
        "N",
        "T",
        "K",
        "R",
        "tol / max_iter",
        "ours s",
        "straightforward s",
        "ratio",
        "iterations (at max_iter)",
        "us/iter ours / sf",
        "peak MB ours / sf",
        "max rel dlogL",
    ]
    return tabulate(table, headers=headers, tablefmt="github", disable_numparse=True)


def case_table(rows: list[dict[str, Any]]) -> str:
    """The main markdown table, one row per case and stopping rule."""
    table = []
    for r in rows:
        naive = (
            _fmt(r["naive_s"])
            if r["naive_s"] is not None
            else f"~{r['naive_estimate_s']:.3g} (est.)"
        )
        ratio = f"{r['ratio']:.0f}x" + (" (est.)" if r["ratio_estimated"] else "")
        table.append(
            [
                r["case"],
                r["data"],
                f"{r['N']:,}",
                r["T"],
                r["K"],
                r["n_init"],
                r["rule"],
                _fmt(r["ours_pass_s"]),
                _fmt(r["ours_fit_s"]),
                _fmt(r["ours_s"]),
                naive,
                ratio,
                f"{r['iterations']:,}",
                r["restarts_at_max_iter"],
                _fmt(r["ours_us_per_iter"]),
                _fmt(r["naive_us_per_iter"]),
                _fmt(r["ours_peak_mb"]),
                _fmt(r["naive_peak_mb"]),
                _fmt(r.get("loglik_rel_diff_restarts"), 2),
                r["naive_status"]
                if r["naive_s"] is None
                else r["naive_status"].split(" (")[1].rstrip(")"),
                "/".join(f"{x:g}" for x in r["load_at_start"][:1]),
            ]
        )
    headers = [
        "case",
        "data",
        "N",
        "T",
        "K",
        "R",
        "stopping rule",
        "ours pass s",
        "ours fit s",
        "ours s",
        "straightforward s",
        "ratio",
        "iterations",
        "at max_iter",
        "ours us/iter",
        "sf us/iter",
        "ours peak MB",
        "sf peak MB",
        "max rel dlogL",
        "sf runs",
        "load",
    ]
    return tabulate(table, headers=headers, tablefmt="github", disable_numparse=True)


def render_markdown(result: dict[str, Any]) -> str:
    """benchmark.md: machine, definitions, the tables and the targets."""
    meta = result["meta"]
    lines = [
        "# Benchmark: batched EM on sufficient statistics vs a straightforward EM",
        "",
        f"Generated by `{meta['command']}` on {meta['date']} (commit {meta['commit']}).",
        f"Machine: {meta['cpu']}, {meta['cores']} cores (shared with other work), "
        f"Python {meta['python']}, numpy {meta['numpy']}, scipy {meta['scipy']}, "
        f"OPENBLAS_NUM_THREADS={meta['openblas_num_threads']}. "
        f"Load average (1/5/15 min) at start {meta['load_start']}, at end {meta['load_end']}. "
        f"Wall time of the whole benchmark {meta['seconds']:.0f} s; max RSS of this process "
        f"{meta['max_rss_mb']:.0f} MB.",
        "",
        _load_note(result),
        "",
        "## Definitions",
        "",
        "- **ours** = `estimator.selection.fit_k_range` (draws the starts, runs all restarts of "
        "one K as one batched array computation over sufficient statistics) plus the one pass "
        "computing the sufficient statistics (`ours pass s`); `ours s` is their sum. "
        "Median of the timed runs.",
        "- **straightforward (sf)** = `experiments/naive_em.py`: full N x T x K "
        "`scipy.stats.norm.logpdf` every iteration, `logsumexp` posteriors, weighted least squares "
        "on the stacked N*T observations, restarts in a Python loop; handed the *same* starting "
        "values, with the *same* stopping rule (stop when |l_t - l_{t-1}| <= tol |l_{t-1}|, "
        "l_t evaluated before each M-step; at most max_iter M-steps; a segment weight below 1e-8 "
        "stops a start as degenerate). Run only where its estimate (its measured seconds per "
        "iteration x our iteration count) fits the budget; otherwise the estimate is shown "
        "with `(est.)`.",
        "- **ratio** = straightforward s / ours s. **iterations** = M-steps summed over all "
        "restarts (and K); **at max_iter** = restarts that stopped unconverged at max_iter. "
        "**us/iter** = microseconds per restart-iteration (one E-step and M-step of one start): "
        "for ours measured at fixed work (20 engine iterations of all R starts batched, at the "
        "starting values, so fixed per-fit costs and the batch shrinking as starts converge do "
        "not enter); for the straightforward "
        "EM its time / (iterations + R), or its measured seconds per iteration where it was "
        "not run.",
        "- **peak MB** = tracemalloc peak of the fit's own allocations (input data excluded); for "
        "the straightforward EM over its first 2 iterations of one start of the largest K (its "
        "working set per iteration does not grow after that).",
        "- **max rel dlogL** = largest |l_ours - l_sf| / |l_sf| over every restart and K "
        "(same starts, same rule).",
        "- **load** = 1-minute load average when the case started (2 cores).",
        "",
        "## Summary of cases 1-4",
        "",
        "Case 1: real panel; 2: one real_like replication; 3: synthetic, generated in chunks; "
        "4T/4K: shape (log-normal prices for 4T). Library default rule: tol 1e-12 / 5000.",
        "",
        summary_table(result["cases"]),
        "",
        "## Cases 1-4 in full",
        "",
        case_table(result["cases"]),
        "",
    ]
    probes = result.get("probes", [])
    if probes:
        lines += [
            "## N = 1,000,000 in a fresh process (max RSS of the whole pipeline)",
            "",
            "Generated in chunks of "
            f"{CHUNK_STORES:,} stores (never the N x T matrix), reduced to sufficient "
            "statistics chunk by chunk, then fitted (K = 3, n_init = 5, library default rule).",
            "",
            tabulate(
                [
                    [
                        p["blas_threads"],
                        _fmt(p.get("generate_and_pass_s")),
                        _fmt(p.get("pass_s")),
                        _fmt(p.get("fit_s")),
                        p.get("n_iter_best", "-"),
                        _fmt(p.get("max_rss_mb")),
                        p.get("load_at_start", "-"),
                        p["status"][:60],
                    ]
                    for p in probes
                ],
                headers=[
                    "BLAS threads",
                    "generate + pass s",
                    "pass s",
                    "fit s",
                    "iterations (best start)",
                    "max RSS MB",
                    "load",
                    "status",
                ],
                tablefmt="github",
                disable_numparse=True,
            ),
            "",
        ]
    study = result.get("study", [])
    lines += ["## Case 5: the whole real_like study", ""]
    if study and "n_jobs" in study[0]:
        lines += [
            f"`{study[0]['command'].replace('--n-jobs 1', '--n-jobs J')}`, a fresh output "
            "folder each time (nothing resumed); the config's fit: "
            f"{_study_fit_note()}. `sum of replication s` adds up the seconds each "
            "replication record reports (generate + fit K = 1..5 + metrics): with n_jobs = 2 "
            "it should stay at the n_jobs = 1 figure; where it doubles, the two workers did not "
            "get two free cores.",
            "",
            tabulate(
                [
                    [
                        s["n_jobs"],
                        s["replications"],
                        _fmt(s["seconds"]),
                        _fmt(s["ms_per_replication"]),
                        _fmt(s.get("replication_seconds_sum")),
                        s["load_at_start"][0],
                        s["status"][:60],
                    ]
                    for s in study
                ],
                headers=[
                    "n_jobs",
                    "replications",
                    "wall s",
                    "ms / replication",
                    "sum of replication s",
                    "load",
                    "status",
                ],
                tablefmt="github",
                disable_numparse=True,
            ),
            "",
        ]
    else:
        lines += [study[0]["status"] if study else "Not run (pass `--study`).", ""]
    lines += [
        "## Targets (issue 5)",
        "",
        tabulate(
            [[t["target"], t["measured"], t["status"]] for t in result["targets"]],
            headers=["target", "measured", "status"],
            tablefmt="github",
            disable_numparse=True,
        ),
        "",
    ]
    breakdown = result.get("breakdown", [])
    if breakdown:
        lines += [
            "## Where one iteration's time goes (real panel, N = 300, T = 52, K = 4)",
            "",
            tabulate(
                [
                    [b["implementation"], b["piece"], _fmt(b["us"]), _fmt(b["us_per_restart"])]
                    for b in breakdown
                ],
                headers=["implementation", "piece", "us", "us per restart"],
                tablefmt="github",
                disable_numparse=True,
            ),
            "",
        ]
    return "\n".join(lines)


def save_figure(result: dict[str, Any], out: Path) -> list[Path]:
    """time_vs_n.{png,pdf}: time and time per iteration against N (case 3), and against T."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    scale = sorted([r for r in result["cases"] if r["case"] == "3"], key=lambda r: r["N"])
    t_rows = [r for r in result["cases"] if r["case"] == "4T"]
    fig, (ax, cx, bx) = plt.subplots(1, 3, figsize=(15, 4.6))
    ns = np.array([r["N"] for r in scale], dtype=float)
    ax.loglog(ns, [r["ours_s"] for r in scale], "o-", color="C0", label="ours (pass + fit)")
    ax.loglog(
        ns, [r["ours_fit_s"] for r in scale], "o:", color="C0", alpha=0.6, label="ours (fit only)"
    )
    for axis, key_meas, key_est, scale_by in (
        (ax, "naive_s", "naive_estimate_s", 1.0),
        (cx, "naive_us_per_iter", "naive_us_per_iter", 1.0),
    ):
        meas = [(r["N"], r[key_meas] * scale_by) for r in scale if r["naive_s"] is not None]
        est = [(r["N"], r[key_est] * scale_by) for r in scale if r["naive_s"] is None]
        if meas:
            axis.loglog(*zip(*meas, strict=True), "s-", color="C3", label="straightforward")
        if est:
            axis.loglog(
                *zip(*((meas[-1:] if meas else []) + est), strict=True),
                "s--",
                color="C3",
                mfc="none",
                label="straightforward, estimated (not run)",
            )
    cx.loglog(ns, [r["ours_us_per_iter"] for r in scale], "o-", color="C0", label="ours")
    if len(ns):
        for axis, key in ((ax, "ours_s"), (cx, "ours_us_per_iter")):
            ref = scale[-1][key] * ns / ns[-1]
            axis.loglog(ns, ref, color="grey", lw=0.8, ls="-.", label="slope 1 (linear)")
    ax.axhline(60, color="k", lw=0.6, ls=":")
    ax.text(ns[-1] if len(ns) else 1, 40, "60 s", fontsize=8, ha="right", va="top")
    ax.set_xlabel("stores N (T = 52, K = 3, n_init = 5)")
    ax.set_ylabel("seconds")
    ax.set_title("time against N (library default rule)")
    ax.legend(fontsize=8, loc="upper left")
    cx.set_xlabel("stores N (T = 52, K = 3, n_init = 5)")
    cx.set_ylabel("microseconds per restart-iteration")
    cx.set_title("time per iteration against N")
    cx.legend(fontsize=8, loc="upper left")
    if t_rows:
        ts = [r["T"] for r in t_rows]
        bx.loglog(ts, [r["ours_us_per_iter"] for r in t_rows], "o-", color="C0", label="ours")
        bx.loglog(
            ts, [r["naive_us_per_iter"] for r in t_rows], "s-", color="C3", label="straightforward"
        )
        bx.xaxis.set_minor_formatter(NullFormatter())
        bx.set_xticks(ts, [str(t) for t in ts])
    bx.set_xlabel(f"weeks T (N = {t_rows[0]['N'] if t_rows else '-'}, K = 3)")
    bx.set_ylabel("microseconds per restart-iteration")
    bx.set_title("time per iteration against T")
    bx.legend(fontsize=8)
    fig.tight_layout()
    paths = []
    for suffix in ("png", "pdf"):
        path = out / f"time_vs_n.{suffix}"
        fd, tmp = tempfile.mkstemp(dir=out, prefix=f".{path.name}.", suffix=f".{suffix}")
        os.close(fd)
        try:
            fig.savefig(tmp, dpi=150)
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
        paths.append(path)
    plt.close(fig)
    return paths


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        return float(obj) if np.isfinite(obj) else None
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def _commit() -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "estimator"],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return "unknown"
    return done.stdout.strip() + (
        " + uncommitted estimator/ changes" if dirty.stdout.strip() else ""
    )


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


# ---------------------------------------------------------------------------
# driver
# ---------------------------------------------------------------------------


def run_benchmark(
    settings: Settings,
    out: Path,
    command: str = "python -m experiments.benchmark",
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run every case, write OUT/benchmark.md, OUT/benchmark.json and the figure.

    Parameters
    ----------
    settings : Settings
    out : Path
        Output folder (created).
    command : str
        How the benchmark was invoked (recorded).
    env : dict, optional
        Environment for the subprocesses (case 5, probes); default this process's.

    Returns
    -------
    dict
        The document written to benchmark.json.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ) if env is None else env
    started = time.perf_counter()
    meta: dict[str, Any] = {
        "command": command,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": _commit(),
        "cpu": _cpu(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS", "unset"),
        "load_start": load_average(),
        "settings": {k: v for k, v in settings.__dict__.items()},
    }
    cases: list[dict[str, Any]] = []
    for run_case in (case_real, case_real_like, case_scale_n, case_shape):
        cases += run_case(settings)
    result: dict[str, Any] = {"meta": meta, "cases": cases}
    if settings.million_probe and max(settings.n_values) >= 300_000:
        result["probes"] = run_probes(settings, env)
    result["study"] = case_study(settings, env) if settings.study else []
    result["breakdown"] = (
        iteration_breakdown(2, 1) if settings.quick else iteration_breakdown(300, 3)
    )
    meta.update(
        load_end=load_average(), seconds=time.perf_counter() - started, max_rss_mb=max_rss_mb()
    )
    result["targets"] = evaluate_targets(result)
    result = _jsonable(result)
    write_json_atomic(out / "benchmark.json", result)
    write_text_atomic(out / "benchmark.md", render_markdown(result))
    save_figure(result, out)
    return result


def build_parser() -> argparse.ArgumentParser:
    """Command-line options, each checked as it is parsed (simstudy.cliargs)."""
    parser = cliargs.Parser(prog="python -m experiments.benchmark", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fast smoke run (small cases)")
    parser.add_argument(
        "--out",
        metavar="DIR",
        type=cliargs.output_dir,
        default=str(DEFAULT_OUT),
        help="output folder",
    )
    parser.add_argument(
        "--repeats",
        metavar="R",
        type=cliargs.positive_int,
        help="timed runs per case (median); default: the settings' (fewer with --quick)",
    )
    parser.add_argument(
        "--naive-budget",
        metavar="S",
        type=cliargs.positive_float,
        help="seconds a straightforward run may take (cases 3-4); default: the settings'",
    )
    parser.add_argument(
        "--study", action="store_true", help="also run case 5 (the whole real_like study)"
    )
    parser.add_argument(
        "--study-replications",
        metavar="R",
        type=cliargs.positive_int,
        help="replications of case 5; default: the config's",
    )
    parser.add_argument(
        "--blas-threads",
        metavar="T",
        type=cliargs.non_negative_int,
        default=1,
        help="OPENBLAS_NUM_THREADS for this run (0: leave the environment as is)",
    )
    parser.add_argument(
        "--seed",
        type=cliargs.non_negative_int,
        default=DEFAULT_SEED,
        help="seed of data and starts",
    )
    # internal: one timed probe in a fresh process (run by the benchmark itself)
    parser.add_argument("--probe-n", type=cliargs.positive_int, help=argparse.SUPPRESS)
    parser.add_argument(
        "--probe-n-init", type=cliargs.positive_int, default=5, help=argparse.SUPPRESS
    )
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    return build_parser().parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m experiments.benchmark``."""
    args = parse_args(argv)
    if args.probe_n:
        print(json.dumps(probe(args.probe_n, args.seed, args.probe_n_init)))
        return 0
    wanted = str(args.blas_threads)
    if args.blas_threads > 0 and os.environ.get("OPENBLAS_NUM_THREADS") != wanted:
        # BLAS reads its thread count when numpy loads: start again with it set
        env = dict(
            os.environ,
            OPENBLAS_NUM_THREADS=wanted,
            SALESMIX_BENCH_ORIGINAL_BLAS=os.environ.get("OPENBLAS_NUM_THREADS", ""),
        )
        argv_full = sys.argv[1:] if argv is None else argv
        os.execve(sys.executable, [sys.executable, "-m", "experiments.benchmark", *argv_full], env)
    settings = default_settings(args.quick)
    overrides: dict[str, Any] = {"study": args.study, "seed": args.seed}
    if args.repeats:
        overrides["repeats"] = args.repeats
    if args.naive_budget is not None:
        overrides["naive_budget"] = args.naive_budget
    if args.study_replications:
        overrides["study_replications"] = args.study_replications
    settings = replace(settings, **overrides)
    base_env = dict(os.environ)
    original = base_env.pop("SALESMIX_BENCH_ORIGINAL_BLAS", None)
    if original is not None:  # subprocesses get the user's own BLAS setting
        base_env.pop("OPENBLAS_NUM_THREADS", None)
        if original:
            base_env["OPENBLAS_NUM_THREADS"] = original
    command = "python -m experiments.benchmark " + " ".join(sys.argv[1:] if argv is None else argv)
    result = run_benchmark(settings, args.out, command.strip(), base_env)
    for target in result["targets"]:
        print(f"{target['status']:>12}  {target['target']}: {target['measured']}")
    print(f"wrote {args.out / 'benchmark.md'}, benchmark.json, time_vs_n.png/pdf")
    return 0


if __name__ == "__main__":
    raise SystemExit(cliargs.run_cli(main))
