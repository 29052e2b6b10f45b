"""One BLAS thread inside the fit loop.

The loop's products are thin, (R K, n) @ (n, P) and their like: a second
OpenBLAS thread costs more in hand-off than it gains (measured at N = 300,000:
an (N, 2) @ (2, 2) product 7.0 ms of CPU with two threads, 0.97 ms with one;
docs/benchmark.md), and parallel studies already use every core with their own
workers. :func:`one_blas_thread` limits every BLAS library loaded (numpy's and
scipy's OpenBLAS, MKL) to one thread while a fit runs, through threadpoolctl,
and restores the previous limits afterwards. Without threadpoolctl (a declared
dependency, but an environment may predate it) the limit is skipped: the numbers are
the same, only the thin products run slower.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

_CONTROLLER: Any = None
Function = TypeVar("Function", bound=Callable[..., Any])


@contextmanager
def blas_single_thread() -> Iterator[None]:
    """A context in which every loaded BLAS runs on one thread (as it was without
    threadpoolctl)."""
    global _CONTROLLER
    if _CONTROLLER is None:  # built once: it lists the loaded libraries
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _CONTROLLER = False
        else:
            _CONTROLLER = ThreadpoolController()
    if _CONTROLLER is False:
        yield
        return
    with _CONTROLLER.limit(limits=1, user_api="blas"):
        yield


def one_blas_thread(function: Function) -> Function:
    """Decorate ``function`` to run with one BLAS thread (see :func:`blas_single_thread`)."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with blas_single_thread():
            return function(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
