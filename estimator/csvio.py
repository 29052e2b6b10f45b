"""Reading sales data from CSV files, file objects and data frames, with cell-level validation.

Two layouts (see :func:`detect_format`):

* wide (:func:`load_csv`): one row per week, a ``Price`` column and one column
  per store, as ``data/609948.csv``;
* long (:func:`load_long_csv`): one row per observed store-week with columns
  ``store, week, sales, price`` and optional extra regressors.

Every source may be a path, an open file (text or binary) or a pandas
DataFrame. Every bad input gets one ``ValueError`` line naming the source and
the line (row), column or header at fault.

The wide reader streams the file line by line into one float array with numpy
alone (pandas is imported only for a DataFrame or a long file): a well-formed
line is split and converted in one vectorised step, and only a line with
something unusual in it (an empty, NaN-spelled, infinite or non-numeric cell)
is classified cell by cell. The first problem cell of every column is
remembered, so the error names the same column and row as a column-by-column
check would.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, Union

import numpy as np

from . import plausibility
from .frames import is_data_frame
from .logs import get_logger
from .longpanel import LongPanel, long_from_arrays, long_from_wide
from .panel import PRICE_COLUMN, Panel, design_matrix, panel_from_arrays
from .params import DEFAULT_COEF_NAMES

if TYPE_CHECKING:
    import pandas as pd

Source = Union[str, os.PathLike, IO[str], IO[bytes], "pd.DataFrame"]  # noqa: UP007 - a string
"""A CSV path, an open text or binary file, or a DataFrame with the file's columns."""
DataFormat = Literal["auto", "wide", "long"]

LOG = get_logger(__name__)
LONG_COLUMNS = ("store", "week", "sales", "price")
_LONG_MARKERS = ("store", "week", "sales")
_NAN_SPELLINGS = frozenset({"nan", "na", "n/a", "null", "none", "#n/a"})
_MISSING_HINT = " (if the store was not observed that week, load with missing='drop')"
_TEXT_HINT = (
    " (text in a DataFrame is read as in a CSV file: for a week the store was not observed, "
    "leave the cell missing, NaN or None)"
)


# ---------------------------------------------------------------------------
# Where a cell is: file lines or frame rows
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Where:
    """Names a data source and its rows in error messages.

    Attributes
    ----------
    source : str
        The file name, ``"<DataFrame>"`` or the file object's name.
    lines : ndarray of shape (M,) or None
        File line (1-based) of every data row, for sources read from text.
    index : pandas.Index or None
        Row labels of a DataFrame source.
    """

    source: str
    lines: np.ndarray | None = None
    index: pd.Index | None = None

    def row(self, i: int) -> str:
        """Name data row ``i`` (0-based) by its 1-based number and its file line or label."""
        if self.lines is not None:
            return f"row {i + 1} (file line {int(self.lines[i])})"
        if self.index is not None:
            return f"row {i + 1} (index {self.index[i : i + 1].to_list()[0]!r})"
        return f"row {i + 1}"


# ---------------------------------------------------------------------------
# Opening sources and splitting lines
# ---------------------------------------------------------------------------


@contextmanager
def _open(source: Any) -> Iterator[tuple[IO[str], str]]:
    """Yield a text handle (UTF-8, byte-order mark dropped) and the source's name."""
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.is_file():
            raise ValueError(f"{path}: file not found")
        with open(path, newline="", encoding="utf-8-sig") as handle:
            yield handle, str(path)
        return
    if not hasattr(source, "read"):
        raise TypeError(
            f"data source must be a path, an open file or a pandas DataFrame, got "
            f"{type(source).__name__}"
        )
    name = str(getattr(source, "name", "<file>"))
    if isinstance(source.read(0), bytes):
        wrapper = io.TextIOWrapper(source, encoding="utf-8-sig", newline="")
        try:
            yield wrapper, name
        finally:
            wrapper.detach()  # leave the caller's file open
        return
    yield source, name


def _split(line: str) -> list[str]:
    """Fields of one CSV line (the csv module only when the line has quotes)."""
    if '"' in line:
        return next(csv.reader([line], skipinitialspace=True), [])
    return line.split(",")


def _records(handle: IO[str], name: str) -> Iterator[tuple[int, list[str], str]]:
    """(file line, fields, line) of every non-blank line; the header first, its BOM dropped.

    Raises
    ------
    ValueError
        No header, a data line whose field count differs from the header's, or
        bytes that are not UTF-8.
    """
    n_fields = None
    try:
        for number, raw in enumerate(handle, start=1):
            line = raw.rstrip("\r\n")
            if number == 1:
                line = line.removeprefix("\ufeff")
            if not line.strip():
                continue
            fields = _split(line)
            if n_fields is None:
                n_fields = len(fields)
            elif len(fields) != n_fields:
                raise ValueError(_field_count_message(name, number, len(fields), n_fields))
            yield number, fields, line
    except UnicodeDecodeError as err:
        raise ValueError(f"{name}: not a UTF-8 text file: {err}") from err
    if n_fields is None:
        raise ValueError(f"{name}: file is empty (no header row)")


def _field_count_message(name: str, line: int, got: int, expected: int) -> str:
    extra = (
        " (an extra unnamed column, such as a totals column? give it a header or remove it)"
        if got > expected
        else ""
    )
    return f"{name}: line {line} has {got} fields but the header has {expected}{extra}"


# ---------------------------------------------------------------------------
# Header checks shared by both layouts
# ---------------------------------------------------------------------------


def _check_header(header: Sequence[Any], where: str) -> None:
    blank = [i + 1 for i, name in enumerate(header) if str(name).strip() == ""]
    if blank:
        raise ValueError(f"{where}: header column {blank[0]} has no name")
    duplicates = sorted(str(name) for name, count in Counter(header).items() if count > 1)
    if duplicates:
        raise ValueError(f"{where}: duplicate column name(s) {', '.join(map(repr, duplicates))}")


def _price_column(header: Sequence[Any], where: str) -> Any:
    """The header's ``Price`` column, accepting any capitalisation when only one matches."""
    matches = [name for name in header if str(name).strip().lower() == PRICE_COLUMN.lower()]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise ValueError(f"{where}: several price columns {matches}; keep one named 'Price'")
    raise ValueError(f"{where}: no {PRICE_COLUMN!r} column (columns: {_preview(header)})")


def _preview(names: Sequence[Any], limit: int = 5) -> str:
    shown = ", ".join(map(repr, list(names)[:limit]))
    return shown + (", ..." if len(names) > limit else "")


# ---------------------------------------------------------------------------
# Cells
# ---------------------------------------------------------------------------


def _number(cell: str) -> float:
    """A stripped cell's value, NaN when it is not a number.

    Python's ``float`` with ASCII digits and no underscores: the numbers pandas'
    ``to_numeric`` reads too (``1e5``, ``.5``, ``inf``), without Python's ``1_0``
    and non-ASCII digits.
    """
    if cell.isascii() and "_" not in cell:
        try:
            return float(cell)
        except ValueError:
            pass
    return math.nan


def _classify(text: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Numbers, absent cells (empty or a NaN spelling) and invalid cells of stripped text.

    Parameters
    ----------
    text : sequence of str of length M

    Returns
    -------
    numbers : ndarray of shape (M,)
        NaN where absent or invalid.
    absent, invalid : ndarray of bool, shape (M,)
    """
    numbers = np.array([_number(cell) for cell in text], dtype=float)
    absent = np.array([cell == "" or cell.lower() in _NAN_SPELLINGS for cell in text], dtype=bool)
    invalid = ~np.isfinite(numbers) & ~absent
    numbers[absent | invalid] = np.nan
    return numbers, absent, invalid


def _cell_error(cell: str, name: Any, where: _Where, row: int, hint: str) -> ValueError:
    """The one-line error for a bad cell (its stripped text) of column ``name``.

    ``hint``: advice added when the cell is absent (empty or NaN-spelled), e.g. that
    ``missing='drop'`` would accept it (wide sales).
    """
    absent = cell == "" or cell.lower() in _NAN_SPELLINGS
    if cell == "":
        what = "empty cell"
    elif absent:
        what = f"NaN cell ({cell!r})"
    elif math.isinf(_number(cell)):
        what = f"infinite value {cell!r}"
    else:
        what = f"non-numeric value {cell!r}"
    advice = hint if absent else ""
    return ValueError(f"{where.source}: column {name!r}, {where.row(row)}: {what}{advice}")


def _is_number(dtype: Any) -> bool:
    import pandas as pd  # a DataFrame's column: pandas is there

    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def _numeric_column(
    column: pd.Series,
    name: Any,
    where: _Where,
    allow_missing: bool = False,
    missing_hint: str = "",
    allow_absent_text: bool | None = None,
) -> np.ndarray:
    """Parse a column of cells (text or numbers) as finite numbers.

    A DataFrame has two kinds of absent cell: its own missing values (NaN, None,
    NA), governed by ``allow_missing``, and text that a CSV file would read as
    absent (``""``, ``"n/a"``, ...), governed by ``allow_absent_text``.

    Parameters
    ----------
    column : Series of shape (M,)
    name : hashable
        Column name for the error message.
    where : _Where
        Source and row naming.
    allow_missing : bool
        Missing cells become NaN instead of an error.
    missing_hint : str
        Advice added to the error for an absent cell.
    allow_absent_text : bool, optional
        Empty and NaN-spelled text becomes NaN instead of an error (default:
        ``allow_missing``, as in a file, where every cell is text).

    Returns
    -------
    ndarray of shape (M,)
    """
    if _is_number(column.dtype):
        numbers = column.to_numpy(dtype=float, copy=True)
        bad = ~np.isfinite(numbers) & ~(allow_missing & np.isnan(numbers))
        if not bad.any():
            return numbers
    text = _text(column)
    numbers, absent, invalid = _classify(text)
    allow_text = allow_missing if allow_absent_text is None else allow_absent_text
    allowed = np.where(column.isna().to_numpy(), allow_missing, allow_text)
    bad = invalid | (absent & ~allowed)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise _cell_error(text[row], name, where, row, missing_hint)
    return numbers


def _text(column: pd.Series) -> list[str]:
    """Cells as stripped text; a missing value (None, NaN, NA) reads as ``"nan"``."""
    import pandas as pd  # a DataFrame's column: pandas is there

    return ["nan" if pd.isna(v) else str(v).strip() for v in column.to_numpy(dtype=object)]


def _check_positive(values: np.ndarray, name: Any, where: _Where, kind: str) -> None:
    bad = np.flatnonzero(values <= 0)  # NaN (a dropped cell) compares False
    if bad.size:
        row = int(bad[0])
        raise ValueError(
            f"{where.source}: column {name!r}, {where.row(row)}: value {values[row]:g} is not "
            f"positive ({kind} must be > 0: the log is undefined)"
        )


# ---------------------------------------------------------------------------
# Wide layout
# ---------------------------------------------------------------------------


@dataclass
class _FirstBad:
    """The first problem cell of every column: row index and stripped text (-1: none)."""

    absent_row: np.ndarray
    invalid_row: np.ndarray
    text: dict[tuple[int, int], str]

    @classmethod
    def empty(cls, n_columns: int) -> _FirstBad:
        return cls(np.full(n_columns, -1), np.full(n_columns, -1), {})

    def note(self, row: int, text: list[str], absent: np.ndarray, invalid: np.ndarray) -> None:
        for rows, mask in ((self.absent_row, absent), (self.invalid_row, invalid)):
            for col in np.flatnonzero(mask & (rows < 0)):
                rows[col] = row
                self.text[(row, int(col))] = text[col]

    def first_error(self, allowed: np.ndarray) -> tuple[int, int] | None:
        """(column, row) of the first column, in header order, holding a disallowed cell."""
        absent = np.where(allowed, -1, self.absent_row)
        rows = np.where(
            (absent >= 0) & (self.invalid_row >= 0),
            np.minimum(absent, self.invalid_row),
            np.maximum(absent, self.invalid_row),
        )
        columns = np.flatnonzero(rows >= 0)
        return None if columns.size == 0 else (int(columns[0]), int(rows[columns[0]]))


def _parse_line(fields: list[str], line: str) -> tuple[np.ndarray, list[str] | None]:
    """A line's numbers, plus its stripped text when some cell is not a finite number."""
    # Python's float() also takes '1_0' and non-ASCII digits, which the cell-by-cell
    # check (_number) refuses: such lines take the slow path.
    if line.isascii() and "_" not in line:
        try:
            numbers = np.array(fields, dtype=object).astype(float)
        except ValueError:
            numbers = None
        if numbers is not None and np.isfinite(numbers).all():
            return numbers, None
    return np.empty(len(fields)), [field.strip() for field in fields]


def _read_wide_text(
    handle: IO[str], name: str
) -> tuple[list[str], np.ndarray, np.ndarray, _FirstBad]:
    """Header, values (T, C), file line of every row, and the first bad cells."""
    records = _records(handle, name)
    _, header, _ = next(records)
    header = [field.strip() for field in header]
    _check_header(header, name)
    _price_column(header, name)  # refuse a file without prices before reading it
    if len(header) < 2:
        raise ValueError(f"{name}: no store columns besides {PRICE_COLUMN!r}")
    first_bad = _FirstBad.empty(len(header))
    rows, lines = [], []
    for number, fields, line in records:
        numbers, text = _parse_line(fields, line)
        if text is not None:
            numbers, absent, invalid = _classify(text)
            first_bad.note(len(rows), text, absent, invalid)
        rows.append(numbers)
        lines.append(number)
    values = np.vstack(rows) if rows else np.empty((0, len(header)))
    return header, values, np.asarray(lines, dtype=np.int64), first_bad


def _wide_values(
    source: Any, missing: str, text_missing: str
) -> tuple[list[Any], np.ndarray, _Where]:
    """Header, validated cell values (T, C) with NaN for dropped cells, and row naming.

    ``text_missing``: what absent text in a DataFrame means (``missing`` governs
    the frame's own missing values, and every cell of a file).
    """
    if is_data_frame(source):
        where = _Where("<DataFrame>", index=source.index)
        header = list(source.columns)
        _check_header(header, where.source)
        price = _price_column(header, where.source)
        if len(header) < 2:
            raise ValueError(f"{where.source}: no store columns besides {price!r}")
        allowed = np.array([missing == "drop" and column != price for column in header])
        if all(_is_number(dtype) for dtype in source.dtypes):
            values = source.to_numpy(dtype=float)  # one array, no per-column pass
            if (np.isfinite(values) | (np.isnan(values) & allowed)).all():
                return header, values, where
        # some cell is text or missing: check column by column for the exact message
        text_hint = _TEXT_HINT if missing == "drop" else _MISSING_HINT
        columns = [
            _numeric_column(
                source.iloc[:, j],
                name,
                where,
                allow_missing=missing == "drop" and name != price,
                missing_hint=text_hint if name != price else "",
                allow_absent_text=text_missing == "drop" and name != price,
            )
            for j, name in enumerate(header)
        ]
        return header, np.column_stack(columns), where
    with _open(source) as (handle, name):
        header, values, lines, first_bad = _read_wide_text(handle, name)
    where = _Where(name, lines=lines)
    price = _price_column(header, name)
    allowed = np.array([missing == "drop" and column != price for column in header])
    found = first_bad.first_error(allowed)
    if found is not None:
        column, row = found
        cell = first_bad.text[(row, column)]
        hint = _MISSING_HINT if header[column] != price else ""
        raise _cell_error(cell, header[column], where, row, hint)
    return header, values, where


def load_csv(source: Source, missing: str = "error") -> Panel | LongPanel:
    """Load the wide sales data: one row per week, column ``Price`` and one column per store.

    Parameters
    ----------
    source : str, path-like, file object or DataFrame
        The CSV file (UTF-8, a leading byte-order mark is dropped), an open
        file (text or binary), or a DataFrame with the same columns.
        A ``price`` header in another capitalisation is accepted.
    missing : {"error", "drop"}
        What an empty or NaN sales cell means: an error (default), or a week
        that store was not observed. ``Price`` must be complete either way.

    Returns
    -------
    Panel
        y = log sales (N stores x T weeks), X = [1, log Price] (T x 2), when
        every cell is present. ``store_ids`` are the column names.
    LongPanel
        With ``missing="drop"`` and some cells missing: each store keeps its
        own weeks; stores with fewer weeks than regressors are excluded and
        listed in ``LongPanel.excluded`` (with a warning).

    Warns
    -----
    PlausibilityWarning
        One line naming the column, for data that parse but look wrong: a
        column named like a total or equal to the sum of the others, prices
        and sales swapped, sales already logged (:mod:`estimator.plausibility`).
        The data are loaded all the same.

    Raises
    ------
    ValueError
        One line naming the source and the line, column or header at fault:
        missing file, a line whose field count differs from the header's,
        unnamed or duplicate columns, no ``Price`` column, no store columns,
        empty, NaN or non-numeric cells, zero or negative sales or prices,
        fewer weeks than regressors, or a price that never varies.
    """
    if missing not in ("error", "drop"):
        raise ValueError(f"missing must be 'error' or 'drop', got {missing!r}")
    return _load_wide(source, missing, missing)


def _load_wide(source: Any, missing: str, text_missing: str) -> Panel | LongPanel:
    """:func:`load_csv`, with ``text_missing`` for absent text in a DataFrame (see _wide_values)."""
    header, values, where = _wide_values(source, missing, text_missing)
    price = _price_column(header, where.source)
    negative = np.flatnonzero((values <= 0).any(axis=0))  # NaN (a dropped cell) compares False
    if negative.size:
        name = header[negative[0]]
        _check_positive(values[:, negative[0]], name, where, "prices" if name == price else "sales")
    price_index = header.index(price)
    prices = values[:, price_index]
    n_weeks = prices.size
    if n_weeks < 2:
        raise ValueError(
            f"{where.source}: {n_weeks} week(s) of data; at least 2 are needed for 2 regressors"
        )
    if np.ptp(np.log(prices)) == 0:
        raise ValueError(
            f"{where.source}: column {price!r} never varies (X'X singular): the price "
            "elasticity is not identified"
        )
    store_ids = [name for name in header if name != price]
    sales = values[:, 1:] if price_index == 0 else np.delete(values, price_index, axis=1)
    plausibility.warn(
        plausibility.wide_messages(store_ids, sales, prices, price, where.source), stacklevel=4
    )
    # a new array: ``values`` may be a DataFrame's own memory (read-only under
    # pandas' copy-on-write), which is never written into
    y = np.log(sales.T, order="C")
    del values, sales
    X = design_matrix(prices)
    LOG.debug("%s: wide, %d stores x %d weeks", where.source, len(store_ids), n_weeks)
    if np.isnan(y).any():
        return long_from_wide(y, X, store_ids, where.source)
    return panel_from_arrays(y, X, store_ids=store_ids, source=where.source)


# ---------------------------------------------------------------------------
# Long layout
# ---------------------------------------------------------------------------


def _long_frame(source: Any) -> tuple[pd.DataFrame, _Where]:
    """The long data as a frame (text cells for files) and its row naming."""
    import pandas as pd  # the long reader works on a frame

    if is_data_frame(source):
        return source, _Where("<DataFrame>", index=source.index)
    with _open(source) as (handle, name):
        records = _records(handle, name)
        _, header, _ = next(records)
        header = [field.strip() for field in header]
        _check_header(header, name)
        lines, rows = [], []
        for number, fields, _ in records:
            lines.append(number)
            rows.append(fields)
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    for column in header:
        frame[column] = frame[column].str.strip()
    return frame, _Where(name, lines=np.asarray(lines, dtype=np.int64))


def load_long_csv(source: Source, extra: Sequence[str] | None = None) -> LongPanel:
    """Load long sales data: one row per store-week with columns store, week, sales, price.

    Parameters
    ----------
    source : str, path-like, file object or DataFrame
        Store ids may be of any hashable type in a DataFrame (text in a file).
    extra : sequence of str, optional
        Extra regressor columns (for example ``promo``), in this order after
        the intercept and log price. Default: every column besides the four.

    Returns
    -------
    LongPanel
        coef_names = ("alpha", "beta", *extra).

    Raises
    ------
    ValueError
        One line naming the source and the line (row), column or header at
        fault: missing file or columns, a line whose field count differs from
        the header's, empty/NaN/non-numeric cells, non-positive sales or
        prices, a (store, week) pair given twice.
    """
    import pandas as pd

    frame, where = _long_frame(source)
    columns = list(frame.columns)
    _check_header(columns, where.source)
    absent = [c for c in LONG_COLUMNS if c not in columns]
    if absent:
        raise ValueError(
            f"{where.source}: missing column(s) {absent}; a long file needs {LONG_COLUMNS}"
        )
    extra = [c for c in columns if c not in LONG_COLUMNS] if extra is None else list(extra)
    unknown = [c for c in extra if c not in columns]
    if unknown:
        raise ValueError(f"{where.source}: extra regressor column(s) {unknown} not in the file")
    if frame.empty:
        raise ValueError(f"{where.source}: no data rows")
    stores, weeks = frame["store"], frame["week"]
    empty = np.flatnonzero((_blank(stores) | _blank(weeks)).to_numpy())
    if empty.size:
        raise ValueError(f"{where.source}: {where.row(int(empty[0]))}: empty store or week")
    twice = np.flatnonzero(pd.MultiIndex.from_arrays([stores, weeks]).duplicated())
    if twice.size:
        row = int(twice[0])
        raise ValueError(
            f"{where.source}: {where.row(row)}: store {stores.iloc[row]!r}, week "
            f"{weeks.iloc[row]!r} appears more than once"
        )
    values = {c: _numeric_column(frame[c], c, where) for c in ("sales", "price", *extra)}
    for column in ("sales", "price"):
        _check_positive(values[column], column, where, column)
    codes, store_ids = pd.factorize(stores, sort=False)
    LOG.debug("%s: long, %d rows, %d stores", where.source, len(frame), len(store_ids))
    plausibility.warn(
        plausibility.long_messages(store_ids, values["sales"], values["price"], where.source)
    )
    X = np.column_stack([np.ones(len(frame)), np.log(values["price"]), *(values[c] for c in extra)])
    return long_from_arrays(
        codes,
        weeks.to_numpy(),
        np.log(values["sales"]),
        X,
        store_ids=pd.Index(store_ids).tolist(),
        coef_names=(*DEFAULT_COEF_NAMES, *extra),
        source=where.source,
    )


def _blank(column: pd.Series) -> pd.Series:
    """Missing (None, NaN) or empty-text cells."""
    return column.isna() | (np.array(_text(column)) == "")


# ---------------------------------------------------------------------------
# Panels back to frames (the inverse of the readers, for drawn data)
# ---------------------------------------------------------------------------


def price_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The price column of a wide DataFrame, as a one-column frame with its index (a copy)."""
    return frame[[_price_column(list(frame.columns), "<DataFrame>")]].copy()


def wide_frame(panel: Panel | LongPanel, prices: pd.DataFrame) -> pd.DataFrame:
    """A panel as a wide DataFrame that :func:`load_csv` reads back into it.

    Parameters
    ----------
    panel : Panel or LongPanel
        Its weeks are row positions of ``prices`` (as :func:`load_csv` numbers them).
    prices : DataFrame of shape (T, 1)
        The price column, with the index the frame gets (:func:`price_frame`).

    Returns
    -------
    DataFrame of shape (T, 1 + N)
        The price column, then one column of sales per store named by its id;
        NaN where a store has no observation.
    """
    import pandas as pd

    sales = np.full((panel.n_stores, len(prices)), np.nan)
    if isinstance(panel, Panel):
        sales[:] = np.exp(panel.y)
    else:
        sales[panel.store, panel.week] = np.exp(panel.y)
    stores = pd.DataFrame(sales.T, index=prices.index, columns=list(panel.store_ids))
    return pd.concat([prices.copy(), stores], axis=1)


def long_frame(panel: Panel | LongPanel) -> pd.DataFrame:
    """A panel as a long DataFrame that :func:`load_long_csv` reads back into it.

    Returns
    -------
    DataFrame
        Columns ``store, week, sales, price`` and the extra regressors, one row
        per observed store-week (X's column 1 is log price, columns 2.. the extras).
    """
    import pandas as pd

    if isinstance(panel, Panel):
        n_stores, n_weeks = panel.y.shape
        store, week = np.repeat(np.arange(n_stores), n_weeks), np.tile(np.arange(n_weeks), n_stores)
        y, X = panel.y.ravel(), np.tile(panel.X, (n_stores, 1))
    else:
        store, week, y, X = panel.store, panel.week, panel.y, panel.X
    frame = pd.DataFrame(
        {
            "store": np.asarray(panel.store_ids, dtype=object)[store],
            "week": week,
            "sales": np.exp(y),
            "price": np.exp(X[:, 1]),
        }
    )
    for j, name in enumerate(panel.coef_names[2:], start=2):
        frame[name] = X[:, j]
    return frame


# ---------------------------------------------------------------------------
# Either layout
# ---------------------------------------------------------------------------


def detect_format(source: Source) -> Literal["wide", "long"]:
    """Say whether sales data are wide (``Price`` and one column per store) or long.

    Long when the header names any of ``store``, ``week``, ``sales`` (so a long
    file missing one of them still gets the long loader's message naming the
    missing column); wide otherwise (a ``price`` header in any capitalisation
    alone is a wide file's).

    Parameters
    ----------
    source : str, path-like or DataFrame
        A file object cannot be read twice, so pass the format for those.

    Raises
    ------
    ValueError
        The file is missing, empty or not UTF-8 text.
    """
    if is_data_frame(source):
        header = [str(name).strip() for name in source.columns]
    else:
        with _open(source) as (handle, name):
            _, header, _ = next(_records(handle, name))
        header = [field.strip() for field in header]
    return "long" if any(name in header for name in _LONG_MARKERS) else "wide"


def load_panel(
    source: Source,
    data_format: DataFormat = "auto",
    missing: str = "error",
    extra: Sequence[str] | None = None,
) -> Panel | LongPanel:
    """Load sales data in either layout (one entry point for scripts and the CLI).

    Parameters
    ----------
    source : str, path-like, file object or DataFrame
    data_format : {"auto", "wide", "long"}
        ``"auto"`` uses :func:`detect_format` (not available for file objects).
    missing : {"error", "drop"}
        Wide data only (see :func:`load_csv`); long data list only the
        store-weeks observed, so there is nothing to drop.
    extra : sequence of str, optional
        Long data only: the extra regressor columns, in order (default: every
        column besides store, week, sales, price).

    Returns
    -------
    Panel or LongPanel
        A balanced :class:`~estimator.panel.Panel` for complete wide data, else a
        :class:`~estimator.longpanel.LongPanel` (its ``excluded`` lists the stores left out).

    Raises
    ------
    ValueError
        Unknown format, options that do not apply to the format, and every
        error of the loaders (naming the source, column and row).
    """
    if data_format not in ("auto", "wide", "long"):
        raise ValueError(f"format must be 'auto', 'wide' or 'long', got {data_format!r}")
    named = isinstance(source, str | os.PathLike) or is_data_frame(source)
    if data_format == "auto" and not named:
        raise ValueError("data_format='auto' needs a path or a DataFrame; name the format")
    resolved = detect_format(source) if data_format == "auto" else data_format
    label = source if isinstance(source, str | os.PathLike) else "<data>"
    if resolved == "wide":
        if extra:
            raise ValueError(
                f"{label}: extra regressors {list(extra)} need the long format (store, week, "
                "sales, price, extras); a wide file has sales and one price per week only"
            )
        return load_csv(source, missing=missing)
    if missing != "error":
        raise ValueError(
            f"{label}: missing={missing!r} applies to wide files; a long file simply leaves "
            "out the store-weeks not observed"
        )
    return load_long_csv(source, extra=extra)


def as_panel(data: Any) -> Panel | LongPanel:
    """Turn any supported form of sales data into a validated panel.

    Parameters
    ----------
    data : Panel, LongPanel, DataFrame, path-like or tuple (y, X)
        A panel as is; a wide DataFrame (a ``Price`` column and one column per
        store; NaN cells are weeks that store was not observed) or a long one
        (``store, week, sales, price`` and extra regressors), detected from the
        columns; a CSV path in either layout; or arrays ``(y, X)`` of log sales
        (N x T) and the design (T x P).

    Returns
    -------
    Panel or LongPanel

    Raises
    ------
    TypeError
        ``data`` is none of these.
    ValueError
        Every error of the loaders and of :func:`~estimator.panel.panel_from_arrays`.
    """
    if isinstance(data, Panel | LongPanel):
        return data
    if is_data_frame(data):
        if detect_format(data) == "wide":  # the frame's own missing cells: weeks not observed
            return _load_wide(data, missing="drop", text_missing="error")
        return load_long_csv(data)
    if isinstance(data, str | os.PathLike):
        return load_panel(data)
    if isinstance(data, tuple) and len(data) == 2:
        return panel_from_arrays(*data)
    raise TypeError(
        "data must be a Panel, LongPanel, DataFrame (wide or long), CSV path or a tuple "
        f"(y, X) of arrays, got {type(data).__name__}"
    )
