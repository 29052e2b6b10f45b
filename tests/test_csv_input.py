"""Data in: paths, file objects, DataFrames; BOM, header case, field counts, exact error sites."""

import ast
import io
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from estimator import LongPanel, as_panel, detect_format, load_csv, load_long_csv, load_panel
from simstudy.bench.csvread import record_wide_csv, write_wide_csv

REAL = Path(__file__).resolve().parents[1] / "data" / "609948.csv"
GOOD = "Price,Sales1,Sales2\n2.0,10,20\n3.0,8,15\n4.0,6,11\n"
LONG = "store,week,sales,price\na,1,10,2\na,2,8,3\nb,1,20,2\nb,2,15,3.5\n"


def write(tmp_path: Path, text: str | bytes, name: str = "panel.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def assert_same_panel(a, b):
    np.testing.assert_array_equal(a.y, b.y)
    np.testing.assert_array_equal(a.X, b.X)
    assert tuple(a.store_ids) == tuple(b.store_ids)


def test_every_kind_of_wide_source_gives_the_same_panel(tmp_path):
    path = write(tmp_path, GOOD)
    reference = load_csv(path)
    np.testing.assert_allclose(reference.y, np.log([[10, 8, 6], [20, 15, 11]]))
    assert_same_panel(load_csv(str(path)), reference)
    assert_same_panel(load_csv(io.StringIO(GOOD)), reference)
    with open(path, "rb") as handle:
        assert_same_panel(load_csv(handle), reference)
        assert not handle.closed  # the caller's file is left open
    assert_same_panel(load_csv(pd.read_csv(path)), reference)
    assert_same_panel(load_csv(pd.read_csv(path, dtype=str)), reference)


def test_real_file_read_from_a_frame_equals_the_file():
    assert_same_panel(load_csv(pd.read_csv(REAL)), load_csv(REAL))


def test_utf8_byte_order_mark_is_read(tmp_path):
    path = write(tmp_path, b"\xef\xbb\xbf" + GOOD.encode())
    assert_same_panel(load_csv(path), load_csv(io.StringIO(GOOD)))
    assert_same_panel(load_csv(io.BytesIO(b"\xef\xbb\xbf" + GOOD.encode())), load_csv(path))
    assert_same_panel(load_csv(io.StringIO("\ufeff" + GOOD)), load_csv(path))


@pytest.mark.parametrize("header", ["price", "PRICE", " price "])
def test_price_header_in_any_case_is_accepted(tmp_path, header):
    path = write(tmp_path, GOOD.replace("Price", header))
    assert detect_format(path) == "wide"
    assert_same_panel(load_panel(path), load_csv(io.StringIO(GOOD)))


def test_two_price_columns_are_named(tmp_path):
    path = write(tmp_path, "Price,price,S1\n2,2,10\n3,3,8\n")
    with pytest.raises(ValueError, match=r"panel\.csv: several price columns \['Price', 'price'\]"):
        load_csv(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # an unnamed totals column: every data row has one field more than the header
        (
            "Price,S1,S2\n2,10,20,30\n3,8,15,23\n",
            r"panel\.csv: line 2 has 4 fields but the header has 3 \(an extra unnamed column",
        ),
        ("Price,S1,S2\n2,10,20\n3,8,15,23\n", r"panel\.csv: line 3 has 4 fields but the header"),
        ("Price,S1,S2\n2,10,20\n3,8\n", r"panel\.csv: line 3 has 2 fields but the header has 3$"),
        ("Price,S1,S2,\n2,10,20,\n3,8,15,\n", r"panel\.csv: header column 4 has no name"),
        ("Price,S1,S2\n2,10,20\n\n3,8,x\n", r"column 'S2', row 2 \(file line 4\): non-numeric"),
        ("Price,S1,S2\n2,10,20\n3,8,1_5\n", r"column 'S2', row 2 \(file line 3\): non-numeric"),
        ('Price,S1,S2\n2,10,20\n3,8,"1,5"\n', r"column 'S2', row 2 .*non-numeric value '1,5'"),
        ("Price,S1,S2\n2,10,20\n3,8,-inf\n", r"column 'S2', row 2 .*infinite value '-inf'"),
        ("Price,S1,S2\n2,10,20\n3,NA,2\n", r"column 'S1', row 2 .*NaN cell \('NA'\).*drop"),
        ("Price,S1,S2\n2,10,20\n,8,2\n", r"column 'Price', row 2 .*empty cell$"),
        ("Sales1,Sales2\n1,2\n3,4\n", r"no 'Price' column \(columns: 'Sales1', 'Sales2'\)"),
        ("Price,S1\n2,x\n3,\n4,5\n", r"column 'S1', row 1 \(file line 2\): non-numeric value 'x'"),
        ("Price,S1\n2,\n3,x\n4,5\n", r"column 'S1', row 1 \(file line 2\): empty cell"),
        ("Sales1,Sales2\n1,2\n3,4\n", r"no 'Price' column"),
        ("Price\n2\n3\n", r"no store columns"),
        ("Price,Sales1,Sales1\n2,1,2\n3,4,5\n", r"duplicate column name\(s\) 'Sales1'"),
        (
            "Price,Sales1,Sales2\n2,10,20\n3,abc,15\n",
            r"column 'Sales1', row 2 \(file line 3\): non-numeric value 'abc'",
        ),
        (
            "Price,Sales1,Sales2\n2,10,20\n3,,15\n",
            r"column 'Sales1', row 2 \(file line 3\): empty cell",
        ),
        (
            "Price,Sales1,Sales2\n2,10,NaN\n3,8,15\n",
            r"column 'Sales2', row 1 \(file line 2\): NaN cell",
        ),
        (
            "Price,Sales1,Sales2\n2,10,20\n3,0,15\n",
            r"column 'Sales1', row 2 .*not positive \(sales",
        ),
        ("Price,Sales1,Sales2\n2,10,20\n3,-4,15\n", r"column 'Sales1', row 2 .*not positive"),
        (
            "Price,Sales1,Sales2\n2,10,20\n-3,8,15\n",
            r"column 'Price', row 2 .*not positive \(prices",
        ),
        ("Price,Sales1,Sales2\n2,10,20\n", r"1 week\(s\) of data; at least 2"),
        ("Price,Sales1,Sales2\n2,10,20\n2,8,15\n2,7,9\n", r"'Price' never varies"),
        ("Price,Sales1\n2,10\n3,inf\n", r"column 'Sales1', row 2 .*infinite"),
        ("", r"file is empty"),
    ],
)
def test_bad_rows_and_headers_name_file_and_line(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ValueError, match=expected) as info:
        load_csv(path)
    assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)


def test_dropped_cells_do_not_hide_a_later_invalid_one(tmp_path):
    path = write(tmp_path, "Price,S1,S2\n2,,1\n3,x,2\n4,5,3\n")
    with pytest.raises(ValueError, match=r"column 'S1', row 2 \(file line 3\): non-numeric"):
        load_csv(path, missing="drop")


def test_quoted_cells_and_headers_are_read(tmp_path):
    path = write(tmp_path, '"Price","Sales1","Sales2"\n"2.0",10,"20"\n3.0,"8",15\n4.0, 6, 11\n')
    panel = load_csv(path)
    np.testing.assert_allclose(panel.y, np.log([[10, 8, 6], [20, 15, 11]]))


def test_not_utf8_is_named(tmp_path):
    path = write(tmp_path, b"Price,S1\n2,10\n3,\xff\n")
    with pytest.raises(ValueError, match=r"panel\.csv: not a UTF-8 text file"):
        load_csv(path)


@pytest.mark.parametrize("seed", range(6))
def test_error_names_first_bad_column_in_header_order_then_first_row(tmp_path, seed):
    """The streamed check reports what a column-by-column check would: first column, first row."""
    rng = np.random.default_rng(seed)
    n_weeks, n_stores = 7, 9
    cells = rng.integers(1, 100, (n_weeks, n_stores)).astype(str)
    bad = rng.random((n_weeks, n_stores)) < 0.25
    bad[rng.integers(n_weeks), rng.integers(n_stores)] = True
    kinds = np.array(["", "abc", "inf", "NaN"])
    cells[bad] = kinds[rng.integers(len(kinds), size=bad.sum())]
    prices = np.linspace(2, 4, n_weeks)
    header = ["Price"] + [f"S{j}" for j in range(n_stores)]
    rows = [",".join([f"{p:g}", *row]) for p, row in zip(prices, cells, strict=True)]
    path = write(tmp_path, "\n".join([",".join(header), *rows]) + "\n")
    column = int(np.flatnonzero(bad.any(axis=0))[0])
    row = int(np.flatnonzero(bad[:, column])[0])
    with pytest.raises(
        ValueError, match=rf"column 'S{column}', row {row + 1} \(file line {row + 2}\)"
    ):
        load_csv(path)
    # with missing="drop" only the non-numeric and infinite cells are errors
    invalid = bad & np.isin(cells, ["abc", "inf"])
    if invalid.any():
        column = int(np.flatnonzero(invalid.any(axis=0))[0])
        row = int(np.flatnonzero(invalid[:, column])[0])
        with pytest.raises(ValueError, match=rf"column 'S{column}', row {row + 1} "):
            load_csv(path, missing="drop")
    else:
        assert isinstance(load_csv(path, missing="drop"), LongPanel)


def test_dataframe_errors_name_the_row_label():
    frame = pd.DataFrame({"Price": [2.0, 3.0, 4.0], "S1": [10.0, -1.0, 6.0]}, index=[10, 11, 12])
    with pytest.raises(
        ValueError, match=r"<DataFrame>: column 'S1', row 2 \(index 11\): .*not pos"
    ):
        load_csv(frame)
    frame = pd.DataFrame({"Price": [2.0, 3.0], "S1": [10.0, np.nan]})
    with pytest.raises(ValueError, match=r"<DataFrame>: column 'S1', row 2 \(index 1\): NaN cell"):
        load_csv(frame)


@pytest.mark.parametrize("cell", ["n/a", "NA", "", "  ", "null", "#N/A"])
def test_text_in_a_frame_is_read_as_the_same_file_is(tmp_path, cell):
    frame = pd.read_csv(REAL).iloc[:, :6].astype(object)
    frame.iloc[2, 3] = cell
    path = tmp_path / "with_text.csv"
    frame.to_csv(path, index=False)
    site = r"column 'Sales3', row 3 \((file line 4|index 2)\): (NaN|empty) cell"
    for data in (path, frame):  # as the file is, so is the frame: refused, naming the cell
        with pytest.raises(ValueError, match=site):
            load_csv(data)
        with pytest.raises(ValueError, match=site):
            as_panel(data)
    from estimator import SalesMixture

    with pytest.raises(ValueError, match=site + r".*leave the cell missing, NaN or None"):
        SalesMixture(2, n_init=1).fit(frame)  # not a silent missing week
    assert_same_long(load_csv(frame, missing="drop"), load_csv(path, missing="drop"))
    numbers_as_text = frame.copy()
    numbers_as_text.iloc[2, 3] = " 1234.5 "
    missing = frame.copy()
    missing.iloc[2, 3] = None  # the frame's own missing value: a week not observed
    assert isinstance(as_panel(missing), LongPanel)
    assert as_panel(numbers_as_text).y[2, 2] == pytest.approx(np.log(1234.5))


def assert_same_long(a, b):
    for field in ("store", "week", "y", "X"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert a.store_ids == b.store_ids


def test_long_sources_agree_and_keep_store_ids_of_any_type(tmp_path):
    path = write(tmp_path, LONG, "long.csv")
    reference = load_long_csv(path)
    assert reference.store_ids == ("a", "b")
    for source in (io.StringIO(LONG), pd.read_csv(path)):
        panel = load_long_csv(source)
        np.testing.assert_array_equal(panel.y, reference.y)
        np.testing.assert_array_equal(panel.X, reference.X)
        assert panel.store_ids == reference.store_ids
    frame = pd.read_csv(path)
    frame["store"] = frame["store"].map({"a": 7, "b": 3})
    assert load_long_csv(frame).store_ids == (7, 3)
    frame["store"] = frame["store"].map({7: ("north", 1), 3: ("south", 2)})
    assert load_long_csv(frame).store_ids == (("north", 1), ("south", 2))


def test_long_file_with_an_extra_field_names_the_line(tmp_path):
    path = write(tmp_path, LONG.replace("b,1,20,2\n", "b,1,20,2,99\n"), "long.csv")
    with pytest.raises(ValueError, match=r"long\.csv: line 4 has 5 fields but the header has 4"):
        load_long_csv(path)


def test_as_panel_accepts_each_form_and_refuses_others(tmp_path):
    path = write(tmp_path, GOOD)
    panel = load_csv(path)
    assert as_panel(panel) is panel
    assert_same_panel(as_panel(path), panel)
    np.testing.assert_array_equal(as_panel((panel.y, panel.X)).y, panel.y)
    assert isinstance(as_panel(pd.read_csv(io.StringIO(LONG))), LongPanel)
    with pytest.raises(TypeError, match=r"data must be a Panel.*got list"):
        as_panel([1, 2])


def test_wide_frame_with_nan_is_a_panel_with_missing_weeks():
    frame = pd.DataFrame({"Price": [2.0, 3.0, 4.0], "S1": [10.0, np.nan, 6.0], "S2": [5, 4, 3]})
    panel = as_panel(frame)
    assert isinstance(panel, LongPanel)
    assert np.bincount(panel.store).tolist() == [2, 3]


@pytest.fixture
def copy_on_write():
    """pandas' copy-on-write mode (always on from pandas 3, an option before)."""
    if "mode.copy_on_write" not in pd.options.mode.__dir__():
        yield
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas 3 deprecates the option (it cannot be off)
        with pd.option_context("mode.copy_on_write", True):
            yield


@pytest.mark.parametrize("consolidated", [False, True])
def test_a_frame_slice_with_a_missing_cell_fits_and_is_left_as_it_was(copy_on_write, consolidated):
    from estimator import SalesMixture

    frame = pd.read_csv(REAL).iloc[:, :41]
    if consolidated:  # one float block: to_numpy() is a read-only view of the frame's memory
        frame = frame.copy()
    frame.iloc[3, 5] = np.nan
    before = frame.copy()
    model = SalesMixture(2, n_init=2, random_state=0).fit(frame)
    assert len(model.store_ids_) == 40 and np.isfinite(model.loglik_)
    pd.testing.assert_frame_equal(frame, before)  # nothing written into the caller's frame
    balanced = pd.read_csv(REAL).iloc[:, :41].copy()
    kept = balanced.copy()
    panel = load_csv(balanced)
    np.testing.assert_array_equal(panel.y, np.log(kept.iloc[:, 1:].to_numpy().T))
    pd.testing.assert_frame_equal(balanced, kept)


def test_wide_csv_timing_is_recorded_for_a_panel_of_the_requested_size(tmp_path):
    path = write_wide_csv(tmp_path / "w.csv", 20, 6, seed=1)
    assert load_csv(path).y.shape == (20, 6)
    out = tmp_path / "timing.json"
    record = record_wide_csv(out, 20, 6)  # raises if the loaded shape differs
    assert json.loads(out.read_text()) == record
    assert (record["n_stores"], record["n_weeks"]) == (20, 6) and record["cpu_seconds"] >= 0
    assert record["file_mb"] == pytest.approx(path.stat().st_size / 2**20, rel=0.2)
    assert record["command"].startswith("python -m simstudy.bench.csvread --stores 20 --weeks 6")


def test_estimator_modules_import_without_cycles():
    """panel.py and longpanel.py used to import each other; no module of estimator/ may."""
    package = Path(__file__).resolve().parents[1] / "estimator"
    graph = {}
    for path in package.glob("*.py"):
        tree = ast.parse(path.read_text())
        graph[path.stem] = {
            node.module.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module
        }
    state: dict[str, str] = {}

    def visit(module, trail):
        if state.get(module) == "open":
            raise AssertionError(f"import cycle: {' -> '.join([*trail, module])}")
        if module not in state:
            state[module] = "open"
            for imported in sorted(graph.get(module, ())):
                visit(imported, [*trail, module])
            state[module] = "done"

    for module in sorted(graph):
        visit(module, [])
    assert "longpanel" not in graph["panel"] and "csvio" not in graph["longpanel"]


def test_library_doc_quotes_the_committed_timing():
    root = Path(__file__).resolve().parents[1]
    record = json.loads((root / "outputs" / "csv_read" / "wide_csv.json").read_text())
    assert (record["n_stores"], record["n_weeks"]) == (10**6, 52)
    sentence = (
        f"the {record['file_mb']:.0f} MB\nfile was read in {record['seconds']:.1f} s "
        f"({record['cpu_seconds']:.1f} s of CPU) with a peak resident memory of "
        f"{record['peak_rss_mb'] / 1024:.1f} GB"
    )
    text = (root / "docs" / "library.md").read_text()
    assert " ".join(sentence.split()) in " ".join(text.split())


ODD_CELLS = ["", " ", "nan", "NaN", "NAN", "-nan", "n/a", "#N/A", "None", "null", "1e400",
             "-inf", "Infinity", "+INF", "abc", "=1+1", "1,5", '"', "1e-320", "3", "-0", "+.5",
             "5.", ".", "1e", "1e+", "0x10", "1_0", "\u0661", "1d5", "--1", "12345678901234567890",
             "1.0e+01", "True", "1j", "\u221e", "\x00", "e5"]  # fmt: skip


def test_cells_read_as_numbers_exactly_where_pandas_reads_them():
    # the wide reader classifies odd cells without pandas; pandas' to_numeric is the oracle
    from estimator.csvio import _classify

    numbers, absent, invalid = _classify([cell.strip() for cell in ODD_CELLS])
    expected = pd.to_numeric(pd.Series([c.strip() for c in ODD_CELLS], dtype=object),
                             errors="coerce").to_numpy(dtype=float)  # fmt: skip
    finite = np.isfinite(expected)
    np.testing.assert_array_equal(~(absent | invalid), finite)
    np.testing.assert_array_equal(numbers[finite], expected[finite])
    assert list(np.array(ODD_CELLS)[absent]) == ["", " ", "nan", "NaN", "NAN", "n/a", "#N/A",
                                                 "None", "null"]  # fmt: skip
