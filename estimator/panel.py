"""Validated store panels and their per-store sufficient statistics.

A :class:`Panel` holds log sales ``y`` (N stores x T weeks) and the design
``X`` (T weeks x P regressors, by default ``[1, log price]``). Everything the
EM engine needs is in :class:`SufficientStats`: by the identity

    ||y_i - X theta||^2 = RSS_i + (b_i - theta)' X'X (b_i - theta),

one pass over the data (each store's own OLS ``b_i`` and residual sum of
squares ``RSS_i``) replaces the N x T matrix in every later iteration.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .params import DEFAULT_COEF_NAMES, default_coef_names
from .validation import check_instance

PRICE_COLUMN = "Price"
"""The wide CSV's price column (read by :mod:`estimator.csvio`)."""


@dataclass(frozen=True, eq=False)
class Panel:
    """A balanced store panel.

    Attributes
    ----------
    y : ndarray of shape (N, T)
        Log sales, stores x weeks.
    X : ndarray of shape (T, P)
        Design shared by every store; column 0 is the intercept, column 1 log price.
    store_ids : tuple of hashable, length N
        Store names (the CSV's or DataFrame's column names).
    coef_names : tuple of str, length P
        Names of the per-segment coefficients (``alpha``, ``beta``, ...).
    source : str
        Where the panel came from (a file path, or ``"<arrays>"``).
    covariates : ndarray of shape (N, Q) or None
        Store covariates of a concomitant prior.
    covariate_names : tuple of str or None
    """

    y: np.ndarray
    X: np.ndarray
    store_ids: tuple[str, ...]
    coef_names: tuple[str, ...] = DEFAULT_COEF_NAMES
    source: str = "<arrays>"
    covariates: np.ndarray | None = None
    covariate_names: tuple[str, ...] | None = None

    @property
    def n_stores(self) -> int:
        """Number of stores N."""
        return self.y.shape[0]

    @property
    def n_weeks(self) -> int:
        """Number of weeks T."""
        return self.y.shape[1]

    def sufficient_stats(self) -> SufficientStats:
        """Per-store sufficient statistics of this panel (see :func:`sufficient_stats`)."""
        return sufficient_stats(self.y, self.X)


@dataclass(frozen=True, eq=False)
class SufficientStats:
    """Per-store sufficient statistics: all the EM engine ever reads.

    Attributes
    ----------
    ols : ndarray of shape (N, P)
        Each store's own least-squares coefficients b_i.
    rss : ndarray of shape (N,)
        Each store's residual sum of squares at b_i.
    gram : ndarray of shape (P, P) or (N, P, P)
        X'X, shared by all stores (balanced panel, common prices) or per store.
    n_obs : ndarray of shape (N,)
        Number of weeks observed for each store.
    """

    ols: np.ndarray
    rss: np.ndarray
    gram: np.ndarray
    n_obs: np.ndarray

    def __getstate__(self) -> dict[str, np.ndarray]:
        """The four arrays only: what is cached on the object (its component driver) is
        rebuilt where it is unpickled, not shipped to every worker."""
        return {key: value for key, value in self.__dict__.items() if not key.startswith("_")}

    @property
    def n_stores(self) -> int:
        """Number of stores N."""
        return self.ols.shape[0]

    @property
    def n_coef(self) -> int:
        """Number of regressors P."""
        return self.ols.shape[1]

    @property
    def n_total(self) -> float:
        """Total number of store-week observations (N*T for a balanced panel)."""
        return float(self.n_obs.sum())

    @property
    def shared_gram(self) -> bool:
        """True when every store has the same X'X."""
        return self.gram.ndim == 2


def design_matrix(prices: np.ndarray) -> np.ndarray:
    """Return the assignment's design ``[1, log p_t]``.

    Parameters
    ----------
    prices : array_like of shape (T,)
        Positive prices.

    Returns
    -------
    X : ndarray of shape (T, 2)
    """
    prices = np.asarray(prices, dtype=float)
    if prices.ndim != 1:
        raise ValueError(f"prices must be one-dimensional (T,), got shape {prices.shape}")
    if not np.all(np.isfinite(prices)) or np.any(prices <= 0):
        raise ValueError("prices must be finite and positive (log price is undefined otherwise)")
    return np.column_stack([np.ones_like(prices), np.log(prices)])


def check_y_X(y: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate log sales and design and return them as float arrays.

    Parameters
    ----------
    y : array_like of shape (N, T)
        Log sales, stores x weeks.
    X : array_like of shape (T, P)
        Design matrix.

    Returns
    -------
    y : ndarray of shape (N, T)
    X : ndarray of shape (T, P)

    Raises
    ------
    ValueError
        On wrong dimensions, y passed as weeks x stores, non-finite values,
        fewer weeks than regressors, or a rank-deficient X.
    """
    y = np.asarray(y, dtype=float)
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D array of shape (T, P), got shape {X.shape}")
    if y.ndim != 2:
        raise ValueError(f"y must be a 2-D array of shape (N, T) = (stores, weeks), got {y.shape}")
    n_weeks, n_coef = X.shape
    if y.shape[1] != n_weeks:
        if n_coef == y.shape[1] and n_weeks < n_coef:
            raise ValueError(
                f"X has shape {X.shape} but y has {y.shape[1]} weeks: X looks like regressors x "
                f"weeks; pass X.T so that X is (T, P) = ({y.shape[1]}, {n_weeks})"
            )
        if y.shape[0] == n_weeks:
            raise ValueError(
                f"y has shape {y.shape} but X has {n_weeks} rows (weeks): y looks like weeks x "
                f"stores; pass y.T so that y is (N, T) = (stores, weeks)"
            )
        raise ValueError(
            f"y has shape {y.shape} but X has {n_weeks} rows: y must be (N, T) with T = {n_weeks}"
        )
    if y.shape[0] == 0:
        raise ValueError("y has no stores (N = 0)")
    if n_weeks < n_coef:
        raise ValueError(
            f"{n_weeks} weeks is fewer than the {n_coef} regressors: each store's regression "
            "is not identified"
        )
    if not np.all(np.isfinite(X)):
        raise ValueError("X contains NaN or infinite values")
    if not np.all(np.isfinite(y)):
        store, week = np.argwhere(~np.isfinite(y))[0]
        raise ValueError(f"y contains a NaN or infinite value (store {store}, week {week})")
    if np.linalg.matrix_rank(X) < n_coef:
        raise ValueError(
            "X'X is singular: a regressor is constant or collinear (does the price ever vary?)"
        )
    return y, X


def panel_from_arrays(
    y: np.ndarray,
    X: np.ndarray,
    store_ids: Sequence[str] | None = None,
    coef_names: Sequence[str] | None = None,
    source: str = "<arrays>",
) -> Panel:
    """Build a validated :class:`Panel` from log sales and a design.

    Parameters
    ----------
    y : array_like of shape (N, T)
        Log sales, stores x weeks.
    X : array_like of shape (T, P)
        Design matrix.
    store_ids : sequence of str of length N, optional
        Defaults to ``store1 .. storeN``.
    coef_names : sequence of str of length P, optional
        Defaults to ``alpha, beta`` for P = 2, ``x0 .. x{P-1}`` otherwise.
    source : str
        A label for error messages and results.
    """
    y, X = check_y_X(y, X)
    n_stores, n_coef = y.shape[0], X.shape[1]
    ids = (
        tuple(store_ids)
        if store_ids is not None
        else tuple(f"store{i + 1}" for i in range(n_stores))
    )
    if len(ids) != n_stores:
        raise ValueError(f"store_ids has {len(ids)} names for {n_stores} stores")
    if coef_names is None:
        coef_names = default_coef_names(n_coef)
    if len(coef_names) != n_coef:
        raise ValueError(f"coef_names has {len(coef_names)} names for {n_coef} columns of X")
    return Panel(y=y, X=X, store_ids=ids, coef_names=tuple(coef_names), source=source)


def sufficient_stats(y: np.ndarray, X: np.ndarray) -> SufficientStats:
    """Compute each store's OLS estimate and residual sum of squares.

    Parameters
    ----------
    y : ndarray of shape (N, T)
        Log sales, stores x weeks (already validated).
    X : ndarray of shape (T, P)
        Design shared by all stores.

    Returns
    -------
    SufficientStats
        With a shared (P, P) Gram matrix.
    """
    # one QR of the shared design serves every store: b_i = R^-1 Q' y_i
    q, r = np.linalg.qr(X)
    ols = np.ascontiguousarray(np.linalg.solve(r, (y @ q).T).T)
    residuals = y - ols @ X.T
    rss = np.einsum("nt,nt->n", residuals, residuals)
    n_obs = np.full(y.shape[0], float(y.shape[1]))
    return SufficientStats(ols=ols, rss=rss, gram=X.T @ X, n_obs=n_obs)


def as_stats(data: object, name: str = "data") -> SufficientStats:
    """The sufficient statistics of ``data``: SufficientStats as is, or a panel's.

    Parameters
    ----------
    data : SufficientStats, Panel, LongPanel
        Anything with a ``sufficient_stats()`` method will do.
    name : str
        The argument's name, for the message.

    Raises
    ------
    TypeError
        ``data`` is none of these (arrays included: build a panel first).
    """
    if isinstance(data, SufficientStats):
        return data
    method = getattr(data, "sufficient_stats", None)
    if callable(method):
        return check_instance(method(), f"{name}.sufficient_stats()", SufficientStats)
    hint = (
        "; for arrays y (N, T) and X (T, P) pass panel_from_arrays(y, X)"
        if isinstance(data, np.ndarray | tuple | list)
        else ""
    )
    raise TypeError(
        f"{name} must be SufficientStats or a panel (Panel, LongPanel: anything with a "
        f"sufficient_stats() method), got {type(data).__name__}{hint}"
    )


def concat_stats(parts: Iterable[SufficientStats]) -> SufficientStats:
    """Stack the statistics of disjoint sets of stores (for panels built in chunks).

    Parameters
    ----------
    parts : iterable of SufficientStats
        Chunks of stores; shared Gram matrices must be identical to be kept shared.

    Returns
    -------
    SufficientStats
        All stores, in the order given.
    """
    parts = list(parts)
    if not parts:
        raise ValueError("concat_stats needs at least one chunk")
    first = parts[0].gram
    if all(p.shared_gram and np.array_equal(p.gram, first) for p in parts):
        gram = first
    else:
        gram = np.concatenate([_per_store_gram(p) for p in parts])
    return SufficientStats(
        ols=np.concatenate([p.ols for p in parts]),
        rss=np.concatenate([p.rss for p in parts]),
        gram=gram,
        n_obs=np.concatenate([p.n_obs for p in parts]),
    )


def _per_store_gram(stats: SufficientStats) -> np.ndarray:
    if stats.shared_gram:
        return np.broadcast_to(stats.gram, (stats.n_stores, *stats.gram.shape))
    return stats.gram
