"""Files written whole (simstudy.harness.files) honour the user's umask, as open() would."""

from __future__ import annotations

import os
import stat

import pytest

from simstudy.harness.files import current_umask, write_bytes_atomic, write_text_atomic


@pytest.fixture()
def umask():
    """Set the umask for one test, then restore it."""
    saved = os.umask(0o022)
    os.umask(saved)
    yield lambda mask: os.umask(mask)
    os.umask(saved)


def _mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_new_files_get_0666_less_the_umask(tmp_path, umask):
    umask(0o022)
    assert current_umask() == 0o022
    assert _mode(write_text_atomic(tmp_path / "a.json", "{}")) == 0o644
    umask(0o027)
    assert _mode(write_bytes_atomic(tmp_path / "b.png", lambda h: h.write(b"x"))) == 0o640
    umask(0o077)
    assert _mode(write_text_atomic(tmp_path / "c.csv", "x")) == 0o600


def test_a_replaced_file_keeps_its_mode(tmp_path, umask):
    umask(0o022)
    path = write_text_atomic(tmp_path / "results.json", "old")
    path.chmod(0o664)
    write_text_atomic(path, "new")
    assert _mode(path) == 0o664 and path.read_text() == "new"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
