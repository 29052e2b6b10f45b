"""What every mixture estimator shares: scikit-learn's and statsmodels' conventions.

:class:`MixtureEstimator` holds the conventions; a front (``SalesMixture`` for
stores x weeks of sales) subclasses it and says only how its data become a
panel of units (:meth:`MixtureEstimator._panel`, which also names the
coefficients) and how drawn data are given back in the form its users fit
(:meth:`MixtureEstimator._unpanel`). Everything numerical is delegated:
:func:`~estimator.fit.fit_mixture` and :func:`~estimator.selection.fit_k_range`
fit, :func:`~estimator.engine.posteriors` and
:func:`~estimator.engine.unit_posteriors` score data through their sufficient
statistics, :func:`~estimator.selection.information_criteria` gives the
criteria, :func:`~estimator.inference.observed_information_se` the standard
errors and :func:`~estimator.driver.simulate_outcomes` draws from the model.

scikit-learn: the constructor only stores its arguments; ``get_params`` /
``set_params`` read their names from the front's ``__init__`` (as
``sklearn.base.BaseEstimator`` does, so ``sklearn.base.clone`` works); ``fit``
returns ``self``; fitted attributes end with an underscore; ``fit_predict``,
``predict``, ``predict_proba``, ``score_samples``, ``score``, ``sample``,
``n_features_in_``; a method that needs a fitted model raises
:class:`NotFittedError`, which is scikit-learn's (so a ``ValueError`` and an
``AttributeError`` too). statsmodels: ``summary()`` (see :mod:`estimator.summary`).

Segment labels: arrays and predictions are 0-based (label c is row c of
``theta_``, entry c of ``pi_`` and column c of ``predict_proba``); everything a
person reads is 1-based: the DataFrame columns ``segment_1`` .. ``segment_K``,
the summary's ``alpha[1]``, messages and the files of the commands.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr

from .driver import simulate_outcomes
from .engine import posteriors, unit_posteriors
from .fit import fit_mixture
from .formula import RegressionData
from .inference import observed_information_se
from .init import as_generator
from .longpanel import LongPanel, long_from_arrays
from .options import DEFAULT_GUARD, FitOptions
from .panel import Panel, SufficientStats, panel_from_arrays
from .results import MixtureFit
from .selection import (
    CRITERIA,
    classification_entropy,
    fit_criteria,
    fit_k_range,
    information_criteria,
)
from .summary import MixtureSummary, parameter_columns
from .validation import check_count, check_finite_result, check_seed

SEGMENT_COLUMN = "segment_{}"
"""Name of segment c's DataFrame column, filled with c + 1 (labels themselves are 0-based)."""
SAMPLE_UNIT = "sample{}"
"""Id of the i-th unit drawn by ``sample``, filled with i + 1."""


@functools.cache
def not_fitted_error() -> type[Exception]:
    """The not-fitted error: scikit-learn's NotFittedError, subclassed.

    Made on first use because importing scikit-learn (with scipy.stats) about
    doubles the import time of every process that only fits.
    """
    from sklearn.exceptions import NotFittedError as SklearnNotFittedError

    class NotFittedError(SklearnNotFittedError):
        """A method that needs a fitted model was called before ``fit``."""

    # picklable (from a worker): the module's __getattr__ gives it by this name
    NotFittedError.__module__, NotFittedError.__qualname__ = __name__, "NotFittedError"
    return NotFittedError


def __getattr__(name: str) -> Any:
    if name == "NotFittedError":
        return not_fitted_error()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def donor_rows(unit: np.ndarray, n_units: int, donors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows of every donor in turn, and the drawn unit (0..len(donors)-1) of each row.

    ``unit`` (M,) gives each row's unit, 0..n_units-1.
    """
    counts = np.bincount(unit, minlength=n_units)
    starts = np.concatenate([[0], np.cumsum(counts)])
    by_unit = np.argsort(unit, kind="stable")
    rows = np.concatenate([by_unit[starts[d] : starts[d + 1]] for d in donors])
    return rows, np.repeat(np.arange(len(donors)), counts[donors])


def segment_columns(n_components: int) -> list[str]:
    """DataFrame column names of the segments: ``segment_1`` .. ``segment_K``."""
    return [SEGMENT_COLUMN.format(c + 1) for c in range(n_components)]


@dataclass(frozen=True, eq=False)
class UnitData:
    """Validated data, their statistics, and how to label per-unit outputs.

    Attributes
    ----------
    panel : Panel or LongPanel
    stats : SufficientStats
    labelled : bool
        DataFrame input: per-unit outputs carry the unit ids.
    unit : str
        What a unit is called (the index name of labelled outputs).
    form : object
        The front's description of the form the data came in (for ``sample``).
    """

    panel: Panel | LongPanel | RegressionData
    stats: SufficientStats
    labelled: bool
    unit: str = "unit"
    form: Any = None

    @property
    def covariates(self) -> np.ndarray | None:
        """Unit covariates of a concomitant prior, (N, Q), or None."""
        return getattr(self.panel, "covariates", None)

    def fit_data(self) -> dict[str, Any]:
        """What fit_mixture and fit_k_range take of the data besides the statistics."""
        return {
            "coef_names": tuple(self.panel.coef_names),
            "covariates": self.covariates,
            "covariate_names": getattr(self.panel, "covariate_names", None),
        }

    def per_unit(self, values: np.ndarray, segments: bool = False) -> Any:
        """``values`` (N,) or (N, K) as given, or labelled by unit id (and segment name)."""
        if not self.labelled:
            return values
        index = pd.Index(self.panel.store_ids, name=self.unit)
        if values.ndim == 1:
            return pd.Series(values, index=index)
        columns = segment_columns(values.shape[1]) if segments else None
        return pd.DataFrame(values, index=index, columns=columns)


class MixtureEstimator:
    """Base of the mixture estimators (module docstring): conventions, no data format.

    A front defines ``__init__`` (keyword parameters ``n_components``, ``sigma``,
    ``n_init``, ``init``, ``tol``, ``max_iter``, ``random_state`` and any of its
    own, stored unchanged by ``self._store(locals())``), :meth:`_panel` and, to
    give drawn data back in its users' form, :meth:`_form` and :meth:`_unpanel`.
    """

    _unit = "unit"
    """What a unit is called in labelled outputs (``"store"`` for sales)."""

    n_components: int
    sigma: str
    n_init: int
    init: str
    tol: float
    max_iter: int
    random_state: Any

    # -- the front's part ---------------------------------------------------

    def _panel(self, data: Any, train: Panel | LongPanel | None) -> Panel | LongPanel:
        """``data`` as a validated panel; ``train`` is the training panel for new data."""
        raise NotImplementedError

    def _form(self, data: Any) -> Any:  # noqa: ARG002
        """What :meth:`_unpanel` needs to give a panel back in the form of ``data``."""
        return None

    def _unpanel(self, panel: Panel | LongPanel, form: Any) -> Any:  # noqa: ARG002
        """A panel in the form described by ``form`` (default: the panel itself)."""
        return panel

    # -- scikit-learn parameter protocol ------------------------------------

    @classmethod
    def _param_names(cls) -> tuple[str, ...]:
        """The constructor's keyword names, as ``sklearn.base.BaseEstimator`` reads them."""
        parameters = inspect.signature(cls.__init__).parameters.values()
        return tuple(p.name for p in parameters if p.name != "self" and p.kind != p.VAR_KEYWORD)

    def _store(self, arguments: dict[str, Any]) -> None:
        """Store the constructor's ``arguments`` (its ``locals()``) unchanged."""
        for name in self._param_names():
            setattr(self, name, arguments[name])

    def get_params(self, deep: bool = True) -> dict[str, Any]:  # noqa: ARG002
        """The constructor arguments, by name (``deep`` is accepted for scikit-learn)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> MixtureEstimator:
        """Set constructor arguments by name; returns self.

        Raises
        ------
        ValueError
            An unknown parameter name.
        """
        names = self._param_names()
        for name, value in params.items():
            if name not in names:
                known = ", ".join(names)
                raise ValueError(
                    f"{type(self).__name__} has no parameter {name!r} (parameters: {known})"
                )
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        signature = inspect.signature(type(self).__init__).parameters
        shown = {
            k: v
            for k, v in self.get_params().items()
            if k == "n_components" or v != signature[k].default
        }
        text = f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in shown.items())})"
        if hasattr(self, "fit_"):
            fit = self.fit_
            state = "converged" if fit.converged else "NOT converged"
            text += (
                f"  # fitted: {len(self.store_ids_)} {self._unit}s, log L = {fit.loglik:.3f}, "
                f"{state}, {fit.n_at_best}/{fit.n_init} starts at best"
            )
        return text

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "fit_")

    def __sklearn_tags__(self) -> Any:
        """scikit-learn's tags: a density estimator that validates its own inputs.

        scikit-learn is imported here, on first use, as for :func:`not_fitted_error`.
        """
        from sklearn.utils import InputTags, Tags, TargetTags

        return Tags(
            estimator_type="density_estimator",
            target_tags=TargetTags(required=False),
            input_tags=InputTags(allow_nan=True),
            no_validation=True,
        )

    # -- fitting ----------------------------------------------------------------

    def fit(self, data: Any) -> MixtureEstimator:
        """Fit the mixture to ``data``; returns self."""
        self._check_params()
        train = self._data(data)
        fit = fit_mixture(train.stats, self.n_components, self._options(), **train.fit_data())
        return self._adopt(fit, train)

    def fit_predict(self, data: Any) -> Any:
        """Fit to ``data`` and return every unit's most likely segment (0-based), ``labels_``."""
        return self.fit(data).labels_

    def _select(self, data: Any, k_range: Any, criterion: str) -> tuple[pd.DataFrame, Any]:
        """Fit every K of ``k_range``; the criteria table and self fitted at the chosen K."""
        if criterion not in CRITERIA:
            raise ValueError(f"criterion must be one of {CRITERIA}, got {criterion!r}")
        self._check_params()
        train = self._data(data)
        selection = fit_k_range(train.stats, k_range, self._options(), **train.fit_data())
        chosen = selection.chosen(criterion)
        table = pd.DataFrame(selection.table()).set_index("K")
        table["chosen"] = table.index == chosen
        self.set_params(n_components=chosen)
        return table, self._adopt(selection.fits[chosen], train)

    def _check_params(self) -> None:
        """Counts must be whole numbers and the seed valid; fit_mixture checks the rest."""
        for name in ("n_components", "n_init", "max_iter"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise ValueError(f"{type(self).__name__}: {name} must be an integer, got {value!r}")
        check_seed(self.random_state, "random_state")

    def _options(self) -> FitOptions:
        """The fit options of these parameters (each checked, naming the parameter)."""
        return FitOptions(
            n_init=self.n_init,
            tol=self.tol,
            max_iter=self.max_iter,
            seed=self.random_state,
            init=self.init,
            sigma=self.sigma,
            guard=getattr(self, "guard", DEFAULT_GUARD),
        )

    def _adopt(self, fit: MixtureFit, train: UnitData) -> MixtureEstimator:
        """Set the fitted attributes from a fit of ``train``."""
        self.fit_ = fit
        self.theta_ = fit.theta
        self.pi_ = fit.pi
        self.gamma_ = fit.gamma
        self.sigma_ = fit.sigma
        self.loglik_ = fit.loglik
        self.n_iter_ = fit.n_iter
        self.converged_ = fit.converged
        self.n_starts_at_best_ = fit.n_at_best
        self.posteriors_ = train.per_unit(fit.posteriors, segments=True)
        self.labels_ = train.per_unit(fit.labels)
        self.store_ids_ = tuple(train.panel.store_ids)
        self.coef_names_ = tuple(train.panel.coef_names)
        self.n_features_in_ = len(self.coef_names_)
        self._train = train
        return self

    # -- new data ---------------------------------------------------------------

    def predict_proba(self, data: Any) -> Any:
        """Posterior segment probabilities of the units in ``data``.

        Returns
        -------
        ndarray or DataFrame of shape (N, K)
            Rows sum to 1; column c is segment c (named ``segment_{c+1}`` in a DataFrame).

        Raises
        ------
        ValueError
            Data so far from the model that a probability would be NaN.
        """
        scored = self._data(data, new=True)
        return scored.per_unit(self._posteriors(scored)[1], segments=True)

    def predict(self, data: Any) -> Any:
        """Most likely segment (0-based) of every unit in ``data``, shape (N,)."""
        scored = self._data(data, new=True)
        return scored.per_unit(self._posteriors(scored)[1].argmax(axis=1))

    def score_samples(self, data: Any) -> Any:
        """Log-likelihood of every unit, log sum_c pi_c f_ic, shape (N,)."""
        scored = self._data(data, new=True)
        return scored.per_unit(self._unit_logliks(scored))

    def score(self, data: Any) -> float:
        """Mean per-unit log-likelihood of ``data``."""
        return float(np.mean(self._unit_logliks(self._data(data, new=True))))

    def criteria(self, data: Any = None) -> dict[str, float]:
        """Every information criterion (:data:`~estimator.selection.CRITERIA`) on ``data``.

        Parameters
        ----------
        data : optional
            Defaults to the training data (then the values equal those
            :func:`~estimator.selection.fit_k_range` and results.json report).
        """
        if data is None:
            self._check_fitted()
            return fit_criteria(self.fit_, self._train.stats)
        scored = self._data(data, new=True)
        stats = scored.stats
        loglik, W = self._posteriors(scored)
        return information_criteria(
            loglik, self.fit_.n_params, stats.n_total, stats.n_stores, classification_entropy(W)
        )

    def bic(self, data: Any = None) -> float:
        """The assignment's BIC, k log(n) - 2 log L, n observations (see :meth:`criteria`)."""
        return self.criteria(data)["bic"]

    def aic(self, data: Any = None) -> float:
        """AIC, 2k - 2 log L (see :meth:`criteria`)."""
        return self.criteria(data)["aic"]

    # -- the fitted model ---------------------------------------------------------

    def sample(self, n_samples: int = 1, *, random_state: Any = None) -> tuple[Any, Any]:
        """Draw ``n_samples`` new units, each with its design, from the fitted model.

        Each unit's segment is drawn with probabilities ``pi_``, then its
        outcomes y = X theta_c + sigma_c eps (:func:`~estimator.driver.simulate_outcomes`).
        Its design X: the training design when the training data were a
        balanced panel (every unit had the same X); otherwise the design
        (observations and regressors) of a training unit drawn at random, so
        new units have the training data's mix of missing observations and
        unit-specific regressors.

        Parameters
        ----------
        n_samples : int
            Number of units.
        random_state : int, SeedSequence, Generator or None
            Defaults to the estimator's ``random_state`` (so an int gives the
            same draw every call, as in scikit-learn).

        Returns
        -------
        data
            The units, in the form the model was fitted in (the front's
            :meth:`_unpanel`); unit ids ``sample1`` .. ``sample{n}``.
        labels : ndarray or Series of shape (n_samples,)
            Every unit's segment, 0-based (a Series indexed by unit id when
            ``data`` is a DataFrame).
        """
        n_samples, rng = self._sampling(n_samples, random_state)
        self._donors = None
        if self.fit_.gamma is not None:  # donors first: their covariates give each pi(z)
            self._donors = rng.integers(len(self.store_ids_), size=n_samples)
        labels = self._draw_labels(n_samples, rng, self._donors)
        panel = self._draw_units(labels, rng)
        data = self._unpanel(panel, self._train.form)
        if isinstance(data, pd.DataFrame):
            return data, pd.Series(labels, index=pd.Index(panel.store_ids, name=self._unit))
        return data, labels

    def _sampling(self, n_samples: Any, random_state: Any) -> tuple[int, np.random.Generator]:
        """:meth:`sample`'s checked count and its generator (default: ``random_state``)."""
        self._check_fitted()
        seed = self.random_state if random_state is None else random_state
        return check_count(n_samples, "n_samples"), as_generator(check_seed(seed, "random_state"))

    def _draw_labels(
        self, n_samples: int, rng: np.random.Generator, donors: np.ndarray | None
    ) -> np.ndarray:
        """Segments (0-based) of drawn units: from pi, or from pi(z) of the ``donors``' z."""
        if self.fit_.gamma is None:
            return rng.choice(self.n_components, size=n_samples, p=self.pi_)
        eta = self._train.covariates[donors] @ self.fit_.gamma.T
        prob = np.exp(eta - eta.max(axis=1, keepdims=True))
        prob /= prob.sum(axis=1, keepdims=True)
        labels = (prob.cumsum(axis=1) < rng.random(n_samples)[:, None]).sum(axis=1)
        return np.minimum(labels, self.n_components - 1)

    def _draw_units(self, labels: np.ndarray, rng: np.random.Generator) -> Panel | LongPanel:
        """Units of the given segments with designs as :meth:`sample` says."""
        train = self._train.panel
        ids = [SAMPLE_UNIT.format(i + 1) for i in range(labels.size)]
        scale = self.sigma_[labels, None]
        if isinstance(train, Panel):
            noise = rng.standard_normal((labels.size, train.n_weeks))
            y = simulate_outcomes(train.X, self.theta_[labels], scale, noise)
            return panel_from_arrays(y, train.X, ids, train.coef_names, "<sample>")
        donors = self._donors
        if donors is None:
            donors = rng.integers(train.n_stores, size=labels.size)
        rows, unit = donor_rows(train.store, train.n_stores, donors)
        X = train.X[rows]
        noise = rng.standard_normal((rows.size, 1))
        y = simulate_outcomes(X[:, None, :], self.theta_[labels[unit]], scale[unit], noise)[:, 0]
        return long_from_arrays(unit, train.week[rows], y, X, ids, train.coef_names, "<sample>")

    def summary(self, level: float = 0.95) -> MixtureSummary:
        """Every parameter with its observed-information SE, z, P>|z| and interval; diagnostics.

        Parameters
        ----------
        level : float
            Coverage of the intervals.

        Returns
        -------
        MixtureSummary
            statsmodels' layout: ``print`` it, or ``as_text()``, ``as_latex()``,
            ``as_html()``; ``.parameters`` is the table as a DataFrame.
        """
        self._check_fitted()
        inference = observed_information_se(self.fit_, self._train.stats, level)
        rows = []
        for c in range(self.n_components):
            for j, name in enumerate(self.coef_names_):
                se = inference.se_theta[c, j]
                rows.append((f"{name}[{c + 1}]", self.theta_[c, j], se, *inference.ci_theta[c, j]))
        for c in range(self.n_components):
            rows.append((f"pi[{c + 1}]", self.pi_[c], inference.se_pi[c], *inference.ci_pi[c]))
        n_tested = self.n_components * len(self.coef_names_)
        if inference.gamma is not None:
            tested_gamma = []
            for c in range(self.n_components - 1):
                for q, name in enumerate(inference.covariate_names or ()):
                    tested_gamma.append(len(rows))
                    rows.append(
                        (
                            f"gamma[{c + 1}][{name}]",
                            inference.gamma[c, q],
                            inference.se_gamma[c, q],
                            *inference.ci_gamma[c, q],
                        )
                    )
        if inference.se_sigma is not None:
            n_sigma = 1 if self.fit_.sigma_mode == "common" else self.n_components
            for c in range(n_sigma):
                label = "sigma" if n_sigma == 1 else f"sigma[{c + 1}]"
                rows.append((label, self.sigma_[c], inference.se_sigma[c], *inference.ci_sigma[c]))
        coef, se, lower, upper = np.array([row[1:] for row in rows], dtype=float).T
        tested = np.arange(len(rows)) < n_tested
        if inference.gamma is not None:
            tested[tested_gamma] = True
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(tested & (se > 0), coef / se, np.nan)
        table = pd.DataFrame(
            np.column_stack([coef, se, z, 2.0 * ndtr(-np.abs(z)), lower, upper]),
            index=pd.Index([row[0] for row in rows], name="parameter"),
            columns=parameter_columns(level),
        )
        return MixtureSummary(
            parameters=table,
            info=self._summary_info(),
            checks={
                **self.criteria(),
                "Newton step / SE": inference.details.get("newton_step_in_se", float("nan")),
                "information cond.": inference.details.get("condition_number", float("nan")),
                "SE valid": inference.valid,
            },
            title=f"{type(self).__name__} results",
        )

    def _summary_info(self) -> dict[str, Any]:
        fit = self.fit_
        return {
            f"{self._unit}s": len(self.store_ids_),
            "observations": int(self._train.stats.n_total),
            "segments": self.n_components,
            "sigma": fit.sigma_mode,
            "log L": fit.loglik,
            "free parameters": fit.n_params,
            "converged": fit.converged,
            "iterations": fit.n_iter,
            "starts at best": f"{fit.n_at_best}/{fit.n_init}",
            "degenerate starts": fit.n_degenerate,
            **self._guard_info(),
        }

    def _guard_info(self) -> dict[str, Any]:
        """The guard's line of the summary: which maxima it set aside, if any."""
        fit = self.fit_
        if fit.sigma_mode != "segment":
            return {}
        if fit.guard is None:
            return {"guard": "off (MLE)"}
        if not fit.set_aside:
            return {f"guard ({fit.guard})": "none set aside"}
        top = fit.set_aside[0]
        return {
            f"guard ({fit.guard})": f"{len(fit.set_aside)} set aside",
            "best set aside": f"{top.loglik:.3f}",
        }

    # -- helpers ------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "fit_"):
            raise not_fitted_error()(
                f"this {type(self).__name__} is not fitted yet: call fit(data) first"
            )

    def _data(self, data: Any, new: bool = False) -> UnitData:
        """Validated data; for new data also checked against the fitted regressors."""
        if new:
            self._check_fitted()
        panel = self._panel(data, self._train.panel if new else None)
        if new and tuple(panel.coef_names) != self.coef_names_:
            raise ValueError(
                f"data has regressors {tuple(panel.coef_names)} but the model was fitted with "
                f"{self.coef_names_}"
            )
        stats = panel.sufficient_stats()
        for values in (stats.ols, stats.rss, stats.gram):
            check_finite_result(values, "data", "its sums of squares overflow")
        form = None if new else self._form(data)
        return UnitData(panel, stats, isinstance(data, pd.DataFrame), self._unit, form)

    def _sigma(self) -> np.ndarray | None:
        return None if self.fit_.sigma_mode == "fixed" else self.sigma_

    def _prior(self, data: UnitData) -> tuple[np.ndarray, np.ndarray | None]:
        """(pi, None), or (gamma, the units' covariates) with a concomitant prior."""
        if self.fit_.gamma is None:
            return self.pi_, None
        if data.covariates is None:
            raise ValueError("data: the model has a concomitant prior; the units need covariates")
        return self.fit_.gamma, data.covariates

    def _posteriors(self, data: UnitData) -> tuple[float, np.ndarray]:
        prior, covariates = self._prior(data)
        loglik, W = posteriors(data.stats, self.theta_, prior, self._sigma(), covariates)
        return loglik, check_finite_result(W, "data", "its segment probabilities are not defined")

    def _unit_logliks(self, data: UnitData) -> np.ndarray:
        """log sum_c pi_ic f_ic per unit: the E-step's log-sum-exp over segments."""
        prior, covariates = self._prior(data)
        values = unit_posteriors(data.stats, self.theta_, prior, self._sigma(), covariates)[0]
        return check_finite_result(values, "data", "its log-likelihood overflows")
