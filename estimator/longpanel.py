"""Unbalanced panels and store-specific designs: one row per observed store-week.

A :class:`LongPanel` holds every observed store-week as a row: the store it
belongs to, log sales, and that row's regressors (intercept, log price, then
any extra regressors such as a promotion flag). Its sufficient statistics have
one Gram matrix per store, G_i = X_i'X_i, so the same engine fits it.

Sources: arrays (:func:`long_from_arrays`), a wide panel with missing weeks
(:func:`long_from_wide`); the readers in :mod:`estimator.csvio` build both
from the wide CSV with ``missing="drop"`` and from long CSVs and DataFrames.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .panel import SufficientStats
from .params import default_coef_names


class ExcludedStoresWarning(UserWarning):
    """Some stores had too few observed weeks to be fitted and were left out."""


@dataclass(frozen=True, eq=False)
class LongPanel:
    """Observed store-weeks, each with its own regressors.

    Attributes
    ----------
    store : ndarray of shape (M,)
        Store index (0..N-1) of every row.
    week : ndarray of shape (M,)
        Week label of every row.
    y : ndarray of shape (M,)
        Log sales.
    X : ndarray of shape (M, P)
        Regressors: intercept, log price, extras.
    store_ids : tuple of hashable, length N
        Names of the stores kept.
    coef_names : tuple of str, length P
    source : str
    excluded : tuple of (str, str)
        Stores left out and why.
    covariates : ndarray of shape (N, Q) or None
        Store covariates of a concomitant prior.
    covariate_names : tuple of str or None
    """

    store: np.ndarray
    week: np.ndarray
    y: np.ndarray
    X: np.ndarray
    store_ids: tuple[str, ...]
    coef_names: tuple[str, ...]
    source: str
    excluded: tuple[tuple[str, str], ...] = ()
    covariates: np.ndarray | None = None
    covariate_names: tuple[str, ...] | None = None

    @property
    def n_stores(self) -> int:
        """Number of stores N kept."""
        return len(self.store_ids)

    @property
    def n_weeks(self) -> int:
        """Number of distinct weeks observed."""
        return int(np.unique(self.week).size)

    def sufficient_stats(self) -> SufficientStats:
        """Per-store OLS, RSS, Gram matrix and number of weeks (see :func:`long_stats`)."""
        return long_stats(self.store, self.y, self.X, self.n_stores)


def long_stats(store: np.ndarray, y: np.ndarray, X: np.ndarray, n_stores: int) -> SufficientStats:
    """Sufficient statistics of store-week rows, one Gram matrix per store.

    Parameters
    ----------
    store : ndarray of shape (M,)
        Store index of each row, 0..N-1, every store present.
    y : ndarray of shape (M,)
    X : ndarray of shape (M, P)
    n_stores : int

    Returns
    -------
    SufficientStats
        gram of shape (N, P, P); ols is a least-squares solution per store
        (the minimum-norm one if a store's own G_i is singular: the identity
        ||y_i - X_i t||^2 = RSS_i + (b_i - t)' G_i (b_i - t) holds for any).
    """
    n_coef = X.shape[1]
    outer = (X[:, :, None] * X[:, None, :]).reshape(len(y), -1)
    gram = np.stack(
        [np.bincount(store, weights=outer[:, j], minlength=n_stores) for j in range(n_coef**2)],
        axis=1,
    ).reshape(n_stores, n_coef, n_coef)
    cross = np.stack(
        [np.bincount(store, weights=X[:, j] * y, minlength=n_stores) for j in range(n_coef)],
        axis=1,
    )
    ols = np.einsum("npq,nq->np", np.linalg.pinv(gram, hermitian=True), cross)
    residual = y - np.einsum("mp,mp->m", X, ols[store])
    rss = np.bincount(store, weights=residual**2, minlength=n_stores)
    n_obs = np.bincount(store, minlength=n_stores).astype(float)
    return SufficientStats(ols=ols, rss=rss, gram=gram, n_obs=n_obs)


def long_from_arrays(
    store: np.ndarray,
    week: np.ndarray,
    y: np.ndarray,
    X: np.ndarray,
    store_ids: Sequence[str] | None = None,
    coef_names: Sequence[str] | None = None,
    source: str = "<arrays>",
) -> LongPanel:
    """Build a :class:`LongPanel`, excluding (with a warning) stores with too few weeks.

    Parameters
    ----------
    store : array_like of shape (M,)
        Store index of each row, 0..N-1.
    week : array_like of shape (M,)
    y : array_like of shape (M,)
        Log sales.
    X : array_like of shape (M, P)
    store_ids : sequence of hashable of length N, optional
    coef_names : sequence of str of length P, optional
    source : str
    """
    store = np.asarray(store, dtype=np.int64)
    week = np.asarray(week)
    y = np.asarray(y, dtype=float)
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or y.ndim != 1 or not len(store) == len(week) == len(y) == len(X):
        raise ValueError(
            f"{source}: store, week, y must be (M,) and X (M, P) with the same M; got "
            f"{store.shape}, {week.shape}, {y.shape}, {X.shape}"
        )
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(X))):
        raise ValueError(f"{source}: y and X must be finite")
    n_stores = int(store.max()) + 1 if store.size else 0
    ids = list(store_ids) if store_ids is not None else [f"store{i + 1}" for i in range(n_stores)]
    n_coef = X.shape[1]
    counts = np.bincount(store, minlength=len(ids))
    short = np.flatnonzero(counts < n_coef)
    excluded = tuple((ids[i], f"{counts[i]} week(s) observed, fewer than {n_coef}") for i in short)
    if excluded:
        warnings.warn(
            f"{source}: {len(excluded)} store(s) excluded for having fewer weeks than the "
            f"{n_coef} regressors: {', '.join(str(name) for name, _ in excluded[:10])}"
            + (" ..." if len(excluded) > 10 else ""),
            ExcludedStoresWarning,
            stacklevel=2,
        )
    kept = np.flatnonzero(counts >= n_coef)
    if kept.size == 0:
        raise ValueError(f"{source}: no store has at least {n_coef} observed weeks")
    rows = np.isin(store, kept)
    renumber = np.full(len(ids), -1)
    renumber[kept] = np.arange(kept.size)
    total_gram = X[rows].T @ X[rows]
    if np.linalg.matrix_rank(total_gram) < n_coef:
        raise ValueError(f"{source}: the pooled X'X is singular (a regressor never varies)")
    if coef_names is None:
        coef_names = default_coef_names(n_coef)
    return LongPanel(
        store=renumber[store[rows]],
        week=week[rows],
        y=y[rows],
        X=X[rows],
        store_ids=tuple(ids[i] for i in kept),
        coef_names=tuple(coef_names),
        source=source,
        excluded=excluded,
    )


def long_from_wide(
    y: np.ndarray, X: np.ndarray, store_ids: Sequence[str], source: str
) -> LongPanel:
    """Turn a wide panel with NaN for missing weeks into a :class:`LongPanel`.

    Parameters
    ----------
    y : ndarray of shape (N, T)
        Log sales, NaN where a store was not observed.
    X : ndarray of shape (T, P)
    store_ids : sequence of str of length N
    source : str
    """
    store, week = np.nonzero(np.isfinite(y))
    return long_from_arrays(store, week, y[store, week], X[week], store_ids, None, source)
