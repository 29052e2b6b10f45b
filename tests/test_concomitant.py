"""Concomitant variables: a multinomial-logit prior on unit covariates, through the whole engine."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import logsumexp, softmax
from scipy.stats import norm

from estimator import (
    ConvergenceWarning,
    MixtureRegression,
    SalesMixture,
    bootstrap_se,
    fit_mixture,
    loglik_at,
    observed_information_se,
    regression_data,
)
from estimator.derivatives import mixture_derivatives
from estimator.engine import log_likelihood, prepare
from estimator.prior import LogitPrior

GAMMA = np.array([[0.5, 1.5], [0.0, 0.0]])
THETA = np.array([[1.0, 2.0], [8.0, -0.5]])
SIGMA = np.array([1.0, 1.5])


def concomitant_rows(seed, n_units=300, rows_per_unit=1):
    """Units with a covariate z that shifts the odds of segment 1; y = a + b x + noise."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n_units)
    Z = np.column_stack([np.ones(n_units), z])
    segment = (rng.random(n_units) > softmax(Z @ GAMMA.T, axis=1)[:, 0]).astype(int)
    unit = np.repeat(np.arange(n_units), rows_per_unit)
    x = rng.uniform(0, 10, len(unit))
    noise = rng.normal(size=len(unit)) * SIGMA[segment[unit]]
    y = THETA[segment[unit], 0] + THETA[segment[unit], 1] * x + noise
    return pd.DataFrame({"y": y, "x": x, "z": z[unit], "unit": unit})


def fitted_concomitant(data_seed, n_units, seed):
    """Data from :func:`concomitant_rows`, its statistics, and K = 2 with the prior on z."""
    data = regression_data(concomitant_rows(data_seed, n_units=n_units), "y ~ x", concomitant="~ z")
    stats = data.sufficient_stats()
    options = {"n_init": 10, "seed": seed, "sigma": "segment"}
    fit = fit_mixture(
        stats, 2, **options, covariates=data.covariates, covariate_names=data.covariate_names
    )
    return data, stats, fit


def brute_loglik(theta, gamma, sigma, data):
    """sum_i log sum_c pi_ic(z_i) prod_t N(y_it; x_it' theta_c, sigma_c^2), from the definition."""
    log_pi = np.log(softmax(data.covariates @ gamma.T, axis=1))  # (N, K)
    dens = np.stack(
        [
            np.bincount(data.unit, norm.logpdf(data.y, data.X @ t, s))
            for t, s in zip(theta, sigma, strict=True)
        ],
        axis=1,
    )
    return float(logsumexp(log_pi + dens, axis=1).sum())


@pytest.mark.parametrize("rows_per_unit", [1, 4])
def test_loglik_with_concomitants_equals_brute_force(rows_per_unit):
    frame = concomitant_rows(1, n_units=60, rows_per_unit=rows_per_unit)
    group = None if rows_per_unit == 1 else "unit"
    data = regression_data(frame, "y ~ x", group=group, concomitant="~ z")
    value = loglik_at(data.sufficient_stats(), THETA, GAMMA, SIGMA, data.covariates)
    assert value == pytest.approx(brute_loglik(THETA, GAMMA, SIGMA, data), rel=1e-12)


@pytest.mark.parametrize("mode", ["fixed", "common", "segment"])
def test_score_and_hessian_with_concomitants_equal_finite_differences(mode):
    data = regression_data(concomitant_rows(2, n_units=80), "y ~ x", concomitant="~ z")
    problem = prepare(data.sufficient_stats(), 3, mode, data.covariates)
    rng = np.random.default_rng(0)
    theta = rng.normal(size=(1, 3, 2)) + [4.0, 0.5]
    gamma = np.concatenate([rng.normal(size=(1, 2, 2)), np.zeros((1, 1, 2))], axis=1)
    sigma = np.exp(rng.normal(size=(1, 3)) * 0.3) * 2
    if mode == "common":
        sigma[:] = sigma[:, :1]
    arg = None if mode == "fixed" else sigma
    space = problem.space
    x0 = space.to_newton(theta, gamma, sigma)[0]
    deriv = mixture_derivatives(problem.driver, problem.prior, space, theta, gamma, arg)

    def value(x):
        t, g, s = space.from_newton(x[None])
        return log_likelihood(problem, t, g, None if mode == "fixed" else s)[0]

    def gradient(x):
        t, g, s = space.from_newton(x[None])
        d = mixture_derivatives(
            problem.driver, problem.prior, space, t, g, None if mode == "fixed" else s
        )
        return d.score[0]

    steps = np.eye(len(x0))
    numeric = np.array([(value(x0 + 1e-5 * e) - value(x0 - 1e-5 * e)) / 2e-5 for e in steps])
    np.testing.assert_allclose(deriv.score[0], numeric, rtol=1e-6, atol=1e-6)
    numeric_h = np.column_stack(
        [(gradient(x0 + 1e-6 * e) - gradient(x0 - 1e-6 * e)) / 2e-6 for e in steps]
    )
    np.testing.assert_allclose(deriv.hessian[0], numeric_h, rtol=1e-5, atol=1e-4)


def test_constant_only_concomitant_and_k1_reproduce_the_constant_prior_fit():
    data = regression_data(concomitant_rows(3), "y ~ x", concomitant="~ 1")
    stats = data.sufficient_stats()
    plain = fit_mixture(stats, 2, n_init=10, seed=4, sigma="segment")
    logit = fit_mixture(stats, 2, n_init=10, seed=4, sigma="segment", covariates=data.covariates)
    assert logit.converged and logit.loglik == pytest.approx(plain.loglik, rel=1e-11)
    np.testing.assert_allclose(logit.theta, plain.theta, rtol=1e-6)
    np.testing.assert_allclose(logit.pi, plain.pi, rtol=1e-6)
    assert logit.n_params == plain.n_params
    one = regression_data(concomitant_rows(3), "y ~ x", concomitant="~ z")
    k1 = fit_mixture(one.sufficient_stats(), 1, n_init=1, sigma="common", covariates=one.covariates)
    base = fit_mixture(stats, 1, n_init=1, sigma="common")
    assert k1.loglik == pytest.approx(base.loglik, rel=1e-12)
    np.testing.assert_allclose(k1.theta, base.theta, rtol=1e-10)


def test_concomitant_fit_recovers_gamma_with_standard_errors():
    data, stats, fit = fitted_concomitant(4, 600, seed=1)
    assert fit.converged and fit.concomitant and fit.gamma.shape == (2, 2)
    assert fit.n_params == 2 * 2 + 1 * 2 + 2
    inference = observed_information_se(fit, stats)
    assert inference.valid
    covered = inference.covers_gamma(GAMMA)
    assert covered.all(), (inference.gamma, inference.se_gamma)
    assert fit.loglik == pytest.approx(
        brute_loglik(fit.theta, fit.gamma, fit.sigma, data), rel=1e-12
    )
    pi, se, ci = inference.prior_at([[1.0, 0.0], [1.0, 2.0]])
    np.testing.assert_allclose(pi.sum(axis=1), 1.0)
    assert np.all((ci[..., 0] < pi) & (pi < ci[..., 1])) and np.all(se > 0)


def test_prior_m_step_raises_the_weighted_objective_and_repeated_reaches_its_maximum():
    rng = np.random.default_rng(5)
    Z = np.column_stack([np.ones(200), rng.normal(size=200)])
    prior = LogitPrior(3, Z)
    W = rng.dirichlet(np.ones(3), size=200).T[None]
    sums = prior.accumulate(W, slice(None))
    state = np.zeros((1, 3, 2))
    values = [prior.objective(state, sums)[0]]
    for _ in range(30):
        state = prior.m_step(state, sums)
        values.append(prior.objective(state, sums)[0])
    assert np.all(np.diff(values) >= -1e-12) and values[1] > values[0]
    grad, _ = prior._gradient_hessian(state, sums)
    assert np.abs(grad).max() < 1e-8


def test_complete_separation_is_flagged_and_warned_never_nan():
    rng = np.random.default_rng(6)
    n = 200
    z = rng.normal(size=n)
    segment = (z > 0).astype(int)  # z separates the segments perfectly
    x = rng.uniform(0, 10, n)
    y = np.where(segment == 1, 20 + 3 * x, 1 - 2 * x) + rng.normal(size=n) * 0.5
    data = regression_data(pd.DataFrame({"y": y, "x": x, "z": z}), "y ~ x", concomitant="~ z")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = fit_mixture(
            data.sufficient_stats(),
            2,
            n_init=5,
            seed=0,
            sigma="segment",
            covariates=data.covariates,
        )
    assert fit.separated
    assert any("separation" in str(w.message) for w in caught if w.category is ConvergenceWarning)
    assert np.all(np.isfinite(fit.gamma)) and np.isfinite(fit.loglik)


@pytest.mark.parametrize(
    ("frame_change", "kwargs", "message"),
    [
        (
            lambda f: f.assign(z=f.z + 0.01 * np.arange(len(f))),
            {"group": "unit"},
            "varies within unit",
        ),
        (
            lambda f: f.assign(z=f.z.where(f.index != 3)),
            {"group": "unit"},
            "column 'z' has a missing",
        ),
        (lambda f: f.assign(z=1.0), {"group": "unit"}, "is a combination of the columns before it"),
    ],
)
def test_bad_concomitant_input(frame_change, kwargs, message):
    frame = frame_change(concomitant_rows(7, n_units=30, rows_per_unit=3))
    with pytest.raises(ValueError, match=message):
        regression_data(frame, "y ~ x", concomitant="~ z", **kwargs)


def test_unit_table_must_cover_the_units_exactly():
    frame = concomitant_rows(8, n_units=20, rows_per_unit=2)
    table = frame.groupby("unit", as_index=False)["z"].first()
    data = regression_data(
        frame.drop(columns="z"), "y ~ x", group="unit", concomitant="~ z", unit_data=table
    )
    np.testing.assert_allclose(data.covariates[:, 1], table["z"])
    with pytest.raises(ValueError, match="unit 5 of the data has no row"):
        regression_data(
            frame, "y ~ x", group="unit", concomitant="~ z", unit_data=table[table.unit != 5]
        )
    extra = pd.concat([table, pd.DataFrame({"unit": [99], "z": [0.0]})])
    with pytest.raises(ValueError, match="names unit 99, not in the data"):
        regression_data(frame, "y ~ x", group="unit", concomitant="~ z", unit_data=extra)


def test_mixture_regression_front_with_a_concomitant_formula():
    frame = concomitant_rows(9, n_units=300, rows_per_unit=2)
    model = MixtureRegression(2, formula="y ~ x", group="unit", concomitant="~ z", random_state=0)
    model.fit(frame)
    assert model.gamma_.shape == (2, 2) and model.fit_.covariate_names == ("Intercept", "z")
    table = model.summary().parameters
    assert {"gamma[1][Intercept]", "gamma[1][z]"} <= set(table.index)
    assert np.isfinite(table.loc["gamma[1][z]", "P>|z|"])
    proba = model.predict_proba(frame)
    np.testing.assert_allclose(proba.to_numpy(), model.posteriors_.to_numpy(), atol=1e-12)
    drawn, labels = model.sample(400, random_state=1)
    assert set(drawn.columns) >= {"y", "x", "z", "unit"} and len(labels) == 400
    refit = MixtureRegression(2, formula="y ~ x", group="unit", concomitant="~ z", random_state=0)
    assert np.sign(refit.fit(drawn).gamma_[0, 1]) == np.sign(model.gamma_[0, 1])


def test_sales_mixture_reads_store_covariates_from_a_unit_table(real_panel):
    rng = np.random.default_rng(10)
    stores = pd.DataFrame(
        {"store": list(real_panel.store_ids), "size": rng.normal(size=real_panel.n_stores)}
    )
    plain = SalesMixture(2, n_init=10, random_state=3).fit(real_panel)
    model = SalesMixture(2, n_init=10, random_state=3, concomitant="~ size")
    model.fit(real_panel, unit_data=stores)
    assert model.fit_.concomitant and model.fit_.n_params == plain.fit_.n_params + 1
    assert model.fit_.loglik >= plain.fit_.loglik - 1e-6  # nested: gamma_size = 0 is plain's
    with pytest.raises(ValueError, match="unit 'Sales7' of the data has no row"):
        SalesMixture(2, n_init=2, concomitant="~ size").fit(
            real_panel, unit_data=stores[stores.store != "Sales7"]
        )


def test_bootstrap_draws_membership_from_pi_of_z_and_agrees_with_observed():
    _, stats, fit = fitted_concomitant(11, 400, seed=2)
    observed = observed_information_se(fit, stats)
    boot = bootstrap_se(fit, stats, n_boot=60, seed=3, n_init=2)
    assert boot.valid and boot.details["n_used"] >= 55
    np.testing.assert_allclose(boot.se_gamma[0], observed.se_gamma[0], rtol=0.35)
    np.testing.assert_allclose(boot.se_theta, observed.se_theta, rtol=0.35)
    assert np.all(boot.ci_gamma[0, :, 0] < fit.gamma[0]) and np.all(
        fit.gamma[0] < boot.ci_gamma[0, :, 1]
    )
