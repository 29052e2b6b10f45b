"""The tables of a results.json document: model comparison over K, a model's estimates with
every standard error, the sigma modes side by side.

Built from the document alone (no data, no figures), so the real-data fit prints them with
numpy and scipy installed and nothing else.
"""

from __future__ import annotations

from typing import Any

from estimator import CRITERIA

from .format import CRITERION_LABELS, interval, num
from .tables import Table


def model_of(results: dict[str, Any], k: int) -> dict[str, Any]:
    """The entry of K in a results.json document."""
    return next(m for m in results["models"] if int(m["K"]) == int(k))


def coefficient_names(model: dict[str, Any]) -> list[str]:
    """The per-segment coefficients of a results.json model entry (alpha, beta, extras)."""
    width = len(model["theta"]) // int(model["K"])
    return list(model)[2 : 2 + width]  # to_dict writes K, theta, then one key per coefficient


def model_comparison(results: dict[str, Any], name: str = "real_model_comparison") -> Table:
    """Every K: log L, free parameters, every criterion (each minimum starred), the BLRT's
    p-value of K - 1 against K when results.json has the test, convergence, starts at best."""
    models = sorted(results["models"], key=lambda m: m["K"])
    best = {c: min(m["criteria"][c] for m in models) for c in CRITERIA}
    tests = {t["K0"] + 1: t["p_value"] for t in results.get("blrt", {}).get("tests", [])}
    rows = []
    for m in models:
        cells = [str(m["K"]), num(m["loglik"]), str(m["n_params"])]
        cells += [num(m["criteria"][c], 2) + (" *" if m["criteria"][c] == best[c] else "")
                  for c in CRITERIA]  # fmt: skip
        cells += [num(tests.get(m["K"]))] if tests else []
        cells += ["yes" if m["converged"] else "no", f"{m['restarts_at_best']}/{m['n_init']}"]
        rows.append(cells)
    headers = ["K", "log L", "params", *(CRITERION_LABELS[c] for c in CRITERIA)]
    headers += ["BLRT p"] if tests else []
    headers += ["certified", "starts at best"]
    data = results["data"]
    size = (
        f"N = {data['N']} stores, T = {data['T']} weeks" if "formula" not in data
        else f"{data['formula']}, N = {data['N']} units, n = {data['observations']} observations"
    )  # fmt: skip
    sample = "NT store-weeks, BIC (n = N) stores" if "formula" not in data else "observations"
    caption = (
        f"Model comparison over K, {data['file']} ({size}): maximised log-likelihood, free "
        "parameters and every information criterion (lower is better; * marks each "
        f"criterion's minimum; BIC uses n = {sample})"
        + ("; BLRT p: the bootstrap test of K - 1 against K segments" if tests else "")
        + ". Starts at best: starts within 1e-6 (relative) of the best log-likelihood."
    )
    return Table(name, caption, headers, rows)


def estimates(
    model: dict[str, Any], methods: list[str] | None = None, name: str = "real_estimates"
) -> Table:
    """One model's estimates, a row per segment and parameter (a common sigma once, segment
    "all"), with the SE and interval of each of ``methods`` (default: every one it has)."""
    ses = model.get("standard_errors", {})
    methods = [m for m in (methods or list(ses)) if m in ses]
    k, mode = int(model["K"]), model.get("sigma_mode", "fixed")
    names = [*coefficient_names(model), "pi"]
    rows = []
    for c in range(k):
        keys = [*names, *(["sigma"] if mode == "segment" else [])]
        rows += [(str(c + 1), key, c) for key in keys]
    if mode == "common":
        rows.append(("all", "sigma", 0))
    body = []
    for segment, key, c in rows:
        cells = [segment, key, num(model[key][c], 4)]
        for method in methods:
            entry = ses[method].get(key)
            se, ci = (entry["se"][c], entry["ci"][c]) if entry else (None, (None, None))
            cells += [num(se, 4), interval(*ci, 4)]
        body.append(cells)
    headers = ["segment", "parameter", "estimate"]
    for method in methods:
        kind = "percentile" if ses[method].get("interval") == "percentile" else "CI"
        headers += [f"SE ({method})", f"{round(100 * ses[method]['level'])}% {kind} ({method})"]
    caption = (
        f"Estimates of K = {k} with their standard errors and intervals ("
        + ", ".join(methods) + "; docs/inference.md)."
    )  # fmt: skip
    return Table(name, caption, headers, body, key_columns=2)


def sigma_criteria(
    documents: dict[str, dict[str, Any]], name: str = "real_sigma_criteria"
) -> Table:
    """log L, free parameters and BIC of every K with sigma fixed, common and per segment."""
    rows = []
    for m in documents["fixed"]["models"]:
        row = [str(m["K"])]
        for doc in documents.values():
            mm = model_of(doc, m["K"])
            star = " *" if mm["K"] == doc["chosen_K"] else ""
            row += [num(mm["loglik"]), str(mm["n_params"]), num(mm["bic"]) + star]
        rows.append(row)
    headers = ["K", *(f"{h} {mode}" for mode in documents for h in ("log L", "k", "BIC"))]
    caption = (
        "The real data with sigma fixed at 1, estimated in common and per segment: maximised "
        "log-likelihood, free parameters and BIC of every K (* the K BIC chooses)."
    )
    return Table(name, caption, headers, rows)


def sigma_fits(documents: dict[str, Any], name: str = "real_sigma_modes") -> Table:
    """The chosen K of the fixed-sigma fit in every sigma mode: estimates (observed SEs)."""
    k = documents["fixed"]["chosen_K"]
    rows = []
    for mode, doc in documents.items():
        m = model_of(doc, k)
        se = m["standard_errors"]["observed"]
        for c in range(k):
            cells = [
                f"{num(m[p][c], 4)} ({num(se[p]['se'][c], 4)})" for p in ("alpha", "beta", "pi")
            ]
            if mode == "fixed":
                sigma = "1 (fixed)"
            elif mode == "common" and c > 0:
                sigma = "(same)"
            else:
                sigma = (f"{num(m['sigma'][c], 4)} ({num(se['sigma']['se'][c], 4)}) "
                         f"{interval(*se['sigma']['ci'][c], 4)}")  # fmt: skip
            rows.append([mode, str(c + 1), *cells, sigma])
    headers = ["sigma mode", "segment", "alpha (SE)", "beta (SE)", "pi (SE)", "sigma (SE) [95% CI]"]
    caption = (
        f"The K = {k} fit with sigma fixed at 1 (the model), estimated in common, or per segment "
        "(docs/extensions.md): estimates with observed-information standard errors."
    )
    return Table(name, caption, headers, rows, key_columns=2)
