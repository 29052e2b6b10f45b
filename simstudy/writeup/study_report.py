"""Tables (tabulate: markdown and LaTeX) and figures (matplotlib, Agg: PNG and PDF) of a study.

Everything here reads the per-condition summaries (``summary.json``'s
``conditions``) and, for the boxplots, the raw records; nothing is recomputed
from the model. Figures are drawn on :class:`matplotlib.figure.Figure` objects
(no pyplot state), which render PNG with Agg.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FormatStrFormatter, NullFormatter
from scipy.stats import binom
from tabulate import tabulate

from estimator import CRITERIA

from ..harness.files import write_json_atomic, write_text_atomic
from ..harness.runner import raw_path, read_records, records_frame
from ..studies.config import FACTORS, IRREGULAR_FACTORS
from ..studies.mixture import SE_KINDS
from . import style as figure_style
from .generic import write_generic_report
from .latex import latex_table

TABLE_FORMATS = ("md", "tex")
"""Every study table is written as markdown and as a LaTeX table that fits a page."""
FIGURE_FORMATS: tuple[str, ...] = ("png", "pdf")
PANEL_FACTORS: tuple[str, ...] = ("N", "T", "K")
"""Factors laid out inside a figure; every other varying factor gets its own figures."""
NOMINAL_COVERAGE = 0.95
"""Level of the intervals whose coverage the study records (estimator.inference's default)."""
MAX_COVERAGE_FIGURES = 24
"""Coverage figures are drawn one per condition, for studies with at most this many."""
CRITERION_LABELS: dict[str, str] = {
    "bic": "BIC (n = NT)",
    "bic_n": "BIC (n = N)",
    "aic": "AIC",
    "aic3": "AIC3",
    "caic": "CAIC",
    "icl": "ICL",
    "sabic": "SABIC (n = NT)",
    "sabic_n": "SABIC (n = N)",
    "blrt": "BLRT",
}


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def selection_methods(summaries: Sequence[dict[str, Any]]) -> tuple[str, ...]:
    """The criteria (and ``blrt``, the bootstrap test) every summary has hit rates for.

    In the order of :data:`estimator.selection.CRITERIA`, then ``blrt``; summaries
    written before a criterion existed simply lack it.
    """
    return tuple(
        name for name in (*CRITERIA, "blrt") if all(name in s["selection"] for s in summaries)
    )


def _floats(values: Iterable[float | None]) -> np.ndarray:
    """Summary numbers as a float array, None (JSON's NaN) as nan."""
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _level(value: Any) -> str:
    if isinstance(value, dict):
        return "-".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value.values())
    if isinstance(value, list):  # one level per segment, e.g. sigma
        return "-".join(f"{v:g}" for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def varying_factors(summaries: Sequence[dict[str, Any]]) -> list[str]:
    """Factors with more than one level among the conditions, in :data:`FACTORS` order."""
    present = [*FACTORS, *(f for f in IRREGULAR_FACTORS if f in summaries[0]["factors"])]
    return [name for name in present if len({_level(s["factors"][name]) for s in summaries}) > 1]


def _groups(
    summaries: Sequence[dict[str, Any]], inside: Iterable[str]
) -> list[tuple[str, list[dict[str, Any]]]]:
    """Split conditions by the varying factors not in ``inside``; name each group."""
    outer = [f for f in varying_factors(summaries) if f not in inside]
    groups: dict[str, list[dict[str, Any]]] = {}
    for s in summaries:
        key = "_".join(f"{f}{_level(s['factors'][f])}" for f in outer)
        groups.setdefault(key, []).append(s)
    return list(groups.items())


def _title(members: Sequence[dict[str, Any]], factors: Iterable[str]) -> str:
    """`` (separation 1, sigma 1.5)``: the levels of ``factors`` the members share."""
    parts = [f"{f} {_level(members[0]['factors'][f])}" for f in factors]
    return f" ({', '.join(parts)})" if parts else ""


def _outer(summaries: Sequence[dict[str, Any]], inside: Iterable[str]) -> list[str]:
    """The varying factors that split conditions into figures (not drawn inside one)."""
    inside = set(inside)
    return [f for f in varying_factors(summaries) if f not in inside]


def _levels(summaries: Sequence[dict[str, Any]], factor: str) -> list[Any]:
    distinct = {}
    for s in summaries:
        distinct.setdefault(_level(s["factors"][factor]), s["factors"][factor])
    return sorted(distinct.values(), key=_sort_key)


def _stem(name: str, group: str) -> str:
    return f"{name}_{group}" if group else name


def save_figure(
    fig: Figure, stem: Path, kind: str, shown: Sequence[dict[str, Any]], **about: Any
) -> list[Path]:
    """Write ``stem.png``, ``stem.pdf`` and the figure's manifest ``stem.json``.

    The manifest says what the figure shows, so that captions need not parse
    file names: ``kind`` (the plot), ``conditions`` (ids of the conditions shown)
    and any ``about`` entries (e.g. the criterion).
    """
    return [*figure_style.save(fig, stem), write_manifest(stem, kind, shown, **about)]


def write_manifest(stem: Path, kind: str, shown: Sequence[dict[str, Any]], **about: Any) -> Path:
    """Write ``stem.json``: what the figure ``stem`` shows (see :func:`save_figure`)."""
    manifest = {"kind": kind, "conditions": [int(s["id"]) for s in shown], **about}
    stem = Path(stem)
    return write_json_atomic(stem.parent / f"{stem.name}.json", manifest)


def _log_n_axis(ax: Any, ns: Sequence[int]) -> None:
    ax.set_xscale("log")
    ax.set_xticks(list(ns), [str(n) for n in ns])
    ax.minorticks_off()
    ax.tick_params(axis="x", labelsize=7)


def _grid(n_rows: int, n_cols: int, row_height: float = 1.9) -> tuple[Figure, np.ndarray]:
    """Panels at print size: full width (7.2 in) for several columns, else one column."""
    width = figure_style.WIDTH_DOUBLE if n_cols > 1 else figure_style.WIDTH_SINGLE
    fig, axes = figure_style.new_figure(
        n_rows, n_cols, width=width, height=row_height * n_rows + 0.6, squeeze=False
    )
    return fig, np.atleast_2d(axes)


# ---------------------------------------------------------------------------
# tables
# ---------------------------------------------------------------------------


def recovery_rows(summaries: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """One row per (condition, parameter): true value, mean, bias, MCSE, SD, RMSE."""
    rows = []
    for s in summaries:
        for r in s["recovery"]:
            rows.append({"condition": s["label"], "id": s["id"], **s["factors"], **r})
    return pd.DataFrame(rows)


def _render(
    headers: Sequence[str],
    body: Sequence[Sequence[Any]],
    fmt: str,
    caption: str,
    key_columns: int = 1,
) -> str:
    """A study table as github markdown (``fmt="md"``) or a page-fitting LaTeX table."""
    if fmt == "md":
        return tabulate(body, headers=list(headers), tablefmt="github", disable_numparse=True)
    if fmt == "tex":
        label = re.sub(r"\W+", "_", caption.lower()).strip("_")[:40]
        return latex_table(headers, body, caption, label, key_columns=key_columns).rstrip("\n")
    raise ValueError(f"fmt must be one of {TABLE_FORMATS}, got {fmt!r}")


def _fmt(value: float | None, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:.{digits}g}"


def _rate(value: float | None) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:.3f}"


def recovery_table(summaries: Sequence[dict[str, Any]], fmt: str = "md") -> str:
    """Parameter recovery at the true K, every condition."""
    headers = ["condition", "parameter", "true", "mean", "bias", "MCSE(bias)", "SD", "RMSE", "n"]
    body = [
        [
            s["label"],
            r["parameter"],
            _fmt(r["true"], 5),
            _fmt(r["mean"], 5),
            _fmt(r["bias"], 3),
            _fmt(r["mcse_bias"], 2),
            _fmt(r["sd"], 3),
            _fmt(r["rmse"], 3),
            r["n"],
        ]
        for s in summaries
        for r in s["recovery"]
    ]
    caption = "Parameter recovery at the true K, every condition"
    return _render(headers, body, fmt, caption)


def has_coverage(summary: dict[str, Any]) -> bool:
    """Whether a condition's recovery rows carry standard errors and coverage."""
    return any(f"coverage_{kind}" in r for r in summary["recovery"] for kind in SE_KINDS)


def _coverage_cell(row: dict[str, Any], key: str) -> str:
    if key not in row:
        return "-"
    return f"{_rate(row[key])} [{_rate(row[f'{key}_low'])}, {_rate(row[f'{key}_high'])}]"


def coverage_table(summaries: Sequence[dict[str, Any]], fmt: str = "md") -> str:
    """Recovery with standard errors and 95% interval coverage, conditions that recorded them.

    Per parameter: true value, mean estimate, bias, RMSE, empirical SD of the
    estimates, mean standard error of each kind and its ratio to the SD, and the
    empirical coverage of each kind's 95% intervals with its Wilson 95% Monte
    Carlo interval; ``n`` counts the replications with an interval.
    """
    headers = ["condition", "parameter", "true", "mean", "bias", "RMSE", "SD"]
    for kind in SE_KINDS:
        headers += [f"mean SE ({kind})", f"SE/SD ({kind})"]
    headers += [f"coverage ({kind}) [MC 95%]" for kind in SE_KINDS]
    headers.append("n")
    body = []
    for s in summaries:
        if not has_coverage(s):
            continue
        for r in s["recovery"]:
            cells = [
                s["label"],
                r["parameter"],
                _fmt(r["true"], 5),
                _fmt(r["mean"], 5),
                _fmt(r["bias"], 3),
                _fmt(r["rmse"], 3),
                _fmt(r["sd"], 3),
            ]
            for kind in SE_KINDS:
                cells += [_fmt(r.get(f"se_{kind}_mean"), 3), _rate(r.get(f"se_{kind}_ratio"))]
            cells += [_coverage_cell(r, f"coverage_{kind}") for kind in SE_KINDS]
            cells.append(r.get(f"coverage_{next(iter(SE_KINDS))}_n", "-"))
            body.append(cells)
    return _render(
        headers,
        body,
        fmt,
        "Recovery with standard errors and 95% interval coverage [Wilson 95% Monte Carlo interval]",
    )


def selection_table(summaries: Sequence[dict[str, Any]], fmt: str = "md") -> str:
    """Hit rate of every criterion with its Wilson 95% interval, and BIC's misses."""
    methods = selection_methods(summaries)
    headers = [
        "condition",
        "n",
        "errors",
        *[CRITERION_LABELS[c] for c in methods],
        "BIC too few",
        "BIC too many",
    ]
    body = []
    for s in summaries:
        sel = s["selection"]
        cells = [
            f"{_rate(sel[c]['hit_rate'])} [{_rate(sel[c]['ci_low'])}, {_rate(sel[c]['ci_high'])}]"
            for c in methods
        ]
        body.append(
            [
                s["label"],
                s["n_ok"],
                s["n_errors"],
                *cells,
                _rate(sel["bic"]["too_few"]),
                _rate(sel["bic"]["too_many"]),
            ]
        )
    return _render(
        headers,
        body,
        fmt,
        "Hit rate of every criterion for the true K [Wilson 95% interval], and BIC's misses",
    )


def chosen_k_table(
    summaries: Sequence[dict[str, Any]], criterion: str = "bic", fmt: str = "md"
) -> str:
    """Distribution of the K chosen by ``criterion`` (counts), every condition."""
    ks = sorted({int(k) for s in summaries for k in s["selection"][criterion]["distribution"]})
    headers = ["condition", *[f"K={k}" for k in ks]]
    body = [
        [s["label"], *[s["selection"][criterion]["distribution"].get(str(k), 0) for k in ks]]
        for s in summaries
    ]
    return _render(
        headers,
        body,
        fmt,
        f"Distribution of the K chosen by {CRITERION_LABELS[criterion]} (counts)",
    )


BLRT_HEADERS = ["condition", "true K", "K0", "reached", "rejection rate [95% CI]", "mean B used"]


def blrt_rows(summaries: Sequence[dict[str, Any]]) -> list[list[Any]]:
    """Rows of :func:`blrt_table` (columns :data:`BLRT_HEADERS`)."""
    body = []
    for s in summaries:
        for t in s.get("blrt", {}).get("tests", []):
            rate = f"{_rate(t['rejection_rate'])} [{_rate(t['ci_low'])}, {_rate(t['ci_high'])}]"
            used = "-" if t["n_used_mean"] is None else f"{t['n_used_mean']:.1f}"
            body.append([s["label"], s["factors"]["K"], t["K0"], t["n"], rate, used])
    return body


def blrt_table(summaries: Sequence[dict[str, Any]], fmt: str = "md") -> str:
    """How often the bootstrap LRT of K0 against K0 + 1 rejected, with Wilson 95% intervals.

    One row per condition and K0 tested; at K0 = true K the rate is the test's size.
    """
    caption = "Bootstrap likelihood-ratio test of K0 against K0 + 1: rejection rates"
    return _render(BLRT_HEADERS, blrt_rows(summaries), fmt, caption)


def conditions_table(summaries: Sequence[dict[str, Any]], fmt: str = "md") -> str:
    """Replications, errors, convergence, classification and time per condition."""
    headers = [
        "condition",
        "replications",
        "errors",
        "converged",
        "mean iterations",
        "restarts at best",
        "ARI",
        "misclassified",
        "seconds/rep",
    ]
    body = []
    for s in summaries:
        conv = s.get("convergence", {})
        cls = s.get("classification", {})
        body.append(
            [
                s["label"],
                s["n_replications"],
                s["n_errors"],
                _rate(conv.get("converged_rate")),
                _fmt(conv.get("n_iter_mean"), 3),
                _fmt(conv.get("restarts_at_best_mean"), 3),
                _fmt(cls.get("ari_mean"), 3),
                _fmt(cls.get("misclassification_mean"), 3),
                _fmt(s["seconds"]["mean"], 3),
            ]
        )
    return _render(
        headers,
        body,
        fmt,
        "Replications, errors, convergence, classification and time per condition",
    )


def hit_rate_pivot(
    summaries: Sequence[dict[str, Any]], criterion: str = "bic", fmt: str = "md"
) -> str:
    """Hit rate of ``criterion``: a row per level of the varying factors other than N and T,
    a column per (T, N)."""
    vary = varying_factors(summaries)
    row_factors = [f for f in vary if f not in ("N", "T")]
    col_factors = [f for f in ("T", "N") if f in vary]
    rows: dict[tuple[str, ...], dict[str, str]] = {}
    columns: dict[str, tuple[Any, ...]] = {}
    for s in sorted(summaries, key=lambda s: [_sort_key(s["factors"][f]) for f in row_factors]):
        key = tuple(_level(s["factors"][f]) for f in row_factors)
        column = " ".join(f"{f}={s['factors'][f]}" for f in col_factors) or "hit rate"
        columns[column] = tuple(s["factors"][f] for f in col_factors)
        rows.setdefault(key, {})[column] = _rate(s["selection"][criterion]["hit_rate"])
    columns = dict(sorted(columns.items(), key=lambda item: item[1]))
    body = [[*key, *[cells.get(c, "-") for c in columns]] for key, cells in rows.items()]
    caption = f"Hit rate of {CRITERION_LABELS[criterion]} for the true K, by condition"
    return _render([*row_factors, *columns], body, fmt, caption, key_columns=len(row_factors))


def _sort_key(value: Any) -> Any:
    return (0, value, "") if isinstance(value, int | float) else (1, 0, _level(value))


TABLES: dict[str, Callable[..., str]] = {
    "hit_rate_bic": hit_rate_pivot,
    "recovery": recovery_table,
    "selection": selection_table,
    "chosen_k_bic": chosen_k_table,
    "conditions": conditions_table,
}


def write_tables(summaries: Sequence[dict[str, Any]], out_dir: Path) -> list[Path]:
    """Every table of :data:`TABLES` as ``out_dir/tables/NAME.md`` and ``NAME.tex``.

    Plus ``coverage`` (:func:`coverage_table`) when some condition recorded standard errors,
    and ``blrt`` (:func:`blrt_table`) when the study ran the bootstrap likelihood-ratio test.
    """
    paths = []
    tables = dict(TABLES)
    if any(has_coverage(s) for s in summaries):
        tables["coverage"] = coverage_table
    if any("blrt" in s for s in summaries):
        tables["blrt"] = blrt_table
    for name, make in tables.items():
        for fmt in TABLE_FORMATS:
            paths.append(
                write_text_atomic(
                    out_dir / "tables" / f"{name}.{fmt}", make(summaries, fmt=fmt) + "\n"
                )
            )
    return paths


# ---------------------------------------------------------------------------
# figures
# ---------------------------------------------------------------------------


def plot_hit_rates(summaries: Sequence[dict[str, Any]], out_dir: Path) -> list[Path]:
    """Hit rate of every criterion against N, one panel per (true K, T), Wilson 95% bands."""
    paths = []
    for group, members in _groups(summaries, PANEL_FACTORS):
        ks, ts = _levels(members, "K"), _levels(members, "T")
        fig, axes = _grid(len(ks), len(ts))
        for i, k in enumerate(ks):
            for j, t in enumerate(ts):
                ax = axes[i, j]
                cell = sorted(
                    (s for s in members if s["factors"]["K"] == k and s["factors"]["T"] == t),
                    key=lambda s: s["factors"]["N"],
                )
                n = [s["factors"]["N"] for s in cell]
                for name in selection_methods(members):
                    sel = [s["selection"][name] for s in cell]
                    line = ax.plot(
                        n,
                        _floats(r["hit_rate"] for r in sel),
                        ms=3.5,
                        lw=1.1,
                        label=CRITERION_LABELS[name],
                        **figure_style.CRITERION_STYLES[name],
                    )
                    if name == "bic":  # one band keeps the panel readable; tables have all
                        ax.fill_between(
                            n,
                            _floats(r["ci_low"] for r in sel),
                            _floats(r["ci_high"] for r in sel),
                            color=line[0].get_color(),
                            alpha=0.15,
                            lw=0,
                        )
                _log_n_axis(ax, n)
                ax.set_ylim(-0.03, 1.03)
                ax.set_title(f"true K = {k}, T = {t}")
                ax.set_xlabel("N (stores)")
                ax.set_ylabel("hit rate")
        _legend_below(fig, axes[0, 0])
        _suptitle(fig, f"Choosing the true K{_title(members, _outer(summaries, PANEL_FACTORS))}")
        paths += save_figure(
            fig, out_dir / "figures" / _stem("hit_rate", group), "hit_rate", members
        )
    return paths


LINE_STYLES: tuple[str, ...] = ("-", "--", ":", "-.")
MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P")


def _wrapped(text: str, width: int) -> str:
    """``text`` on lines of at most about ``width`` characters (breaks at spaces)."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "\n".join(lines)


def _suptitle(fig: Figure, text: str) -> None:
    """A figure title wrapped to the figure's width (about 13 characters per inch at 10 pt)."""
    width = int(fig.get_figwidth() * 13)
    fig.suptitle("\n".join(_wrapped(line, width) for line in text.split("\n")))


def _legend_below(fig: Figure, ax: Any) -> None:
    """One legend for all panels, under them (no panel's data hidden behind it)."""
    handles, labels = ax.get_legend_handles_labels()
    # as many columns as fit the figure's width at the legend's font size
    per_entry = 0.35 + 0.075 * max(len(label) for label in labels)  # inches
    ncol = max(1, min(len(labels), int(fig.get_figwidth() / per_entry)))
    fig.legend(handles, labels, loc="outside lower center", ncol=ncol)


def plot_rmse(summaries: Sequence[dict[str, Any]], out_dir: Path) -> list[Path]:
    """RMSE of every parameter at the true K against N, a panel per parameter.

    One figure per true K (and per level of the factors other than N, T, K and
    separation); colour is T, line style the separation level.
    """
    paths = []
    for group, members in _groups(summaries, (*PANEL_FACTORS, "separation")):
        separations = _levels(members, "separation")
        for k in _levels(members, "K"):
            cell = [s for s in members if s["factors"]["K"] == k]
            names = [r["parameter"] for r in cell[0]["recovery"]]
            n_cols = 4
            fig, axes = _grid(math.ceil(len(names) / n_cols), n_cols, row_height=1.7)
            for ax, name in zip(axes.ravel(), names, strict=False):
                positive = True
                for colour, t in enumerate(_levels(cell, "T")):
                    for style, sep in zip(LINE_STYLES, separations, strict=False):
                        line = sorted(
                            (
                                s
                                for s in cell
                                if s["factors"]["T"] == t and s["factors"]["separation"] == sep
                            ),
                            key=lambda s: s["factors"]["N"],
                        )
                        rmse = _floats(
                            next(r["rmse"] for r in s["recovery"] if r["parameter"] == name)
                            for s in line
                        )
                        label = f"T = {t}" + (f", sep {sep:g}" if len(separations) > 1 else "")
                        ax.plot(
                            [s["factors"]["N"] for s in line],
                            rmse,
                            marker=MARKERS[colour % len(MARKERS)],
                            ms=3.5,
                            lw=1.1,
                            color=f"C{colour}",
                            ls=style,
                            label=label,
                        )
                        positive &= bool(np.all(rmse[np.isfinite(rmse)] > 0))
                _log_n_axis(ax, _levels(cell, "N"))
                if positive:  # not pi_1 = 1 at K = 1, estimated without error
                    ax.set_yscale("log")
                    ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
                    ax.yaxis.set_minor_formatter(NullFormatter())
                ax.set_title(name)
                ax.set_xlabel("N (stores)")
                ax.set_ylabel("RMSE")
            for ax in axes.ravel()[len(names) :]:
                ax.set_visible(False)
            _legend_below(fig, axes[0, 0])
            outer = _outer(summaries, (*PANEL_FACTORS, "separation"))
            _suptitle(fig, f"RMSE at the true K = {k}{_title(members, outer)}")
            paths += save_figure(
                fig, out_dir / "figures" / _stem(f"rmse_K{k}", group), "rmse", cell
            )
    return paths


def plot_coverage(summary: dict[str, Any], out_dir: Path) -> list[Path]:
    """Interval coverage and mean SE / SD per parameter, both SE kinds, for one condition.

    Left: empirical coverage of the 95% intervals with Wilson 95% Monte Carlo
    intervals, the nominal 0.95 line and the band a correctly calibrated interval
    would fall in with 95% probability over the same number of replications (the
    2.5% and 97.5% quantiles of Binomial(R, 0.95) / R).
    Right: mean standard error divided by the empirical SD of the estimates (1 = right size).
    """
    rows = summary["recovery"]
    names = [r["parameter"] for r in rows]
    y = np.arange(len(names))[::-1]  # first parameter on top
    fig, (ax_cov, ax_ratio) = figure_style.new_figure(
        1, 2, width=figure_style.WIDTH_DOUBLE, height=1.2 + 0.2 * len(names), sharey=True
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
        errors = np.abs(
            np.vstack(
                [
                    rate - _floats(r.get(f"coverage_{kind}_low") for r in rows),
                    _floats(r.get(f"coverage_{kind}_high") for r in rows) - rate,
                ]
            )
        )
        ax_cov.errorbar(
            rate,
            y + dy,
            xerr=errors,
            fmt=marker,
            ms=3.5,
            capsize=2,
            color=f"C{colour}",
            label=kind,
        )
        ratio = _floats(r.get(f"se_{kind}_ratio") for r in rows)
        ax_ratio.plot(ratio, y + dy, marker, ms=3.5, color=f"C{colour}", label=kind)
    ax_cov.set_yticks(y, names)
    ax_cov.set_xlabel("coverage of the 95% interval")
    ax_cov.set_title("coverage (Wilson 95% MC intervals)")
    ax_ratio.set_xlabel("mean SE / SD of the estimates")
    ax_ratio.set_title("size of the standard errors")
    _legend_below(fig, ax_cov)
    _suptitle(fig, f"Standard errors and intervals at the true K\n{summary['label']}")
    return save_figure(
        fig, out_dir / "figures" / f"coverage_c{summary['id']:04d}", "coverage", [summary]
    )


def _heat(ax: Any, matrix: np.ndarray, rows: Sequence[str], cols: Sequence[str]) -> Any:
    image = ax.imshow(matrix, vmin=0, vmax=1, cmap="Blues", aspect="auto")
    ax.set_xticks(range(len(cols)), cols)
    ax.set_yticks(range(len(rows)), rows)
    ax.grid(False)
    for (i, j), value in np.ndenumerate(matrix):
        if np.isfinite(value) and value > 0:
            ax.text(
                j,
                i,
                f"{value:.2f}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if value > 0.6 else "black",
            )
    return image


def _proportions(selection: dict[str, Any]) -> dict[int, float]:
    counts = {int(k): v for k, v in selection["distribution"].items()}
    total = sum(counts.values())
    return {k: (v / total if total else float("nan")) for k, v in counts.items()}


def plot_chosen_k(
    summaries: Sequence[dict[str, Any]], out_dir: Path, criterion: str = "bic"
) -> list[Path]:
    """Heat maps of true K x chosen K (share of replications), one panel per (T, N)."""
    paths = []
    for group, members in _groups(summaries, PANEL_FACTORS):
        ts, ns, ks = _levels(members, "T"), _levels(members, "N"), _levels(members, "K")
        chosen = sorted(
            {int(k) for s in members for k in s["selection"][criterion]["distribution"]}
        )
        fig, axes = _grid(len(ts), len(ns), row_height=1.7)
        image = None
        for i, t in enumerate(ts):
            for j, n in enumerate(ns):
                matrix = np.full((len(ks), len(chosen)), np.nan)
                for s in members:
                    if s["factors"]["T"] == t and s["factors"]["N"] == n:
                        share = _proportions(s["selection"][criterion])
                        row = ks.index(s["factors"]["K"])
                        matrix[row] = [share.get(k, 0.0) for k in chosen]
                image = _heat(axes[i, j], matrix, [str(k) for k in ks], [str(k) for k in chosen])
                axes[i, j].set_title(f"T = {t}, N = {n}")
                axes[i, j].set_xlabel("chosen K")
                axes[i, j].set_ylabel("true K")
        fig.colorbar(image, ax=axes, shrink=0.6, label="share of replications")
        label = CRITERION_LABELS[criterion]
        _suptitle(fig, f"K chosen by {label}{_title(members, _outer(summaries, PANEL_FACTORS))}")
        paths += save_figure(
            fig,
            out_dir / "figures" / _stem(f"chosen_k_{criterion}", group),
            "chosen_k",
            members,
            criterion=criterion,
        )
    return paths


def plot_chosen_k_by_criterion(summary: dict[str, Any], out_dir: Path) -> list[Path]:
    """Heat map of criterion x chosen K for one condition."""
    names = list(summary["selection"])
    chosen = sorted({int(k) for c in names for k in summary["selection"][c]["distribution"]})
    matrix = np.array(
        [[_proportions(summary["selection"][c]).get(k, 0.0) for k in chosen] for c in names]
    )
    fig, ax = figure_style.new_figure(
        width=figure_style.WIDTH_SINGLE, height=0.9 + 0.3 * len(names)
    )
    _heat(ax, matrix, [CRITERION_LABELS[c] for c in names], [str(k) for k in chosen])
    ax.set_xlabel("chosen K")
    ax.set_title(f"true K = {summary['factors']['K']}\n{_wrapped(summary['label'], 45)}")
    return save_figure(
        fig,
        out_dir / "figures" / f"chosen_k_criteria_c{summary['id']:04d}",
        "chosen_k_criteria",
        [summary],
    )


def reference_slices(summaries: Sequence[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Per true K, the conditions at every N with the other factors at a reference level.

    Reference: the largest T, separation 1 (else the middle level), the smallest
    sigma, the first price process.
    """

    def reference(factor: str) -> Any:
        levels = (
            _levels(summaries, factor) if factor != "prices" else [summaries[0]["factors"][factor]]
        )
        if factor == "T":
            return levels[-1]
        if factor == "separation":
            return 1.0 if 1.0 in levels else levels[len(levels) // 2]
        return levels[0]

    fixed = {f: reference(f) for f in ("T", "separation", "sigma", "prices")}
    out = []
    for k in _levels(summaries, "K"):
        members = [
            s
            for s in summaries
            if s["factors"]["K"] == k and all(s["factors"][f] == v for f, v in fixed.items())
        ]
        name = f"K{k}" + "".join(f"_{f}{_level(v)}" for f, v in fixed.items() if f != "prices")
        out.append((name, sorted(members, key=lambda s: s["factors"]["N"])))
    return out


def plot_error_boxplots(
    summaries: Sequence[dict[str, Any]],
    records: dict[int, pd.DataFrame],
    out_dir: Path,
    name: str = "errors",
) -> list[Path]:
    """Boxplots of estimate - truth at the true K, a panel per parameter, a box per condition.

    Parameters
    ----------
    summaries : sequence of dict
        Conditions sharing one true K (for example :func:`reference_slices`).
    records : dict of int to DataFrame
        Raw records per condition id.
    out_dir : Path
    name : str
        File stem under ``out_dir/figures``.
    """
    if not summaries:
        return []
    names = [r["parameter"] for r in summaries[0]["recovery"]]
    vary = [f for f in varying_factors(summaries)] or ["N"]
    labels = [" ".join(f"{f}={_level(s['factors'][f])}" for f in vary) for s in summaries]
    key = ""
    if max(len(label) for label in labels) > 8:  # long labels: numbered boxes and a key
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
        ax.axhline(0.0, color="grey", lw=0.8, ls="--")
        ax.set_title(parameter)
    for ax in axes[:, 0]:
        ax.set_ylabel("estimate - truth")
    for ax in axes.ravel()[len(names) :]:
        ax.set_visible(False)
    shared = [
        f
        for f in ("T", "separation", "sigma")
        if len({_level(s["factors"][f]) for s in summaries}) == 1
    ]
    subtitle = _title(summaries, shared)
    _suptitle(fig, f"Estimation errors at the true K = {summaries[0]['factors']['K']}{subtitle}")
    if key:
        fig.supxlabel(key, wrap=True, fontsize=8)
    return save_figure(fig, out_dir / "figures" / name, "errors", summaries)


def write_report(
    summaries: Sequence[dict[str, Any]],
    records: dict[int, pd.DataFrame],
    out_dir: Path,
    figures: bool = True,
) -> list[Path]:
    """All tables and (unless ``figures`` is False) the figures that the design supports.

    Line plots against N need at least two levels of N; the criterion x chosen K
    heat map is drawn per condition when there are at most 6 conditions, the
    coverage figure per condition that recorded standard errors when at most
    :data:`MAX_COVERAGE_FIGURES` did. Summaries of another study (no ``recovery``
    and ``selection``) get :func:`simstudy.writeup.generic.write_generic_report`.
    """
    out_dir = Path(out_dir)
    if not all("recovery" in s and "selection" in s for s in summaries):
        # not the mixture study's summaries (a study of the user's own): tables and
        # figures of its numeric fields by design factor
        return write_generic_report(summaries, out_dir, figures=figures)
    paths = write_tables(summaries, out_dir)
    if not figures:
        return paths
    with figure_style.style():
        return paths + write_figures(summaries, records, out_dir)


def write_figures(
    summaries: Sequence[dict[str, Any]], records: dict[int, pd.DataFrame], out_dir: Path
) -> list[Path]:
    """Every figure the design supports (see :func:`write_report`), each with its manifest."""
    paths: list[Path] = []
    if len(_levels(summaries, "N")) > 1:
        paths += plot_hit_rates(summaries, out_dir)
        paths += plot_rmse(summaries, out_dir)
    paths += plot_chosen_k(summaries, out_dir)
    if len(summaries) <= 6:
        for s in summaries:
            paths += plot_chosen_k_by_criterion(s, out_dir)
    for name, members in reference_slices(summaries):
        if all(m["id"] in records for m in members):  # raw records may not be committed
            paths += plot_error_boxplots(members, records, out_dir, name=f"errors_{name}")
        elif (out_dir / "figures" / f"errors_{name}.png").is_file():  # drawn when they were
            paths.append(write_manifest(out_dir / "figures" / f"errors_{name}", "errors", members))
    with_coverage = [s for s in summaries if has_coverage(s)]
    if len(with_coverage) <= MAX_COVERAGE_FIGURES:
        for s in with_coverage:
            paths += plot_coverage(s, out_dir)
    return paths


def rebuild_study(folder: Path, figures: bool = True) -> list[Path]:
    """Rewrite a finished study's tables and figures from its summary.json and raw records.

    Nothing is refitted. Conditions whose raw records are not in the folder (a
    large grid's records are not committed) keep their error boxplots as they are.

    Returns
    -------
    list of Path
        The files written.
    """
    folder = Path(folder)
    summaries = json.loads((folder / "summary.json").read_text(encoding="utf-8"))["conditions"]
    records = {}
    for s in summaries:
        rows = read_records(raw_path(folder, s["id"]))
        if rows:
            records[s["id"]] = records_frame(rows)
    return write_report(summaries, records, folder, figures=figures)
