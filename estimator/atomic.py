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
    The file gets the mode of the one it replaces, or that of a new file under the
    user's umask (:func:`file_mode`).
    """
    return _replace_with(path, write, {"mode": "w", "encoding": "utf-8", "newline": ""})


def write_bytes_atomic(path: str | Path, write: Callable[[IO[bytes]], Any]) -> Path:
    """Binary :func:`write_atomic` (figures): ``write(handle)`` on a temporary file, then rename."""
    return _replace_with(path, write, {"mode": "wb"})


def current_umask() -> int:
    """The process's file-mode creation mask (read without changing it where the OS allows)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)  # no /proc: the only portable way to read it is to set it
    os.umask(mask)
    return mask


def file_mode(path: str | Path) -> int:
    """Permission bits for a file written to ``path``.

    Those of the file it replaces, else what ``open()`` would give a new file:
    0o666 less the umask. (``mkstemp`` creates its file 0o600 whatever the umask.)
    """
    try:
        return os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        return 0o666 & ~current_umask()


def _replace_with(path: str | Path, write: Callable[[IO[Any]], Any], how: dict[str, Any]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = file_mode(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
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
