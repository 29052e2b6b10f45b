"""Every table of a study, built once from its summaries and rendered for any reader.

A builder returns a :class:`Table` of a ``summary.json``'s ``conditions`` (one whose every
replication failed shows as ``-``); :func:`render` writes it as github markdown, a
page-fitting LaTeX table (:mod:`simstudy.writeup.latex`) or plain text (:func:`text_table`,
which needs no tabulate: the real-data fit prints its tables with numpy and scipy alone).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from estimator import CRITERIA

from ..harness.measures import wilson_interval
from .format import (
    CRITERION_LABELS,
    level,
    missing,
    num,
    pct,
    percent_interval,
    rate,
    sig,
    sort_key,
    with_mcse,
)
from .latex import latex_table

SE_KINDS: tuple[str, ...] = ("observed", "naive")
"""Standard errors a recovery study records (observed information; posteriors as known)."""
FORMATS: tuple[str, ...] = ("md", "tex", "text")
Summary = dict[str, Any]


@dataclass(frozen=True)
class Table:
    """A table ready to print: file stem ``name``, markdown ``caption``, ``headers``, formatted
    ``rows``, the ``key_columns`` that name a row (repeated when LaTeX splits the table) and
    ``align`` ("l" or "r" per column; default left for the key columns, right for the rest)."""

    name: str
    caption: str
    headers: list[str]
    rows: list[list[str]]
    key_columns: int = 1
    align: list[str] = field(default_factory=list)

    def alignment(self) -> list[str]:
        """One of "l" / "r" per column."""
        if self.align:
            return list(self.align)
        return ["l"] * self.key_columns + ["r"] * (len(self.headers) - self.key_columns)


def render(table: Table, fmt: str = "md") -> str:
    """``table`` as github markdown (``md``), a booktabs LaTeX table (``tex``) or ``text``."""
    cells = [[str(c) for c in row] for row in table.rows]
    align = table.alignment()
    if fmt == "md":
        from tabulate import tabulate

        colalign = ["left" if a == "l" else "right" for a in align]
        return tabulate(
            cells, table.headers, tablefmt="github", disable_numparse=True, colalign=colalign
        )
    if fmt == "tex":
        caption = re.sub(r"\*\*(.+?)\*\*|`", lambda m: m.group(1) or "", table.caption)
        return latex_table(table.headers, cells, caption, table.name, align, table.key_columns)
    if fmt == "text":
        return text_table(table.headers, cells)
    raise ValueError(f"fmt must be one of {FORMATS}, got {fmt!r}")


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Plain text: cells stripped and left-aligned, columns two spaces apart, each at least two
    wider than its header, dashes under the headers, no trailing blanks (tabulate's "simple"
    layout, which a test holds it to)."""
    cells = [[cell.strip() for cell in row] for row in rows]
    widths = [max([len(h) + 2, *(len(row[j]) for row in cells)]) for j, h in enumerate(headers)]
    lines = [list(headers), ["-" * width for width in widths], *cells]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A github markdown table of ``rows`` (cells as text, every column left-aligned)."""
    cells = [[str(c) for c in row] for row in rows]
    return render(Table("", "", list(headers), cells, align=["l"] * len(headers)), "md")


# -- helpers ------------------------------------------------------------------


def selection_methods(summaries: Sequence[Summary]) -> tuple[str, ...]:
    """The criteria (and ``blrt``) every summary with hit rates has, in estimator.CRITERIA order."""
    chosen = [s["selection"] for s in summaries if "selection" in s]
    return tuple(m for m in (*CRITERIA, "blrt") if chosen and all(m in c for c in chosen))


def varying(summaries: Sequence[Summary]) -> list[str]:
    """Factors with more than one level among the conditions, in the design's order."""
    names = list(summaries[0]["factors"])
    return [f for f in names if len({level(s["factors"][f]) for s in summaries}) > 1]


def levels(summaries: Sequence[Summary], factor: str) -> list[Any]:
    """The distinct levels of ``factor``, numbers in order, others by their text."""
    distinct = {level(s["factors"][factor]): s["factors"][factor] for s in summaries}
    return sorted(distinct.values(), key=sort_key)


def has_coverage(summary: Summary, *kinds: str) -> bool:
    """Whether a condition's recovery rows carry coverage (of some of ``kinds``, or of any)."""
    rows = summary.get("recovery", [])
    return any(f"coverage_{k}" in r for r in rows for k in kinds or SE_KINDS)


def reference_levels(summaries: Sequence[Summary]) -> dict[str, Any]:
    """Reference levels of the varying factors other than N and K: the largest T,
    separation 1 (else the middle level), the smallest sigma, the first of the others."""
    out: dict[str, Any] = {}
    for f in varying(summaries):
        if f in ("N", "K"):
            continue
        found = levels(summaries, f)
        if f == "T":
            out[f] = found[-1]
        elif f == "separation":
            out[f] = 1.0 if 1.0 in found else found[len(found) // 2]
        else:
            out[f] = found[0]
    return out


def at_reference(summaries: Sequence[Summary]) -> tuple[list[Summary], str]:
    """The conditions at the reference levels, and those levels as text."""
    ref = reference_levels(summaries)
    members = [s for s in summaries if all(s["factors"][f] == v for f, v in ref.items())]
    where = ", ".join(f"{f} = {level(v)}" for f, v in ref.items()) or "every condition"
    return members, where


def _row_label(summaries: Sequence[Summary]) -> tuple[list[str], Any]:
    """Key headers and a function giving a condition's key cells (its varying factors)."""
    factors = varying(summaries)
    if not factors:
        return ["condition"], lambda s: [s["label"]]
    return [("true K" if f == "K" else f) for f in factors], lambda s: [
        level(s["factors"][f]) for f in factors
    ]


# -- recovery: the measures of the estimates, of their standard errors and intervals ---


def recovery(summaries: Sequence[Summary], name: str = "recovery") -> Table:
    """Bias, empirical SE and RMSE of every parameter at the true K, each (MCSE)."""
    keys, key_cells = _row_label(summaries) if len(summaries) > 1 else ([], lambda s: [])
    rows = [
        [*key_cells(s), r["parameter"], sig(r["true"], 5), sig(r["mean"], 5)]
        + [with_mcse(r[key], r.get(f"mcse_{key}"), 3) for key in ("bias", "sd", "rmse")]
        + [str(r["n"])]
        for s in summaries
        for r in s.get("recovery", [])
    ]
    headers = [*keys, "parameter", "true", "mean", "bias", "empirical SE", "RMSE", "n"]
    caption = (
        "Recovery at the true K: mean estimate, bias, empirical SE (the SD of the estimates) "
        "and RMSE over the replications, each with its Monte Carlo SE in parentheses."
    )
    if any("mcse_rmse" not in r for s in summaries for r in s.get("recovery", [])):
        caption += " (-): a Monte Carlo SE that needs the records, which are not committed."
    return Table(name, caption, headers, rows, key_columns=len(keys) + 1)


def _measure(row: Summary, key: str, kind: str, digits: int = 3) -> str:
    """A recovery row's ``{key}_{kind}`` with its Monte Carlo SE."""
    return with_mcse(row.get(f"{key}_{kind}"), row.get(f"mcse_{key}_{kind}"), digits)


def standard_errors(summaries: Sequence[Summary], name: str = "standard_errors") -> Table:
    """Model SE, its relative error, coverage, bias-eliminated coverage, rejection, each (MCSE)."""
    keys, key_cells = _row_label(summaries) if len(summaries) > 1 else ([], lambda s: [])
    rows = []
    for s in summaries:
        for r in s.get("recovery", []):
            for kind in (k for k in SE_KINDS if f"coverage_{k}" in r):
                cover = f"coverage_{kind}"
                row = [*key_cells(s), r["parameter"], kind, _measure(r, "modelse", kind)]
                row += [num(r.get(f"se_{kind}_ratio")), _measure(r, "relerror", kind, 2)]
                row += [f"{rate(r, cover, bounds='key')} ({sig(r.get(f'mcse_{cover}'), 2)})"]
                row += [_measure(r, "becoverage", kind), _measure(r, "rejection", kind)]
                rows.append([*row, str(r.get(f"{cover}_n", "-"))])
    headers = [*keys, "parameter", "SE", "model SE", "mean SE / SD", "rel. error (%)"]
    headers += ["coverage [Wilson 95%]", "bias-eliminated coverage", "rejection of 0", "n"]
    caption = (
        "Standard errors and 95% intervals at the true K, per kind of SE (observed information; "
        "naive: posteriors taken as known): model SE sqrt(mean SE^2), mean SE over the SD of "
        "the estimates, the relative error of the model SE, coverage of the 95% intervals, "
        "coverage of est +- 1.96 SE around the mean estimate, and the rate of rejecting 0; "
        "Monte Carlo SEs in parentheses."
    )
    return Table(name, caption, headers, rows, key_columns=len(keys) + 2)


def condition_recovery(summaries: Sequence[Summary], name: str = "recovery_by_condition") -> Table:
    """Per condition: the worst bias in SDs, the largest RMSE and each SE kind's coverage range."""
    factors = [f for f in varying(summaries) if f not in ("N", "T", "K")] or ["N"]
    kinds = [k for k in SE_KINDS if any(has_coverage(s, k) for s in summaries)]
    rows = []
    for s in summaries:
        rec = [r for r in s.get("recovery", []) if not missing(r["sd"]) and r["sd"] > 0]
        if not rec:
            continue
        worst = max(rec, key=lambda r: abs(r["bias"]) / r["sd"])
        big = max(rec, key=lambda r: r["rmse"])
        row = [level(s["factors"][f]) for f in factors]
        row += [
            f"{abs(worst['bias']) / worst['sd']:.2f} ({worst['parameter']})",
            f"{num(big['rmse'])} ({big['parameter']})",
        ]
        for k in kinds:
            cover = [r[f"coverage_{k}"] for r in rec if not missing(r.get(f"coverage_{k}"))]
            row.append(f"{min(cover):.3f}-{max(cover):.3f}" if cover else "-")
        rows.append(row)
    headers = [*factors, "largest |bias| / SD", "largest RMSE"]
    headers += [f"coverage ({k}), min-max" for k in kinds]
    caption = (
        "Recovery at the true K by condition: the largest absolute bias in units of the "
        "estimates' SD and the largest RMSE (each with its parameter), and the range over "
        "the parameters of the coverage of the 95% intervals."
    )
    return Table(name, caption, headers, rows, key_columns=len(factors))


# -- the choice of K ----------------------------------------------------------


def selection(summaries: Sequence[Summary], name: str = "selection") -> Table:
    """Hit rate of every criterion with its Wilson 95% interval, and BIC's misses."""
    methods = selection_methods(summaries)
    rows = []
    for s in summaries:
        sel = s.get("selection", {})
        bic = sel.get("bic", {})
        rows.append([s["label"], str(s["n_ok"]), str(s["n_errors"]),
                     *[rate(sel[m]) if m in sel else "- [-, -]" for m in methods],
                     num(bic.get("too_few")), num(bic.get("too_many"))])  # fmt: skip
    labels = [CRITERION_LABELS[m] for m in methods]
    headers = ["condition", "n", "errors", *labels, "BIC too few", "BIC too many"]
    caption = "Hit rate of every criterion for the true K [Wilson 95% interval], and BIC's misses."
    return Table(name, caption, headers, rows)


def criteria(condition: Summary, name: str = "criteria") -> Table:
    """One condition: every criterion's hit rate [Wilson 95%], misses and chosen-K counts."""
    sel = condition.get("selection", {})
    rows = [
        [CRITERION_LABELS[m], rate(sel[m]), num(sel[m]["too_few"]), num(sel[m]["too_many"]),
         ", ".join(f"{k}: {v}" for k, v in sorted(sel[m]["distribution"].items()))]
        for m in selection_methods([condition])
    ]  # fmt: skip
    headers = ["criterion", "hit rate [95% CI]", "too few", "too many", "chosen K (counts)"]
    caption = (
        f"Hit rate of the true K by criterion, {condition['label']} (Wilson 95% interval), "
        "shares choosing too few and too many segments, and the counts of each chosen K."
    )
    return Table(name, caption, headers, rows)


def chosen_k(summaries: Sequence[Summary], criterion: str = "bic", name: str = "") -> Table:
    """How often ``criterion`` chose each K (counts), every condition."""
    dists = [s["selection"][criterion]["distribution"] for s in summaries if "selection" in s]
    ks = sorted({int(k) for d in dists for k in d})
    rows = [
        [s["label"], *(str(s.get("selection", {}).get(criterion, {}).get("distribution", {})
                             .get(str(k), "-")) for k in ks)]
        for s in summaries
    ]  # fmt: skip
    caption = f"Distribution of the K chosen by {CRITERION_LABELS[criterion]} (counts)."
    return Table(name or f"chosen_k_{criterion}", caption, ["condition", *(f"K={k}" for k in ks)],
                 rows)  # fmt: skip


def hit_rate_pivot(summaries: Sequence[Summary], criterion: str = "bic", name: str = "") -> Table:
    """Hit rate [Wilson 95%] of ``criterion``: a row per level of the factors other than N,
    a column per N."""
    row_factors = [f for f in varying(summaries) if f != "N"]
    ns = levels(summaries, "N")
    cells: dict[tuple[str, ...], dict[Any, str]] = {}
    order: dict[tuple[str, ...], list[Any]] = {}
    for s in summaries:
        key = tuple(level(s["factors"][f]) for f in row_factors)
        order[key] = [sort_key(s["factors"][f]) for f in row_factors]
        sel = s.get("selection", {}).get(criterion)
        cells.setdefault(key, {})[s["factors"]["N"]] = rate(sel, digits=2) if sel else "-"
    rows = [[*key, *(cells[key].get(n, "-") for n in ns)] for key in sorted(cells, key=order.get)]
    headers = [*("true K" if f == "K" else f for f in row_factors), *(f"N = {n}" for n in ns)]
    caption = f"Hit rate of the true K [Wilson 95%] of {CRITERION_LABELS[criterion]}, by condition."
    return Table(name or f"hit_rate_{criterion}", caption, headers, rows, len(row_factors) or 1)


def reference_hit_rates(
    summaries: Sequence[Summary],
    name: str = "hit_rates_reference",
    methods: Sequence[str] | None = None,
) -> Table:
    """Hit rates [Wilson 95%] at the reference levels of ``methods`` (default all): a row per
    criterion and true K, N across."""
    members, where = at_reference(summaries)
    ns, ks = levels(members, "N"), levels(members, "K")
    rows = []
    for m in methods or selection_methods(members):
        for k in ks:
            row = [CRITERION_LABELS[m], str(k)]
            for n in ns:
                found = [c for c in members if c["factors"]["K"] == k and c["factors"]["N"] == n]
                sel = found[0].get("selection", {}).get(m) if found else None
                row.append(rate(sel, digits=2) if sel else "-")
            rows.append(row)
    caption = f"Hit rate of the true K [Wilson 95%] by criterion and true K against N, at {where}."
    return Table(name, caption, ["criterion", "true K", *(f"N = {n}" for n in ns)], rows, 2)


def blrt(summaries: Sequence[Summary], name: str = "blrt") -> Table:
    """How often the bootstrap LRT of K0 against K0 + 1 rejected, with Wilson 95% intervals."""
    rows = [
        [s["label"], str(s["factors"]["K"]), str(t["K0"]), str(t["n"]),
         rate(t, "rejection_rate"), num(t["n_used_mean"], 1)]
        for s in summaries for t in s.get("blrt", {}).get("tests", [])
    ]  # fmt: skip
    headers = ["condition", "true K", "K0", "reached", "rejection rate [95% CI]", "mean B used"]
    caption = (
        "Bootstrap likelihood-ratio test of K0 against K0 + 1: replications that reached each "
        "test, its rejection rate with a Wilson 95% interval (at K0 = true K, the size of the "
        "test) and the mean number of bootstrap samples used."
    )
    return Table(name, caption, headers, rows)


def methods_hit_rates(
    summaries: Sequence[Summary], name: str = "hit_rates", methods: Sequence[str] = ()
) -> Table:
    """Hit rate of every method (criteria and the BLRT; or ``methods``, in that order) per
    condition, sorted by factor."""
    have = selection_methods(summaries)
    methods = [m for m in methods if m in have] or list(have)
    keys, key_cells = _row_label(summaries)
    factors = varying(summaries)
    ordered = sorted(summaries, key=lambda s: [sort_key(s["factors"][f]) for f in factors])
    rows = [
        [*key_cells(s), *(num(s["selection"][m]["hit_rate"], 2) for m in methods)]
        for s in ordered
        if "selection" in s
    ]
    headers = [*keys, *(CRITERION_LABELS[m] for m in methods)]
    caption = "Hit rate of the true K of every method, by condition."
    return Table(name, caption, headers, rows, key_columns=len(keys))


def conditions(summaries: Sequence[Summary], name: str = "conditions") -> Table:
    """Replications, errors, convergence, classification and time per condition."""
    rows = []
    for s in summaries:
        conv, cls = s.get("convergence", {}), s.get("classification", {})
        means = (conv.get("n_iter_mean"), conv.get("restarts_at_best_mean"), cls.get("ari_mean"),
                 cls.get("misclassification_mean"), s["seconds"]["mean"])  # fmt: skip
        rows.append([s["label"], str(s["n_replications"]), str(s["n_errors"]),
                     num(conv.get("converged_rate")), *(sig(v, 3) for v in means)])  # fmt: skip
    headers = ["condition", "replications", "errors", "converged", "mean iterations"]
    headers += ["restarts at best", "ARI", "misclassified", "seconds/rep"]
    caption = "Replications, errors, convergence, classification and time per condition."
    return Table(name, caption, headers, rows)


def study_tables(summaries: Sequence[Summary]) -> list[Table]:
    """The tables a study folder gets (``tables/``): those its summaries support."""
    tables = [recovery(summaries)]
    if any(has_coverage(s) for s in summaries):
        tables.append(standard_errors(summaries))
    tables += [selection(summaries), hit_rate_pivot(summaries), chosen_k(summaries)]
    tables.append(conditions(summaries))
    if any("blrt" in s for s in summaries):
        tables.append(blrt(summaries))
    return tables


def pooled_rates(summaries: Sequence[Summary], criterion: str) -> dict[str, float]:
    """Hits over every replication of ``summaries`` with a Wilson interval, and too few / many."""
    sels = [s["selection"][criterion] for s in summaries if "selection" in s]
    n = sum(sel["n"] for sel in sels)
    hits = sum(sel["hits"] for sel in sels)
    few = sum(sel["too_few"] * sel["n"] for sel in sels if sel["n"])
    low, high = wilson_interval(hits, n)
    nan = float("nan")
    if not n:
        return {"n": 0, "rate": nan, "low": low, "high": high, "too_few": nan, "too_many": nan}
    return {"n": n, "rate": hits / n, "low": low, "high": high, "too_few": few / n,
            "too_many": max(0.0, 1 - hits / n - few / n)}  # fmt: skip


def rates_text(selection_summary: dict[str, Any], skip: str = "bic") -> str:
    """``BIC (n = N) 99.9%, AIC 85.8%, ...``: every criterion's hit rate but ``skip``'s."""
    return ", ".join(
        f"{CRITERION_LABELS[c]} {pct(selection_summary[c]['hit_rate'])}"
        for c in CRITERIA
        if c != skip and c in selection_summary
    )


def interval_text(sel: dict[str, Any]) -> str:
    """A hit rate as a percentage with its Wilson interval in percent, ``99.4% [98.7, 99.7]``."""
    return f"{pct(sel['hit_rate'])} {percent_interval(sel['ci_low'], sel['ci_high'])}"


def speed_ratio(row: dict[str, Any]) -> tuple[str, str]:
    """A benchmark case's straightforward seconds (``~`` when estimated) and ratio to ours."""
    estimated = " (est.)" if row["ratio_estimated"] else ""
    if row["naive_s"] is None:
        return f"~{row['naive_estimate_s']:.3g} (est.)", f"{row['ratio']:.0f}x{estimated}"
    return sig(row["naive_s"], 3), f"{row['ratio']:.0f}x{estimated}"


def speed(rows: list[dict[str, Any]], name: str = "speed") -> Table:
    """The benchmark's cases 1-4 (benchmark.json ``cases``): ours against the straightforward EM."""
    table = [
        [
            str(r["case"]), f"{r['N']:,}", str(r["T"]), str(r["K"]), str(r["n_init"]),
            f"{r['tol']:g} / {r['max_iter']}", sig(r["ours_s"], 3), *speed_ratio(r),
            f"{r['iterations']:,} ({r['restarts_at_max_iter']})",
            f"{sig(r['ours_us_per_iter'], 3)} / {sig(r['naive_us_per_iter'], 3)}",
            f"{sig(r['ours_peak_mb'], 3)} / {sig(r['naive_peak_mb'], 3)}",
            sig(r.get("loglik_rel_diff_restarts"), 2),
        ]
        for r in rows
    ]  # fmt: skip
    headers = ["case", "N", "T", "K", "R", "tol / max_iter", "ours s", "straightforward s"]
    headers += ["ratio", "iterations (at max_iter)", "us/iter ours / sf", "peak MB ours / sf"]
    caption = (
        "Benchmark cases 1-4: time of a certified fit (ours: after one pass over the data, "
        "SQUAREM then Newton) against a straightforward EM started at the same values, both "
        "in one process with single-threaded BLAS (median of several runs); iterations, "
        "time per iteration, peak memory, and the largest relative difference of the "
        "log-likelihoods reached, start by start."
    )
    return Table(name, caption, [*headers, "max rel dlogL"], table, key_columns=1)
