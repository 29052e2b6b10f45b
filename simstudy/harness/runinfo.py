"""How long the records of a study folder took to produce, across resumed runs.

A rerun of a finished study computes nothing and takes seconds; its summary must
still say how long the records took. :func:`records_wall_seconds` carries the
figure over from the previous summary.json.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .runner import raw_path, read_records


def count_records(out_dir: Path, condition_ids: Iterable[int]) -> int:
    """Records already checkpointed in ``out_dir`` for these conditions."""
    return sum(len(read_records(raw_path(out_dir, c))) for c in condition_ids)


def previous_summary(out_dir: Path) -> dict[str, Any] | None:
    """The folder's summary.json as last written, or None (absent or unreadable)."""
    path = Path(out_dir) / "summary.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def records_wall_seconds(
    previous: dict[str, Any] | None, records_before: int, records_after: int, this_run: float
) -> float:
    """Wall seconds of the runs that produced the folder's records.

    Parameters
    ----------
    previous : dict or None
        The summary.json written by the last complete run.
    records_before, records_after : int
        Records in the folder before and after this run.
    this_run : float
        Wall seconds of this run.

    Returns
    -------
    float
        This run's time when it started from nothing; the previous summary's
        figure when this run added no record; their sum when it added some to
        records an earlier run made. Time spent by an interrupted run that
        wrote no summary is not known and not counted.
    """
    earlier = None
    if previous is not None:
        run = previous.get("run", {})
        earlier = run.get("wall_seconds_records", run.get("wall_seconds_this_run"))
    if records_before == 0 or earlier is None:
        return this_run
    if records_after == records_before:
        return float(earlier)
    return float(earlier) + this_run
