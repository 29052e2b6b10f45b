"""Every number the README and docs/ quote, rendered from the committed outputs.

A document marks a generated block with a pair of HTML comments (invisible in
rendered markdown)::

    <!-- gen:real_models -->
    ... replaced by BLOCKS["real_models"](outputs) ...
    <!-- /gen:real_models -->

:func:`update_documents` rewrites every block of the given documents
(``python -m experiments.docs``); ``check=True`` only reports the documents that
disagree with the outputs (a test runs it on the committed files). A block whose
source is missing renders as one line saying so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import chi2

from estimator import CRITERIA, design_matrix
from estimator.atomic import write_text_atomic

from .bench.render import summary_table
from .design import segment_distances
from .generate import real_prices
from .report import CRITERION_LABELS
from .writeup.doc import interval, num, pct
from .writeup.real import elasticity_reading

BLOCK = re.compile(r"(<!-- gen:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /gen:(?P=name) -->)", re.S)
OPENING = re.compile(r"<!-- gen:([\w-]+) -->")


@lru_cache(maxsize=32)
def _read(path: str) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def load(outputs: Path, relative: str) -> Any:
    """The JSON document ``outputs/relative`` (cached; FileNotFoundError names it)."""
    path = Path(outputs) / relative
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found (run the command that writes it)")
    return _read(str(path))


def _model(results: dict[str, Any], k: int) -> dict[str, Any]:
    return next(m for m in results["models"] if m["K"] == k)


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], align: str = "") -> str:
    """A github markdown table; ``align`` one of l/r per column (default left)."""
    align = align or "l" * len(headers)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(rule) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# the real data
# ---------------------------------------------------------------------------


def real_models(outputs: Path) -> str:
    """Model comparison over K with every criterion; the chosen K in bold."""
    results = load(outputs, "results.json")
    chosen = results["chosen_K"]
    rows = []
    for m in results["models"]:
        bold = (lambda s: f"**{s}**") if m["K"] == chosen else str
        rows.append(
            [
                bold(m["K"]),
                bold(f"{m['loglik']:.3f}"),
                bold(m["n_params"]),
                bold(f"{m['bic']:.2f}"),
                *(f"{m[c]:.2f}" for c in ("bic_n", "aic", "aic3", "caic", "icl")),
                f"{m['restarts_at_best']}/{m['n_init']}",
            ]
        )
    headers = ["K", "log L", "params", "BIC (n = NT)", "BIC (n = N)", "AIC", "AIC3", "CAIC"]
    table = _table([*headers, "ICL", "starts at best"], rows, "lrrrrrrrrr")
    chosen_by = results["chosen_by"]
    same = [CRITERION_LABELS[c] for c in CRITERIA if c != "bic" and chosen_by[c] == chosen]
    other = [
        f"{CRITERION_LABELS[c]} prefers K = {chosen_by[c]}"
        for c in CRITERIA
        if chosen_by[c] != chosen
    ]
    text = f"BIC chooses **K = {chosen}**"
    text += f" (so do {', '.join(same)})" if same else ""
    text += f"; {', '.join(other)}." if other else "; every criterion agrees."
    settings = results["settings"]
    head = (
        f"{results['data']['file']}, N = {results['data']['N']} stores, T = "
        f"{results['data']['T']} weeks; {settings['n_init']} {settings['init']} starts per K, "
        f"tol = {settings['tol']:g}, max_iter = {settings['max_iter']}, seed {settings['seed']}:"
    )
    return f"{head}\n\n{table}\n\n{text}"


def real_estimates(outputs: Path) -> str:
    """The chosen K's estimates (observed-information SEs) and what each segment's beta says."""
    results = load(outputs, "results.json")
    model = _model(results, results["chosen_K"])
    se = model["standard_errors"]["observed"]
    rows, readings = [], []
    for c in range(model["K"]):
        rows.append(
            [c + 1] + [f"{model[p][c]:.3f} ({se[p]['se'][c]:.4f})" for p in ("alpha", "beta", "pi")]
        )
        low, high = se["beta"]["ci"][c]
        readings.append(
            f"segment {c + 1} ({pct(model['pi'][c], 0)} of stores): beta "
            f"{model['beta'][c]:.3f}, 95% interval {interval(low, high)}, "
            f"{elasticity_reading((low, high))}"
        )
    table = _table(["segment", "alpha (SE)", "beta (SE)", "pi (SE)"], rows)
    return (
        f"{table}\n\nDemand by segment ({se['level']:.0%} Wald intervals): "
        + "; ".join(readings)
        + "."
    )


def naive_vs_observed(outputs: Path) -> str:
    """The segment whose naive standard errors understate the most, in one sentence."""
    model = _model(load(outputs, "results.json"), load(outputs, "results.json")["chosen_K"])
    observed = model["standard_errors"]["observed"]["alpha"]["se"]
    naive = model["standard_errors"]["naive"]["alpha"]["se"]
    c = min(range(model["K"]), key=lambda j: naive[j] / observed[j])
    return (
        f"On the real data the naive errors of segment {c + 1} are only "
        f"{pct(naive[c] / observed[c], 0)} of the observed-information ones "
        f"({naive[c]:.3f} vs {observed[c]:.3f} for alpha_{c + 1})."
    )


def sigma_modes(outputs: Path) -> str:
    """log L, free parameters and BIC of every K with sigma fixed, common and per segment."""
    docs = {
        "fixed": load(outputs, "results.json"),
        "common": load(outputs, "real_sigma_common/results.json"),
        "segment": load(outputs, "real_sigma_segment/results.json"),
    }
    rows = []
    for m in docs["fixed"]["models"]:
        row: list[Any] = [m["K"]]
        for doc in docs.values():
            mm = _model(doc, m["K"])
            bic = f"{mm['bic']:.3f}"
            row += [
                f"{mm['loglik']:.3f}",
                mm["n_params"],
                f"**{bic}**" if mm["K"] == doc["chosen_K"] else bic,
            ]
        rows.append(row)
    headers = ["K"] + [f"{h} {mode}" for mode in docs for h in ("log L", "k", "BIC")]
    table = _table(headers, rows, "l" + "rrr" * 3)
    chosen = {mode: doc["chosen_K"] for mode, doc in docs.items()}
    best = min(docs, key=lambda mode: _model(docs[mode], chosen[mode])["bic"])
    k = chosen["segment"]
    segment = _model(docs["segment"], k)
    sig = segment["standard_errors"]["observed"]["sigma"]
    contain = all(lo <= 1.0 <= hi for lo, hi in sig["ci"])
    lr = 2 * (segment["loglik"] - _model(docs["fixed"], k)["loglik"])
    df = segment["n_params"] - _model(docs["fixed"], k)["n_params"]
    text = (
        f"BIC chooses K = {', '.join(f'{chosen[m]} ({m})' for m in docs)}; the lowest BIC of all "
        f"is sigma {best}'s. At K = {k} the per-segment sigmas are "
        f"{', '.join(num(s) for s in segment['sigma'])}"
        f"{', each 95% interval containing 1' if contain else ''} "
        f"(likelihood-ratio test against sigma = 1: {lr:.2f} on {df} df, "
        f"p = {chi2.sf(lr, df):.2f})."
    )
    return f"{table}\n\n{text}"


# ---------------------------------------------------------------------------
# simulation studies
# ---------------------------------------------------------------------------


def real_like_coverage(outputs: Path) -> str:
    """SE / SD and 95% coverage (Wilson interval) of every parameter, observed and naive."""
    (cond,) = load(outputs, "real_like/summary.json")["conditions"]
    rows = []
    for r in cond["recovery"]:
        rows.append(
            [
                r["parameter"],
                f"{r['true']:.3f}",
                f"{r['sd']:.4f}",
                *(
                    cell
                    for kind in ("observed", "naive")
                    for cell in (
                        f"{r[f'se_{kind}_ratio']:.3f}",
                        f"{r[f'coverage_{kind}']:.3f} "
                        + interval(r[f"coverage_{kind}_low"], r[f"coverage_{kind}_high"]),
                    )
                ),
            ]
        )
    headers = ["parameter", "true", "SD of estimates", "SE observed / SD", "coverage observed"]
    table = _table([*headers, "SE naive / SD", "coverage naive"], rows, "lrrrlrl")
    cover = {k: [r[f"coverage_{k}"] for r in cond["recovery"]] for k in ("observed", "naive")}
    ratio = [r["se_observed_ratio"] for r in cond["recovery"]]
    text = (
        f"Over {cond['n_ok']} replications the observed-information intervals cover "
        f"{min(cover['observed']):.3f}-{max(cover['observed']):.3f} (SE / SD "
        f"{min(ratio):.3f}-{max(ratio):.3f}); the naive ones cover "
        f"{min(cover['naive']):.3f}-{max(cover['naive']):.3f}."
    )
    return f"{table}\n\n{text}"


def _rates(selection: dict[str, Any]) -> str:
    return ", ".join(
        f"{CRITERION_LABELS[c]} {pct(selection[c]['hit_rate'])}" for c in CRITERIA if c != "bic"
    )


def real_like_findings(outputs: Path) -> str:
    """Bias and hit rates of the real_like study, with its run's wall time."""
    doc = load(outputs, "real_like/summary.json")
    (cond,) = doc["conditions"]
    worst = max(abs(r["bias"]) / r["sd"] for r in cond["recovery"] if r["sd"] > 0)
    bic = cond["selection"]["bic"]
    run = doc["run"]
    return (
        f"**Recovery at the real-data estimates** (`outputs/real_like/`, {cond['n_ok']} "
        f"replications, {run['replication_seconds_total']:.0f} CPU-seconds of replications): "
        f"every estimate is unbiased to within {pct(worst, 0)} of its SD; BIC finds "
        f"K = {cond['factors']['K']} in {pct(bic['hit_rate'])} "
        f"{interval(100 * bic['ci_low'], 100 * bic['ci_high'], 1)} of panels "
        f"({_rates(cond['selection'])})."
    )


def _grid(outputs: Path) -> list[dict[str, Any]]:
    return load(outputs, "selection_grid/summary.json")["conditions"]


def selection_grid_findings(outputs: Path) -> str:
    """The grid's size, BIC's hit rate by true K and N (T = 52, separation 1, sigma 1), and
    the criteria's average hit rates."""
    doc = load(outputs, "selection_grid/summary.json")
    conds = doc["conditions"]
    n_rep = sum(c["n_ok"] + c["n_errors"] for c in conds)
    errors = sum(c["n_errors"] for c in conds)
    ns = sorted({c["factors"]["N"] for c in conds})
    ks = sorted({c["factors"]["K"] for c in conds})
    t_max = max(c["factors"]["T"] for c in conds)

    def cell(k: int, n: int) -> str:
        (c,) = [
            c
            for c in conds
            if c["factors"] | {"K": k, "N": n, "T": t_max, "separation": 1.0, "sigma": 1.0}
            == c["factors"]
        ]
        return f"{c['selection']['bic']['hit_rate']:.2f}"

    table = _table(
        ["true K", *(f"N = {n}" for n in ns)], [[k, *(cell(k, n) for n in ns)] for k in ks]
    )
    unit = [c for c in conds if c["factors"]["sigma"] == 1.0]
    mean = {
        crit: sum(c["selection"][crit]["hit_rate"] for c in unit) / len(unit) for crit in CRITERIA
    }
    order = sorted(CRITERIA, key=lambda crit: -mean[crit])
    noisy = [c for c in conds if c["factors"]["sigma"] != 1.0 and c["factors"]["K"] > 0]
    too_many = sum(c["selection"]["bic"]["too_many"] * c["n_ok"] for c in noisy) / max(
        1, sum(c["n_ok"] for c in noisy)
    )
    return (
        f"**Choice of K across the design grid** (`outputs/selection_grid/`: {len(conds)} "
        f"conditions, {n_rep:,} replications, {errors} errors, "
        f"{doc['run']['replication_seconds_total']:.0f} CPU-seconds of replications). "
        f"BIC's hit rate for the true K at T = {t_max}, separation 1, sigma 1:\n\n{table}\n\n"
        f"Over the {len(unit)} sigma = 1 conditions the mean hit rates are "
        + ", ".join(f"{CRITERION_LABELS[c]} {pct(mean[c])}" for c in order)
        + f". With sigma = 1.5 (noise the model does not allow) BIC picks too many segments "
        f"in {pct(too_many)} of replications."
    )


def irregular_table(outputs: Path) -> str:
    """Per condition of the irregular study: BIC's hit rate, RMSEs, coverage ranges."""
    conds = load(outputs, "irregular/summary.json")["conditions"]
    rows = []
    for c in conds:
        f = c["factors"]
        rec = {r["parameter"]: r for r in c["recovery"]}
        sigma = f["sigma"]
        sigma = " / ".join(num(s, 2) for s in sigma) if isinstance(sigma, list) else num(sigma, 2)
        cover = {
            k: [r[f"coverage_{k}"] for r in c["recovery"] if f"coverage_{k}" in r]
            for k in ("observed", "naive")
        }
        rows.append(
            [
                pct(f["missing_rate"], 0),
                num(f["price_noise"], 2),
                sigma,
                f"{c['selection']['bic']['hit_rate']:.3f}",
                " / ".join(f"{rec[p]['rmse']:.3f}" for p in ("beta_2", "beta_3", "promo_3")),
                f"{min(cover['observed']):.3f}-{max(cover['observed']):.3f}",
                f"{min(cover['naive']):.3f}-{max(cover['naive']):.3f}",
            ]
        )
    headers = ["missing weeks", "price noise (sd of log p_it)", "true sigma", "BIC finds K = 3"]
    n_par = len(conds[0]["recovery"])
    headers += ["RMSE beta_2 / beta_3 / promo_3", f"95% coverage, observed ({n_par} parameters)"]
    return _table([*headers, "naive"], rows)


def baselines_table(outputs: Path) -> str:
    """The estimator against a single start and the two-step route on real_like panels."""
    (cond,) = load(outputs, "baselines/summary.json")["conditions"]
    labels = {
        "full": "this estimator (10 starts, BIC)",
        "single": "a single EM start",
        "twostep": "two-step: store OLS, then a Gaussian mixture (own BIC)",
    }
    rows = []
    for method, r in cond["methods"].items():
        sel = r["selection"]
        rows.append(
            [
                labels.get(method, method),
                f"{sel['hit_rate']:.3f} {interval(sel['ci_low'], sel['ci_high'])}",
                pct(r["classification"]["misclassification_mean"]),
                f"{r['classification']['ari_mean']:.3f}",
                f"{r['seconds']['mean']:.2f}",
            ]
        )
    k = cond["true_k"]
    headers = [
        "method",
        f"finds K = {k} [Wilson 95%]",
        "misclassification",
        "ARI",
        "s / replication",
    ]
    table = _table(headers, rows, "llrrr")
    two = cond["comparison"]["twostep"]["rmse_ratio"]
    single = cond["comparison"]["single"]["rmse_ratio"]
    reached = cond["single_start"]
    worst_single = max(single, key=single.get)
    return (
        f"{table}\n\nThe two-step route's RMSE is up to {max(two.values()):.1f} times the "
        f"estimator's ({max(two, key=two.get)}); a single start misses the maximum "
        f"that ten find in {pct(1 - reached[str(k)]['reached_rate'])} of panels at K = {k} "
        f"({pct(1 - reached[str(k + 1)]['reached_rate'], 0)} at K = {k + 1}), which multiplies "
        f"the RMSE of {worst_single} by {single[worst_single]:.1f}."
    )


def restarts_findings(outputs: Path) -> str:
    """Hit rates of the best maximum by starts and tolerance (outputs/restarts)."""
    doc = load(outputs, "restarts/restarts.json")
    rows = doc["rows"]
    k_max = max(r["K"] for r in rows)
    tol = min(r["tol"] for r in rows)
    at = {r["n_init"]: r for r in rows if r["K"] == k_max and r["tol"] == tol}
    by_tol = {
        r["tol"]: r["median_shortfall"] for r in rows if r["K"] == k_max and r["n_init"] == max(at)
    }
    return (
        f"With {doc['settings']['seeds']} seeds per setting at tol = {tol:g}, the K = {k_max} "
        "fit reached the best known maximum (within "
        f"{doc['settings']['hit']:g}) in "
        + ", ".join(f"{pct(r['hit_rate'], 0)} with {n} starts" for n, r in sorted(at.items()))
        + f". The median shortfall of K = {k_max} with {max(at)} starts is "
        + ", ".join(f"{s:.1g} at tol = {t:g}" for t, s in sorted(by_tol.items(), reverse=True))
        + "."
    )


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
        f"{summary_table(result['cases'])}\n\nTargets:\n\n{targets}"
    )


def _sigma_docs(outputs: Path) -> dict[str, dict[str, Any]]:
    return {
        "fixed": load(outputs, "results.json"),
        "common": load(outputs, "real_sigma_common/results.json"),
        "segment": load(outputs, "real_sigma_segment/results.json"),
    }


def sigma_tests(outputs: Path) -> str:
    """Likelihood-ratio tests between the sigma modes at the chosen K, and sigma at K = 1."""
    docs = _sigma_docs(outputs)
    k = docs["fixed"]["chosen_K"]
    m = {mode: _model(doc, k) for mode, doc in docs.items()}
    tests = []
    for big, small in (("common", "fixed"), ("segment", "fixed"), ("segment", "common")):
        lr = 2 * (m[big]["loglik"] - m[small]["loglik"])
        df = m[big]["n_params"] - m[small]["n_params"]
        tests.append(f"{lr:.2f} ({big} vs {small}, {df} df, p = {chi2.sf(lr, df):.2f})")
    contain = all(
        lo <= 1.0 <= hi
        for mode in ("common", "segment")
        for lo, hi in m[mode]["standard_errors"]["observed"]["sigma"]["ci"]
    )
    one = _model(docs["common"], 1)["sigma"][0]
    return (
        f"At K = {k} the likelihood-ratio statistics are "
        + ", ".join(tests)
        + (", and every 95% interval for sigma below contains 1" if contain else "")
        + f". (At K = 1 the single sigma is {one:.3f}.)"
    )


def sigma_estimates(outputs: Path) -> str:
    """Estimates (observed-information SEs) of the chosen K in every sigma mode."""
    docs = _sigma_docs(outputs)
    k = docs["fixed"]["chosen_K"]
    rows = []
    for mode, doc in docs.items():
        m = _model(doc, k)
        se = m["standard_errors"]["observed"]
        for c in range(k):
            cells = [f"{m[p][c]:.4f} ({se[p]['se'][c]:.4f})" for p in ("alpha", "beta", "pi")]
            if mode == "fixed":
                sigma = "1 (fixed)"
            elif mode == "common" and c > 0:
                sigma = "(same)"
            else:
                lo, hi = se["sigma"]["ci"][c]
                sigma = f"{m['sigma'][c]:.4f} ({se['sigma']['se'][c]:.4f}) {interval(lo, hi, 4)}"
                sigma += ", shared" if mode == "common" else ""
            rows.append([mode, c + 1, *cells, sigma])
    headers = ["sigma mode", "segment", "alpha", "beta", "pi", "sigma (se) [95% CI]"]
    table = _table(headers, rows)
    fixed = _model(docs["fixed"], k)
    moved = {
        p: max(abs(_model(doc, k)[p][c] - fixed[p][c]) for doc in docs.values() for c in range(k))
        for p in ("alpha", "beta", "pi")
    }
    ratio = [
        _model(doc, k)["standard_errors"]["observed"][p]["se"][c]
        / fixed["standard_errors"]["observed"][p]["se"][c]
        for doc in docs.values()
        for p in ("alpha", "beta")
        for c in range(k)
    ]
    return (
        f"{table}\n\nAcross the modes the estimates move by at most "
        f"{max(moved['alpha'], moved['beta']):.4f} in alpha or beta and {moved['pi']:.4f} in pi; "
        f"the standard errors of theta change by a factor {min(ratio):.3f}-{max(ratio):.3f}."
    )


def sigma_calibration(outputs: Path) -> str:
    """The Monte Carlo check of the standard errors with sigma estimated."""
    doc = load(outputs, "sigma_calibration/summary.json")
    rows = [r for mode in doc["modes"].values() for r in mode["parameters"]]
    sigma = [r for r in rows if r["parameter"].startswith("sigma")]

    def span(items: list[dict[str, Any]], key: str, as_pct: bool = False) -> str:
        values = [r[key] for r in items]
        return (
            f"{pct(min(values))}-{pct(max(values))}"
            if as_pct
            else f"{min(values):.2f}-{max(values):.2f}"
        )

    settings = doc["settings"]
    return (
        f"`python -m experiments.sigma_calibration` (outputs/sigma_calibration/, "
        f"{settings['reps']} replications per mode, {settings['n_init']} starts): mean "
        f"observed-information SE / SD of the estimates is {span(rows, 'se_over_sd_observed')} "
        f"over every parameter of both modes, and the 95% intervals cover "
        f"{span(rows, 'coverage_observed', True)} of the time (sigma's "
        f"{span(sigma, 'coverage_observed', True)}). The naive errors: SE / SD "
        f"{span(rows, 'se_over_sd_naive')}, coverage {span(rows, 'coverage_naive', True)}."
    )


def real_se_table(outputs: Path) -> str:
    """Every parameter of the chosen K with each method's SE and interval in results.json."""
    results = load(outputs, "results.json")
    model = _model(results, results["chosen_K"])
    methods = model["standard_errors"]
    headers = ["segment", "parameter", "estimate"]
    for method, inf in methods.items():
        kind = "percentile" if inf.get("interval") == "percentile" else "CI"
        headers += [f"se ({method})", f"{round(100 * inf['level'])}% {kind} ({method})"]
    rows = []
    for c in range(model["K"]):
        for p in ("alpha", "beta", "pi"):
            row = [c + 1, p, f"{model[p][c]:.4f}"]
            for inf in methods.values():
                lo, hi = inf[p]["ci"][c]
                row += [f"{inf[p]['se'][c]:.4f}", interval(lo, hi, 4)]
            rows.append(row)
    return _table(headers, rows)


def real_logliks(outputs: Path) -> str:
    """The maximised log-likelihood of every K in results.json, as printed."""
    models = load(outputs, "results.json")["models"]
    return ", ".join(f"{m['loglik']:.3f}" for m in models)


def real_like_truth(outputs: Path) -> str:
    """The truth the real_like study drew its panels from (its summary, 4 decimals)."""
    (cond,) = load(outputs, "real_like/summary.json")["conditions"]
    truth = cond["truth"]
    rows = [
        [c + 1, f"{a:.4f}", f"{b:.4f}", f"{p:.4f}"]
        for c, ((a, b), p) in enumerate(zip(truth["theta"], truth["pi"], strict=True))
    ]
    return _table(["segment", "alpha", "beta", "pi"], rows)


def real_like_run(outputs: Path) -> str:
    """What the real_like run produced: replications, errors, convergence, BIC's hits."""
    doc = load(outputs, "real_like/summary.json")
    (cond,) = doc["conditions"]
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


def real_like_readings(outputs: Path) -> str:
    """Readings of the real_like coverage: logit intervals for pi, detectable biases."""
    (cond,) = load(outputs, "real_like/summary.json")["conditions"]
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


def grid_truths(outputs: Path) -> str:
    """The selection grid's truth for every true K at separation 1 (from its summary)."""
    by_k = {}
    for c in _grid(outputs):
        if c["factors"]["separation"] == 1.0:
            by_k.setdefault(c["factors"]["K"], c["truth"])
    rows = []
    for k, truth in sorted(by_k.items()):
        theta, pi = truth["theta"], truth["pi"]
        rows.append(
            [
                k,
                ", ".join(f"{t[0]:.4f}" for t in theta),
                ", ".join(f"{t[1]:.4f}" for t in theta),
                ", ".join(f"{p:.4f}".rstrip("0").rstrip(".") if k == 1 else f"{p:.4f}" for p in pi),
            ]
        )
    return _table(["K", "alpha", "beta", "pi"], rows)


def grid_distances(outputs: Path) -> str:
    """Smallest distance between the segments of each grid truth, by true K, T and separation.

    The distance of fitted log sales over the condition's weeks, sqrt((a - b)' X'X (a - b)),
    with the real prices of those weeks (the grid's price series).
    """
    conds = [c for c in _grid(outputs) if c["factors"]["K"] > 1]
    ts = sorted({c["factors"]["T"] for c in conds})
    seps = sorted({c["factors"]["separation"] for c in conds})
    prices = real_prices()
    rows = []
    for k in sorted({c["factors"]["K"] for c in conds}):
        row: list[Any] = [k]
        for t in ts:
            X = design_matrix(prices[:t])
            cells = []
            for sep in seps:
                c = next(
                    c
                    for c in conds
                    if (c["factors"]["K"], c["factors"]["T"], c["factors"]["separation"])
                    == (k, t, sep)
                )
                d = segment_distances(np.asarray(c["truth"]["theta"]), X.T @ X)
                cells.append(f"{d[np.triu_indices(k, 1)].min():.2f}")
            row.append(" / ".join(cells))
        rows.append(row)
    levels = " / ".join(f"{sep:g}" for sep in seps)
    headers = [
        "true K",
        *(f"T = {t}: s {levels}" if i == 0 else f"T = {t}" for i, t in enumerate(ts)),
    ]
    return _table(headers, rows)


def grid_truth_notes(outputs: Path) -> str:
    """How the grid's truths relate: distances of the K = 3 truth, m, the K = 4 split."""
    truths = {}
    for c in _grid(outputs):
        if c["factors"]["separation"] == 1.0:
            truths.setdefault(c["factors"]["K"], c["truth"])
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


BLOCKS: dict[str, Callable[[Path], str]] = {
    "real_models": real_models,
    "real_estimates": real_estimates,
    "naive_vs_observed": naive_vs_observed,
    "sigma_modes": sigma_modes,
    "real_like_coverage": real_like_coverage,
    "real_like_findings": real_like_findings,
    "selection_grid_findings": selection_grid_findings,
    "irregular_table": irregular_table,
    "baselines_table": baselines_table,
    "restarts_findings": restarts_findings,
    "benchmark_table": benchmark_table,
    "sigma_tests": sigma_tests,
    "sigma_estimates": sigma_estimates,
    "sigma_calibration": sigma_calibration,
    "real_se_table": real_se_table,
    "real_logliks": real_logliks,
    "real_like_truth": real_like_truth,
    "real_like_run": real_like_run,
    "real_like_readings": real_like_readings,
    "grid_truths": grid_truths,
    "grid_distances": grid_distances,
    "grid_truth_notes": grid_truth_notes,
}
"""Every block a document may hold, by name."""


def render(name: str, outputs: Path) -> str:
    """The text of block ``name`` (a line saying what is missing when its source is)."""
    try:
        return BLOCKS[name](outputs).rstrip("\n")
    except FileNotFoundError as err:
        return f"(not generated: {err})"


def rewrite(text: str, outputs: Path, source: str = "document") -> str:
    """``text`` with every marked block re-rendered.

    Raises
    ------
    ValueError
        An unknown block name or an opening marker without its closing one,
        naming ``source`` and the line.
    """
    for match in OPENING.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        name = match.group(1)
        if name not in BLOCKS:
            raise ValueError(f"{source}, line {line}: unknown block gen:{name}")
        if f"<!-- /gen:{name} -->" not in text[match.end() :]:
            raise ValueError(f"{source}, line {line}: gen:{name} is not closed")
    return BLOCK.sub(
        lambda m: m.group(1) + render(m.group("name"), outputs) + "\n" + m.group(4), text
    )


def update_documents(paths: Sequence[Path], outputs: Path, check: bool = False) -> list[Path]:
    """Rewrite the generated blocks of ``paths``; return the documents that were out of date.

    With ``check`` nothing is written.
    """
    _read.cache_clear()
    stale = []
    for path in paths:
        text = Path(path).read_text(encoding="utf-8")
        new = rewrite(text, outputs, str(path))
        if new != text:
            stale.append(Path(path))
            if not check:
                write_text_atomic(path, new)
    return stale


def documents(root: Path = Path(".")) -> list[Path]:
    """README.md and docs/*.md under ``root``."""
    return [Path(root) / "README.md", *sorted((Path(root) / "docs").glob("*.md"))]
