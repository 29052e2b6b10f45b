"""Every number, interval and factor level as the write-up prints it: one formatter each.

Missing values (None, JSON's NaN, or NaN) print as ``-`` everywhere.
"""

from __future__ import annotations

import math
from typing import Any

CRITERION_LABELS: dict[str, str] = {
    "bic": "BIC (n = NT)",
    "bic_n": "BIC (n = N)",
    "aic": "AIC",
    "aic3": "AIC3",
    "caic": "CAIC",
    "icl": "ICL",
    "sabic": "SABIC (n = NT)",
    "sabic_n": "SABIC (n = N)",
    "blrt": "BLRT",
}
"""How every information criterion (estimator.CRITERIA) and the bootstrap test are named."""


def missing(value: Any) -> bool:
    """Whether a summary number is absent (None) or not finite."""
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def num(value: float | None, digits: int = 3) -> str:
    """A number with ``digits`` decimals, ``-`` when missing."""
    return "-" if missing(value) else f"{value:.{digits}f}"


def sig(value: float | int | None, digits: int = 4) -> str:
    """A number with ``digits`` significant digits (integers as they are), ``-`` when missing."""
    if missing(value):
        return "-"
    if isinstance(value, bool) or isinstance(value, int):
        return str(value)
    return f"{value:.{digits}g}"


def sci(value: float | None, digits: int = 1) -> str:
    """A number in scientific notation with ``digits`` decimals, ``-`` when missing."""
    return "-" if missing(value) else f"{value:.{digits}e}"


def pct(value: float | None, digits: int = 1) -> str:
    """A proportion as a percentage, ``0.8357`` -> ``83.6%``."""
    return "-" if missing(value) else f"{100 * value:.{digits}f}%"


def interval(low: float | None, high: float | None, digits: int = 3) -> str:
    """``[low, high]`` with ``digits`` decimals."""
    return f"[{num(low, digits)}, {num(high, digits)}]"


def percent_interval(low: float, high: float) -> str:
    """An interval of proportions in percent, ``[98.2, 99.8]``."""
    return interval(100 * low, 100 * high, 1)


def with_mcse(value: float | None, mcse: float | None, digits: int = 4) -> str:
    """An estimate and its Monte Carlo standard error, ``0.0123 (0.0011)``."""
    if missing(value):
        return "-"
    return f"{value:.{digits}g} ({sig(mcse, 2)})"


def rate(
    summary: dict[str, Any], key: str = "hit_rate", digits: int = 3, bounds: str = "ci"
) -> str:
    """``0.994 [0.987, 0.997]``: the rate ``key`` and its Wilson interval ``ci_low``,
    ``ci_high`` (``bounds="ci"``) or ``{key}_low``, ``{key}_high`` (``bounds="key"``)."""
    if missing(summary.get(key)):
        return "- [-, -]"
    low, high = ("ci_low", "ci_high") if bounds == "ci" else (f"{key}_low", f"{key}_high")
    return f"{num(summary[key], digits)} {interval(summary[low], summary[high], digits)}"


def level(value: Any) -> str:
    """A factor level as short text (``1``, ``1.5``, ``real``, ``0.7-1-1.4``), as in file names."""
    if isinstance(value, dict | list | tuple):  # a price process, or one level per segment
        return "-".join(map(level, value.values() if isinstance(value, dict) else value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def sort_key(value: Any) -> tuple[int, Any, str]:
    """Numbers before anything else, in numeric order; other levels by their text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, value, "")
    return (1, 0, level(value))


def sentence(text: str) -> str:
    """``text`` with its first letter capitalised (the rest untouched)."""
    return text[:1].upper() + text[1:]
