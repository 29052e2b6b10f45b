"""The write-up bundle (``python -m experiments.report``): report.md, LaTeX tables, figures.

Reads the committed outputs and never refits (but for :mod:`simstudy.writeup.real`'s cheap
quantities): a main part of at most :data:`MAIN_ITEMS` tables and figures carries the
argument, an appendix holds every other one, and a missing source is named in its place.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..harness.files import read_json
from ..studies import baselines as baseline_study
from ..studies.paths import OUTPUTS, REAL_DATA
from . import baselines as rb
from . import real as rr
from . import real_tables, tables
from . import studies as rst
from .blrt import blrt_caption, blrt_figure
from .doc import ReportDoc

MAIN_ITEMS = 16
"""At most this many tables and figures in the main part."""
STUDIES = ("real_like", "selection_grid", "irregular", "blrt_size", "blrt_grid")


@dataclass(frozen=True)
class Sources:
    """Where the report reads from (paths relative to the working directory)."""

    results: Path = OUTPUTS / "results.json"
    segments: Path = OUTPUTS / "real/store_segments.csv"
    data: Path = REAL_DATA
    sigma_common: Path = OUTPUTS / "real_sigma_common/results.json"
    sigma_segment: Path = OUTPUTS / "real_sigma_segment/results.json"
    baselines: Path = OUTPUTS / "baselines"
    real_like: Path = OUTPUTS / "real_like"
    selection_grid: Path = OUTPUTS / "selection_grid"
    irregular: Path = OUTPUTS / "irregular"
    blrt_size: Path = OUTPUTS / "blrt_size"
    blrt_grid: Path = OUTPUTS / "blrt_grid"
    blrt: Path = OUTPUTS / "real_blrt/results.json"
    """A real-data fit with the bootstrap LRT (``fit_real --blrt 99 --n-jobs 2 --out
    outputs/real_blrt``), read when ``results`` has no test of its own."""
    benchmark: Path = OUTPUTS / "benchmark"


def _link(doc: ReportDoc, path: Path) -> str:
    relative = os.path.relpath(Path(path).resolve(), Path(doc.out_dir).resolve())
    return f"[`{path}`]({Path(relative).as_posix()})"


def _blrt_of(results: dict[str, Any], src: Sources) -> tuple[dict[str, Any] | None, Path]:
    """The real data's BLRT: the main results' own, else ``src.blrt``'s, else None."""
    if "blrt" in results:  # fit_real --blrt B
        return results["blrt"], src.results
    if src.blrt.is_file():
        return read_json(src.blrt).get("blrt"), src.blrt
    return None, src.blrt


def _missing(doc: ReportDoc, what: Path, command: str) -> None:
    doc.text(f"Not available: `{what}` does not exist; run `{command}` and rebuild the report.")


def _study(doc: ReportDoc, folder: Path, name: str) -> dict[str, Any] | None:
    """A study's summary.json, introduced by its run line; or a line saying how to make it."""
    document = rst.load_study(folder)
    if document is None:
        command = "recovery" if name in ("real_like", "irregular") else "selection"
        config = f"experiments/configs/{name}.json"
        _missing(doc, folder / "summary.json", f"python -m experiments.{command} --config {config}")
    else:
        doc.text(f"{_link(doc, folder)}: {rst.study_run_line(document)}")
    return document


# -- the main part ------------------------------------------------------------


def real_part(doc: ReportDoc, src: Sources) -> rr.RealData:
    """Sections 1-2: how many segments the real stores hold, and what they are."""
    real = rr.load_real(src.results, src.segments, src.data)
    results, settings = real.results, real.results["settings"]
    doc.heading("1. How many segments the real stores hold")
    doc.text(
        f"{_link(doc, src.results)}: K = {settings['k_range']} fitted with "
        f"{settings['n_init']} starts per K (tol {settings['tol']:g}, seed {settings['seed']}). "
        "Recomputed for this report (not stored): every store's own OLS estimate "
        "(alpha_i, beta_i) from the data file, and the full observed-information covariance "
        "of the chosen fit at the stored estimates (for the ellipses and the bands); its "
        f"standard errors agree with results.json to {real.se_mismatch:.1e}."
    )
    doc.table(real_tables.model_comparison(results))
    doc.text(rr.comparison_reading(results))
    caption = (
        "Information criteria against K (left: each criterion minus its minimum over K; "
        "symmetric log scale, linear below 10) and the maximised log-likelihood (right). "
        f"Dotted: the K chosen by BIC, K = {results['chosen_K']}."
    )
    doc.draw("real_criteria", caption, rr.plot_criteria, results)
    doc.heading(f"2. The {real.k} segments")
    doc.table(rr.segment_profiles(real))
    doc.text(rr.profile_reading(real))
    caption = (
        "Every store's own OLS estimate (alpha_i, beta_i) from its 52 weeks, coloured by "
        "its most likely segment; crosses: segment centres (alpha_c, beta_c); filled "
        "ellipses: their 95% confidence regions (observed information); dashed (left): "
        "the 95% region in which a store of the segment puts its own OLS estimate under "
        "the model, b_i ~ N(theta_c, (X'X)^-1). Right: the centres alone, with their "
        "confidence ellipses."
    )
    doc.draw("real_store_ols", caption, rr.plot_store_ols, real)
    caption = (
        "Fitted demand per segment over the observed price range: median weekly sales "
        "exp(alpha_c + beta_c log p) (black; band: pointwise 95% interval, delta method "
        "with the observed-information covariance) over the weekly sales of the stores "
        "assigned to the segment (dots: the median over those stores at each week's price; "
        "bars: 10% to 90% of them); dashed grey: the other segments' curves. The "
        "mean of sales is exp(1/2) = 1.65 times the median under the model's unit noise."
    )
    doc.draw("real_demand", caption, rr.plot_demand, real)
    return real


def trust_part(doc: ReportDoc, src: Sources) -> None:
    """Section 3: recovery and coverage at the real-data estimates (the real_like study)."""
    doc.heading("3. Can the estimates and their intervals be trusted?")
    document = _study(doc, src.real_like, "real_like")
    if document is None:
        return
    (condition,) = document["conditions"]
    doc.text(
        f"Panels drawn from the real-data K = 3 fit at the real prices ({condition['label']}). "
        + rst.recovery_reading(condition)
    )
    doc.table(tables.recovery([condition], name="real_like_recovery"))
    doc.table(tables.standard_errors([condition], name="real_like_standard_errors"))
    rst.study_figure(doc, src.real_like, "real_like", "coverage_c0000", [condition])


def grid_part(doc: ReportDoc, src: Sources) -> None:
    """Section 4: choosing K across the design grid, one nested-loop plot per criterion group."""
    doc.heading("4. Choosing K across a design grid")
    document = _study(doc, src.selection_grid, "selection_grid")
    if document is not None:
        doc.text(rst.grid_reading(document["conditions"]))
        for group in ("bic", "aic"):
            rst.study_figure(doc, src.selection_grid, "selection_grid", f"nested_loop_{group}",
                             document["conditions"])  # fmt: skip


def blrt_part(doc: ReportDoc, src: Sources, results: dict[str, Any]) -> None:
    """Section 5: the bootstrap likelihood-ratio test: its size, on the real data, on a grid."""
    doc.heading("5. The bootstrap likelihood-ratio test")
    size = _study(doc, src.blrt_size, "blrt_size")
    if size is not None:
        doc.table(tables.blrt(size["conditions"], name="blrt_size_tests"))
    blrt, source = _blrt_of(results, src)
    if blrt is not None:
        caption = f"{blrt_caption(blrt)} Source: {_link(doc, source)}."
        doc.draw("real_blrt", caption, blrt_figure, blrt)
    grid = _study(doc, src.blrt_grid, "blrt_grid")
    if grid is not None:
        doc.table(tables.methods_hit_rates(grid["conditions"], name="blrt_grid_hit_rates"))


def baselines_part(doc: ReportDoc, src: Sources) -> tuple[dict[str, Any], Any] | None:
    """Section 6: the estimator against a single start and the two-step route."""
    doc.heading("6. Against the baselines an analyst would try first")
    loaded = rb.load_baselines(src.baselines)
    if loaded is None:
        _missing(doc, src.baselines / "summary.json", "python -m experiments.baselines")
        return None
    summary, records = loaded
    doc.text(
        f"On the real_like condition ({summary['label']}: truth = the real-data K = 3 fit, "
        f"real prices), {summary['n_ok']} replications ({_link(doc, src.baselines)}, "
        "`python -m experiments.baselines`; replication r is the panel of the real_like "
        "study's replication r). Methods: **estimator**: EM with "
        f"{summary['fit']['n_init']} starts per K, K chosen by BIC; **single EM start**: the "
        "same with one start per K; **two-step**: every store's own OLS (alpha_i, beta_i), "
        "then scikit-learn's full-covariance `GaussianMixture` with its defaults "
        f"({summary['document']['gmm_n_init']} starts per K), K chosen by its own BIC with "
        "n = N stores. K = 1..5 fitted by every method; seconds are the fits only."
    )
    for paragraph in rb.reading(summary):
        doc.text(paragraph)
    doc.table(rb.methods_table(summary))
    caption = (
        "Estimate - truth at the true K for every parameter and method, over the "
        "replications (boxes: quartiles; whiskers: 1.5 IQR)."
    )
    doc.draw("baselines_errors", caption, rb.plot_errors, summary, records)
    return loaded


def speed_part(doc: ReportDoc, src: Sources) -> None:
    """Section 7: the benchmark's summary table."""
    doc.heading("7. Speed")
    path = src.benchmark / "benchmark.json"
    if not path.is_file():
        _missing(doc, path, "python -m experiments.benchmark --study")
        return
    result = read_json(path)
    meta = result["meta"]
    met = [t for t in result["targets"] if t["status"] == "met"]
    doc.text(
        f"`{meta['command']}` on {meta['date']} ({meta['cpu']}, {meta['cores']} cores); method "
        f"and every table in {_link(doc, src.benchmark / 'benchmark.md')}. "
        f"{len(met)} of {len(result['targets'])} targets met."
    )
    doc.table(tables.speed(result["cases"]))


# -- the appendix -------------------------------------------------------------


def real_appendix(doc: ReportDoc, src: Sources, real: rr.RealData) -> None:
    """The real data: estimates with every SE, posterior certainty, sigma estimated."""
    doc.heading("A.1 The real data", 3)
    doc.table(real_tables.estimates(real.model))
    caption = (
        "Histogram of every store's highest posterior segment probability "
        "max_c w_ic, stacked by its most likely segment (dotted: 0.9). "
        "A value near 1 means the store's segment is not in doubt."
    )
    doc.draw("real_max_posterior", caption, rr.plot_max_posterior, real)
    paths = {"fixed": src.results, "common": src.sigma_common, "segment": src.sigma_segment}
    if all(p.is_file() for p in paths.values()):
        documents = {m: read_json(p) for m, p in paths.items()}
        doc.table(real_tables.sigma_criteria(documents))
        doc.table(real_tables.sigma_fits(documents))


def baselines_appendix(doc: ReportDoc, src: Sources, loaded: tuple[dict[str, Any], Any]) -> None:
    """The baselines: recovery by method, single start, choice of K and time."""
    summary, records = loaded
    doc.heading("A.2 Baselines", 3)
    check = rb.agreement_with_study(records, src.real_like)
    if check:
        doc.text(check)
    doc.table(rb.recovery_table(summary))
    doc.table(rb.single_start_table(summary))
    caption = (
        "Left: share of replications in which each method's criterion chooses each K "
        "(error bars: Wilson 95% interval of the hit rate). Right: seconds per replication "
        "of each method's fits of K = 1..5 (log scale)."
    )
    doc.draw("baselines_selection_time", caption, rb.plot_selection_and_time, summary, records)


def study_appendix(doc: ReportDoc, folder: Path, name: str, number: str, shown: list[str]) -> bool:
    """Every table and figure of one study not already in the main part (``shown``)."""
    doc.heading(f"{number} Study {name}", 3)
    document = _study(doc, folder, name)
    if document is None:
        return False
    conditions = document["conditions"]
    if document.get("description"):
        doc.text(document["description"])
    coverage = any(tables.has_coverage(c) for c in conditions)
    candidates = [tables.recovery(conditions, name=f"{name}_recovery")]
    if coverage:
        candidates.append(tables.standard_errors(conditions, name=f"{name}_standard_errors"))
    if len(conditions) == 1:
        candidates.append(tables.criteria(conditions[0], name=f"{name}_criteria"))
    else:
        candidates.append(tables.reference_hit_rates(conditions, f"{name}_hit_rates_reference"))
    if len(conditions) > 1 and coverage:
        candidates.append(tables.condition_recovery(conditions, f"{name}_recovery_by_condition"))
    if any(c.get("blrt") for c in conditions):
        candidates.append(tables.blrt(conditions, name=f"{name}_blrt_tests"))
    for table in candidates:
        if table.name not in shown:
            doc.table(table, collapsed=len(table.rows) > 40)
    if len(conditions) > 1:
        for criterion in tables.selection_methods(conditions):
            doc.table(tables.hit_rate_pivot(conditions, criterion, f"{name}_hit_rate_{criterion}"),
                      collapsed=True)  # fmt: skip
    if len(conditions) == 1:
        doc.text(rst.criteria_reading(conditions[0]))
    skip = [s.removeprefix(f"{name}_") for s in shown]
    count = rst.add_study_figures(doc, folder, name, conditions, skip=skip)
    if not count:
        doc.text(f"(`{folder}/figures/` holds no other figures.)")
    return True


def build(
    out_dir: Path,
    src: Sources | None = None,
    rerun_baselines: bool = False,
    baseline_replications: int = baseline_study.DEFAULT_REPLICATIONS,
    n_jobs: int = 1,
) -> dict[str, Any]:
    """Build the report into ``out_dir``; return the manifest (tables, figures, what is missing)."""
    src = src or Sources()
    out_dir = Path(out_dir)
    started = time.perf_counter()
    if rerun_baselines:
        baseline_study.run(out_dir=src.baselines, replications=baseline_replications, n_jobs=n_jobs)
    for sub in ("figures", "tables"):
        shutil.rmtree(out_dir / sub, ignore_errors=True)
    doc = ReportDoc(out_dir, "salesmix: segments of the real stores, and how far to trust them")
    doc.text(
        "Built by `python -m experiments.report` from the committed outputs (no fitting "
        "except the cheap real-data quantities named in section 1). The main part carries "
        "the argument in at most 16 tables and figures; the appendix holds every other one. "
        "Every table is inline and in `tables/` as a standalone LaTeX (booktabs) table; every "
        "figure is in `figures/` as PNG and PDF. Numbers in the text come from the same files."
    )
    real = real_part(doc, src)
    trust_part(doc, src)
    grid_part(doc, src)
    blrt_part(doc, src, real.results)
    loaded = baselines_part(doc, src)
    speed_part(doc, src)
    main = [*doc.tables, *doc.figures]
    if len(main) > MAIN_ITEMS:
        raise AssertionError(f"the main part holds {len(main)} tables and figures")
    shown = [entry["name"] for entry in main]
    doc.appendix("Appendix: every other table and figure")
    real_appendix(doc, src, real)
    if loaded is not None:
        baselines_appendix(doc, src, loaded)
    missing = [] if loaded is not None else [str(src.baselines)]
    for i, name in enumerate(STUDIES):
        folder = getattr(src, name)
        if not study_appendix(doc, folder, name, f"A.{i + 3}", shown):
            missing.append(str(folder))
    time_vs_n = src.benchmark / "time_vs_n"
    if (time_vs_n.parent / "time_vs_n.png").is_file():
        doc.heading(f"A.{len(STUDIES) + 3} Speed", 3)
        caption = (
            "Benchmark: time of a fit against the number of stores N, ours and the "
            "straightforward EM, log-log (outputs/benchmark/benchmark.md)."
        )
        doc.copy_figure(time_vs_n, "benchmark_time_vs_n", caption)
    manifest = {
        "sources": {k: str(v) for k, v in src.__dict__.items()},
        "missing": missing,
        "recomputed": [
            "store OLS estimates (alpha_i, beta_i) from the data file",
            "observed-information covariance of the chosen real-data fit",
        ],
    }
    doc.write(manifest)
    manifest.update(tables=doc.tables, figures=doc.figures, seconds=time.perf_counter() - started)
    return manifest
