"""Starting values for EM, and the seeding convention shared by the whole product.

Two schemes, both over the stores' own OLS estimates b_i:

* ``"stores"``: K distinct random stores' b_i are the segment centres;
* ``"kmeans++"``: the first centre is a random store, each next one a store drawn
  with probability proportional to its squared distance (in the X'X metric, the
  one the likelihood uses) to the nearest centre chosen so far.

``"mixed"`` (the default) alternates the two, starting with k-means++.
Mixing probabilities start uniform.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from .panel import SufficientStats

InitMethod = Literal["mixed", "kmeans++", "stores"]
INIT_METHODS: tuple[str, ...] = ("mixed", "kmeans++", "stores")
SeedLike = int | np.random.SeedSequence | np.random.Generator | None


def seed_sequence(seed: SeedLike, *keys: int) -> np.random.SeedSequence:
    """Return the child stream ``keys`` of ``seed``, independent of any other child.

    Parameters
    ----------
    seed : int, SeedSequence, Generator or None
        The root. A Generator contributes one draw (so it advances); None draws fresh entropy.
    *keys : int
        Path of the child, for example ``(K,)`` for the fit with K segments or
        ``(condition, replication)`` in a study.
    """
    if isinstance(seed, np.random.Generator):
        seed = int(seed.integers(2**63))
    if isinstance(seed, np.random.SeedSequence):
        return np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, *keys))
    return np.random.SeedSequence(seed, spawn_key=tuple(keys))


def as_generator(seed: SeedLike) -> np.random.Generator:
    """Return a numpy Generator for ``seed`` (a Generator is returned as is)."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def starting_values(
    stats: SufficientStats,
    n_components: int,
    n_init: int,
    seed: SeedLike = None,
    method: InitMethod = "mixed",
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n_init`` starting points for EM.

    Parameters
    ----------
    stats : SufficientStats
        Per-store statistics (their OLS estimates are the candidate centres).
    n_components : int
        Number of segments K.
    n_init : int
        Number of starts R.
    seed : int, SeedSequence, Generator or None
        Randomness; the same seed gives the same starts.
    method : {"mixed", "kmeans++", "stores"}
        Scheme (see the module docstring).

    Returns
    -------
    theta : ndarray of shape (R, K, P)
    pi : ndarray of shape (R, K)
    """
    if method not in INIT_METHODS:
        raise ValueError(f"init method must be one of {INIT_METHODS}, got {method!r}")
    if n_init < 1:
        raise ValueError(f"n_init must be at least 1, got {n_init}")
    if not 1 <= n_components <= stats.n_stores:
        raise ValueError(f"K = {n_components} segments needs 1 <= K <= N = {stats.n_stores} stores")
    rng = as_generator(seed)
    theta = np.empty((n_init, n_components, stats.n_coef))
    for r in range(n_init):
        use_kmeans = method == "kmeans++" or (method == "mixed" and r % 2 == 0)
        picks = (
            _kmeans_pp(stats, n_components, rng)
            if use_kmeans
            else _random_stores(stats.n_stores, n_components, rng)
        )
        theta[r] = stats.ols[picks]
    pi = np.full((n_init, n_components), 1.0 / n_components)
    return theta, pi


def _random_stores(n_stores: int, n_components: int, rng: np.random.Generator) -> np.ndarray:
    return rng.choice(n_stores, size=n_components, replace=False)


def _kmeans_pp(stats: SufficientStats, n_components: int, rng: np.random.Generator) -> np.ndarray:
    picks = [int(rng.integers(stats.n_stores))]
    nearest = _gram_distance(stats, stats.ols[picks[0]])
    for _ in range(1, n_components):
        total = nearest.sum()
        if total > 0:
            choice = int(rng.choice(stats.n_stores, p=nearest / total))
        else:  # every store sits on a chosen centre: any unchosen store will do
            choice = int(rng.choice(np.setdiff1d(np.arange(stats.n_stores), picks)))
        picks.append(choice)
        nearest = np.minimum(nearest, _gram_distance(stats, stats.ols[choice]))
        nearest[picks] = 0.0
    return np.asarray(picks)


def _gram_distance(stats: SufficientStats, centre: np.ndarray) -> np.ndarray:
    """(b_i - centre)' G_i (b_i - centre) for every store, shape (N,)."""
    diff = stats.ols - centre
    if stats.shared_gram:
        return np.einsum("np,pq,nq->n", diff, stats.gram, diff)
    return np.einsum("np,npq,nq->n", diff, stats.gram, diff)
