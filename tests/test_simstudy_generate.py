"""Synthetic panels: reproducible from a seed, independent of blocking, moments match the truth."""

import numpy as np
import pytest

import simstudy.studies.generate as gen
from estimator.panel import design_matrix, sufficient_stats
from simstudy.studies.generate import (
    Truth,
    draw_prices,
    generate_panel,
    generate_stats,
    real_prices,
)

TRUTH = Truth(
    theta=np.array([[9.9, -1.2], [10.8, -1.05], [11.6, -1.8]]),
    pi=np.array([0.2, 0.5, 0.3]),
)


def test_same_seed_same_panel_and_different_seed_different_panel():
    prices = real_prices()
    a, la = generate_panel(TRUTH, prices, 40, seed=123)
    b, lb = generate_panel(TRUTH, prices, 40, seed=123)
    c, lc = generate_panel(TRUTH, prices, 40, seed=124)
    np.testing.assert_array_equal(a.y, b.y)
    np.testing.assert_array_equal(la, lb)
    assert not np.array_equal(a.y, c.y)
    assert a.y.shape == (40, 52) and a.X.shape == (52, 2)
    np.testing.assert_array_equal(a.X, design_matrix(prices))


def test_stats_in_blocks_match_the_whole_panel(monkeypatch):
    monkeypatch.setattr(gen, "BLOCK_STORES", 7)  # 50 stores = 8 blocks, the last one short
    prices = real_prices()[:26]
    panel, labels = generate_panel(TRUTH, prices, 50, seed=5)
    stats, stats_labels = generate_stats(TRUTH, prices, 50, seed=5)
    whole = sufficient_stats(panel.y, panel.X)
    np.testing.assert_array_equal(labels, stats_labels)
    np.testing.assert_allclose(stats.ols, whole.ols, rtol=1e-12)
    np.testing.assert_allclose(stats.rss, whole.rss, rtol=1e-10)
    np.testing.assert_array_equal(stats.gram, whole.gram)
    assert stats.shared_gram and stats.n_stores == 50


def test_blocks_are_fixed_streams(monkeypatch):
    # store i of a panel depends on its block's stream only: a longer panel starts with the
    # same complete blocks
    monkeypatch.setattr(gen, "BLOCK_STORES", 10)
    prices = real_prices()
    short, short_labels = generate_panel(TRUTH, prices, 20, seed=9)
    long, long_labels = generate_panel(TRUTH, prices, 35, seed=9)
    np.testing.assert_array_equal(short.y, long.y[:20])
    np.testing.assert_array_equal(short_labels, long_labels[:20])


def test_sample_moments_match_the_truth():
    truth = Truth(TRUTH.theta, TRUTH.pi, sigma=1.5)
    n_stores, prices = 20000, real_prices()
    stats, labels = generate_stats(truth, prices, n_stores, seed=2024)
    shares = np.bincount(labels, minlength=3) / n_stores
    se_share = np.sqrt(truth.pi * (1 - truth.pi) / n_stores)
    assert np.all(np.abs(shares - truth.pi) < 4 * se_share)
    cov_ols = truth.sigma**2 * np.linalg.inv(stats.gram)  # covariance of one store's OLS
    for c in range(3):
        mine = stats.ols[labels == c]
        se = np.sqrt(np.diag(cov_ols) / len(mine))
        assert np.all(np.abs(mine.mean(axis=0) - truth.theta[c]) < 4 * se)
        np.testing.assert_allclose(np.cov(mine.T), cov_ols, rtol=0.1, atol=1e-3)
    # E[RSS_i] = sigma^2 (T - P)
    rss_mean = stats.rss.mean() / (len(prices) - 2)
    assert abs(rss_mean - truth.sigma**2) < 4 * truth.sigma**2 * np.sqrt(2 / 50 / n_stores)


def test_real_prices_and_their_prefix():
    series = real_prices()
    assert series.shape == (52,) and series[0] == pytest.approx(2.39)
    np.testing.assert_array_equal(draw_prices("real", 13), series[:13])
    with pytest.raises(ValueError, match="52 weeks"):
        draw_prices("real", 60)


def test_lognormal_prices_reproducible_with_given_moments():
    spec = {"process": "lognormal", "meanlog": 0.9, "sdlog": 0.45}
    a = draw_prices(spec, 20000, seed=3)
    np.testing.assert_array_equal(a, draw_prices(spec, 20000, seed=3))
    assert np.all(a > 0)
    assert abs(np.log(a).mean() - 0.9) < 4 * 0.45 / np.sqrt(20000)
    assert abs(np.log(a).std() - 0.45) < 0.01
    with pytest.raises(ValueError, match="unknown price process"):
        draw_prices("uniform", 10)


def test_truth_is_checked():
    with pytest.raises(ValueError, match="sum to 1"):
        Truth(np.zeros((2, 2)), np.array([0.5, 0.6]))
    with pytest.raises(ValueError, match="segments"):
        Truth(np.zeros((3, 2)), np.array([0.5, 0.5]))
    with pytest.raises(ValueError, match="sigma"):
        Truth(np.zeros((1, 2)), np.array([1.0]), sigma=0.0)
    with pytest.raises(ValueError, match="N must be"):
        generate_panel(TRUTH, real_prices(), 0, seed=1)
