"""Measuring: timers, memory, workloads, and the two implementations run on one workload.

Ours is :func:`estimator.fit_k_range` on sufficient statistics; the straightforward
implementation (:mod:`simstudy.bench.naive_em`) is handed the very same starting
values and the same stopping rule, and is compared restart by restart.
"""

from __future__ import annotations

import gc
import os
import platform
import resource
import subprocess
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from estimator import (
    DEFAULT_INIT,
    ConvergenceWarning,
    SufficientStats,
    concat_stats,
    design_matrix,
    fit_k_range,
    load_csv,
    seed_sequence,
    starting_values,
    sufficient_stats,
)
from estimator.engine import em_sweep, prepare, run_em  # the benchmark times engine internals

from ..harness.runner import silenced
from ..studies.generate import Truth, draw_prices, generate_panel
from ..studies.paths import REAL_DATA, REAL_LIKE_CONFIG
from .naive_em import naive_e_step, naive_fit, naive_m_step
from .settings import CHUNK_STORES, MB, real_like_config, rule_label

# -- measuring ----------------------------------------------------------------


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, list[float], Any]:
    """Median seconds of ``repeats`` calls of ``fn`` (gc off), every time and the last result."""
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
    """Maximum resident set size of this process so far, in MB: VmHWM where Linux has it,
    else ru_maxrss. On Linux a process started by fork and exec inherits its parent's
    ru_maxrss (the kernel keeps the old memory's high-water mark), so the probes, started from
    the benchmark's own large process, reported the benchmark's size; VmHWM is the process's
    own."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def load_average() -> list[float]:
    """1, 5 and 15 minute load averages of the machine."""
    return [round(x, 2) for x in os.getloadavg()]


# -- data ---------------------------------------------------------------------


@dataclass
class Workload:
    """One data set to fit: its ``stats``, X (T, P), the panel y (N, T) where the
    straightforward EM may run (else None), and ``pass_seconds``, the time of the pass
    that computed ``stats`` (median when ``y`` is held, else summed over the chunks)."""

    stats: SufficientStats
    X: np.ndarray
    y: np.ndarray | None
    pass_seconds: float


def in_memory_workload(y: np.ndarray, X: np.ndarray, repeats: int) -> Workload:
    """A workload whose panel fits in memory; the sufficient-statistics pass is timed."""
    seconds, _, stats = timed(lambda: sufficient_stats(y, X), repeats)
    return Workload(stats=stats, X=X, y=y, pass_seconds=seconds)


def generate_y(
    truth: dict[str, Any], prices: np.ndarray, n_stores: int, seed: np.random.SeedSequence
) -> np.ndarray:
    """Log sales of ``n_stores`` synthetic stores, shape (N, T) (simstudy's generator)."""
    truth_ = Truth(truth["theta"], truth["pi"], float(truth.get("sigma", 1.0)))
    panel, _ = generate_panel(truth_, prices, n_stores, seed)
    return panel.y


def chunked_workload(
    truth: dict[str, Any],
    prices: np.ndarray,
    n_stores: int,
    seed: np.random.SeedSequence,
    keep_y: bool,
) -> Workload:
    """Generate a panel ``CHUNK_STORES`` stores at a time, each reduced to sufficient
    statistics (the pass, not the draws, timed); ``keep_y`` keeps the N x T matrix."""
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
    return Workload(stats, X, np.concatenate(ys) if keep_y else None, pass_seconds)


def real_like_truth() -> tuple[dict[str, Any], dict[str, Any]]:
    """Truth and fit settings of the real_like study (experiments/configs/real_like.json)."""
    config = real_like_config()
    if config is None:
        raise FileNotFoundError(f"{REAL_LIKE_CONFIG}: the real_like study's config is missing")
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
    logs = np.log(real_prices())
    spec = {"process": "lognormal", "meanlog": float(logs.mean()), "sdlog": float(logs.std())}
    return draw_prices(spec, n_weeks, seed)


# -- the two implementations on one workload ----------------------------------


def drawn_starts(
    stats: SufficientStats, ks: Sequence[int], n_init: int, seed: int
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """The starting values :func:`fit_k_range` draws for every K with this seed (from
    ``seed_sequence(seed_sequence(seed), K)``, default init)."""
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
    ks: Sequence[int],
    n_init: int,
    tol: float,
    max_iter: int,
    seed: int,
    *,
    repeats: int,
    naive_budget: float,
    naive_repeat_seconds: float,
    naive_per_iter_hint: Callable[[int], float] | None = None,
) -> dict[str, Any]:
    """One benchmark row: ours (``repeats`` times) and, within ``naive_budget`` seconds (else
    only estimated, by ``naive_per_iter_hint`` without ``work.y``), the straightforward EM
    fitting ``ks`` from the same starts under the same rule."""
    stats, ks = work.stats, tuple(ks)

    def ours() -> Any:
        return fit_k_range(stats, ks, n_init=n_init, tol=tol, max_iter=max_iter, seed=seed)

    with silenced([ConvergenceWarning]):
        fit_seconds, fit_times, selection = timed(ours, repeats)
        ours_peak = traced_peak(ours)
    starts = drawn_starts(stats, ks, n_init, seed)
    # the same starts as fit_k_range's, run by the engine's plain EM (no SQUAREM, no Newton):
    # the straightforward EM must reproduce these restart by restart; the certified fits
    # must reach at least as high a log-likelihood
    engine_runs = {
        k: run_em(prepare(stats, k), *starts[k], tol, max_iter, accelerate=False, polish=False)
        for k in ks
    }
    for k in ks:
        best = selection.fits[k].loglik
        assert best >= engine_runs[k].loglik.max() - 1e-9 * abs(best)
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
        "ours_us_per_iter": ours_iteration_us(stats, starts, ks),
        "ours_peak_mb": ours_peak,
        "best_logliks": {str(k): selection.fits[k].loglik for k in ks},
        "all_certified": all(selection.fits[k].converged for k in ks),
    }
    plan = _plan_naive(
        work, ks, starts, engine_runs, naive_budget, naive_repeat_seconds, naive_per_iter_hint
    )
    steps = int(sum((run.n_iter + 1).sum() for run in engine_runs.values()))
    row["naive_s_per_iter_by_k"] = {str(k): v for k, v in plan.seconds_per_iter.items()}
    row["naive_estimate_s"] = plan.estimate
    row["naive_estimate_extrapolated"] = plan.extrapolated
    if plan.runs == 0:
        row.update(naive_s=None, naive_runs=[], naive_status=plan.reason,
                   ratio=plan.estimate / ours_total, ratio_estimated=True,
                   naive_us_per_iter=1e6 * plan.estimate / steps, naive_peak_mb=None)  # fmt: skip
        return row
    y, X = work.y, work.X

    def naive() -> dict[int, Any]:
        return {k: naive_fit(y, X, *starts[k], tol, max_iter) for k in ks}

    naive_seconds, naive_times, naive_fits = timed(naive, plan.runs)
    big_k = max(ks)
    naive_peak = traced_peak(
        lambda: naive_fit(y, X, starts[big_k][0][:1], starts[big_k][1][:1], tol, 2)
    )
    status = f"measured ({plan.runs} run{'s' if plan.runs > 1 else ''})"
    row.update(naive_s=naive_seconds, naive_runs=naive_times, naive_status=status,
               ratio=naive_seconds / ours_total, ratio_estimated=False,
               naive_us_per_iter=1e6 * naive_seconds / steps, naive_peak_mb=naive_peak)  # fmt: skip
    row.update(_agreement(selection, engine_runs, naive_fits, ks))
    return row


FIXED_SWEEPS = 20
"""Engine iterations timed at fixed work when measuring our time per iteration."""


def engine_iteration(prep: Any, theta: np.ndarray, pi: np.ndarray) -> None:
    """One engine iteration of R batched restarts: the blockwise sweep and the M-step."""
    _, sums, prior_sums = em_sweep(prep, theta, pi)
    prep.driver.m_step(sums)
    prep.prior.m_step(pi, prior_sums)


def ours_iteration_us(
    stats: Any, starts: dict[int, tuple[np.ndarray, np.ndarray]], ks: tuple[int, ...]
) -> float:
    """Our microseconds per restart-iteration at fixed work: ``FIXED_SWEEPS`` engine
    iterations of all R starts at the starting values (median of 3), free of a fit's fixed
    costs and of the batch shrinking, so comparable across N and T."""

    problems = {k: prepare(stats, k) for k in ks}

    def sweeps() -> int:
        for k in ks:
            for _ in range(FIXED_SWEEPS):
                engine_iteration(problems[k], *starts[k])
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
        theirs = naive.restart_logliks
        gap = np.max(np.abs(engine_runs[k].loglik - theirs) / np.abs(theirs))
        restart_rel = max(restart_rel, float(gap))
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


def git_commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=False).stdout

    try:
        head, dirty = git("rev-parse", "--short", "HEAD"), git("status", "--porcelain", "estimator")
    except OSError:
        return "unknown"
    return head.strip() + (" + uncommitted estimator/ changes" if dirty.strip() else "")


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"
