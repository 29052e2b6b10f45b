"""The library's logger: every module logs under ``salesmix`` through the standard library.

The library only emits records (DEBUG: each fit and file read; INFO: each K of a
range, each bootstrap test and bootstrap run); where they go is the
application's choice (``logging.basicConfig``, the commands' ``-v``). Warnings
a user must act on stay :mod:`warnings` (``ConvergenceWarning``,
``PlausibilityWarning``, ...), not log records.
"""

from __future__ import annotations

import logging

LOGGER_NAME = "salesmix"
"""The one named logger; module ``estimator.fit`` logs to ``salesmix.estimator.fit``."""

logging.getLogger(LOGGER_NAME).addHandler(logging.NullHandler())


def get_logger(module: str) -> logging.Logger:
    """The child of the ``salesmix`` logger for ``module`` (pass ``__name__``)."""
    return logging.getLogger(f"{LOGGER_NAME}.{module}")
