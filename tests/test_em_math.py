"""The fast sufficient-statistic engine against brute-force full-data computations."""

import warnings

import numpy as np
import pytest
from conftest import brute_log_joint, brute_loglik, brute_posteriors
from hypothesis import given, settings
from hypothesis import strategies as st

from estimator import EM, EStep, Estimate, LogL, MStep, fit_mixture, sufficient_stats
from estimator.engine import prepare, run_em
from estimator.init import starting_values
from estimator.panel import design_matrix


def random_panel(seed, n_stores=25, n_weeks=9, n_components=3):
    rng = np.random.default_rng(seed)
    X = design_matrix(rng.uniform(0.8, 6.0, n_weeks))
    theta = np.column_stack(
        [rng.normal(10, 1.5, n_components), rng.normal(-1.2, 0.6, n_components)]
    )
    pi = rng.dirichlet(np.ones(n_components) * 2)
    labels = rng.choice(n_components, size=n_stores, p=pi)
    y = theta[labels] @ X.T + rng.normal(size=(n_stores, n_weeks))
    return y, X, theta, pi


@pytest.mark.parametrize("n_components", [1, 2, 3, 4])
@pytest.mark.parametrize("seed", range(5))
def test_loglik_and_estep_equal_brute_force(n_components, seed):
    y, X, _, _ = random_panel(seed, n_components=n_components)
    rng = np.random.default_rng(100 + seed)
    theta = np.column_stack([rng.normal(10, 1.5, n_components), rng.normal(-1, 0.7, n_components)])
    pi = rng.dirichlet(np.ones(n_components))
    flat = theta.ravel()
    assert LogL(flat, pi, y, X) == pytest.approx(brute_loglik(theta, pi, y, X), rel=1e-12)
    W = EStep(flat, pi, y, X)
    assert W.shape == (y.shape[0], n_components)
    np.testing.assert_allclose(W, brute_posteriors(theta, pi, y, X), atol=1e-12)
    np.testing.assert_allclose(W.sum(axis=1), 1.0, rtol=1e-14)


@pytest.mark.parametrize("n_components", [1, 2, 3, 4])
def test_mstep_is_weighted_least_squares_on_stacked_data(n_components):
    y, X, _, _ = random_panel(7, n_components=n_components)
    rng = np.random.default_rng(8)
    W = rng.dirichlet(np.ones(n_components), size=y.shape[0])
    theta, pi = MStep(y, X, W)
    n_stores, n_weeks = y.shape
    stacked_X = np.tile(X, (n_stores, 1))
    stacked_y = y.ravel()
    for c in range(n_components):
        root = np.sqrt(np.repeat(W[:, c], n_weeks))
        expected, *_ = np.linalg.lstsq(stacked_X * root[:, None], stacked_y * root, rcond=None)
        np.testing.assert_allclose(theta[2 * c : 2 * c + 2], expected, rtol=1e-10)
    np.testing.assert_allclose(pi, W.mean(axis=0))


def test_mstep_maximises_the_expected_complete_loglik():
    y, X, _, _ = random_panel(3, n_components=2)
    W = np.random.default_rng(4).dirichlet([1, 1], size=y.shape[0])
    theta, pi = MStep(y, X, W)

    def q(theta_flat, pi_vec):
        return (W * brute_log_joint(theta_flat, pi_vec, y, X)).sum()

    best = q(theta, pi)
    rng = np.random.default_rng(5)
    for _ in range(20):
        nudged = theta + rng.normal(scale=1e-3, size=theta.size)
        assert q(nudged, pi) < best
        other_pi = np.clip(pi + rng.normal(scale=1e-3, size=2), 1e-6, None)
        assert q(theta, other_pi / other_pi.sum()) <= best + 1e-12


@given(
    seed=st.integers(0, 2**32 - 1),
    n_components=st.integers(1, 5),
    spread=st.floats(0.1, 50.0),
)
@settings(max_examples=40, deadline=None)
def test_posteriors_are_probabilities_even_far_from_the_data(seed, n_components, spread):
    y, X, _, _ = random_panel(seed % 1000, n_components=2)
    rng = np.random.default_rng(seed)
    theta = rng.normal(0, spread, size=2 * n_components)
    pi = rng.dirichlet(np.ones(n_components))
    W = EStep(theta, pi, y, X)
    assert np.all(np.isfinite(W)) and np.all(W >= 0)
    np.testing.assert_allclose(W.sum(axis=1), 1.0, rtol=1e-12)
    assert np.isfinite(LogL(theta, pi, y, X))


@pytest.mark.parametrize("n_components", [2, 3, 4])
def test_em_never_decreases_the_loglik(n_components):
    y, X, _, _ = random_panel(11, n_stores=80, n_weeks=12, n_components=n_components)
    stats = sufficient_stats(y, X)
    theta0, pi0 = starting_values(stats, n_components, 30, seed=12, method="stores")
    run = run_em(prepare(stats, n_components), theta0, pi0, tol=1e-12, max_iter=300)
    for trace in run.traces:
        steps = np.diff(trace)
        assert np.all(steps >= -1e-9 * np.abs(trace[:-1])), steps.min()
        assert len(trace) >= 2


def test_em_front_returns_the_loglik_of_its_parameters():
    y, X, _, _ = random_panel(21, n_stores=60, n_components=2)
    theta, pi, loglik = EM(2, y, X, tol=1e-10, max_iter=500, seed=1)
    assert theta.shape == (4,) and pi.shape == (2,)
    assert loglik == pytest.approx(brute_loglik(theta, pi, y, X), rel=1e-12)


def test_em_front_from_given_start_is_deterministic():
    y, X, theta_true, pi_true = random_panel(22, n_stores=60, n_components=2)
    first = EM(2, y, X, theta0=theta_true.ravel(), pi0=pi_true)
    second = EM(2, y, X, theta0=theta_true.ravel(), pi0=pi_true)
    np.testing.assert_array_equal(first[0], second[0])
    assert first[2] == second[2]


def test_estimate_is_reproducible_and_canonical():
    y, X, _, _ = random_panel(23, n_stores=80, n_components=3)
    a = Estimate(3, y, X, n_init=8, seed=5)
    b = Estimate(3, y, X, n_init=8, seed=5)
    np.testing.assert_array_equal(a[0], b[0])
    alphas = a[0][0::2]
    assert np.all(np.diff(alphas) >= 0)
    assert a[2] == pytest.approx(LogL(a[0], a[1], y, X), rel=1e-13)


def test_batched_restarts_equal_one_at_a_time():
    y, X, _, _ = random_panel(24, n_stores=150, n_weeks=20, n_components=3)
    stats = sufficient_stats(y, X)
    theta0, pi0 = starting_values(stats, 3, 12, seed=3, method="mixed")
    prep = prepare(stats, 3)
    em_only = {"polish": False}
    batched = run_em(prep, theta0, pi0, tol=1e-10, max_iter=400, **em_only)
    polished = run_em(prep, theta0, pi0, tol=1e-10, max_iter=400)
    for r in range(12):
        alone = run_em(prep, theta0[[r]], pi0[[r]], tol=1e-10, max_iter=400, **em_only)
        assert abs(alone.loglik[0] - batched.loglik[r]) <= 1e-10 * abs(batched.loglik[r])
        assert alone.n_iter[0] == batched.n_iter[r] == polished.n_iter[r]
        np.testing.assert_allclose(alone.theta[0], batched.theta[r], rtol=1e-9, atol=1e-10)
        # polished alone or sharing another start's polish: the same certified maximum
        alone = run_em(prep, theta0[[r]], pi0[[r]], tol=1e-10, max_iter=400)
        assert alone.converged[0] and polished.converged[r]
        assert abs(alone.loglik[0] - polished.loglik[r]) <= 1e-10 * abs(polished.loglik[r])
        np.testing.assert_allclose(alone.theta[0], polished.theta[r], rtol=1e-6)
    fit_a = fit_mixture(stats, 3, theta0=theta0, pi0=pi0, batch=True)
    fit_b = fit_mixture(stats, 3, theta0=theta0, pi0=pi0, batch=False)
    assert abs(fit_a.loglik - fit_b.loglik) <= 1e-10 * abs(fit_a.loglik)


def test_collapsing_segment_is_reported_degenerate_and_best_valid_start_wins():
    y, X, theta_true, pi_true = random_panel(25, n_stores=60, n_components=2)
    stats = sufficient_stats(y, X)
    far = np.array([[theta_true[0], [500.0, 40.0]]])  # second segment far from every store
    good = theta_true[None]
    theta0 = np.concatenate([far, good])
    fit = fit_mixture(stats, 2, theta0=theta0, pi0=np.full((2, 2), 0.5))
    assert fit.n_degenerate == 1
    assert not fit.degenerate
    assert np.all(np.isfinite(fit.theta)) and np.isfinite(fit.loglik)
    assert fit.loglik == pytest.approx(brute_loglik(fit.theta, fit.pi, y, X), rel=1e-12)


def test_all_starts_degenerate_warns_and_stays_finite():
    y, X, theta_true, _ = random_panel(26, n_stores=40, n_components=1)
    stats = sufficient_stats(y, X)
    theta0 = np.array([[theta_true[0], [900.0, -50.0]]])
    with pytest.warns(Warning, match="degenerate"):
        fit = fit_mixture(stats, 2, theta0=theta0)
    assert fit.degenerate
    assert np.isfinite(fit.loglik)
    assert not np.any(np.isnan(fit.posteriors))


def test_not_converged_warns():
    y, X, _, _ = random_panel(27, n_stores=80, n_components=3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = fit_mixture(sufficient_stats(y, X), 3, n_init=2, seed=1, max_iter=1, polish=False)
    assert not fit.converged
    assert any("not a certified maximum" in str(w.message) for w in caught)


def test_newton_certifies_even_after_one_em_step():
    """The certificate, not the EM rule, decides convergence: one EM step, then Newton."""
    y, X, _, _ = random_panel(27, n_stores=80, n_components=3)
    stats = sufficient_stats(y, X)
    short = fit_mixture(stats, 3, n_init=2, seed=1, max_iter=1)
    full = fit_mixture(stats, 3, n_init=2, seed=1)
    assert short.converged and short.n_newton > 0
    assert short.decrement <= 1e-12 and short.max_eigen < 0
    assert short.loglik == pytest.approx(full.loglik, abs=1e-9)


def test_front_argument_errors():
    y, X, _, _ = random_panel(28, n_components=2)
    with pytest.raises(ValueError, match="pi must be non-negative and sum to 1"):
        LogL([1, 2, 3, 4], [0.5, 0.6], y, X)
    with pytest.raises(ValueError, match="theta has 3 entries but pi has 2"):
        LogL([1, 2, 3], [0.5, 0.5], y, X)
    with pytest.raises(ValueError, match=r"pass y\.T"):
        EStep([1, 2], [1.0], y.T, X)
    with pytest.raises(ValueError, match=r"W must have shape \(N, K\)"):
        MStep(y, X, np.ones((3, 2)))
    with pytest.raises(ValueError, match="no weight"):
        MStep(y, X, np.column_stack([np.ones(len(y)), np.zeros(len(y))]))
    with pytest.raises(ValueError, match="1 <= K <= N"):
        Estimate(len(y) + 1, y, X, n_init=1)
