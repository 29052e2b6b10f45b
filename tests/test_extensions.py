"""Estimated sigma, unbalanced panels, store-specific prices and extra regressors."""

from pathlib import Path

import numpy as np
import pytest
from conftest import brute_loglik, brute_posteriors

from estimator import ExcludedStoresWarning, LongPanel, fit_mixture, load_csv, load_long_csv
from estimator.driver import SIGMA_FLOOR_REL
from estimator.engine import posteriors, prepare
from estimator.init import starting_values
from estimator.longpanel import long_from_arrays
from estimator.panel import design_matrix
from estimator.selection import fit_criteria

REAL = Path(__file__).resolve().parents[1] / "data" / "609948.csv"


def random_long_panel(seed, n_stores=40, n_weeks=15, n_components=3, missing=0.3, sigma=None):
    """Store-specific prices, a promotion flag, missing weeks; y from a known mixture."""
    rng = np.random.default_rng(seed)
    theta = np.column_stack(
        [
            rng.normal(10, 1.5, n_components),
            rng.normal(-1.2, 0.5, n_components),
            rng.normal(0.4, 0.2, n_components),
        ]
    )
    pi = rng.dirichlet(np.full(n_components, 3.0))
    sigma = np.ones(n_components) if sigma is None else np.asarray(sigma)
    labels = rng.choice(n_components, size=n_stores, p=pi)
    store, week = np.meshgrid(np.arange(n_stores), np.arange(n_weeks), indexing="ij")
    keep = rng.random(store.shape) >= missing
    keep[:, :3] = True  # every store keeps enough weeks
    store, week = store[keep], week[keep]
    price = np.exp(rng.normal(0.9, 0.4, store.size))
    promo = (rng.random(store.size) < 0.3).astype(float)
    X = np.column_stack([np.ones(store.size), np.log(price), promo])
    mean = np.einsum("mp,mp->m", X, theta[labels[store]])
    y = mean + sigma[labels[store]] * rng.normal(size=store.size)
    panel = long_from_arrays(store, week, y, X, coef_names=("alpha", "beta", "promo"))
    return panel, theta, pi, sigma, labels


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("n_components", [1, 2, 3])
def test_engine_equals_brute_force_on_unbalanced_store_specific_panels(seed, n_components):
    panel, theta, pi, _, _ = random_long_panel(seed, n_components=n_components)
    rng = np.random.default_rng(seed + 50)
    sigma = rng.uniform(0.5, 2.0, n_components)
    stats = panel.sufficient_stats()
    for sig in (None, sigma):
        loglik, W = posteriors(stats, theta, pi, sig)
        expected = brute_loglik(theta, pi, panel.y, panel.X, panel.store, sig)
        assert loglik == pytest.approx(expected, rel=1e-12)
        brute = brute_posteriors(theta, pi, panel.y, panel.X, panel.store, sig)
        np.testing.assert_allclose(W, brute, atol=1e-10)


@pytest.mark.parametrize("mode", ["common", "segment"])
def test_sigma_m_step_equals_weighted_residual_variances(mode):
    panel, theta, pi, _, _ = random_long_panel(7, n_components=2)
    stats = panel.sufficient_stats()
    driver = prepare(stats, 2, mode).driver
    W = np.random.default_rng(1).dirichlet([1, 1], size=panel.n_stores).T[None]
    step = driver.m_step(driver.posterior_sums(W, with_sigma=True), mode)
    new_theta, sigma = step.theta, step.sigma
    per_row_w = W[0][:, panel.store]  # (K, M)
    for c in range(2):  # theta: weighted least squares on the stacked rows
        root = np.sqrt(per_row_w[c])
        expected, *_ = np.linalg.lstsq(panel.X * root[:, None], panel.y * root, rcond=None)
        np.testing.assert_allclose(new_theta[0, c], expected, rtol=1e-9)
    sq = np.stack([(panel.y - panel.X @ new_theta[0, c]) ** 2 for c in range(2)])
    if mode == "segment":
        expected_var = (per_row_w * sq).sum(axis=1) / per_row_w.sum(axis=1)
    else:
        expected_var = np.full(2, (per_row_w * sq).sum() / per_row_w.sum())
    np.testing.assert_allclose(sigma[0] ** 2, expected_var, rtol=1e-9)


@pytest.mark.parametrize("mode", ["fixed", "common", "segment"])
def test_em_with_estimated_sigma_is_monotone_and_counts_parameters(mode):
    panel, *_ = random_long_panel(3, n_stores=120, n_components=3, sigma=[0.7, 1.0, 1.6])
    stats = panel.sufficient_stats()
    fit = fit_mixture(
        stats,
        3,
        n_init=6,
        seed=2,
        sigma=mode,
        tol=1e-10,
        max_iter=3000,
        coef_names=panel.coef_names,
    )
    assert np.all(np.diff(fit.loglik_trace) >= -1e-9 * np.abs(fit.loglik_trace[:-1]))
    expected = brute_loglik(fit.theta, fit.pi, panel.y, panel.X, panel.store, fit.sigma)
    assert fit.loglik == pytest.approx(expected, rel=1e-11)
    extra = {"fixed": 0, "common": 1, "segment": 3}[mode]
    assert fit.n_params == 3 * 3 + 2 + extra
    assert fit.to_dict()["promo"] == fit.theta[:, 2].tolist()
    assert fit_criteria(fit, stats)["bic"] == pytest.approx(
        fit.n_params * np.log(stats.n_total) - 2 * fit.loglik
    )


def test_sigma_collapse_is_floored_and_reported_not_nan():
    rng = np.random.default_rng(0)
    X = design_matrix(np.exp(rng.normal(0.9, 0.4, 10)))
    exact = np.array([5.0, -1.0]) @ X.T  # a store on the line: zero residual
    y = np.vstack([exact, 9 + rng.normal(size=(30, 10))])
    from estimator import sufficient_stats

    stats = sufficient_stats(y, X)
    start = np.array([[[5.0, -1.0], [9.0, 0.0]]])
    with pytest.warns(Warning, match="floor"):
        fit = fit_mixture(stats, 2, theta0=start, sigma="segment", max_iter=200)
    assert fit.sigma_floored
    assert np.all(np.isfinite(fit.sigma)) and np.isfinite(fit.loglik)
    assert fit.sigma.min() == pytest.approx(SIGMA_FLOOR_REL * prepare(stats, 2).driver.scale)


def test_balanced_panel_through_the_long_path_gives_the_same_fit():
    panel = load_csv(REAL)
    balanced = panel.sufficient_stats()
    store, week = np.meshgrid(np.arange(panel.n_stores), np.arange(panel.n_weeks), indexing="ij")
    as_long = long_from_arrays(store.ravel(), week.ravel(), panel.y.ravel(), panel.X[week.ravel()])
    start = starting_values(balanced, 3, 1, seed=4)[0]
    a = fit_mixture(balanced, 3, theta0=start, tol=1e-10)
    b = fit_mixture(as_long.sufficient_stats(), 3, theta0=start, tol=1e-10)
    assert a.loglik == pytest.approx(b.loglik, rel=1e-11)
    np.testing.assert_allclose(a.theta, b.theta, rtol=1e-7)


def test_missing_cells_are_an_error_by_default_and_dropped_on_request(tmp_path):
    text = "Price,S1,S2,S3\n2,10,20,5\n3,,15,4\n4,6,NaN,3\n5,5,9,\n"
    path = tmp_path / "wide.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=r"column 'S1', row 2 .*empty cell.*missing='drop'"):
        load_csv(path)
    panel = load_csv(path, missing="drop")
    assert isinstance(panel, LongPanel)
    assert panel.store_ids == ("S1", "S2", "S3")
    assert np.bincount(panel.store).tolist() == [3, 3, 3]
    stats = panel.sufficient_stats()
    assert stats.n_total == 9


def test_store_with_too_few_weeks_is_excluded_and_reported(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("Price,S1,S2,S3\n2,10,20,5\n3,,15,4\n4,,9,3\n")
    with pytest.warns(ExcludedStoresWarning, match="S1"):
        panel = load_csv(path, missing="drop")
    assert panel.store_ids == ("S2", "S3")
    assert panel.excluded == (("S1", "1 week(s) observed, fewer than 2"),)


def test_long_csv_with_extra_regressor(tmp_path):
    path = tmp_path / "long.csv"
    rows = ["store,week,sales,price,promo"]
    rng = np.random.default_rng(3)
    for s in ("a", "b", "c"):
        for w in range(6):
            rows.append(f"{s},{w},{rng.uniform(5, 50):.3f},{rng.uniform(1, 4):.2f},{w % 2}")
    path.write_text("\n".join(rows) + "\n")
    panel = load_long_csv(path)
    assert panel.coef_names == ("alpha", "beta", "promo")
    assert panel.X.shape == (18, 3)
    assert panel.sufficient_stats().gram.shape == (3, 3, 3)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("store,week,sales\na,1,3\n", r"missing column\(s\) \['price'\]"),
        ("store,week,sales,price\na,1,3,2\na,1,4,3\n", r"row 2 .*store 'a', week '1' appears more"),
        ("store,week,sales,price\na,1,x,2\n", r"column 'sales', row 1 .*non-numeric value 'x'"),
        ("store,week,sales,price\na,1,3,-2\n", r"column 'price', row 1 .*not positive"),
        ("store,week,sales,price\na,1,,2\n", r"column 'sales', row 1 .*empty cell"),
        ("store,week,sales,price\n,1,3,2\n", r"row 1 .*empty store or week"),
    ],
)
def test_long_csv_errors_name_column_and_row(tmp_path, text, expected):
    path = tmp_path / "long.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=expected) as info:
        load_long_csv(path)
    assert str(path) in str(info.value)


def test_recovery_with_twenty_percent_missing_weeks():
    panel, theta, pi, _, labels = random_long_panel(
        11, n_stores=400, n_weeks=52, n_components=3, missing=0.2
    )
    fit = fit_mixture(panel.sufficient_stats(), 3, n_init=20, seed=3, tol=1e-10)
    order = np.lexsort(theta.T[::-1])
    np.testing.assert_allclose(fit.theta, theta[order], atol=0.12)
    np.testing.assert_allclose(fit.pi, pi[order], atol=0.06)


def test_recovery_with_segment_specific_sigma():
    true_sigma = np.array([0.6, 1.0, 1.8])
    panel, theta, pi, _, _ = random_long_panel(
        12, n_stores=400, n_weeks=52, n_components=3, missing=0.0, sigma=true_sigma
    )
    fit = fit_mixture(panel.sufficient_stats(), 3, n_init=20, seed=3, sigma="segment", tol=1e-10)
    order = np.lexsort(theta.T[::-1])
    np.testing.assert_allclose(fit.theta, theta[order], atol=0.2)
    np.testing.assert_allclose(fit.sigma, true_sigma[order], rtol=0.06)
