"""A trust-region Newton step, kept only for the benchmark's comparison of Newton steps.

The engine's step (:func:`estimator.engine.line_search_step`) takes the modified Newton
direction (the Hessian's eigenvalues replaced by minus their absolute values) and halves it
until log L does not drop. The alternative here maximises the quadratic model within a
radius (Moré & Sorensen 1983, on the Hessian scaled to unit diagonal, solved through its
eigen-decomposition) and adapts the radius by the ratio of actual to predicted gain
(Nocedal & Wright 2006, Algorithm 4.1: shrink to a quarter of the step below 1/4, double at
the boundary above 3/4). docs/benchmark.md gives the comparison.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from estimator import DEFAULT_INIT, DEFAULT_MAX_ITER, DEFAULT_TOL, load_csv, starting_values
from estimator.derivatives import mixture_derivatives
from estimator.engine import (
    EMRun,
    NewtonPoint,
    NewtonStep,
    Problem,
    log_likelihood,
    prepare,
    rounding_slack,
    run_em,
    trial_loglik,
    unit_diagonal,
)

from ..studies.paths import REAL_DATA
from .measure import timed

SHRINK_BELOW, GROW_ABOVE = 0.25, 0.75
"""Ratios of actual to predicted gain below which the radius shrinks, above which it grows."""
ACCEPT_ABOVE = 1e-4
"""A trial whose gain ratio is at most this does not count as progress for the radius."""
MAX_TRIALS = 40


class TrustRegionStep:
    """Trust-region steps for the engine's Newton phase (:class:`estimator.engine.NewtonStep`).

    Each start's radius (in the unit-diagonal coordinates) starts at the length of its first
    modified Newton step (4 and 100 times that changed the Newton steps by under 1%) and is
    carried between iterations. A trial that lowers log L is rejected and retried with a
    smaller radius; one that raises it is taken, and its ratio of actual to predicted gain
    sets the next radius.
    """

    def __init__(self) -> None:
        self._radius: dict[int, float] = {}

    def __call__(self, problem: Problem, point: NewtonPoint) -> tuple[np.ndarray, np.ndarray]:
        rows, x, loglik = point.rows, point.x, point.loglik
        _, scale, scaled = unit_diagonal(point.hessian)
        values, vectors = np.linalg.eigh(scaled)
        along = np.einsum("rji,rj->ri", vectors, point.score * scale)  # gradient in the eigenbasis
        first = np.linalg.norm(point.direction / scale, axis=1)
        known = [self._radius.get(r, np.nan) for r in rows.tolist()]
        radius = np.where(np.isnan(known), first, known)
        out = x.copy()
        trials = np.zeros(len(x), dtype=int)
        slack = rounding_slack(loglik)
        pending = np.arange(len(x))
        for _ in range(MAX_TRIALS):
            p = pending
            coef, gain = model_step(values[p], along[p], radius[p])
            length = np.linalg.norm(coef, axis=1)
            trial = x[p] + np.einsum("rij,rj->ri", vectors[p], coef) * scale[p]
            value = trial_loglik(problem, trial)
            trials[p] += 1
            actual = value - loglik[p]
            ok = np.isfinite(value) & (actual >= -slack[p])
            ratio = np.where(gain > 0, actual / np.maximum(gain, 1e-300), 1.0)
            grow = ok & (ratio > GROW_ABOVE) & (length > 0.99 * radius[p])
            shrink = ~ok | (ratio <= ACCEPT_ABOVE) | (ratio < SHRINK_BELOW)
            radius[p] = np.where(grow, 2 * radius[p], np.where(shrink, length / 4, radius[p]))
            out[p[ok]] = trial[ok]
            pending = p[~ok]
            if not pending.size:
                break
        self._radius.update(zip(rows.tolist(), radius.tolist(), strict=True))
        return out, trials


def model_step(
    values: np.ndarray, along: np.ndarray, radius: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Maximiser of g's + s'Hs/2 over ||s|| <= radius, in H's eigenbasis.

    s_i = a_i / (mu - lambda_i) with mu = 0 when H is negative definite and the Newton step
    fits, else the mu > max(lambda_max, 0) at which ||s|| = radius (Newton's method on
    1/||s(mu)|| - 1/radius, which is nearly linear in mu).

    Parameters
    ----------
    values : ndarray of shape (M, D)
        Eigenvalues of the scaled Hessian, ascending.
    along : ndarray of shape (M, D)
        The scaled gradient in the eigenbasis.
    radius : ndarray of shape (M,)

    Returns
    -------
    coef : ndarray of shape (M, D)
        The step in the eigenbasis.
    gain : ndarray of shape (M,)
        The model's predicted increase of log L.
    """
    top = values[:, -1]
    with np.errstate(divide="ignore"):
        newton = along / -values
    fits = (top < 0) & (np.linalg.norm(newton, axis=1) <= radius)
    low = np.maximum(top, 0.0)
    high = low + np.linalg.norm(along, axis=1) / radius  # ||s(high)|| <= radius
    mu = high.copy()
    for _ in range(50):
        gap = mu[:, None] - values
        coef = along / gap
        norm = np.linalg.norm(coef, axis=1)
        slope = np.sum(coef * coef / gap, axis=1) / norm**3
        new = np.clip(mu - (1.0 / norm - 1.0 / radius) / slope, low, high)
        new = np.where(new <= low, (mu + low) / 2, new)
        done = np.abs(new - mu) <= 1e-12 * mu
        mu = new
        if done.all():
            break
    mu = np.where(fits, 0.0, mu)
    with np.errstate(divide="ignore", invalid="ignore"):
        coef = along / (mu[:, None] - values)
    # the hard case (no gradient along an eigenvector with lambda_max >= 0): the gradient
    # direction to the boundary
    bad = ~np.isfinite(coef).all(axis=1)
    if bad.any():
        unit = along[bad] / np.linalg.norm(along[bad], axis=1, keepdims=True)
        coef[bad] = unit * radius[bad, None]
    gain = np.sum(along * coef, axis=1) + 0.5 * np.sum(values * coef * coef, axis=1)
    return coef, gain


def compare_newton_steps(
    n_seeds: int, repeats: int, ks: tuple[int, ...] = (3, 4)
) -> list[dict[str, Any]]:
    """The engine's Newton step against the trust region on the real panel.

    For each K, ``n_seeds`` fits of 10 starts (the library's default starts, seeds 0, 1, ...)
    run once with each step from the same EM hand-over points: the best log-likelihood and
    how many starts reach it must agree; Newton steps (one Hessian evaluation each), trial
    log-likelihood evaluations and the seconds of all fits (median of ``repeats`` runs, the two
    steps alternating) are compared, and so is the cost of one exact Hessian against one
    log-likelihood at the same points.

    Returns
    -------
    list of dict
        One row per K and step.
    """
    stats = load_csv(REAL_DATA).sufficient_stats()
    steps: dict[str, Callable[[], NewtonStep | None]] = {
        "line search (engine)": lambda: None,
        "trust region": TrustRegionStep,
    }
    rows = []
    for k in ks:
        problem = prepare(stats, k)
        starts = [starting_values(stats, k, 10, seed, DEFAULT_INIT) for seed in range(n_seeds)]

        runs = {name: _fits(problem, starts, make) for name, make in steps.items()}
        seconds: dict[str, list[float]] = {name: [] for name in steps}
        for _ in range(repeats):
            for name, make in steps.items():
                started = time.perf_counter()
                _fits(problem, starts, make)
                seconds[name].append(time.perf_counter() - started)
        hessian_cost = _hessian_per_loglik(problem, runs["line search (engine)"][0])
        engine = [_best(run) for run in runs["line search (engine)"]]
        for name, fitted in runs.items():
            agree = [_best(run) == best for run, best in zip(fitted, engine, strict=True)]
            rows.append(
                {
                    "K": k,
                    "step": name,
                    "fits": n_seeds,
                    "same_best": int(sum(agree)),
                    "newton_steps": int(sum(run.n_newton.sum() for run in fitted)),
                    "trials": int(sum(run.n_trials.sum() for run in fitted)),
                    "seconds": float(np.median(seconds[name])),
                    "hessian_per_loglik": hessian_cost,
                }
            )
    return rows


def _hessian_per_loglik(problem: Problem, run: EMRun, repeats: int = 200) -> float:
    """Time of one exact score and Hessian over one log-likelihood, at the first start's end
    point (one start at a time, as late Newton steps run)."""
    args = (run.theta[:1], run.prior[:1], problem.sigma_arg(run.sigma[:1]))
    parts = (problem.driver, problem.prior, problem.space)
    hessian, _, _ = timed(
        lambda: [mixture_derivatives(*parts, *args, "logratio") for _ in range(repeats)], 3
    )
    loglik, _, _ = timed(lambda: [log_likelihood(problem, *args) for _ in range(repeats)], 3)
    return hessian / loglik


def _fits(
    problem: Problem, starts: list[tuple[np.ndarray, np.ndarray]], make: Callable[[], Any]
) -> list[EMRun]:
    """One certified run per set of starts, each with a fresh step from ``make``."""
    return [run_em(problem, *s, DEFAULT_TOL, DEFAULT_MAX_ITER, newton_step=make()) for s in starts]


def _best(run: EMRun) -> tuple[float, int]:
    """The best certified log-likelihood (to 1e-6) and how many starts reach it."""
    best = run.loglik[run.converged].max()
    return round(float(best), 6), int(np.sum(run.converged & (run.loglik > best - 1e-6)))
