"""Build the write-up bundle: every table and figure of the real data, baselines and studies.

Usage::

    python -m experiments.report [--out outputs/report] [--rerun-baselines]
                                 [--baseline-replications R] [--n-jobs J]

Reads the committed outputs and never refits (except the cheap real-data
quantities that are not stored, listed in :mod:`simstudy.writeup.real`):

* ``outputs/results.json`` and ``outputs/real/store_segments.csv`` (the real data),
  ``outputs/real_sigma_common/`` and ``outputs/real_sigma_segment/`` (sigma estimated);
* ``outputs/baselines/`` (:mod:`simstudy.studies.baselines`; ``--rerun-baselines`` runs
  or resumes it first);
* ``outputs/real_like/``, ``outputs/selection_grid/`` and ``outputs/irregular/`` (the
  simulation studies, docs/simstudy.md), each only if it has been run; otherwise the
  report says so. Harness figures are captioned from the manifest written beside each
  (``figures/STEM.json``: which conditions it shows).

Writes OUT/report.md (every table inline, every figure embedded, each with a
caption), OUT/tables/*.tex (each table as a standalone booktabs LaTeX table),
OUT/figures/*.png and *.pdf, and OUT/manifest.json (what was written and from what).
The figure and table folders are emptied first, so the folder holds exactly one build.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..studies import baselines as baseline_study
from ..studies.blrt import blrt_caption, blrt_figure
from ..studies.paths import OUTPUTS, REAL_DATA
from . import baselines as rb
from . import real as rr
from . import studies as rst
from .doc import ReportDoc, num
from .study_report import BLRT_HEADERS, blrt_rows
from .style import style


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


def _rel(path: Path, out_dir: Path) -> str:
    return Path(os.path.relpath(Path(path).resolve(), Path(out_dir).resolve())).as_posix()


# ---------------------------------------------------------------------------
# sections
# ---------------------------------------------------------------------------


def _blrt_of(results: dict[str, Any], src: Sources) -> tuple[dict[str, Any] | None, Path]:
    """The real data's bootstrap LRT: the main results' own, else ``src.blrt``'s, else None."""
    if "blrt" in results:  # fit_real --blrt B
        return results["blrt"], src.results
    if src.blrt.is_file():
        with open(src.blrt, encoding="utf-8") as handle:
            return json.load(handle).get("blrt"), src.blrt
    return None, src.blrt


def real_section(doc: ReportDoc, src: Sources) -> rr.RealData:
    """The real data: model comparison, segment profiles, four figures, sigma robustness."""
    real = rr.load_real(src.results, src.segments, src.data)
    results = real.results
    k = real.k
    doc.heading("1. The real data")
    doc.text(
        f"`{results['data']['file']}`: N = {results['data']['N']} stores, T = "
        f"{results['data']['T']} weeks, fitted for K = {results['settings']['k_range']} with "
        f"{results['settings']['n_init']} starts per K (tol {results['settings']['tol']:g}, "
        f"seed {results['settings']['seed']}); source: "
        f"[`{src.results}`]({_rel(src.results, doc.out_dir)}). Recomputed for this report "
        "(not stored): every store's own OLS estimate (alpha_i, beta_i) from the data file, "
        "and the full observed-information covariance of the chosen fit at the stored "
        "estimates (for the ellipses and the bands); its standard errors agree with "
        f"results.json to {real.se_mismatch:.1e}."
    )
    doc.heading("1.1 How many segments", 3)
    doc.table(
        "real_model_comparison",
        "Model comparison over K on the real data: maximised log-likelihood, free parameters "
        "(3K - 1) and every information criterion (lower is better; * marks each criterion's "
        "minimum; BIC uses n = NT store-weeks, BIC (n = N) stores). Starts at best: starts "
        "within 1e-6 (relative) of the best log-likelihood.",
        rr.COMPARISON_HEADERS,
        rr.comparison_table(results),
    )
    doc.text(rr.comparison_reading(results))
    with style():
        doc.figure(
            rr.plot_criteria(results),
            "real_criteria",
            "Information criteria against K (left: each criterion minus its minimum over K; "
            "symmetric log scale, linear below 10) and the maximised log-likelihood (right). "
            f"Dotted: the K chosen by BIC, K = {results['chosen_K']}.",
        )
        blrt, blrt_source = _blrt_of(results, src)
        if blrt is not None:
            link = f"[`{blrt_source}`]({_rel(blrt_source, doc.out_dir)})"
            doc.figure(blrt_figure(blrt), "real_blrt", f"{blrt_caption(blrt)} Source: {link}.")
    doc.heading(f"1.2 The {k} segments", 3)
    doc.table(
        "real_segment_profiles",
        f"Segment profiles, K = {k}: share pi_c of stores (95% interval on the logit scale, "
        "observed information), alpha_c and beta_c with 95% Wald intervals, the demand read "
        "from beta's interval (clearly elastic: the whole interval below -1, |beta| > 1; "
        "clearly inelastic: above -1; otherwise undetermined), stores whose most likely "
        "segment it is, median weekly sales exp(alpha_c) p^beta_c at the median price "
        f"({num(float(rr.np.median(real.prices)), 3)}), and the mean highest posterior "
        "probability of the stores assigned to it.",
        rr.PROFILE_HEADERS,
        rr.profile_table(real),
    )
    doc.text(rr.profile_reading(real))
    with style():
        doc.figure(
            rr.plot_store_ols(real),
            "real_store_ols",
            "Every store's own OLS estimate (alpha_i, beta_i) from its 52 weeks, coloured by "
            "its most likely segment; crosses: segment centres (alpha_c, beta_c); filled "
            "ellipses: their 95% confidence regions (observed information); dashed (left): "
            "the 95% region in which a store of the segment puts its own OLS estimate under "
            "the model, b_i ~ N(theta_c, (X'X)^-1). Right: zoom on the centres.",
        )
        doc.figure(
            rr.plot_demand(real),
            "real_demand",
            "Fitted demand per segment over the observed price range: median weekly sales "
            "exp(alpha_c + beta_c log p) (black; band: pointwise 95% interval, delta method "
            "with the observed-information covariance) over the weekly sales of the stores "
            "assigned to the segment (dots: the median over those stores at each week's price; "
            "bars: 10% to 90% of them); dashed grey: the other segments' curves. The "
            "mean of sales is exp(1/2) = 1.65 times the median under the model's unit noise.",
        )
        doc.figure(
            rr.plot_max_posterior(real),
            "real_max_posterior",
            "Histogram of every store's highest posterior segment probability "
            "max_c w_ic, stacked by its most likely segment (dotted: 0.9). "
            "A value near 1 means the store's segment is not in doubt.",
        )
    sigma_rows = rr.sigma_rows(
        {"fixed": src.results, "common": src.sigma_common, "segment": src.sigma_segment}
    )
    if len({row[0] for row in sigma_rows}) > 1:
        doc.heading("1.3 With the error standard deviation estimated", 3)
        doc.table(
            "real_sigma_modes",
            "The chosen fit when sigma is fixed at 1 (the model), estimated in common, or per "
            "segment (docs/extensions.md): K chosen by BIC, its BIC, and the estimates with "
            "observed-information standard errors.",
            rr.SIGMA_HEADERS,
            sigma_rows,
        )
        bics = {row[0]: float(row[2]) for row in sigma_rows}
        ks = {row[0]: row[1] for row in sigma_rows}
        doc.text(
            "BIC chooses K = "
            + ", ".join(f"{ks[m]} with sigma {m}" for m in ks)
            + f"; the lowest BIC over the modes is sigma {min(bics, key=bics.get)}'s "
            f"({min(bics.values()):.2f})."
        )
    return real


def baselines_section(doc: ReportDoc, src: Sources) -> bool:
    """The estimator against a single start and the two-step route; False when not run."""
    doc.heading("2. Baselines: what the estimator buys")
    loaded = rb.load_baselines(src.baselines)
    if loaded is None:
        doc.text(
            f"`{src.baselines}/summary.json` is missing: run `python -m experiments.baselines` "
            "(or this command with `--rerun-baselines`) and rebuild."
        )
        return False
    summary, records = loaded
    document = summary["document"]
    doc.text(
        f"On the real_like condition ({summary['label']}: truth = the real-data K = 3 fit, "
        f"real prices), {summary['n_ok']} replications "
        f"([`{src.baselines}`]({_rel(src.baselines, doc.out_dir)}), "
        "`python -m experiments.baselines`; replication r is the panel of the real_like "
        "study's replication r). Methods: **estimator**: EM with "
        f"{summary['fit']['n_init']} k-means++ starts per K, K chosen by BIC; **single EM "
        "start**: the same with one start per K; **two-step**: every store's own OLS "
        "(alpha_i, beta_i), then a full-covariance Gaussian mixture fitted by EM "
        f"({document['gmm_n_init']} starts per K, `simstudy/studies/gmm.py`), "
        "K chosen by its own BIC with n = N stores. K = 1..5 fitted by every method; "
        "seconds are the fits only."
    )
    for paragraph in rb.reading(summary):
        doc.text(paragraph)
    check = rb.agreement_with_study(records, src.real_like)
    if check:
        doc.text(check)
    doc.table(
        "baselines_methods",
        "Choice of K and classification by method: hit rate of the true K = "
        f"{summary['true_k']} (Wilson 95% interval), how often each K was chosen, mean "
        "misclassification rate and adjusted Rand index of the most likely segments at the "
        "true K, mean seconds per replication.",
        rb.METHOD_HEADERS,
        rb.method_rows(summary),
    )
    doc.table(
        "baselines_recovery",
        "Recovery at the true K by method (segments matched to the truth by the Hungarian "
        "algorithm): bias and RMSE over replications, and the two-step route's RMSE as a "
        "multiple of the estimator's.",
        rb.recovery_headers(),
        rb.recovery_rows(summary),
    )
    doc.table(
        "baselines_single_start",
        "A single EM start against ten, per K: share of replications in which the single "
        "start's log-likelihood is within 1e-6 (relative) of the ten-start maximum, and its "
        "mean and largest shortfall.",
        rb.SINGLE_HEADERS,
        rb.single_rows(summary),
    )
    with style():
        doc.figure(
            rb.plot_errors(summary, records),
            "baselines_errors",
            "Estimate - truth at the true K for every parameter and method, over the "
            "replications (boxes: quartiles; whiskers: 1.5 IQR).",
        )
        doc.figure(
            rb.plot_selection_and_time(summary, records),
            "baselines_selection_time",
            "Left: share of replications in which each method's criterion chooses each K "
            "(error bars: Wilson 95% interval of the hit rate). Right: seconds per replication "
            "of each method's fits of K = 1..5 (log scale).",
        )
    return True


def study_section(doc: ReportDoc, folder: Path, name: str, number: str) -> bool:
    """One simulation study: tables and readings from summary.json, figures copied."""
    document = rst.load_study(folder)
    doc.heading(f"{number} Study {name}", 3)
    if document is None:
        doc.text(
            f"Not available yet: `{folder}/summary.json` does not exist (the study has not "
            "landed); rebuild the report when it has."
        )
        return False
    conditions = document["conditions"]
    doc.text(
        f"[`{folder}`]({_rel(folder, doc.out_dir)}): {rst.study_run_line(document)} "
        f"{document.get('description', '')}"
    )
    if len(conditions) == 1:
        condition = conditions[0]
        doc.table(
            f"{name}_recovery",
            f"Recovery at the true K, {condition['label']}: mean estimate, bias with its Monte "
            "Carlo standard error, SD and RMSE over replications"
            + (
                "; mean standard error and its ratio to the SD, and the coverage of the 95% "
                "intervals with a Wilson 95% Monte Carlo interval, for observed-information "
                "and naive standard errors"
                if rst.has_coverage(condition)
                else ""
            )
            + ".",
            rst.recovery_headers(condition),
            rst.recovery_rows(condition),
        )
        doc.text(rst.recovery_reading(condition))
        doc.table(
            f"{name}_criteria",
            f"Hit rate of the true K by criterion, {condition['label']} (Wilson 95% interval), "
            "shares choosing too few and too many segments, and the counts of each chosen K.",
            rst.CRITERIA_HEADERS,
            rst.criteria_rows(condition),
        )
        doc.text(rst.criteria_reading(condition))
    else:
        headers, rows, where = rst.reference_rows(conditions)
        doc.table(
            f"{name}_hit_rates_reference",
            f"Hit rate of the true K [Wilson 95%] by criterion and true K against N, at {where}.",
            headers,
            rows,
        )
        doc.text(rst.grid_reading(conditions))
        if any(rst.has_coverage(c) for c in conditions):
            headers, rows = rst.condition_recovery(conditions)
            doc.table(
                f"{name}_recovery_by_condition",
                "Recovery at the true K by condition: the largest absolute bias in units of "
                "the estimates' SD and the largest RMSE (each with its parameter), and the "
                "range over the parameters of the coverage of the 95% intervals.",
                headers,
                rows,
            )
        for criterion in rst.selection_methods(conditions):
            headers, rows = rst.pivot(conditions, criterion)
            doc.table(
                f"{name}_hit_rate_{criterion}",
                f"Hit rate of the true K [Wilson 95%] of {rst.CRITERION_LABELS[criterion]}, "
                "every condition of the grid.",
                headers,
                rows,
                collapsed=True,
            )
    if any(c.get("blrt") for c in conditions):
        doc.table(
            f"{name}_blrt_tests",
            "Bootstrap likelihood-ratio test of K0 against K0 + 1: replications that reached "
            "each test, its rejection rate with a Wilson 95% interval (at K0 = true K, the "
            "size of the test) and the mean number of bootstrap samples used.",
            BLRT_HEADERS,
            blrt_rows(conditions),
        )
    count = rst.add_study_figures(doc, folder, name, conditions)
    if not count:
        doc.text(f"(`{folder}/figures/` holds no figures.)")
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
    doc = ReportDoc(out_dir, "salesmix: segments of the real stores, baselines and studies")
    doc.text(
        "Built by `python -m experiments.report` from the committed outputs (no fitting "
        "except the cheap real-data quantities named in section 1). Every table is inline "
        "below and in `tables/` as a standalone LaTeX (booktabs) table; every figure is in "
        "`figures/` as PNG and PDF. Numbers in the text are generated from the same files."
    )
    real_section(doc, src)
    have_baselines = baselines_section(doc, src)
    doc.heading("3. Simulation studies")
    missing = [] if have_baselines else [str(src.baselines)]
    for folder, name, number in (
        (src.real_like, "real_like", "3.1"),
        (src.selection_grid, "selection_grid", "3.2"),
        (src.irregular, "irregular", "3.3"),
        (src.blrt_size, "blrt_size", "3.4"),
        (src.blrt_grid, "blrt_grid", "3.5"),
    ):
        if not study_section(doc, folder, name, number):
            missing.append(str(folder))
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
