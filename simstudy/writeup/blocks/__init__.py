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
from collections.abc import Callable, Sequence
from pathlib import Path

from ...harness.files import write_text_atomic
from .real import (
    blrt_real,
    naive_vs_observed,
    real_estimates,
    real_logliks,
    real_models,
    real_se_table,
    restarts_findings,
    sigma_calibration,
    sigma_estimates,
    sigma_modes,
    sigma_tests,
)
from .source import read_json
from .studies import (
    baselines_table,
    benchmark_table,
    blrt_grid,
    blrt_grid_findings,
    blrt_size,
    grid_distances,
    grid_truth_notes,
    grid_truths,
    irregular_table,
    real_like_coverage,
    real_like_findings,
    real_like_readings,
    real_like_run,
    real_like_truth,
    selection_grid_findings,
)

BLOCK = re.compile(r"(<!-- gen:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /gen:(?P=name) -->)", re.S)


OPENING = re.compile(r"<!-- gen:([\w-]+) -->")


BLOCKS: dict[str, Callable[[Path], str]] = {
    "real_models": real_models,
    "real_estimates": real_estimates,
    "naive_vs_observed": naive_vs_observed,
    "sigma_modes": sigma_modes,
    "real_like_coverage": real_like_coverage,
    "real_like_findings": real_like_findings,
    "selection_grid_findings": selection_grid_findings,
    "irregular_table": irregular_table,
    "baselines_table": baselines_table,
    "restarts_findings": restarts_findings,
    "benchmark_table": benchmark_table,
    "sigma_tests": sigma_tests,
    "sigma_estimates": sigma_estimates,
    "sigma_calibration": sigma_calibration,
    "real_se_table": real_se_table,
    "real_logliks": real_logliks,
    "real_like_truth": real_like_truth,
    "real_like_run": real_like_run,
    "real_like_readings": real_like_readings,
    "grid_truths": grid_truths,
    "grid_distances": grid_distances,
    "grid_truth_notes": grid_truth_notes,
    "blrt_size": blrt_size,
    "blrt_real": blrt_real,
    "blrt_grid": blrt_grid,
    "blrt_grid_findings": blrt_grid_findings,
}
"""Every block a document may hold, by name."""


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
