"""Bringing files into the media library, in two steps a job can split around its transaction.

``fetch_media(url)`` does everything slow or dangerous and touches no database: it downloads
through ``ghee.core.egress`` (the SSRF-safe client) to a temporary file while hashing,
sniffs the type, and checks images. ``store_media(organization_id, fetched)`` then puts the
file in storage (unless a copy is already there) and creates or finds the asset row: call it
inside the transaction that uses the asset. Between the two, nothing holds a database
connection for the length of a download.

``import_from_url`` is both steps for callers without a transaction of their own (the
``ghee media import`` command). docs/media.md describes the guarantees.
"""

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import DatabaseError, IntegrityError, transaction

from ghee.accounts.models import Organization
from ghee.core import egress
from ghee.media.inspection import MediaRejected, inspect_file
from ghee.media.models import MediaAsset
from ghee.media.sniffing import FileType
from ghee.media.storage import asset_key, safe_filename, stored_copy
from ghee.media.temporaries import Temporary

logger = logging.getLogger(__name__)
NUL = "\x00"


class MediaImportError(Exception):
    """Why a file did not become an asset, in words for the client who sent it.

    ``retryable`` says whether the same request may succeed later (time-outs, connection
    errors, 5xx, 429 with ``retry_after`` when the server said when).
    """

    def __init__(self, message: str, *, retryable: bool = False, retry_after: str | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


@dataclass
class FetchedMedia:
    """A checked file in a temporary place, waiting for ``store_media``.

    Use it as a context manager (or call ``discard``) so the temporary file goes away.
    """

    source_url: str
    path: Path
    sha256: str
    size: int
    file_type: FileType
    filename: str
    width: int | None = None
    height: int | None = None
    # The locked temporary holding the file (None: a file the caller owns).
    temporary: Temporary | None = field(default=None, repr=False, compare=False)

    def discard(self) -> None:
        if self.temporary is not None:
            self.temporary.discard()
        else:
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> "FetchedMedia":
        return self

    def __exit__(self, *exc_info) -> None:
        self.discard()


def fetch_media(url: str, *, timeout: float | None = None) -> FetchedMedia:
    """Download ``url`` and check it. Raises MediaImportError; needs no database.

    ``timeout``: seconds for the whole download (default ``GHEE_EGRESS_TIMEOUT``).
    """
    # On disk under the data directory, not /tmp (often RAM); locked while this process
    # lives, so a sweep after a crash deletes it (``ghee.media.temporaries``).
    temporary = Temporary("import")
    try:
        with temporary.file as out:
            digest, size = _download(url, out, timeout)
        return _checked(temporary, digest, size, source_url=url, name_from=url)
    except BaseException:
        temporary.discard()
        raise


def receive_upload(upload: BinaryIO, filename: str) -> FetchedMedia:
    """The same checks for a file a client uploaded (``upload`` is any binary file object)."""
    temporary = Temporary("import")
    try:
        digest, size = hashlib.sha256(), 0
        with temporary.file as out:
            while chunk := upload.read(egress.CHUNK_SIZE):
                size += len(chunk)
                if size > settings.GHEE_MEDIA_MAX_BYTES:
                    raise MediaImportError(
                        f"too large: more than {settings.GHEE_MEDIA_MAX_BYTES} bytes"
                    )
                digest.update(chunk)
                out.write(chunk)
        return _checked(temporary, digest, size, source_url="", name_from=f"/{filename}")
    except BaseException:
        temporary.discard()
        raise


def _download(url: str, out: BinaryIO, timeout: float | None):
    digest, size = hashlib.sha256(), 0
    # Media has its own cap; the egress cap (the default for every fetch) still applies.
    max_bytes = min(settings.GHEE_MEDIA_MAX_BYTES, settings.GHEE_EGRESS_MAX_BYTES)
    try:
        with egress.open_url(
            url, purpose="media import", max_bytes=max_bytes, timeout=timeout
        ) as response:
            response.raise_for_status()
            for chunk in response.iter_bytes():
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
    except egress.HTTPStatusError as exc:
        raise MediaImportError(
            str(exc), retryable=exc.retryable, retry_after=exc.retry_after
        ) from exc
    except egress.EgressError as exc:
        raise MediaImportError(str(exc), retryable=exc.retryable) from exc
    return digest, size


def _checked(
    temporary: Temporary, digest, size: int, *, source_url: str, name_from: str
) -> FetchedMedia:
    if size == 0:
        raise MediaImportError("not an allowed file type: the file is empty")
    try:
        inspection = inspect_file(temporary.path)
    except MediaRejected as exc:
        raise MediaImportError(str(exc)) from exc
    return FetchedMedia(
        source_url=source_url,
        path=temporary.path,
        temporary=temporary,
        sha256=digest.hexdigest(),
        size=size,
        file_type=inspection.file_type,
        filename=safe_filename(name_from, inspection.file_type),
        width=inspection.width,
        height=inspection.height,
    )


def store_media(organization_id: int, fetched: FetchedMedia, *, alt: str = "") -> MediaAsset:
    """The organization's asset for these bytes: found, or stored and created.

    Safe to repeat and to race: a file an interrupted run already stored is reused (the name
    is derived from the bytes), and of two concurrent creations one wins the unique
    (organization, sha256) constraint and the other returns the winner's row (removing the
    copy it wrote, if the winner's file has another name). ``alt`` fills
    an empty alt text; it never replaces one.
    """
    return add_to_library(organization_id, fetched, alt=alt)[0]


def add_to_library(
    organization_id: int, fetched: FetchedMedia, *, alt: str = ""
) -> tuple[MediaAsset, bool]:
    """``store_media``, also saying whether the asset is new (``POST /v2/media/``: 201/200)."""
    if NUL in alt:  # PostgreSQL cannot store it: refused before any file is written
        raise MediaImportError("alt: must not contain NUL (\\x00) characters")
    asset = MediaAsset.objects.filter(
        organization_id=organization_id, sha256=fetched.sha256
    ).first()
    if asset is not None:
        return _with_alt(asset, alt), False
    name = stored_copy(organization_id, fetched.sha256, fetched.size)
    written = name is None
    if written:
        name = f"{asset_key(organization_id, fetched.sha256)}/{fetched.filename}"
        with open(fetched.path, "rb") as source:
            name = default_storage.save(name, File(source, name=fetched.filename))
    try:
        with transaction.atomic():
            asset = MediaAsset.objects.create(
                organization_id=organization_id,
                file=name,
                source_url=fetched.source_url,
                content_type=fetched.file_type.content_type,
                size=fetched.size,
                sha256=fetched.sha256,
                width=fetched.width,
                height=fetched.height,
                alt_text=alt,
            )
    except IntegrityError:
        # A concurrent import of the same bytes committed first. If it came from a URL with
        # another file name, the copy this run wrote is nobody's: remove it.
        asset = MediaAsset.objects.get(organization_id=organization_id, sha256=fetched.sha256)
        if written and name != asset.file.name:
            default_storage.delete(name)
        return _with_alt(asset, alt), False
    except DatabaseError:
        if written:  # no row will point at the copy this run just wrote
            default_storage.delete(name)
        raise
    logger.debug("media: stored %s (%s, %d bytes)", name, asset.content_type, asset.size)
    return asset, True


def _with_alt(asset: MediaAsset, alt: str) -> MediaAsset:
    if alt and not asset.alt_text:
        asset.alt_text = alt
        asset.save(update_fields=["alt_text"])
    return asset


def import_from_url(organization: Organization, url: str, alt: str = "") -> MediaAsset:
    """The asset for ``url`` in ``organization``'s library, downloading it if needed."""
    return add_from_url(organization.id, url, alt=alt)[0]


def add_from_url(
    organization_id: int, url: str, *, alt: str = "", timeout: float | None = None
) -> tuple[MediaAsset, bool]:
    """(the asset for ``url``, whether it is new): one of ghee's own media URLs is kept
    without a download; anything else is fetched (within ``timeout`` seconds) and stored."""
    own = own_asset_for_url(organization_id, url)
    if own is not None:
        return _with_alt(own, alt), False
    with fetch_media(url, timeout=timeout) as fetched, transaction.atomic():
        return add_to_library(organization_id, fetched, alt=alt)


def add_upload(
    organization_id: int, upload: BinaryIO, filename: str, *, alt: str = ""
) -> tuple[MediaAsset, bool]:
    """(the asset for an uploaded file, whether it is new), through the same checks."""
    with receive_upload(upload, filename) as fetched, transaction.atomic():
        return add_to_library(organization_id, fetched, alt=alt)


def media_base_urls() -> list[str]:
    """The URL prefixes under which ghee's own media files are served."""
    probe = "probe"
    bases = [default_storage.url(probe).split("?", 1)[0].removesuffix(probe)]
    if settings.GHEE_MEDIA_URL and settings.GHEE_MEDIA_URL not in bases:
        bases.append(settings.GHEE_MEDIA_URL)
    local = f"{settings.PUBLIC_URL}/media/"
    if not settings.GHEE_S3_BUCKET and local not in bases:
        bases.append(local)
    return bases


def own_asset_for_url(organization_id: int, url: str) -> MediaAsset | None:
    """The organization's asset if ``url`` is one of ghee's own media URLs for it.

    Such a URL is kept as it is (no download). A ghee media URL of another organization, or
    of no asset, returns None.
    """
    return own_assets_for_urls(organization_id, [url]).get(url)


def own_assets_for_urls(organization_id: int, urls: Iterable[str]) -> dict[str, MediaAsset]:
    """``own_asset_for_url`` for many URLs in one query (a job's values, a page of reads)."""
    bases = media_base_urls()
    names: dict[str, str] = {}
    for url in urls:
        for base in bases:
            if url and url.startswith(base):
                names[url] = unquote(urlsplit(url[len(base) :]).path)
                break
    if not names:
        return {}
    assets = MediaAsset.objects.filter(
        organization_id=organization_id, file__in=set(names.values())
    )
    by_name = {asset.file.name: asset for asset in assets}
    return {url: by_name[name] for url, name in names.items() if name in by_name}


def alt_text_by_url(organization_id: int, urls: Iterable[str]) -> dict[str, str]:
    """The alt text of each of ghee's own media URLs (for reads with ``alt_media_text=1``)."""
    return {
        url: asset.alt_text for url, asset in own_assets_for_urls(organization_id, urls).items()
    }


def delete_asset(asset: MediaAsset) -> None:
    """Delete the row, then its file once the deletion is committed."""
    name = asset.file.name
    asset.delete()
    transaction.on_commit(lambda: default_storage.delete(name))
