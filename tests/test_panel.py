"""Loading and validating panels: every bad input gets a clear error naming what is at fault."""

from pathlib import Path

import numpy as np
import pytest

from estimator import load_csv, panel_from_arrays, sufficient_stats
from estimator.panel import check_y_X, concat_stats, design_matrix

REAL = Path(__file__).resolve().parents[1] / "data" / "609948.csv"


def write(tmp_path: Path, text: str, name: str = "panel.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


GOOD = "Price,Sales1,Sales2\n2.0,10,20\n3.0,8,15\n4.0,6,11\n"


def test_real_file_loads_with_expected_shape():
    panel = load_csv(REAL)
    assert panel.y.shape == (300, 52)
    assert panel.X.shape == (52, 2)
    assert panel.store_ids[0] == "Sales1" and panel.store_ids[-1] == "Sales300"
    np.testing.assert_array_equal(panel.X[:, 0], 1.0)
    assert panel.X[0, 1] == pytest.approx(np.log(2.39))


def test_good_small_file(tmp_path):
    panel = load_csv(write(tmp_path, GOOD))
    np.testing.assert_allclose(panel.y, np.log([[10, 8, 6], [20, 15, 11]]))
    np.testing.assert_allclose(panel.X[:, 1], np.log([2.0, 3.0, 4.0]))


def test_missing_file_is_named(tmp_path):
    missing = tmp_path / "nope.csv"
    with pytest.raises(ValueError, match=r"nope\.csv: file not found"):
        load_csv(missing)


def test_y_given_as_weeks_by_stores_says_transpose():
    X = design_matrix(np.linspace(1, 3, 10))
    y = np.zeros((10, 4))
    with pytest.raises(ValueError, match=r"pass y\.T"):
        check_y_X(y, X)


def test_array_checks():
    X = design_matrix(np.linspace(1, 3, 10))
    with pytest.raises(ValueError, match="must be a 2-D array"):
        check_y_X(np.zeros(10), X)
    with pytest.raises(ValueError, match=r"y must be \(N, T\) with T = 10"):
        check_y_X(np.zeros((3, 7)), X)
    with pytest.raises(ValueError, match="NaN or infinite value \\(store 1, week 2\\)"):
        y = np.zeros((3, 10))
        y[1, 2] = np.nan
        check_y_X(y, X)
    with pytest.raises(ValueError, match="singular"):
        check_y_X(np.zeros((3, 10)), design_matrix(np.full(10, 2.0)))
    with pytest.raises(ValueError, match="fewer than the 2 regressors"):
        check_y_X(np.zeros((3, 1)), np.ones((1, 2)))
    with pytest.raises(ValueError, match="store_ids has 2 names for 3 stores"):
        panel_from_arrays(np.zeros((3, 10)), X, store_ids=["a", "b"])


def test_sufficient_stats_reproduce_every_residual_sum_of_squares():
    rng = np.random.default_rng(0)
    X = design_matrix(rng.uniform(1, 5, 30))
    y = rng.normal(size=(7, 30)) + 3.0
    stats = sufficient_stats(y, X)
    theta = np.array([2.5, -0.7])
    direct = ((y - X @ theta) ** 2).sum(axis=1)
    diff = stats.ols - theta
    via_identity = stats.rss + np.einsum("np,pq,nq->n", diff, stats.gram, diff)
    np.testing.assert_allclose(via_identity, direct, rtol=1e-12)


def test_concat_stats_keeps_a_shared_gram_and_stacks_stores():
    rng = np.random.default_rng(1)
    X = design_matrix(rng.uniform(1, 5, 20))
    y = rng.normal(size=(9, 20))
    whole = sufficient_stats(y, X)
    parts = concat_stats([sufficient_stats(y[:4], X), sufficient_stats(y[4:], X)])
    assert parts.shared_gram
    np.testing.assert_allclose(parts.ols, whole.ols)
    np.testing.assert_allclose(parts.rss, whole.rss)
    other = concat_stats([sufficient_stats(y[:4], X), sufficient_stats(y[4:], 2 * X)])
    assert other.gram.shape == (9, 2, 2)
