"""What simstudy writes: files whole or not at all, JSON units, JSON-safe values, versions.

One file is written to a fsynced temporary file beside it, then renamed over the target,
with the mode ``open(path, "w")`` would give. Several files as a unit
(:func:`write_json_unit`): all are staged first, then renamed, the JSON document last,
which holds the SHA-256 of every companion; :func:`read_json_unit` refuses a mix left by
a kill between the renames (:class:`UnitMismatchError`). (The companions share folders
with other outputs, so a swap of a temporary folder cannot replace them as one.)
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np
import scipy

UNIT_KEY = "files"
"""Key of a unit's JSON document mapping companion paths (relative, POSIX) to SHA-256."""


_TEXT = {"mode": "w", "encoding": "utf-8", "newline": ""}


class UnitMismatchError(ValueError):
    """A companion file of a JSON document is missing or not the one written with it."""


def write_atomic(path: str | Path, write: Callable[[IO[str]], Any]) -> Path:
    """Call ``write(handle)`` on a temporary text file, then rename it to ``path`` (a crash
    or an exception inside ``write`` leaves ``path`` untouched; mode: :func:`file_mode`)."""
    return _replace_with(path, write, _TEXT)


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
    """Permission bits for a file written to ``path``: those of the file it replaces, else
    0o666 less the umask, as ``open()`` gives (``mkstemp`` gives 0o600 whatever the umask)."""
    try:
        return os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        return 0o666 & ~current_umask()


def _stage(path: Path, write: Callable[[IO[Any]], Any], how: dict[str, Any]) -> str:
    """``write(handle)`` on a temporary file beside ``path`` (fsynced, ``path``'s mode); its
    name. An OSError names ``path`` (that of a full disk names no file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode, tmp = file_mode(path), ""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.fchmod(fd, mode)
        with os.fdopen(fd, **how) as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError) and err.filename in (None, tmp):
            raise OSError(err.errno, err.strerror, str(path)) from err
        raise
    return tmp


def _replace_with(path: str | Path, write: Callable[[IO[Any]], Any], how: dict[str, Any]) -> Path:
    path = Path(path)
    tmp = _stage(path, write, how)
    try:
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)  # left only when the rename failed
    return path


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    return write_atomic(path, lambda handle: handle.write(text))


def json_text(obj: Any) -> str:
    """``obj`` as indented JSON (NaN and infinities refused), with a final newline."""
    return json.dumps(obj, indent=2, allow_nan=False) + "\n"


def write_json_atomic(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON (NaN and infinities refused) to ``path`` atomically."""
    return write_text_atomic(path, json_text(obj))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_json_unit(
    path: str | Path, document: dict[str, Any], companions: Mapping[str, str | bytes]
) -> Path:
    """Write the JSON ``document`` at ``path`` and its ``companions`` as one unit (module
    docstring); return ``path``. ``companions`` maps paths relative to ``path``'s folder
    (POSIX, e.g. ``"real/store_segments.csv"``) to their content (text is UTF-8 encoded)."""
    path = Path(path)
    if UNIT_KEY in document:
        raise ValueError(f"document already has a {UNIT_KEY!r} key")
    data = {
        name: content.encode("utf-8") if isinstance(content, str) else content
        for name, content in companions.items()
    }
    text = json_text({**document, UNIT_KEY: {name: _sha256(d) for name, d in data.items()}})
    staged: list[tuple[str, Path]] = []
    try:
        for name, content in data.items():
            write = lambda handle, content=content: handle.write(content)  # noqa: E731
            staged.append((_stage(path.parent / name, write, {"mode": "wb"}), path.parent / name))
        staged.append((_stage(path, lambda handle: handle.write(text), _TEXT), path))
        for tmp, target in staged:
            os.replace(tmp, target)
    finally:
        for tmp, _ in staged:
            Path(tmp).unlink(missing_ok=True)  # left only by a failure
    return path


def read_json(path: str | Path) -> Any:
    """The JSON document at ``path``: ValueError naming the file and line when it is not
    UTF-8 JSON (cut short, say), OSError when it cannot be read."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: line {err.lineno}: not valid JSON: {err.msg}") from err
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text: {err.reason}") from err


def read_json_unit(path: str | Path) -> dict[str, Any]:
    """The document :func:`write_json_unit` wrote, its companions checked
    (:class:`UnitMismatchError`; ValueError naming the file when it is not valid JSON)."""
    path = Path(path)
    document = read_json(path)
    for name, digest in document.get(UNIT_KEY, {}).items():
        companion = path.parent / name
        if not companion.is_file():
            raise UnitMismatchError(f"{companion}: missing; it was written with {path}")
        if _sha256(companion.read_bytes()) != digest:
            raise UnitMismatchError(
                f"{companion} is not the file written with {path} (another run's, or the run "
                "was interrupted between its files); rerun to write them together"
            )
    return document


def cell_text(value: Any) -> Any:
    """A value as written to CSV: text a spreadsheet would run as a formula gets a leading
    ``'`` (OWASP's advice; text starting with ``'`` too, so :func:`cell_value` is exact)."""
    formula = isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r", "'"))
    return f"'{value}" if formula else value


def cell_value(value: Any) -> Any:
    """A value read back from CSV: the ``'`` :func:`cell_text` added removed."""
    return value[1:] if isinstance(value, str) and value.startswith("'") else value


def jsonable(obj: Any) -> Any:
    """A JSON-ready copy: numpy values as Python ones, NaN and infinities as None, recursively.

    (The estimator keeps its own for its ``to_dict`` forms: the harness imports nothing of it.)
    """
    if isinstance(obj, np.ndarray):
        obj = obj.tolist()
    elif isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    return None if isinstance(obj, float) and not math.isfinite(obj) else obj


def software_versions() -> dict[str, str]:
    """``{"python": ..., "numpy": ..., "scipy": ...}``: the versions that produced a result."""
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
    }


def check_output_dir(path: str | Path) -> Path:
    """A folder that exists or can be created, and can be written into; ValueError if not
    (probed with a temporary file in the nearest existing ancestor: nothing is created)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{path} is a file; expected a folder")
    base = path
    while not base.exists():
        base = base.parent
    if not base.is_dir():
        raise ValueError(f"{path} is under {base}, which is a file")
    try:
        with tempfile.TemporaryFile(dir=base):
            pass
    except OSError as err:
        raise ValueError(f"cannot write into {base} ({err.strerror or err})") from None
    return path
