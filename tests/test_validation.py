"""Numbers refused, not propagated: the checkers, and the fronts under adversarial arguments.

The property tests replace one argument of LogL / EStep / MStep / EM / Estimate by
an adversarial value (NaN, inf, 1e300, huge multiples, negatives, wrong shapes and
dtypes) and accept exactly two outcomes: a TypeError/ValueError whose message
names that argument, or a finite result that is correct (checked against the
brute-force likelihood of tests/test_em_math.py) whenever float64 can resolve it
(data and coefficients below 1e8 in magnitude: beyond, every method's rounding
swamps the differences between segments, the brute force's too, and only
finiteness and validity are checked). Never NaN, never a silent wrong answer.
"""

from __future__ import annotations

import warnings
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_em_math import brute_loglik, brute_posteriors

from estimator import EM, EStep, Estimate, LogL, MStep
from estimator.results import ConvergenceWarning
from estimator.validation import (
    check_count,
    check_finite_array,
    check_flat_theta,
    check_positive,
    check_probabilities,
    check_seed,
    check_start_pi,
    check_start_sigma,
    check_start_theta,
    check_weights,
    check_whole_number,
)

RNG = np.random.default_rng(14)
N, T = 12, 8
X = np.column_stack([np.ones(T), np.log(RNG.uniform(1, 3, T))])
THETA = np.array([[9.0, -1.0], [11.0, -2.0]])
PI = np.array([0.4, 0.6])
Y = THETA[RNG.choice(2, N, p=PI)] @ X.T + RNG.normal(size=(N, T))
W = brute_posteriors(THETA.ravel(), PI, Y, X)
OUTCOMES: Counter = Counter()


# ---------------------------------------------------------------------------
# the checkers
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [True, np.True_, 2.5, 3.0, "3", None, [3]])
def test_whole_numbers_refuse_other_types(bad):
    with pytest.raises(TypeError, match="^n_init must be a whole number"):
        check_whole_number(bad, "n_init")


def test_whole_numbers_and_counts():
    assert check_whole_number(np.int64(3), "K") == 3 and type(check_count(2, "K")) is int
    with pytest.raises(ValueError, match="^K must be >= 1, got 0"):
        check_count(0, "K")
    with pytest.raises(ValueError, match="^seed must be >= 0, got -1"):
        check_seed(-1)
    gen = np.random.default_rng(0)
    assert check_seed(gen) is gen and check_seed(None) is None and check_seed(5) == 5


@pytest.mark.parametrize("bad", [0, -1e-3, np.nan, np.inf])
def test_positive_numbers(bad):
    with pytest.raises(ValueError, match="^tol must be finite and > 0"):
        check_positive(bad, "tol")
    with pytest.raises(TypeError, match="^tol must be a number"):
        check_positive("1e-8", "tol")


def test_arrays_shapes_and_dtypes():
    assert check_finite_array([[1, 2]], "a", (None, 2)).dtype == float
    with pytest.raises(ValueError, match=r"^a must have shape \(any, 3\), got \(1, 2\)"):
        check_finite_array([[1, 2]], "a", (None, 3))
    with pytest.raises(
        ValueError, match=r"^a contains NaN or infinite values \(first at index \(1,\)"
    ):
        check_finite_array([1, np.inf], "a")
    for bad, kind in [(["x"], "strings"), ([True], "booleans"), ([1j], "complex"), ([None], "")]:
        with pytest.raises(TypeError, match=f"^a must hold real numbers, got {kind}"):
            check_finite_array(bad, "a")


def test_probabilities_weights_and_starts():
    with pytest.raises(ValueError, match=r"^pi0 must be non-negative and sum to 1"):
        check_probabilities([-0.5, 1.5], "pi0", (2,))
    with pytest.raises(ValueError, match=r"row 1 sums to 2"):
        check_weights([[0.5, 0.5], [1.0, 1.0]], "W", 2)
    assert check_start_theta(THETA, "theta0", 2, 2).shape == (1, 2, 2)
    with pytest.raises(ValueError, match=r"^theta0 must have shape \(any, 3, 2\)"):
        check_start_theta(THETA, "theta0", 3, 2)
    assert check_start_pi(PI, "pi0", 4, 2).shape == (4, 2)
    with pytest.raises(ValueError, match="^sigma0 must be > 0"):
        check_start_sigma([1.0, 0.0], "sigma0", (2,))


def test_a_2d_theta_is_refused_not_flattened():
    for theta in (THETA, THETA.T):  # (K, P) and (P, K): indistinguishable when K = P
        with pytest.raises(ValueError, match=r"theta must be flat.*pass theta\.ravel\(\)"):
            check_flat_theta(theta, "theta", 2, 2)
        with pytest.raises(ValueError, match="theta must be flat"):
            LogL(theta, PI, Y, X)
    assert LogL(THETA.ravel(), PI, Y, X) == pytest.approx(brute_loglik(THETA, PI, Y, X))


# ---------------------------------------------------------------------------
# the fronts under adversarial arguments
# ---------------------------------------------------------------------------

SPECIALS = [np.nan, np.inf, -np.inf, 1e300, -1e300, -1.0, 0.0]


def _arrays(base: np.ndarray) -> st.SearchStrategy:
    """Adversarial versions of an array argument."""
    shape = base.shape
    one_cell = st.tuples(
        st.tuples(*[st.integers(0, n - 1) for n in shape]), st.sampled_from(SPECIALS)
    ).map(lambda t: _put(base, *t))
    scaled = st.sampled_from([1e100, 1e160, 1e200, 1e300, -1e200, 1e-300]).map(lambda s: base * s)
    shapes = st.sampled_from(
        [base.T, base[None], base.ravel(), base[..., :0], np.zeros((0,)), base[:1]]
    )
    dtypes = st.sampled_from(
        [base.astype(str), base > 0, base.astype(complex), base.astype(object), "x", None]
    )
    return st.one_of(one_cell, scaled, shapes, dtypes)


def _put(base: np.ndarray, index: tuple, value: float) -> np.ndarray:
    out = base.astype(float).copy()
    out[index] = value
    return out


SCALARS = st.sampled_from(
    [0, -1, 2.5, 3.0, True, False, "3", None, np.nan, np.inf, 1e300, -5, 10**30]
)


def _call(function, kwargs: dict, bad: str):
    """Call ``function``: its result and whether it warned of a degenerate fit, or
    (None, False) after a refusal naming ``bad``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        warnings.simplefilter("error", RuntimeWarning)  # no overflow slips by unnoticed
        try:
            result = function(**kwargs)
        except (TypeError, ValueError) as err:
            assert bad in str(err), f"{type(err).__name__} does not name {bad}: {err}"
            OUTCOMES[f"{function.__name__}({bad}): {type(err).__name__}"] += 1
            return None, False
    degenerate = any("degenerate" in str(w.message) for w in caught)
    outcome = "result flagged degenerate" if degenerate else "finite result"
    OUTCOMES[f"{function.__name__}({bad}): {outcome}"] += 1
    return result, degenerate


def _floats(value) -> np.ndarray:
    return np.asarray(value, dtype=float)


def _resolvable(*values) -> bool:
    """Whether float64 resolves the answer (the oracle's too): magnitudes below 1e8."""
    return all(np.abs(_floats(v)).max(initial=0) < 1e8 for v in values)


def _finite(*values) -> bool:
    return all(np.all(np.isfinite(np.asarray(v, dtype=float))) for v in values)


FAST = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


@FAST
@given(data=st.data(), bad=st.sampled_from(["theta", "pi", "y", "X"]))
def test_logl_and_estep_refuse_or_are_right(data, bad):
    args = {"theta": THETA.ravel(), "pi": PI, "y": Y, "X": X}
    args[bad] = data.draw(_arrays(np.asarray(args[bad], dtype=float)))
    loglik, _ = _call(LogL, args, bad)
    if loglik is not None:
        assert np.isfinite(loglik)
        if _resolvable(args["theta"], args["y"], args["X"]):
            expected = brute_loglik(*(_floats(args[k]) for k in ("theta", "pi", "y", "X")))
            assert loglik == pytest.approx(expected)
    posteriors, _ = _call(EStep, args, bad)
    if posteriors is not None:
        assert _finite(posteriors)
        assert np.all(posteriors >= 0) and posteriors.sum(axis=1) == pytest.approx(1.0)
        if _resolvable(args["theta"], args["y"], args["X"]):
            expected = brute_posteriors(*(_floats(args[k]) for k in ("theta", "pi", "y", "X")))
            np.testing.assert_allclose(posteriors, expected, atol=1e-10)


@FAST
@given(data=st.data(), bad=st.sampled_from(["y", "X", "W"]))
def test_mstep_refuses_or_is_right(data, bad):
    args = {"y": Y, "X": X, "W": W}
    args[bad] = data.draw(_arrays(np.asarray(args[bad], dtype=float)))
    result, _ = _call(MStep, args, bad)
    if result is not None:
        theta, pi = result
        assert _finite(theta, pi) and pi.sum() == pytest.approx(1.0)
        # the weighted least-squares normal equations hold at theta
        Wm, ym, Xm = (_floats(args[k]) for k in ("W", "y", "X"))
        if not _resolvable(ym, Xm):
            return
        for c, coef in enumerate(theta.reshape(len(pi), -1)):
            grad = Xm.T @ (Wm[:, c, None] * (ym - coef @ Xm.T)).sum(axis=0)
            assert np.abs(grad).max() <= 1e-6 * (
                1 + np.abs(Xm.T @ (Wm[:, c, None] * ym).sum(0)).max()
            )


@FAST
@given(
    data=st.data(),
    bad=st.sampled_from(["K", "y", "X", "tol", "max_iter", "seed", "theta0", "pi0", "n_init"]),
)
def test_em_and_estimate_refuse_or_are_right(data, bad):
    args = {"K": 2, "y": Y, "X": X, "tol": 1e-8, "max_iter": 50, "seed": 3}
    function = Estimate if bad == "n_init" else EM
    if bad in ("theta0", "pi0"):
        args.update(theta0=THETA.ravel(), pi0=PI)
    if bad == "n_init":
        args["n_init"] = 2
    if bad in ("y", "X", "theta0", "pi0"):
        args[bad] = data.draw(_arrays(np.asarray(args[bad], dtype=float)))
    else:
        args[bad] = data.draw(SCALARS)
    result, degenerate = _call(function, args, bad)
    if result is not None:
        theta, pi, loglik = result
        assert _finite(theta, pi, loglik)
        y, Xm = _floats(args["y"]), _floats(args["X"])
        if _resolvable(y, Xm) and not degenerate:  # a degenerate fit says so (warning, flag)
            assert loglik == pytest.approx(brute_loglik(theta, pi, y, Xm), rel=1e-9)
