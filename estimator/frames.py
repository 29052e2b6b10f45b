"""Telling a pandas DataFrame apart without importing pandas (the sales path needs numpy only)."""

from __future__ import annotations

import sys
from typing import Any


def is_data_frame(obj: Any) -> bool:
    """Whether ``obj`` is a pandas DataFrame.

    Without importing pandas: an object can be a DataFrame only once pandas is imported.
    """
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(obj, pandas.DataFrame)
