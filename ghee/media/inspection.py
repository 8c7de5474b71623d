"""The checks a downloaded file passes before it enters the media library.

The type comes from the bytes (``sniffing``) and must be allowed by
``GHEE_MEDIA_ALLOWED_TYPES``. Images are opened with Pillow restricted to the sniffed format:
opening reads only the header, so the pixel count is checked before anything is decoded (a
PNG claiming 50,000 x 50,000 pixels costs a few bytes of reading, not 10 GB of memory), then
``verify()`` walks the file's structure without decoding pixels. ghee never transforms
images, so it never needs their pixels.
"""

import struct
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from PIL import Image, UnidentifiedImageError

from ghee.media.sniffing import FileType, sniff, supported_types


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
        file_type = sniff(file)
    if file_type is None or file_type not in allowed_types():
        raise MediaRejected("not an allowed file type")
    if file_type.pillow_format is None:
        return Inspection(file_type)
    width, height = _check_image(path, file_type)
    return Inspection(file_type, width, height)


# What Pillow raises on a damaged file varies by plugin.
_DAMAGED = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error)


def _check_image(path: Path, file_type: FileType) -> tuple[int, int]:
    limit = settings.GHEE_MEDIA_MAX_IMAGE_PIXELS
    try:
        with Image.open(path, formats=[file_type.pillow_format]) as image:
            width, height = image.size
            if width * height > limit:
                raise MediaRejected(
                    f"too large: the image is {width} x {height} pixels (the limit is {limit})"
                )
            image.verify()
    except Image.DecompressionBombError:
        raise MediaRejected(f"too large: the image has more than {limit} pixels") from None
    except UnidentifiedImageError:
        raise MediaRejected("not an allowed file type: the image cannot be read") from None
    except _DAMAGED:
        raise MediaRejected("not an allowed file type: the image is damaged") from None
    return width, height
