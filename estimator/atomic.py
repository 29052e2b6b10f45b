"""Write files whole or not at all: a temporary file in the same folder, then a rename."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


def write_atomic(path: str | Path, write: Callable[[IO[str]], Any]) -> Path:
    """Call ``write(handle)`` on a temporary text file, then rename it to ``path``.

    A crash or an exception inside ``write`` leaves any existing ``path`` untouched.
    """
    return _replace_with(path, write, {"mode": "w", "encoding": "utf-8", "newline": ""})


def write_bytes_atomic(path: str | Path, write: Callable[[IO[bytes]], Any]) -> Path:
    """Binary :func:`write_atomic` (figures): ``write(handle)`` on a temporary file, then rename."""
    return _replace_with(path, write, {"mode": "wb"})


def _replace_with(path: str | Path, write: Callable[[IO[Any]], Any], how: dict[str, Any]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, **how) as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    return write_atomic(path, lambda handle: handle.write(text))


def write_json_atomic(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON (NaN and infinities refused) to ``path`` atomically."""
    text = json.dumps(obj, indent=2, allow_nan=False) + "\n"
    return write_text_atomic(path, text)
