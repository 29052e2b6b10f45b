"""The benchmark's cases (docs/benchmark.md), the million-store probe, the iteration breakdown."""

from __future__ import annotations

import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import logsumexp
from scipy.stats import norm
from threadpoolctl import threadpool_limits

from estimator import (
    DEFAULT_INIT,
    DEFAULT_MAX_ITER,
    DEFAULT_TOL,
    ConvergenceWarning,
    design_matrix,
    fit_k_range,
    fit_mixture,
    load_csv,
    regression_data,
    seed_sequence,
    starting_values,
)
from estimator.engine import prepare, run_em  # the benchmark times engine internals

from ..harness.files import read_json
from ..harness.runner import silenced
from ..studies import concomitant
from ..studies.blrt import blrt_on_fits
from ..studies.paths import REAL_DATA, REAL_LIKE_CONFIG
from .measure import (
    Workload,
    chunked_workload,
    drawn_starts,
    engine_iteration,
    generate_y,
    in_memory_workload,
    load_average,
    lognormal_prices,
    max_rss_mb,
    measure,
    real_like_truth,
    real_prices,
    timed,
)
from .naive_em import naive_e_step, naive_m_step
from .settings import DEFAULT_SEED, KEEP_Y_MAX_STORES, Settings, real_like_config

REAL_KS_BLRT = (1, 2, 3, 4)
"""K fitted for the real-data BLRT case: tests of K0 = 1..3 (the issue's target)."""

# -- cases --------------------------------------------------------------------


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
    return _under_every_rule(
        settings, work, settings.real_ks, settings.real_n_init, settings.seed,
        ("1", "real data (609948.csv)"),
    )  # fmt: skip


def _under_every_rule(
    settings: Settings, work: Workload, ks: tuple[int, ...], n_init: int, seed: int,
    label: tuple[str, str],
) -> list[dict[str, Any]]:  # fmt: skip
    """Cases 1 and 2: one workload measured under each of the settings' stopping rules."""
    rows = []
    for tol, max_iter in settings.rules:
        load = load_average()
        row = measure(work, ks, n_init, tol, max_iter, seed, **_budget(settings, real=True))
        rows.append(_case_row(*label, row, load))
    return rows


def case_real_like(settings: Settings) -> list[dict[str, Any]]:
    """Case 2: one replication of the real_like study, K = 1..5, n_init = 10."""
    truth, shape = real_like_truth()
    prices = real_prices()[: shape["T"]]
    y = generate_y(truth, prices, shape["N"], seed_sequence(settings.seed, 2))
    work = in_memory_workload(y, design_matrix(prices), settings.repeats)
    return _under_every_rule(
        settings, work, settings.study_ks, settings.study_n_init, settings.seed + 2,
        ("2", "one real_like replication"),
    )  # fmt: skip


def case_blrt_real(settings: Settings, n_jobs: int = 2) -> dict[str, Any]:
    """The BLRT on the real panel as ``fit_real --blrt B --n-jobs 2`` runs it; only the
    bootstrap is timed (the observed fits of K = 1..4 are made first)."""
    if settings.blrt_n_boot < 1:
        return {"case": "blrt", "status": "not run"}
    stats = load_csv(REAL_DATA).sufficient_stats()
    selection = fit_k_range(stats, REAL_KS_BLRT, seed=settings.seed)
    load = load_average()
    started = time.perf_counter()
    test = blrt_on_fits(stats, selection, settings.blrt_n_boot, settings.seed, n_jobs)
    seconds = time.perf_counter() - started
    row = {
        "case": "blrt",
        "data": "real data (609948.csv)",
        "command": f"python -m experiments.fit_real --blrt {settings.blrt_n_boot} "
        f"--n-jobs {n_jobs} (the bootstrap part)",
        "n_boot": settings.blrt_n_boot,
        "n_jobs": n_jobs,
        "tests": [step.k0 for step in test.steps],
        "chosen": test.chosen_k,
        "seconds": seconds,
        "status": "ok",
        "load_at_start": load,
    }
    _log(f"case blrt: K0 = {row['tests']}, B = {row['n_boot']}: {seconds:.2f} s")
    return row


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
        budget = _budget(settings) | {"naive_per_iter_hint": hint}
        if n >= 300_000:
            budget["repeats"] = settings.big_repeats
        rules = (settings.n_init_synth, DEFAULT_TOL, DEFAULT_MAX_ITER, settings.seed + 3)
        row = measure(work, (3,), *rules, **budget)
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
    """Whether even the extrapolated straightforward run would exceed the budget."""
    stats = work.stats
    starts = drawn_starts(stats, (3,), settings.n_init_synth, settings.seed + 3)
    run = run_em(prepare(stats, 3), *starts[3], DEFAULT_TOL, DEFAULT_MAX_ITER)
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
        row = _measure_synthetic(settings, work, 3, settings.seed + 4)
        rows.append(_case_row("4T", "synthetic, log-normal prices", row, load))
    prices = real_prices()
    y = generate_y(truth, prices, n, seed_sequence(settings.seed, 6))
    work = in_memory_workload(y, design_matrix(prices), settings.repeats)
    for k in settings.k_values:
        load = load_average()
        row = _measure_synthetic(settings, work, k, settings.seed + 5)
        rows.append(_case_row("4K", "synthetic (true K = 3)", row, load))
    return rows


def _measure_synthetic(settings: Settings, work: Workload, k: int, seed: int) -> dict[str, Any]:
    """Case 4: one K at the library's stopping rule with the synthetic cases' starts."""
    n_init = settings.n_init_synth
    return measure(work, (k,), n_init, DEFAULT_TOL, DEFAULT_MAX_ITER, seed, **_budget(settings))


def _budget(settings: Settings, real: bool = False) -> dict[str, Any]:
    """The timing keywords of :func:`measure`: repeats and the straightforward EM's budget."""
    budget = settings.naive_budget_real if real else settings.naive_budget
    return {"repeats": settings.repeats, "naive_budget": budget,
            "naive_repeat_seconds": settings.naive_repeat_seconds}  # fmt: skip


def case_study(settings: Settings, env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Case 5: the whole real_like study through ``python -m experiments.recovery``, wall
    time per n_jobs, into a fresh temporary folder each time."""
    rows = []
    entry = Path("experiments/recovery.py")
    if not entry.is_file() or not REAL_LIKE_CONFIG.is_file():
        return [{"case": "5", "status": "not run: experiments/recovery.py or its config missing"}]
    config = real_like_config() or {}
    replications = settings.study_replications or int(config.get("replications", 1000))
    for jobs in settings.study_jobs:
        out = Path(tempfile.mkdtemp(prefix="salesmix-bench-study-"))
        command = [sys.executable, "-m", "experiments.recovery", "--config", str(REAL_LIKE_CONFIG),
                   "--n-jobs", str(jobs), "--out", str(out / "study"), "--quiet"]  # fmt: skip
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
        frames = [pd.read_csv(path) for path in sorted((folder / "raw").glob("*.csv"))]
        return float(sum(frame["seconds"].sum() for frame in frames)) if frames else None
    except (OSError, KeyError, ValueError):
        return None


# -- the million-store probe (fresh process: its max RSS is the pipeline's alone) ---


def probe(n_stores: int, seed: int, n_init: int) -> dict[str, Any]:
    """Generate N stores in chunks, fit K = 3, report times and this process's max RSS."""
    truth, _ = real_like_truth()
    started = time.perf_counter()
    work = chunked_workload(truth, real_prices(), n_stores, seed_sequence(seed, 3, n_stores), False)
    generated = time.perf_counter() - started
    with silenced([ConvergenceWarning]):
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
        command = [sys.executable, "-m", "experiments.benchmark", "--probe-n", str(n), "--seed",
                   str(settings.seed), "--probe-n-init", str(settings.n_init_synth)]  # fmt: skip
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


# -- where the time of one iteration goes -------------------------------------


def iteration_breakdown(repeats: int = 200, timings: int = 3) -> list[dict[str, Any]]:
    """Microseconds of the pieces of one iteration on the real panel, K = 4: the
    straightforward EM's, and ours (sweep plus M-step) with R = 1 and R = 10 restarts."""
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
    prep = prepare(stats, 4)

    def ours(r: int) -> Callable[[], Any]:
        return loop(lambda: engine_iteration(prep, theta[:r], pi[:r]))

    def naive_iteration() -> None:
        _, posteriors = naive_e_step(y, X, theta[0], pi[0])
        naive_m_step(stacked_X, stacked_y, posteriors, y.shape[1])

    def m_step() -> None:
        naive_m_step(stacked_X, stacked_y, W, y.shape[1])

    def loop(fn: Callable[[], Any]) -> Callable[[], Any]:
        return lambda: [fn() for _ in range(repeats)]

    sf = "straightforward"
    pieces: list[tuple[str, str, Callable[[], Any], int]] = [
        (sf, "residuals y - X theta (N x T x K)", loop(lambda: y[:, :, None] - means[None]), 1),
        (sf, "scipy.stats.norm.logpdf (N x T x K)", loop(lambda: norm.logpdf(resid)), 1),
        (sf, "(same density by hand: -r^2/2 - log(2 pi)/2)",
         loop(lambda: -0.5 * resid * resid - 0.5 * np.log(2.0 * np.pi)), 1),
        (sf, "sum over weeks", loop(lambda: dens.sum(axis=1)), 1),
        (sf, "logsumexp and posteriors",
         loop(lambda: np.exp(joint - logsumexp(joint, axis=1)[:, None])), 1),
        (sf, "M-step: stacked weighted least squares", loop(m_step), 1),
        (sf, "whole iteration (E + M)", loop(naive_iteration), 1),
        ("ours", "whole iteration (sweep + M-step), R = 1", ours(1), 1),
        ("ours", "whole iteration (sweep + M-step), R = 10", ours(10), 10),
    ]  # fmt: skip
    rows = []
    for who, what, fn, restarts in pieces:
        seconds, _, _ = timed(fn, timings)
        micro = 1e6 * seconds / repeats
        rows.append(
            {"implementation": who, "piece": what, "us": micro, "us_per_restart": micro / restarts}
        )
    return rows


def committed_study_run(folder: Path) -> dict[str, Any] | None:
    """How long the committed study in ``folder`` took to compute its records (its summary):
    ``replications`` (all conditions), ``n_jobs``, ``wall_seconds`` (of the runs that made
    the records) and ``replication_seconds_total``; None without a summary."""
    path = folder / "summary.json"
    if not path.is_file():
        return None
    run = read_json(path).get("run", {})
    return {
        "study": folder.name,
        "replications": run.get("replications", 0) * run.get("conditions", 0),
        "n_jobs": run.get("n_jobs"),
        "wall_seconds": run.get("wall_seconds_records"),
        "replication_seconds_total": run.get("replication_seconds_total"),
    }


def _iteration_by_threads(seed: int, n_stores: int) -> dict[str, Any]:
    """Seconds of one engine iteration (K=3, 5 batched restarts) on a real-like panel of
    ``n_stores`` stores with the BLAS pool limited to one thread and to two."""
    truth, _ = real_like_truth()
    work = chunked_workload(truth, real_prices(), n_stores, seed_sequence(seed, 9), False)
    problem = prepare(work.stats, 3)
    theta, pi = starting_values(work.stats, 3, 5, seed)
    row: dict[str, Any] = {"N": n_stores}
    for limit in (1, 2):
        with threadpool_limits(limits=limit, user_api="blas"):
            row[f"threads_{limit}_s"] = timed(lambda: engine_iteration(problem, theta, pi), 5)[0]
    return row


def case_models(settings: Settings) -> dict[str, Any]:
    """The general models' costs: an ungrouped fit, a concomitant fit against the same data's
    constant-prior fit, and one EM iteration with one BLAS thread against two."""
    rng = np.random.default_rng(settings.seed)
    n = 10_000 if settings.quick else 100_000
    x = rng.normal(size=(n, 2))
    segment = rng.choice(3, size=n, p=[0.3, 0.3, 0.4])
    coef = np.array([[0.0, 1.0, 2.0], [3.0, -1.0, 0.5], [-2.0, 0.5, -1.0]])[segment]
    noise = rng.normal(size=n) * np.array([0.5, 1.0, 1.5])[segment]
    y = coef[:, 0] + np.einsum("np,np->n", x, coef[:, 1:]) + noise
    rows = regression_data(pd.DataFrame({"y": y, "x1": x[:, 0], "x2": x[:, 1]}), "y ~ x1 + x2")
    stats = rows.sufficient_stats()
    fit_seconds, _, fit = timed(
        lambda: fit_mixture(stats, 3, n_init=10, seed=1, sigma="segment"), 1
    )
    panel = concomitant.generate({"n_stores": 800, "n_weeks": 8}, rng)
    units = regression_data(panel, "log_sales ~ log_price", "store", concomitant="~ z")
    unit_stats = units.sufficient_stats()
    repeats = max(1, settings.repeats // 2)
    plain_s = timed(lambda: fit_mixture(unit_stats, 2, n_init=10, seed=2), repeats)[0]
    with_z_s = timed(lambda: fit_mixture(unit_stats, 2, n_init=10, seed=2,
                                         covariates=units.covariates), repeats)[0]  # fmt: skip
    big = 30_000 if settings.quick else 1_000_000
    threads = [_iteration_by_threads(settings.seed, n_stores) for n_stores in (300, big)]
    _log(f"case models: ungrouped {fit_seconds:.2f} s, concomitant x{with_z_s / plain_s:.2f}")
    return {
        "ungrouped": {"rows": n, "K": 3, "coefficients": 3, "n_init": 10, "seconds": fit_seconds,
                      "certified": bool(fit.converged)},
        "concomitant": {"stores": 800, "weeks": 8, "K": 2, "n_init": 10, "plain_s": plain_s,
                        "concomitant_s": with_z_s, "ratio": with_z_s / plain_s},
        "threads": threads,
    }  # fmt: skip
