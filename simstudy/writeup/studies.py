"""The Monte Carlo studies in the report: recovery, hit rates with intervals, the harness figures.

Reads a study folder (``summary.json`` and ``figures/``, docs/simstudy.md), reruns nothing;
every reading and caption quotes the summary.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..harness.files import read_json
from .doc import ReportDoc
from .format import CRITERION_LABELS, level, pct
from .tables import SE_KINDS, pooled_rates, reference_levels, selection_methods

Summary = dict[str, Any]


def load_study(folder: Path) -> dict[str, Any] | None:
    """A study's summary.json, or None when the study has not been run into ``folder``."""
    path = Path(folder) / "summary.json"
    return read_json(path) if path.is_file() else None


# -- readings -----------------------------------------------------------------


def recovery_reading(condition: Summary) -> str:
    """One paragraph on recovery (and coverage, when recorded) in one condition."""
    rows = condition["recovery"]
    rows = [r for r in rows if r["n"] and r["mcse_bias"]]  # pi_1 = 1 at K = 1 has no error
    if not rows:
        return f"No replication of {condition['label']} has estimates to summarise."

    def z_score(r: dict[str, Any]) -> float:
        return abs(r["bias"]) / r["mcse_bias"]

    worst_bias = max(rows, key=z_score)
    worst_rmse = max(rows, key=lambda r: r["rmse"])
    best_rmse = min(rows, key=lambda r: r["rmse"])
    z = z_score(worst_bias)
    text = (
        f"Over {condition['n_ok']} replications ({condition['n_errors']} errors), "
        f"the largest bias relative to its Monte Carlo error is that of "
        f"{worst_bias['parameter']}, {worst_bias['bias']:.4f} ({z:.1f} MCSEs"
        f"{', within Monte Carlo noise' if z < 2.6 else ', beyond Monte Carlo noise'}). "
        f"RMSE ranges from {best_rmse['rmse']:.4f} ({best_rmse['parameter']}) to "
        f"{worst_rmse['rmse']:.4f} ({worst_rmse['parameter']}). "
    )
    for kind in SE_KINDS:
        key = f"coverage_{kind}"
        present = [r for r in rows if r.get(key) is not None]
        if not present:
            continue
        low = min(present, key=lambda r: r[key])
        high = max(present, key=lambda r: r[key])
        ratios = [r[f"se_{kind}_ratio"] for r in present if r.get(f"se_{kind}_ratio")] or [math.nan]
        text += (
            f"The {kind} 95% intervals cover the truth in {pct(low[key])} ({low['parameter']}) "
            f"to {pct(high[key])} ({high['parameter']}) of replications, with mean SE / SD "
            f"between {min(ratios):.3f} and {max(ratios):.3f}. "
        )
    if "classification" in condition:
        cls = condition["classification"]
        text += (
            f"Stores are misclassified at a mean rate of "
            f"{pct(cls['misclassification_mean'], 2)} (mean ARI {cls['ari_mean']:.3f})."
        )
    return text


def criteria_reading(condition: Summary) -> str:
    """One paragraph on the choice of K in one condition."""
    sel = condition["selection"]
    true_k = condition["factors"]["K"]
    methods = selection_methods([condition])
    best = max(methods, key=lambda c: sel[c]["hit_rate"])
    worst = min(methods, key=lambda c: sel[c]["hit_rate"])
    bic = sel["bic"]
    return (
        f"BIC (n = NT) finds the true K = {true_k} in {pct(bic['hit_rate'])} of replications "
        f"(95% CI {pct(bic['ci_low'])} to {pct(bic['ci_high'])}; too few "
        f"{pct(bic['too_few'])}, too many {pct(bic['too_many'])}). The highest hit rate is "
        f"{CRITERION_LABELS[best]}'s, {pct(sel[best]['hit_rate'])}; the lowest "
        f"{CRITERION_LABELS[worst]}'s, {pct(sel[worst]['hit_rate'])}, which chooses too few "
        f"segments in {pct(sel[worst]['too_few'])} and too many in "
        f"{pct(sel[worst]['too_many'])} of replications."
    )


def grid_reading(conditions: Sequence[Summary]) -> str:
    """One paragraph on the selection grid: pooled hit rates, the hard cases, misspecification."""
    levels = [c["factors"].get("sigma", 1.0) for c in conditions]
    # a scalar sigma above the first is misspecification; per-segment sigmas are estimated
    scalar = all(isinstance(v, int | float) for v in levels)
    sigmas = sorted(set(levels)) if scalar else []
    model_sigma = [
        c for c in conditions if not scalar or c["factors"].get("sigma", 1.0) == sigmas[0]
    ]
    pooled = {crit: pooled_rates(model_sigma, crit) for crit in selection_methods(model_sigma)}
    ranked = sorted(pooled, key=lambda c: -pooled[c]["rate"])
    which = f"with sigma = {sigmas[0]:g} " if scalar else ""
    text = (
        f"Over the {len(model_sigma)} conditions {which}"
        f"({pooled['bic']['n']} replications), the criteria find the true K in "
        + ", ".join(f"{pct(pooled[c]['rate'])} ({CRITERION_LABELS[c]})" for c in ranked)
        + " of replications. "
    )
    worst = min(model_sigma, key=lambda c: c["selection"]["bic"]["hit_rate"])
    text += (
        f"BIC's hardest condition is {worst['label']} "
        f"(hit rate {pct(worst['selection']['bic']['hit_rate'])}, too few "
        f"{pct(worst['selection']['bic']['too_few'])}). "
    )
    ref = reference_levels(conditions)
    members = [c for c in conditions if all(c["factors"][f] == v for f, v in ref.items())]
    needs = []
    for k in sorted({c["factors"]["K"] for c in members}):
        line = sorted(
            (c for c in members if c["factors"]["K"] == k), key=lambda c: c["factors"]["N"]
        )
        enough = [c["factors"]["N"] for c in line if c["selection"]["bic"]["hit_rate"] >= 0.9]
        needs.append(f"K = {k}: N = {enough[0]}" if enough else f"K = {k}: no N in the grid")
    if needs and ref:
        where = ", ".join(f"{f} = {level(v)}" for f, v in ref.items())
        text += f"At {where}, BIC reaches a 90% hit rate from " + "; ".join(needs) + ". "
    for sigma in sigmas[1:]:
        off = [c for c in conditions if c["factors"].get("sigma", 1.0) == sigma]
        rate = pooled_rates(off, "bic")
        text += (
            f"With sigma = {sigma:g} (more noise than the model's sigma = 1) BIC's pooled hit "
            f"rate is {pct(rate['rate'])} and it chooses too many segments in "
            f"{pct(rate['too_many'])} of replications (against {pct(pooled['bic']['too_many'])} "
            f"at sigma = {sigmas[0]:g})."
        )
    return text


# -- figures of the harness ---------------------------------------------------


def _nested_caption(members: Sequence[Summary], about: dict[str, Any]) -> str:
    criteria = about.get("criteria", ["bic"])
    order = about.get("order", [])
    rates = {c: pooled_rates(members, c)["rate"] for c in criteria}
    lo = min(members, key=lambda c: c["selection"][criteria[0]]["hit_rate"])
    return (
        f"Hit rate of the true K of {', '.join(CRITERION_LABELS[c] for c in criteria)} in "
        f"every one of the {len(members)} conditions, in nested order "
        f"({' > '.join(order)}: the staircases below give each factor's level); bands: "
        "Wilson 95% Monte Carlo intervals. Pooled over the conditions: "
        + ", ".join(f"{CRITERION_LABELS[c]} {pct(r)}" for c, r in rates.items())
        + f"; {CRITERION_LABELS[criteria[0]]}'s lowest is "
        f"{pct(lo['selection'][criteria[0]]['hit_rate'])} ({lo['label']})."
    )


def _rmse_caption(members: Sequence[Summary], about: dict[str, Any]) -> str:
    rows = [(c, r) for c in members for r in c["recovery"] if r["rmse"] is not None]
    text = (
        "RMSE of every parameter at the true K against N (stores, log scale); colour and "
        "marker: T (weeks), line style: separation."
    )
    if rows:
        c, r = max(rows, key=lambda cr: cr[1]["rmse"])
        text += f" Largest: {r['parameter']} at {c['label']}, {r['rmse']:.4f}."
    return text


def _chosen_caption(members: Sequence[Summary], about: dict[str, Any]) -> str:
    criterion = about.get("criterion", "bic")
    rate = pooled_rates(members, criterion)
    return (
        f"Share of replications in which {CRITERION_LABELS[criterion]} chooses each K "
        "(columns) for each true K (rows), a panel per (T, N). Pooled over the panels, it "
        f"finds the true K in {pct(rate['rate'])}, too few in {pct(rate['too_few'])}, too "
        f"many in {pct(rate['too_many'])}."
    )


def _errors_caption(members: Sequence[Summary], about: dict[str, Any]) -> str:
    rows = [(c, r) for c in members for r in c["recovery"] if r["bias"] is not None]
    text = "Boxplots of estimate - truth at the true K (raw replications), a box per condition."
    if rows:
        c, r = max(rows, key=lambda cr: abs(cr[1]["bias"]))
        text += f" Largest mean error of the conditions shown: {r['parameter']} at "
        text += f"{c['label']}, {r['bias']:.4f}."
    return text + (f" {about['note']}" if about.get("note") else "")


def _coverage_caption(members: Sequence[Summary], about: dict[str, Any]) -> str:
    text = (
        "Left: coverage of the 95% intervals of every parameter (observed information and "
        "naive) with Wilson 95% Monte Carlo intervals, and the band a correctly calibrated "
        "interval would fall in; right: mean SE / SD of the estimates (1 = right size)."
    )
    rows = [r for c in members for r in c["recovery"] if r.get("coverage_observed") is not None]
    if rows:
        cov = [r["coverage_observed"] for r in rows]
        text += f" Observed-information coverage: {pct(min(cov))} to {pct(max(cov))}"
        text += f" ({members[0]['label']})." if len(members) == 1 else "."
    return text


def _criteria_caption(members: Sequence[Summary], about: dict[str, Any]) -> str:
    text = "Share of replications in which each criterion (rows) chooses each K (columns)."
    if len(members) == 1:
        sel = members[0]["selection"]
        text += (
            f" {members[0]['label']}; hit rates: "
            + ", ".join(
                f"{CRITERION_LABELS[c]} {pct(sel[c]['hit_rate'])}"
                for c in selection_methods(members)
            )
            + "."
        )
    return text


CAPTIONS: dict[str, Callable[[Sequence[Summary], dict[str, Any]], str]] = {
    "nested_loop": _nested_caption,
    "chosen_k_criteria": _criteria_caption,
    "chosen_k": _chosen_caption,
    "coverage": _coverage_caption,
    "rmse": _rmse_caption,
    "errors": _errors_caption,
}
"""Kind of a harness figure (its manifest, :func:`.study_report.save_figure`) and its caption."""


def figure_manifest(folder: Path, stem: str) -> dict[str, Any] | None:
    """What a harness figure shows (``figures/STEM.json``), or None for a figure without one."""
    path = Path(folder) / "figures" / f"{stem}.json"
    return read_json(path) if path.is_file() else None


def figure_caption(manifest: dict[str, Any] | None, conditions: Sequence[Summary]) -> str:
    """Caption of a harness figure from its manifest, quoting the conditions it shows."""
    if manifest is None or manifest.get("kind") not in CAPTIONS:
        return "A figure of the study without a manifest (rebuild the study's figures)."
    shown = set(manifest["conditions"])
    members = [c for c in conditions if c["id"] in shown]
    if not members:
        return f"A {manifest['kind']} figure of conditions not in the summary."
    return CAPTIONS[manifest["kind"]](members, manifest)


def study_figure(
    doc: ReportDoc, folder: Path, study: str, stem: str, summaries: Sequence[Summary]
) -> None:
    """Copy one figure of ``folder/figures`` (PNG and PDF) and embed it with its caption."""
    caption = figure_caption(figure_manifest(folder, stem), summaries)
    doc.copy_figure(Path(folder) / "figures" / stem, f"{study}_{stem}",
                    f"{caption} (study {study}, figure `{stem}`)")  # fmt: skip


def add_study_figures(
    doc: ReportDoc, folder: Path, study: str, summaries: Sequence[Summary], skip: Sequence[str] = ()
) -> int:
    """Embed every figure of ``folder/figures`` but ``skip``, by kind; return how many."""
    stems = sorted({p.stem for p in (Path(folder) / "figures").glob("*.png")} - set(skip))
    kinds = {stem: (figure_manifest(folder, stem) or {}).get("kind") for stem in stems}
    order = list(CAPTIONS)
    stems.sort(key=lambda s: (order.index(kinds[s]) if kinds[s] in order else len(order), s))
    for stem in stems:
        study_figure(doc, folder, study, stem, summaries)
    return len(stems)


def study_run_line(document: dict[str, Any]) -> str:
    """Where a study came from: conditions, replications, fitting settings."""
    run = document.get("run", {})
    config = document.get("config", {})
    fit = config.get("fit", {})
    return (
        f"{run.get('conditions', len(document['conditions']))} condition(s) x "
        f"{run.get('replications', '?')} replications, K = {config.get('k_range')} fitted with "
        f"n_init {fit.get('n_init')}, tol {fit.get('tol')}, max_iter {fit.get('max_iter')}; "
        f"seed {config.get('seed')}."
    )
