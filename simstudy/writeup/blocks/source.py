"""The registry of blocks, and reading the committed outputs."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from ...harness import files

BLOCKS: dict[str, Callable[[Path], str]] = {}
"""Every block a document may hold, by name (a block function is registered by :func:`block`)."""


def block(function: Callable[[Path], str]) -> Callable[[Path], str]:
    """Register ``function`` (outputs folder -> markdown) as the block of its name."""
    BLOCKS[function.__name__] = function
    return function


@lru_cache(maxsize=32)
def read_json(path: str) -> Any:
    """The parsed JSON file at ``path`` (cached until :func:`read_json.cache_clear`)."""
    return files.read_json(path)


def load(outputs: Path, relative: str) -> Any:
    """The JSON document ``outputs/relative`` (cached; FileNotFoundError names it)."""
    path = Path(outputs) / relative
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found (run the command that writes it)")
    return read_json(str(path))
