"""The general front: any Gaussian mixture of regressions, grouped or not, from a formula.

:class:`MixtureRegression` is a thin front over
:class:`~estimator.estimator_base.MixtureEstimator` (scikit-learn's and
statsmodels' conventions); its own part is the data: a DataFrame (or CSV path)
and a Wilkinson formula become :class:`~estimator.formula.RegressionData`
through formulaic. Without ``group`` every row is its own unit (the textbook
mixture of regressions); with it the rows of a unit share its segment. A
concomitant formula lets unit covariates drive membership (a multinomial logit
prior). The sales model is the special case ``np.log(sales) ~ np.log(price)``
grouped by store; :class:`~estimator.model.SalesMixture` keeps its own loaders.

Example::

    model = MixtureRegression(2, sigma="segment").fit(df, "y ~ x + I(x**2)")
    model.summary()
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .estimator_base import SAMPLE_UNIT, MixtureEstimator, donor_rows
from .formula import DataLike, RegressionData, new_data, read_table, regression_data
from .options import DEFAULT_GUARD, DEFAULT_INIT, DEFAULT_MAX_ITER, DEFAULT_N_INIT, DEFAULT_TOL


class MixtureRegression(MixtureEstimator):
    """Finite mixture of Gaussian regressions, fitted by EM with restarts and Newton polish.

    Parameters
    ----------
    n_components : int
        Number of segments K.
    formula : str, optional
        ``"response ~ regressors"`` (formulaic; may also be given to :meth:`fit`).
    group : str, optional
        Column naming each row's unit; None: every row is its own unit.
    concomitant : str, optional
        ``"~ z1 + z2"``: unit covariates of a multinomial-logit prior
        (categorical columns dummy-coded); None: constant mixing proportions.
    sigma : {"segment", "common", "fixed"}
        Error standard deviation per segment (default), common, or fixed at 1.
    n_init, init, tol, max_iter, random_state
        As in :class:`~estimator.options.FitOptions`.
    guard : {"size"} or None
        Guard against spurious maxima (:mod:`estimator.guard`); None gives the
        unconstrained maximum-likelihood estimate.

    Attributes
    ----------
    theta_ : ndarray of shape (K, P)
        Coefficients of every segment, in the design's columns (``coef_names_``),
        segments in canonical order.
    pi_ : ndarray of shape (K,)
        Mixing proportions (the mean prior over units with a concomitant).
    gamma_ : ndarray of shape (K, Q) or None
        Concomitant coefficients (last segment the reference, row 0).
    sigma_ : ndarray of shape (K,)
    data_ : RegressionData
        The training data (formula, units, design).
    fit_ : MixtureFit
    """

    _unit = "unit"

    def __init__(
        self,
        n_components: int = 2,
        *,
        formula: str | None = None,
        group: str | None = None,
        concomitant: str | None = None,
        sigma: str = "segment",
        n_init: int = DEFAULT_N_INIT,
        init: str = DEFAULT_INIT,
        tol: float = DEFAULT_TOL,
        max_iter: int = DEFAULT_MAX_ITER,
        random_state: Any = None,
        guard: str | None = DEFAULT_GUARD,
    ) -> None:
        self._store(locals())

    def fit(
        self,
        data: DataLike,
        formula: str | None = None,
        group: str | None = None,
        *,
        unit_data: DataLike | None = None,
    ) -> MixtureRegression:
        """Fit the mixture to ``data``; returns self.

        Parameters
        ----------
        data : DataFrame or CSV path
            One row per observation.
        formula, group : str, optional
            Set the parameters of the same name (as ``set_params`` would).
        unit_data : DataFrame or CSV path, optional
            One row per unit: the ``group`` column and the concomitant covariates.
        """
        if formula is not None:
            self.formula = formula
        if group is not None:
            self.group = group
        self._unit_data = unit_data
        return super().fit(data)

    def select(
        self, data: DataLike, k_range: Any = (1, 2, 3, 4), criterion: str = "bic"
    ) -> pd.DataFrame:
        """Fit every K of ``k_range``; self is fitted at the one ``criterion`` chooses.

        Returns the criteria table (as :func:`~estimator.model.select_k`).
        """
        table, _ = self._select(data, k_range, criterion)
        return table

    # -- the front's part -----------------------------------------------------

    def _panel(self, data: Any, train: RegressionData | None) -> RegressionData:
        if train is not None:
            return new_data(train, data)
        if self.formula is None:
            raise ValueError(
                "formula is missing: MixtureRegression(formula=...) or fit(data, formula)"
            )
        return regression_data(
            data, self.formula, self.group, self.concomitant, getattr(self, "_unit_data", None)
        )

    def _form(self, data: Any) -> pd.DataFrame:
        return read_table(data, "data")[0]

    def _draw_units(self, labels: np.ndarray, rng: np.random.Generator) -> RegressionData:
        raise NotImplementedError  # sample() is this front's own (the donors come first)

    def sample(self, n_samples: int = 1, *, random_state: Any = None) -> tuple[Any, Any]:
        """Draw ``n_samples`` new units from the fitted model, each with a training unit's design.

        Each new unit takes the rows (regressors, covariates) of a training unit drawn
        at random; its segment is drawn from pi (or pi(z) of that unit's covariates),
        its responses from y = X theta_c + sigma_c eps.

        Returns
        -------
        data : DataFrame
            The donors' rows with the response drawn: the response column replaced
            when the formula's left side is a column, else added under the left
            side's name; the group column holds the new ids ``sample1``...
            (added as ``unit`` without a group).
        labels : Series
            Every new unit's segment (0-based), indexed by its id.
        """
        n_samples, rng = self._sampling(n_samples, random_state)
        train: RegressionData = self._train.panel
        donors = rng.integers(train.n_units, size=n_samples)
        labels = self._draw_labels(n_samples, rng, donors)
        rows, unit = donor_rows(train.unit, train.n_units, donors)
        mean = np.einsum("mp,mp->m", train.X[rows], self.theta_[labels[unit]])
        y = mean + self.sigma_[labels[unit]] * rng.standard_normal(rows.size)
        frame = self._train.form.iloc[rows].reset_index(drop=True).copy()
        frame[train.response] = y
        ids = [SAMPLE_UNIT.format(i + 1) for i in range(n_samples)]
        frame[self.group or "unit"] = [ids[u] for u in unit]
        return frame, pd.Series(labels, index=pd.Index(ids, name=self._unit))
