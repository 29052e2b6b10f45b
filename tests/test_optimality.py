"""At the EM solution on the real data, a generic optimiser finds nothing better."""

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import softmax

from estimator import LogL, fit_mixture


def unpack(params, n_components):
    theta = params[: 2 * n_components]
    logits = np.append(params[2 * n_components :], 0.0)
    return theta, softmax(logits)


@pytest.mark.parametrize("n_components", [2, 3, 4])
@pytest.mark.parametrize("method", ["BFGS", "Powell"])
def test_generic_optimiser_started_at_em_solution_finds_nothing_better(real, n_components, method):
    panel, stats = real
    fit = fit_mixture(stats, n_components, seed=2026)
    start = np.concatenate([fit.theta_flat, np.log(fit.pi[:-1] / fit.pi[-1])])

    def negative_loglik(params):
        theta, pi = unpack(params, n_components)
        return -LogL(theta, pi, panel.y, panel.X)

    assert -negative_loglik(start) == pytest.approx(fit.loglik, rel=1e-12)
    result = minimize(negative_loglik, start, method=method, options={"maxiter": 20000})
    assert -result.fun <= fit.loglik + 1e-4, (-result.fun - fit.loglik, result.message)
