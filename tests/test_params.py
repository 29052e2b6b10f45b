"""The shared parameter conventions (estimator.params) and output helpers (provenance)."""

import json
import math

import numpy as np
import pytest

from estimator import (
    canonical_order,
    check_theta_pi,
    default_coef_names,
    jsonable,
    match_segments,
    n_free_params,
)
from simstudy.harness.files import software_versions


def test_canonical_order_sorts_by_alpha_then_beta():
    theta = np.array([[2.0, -1.0], [1.0, -3.0], [1.0, -5.0]])
    assert canonical_order(theta).tolist() == [2, 1, 0]


def test_free_parameters_are_3k_minus_1_for_the_assignment():
    assert [n_free_params(k) for k in (1, 2, 3, 4)] == [2, 5, 8, 11]
    assert n_free_params(3, 3, "common") == 9 + 2 + 1
    assert n_free_params(3, 2, "segment") == 6 + 2 + 3
    with pytest.raises(ValueError, match="sigma_mode"):
        n_free_params(3, 2, "per-store")


def test_default_names():
    assert default_coef_names(2) == ("alpha", "beta")
    assert default_coef_names(3) == ("x0", "x1", "x2")


def test_theta_pi_in_either_layout_and_refused_with_the_argument_named():
    flat = np.array([1.0, -1.0, 2.0, -2.0])
    theta, pi = check_theta_pi(flat, [0.25, 0.75], n_coef=2)
    assert theta.tolist() == [[1.0, -1.0], [2.0, -2.0]] and pi.tolist() == [0.25, 0.75]
    theta2, _ = check_theta_pi(theta, pi)
    np.testing.assert_array_equal(theta2, theta)
    check_theta_pi(theta, [0.25, 0.75 + 5e-9])  # rounding of a stored pi is accepted
    for bad_theta, bad_pi, message in [
        (flat, [0.5, 0.6], "pi must be non-negative and sum to 1"),
        (flat, [-0.5, 1.5], "pi must be non-negative"),
        (flat[:3], [0.5, 0.5], "theta has 3 entries"),
        (np.zeros((3, 2)), [0.5, 0.5], "one row per segment"),
        ([1.0, np.nan, 2.0, 3.0], [0.5, 0.5], "finite"),
        (flat, [], "pi is empty"),
    ]:
        with pytest.raises(ValueError, match=message):
            check_theta_pi(bad_theta, bad_pi, n_coef=2)
    with pytest.raises(ValueError, match="n_coef"):
        check_theta_pi(flat, [0.5, 0.5])


def test_matching_finds_the_permutation_under_the_metric():
    truth = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    perm = np.array([2, 0, 1])
    estimate = truth[perm] + 0.1
    assert match_segments(estimate, truth).tolist() == np.argsort(perm).tolist()
    # a metric that ignores the second coefficient cannot tell segments 0 and 2 apart by it
    crossed = np.array([[0.0, 10.0], [10.0, 0.0], [0.4, 0.0]])
    assert match_segments(crossed, truth).tolist() == [2, 1, 0]
    assert match_segments(crossed, truth, np.diag([1.0, 0.0]))[1] == 1


def test_jsonable_is_strict_json():
    value = {
        1: np.float64(1.5),
        "a": [np.int64(2), (np.bool_(True), math.nan)],
        "b": np.array([[1.0, np.inf]]),
    }
    out = jsonable(value)
    assert out == {"1": 1.5, "a": [2, [True, None]], "b": [[1.0, None]]}
    json.dumps(out, allow_nan=False)


def test_software_versions():
    versions = software_versions()
    assert set(versions) == {"python", "numpy", "scipy"}
    assert versions["numpy"] == np.__version__


def test_the_engine_uses_the_shared_conventions():
    """Until the engine imports them from estimator.params, its copies must agree."""
    from estimator import engine, params

    for name in ("SIGMA_MODES", "MIN_SEGMENT_WEIGHT"):  # gone once imported from params
        assert getattr(engine, name, getattr(params, name)) == getattr(params, name), name
