"""Run every benchmark case and write OUT/benchmark.{json,md} and the figure."""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from threadpoolctl import threadpool_info, threadpool_limits

from ..harness.files import (
    jsonable,
    read_json,
    software_versions,
    write_json_atomic,
    write_text_atomic,
)
from ..studies.paths import OUTPUTS
from .cases import (
    case_blrt_real,
    case_models,
    case_real,
    case_real_like,
    case_scale_n,
    case_shape,
    case_study,
    committed_study_run,
    iteration_breakdown,
    run_probes,
)
from .flexmix import case_flexmix
from .measure import cpu_name, git_commit, load_average, max_rss_mb
from .render import evaluate_targets, render_markdown, save_figure
from .settings import REFRESHABLE, Settings, default_settings
from .trust_region import compare_newton_steps

COMMITTED_STUDIES = ("selection_grid", "blrt_grid")
"""Studies whose recorded run times the benchmark reports (their own runs are too long)."""

# -- driver -------------------------------------------------------------------


def run_benchmark(
    settings: Settings,
    out: Path,
    command: str = "python -m experiments.benchmark",
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run every case into the folder ``out``; return what benchmark.json holds (``env``: the
    subprocesses' environment, default this process's)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ) if env is None else env
    started = time.perf_counter()
    meta: dict[str, Any] = {
        "command": command,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git_commit(),
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        **software_versions(),
        "openblas_num_threads": blas_threads(),
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
    result["blrt_real"] = case_blrt_real(settings)
    result["models"] = case_models(settings)
    for study in COMMITTED_STUDIES:
        result[study] = committed_study_run(OUTPUTS / study)
    result["breakdown"] = iteration_breakdown(*((2, 1) if settings.quick else (300, 3)))
    result["newton_steps"] = newton_steps(settings.quick)
    result["flexmix"] = case_flexmix(settings)
    meta.update(
        load_end=load_average(), seconds=time.perf_counter() - started, max_rss_mb=max_rss_mb()
    )
    result = _write(out, result)
    save_figure(result, out)
    return result


def refresh(
    out: Path, parts: Sequence[str], settings: Settings, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Redo ``parts`` (of :data:`REFRESHABLE`) into OUT/benchmark.json and .md, every other
    case kept; when each part was redone is noted in ``meta.refreshed``."""
    result = read_json(out / "benchmark.json")
    refreshed = result["meta"].get("refreshed")
    refreshed = refreshed if isinstance(refreshed, dict) else {}
    for part in parts:
        if part == "studies":
            for study in COMMITTED_STUDIES:
                result[study] = committed_study_run(OUTPUTS / study)
        elif part == "newton-steps":
            result["newton_steps"] = newton_steps(quick=False)
        elif part == "probes":
            result["probes"] = run_probes(settings, dict(os.environ) if env is None else env)
        elif part == "flexmix":
            result["flexmix"] = case_flexmix(settings)
        else:
            raise ValueError(f"--refresh: unknown part {part!r} (one of {', '.join(REFRESHABLE)})")
        refreshed[part] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    result["meta"]["refreshed"] = refreshed
    return _write(out, result)


def newton_steps(quick: bool) -> list[dict[str, Any]]:
    """The engine's Newton step against a trust region (:mod:`simstudy.bench.trust_region`)."""
    return compare_newton_steps(*((2, 1) if quick else (40, 3)))


def _write(out: Path, result: dict[str, Any]) -> dict[str, Any]:
    """Evaluate the targets of ``result``, write benchmark.json and benchmark.md; the JSON."""
    result["targets"] = evaluate_targets(result)
    result = jsonable(result)
    write_json_atomic(out / "benchmark.json", result)
    write_text_atomic(out / "benchmark.md", render_markdown(result))
    return result


def limit_blas_threads(threads: int) -> None:
    """BLAS in this process limited to ``threads`` (threadpoolctl), for timings that do not
    depend on the machine's cores; 0 leaves it as it is. Subprocesses (case 5, the probes)
    keep the user's environment."""
    if threads > 0:
        threadpool_limits(limits=threads, user_api="blas")


def blas_threads() -> str:
    """The BLAS threads this process uses (what the timings ran with), as recorded."""
    found = {str(pool["num_threads"]) for pool in threadpool_info() if pool["user_api"] == "blas"}
    return ", ".join(sorted(found)) or "unknown"


def settings_from(args: argparse.Namespace) -> Settings:
    """The default (or ``--quick``) settings with the command line's overrides (unset: kept)."""
    overrides: dict[str, Any] = {"study": args.study, "seed": args.seed}
    if args.repeats:
        overrides["repeats"] = args.repeats
    if args.naive_budget is not None:
        overrides["naive_budget"] = args.naive_budget
    if args.study_replications:
        overrides["study_replications"] = args.study_replications
    return replace(default_settings(args.quick), **overrides)
