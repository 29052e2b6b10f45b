"""A scikit-learn-style front to the mixture: :class:`SalesMixture` and :func:`select_k`.

The estimator follows scikit-learn's conventions without importing it: the
constructor only stores its arguments, ``get_params``/``set_params`` expose them
(so ``sklearn.base.clone`` works), ``fit`` returns ``self`` and fitted
attributes end with an underscore. Everything numerical is delegated:
:func:`~estimator.em.fit_mixture` and :func:`~estimator.selection.fit_k_range`
fit, :func:`~estimator.engine.posteriors` and :func:`~estimator.engine.store_logliks`
score new data through their sufficient statistics,
:func:`~estimator.selection.information_criteria` gives the criteria and
:func:`~estimator.inference.observed_information_se` the standard errors.

Data may be a :class:`~estimator.panel.Panel`, a
:class:`~estimator.longpanel.LongPanel`, a wide or long pandas DataFrame, a CSV
path, or ``(y, X)`` arrays (see :func:`~estimator.csvio.as_panel`). Per-store
outputs are DataFrames/Series indexed by store id for DataFrame input and
ndarrays otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .csvio import as_panel
from .em import DEFAULT_INIT, DEFAULT_MAX_ITER, DEFAULT_N_INIT, DEFAULT_TOL, fit_mixture
from .engine import posteriors, store_logliks
from .inference import observed_information_se
from .longpanel import LongPanel
from .panel import Panel, SufficientStats, panel_from_arrays
from .results import MixtureFit
from .selection import (
    CRITERIA,
    DEFAULT_K_RANGE,
    classification_entropy,
    fit_criteria,
    fit_k_range,
    information_criteria,
)
from .validation import check_seed

_PARAM_NAMES = ("n_components", "sigma", "n_init", "init", "tol", "max_iter", "random_state")


class NotFittedError(ValueError, AttributeError):
    """A method that needs a fitted model was called before ``fit``."""


@dataclass(frozen=True, eq=False)
class _Data:
    """Validated data, its statistics, and how to label per-store outputs."""

    panel: Panel | LongPanel
    stats: SufficientStats
    labelled: bool  # DataFrame input: per-store outputs carry the store ids

    def per_store(self, values: np.ndarray, columns: Iterable[Any] | None = None) -> Any:
        """``values`` (N,) or (N, K) as given, or labelled by store id."""
        if not self.labelled:
            return values
        index = pd.Index(self.panel.store_ids, name="store")
        if values.ndim == 1:
            return pd.Series(values, index=index)
        return pd.DataFrame(values, index=index, columns=columns)


class SalesMixture:
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
    init : {"kmeans++", "stores", "mixed"}
        Starting-value scheme.
    tol : float
        Relative change in log-likelihood at which EM stops.
    max_iter : int
        Maximum EM iterations per start.
    random_state : int, SeedSequence, Generator or None
        Seed of the starting values.

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
        Posterior segment probabilities of the training stores (columns 0..K-1,
        indexed by store id for DataFrame input).
    labels_ : ndarray or Series of shape (N,)
        Most likely segment (0-based) of every training store.
    store_ids_ : tuple, length N
    coef_names_ : tuple of str, length P
    fit_ : MixtureFit
        The complete result of :func:`~estimator.em.fit_mixture`.
    """

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
    ) -> None:
        self.n_components = n_components
        self.sigma = sigma
        self.n_init = n_init
        self.init = init
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state

    # -- scikit-learn parameter protocol ------------------------------------

    def get_params(self, deep: bool = True) -> dict[str, Any]:  # noqa: ARG002
        """The constructor arguments, by name (``deep`` is accepted for scikit-learn)."""
        return {name: getattr(self, name) for name in _PARAM_NAMES}

    def set_params(self, **params: Any) -> SalesMixture:
        """Set constructor arguments by name; returns self.

        Raises
        ------
        ValueError
            An unknown parameter name.
        """
        for name, value in params.items():
            if name not in _PARAM_NAMES:
                known = ", ".join(_PARAM_NAMES)
                raise ValueError(f"SalesMixture has no parameter {name!r} (parameters: {known})")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = SalesMixture().get_params()
        shown = {
            k: v for k, v in self.get_params().items() if k == "n_components" or v != defaults[k]
        }
        text = f"SalesMixture({', '.join(f'{k}={v!r}' for k, v in shown.items())})"
        if hasattr(self, "fit_"):
            fit = self.fit_
            state = "converged" if fit.converged else "NOT converged"
            text += (
                f"  # fitted: {len(self.store_ids_)} stores, log L = {fit.loglik:.3f}, {state}, "
                f"{fit.n_at_best}/{fit.n_init} starts at best"
            )
        return text

    # -- fitting --------------------------------------------------------------

    def fit(self, data: Any) -> SalesMixture:
        """Fit the mixture to ``data``; returns self.

        Parameters
        ----------
        data : Panel, LongPanel, DataFrame (wide or long), CSV path or (y, X)
            See :func:`~estimator.csvio.as_panel`. NaN cells of a wide
            DataFrame are weeks the store was not observed.
        """
        self._check_integers()
        train = self._data(data)
        fit = fit_mixture(train.stats, self.n_components, **self._options(train))
        return self._adopt(fit, train)

    def _check_integers(self) -> None:
        """Counts must be whole numbers; fit_mixture checks their ranges and the rest."""
        for name in ("n_components", "n_init", "max_iter"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise ValueError(f"SalesMixture: {name} must be an integer, got {value!r}")
        check_seed(self.random_state, "random_state")

    def _options(self, train: _Data) -> dict[str, Any]:
        """Keyword arguments of fit_mixture and fit_k_range for these parameters and data."""
        return {
            "n_init": self.n_init,
            "tol": self.tol,
            "max_iter": self.max_iter,
            "seed": self.random_state,
            "init": self.init,
            "coef_names": tuple(train.panel.coef_names),
            "sigma": self.sigma,
        }

    def _adopt(self, fit: MixtureFit, train: _Data) -> SalesMixture:
        """Set the fitted attributes from a fit of ``train``."""
        self.fit_ = fit
        self.theta_ = fit.theta
        self.pi_ = fit.pi
        self.sigma_ = fit.sigma
        self.loglik_ = fit.loglik
        self.n_iter_ = fit.n_iter
        self.converged_ = fit.converged
        self.n_starts_at_best_ = fit.n_at_best
        self.posteriors_ = train.per_store(fit.posteriors, range(fit.n_components))
        self.labels_ = train.per_store(fit.labels)
        self.store_ids_ = tuple(train.panel.store_ids)
        self.coef_names_ = tuple(train.panel.coef_names)
        self._train = train
        return self

    # -- new data ---------------------------------------------------------------

    def predict_proba(self, data: Any) -> Any:
        """Posterior segment probabilities of the stores in ``data``.

        Parameters
        ----------
        data : as for :meth:`fit`, or an array y (N, T) of log sales at the training prices
            New stores may have their own prices and missing weeks (y alone
            needs balanced training data).

        Returns
        -------
        ndarray or DataFrame of shape (N, K)
            Rows sum to 1.
        """
        scored = self._data(data, new=True)
        return scored.per_store(self._posteriors(scored.stats)[1], range(self.n_components))

    def predict(self, data: Any) -> Any:
        """Most likely segment (0-based) of every store in ``data``, shape (N,)."""
        scored = self._data(data, new=True)
        return scored.per_store(self._posteriors(scored.stats)[1].argmax(axis=1))

    def score_samples(self, data: Any) -> Any:
        """Log-likelihood of every store, log sum_c pi_c f_ic, shape (N,)."""
        scored = self._data(data, new=True)
        return scored.per_store(self._store_logliks(scored.stats))

    def score(self, data: Any) -> float:
        """Mean per-store log-likelihood of ``data``."""
        return float(np.mean(self._store_logliks(self._data(data, new=True).stats)))

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
        stats = self._data(data, new=True).stats
        loglik, W = self._posteriors(stats)
        return information_criteria(
            loglik, self.fit_.n_params, stats.n_total, stats.n_stores, classification_entropy(W)
        )

    def bic(self, data: Any = None) -> float:
        """The assignment's BIC, k log(N T) - 2 log L (see :meth:`criteria`)."""
        return self.criteria(data)["bic"]

    def aic(self, data: Any = None) -> float:
        """AIC, 2k - 2 log L (see :meth:`criteria`)."""
        return self.criteria(data)["aic"]

    def summary(self, level: float = 0.95) -> MixtureSummary:
        """Every parameter with its observed-information SE, z and interval, and fit diagnostics.

        Parameters
        ----------
        level : float
            Coverage of the intervals.

        Returns
        -------
        MixtureSummary
            Printable (statsmodels style); ``.parameters`` is the table as a DataFrame.
        """
        self._check_fitted()
        inference = observed_information_se(self.fit_, self._train.stats, level)
        rows = []
        for c in range(self.n_components):
            for j, name in enumerate(self.coef_names_):
                rows.append(
                    (
                        f"{name}[{c + 1}]",
                        self.theta_[c, j],
                        inference.se_theta[c, j],
                        *inference.ci_theta[c, j],
                    )
                )
        for c in range(self.n_components):
            rows.append((f"pi[{c + 1}]", self.pi_[c], inference.se_pi[c], *inference.ci_pi[c]))
        if inference.se_sigma is not None:
            n_sigma = 1 if self.fit_.sigma_mode == "common" else self.n_components
            for c in range(n_sigma):
                label = "sigma" if n_sigma == 1 else f"sigma[{c + 1}]"
                rows.append((label, self.sigma_[c], inference.se_sigma[c], *inference.ci_sigma[c]))
        percent = f"{100 * level:g}%"
        table = pd.DataFrame(
            rows, columns=["parameter", "estimate", "se", f"{percent} lower", f"{percent} upper"]
        ).set_index("parameter")
        # pi_1 = 1 is not estimated when K = 1: its SE is 0 and it has no z
        se = table["se"].where(table["se"] > 0)
        table.insert(2, "z", table["estimate"] / se)
        fit = self.fit_
        info = {
            "stores": len(self.store_ids_),
            "store-weeks": int(self._train.stats.n_total),
            "segments": self.n_components,
            "sigma": fit.sigma_mode,
            "log L": fit.loglik,
            "free parameters": fit.n_params,
            "converged": fit.converged,
            "iterations": fit.n_iter,
            "starts at best": f"{fit.n_at_best}/{fit.n_init}",
            "degenerate starts": fit.n_degenerate,
        }
        checks = {
            **self.criteria(),
            "Newton step / SE": inference.details.get("newton_step_in_se", float("nan")),
            "information cond.": inference.details.get("condition_number", float("nan")),
            "SE valid": inference.valid,
        }
        return MixtureSummary(parameters=table, info=info, checks=checks)

    # -- helpers --------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "fit_"):
            raise NotFittedError("this SalesMixture is not fitted yet: call fit(data) first")

    def _data(self, data: Any, new: bool = False) -> _Data:
        """Validated data; for new data also checked against the fitted regressors."""
        if new:
            self._check_fitted()
            if isinstance(data, np.ndarray):
                data = self._at_training_prices(data)
        panel = as_panel(data)
        if new and tuple(panel.coef_names) != self.coef_names_:
            raise ValueError(
                f"data has regressors {tuple(panel.coef_names)} but the model was fitted with "
                f"{self.coef_names_}"
            )
        return _Data(panel, panel.sufficient_stats(), isinstance(data, pd.DataFrame))

    def _at_training_prices(self, y: np.ndarray) -> Panel:
        train = self._train.panel
        if not isinstance(train, Panel):
            raise ValueError(
                "y alone needs the training prices, but the model was fitted to an unbalanced "
                "panel; pass (y, X)"
            )
        return panel_from_arrays(y, train.X, coef_names=train.coef_names, source="<y>")

    def _sigma(self) -> np.ndarray | None:
        return None if self.fit_.sigma_mode == "fixed" else self.sigma_

    def _posteriors(self, stats: SufficientStats) -> tuple[float, np.ndarray]:
        return posteriors(stats, self.theta_, self.pi_, self._sigma())

    def _store_logliks(self, stats: SufficientStats) -> np.ndarray:
        """log sum_c pi_c f_ic per store: the E-step's log-sum-exp over segments."""
        return store_logliks(stats, self.theta_, self.pi_, self._sigma())


@dataclass(frozen=True, eq=False)
class MixtureSummary:
    """What :meth:`SalesMixture.summary` returns; ``print`` it for the table.

    Attributes
    ----------
    parameters : DataFrame
        One row per parameter (``alpha[1]``, ..., ``pi[K]``, sigma): estimate,
        se, z, interval limits. pi[K]'s SE comes from the delta method; pi's
        intervals are clipped to [0, 1].
    info : dict
        Data size, log L, free parameters, convergence, iterations, starts at best.
    checks : dict
        Every information criterion, and the observed information's
        diagnostics: the Newton step in SE units (near 0 at a maximum), the
        condition number, whether the SEs could be computed.
    """

    parameters: pd.DataFrame
    info: dict[str, Any]
    checks: dict[str, Any]

    def __str__(self) -> str:
        width = 78
        left = [f"{k + ':':<19}{_fmt(v):>18}" for k, v in self.info.items()]
        right = [f"{k + ':':<19}{_fmt(v):>18}" for k, v in self.checks.items()]
        rows = max(len(left), len(right))
        left += [""] * (rows - len(left))
        right += [""] * (rows - len(right))
        head = "\n".join(f"{a:<40}{b}".rstrip() for a, b in zip(left, right, strict=True))
        table = self.parameters.to_string(float_format=lambda v: f"{v:.4f}")
        rule = "=" * width
        return "\n".join(
            [rule, "SalesMixture results".center(width), rule, head, "-" * width, table, rule]
        )

    def __repr__(self) -> str:
        return str(self)


def _fmt(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return f"{value:.3f}" if abs(value) < 1e6 else f"{value:.3g}"
    return str(value)


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
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {CRITERIA}, got {criterion!r}")
    if "n_components" in params:
        raise ValueError("select_k chooses n_components; pass k_range instead")
    model = SalesMixture().set_params(**params)
    model._check_integers()
    train = model._data(data)
    selection = fit_k_range(train.stats, k_range, **model._options(train))
    chosen = selection.chosen(criterion)
    table = pd.DataFrame(selection.table()).set_index("K")
    table["chosen"] = table.index == chosen
    return table, model.set_params(n_components=chosen)._adopt(selection.fits[chosen], train)
