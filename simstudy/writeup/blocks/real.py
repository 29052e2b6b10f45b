"""Blocks about the real-data fit: models, estimates, standard errors, sigma modes, restarts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scipy.stats import chi2

from estimator import CRITERIA

from ...studies.reliability import HIT
from ..format import CRITERION_LABELS, interval, num, pct
from ..real import elasticity_reading
from ..real_tables import estimates, model_comparison, model_of, sigma_criteria, sigma_fits
from ..tables import render
from .source import block, load


@block
def real_models(outputs: Path) -> str:
    """Model comparison over K with every criterion (each minimum starred), and who agrees."""
    results = load(outputs, "results.json")
    chosen = results["chosen_K"]
    chosen_by = results["chosen_by"]
    same = [CRITERION_LABELS[c] for c in CRITERIA if c != "bic" and chosen_by[c] == chosen]
    other = [f"{CRITERION_LABELS[c]} prefers K = {k}" for c, k in chosen_by.items() if k != chosen]
    text = f"BIC chooses **K = {chosen}**"
    text += f" (so do {', '.join(same)})" if same else ""
    text += f"; {', '.join(other)}." if other else "; every criterion agrees."
    settings, data = results["settings"], results["data"]
    head = (
        f"{data['file']}, N = {data['N']} stores, T = {data['T']} weeks; "
        f"{settings['n_init']} {settings['init']} starts per K, tol = {settings['tol']:g}, "
        f"max_iter = {settings['max_iter']}, seed {settings['seed']} (* each criterion's "
        "minimum; certified: a maximum with a zero gradient and a negative definite Hessian):"
    )
    return f"{head}\n\n{render(model_comparison(results))}\n\n{text}"


@block
def real_estimates(outputs: Path) -> str:
    """The chosen K's estimates (observed-information SEs) and what each segment's beta says."""
    results = load(outputs, "results.json")
    model = model_of(results, results["chosen_K"])
    se = model["standard_errors"]["observed"]
    readings = [
        f"segment {c + 1} ({pct(model['pi'][c], 0)} of stores): beta "
        f"{model['beta'][c]:.3f}, 95% interval {interval(*se['beta']['ci'][c])}, "
        f"{elasticity_reading(tuple(se['beta']['ci'][c]))}"
        for c in range(model["K"])
    ]
    table = render(estimates(model, ["observed"]))
    return (
        f"{table}\n\nDemand by segment ({se['level']:.0%} Wald intervals): "
        + "; ".join(readings)
        + "."
    )


@block
def naive_vs_observed(outputs: Path) -> str:
    """The segment whose naive standard errors understate the most, in one sentence."""
    model = model_of(load(outputs, "results.json"), load(outputs, "results.json")["chosen_K"])
    observed = model["standard_errors"]["observed"]["alpha"]["se"]
    naive = model["standard_errors"]["naive"]["alpha"]["se"]
    c = min(range(model["K"]), key=lambda j: naive[j] / observed[j])
    return (
        f"On the real data the naive errors of segment {c + 1} are only "
        f"{pct(naive[c] / observed[c], 0)} of the observed-information ones "
        f"({naive[c]:.3f} vs {observed[c]:.3f} for alpha_{c + 1})."
    )


@block
def real_se_table(outputs: Path) -> str:
    """Every parameter of the chosen K with each method's SE and interval in results.json."""
    results = load(outputs, "results.json")
    return render(estimates(model_of(results, results["chosen_K"])))


@block
def real_logliks(outputs: Path) -> str:
    """The maximised log-likelihood of every K in results.json, as printed."""
    models = load(outputs, "results.json")["models"]
    return ", ".join(f"{m['loglik']:.3f}" for m in models)


def sigma_documents(outputs: Path) -> dict[str, dict[str, Any]]:
    return {
        "fixed": load(outputs, "results.json"),
        "common": load(outputs, "real_sigma_common/results.json"),
        "segment": load(outputs, "real_sigma_segment/results.json"),
    }


@block
def sigma_modes(outputs: Path) -> str:
    """log L, free parameters and BIC of every K with sigma fixed, common and per segment."""
    docs = sigma_documents(outputs)
    table = render(sigma_criteria(docs))
    chosen = {mode: doc["chosen_K"] for mode, doc in docs.items()}
    best = min(docs, key=lambda mode: model_of(docs[mode], chosen[mode])["bic"])
    k = chosen["segment"]
    segment = model_of(docs["segment"], k)
    sig = segment["standard_errors"]["observed"]["sigma"]
    contain = all(lo <= 1.0 <= hi for lo, hi in sig["ci"])
    lr = 2 * (segment["loglik"] - model_of(docs["fixed"], k)["loglik"])
    df = segment["n_params"] - model_of(docs["fixed"], k)["n_params"]
    text = (
        f"BIC chooses K = {', '.join(f'{chosen[m]} ({m})' for m in docs)}; the lowest BIC of all "
        f"is sigma {best}'s. At K = {k} the per-segment sigmas are "
        f"{', '.join(num(s) for s in segment['sigma'])}"
        f"{', each 95% interval containing 1' if contain else ''} "
        f"(likelihood-ratio test against sigma = 1: {lr:.2f} on {df} df, "
        f"p = {chi2.sf(lr, df):.2f})."
    )
    return f"{table}\n\n{text}"


@block
def sigma_tests(outputs: Path) -> str:
    """Likelihood-ratio tests between the sigma modes at the chosen K, and sigma at K = 1."""
    docs = sigma_documents(outputs)
    k = docs["fixed"]["chosen_K"]
    m = {mode: model_of(doc, k) for mode, doc in docs.items()}
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
    one = model_of(docs["common"], 1)["sigma"][0]
    return (
        f"At K = {k} the likelihood-ratio statistics are "
        + ", ".join(tests)
        + (", and every 95% interval for sigma below contains 1" if contain else "")
        + f". (At K = 1 the single sigma is {one:.3f}.)"
    )


@block
def sigma_estimates(outputs: Path) -> str:
    """Estimates (observed-information SEs) of the chosen K in every sigma mode."""
    docs = sigma_documents(outputs)
    k = docs["fixed"]["chosen_K"]
    table = render(sigma_fits(docs))
    fixed = model_of(docs["fixed"], k)
    moved = {
        p: max(abs(model_of(doc, k)[p][c] - fixed[p][c]) for doc in docs.values() for c in range(k))
        for p in ("alpha", "beta", "pi")
    }
    ratio = [
        model_of(doc, k)["standard_errors"]["observed"][p]["se"][c]
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


@block
def sigma_calibration(outputs: Path) -> str:
    """The Monte Carlo check of the standard errors with sigma estimated."""
    doc = load(outputs, "sigma_calibration/calibration.json")
    rows = [r for mode in doc["modes"].values() for r in mode["parameters"]]
    sigma = [r for r in rows if r["parameter"].startswith("sigma")]

    def span(items: list[dict[str, Any]], key: str, as_pct: bool = False) -> str:
        values = [r[key] for r in items]
        text = pct if as_pct else "{:.2f}".format
        return f"{text(min(values))}-{text(max(values))}"

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


@block
def restarts_findings(outputs: Path) -> str:
    """How often the default settings reach the best-known maxima (outputs/restarts)."""
    doc = load(outputs, "restarts/restarts.json")
    args, real, hard = doc["args"], doc["real"], doc["hard_cases"]
    k_max = max(r["K"] for r in real)
    mixed = {r["n_init"]: r for r in real if r["K"] == k_max and r["init"] == "mixed"}
    default = max(mixed)
    every_k = [r for r in real if r["init"] == "mixed" and r["n_init"] == default]
    missed = [r for r in hard if r["reached"] < 1.0]
    text = (
        f"On the real data ({args['seeds']} seeds per setting; best known from "
        f"{args['per_scheme']} starts of every scheme), the K = {k_max} fit with mixed starts "
        "reached the best known maximum (within 1e-6) in "
        + ", ".join(
            f"{pct(r['reached'], 0)} of fits with {n} starts" for n, r in sorted(mixed.items())
        )
        + f"; with {default} starts every K from "
        + ", ".join(str(r["K"]) for r in every_k)
        + (
            " did so in every fit"
            if min(r["reached"] for r in every_k) == 1.0
            else f" did so in at least {pct(min(r['reached'] for r in every_k), 0)} of fits"
        )
        + (
            ", every fit certified"
            if min(r["certified"] for r in every_k) == 1.0
            else f", at least {pct(min(r['certified'] for r in every_k), 0)} certified"
        )
        + f". On the hard-case suite ({len(hard)} fits, {args['hard_seeds']} seeds "
        f"each, default settings) {len(hard) - len(missed)} of {len(hard)} fits reached their "
        "best-known maximum from every seed"
    )
    if missed:
        text += "; " + ", ".join(
            f"{r['data']} at K = {r['K']} from {pct(r['reached'], 0)} of seeds "
            f"(otherwise {num(r['max_shortfall'], 3)} short at most)"
            for r in missed
        )
    above = [r for r in [*real, *hard] if r.get("max_excess", 0.0) > HIT]
    if above:
        text += ". Above the best known (the search missed a higher maximum): " + ", ".join(
            f"{r['data']} at K = {r['K']} by {num(r['max_excess'], 3)}" for r in above
        )
    return text + "."


@block
def blrt_real(outputs: Path) -> str:
    """The bootstrap LRT on the real data (outputs/real_blrt/results.json)."""
    doc = load(outputs, "real_blrt/results.json")
    blrt = doc["blrt"]
    tests = "; ".join(
        f"K0 = {t['K0']} against {t['K0'] + 1}: LR = {t['lr']:.2f}, p = {t['p_value']:.3f} "
        f"({'rejected' if t['rejected'] else 'not rejected'}, B = {t['n_used']})"
        for t in blrt["tests"]
    )
    same = "as BIC does" if blrt["chosen_K"] == doc["chosen_K"] else f"BIC {doc['chosen_K']}"
    return (
        f"`python -m experiments.fit_real --blrt {blrt['n_boot']} --n-jobs 2 --out "
        f"outputs/real_blrt` at level {blrt['level']:g}: {tests}. The test chooses "
        f"K = {blrt['chosen_K']}, {same}."
    )
