"""Reading the committed outputs, and the markdown table every block uses."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any


@lru_cache(maxsize=32)
def read_json(path: str) -> Any:
    """The parsed JSON file at ``path`` (cached until :func:`read_json.cache_clear`)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def load(outputs: Path, relative: str) -> Any:
    """The JSON document ``outputs/relative`` (cached; FileNotFoundError names it)."""
    path = Path(outputs) / relative
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found (run the command that writes it)")
    return read_json(str(path))


def model_of(results: dict[str, Any], k: int) -> dict[str, Any]:
    """The entry of K in a results.json document."""
    return next(m for m in results["models"] if m["K"] == k)


def md_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], align: str = "") -> str:
    """A github markdown table; ``align`` one of l/r per column (default left)."""
    align = align or "l" * len(headers)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(rule) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
