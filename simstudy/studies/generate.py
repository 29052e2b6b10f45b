"""Synthetic store panels drawn from a known truth.

Store i draws its segment from pi, then y_it = alpha_c + beta_c log p_t + sigma eps_it.
Stores come in blocks of :data:`BLOCK_STORES`, block b from ``seed_sequence(seed, b)``,
so :func:`generate_panel` (the N x T matrix) and :func:`generate_stats` (statistics
block by block) draw the same stores.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from estimator import (
    PRICE_COLUMN,
    LongPanel,
    Panel,
    SeedLike,
    SufficientStats,
    as_generator,
    check_theta_pi,
    concat_stats,
    design_matrix,
    long_from_arrays,
    panel_from_arrays,
    seed_sequence,
    simulate_outcomes,
    sufficient_stats,
)

from .paths import REAL_DATA

BLOCK_STORES = 4096
"""Stores per random stream; fixed so that a panel does not depend on chunking."""


@dataclass(frozen=True, eq=False)
class Truth:
    """Parameters of the data-generating mixture: theta (K, P), row c = (alpha_c, beta_c,
    ...); pi (K,), summing to 1; sigma, the noise SD, common (float) or per segment (K,)
    (the assignment's model assumes 1: other values misspecify it unless it is estimated)."""

    theta: np.ndarray
    pi: np.ndarray
    sigma: float | np.ndarray = 1.0

    def __post_init__(self) -> None:
        theta, pi = check_theta_pi(np.atleast_2d(np.asarray(self.theta, dtype=float)), self.pi)
        sigma = np.asarray(self.sigma, dtype=float)
        if sigma.ndim > 1 or (sigma.ndim == 1 and sigma.size != pi.size):
            raise ValueError(f"sigma must be a number or one per segment ({pi.size}), got {sigma}")
        if not (np.all(np.isfinite(sigma)) and np.all(sigma > 0)):
            raise ValueError(f"sigma must be positive, got {self.sigma}")
        if sigma.ndim == 1:
            object.__setattr__(self, "sigma", sigma)
        object.__setattr__(self, "theta", theta)
        object.__setattr__(self, "pi", pi)

    @property
    def n_components(self) -> int:
        """Number of segments K."""
        return self.theta.shape[0]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        sigma = self.sigma.tolist() if isinstance(self.sigma, np.ndarray) else float(self.sigma)
        return {"theta": self.theta.tolist(), "pi": self.pi.tolist(), "sigma": sigma}

    def noise_scale(self, labels: np.ndarray) -> float | np.ndarray:
        """Noise standard deviation of every store, shape (N, 1), or the common float."""
        if isinstance(self.sigma, np.ndarray):
            return self.sigma[labels][:, None]
        return self.sigma


@lru_cache(maxsize=8)
def _read_real_prices(path: str) -> np.ndarray:
    prices = pd.read_csv(path, usecols=[PRICE_COLUMN])[PRICE_COLUMN].to_numpy(dtype=float)
    prices.setflags(write=False)
    return prices


def real_prices(path: str | Path = REAL_DATA) -> np.ndarray:
    """The weekly price series of the real panel, shape (T,) (52 weeks for data/609948.csv)."""
    return _read_real_prices(str(path))


def draw_prices(
    spec: str | Mapping[str, Any],
    n_weeks: int,
    seed: SeedLike = None,
    data: str | Path = REAL_DATA,
) -> np.ndarray:
    """Prices of one panel, shape (``n_weeks``,): ``spec`` ``"real"``, the first T weeks of
    ``data``'s; ``{"process": "lognormal", "meanlog": m, "sdlog": s}``, log p_t ~ N(m, s^2)."""
    if spec == "real":
        series = real_prices(data)
        if not 2 <= n_weeks <= series.size:
            raise ValueError(f"T = {n_weeks}: the real price series has {series.size} weeks")
        return series[:n_weeks].copy()
    if isinstance(spec, Mapping) and spec.get("process") == "lognormal":
        if n_weeks < 2:
            raise ValueError(f"T = {n_weeks}: at least 2 weeks are needed")
        rng = as_generator(seed)
        return np.exp(spec["meanlog"] + spec["sdlog"] * rng.standard_normal(n_weeks))
    raise ValueError(
        f"unknown price process {spec!r}: use 'real' or "
        "{'process': 'lognormal', 'meanlog': m, 'sdlog': s}"
    )


def _block_streams(n_stores: int, seed: SeedLike) -> list[tuple[np.random.Generator, int]]:
    """Per block of at most :data:`BLOCK_STORES` stores, its Generator (block b:
    ``seed_sequence(seed, b)``) and its size; a panel depends only on the seed and N."""
    if int(n_stores) != n_stores or n_stores < 1:
        raise ValueError(f"N must be a positive whole number of stores, got {n_stores}")
    root = seed_sequence(seed)
    starts = range(0, n_stores, BLOCK_STORES)
    return [(np.random.default_rng(seed_sequence(root, b)), min(BLOCK_STORES, n_stores - s))
            for b, s in enumerate(starts)]  # fmt: skip


def _drawn_blocks(
    truth: Truth, X: np.ndarray, n_stores: int, seed: SeedLike
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Every block's log sales (n, T) and true segments (n,), drawn when asked for."""
    for rng, n in _block_streams(n_stores, seed):
        labels = rng.choice(truth.n_components, size=n, p=truth.pi)
        noise = rng.standard_normal((n, X.shape[0]))
        yield simulate_outcomes(X, truth.theta[labels], truth.noise_scale(labels), noise), labels


def generate_panel(
    truth: Truth, prices: np.ndarray, n_stores: int, seed: SeedLike
) -> tuple[Panel, np.ndarray]:
    """Draw a whole panel of ``n_stores`` stores at ``prices`` (T,): the Panel (y (N, T),
    X = [1, log p] (T, 2)) and every store's true segment (N,), rows of ``truth.theta``."""
    X = design_matrix(prices)
    ys, labels = zip(*_drawn_blocks(truth, X, n_stores, seed), strict=True)
    return panel_from_arrays(np.concatenate(ys), X, source="<simulated>"), np.concatenate(labels)


def generate_stats(
    truth: Truth, prices: np.ndarray, n_stores: int, seed: SeedLike
) -> tuple[SufficientStats, np.ndarray]:
    """:func:`generate_panel`'s stores as sufficient statistics (one block of stores at a
    time, never the N x T matrix) and their true segments (N,)."""
    X = design_matrix(prices)
    stats, labels = [], []
    for y, block_labels in _drawn_blocks(truth, X, n_stores, seed):
        stats.append(sufficient_stats(y, X))
        labels.append(block_labels)
    return concat_stats(stats), np.concatenate(labels)


@dataclass(frozen=True)
class Irregularities:
    """How a synthetic panel departs from the tidy balanced one: ``missing_rate``, the
    probability that a store-week is not observed (independently); ``price_noise``, the
    SD of store-specific log-price deviations (log p_it = log p_t + price_noise z_it);
    ``extras``, extra regressors as (name, probability), Bernoulli flags such as a
    promotion, one coefficient per segment in the truth's theta columns 2, 3, ..."""

    missing_rate: float = 0.0
    price_noise: float = 0.0
    extras: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        if not 0.0 <= self.missing_rate < 1.0:
            raise ValueError(f"missing_rate must be in [0, 1), got {self.missing_rate}")
        if not (np.isfinite(self.price_noise) and self.price_noise >= 0):
            raise ValueError(f"price_noise must be >= 0, got {self.price_noise}")
        for name, prob in self.extras:
            if not 0.0 <= prob <= 1.0:
                raise ValueError(f"extra regressor {name!r}: probability {prob} not in [0, 1]")


def generate_long(
    truth: Truth,
    prices: np.ndarray,
    n_stores: int,
    seed: SeedLike,
    irregular: Irregularities = Irregularities(),
) -> tuple[LongPanel, np.ndarray]:
    """Draw an unbalanced panel with store-specific prices and extra regressors: the stores of
    :func:`generate_panel`, then the irregularities; the LongPanel of the observed store-weeks
    (too short stores dropped, as the loader does) and their true segments, (N_kept,)."""
    streams = _block_streams(n_stores, seed)
    n_extra = len(irregular.extras)
    if truth.theta.shape[1] != 2 + n_extra:
        raise ValueError(
            f"theta has {truth.theta.shape[1]} columns; expected 2 + {n_extra} extra regressors"
        )
    base_X = design_matrix(prices)
    n_weeks = base_X.shape[0]
    rows, labels = [], []
    first_store = 0
    for rng, n in streams:
        block_labels = rng.choice(truth.n_components, size=n, p=truth.pi)
        noise = rng.standard_normal((n, n_weeks))
        extras = [rng.random((n, n_weeks)) < prob for _, prob in irregular.extras]
        log_price = base_X[:, 1] + irregular.price_noise * rng.standard_normal((n, n_weeks))
        observed = rng.random((n, n_weeks)) >= irregular.missing_rate
        X = np.stack([np.ones((n, n_weeks)), log_price, *extras], axis=-1)  # (n, T, P)
        y = simulate_outcomes(X, truth.theta[block_labels], truth.noise_scale(block_labels), noise)
        store, week = np.nonzero(observed)
        rows.append((store + first_store, week, y[store, week], X[store, week]))
        labels.append(block_labels)
        first_store += n
    store, week, y, X = (np.concatenate(parts) for parts in zip(*rows, strict=True))
    names = ("alpha", "beta", *(name for name, _ in irregular.extras))
    panel = long_from_arrays(store, week, y, X, coef_names=names, source="<simulated>")
    all_labels = np.concatenate(labels)
    kept = np.flatnonzero(np.bincount(store, minlength=n_stores) >= X.shape[1])
    return panel, all_labels[kept]
