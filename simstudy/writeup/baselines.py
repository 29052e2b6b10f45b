"""The baseline comparison in the report: tables, figures and the reading, from outputs/baselines/.

Reads ``summary.json`` and ``raw/condition_0000.csv`` written by
:mod:`simstudy.studies.baselines`; nothing is refitted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..harness.files import read_json
from . import style as rs
from .format import num, pct, rate, with_mcse
from .study_figures import legend_below
from .tables import Table, interval_text

METHOD_ORDER: tuple[str, ...] = ("full", "single", "twostep")


def load_baselines(folder: Path) -> tuple[dict[str, Any], pd.DataFrame] | None:
    """The summary of the (single) condition and its raw records, or None when absent."""
    summary_path = Path(folder) / "summary.json"
    raw_path = Path(folder) / "raw" / "condition_0000.csv"
    if not (summary_path.is_file() and raw_path.is_file()):
        return None
    document = read_json(summary_path)
    summary = {**document["conditions"][0], "document": document}
    records = pd.read_csv(raw_path)
    return summary, records[records["status"] == "ok"]


def agreement_with_study(records: pd.DataFrame, study_folder: Path) -> str | None:
    """How the estimator's fits here compare with the recovery study's on the same panels
    (a sentence; None when the study's raw records are not there)."""
    path = Path(study_folder) / "raw" / "condition_0000.csv"
    if not path.is_file():
        return None
    study = pd.read_csv(path)
    shared = records.merge(study, on="replication", suffixes=("", "_study"))
    if not len(shared):
        return None
    columns = [c.removeprefix("full_est_") for c in records if c.startswith("full_est_")]
    diff = max(float(np.max(np.abs(shared[f"full_est_{c}"] - shared[f"est_{c}"])))
               for c in columns if f"est_{c}" in shared)  # fmt: skip
    same_k = int(np.sum(shared["full_chosen_k"] == shared["chosen_bic"]))
    return (
        f"Check: on the {len(shared)} panels it shares with the real_like study, the "
        f"estimator's fits here differ from the study's by at most {diff:.1e} in any "
        f"estimate, and choose the same K in {same_k} of {len(shared)}."
    )


# -- tables -------------------------------------------------------------------


def methods_table(summary: dict[str, Any], name: str = "baselines_methods") -> Table:
    """Per method: hit rate with Wilson interval, chosen-K counts, classification, time."""
    rows = []
    for m in METHOD_ORDER:
        result = summary["methods"][m]
        sel = result["selection"]
        counts = "/".join(str(v) for _, v in sorted(sel["distribution"].items()))
        rows.append([rs.METHOD_LABELS[m], rate(sel), counts,
                     pct(result["classification"]["misclassification_mean"]),
                     num(result["classification"]["ari_mean"]),
                     num(result["seconds"]["mean"], 2)])  # fmt: skip
    ks = "/".join(sorted(summary["methods"]["full"]["selection"]["distribution"]))
    headers = ["method", f"finds K = {summary['true_k']} [Wilson 95%]", f"chosen K: {ks}"]
    headers += ["misclassification", "ARI", "s / replication"]
    caption = (
        f"Choice of K and classification by method: hit rate of the true K = "
        f"{summary['true_k']} (Wilson 95% interval), how often each K was chosen, mean "
        "misclassification rate and adjusted Rand index of the most likely segments at the "
        "true K, mean seconds per replication."
    )
    return Table(name, caption, headers, rows)


def recovery_table(summary: dict[str, Any], name: str = "baselines_recovery") -> Table:
    """Per parameter at the true K: bias and RMSE (each with its MCSE) of every method."""
    methods = summary["methods"]
    ratio = summary["comparison"]["twostep"]["rmse_ratio"]
    rows = []
    for i, base in enumerate(methods["full"]["recovery"]):
        rec = [methods[m]["recovery"][i] for m in METHOD_ORDER]
        cells = [base["parameter"], num(base["true"], 4)]
        cells += [with_mcse(r["bias"], r["mcse_bias"], 3) for r in rec]
        cells += [with_mcse(r["rmse"], r.get("mcse_rmse"), 3) for r in rec]
        rows.append([*cells, num(ratio[base["parameter"]], 2)])
    headers = ["parameter", "true", *(f"bias ({m})" for m in METHOD_ORDER)]
    headers += [*(f"RMSE ({m})" for m in METHOD_ORDER), "RMSE ratio two-step / estimator"]
    caption = (
        "Recovery at the true K by method (segments matched to the truth by the Hungarian "
        "algorithm): bias and RMSE over replications with their Monte Carlo SEs, and the "
        "two-step route's RMSE as a multiple of the estimator's."
    )
    return Table(name, caption, headers, rows)


def single_start_table(summary: dict[str, Any], name: str = "baselines_single_start") -> Table:
    """Per K: how often one EM start reaches the 10-start maximum, and by how much it misses."""
    rows = [
        [k, pct(v["reached_rate"]), num(v["gap_mean"], 4), num(v["gap_max"])]
        for k, v in sorted(summary["single_start"].items(), key=lambda kv: int(kv[0]))
    ]
    headers = ["K", "one start reaches the maximum", "mean shortfall of log L", "largest shortfall"]
    caption = (
        "A single EM start against ten, per K: share of replications in which the single "
        "start's log-likelihood is within 1e-6 (relative) of the ten-start maximum, and its "
        "mean and largest shortfall."
    )
    return Table(name, caption, headers, rows)


# -- figures ------------------------------------------------------------------


def plot_errors(summary: dict[str, Any], records: pd.DataFrame) -> Figure:
    """Boxplots of estimate - truth at the true K: a panel per parameter, a box per method."""
    rows = summary["methods"]["full"]["recovery"]
    n_cols = 3
    n_rows = int(np.ceil(len(rows) / n_cols))
    fig, axes = rs.new_figure(n_rows, n_cols, width=rs.WIDTH_DOUBLE, height=2.1 * n_rows)
    for ax, row in zip(np.ravel(axes), rows, strict=False):
        name = row["parameter"]
        data = [records[f"{m}_est_{name}"].to_numpy(float) - row["true"] for m in METHOD_ORDER]
        _method_boxplot(ax, data)
        ax.axhline(0.0, color="grey", lw=0.8, ls="--")
        ax.set(title=name, xlabel="method", ylabel="estimate - truth")
    for ax in np.ravel(axes)[len(rows) :]:
        ax.set_visible(False)
    return fig


def plot_selection_and_time(summary: dict[str, Any], records: pd.DataFrame) -> Figure:
    """Left: share of replications choosing each K by method; right: seconds per replication."""
    fig, (ax_k, ax_t) = rs.new_figure(1, 2, width=rs.WIDTH_DOUBLE, height=2.8)
    ks = sorted(int(k) for k in summary["methods"]["full"]["selection"]["distribution"])
    width = 0.8 / len(METHOD_ORDER)
    for i, m in enumerate(METHOD_ORDER):
        sel = summary["methods"][m]["selection"]
        share = np.array([sel["distribution"][str(k)] for k in ks]) / sel["n"]
        x = np.arange(len(ks)) + (i - 1) * width
        ax_k.bar(x, share, width=width, color=rs.METHOD_COLOURS[m], label=rs.METHOD_LABELS[m])
        true_x = ks.index(summary["true_k"]) + (i - 1) * width
        bounds = [[sel["hit_rate"] - sel["ci_low"]], [sel["ci_high"] - sel["hit_rate"]]]
        ax_k.errorbar(true_x, sel["hit_rate"], yerr=bounds, color="grey", capsize=2, lw=1)
    ax_k.set_xticks(range(len(ks)), [str(k) for k in ks])
    ax_k.set_xlabel(f"K chosen by the method's criterion (true K = {summary['true_k']})")
    ax_k.set_ylabel("share of replications")
    legend_below(fig, ax_k)  # under the panels: no bar hidden behind it
    ax_k.set_title("choice of K (bars at the true K: Wilson 95%)")
    seconds = [records[f"{m}_seconds"].to_numpy(float) for m in METHOD_ORDER]
    _method_boxplot(ax_t, seconds)
    ax_t.set_yscale("log")
    ax_t.set(xlabel="method", ylabel="seconds per replication (log scale)", title="time")
    return fig


# -- reading ------------------------------------------------------------------


def _ratio_phrase(ratios: dict[str, float]) -> str:
    worst = max(ratios, key=ratios.get)
    best = min(ratios, key=ratios.get)
    return (
        f"from {ratios[best]:.2f} ({best}) to {ratios[worst]:.2f} ({worst}) times the estimator's"
    )


def _hit(result: dict[str, Any]) -> str:
    return interval_text(result["selection"])


def _difference(entry: dict[str, float], scale: float = 100.0, digits: int = 1) -> str:
    """``d points (SE s)`` of a paired difference, with a word on its size against noise."""
    mean, se = scale * entry["mean"], scale * entry["se"]
    if se > 0 and abs(mean) > 2 * se:
        word = "beyond Monte Carlo noise"
    elif se == 0 and mean == 0:
        word = "no difference at all"
    else:
        word = "within Monte Carlo noise"
    return f"{mean:.{digits}f} points, SE {se:.{digits}f}: {word}"


def twostep_reading(summary: dict[str, Any]) -> str:
    """Where the estimator beats the two-step route, and by how much."""
    methods = summary["methods"]
    full, two = methods["full"], methods["twostep"]
    cmp = summary["comparison"]["twostep"]
    ratios = cmp["rmse_ratio"]
    worse = [p for p, r in ratios.items() if r > 1.1]
    same = [p for p, r in ratios.items() if r <= 1.1]
    text = (
        f"**Against the two-step route.** Over {summary['n_ok']} replications the estimator "
        f"finds the true K = {summary['true_k']} in {_hit(full)} of them, the two-step route "
        f"(by its own BIC) in {_hit(two)}: a paired difference of "
        f"{_difference(cmp['hit_rate_difference'])}. The two-step route's misses choose too "
        f"few segments ({pct(two['selection']['too_few'])} of replications) and too many in "
        f"{pct(two['selection']['too_many'])}: estimating a full covariance per segment costs "
        f"it 3 parameters per segment that the model knows (within a segment b_i ~ "
        f"N(theta_c, (X'X)^-1)), and its BIC counts only N stores, not NT store-weeks. "
        f"At the true K its RMSE is {_ratio_phrase(ratios)}"
    )
    if same:
        text += f" (no worse, within 10%, for {', '.join(same)}"
        text += f"; worse for {', '.join(worse)})" if worse else ")"
    text += (
        f"; it misclassifies {pct(two['classification']['misclassification_mean'], 2)} of "
        f"stores against {pct(full['classification']['misclassification_mean'], 2)} "
        f"({_difference(cmp['misclassification_difference'], digits=2)}), and it takes "
        f"{cmp['time_ratio']:.1f} times as long ({two['seconds']['mean']:.3f} s against "
        f"{full['seconds']['mean']:.3f} s per replication)."
    )
    return text


def single_reading(summary: dict[str, Any]) -> str:
    """Where the estimator beats a single EM start, and by how much."""
    methods = summary["methods"]
    full, single = methods["full"], methods["single"]
    cmp = summary["comparison"]["single"]
    k = summary["true_k"]
    reach = summary["single_start"]
    at_k = reach[str(k)]
    text = (
        f"**Against a single EM start.** One k-means++ start per K reaches the ten-start "
        f"maximum at the true K in {pct(at_k['reached_rate'])} of replications"
    )
    if at_k["reached_rate"] < 1:
        text += (
            f"; in the others it stops at a lesser mode (short by {at_k['gap_max']:.2f} in "
            f"log L at worst), enough to make its RMSE {_ratio_phrase(cmp['rmse_ratio'])} "
            f"and its misclassification rate "
            f"{pct(single['classification']['misclassification_mean'], 2)} against "
            f"{pct(full['classification']['misclassification_mean'], 2)} "
            f"({_difference(cmp['misclassification_difference'], digits=2)})"
        )
    else:
        text += ", so at the true K its estimates are the estimator's"
    larger = {kk: v for kk, v in reach.items() if int(kk) > k}
    if larger:
        text += ". Beyond the true K the likelihood has more local modes: it reaches the "
        text += ", ".join(
            f"K = {kk} maximum in {pct(v['reached_rate'])}" for kk, v in sorted(larger.items())
        )
    text += (
        f". Its hit rate is {_hit(single)} against the estimator's {_hit(full)} "
        f"({_difference(cmp['hit_rate_difference'])}); it chooses too many segments in "
        f"{pct(single['selection']['too_many'])} of replications (the estimator in "
        f"{pct(full['selection']['too_many'])}). It is {1 / cmp['time_ratio']:.1f} times "
        f"faster ({single['seconds']['mean']:.3f} s per replication): the restarts cost "
        f"{full['seconds']['mean'] - single['seconds']['mean']:.3f} s per panel."
    )
    return text


def reading(summary: dict[str, Any]) -> list[str]:
    """Two paragraphs: the estimator against each baseline, quoting the summary."""
    return [twostep_reading(summary), single_reading(summary)]


def _method_boxplot(ax: Any, data: list[np.ndarray]) -> None:
    """One box per method (in :data:`METHOD_ORDER`), filled in the method's colour."""
    labels = ["estimator", "1 start", "two-step"]
    box = ax.boxplot(data, tick_labels=labels, patch_artist=True, widths=0.6,
                     flierprops={"markersize": 2}, medianprops={"color": "black"})  # fmt: skip
    for patch, m in zip(box["boxes"], METHOD_ORDER, strict=True):
        patch.set_facecolor(rs.METHOD_COLOURS[m])
        patch.set_alpha(0.45)
