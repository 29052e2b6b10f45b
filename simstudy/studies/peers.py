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
component 1); the time per start.

Concomitant prior
-----------------
flexmix's ``FLXPmultinom`` and salesmix's prior are one model with different
labels: flexmix takes its component 1 as the reference (gamma_1 = 0), salesmix
its last segment in canonical order. The log-likelihood depends on neither
(softmax is invariant to shifting every row of gamma by one vector), so R's
gamma enters it re-referenced to R's last component. gamma and its standard
errors are compared in flexmix's parameterisation: segments matched, then
salesmix's gamma and covariance re-referenced to the segment matched with
flexmix's component 1 (:meth:`estimator.Inference.reordered`). The map is
linear, so the re-referenced standard errors are exact, not a delta-method
approximation; flexmix records standard errors only (no covariance), so its
side cannot be moved to salesmix's reference.

The one seam: :func:`fit_salesmix` is the only function that knows how the data
reach salesmix (:func:`estimator.regression_data`: the formula, the unit column,
each row its own unit when there is none, the concomitant formula).
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
    Inference,
    InferenceWarning,
    MixtureFit,
    SufficientStats,
    fit_mixture,
    match_segments,
    observed_information_se,
    regression_data,
)
from estimator import loglik_at as estimator_loglik_at

from ..harness.files import jsonable, software_versions, write_json_atomic, write_text_atomic

PEERS_DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "peers"
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
    case: PeerCase,
    n_components: int,
    sigma: str,
    concomitant: str | None = None,
    n_init: int = N_INIT,
    seed: int = SEED,
) -> SalesmixFit:
    """Fit ``case`` with salesmix from ``n_init`` starts (the one function to switch fronts).

    Parameters
    ----------
    case : PeerCase
    n_components : int
    sigma : {"segment", "common"}
    concomitant : str or None
        Formula of the prior's unit covariates (``"~ z"``); None: constant prior.
    n_init, seed : int

    Returns
    -------
    SalesmixFit
        ``stats`` are the units' sufficient statistics (one Gram matrix per unit,
        singular for units with fewer rows than coefficients).
    """
    started = time.perf_counter()
    data = regression_data(case.frame, case.formula, case.group, concomitant=concomitant)
    stats = data.sufficient_stats()
    fit = fit_mixture(
        stats,
        n_components,
        n_init=n_init,
        seed=seed,
        sigma=sigma,
        guard=None,
        covariates=data.covariates,
        covariate_names=data.covariate_names,
    )
    return SalesmixFit(fit, stats, time.perf_counter() - started)


def loglik_at(
    stats: SufficientStats, theta: Any, prior: Any, sigma: Any, covariates: Any = None
) -> float:
    """The exact mixture log-likelihood at (theta (K, P), prior, sigma (K,)).

    ``prior`` is pi (K,), or gamma (K, Q) with ``covariates`` (N, Q).
    """
    return estimator_loglik_at(stats, theta, prior, sigma, covariates)


def polish_from(
    stats: SufficientStats, theta: Any, prior: Any, sigma: Any, mode: str, covariates: Any = None
) -> MixtureFit:
    """The certified maximum salesmix reaches from one known point (EM, then Newton)."""
    start = _start(np.asarray(theta, dtype=float), np.asarray(prior, dtype=float), sigma)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit_mixture(
            stats, len(theta), **start, sigma=mode, guard=None, covariates=covariates
        )


def _start(theta: np.ndarray, prior: np.ndarray, sigma: Any) -> dict[str, np.ndarray]:
    """One known point as fit_mixture's theta0 (1, K, P), pi0 (1, K) or gamma0 (1, K, Q), sigma0."""
    n_components = len(theta)
    sigma = np.broadcast_to(np.asarray(sigma, dtype=float), (n_components,))
    return {
        "theta0": theta[None],
        "pi0" if prior.ndim == 1 else "gamma0": prior[None],
        "sigma0": sigma[None],
    }


def _r_prior(peer: dict[str, Any]) -> np.ndarray:
    """R's prior: pi (K,), or with a concomitant gamma (K, Q) against R's last component."""
    if not peer.get("concomitant"):
        return np.atleast_1d(np.asarray(peer["prior"], dtype=float))
    gamma = np.asarray(peer["gamma"], dtype=float)
    return gamma - gamma[-1]


def refit_params(
    refit: dict[str, Any], n_components: int, concomitant: bool = False
) -> dict[str, np.ndarray]:
    """flexmix's ``refit`` estimates as theta (K, P), prior, sigma (K,).

    The prior is pi (K,) from the logits of components 2..K against component 1,
    or with ``concomitant`` gamma (K, Q) re-referenced to the last component.
    """
    logits = np.asarray(refit["gamma"], dtype=float)
    logits = logits.reshape(n_components - 1, -1 if concomitant else 1)
    logits = np.vstack([np.zeros(logits.shape[1]), logits])
    sigma = np.exp(np.broadcast_to(np.ravel(refit["log_sigma"]), (n_components,)))
    theta = np.asarray(refit["theta"], dtype=float)
    if concomitant:
        return {"theta": theta, "prior": logits - logits[-1], "sigma": sigma}
    weights = np.exp(logits[:, 0] - np.max(logits))
    return {"theta": theta, "prior": weights / weights.sum(), "sigma": sigma}


def compare_case(case: PeerCase, n_init: int = N_INIT, seed: int = SEED) -> dict[str, Any]:
    """Every fit of ``case``: R's numbers, salesmix's, and their differences (JSON-ready)."""
    fits: dict[tuple[int, str, str | None], SalesmixFit] = {}
    rows = []
    for peer in case.record["fits"]:
        key = (peer["K"], peer["sigma_mode"], peer.get("concomitant"))
        if key not in fits:
            fits[key] = fit_salesmix(case, *key, n_init=n_init, seed=seed + key[0])
        rows.append(compare_fit(peer, fits[key]))
    stats = next(iter(fits.values())).stats
    record = case.record
    return {
        "case": case.name,
        "title": record["title"],
        "source": record["source"],
        "formula": record["formula_r"],
        "n_obs": record["n_obs"],
        "n_units": int(stats.n_stores),
        "truth": record.get("truth"),
        "rows": rows,
    }


def _r_summary(peer: dict[str, Any]) -> dict[str, Any]:
    logliks = np.array([np.nan if v is None else v for v in peer["start_logliks"]])
    at_best = int(np.sum(np.nanmax(logliks) - logliks <= R_SAME_MAXIMUM))
    summary = {
        "loglik": peer["loglik"],
        "starts": len(logliks),
        "starts_at_best": at_best,
        "seconds": peer["seconds"],
        "K_found": peer["K_found"],
    }
    if peer.get("concomitant"):
        refit = peer.get("refit", {})
        summary |= {
            "theta": peer["theta"],
            "gamma_names": peer["gamma_names"],
            "gamma": peer["gamma"],
            "refit_gamma": refit.get("gamma"),
            "refit_gamma_se": refit.get("gamma_se"),
        }
    return summary


def compare_fit(peer: dict[str, Any], ours: SalesmixFit) -> dict[str, Any]:
    """One R fit against salesmix's fit of the same K, sigma mode and prior."""
    stats, best, covariates = ours.stats, ours.fit, ours.fit.covariates
    r_theta, r_prior = np.asarray(peer["theta"], dtype=float), _r_prior(peer)
    r_sigma = np.broadcast_to(np.atleast_1d(peer["sigma"]), r_theta.shape[:1])
    ml_sigma = np.broadcast_to(np.atleast_1d(peer["sigma_ml"]), r_theta.shape[:1])
    at_ml = loglik_at(stats, r_theta, r_prior, ml_sigma, covariates)
    row: dict[str, Any] = {
        "peer": peer["package"],
        "K": peer["K"],
        "sigma_mode": peer["sigma_mode"],
        "concomitant": peer.get("concomitant"),
        "status": "compared",
        "r": _r_summary(peer),
        "loglik_at_r": {
            "reported_sigma": loglik_at(stats, r_theta, r_prior, r_sigma, covariates),
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
            "gamma": best.gamma,
        },
        "excess": best.loglik - at_ml,
    }
    refit = peer.get("refit")
    at_refit = None
    if refit is not None and "error" not in refit:
        at_refit = refit_params(refit, len(r_theta), covariates is not None)
        row["loglik_at_r"]["refit"] = loglik_at(stats, *at_refit.values(), covariates)
    if len(r_theta) != peer["K"]:
        row["status"] = f"R ended with {len(r_theta)} of {peer['K']} components"
        return row
    local = polish_from(stats, r_theta, r_prior, ml_sigma, peer["sigma_mode"], covariates)
    row["salesmix_from_r"] = {"loglik": local.loglik, "converged": local.converged}
    row["same_maximum"] = bool(abs(best.loglik - local.loglik) <= SAME_MAXIMUM)
    metric = stats.gram.sum(axis=0) / stats.n_obs.sum()
    row["differences"] = _differences(best, r_theta, r_prior, ml_sigma, metric)
    row["differences_from_r"] = _differences(local, r_theta, r_prior, ml_sigma, metric)
    if at_refit is not None:
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
    fit: MixtureFit, theta: np.ndarray, prior: np.ndarray, sigma: np.ndarray, metric: np.ndarray
) -> dict[str, float]:
    """Largest absolute differences after matching ``fit``'s segments to R's.

    ``prior`` is R's pi (K,) or gamma (K, Q); gamma is compared in flexmix's
    parameterisation (both sides against R's component 1).
    """
    order = match_segments(fit.theta, theta, metric)
    out = {"theta": float(np.max(np.abs(fit.theta[order] - theta)))}
    if prior.ndim == 1:
        out["pi"] = float(np.max(np.abs(fit.pi[order] - prior)))
    else:
        ours = fit.gamma[order] - fit.gamma[order[0]]
        out["gamma"] = float(np.max(np.abs(ours - (prior - prior[0]))))
    out["sigma"] = float(np.max(np.abs(fit.sigma[order] - sigma)))
    return out


def _se_comparison(
    fit: MixtureFit, stats: SufficientStats, refit: dict[str, Any], metric: np.ndarray
) -> dict[str, Any]:
    """salesmix's observed-information SEs over flexmix's ``refit`` ones, on flexmix's scale.

    Parameters, in flexmix's order: every component's coefficients, log sigma
    (one or K), and for components 2..K the prior's log-odds log(pi_c / pi_1) or,
    with a concomitant, their coefficients against component 1 (then also returned,
    with salesmix's SEs, as ``gamma`` and ``se_gamma`` (K - 1, Q)). Both sides at
    their own estimates (salesmix: the maximum reached from R's).
    """
    target = refit_params(refit, len(fit.pi), fit.gamma is not None)
    order = match_segments(fit.theta, target["theta"], metric)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InferenceWarning)
        inference = observed_information_se(fit, stats)
    if not inference.valid:
        return {"valid": False}
    out: dict[str, Any] = {"valid": True}
    if inference.gamma is None:
        prior_se = _log_odds_se(inference, order)
    else:
        # flexmix's component 1 becomes the reference: an exact linear map of the covariance
        against_first = inference.reordered(np.roll(order, -1))
        out |= {"gamma": against_first.gamma[:-1], "se_gamma": against_first.se_gamma[:-1]}
        prior_se = np.ravel(out["se_gamma"])
    log_sigma_se = (inference.se_sigma / inference.sigma)[order][: inference.n_sigma]
    ours = np.concatenate([np.ravel(inference.se_theta[order]), log_sigma_se, prior_se])
    theirs = np.concatenate(
        [np.ravel(refit["theta_se"]), np.ravel(refit["log_sigma_se"]), np.ravel(refit["gamma_se"])]
    )
    ratio = ours / theirs
    return out | {"min_ratio": float(ratio.min()), "max_ratio": float(ratio.max())}


def _log_odds_se(inference: Inference, order: np.ndarray) -> np.ndarray:
    """SEs of log(pi_c / pi_1), c = 2..K in the matched order ``order`` (delta method)."""
    n_components, n_coef = inference.theta.shape
    pi_at = n_components * n_coef
    jacobian = np.zeros((n_components - 1, len(inference.full_cov)))
    lines = np.arange(n_components - 1)
    jacobian[lines, pi_at + order[1:]] = 1.0 / inference.pi[order[1:]]
    jacobian[lines, pi_at + order[0]] = -1.0 / inference.pi[order[0]]
    return np.sqrt(np.diag(jacobian @ inference.full_cov @ jacobian.T))


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


def gamma_table(result: dict[str, Any]) -> str:
    """The concomitant coefficients: flexmix's ``refit`` and salesmix's, each with its SE.

    In flexmix's parameterisation: its component order and its component 1 as the
    reference; salesmix's segments matched to flexmix's and re-referenced (the
    maximum salesmix reaches from R's parameters), the truth likewise where known.
    """
    lines = []
    for case in result["cases"]:
        for row in case["rows"]:
            se = row.get("se", {})
            if not row["concomitant"] or "gamma" not in se:
                continue
            r = row["r"]
            truth = _truth_gamma(case.get("truth"), np.asarray(r["theta"]))
            for c, (estimates, errors) in enumerate(
                zip(r["refit_gamma"], r["refit_gamma_se"], strict=True)
            ):
                for j, name in enumerate(r["gamma_names"]):
                    ours, ours_se = se["gamma"][c][j], se["se_gamma"][c][j]
                    lines.append(
                        [
                            case["case"],
                            row["concomitant"],
                            f"{c + 2}: {name}",
                            f"{estimates[j]:.4f} ({errors[j]:.4f})",
                            f"{ours:.4f} ({ours_se:.4f})",
                            f"{ours - estimates[j]:.1e}",
                            f"{ours_se / errors[j] - 1:.1e}",
                            "-" if truth is None else f"{truth[c + 1][j]:.4g}",
                        ]
                    )
    headers = [
        "case",
        "prior",
        "component: coefficient",
        "flexmix refit (SE)",
        "salesmix (SE)",
        "difference",
        "SE ratio - 1",
        "truth",
    ]
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
    compared = [row for case in result["cases"] for row in case["rows"]]
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
    )
    above_best = [row for row in compared if row["salesmix"]["starts_above_best"]]
    return (
        f"{len(compared)} R fits compared. "
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
        f"Time per start: R takes {min(speed):.0f} to {max(speed):.0f} times salesmix's. "
        f"{concomitant_findings(result)}"
    )


def concomitant_findings(result: dict[str, Any]) -> str:
    """What came out on the fits with a concomitant prior, every number from ``result``."""
    rows = [row for case in result["cases"] for row in case["rows"] if row["concomitant"]]
    excess = [row["excess"] for row in rows]
    with_gamma = [row for row in rows if "gamma" in row.get("se", {})]
    gap = max(row["differences_refit"]["gamma"] for row in with_gamma)
    se_gap = max(
        np.max(np.abs(np.divide(row["se"]["se_gamma"], row["r"]["refit_gamma_se"]) - 1.0))
        for row in with_gamma
    )
    speed = [row["speed"]["ratio"] for row in rows if "speed" in row]
    constant = [
        row["speed"]["ratio"]
        for case in result["cases"]
        if any(row["concomitant"] for row in case["rows"])
        for row in case["rows"]
        if not row["concomitant"] and "speed" in row
    ]
    return (
        f"With a concomitant prior ({len(rows)} fits) the excess runs from {min(excess):.2e} "
        f"to {max(excess):.2e}; gamma, in flexmix's parameterisation, differs from "
        f"flexmix's refit by at most {gap:.1e} and its standard errors by at most "
        f"{se_gap:.1e} relative ({len(with_gamma)} fits); R takes {min(speed):.0f} to "
        f"{max(speed):.0f} times salesmix's time per start, against {min(constant):.0f} to "
        f"{max(constant):.0f} on the same data with a constant prior."
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
        f"The concomitant coefficients, against flexmix's component 1 (salesmix's "
        f"re-referenced):\n\n{gamma_table(result)}\n"
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
