"""Sweeping stored files that no asset points at (the ``sweep_orphaned_media`` chore).

An import stores its file before the asset row commits (``services.store_media``), so a
worker killed in between, or an apply whose transaction rolled back, leaves a file with no
row. Usually the next import of the same bytes reuses it; one that never comes leaves it
forever. This chore deletes such files once they are older than
``GHEE_MEDIA_ORPHAN_GRACE_SECONDS`` (default a day):

- a file a committed ``MediaAsset`` points at is never deleted (rows are checked for each
  batch of candidates, and the file's age once more just before it is deleted);
- a file younger than the grace period is never deleted: it may belong to an import in
  flight. ``store_media`` reuses a stored copy only while it is younger than half the
  grace period and writes an older one again (which makes it young), so an import cannot
  pick up a file the sweep is about to delete;
- half-written ``.tmp-*`` files in local storage go the same way; leftovers of killed
  processes in ``GHEE_MEDIA_TMP_DIR`` (downloads and uploads in progress) go at any age,
  as soon as no live process holds them (``temporaries.sweep_dead_temporaries``, which a
  worker also runs when it starts).

Local storage is walked with ``os.scandir``; a bucket is listed with boto3 (1,000 objects
and their ages per request, instead of a request per file through the storage API).
"""

import contextlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage
from django.utils import timezone

from ghee.media.models import MediaAsset
from ghee.media.temporaries import sweep_dead_temporaries

BATCH = 500


def sweep_orphaned_media() -> dict[str, int]:
    cutoff = timezone.now() - timedelta(seconds=settings.GHEE_MEDIA_ORPHAN_GRACE_SECONDS)
    deleted = checked = 0
    batch: list[str] = []
    for name, modified in stored_files():
        if modified >= cutoff:
            continue
        checked += 1
        batch.append(name)
        if len(batch) == BATCH:
            deleted += _delete_orphans(batch, cutoff)
            batch = []
    if batch:
        deleted += _delete_orphans(batch, cutoff)
    temporaries = sweep_dead_temporaries()
    return {"deleted": deleted, "temporaries": temporaries, "old_files_checked": checked}


def _delete_orphans(names: list[str], cutoff: datetime) -> int:
    owned = set(MediaAsset.objects.filter(file__in=names).values_list("file", flat=True))
    deleted = 0
    for name in names:
        if name in owned:
            continue
        try:
            if default_storage.get_modified_time(name) >= cutoff:
                continue  # written again since it was listed: an import is using it
        except (FileNotFoundError, OSError):
            continue
        default_storage.delete(name)
        deleted += 1
        if isinstance(default_storage, FileSystemStorage):
            _remove_if_empty(Path(default_storage.path(name)).parent)
    return deleted


def _remove_if_empty(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not empty: another file of the same key
        directory.rmdir()


def stored_files() -> Iterator[tuple[str, datetime]]:
    """(storage name, last modified) of every file in the media storage."""
    if isinstance(default_storage, FileSystemStorage):
        yield from _local_files(Path(default_storage.location))
    else:
        yield from _bucket_files(default_storage)


def _local_files(root: Path) -> Iterator[tuple[str, datetime]]:
    if not root.is_dir():
        return
    for directory in os.scandir(root):
        if not directory.is_dir(follow_symlinks=False):
            continue
        for entry in os.scandir(directory.path):
            if entry.is_file(follow_symlinks=False):
                modified = datetime.fromtimestamp(entry.stat().st_mtime, tz=UTC)
                yield f"{directory.name}/{entry.name}", modified


def _bucket_files(storage) -> Iterator[tuple[str, datetime]]:
    prefix = storage.location.strip("/")
    for obj in storage.bucket.objects.filter(Prefix=f"{prefix}/" if prefix else ""):
        name = obj.key[len(prefix) + 1 :] if prefix else obj.key
        if name and not name.endswith("/"):
            yield name, obj.last_modified
