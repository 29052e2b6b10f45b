"""salesmix against R's flexmix and mixtools on data nobody here wrote.

The R side (``tests/data/peers/run_peers.R``, committed with what it wrote) fits
every case with flexmix (``flexmix`` from many random starts, the best kept,
standard errors from ``refit``) and, where it applies, mixtools' ``regmixEM``,
and writes the case's data (``<case>.csv``) and R's results (``<case>.json``).
This module fits the same model with salesmix from many starts, evaluates the
exact mixture log-likelihood at R's parameters, and tabulates the comparison.

Log-likelihoods at R's parameters
---------------------------------
flexmix's Gaussian M-step divides the weighted residual sum of squares by n - p
(one component, ``FLXMRglm``) or by n - p / K (``FLXMRglmfix(varFix = TRUE)``,
sigma common) instead of by the weight, so its sigma is inflated by
sqrt(n / (n - p)) and its reported log L sits below the maximum. R records its
sigma and the maximum-likelihood form at the same posteriors (``sigma_ml``);
the log-likelihood is evaluated at both: with the reported sigma it must
reproduce R's own number (a check that the two programs compute the same
likelihood), with ``sigma_ml`` it is the bound salesmix's maximum must reach.
mixtools' sigma is the ML one already. flexmix's ``refit`` re-maximises the
likelihood by optim; its estimates are evaluated too.

Comparisons
-----------
Per fit: salesmix's maximum against R's log L at R's parameters (the excess);
the certified maximum salesmix reaches when started at R's parameters (the
maximum R was at); the parameter differences after matching segments
(Hungarian, on the metric of the pooled Gram matrix); the ratio of salesmix's
observed-information standard errors to flexmix's ``refit`` ones, on flexmix's
scale (coefficients, log sigma, and the prior's log-odds against flexmix's
component 1); the time per start. Fits with a concomitant-variable prior are
recorded from R's side and marked pending: salesmix has no such prior yet.

The one seam: :func:`fit_salesmix` is the only function that knows how the data
reach salesmix. Today it builds a :class:`estimator.LongPanel` by hand (each row
its own unit when the data are not grouped: ``long_from_arrays`` would drop
units with fewer observations than coefficients); with the general front it
becomes ``MixtureRegression(K, sigma=...).fit(frame, formula=..., group=...)``.
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tabulate import tabulate

from estimator import (
    ConvergenceWarning,
    InferenceWarning,
    MixtureFit,
    SufficientStats,
    fit_mixture,
    match_segments,
    observed_information_se,
    regression_data,
)
from estimator import loglik_at as estimator_loglik_at
from estimator.atomic import write_json_atomic, write_text_atomic
from estimator.provenance import jsonable, software_versions

PEERS_DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "peers"
"""R's scripts and what they wrote: ``<case>.csv`` and ``<case>.json``."""
CASES = (
    "npreg",
    "npreg_grouped",
    "nregfix",
    "tonedata",
    "co2",
    "gen_grouped",
    "gen_concomitant",
    "gen_grouped_concomitant",
    "real",
)
"""Every case, in the order of the table."""
N_INIT = 100
"""salesmix's starts per fit (its default)."""
SEED = 20261207
"""Root seed of salesmix's starts; each fit adds its K."""
SAME_MAXIMUM = 1e-6
"""Two of salesmix's certified log-likelihoods within this (absolute) are the same maximum."""
R_SAME_MAXIMUM = 1e-3
"""The same for R's starts: its EM stops on a relative change of 1e-10 and converges
linearly, so starts at one maximum end up to about 1e-4 apart."""
SCHEMA_VERSION = 1
BLOCK_OPEN, BLOCK_CLOSE = "<!-- peers:table -->", "<!-- /peers:table -->"
"""Markers of the generated block of docs/peers.md (not ``gen:``: simstudy.docsgen owns those)."""


@dataclass(frozen=True)
class PeerCase:
    """One data set and R's fits to it.

    Attributes
    ----------
    name : str
    frame : DataFrame of shape (n, columns)
        The data as R fitted them.
    formula : str
        The model in formulaic's syntax (R's in ``record["formula_r"]``).
    group : str or None
        Column naming the unit; None: every row its own unit.
    record : dict
        R's JSON: the case's description and ``fits``.
    """

    name: str
    frame: pd.DataFrame
    formula: str
    group: str | None
    record: dict[str, Any]


@dataclass(frozen=True)
class SalesmixFit:
    """salesmix's fit of one case, the data's sufficient statistics and the wall time."""

    fit: MixtureFit
    stats: SufficientStats
    seconds: float


def load_case(name: str, folder: Path = PEERS_DATA) -> PeerCase:
    """Read ``<name>.json`` and its data (a wide sales panel is made long: store, week).

    Raises
    ------
    FileNotFoundError
        Naming the missing file.
    """
    record = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
    path = (folder / record["data_file"]).resolve()
    frame = pd.read_csv(path)
    if "Price" in frame.columns:
        frame = wide_to_long(frame)
    if len(frame) != record["n_obs"]:
        raise ValueError(f"{path}: {len(frame)} rows, R fitted {record['n_obs']}")
    return PeerCase(name, frame, record["formula"], record["group"], record)


def wide_to_long(wide: pd.DataFrame) -> pd.DataFrame:
    """Weeks x (Price, Sales1..SalesN) as rows (store, week, price, sales), store-major like R's."""
    sales = wide.drop(columns="Price").to_numpy(dtype=float)
    n_weeks, n_stores = sales.shape
    return pd.DataFrame(
        {
            "store": np.repeat(np.arange(1, n_stores + 1), n_weeks),
            "week": np.tile(np.arange(1, n_weeks + 1), n_stores),
            "price": np.tile(wide["Price"].to_numpy(dtype=float), n_stores),
            "sales": sales.T.ravel(),
        }
    )


def fit_salesmix(
    case: PeerCase, n_components: int, sigma: str, n_init: int = N_INIT, seed: int = SEED
) -> SalesmixFit:
    """Fit ``case`` with salesmix from ``n_init`` starts (the one function to switch fronts).

    Parameters
    ----------
    case : PeerCase
    n_components : int
    sigma : {"segment", "common"}
    n_init, seed : int

    Returns
    -------
    SalesmixFit
        ``stats`` are the units' sufficient statistics (one Gram matrix per unit,
        singular for units with fewer rows than coefficients).
    """
    started = time.perf_counter()
    stats = regression_data(case.frame, case.formula, case.group).sufficient_stats()
    fit = fit_mixture(stats, n_components, n_init=n_init, seed=seed, sigma=sigma, guard=None)
    return SalesmixFit(fit, stats, time.perf_counter() - started)


def loglik_at(stats: SufficientStats, theta: Any, pi: Any, sigma: Any) -> float:
    """The exact mixture log-likelihood at (theta (K, P), pi (K,), sigma (K,))."""
    return estimator_loglik_at(stats, theta, pi, sigma)


def polish_from(stats: SufficientStats, theta: Any, pi: Any, sigma: Any, mode: str) -> MixtureFit:
    """The certified maximum salesmix reaches from one known point (EM, then Newton)."""
    start = _start(np.asarray(theta, dtype=float), pi, sigma)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit_mixture(stats, len(start["theta0"][0]), **start, sigma=mode, guard=None)


def _start(theta: np.ndarray, pi: Any, sigma: Any) -> dict[str, np.ndarray]:
    """One known point as fit_mixture's theta0 (1, K, P), pi0 (1, K), sigma0 (1, K)."""
    n_components = len(theta)
    sigma = np.broadcast_to(np.asarray(sigma, dtype=float), (n_components,))
    return {
        "theta0": theta[None],
        "pi0": np.asarray(pi, dtype=float)[None],
        "sigma0": sigma[None],
    }


def refit_params(refit: dict[str, Any], n_components: int) -> dict[str, np.ndarray]:
    """flexmix's ``refit`` estimates as theta (K, P), pi (K,), sigma (K,) (constant prior)."""
    logits = np.concatenate([[0.0], np.ravel(refit["gamma"])]) if n_components > 1 else [0.0]
    weights = np.exp(logits - np.max(logits))
    sigma = np.exp(np.broadcast_to(np.ravel(refit["log_sigma"]), (n_components,)))
    return {"theta": np.asarray(refit["theta"]), "pi": weights / weights.sum(), "sigma": sigma}


def compare_case(case: PeerCase, n_init: int = N_INIT, seed: int = SEED) -> dict[str, Any]:
    """Every fit of ``case``: R's numbers, salesmix's, and their differences (JSON-ready)."""
    fits: dict[tuple[int, str], SalesmixFit] = {}
    rows = []
    for peer in case.record["fits"]:
        if peer.get("concomitant"):
            rows.append(_pending_row(peer))
            continue
        key = (peer["K"], peer["sigma_mode"])
        if key not in fits:
            fits[key] = fit_salesmix(case, *key, n_init=n_init, seed=seed + key[0])
        rows.append(compare_fit(peer, fits[key]))
    stats = next(iter(fits.values())).stats if fits else None
    record = case.record
    return {
        "case": case.name,
        "title": record["title"],
        "source": record["source"],
        "formula": record["formula_r"],
        "n_obs": record["n_obs"],
        "n_units": None if stats is None else int(stats.n_stores),
        "truth": record.get("truth"),
        "rows": rows,
    }


def _r_summary(peer: dict[str, Any]) -> dict[str, Any]:
    logliks = np.array([np.nan if v is None else v for v in peer["start_logliks"]])
    at_best = int(np.sum(np.nanmax(logliks) - logliks <= R_SAME_MAXIMUM))
    return {
        "loglik": peer["loglik"],
        "starts": len(logliks),
        "starts_at_best": at_best,
        "seconds": peer["seconds"],
        "K_found": peer["K_found"],
    }


def _pending_row(peer: dict[str, Any]) -> dict[str, Any]:
    refit = peer["refit"]
    return {
        "peer": peer["package"],
        "K": peer["K"],
        "sigma_mode": peer["sigma_mode"],
        "concomitant": peer["concomitant"],
        "status": "pending",
        "r": _r_summary(peer)
        | {
            "theta": peer["theta"],
            "gamma_names": peer["gamma_names"],
            "gamma": peer["gamma"],
            "refit_gamma": refit.get("gamma"),
            "refit_gamma_se": refit.get("gamma_se"),
        },
    }


def compare_fit(peer: dict[str, Any], ours: SalesmixFit) -> dict[str, Any]:
    """One R fit against salesmix's fit of the same K and sigma mode."""
    stats, best = ours.stats, ours.fit
    r_theta, r_pi = np.asarray(peer["theta"], dtype=float), np.atleast_1d(peer["prior"])
    r_sigma = np.broadcast_to(np.atleast_1d(peer["sigma"]), r_pi.shape)
    ml_sigma = np.broadcast_to(np.atleast_1d(peer["sigma_ml"]), r_pi.shape)
    at_ml = loglik_at(stats, r_theta, r_pi, ml_sigma)
    row: dict[str, Any] = {
        "peer": peer["package"],
        "K": peer["K"],
        "sigma_mode": peer["sigma_mode"],
        "concomitant": None,
        "status": "compared",
        "r": _r_summary(peer),
        "loglik_at_r": {
            "reported_sigma": loglik_at(stats, r_theta, r_pi, r_sigma),
            "ml_sigma": at_ml,
        },
        "salesmix": {
            "loglik": best.loglik,
            "n_init": best.n_init,
            "starts_at_best": best.n_at_best,
            "starts_reaching_r": _count_between(best.restart_logliks, at_ml, best.loglik),
            "starts_above_best": int(np.sum(best.restart_logliks > best.loglik + SAME_MAXIMUM)),
            "converged": best.converged,
            "seconds": ours.seconds,
            "theta": best.theta,
            "pi": best.pi,
            "sigma": best.sigma,
        },
        "excess": best.loglik - at_ml,
    }
    refit = peer.get("refit")
    if refit is not None and "error" not in refit:
        at_refit = refit_params(refit, len(r_pi))
        row["loglik_at_r"]["refit"] = loglik_at(stats, *at_refit.values())
    if len(r_pi) != peer["K"]:
        row["status"] = f"R ended with {len(r_pi)} of {peer['K']} components"
        return row
    local = polish_from(stats, r_theta, r_pi, ml_sigma, peer["sigma_mode"])
    row["salesmix_from_r"] = {"loglik": local.loglik, "converged": local.converged}
    row["same_maximum"] = bool(abs(best.loglik - local.loglik) <= SAME_MAXIMUM)
    metric = stats.gram.sum(axis=0) / stats.n_obs.sum()
    row["differences"] = _differences(best, r_theta, r_pi, ml_sigma, metric)
    row["differences_from_r"] = _differences(local, r_theta, r_pi, ml_sigma, metric)
    if refit is not None and "error" not in refit:
        at_refit = refit_params(refit, len(r_pi))
        row["differences_refit"] = _differences(local, *at_refit.values(), metric)
        row["se"] = _se_comparison(local, stats, refit, metric)
    row["speed"] = {
        "r_per_start": peer["seconds"] / row["r"]["starts"],
        "salesmix_per_start": ours.seconds / best.n_init,
    }
    row["speed"]["ratio"] = row["speed"]["r_per_start"] / row["speed"]["salesmix_per_start"]
    return row


def _count_between(logliks: np.ndarray, low: float, high: float) -> int:
    """Starts that ended within [low, high] (at ``SAME_MAXIMUM``).

    Starts above salesmix's chosen maximum ended uncertified (a sigma running to
    the floor: the likelihood is unbounded there) and are counted separately.
    """
    inside = (logliks >= low - SAME_MAXIMUM) & (logliks <= high + SAME_MAXIMUM)
    return int(np.sum(inside))


def _differences(
    fit: MixtureFit, theta: np.ndarray, pi: np.ndarray, sigma: np.ndarray, metric: np.ndarray
) -> dict[str, float]:
    """Largest absolute differences after matching ``fit``'s segments to R's."""
    order = match_segments(fit.theta, theta, metric)
    return {
        "theta": float(np.max(np.abs(fit.theta[order] - theta))),
        "pi": float(np.max(np.abs(fit.pi[order] - pi))),
        "sigma": float(np.max(np.abs(fit.sigma[order] - sigma))),
    }


def _se_comparison(
    fit: MixtureFit, stats: SufficientStats, refit: dict[str, Any], metric: np.ndarray
) -> dict[str, Any]:
    """salesmix's observed-information SEs over flexmix's ``refit`` ones, on flexmix's scale.

    Parameters, in flexmix's order: every component's coefficients, log sigma
    (one or K), and for components 2..K the prior's log-odds log(pi_c / pi_1).
    Both sides at their own estimates (salesmix: the maximum reached from R's).
    """
    target = refit_params(refit, len(fit.pi))
    order = match_segments(fit.theta, target["theta"], metric)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InferenceWarning)
        inference = observed_information_se(fit, stats)
    if not inference.valid:
        return {"valid": False}
    n_components, n_coef = fit.theta.shape
    n_sigma = inference.n_sigma
    full = n_components * (n_coef + 1) + n_sigma
    rows = [c * n_coef + j for c in order for j in range(n_coef)]
    sigma_rows = order if n_sigma == n_components else np.arange(n_sigma)
    jacobian = np.zeros((len(rows) + n_sigma + n_components - 1, full))
    jacobian[np.arange(len(rows)), rows] = 1.0
    start = n_components * (n_coef + 1)
    jacobian[len(rows) + np.arange(n_sigma), start + np.asarray(sigma_rows)] = 1.0
    pi_at = n_components * n_coef
    for i, c in enumerate(order[1:]):
        line = len(rows) + n_sigma + i
        jacobian[line, pi_at + c] = 1.0 / fit.pi[c]
        jacobian[line, pi_at + order[0]] = -1.0 / fit.pi[order[0]]
    ours = np.sqrt(np.diag(jacobian @ inference.full_cov @ jacobian.T))
    theirs = np.concatenate(
        [np.ravel(refit["theta_se"]), np.ravel(refit["log_sigma_se"]), np.ravel(refit["gamma_se"])]
    )
    ratio = ours / theirs
    return {"valid": True, "min_ratio": float(ratio.min()), "max_ratio": float(ratio.max())}


def compare_all(
    cases: tuple[str, ...] = CASES, folder: Path = PEERS_DATA, n_init: int = N_INIT
) -> dict[str, Any]:
    """The whole comparison (JSON-ready): every case, settings and software."""
    results = [compare_case(load_case(name, folder), n_init=n_init) for name in cases]
    r_software = json.loads((folder / f"{cases[0]}.json").read_text(encoding="utf-8"))["software"]
    return jsonable(
        {
            "schema_version": SCHEMA_VERSION,
            "settings": {
                "n_init": n_init,
                "seed": SEED,
                "same_maximum": SAME_MAXIMUM,
                "r_same_maximum": R_SAME_MAXIMUM,
            },
            "software": {"python": software_versions(), "r": r_software},
            "cases": results,
        }
    )


# ---------------------------------------------------------------------------
# Tables and the docs block, from the comparison's JSON
# ---------------------------------------------------------------------------


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def table(result: dict[str, Any]) -> str:
    """The comparison as a markdown table: one line per R fit."""
    lines = []
    for case in result["cases"]:
        for row in case["rows"]:
            r = row["r"]
            line = [
                case["case"],
                row["peer"] + (f" ({row['concomitant']})" if row["concomitant"] else ""),
                row["K"],
                row["sigma_mode"],
                f"{r['loglik']:.4f}",
                f"{r['starts_at_best']}/{r['starts']}",
            ]
            if row["status"] == "pending":
                lines.append(line + ["pending"] + [""] * 9)
                continue
            ours, speed = row["salesmix"], row.get("speed", {})
            se = row.get("se", {})
            line += [
                f"{row['loglik_at_r']['ml_sigma']:.4f}",
                f"{ours['loglik']:.4f}",
                f"{row['excess']:.2e}",
                f"{ours['starts_at_best']}/{ours['n_init']}",
                f"{ours['starts_reaching_r']}/{ours['n_init']}",
                {True: "yes", False: "no"}.get(row.get("same_maximum"), row["status"]),
                _fmt(row.get("differences_from_r", {}).get("theta"), ".1e"),
                _fmt(row.get("differences_refit", {}).get("theta"), ".1e"),
                _fmt(_se_gap(se), ".1e"),
                _fmt(speed.get("ratio"), ".0f"),
            ]
            lines.append(line)
    headers = [
        "case",
        "peer",
        "K",
        "sigma",
        "R log L",
        "R starts at best",
        "log L at R (ML sigma)",
        "salesmix max",
        "excess",
        "salesmix starts at best",
        "salesmix starts >= R",
        "same maximum",
        "max |d theta| vs R",
        "vs refit",
        "max abs(SE ratio - 1)",
        "speed ratio",
    ]
    return tabulate(lines, headers, tablefmt="github", disable_numparse=True)


def _se_gap(se: dict[str, Any]) -> float | None:
    """Largest relative difference of salesmix's SEs from flexmix's (None: not compared)."""
    if not se.get("valid"):
        return None
    return max(abs(se["min_ratio"] - 1.0), abs(se["max_ratio"] - 1.0))


def pending_table(result: dict[str, Any]) -> str:
    """flexmix's concomitant coefficients (refit estimate and SE) beside the truth, if known.

    The truth is put in flexmix's component order (components matched on their
    coefficients) and taken against flexmix's component 1, as flexmix reports gamma.
    """
    lines = []
    for case in result["cases"]:
        for row in case["rows"]:
            if row["status"] != "pending":
                continue
            r = row["r"]
            truth = _truth_gamma(case.get("truth"), np.asarray(r["theta"]))
            for c, (estimates, errors) in enumerate(
                zip(r["refit_gamma"], r["refit_gamma_se"], strict=True)
            ):
                for j, name in enumerate(r["gamma_names"]):
                    lines.append(
                        [
                            case["case"],
                            row["concomitant"],
                            f"{c + 2}: {name}",
                            f"{estimates[j]:.4f} ({errors[j]:.4f})",
                            "-" if truth is None else f"{truth[c + 1][j]:.4g}",
                        ]
                    )
    headers = ["case", "prior", "component: coefficient", "flexmix (SE)", "truth"]
    return tabulate(lines, headers, tablefmt="github", disable_numparse=True)


def _truth_gamma(truth: dict[str, Any] | None, theta: np.ndarray) -> np.ndarray | None:
    """The true gamma (K, Q) in the order of the components ``theta`` (K, P), against the first."""
    if not truth or "gamma" not in truth:
        return None
    order = match_segments(theta, np.asarray(truth["theta"], dtype=float))
    component_of = np.argsort(order)  # flexmix's component c estimates true component_of[c]
    gamma = np.asarray(truth["gamma"], dtype=float)[component_of]
    return gamma - gamma[0]


def findings(result: dict[str, Any]) -> str:
    """One paragraph of what came out, every number from ``result``."""
    rows = [row for case in result["cases"] for row in case["rows"]]
    compared = [row for row in rows if row["status"] != "pending"]
    excess = [row["excess"] for row in compared]
    check = [abs(row["loglik_at_r"]["reported_sigma"] - row["r"]["loglik"]) for row in compared]
    above = [row for row in compared if row["excess"] > SAME_MAXIMUM]
    other = [row for row in compared if row.get("same_maximum") is False]
    gaps = [
        (_se_gap(row["se"]), case["case"], row["K"])
        for case in result["cases"]
        for row in case["rows"]
        if row.get("se", {}).get("valid")
    ]
    worst = max(gaps)
    speed = [row["speed"]["ratio"] for row in compared if "speed" in row]
    reaching = min(
        (row["salesmix"]["starts_reaching_r"], row["salesmix"]["n_init"], case["case"], row["K"])
        for case in result["cases"]
        for row in case["rows"]
        if row["status"] != "pending"
    )
    pending = len(rows) - len(compared)
    above_best = [row for row in compared if row["salesmix"]["starts_above_best"]]
    return (
        f"{len(compared)} R fits compared, {pending} pending (concomitant prior). "
        f"salesmix's maximum is at least the log L at R's parameters (ML sigma) on every "
        f"compared fit: the smallest excess is {min(excess):.2e}, the largest {max(excess):.3f}; "
        f"{len(above)} of {len(compared)} are higher by more than {SAME_MAXIMUM:g}. "
        f"Of salesmix's starts, as few as {reaching[0]} of {reaching[1]} reach R's value "
        f"({reaching[2]}, K = {reaching[3]}); on {len(above_best)} fits some starts ended "
        f"above salesmix's chosen maximum, uncertified (a sigma running to the floor). "
        f"At R's own parameters salesmix reproduces R's reported log L to "
        f"{max(check):.1e} (largest absolute difference). "
        f"{len(other)} fits end at a different maximum from the one R was at. "
        f"Standard errors against flexmix's refit ({len(gaps)} fits): salesmix's differ "
        f"by at most {worst[0]:.1e} relative ({worst[1]}, K = {worst[2]}); on "
        f"{sum(gap < 1e-3 for gap, _, _ in gaps)} fits by less than 1e-3. "
        f"Time per start: R takes {min(speed):.0f} to {max(speed):.0f} times salesmix's."
    )


def elsewhere(result: dict[str, Any]) -> str:
    """One line per fit where salesmix's best maximum is not the one R was at."""
    lines = []
    for case in result["cases"]:
        for row in case["rows"]:
            if row.get("same_maximum") is not False:
                continue
            ours = row["salesmix"]
            small = int(np.argmin(ours["pi"]))
            lines.append(
                f"- {case['case']}, K = {row['K']} ({row['peer']}): salesmix's best, "
                f"{ours['loglik']:.4f} ({ours['starts_at_best']} of {ours['n_init']} starts), "
                f"has a segment with pi = {ours['pi'][small]:.4f} and sigma = "
                f"{ours['sigma'][small]:.4g}; started at R's parameters salesmix reaches "
                f"{row['salesmix_from_r']['loglik']:.4f}, the maximum R was at."
            )
    return "\n".join(lines) if lines else "- none"


def doc_block(result: dict[str, Any]) -> str:
    """The generated block of docs/peers.md (between the markers, exclusive)."""
    return (
        f"{findings(result)}\n\n{table(result)}\n\n"
        f"Where salesmix's best maximum is another one than R's:\n\n{elsewhere(result)}\n\n"
        f"The pending fits' prior (log-odds against component 1), for the concomitant "
        f"fit to come:\n\n{pending_table(result)}\n"
    )


def rewrite_doc(text: str, result: dict[str, Any], source: str = "docs/peers.md") -> str:
    """``text`` with its generated block re-rendered from ``result``.

    Raises
    ------
    ValueError
        The markers are missing or out of order, naming ``source``.
    """
    start, end = text.find(BLOCK_OPEN), text.find(BLOCK_CLOSE)
    if start < 0 or end < start:
        raise ValueError(f"{source}: needs {BLOCK_OPEN} ... {BLOCK_CLOSE} in this order")
    head = text[: start + len(BLOCK_OPEN)]
    return f"{head}\n{doc_block(result)}{text[end:]}"


def write_outputs(folder: Path, result: dict[str, Any]) -> None:
    """``folder/peers.json`` (the comparison) and ``folder/peers.md`` (its tables), atomically."""
    write_json_atomic(folder / "peers.json", result)
    write_text_atomic(
        folder / "peers.md",
        f"# salesmix against flexmix and mixtools\n\n{doc_block(result)}",
    )


def write_doc(path: Path, result: dict[str, Any]) -> bool:
    """Rewrite the block of ``path``; whether it changed."""
    text = path.read_text(encoding="utf-8")
    new = rewrite_doc(text, result, str(path))
    if new != text:
        write_text_atomic(path, new)
    return new != text
