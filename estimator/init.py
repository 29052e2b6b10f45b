"""Starting values for EM, and the seeding convention shared by the whole product.

Four schemes, each over the stores' own OLS estimates b_i:

* ``"kmeans++"``: the first centre is a random store, each next one a store drawn
  with probability proportional to its squared distance (in the store's Gram
  metric, the one the likelihood uses) to the nearest centre chosen so far;
* ``"small"``: k-means++ groups with one segment cut down to a few stores
  (:func:`_small_group`);
* ``"stores"``: K distinct random stores' b_i are the segment centres;
* ``"partition"``: the stores are split into K random groups (of random sizes)
  and each segment starts at its group's pooled least-squares fit, with pi the
  group shares (flexmix's random-assignment start).

``"mixed"`` (the default) cycles through :data:`MIXED_CYCLE`, k-means++ first, so
that the starts are not all alike: k-means++ starts are correlated and can all fall
into the same lesser mode. Mixing probabilities start uniform except for the
grouped schemes (their groups' shares).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from .driver import ComponentDriver, component_driver
from .panel import SufficientStats
from .params import SigmaMode
from .validation import check_seed

InitMethod = Literal["mixed", "kmeans++", "stores", "partition", "small"]
INIT_METHODS: tuple[str, ...] = ("mixed", "kmeans++", "stores", "partition", "small")
MIXED_CYCLE: tuple[str, ...] = ("kmeans++", "small", "small", "partition")
"""The order in which ``"mixed"`` cycles through the schemes."""
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
    check_seed(seed, "seed")
    if isinstance(seed, np.random.Generator):
        seed = int(seed.integers(2**63))
    if isinstance(seed, np.random.SeedSequence):
        return np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, *keys))
    return np.random.SeedSequence(seed, spawn_key=tuple(keys))


def as_generator(seed: SeedLike) -> np.random.Generator:
    """Return a numpy Generator for ``seed`` (a Generator is returned as is)."""
    check_seed(seed, "seed")
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def starting_values(
    stats: SufficientStats,
    n_components: int,
    n_init: int,
    seed: SeedLike = None,
    method: InitMethod = "mixed",
    driver: ComponentDriver | None = None,
    sigma_mode: SigmaMode = "fixed",
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n_init`` starting points for EM: (theta (R, K, P), pi (R, K)).

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
    method : {"mixed", "kmeans++", "stores", "partition"}
        Scheme (see the module docstring).
    driver : ComponentDriver, optional
        The component driver of ``stats`` when the caller has one already.
    sigma_mode : {"fixed", "common", "segment"}
        The fit's sigma mode. With ``"segment"`` the small-group scheme aims at the
        stores that fit most closely (see :func:`_small_group`).
    """
    driver = component_driver(stats) if driver is None else driver
    return starting_points(driver, n_components, n_init, seed, method, sigma_mode)[:2]


def starting_points(
    driver: ComponentDriver,
    n_components: int,
    n_init: int,
    seed: SeedLike,
    method: InitMethod,
    sigma_mode: SigmaMode,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`starting_values`' draws from ``driver``, with each group's own sigma.

    Returns
    -------
    theta : ndarray of shape (R, K, P)
    pi : ndarray of shape (R, K)
    sigma : ndarray of shape (R, K)
        For the grouped schemes (``"small"``, ``"partition"``), every group's own
        residual standard deviation at its pooled fit (a start for per-segment
        sigma: a small group of stores that fit closely starts with a small
        sigma); NaN for the others.
    """
    stats = driver.stats
    if method not in INIT_METHODS:
        raise ValueError(f"init method must be one of {INIT_METHODS}, got {method!r}")
    if n_init < 1:
        raise ValueError(f"n_init must be at least 1, got {n_init}")
    if not 1 <= n_components <= stats.n_stores:
        raise ValueError(f"K = {n_components} segments needs 1 <= K <= N = {stats.n_stores} stores")
    rng = as_generator(seed)
    theta = np.empty((n_init, n_components, stats.n_coef))
    pi = np.full((n_init, n_components), 1.0 / n_components)
    sigma = np.full((n_init, n_components), np.nan)
    for r in range(n_init):
        scheme = MIXED_CYCLE[r % len(MIXED_CYCLE)] if method == "mixed" else method
        if scheme == "partition" and n_components > 1:
            theta[r], pi[r], sigma[r] = _random_partition(driver, n_components, rng)
        elif scheme == "small" and n_components > 1:
            theta[r], pi[r], sigma[r] = _small_group(
                driver, n_components, rng, sigma_mode == "segment"
            )
        else:
            if scheme == "kmeans++":
                theta[r] = _kmeans_pp(driver, n_components, rng)[1]
            else:
                picks = _random_stores(stats.n_stores, n_components, rng)
                theta[r] = [_centre(driver, int(p), rng) for p in picks]
            if sigma_mode == "segment" and not driver.full_rank.all():
                sigma[r] = _local_sigma(driver, theta[r])
    return theta, pi, sigma


def _local_sigma(driver: ComponentDriver, centres: np.ndarray) -> np.ndarray:
    """Each centre's residual SD over the 1/K of the units it fits best, (K,).

    A line drawn through a few observations of a segment that lies on (nearly) an
    exact line then starts with that segment's small sigma, and EM keeps it there.
    """
    n_keep = max(1, driver.n_stores // len(centres))
    sigma = np.empty(len(centres))
    for c, centre in enumerate(centres):
        deviance = driver.distance_to(centre) + driver.stats.rss
        best = np.argpartition(deviance, n_keep - 1)[:n_keep]
        sigma[c] = np.sqrt(deviance[best].sum() / max(driver.n_obs[best].sum(), 1.0))
    return sigma


def _random_stores(n_stores: int, n_components: int, rng: np.random.Generator) -> np.ndarray:
    return rng.choice(n_stores, size=n_components, replace=False)


def _centre(
    driver: ComponentDriver,
    unit: int,
    rng: np.random.Generator,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """A segment centre at ``unit``: its own least-squares fit when that is unique, else
    the pooled fit of the unit and as many more units (drawn with ``weights``, uniform
    by default) as make the regressors identified: a line through a few observations,
    as a random-subset (RANSAC) start draws one."""
    if driver.full_rank[unit]:
        return driver.stats.ols[unit]
    group = [unit]
    gram = driver.unit_gram(unit).copy()
    n_units, n_coef = driver.n_stores, driver.n_coef
    for _ in range(4 * n_coef):
        if np.linalg.matrix_rank(gram) == n_coef or len(group) == n_units:
            break
        p = None if weights is None or weights.sum() <= 0 else weights / weights.sum()
        extra = int(rng.choice(n_units, p=p))
        if extra not in group:
            group.append(extra)
            gram += driver.unit_gram(extra)
    return driver.pooled_fit_of(np.asarray(group))


def _kmeans_pp(
    driver: ComponentDriver, n_components: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """k-means++ over the units: picked units (K,), centres (K, P) and every unit's
    distance to each centre (K, N).

    The next unit is drawn with probability proportional to its distance to the nearest
    centre so far, in the likelihood's metric (D_i(theta) - RSS_i); a unit whose own fit
    is not unique gets a centre through it and a few more units drawn the same way."""
    n_stores = driver.n_stores
    picks = [int(rng.integers(n_stores))]
    centres = [_centre(driver, picks[0], rng)]
    distances = [driver.distance_to(centres[0])]
    nearest = distances[0]
    for _ in range(1, n_components):
        total = nearest.sum()
        if total > 0:
            choice = int(rng.choice(n_stores, p=nearest / total))
        else:  # every store sits on a chosen centre: any unchosen store will do
            choice = int(rng.choice(np.setdiff1d(np.arange(n_stores), picks)))
        picks.append(choice)
        centres.append(_centre(driver, choice, rng, nearest))
        distances.append(driver.distance_to(centres[-1]))
        nearest = np.minimum(nearest, distances[-1])
        nearest[picks] = 0.0
    return np.asarray(picks), np.asarray(centres), np.stack(distances)


def _small_group(
    driver: ComponentDriver,
    n_components: int,
    rng: np.random.Generator,
    close_fitting: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """k-means++ centres, stores to their nearest centre, then one segment cut down to a
    small group (1 store to 10% of them, log-uniform) around an anchor; pooled fits.

    The maxima that decide over-selection often hold a segment of a handful of stores:
    stores far from the rest (the anchor is then that segment's k-means++ centre) or,
    with sigma per segment, stores that fit unusually closely (the anchor is then, half
    the time, a store drawn with probability proportional to its residual precision).
    Starts spread over all stores rarely put a segment there.

    With ``close_fitting`` (sigma per segment) the close-fitting anchor is drawn by
    rank instead, the k-th most precise store with probability proportional to 1/k,
    and its group holds 1 store to 2% of them: the highest maxima at K_true + 1 are
    then often a segment of one or two stores with a small sigma of their own, which
    a draw proportional to precision seldom isolates (the hard case
    k3_n400_t16_promo_sigma at K = 4; docs/engine.md).
    """
    n_stores = driver.n_stores
    stats = driver.stats
    picks, centres, distance = _kmeans_pp(driver, n_components, rng)  # distance (K, N)
    small = int(rng.integers(n_components))
    dof = stats.n_obs - stats.n_coef
    precision = np.where((dof > 0) & (stats.rss > 0), dof / np.maximum(stats.rss, 1e-300), 0.0)
    largest = max(1.0, 0.1 * n_stores)
    if rng.random() < 0.5 and precision.sum() > 0:
        if close_fitting:
            order = np.argsort(-precision, kind="stable")
            weight = np.where(precision[order] > 0, 1.0 / np.arange(1, n_stores + 1), 0.0)
            picks[small] = int(order[rng.choice(n_stores, p=weight / weight.sum())])
            largest = max(1.0, 0.02 * n_stores)
        else:
            picks[small] = int(rng.choice(n_stores, p=precision / precision.sum()))
        centres[small] = stats.ols[picks[small]]  # precision > 0: its own fit is unique
        distance[small] = driver.distance_to(centres[small])
    labels = distance.argmin(axis=0)
    # log-uniform size: groups of a few stores as often as groups of the largest size; a
    # group needs enough units to identify its regression (P + 1 single observations)
    fewest = 1 if driver.full_rank.all() else stats.n_coef + 1
    size = min(n_stores, max(fewest, int(np.exp(rng.uniform(0.0, np.log(largest + 1.0))))))
    nearest = np.argpartition(distance[small], size - 1)[:size]
    in_group = np.zeros(n_stores, dtype=bool)
    in_group[nearest] = True
    moved = (labels == small) & ~in_group  # to their second-nearest centre
    if moved.any():
        others = distance[:, moved]
        others[small] = np.inf
        labels[moved] = others.argmin(axis=0)
    labels[nearest] = small
    return _pooled_fits(driver, labels, n_components, rng)


def _pooled_fits(
    driver: ComponentDriver, labels: np.ndarray, n_components: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pooled fit, share and residual SD of every group (an empty group gets one store)."""
    n_stores = driver.n_stores
    for c in np.setdiff1d(np.arange(n_components), labels):
        labels[rng.integers(n_stores)] = c
    W = np.zeros((1, n_components, n_stores))
    W[0, labels, np.arange(n_stores)] = 1.0
    sums = driver.posterior_sums(W, with_sigma=True)
    step = driver.m_step(sums, "segment")
    return step.theta[0], sums.weight[0] / n_stores, step.sigma[0]


def _random_partition(
    driver: ComponentDriver, n_components: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pooled fits of K random groups of stores (every group non-empty), and their shares."""
    shares = rng.dirichlet(np.ones(n_components))
    labels = rng.choice(n_components, size=driver.n_stores, p=shares)
    return _pooled_fits(driver, labels, n_components, rng)
