"""Every number the README and docs/ quote, rendered from the committed outputs.

A document marks a generated block with a pair of HTML comments (invisible in
rendered markdown)::

    <!-- gen:real_models -->
    ... replaced by BLOCKS["real_models"](outputs) ...
    <!-- /gen:real_models -->

:func:`update_documents` rewrites every block of the given documents
(``python -m experiments.docs``); ``check=True`` only reports the documents that
disagree with the outputs (a test runs it on the committed files). A block whose
source is missing renders as one line saying so.
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
    """``text`` with every marked block re-rendered.

    Raises
    ------
    ValueError
        An unknown block name or an opening marker without its closing one,
        naming ``source`` and the line.
    """
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
    """Rewrite the generated blocks of ``paths``; return the documents that were out of date.

    With ``check`` nothing is written.
    """
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
