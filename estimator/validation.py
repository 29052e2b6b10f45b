"""Small checkers for public arguments: refuse bad numbers with a message naming the argument.

Every checker returns the value in the form the caller computes with (an ``int``,
a ``float`` or a float ndarray) or raises:

* ``TypeError`` for a value of the wrong kind (``True`` or ``2.5`` or ``"3"`` as a
  count, a string or object array as data);
* ``ValueError`` for a value of the right kind that is out of range, non-finite
  or of the wrong shape.

Messages start with the argument's name, so the user sees which one is at fault.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

PROBABILITY_ATOL = 1e-8
"""Tolerance of a probability vector's sum (pi, pi0)."""
WEIGHT_ROW_ATOL = 1e-6
"""Tolerance of a row of posterior weights W summing to 1."""


def check_whole_number(
    value: object, name: str, minimum: int | None = 0, maximum: int | None = None
) -> int:
    """A whole number (``int`` or numpy integer; not bool, float or str) in [minimum, maximum].

    Parameters
    ----------
    value : object
    name : str
        The argument's name, for the message.
    minimum : int or None
        Smallest allowed value (None: no bound).
    maximum : int or None
        Largest allowed value (None: no bound).

    Returns
    -------
    int

    Raises
    ------
    TypeError
        ``value`` is a bool, a float (even 3.0), a string or anything else not integral.
    ValueError
        ``value`` outside [minimum, maximum].
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be a whole number (int), got {value!r} ({type(value).__name__})"
        )
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_count(value: object, name: str) -> int:
    """A whole number >= 1 (K, n_components, n_init, max_iter, replications)."""
    return check_whole_number(value, name, minimum=1)


def check_seed(seed: object, name: str = "seed") -> object:
    """A seed: None, a ``SeedSequence``, a ``Generator`` or a whole number >= 0.

    Returns
    -------
    None, SeedSequence, Generator or int
    """
    if seed is None or isinstance(seed, np.random.SeedSequence | np.random.Generator):
        return seed
    return check_whole_number(seed, name, minimum=0)


def check_instance(value: object, name: str, kind: type | tuple[type, ...], hint: str = "") -> Any:
    """``value`` when it is an instance of ``kind``; else a TypeError naming the argument.

    Parameters
    ----------
    value : object
    name : str
    kind : type or tuple of types
    hint : str
        Appended to the message (say how to get the right kind).
    """
    if isinstance(value, kind):
        return value
    kinds = kind if isinstance(kind, tuple) else (kind,)
    expected = " or ".join(k.__name__ for k in kinds)
    raise TypeError(f"{name} must be a {expected}, got {type(value).__name__}{hint}")


def check_k_range(value: object, n_units: int, name: str = "k_range") -> list[int]:
    """Every K of a range: whole numbers from 1 to the number of units, checked before any fit.

    Parameters
    ----------
    value : iterable of int
    n_units : int
        N: a mixture of K segments needs at least K units (stores).
    name : str

    Returns
    -------
    list of int
        The distinct K, ascending.

    Raises
    ------
    TypeError
        Not an iterable of whole numbers (a string, ``2.5``, ``True``).
    ValueError
        Empty, or a K below 1 or above ``n_units``.
    """
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise TypeError(f"{name} must be an iterable of whole numbers, got {value!r}")
    values = list(value)
    if not values:
        raise ValueError(f"{name} is empty: give at least one number of segments K")
    ks = sorted({check_whole_number(k, f"{name} entry", minimum=1) for k in values})
    if ks[-1] > n_units:
        raise ValueError(
            f"{name}: K = {ks[-1]} segments needs at least {ks[-1]} stores, the data have "
            f"{n_units}; use K <= {n_units}"
        )
    return ks


def check_positive(value: object, name: str) -> float:
    """A finite real number > 0 (tol, a standard deviation); bool and str refused.

    Returns
    -------
    float
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    value = float(value)
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be finite and > 0, got {value}")
    return value


def check_non_negative(value: object, name: str) -> float:
    """A finite real number >= 0 (a tolerance that may be 0); bool and str refused."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    value = float(value)
    if not (np.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be finite and >= 0, got {value}")
    return value


def as_float_array(value: object, name: str) -> np.ndarray:
    """``value`` as a float ndarray; strings, bools, complex and objects are refused.

    Raises
    ------
    TypeError
        The array's elements are not real numbers.
    """
    array = np.asarray(value)
    if array.dtype.kind in "iuf":
        return array.astype(float, copy=False)
    if array.dtype.kind == "O":
        try:
            if all(
                isinstance(v, numbers.Real) and not isinstance(v, bool | np.bool_)
                for v in array.ravel()
            ):
                return array.astype(float)
        except (TypeError, ValueError):
            pass
    kind = {"b": "booleans", "c": "complex numbers", "U": "strings", "S": "bytes"}.get(
        array.dtype.kind, f"{array.dtype} values"
    )
    raise TypeError(f"{name} must hold real numbers, got {kind}")


def _shape_text(shape: Sequence[int | str | None]) -> str:
    return "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"


def check_finite_array(
    value: object, name: str, shape: Sequence[int | None] | None = None
) -> np.ndarray:
    """A float array with only finite values, of the given shape.

    Parameters
    ----------
    value : array_like
    name : str
    shape : sequence of int or None, optional
        Expected shape; None entries match any length. None: any shape.

    Returns
    -------
    ndarray of float
    """
    array = as_float_array(value, name)
    if shape is not None and (
        array.ndim != len(shape)
        or any(s is not None and s != a for s, a in zip(shape, array.shape, strict=True))
    ):
        raise ValueError(f"{name} must have shape {_shape_text(shape)}, got {array.shape}")
    if not np.all(np.isfinite(array)):
        where = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
        raise ValueError(f"{name} contains NaN or infinite values (first at index {where})")
    return array


def check_finite_result(values: np.ndarray, name: str, what: str) -> np.ndarray:
    """``values`` computed from the argument ``name`` when all are finite; else a ValueError.

    For data whose scale defeats float64 (a result would be NaN or infinite):
    the message names the argument and says what overflowed (``what``).
    """
    if not np.all(np.isfinite(values)):
        raise ValueError(
            f"{name} is too large in magnitude: {what} in floating point (a result would be "
            f"NaN or infinite); check the scale of {name}"
        )
    return values


def check_probabilities(value: object, name: str, shape: Sequence[int | None]) -> np.ndarray:
    """Probability vectors along the last axis: finite, non-negative, each summing to 1.

    Parameters
    ----------
    value : array_like
    name : str
    shape : sequence of int or None
        Expected shape, e.g. ``(K,)`` for pi or ``(None, K)`` for several starts.

    Returns
    -------
    ndarray of float
    """
    array = check_finite_array(value, name, shape)
    if array.size == 0:
        raise ValueError(f"{name} is empty: it needs one entry per segment")
    if np.any(array < 0) or np.any(np.abs(array.sum(axis=-1) - 1.0) > PROBABILITY_ATOL):
        raise ValueError(f"{name} must be non-negative and sum to 1, got {array.tolist()}")
    return array


def check_weights(value: object, name: str, n_rows: int, rows: str = "rows") -> np.ndarray:
    """Posterior weights (N, K): finite, non-negative, every row summing to 1.

    Parameters
    ----------
    value : array_like
    name : str
    n_rows : int
        N.
    rows : str
        What N counts, for the message (e.g. "the stores of y").

    Returns
    -------
    ndarray of shape (n_rows, K)
    """
    array = as_float_array(value, name)
    if array.ndim != 2 or array.shape[0] != n_rows:
        raise ValueError(
            f"{name} must have shape (N, K) with N = {n_rows} ({rows}), got {array.shape}"
        )
    array = check_finite_array(array, name)
    if array.shape[1] == 0:
        raise ValueError(f"{name} has no columns: it needs one per segment")
    if np.any(array < 0):
        raise ValueError(f"{name} must be non-negative")
    sums = array.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > WEIGHT_ROW_ATOL)
    if bad.size:
        raise ValueError(
            f"every row of {name} must sum to 1 (posterior probabilities); row {bad[0]} sums "
            f"to {sums[bad[0]]:.6g}"
        )
    return array


def check_flat_theta(value: object, name: str, n_components: int, n_coef: int) -> np.ndarray:
    """The assignment's flat theta (alpha_1, beta_1, ..., alpha_K, beta_K): 1-D, K*P finite.

    A 2-D array is refused: whether its rows are segments (K, P) or coefficients
    (P, K) cannot be told when K = P, and flattening the wrong one gives a wrong
    answer silently. Pass ``theta.ravel()`` of a (K, P) array.

    Returns
    -------
    ndarray of shape (K, P)
    """
    array = as_float_array(value, name)
    if array.ndim != 1:
        raise ValueError(
            f"{name} must be flat, (alpha_1, beta_1, ..., alpha_K, beta_K), got shape "
            f"{array.shape}; for a (K, {n_coef}) array with one row per segment pass "
            f"{name}.ravel()"
        )
    if array.size != n_components * n_coef and array.size % n_components == 0:
        per_segment = array.size // n_components
        raise ValueError(
            f"X has {n_coef} columns but {name} has {per_segment} coefficients per segment "
            f"({array.size} entries for the {n_components} segments of pi): X must be "
            f"(T, {per_segment}), [1, log p_t] for the assignment's model"
        )
    if array.size != n_components * n_coef:
        raise ValueError(
            f"{name} has {array.size} entries but pi has {n_components}: {name} must be "
            f"(alpha_1, beta_1, ..., alpha_K, beta_K) with {n_components * n_coef} entries"
        )
    return check_finite_array(array, name).reshape(n_components, n_coef)


def check_start_theta(value: object, name: str, n_components: int, n_coef: int) -> np.ndarray:
    """Starting coefficients: (K, P) for one start or (R, K, P) for R starts; finite.

    Returns
    -------
    ndarray of shape (R, K, P)
    """
    array = as_float_array(value, name)
    if array.ndim == 2:
        array = array[None]
    return check_finite_array(array, name, (None, n_components, n_coef))


def check_start_pi(value: object, name: str, n_starts: int, n_components: int) -> np.ndarray:
    """Starting mixing proportions: (K,) or (R, K), each row non-negative summing to 1.

    Returns
    -------
    ndarray of shape (R, K)
    """
    array = as_float_array(value, name)
    if array.ndim == 1:
        array = np.broadcast_to(array, (n_starts, array.size))
    return check_probabilities(array, name, (n_starts, n_components))


def check_start_sigma(value: object, name: str, shape: Sequence[int | None]) -> np.ndarray:
    """Starting standard deviations: finite and > 0, of the given shape.

    Returns
    -------
    ndarray of float
    """
    array = check_finite_array(value, name, shape)
    if np.any(array <= 0):
        raise ValueError(f"{name} must be > 0, got {array.tolist()}")
    return array
