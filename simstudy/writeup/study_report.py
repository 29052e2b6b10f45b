"""A study folder's tables (markdown and LaTeX) and figures (PNG and PDF), from its summaries.

The mixture studies (``kind`` recovery or selection) get :func:`.tables.study_tables` and
:func:`.study_figures.write_figures`; a study of the user's own :mod:`.generic`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..harness.files import read_json, write_text_atomic
from ..harness.records import records_frame
from ..harness.runner import raw_path, read_records
from . import style
from .generic import write_generic_report
from .study_figures import write_figures
from .tables import FORMATS, render, study_tables

MIXTURE_KINDS = ("recovery", "selection")
"""summary.json ``kind`` of the mixture studies (their tables and figures are these)."""


def write_tables(summaries: Sequence[dict[str, Any]], out_dir: Path) -> list[Path]:
    """Every table of :func:`.tables.study_tables` as ``tables/NAME.md`` and ``NAME.tex``."""
    return [
        write_text_atomic(Path(out_dir) / "tables" / f"{t.name}.{fmt}", render(t, fmt) + "\n")
        for t in study_tables(summaries)
        for fmt in FORMATS
        if fmt != "text"
    ]


def write_report(
    summaries: Sequence[dict[str, Any]],
    records: dict[int, pd.DataFrame],
    out_dir: Path,
    figures: bool = True,
) -> list[Path]:
    """A mixture study's tables and (unless ``figures`` is False) figures; the files written."""
    out_dir = Path(out_dir)
    paths = write_tables(summaries, out_dir)
    if figures:
        with style.style():
            paths += write_figures(summaries, records, out_dir)
        kept = {Path(p).name for p in paths}
        for stale in (out_dir / "figures").glob("*"):  # figures of an older layout
            if stale.name not in kept:
                stale.unlink()
    return paths


def rebuild_study(folder: Path, figures: bool = True) -> list[Path]:
    """Rewrite a finished study's tables and figures from its summary.json and raw records
    (nothing refitted; conditions without raw records keep their error boxplots)."""
    folder = Path(folder)
    document = read_json(folder / "summary.json")
    summaries = document["conditions"]
    if document.get("kind") not in MIXTURE_KINDS:
        return write_generic_report(summaries, folder, figures=figures)
    records = {}
    for s in summaries:
        rows = read_records(raw_path(folder, s["id"]))
        if rows:
            records[s["id"]] = records_frame(rows)
    return write_report(summaries, records, folder, figures=figures)
