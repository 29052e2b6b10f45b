"""Blocks about the simulation studies, the baselines and the benchmark."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from estimator import CRITERIA, design_matrix, segment_distances

from ...studies.generate import real_prices
from .. import tables
from ..baselines import methods_table
from ..format import CRITERION_LABELS, num, pct, percent_interval, sig, with_mcse
from .source import block, load


def real_like(outputs: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The real_like study's summary.json and its one condition."""
    doc = load(outputs, "real_like/summary.json")
    (cond,) = doc["conditions"]
    return doc, cond


@block
def real_like_coverage(outputs: Path) -> str:
    """Model SE, mean SE / SD and coverage (Wilson interval) of every parameter, both kinds."""
    _, cond = real_like(outputs)
    table = tables.render(tables.standard_errors([cond]))
    cover = {k: [r[f"coverage_{k}"] for r in cond["recovery"]] for k in ("observed", "naive")}
    ratio = [r["se_observed_ratio"] for r in cond["recovery"]]
    text = (
        f"Over {cond['n_ok']} replications the observed-information intervals cover "
        f"{min(cover['observed']):.3f}-{max(cover['observed']):.3f} (SE / SD "
        f"{min(ratio):.3f}-{max(ratio):.3f}); the naive ones cover "
        f"{min(cover['naive']):.3f}-{max(cover['naive']):.3f}."
    )
    return f"{table}\n\n{text}"


@block
def real_like_findings(outputs: Path) -> str:
    """Bias and hit rates of the real_like study, with its run's wall time."""
    doc, cond = real_like(outputs)
    worst = max(abs(r["bias"]) / r["sd"] for r in cond["recovery"] if r["sd"] > 0)
    bic = cond["selection"]["bic"]
    run = doc["run"]
    return (
        f"**Recovery at the real-data estimates** (`outputs/real_like/`, {cond['n_ok']} "
        f"replications, {run['replication_seconds_total']:.0f} CPU-seconds of replications): "
        f"every estimate is unbiased to within {pct(worst, 0)} of its SD; BIC finds "
        f"K = {cond['factors']['K']} in {tables.interval_text(bic)} of panels "
        f"({tables.rates_text(cond['selection'])})."
    )


@block
def real_like_truth(outputs: Path) -> str:
    """The truth the real_like study drew its panels from (its summary, 4 decimals)."""
    _, cond = real_like(outputs)
    truth = cond["truth"]
    rows = [
        [c + 1, f"{a:.4f}", f"{b:.4f}", f"{p:.4f}"]
        for c, ((a, b), p) in enumerate(zip(truth["theta"], truth["pi"], strict=True))
    ]
    return tables.markdown_table(["segment", "alpha", "beta", "pi"], rows)


def _study_time(run: dict[str, Any]) -> str:
    """A study's wall time on its workers, or the replications' seconds when not recorded."""
    wall, n_jobs = run.get("wall_seconds_records"), run["n_jobs"]
    if wall is not None:
        return f"{wall / 60:.0f} min on {n_jobs} workers"
    seconds = run["replication_seconds_total"]
    return f"{seconds / 60:.0f} worker-minutes of replications, run on {n_jobs} workers"


@block
def real_like_run(outputs: Path) -> str:
    """What the real_like run produced: replications, errors, convergence, BIC's hits."""
    doc, cond = real_like(outputs)
    run, conv, inf = doc["run"], cond["convergence"], cond["inference"]
    bic = cond["selection"]["bic"]
    wall = run.get("wall_seconds_records")
    timing = f", {wall:.0f} s of wall time" if wall is not None else ""
    return (
        f"{cond['n_ok'] + cond['n_errors']} replications ({cond['n_errors']} errors; "
        f"{run['replication_seconds_total']:.0f} CPU-seconds of replications{timing}, "
        f"`--n-jobs {run['n_jobs']}`); the fit at the true K converged in "
        f"{pct(conv['converged_rate'])} of them and both covariances were estimable in "
        f"{inf['observed']['valid']} and {inf['naive']['valid']}; "
        f"{conv['not_converged_any_k']} replications had some K stop at max_iter (over-fitted "
        f"models, outside the coverage). BIC (n = NT) chose K = {cond['factors']['K']} in "
        f"{bic['hits']} of {bic['n']}."
    )


@block
def real_like_readings(outputs: Path) -> str:
    """Readings of the real_like coverage: logit intervals for pi, detectable biases."""
    _, cond = real_like(outputs)
    rec = cond["recovery"]
    pis = [r for r in rec if "coverage_observed_logit" in r]
    biased = sorted(
        (r for r in rec if r["mcse_bias"] and abs(r["bias"]) > 3 * r["mcse_bias"]),
        key=lambda r: -abs(r["bias"]) / r["mcse_bias"],
    )
    worst = max(abs(r["bias"]) / r["sd"] for r in rec if r["sd"])
    text = (
        "* pi's logit-scale intervals (`coverage_{KIND}_logit` in summary.json) cover "
        + ", ".join(f"{r['coverage_observed_logit']:.3f}" for r in pis)
        + " with the observed information (naive "
        + ", ".join(f"{r['coverage_naive_logit']:.3f}" for r in pis)
        + ").\n* Biases detectable with this many replications (more than 3 MCSE): "
    )
    text += (
        ", ".join(
            f"{r['parameter']} {r['bias']:+.4f} ({abs(r['bias']) / r['mcse_bias']:.1f} MCSE)"
            for r in biased
        )
        or "none"
    )
    return text + f"; none exceeds {pct(worst, 0)} of its SD."


def grid_conditions(outputs: Path) -> list[dict[str, Any]]:
    return load(outputs, "selection_grid/summary.json")["conditions"]


def grid_truths_by_k(outputs: Path) -> dict[int, dict[str, Any]]:
    """The selection grid's truth for every true K at separation 1 (its first condition's)."""
    by_k: dict[int, dict[str, Any]] = {}
    for c in grid_conditions(outputs):
        if c["factors"]["separation"] == 1.0:
            by_k.setdefault(c["factors"]["K"], c["truth"])
    return by_k


@block
def selection_grid_findings(outputs: Path) -> str:
    """The grid's size, BIC's hit rate by true K and N (T = 52, separation 1, sigma 1), and
    the criteria's average hit rates."""
    doc = load(outputs, "selection_grid/summary.json")
    conds = doc["conditions"]
    n_rep = sum(c["n_ok"] + c["n_errors"] for c in conds)
    errors = sum(c["n_errors"] for c in conds)
    members, where = tables.at_reference(conds)
    table = tables.render(tables.reference_hit_rates(members, methods=("bic",)))
    unit = [c for c in conds if c["factors"]["sigma"] == 1.0]
    mean = {
        crit: sum(c["selection"][crit]["hit_rate"] for c in unit) / len(unit)
        for crit in CRITERIA
        if all(crit in c["selection"] for c in unit)
    }
    order = sorted(mean, key=lambda crit: -mean[crit])
    noisy = [c for c in conds if c["factors"]["sigma"] != 1.0 and c["factors"]["K"] > 0]
    too_many = sum(c["selection"]["bic"]["too_many"] * c["n_ok"] for c in noisy) / max(
        1, sum(c["n_ok"] for c in noisy)
    )
    return (
        f"**Choice of K across the design grid** (`outputs/selection_grid/`: {len(conds)} "
        f"conditions, {n_rep:,} replications, {errors} errors, "
        f"{doc['run']['replication_seconds_total']:.0f} CPU-seconds of replications). "
        f"BIC's hit rate for the true K [Wilson 95%] at {where}:\n\n{table}\n\n"
        f"Over the {len(unit)} sigma = 1 conditions the mean hit rates are "
        + ", ".join(f"{CRITERION_LABELS[c]} {pct(mean[c])}" for c in order)
        + f". With sigma = 1.5 (noise the model does not allow) BIC picks too many segments "
        f"in {pct(too_many)} of replications."
    )


@block
def grid_truths(outputs: Path) -> str:
    """The selection grid's truth for every true K at separation 1 (from its summary)."""
    rows = []
    for k, truth in sorted(grid_truths_by_k(outputs).items()):
        theta, pi = truth["theta"], truth["pi"]
        rows.append(
            [
                k,
                ", ".join(f"{t[0]:.4f}" for t in theta),
                ", ".join(f"{t[1]:.4f}" for t in theta),
                ", ".join(f"{p:.4f}".rstrip("0").rstrip(".") if k == 1 else f"{p:.4f}" for p in pi),
            ]
        )
    return tables.markdown_table(["K", "alpha", "beta", "pi"], rows)


@block
def grid_distances(outputs: Path) -> str:
    """Smallest distance sqrt((a - b)' X'X (a - b)) between the segments of each grid truth
    over its weeks of real prices, by true K, T and separation."""
    conds = [c for c in grid_conditions(outputs) if c["factors"]["K"] > 1]
    ts = sorted({c["factors"]["T"] for c in conds})
    seps = sorted({c["factors"]["separation"] for c in conds})
    prices, theta = real_prices(), {}
    for c in conds:
        key = (c["factors"]["K"], c["factors"]["T"], c["factors"]["separation"])
        theta.setdefault(key, np.asarray(c["truth"]["theta"]))
    rows = []
    for k in sorted({c["factors"]["K"] for c in conds}):
        row: list[Any] = [k]
        for t in ts:
            X = design_matrix(prices[:t])
            distances = [segment_distances(theta[k, t, sep], X.T @ X) for sep in seps]
            row.append(" / ".join(f"{d[np.triu_indices(k, 1)].min():.2f}" for d in distances))
        rows.append(row)
    levels = " / ".join(f"{sep:g}" for sep in seps)
    headers = [
        "true K",
        *(f"T = {t}: s {levels}" if i == 0 else f"T = {t}" for i, t in enumerate(ts)),
    ]
    return tables.markdown_table(headers, rows)


@block
def grid_truth_notes(outputs: Path) -> str:
    """How the grid's truths relate: distances of the K = 3 truth, m, the K = 4 split."""
    truths = grid_truths_by_k(outputs)
    X = design_matrix(real_prices())
    gram = X.T @ X
    three = np.asarray(truths[3]["theta"])
    d3 = segment_distances(three, gram)
    four, pi4 = np.asarray(truths[4]["theta"]), truths[4]["pi"]
    d4 = segment_distances(four, gram)
    (m,) = truths[1]["theta"]
    upper = zip(*np.triu_indices(3, 1), strict=True)
    pairs = ", ".join(f"{d3[a, b]:.2f} ({a + 1}-{b + 1})" for a, b in upper)
    return (
        f"* K = 3: the real truth. Its segments are {pairs} apart.\n"
        "* K = 2: the two closest segments merged into their pi-weighted mean.\n"
        f"* K = 1: m = ({m[0]:.4f}, {m[1]:.4f}).\n"
        f"* K = 4: the most common segment (pi {truths[3]['pi'][1]:.3f}) split into two "
        f"halves (pi {pi4[1]:.3f} each) that differ only in alpha (the level of sales, same "
        f"price elasticity), placed {d4[1, 2]:.2f} apart."
    )


@block
def irregular_table(outputs: Path) -> str:
    """Per condition of the irregular study: BIC's hit rate, RMSEs, coverage ranges."""
    conds = load(outputs, "irregular/summary.json")["conditions"]
    rows = []
    for c in conds:
        f = c["factors"]
        rec = {r["parameter"]: r for r in c["recovery"]}
        sigma = f["sigma"]
        sigma = " / ".join(num(s, 2) for s in sigma) if isinstance(sigma, list) else num(sigma, 2)
        row = [pct(f["missing_rate"], 0), num(f["price_noise"], 2), sigma]
        row += [f"{c['selection']['bic']['hit_rate']:.3f}"]
        row += [" / ".join(f"{rec[p]['rmse']:.3f}" for p in ("beta_2", "beta_3", "promo_3"))]
        for kind in ("observed", "naive"):
            cover = [r[f"coverage_{kind}"] for r in c["recovery"] if f"coverage_{kind}" in r]
            row.append(f"{min(cover):.3f}-{max(cover):.3f}")
        rows.append(row)
    headers = ["missing weeks", "price noise (sd of log p_it)", "true sigma", "BIC finds K = 3"]
    n_par = len(conds[0]["recovery"])
    headers += ["RMSE beta_2 / beta_3 / promo_3", f"95% coverage, observed ({n_par} parameters)"]
    return tables.markdown_table([*headers, "naive"], rows)


@block
def baselines_table(outputs: Path) -> str:
    """The estimator against a single start and the two-step route on real_like panels."""
    (cond,) = load(outputs, "baselines/summary.json")["conditions"]
    k = cond["true_k"]
    two = cond["comparison"]["twostep"]["rmse_ratio"]
    single = cond["comparison"]["single"]["rmse_ratio"]
    reached = cond["single_start"]
    worst_single = max(single, key=single.get)
    return (
        f"{tables.render(methods_table(cond))}\n\nThe two-step route's RMSE is up to "
        f"{max(two.values()):.1f} times the estimator's ({max(two, key=two.get)}); a single "
        f"start misses the maximum that ten find in {pct(1 - reached[str(k)]['reached_rate'])} "
        f"of panels at K = {k} ({pct(1 - reached[str(k + 1)]['reached_rate'], 0)} at "
        f"K = {k + 1}), which multiplies the RMSE of {worst_single} by "
        f"{single[worst_single]:.1f}."
    )


@block
def benchmark_table(outputs: Path) -> str:
    """The benchmark's summary table and targets (outputs/benchmark/benchmark.json)."""
    result = load(outputs, "benchmark/benchmark.json")
    meta = result["meta"]
    targets = "\n".join(
        f"- {t['status']}: {t['target']}: {t['measured']}" for t in result["targets"]
    )
    return (
        f"`{meta['command']}` on {meta['date']} ({meta['cpu']}, {meta['cores']} cores, load "
        f"{', '.join(f'{x:.1f}' for x in meta['load_start'])} at the start):\n\n"
        f"{tables.render(tables.speed(result['cases']))}\n\nTargets:\n\n{targets}"
    )


@block
def newton_steps(outputs: Path) -> str:
    """The engine's Newton step against a trust region (outputs/benchmark/benchmark.json)."""
    rows = {
        (r["K"], r["step"]): r for r in load(outputs, "benchmark/benchmark.json")["newton_steps"]
    }
    text = []
    for k in sorted({key[0] for key in rows}):
        ours, region = rows[k, "line search (engine)"], rows[k, "trust region"]
        # the trust region's cost in log-likelihoods: its Hessians and trials against ours
        cost = ours["hessian_per_loglik"]
        balance = (region["newton_steps"] - ours["newton_steps"]) * cost
        balance += region["trials"] - ours["trials"]
        text.append(
            f"At K = {k} ({ours['fits']} fits of 10 starts), both steps reach the same best "
            f"maximum with the same count of starts in {region['same_best']} of "
            f"{region['fits']} fits. The trust region makes {region['newton_steps']:,} Newton "
            f"steps (an exact Hessian each) against the engine's {ours['newton_steps']:,}, with "
            f"{region['trials']:,} trial log-likelihoods against {ours['trials']:,}. An exact "
            f"score and Hessian of one start costs {cost:.1f} of its log-likelihoods, so the "
            "trust region's evaluations come to "
            + (
                f"{abs(balance):,.0f} log-likelihoods {'more' if balance > 0 else 'fewer'} than"
                if balance
                else "as many as"
            )
            + " the engine's; its fits take "
            + f"{region['seconds'] / ours['seconds']:.2f}x the engine's time (it decomposes each "
            "Hessian a second time)."
        )
    return "\n\n".join(text) + "\n\n(`python -m experiments.benchmark --refresh newton-steps`)"


@block
def blrt_size(outputs: Path) -> str:
    """The bootstrap LRT's size: how often it rejects a true K0 (outputs/blrt_size)."""
    doc = load(outputs, "blrt_size/summary.json")
    condition = doc["conditions"][0]
    blrt = condition["blrt"]
    lines = []
    for test in blrt["tests"]:
        covers = test["ci_low"] <= blrt["level"] <= test["ci_high"]
        lines.append(
            f"`python -m experiments.selection --config experiments/configs/blrt_size.json "
            f"--n-jobs 2` ({condition['label']}, {test['n']} replications, B = "
            f"{blrt['n_boot']}): the test of K0 = {test['K0']} against K0 + 1 rejected the true "
            f"K0 in {pct(test['rejection_rate'])} of replications (Wilson 95% interval "
            f"[{pct(test['ci_low'])}, {pct(test['ci_high'])}]), which "
            + ("contains" if covers else "does not contain")
            + f" the nominal level {pct(blrt['level'], 0)}."
        )
    return "\n".join(lines)


NYLUND_ICS = ("bic", "bic_n", "aic", "caic", "sabic", "sabic_n")
"""The information criteria Nylund, Asparouhov & Muthen (2007) compared with the BLRT
(AIC, BIC, CAIC, SABIC), with both sample sizes here: their n counts persons, as n = N
counts stores, while the harness's BIC counts store-weeks (n = NT)."""


BLRT_GRID_METHODS = ("blrt", "bic", "bic_n", "sabic", "sabic_n", "aic3", "aic", "caic", "icl")
"""The blrt_grid table's columns, in the issue's order."""


def _disjoint(a: dict[str, float], b: dict[str, float]) -> bool:
    """Whether the Wilson 95% intervals of two hit rates do not overlap (``a`` above)."""
    return a["ci_low"] > b["ci_high"]


@block
def blrt_grid(outputs: Path) -> str:
    """The blrt_grid study's hit rates, where the BLRT beats BIC and the ordering against
    Nylund et al. (outputs/blrt_grid)."""
    return _blrt_grid(outputs, with_table=True)


@block
def blrt_grid_findings(outputs: Path) -> str:
    """:func:`blrt_grid` without its table (for the README)."""
    return _blrt_grid(outputs, with_table=False)


def _blrt_grid(outputs: Path, with_table: bool) -> str:
    doc = load(outputs, "blrt_grid/summary.json")
    conds = sorted(
        doc["conditions"],
        key=lambda c: (c["factors"]["K"], c["factors"]["separation"], c["factors"]["N"]),
    )
    methods = [m for m in BLRT_GRID_METHODS if all(m in c["selection"] for c in conds)]
    table = tables.render(tables.methods_hit_rates(conds, methods=methods))
    mean = {m: sum(c["selection"][m]["hit_rate"] for c in conds) / len(conds) for m in methods}
    over = {m: sum(c["selection"][m]["too_many"] for c in conds) / len(conds) for m in methods}
    under = {m: sum(c["selection"][m]["too_few"] for c in conds) / len(conds) for m in methods}
    order = sorted(methods, key=lambda m: -mean[m])

    def label(c: dict[str, Any]) -> str:
        f = c["factors"]
        return f"(K {f['K']}, separation {f['separation']:g}, N {f['N']})"

    better = [c for c in conds if _disjoint(c["selection"]["blrt"], c["selection"]["bic"])]
    worse = [c for c in conds if _disjoint(c["selection"]["bic"], c["selection"]["blrt"])]
    n_rep = sum(c["n_ok"] for c in conds)
    text = (
        f"`python -m experiments.selection --config experiments/configs/blrt_grid.json "
        f"--n-jobs 2` ({len(conds)} conditions, {n_rep:,} replications, "
        f"{_study_time(doc['run'])})."
        + (f" Hit rate of the true K:\n\n{table}\n\n" if with_table else " ")
        + "Averaged over the conditions: "
        + ", ".join(f"{CRITERION_LABELS[m]} {pct(mean[m])}" for m in order)
        + ". The BLRT's hit rate is above BIC's (n = NT) with disjoint Wilson 95% intervals in "
        + (", ".join(label(c) for c in better) if better else "no condition")
        + "; below it in "
        + (", ".join(label(c) for c in worse) if worse else "no condition")
        + f"; elsewhere the two cannot be told apart at {conds[0]['n_ok']} replications. "
        f"Where the true K is easy to find the BLRT's hit rate stays near 1 - level = "
        f"{pct(1 - conds[0]['blrt']['level'], 0)} by design (it rejects a true K0 at its size), "
        "so it can beat BIC only where BIC misses. "
    )
    ics = [m for m in NYLUND_ICS if m in methods]
    best_ic = max(ics, key=lambda m: mean[m])
    most_over = max(methods, key=lambda m: over[m])
    rank = order.index("blrt") + 1
    agree = rank <= 2 and best_ic in ("bic", "bic_n") and most_over == "aic"
    text += (
        "Nylund, Asparouhov & Muthen (2007) found the BLRT the most consistent indicator, BIC "
        "the best of the information criteria they compared (AIC, BIC, CAIC, SABIC) and AIC "
        f"prone to too many classes. Here the BLRT ranks #{rank} of {len(order)} on average "
        f"({CRITERION_LABELS[order[0]]} first), the best of those criteria (with n = NT or "
        f"n = N) is {CRITERION_LABELS[best_ic]}, and "
        f"{CRITERION_LABELS[most_over]} picks too many segments most often "
        f"({pct(over[most_over])} of replications"
        + ("" if most_over == "aic" else f"; AIC {pct(over['aic'])}")
        + "): the ordering "
        + ("matches theirs." if agree else "differs from theirs.")
    )
    if best_ic not in ("bic", "bic_n") and under["bic"] > over["bic"]:
        weeks = conds[0]["factors"]["T"]
        text += (
            f" BIC (n = NT) loses to {CRITERION_LABELS[best_ic]} by under-fitting (too few "
            f"segments in {pct(under['bic'])} of replications, too many in "
            f"{pct(over['bic'])}): its n counts store-weeks, where Nylund et al.'s counts "
            f"persons (here stores, n = N), so each parameter costs log({weeks}) = "
            f"{math.log(weeks):.1f} more, and weakly separated segments go unseen; "
            f"BIC (n = N) under-fits less (too few in {pct(under['bic_n'])})."
        )
    return text


@block
def guard_study(outputs: Path) -> str:
    """BIC's choice of K with and without the guard, with Monte Carlo SEs (outputs/guard)."""
    doc = load(outputs, "guard/summary.json")
    keys = ("true_unguarded", "over_unguarded", "true_guarded", "over_guarded")
    rows = [
        [f"{c['factors']['design']} (K = {c['true_K']})", c["n_ok"]]
        + [f"{pct(c[key]['rate'])} ({pct(c[key]['mcse'])})" for key in keys]
        + [
            f"{c['restored']['hits']} of {c['restored']['n']} "
            f"{percent_interval(*c['restored']['wilson'])}"
        ]
        for c in doc["conditions"]
    ]
    headers = ["design", "replications", "true K, unguarded", "too many, unguarded"]
    headers += ["true K, guarded", "too many, guarded", "true K where unguarded has too many"]
    return (
        tables.markdown_table(headers, rows)
        + f"\n\nn = {doc['conditions'][0]['factors']['n']} observations, K = 1..4, BIC; Monte "
        "Carlo SEs in parentheses, Wilson 95% intervals in brackets; "
        f"{doc['run']['replication_seconds_total'] / 60:.0f} CPU-minutes."
    )


@block
def concomitant_study(outputs: Path) -> str:
    """rsimsum's measures of gamma and BIC's hit rates with and without the concomitant."""
    conds = load(outputs, "concomitant/summary.json")["conditions"]
    rows = [
        [c["factors"]["n_stores"], r["parameter"], with_mcse(r["modelse"], r["mcse_modelse"], 3)]
        + [f"{r['relerror']:.1f} ({sig(r['mcse_relerror'], 2)})"]
        + [f"{pct(r['coverage'])} {percent_interval(*r['coverage_ci'])}"]
        + [f"{pct(r['becoverage'])} ({pct(r['mcse_becoverage'])})"]
        for c in conds
        for r in c["recovery"]
        if r["parameter"].startswith("gamma")
    ]
    headers = ["stores", "parameter", "model SE", "rel. error (%)", "coverage [Wilson 95%]"]
    hits = "; ".join(
        f"N = {c['factors']['n_stores']}: BIC finds K = 2 in "
        f"{tables.interval_text(c['selection']['concomitant'])} with the concomitant and "
        f"{tables.interval_text(c['selection']['plain'])} without"
        for c in conds
    )
    return (
        f"{tables.render(tables.recovery(conds))}\n\n"
        + tables.markdown_table([*headers, "bias-eliminated coverage"], rows)
        + f"\n\n{conds[0]['n_ok']} replications per size, 95% observed-information intervals, "
        f"Monte Carlo SEs in parentheses. {hits}."
    )
