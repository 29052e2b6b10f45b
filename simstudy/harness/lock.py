"""One writer per study folder: an exclusive lock file holding the holder's PID and host.

A kernel ``flock`` on ``DIR/.study.lock``: released when its process dies however it dies
(even ``kill -9``) and not inherited by workers (PEP 446); the file's text names the
holder in a refusal. On release the file is removed; a run that locked a file just
removed by another retries.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

LOCK_NAME = ".study.lock"


class StudyLockedError(RuntimeError):
    """Another live process holds the study folder."""


@dataclass
class FolderLock:
    """A held lock on a study ``folder``: ``fd``, the lock file's descriptor (holds the
    flock); ``identity``, the folder's (device, inode) when locked; ``took_over``, a dead
    run's lock that was taken over ("" when none)."""

    folder: Path
    fd: int
    identity: tuple[int, int]
    took_over: str = ""

    @property
    def path(self) -> Path:
        """The lock file."""
        return self.folder / LOCK_NAME

    def intact(self) -> bool:
        """Whether the folder and lock file are still the ones locked (not deleted or replaced)."""
        try:
            folder = os.stat(self.folder)
            lock = os.stat(self.path)
        except OSError:
            return False
        mine = os.fstat(self.fd)
        same_lock = (lock.st_dev, lock.st_ino) == (mine.st_dev, mine.st_ino)
        return (folder.st_dev, folder.st_ino) == self.identity and same_lock

    def release(self) -> None:
        """Remove the lock file (if it is still ours) and drop the lock."""
        if self.fd < 0:
            return
        try:
            if self.intact():
                self.path.unlink(missing_ok=True)
        finally:
            os.close(self.fd)  # closing drops the flock
            self.fd = -1


def _holder(text: str) -> str:
    try:
        info = json.loads(text)
        return f"process {info['pid']} on host {info['host']} (since {info['started']})"
    except (ValueError, KeyError, TypeError):
        return "another process"


def acquire(folder: str | Path) -> FolderLock:
    """Lock ``folder`` (created if needed) for this process; :class:`StudyLockedError`
    naming the holder's PID and host when a live process holds it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    for _ in range(100):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            os.close(fd)
            if err.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            holder = _holder(path.read_text(encoding="utf-8", errors="replace"))
            raise StudyLockedError(
                f"{folder} is in use by {holder}; wait for it to finish or use another --out"
            ) from None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if not same:  # removed by its previous holder between our open and our flock
            os.close(fd)
            continue
        previous = os.pread(fd, 4096, 0).decode("utf-8", errors="replace")
        stat = os.stat(folder)
        lock = FolderLock(folder, fd, (stat.st_dev, stat.st_ino))
        if previous.strip():  # the file of a run that died without removing it
            lock.took_over = f"took over the stale lock of {_holder(previous)}, which is gone"
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode("utf-8"), 0)
        return lock
    raise StudyLockedError(f"{folder}: could not lock {path} (it keeps being replaced)")
