"""Synthetic panels with missing weeks, store-specific prices, extra regressors, segment sigma."""

import numpy as np
import pytest

from estimator import fit_mixture
from simstudy.studies.generate import (
    Irregularities,
    Truth,
    generate_long,
    generate_panel,
    real_prices,
)

THETA = np.array([[9.0, -2.0], [10.5, -1.0], [12.0, -0.5]])
PI = np.array([0.3, 0.5, 0.2])


def test_without_irregularities_the_long_panel_holds_the_same_stores():
    truth = Truth(THETA, PI)
    wide, labels = generate_panel(truth, real_prices(), 50, seed=3)
    long, long_labels = generate_long(truth, real_prices(), 50, seed=3)
    np.testing.assert_array_equal(labels, long_labels)
    assert long.y.size == wide.y.size
    np.testing.assert_allclose(long.y, wide.y[long.store, long.week], rtol=1e-13)
    np.testing.assert_allclose(
        long.sufficient_stats().ols, wide.sufficient_stats().ols, rtol=1e-10, atol=1e-10
    )


def test_moments_of_each_irregularity():
    sigma = np.array([0.5, 1.0, 2.0])
    theta = np.column_stack([THETA, [0.3, 0.6, 0.9]])
    truth = Truth(theta, PI, sigma=sigma)
    irregular = Irregularities(missing_rate=0.2, price_noise=0.25, extras=(("promo", 0.3),))
    panel, labels = generate_long(truth, real_prices(), 2000, seed=5, irregular=irregular)
    n_cells = 2000 * 52
    observed = panel.y.size / n_cells
    assert abs(observed - 0.8) < 4 * np.sqrt(0.16 / n_cells)
    promo = panel.X[:, 2].mean()
    assert abs(promo - 0.3) < 4 * np.sqrt(0.21 / panel.y.size)
    deviation = panel.X[:, 1] - np.log(real_prices())[panel.week.astype(int)]
    assert deviation.std() == pytest.approx(0.25, rel=0.02)
    residual = panel.y - np.einsum("mp,mp->m", panel.X, theta[labels[panel.store]])
    for c in range(3):
        in_c = labels[panel.store] == c
        assert residual[in_c].std() == pytest.approx(sigma[c], rel=0.03)
    assert np.bincount(labels, minlength=3) / 2000 == pytest.approx(PI, abs=0.04)


def test_recovery_with_missing_weeks_store_prices_promo_and_segment_sigma():
    sigma = np.array([0.7, 1.0, 1.5])
    theta = np.column_stack([THETA, [0.2, 0.5, 0.8]])
    irregular = Irregularities(missing_rate=0.2, price_noise=0.2, extras=(("promo", 0.3),))
    panel, _ = generate_long(Truth(theta, PI, sigma), real_prices(), 600, 8, irregular)
    fit = fit_mixture(
        panel.sufficient_stats(),
        3,
        n_init=10,
        seed=1,
        sigma="segment",
        tol=1e-10,
        coef_names=panel.coef_names,
    )
    np.testing.assert_allclose(fit.theta, theta, atol=0.15)
    np.testing.assert_allclose(fit.pi, PI, atol=0.05)
    np.testing.assert_allclose(fit.sigma, sigma, rtol=0.05)
    assert fit.to_dict()["promo"] == pytest.approx(fit.theta[:, 2].tolist())


def test_bad_irregularities_and_shapes():
    with pytest.raises(ValueError, match="missing_rate"):
        Irregularities(missing_rate=1.0)
    with pytest.raises(ValueError, match="2 \\+ 1 extra"):
        generate_long(Truth(THETA, PI), real_prices(), 10, 1, Irregularities(extras=(("p", 0.5),)))
    with pytest.raises(ValueError, match="one per segment"):
        Truth(THETA, PI, sigma=[1.0, 2.0])


def test_irregular_config_conditions_and_records():
    from pathlib import Path

    from estimator.init import seed_sequence
    from simstudy.studies import mixture
    from simstudy.studies.config import conditions, load_config

    config = load_config(Path(__file__).resolve().parents[1] / "experiments/configs/irregular.json")
    grid = conditions(config)
    assert len(grid) == 8
    hardest = grid[-1]
    assert hardest.irregularities == Irregularities(0.2, 0.25, (("promo", 0.3),))
    assert hardest.coef_names == ("alpha", "beta", "promo")
    np.testing.assert_allclose(hardest.truth.sigma, [0.7, 1.0, 1.4])
    small = type(hardest)(**{**hardest.__dict__, "factors": {**hardest.factors, "N": 120}})
    data = mixture.generate(small, np.random.default_rng(seed_sequence(1, 0)))
    assert not data.stats.shared_gram and data.stats.n_obs.mean() < 52
    record = mixture.analyse(small, data, np.random.default_rng(seed_sequence(1, 1)))
    for name in ("est_promo_1", "est_sigma_3", "se_observed_promo_2", "cover_naive_sigma_1"):
        assert name in record
    assert record["chosen_bic"] in (2, 3, 4)
