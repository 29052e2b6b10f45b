"""Shared utilities for what salesmix writes: JSON-safe values and the software stamp.

Not part of the model; every results.json, study summary and benchmark document
uses these so that they sanitise numbers and record versions the same way.
"""

from __future__ import annotations

import math
import platform
from typing import Any

import numpy as np
import scipy


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


def software_versions() -> dict[str, str]:
    """``{"python": ..., "numpy": ..., "scipy": ...}``: the versions that produced a result."""
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
    }
