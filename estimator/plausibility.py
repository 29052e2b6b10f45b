"""Data that parse but look wrong: one warning line naming the column, never a refusal.

The readers (:mod:`estimator.csvio`) run these checks on the raw values, before
the logs. Each rule is cheap (a few passes over the cells, medians over at most
:data:`MEDIAN_CELLS` evenly spaced cells) and deliberately narrow; the data are
fitted either way.

* **A total, not a store**: a store column (or long-format store id) named
  like a total (``Total``, ``Totals``, ``Sum``, ``Subtotal``, ``Grand total``,
  ``All``, ``All stores``, ``Overall``, ``Aggregate``, in any case, words
  separated by spaces, ``_`` or ``-``), or a wide store column equal (to 1e-6,
  relative) to the sum of the other store columns in every week they are all
  observed.
* **Prices and sales swapped**: the median price is above the median sales.
  Prices of a few units of currency against weekly unit sales in the hundreds
  or thousands are the panels this model is for; a product dearer than its
  weekly unit sales (cars) triggers it too, which is why it is a warning.
* **Sales already logged**: every sales value is at most :data:`LOG_MAX`, the
  largest is less than :data:`LOG_BAND` times the smallest, and some are not
  whole numbers. The logs of sales from about 150 (e^5) up to 7e10 (e^25) lie
  in such a band, which raw unit sales almost never do: below 25 they would be
  counts, whole numbers. Logged twice, the sales would still be fitted, to a
  model of almost no spread.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence

import numpy as np

TOTAL_WORDS = frozenset({"total", "totals", "sum", "subtotal", "overall", "aggregate"})
"""A store name holding any of these words (or starting with "all") looks like a total."""
_TOTAL_STEMS = ("total", "sum", "overall", "aggregate", "all")
"""Every name that looks like a total contains one of these."""
SUM_RTOL = 1e-6
"""A column equal to the sum of the others within this relative tolerance is a total."""
MEDIAN_CELLS = 100_000
"""Medians are taken over at most this many evenly spaced cells (enough to compare two scales)."""
LOG_MAX = 25.0
"""Sales no larger than this (e^25 = 7e10) may be logs."""
LOG_BAND = 5.0
"""Sales whose largest value is less than this many times the smallest lie in a log's band."""


class PlausibilityWarning(UserWarning):
    """The data parse but look wrong (a total column, swapped or already-logged columns)."""


def looks_like_total(name: object) -> bool:
    """Whether a store name reads like a total of stores (module docstring)."""
    words = re.split(r"[\s_\-]+", str(name).strip().lower())
    return bool(TOTAL_WORDS.intersection(words)) or words[0] == "all"


def total_names(names: Sequence[object]) -> list[int]:
    """Positions of the names that read like a total (:func:`looks_like_total`).

    One substring search over all names first: a million store names cost a
    tenth of a second, not the second that splitting every name into words takes.
    """
    joined = "\n".join(map(str, names)).lower()
    if not any(stem in joined for stem in _TOTAL_STEMS):
        return []
    return [i for i, name in enumerate(names) if looks_like_total(name)]


def wide_messages(
    store_names: Sequence[object],
    sales: np.ndarray,
    prices: np.ndarray,
    price_name: object,
    source: str,
) -> list[str]:
    """Warnings for wide data: totals, swapped columns, logged sales.

    Parameters
    ----------
    store_names : sequence of column names, length N
    sales : ndarray of shape (T, N)
        Raw sales (NaN for cells not observed); only read.
    prices : ndarray of shape (T,)
    price_name : the price column's name
    source : str
        The file or ``"<DataFrame>"``, for the message.

    Returns
    -------
    list of str
        One line per finding.
    """
    messages = [
        f"{source}: column {store_names[j]!r} looks like a total, not a store ({why}); it "
        "is fitted as a store: remove it if it is not one"
        for j, why in _totals(store_names, sales)
    ]
    first, last = store_names[0], store_names[-1]
    sales_name = f"sales columns {first!r}..{last!r}" if len(store_names) > 1 else repr(first)
    return messages + _scale_messages(prices, sales, repr(price_name), sales_name, source)


def long_messages(
    store_ids: Sequence[object], sales: np.ndarray, prices: np.ndarray, source: str
) -> list[str]:
    """Warnings for long data: stores named like totals, swapped or logged columns.

    Parameters
    ----------
    store_ids : sequence of store ids
    sales, prices : ndarray of shape (M,)
        Raw values of the ``sales`` and ``price`` columns.
    source : str
    """
    messages = [
        f"{source}: store {name!r} looks like a total, not a store (its name); it is fitted "
        "as a store: remove its rows if it is not one"
        for name in (store_ids[i] for i in total_names(store_ids))
    ]
    return messages + _scale_messages(prices, sales, "'price'", "column 'sales'", source)


def warn(messages: Sequence[str], stacklevel: int = 3) -> None:
    """Issue every message as a :class:`PlausibilityWarning` (one line each)."""
    for message in messages:
        warnings.warn(message, PlausibilityWarning, stacklevel=stacklevel)


def _totals(names: Sequence[object], sales: np.ndarray) -> list[tuple[int, str]]:
    """(column, reason) of every store column that looks like a total; sales (T, N)."""
    found = [(j, "its name") for j in total_names(names)]
    total = sales.sum(axis=1)  # NaN in a week with a store not observed
    complete = np.flatnonzero(np.isfinite(total))
    if sales.shape[1] < 3 or complete.size == 0:
        return found
    # column j is the sum of the others when 2 s_j = total: test one week, then every week
    week = complete[0]
    maybe = np.flatnonzero(np.abs(2 * sales[week] - total[week]) <= SUM_RTOL * total[week])
    named = {j for j, _ in found}
    for j in maybe:
        twice, sums = 2 * sales[complete, j], total[complete]
        if j not in named and np.all(np.abs(twice - sums) <= SUM_RTOL * sums):
            found.append((int(j), "it equals the sum of the other store columns in every week"))
    return sorted(found)


def _scale_messages(
    prices: np.ndarray, sales: np.ndarray, price_name: str, sales_name: str, source: str
) -> list[str]:
    """The swapped and already-logged rules on raw prices (T,) and sales (NaN ignored)."""
    messages = []
    median_price, median_sales = _median(prices), _median(sales)
    if median_price > median_sales:
        messages.append(
            f"{source}: column {price_name} (median {median_price:.4g}) is larger than the "
            f"sales (median {median_sales:.4g}): are prices and sales swapped?"
        )
    # fmax/fmin skip NaN without nanmax's warning on a panel with nothing observed
    high = float(np.fmax.reduce(sales, axis=None))
    low = float(np.fmin.reduce(sales, axis=None)) if high <= LOG_MAX else 0.0
    if high <= LOG_MAX and high < LOG_BAND * low and _fractional(sales):
        messages.append(
            f"{source}: {sales_name} look like logs already (every value between {low:.4g} "
            f"and {high:.4g}, not whole numbers); pass the sales themselves, the log is "
            "taken here"
        )
    return messages


def _fractional(values: np.ndarray) -> bool:
    """Whether some (non-NaN) value is not a whole number."""
    return bool(np.fmax.reduce(np.abs(values - np.round(values)), axis=None) > 0)


def _median(values: np.ndarray) -> float:
    """Median of the finite values among at most about MEDIAN_CELLS evenly spaced cells."""
    if values.ndim == 2:  # a strided view: no copy of the whole array
        values = values[:, :: max(1, values.size // MEDIAN_CELLS)]
    else:
        values = values[:: max(1, values.size // MEDIAN_CELLS)]
    values = values[np.isfinite(values)]
    return float(np.median(values)) if values.size else float("nan")
