"""Fit result objects and their JSON form (the parameter conventions are in :mod:`.params`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .guard import SetAside
from .params import default_coef_names, n_free_params
from .validation import check_instance, check_whole_number


class ConvergenceWarning(UserWarning):
    """The best EM start did not converge, or every start lost a segment."""


@dataclass(frozen=True, eq=False)
class MixtureFit:
    """The best of several EM runs for one K.

    Attributes
    ----------
    theta : ndarray of shape (K, P)
        Segment coefficients in canonical order (row c = (alpha_c, beta_c)).
    pi : ndarray of shape (K,)
        Mixing proportions.
    sigma : ndarray of shape (K,)
        Error standard deviation of every segment (all 1 when fixed).
    sigma_mode : {"fixed", "common", "segment"}
    sigma_floored : bool
        A sigma update of the best start hit the floor (a millionth of the data's
        scale: :data:`estimator.driver.SIGMA_FLOOR_REL`).
    loglik : float
        Log-likelihood at (theta, pi).
    converged : bool
        The result is a certified maximum: Newton decrement ~ 0 and the Hessian
        negative definite (:mod:`estimator.engine`); without polishing, the EM rule met.
    degenerate : bool
        Every start lost a segment; this is the best of them.
    n_iter : int
        EM-map evaluations (E- and M-steps) of the best start; SQUAREM makes three
        per accelerated step.
    loglik_trace : ndarray of shape (n_accepted,)
        Log-likelihood of every accepted iterate of the best start (EM, then Newton):
        never decreasing.
    n_init : int
        Number of starts.
    n_at_best : int
        Non-degenerate starts within 1e-6 (log-likelihood units) of the best.
    n_degenerate : int
        Starts that lost a segment.
    restart_logliks : ndarray of shape (n_init,)
        Log-likelihood where every start stopped: its certified maximum, or, for a start
        that was not certified (at the step limit, or abandoned by Newton more than 1 unit
        below the best certified start), the last point it reached.
    posteriors : ndarray of shape (N, K)
        Posterior segment probabilities of every store at (theta, pi).
    tol, max_iter : float, int
        Stopping rule used.
    seconds : float
        Wall time of the fit.
    coef_names : tuple of str of length P, optional
    n_newton : int
        Newton polishing steps made by the best start.
    grad_norm : float
        Norm of the gradient in (theta, eta = log(pi_c / pi_K), log sigma) at the
        result (NaN when not polished).
    decrement : float
        Newton decrement g' (-H)^-1 g at the result: twice the log-likelihood
        still to gain (NaN when not polished).
    max_eigen : float
        Largest eigenvalue of the Hessian in those coordinates (negative at a
        strict maximum; NaN when not polished).
    n_maxima : int
        Distinct local maxima among the certified starts (log-likelihoods
        clustered at 1e-6).
    duplicate_segments : bool
        Two segments coincide (the model has more segments than the data support).
    segment_obs : ndarray of shape (K,) or None
        Each segment's effective number of observations, sum_i w_ic n_i.
    guard : str or None
        The guard against spurious maxima that acted (None: off, or sigma fixed).
    set_aside : tuple of SetAside
        Distinct maxima higher than this one that the guard set aside, best first.
    guard_exhausted : bool
        The guard set aside every maximum reached; this is the best of them.
    gamma : ndarray of shape (K, Q) or None
        Concomitant coefficients (multinomial logit, last row 0); None for constant pi.
    covariate_names : tuple of str of length Q or None
    covariates : ndarray of shape (N, Q) or None
        The units' covariates z_i the concomitant prior was fitted with.
    separated : bool
        Complete separation in the concomitant model (gamma diverges).
    n_obs : float
        Number of observations n (BIC's sample size).
    scale : float
        The data's scale (residual SD of the pooled regression).
    """

    theta: np.ndarray
    pi: np.ndarray
    sigma: np.ndarray
    sigma_mode: str
    sigma_floored: bool
    loglik: float
    converged: bool
    degenerate: bool
    n_iter: int
    loglik_trace: np.ndarray
    n_init: int
    n_at_best: int
    n_degenerate: int
    restart_logliks: np.ndarray
    posteriors: np.ndarray
    tol: float
    max_iter: int
    seconds: float
    coef_names: tuple[str, ...] | None = field(default=None)
    n_newton: int = 0
    grad_norm: float = float("nan")
    decrement: float = float("nan")
    max_eigen: float = float("nan")
    n_maxima: int = 0
    duplicate_segments: bool = False
    segment_obs: np.ndarray | None = None
    guard: str | None = None
    set_aside: tuple[SetAside, ...] = ()
    guard_exhausted: bool = False
    gamma: np.ndarray | None = None
    covariate_names: tuple[str, ...] | None = None
    covariates: np.ndarray | None = None
    separated: bool = False
    n_obs: float = float("nan")
    scale: float = float("nan")

    def __repr__(self) -> str:
        """One line: K, log L, convergence, starts, and the estimates to 4 decimals."""

        def rounded(values: np.ndarray) -> str:
            return str(np.round(values, 4).tolist())

        sigma = "" if self.sigma_mode == "fixed" else f", sigma={rounded(self.sigma)}"
        return (
            f"MixtureFit(K={self.n_components}, loglik={self.loglik:.6f}, "
            f"converged={self.converged}, n_iter={self.n_iter}, "
            f"at_best={self.n_at_best}/{self.n_init}, degenerate={self.degenerate}, "
            f"N={self.posteriors.shape[0]}, theta={rounded(self.theta)}, "
            f"pi={rounded(self.pi)}, sigma_mode={self.sigma_mode!r}{sigma})"
        )

    @property
    def n_components(self) -> int:
        """Number of segments K."""
        return self.theta.shape[0]

    @property
    def n_params(self) -> int:
        """Free parameters: K*P + (K - 1) Q (Q = 1 without concomitants), plus sigmas.

        3K - 1 for the assignment's model.
        """
        n_covariates = 1 if self.gamma is None else self.gamma.shape[1]
        return n_free_params(self.n_components, self.theta.shape[1], self.sigma_mode, n_covariates)

    @property
    def concomitant(self) -> bool:
        """Whether the prior depends on unit covariates (gamma estimated)."""
        return self.gamma is not None

    @property
    def theta_flat(self) -> np.ndarray:
        """theta in the assignment's layout (alpha_1, beta_1, ..., alpha_K, beta_K), (K*P,)."""
        return self.theta.ravel()

    @property
    def labels(self) -> np.ndarray:
        """Most likely segment of every store (0-based), shape (N,)."""
        return self.posteriors.argmax(axis=1)

    def names(self) -> tuple[str, ...]:
        """Coefficient names, ``alpha``, ``beta`` by default."""
        if self.coef_names is not None:
            return tuple(self.coef_names)
        return default_coef_names(self.theta.shape[1])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no per-store posteriors)."""
        out: dict[str, Any] = {
            "K": self.n_components,
            "theta": self.theta_flat.tolist(),
        }
        for j, name in enumerate(self.names()):
            out[name] = self.theta[:, j].tolist()
        out.update(
            pi=self.pi.tolist(),
            sigma=self.sigma.tolist(),
            sigma_mode=self.sigma_mode,
            loglik=self.loglik,
            n_params=self.n_params,
            converged=self.converged,
            degenerate=self.degenerate,
            iterations=self.n_iter,
            n_init=self.n_init,
            restarts_at_best=self.n_at_best,
            degenerate_starts=self.n_degenerate,
            newton_steps=self.n_newton,
            gradient_norm=_finite_or_none(self.grad_norm),
            newton_decrement=_finite_or_none(self.decrement),
            hessian_max_eigenvalue=_finite_or_none(self.max_eigen),
            distinct_maxima=self.n_maxima,
            duplicate_segments=self.duplicate_segments,
        )
        if self.sigma_floored:
            out["sigma_floored"] = True
        if self.segment_obs is not None:
            out["segment_obs"] = self.segment_obs.tolist()
        if self.gamma is not None:
            out["gamma"] = self.gamma.tolist()
            out["covariates"] = list(self.covariate_names or ())
            out["separated"] = self.separated
        if self.sigma_mode == "segment":
            out["guard"] = {
                "rule": self.guard,
                "exhausted": self.guard_exhausted,
                "set_aside": [item.to_dict() for item in self.set_aside],
            }
        return out


def _finite_or_none(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def check_fits(fits: object, sigma_mode: str, name: str = "fits") -> dict[int, MixtureFit]:
    """Fits already made, keyed by their number of segments, all with ``sigma_mode``.

    Parameters
    ----------
    fits : mapping of int to MixtureFit, or None
    sigma_mode : {"fixed", "common", "segment"}
        The sigma mode every fit must have.
    name : str

    Returns
    -------
    dict of int to MixtureFit
        Empty for None.

    Raises
    ------
    TypeError
        Not a mapping, a key that is not a whole number, a value that is not a MixtureFit.
    ValueError
        A fit whose K differs from its key, or fitted with another sigma mode.
    """
    if fits is None:
        return {}
    check_instance(fits, name, Mapping, " (K -> MixtureFit, e.g. fit_k_range(...).fits)")
    checked = {}
    for key, fit in fits.items():
        k = check_whole_number(key, f"{name} key", minimum=1)
        check_instance(fit, f"{name}[{key!r}]", MixtureFit)
        if fit.n_components != k:
            raise ValueError(f"{name}[{k}] has K = {fit.n_components} segments, not {k}")
        checked[k] = fit
    wrong = sorted(k for k, fit in checked.items() if fit.sigma_mode != sigma_mode)
    if wrong:
        raise ValueError(
            f"{name}: K = {wrong} were fitted with another sigma mode than {sigma_mode!r}"
        )
    return checked
