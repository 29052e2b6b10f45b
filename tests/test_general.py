"""The general mixture of regressions: formulas, ungrouped rows, any unit ids, equivariance."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import REAL_DATA, brute_loglik, brute_posteriors

from estimator import (
    ConvergenceWarning,
    ExcludedStoresWarning,
    fit_k_range,
    fit_mixture,
    loglik_at,
    long_from_arrays,
    regression_data,
)
from estimator.engine import posteriors


def quadratic(seed, n=300, share=0.4, sd=(2.0, 3.0)):
    """Ungrouped rows from two quadratic segments (flexmix's NPreg shape)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 10, n)
    seg = rng.random(n) < share
    y = np.where(seg, 5 * x, 15 + 10 * x - x**2) + rng.normal(size=n) * np.where(seg, *sd)
    return pd.DataFrame({"y": y, "x": x, "z": rng.normal(size=n)})


FORMULA = "y ~ x + I(x**2)"


@pytest.mark.parametrize("mode", ["fixed", "common", "segment"])
@pytest.mark.parametrize("n_components", [1, 2, 3])
def test_ungrouped_loglik_and_posteriors_equal_brute_force(mode, n_components):
    data = regression_data(quadratic(1, n=80), FORMULA)
    stats = data.sufficient_stats()
    rng = np.random.default_rng(n_components)
    theta = rng.normal(size=(n_components, 3)) * [3, 2, 0.2]
    pi = rng.dirichlet(np.ones(n_components) * 3)
    sigma = None if mode == "fixed" else rng.uniform(1, 4, n_components)
    if mode == "common":
        sigma[:] = sigma[0]
    loglik, W = posteriors(stats, theta, pi, sigma)
    expected = brute_loglik(theta, pi, data.y, data.X, data.unit, sigma)
    assert loglik == pytest.approx(expected, rel=1e-12)
    brute = brute_posteriors(theta, pi, data.y, data.X, data.unit, sigma)
    np.testing.assert_allclose(W, brute, atol=1e-12)


def test_ungrouped_fit_is_a_certified_maximum_of_the_brute_force_likelihood():
    data = regression_data(quadratic(2, n=120), FORMULA)
    fit = fit_mixture(data.sufficient_stats(), 2, n_init=20, seed=0, sigma="segment")
    assert fit.converged
    expected = brute_loglik(fit.theta, fit.pi, data.y, data.X, data.unit, fit.sigma)
    assert fit.loglik == pytest.approx(expected, rel=1e-12)


def test_ungrouped_k1_is_least_squares_with_the_ml_sigma():
    frame = quadratic(3)
    data = regression_data(frame, FORMULA)
    fit = fit_mixture(data.sufficient_stats(), 1, n_init=1, sigma="common")
    beta, rss, *_ = np.linalg.lstsq(data.X, data.y, rcond=None)
    n = len(data.y)
    np.testing.assert_allclose(fit.theta[0], beta, rtol=1e-10)
    assert fit.sigma[0] == pytest.approx(np.sqrt(rss[0] / n), rel=1e-10)
    assert fit.loglik == pytest.approx(-n / 2 * (np.log(2 * np.pi * rss[0] / n) + 1), rel=1e-12)


def test_grouped_data_with_singular_unit_grams_match_brute_force():
    frame = quadratic(4, n=90).assign(unit=np.repeat(np.arange(45), 2))  # 2 rows, 3 coefficients
    data = regression_data(frame, FORMULA, group="unit")
    assert data.n_units == 45
    fit = fit_mixture(data.sufficient_stats(), 2, n_init=20, seed=1, sigma="segment", guard=None)
    expected = brute_loglik(fit.theta, fit.pi, data.y, data.X, data.unit, fit.sigma)
    assert fit.loglik == pytest.approx(expected, rel=1e-12)


SCALES = [1e-4, 1e-2, 1.0, 1e2, 1e4]


@pytest.mark.parametrize("mode", ["common", "segment"])
def test_rescaling_y_rescales_the_fit_and_shifts_loglik_by_n_log_c(mode):
    frame = quadratic(5)
    n = len(frame)
    reference = None
    for c in SCALES:
        stats = regression_data(frame.assign(y=frame.y * c), FORMULA).sufficient_stats()
        fit = fit_mixture(stats, 2, n_init=20, seed=1, sigma=mode)
        summary = (fit.loglik + n * np.log(c), fit.theta / c, fit.sigma / c)
        if reference is None:
            reference, first = summary, fit
            continue
        assert summary[0] == pytest.approx(reference[0], rel=1e-11)
        # the same certified maximum, to the certificate's precision
        np.testing.assert_allclose(summary[1], reference[1], rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(summary[2], reference[2], rtol=1e-6)
        assert (fit.converged, fit.n_at_best) == (first.converged, first.n_at_best)


def test_rescaling_y_chooses_the_same_k():
    frame = quadratic(6)
    chosen = set()
    for c in (1e-4, 1.0, 1e4):
        stats = regression_data(frame.assign(y=frame.y * c), FORMULA).sufficient_stats()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            selection = fit_k_range(stats, (1, 2, 3), n_init=20, seed=2, sigma="segment")
        chosen.add(selection.chosen_k)
    assert len(chosen) == 1


def test_shifting_y_moves_only_the_intercept_and_rescaling_x_its_coefficient():
    frame = quadratic(7)
    base = fit_mixture(
        regression_data(frame, FORMULA).sufficient_stats(), 2, n_init=20, seed=1, sigma="segment"
    )
    shifted = fit_mixture(
        regression_data(frame.assign(y=frame.y + 1e3), FORMULA).sufficient_stats(),
        2,
        n_init=20,
        seed=1,
        sigma="segment",
    )
    assert shifted.loglik == pytest.approx(base.loglik, rel=1e-10)
    np.testing.assert_allclose(shifted.theta[:, 0] - 1e3, base.theta[:, 0], rtol=1e-7, atol=1e-6)
    np.testing.assert_allclose(shifted.theta[:, 1:], base.theta[:, 1:], rtol=1e-6)
    scaled = fit_mixture(
        regression_data(frame.assign(x=frame.x * 1e3), FORMULA).sufficient_stats(),
        2,
        n_init=20,
        seed=1,
        sigma="segment",
    )
    assert scaled.loglik == pytest.approx(base.loglik, rel=1e-10)
    np.testing.assert_allclose(scaled.theta * [1, 1e3, 1e6], base.theta, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(
    "ids",
    [
        np.arange(60) // 3,
        np.array([f"store {i // 3}" for i in range(60)]),
        [(i // 3, "x") for i in range(60)],
    ],
    ids=["int", "str", "tuple"],
)
def test_any_hashable_unit_id(ids):
    frame = quadratic(8, n=60)
    frame["unit"] = pd.Series(list(ids), dtype=object) if isinstance(ids, list) else ids
    data = regression_data(frame, FORMULA, group="unit")
    assert data.n_units == 20 and data.unit_ids[0] == frame["unit"].iloc[0]
    fit = fit_mixture(data.sufficient_stats(), 2, n_init=5, seed=0, sigma="common")
    assert np.isfinite(fit.loglik)


def test_excluded_stores_warning_names_integer_ids():
    store = np.array([0, 0, 0, 1, 2, 2, 2])
    X = np.column_stack([np.ones(7), np.arange(7.0)])
    with pytest.warns(ExcludedStoresWarning, match="excluded"):
        long_from_arrays(store, np.arange(7), np.arange(7.0), X, store_ids=[10, 11, 12])


def test_loglik_at_equals_brute_force():
    data = regression_data(quadratic(9, n=50), FORMULA)
    theta = np.array([[0.0, 5, 0], [15, 10, -1]])
    value = loglik_at(data.sufficient_stats(), theta, [0.4, 0.6], [2.0, 3.0])
    assert value == pytest.approx(
        brute_loglik(theta, [0.4, 0.6], data.y, data.X, data.unit, [2.0, 3.0]), rel=1e-12
    )


@pytest.mark.parametrize(
    ("change", "kwargs", "message"),
    [
        (lambda f: f, {"formula": "y ~ nope"}, "names column 'nope'"),
        (
            lambda f: f.assign(x=f.x.astype(object).where(f.index != 4, "n/a")),
            {},
            "column 'x' is numeric but row 5",
        ),
        (
            lambda f: f.assign(x=f.x.where(f.index != 6)),
            {},
            "column 'x' has a missing value in row 7",
        ),
        (
            lambda f: f.assign(unit=np.where(f.index == 3, np.nan, f.index // 2)),
            {"group": "unit"},
            "group column 'unit' has a missing value in row 4",
        ),
        (lambda f: f, {"group": "shop"}, "group: column 'shop' is not in"),
        (lambda f: f, {"formula": "y ~ x + I(2 * x)"}, "'I(2 * x)' is a combination"),
        (
            lambda f: f.assign(y=-f.y.abs()),
            {"formula": "np.log(y) ~ x"},
            "log of 0 or of a negative",
        ),
        (lambda f: f, {"formula": "~ x"}, "has no response"),
    ],
)
def test_bad_input_is_one_line_naming_the_culprit(change, kwargs, message):
    frame = change(quadratic(10, n=40))
    kwargs = {"formula": FORMULA, **kwargs}
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        regression_data(frame, **kwargs)
    assert "\n" not in str(error.value)


def test_k_above_the_units_is_refused_before_any_fit():
    data = regression_data(
        quadratic(11, n=30).assign(unit=np.arange(30) // 10), FORMULA, group="unit"
    )
    with pytest.raises(ValueError, match="K = 4 segments needs at least 4"):
        fit_k_range(data.sufficient_stats(), (1, 2, 3, 4), n_init=2)


def test_the_formula_front_grouped_by_store_equals_sales_mixture_on_the_real_data():
    from estimator import MixtureRegression, SalesMixture

    wide = pd.read_csv(REAL_DATA)
    long = wide.melt(id_vars="Price", var_name="store", value_name="sales")
    sales = SalesMixture(3, n_init=20, random_state=1).fit(wide)
    general = MixtureRegression(
        3,
        formula="np.log(sales) ~ np.log(Price)",
        group="store",
        sigma="fixed",
        n_init=20,
        random_state=1,
    ).fit(long)
    assert general.loglik_ == pytest.approx(sales.loglik_, rel=1e-9)
    np.testing.assert_allclose(general.theta_, sales.theta_, rtol=1e-7)
    assert general.fit_.n_params == sales.fit_.n_params == 8
    assert general.criteria()["bic"] == pytest.approx(sales.criteria()["bic"], rel=1e-9)
