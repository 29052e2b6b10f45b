"""Standard errors: analytic derivatives, the K = 1 textbook case, calibration by Monte Carlo."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from conftest import brute_loglik, brute_posteriors, per_store_stats, random_params
from scipy.optimize import linear_sum_assignment
from scipy.special import logit
from scipy.stats import norm

from estimator import (
    ConvergenceWarning,
    InferenceWarning,
    LogL,
    SufficientStats,
    bootstrap_se,
    fit_mixture,
    naive_se,
    observed_information_se,
    sufficient_stats,
)
from estimator.driver import component_driver
from estimator.inference import parameter_names, score_and_hessian, store_scores

REAL_LIKE_THETA = np.array([9.886, -1.202, 10.794, -1.065, 11.654, -1.822]).reshape(3, 2)
REAL_LIKE_PI = np.array([0.0733, 0.8357, 0.0910])


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def unpack(psi: np.ndarray, n_components: int, n_coef: int = 2):
    """Free parameters (theta flat, pi_1..pi_{K-1}) -> theta (K, P), pi (K,)."""
    theta = psi[: n_components * n_coef].reshape(n_components, n_coef)
    free = psi[n_components * n_coef :]
    return theta, np.append(free, 1.0 - free.sum())


def pack(theta: np.ndarray, pi: np.ndarray) -> np.ndarray:
    return np.concatenate([theta.ravel(), pi[:-1]])


def central_difference(func, psi: np.ndarray, step: float) -> np.ndarray:
    """Jacobian of func (scalar or vector valued) at psi by central differences."""
    columns = []
    for j in range(psi.size):
        up, down = psi.copy(), psi.copy()
        up[j] += step
        down[j] -= step
        columns.append((np.asarray(func(up)) - np.asarray(func(down))) / (2.0 * step))
    return np.stack(columns, axis=-1)


def mixture_panel(rng, theta, pi, n_stores, prices):
    X = np.column_stack([np.ones_like(prices), np.log(prices)])
    segment = rng.choice(len(pi), size=n_stores, p=pi)
    y = theta[segment] @ X.T + rng.standard_normal((n_stores, len(prices)))
    return y, X


def unbalanced_panel(rng, theta, pi, n_stores):
    """Stores with their own prices and numbers of weeks: per-store Gram matrices.

    theta with P = 3 columns adds a promotion dummy as third regressor.
    """
    ys, Xs = [], []
    for _ in range(n_stores):
        weeks = int(rng.integers(5, 15))
        columns = [np.ones(weeks), np.log(rng.uniform(1.0, 6.0, weeks))]
        if theta.shape[1] == 3:
            columns.append((rng.uniform(size=weeks) < 0.3).astype(float))
        X = np.column_stack(columns)
        c = rng.choice(len(pi), p=pi)
        ys.append(X @ theta[c] + rng.standard_normal(weeks))
        Xs.append(X)
    stats = per_store_stats(ys, Xs)
    return ys, Xs, stats


@pytest.fixture(scope="module")
def real_fit3(real):
    _, stats = real
    return fit_mixture(stats, 3, n_init=20, seed=20261121)


# ---------------------------------------------------------------------------
# analytic derivatives
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("n_components", [1, 2, 3, 4])
def test_score_matches_finite_differences_of_LogL(n_components):  # noqa: N802
    rng = np.random.default_rng(100 + n_components)
    truth = random_params(rng, n_components)
    y, X = mixture_panel(rng, *truth, n_stores=60, prices=rng.uniform(1.0, 6.0, 15))
    stats = sufficient_stats(y, X)
    theta, pi = random_params(rng, n_components)  # not the truth, not the MLE
    loglik, score, _ = score_and_hessian(theta, pi, stats)

    def logl(psi):
        t, p = unpack(psi, n_components)
        return LogL(t.ravel(), p, y, X)

    numeric = central_difference(logl, pack(theta, pi), step=1e-6)
    assert loglik == pytest.approx(LogL(theta.ravel(), pi, y, X), rel=1e-12)
    assert np.abs(score).max() > 1.0  # away from the maximum: a real test of the gradient
    np.testing.assert_allclose(score, numeric, rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(store_scores(theta, pi, stats).sum(axis=0), score, rtol=1e-12)


@pytest.mark.parametrize(("n_components", "n_coef"), [(2, 2), (3, 2), (2, 3)])
def test_score_with_per_store_designs_matches_brute_force(n_components, n_coef):
    rng = np.random.default_rng(200 + n_components + 10 * n_coef)
    extra = 0.5 * rng.standard_normal((n_components, n_coef - 2))  # promotion effects
    theta_true, pi_true = random_params(rng, n_components)
    ys, Xs, stats = unbalanced_panel(rng, np.hstack([theta_true, extra]), pi_true, n_stores=40)
    theta, pi = random_params(rng, n_components)
    theta = np.hstack([theta, extra + 0.3])
    loglik, score, _ = score_and_hessian(theta, pi, stats)

    def logl(psi):
        return brute_loglik(*unpack(psi, n_components, n_coef), ys, Xs)

    assert loglik == pytest.approx(brute_loglik(theta, pi, ys, Xs), rel=1e-12)
    numeric = central_difference(logl, pack(theta, pi), step=1e-6)
    np.testing.assert_allclose(score, numeric, rtol=1e-6, atol=1e-5)
    assert len(score) == n_components * n_coef + n_components - 1


@pytest.mark.parametrize(
    ("n_components", "per_store"), [(2, False), (3, False), (4, False), (3, True)]
)
def test_hessian_matches_finite_differences_of_score(n_components, per_store):
    rng = np.random.default_rng(300 + n_components)
    truth = random_params(rng, n_components)
    if per_store:
        *_, stats = unbalanced_panel(rng, *truth, n_stores=50)
    else:
        stats = sufficient_stats(*mixture_panel(rng, *truth, 80, rng.uniform(1.0, 6.0, 12)))
    theta, pi = random_params(rng, n_components)
    _, _, hessian = score_and_hessian(theta, pi, stats)

    def score(psi):
        return score_and_hessian(*unpack(psi, n_components), stats)[1]

    numeric = central_difference(score, pack(theta, pi), step=1e-5)
    np.testing.assert_allclose(hessian, hessian.T)
    np.testing.assert_allclose(hessian, numeric, rtol=1e-5, atol=1e-5 * np.abs(hessian).max())
    # the membership terms matter here: the naive theta information is far off
    n_theta = 2 * n_components
    naive_info = np.linalg.inv(naive_se((theta, pi), stats).cov)[:n_theta, :n_theta]
    gap = np.abs(hessian[:n_theta, :n_theta] + naive_info).max()
    assert gap > 0.05 * np.abs(hessian[:n_theta, :n_theta]).max()


def test_gradient_is_zero_at_the_em_solution_on_real_data(real, real_fit3):
    _, stats = real
    fit = real_fit3
    assert fit.converged
    loglik, score, hessian = score_and_hessian(fit.theta, fit.pi, stats)
    assert loglik == pytest.approx(fit.loglik, rel=1e-12)
    assert np.all(np.linalg.eigvalsh(hessian) < 0)  # a maximum
    inference = observed_information_se(fit, stats)
    se = np.sqrt(np.diag(inference.cov))
    # the Newton step to the exact maximum, in standard errors: EM stopped within 1e-3 se
    assert np.max(np.abs(inference.cov @ score) / se) < 1e-3
    assert inference.details["newton_step_in_se"] < 1e-3
    # the same measure one standard error away from the solution is of order 1
    moved = fit.theta.copy()
    moved[2, 0] += inference.se_theta[2, 0]
    _, score_moved, _ = score_and_hessian(moved, fit.pi, stats)
    assert np.max(np.abs(inference.cov @ score_moved) / se) > 0.3


# ---------------------------------------------------------------------------
# K = 1 and the naive standard errors
# ---------------------------------------------------------------------------


def test_k1_standard_errors_are_textbook_ols_on_stacked_data():
    rng = np.random.default_rng(1)
    prices = rng.uniform(1.0, 6.0, 25)
    y, X = mixture_panel(rng, np.array([[10.0, -1.5]]), np.array([1.0]), 40, prices)
    stats = sufficient_stats(y, X)
    fit = fit_mixture(stats, 1, n_init=1, seed=0)
    stacked_X = np.tile(X, (y.shape[0], 1))
    stacked_y = y.ravel()
    beta_hat = np.linalg.lstsq(stacked_X, stacked_y, rcond=None)[0]
    ols_cov = np.linalg.inv(stacked_X.T @ stacked_X)  # sigma = 1
    np.testing.assert_allclose(fit.theta[0], beta_hat, rtol=1e-10)
    for inference in (observed_information_se(fit, stats), naive_se(fit, stats)):
        np.testing.assert_allclose(inference.cov, ols_cov, rtol=1e-10)
        np.testing.assert_allclose(inference.se_theta[0], np.sqrt(np.diag(ols_cov)), rtol=1e-10)
        np.testing.assert_allclose(inference.se_pi, [0.0])
        z = norm.ppf(0.975)
        np.testing.assert_allclose(
            inference.ci_theta[0], beta_hat[:, None] + np.outer(np.sqrt(np.diag(ols_cov)), [-z, z])
        )


def test_k1_per_store_designs_is_ols_on_stacked_data():
    rng = np.random.default_rng(2)
    ys, Xs, stats = unbalanced_panel(rng, np.array([[10.0, -1.5]]), np.array([1.0]), 30)
    stacked_X = np.vstack(Xs)
    beta_hat = np.linalg.lstsq(stacked_X, np.concatenate(ys), rcond=None)[0]
    inference = observed_information_se((beta_hat[None], np.array([1.0])), stats)
    np.testing.assert_allclose(inference.cov, np.linalg.inv(stacked_X.T @ stacked_X), rtol=1e-10)


def test_naive_standard_errors_follow_their_definition():
    rng = np.random.default_rng(3)
    truth = random_params(rng, 3)
    ys, Xs, stats = unbalanced_panel(rng, *truth, n_stores=60)
    theta, pi = truth
    inference = naive_se((theta, pi), stats)
    W = brute_posteriors(theta, pi, ys, Xs)
    for c in range(3):
        wls = np.linalg.inv(sum(W[i, c] * Xs[i].T @ Xs[i] for i in range(len(ys))))
        np.testing.assert_allclose(inference.se_theta[c], np.sqrt(np.diag(wls)), rtol=1e-9)
    np.testing.assert_allclose(inference.se_pi, np.sqrt(pi * (1 - pi) / 60), rtol=1e-12)


def test_observed_exceeds_naive_when_segments_overlap(real, real_fit3):
    _, stats = real
    observed = observed_information_se(real_fit3, stats)
    naive = naive_se(real_fit3, stats)
    assert np.all(observed.se_theta >= naive.se_theta * (1 - 1e-6))
    assert observed.se_theta[2, 0] > 1.3 * naive.se_theta[2, 0]


# ---------------------------------------------------------------------------
# intervals, result object, bad cases
# ---------------------------------------------------------------------------


def test_intervals_and_delta_method(real, real_fit3):
    _, stats = real
    inference = observed_information_se(real_fit3, stats)
    z = norm.ppf(0.975)
    np.testing.assert_allclose(
        inference.ci_theta,
        real_fit3.theta[..., None] + np.multiply.outer(inference.se_theta, [-z, z]),
    )
    # pi_K = 1 - sum of the others: var = 1' V 1 over the free pi block
    pi_block = inference.cov[6:, 6:]
    assert inference.se_pi[2] == pytest.approx(np.sqrt(pi_block.sum()), rel=1e-12)
    np.testing.assert_allclose(inference.se_pi[:2], np.sqrt(np.diag(pi_block)))
    lower, upper = inference.ci_pi.T  # the logit-scale interval: inside (0, 1), asymmetric
    assert np.all((lower > 0) & (lower < real_fit3.pi) & (real_fit3.pi < upper) & (upper < 1))
    half = z * inference.se_pi / (real_fit3.pi * (1 - real_fit3.pi))
    np.testing.assert_allclose(logit(lower), logit(real_fit3.pi) - half, rtol=1e-12)
    np.testing.assert_allclose(logit(upper), logit(real_fit3.pi) + half, rtol=1e-12)
    longer_up = upper - real_fit3.pi > real_fit3.pi - lower
    np.testing.assert_array_equal(longer_up, real_fit3.pi < 0.5)  # longer towards 1/2
    covered_theta, covered_pi = inference.covers(real_fit3.theta, real_fit3.pi)
    assert covered_theta.all() and covered_pi.all()
    assert parameter_names(3) == [
        "alpha_1", "beta_1", "alpha_2", "beta_2", "alpha_3", "beta_3", "pi_1", "pi_2",
    ]  # fmt: skip


def test_reordered_equals_inference_at_permuted_parameters(real, real_fit3):
    _, stats = real
    order = np.array([2, 0, 1])
    direct = observed_information_se((real_fit3.theta[order], real_fit3.pi[order]), stats)
    moved = observed_information_se(real_fit3, stats).reordered(order)
    np.testing.assert_allclose(moved.cov, direct.cov, rtol=1e-8, atol=1e-14)
    np.testing.assert_allclose(moved.se_pi, direct.se_pi, rtol=1e-8)
    np.testing.assert_allclose(moved.ci_theta, direct.ci_theta, rtol=1e-10)


def test_to_dict_is_strict_json(real, real_fit3):
    _, stats = real
    out = observed_information_se(real_fit3, stats).to_dict(include_cov=True)
    text = json.dumps(out, allow_nan=False)
    back = json.loads(text)
    assert set(back) >= {"method", "level", "alpha", "beta", "pi", "cov", "parameters"}
    assert len(back["alpha"]["se"]) == 3 and len(back["beta"]["ci"][0]) == 2


@pytest.mark.parametrize(
    ("theta", "pi"),
    [
        ([[10.0, -1.0], [10.0, -1.0]], [0.5, 0.5]),  # identical segments: pi not identified
        ([[10.0, -1.0], [10.0 + 1e-9, -1.0]], [0.5, 0.5]),  # nearly identical
        ([[10.0, -1.0], [11.0, -1.0], [12.0, -1.0]], [0.5, 0.5, 0.0]),  # empty segment
        ([[10.0, -1.0], [30.0, -1.0]], [1.0 - 1e-12, 1e-12]),  # collapsed segment
    ],
)
def test_singular_information_warns_and_gives_nan(real, theta, pi):
    _, stats = real
    for method in (observed_information_se, naive_se):
        if method is naive_se and pi[1] == 0.5:
            continue  # the naive information does not see identical segments
        with pytest.warns(InferenceWarning):
            inference = method((np.array(theta), np.array(pi)), stats)
        assert not inference.valid
        assert np.isnan(inference.se_theta).all() and np.isnan(inference.ci_pi).all()
        json.dumps(inference.to_dict(include_cov=True), allow_nan=False)


# ---------------------------------------------------------------------------
# parametric bootstrap
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("per_store", [False, True])
def test_drawn_statistics_have_the_sampling_distribution_of_ols(per_store):
    rng = np.random.default_rng(4)
    theta, pi = np.array([[10.0, -1.5]]), np.array([1.0])
    if per_store:
        *_, stats = unbalanced_panel(rng, theta, pi, 3000)
        stats = SufficientStats(
            ols=np.tile(stats.ols, (5, 1)),
            rss=np.tile(stats.rss, 5),
            gram=np.tile(stats.gram, (5, 1, 1)),
            n_obs=np.tile(stats.n_obs, 5),
        )
        standardise = np.linalg.cholesky(stats.gram)  # L' (b - theta) ~ N(0, I)
    else:
        stats = sufficient_stats(*mixture_panel(rng, theta, pi, 15000, rng.uniform(1, 6, 20)))
        standardise = np.broadcast_to(np.linalg.cholesky(stats.gram), (15000, 2, 2))
    segment = rng.choice(len(pi), size=stats.n_stores, p=pi)
    drawn = component_driver(stats).draw_stats(theta, segment, rng)
    z = np.einsum("nqp,nq->np", standardise, drawn.ols - theta[0])
    np.testing.assert_allclose(np.cov(z, rowvar=False), np.eye(2), atol=0.04)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=0.03)
    np.testing.assert_allclose(drawn.rss.mean(), (stats.n_obs - 2).mean(), rtol=0.02)


def test_bootstrap_is_reproducible_matches_labels_and_agrees_with_observed():
    rng = np.random.default_rng(5)
    theta = np.array([[9.5, -1.0], [10.5, -1.6]])
    pi = np.array([0.35, 0.65])
    stats = sufficient_stats(*mixture_panel(rng, theta, pi, 150, rng.uniform(1.0, 6.0, 20)))
    fit = fit_mixture(stats, 2, n_init=10, seed=1)
    # hand over the segments in reverse: the replicates must follow that order
    reverse = (fit.theta[::-1], fit.pi[::-1])
    one = bootstrap_se(reverse, stats, n_boot=60, seed=7, n_jobs=1)
    two = bootstrap_se(reverse, stats, n_boot=60, seed=7, n_jobs=2)
    np.testing.assert_array_equal(one.replicates, two.replicates)
    assert one.details["n_used"] == 60
    mean_theta = one.replicates[:, :4].mean(axis=0).reshape(2, 2)
    np.testing.assert_allclose(mean_theta, fit.theta[::-1], atol=0.1)
    observed = observed_information_se(reverse, stats)
    ratio = np.concatenate([one.se_theta.ravel(), one.se_pi]) / np.concatenate(
        [observed.se_theta.ravel(), observed.se_pi]
    )
    assert np.all((ratio > 0.7) & (ratio < 1.4)), ratio  # B = 60: sd of a ratio ~ 0.09
    assert np.all(one.ci_theta[..., 0] < one.ci_theta[..., 1])


# ---------------------------------------------------------------------------
# calibration on the real_like condition
# ---------------------------------------------------------------------------


def match_to_truth(theta_hat: np.ndarray, theta: np.ndarray) -> np.ndarray:
    cost = ((theta_hat[:, None, :] - theta[None, :, :]) ** 2).sum(axis=2)
    rows, cols = linear_sum_assignment(cost)
    order = np.empty(len(theta), dtype=int)
    order[cols] = rows
    return order


REAL_LIKE_REPLICATIONS = 2000


def ols_stats(y: np.ndarray, X: np.ndarray) -> SufficientStats:
    """Sufficient statistics by one QR of X (faster than a least-squares call per panel)."""
    q, r = np.linalg.qr(X)
    projected = y @ q  # (N, P) = (Q'y_i)'
    ols = np.linalg.solve(r, projected.T).T
    rss = np.einsum("nt,nt->n", y, y) - np.einsum("np,np->n", projected, projected)
    return SufficientStats(ols=ols, rss=rss, gram=X.T @ X, n_obs=np.full(len(y), float(len(X))))


@pytest.mark.slow
def test_observed_se_matches_monte_carlo_sd_on_real_like(real):
    """Mean observed-information SE within 10% of the SD of the estimates, every parameter.

    R = 2000: the relative sampling error of an SD is about 1 / sqrt(2R) = 1.6%. A
    4000-replication run put the ratios at 0.97 (alpha_3, beta_3, pi_1) to 0.995, so the
    closest parameter is about 4 sampling errors inside the bound.
    """
    panel, _ = real
    rng = np.random.default_rng(20261121)
    pi = REAL_LIKE_PI / REAL_LIKE_PI.sum()
    estimates, observed, naive = [], [], []
    for replication in range(REAL_LIKE_REPLICATIONS):
        y, X = mixture_panel(rng, REAL_LIKE_THETA, pi, 300, np.exp(panel.X[:, 1]))
        stats = ols_stats(y, X)
        if replication == 0:
            reference = sufficient_stats(y, X)
            np.testing.assert_allclose(stats.ols, reference.ols, rtol=1e-10)
            np.testing.assert_allclose(stats.rss, reference.rss, rtol=1e-8)
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            fit = fit_mixture(stats, 3, n_init=5, seed=rng)
        order = match_to_truth(fit.theta, REAL_LIKE_THETA)
        estimates.append(np.append(fit.theta[order].ravel(), fit.pi[order]))
        for out, method in ((observed, observed_information_se), (naive, naive_se)):
            inference = method(fit, stats).reordered(order)
            out.append(np.append(inference.se_theta.ravel(), inference.se_pi))
    sd = np.std(estimates, axis=0, ddof=1)
    ratio_observed = np.mean(observed, axis=0) / sd
    ratio_naive = np.mean(naive, axis=0) / sd
    names = [*parameter_names(3), "pi_3"]
    report = dict(zip(names, np.round(ratio_observed, 3).tolist(), strict=True))
    print("mean observed SE / SD:", report)
    assert np.all(np.abs(ratio_observed - 1.0) < 0.10), report
    # the naive errors are too small for the overlapping segments 2 and 3
    assert ratio_naive[4] < 0.8 and ratio_naive[5] < 0.8, ratio_naive
