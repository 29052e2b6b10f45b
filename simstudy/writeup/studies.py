"""The Monte Carlo studies in the report: recovery, hit rates with intervals, the harness figures.

Reads a study folder written by ``python -m experiments.recovery`` or
``python -m experiments.selection`` (``summary.json`` and ``figures/``,
docs/simstudy.md); nothing is rerun. Every reading and figure caption quotes
numbers taken from the summary.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..harness.measures import wilson_interval
from .doc import ReportDoc, interval, num, pct
from .study_report import CRITERION_LABELS, selection_methods

Summary = dict[str, Any]
SE_KINDS: tuple[str, ...] = ("observed", "naive")


def load_study(folder: Path) -> dict[str, Any] | None:
    """A study's summary.json, or None when the study has not been run into ``folder``."""
    path = Path(folder) / "summary.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def level_str(value: Any) -> str:
    """A factor level as the harness writes it in figure names (``1``, ``1.5``, ``real``)."""
    if isinstance(value, dict | list | tuple):
        items = value.values() if isinstance(value, dict) else value
        return "-".join(f"{v:g}" if isinstance(v, float) else str(v) for v in items)
    return f"{value:g}" if isinstance(value, float) else str(value)


def varying(conditions: Sequence[Summary]) -> list[str]:
    """Factors with more than one level, in the harness's order."""
    names = list(conditions[0]["factors"])
    return [f for f in names if len({level_str(c["factors"][f]) for c in conditions}) > 1]


def has_coverage(condition: Summary) -> bool:
    """Whether the recovery rows carry interval coverage."""
    return any(f"coverage_{k}" in r for r in condition["recovery"] for k in SE_KINDS)


# ---------------------------------------------------------------------------
# tables
# ---------------------------------------------------------------------------


def recovery_headers(condition: Summary) -> list[str]:
    """Headers of the recovery table (coverage columns only when recorded)."""
    heads = ["parameter", "true", "mean", "bias", "MCSE(bias)", "SD", "RMSE"]
    if has_coverage(condition):
        for kind in SE_KINDS:
            heads += [f"mean SE ({kind})", f"SE/SD ({kind})", f"coverage ({kind}) [95% MC]"]
    return heads


def recovery_rows(condition: Summary) -> list[list[str]]:
    """Recovery at the true K of one condition: bias, RMSE and, when present, coverage."""
    rows = []
    coverage = has_coverage(condition)
    for r in condition["recovery"]:
        cells = [
            r["parameter"],
            num(r["true"], 4),
            num(r["mean"], 4),
            num(r["bias"], 4),
            num(r["mcse_bias"], 4),
            num(r["sd"], 4),
            num(r["rmse"], 4),
        ]
        if coverage:
            for kind in SE_KINDS:
                key = f"coverage_{kind}"
                cells += [
                    num(r.get(f"se_{kind}_mean"), 4),
                    num(r.get(f"se_{kind}_ratio"), 3),
                    f"{num(r.get(key))} {interval(r.get(f'{key}_low'), r.get(f'{key}_high'))}",
                ]
        rows.append(cells)
    return rows


CRITERIA_HEADERS = (
    "criterion",
    "hit rate [95% CI]",
    "too few",
    "too many",
    "chosen K (counts)",
)


def criteria_rows(condition: Summary) -> list[list[str]]:
    """Hit rate of every criterion in one condition, with its Wilson interval and misses."""
    rows = []
    for c in selection_methods([condition]):
        sel = condition["selection"][c]
        counts = ", ".join(f"{k}: {v}" for k, v in sorted(sel["distribution"].items()))
        rows.append(
            [
                CRITERION_LABELS[c],
                f"{num(sel['hit_rate'])} {interval(sel['ci_low'], sel['ci_high'])}",
                num(sel["too_few"]),
                num(sel["too_many"]),
                counts,
            ]
        )
    return rows


def pivot(conditions: Sequence[Summary], criterion: str) -> tuple[list[str], list[list[str]]]:
    """Hit rate [Wilson 95%] of one criterion: a row per level of the other factors, N across."""
    row_factors = [f for f in varying(conditions) if f != "N"]
    ns = sorted({c["factors"]["N"] for c in conditions})
    cells: dict[tuple[str, ...], dict[int, str]] = {}
    keys: dict[tuple[str, ...], tuple[Any, ...]] = {}
    for c in conditions:
        key = tuple(level_str(c["factors"][f]) for f in row_factors)
        keys[key] = tuple(_sortable(c["factors"][f]) for f in row_factors)
        sel = c["selection"][criterion]
        cells.setdefault(key, {})[c["factors"]["N"]] = (
            f"{num(sel['hit_rate'], 2)} {interval(sel['ci_low'], sel['ci_high'], 2)}"
        )
    headers = [*("true K" if f == "K" else f for f in row_factors), *(f"N = {n}" for n in ns)]
    rows = [[*key, *(cells[key].get(n, "-") for n in ns)] for key in sorted(cells, key=keys.get)]
    return headers, rows


def _sortable(value: Any) -> Any:
    return (0, value, "") if isinstance(value, int | float) else (1, 0, json.dumps(value))


def reference_levels(conditions: Sequence[Summary]) -> dict[str, Any]:
    """Reference levels of the factors other than N and K: the largest T, separation 1
    (else the middle level), the smallest sigma, the first price process."""
    out: dict[str, Any] = {}
    for f in varying(conditions):
        if f in ("N", "K"):
            continue
        distinct = {level_str(c["factors"][f]): c["factors"][f] for c in conditions}
        levels = sorted(distinct.values(), key=_sortable)
        if f == "T":
            out[f] = levels[-1]
        elif f == "separation":
            out[f] = 1.0 if 1.0 in levels else levels[len(levels) // 2]
        else:
            out[f] = levels[0]
    return out


def reference_rows(conditions: Sequence[Summary]) -> tuple[list[str], list[list[str]], str]:
    """Every criterion's hit rate at the reference levels: a row per (criterion, true K)."""
    ref = reference_levels(conditions)
    members = [c for c in conditions if all(c["factors"][f] == v for f, v in ref.items())]
    ns = sorted({c["factors"]["N"] for c in members})
    ks = sorted({c["factors"]["K"] for c in members})
    rows = []
    for crit in selection_methods(members):
        for k in ks:
            row = [CRITERION_LABELS[crit], str(k)]
            for n in ns:
                match = [c for c in members if c["factors"]["K"] == k and c["factors"]["N"] == n]
                if not match:
                    row.append("-")
                    continue
                sel = match[0]["selection"][crit]
                row.append(
                    f"{num(sel['hit_rate'], 2)} {interval(sel['ci_low'], sel['ci_high'], 2)}"
                )
            rows.append(row)
    where = ", ".join(f"{f} = {level_str(v)}" for f, v in ref.items()) or "every condition"
    return ["criterion", "true K", *(f"N = {n}" for n in ns)], rows, where


def condition_recovery(conditions: Sequence[Summary]) -> tuple[list[str], list[list[str]]]:
    """Per condition (its varying factors): worst bias in SDs, largest RMSE, and the range of
    each SE kind's interval coverage over the parameters."""
    factors = [f for f in varying(conditions) if f not in ("N", "T", "K")] or ["N"]
    kinds = [
        k
        for k in ("observed", "naive")
        if any(f"coverage_{k}" in r for c in conditions for r in c["recovery"])
    ]
    headers = [*factors, "largest |bias| / SD", "largest RMSE"]
    headers += [f"coverage ({k}), min-max" for k in kinds]
    rows = []
    for c in conditions:
        rec = c["recovery"]
        worst = max(rec, key=lambda r: abs(r["bias"]) / r["sd"] if r["sd"] else 0.0)
        big = max(rec, key=lambda r: r["rmse"] or 0.0)
        row = [level_str(c["factors"][f]) for f in factors]
        row += [
            f"{abs(worst['bias']) / worst['sd']:.2f} ({worst['parameter']})",
            f"{num(big['rmse'], 3)} ({big['parameter']})",
        ]
        for k in kinds:
            cover = [r[f"coverage_{k}"] for r in rec if r.get(f"coverage_{k}") is not None]
            row.append(f"{min(cover):.3f}-{max(cover):.3f}")
        rows.append(row)
    return headers, rows


def pooled_rates(conditions: Sequence[Summary], criterion: str) -> dict[str, float]:
    """Hits over all replications of ``conditions`` with a Wilson interval, and too few / many."""
    n = sum(c["selection"][criterion]["n"] for c in conditions)
    hits = sum(c["selection"][criterion]["hits"] for c in conditions)
    few = sum(
        c["selection"][criterion]["too_few"] * c["selection"][criterion]["n"] for c in conditions
    )
    low, high = wilson_interval(hits, n) if n else (float("nan"), float("nan"))
    return {
        "n": n,
        "rate": hits / n if n else float("nan"),
        "low": low,
        "high": high,
        "too_few": few / n if n else float("nan"),
        "too_many": max(0.0, 1 - hits / n - few / n) if n else float("nan"),
    }


# ---------------------------------------------------------------------------
# readings
# ---------------------------------------------------------------------------


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
        ratios = [r[f"se_{kind}_ratio"] for r in present if r.get(f"se_{kind}_ratio")] or [
            float("nan")
        ]
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
        where = ", ".join(f"{f} = {level_str(v)}" for f, v in ref.items())
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


# ---------------------------------------------------------------------------
# figures of the harness
# ---------------------------------------------------------------------------


def _hit_caption(members: Sequence[Summary], about: dict[str, Any]) -> str:
    lo = min(members, key=lambda c: c["selection"]["bic"]["hit_rate"])
    hi = max(members, key=lambda c: c["selection"]["bic"]["hit_rate"])
    return (
        "Hit rate (share of replications choosing the true K) of every criterion against "
        "N (stores, log scale), a panel per true K and T (weeks); band: Wilson 95% interval "
        f"of BIC (n = NT). BIC ranges from {pct(lo['selection']['bic']['hit_rate'])} "
        f"({lo['label']}) to {pct(hi['selection']['bic']['hit_rate'])} ({hi['label']})."
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
    return text


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
    "hit_rate": _hit_caption,
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
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def figure_caption(manifest: dict[str, Any] | None, conditions: Sequence[Summary]) -> str:
    """Caption of a harness figure from its manifest, quoting the conditions it shows."""
    if manifest is None or manifest.get("kind") not in CAPTIONS:
        return "A figure of the study without a manifest (rebuild the study's figures)."
    shown = set(manifest["conditions"])
    members = [c for c in conditions if c["id"] in shown]
    if not members:
        return f"A {manifest['kind']} figure of conditions not in the summary."
    return CAPTIONS[manifest["kind"]](members, manifest)


def add_study_figures(
    doc: ReportDoc,
    folder: Path,
    study: str,
    conditions: Sequence[Summary],
    limit: int | None = None,
) -> int:
    """Copy and embed every figure of ``folder/figures`` (PNG and PDF); return how many."""
    stems = sorted({p.stem for p in (Path(folder) / "figures").glob("*.png")})
    manifests = {stem: figure_manifest(folder, stem) for stem in stems}
    order = list(CAPTIONS)

    def rank(stem: str) -> tuple[int, str]:
        kind = (manifests[stem] or {}).get("kind")
        return (order.index(kind) if kind in order else len(order), stem)

    stems = sorted(stems, key=rank)[:limit]
    for stem in stems:
        doc.copy_figure(
            Path(folder) / "figures" / stem,
            f"{study}_{stem}",
            f"{figure_caption(manifests[stem], conditions)} (study {study}, harness figure "
            f"`{stem}`)",
        )
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
