"""On synthetic data from a well-separated truth the estimator recovers it and BIC finds K."""

import numpy as np
import pytest

from estimator import fit_k_range, panel_from_arrays
from estimator.panel import design_matrix

TRUE_THETA = np.array([[9.0, -2.0], [10.5, -1.0], [12.0, -0.5]])
TRUE_PI = np.array([0.3, 0.5, 0.2])


@pytest.fixture(scope="module")
def synthetic():
    rng = np.random.default_rng(20261121)
    n_stores, n_weeks = 500, 52
    X = design_matrix(np.exp(rng.normal(0.9, 0.45, n_weeks)))
    labels = rng.choice(3, size=n_stores, p=TRUE_PI)
    y = TRUE_THETA[labels] @ X.T + rng.normal(size=(n_stores, n_weeks))
    panel = panel_from_arrays(y, X)
    return panel, labels, fit_k_range(panel.sufficient_stats(), (1, 2, 3, 4, 5), n_init=20, seed=1)


def test_bic_picks_the_true_k(synthetic):
    _, _, selection = synthetic
    assert selection.chosen_k == 3


def test_estimates_within_a_few_standard_errors(synthetic):
    panel, labels, selection = synthetic
    fit = selection.fits[3]
    gram = panel.X.T @ panel.X
    for c in range(3):
        n_c = fit.pi[c] * panel.n_stores
        se = np.sqrt(np.diag(np.linalg.inv(n_c * gram)))  # sigma = 1, members known
        assert np.all(np.abs(fit.theta[c] - TRUE_THETA[c]) < 4 * se), (c, fit.theta[c], se)
    se_pi = np.sqrt(TRUE_PI * (1 - TRUE_PI) / panel.n_stores)
    assert np.all(np.abs(fit.pi - TRUE_PI) < 4 * se_pi)
    assert np.mean(fit.labels == labels) > 0.99
