"""Does the guard stop BIC choosing spurious maxima, and keep a genuine small-sigma segment?

``python -m experiments.guard`` (docs/engine.md): ungrouped quadratic data, sigma per
segment; ``npreg`` (K_true = 2, over-selected unguarded) and ``genuine`` (a third segment
on an exact line, K_true = 3). K = 1..4 fitted once with the guard; the unguarded choice
reads each K's highest certified maximum.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from estimator import ConvergenceWarning, fit_k_range, regression_data

from ..harness.measures import proportion_mcse, wilson_interval
from ..harness.runner import silenced

VERSION = "guard-1"
FORMULA = "y ~ x + I(x**2)"
K_RANGE = (1, 2, 3, 4)
N_INIT = 100
TRUE_K = {"npreg": 2, "genuine": 3}


def generate(condition: dict[str, Any], rng: np.random.Generator) -> pd.DataFrame:
    """One data set of the condition's design (module docstring), ``n`` rows."""
    n = condition["n"]
    x = rng.uniform(0.0, 10.0, n)
    means = [5.0 * x, 15.0 + 10.0 * x - x**2]
    sds, shares = [3.0, 3.0], [0.5, 0.5]
    if condition["design"] == "genuine":
        means.append(30.0 - 2.0 * x)
        sds, shares = [3.0, 3.0, 0.003], [0.325, 0.325, 0.35]
    segment = rng.choice(len(shares), size=n, p=shares)
    mean = np.choose(segment, means)
    return pd.DataFrame({"x": x, "y": mean + np.take(sds, segment) * rng.normal(size=n)})


def analyse(condition: dict[str, Any], data: pd.DataFrame, rng: np.random.Generator) -> dict:
    """BIC's K with and without the guard, and how many maxima the guard set aside."""
    stats = regression_data(data, FORMULA).sufficient_stats()
    with silenced([ConvergenceWarning]):
        selection = fit_k_range(stats, K_RANGE, n_init=N_INIT, seed=rng, sigma="segment")
    n_obs = stats.n_total
    unguarded = {}
    for k, fit in selection.fits.items():
        top = max([fit.loglik, *(m.loglik for m in fit.set_aside)])
        unguarded[k] = fit.n_params * np.log(n_obs) - 2.0 * top
    return {
        "k_guarded": selection.chosen_k,
        "k_unguarded": min(unguarded, key=unguarded.get),
        "set_aside": sum(len(fit.set_aside) for fit in selection.fits.values()),
        "exhausted": sum(fit.guard_exhausted for fit in selection.fits.values()),
    }


def summarise(condition: dict[str, Any], results: pd.DataFrame) -> dict[str, Any]:
    """Rates of the true K and of over-selection, guarded and not, with Monte Carlo SEs."""
    truth = TRUE_K[condition["design"]]
    n = len(results)
    out: dict[str, Any] = {"true_K": truth}
    for kind in ("guarded", "unguarded"):
        chosen = results[f"k_{kind}"].to_numpy()
        for name, hits in (("true", chosen == truth), ("over", chosen > truth)):
            rate = float(np.mean(hits))
            out[f"{name}_{kind}"] = {"rate": rate, "mcse": proportion_mcse(rate, n)}
    over = results["k_unguarded"].to_numpy() > truth
    restored = int(np.sum(results["k_guarded"].to_numpy()[over] == truth))
    out["restored"] = {
        "n": int(over.sum()),
        "hits": restored,
        "rate": restored / over.sum() if over.any() else float("nan"),
        "wilson": list(wilson_interval(restored, int(over.sum()))),
    }
    out["mean_set_aside"] = float(results["set_aside"].mean())
    return out
