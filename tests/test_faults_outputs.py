"""Outputs written whole, as a unit, with the user's umask; a mix of two runs is refused on read."""

from __future__ import annotations

import errno
import json
import math
import os
import stat
from pathlib import Path

import pytest

from experiments import fit_real
from simstudy.harness import files as atomic
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


def test_fit_real_interrupted_between_its_files_is_never_read_as_a_mix(
    tmp_path, monkeypatch, capsys
):
    fit(tmp_path, 1, 2)
    first = read_json_unit(tmp_path / "results.json")
    assert first["chosen_K"] == 2
    assert first["files"].keys() == {"real/store_segments.csv"}

    def disk_full(path, obj):  # the segments file was written, then the disk filled up
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(atomic, "write_json_atomic", disk_full)
    args = ["--data", str(DATA), "--out", str(tmp_path), "--n-init", "2", "--k", "1", "2", "3"]
    capsys.readouterr()
    assert fit_real.main(args) == 1
    assert capsys.readouterr().err == (
        f"error: cannot write {tmp_path / 'results.json'}: No space left on device\n"
    )
    assert json.loads((tmp_path / "results.json").read_text()) == first  # the old one, whole
    with pytest.raises(UnitMismatchError, match="real/store_segments.csv is not the file"):
        read_json_unit(tmp_path / "results.json")
    monkeypatch.undo()
    fit(tmp_path, 1, 2, 3)  # a complete rerun makes a consistent unit again
    assert read_json_unit(tmp_path / "results.json")["chosen_K"] == 3
