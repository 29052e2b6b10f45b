"""Monte Carlo metrics on hand-made inputs whose answers are known."""

import numpy as np
import pandas as pd
import pytest

from estimator import match_segments
from estimator.selection import CRITERIA
from simstudy.harness.measures import (
    adjusted_rand_index,
    misclassification_rate,
    parameter_recovery,
    selection_rates,
    wilson_interval,
)
from simstudy.harness.simulation import condition_summary
from simstudy.studies.config import Condition
from simstudy.studies.generate import Truth
from simstudy.studies.mixture import summarise


@pytest.mark.parametrize("seed", range(20))
def test_matching_undoes_a_permutation(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 6))
    truth = rng.normal(size=(k, 2)) * np.array([1.0, 0.5])
    perm = rng.permutation(k)
    estimates = truth[perm] + rng.normal(scale=0.01, size=(k, 2))
    found = match_segments(estimates, truth)
    np.testing.assert_allclose(estimates[found], truth, atol=0.05)
    # perm[j] is the true segment of estimate j; found is its inverse
    np.testing.assert_array_equal(perm[found], np.arange(k))


def test_matching_uses_the_metric():
    truth = np.array([[0.0, 0.0], [1.0, 1.0]])
    estimates = np.array([[0.0, 0.9], [0.9, 0.0]])
    # Euclidean: a tie broken arbitrarily; a metric weighing the first coordinate decides
    weigh_first = np.diag([100.0, 1.0])
    np.testing.assert_array_equal(match_segments(estimates, truth, weigh_first), [0, 1])
    weigh_second = np.diag([1.0, 100.0])
    np.testing.assert_array_equal(match_segments(estimates, truth, weigh_second), [1, 0])
    with pytest.raises(ValueError, match="both be"):
        match_segments(np.zeros((3, 2)), truth)


def test_adjusted_rand_index_known_values():
    assert adjusted_rand_index([0, 0, 1, 1], [0, 0, 1, 1]) == pytest.approx(1.0)
    assert adjusted_rand_index([0, 0, 1, 1], [5, 5, 2, 2]) == pytest.approx(1.0)
    assert adjusted_rand_index([0, 0, 1, 1], [0, 0, 1, 2]) == pytest.approx(4 / 7)
    assert adjusted_rand_index([0, 0, 0, 0], [0, 1, 2, 3]) == pytest.approx(0.0)
    assert adjusted_rand_index([0, 0, 0], [1, 1, 1]) == 1.0


def test_misclassification_after_matching():
    true = np.array([0, 0, 1, 1, 2])
    labels = np.array([2, 2, 0, 1, 1])  # estimated 2 is true 0, 0 is true 1, 1 is true 2
    perm = np.array([2, 0, 1])
    assert misclassification_rate(true, labels, perm) == pytest.approx(1 / 5)


def test_wilson_interval_arithmetic():
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4901625, abs=1e-6)
    assert high == pytest.approx(0.9433178, abs=1e-6)
    z2 = 1.959963984540054**2
    assert wilson_interval(50, 50) == pytest.approx((50 / (50 + z2), 1.0))
    assert wilson_interval(0, 50) == pytest.approx((0.0, z2 / (50 + z2)))
    assert all(np.isnan(wilson_interval(0, 0)))
    assert wilson_interval(30, 100, level=0.99)[0] < wilson_interval(30, 100)[0]


def test_selection_rates_hand_made():
    out = selection_rates([3, 3, 2, 4, 3, 5, 3, 1], true_k=3, k_range=range(1, 6))
    assert out["n"] == 8 and out["hits"] == 4 and out["hit_rate"] == 0.5
    assert out["too_few"] == 0.25 and out["too_many"] == 0.25
    assert out["distribution"] == {"1": 1, "2": 1, "3": 4, "4": 1, "5": 1}
    assert (out["ci_low"], out["ci_high"]) == pytest.approx(wilson_interval(4, 8))


def test_parameter_recovery_hand_made():
    out = parameter_recovery(np.array([1.0, 2.0, 3.0, np.nan]), truth=1.5)
    assert out["n"] == 3 and out["mean"] == 2.0 and out["bias"] == 0.5
    assert out["sd"] == pytest.approx(1.0)
    assert out["mcse_bias"] == pytest.approx(1 / np.sqrt(3))
    assert out["rmse"] == pytest.approx(np.sqrt((0.25 + 0.25 + 2.25) / 3))


def test_condition_summary_from_hand_made_records():
    truth = Truth(np.array([[1.0, -1.0], [2.0, -2.0]]), np.array([0.4, 0.6]))
    condition = Condition(
        id=0,
        factors={"N": 10, "T": 52, "K": 2, "separation": 1.0, "sigma": 1.0, "prices": "real"},
        truth=truth,
        k_range=(1, 2, 3),
    )
    chosen = [2, 2, 3, 1, 2]
    rows = []
    for r, k in enumerate(chosen):
        row = {"condition_id": 0, "replication": r, "seed": r, "status": "ok", "error": ""}
        row.update({f"chosen_{c}": k for c in CRITERIA})
        row.update(
            est_alpha_1=1.0 + 0.1 * r,
            est_beta_1=-1.0,
            est_pi_1=0.4,
            est_alpha_2=2.0,
            est_beta_2=-2.0,
            est_pi_2=0.6,
        )
        fit = {"ari": 0.9, "misclassification": 0.05, "n_iter": 10, "restarts_at_best": 3}
        row.update(fit, converged=True, degenerate=False, seconds=0.5)
        row.update({f"converged_K{k}": True for k in (1, 2, 3)})
        rows.append(row)
    rows.append(
        {
            "condition_id": 0,
            "replication": 5,
            "seed": 5,
            "status": "error",
            "error": "ValueError: boom",
            "seconds": 0.1,
        }
    )
    out = condition_summary(condition, pd.DataFrame(rows), summarise)
    assert out["n_replications"] == 6 and out["n_ok"] == 5 and out["n_errors"] == 1
    assert out["errors"] == {"ValueError: boom": 1}
    bic = out["selection"]["bic"]
    assert bic["hits"] == 3 and bic["n"] == 5 and bic["too_few"] == 0.2 and bic["too_many"] == 0.2
    alpha_1 = next(r for r in out["recovery"] if r["parameter"] == "alpha_1")
    assert alpha_1["bias"] == pytest.approx(0.2)
    assert [r["parameter"] for r in out["recovery"]] == [
        "alpha_1",
        "beta_1",
        "pi_1",
        "alpha_2",
        "beta_2",
        "pi_2",
    ]
