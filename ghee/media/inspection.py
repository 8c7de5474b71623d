"""The checks a downloaded file passes before it enters the media library.

The type comes from the bytes (``sniffing``) and must be allowed by
``GHEE_MEDIA_ALLOWED_TYPES``. Images are opened with Pillow restricted to the sniffed format:
opening reads only the header, so the pixel count is checked before anything is decoded (a
PNG claiming 50,000 x 50,000 pixels costs a few bytes of reading, not 10 GB of memory), then
``verify()`` walks the file's structure without decoding pixels. ghee never transforms
images, so it never needs their pixels.

Every step is bounded (issue 20; docs/media.md, "Bombs and budgets"):

- Pillow's plugins walk chunks and markers in Python, one read per step: a 24 MB PNG of
  two million empty chunks kept ``Image.open`` busy for 7 s. Pillow reads through
  ``_BudgetedFile``, which refuses the file past ``MAX_IMAGE_READS`` reads or
  ``GHEE_MEDIA_CHECK_SECONDS``; a real image needs a few hundred.
- An image whose pixels (4 bytes each, as a browser holds them) would take more than
  ``archives.expansion_cap`` of its file size is a decompression bomb (a 36-megapixel PNG of
  100 KB), refused from its header; the pixel count has its own cap as before.
- ZIP-based documents: entries counted and their declared and actual unpacked sizes bounded
  (``ghee.media.archives``); SVGs: recognised by a linear tokenizer (``ghee.media.svg``) and
  refused when their prolog declares entities.
"""

import struct
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from PIL import Image, UnidentifiedImageError

from ghee.media import archives, svg
from ghee.media.sniffing import ARCHIVE_TYPES, HEAD_BYTES, FileType, sniff, supported_types

# A real image is read in at most a few thousand pieces (PNG: three reads per chunk, so
# ~19,000 for 50 MiB in libpng's 8 KiB chunks; JPEG: one per marker); a crafted one in
# millions, each a step of a Python loop in Pillow.
MAX_IMAGE_READS = 30_000
BYTES_PER_PIXEL = 4


class MediaRejected(Exception):
    """A file ghee will not keep; ``str(exc)`` says why, for the client who sent the URL."""

    retryable = False


@dataclass(frozen=True)
class Inspection:
    file_type: FileType
    width: int | None = None
    height: int | None = None


def allowed_types() -> tuple[FileType, ...]:
    allowed = set(settings.GHEE_MEDIA_ALLOWED_TYPES)
    return tuple(t for t in supported_types() if not allowed or t.content_type in allowed)


def inspect_file(path: Path) -> Inspection:
    """What the file at ``path`` is; MediaRejected if it is not something ghee accepts."""
    with open(path, "rb") as file:
        try:
            file_type = sniff(file)
        except archives.ArchiveRefused as exc:
            raise _refused(exc) from None
        if file_type is None or file_type not in allowed_types():
            raise MediaRejected("not an allowed file type")
        if file_type.is_svg:
            _check_svg(file)
        elif file_type in ARCHIVE_TYPES:
            _check_archive(file)
    if file_type.pillow_format is None:
        return Inspection(file_type)
    width, height = _check_image(path, file_type)
    return Inspection(file_type, width, height)


def _refused(exc: archives.ArchiveRefused) -> MediaRejected:
    prefix = "too large" if exc.too_large else "not an allowed file type"
    return MediaRejected(f"{prefix}: {exc}")


def _check_svg(file) -> None:
    file.seek(0)
    if svg.read_prolog(file.read(HEAD_BYTES)).declares_entities:
        raise MediaRejected(
            "not an allowed file type: the SVG declares entities (<!ENTITY>); save it as plain SVG"
        )


def _check_archive(file) -> None:
    size = file.seek(0, 2)
    file.seek(0)
    try:
        with zipfile.ZipFile(file) as archive:
            archives.check_members(file, archive, size)
    except archives.ArchiveRefused as exc:
        raise _refused(exc) from None
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise MediaRejected("not an allowed file type: the archive is damaged") from None


# What Pillow raises on a damaged file varies by plugin.
_DAMAGED = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error)


def _check_image(path: Path, file_type: FileType) -> tuple[int, int]:
    limit = settings.GHEE_MEDIA_MAX_IMAGE_PIXELS
    try:
        with (
            open(path, "rb") as raw,
            Image.open(_BudgetedFile(raw), formats=[file_type.pillow_format]) as image,
        ):
            width, height = image.size
            if width * height > limit:
                raise MediaRejected(
                    f"too large: the image is {width} x {height} pixels (the limit is {limit})"
                )
            _check_expansion(width, height, path.stat().st_size)
            image.verify()
    except Image.DecompressionBombError:
        raise MediaRejected(f"too large: the image has more than {limit} pixels") from None
    except UnidentifiedImageError:
        raise MediaRejected("not an allowed file type: the image cannot be read") from None
    except _DAMAGED:
        raise MediaRejected("not an allowed file type: the image is damaged") from None
    return width, height


def _check_expansion(width: int, height: int, size: int) -> None:
    unpacked, cap = width * height * BYTES_PER_PIXEL, archives.expansion_cap(size)
    if unpacked > cap:
        raise MediaRejected(
            f"too large: the image's {width} x {height} pixels unpack to {unpacked} bytes "
            f"from a {size}-byte file, more than {settings.GHEE_MEDIA_MAX_EXPANSION} times "
            "its size (a decompression bomb)"
        )


class ImageBudgetSpent(MediaRejected):
    pass


class _BudgetedFile:
    """A file Pillow reads through, refused past ``MAX_IMAGE_READS`` reads or the deadline.

    Pillow catches many exceptions from its plugins' reads; ``ImageBudgetSpent`` is not one
    of the types it catches (it is neither OSError nor SyntaxError/ValueError/EOFError), so it
    reaches ``_check_image`` unchanged.
    """

    def __init__(self, raw) -> None:
        self._raw = raw
        self._reads = 0
        self._deadline = time.monotonic() + settings.GHEE_MEDIA_CHECK_SECONDS

    def read(self, size: int = -1) -> bytes:
        self._spend()
        return self._raw.read(size)

    def readline(self, size: int = -1) -> bytes:
        self._spend()
        return self._raw.readline(size)

    def _spend(self) -> None:
        self._reads += 1
        if self._reads > MAX_IMAGE_READS:
            raise ImageBudgetSpent(
                "not an allowed file type: the image has too many parts to check"
            )
        if time.monotonic() > self._deadline:
            raise ImageBudgetSpent("not an allowed file type: the image takes too long to check")

    def __getattr__(self, name):  # seek, tell, fileno, ...
        return getattr(self._raw, name)
