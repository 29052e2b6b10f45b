"""Outputs written whole, as a unit, with the user's umask; a mix of two runs is refused on read."""

from __future__ import annotations

import math
import os
import stat
from pathlib import Path

import pytest

from experiments import fit_real
from simstudy.harness.files import (
    UnitMismatchError,
    read_json_unit,
    write_bytes_atomic,
    write_json_unit,
    write_text_atomic,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "609948.csv"


@pytest.fixture
def umask():
    """Set the process umask for one test, then restore it."""
    previous = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(previous)


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o077])
def test_atomic_writes_honour_the_umask(tmp_path, umask, mask):
    umask(mask)
    text = write_text_atomic(tmp_path / "a.txt", "x")
    binary = write_bytes_atomic(tmp_path / "b.bin", lambda handle: handle.write(b"x"))
    plain = tmp_path / "plain.txt"
    plain.write_text("x")  # what open() gives
    for path in (text, binary):
        assert (
            stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask == stat.S_IMODE(plain.stat().st_mode)
        )


def test_a_unit_round_trips_and_a_changed_companion_is_refused(tmp_path):
    path = write_json_unit(tmp_path / "r.json", {"a": 1}, {"sub/c.csv": "x,y\n1,2\n"})
    document = read_json_unit(path)
    assert document["a"] == 1 and set(document["files"]) == {"sub/c.csv"}
    (tmp_path / "sub" / "c.csv").write_text("x,y\n1,3\n")
    with pytest.raises(UnitMismatchError, match=r"sub/c.csv is not the file written with"):
        read_json_unit(path)
    (tmp_path / "sub" / "c.csv").unlink()
    with pytest.raises(UnitMismatchError, match=r"sub/c.csv: missing"):
        read_json_unit(path)


def test_a_document_json_refuses_writes_no_companion(tmp_path):
    with pytest.raises(ValueError):
        write_json_unit(tmp_path / "r.json", {"a": math.nan}, {"c.csv": "1\n"})
    assert list(tmp_path.iterdir()) == []


def test_a_torn_document_is_named(tmp_path):
    (tmp_path / "r.json").write_text('{"a": ')
    with pytest.raises(ValueError, match="r.json: line 1: not valid JSON"):
        read_json_unit(tmp_path / "r.json")


def fit(out, *ks):
    args = ["--data", str(DATA), "--out", str(out), "--n-init", "2", "--k", *map(str, ks)]
    assert fit_real.main(args) == 0


def fill(disk, leave_pages):
    """Fill the tmpfs ``disk`` but ``leave_pages`` pages of 4 kB."""
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    with open(disk / "filler", "ab") as handle:
        handle.write(b"\0" * (free - leave_pages * 4096))
    assert os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize == leave_pages * 4096


def test_fit_real_on_a_full_disk_names_the_file_and_keeps_the_previous_pair(small_disk, capsys):
    if small_disk is None:
        pytest.skip("needs a tmpfs (root, mount)")
    out = small_disk / "out"
    fit(out, 1, 2)  # 3 + 3 pages
    first = read_json_unit(out / "results.json")
    # 5 pages: the new segments file (20 kB) fits, results.json (14 kB) no longer does
    fill(small_disk, 5)
    for folder in (out, small_disk / "new"):
        capsys.readouterr()
        args = ["--data", str(DATA), "--out", str(folder), "--n-init", "2", "--k", "1", "2", "3"]
        assert fit_real.main(args) == 1
        err = capsys.readouterr().err
        named = [folder / "results.json", folder / "real" / "store_segments.csv"]
        assert err in [f"error: cannot write {f}: No space left on device\n" for f in named]
        assert not [p.name for p in folder.rglob(".*.tmp")]  # no temporary file left
    assert read_json_unit(out / "results.json") == first  # the previous pair, whole
    assert not (small_disk / "new" / "real" / "store_segments.csv").exists()  # never alone
    assert not (small_disk / "new" / "results.json").exists()


def test_the_report_refuses_a_results_json_beside_another_runs_segments(tmp_path):
    from simstudy.writeup.real import load_real

    outputs = Path(__file__).resolve().parents[1] / "outputs"
    (tmp_path / "real").mkdir()
    results = tmp_path / "results.json"
    results.write_bytes((outputs / "results.json").read_bytes())
    segments = tmp_path / "real" / "store_segments.csv"
    lines = (outputs / "real" / "store_segments.csv").read_text().splitlines(keepends=True)
    segments.write_text("".join([lines[0], lines[2], lines[1], *lines[3:]]))  # another run's
    with pytest.raises(UnitMismatchError, match=f"{segments} is not the file written with"):
        load_real(results, segments, DATA)


FORMULAS = ["=1+2", "+1+1", "-2+3", "@SUM(A1)", "'quoted"]


def test_ids_a_spreadsheet_would_run_are_quoted_and_read_back(tmp_path):
    from simstudy.writeup.real import load_real

    rows = [line.split(",")[:13] for line in DATA.read_text().splitlines()]
    rows[0][1:6] = FORMULAS  # store names (the header of a wide file)
    data = tmp_path / "formulas.csv"
    data.write_text("".join(",".join(row) + "\n" for row in rows))
    args = ["--data", str(data), "--out", str(tmp_path), "--n-init", "2", "--k", "1", "2"]
    assert fit_real.main(args) == 0
    segments = tmp_path / "real" / "store_segments.csv"
    written = [row.split(",")[0] for row in segments.read_text().splitlines()[1:7]]
    assert written == [f"'{name}" for name in FORMULAS] + ["Sales6"]
    real = load_real(tmp_path / "results.json", segments, data)
    assert list(real.segments["store"][:6]) == [*FORMULAS, "Sales6"]
