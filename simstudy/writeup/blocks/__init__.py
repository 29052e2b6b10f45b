"""Every number the README and docs/ quote, rendered from the committed outputs.

A block sits between ``<!-- gen:NAME -->`` and ``<!-- /gen:NAME -->`` and holds
``BLOCKS[NAME](outputs)`` (one line saying so when its source is missing);
:func:`update_documents` rewrites them (``python -m experiments.docs``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from ...harness.files import write_text_atomic
from . import real, studies  # noqa: F401 - their blocks register themselves
from .source import BLOCKS, read_json

BLOCK = re.compile(r"(<!-- gen:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /gen:(?P=name) -->)", re.S)


OPENING = re.compile(r"<!-- gen:([\w-]+) -->")


def render(name: str, outputs: Path) -> str:
    """The text of block ``name`` (a line saying what is missing when its source is)."""
    try:
        return BLOCKS[name](outputs).rstrip("\n")
    except FileNotFoundError as err:
        return f"(not generated: {err})"


def rewrite(text: str, outputs: Path, source: str = "document") -> str:
    """``text`` with every marked block re-rendered; ValueError naming ``source`` and the line
    of an unknown block or an unclosed marker."""
    for match in OPENING.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        name = match.group(1)
        if name not in BLOCKS:
            raise ValueError(f"{source}, line {line}: unknown block gen:{name}")
        if f"<!-- /gen:{name} -->" not in text[match.end() :]:
            raise ValueError(f"{source}, line {line}: gen:{name} is not closed")
    return BLOCK.sub(
        lambda m: m.group(1) + render(m.group("name"), outputs) + "\n" + m.group(4), text
    )


def update_documents(paths: Sequence[Path], outputs: Path, check: bool = False) -> list[Path]:
    """Rewrite (unless ``check``) the generated blocks of ``paths``; those that were stale."""
    read_json.cache_clear()
    stale = []
    for path in paths:
        text = Path(path).read_text(encoding="utf-8")
        new = rewrite(text, outputs, str(path))
        if new != text:
            stale.append(Path(path))
            if not check:
                write_text_atomic(path, new)
    return stale


def documents(root: Path = Path(".")) -> list[Path]:
    """README.md and docs/*.md under ``root``."""
    return [Path(root) / "README.md", *sorted((Path(root) / "docs").glob("*.md"))]
