"""The prior model: how segment membership is distributed, beside the component driver.

Two implementations of one small interface (flexmix's FLXPconstant and FLXPmultinom):

* :class:`ConstantPrior`: P(C_i = c) = pi_c for every unit; state ``pi`` (R, K).
* :class:`LogitPrior` (concomitant variables): a multinomial logit on unit
  covariates z_i (Q of them, the first usually the intercept),

      pi_ic = exp(gamma_c' z_i) / sum_d exp(gamma_d' z_i),   gamma_K = 0,

  state ``gamma`` (R, K, Q) with its last row zero.

Everything is batched over R parameter sets. The loop (:mod:`estimator.engine`)
and the derivative assembly (:mod:`estimator.derivatives`) call only this
interface: log prior per unit, the sums the M-step reads, the M-step, the
coordinates that SQUAREM and Newton move in, and the derivatives of log pi_ic.

Coordinates of the prior parameters:

* constant, ``"logratio"`` (Newton): eta_c = log(pi_c / pi_K), c < K;
  ``"free"`` (standard errors): pi_1, ..., pi_{K-1} with pi_K = 1 - sum;
  SQUAREM extrapolates log pi (K entries);
* logit: gamma_{c,q} for c < K (in every role), (K - 1) Q entries, segment-major.

The derivative of log pi_ic in these coordinates, g_ic, and its second
derivative give, with posteriors w_ic, every prior term of the mixture's score
and Hessian: the unit scores sum_c w_ic g_ic, sum_i sum_c w_ic (d^2 log pi_ic +
g_ic g_ic'), and the cross terms sum_i w_ic g~_ic g_ic' with the component's
gradients g~ (:func:`estimator.derivatives.mixture_derivatives`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Literal

import numpy as np

from .params import MIN_SEGMENT_WEIGHT

Coordinates = Literal["free", "logratio"]
LOGIT_NEWTON_STEPS = 1
"""Newton iterations of the logit M-step (warm-started; with step halving, so every EM map
raises the objective: a generalised EM step). Measured on the peers' concomitant cases
(100 starts): one step reaches the same maxima as steps to convergence (at most 25) in
0.6-0.7 of the time, and more starts reach the best."""
LOGIT_GRADIENT_TOL = 1e-10
"""The logit M-step stops when its Newton decrement is below this (log-likelihood units)."""
SEPARATION_LOGIT = 30.0
"""A fitted log-odds beyond this (probabilities within e^-30 of 0 or 1) signals separation."""
_LOG_FLOOR = -700.0
_PI_FLOOR = 1e-300
"""log pi of an emptied segment is log(1e-300) = -690.8, not -inf: its posterior is 0 all
the same, and no infinity reaches the matrix products."""


def _softmax_rows(x: np.ndarray) -> np.ndarray:
    """exp(x - max) normalised along axis 1 (scipy's softmax without its overhead)."""
    out = np.exp(x - x.max(axis=1, keepdims=True))
    out /= out.sum(axis=1, keepdims=True)
    return out


def _logsumexp_rows(x: np.ndarray) -> np.ndarray:
    """log sum_c exp(x_c) along axis 1, kept (scipy's logsumexp without its overhead)."""
    top = x.max(axis=1, keepdims=True)
    return top + np.log(np.exp(x - top).sum(axis=1, keepdims=True))


class PriorModel(ABC):
    """Segment membership probabilities pi_ic of N units under K segments."""

    n_components: int
    n_units: int

    @property
    @abstractmethod
    def n_params(self) -> int:
        """Free parameters of the prior: (K - 1) Q (Q = 1 for constant pi)."""

    @property
    def concomitant(self) -> bool:
        """Whether the prior depends on unit covariates."""
        return False

    # -- E-step and M-step ---------------------------------------------------------------

    @abstractmethod
    def log_prior(self, state: np.ndarray, rows: slice) -> np.ndarray:
        """log pi_ic for the units ``rows``: (R, K, 1) (constant) or (R, K, n)."""

    @abstractmethod
    def accumulate(self, W: np.ndarray, rows: slice) -> np.ndarray:
        """The sums over the block's units that the M-step reads (W of shape (R, K, n))."""

    @abstractmethod
    def m_step(self, state: np.ndarray, sums: np.ndarray) -> np.ndarray:
        """New state from the accumulated sums (the weighted maximum of sum w log pi)."""

    @abstractmethod
    def mean_pi(self, state: np.ndarray) -> np.ndarray:
        """The mean over units of pi_ic, shape (R, K)."""

    def empty(self, state: np.ndarray) -> np.ndarray:
        """Whether some segment's prior mass sum_i pi_ic is below ``MIN_SEGMENT_WEIGHT``, (R,)."""
        return (self.mean_pi(state) * self.n_units < MIN_SEGMENT_WEIGHT).any(axis=1)

    # -- coordinates -------------------------------------------------------------------------

    @abstractmethod
    def to_squarem(self, state: np.ndarray) -> np.ndarray:
        """The coordinates SQUAREM extrapolates in, (R, d)."""

    @abstractmethod
    def from_squarem(self, x: np.ndarray) -> np.ndarray:
        """The state of SQUAREM coordinates ``x`` (R, d)."""

    @abstractmethod
    def to_newton(self, state: np.ndarray) -> np.ndarray:
        """Newton's unconstrained coordinates, (R, n_params)."""

    @abstractmethod
    def from_newton(self, x: np.ndarray) -> np.ndarray:
        """The state of Newton coordinates ``x`` (R, n_params)."""

    @abstractmethod
    def reorder(self, state: np.ndarray, order: np.ndarray) -> np.ndarray:
        """The state of one parameter set with segments permuted (new c is old ``order[c]``)."""

    # -- derivatives of log pi_ic -----------------------------------------------------------

    @abstractmethod
    def derivative_pieces(
        self, state: np.ndarray, W: np.ndarray, grad: np.ndarray, rows: slice, coords: Coordinates
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The prior's parts of the mixture's derivatives over one block of units.

        Parameters
        ----------
        state : ndarray
        W : ndarray of shape (R, K, n)
            Posteriors of the block's units.
        grad : ndarray of shape (R, K, n, Pc)
            Gradients of log f_ic in each segment's own component parameters.
        rows : slice
        coords : {"free", "logratio"}

        Returns
        -------
        unit_scores : ndarray of shape (R, n, n_params)
            sum_c w_ic g_ic per unit.
        curvature : ndarray of shape (R, n_params, n_params)
            sum_i sum_c w_ic (d^2 log pi_ic + g_ic g_ic').
        cross : ndarray of shape (R, K, Pc, n_params)
            sum_i w_ic grad_ic g_ic'.
        """

    @abstractmethod
    def naive_information(self, state: np.ndarray) -> np.ndarray:
        """The complete-data information of the prior parameters (one set), in SE coordinates."""

    # -- drawing ------------------------------------------------------------------------------

    @abstractmethod
    def draw_segments(self, state: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Every unit's segment drawn from the prior of one parameter set, (N,) ints."""


class ConstantPrior(PriorModel):
    """pi_c for every unit (the model without concomitant variables).

    Parameters
    ----------
    n_components : int
    n_units : int
    """

    def __init__(self, n_components: int, n_units: int) -> None:
        self.n_components = n_components
        self.n_units = n_units

    @property
    def n_params(self) -> int:
        return self.n_components - 1

    def log_prior(self, state: np.ndarray, rows: slice) -> np.ndarray:
        return np.log(np.maximum(state, _PI_FLOOR))[..., None]

    def accumulate(self, W: np.ndarray, rows: slice) -> np.ndarray:
        return W.sum(axis=2)

    def m_step(self, state: np.ndarray, sums: np.ndarray) -> np.ndarray:
        return sums / self.n_units

    def mean_pi(self, state: np.ndarray) -> np.ndarray:
        return state

    def to_squarem(self, state: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.maximum(np.log(state), _LOG_FLOOR)

    def from_squarem(self, x: np.ndarray) -> np.ndarray:
        return _softmax_rows(x)

    def to_newton(self, state: np.ndarray) -> np.ndarray:
        return np.log(state[:, :-1]) - np.log(state[:, -1:])

    def from_newton(self, x: np.ndarray) -> np.ndarray:
        return _softmax_rows(np.concatenate([x, np.zeros((len(x), 1))], axis=1))

    def reorder(self, state: np.ndarray, order: np.ndarray) -> np.ndarray:
        return state[order]

    def log_pi_derivatives(
        self, pi: np.ndarray, coords: Coordinates
    ) -> tuple[np.ndarray, np.ndarray]:
        """Gradient (R, K, K-1) and Hessian (R, K, K-1, K-1) of every log pi_c.

        ``"free"``: g_c = a_c / pi_c, d^2 = -g_c g_c' with a_c row c of [I; -1'];
        ``"logratio"``: g_c = e_c - pi_{1..K-1}, d^2 = -(diag(pi_{1..K-1}) - pi pi').
        """
        n_restarts, n_components = pi.shape
        if coords == "free":
            jac = pi_jacobian(n_components)
            grad = jac[None] / pi[..., None]
            return grad, -grad[..., :, None] * grad[..., None, :]
        head = pi[:, :-1]
        grad = np.eye(n_components, n_components - 1)[None] - head[:, None, :]
        hess = np.einsum("rj,rk->rjk", head, head)
        hess[:, np.arange(n_components - 1), np.arange(n_components - 1)] -= head
        return grad, np.broadcast_to(hess[:, None], (n_restarts, n_components, *hess.shape[1:]))

    def derivative_pieces(
        self, state: np.ndarray, W: np.ndarray, grad: np.ndarray, rows: slice, coords: Coordinates
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        log_pi_grad, log_pi_hess = self.log_pi_derivatives(state, coords)
        weight = W.sum(axis=2)
        scores = np.matmul(W.transpose(0, 2, 1), log_pi_grad)
        outer = log_pi_grad[..., :, None] * log_pi_grad[..., None, :]
        curvature = np.einsum("rk,rkij->rij", weight, log_pi_hess + outer)
        weighted = np.einsum("rkn,rknp->rkp", W, grad)
        cross = weighted[..., :, None] * log_pi_grad[:, :, None, :]
        return scores, curvature, cross

    def naive_information(self, state: np.ndarray) -> np.ndarray:
        """N (diag(pi_free) - pi_free pi_free')^-1: multinomial information of pi_1..pi_{K-1}."""
        head = state[:-1]
        if not head.size:
            return np.zeros((0, 0))
        return np.linalg.inv((np.diag(head) - np.outer(head, head)) / self.n_units)

    def draw_segments(self, state: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return rng.choice(len(state), size=self.n_units, p=state)


class LogitPrior(PriorModel):
    """Multinomial logit on unit covariates (concomitant variables), gamma_K = 0.

    Parameters
    ----------
    n_components : int
    covariates : ndarray of shape (N, Q)
        z_i of every unit, full column rank (checked by the fronts).
    """

    def __init__(self, n_components: int, covariates: np.ndarray) -> None:
        self.n_components = n_components
        self.covariates = np.ascontiguousarray(covariates, dtype=float)
        self.n_units, self.n_covariates = self.covariates.shape

    @property
    def n_params(self) -> int:
        return (self.n_components - 1) * self.n_covariates

    @property
    def concomitant(self) -> bool:
        return True

    def linear(self, gamma: np.ndarray, rows: slice = slice(None)) -> np.ndarray:
        """gamma_c' z_i, shape (R, K, n)."""
        return gamma @ self.covariates[rows].T

    def unit_pi(self, gamma: np.ndarray, rows: slice = slice(None)) -> np.ndarray:
        """pi_ic, shape (R, K, n)."""
        return _softmax_rows(self.linear(gamma, rows))

    def log_prior(self, state: np.ndarray, rows: slice) -> np.ndarray:
        eta = self.linear(state, rows)
        return eta - _logsumexp_rows(eta)

    def accumulate(self, W: np.ndarray, rows: slice) -> np.ndarray:
        return W @ self.covariates[rows]

    def objective(self, gamma: np.ndarray, sums: np.ndarray) -> np.ndarray:
        """sum_i sum_c w_ic log pi_ic = sum_c gamma_c' (W Z)_c - sum_i logsumexp_c eta_ic, (R,)."""
        fitted = np.einsum("rkq,rkq->r", gamma, sums)
        return fitted - _logsumexp_rows(self.linear(gamma))[:, 0].sum(axis=1)

    def m_step(self, state: np.ndarray, sums: np.ndarray) -> np.ndarray:
        """Weighted multinomial logistic regression by Newton, warm-started at ``state``.

        The objective is concave and depends on the posteriors only through W Z; every
        accepted step raises it (step halving), so the EM map stays monotone. Its fixed
        points are where the objective's gradient is zero, as with a full M-step.
        """
        gamma = state.copy()
        value = self.objective(gamma, sums)
        active = np.arange(len(gamma))
        for _ in range(LOGIT_NEWTON_STEPS):
            grad, hess = self._gradient_hessian(gamma[active], sums[active])
            step = _solve_ascent(hess, grad)
            decrement = np.einsum("ri,ri->r", grad, step)
            going = np.isfinite(decrement) & (decrement > LOGIT_GRADIENT_TOL)
            active, step = active[going], step[going]
            if not active.size:
                break
            size = np.ones(len(active))
            pending = np.arange(len(active))
            for _ in range(30):
                trial = gamma[active[pending]].copy()
                trial[:, :-1] += (size[pending, None] * step[pending]).reshape(
                    len(pending), self.n_components - 1, self.n_covariates
                )
                new = self.objective(trial, sums[active[pending]])
                ok = np.isfinite(new) & (new >= value[active[pending]])
                gamma[active[pending[ok]]] = trial[ok]
                value[active[pending[ok]]] = new[ok]
                pending = pending[~ok]
                if not pending.size:
                    break
                size[pending] *= 0.5
            active = np.setdiff1d(active, active[pending]) if pending.size else active
        return gamma

    def _gradient_hessian(
        self, gamma: np.ndarray, sums: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Gradient (R, D) and Hessian (R, D, D) of :meth:`objective` in gamma_{1..K-1}."""
        head = self.n_components - 1
        pi = self.unit_pi(gamma)[:, :head]  # (R, K-1, N)
        z = self.covariates
        grad = (sums[:, :head] - pi @ z).reshape(len(gamma), -1)
        hess = -_kron_information(pi, z)
        return grad, hess

    def mean_pi(self, state: np.ndarray) -> np.ndarray:
        return self.unit_pi(state).mean(axis=2)

    def to_squarem(self, state: np.ndarray) -> np.ndarray:
        return state[:, :-1].reshape(len(state), -1)

    def from_squarem(self, x: np.ndarray) -> np.ndarray:
        return self.from_newton(x)

    def to_newton(self, state: np.ndarray) -> np.ndarray:
        return state[:, :-1].reshape(len(state), -1)

    def from_newton(self, x: np.ndarray) -> np.ndarray:
        head = x.reshape(len(x), self.n_components - 1, self.n_covariates)
        return np.concatenate([head, np.zeros((len(x), 1, self.n_covariates))], axis=1)

    def reorder(self, state: np.ndarray, order: np.ndarray) -> np.ndarray:
        permuted = state[order]
        return permuted - permuted[-1]

    def derivative_pieces(
        self, state: np.ndarray, W: np.ndarray, grad: np.ndarray, rows: slice, coords: Coordinates
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pi, z = self.unit_pi(state, rows), self.covariates[rows]
        head = self.n_components - 1
        p, w = pi[:, :head], W[:, :head]
        # unit scores: g_ic = (e_c - p_i) kron z_i, so sum_c w_ic g_ic = (w_i - p_i) kron z_i
        resid = (w - p).transpose(0, 2, 1)  # (R, n, K-1)
        scores = (resid[..., None] * z[None, :, None, :]).reshape(*resid.shape[:2], -1)
        # sum_c w_ic (e_c - p_i)(e_c - p_i)' - (diag p_i - p_i p_i')
        #   = diag(w_i - p_i) - w_i p_i' - p_i w_i' + 2 p_i p_i'     (K-1 block), times z z'
        inner = (
            -np.einsum("rdn,ren->rnde", w, p)
            - np.einsum("rdn,ren->rnde", p, w)
            + 2.0 * np.einsum("rdn,ren->rnde", p, p)
        )
        idx = np.arange(head)
        inner[:, :, idx, idx] += resid
        curvature = np.einsum("rnde,nq,ns->rdqes", inner, z, z).reshape(
            len(state), self.n_params, self.n_params
        )
        # sum_i w_ic grad_ic g_ic' = e_c kron A_c - B_c
        weighted = W[..., None] * grad  # (R, K, n, Pc)
        A = np.einsum("rknp,nq->rkpq", weighted, z)
        cross = -np.einsum("rknp,rdn,nq->rkpdq", weighted, p, z)
        for c in range(head):
            cross[:, c, :, c, :] += A[:, c]
        return scores, curvature, cross.reshape(*cross.shape[:3], self.n_params)

    def naive_information(self, state: np.ndarray) -> np.ndarray:
        """sum_i (diag p_i - p_i p_i') kron z_i z_i': the logit information with known classes."""
        head = self.n_components - 1
        pi = self.unit_pi(state[None])[:, :head]
        return _kron_information(pi, self.covariates)[0]

    def separated(self, state: np.ndarray) -> bool:
        """Whether fitted log-odds exceed ``SEPARATION_LOGIT`` (one parameter set, (K, Q))."""
        eta = self.linear(state[None])[0]
        spread = eta.max(axis=0) - eta.min(axis=0)
        return bool(np.any(spread > SEPARATION_LOGIT))

    def draw_segments(self, state: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        pi = self.unit_pi(state[None])[0]  # (K, N)
        cumulative = np.cumsum(pi, axis=0)
        draws = rng.random(self.n_units)
        return np.minimum((cumulative < draws).sum(axis=0), self.n_components - 1)


def _kron_information(pi: np.ndarray, z: np.ndarray) -> np.ndarray:
    """sum_i (diag p_i - p_i p_i') kron z_i z_i' for p (R, K-1, N), z (N, Q): (R, D, D).

    Two matrix products with the units' z_i z_i' (N, Q^2): one for the diagonal
    term sum_i p_id z z', one for every pair sum_i p_id p_ie z z'.
    """
    n_restarts, head, n_units = pi.shape
    n_cov = z.shape[1]
    zz = (z[:, :, None] * z[:, None, :]).reshape(n_units, n_cov * n_cov)
    pairs = (pi[:, :, None, :] * pi[:, None, :, :]).reshape(n_restarts, head * head, n_units)
    outer = -(pairs @ zz).reshape(n_restarts, head, head, n_cov, n_cov)
    idx = np.arange(head)
    outer[:, idx, idx] += (pi @ zz).reshape(n_restarts, head, n_cov, n_cov)
    return outer.transpose(0, 1, 3, 2, 4).reshape(n_restarts, head * n_cov, head * n_cov)


def _solve_ascent(hess: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """-H^-1 g per row for a negative (semi)definite H; NaN rows where H is singular."""
    try:
        return np.linalg.solve(-hess, grad[..., None])[..., 0]
    except np.linalg.LinAlgError:
        out = np.full_like(grad, np.nan)
        for r in range(len(grad)):
            try:
                out[r] = np.linalg.solve(-hess[r], grad[r])
            except np.linalg.LinAlgError:
                continue
        return out


def pi_jacobian(n_components: int) -> np.ndarray:
    """d pi / d (pi_1..pi_{K-1}), shape (K, K-1): identity above a row of -1."""
    return np.vstack([np.eye(n_components - 1), -np.ones((1, n_components - 1))])


def prior_model(n_components: int, n_units: int, covariates: np.ndarray | None) -> PriorModel:
    """:class:`ConstantPrior` without covariates (or with one segment, whose prior is 1
    whatever z is), else :class:`LogitPrior`."""
    if covariates is None or n_components == 1:
        return ConstantPrior(n_components, n_units)
    return LogitPrior(n_components, covariates)
