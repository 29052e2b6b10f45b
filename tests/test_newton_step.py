"""The Newton phase's step is pluggable: the engine's line search and the benchmark's trust
region (simstudy/bench/trust_region.py) reach the same certified maxima; the trust region's
model step is the true maximiser of the quadratic model within its radius."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from estimator import DEFAULT_INIT, load_csv, starting_values
from estimator.engine import line_search_step, prepare, run_em
from simstudy.bench.trust_region import TrustRegionStep, model_step
from simstudy.studies.paths import REAL_DATA


def _model(values, along, coef):
    return along @ coef + 0.5 * np.sum(values * coef * coef)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    dim=st.integers(1, 6),
    radius=st.floats(1e-3, 1e3),
    shift=st.floats(-3.0, 3.0),
)
def test_model_step_maximises_the_quadratic_model_within_the_radius(seed, dim, radius, shift):
    rng = np.random.default_rng(seed)
    values = np.sort(rng.normal(shift, 1.0, dim))
    along = rng.normal(0.0, 1.0, dim)
    coef, gain = model_step(values[None], along[None], np.array([radius]))
    coef, gain = coef[0], float(gain[0])
    assert np.linalg.norm(coef) <= radius * (1 + 1e-9)
    assert gain == pytest.approx(_model(values, along, coef), rel=1e-10, abs=1e-12)
    # oracle: a constrained optimiser from several starts on the ball
    best = -np.inf
    for _ in range(4):
        x0 = rng.normal(size=dim)
        x0 *= 0.5 * radius / np.linalg.norm(x0)
        found = minimize(
            lambda c: -_model(values, along, c),
            x0,
            jac=lambda c: -(along + values * c),
            constraints=[{"type": "ineq", "fun": lambda c: radius**2 - c @ c}],
            method="SLSQP",
            options={"ftol": 1e-14, "maxiter": 500},
        )
        inside = found.x * min(1.0, radius / np.linalg.norm(found.x))  # onto the ball
        best = max(best, _model(values, along, inside))
    assert gain >= best - 1e-7 * max(1.0, abs(best))


def test_newton_step_inside_the_region_is_the_newton_step():
    values = np.array([[-4.0, -1.0]])
    along = np.array([[2.0, 0.5]])
    coef, gain = model_step(values, along, np.array([10.0]))
    np.testing.assert_allclose(coef, [[0.5, 0.5]])
    assert gain[0] == pytest.approx(0.5 * (2.0 * 0.5 + 0.5 * 0.5))


@pytest.mark.parametrize("n_components", [3, 4])
def test_both_steps_reach_the_same_certified_maxima(n_components):
    stats = load_csv(REAL_DATA).sufficient_stats()
    problem = prepare(stats, n_components)
    theta, pi = starting_values(stats, n_components, 10, 0, DEFAULT_INIT)
    engine = run_em(problem, theta, pi, 1e-8, 5000)
    explicit = run_em(problem, theta, pi, 1e-8, 5000, newton_step=line_search_step)
    region = run_em(problem, theta, pi, 1e-8, 5000, newton_step=TrustRegionStep())
    np.testing.assert_array_equal(engine.loglik, explicit.loglik)
    assert engine.converged.any() and np.array_equal(engine.converged, region.converged)
    both = engine.converged
    np.testing.assert_allclose(region.loglik[both], engine.loglik[both], rtol=1e-12)
    # every Newton step evaluated at least one trial point
    assert np.all(engine.n_trials >= engine.n_newton) and engine.n_newton.sum() > 0
    assert np.all(region.n_trials >= region.n_newton)
