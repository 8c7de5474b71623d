"""Where media files live: names, and the two storage backends (local disk, S3-compatible).

A stored name is ``<key>/<filename>``. The key is an HMAC (keyed by SECRET_KEY) of the
organization and the file's SHA-256, so

- the same bytes in one organization always get the same key: a re-run of an import that
  crashed after storing the file finds it instead of storing it again;
- nobody can derive a key from a file's hash or enumerate keys, so an asset's URL is only
  known to whoever was given it.

Files are written once and never change, which is what lets them be served with
``Cache-Control: immutable``.
"""

import os
import tempfile
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.text import slugify

from ghee.media.sniffing import BY_EXTENSION, FileType

KEY_LENGTH = 32


def asset_key(organization_id: int, sha256: str) -> str:
    return salted_hmac(
        "ghee.media.asset-key", f"{organization_id}:{sha256}", algorithm="sha256"
    ).hexdigest()[:KEY_LENGTH]


def safe_filename(url: str, file_type: FileType) -> str:
    """A readable, URL-safe file name: the URL's last path segment, with the sniffed extension."""
    # Only 80 characters are kept: slugify (linear, but per character) sees at most 400.
    last = unquote(urlsplit(url).path.rstrip("/").rpartition("/")[2])[:400]
    stem = slugify(last.rsplit(".", 1)[0] if "." in last else last)[:80].strip("-_")
    return f"{stem or 'file'}.{file_type.extension}"


def file_type_for_name(name: str) -> FileType | None:
    """The type of a stored file, from the extension ghee gave it when storing it."""
    return BY_EXTENSION.get(name.rpartition(".")[2].lower()) if "." in name else None


def stored_copy(organization_id: int, sha256: str, size: int) -> str | None:
    """The name of a complete stored copy of these bytes, if an earlier run left one.

    Only a copy younger than half of ``GHEE_MEDIA_ORPHAN_GRACE_SECONDS`` counts: an older one
    may be deleted by the orphan sweep (``ghee.media.orphans``) before this import commits,
    so the caller writes it again instead, which makes it young.
    """
    key = asset_key(organization_id, sha256)
    try:
        _, files = default_storage.listdir(key)
    except FileNotFoundError:
        return None
    fresh_after = timezone.now() - timedelta(seconds=settings.GHEE_MEDIA_ORPHAN_GRACE_SECONDS / 2)
    for filename in sorted(files):
        name = f"{key}/{filename}"
        if (
            not filename.startswith(".")
            and default_storage.size(name) == size
            and default_storage.get_modified_time(name) > fresh_after
        ):
            return name
    return None


class MediaFileStorage(FileSystemStorage):
    """Local disk under GHEE_MEDIA_ROOT.

    Names are content-addressed, so saving a name that exists means saving the same bytes
    again: it replaces the file atomically (write a temporary file, then rename) instead of
    inventing a second name, and a reader never sees a half-written file.
    """

    def get_available_name(self, name, max_length=None):
        return name

    def _save(self, name, content):
        full_path = Path(self.path(name))
        full_path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_path = tempfile.mkstemp(dir=full_path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in content.chunks():
                    out.write(chunk)
            os.chmod(temp_path, settings.FILE_UPLOAD_PERMISSIONS or 0o644)
            os.replace(temp_path, full_path)
        except BaseException:
            Path(temp_path).unlink(missing_ok=True)
            raise
        return name
