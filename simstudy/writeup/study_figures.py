"""The figures of a study, drawn from its summaries (and, for the error boxplots, its records).

Each is saved as PNG and PDF with a manifest ``STEM.json`` of what it shows
(:func:`save_figure`), from which the report writes its caption.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FormatStrFormatter, NullFormatter
from scipy.stats import binom

from ..harness.files import write_json_atomic
from . import style
from .format import CRITERION_LABELS, level, sort_key
from .tables import SE_KINDS, has_coverage, levels, reference_levels, selection_methods, varying

NOMINAL_COVERAGE = 0.95
"""Level of the intervals whose coverage the studies record (estimator.inference's default)."""
MAX_COVERAGE_FIGURES = 24
"""Coverage figures are drawn one per condition, for studies with at most this many."""
NESTING: tuple[str, ...] = ("sigma", "K", "separation", "missing_rate", "price_noise", "T", "N")
"""Order of the factors in a nested-loop plot, outermost first (the others go before N)."""
CRITERION_GROUPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "bic": ("criteria with a log n penalty", ("bic", "bic_n", "caic", "icl")),
    "aic": ("AIC-type criteria and SABIC", ("aic", "aic3", "sabic", "sabic_n")),
    "blrt": ("the bootstrap LRT against BIC", ("blrt", "bic", "bic_n")),
}
"""The criteria drawn together (a figure each, with its title): those with a log(n) penalty,
AIC's and SABIC's, the BLRT."""
LINE_STYLES: tuple[str, ...] = ("-", "--", ":", "-.")
MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P")
Summary = dict[str, Any]


def save_figure(fig: Figure, stem: Path, kind: str, shown: Sequence[Summary], **about: Any) -> list:
    """Write ``stem.png``, ``stem.pdf`` and the manifest ``stem.json``: ``kind`` (the plot),
    ``conditions`` (ids of the conditions shown) and any ``about`` entries (the criteria, say)."""
    return [*style.save(fig, stem), write_manifest(stem, kind, shown, **about)]


def write_manifest(stem: Path, kind: str, shown: Sequence[Summary], **about: Any) -> Path:
    """Write ``stem.json``: what the figure ``stem`` shows (see :func:`save_figure`)."""
    manifest = {"kind": kind, "conditions": [int(s["id"]) for s in shown], **about}
    return write_json_atomic(Path(stem).parent / f"{Path(stem).name}.json", manifest)


def _floats(values: Iterable[float | None]) -> np.ndarray:
    """Summary numbers as a float array, None (JSON's NaN) as nan."""
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _groups(summaries: Sequence[Summary], inside: Iterable[str]) -> list[tuple[str, list]]:
    """Split conditions by the varying factors not in ``inside``; name each group."""
    outer = [f for f in varying(summaries) if f not in set(inside)]
    groups: dict[str, list[Summary]] = {}
    for s in summaries:
        key = "_".join(f"{f}{level(s['factors'][f])}" for f in outer)
        groups.setdefault(key, []).append(s)
    return list(groups.items())


def _title(summaries: Sequence[Summary], members: Sequence[Summary], inside: Iterable[str]) -> str:
    """`` (separation 1, sigma 1.5)``: the members' levels of the study's other varying factors."""
    outer = [f for f in varying(summaries) if f not in set(inside)]
    parts = [f"{f} {level(members[0]['factors'][f])}" for f in outer]
    return f" ({', '.join(parts)})" if parts else ""


def _stem(name: str, group: str) -> str:
    return f"{name}_{group}" if group else name


def wrapped(text: str, width: int) -> str:
    """``text`` on lines of at most about ``width`` characters (breaks at spaces only)."""
    return textwrap.fill(text, width, break_long_words=False, break_on_hyphens=False)


def suptitle(fig: Figure, text: str) -> None:
    """A figure title wrapped to the figure's width (about 13 characters per inch at 10 pt)."""
    width = int(fig.get_figwidth() * 13)
    fig.suptitle("\n".join(wrapped(line, width) for line in text.split("\n")))


def legend_below(fig: Figure, ax: Any) -> None:
    """One legend for all panels, under them (no panel's data hidden behind it)."""
    handles, labels = ax.get_legend_handles_labels()
    per_entry = 0.35 + 0.075 * max(len(label) for label in labels)  # inches
    ncol = max(1, min(len(labels), int(fig.get_figwidth() / per_entry)))
    fig.legend(handles, labels, loc="outside lower center", ncol=ncol)


def _grid(n_rows: int, n_cols: int, row_height: float = 1.9) -> tuple[Figure, np.ndarray]:
    """Panels at print size: full width for several columns, else one column."""
    width = style.WIDTH_DOUBLE if n_cols > 1 else style.WIDTH_SINGLE
    fig, axes = style.new_figure(
        n_rows, n_cols, width=width, height=row_height * n_rows + 0.6, squeeze=False
    )
    return fig, np.atleast_2d(axes)


# -- the nested-loop plot of the choice of K ----------------------------------


def nesting(summaries: Sequence[Summary]) -> list[str]:
    """The varying factors, outermost first (:data:`NESTING`, unknown ones before N)."""
    vary = varying(summaries)
    known = [f for f in NESTING if f in vary]
    others = [f for f in vary if f not in NESTING]
    return [f for f in known if f != "N"] + others + (["N"] if "N" in vary else [])


def nested_loop(summaries: Sequence[Summary], methods: Sequence[str], title: str) -> Figure:
    """Hit rates of ``methods`` over every condition in the nested order of :func:`nesting`,
    with Wilson 95% bands, and below one staircase per factor giving its level (Rücker &
    Schwarzer 2014, "Presenting simulation results in a nested loop plot")."""
    order = nesting(summaries)
    conds = sorted(summaries, key=lambda s: [sort_key(s["factors"][f]) for f in order])
    edges = np.arange(len(conds) + 1)
    fig, (ax, ax_f) = style.new_figure(
        2, 1, width=style.WIDTH_DOUBLE, height=3.2 + 0.36 * len(order), sharex=True,
        gridspec_kw={"height_ratios": [3.0, 0.36 * len(order)]},
    )  # fmt: skip
    for m in methods:
        sel = [c.get("selection", {}).get(m, {}) for c in conds]
        look = style.CRITERION_STYLES[m]
        low, high = _floats(s.get("ci_low") for s in sel), _floats(s.get("ci_high") for s in sel)
        ax.stairs(high, edges, baseline=low, fill=True, color=look["color"], alpha=0.18, lw=0)
        ax.stairs(_floats(s.get("hit_rate") for s in sel), edges, baseline=None, lw=1.1,
                  color=look["color"], ls=look["ls"], label=CRITERION_LABELS[m])  # fmt: skip
    outer = order[:2]
    for i in range(1, len(conds)):  # light lines where an outer factor changes
        if any(conds[i]["factors"][f] != conds[i - 1]["factors"][f] for f in outer):
            major = conds[i]["factors"][order[0]] != conds[i - 1]["factors"][order[0]]
            for a in (ax, ax_f):
                a.axvline(i, color="#999999" if major else "#cccccc", lw=0.8 if major else 0.5)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlim(0, len(conds))
    ax.set_ylabel("hit rate of the true K")
    ax.grid(False)
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=len(methods), borderaxespad=0.2)
    _factor_staircases(ax_f, conds, order, edges)
    suptitle(fig, title)
    return fig


def _factor_staircases(
    ax: Any, conds: Sequence[Summary], order: list[str], edges: np.ndarray
) -> None:
    """One staircase per factor (outermost on top) with its levels written at each step."""
    ax.set_ylim(0, len(order))
    ax.set_yticks([len(order) - j - 0.6 for j in range(len(order))], order)
    ax.tick_params(axis="y", length=0)
    ax.set_xticks([])
    ax.grid(False)
    for j, f in enumerate(order):
        found = levels(conds, f)
        index = np.array([found.index(c["factors"][f]) for c in conds], dtype=float)
        base = len(order) - j - 0.85
        height = 0.45 * index / max(1, len(found) - 1)
        ax.stairs(base + height, edges, baseline=None, color="black", lw=0.8)
        runs = [0] + [i for i in range(1, len(conds)) if index[i] != index[i - 1]] + [len(conds)]
        if len(runs) - 1 <= 24:  # room to write the level of every run
            for a, b in zip(runs[:-1], runs[1:], strict=False):
                ax.text((a + b) / 2, base + height[a] + 0.05, level(conds[a]["factors"][f]),
                        ha="center", va="bottom", fontsize=7)  # fmt: skip
        else:
            ax.text(len(conds) + 0.5, base + 0.4, ", ".join(level(v) for v in found),
                    ha="left", va="center", fontsize=7)  # fmt: skip
    ax.set_xlabel(f"{len(conds)} conditions in nested order ({' > '.join(order)})")


def plot_nested_loops(summaries: Sequence[Summary], out_dir: Path) -> list[Path]:
    """One nested-loop plot per criterion group the summaries have (:data:`CRITERION_GROUPS`)."""
    have = selection_methods(summaries)
    paths = []
    for group, (title, methods) in CRITERION_GROUPS.items():
        shown = [m for m in methods if m in have]
        if methods[0] not in have or len(shown) < 2:  # the group's own criterion, and company
            continue
        fig = nested_loop(summaries, shown, f"Choosing the true K: {title}")
        paths += save_figure(
            fig, out_dir / "figures" / f"nested_loop_{group}", "nested_loop", summaries,
            criteria=shown, order=nesting(summaries),
        )  # fmt: skip
    return paths


# -- recovery -----------------------------------------------------------------


def plot_rmse(summaries: Sequence[Summary], out_dir: Path) -> list[Path]:
    """RMSE of every parameter at the true K against N, a panel per parameter; a figure per
    true K and level of the other factors; colour is T, line style the separation."""
    paths = []
    inside = ("N", "T", "K", "separation")
    for group, members in _groups(summaries, inside):
        separations = levels(members, "separation")
        for k in levels(members, "K"):
            cell = [s for s in members if s["factors"]["K"] == k and "recovery" in s]
            if not cell:
                continue
            names = [r["parameter"] for r in cell[0]["recovery"]]
            fig, axes = _grid(math.ceil(len(names) / 3), min(3, len(names)), row_height=1.8)
            for ax, name in zip(axes.ravel(), names, strict=False):
                positive = True
                for colour, t in enumerate(levels(cell, "T")):
                    for ls, sep in zip(LINE_STYLES, separations, strict=False):
                        line = sorted(
                            (c for c in cell if c["factors"]["T"] == t
                             and c["factors"]["separation"] == sep),
                            key=lambda c: c["factors"]["N"],
                        )  # fmt: skip
                        rmse = _floats(
                            next(r["rmse"] for r in c["recovery"] if r["parameter"] == name)
                            for c in line
                        )
                        label = f"T = {t}" + (f", sep {sep:g}" if len(separations) > 1 else "")
                        ax.plot([c["factors"]["N"] for c in line], rmse, ls=ls, ms=3.5, lw=1.1,
                                marker=MARKERS[colour % len(MARKERS)], color=f"C{colour}",
                                label=label)  # fmt: skip
                        positive &= bool(np.all(rmse[np.isfinite(rmse)] > 0))
                ax.set_xscale("log")
                ax.set_xticks(levels(cell, "N"), [str(n) for n in levels(cell, "N")])
                ax.minorticks_off()
                ax.tick_params(axis="x", labelsize=7)
                if positive:  # not pi_1 = 1 at K = 1, estimated without error
                    ax.set_yscale("log")
                    ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
                    ax.yaxis.set_minor_formatter(NullFormatter())
                ax.set(title=name, xlabel="N (stores)", ylabel="RMSE")
            for ax in axes.ravel()[len(names) :]:
                ax.set_visible(False)
            legend_below(fig, axes[0, 0])
            suptitle(fig, f"RMSE at the true K = {k}{_title(summaries, members, inside)}")
            stem = out_dir / "figures" / _stem(f"rmse_K{k}", group)
            paths += save_figure(fig, stem, "rmse", cell)
    return paths


def plot_coverage(summary: Summary, out_dir: Path) -> list[Path]:
    """Interval coverage (Wilson 95% MC intervals, and the band of Binomial(R, 0.95) / R) and
    mean SE / SD per parameter, both SE kinds, for one condition."""
    rows = summary["recovery"]
    names = [r["parameter"] for r in rows]
    y = np.arange(len(names))[::-1]  # first parameter on top
    fig, (ax_cov, ax_ratio) = style.new_figure(
        1, 2, width=style.WIDTH_DOUBLE, height=1.2 + 0.2 * len(names), sharey=True
    )
    n = max((r.get(f"coverage_{kind}_n", 0) for r in rows for kind in SE_KINDS), default=0)
    if n:
        low, high = binom.ppf([0.025, 0.975], n, NOMINAL_COVERAGE) / n
        ax_cov.axvspan(low, high, color="grey", alpha=0.15, lw=0, label=f"0.95 band (R = {n})")
    ax_cov.axvline(NOMINAL_COVERAGE, color="grey", lw=0.8, ls="--")
    ax_ratio.axvline(1.0, color="grey", lw=0.8, ls="--")
    offsets = np.linspace(0.15, -0.15, len(SE_KINDS))
    for colour, (kind, dy) in enumerate(zip(SE_KINDS, offsets, strict=True)):
        marker = MARKERS[colour % len(MARKERS)]
        rate = _floats(r.get(f"coverage_{kind}") for r in rows)
        low = _floats(r.get(f"coverage_{kind}_low") for r in rows)
        high = _floats(r.get(f"coverage_{kind}_high") for r in rows)
        ax_cov.errorbar(rate, y + dy, xerr=np.abs(np.vstack([rate - low, high - rate])),
                        fmt=marker, ms=3.5, capsize=2, color=f"C{colour}", label=kind)  # fmt: skip
        ratio = _floats(r.get(f"se_{kind}_ratio") for r in rows)
        ax_ratio.plot(ratio, y + dy, marker, ms=3.5, color=f"C{colour}", label=kind)
    ax_cov.set_yticks(y, names)
    ax_cov.set(xlabel="coverage of the 95% interval", title="coverage (Wilson 95% MC intervals)")
    ax_ratio.set(xlabel="mean SE / SD of the estimates", title="size of the standard errors")
    legend_below(fig, ax_cov)
    suptitle(fig, f"Standard errors and intervals at the true K\n{summary['label']}")
    stem = out_dir / "figures" / f"coverage_c{summary['id']:04d}"
    return save_figure(fig, stem, "coverage", [summary])


# -- which K was chosen -------------------------------------------------------


def _heat(ax: Any, matrix: np.ndarray, rows: Sequence[str], cols: Sequence[str]) -> Any:
    image = ax.imshow(matrix, vmin=0, vmax=1, cmap="Blues", aspect="auto")
    ax.set_xticks(range(len(cols)), cols)
    ax.set_yticks(range(len(rows)), rows)
    ax.grid(False)
    for (i, j), value in np.ndenumerate(matrix):
        if np.isfinite(value) and value > 0:
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if value > 0.6 else "black")  # fmt: skip
    return image


def _proportions(selection: dict[str, Any]) -> dict[int, float]:
    counts = {int(k): v for k, v in selection["distribution"].items()}
    total = sum(counts.values())
    return {k: (v / total if total else float("nan")) for k, v in counts.items()}


def plot_chosen_k(summaries: Sequence[Summary], out_dir: Path, criterion: str = "bic") -> list:
    """Heat maps of true K x chosen K (share of replications), one panel per (T, N)."""
    paths = []
    inside = ("N", "T", "K")
    for group, members in _groups(summaries, inside):
        members = [s for s in members if "selection" in s]
        if not members:
            continue
        ts, ns, ks = levels(members, "T"), levels(members, "N"), levels(members, "K")
        dists = [s["selection"][criterion]["distribution"] for s in members]
        chosen = sorted({int(k) for d in dists for k in d})
        fig, axes = _grid(len(ts), len(ns), row_height=1.7)
        image = None
        for i, t in enumerate(ts):
            for j, n in enumerate(ns):
                matrix = np.full((len(ks), len(chosen)), np.nan)
                for s in members:
                    if s["factors"]["T"] == t and s["factors"]["N"] == n:
                        share = _proportions(s["selection"][criterion])
                        matrix[ks.index(s["factors"]["K"])] = [share.get(k, 0.0) for k in chosen]
                image = _heat(axes[i, j], matrix, [str(k) for k in ks], [str(k) for k in chosen])
                axes[i, j].set(title=f"T = {t}, N = {n}", xlabel="chosen K", ylabel="true K")
        fig.colorbar(image, ax=axes, shrink=0.6, label="share of replications")
        title = _title(summaries, members, inside)
        suptitle(fig, f"K chosen by {CRITERION_LABELS[criterion]}{title}")
        stem = out_dir / "figures" / _stem(f"chosen_k_{criterion}", group)
        paths += save_figure(fig, stem, "chosen_k", members, criterion=criterion)
    return paths


def plot_chosen_k_by_criterion(summary: Summary, out_dir: Path) -> list[Path]:
    """Heat map of criterion x chosen K for one condition."""
    names = list(summary["selection"])
    chosen = sorted({int(k) for c in names for k in summary["selection"][c]["distribution"]})
    matrix = np.array(
        [[_proportions(summary["selection"][c]).get(k, 0.0) for k in chosen] for c in names]
    )
    fig, ax = style.new_figure(width=style.WIDTH_SINGLE, height=0.9 + 0.3 * len(names))
    _heat(ax, matrix, [CRITERION_LABELS[c] for c in names], [str(k) for k in chosen])
    ax.set_xlabel("chosen K")
    ax.set_title(f"true K = {summary['factors']['K']}\n{wrapped(summary['label'], 45)}")
    stem = out_dir / "figures" / f"chosen_k_criteria_c{summary['id']:04d}"
    return save_figure(fig, stem, "chosen_k_criteria", [summary])


# -- estimation errors --------------------------------------------------------


def reference_slices(summaries: Sequence[Summary]) -> list[tuple[str, list[Summary]]]:
    """Per true K, the conditions at every N with T, separation and sigma at their
    :func:`.tables.reference_levels` and the first price process."""
    first, ref = summaries[0]["factors"], reference_levels(summaries)
    fixed = {f: ref.get(f, first[f]) for f in ("T", "separation", "sigma")}
    fixed["prices"] = first["prices"]
    out = []
    for k in levels(summaries, "K"):
        members = [s for s in summaries if s["factors"]["K"] == k
                   and all(s["factors"][f] == v for f, v in fixed.items())]  # fmt: skip
        name = f"K{k}" + "".join(f"_{f}{level(v)}" for f, v in fixed.items() if f != "prices")
        out.append((name, sorted(members, key=lambda s: s["factors"]["N"])))
    return out


def plot_error_boxplots(
    summaries: Sequence[Summary], records: dict[int, pd.DataFrame], out_dir: Path, name: str
) -> list[Path]:
    """Boxplots of estimate - truth at the true K, a panel per parameter, a box per condition
    (labelled by the varying factors' levels, or numbered with a key under the figure)."""
    summaries = [s for s in summaries if "recovery" in s]
    if not summaries:
        return []
    names = [r["parameter"] for r in summaries[0]["recovery"]]
    vary = varying(summaries) or ["N"]
    labels = [" ".join(level(s["factors"][f]) for f in vary) for s in summaries]
    key = ""
    if max(len(label) for label in labels) > 6:  # long labels: numbered boxes and a key
        key = "; ".join(f"{i + 1}: {label}" for i, label in enumerate(labels))
        labels = [str(i + 1) for i in range(len(labels))]
    n_cols = 4
    fig, axes = _grid(math.ceil(len(names) / n_cols), n_cols, row_height=1.6)
    for ax, parameter in zip(axes.ravel(), names, strict=False):
        data = []
        for s in summaries:
            frame = records[s["id"]]
            ok = frame[frame["status"] == "ok"] if len(frame) else frame
            true = next(r["true"] for r in s["recovery"] if r["parameter"] == parameter)
            column = f"est_{parameter}"
            values = ok[column].to_numpy(dtype=float) - true if column in ok else np.array([])
            data.append(values[np.isfinite(values)])
        ax.boxplot(data, tick_labels=labels, showfliers=True, flierprops={"markersize": 2})
        ax.tick_params(axis="x", labelsize=7)
        ax.axhline(0.0, color="grey", lw=0.8, ls="--")
        ax.set(title=parameter, xlabel=" ".join(vary) if not key else "condition")
    for ax in axes[:, 0]:
        ax.set_ylabel("estimate - truth")
    for ax in axes.ravel()[len(names) :]:
        ax.set_visible(False)
    shared = [f for f in ("T", "separation", "sigma") if f not in vary]
    title = ", ".join(f"{f} {level(summaries[0]['factors'][f])}" for f in shared)
    suptitle(fig, f"Estimation errors at the true K = {summaries[0]['factors']['K']}"
                  + (f" ({title})" if title else ""))  # fmt: skip
    if key:
        fig.supxlabel(key, wrap=True, fontsize=8)
    return save_figure(fig, out_dir / "figures" / name, "errors", summaries)


def write_figures(
    summaries: Sequence[Summary], records: dict[int, pd.DataFrame], out_dir: Path
) -> list[Path]:
    """Every figure the design supports, each with its manifest: per-condition heat maps up
    to 6 conditions, coverage figures up to :data:`MAX_COVERAGE_FIGURES`; error boxplots
    need the raw records (a large grid without them keeps the figures it has)."""
    paths: list[Path] = []
    if len(summaries) > 1:
        paths += plot_nested_loops(summaries, out_dir)
    if len(levels(summaries, "N")) > 1:
        paths += plot_rmse(summaries, out_dir)
    paths += plot_chosen_k(summaries, out_dir)
    if len(summaries) <= 6:
        paths += [p for s in summaries if "selection" in s for p in
                  plot_chosen_k_by_criterion(s, out_dir)]  # fmt: skip
    for name, members in reference_slices(summaries):
        stem = out_dir / "figures" / f"errors_{name}"
        if all(m["id"] in records for m in members):
            paths += plot_error_boxplots(members, records, out_dir, name=f"errors_{name}")
        elif (drawn := stem.parent / f"{stem.name}.png").is_file():  # when records were here
            about = stem.parent / f"{stem.name}.json"  # kept as written then (with any note)
            about = about if about.is_file() else write_manifest(stem, "errors", members)
            paths += [drawn, stem.parent / f"{stem.name}.pdf", about]
    with_coverage = [s for s in summaries if has_coverage(s)]
    if len(with_coverage) <= MAX_COVERAGE_FIGURES:
        for s in with_coverage:
            paths += plot_coverage(s, out_dir)
    return paths
