"""Temporary files under ``GHEE_MEDIA_TMP_DIR`` that a sweep can tell from a dead process's.

Downloads and uploads in progress live in ``GHEE_MEDIA_TMP_DIR`` (on disk, not a RAM-backed
``/tmp``). A process killed with SIGKILL leaves its files behind: after ~20 worker kills,
thousands of them (issue 20). Each temporary here is held under an exclusive ``flock`` for
as long as its owner needs it, so ``sweep_dead_temporaries`` deletes exactly the files no
live process holds, at any age: a worker calls it when it starts, and the hourly
``sweep_orphaned_media`` chore calls it too. A lock dies with its process (the kernel
releases it on exit, whatever the signal), and works across processes and containers that
share the directory on one host.

The creator and the sweep cannot both win: the creator locks the file it just created
(waiting if the sweep holds it) and then checks the file still has a name; if a sweep
locked and unlinked it in between, the creator simply makes another. The sweep deletes only
while it holds the lock. File names carry the owner's pid (``import-<pid>-...``) for people
reading the directory; the lock is what counts.
"""

import contextlib
import fcntl
import logging
import os
import tempfile
from pathlib import Path

from django.conf import settings

logger = logging.getLogger(__name__)


class Temporary:
    """A locked temporary file: ``path``, the open ``file`` to write, ``discard()`` when done.

    The lock is held on a duplicate descriptor, so closing ``file`` after writing keeps it;
    ``discard`` deletes the file and then releases the lock.
    """

    def __init__(self, prefix: str, suffix: str = "", directory: Path | None = None) -> None:
        directory = Path(directory or settings.GHEE_MEDIA_TMP_DIR)
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        while True:
            fd, name = tempfile.mkstemp(
                dir=directory, prefix=f"{prefix}-{os.getpid()}-", suffix=suffix
            )
            fcntl.flock(fd, fcntl.LOCK_EX)
            if os.fstat(fd).st_nlink:
                break
            os.close(fd)  # a sweep deleted it before the lock was ours: make another
        self.path = Path(name)
        self._lock = os.dup(fd)
        self.file = os.fdopen(fd, "w+b")

    def discard(self) -> None:
        """Delete the file and release its lock (safe to call twice)."""
        with contextlib.suppress(OSError):
            self.file.close()
        self.path.unlink(missing_ok=True)
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def __del__(self) -> None:
        # A temporary dropped without discard() (a bug) must not stay locked forever.
        if getattr(self, "_lock", None) is not None:
            with contextlib.suppress(Exception):  # e.g. at interpreter shutdown
                self.discard()


def sweep_dead_temporaries(directory: Path | None = None) -> int:
    """Delete every file in ``GHEE_MEDIA_TMP_DIR`` that no live process holds locked.

    Returns how many were deleted. Never deletes a file a live process is using: such a
    file is locked, and the lock is tried without waiting.
    """
    directory = Path(directory or settings.GHEE_MEDIA_TMP_DIR)
    if not directory.is_dir():
        return 0
    removed = 0
    for entry in os.scandir(directory):
        if not entry.is_file(follow_symlinks=False):
            continue
        try:
            fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue  # gone already
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue  # a live process holds it
        try:
            if os.fstat(fd).st_nlink:
                os.unlink(entry.path)
                removed += 1
        except FileNotFoundError:
            pass
        finally:
            os.close(fd)
    if removed:
        logger.info("media: deleted %d temporary files left by dead processes", removed)
    return removed
