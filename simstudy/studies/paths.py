"""Paths and seeds shared by the studies, the write-up and the entry points.

Paths are relative to the repository root, the working directory of every
``python -m experiments.NAME`` command.
"""

from __future__ import annotations

from pathlib import Path

REAL_DATA = Path("data/609948.csv")
"""The real panel: 52 weekly rows, ``Price`` and ``Sales1``..``Sales300``."""
CONFIGS = Path("experiments/configs")
"""Study configurations."""
REAL_LIKE_CONFIG = CONFIGS / "real_like.json"
"""The real_like study: the truth the baselines, the benchmark and the calibration reuse."""
OUTPUTS = Path("outputs")
"""Where the experiments write (results.json and study summaries are committed)."""

REAL_FIT_SEED = 20261121
"""Root seed of the real-data fit's starts (and of the sigma calibration)."""
BENCHMARK_SEED = 20261205
"""Root seed of the benchmark's generated data and starts."""
