"""``/media/<key>/<filename>``: files from local media storage, as a CDN would serve them.

Stored files never change (their names are derived from their bytes), so every response is
cacheable for a year and ``immutable``, and the key doubles as a strong ETag. The type comes
from the extension ghee gave the file when it sniffed it, so serving needs no database query.
Bodies are streamed from disk in blocks: memory stays flat however large the file. Range
requests (one range) answer 206, which video players and download managers rely on.
"""

import os
import re

from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import FileSystemStorage, default_storage
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.views.decorators.http import require_safe

from ghee.media.storage import file_type_for_name

CACHE_CONTROL = "public, max-age=31536000, immutable"
# SVG can carry script: never let a browser run it as a page of ghee's origin.
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
BLOCK_SIZE = 64 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@require_safe
def serve_media(request, path: str):
    key, _, filename = path.partition("/")
    file_type = file_type_for_name(filename)
    if not key or not filename or "/" in filename or filename.startswith(".") or not file_type:
        raise Http404("No such file")
    if not isinstance(default_storage, FileSystemStorage):
        raise Http404("Media is served by the storage's own URL")  # S3: files live elsewhere
    try:
        full_path = default_storage.path(path)
        file = open(full_path, "rb")  # noqa: SIM115 (FileResponse closes it)
    except (SuspiciousFileOperation, FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise Http404("No such file") from None
    size = os.fstat(file.fileno()).st_size
    etag = f'"{key}"'
    if _matches(request.headers.get("If-None-Match"), etag):
        file.close()
        response = HttpResponse(status=304)
    else:
        response = _body(request, file, size, etag, file_type.content_type)
    response["ETag"] = etag
    response["Cache-Control"] = CACHE_CONTROL
    response["Accept-Ranges"] = "bytes"
    response["X-Content-Type-Options"] = "nosniff"
    if file_type.is_svg:
        response["Content-Security-Policy"] = SVG_POLICY
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    return header.strip() == "*" or etag in (
        tag.strip().removeprefix("W/") for tag in header.split(",")
    )


def _body(request, file, size: int, etag: str, content_type: str):
    span = _requested_range(request, size, etag)
    if span == "unsatisfiable":
        file.close()
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    if request.method == "HEAD":
        file.close()
        response = HttpResponse(content_type=content_type, status=206 if span else 200)
        start, end = span or (0, size - 1)
        response["Content-Length"] = str(end - start + 1)
    elif span is None:
        response = FileResponse(file, content_type=content_type)
    else:
        start, end = span
        response = StreamingHttpResponse(
            _file_slice(file, start, end - start + 1), status=206, content_type=content_type
        )
        response["Content-Length"] = str(end - start + 1)
    if span:
        response["Content-Range"] = f"bytes {span[0]}-{span[1]}/{size}"
    return response


def _requested_range(request, size: int, etag: str):
    """(first, last) byte for a single satisfiable range, None for the whole file.

    Several ranges, a malformed header, or an If-Range that no longer matches all mean "send
    the whole file", as RFC 9110 allows.
    """
    header = request.headers.get("Range")
    if not header:
        return None
    if_range = request.headers.get("If-Range")
    if if_range and if_range.strip() != etag:
        return None
    match = _RANGE.match(header.strip())
    if not match or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":  # the last N bytes
        length = int(last)
        if length == 0:
            return "unsatisfiable"
        return max(size - length, 0), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        return "unsatisfiable" if start >= size else None
    return start, end


def _file_slice(file, start: int, length: int):
    with file:
        file.seek(start)
        while length > 0:
            block = file.read(min(BLOCK_SIZE, length))
            if not block:
                return
            length -= len(block)
            yield block
