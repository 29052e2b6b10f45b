"""Unbalanced panels and store-specific designs: one row per observed store-week.

A :class:`LongPanel` holds every observed store-week as a row: the store it
belongs to, log sales, and that row's regressors (intercept, log price, then
any extra regressors such as a promotion flag). Its sufficient statistics have
one Gram matrix per store, G_i = X_i'X_i, so the same engine fits it.

Sources: the wide CSV with ``missing="drop"`` (:func:`estimator.panel.load_csv`),
a long CSV with columns ``store, week, sales, price`` and optional extra
regressor columns (:func:`load_long_csv`), or arrays (:func:`long_from_arrays`).
:func:`load_panel` reads either layout (detected from the header, or named).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from .panel import (
    DEFAULT_COEF_NAMES,
    PRICE_COLUMN,
    Panel,
    SufficientStats,
    _numeric_column,
    _read_header,
    _row,
    load_csv,
)

LONG_COLUMNS = ("store", "week", "sales", "price")


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
    store_ids : tuple of str, length N
        Names of the stores kept.
    coef_names : tuple of str, length P
    source : str
    excluded : tuple of (str, str)
        Stores left out and why.
    """

    store: np.ndarray
    week: np.ndarray
    y: np.ndarray
    X: np.ndarray
    store_ids: tuple[str, ...]
    coef_names: tuple[str, ...]
    source: str
    excluded: tuple[tuple[str, str], ...] = ()

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
    store_ids : sequence of str of length N, optional
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
            f"{n_coef} regressors: {', '.join(name for name, _ in excluded[:10])}"
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
        coef_names = DEFAULT_COEF_NAMES if n_coef == 2 else tuple(f"x{j}" for j in range(n_coef))
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


def load_long_csv(path: str | Path, extra: Sequence[str] | None = None) -> LongPanel:
    """Load a long CSV: one row per store-week with columns store, week, sales, price.

    Parameters
    ----------
    path : str or Path
    extra : sequence of str, optional
        Extra regressor columns (for example ``promo``), in this order after
        the intercept and log price. Default: every column besides the four.

    Returns
    -------
    LongPanel
        coef_names = ("alpha", "beta", *extra).

    Raises
    ------
    ValueError
        Naming the file and the column and row at fault: missing file or
        columns, empty/NaN/non-numeric cells, non-positive sales or prices,
        a (store, week) pair given twice.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: file not found")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: cannot be parsed as CSV: {err}") from err
    frame.columns = [str(c).strip() for c in frame.columns]
    absent = [c for c in LONG_COLUMNS if c not in frame.columns]
    if absent:
        raise ValueError(f"{path}: missing column(s) {absent}; a long file needs {LONG_COLUMNS}")
    duplicated = frame.columns[frame.columns.duplicated()].tolist()
    if duplicated:
        raise ValueError(f"{path}: duplicate column name(s) {duplicated}")
    extra = [c for c in frame.columns if c not in LONG_COLUMNS] if extra is None else list(extra)
    unknown = [c for c in extra if c not in frame.columns]
    if unknown:
        raise ValueError(f"{path}: extra regressor column(s) {unknown} not in the file")
    if frame.empty:
        raise ValueError(f"{path}: no data rows")
    names = frame["store"].astype(str).str.strip()
    weeks = frame["week"].astype(str).str.strip()
    empty = np.flatnonzero((names == "").to_numpy() | (weeks == "").to_numpy())
    if empty.size:
        raise ValueError(f"{path}: {_row(int(empty[0]))}: empty store or week")
    pairs = pd.Series(list(zip(names, weeks, strict=True)))
    twice = np.flatnonzero(pairs.duplicated().to_numpy())
    if twice.size:
        row = int(twice[0])
        raise ValueError(
            f"{path}: {_row(row)}: store {names.iloc[row]!r}, week {weeks.iloc[row]!r} "
            "appears more than once"
        )
    values = {c: _numeric_column(frame[c], c, path) for c in ("sales", "price", *extra)}
    for column in ("sales", "price"):
        bad = np.flatnonzero(values[column] <= 0)
        if bad.size:
            row = int(bad[0])
            raise ValueError(
                f"{path}: column {column!r}, {_row(row)}: value {values[column][row]:g} is not "
                "positive (the log is undefined)"
            )
    codes, store_ids = pd.factorize(names, sort=False)
    X = np.column_stack([np.ones(len(frame)), np.log(values["price"]), *(values[c] for c in extra)])
    return long_from_arrays(
        codes,
        weeks.to_numpy(),
        np.log(values["sales"]),
        X,
        store_ids=[str(s) for s in store_ids],
        coef_names=(*DEFAULT_COEF_NAMES, *extra),
        source=str(path),
    )


DataFormat = Literal["auto", "wide", "long"]


def detect_format(path: str | Path) -> Literal["wide", "long"]:
    """Say whether a sales CSV is wide (``Price`` and one column per store) or long.

    Long when the header has no ``Price`` column but names any of ``store``,
    ``week``, ``sales``, ``price`` (so a long file missing one of them still
    gets the long loader's message naming the missing column); wide otherwise.

    Parameters
    ----------
    path : str or Path

    Raises
    ------
    ValueError
        The file is missing, empty or not UTF-8 text.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: file not found")
    header = _read_header(path)
    if PRICE_COLUMN not in header and any(name in header for name in LONG_COLUMNS):
        return "long"
    return "wide"


def load_panel(
    path: str | Path,
    data_format: DataFormat = "auto",
    missing: str = "error",
    extra: Sequence[str] | None = None,
) -> Panel | LongPanel:
    """Load a sales CSV in either layout (one entry point for scripts and the CLI).

    Parameters
    ----------
    path : str or Path
    data_format : {"auto", "wide", "long"}
        ``"auto"`` uses :func:`detect_format`.
    missing : {"error", "drop"}
        Wide files only (see :func:`estimator.panel.load_csv`); a long file lists
        only the store-weeks observed, so there is nothing to drop.
    extra : sequence of str, optional
        Long files only: the extra regressor columns, in order (default: every
        column besides store, week, sales, price).

    Returns
    -------
    Panel or LongPanel
        A balanced :class:`~estimator.panel.Panel` for a complete wide file, else a
        :class:`LongPanel` (its ``excluded`` lists the stores left out).

    Raises
    ------
    ValueError
        Unknown format, options that do not apply to the format, and every
        error of the loaders (naming the file, column and row).
    """
    if data_format not in ("auto", "wide", "long"):
        raise ValueError(f"format must be 'auto', 'wide' or 'long', got {data_format!r}")
    resolved = detect_format(path) if data_format == "auto" else data_format
    if resolved == "wide":
        if extra:
            raise ValueError(
                f"{path}: extra regressors {list(extra)} need the long format (store, week, "
                "sales, price, extras); a wide file has sales and one price per week only"
            )
        return load_csv(path, missing=missing)
    if missing != "error":
        raise ValueError(
            f"{path}: missing={missing!r} applies to wide files; a long file simply leaves "
            "out the store-weeks not observed"
        )
    return load_long_csv(path, extra=extra)
