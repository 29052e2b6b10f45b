"""salesmix against R's flexmix and mixtools on data nobody here wrote (docs/peers.md).

R's side (``tests/data/peers/run_peers.R``) committed each case's data and fits; salesmix
fits the same models from many starts and from R's parameters, and the maxima, the matched
parameters, the SEs on flexmix's scale and the time per start are compared (flexmix's
sigma divides by n - p: the ML sigma at R's posteriors is ``sigma_ml``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from estimator import (
    ConvergenceWarning,
    FitOptions,
    Inference,
    InferenceWarning,
    MixtureFit,
    SufficientStats,
    fit_mixture,
    loglik_at,
    match_segments,
    observed_information_se,
    regression_data,
)

from ..harness.files import jsonable, software_versions
from ..harness.runner import silenced

PEERS_DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "peers"
"""R's scripts and what they wrote: ``<case>.csv`` and ``<case>.json``."""
CASES = tuple(
    "npreg npreg_grouped nregfix tonedata co2 gen_grouped gen_concomitant gen_grouped_concomitant "
    "real".split()
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


@dataclass(frozen=True)
class PeerCase:
    """One data set as R fitted it (``frame``), the model in formulaic's syntax, the column
    naming the unit (None: every row its own unit) and R's JSON ``record`` (its ``fits``)."""

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
    """Read ``<name>.json`` and its data (a wide sales panel made long: store, week)."""
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
    """salesmix's fit of ``case`` from ``n_init`` starts, the guard off (R's is the MLE);
    ``concomitant``: the prior's formula (``"~ z"``) or None (constant)."""
    started = time.perf_counter()
    data = regression_data(case.frame, case.formula, case.group, concomitant=concomitant)
    stats = data.sufficient_stats()
    options = FitOptions(n_init=n_init, seed=seed, sigma=sigma, guard=None)
    covariates = {"covariates": data.covariates, "covariate_names": data.covariate_names}
    fit = fit_mixture(stats, n_components, options, **covariates)
    return SalesmixFit(fit, stats, time.perf_counter() - started)


def polish_from(
    stats: SufficientStats, theta: Any, prior: Any, sigma: Any, mode: str, covariates: Any = None
) -> MixtureFit:
    """The certified maximum salesmix reaches from theta (K, P), the prior (pi (K,) or
    gamma (K, Q)) and sigma (K,) (EM, then Newton)."""
    theta, prior = np.asarray(theta, dtype=float), np.asarray(prior, dtype=float)
    sigma = np.broadcast_to(np.asarray(sigma, dtype=float), (len(theta),))
    start = {
        "theta0": theta[None],
        "pi0" if prior.ndim == 1 else "gamma0": prior[None],
        "sigma0": sigma[None],
    }
    with silenced([ConvergenceWarning]):
        return fit_mixture(
            stats, len(theta), **start, sigma=mode, guard=None, covariates=covariates
        )


def _r_prior(peer: dict[str, Any]) -> np.ndarray:
    """R's prior: pi (K,), or with a concomitant gamma (K, Q) against R's last component."""
    if not peer.get("concomitant"):
        return np.atleast_1d(np.asarray(peer["prior"], dtype=float))
    gamma = np.asarray(peer["gamma"], dtype=float)
    return gamma - gamma[-1]


def refit_params(
    refit: dict[str, Any], n_components: int, concomitant: bool = False
) -> dict[str, np.ndarray]:
    """flexmix's ``refit`` estimates as theta (K, P), sigma (K,) and the prior: pi (K,), or
    with ``concomitant`` gamma (K, Q) against the last component."""
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
    # starts above the chosen maximum ended uncertified (a sigma running to the floor)
    logliks = best.restart_logliks
    reaching = (logliks >= at_ml - SAME_MAXIMUM) & (logliks <= best.loglik + SAME_MAXIMUM)
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
            "starts_reaching_r": int(np.sum(reaching)),
            "starts_above_best": int(np.sum(logliks > best.loglik + SAME_MAXIMUM)),
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


def _differences(
    fit: MixtureFit, theta: np.ndarray, prior: np.ndarray, sigma: np.ndarray, metric: np.ndarray
) -> dict[str, float]:
    """Largest absolute differences after matching ``fit``'s segments to R's; ``prior`` is
    pi (K,) or gamma (K, Q), compared against R's component 1 as flexmix has it."""
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
    """salesmix's observed-information SEs over flexmix's ``refit`` ones, on flexmix's scale:
    coefficients, log sigma, and for components 2..K log(pi_c / pi_1) or the concomitant's
    coefficients against component 1 (then also ``gamma`` and ``se_gamma`` (K - 1, Q))."""
    target = refit_params(refit, len(fit.pi), fit.gamma is not None)
    order = match_segments(fit.theta, target["theta"], metric)
    with silenced([InferenceWarning]):
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
