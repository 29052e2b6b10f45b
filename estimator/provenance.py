"""JSON-safe values for the estimator's ``to_dict`` forms (exported: :func:`estimator.jsonable`)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def jsonable(obj: Any) -> Any:
    """A JSON-ready copy: numpy scalars and arrays as Python values, NaN and infinities as None.

    Dicts (keys made strings), lists, tuples and arrays are converted recursively;
    anything else is returned as is.
    """
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
