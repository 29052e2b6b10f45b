"""Checkpoint files of a study's records: CSV with a checksum per record, verified on read.

CSV, because users and the report read the raw files with ``pd.read_csv``; the ``crc``
column (BLAKE2b-64 of the fields as written, under the header's names) makes a record
cut anywhere or altered, or a header edited since, fail its check. Older files without
the header in the checksum, or without checksums, are still read. An invalid record is
dropped with one warning line naming the file and line (the runner recomputes it); a
file without a header is refused (:class:`CheckpointError`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import warnings
from collections.abc import Callable, Iterable
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .files import cell_text, cell_value, write_text_atomic

RECORD_KEYS: tuple[str, ...] = ("condition_id", "replication", "seed", "status", "error")
"""Fields every record starts with; ``seconds`` comes last, then the checksum."""
CHECK = "crc"
"""Name of the checksum column (last)."""
STATUSES = ("ok", "error")
# pandas >= 3 parses floats exactly by default and deprecates the option that pandas 2 needs
_EXACT_FLOATS = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}


class CheckpointError(ValueError):
    """A checkpoint file cannot be read at all (no header)."""


class RecordWarning(UserWarning):
    """A record of a checkpoint file was invalid and dropped (it will be recomputed)."""


def records_frame(records: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """Records as a DataFrame sorted by replication: :data:`RECORD_KEYS`, then the others in
    order of first appearance, then ``seconds`` (the layout does not depend on arrival)."""
    rows = sorted(records, key=lambda r: r["replication"])
    columns = list(RECORD_KEYS)
    for row in rows:
        columns.extend(key for key in row if key not in columns and key != "seconds")
    frame = pd.DataFrame(rows)
    return frame[[*columns, "seconds"]] if len(frame) else frame


def _field(value: Any) -> str:
    """One value as CSV text (as pandas writes it: floats round-trip, NaN and None empty;
    text a spreadsheet would run as a formula quoted, :func:`~.files.cell_text`)."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return repr(value) if isinstance(value, float) else str(cell_text(value))


def checksum(fields: list[str], names: list[str] | tuple[()] = ()) -> str:
    """Hex BLAKE2b-64 digest of a record's fields as written, under the header's ``names``
    (without them: as files written before the header was covered)."""
    text = "\x1e".join(["\x1f".join(names), "\x1f".join(fields)]) if names else "\x1f".join(fields)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


def write_records(path: Path, records: Iterable[dict[str, Any]]) -> None:
    """Write records to ``path`` whole (temporary file, then rename) as CSV: header, one row
    per record sorted by replication, checksums last."""
    frame = records_frame(records)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*frame.columns, CHECK])
    for row in frame.itertuples(index=False):
        fields = [_field(v) for v in row]
        writer.writerow([*fields, checksum(fields, list(frame.columns))])
    write_text_atomic(path, buffer.getvalue())


def _legacy_problem(row: dict[str, str]) -> str | None:
    """Why a record of a file without checksums is invalid (None: it is valid)."""
    for key in ("condition_id", "replication", "seed"):
        if not row[key].isdigit():
            return f"{key} {row[key]!r} is not a whole number"
    if row["status"] not in STATUSES:
        return f"status {row['status']!r} is not one of {STATUSES}"
    try:
        float(row["seconds"])
    except ValueError:
        return f"seconds {row['seconds']!r} is not a number"
    return None


def _problem(header: list[str], fields: list[str], condition_id: int | None) -> str | None:
    """Why one row is not a valid record (None: it is valid)."""
    if len(fields) != len(header):
        return f"{len(fields)} fields, the header has {len(header)}"
    row = dict(zip(header, fields, strict=True))
    if header[-1] == CHECK and fields[-1] not in (
        checksum(fields[:-1], header[:-1]),
        checksum(fields[:-1]),
    ):
        return "checksum mismatch"
    problem = _legacy_problem(row)
    if problem is None and condition_id is not None and int(row["condition_id"]) != condition_id:
        problem = f"condition_id {row['condition_id']} in the file of condition {condition_id}"
    return problem


def _header_fault(header: list[str], fields: list[str]) -> str:
    """What is wrong with a header none of whose records verifies, from one of them."""
    names = header[:-1]
    for i, j in combinations(range(len(names)), 2):
        swapped = [*names[:i], names[j], *names[i + 1 : j], names[i], *names[j + 1 :]]
        if checksum(fields[:-1], swapped) == fields[-1]:
            return f"columns {names[i]!r} and {names[j]!r} are swapped"
    return "a column was renamed, moved, added or removed"


def read_records(
    path: str | Path,
    condition_id: int | None = None,
    on_invalid: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """The valid records of a checkpoint file as written, without the checksum ([] if absent).

    A record of another condition than ``condition_id`` is invalid; a replication found twice
    keeps its first record. ``on_invalid`` gets one line per dropped record (default: a
    :class:`RecordWarning`); :class:`CheckpointError` when the header is missing or wrong.
    """
    path = Path(path)
    if not path.is_file():
        return []
    report = on_invalid or (lambda message: warnings.warn(message, RecordWarning, stacklevel=3))
    text = path.read_text(encoding="utf-8", errors="replace")
    what_to_do = "delete it to recompute that condition's replications, or restore it from a copy"
    if not text.strip():
        raise CheckpointError(f"{path}: empty checkpoint file (0 bytes); {what_to_do}")
    if "\n" not in text:
        raise CheckpointError(f"{path}: cut short inside its header (line 1); {what_to_do}")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    if header[: len(RECORD_KEYS)] != list(RECORD_KEYS) or "seconds" not in header:
        raise CheckpointError(
            f"{path}: line 1 is not a checkpoint header (cut short or not a records file); "
            f"{what_to_do}"
        )
    if not text.endswith("\n"):  # the last record was cut: the writer ends every line
        report(f"{path}: line {text.count(chr(10)) + 1}: record cut short, dropped (recomputed)")
        text = text[: text.rfind("\n") + 1]
        reader = csv.reader(io.StringIO(text, newline=""))
        next(reader)
    good: list[list[str]] = []
    seen: set[str] = set()
    dropped: list[tuple[str, list[str]]] = []
    for fields in reader:
        problem = _problem(header, fields, condition_id)
        if problem is None and fields[1] in seen:
            problem = f"replication {fields[1]} appears twice"
        if problem is not None:
            dropped.append((f"{path}: line {reader.line_num}: invalid record ({problem})", fields))
            continue
        seen.add(fields[1])
        good.append(fields)
    mismatched = [fields for message, fields in dropped if message.endswith("(checksum mismatch)")]
    if not good and mismatched:  # every record fails: the header, not each record, changed
        raise CheckpointError(
            f"{path}: line 1: the header is not the one its records were written under "
            f"({_header_fault(header, mismatched[0])}); restore the header, or delete the file "
            "to recompute that condition's replications"
        )
    for message, _ in dropped:
        report(f"{message}, dropped (recomputed)")
    columns = header[:-1] if header[-1] == CHECK else header
    if not good:
        return []
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(fields[: len(columns)] for fields in good)
    buffer.seek(0)
    frame = pd.read_csv(buffer, keep_default_na=False, na_values=[""], **_EXACT_FLOATS)
    for column in frame.columns[[pd.api.types.is_string_dtype(t) for t in frame.dtypes]]:
        frame[column] = frame[column].map(cell_value)
    frame["error"] = ["" if pd.isna(e) else str(e) for e in frame["error"]]
    return frame.to_dict(orient="records")
