"""The fit loop: accelerated EM from many starts, Newton polish, a certified maximum.

R starting points run together as one batch (parameters (R, K, P), (R, K), and
sigma (R, K)), each with its own state, on the component driver
(:mod:`estimator.driver`), which owns every formula of the component.

1. **Accelerated EM.** SQUAREM (Varadhan & Roland 2008, scheme S3) on the EM
   map F: from p0, p1 = F(p0), p2 = F(p1), r = p1 - p0, v = p2 - p1 - r,
   alpha = -||r|| / ||v|| (at most -1, at least -step_max), p' = p0 - 2 alpha r +
   alpha^2 v, and the next point is F(p'). The extrapolation runs in
   unconstrained coordinates (theta, log pi, log sigma), so p' is always a valid
   parameter. If log L(p') < log L(p1) the step is rejected and the next point is
   the plain EM point p2: the sequence of log-likelihoods never decreases. The
   step bound adapts as in the SQUAREM package (times 4 when reached, back
   down after a rejection). A start stops when the relative change of its
   log-likelihood between iterations is at most ``tol``, after ``max_iter``
   EM-map evaluations, or when a segment empties (degenerate).
2. **Newton polish.** From there, Newton steps in (theta, eta, log sigma) with
   eta_c = log(pi_c / pi_K), with the exact gradient and Hessian
   (:mod:`estimator.derivatives`) and a backtracking line search that never
   lowers the log-likelihood. Where the Hessian is not negative definite the
   step uses its eigenvalues' absolute values (still an ascent direction). The
   step is :func:`line_search_step` unless ``run_em`` is given another
   (:class:`NewtonStep`; the benchmark measures a trust region this way).
3. **Certificate.** A start is ``converged`` when the Newton decrement
   g' (-H)^-1 g (twice the log-likelihood still to gain, to second order) is at
   most ``DECREMENT_TOL`` and the Hessian, scaled to unit diagonal, is negative
   definite (its largest eigenvalue below ``-EIGEN_TOL``): gradient zero and a
   strict local maximum, not a relative-change rule. A start whose
   log-likelihood is more than ``ABANDON_GAP`` below the best certified one
   after ``ABANDON_AFTER`` Newton steps is abandoned (it cannot become the
   best). A start that cannot be polished (a sigma at its floor) keeps its EM
   result, uncertified.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .derivatives import mixture_derivatives, posteriors_and_loglik
from .driver import ComponentDriver, PosteriorSums, component_driver
from .guard import admissible
from .panel import SufficientStats
from .params import MIN_SEGMENT_WEIGHT, SIGMA_MODES, SigmaMode, canonical_order, check_sigma_mode
from .prior import PriorModel, prior_model
from .space import ParameterSpace, theta_scale
from .threads import one_blas_thread

__all__ = [
    "MIN_SEGMENT_WEIGHT",
    "SIGMA_MODES",
    "EMRun",
    "NewtonPoint",
    "NewtonStep",
    "Problem",
    "SigmaMode",
    "em_sweep",
    "log_likelihood",
    "line_search_step",
    "loglik_at",
    "posteriors",
    "prepare",
    "rounding_slack",
    "run_em",
    "trial_loglik",
    "unit_diagonal",
    "unit_posteriors",
]

DECREMENT_TOL = 1e-12
"""Newton decrement (log-likelihood units) at or below which the gradient counts as zero."""
EIGEN_TOL = 1e-12
"""The unit-diagonal Hessian's largest eigenvalue must be below -EIGEN_TOL (negative definite)."""
MAX_NEWTON = 50
"""Newton steps per start at most."""
ABANDON_GAP = 1.0
"""Log-likelihood units below the best certified start (one the guard admits, where it acts)
at which a start is abandoned..."""
ABANDON_AFTER = 3
"""...once it has made this many Newton steps."""
SAME_START = 1e-5
"""Starts whose EM end points differ by less than this (scale-free coordinates, after
canonical ordering) are polished once and share the result. Measured on the real data and
the hard-case suite (30 fits, 100 starts each): starts that ended at different certified
maxima were never closer than 4.5e-4 at the hand-over; 32% of the pairs that ended at the
same maximum were closer than 1e-5 (docs/engine.md)."""
SIGMA_CEILING_REL = 1e6
"""A SQUAREM trial's sigma is at most this times the data's scale (the step is then rejected)."""
STEP_MAX0 = 1.0
STEP_FACTOR = 4.0
"""SQUAREM's initial step bound and its multiplier (the SQUAREM package's defaults)."""


@dataclass(frozen=True, eq=False)
class Problem:
    """What one fit loop maximises: the component driver, the prior model, the space.

    Attributes
    ----------
    driver : ComponentDriver
        The data (built once per data set).
    prior : PriorModel
        Constant pi, or the multinomial logit on unit covariates.
    space : ParameterSpace
        Coordinates of (theta, prior, sigma) for K segments.
    guarded : bool
        The guard acts (:attr:`FitOptions.guarded`): a maximum it will set aside does not
        count as the best certified one when Newton abandons starts that fall behind it.
    """

    driver: ComponentDriver
    prior: PriorModel
    space: ParameterSpace
    guarded: bool = False

    @property
    def sigma_mode(self) -> str:
        """``"fixed"``, ``"common"`` or ``"segment"``."""
        return self.space.sigma_mode

    @property
    def estimates_sigma(self) -> bool:
        """Whether sigma is estimated."""
        return self.space.sigma_mode != "fixed"

    @property
    def n_components(self) -> int:
        """K."""
        return self.prior.n_components

    def sigma_arg(self, sigma: np.ndarray) -> np.ndarray | None:
        """``sigma`` where it enters the arithmetic, None when fixed at 1."""
        return sigma if self.estimates_sigma else None


def prepare(
    data: SufficientStats | ComponentDriver,
    n_components: int,
    sigma_mode: SigmaMode = "fixed",
    covariates: np.ndarray | None = None,
    guarded: bool = False,
) -> Problem:
    """The :class:`Problem` of K segments on ``data``.

    Parameters
    ----------
    data : SufficientStats or ComponentDriver
        The statistics (their driver is built once per statistics object), or a driver.
    n_components : int
    sigma_mode : {"fixed", "common", "segment"}
    covariates : ndarray of shape (N, Q), optional
        Unit covariates of a multinomial-logit prior (concomitant variables).
    guarded : bool
        Whether the guard acts on this fit (:attr:`Problem.guarded`).
    """
    driver = data if isinstance(data, ComponentDriver) else component_driver(data)
    sigma_mode = check_sigma_mode(sigma_mode)
    prior = prior_model(n_components, driver.n_stores, covariates)
    scale = None
    if sigma_mode != "fixed":
        # sigma estimated: SQUAREM moves in units of the data's scale, so a fit does not
        # depend on the units of y or of a regressor (sigma fixed at 1 has y's units)
        scale = theta_scale(driver.metric(), float(np.mean(driver.n_obs)), driver.scale)
    space = ParameterSpace(prior, driver.n_coef, sigma_mode, scale)
    return Problem(driver, prior, space, guarded)


@dataclass(frozen=True, eq=False)
class EMRun:
    """Outcome of the loop from R starting points.

    Attributes
    ----------
    theta : ndarray of shape (R, K, P)
    prior : ndarray
        The prior's state: pi (R, K) or gamma (R, K, Q).
    pi : ndarray of shape (R, K)
        Mean prior probability of each segment (pi itself when constant).
    sigma : ndarray of shape (R, K)
        Error standard deviations (all 1 when fixed).
    loglik : ndarray of shape (R,)
        Log-likelihood at the returned parameters.
    segment_obs : ndarray of shape (R, K)
        Each segment's effective number of observations sum_i w_ic n_i there.
    n_iter : ndarray of shape (R,)
        EM-map evaluations (E- and M-steps) made.
    n_newton : ndarray of shape (R,)
        Newton steps made.
    n_trials : ndarray of shape (R,)
        Log-likelihood evaluations of trial points in the Newton phase (one per step
        when every first trial is accepted).
    converged : ndarray of shape (R,)
        Certified maximum (polished) or, without polishing, the EM stopping rule met.
    degenerate : ndarray of shape (R,)
        A segment's weight collapsed below ``MIN_SEGMENT_WEIGHT``.
    sigma_floored : ndarray of shape (R,)
        Some sigma update hit the driver's floor.
    abandoned : ndarray of shape (R,)
        Polishing stopped because the start was clearly below the best.
    grad_norm : ndarray of shape (R,)
        Euclidean norm of the gradient in Newton's coordinates at the result
        (NaN when not polished).
    decrement : ndarray of shape (R,)
        Newton decrement at the result (NaN when not polished).
    max_eigen : ndarray of shape (R,)
        Largest eigenvalue of the Hessian in Newton's coordinates (NaN when not polished).
    traces : list of R ndarrays
        Log-likelihood of every accepted iterate (EM phase, then Newton phase).
    """

    theta: np.ndarray
    prior: np.ndarray
    pi: np.ndarray
    sigma: np.ndarray
    loglik: np.ndarray
    segment_obs: np.ndarray
    n_iter: np.ndarray
    n_newton: np.ndarray
    n_trials: np.ndarray
    converged: np.ndarray
    degenerate: np.ndarray
    sigma_floored: np.ndarray
    abandoned: np.ndarray
    grad_norm: np.ndarray
    decrement: np.ndarray
    max_eigen: np.ndarray
    traces: list[np.ndarray]


def em_sweep(
    problem: Problem,
    theta: np.ndarray,
    prior_state: np.ndarray,
    sigma: np.ndarray | None = None,
    with_sigma: bool = False,
) -> tuple[np.ndarray, PosteriorSums, np.ndarray]:
    """One pass over the units: the log-likelihood and the M-step's sums.

    The (R, K, N) posteriors exist one block of ``STORE_BLOCK`` units at a
    time, so memory stays flat in N.

    Parameters
    ----------
    problem : Problem
    theta : ndarray of shape (R, K, P)
    prior_state : ndarray
    sigma : ndarray of shape (R, K), optional
    with_sigma : bool
        Also accumulate the sums of the variance update.

    Returns
    -------
    loglik : ndarray of shape (R,)
    sums : PosteriorSums
        The component's sums.
    prior_sums : ndarray
        The prior's sums.
    """
    loglik = sums = prior_sums = None
    for rows, part in problem.driver.blocks():
        per_unit, W = posteriors_and_loglik(part, problem.prior, rows, theta, prior_state, sigma)
        part_sums = part.posterior_sums(W, with_sigma)
        part_prior = problem.prior.accumulate(W, rows)
        if sums is None:
            loglik, sums, prior_sums = per_unit.sum(axis=1), part_sums, part_prior
        else:
            loglik = loglik + per_unit.sum(axis=1)
            sums, prior_sums = sums + part_sums, prior_sums + part_prior
    return loglik, sums, prior_sums


def log_likelihood(
    problem: Problem, theta: np.ndarray, prior_state: np.ndarray, sigma: np.ndarray | None = None
) -> np.ndarray:
    """log L of R parameter sets, shape (R,) (theta (R, K, P), prior state, sigma or None)."""
    total = np.zeros(len(theta))
    for rows, part in problem.driver.blocks():
        total += posteriors_and_loglik(part, problem.prior, rows, theta, prior_state, sigma)[0].sum(
            axis=1
        )
    return total


def posteriors(
    stats: SufficientStats,
    theta: np.ndarray,
    pi: np.ndarray,
    sigma: np.ndarray | None = None,
    covariates: np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    """Log-likelihood and posterior segment probabilities of one parameter set.

    Parameters
    ----------
    stats : SufficientStats
    theta : ndarray of shape (K, P)
    pi : ndarray of shape (K,), or gamma (K, Q) with ``covariates``
    sigma : ndarray of shape (K,), optional
        Error standard deviations; None means 1.
    covariates : ndarray of shape (N, Q), optional

    Returns
    -------
    loglik : float
    W : ndarray of shape (N, K)
        Rows sum to 1.
    """
    per_unit, W = unit_posteriors(stats, theta, pi, sigma, covariates)
    return float(per_unit.sum()), W.T.copy()


def loglik_at(
    stats: SufficientStats,
    theta: np.ndarray,
    pi: np.ndarray,
    sigma: np.ndarray | float | None = None,
    covariates: np.ndarray | None = None,
) -> float:
    """The exact mixture log-likelihood of ``stats`` at one parameter set.

    Parameters
    ----------
    stats : SufficientStats
    theta : array_like of shape (K, P)
    pi : array_like of shape (K,), or gamma (K, Q) with ``covariates``
    sigma : float or array_like of shape (K,), optional
        Error standard deviations; None means 1 (the assignment's model).
    covariates : ndarray of shape (N, Q), optional

    Returns
    -------
    float
    """
    theta = np.asarray(theta, dtype=float)
    if sigma is not None:
        sigma = np.broadcast_to(np.asarray(sigma, dtype=float), (len(theta),))
    return posteriors(stats, theta, pi, sigma, covariates)[0]


@one_blas_thread
def unit_posteriors(
    stats: SufficientStats,
    theta: np.ndarray,
    prior_state: np.ndarray,
    sigma: np.ndarray | None,
    covariates: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Each unit's log-likelihood log sum_c pi_ic f_ic (N,) and the posteriors (K, N) at the
    parameter set :func:`posteriors` takes."""
    theta = np.asarray(theta, dtype=float)[None]
    prior_state = np.asarray(prior_state, dtype=float)[None]
    sigma = None if sigma is None else np.asarray(sigma, dtype=float)[None]
    driver = component_driver(stats)
    prior = prior_model(theta.shape[1], driver.n_stores, covariates)
    per_unit, W = [], []
    for rows, part in driver.blocks():
        block_ll, block_W = posteriors_and_loglik(part, prior, rows, theta, prior_state, sigma)
        per_unit.append(block_ll[0])
        W.append(block_W[0])
    return np.concatenate(per_unit), np.concatenate(W, axis=1)


# ---------------------------------------------------------------------------
# the loop
# ---------------------------------------------------------------------------


@one_blas_thread
def run_em(
    problem: Problem,
    theta0: np.ndarray,
    prior0: np.ndarray,
    tol: float,
    max_iter: int,
    sigma0: np.ndarray | None = None,
    accelerate: bool = True,
    polish: bool = True,
    newton_step: NewtonStep | None = None,
) -> EMRun:
    """Accelerated EM, then Newton polish, from R starting points at once.

    Parameters
    ----------
    problem : Problem
    theta0 : ndarray of shape (R, K, P)
    prior0 : ndarray
        Starting prior state: pi (R, K) or gamma (R, K, Q).
    tol : float
        Relative change of the log-likelihood at which EM hands over to Newton
        (and, without polishing, stops).
    max_iter : int
        EM-map evaluations per start at most.
    sigma0 : ndarray of shape (R, K), optional
        Starting sigma when it is estimated (default 1).
    accelerate : bool
        SQUAREM (True) or plain EM steps (False).
    polish : bool
        Newton polish and certificate (True), or stop at the EM rule.
    newton_step : NewtonStep, optional
        How a Newton iteration moves a start (default :func:`line_search_step`; the
        benchmark passes its alternatives here).

    Returns
    -------
    EMRun
    """
    if not (np.isfinite(tol) and tol >= 0):
        raise ValueError(f"tol must be a finite number >= 0, got {tol}")
    if int(max_iter) != max_iter or max_iter < 0:
        raise ValueError(f"max_iter must be a whole number >= 0, got {max_iter}")
    n_restarts, n_components, _ = theta0.shape
    sigma = np.ones((n_restarts, n_components))
    if problem.estimates_sigma and sigma0 is not None:
        sigma[:] = sigma0
    state = _State(np.array(theta0, dtype=float), np.array(prior0, dtype=float), sigma)
    _accelerated_em(problem, state, tol, int(max_iter), accelerate)
    if polish:
        _polish(problem, state, line_search_step if newton_step is None else newton_step)
    else:
        state.converged[:] = state.em_converged
    return state.result(problem)


def _pick(mask: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rows of ``a`` where ``mask`` (R,) holds, else of ``b`` (any trailing shape)."""
    return np.where(mask.reshape(-1, *([1] * (a.ndim - 1))), a, b)


class _State:
    """Per-start arrays the phases update in place."""

    def __init__(self, theta: np.ndarray, prior: np.ndarray, sigma: np.ndarray) -> None:
        n_restarts = len(theta)
        self.theta, self.prior, self.sigma = theta, prior, sigma
        self.loglik = np.full(n_restarts, -np.inf)
        self.n_iter = np.zeros(n_restarts, dtype=int)
        self.n_newton = np.zeros(n_restarts, dtype=int)
        self.n_trials = np.zeros(n_restarts, dtype=int)
        self.em_converged = np.zeros(n_restarts, dtype=bool)
        self.converged = np.zeros(n_restarts, dtype=bool)
        self.degenerate = np.zeros(n_restarts, dtype=bool)
        self.sigma_floored = np.zeros(n_restarts, dtype=bool)
        self.abandoned = np.zeros(n_restarts, dtype=bool)
        self.grad_norm = np.full(n_restarts, np.nan)
        self.decrement = np.full(n_restarts, np.nan)
        self.max_eigen = np.full(n_restarts, np.nan)
        self.traces: list[list[float]] = [[] for _ in range(n_restarts)]

    def record(self, rows: np.ndarray, loglik: np.ndarray) -> None:
        for r, value in zip(rows.tolist(), loglik.tolist(), strict=True):
            self.traces[r].append(value)

    def result(self, problem: Problem) -> EMRun:
        sigma = problem.sigma_arg(self.sigma)
        with np.errstate(all="ignore"):
            _, sums, _ = em_sweep(problem, self.theta, self.prior, sigma, with_sigma=True)
        return EMRun(
            theta=self.theta,
            prior=self.prior,
            pi=problem.prior.mean_pi(self.prior),
            sigma=self.sigma,
            loglik=self.loglik,
            segment_obs=sums.n_obs,
            n_iter=self.n_iter,
            n_newton=self.n_newton,
            n_trials=self.n_trials,
            converged=self.converged,
            degenerate=self.degenerate,
            sigma_floored=self.sigma_floored,
            abandoned=self.abandoned,
            grad_norm=self.grad_norm,
            decrement=self.decrement,
            max_eigen=self.max_eigen,
            traces=[np.asarray(t) for t in self.traces],
        )


Point = tuple[np.ndarray, np.ndarray, np.ndarray]
"""(theta (R, K, P), prior state, sigma (R, K)) of R starts."""


def _em_map(
    problem: Problem, theta: np.ndarray, prior: np.ndarray, sigma: np.ndarray
) -> tuple[np.ndarray, np.ndarray, Point, np.ndarray]:
    """log L at the point, whether a segment is empty there, F(point), and floored sigmas."""
    estimate = problem.estimates_sigma
    loglik, sums, prior_sums = em_sweep(problem, theta, prior, problem.sigma_arg(sigma), estimate)
    empty = (sums.weight < MIN_SEGMENT_WEIGHT).any(axis=1)
    step = problem.driver.m_step(sums, problem.sigma_mode)
    new_prior = problem.prior.m_step(prior, prior_sums)
    new_sigma = sigma if step.sigma is None else step.sigma
    return loglik, empty, (step.theta, new_prior, new_sigma), step.floored


def _accelerated_em(
    problem: Problem, state: _State, tol: float, max_iter: int, accelerate: bool
) -> None:
    """SQUAREM (or plain EM) until every start meets the stopping rule; updates ``state``."""
    space = problem.space
    active = np.arange(len(state.theta))
    theta, prior, sigma = state.theta.copy(), state.prior.copy(), state.sigma.copy()
    step_max = np.full(len(active), STEP_MAX0)
    previous = np.full(len(active), np.nan)
    floor = problem.driver.sigma_floor
    # with sigma estimated the change is relative to the log-likelihood in units of the
    # data's scale (log L + n log s), which does not move when y is rescaled
    level = (
        problem.driver.n_total * np.log(problem.driver.scale) if problem.estimates_sigma else 0.0
    )
    while active.size:
        loglik0, empty, p1, floored = _em_map(problem, theta, prior, sigma)
        state.n_iter[active] += 1
        state.sigma_floored[active] |= floored
        state.record(active, loglik0)
        done = np.abs(loglik0 - previous) <= tol * np.abs(previous + level)
        out_of_steps = state.n_iter[active] > max_iter
        # a sigma at the floor is a segment collapsed onto observations it fits exactly:
        # the likelihood has no maximum there, and EM would only creep towards infinity
        at_floor = (sigma <= floor).any(axis=1) if problem.estimates_sigma else False
        stop = done | empty | out_of_steps | at_floor
        if stop.any():
            rows = active[stop]
            state.theta[rows], state.prior[rows] = theta[stop], prior[stop]
            state.sigma[rows] = sigma[stop]
            state.loglik[rows] = loglik0[stop]
            state.em_converged[rows] = done[stop] & ~empty[stop]
            state.degenerate[rows] = empty[stop]
            state.n_iter[rows] -= 1  # the last evaluation only measured the stopping point
            keep = ~stop
            active, loglik0, step_max = active[keep], loglik0[keep], step_max[keep]
            theta, prior, sigma = theta[keep], prior[keep], sigma[keep]
            p1 = tuple(part[keep] for part in p1)
            if not active.size:
                break
        previous = loglik0
        if not accelerate:
            theta, prior, sigma = p1
            continue
        loglik1, _, p2, floored2 = _em_map(problem, *p1)
        x0 = space.to_squarem(theta, prior, sigma)
        x1 = space.to_squarem(*p1)
        x2 = space.to_squarem(*p2)
        r = x1 - x0
        v = x2 - x1 - r
        rr = np.einsum("ij,ij->i", r, r)
        vv = np.einsum("ij,ij->i", v, v)
        with np.errstate(divide="ignore", invalid="ignore"):
            alpha = -np.sqrt(rr / vv)
        alpha = np.where(np.isfinite(alpha), alpha, -1.0)
        alpha = np.minimum(np.maximum(alpha, -step_max), -1.0)  # np.clip, without its overhead
        x_new = x0 - 2.0 * alpha[:, None] * r + (alpha**2)[:, None] * v
        trial_theta, trial_prior, trial_sigma = space.from_squarem(x_new)
        # an extrapolated sigma stays between the floor and a million times the data's scale
        trial_sigma = np.minimum(
            np.maximum(trial_sigma, floor), SIGMA_CEILING_REL * problem.driver.scale
        )
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            loglik_trial, _, p_trial, floored3 = _em_map(
                problem, trial_theta, trial_prior, trial_sigma
            )
        state.n_iter[active] += 2
        accept = np.isfinite(loglik_trial) & (loglik_trial >= loglik1)
        state.sigma_floored[active] |= floored2 | (floored3 & accept)
        theta = _pick(accept, p_trial[0], p2[0])
        prior = _pick(accept, p_trial[1], p2[1])
        sigma = _pick(accept, p_trial[2], p2[2])
        at_bound = alpha == -step_max
        step_max = np.where(
            accept,
            np.where(at_bound, step_max * STEP_FACTOR, step_max),
            np.where(at_bound, np.maximum(STEP_MAX0, step_max / STEP_FACTOR), step_max),
        )


def handover_coordinates(
    problem: Problem, state: _State, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Scale-free coordinates of starts' parameters, segments in canonical order, (len(rows), d).

    theta through the Cholesky factor of the mean Gram matrix per observation, over the
    data's scale (fitted values in units of the scale); the prior's Newton coordinates
    (log pi or gamma); log sigma. Also each start's canonical order, (len(rows), K).
    """
    driver = problem.driver
    metric = driver.metric() / max(float(np.mean(driver.n_obs)), 1.0)
    values, vectors = np.linalg.eigh(metric)
    root = vectors * np.sqrt(np.maximum(values, 0.0))  # root @ root.T = metric
    out, orders = [], []
    for r in rows:
        order = canonical_order(state.theta[r])
        orders.append(order)
        theta = state.theta[r][order] @ root / driver.scale
        prior = problem.prior.reorder(state.prior[r], order)
        with np.errstate(divide="ignore"):
            coords = problem.prior.to_squarem(prior[None])[0]
        out.append(np.concatenate([theta.ravel(), coords, np.log(state.sigma[r][order])]))
    return np.array(out), np.array(orders)


def _representatives(
    problem: Problem, state: _State, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For every row, the row whose polish it shares (itself when it is polished), and the
    rows' canonical orders at the hand-over."""
    coords, orders = handover_coordinates(problem, state, rows)
    order = np.argsort(-state.loglik[rows], kind="stable")
    owner = rows.copy()
    chosen: list[int] = []
    for i in order:
        for j in chosen:
            if np.max(np.abs(coords[i] - coords[j])) < SAME_START:
                owner[i] = rows[j]
                break
        else:
            chosen.append(i)
    return owner, orders


def _share_polish(
    problem: Problem, state: _State, owner: np.ndarray, rows: np.ndarray, orders: np.ndarray
) -> None:
    """Starts merged with a polished one take its result, in their own segment labels
    (their EM counts stay their own)."""
    position = {r: i for i, r in enumerate(rows.tolist())}
    for r, o in zip(rows.tolist(), owner.tolist(), strict=True):
        if r == o:
            continue
        # segment orders[r][j] of start r is segment orders[o][j] of its representative
        mine, theirs = orders[position[r]], orders[position[o]]
        relabel = np.empty_like(mine)
        relabel[mine] = theirs
        state.theta[r] = state.theta[o][relabel]
        state.prior[r] = problem.prior.reorder(state.prior[o], relabel)
        state.sigma[r] = state.sigma[o][relabel]
        for name in (
            "loglik",
            "n_newton",
            "n_trials",
            "converged",
            "degenerate",
            "sigma_floored",
            "abandoned",
            "grad_norm",
            "decrement",
            "max_eigen",
        ):
            getattr(state, name)[r] = getattr(state, name)[o]
        state.traces[r].extend(state.traces[o][-state.n_newton[o] :] if state.n_newton[o] else [])


def _polish(problem: Problem, state: _State, newton_step: NewtonStep) -> None:
    """Newton steps on every distinct start that can be polished; certify."""
    eligible = np.flatnonzero(~state.degenerate & ~state.sigma_floored & np.isfinite(state.loglik))
    if not eligible.size:
        return
    owner, orders = _representatives(problem, state, eligible)
    _newton(problem, state, eligible[owner == eligible], newton_step)
    _share_polish(problem, state, owner, eligible, orders)


def _newton(problem: Problem, state: _State, rows: np.ndarray, newton_step: NewtonStep) -> None:
    """Newton steps on ``rows``; certify each."""
    space, driver, prior_model = problem.space, problem.driver, problem.prior
    x = space.to_newton(state.theta[rows], state.prior[rows], state.sigma[rows])
    all_rows = rows
    hessians = np.full((len(state.theta), x.shape[1], x.shape[1]), np.nan)
    best_certified = -np.inf
    floor = driver.sigma_floor
    for step in range(MAX_NEWTON + 1):
        theta, prior, sigma = space.from_newton(x)
        deriv = mixture_derivatives(
            driver, prior_model, space, theta, prior, problem.sigma_arg(sigma), "logratio"
        )
        loglik = deriv.loglik
        direction, decrement, definite = _newton_direction(deriv.score, deriv.hessian)
        certified = definite & (decrement <= DECREMENT_TOL)
        state.grad_norm[rows] = np.linalg.norm(deriv.score, axis=1)
        state.decrement[rows] = decrement
        hessians[rows] = deriv.hessian
        state.loglik[rows] = loglik
        state.theta[rows], state.prior[rows], state.sigma[rows] = theta, prior, sigma
        state.converged[rows] = certified
        if step:
            state.record(rows, loglik)
        counted = _admitted(problem, certified, theta, prior, sigma)
        if counted.any():
            best_certified = max(best_certified, float(loglik[counted].max()))
        behind = (step >= ABANDON_AFTER) & (loglik < best_certified - ABANDON_GAP)
        state.abandoned[rows] = behind & ~certified
        going = ~certified & ~behind & np.all(np.isfinite(direction), axis=1)
        if step == MAX_NEWTON or not going.any():
            break
        rows, x, loglik, direction = rows[going], x[going], loglik[going], direction[going]
        point = NewtonPoint(rows, x, loglik, deriv.score[going], deriv.hessian[going], direction)
        x, trials = newton_step(problem, point)
        state.n_newton[rows] += 1
        state.n_trials[rows] += trials
        theta, prior, sigma = space.from_newton(x)
        sigma_low = (sigma < floor).any(axis=1)
        # a segment Newton drives towards no units: an empty segment, not a maximum
        emptying = prior_model.empty(prior)
        state.sigma_floored[rows[sigma_low]] = True
        state.degenerate[rows[emptying]] = True
        stop = sigma_low | emptying
        if stop.any():
            rows, x = rows[~stop], x[~stop]
            if not rows.size:
                break
    finite = all_rows[np.isfinite(hessians[all_rows]).all(axis=(1, 2))]
    state.max_eigen[finite] = np.linalg.eigvalsh(hessians[finite])[:, -1]


def _admitted(
    problem: Problem, certified: np.ndarray, theta: np.ndarray, prior: np.ndarray, sigma: np.ndarray
) -> np.ndarray:
    """The certified points (mask over the rows) the guard lets the fit return: a spurious
    maximum must not make Newton abandon the starts on their way to the best admissible one."""
    if not (problem.guarded and certified.any()):
        return certified
    rows = np.flatnonzero(certified)
    _, sums, _ = em_sweep(
        problem, theta[rows], prior[rows], problem.sigma_arg(sigma[rows]), with_sigma=True
    )
    admitted = np.zeros_like(certified)
    admitted[rows] = admissible(sums.n_obs, problem.driver.n_coef, True)
    return admitted


def _newton_direction(
    score: np.ndarray, hessian: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ascent direction, Newton decrement and definiteness per start.

    The Hessian is scaled to unit diagonal before its eigen-decomposition, so the
    test of definiteness does not depend on the parameters' units. Where it is
    not negative definite, eigenvalues are replaced by minus their absolute value
    (floored), which keeps the step an ascent direction. A start whose score or
    Hessian overflowed (data scaled far beyond doubles' range of squares) gets a
    NaN direction and is not certified: it keeps its EM point.
    """
    direction = np.full_like(score, np.nan)
    decrement = np.full(len(score), np.inf)
    definite = np.zeros(len(score), dtype=bool)
    diagonal, scale, scaled = unit_diagonal(hessian)
    # a zero on the diagonal (a parameter no store informs) rules out a maximum
    finite = (
        np.isfinite(score).all(axis=1)
        & (diagonal > 1e-300).all(axis=1)
        & np.isfinite(scaled).all(axis=(1, 2))
    )
    if not finite.any():
        return direction, decrement, definite
    score, scale, scaled = score[finite], scale[finite], scaled[finite]
    values, vectors = np.linalg.eigh(scaled)
    definite[finite] = values[:, -1] < -EIGEN_TOL
    curvature = np.maximum(np.abs(values), 1e-8 * np.abs(values).max(axis=1, keepdims=True))
    g = score * scale
    coef = np.einsum("rji,rj->ri", vectors, g) / curvature
    direction[finite] = np.einsum("rij,rj->ri", vectors, coef) * scale
    decrement[finite] = np.einsum("ri,ri->r", score, direction[finite])
    return direction, decrement, definite


def unit_diagonal(hessian: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hessians (R, D, D) scaled to unit diagonal: |diagonal| (R, D), scale = |diagonal|^-1/2
    (R, D) and scale H scale (R, D, D) (infinite or NaN where a diagonal entry is zero)."""
    diagonal = np.abs(np.diagonal(hessian, axis1=1, axis2=2))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        scale = 1.0 / np.sqrt(diagonal)
        scaled = hessian * scale[:, :, None] * scale[:, None, :]
    return diagonal, scale, scaled


@dataclass(frozen=True, eq=False)
class NewtonPoint:
    """Where a Newton iteration stands for the M starts it still moves.

    Attributes
    ----------
    rows : ndarray of shape (M,)
        The starts' indices in the batch (stable across iterations).
    x : ndarray of shape (M, D)
        Newton coordinates.
    loglik : ndarray of shape (M,)
    score : ndarray of shape (M, D)
    hessian : ndarray of shape (M, D, D)
        Exact derivatives at ``x``.
    direction : ndarray of shape (M, D)
        The modified Newton direction: -H^-1 g with H's eigenvalues replaced by minus their
        absolute values (in unit-diagonal scaling).
    """

    rows: np.ndarray
    x: np.ndarray
    loglik: np.ndarray
    score: np.ndarray
    hessian: np.ndarray
    direction: np.ndarray


class NewtonStep(Protocol):
    """How one Newton iteration moves the starts that are not yet certified: the next points
    (M, D), whose log-likelihood is not below ``point.loglik`` (up to rounding), and the
    log-likelihood evaluations each needed (M,)."""

    def __call__(self, problem: Problem, point: NewtonPoint) -> tuple[np.ndarray, np.ndarray]: ...


def line_search_step(problem: Problem, point: NewtonPoint) -> tuple[np.ndarray, np.ndarray]:
    """The engine's step: the modified Newton direction, halved until log L does not drop."""
    x, loglik, direction = point.x, point.loglik, point.direction
    step = np.ones(len(x))
    out = x.copy()
    trials = np.zeros(len(x), dtype=int)
    pending = np.arange(len(x))
    slack = rounding_slack(loglik)
    for _ in range(40):
        trial = x[pending] + step[pending, None] * direction[pending]
        value = trial_loglik(problem, trial)
        trials[pending] += 1
        ok = np.isfinite(value) & (value >= loglik[pending] - slack[pending])
        out[pending[ok]] = trial[ok]
        pending = pending[~ok]
        if not pending.size:
            break
        step[pending] *= 0.5
    return out, trials


def rounding_slack(loglik: np.ndarray) -> np.ndarray:
    """How far a trial's log L may fall below ``loglik`` from rounding in log L itself."""
    return 1e-12 * np.maximum(1.0, np.abs(loglik))


def trial_loglik(problem: Problem, x: np.ndarray) -> np.ndarray:
    """log L at Newton coordinates ``x`` (M, D); non-finite where the point overflows."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        theta, prior, sigma = problem.space.from_newton(x)
        return log_likelihood(problem, theta, prior, problem.sigma_arg(sigma))
