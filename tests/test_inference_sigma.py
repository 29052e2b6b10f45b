"""Standard errors with estimated sigma (common or per segment): derivatives, textbook cases."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from conftest import brute_loglik, brute_posteriors, per_store_stats, random_params
from scipy.stats import norm

from estimator import (
    ConvergenceWarning,
    InferenceWarning,
    bootstrap_se,
    fit_mixture,
    naive_se,
    observed_information_se,
    sufficient_stats,
)
from estimator.driver import component_driver
from estimator.inference import parameter_names, score_and_hessian, store_scores

# ---------------------------------------------------------------------------
# helpers: panels as stacked store-week rows and the likelihood from its definition
# ---------------------------------------------------------------------------


def stacked_panel(rng, theta, pi, sigma, n_stores, per_store):
    """Rows (store, y, X) from the mixture; per-store designs (own prices, weeks) or shared X.

    A third column of theta adds a promotion dummy. Returns rows and SufficientStats.
    """
    n_coef = theta.shape[1]
    shared_weeks = 12
    shared = [np.ones(shared_weeks), np.log(rng.uniform(1.0, 6.0, shared_weeks))]
    if n_coef == 3:
        shared.append((rng.uniform(size=shared_weeks) < 0.3).astype(float))
    store, ys, Xs = [], [], []
    for i in range(n_stores):
        if per_store:
            weeks = int(rng.integers(6, 15))
            cols = [np.ones(weeks), np.log(rng.uniform(1.0, 6.0, weeks))]
            if n_coef == 3:
                cols.append((np.arange(weeks) % 3 == 0).astype(float))
            X = np.column_stack(cols)
        else:
            X = np.column_stack(shared)
        c = rng.choice(len(pi), p=pi)
        ys.append(X @ theta[c] + sigma[c] * rng.standard_normal(len(X)))
        Xs.append(X)
        store.append(np.full(len(X), i))
    rows = (np.concatenate(store), np.concatenate(ys), np.vstack(Xs))
    if per_store:
        stats = per_store_stats(ys, Xs)
    else:
        stats = sufficient_stats(np.array(ys), Xs[0])
    return rows, stats


def unpack(psi, n_components, n_coef, n_sigma):
    """Free parameters (theta, pi_1..pi_{K-1}, log sigma) -> theta, pi, sigma per segment."""
    n_theta = n_components * n_coef
    theta = psi[:n_theta].reshape(n_components, n_coef)
    free = psi[n_theta : n_theta + n_components - 1]
    sigma = np.exp(psi[n_theta + n_components - 1 :])
    return theta, np.append(free, 1.0 - free.sum()), np.broadcast_to(sigma, (n_components,))


def gradient_fd(func, psi, step):
    out = np.empty(psi.size)
    for j in range(psi.size):
        up, down = psi.copy(), psi.copy()
        up[j] += step
        down[j] -= step
        out[j] = (func(up) - func(down)) / (2.0 * step)
    return out


def hessian_fd(func, psi, step):
    """Second central differences of a scalar function."""
    dim = psi.size
    eye = np.eye(dim) * step
    out = np.empty((dim, dim))
    for j in range(dim):
        for k in range(j, dim):
            value = (
                func(psi + eye[j] + eye[k])
                - func(psi + eye[j] - eye[k])
                - func(psi - eye[j] + eye[k])
                + func(psi - eye[j] - eye[k])
            ) / (4.0 * step * step)
            out[j, k] = out[k, j] = value
    return out


CASES = [  # (K, P, sigma mode, per-store designs)
    (2, 2, "segment", False),
    (3, 2, "common", False),
    (2, 3, "segment", True),
    (3, 3, "common", True),
    (3, 3, "segment", True),
]


@pytest.mark.parametrize(("n_components", "n_coef", "mode", "per_store"), CASES)
def test_score_and_hessian_match_finite_differences_of_brute_force(
    n_components, n_coef, mode, per_store
):
    rng = np.random.default_rng(10 * n_components + n_coef + 100 * per_store)
    n_sigma = 1 if mode == "common" else n_components
    truth = random_params(rng, n_components, n_coef)
    rows, stats = stacked_panel(
        rng, *truth, rng.uniform(0.6, 1.6, n_components), 30, per_store=per_store
    )
    theta, pi = random_params(rng, n_components, n_coef)  # not the truth, not the MLE
    log_sigma = np.log(rng.uniform(0.7, 1.5, n_sigma))
    psi = np.concatenate([theta.ravel(), pi[:-1], log_sigma])
    sigma = np.exp(log_sigma) if mode == "segment" else float(np.exp(log_sigma[0]))
    loglik, score, hessian = score_and_hessian(theta, pi, stats, sigma)

    def logl(point):
        theta_c, pi_c, sigma_c = unpack(point, n_components, n_coef, n_sigma)
        store, y, X = rows
        return brute_loglik(theta_c, pi_c, y, X, store, sigma_c)

    assert loglik == pytest.approx(logl(psi), rel=1e-12)
    assert score.shape == (n_components * (n_coef + 1) - 1 + n_sigma,)
    assert np.abs(score[-n_sigma:]).max() > 1.0  # the log-sigma gradient is really tested
    np.testing.assert_allclose(score, gradient_fd(logl, psi, 1e-6), rtol=1e-6, atol=1e-4)
    np.testing.assert_allclose(store_scores(theta, pi, stats, sigma).sum(axis=0), score)
    numeric = hessian_fd(logl, psi, 1e-4)
    np.testing.assert_allclose(hessian, hessian.T)
    np.testing.assert_allclose(hessian, numeric, rtol=1e-4, atol=2e-5 * np.abs(hessian).max())


def test_theta_pi_block_at_sigma_one_equals_the_fixed_sigma_hessian():
    rng = np.random.default_rng(4)
    truth = random_params(rng, 3, 2)
    _, stats = stacked_panel(rng, *truth, np.ones(3), 40, per_store=True)
    theta, pi = random_params(rng, 3, 2)
    fixed = score_and_hessian(theta, pi, stats)
    for sigma in (1.0, np.ones(3)):
        loglik, score, hessian = score_and_hessian(theta, pi, stats, sigma)
        dim = len(fixed[1])
        assert loglik == pytest.approx(fixed[0], rel=1e-13)
        np.testing.assert_allclose(score[:dim], fixed[1], rtol=1e-11, atol=1e-9)
        np.testing.assert_allclose(hessian[:dim, :dim], fixed[2], rtol=1e-11, atol=1e-9)


# ---------------------------------------------------------------------------
# K = 1, the naive errors and the estimate on real data
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["common", "segment"])
def test_k1_is_textbook_ols_with_estimated_variance(mode):
    rng = np.random.default_rng(1)
    rows, stats = stacked_panel(
        rng, np.array([[10.0, -1.5]]), np.array([1.0]), [1.7], 40, per_store=True
    )
    _, y, X = rows
    fit = fit_mixture(stats, 1, n_init=1, seed=0, sigma=mode)
    beta_hat = np.linalg.lstsq(X, y, rcond=None)[0]
    n_obs = len(y)
    s2 = np.sum((y - X @ beta_hat) ** 2) / n_obs  # the MLE of sigma^2
    np.testing.assert_allclose(fit.theta[0], beta_hat, rtol=1e-10)
    assert fit.sigma[0] ** 2 == pytest.approx(s2, rel=1e-10)
    expected = np.zeros((3, 3))
    expected[:2, :2] = s2 * np.linalg.inv(X.T @ X)
    expected[2, 2] = 1.0 / (2.0 * n_obs)  # var(log sigma); theta and sigma independent
    z = norm.ppf(0.975)
    for inference in (observed_information_se(fit, stats), naive_se(fit, stats)):
        np.testing.assert_allclose(inference.cov, expected, rtol=1e-8, atol=1e-12)
        se_sigma = np.sqrt(s2 / (2.0 * n_obs))
        np.testing.assert_allclose(inference.se_sigma, [se_sigma], rtol=1e-8)
        np.testing.assert_allclose(
            inference.ci_sigma[0], np.sqrt(s2) * np.exp(np.array([-z, z]) / np.sqrt(2 * n_obs))
        )


def test_naive_with_estimated_sigma_follows_its_definition():
    rng = np.random.default_rng(3)
    theta, pi = random_params(rng, 2, 2)
    sigma = np.array([0.8, 1.4])
    rows, stats = stacked_panel(rng, theta, pi, sigma, 50, per_store=True)
    inference = naive_se((theta, pi, sigma), stats)
    store, y, X = rows
    W = brute_posteriors(theta, pi, y, X, store, sigma)
    for c in range(2):
        weighted = sum(W[i, c] * stats.gram[i] for i in range(50))
        se = np.sqrt(np.diag(sigma[c] ** 2 * np.linalg.inv(weighted)))
        np.testing.assert_allclose(inference.se_theta[c], se, rtol=1e-9)
        weeks = W[:, c] @ stats.n_obs
        np.testing.assert_allclose(inference.se_sigma[c], sigma[c] / np.sqrt(2 * weeks))


@pytest.fixture(scope="module")
def real_sigma_fits(real_stats):
    return {
        mode: fit_mixture(real_stats, 3, n_init=10, seed=20261121, sigma=mode)
        for mode in ("common", "segment")
    }


@pytest.mark.parametrize("mode", ["common", "segment"])
def test_estimated_sigma_on_real_data(real_stats, real_sigma_fits, mode):
    fit = real_sigma_fits[mode]
    assert fit.converged and not fit.sigma_floored
    sigma = fit.sigma if mode == "segment" else fit.sigma[0]
    loglik, score, hessian = score_and_hessian(fit.theta, fit.pi, real_stats, sigma)
    assert loglik == pytest.approx(fit.loglik, rel=1e-12)
    assert np.all(np.linalg.eigvalsh(hessian) < 0)
    observed = observed_information_se(fit, real_stats)
    naive = naive_se(fit, real_stats)
    assert observed.valid and observed.details["newton_step_in_se"] < 1e-3
    n_sigma = 1 if mode == "common" else 3
    assert observed.cov.shape == (8 + n_sigma, 8 + n_sigma)
    np.testing.assert_allclose(observed.sigma, fit.sigma)
    # delta method and the log-scale interval
    se_log = np.sqrt(np.diag(observed.cov)[8:])
    se_log = np.broadcast_to(se_log, (3,))
    np.testing.assert_allclose(observed.se_sigma, fit.sigma * se_log)
    z = norm.ppf(0.975)
    np.testing.assert_allclose(
        observed.ci_sigma, fit.sigma[:, None] * np.exp(np.outer(se_log, [-z, z]))
    )
    assert observed.covers_sigma(fit.sigma).all()
    # membership uncertainty: the overlapping segment 3 has larger errors than naive
    assert observed.se_theta[2, 0] > 1.3 * naive.se_theta[2, 0]
    assert np.all(observed.se_sigma >= naive.se_sigma * (1 - 1e-6))
    out = json.loads(json.dumps(observed.to_dict(include_cov=True), allow_nan=False))
    assert out["sigma_mode"] == mode and out["sigma"]["interval"] == "log-wald"
    assert len(out["sigma"]["se"]) == 3 and len(out["sigma"]["ci"][0]) == 2
    assert out["parameters"] == parameter_names(3, ("alpha", "beta"), mode)
    assert out["parameters"][8:] == (
        ["log_sigma"] if mode == "common" else ["log_sigma_1", "log_sigma_2", "log_sigma_3"]
    )


def test_fixed_sigma_json_has_no_sigma_entries(real_stats):
    fit = fit_mixture(real_stats, 2, n_init=3, seed=0)
    out = observed_information_se(fit, real_stats).to_dict(include_cov=True)
    assert "sigma" not in out and "sigma_mode" not in out
    assert out["parameters"] == parameter_names(2)


def test_reordered_permutes_segment_sigmas(real_stats, real_sigma_fits):
    fit = real_sigma_fits["segment"]
    order = np.array([2, 0, 1])
    direct = observed_information_se(
        (fit.theta[order], fit.pi[order], fit.sigma[order]), real_stats
    )
    moved = observed_information_se(fit, real_stats).reordered(order)
    np.testing.assert_allclose(moved.cov, direct.cov, rtol=1e-8, atol=1e-14)
    np.testing.assert_allclose(moved.se_sigma, direct.se_sigma, rtol=1e-8)
    np.testing.assert_allclose(moved.ci_sigma, direct.ci_sigma, rtol=1e-10)


def test_sigma_at_the_floor_warns_and_gives_nan(real_stats):
    theta = np.array([[10.0, -1.0], [11.0, -1.2]])
    for method in (observed_information_se, naive_se):
        with pytest.warns(InferenceWarning, match="floor"):
            floor = component_driver(real_stats).sigma_floor
            inference = method((theta, np.array([0.5, 0.5]), [floor, 1.0]), real_stats)
        assert not inference.valid and np.isnan(inference.se_sigma).all()
        json.dumps(inference.to_dict(), allow_nan=False)
    with pytest.raises(ValueError, match="one entry per segment"):
        observed_information_se((theta, np.array([0.5, 0.5]), [1.0, 1.0, 1.0]), real_stats)


# ---------------------------------------------------------------------------
# parametric bootstrap with estimated sigma
# ---------------------------------------------------------------------------


def test_drawn_statistics_scale_with_segment_sigma():
    rng = np.random.default_rng(6)
    theta, pi, sigma = np.array([[10.0, -1.5]]), np.array([1.0]), np.array([2.5])
    _, stats = stacked_panel(rng, theta, pi, np.ones(1), 4000, per_store=False)
    segment = rng.choice(len(pi), size=stats.n_stores, p=pi)
    drawn = component_driver(stats).draw_stats(theta, segment, rng, sigma)
    z = (drawn.ols - theta[0]) @ np.linalg.cholesky(stats.gram) / sigma[0]
    np.testing.assert_allclose(np.cov(z, rowvar=False), np.eye(2), atol=0.06)
    assert drawn.rss.mean() == pytest.approx(sigma[0] ** 2 * (12 - 2), rel=0.03)


def test_bootstrap_with_segment_sigma_is_reproducible_and_agrees_with_observed():
    rng = np.random.default_rng(5)
    theta = np.array([[9.5, -1.0], [10.5, -1.6]])
    pi = np.array([0.35, 0.65])
    sigma = np.array([0.7, 1.3])
    y = []
    X = np.column_stack([np.ones(20), np.log(rng.uniform(1.0, 6.0, 20))])
    for c in rng.choice(2, size=150, p=pi):
        y.append(X @ theta[c] + sigma[c] * rng.standard_normal(20))
    stats = sufficient_stats(np.array(y), X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        fit = fit_mixture(stats, 2, n_init=10, seed=1, sigma="segment")
    reverse = (fit.theta[::-1], fit.pi[::-1], fit.sigma[::-1])
    one = bootstrap_se(reverse, stats, n_boot=60, seed=7, n_jobs=1)
    # draw b has its own stream: the first draws do not depend on B or on the workers
    few = bootstrap_se(reverse, stats, n_boot=4, seed=7, n_jobs=2)
    np.testing.assert_array_equal(few.replicates, one.replicates[:4])
    assert one.replicates.shape == (60, 4 + 2 + 2) and one.details["n_used"] == 60
    np.testing.assert_allclose(one.replicates[:, 6:].mean(axis=0), fit.sigma[::-1], rtol=0.05)
    np.testing.assert_allclose(one.se_sigma, one.replicates[:, 6:].std(axis=0, ddof=1))
    observed = observed_information_se(reverse, stats)
    ratio = np.concatenate([one.se_theta.ravel(), one.se_pi, one.se_sigma]) / np.concatenate(
        [observed.se_theta.ravel(), observed.se_pi, observed.se_sigma]
    )
    assert np.all((ratio > 0.7) & (ratio < 1.4)), ratio
    assert np.all(one.ci_sigma[:, 0] < one.ci_sigma[:, 1])
    assert one.to_dict()["sigma"]["interval"] == "percentile"
