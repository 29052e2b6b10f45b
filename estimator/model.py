"""The scikit-learn-style front for sales data: :class:`SalesMixture` and :func:`select_k`.

:class:`SalesMixture` is a thin front over
:class:`~estimator.estimator_base.MixtureEstimator`, which holds the
scikit-learn and statsmodels conventions (parameters, fitting, prediction,
scoring, criteria, ``sample``, ``summary``, labels). Its own part is the data:
a :class:`~estimator.panel.Panel`, a :class:`~estimator.longpanel.LongPanel`,
a wide or long pandas DataFrame, a CSV path, or ``(y, X)`` arrays become a
panel of stores (see :func:`~estimator.csvio.as_panel`, which also names the
coefficients: alpha, beta and any extra regressors); for new data an array
``y`` alone is read at the training prices; drawn data are given back in the
form the model was fitted in. Per-store outputs are DataFrames/Series indexed
by store id for DataFrame input and ndarrays otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from .csvio import as_panel, detect_format, long_frame, price_frame, wide_frame
from .estimator_base import MixtureEstimator
from .formula import unit_covariates, unit_table
from .longpanel import LongPanel
from .options import DEFAULT_GUARD, DEFAULT_INIT, DEFAULT_MAX_ITER, DEFAULT_N_INIT, DEFAULT_TOL
from .panel import Panel, panel_from_arrays
from .selection import DEFAULT_K_RANGE


@dataclass(frozen=True, eq=False)
class _SalesForm:
    """The form sales data came in, so drawn stores can be given back in it.

    Attributes
    ----------
    kind : {"wide", "long", "arrays", "panel"}
        A wide or long DataFrame, a tuple (y, X), or anything else (a panel, a path).
    prices : DataFrame of shape (T, 1) or None
        A wide frame's price column, with its index.
    units : DataFrame or None
        With a concomitant prior: one row per store, ``store`` and the raw
        covariate columns (drawn stores carry their donors').
    """

    kind: Literal["wide", "long", "arrays", "panel"]
    prices: pd.DataFrame | None = None
    units: pd.DataFrame | None = None


class SalesMixture(MixtureEstimator):
    """Finite mixture of store-level price regressions, fitted by EM with restarts.

    Parameters
    ----------
    n_components : int
        Number of segments K.
    sigma : {"fixed", "common", "segment"}
        Error standard deviation: fixed at 1 (the assignment's model), one for
        all segments, or one per segment.
    n_init : int
        Number of EM starts; the best is kept.
    init : {"kmeans++", "stores", "partition", "mixed"}
        Starting-value scheme.
    tol : float
        Relative change in log-likelihood at which EM stops.
    max_iter : int
        Maximum EM iterations per start.
    random_state : int, SeedSequence, Generator or None
        Seed of the starting values (and of :meth:`sample`).

    Data (``fit``, ``fit_predict``, ``predict_proba``, ``predict``, ``score_samples``,
    ``score``, ``criteria``): a Panel, LongPanel, wide or long DataFrame, CSV path
    or ``(y, X)`` (see :func:`~estimator.csvio.as_panel`; NaN cells of a wide
    DataFrame are weeks the store was not observed); for new stores also an
    array y (N, T) of log sales at the training prices. New stores may have
    their own prices and missing weeks. ``sample`` gives drawn stores back in the
    form the model was fitted in: a wide DataFrame (the training weeks and
    prices), a long DataFrame, ``(y, X)``, or a panel.

    Attributes
    ----------
    theta_ : ndarray of shape (K, P)
        Segment coefficients (alpha_c, beta_c, extras), segments by ascending alpha.
    pi_ : ndarray of shape (K,)
    sigma_ : ndarray of shape (K,)
        Error standard deviations (all 1 when fixed).
    loglik_ : float
        Log-likelihood of the training data.
    n_iter_ : int
    converged_ : bool
    n_starts_at_best_ : int
        Starts within 1e-6 (relative) of the best log-likelihood.
    posteriors_ : ndarray or DataFrame of shape (N, K)
        Posterior segment probabilities of the training stores (DataFrame
        input: indexed by store id, columns ``segment_1`` .. ``segment_K``).
    labels_ : ndarray or Series of shape (N,)
        Most likely segment (0-based) of every training store.
    store_ids_ : tuple, length N
    coef_names_ : tuple of str, length P
    n_features_in_ : int
        P, the regressors of every store-week (intercept, log price, extras):
        new data must have the same.
    fit_ : MixtureFit
        The complete result of :func:`~estimator.fit.fit_mixture`.
    """

    _unit = "store"

    def __init__(
        self,
        n_components: int = 3,
        *,
        sigma: str = "fixed",
        n_init: int = DEFAULT_N_INIT,
        init: str = DEFAULT_INIT,
        tol: float = DEFAULT_TOL,
        max_iter: int = DEFAULT_MAX_ITER,
        random_state: Any = None,
        concomitant: str | None = None,
        guard: str | None = DEFAULT_GUARD,
    ) -> None:
        self._store(locals())

    def fit(self, data: Any, *, unit_data: Any = None) -> SalesMixture:
        """Fit the mixture to ``data``; returns self.

        Parameters
        ----------
        data : Panel, LongPanel, DataFrame (wide or long), CSV path or (y, X)
        unit_data : DataFrame or CSV path, optional
            With ``concomitant``: one row per store, a ``store`` column (the
            store ids, e.g. the wide CSV's column names) and the covariates; else
            the covariates are read from a long DataFrame's columns.
        """
        self._unit_data = unit_data
        return super().fit(data)

    # -- the front's part: sales data <-> panels ------------------------------

    def _panel(self, data: Any, train: Panel | LongPanel | None) -> Panel | LongPanel:
        if train is not None and isinstance(data, np.ndarray):
            if not isinstance(train, Panel):
                raise ValueError(
                    "y alone needs the training prices, but the model was fitted to an "
                    "unbalanced panel; pass (y, X)"
                )
            panel = panel_from_arrays(y=data, X=train.X, coef_names=train.coef_names, source="<y>")
        else:
            panel = as_panel(data)
        if self.concomitant is None:
            return panel
        source = data if isinstance(data, pd.DataFrame | str | os.PathLike) else None
        unit_data = getattr(self, "_unit_data", None) if train is None else None
        if source is not None and detect_format(source) == "wide":
            source = None  # a wide table has no store covariates
        spec = None if train is None else self._concomitant_spec
        covariates, names, spec = unit_covariates(
            self.concomitant, panel.store_ids, "store", source, unit_data, spec
        )
        if train is None:
            self._concomitant_spec = spec
        return replace(panel, covariates=covariates, covariate_names=names)

    def _form(self, data: Any) -> _SalesForm:
        units = None
        if self.concomitant is not None:
            units = unit_table(
                self.concomitant,
                "store",
                data if isinstance(data, pd.DataFrame) else None,
                getattr(self, "_unit_data", None),
            )
        if isinstance(data, pd.DataFrame):
            if detect_format(data) == "wide":
                return _SalesForm("wide", price_frame(data), units)
            return _SalesForm("long", units=units)
        return _SalesForm("arrays" if isinstance(data, tuple) else "panel", units=units)

    def _unpanel(self, panel: Panel | LongPanel, form: _SalesForm) -> Any:
        """Drawn stores: a wide or long DataFrame, (y, X), or the panel, as the training data.

        With a concomitant prior the stores are given back long, with their donors'
        covariate columns (a wide table has no place for them).
        """
        if form.units is not None:
            frame = long_frame(panel)
            donors = form.units.set_index("store").loc[list(self._train.panel.store_ids)]
            covariates = donors.iloc[self._donors].reset_index(drop=True)
            covariates.index = pd.Index(panel.store_ids)
            return frame.join(covariates, on="store")
        if form.kind == "wide":
            return wide_frame(panel, form.prices)
        if form.kind == "long":
            return long_frame(panel)
        if form.kind == "arrays":
            return panel.y, panel.X
        return panel


def select_k(
    data: Any,
    k_range: Iterable[int] = DEFAULT_K_RANGE,
    criterion: str = "bic",
    **params: Any,
) -> tuple[pd.DataFrame, SalesMixture]:
    """Fit every K in ``k_range`` and return the criteria table and the model at the chosen K.

    Runs :func:`~estimator.selection.fit_k_range` (each K draws its starts from
    its own child stream of ``random_state``, so with the same settings the
    table equals ``python -m experiments.fit_real``'s).

    Parameters
    ----------
    data : as for :meth:`SalesMixture.fit`
    k_range : iterable of int
        Checked whole (every K at most the number of stores) before any fit.
    criterion : str
        One of :data:`~estimator.selection.CRITERIA`; lowest wins (among
        non-degenerate fits).
    **params
        :class:`SalesMixture` parameters besides ``n_components`` (``sigma``,
        ``n_init``, ``init``, ``tol``, ``max_iter``, ``random_state``).

    Returns
    -------
    table : DataFrame
        Indexed by K: loglik, n_params, every criterion, converged, at_best,
        and ``chosen`` (True at the chosen K).
    model : SalesMixture
        Fitted at the chosen K (the fit from the range, not refitted).
    """
    if "n_components" in params:
        raise ValueError("select_k chooses n_components; pass k_range instead")
    return SalesMixture().set_params(**params)._select(data, k_range, criterion)
