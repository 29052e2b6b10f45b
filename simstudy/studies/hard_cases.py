"""A suite of hard fitting problems, and the search for their best-known maxima.

Panels where the fit is most sensitive (docs/engine.md: K from 2 to 4, a 5% segment,
sigma per segment, missing weeks, a promotion, T down to 8), each fitted at K_true and
one either side; tests/data/hard_cases.json keeps :func:`best_known`'s maxima.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from estimator import SufficientStats, distinct_maxima, fit_mixture

from .generate import Irregularities, Truth, draw_prices, generate_long, generate_stats

SCHEMES: tuple[str, ...] = ("kmeans++", "small", "stores", "partition")
PRICES = {"process": "lognormal", "meanlog": 0.5, "sdlog": 0.15}
"""Weekly prices of every case: i.i.d. log-normal around e^0.5, the real data's level."""


@dataclass(frozen=True)
class HardCase:
    """One panel of the suite: its truth, N, T, how the fits treat sigma (``sigma_mode``),
    its irregularities (None: a balanced wide panel at common prices) and seed."""

    name: str
    truth: Truth
    n_stores: int
    n_weeks: int
    sigma_mode: str
    irregular: Irregularities | None
    seed: int

    @property
    def k_values(self) -> tuple[int, ...]:
        """K_true - 1, K_true, K_true + 1 (from 1)."""
        k = self.truth.n_components
        return tuple(range(max(1, k - 1), k + 2))

    def stats(self) -> SufficientStats:
        """The panel's sufficient statistics (drawn afresh, identically, each call)."""
        prices = draw_prices(PRICES, self.n_weeks, self.seed)
        if self.irregular is None:
            stats, _ = generate_stats(self.truth, prices, self.n_stores, self.seed + 1)
            return stats
        panel, _ = generate_long(self.truth, prices, self.n_stores, self.seed + 1, self.irregular)
        return panel.sufficient_stats()


def _truth(alpha: list[float], beta: list[float], pi: list[float], sigma: Any = 1.0) -> Truth:
    return Truth(theta=np.column_stack([alpha, beta]), pi=np.asarray(pi), sigma=sigma)


def hard_cases() -> list[HardCase]:
    """The suite: eight panels (module docstring)."""
    promo = Irregularities(missing_rate=0.15, extras=(("promo", 0.3),))
    missing = Irregularities(missing_rate=0.15)
    return [
        HardCase(
            "k2_n40_t8_tiny",
            _truth([9.8, 10.8], [-1.2, -1.0], [0.1, 0.9], np.array([1.5, 1.0])),
            40, 8, "segment", missing, 101,
        ),
        HardCase(
            "k2_n80_t52_close",
            _truth([10.6, 10.9], [-1.1, -1.0], [0.4, 0.6]),
            80, 52, "fixed", None, 102,
        ),
        HardCase(
            "k3_n120_t12_promo",
            Truth(
                theta=np.array([[9.9, -1.2, 0.3], [10.8, -1.05, 0.1], [11.6, -1.8, 0.5]]),
                pi=np.array([0.05, 0.5, 0.45]),
            ),
            120, 12, "common", promo, 103,
        ),
        HardCase(
            "k3_n300_t52_sigma",
            _truth(
                [9.9, 10.8, 11.6], [-1.2, -1.05, -1.8], [0.05, 0.85, 0.1],
                np.array([0.8, 1.0, 1.3]),
            ),
            300, 52, "segment", None, 104,
        ),
        HardCase(
            "k3_n400_t16_promo_sigma",
            Truth(
                theta=np.array([[9.9, -1.2, 0.3], [10.8, -1.05, 0.1], [11.6, -1.8, 0.5]]),
                pi=np.array([0.05, 0.6, 0.35]),
                sigma=np.array([1.2, 1.0, 0.8]),
            ),
            400, 16, "segment", promo, 105,
        ),
        HardCase(
            "k4_n200_t8",
            _truth([9.8, 10.2, 10.8, 11.6], [-1.1, -1.4, -1.05, -1.8], [0.05, 0.15, 0.5, 0.3]),
            200, 8, "fixed", None, 106,
        ),
        HardCase(
            "k4_n600_t26_missing",
            _truth(
                [9.8, 10.2, 10.8, 11.6], [-1.1, -1.4, -1.05, -1.8], [0.05, 0.25, 0.4, 0.3],
                np.array([1.0, 1.2, 0.9, 1.1]),
            ),
            600, 26, "segment", missing, 107,
        ),
        HardCase(
            "k4_n300_t52_real_like",
            _truth(
                [9.81, 10.16, 10.79, 11.65], [-1.15, -1.39, -1.06, -1.82],
                [0.06, 0.02, 0.83, 0.09],
            ),
            300, 52, "fixed", None, 108,
        ),
    ]  # fmt: skip


def best_known(
    case: HardCase, n_per_scheme: int = 1000, seed: int = 0
) -> dict[int, dict[str, Any]]:
    """The highest certified maximum of every K of ``case`` (:func:`best_known_for`)."""
    stats = case.stats()
    return {k: best_known_for(stats, k, case.sigma_mode, n_per_scheme, seed) for k in case.k_values}


def best_known_for(
    stats: SufficientStats, k: int, sigma_mode: str, n_per_scheme: int, seed: int = 0
) -> dict[str, Any]:
    """The highest certified maximum of one K over ``n_per_scheme`` starts of every scheme:
    ``loglik`` (the guard's answer), ``loglik_unguarded`` (the MLE), ``certified``, ``hits``
    (starts within 1e-6), ``starts`` and ``distinct_logliks``."""
    fits = [
        fit_mixture(stats, k, n_init=n_per_scheme, init=scheme, sigma=sigma_mode,
                    seed=np.random.SeedSequence([seed, k, i]))
        for i, scheme in enumerate(SCHEMES)
    ]  # fmt: skip
    best = max(fits, key=lambda f: (f.converged, f.loglik))
    unguarded = max(f.set_aside[0].loglik if f.set_aside else f.loglik for f in fits)
    logliks = np.concatenate([f.restart_logliks for f in fits])
    return {
        "loglik": best.loglik,
        "loglik_unguarded": max(unguarded, best.loglik),
        "certified": best.converged,
        "hits": int(np.sum(np.abs(logliks - best.loglik) <= 1e-6)),
        "starts": int(logliks.size),
        "distinct_logliks": distinct_maxima(logliks),
    }
