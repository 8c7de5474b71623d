"""Reading a ``multipart/form-data`` upload to temporary files: never whole into memory.

For endpoints that take files (``POST /v2/media/``). The body streams from ``wsgi.input``
through Django's ``MultiPartParser`` in ``CHUNK_SIZE`` pieces; each file part goes straight to
a temporary file the endpoint makes (on disk, not a RAM-backed ``/tmp``), so
memory stays flat however large the upload. Form fields (``alt``) are held in memory within
Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE``.

Limits, each answered the way ``core/request_body.py`` answers JSON bodies:

- a file part over ``max_file_bytes``: 413 ``too large: ...`` (``Connection: close``);
  a declared ``Content-Length`` that cannot fit: 413 before reading anything;
- the whole body not received by ``deadline`` (a monotonic time): 408, ``Connection: close``;
- ``Content-Encoding`` other than ``identity``: 415; a malformed multipart body: 400;
- more file parts than ``DATA_UPLOAD_MAX_NUMBER_FILES`` (100) or form fields than
  ``DATA_UPLOAD_MAX_NUMBER_FIELDS``: 400 naming the limit; form fields over
  ``DATA_UPLOAD_MAX_MEMORY_SIZE``: 413;
- a NUL character (``\\x00``) in any form field's name or value: 400 naming the field
  (PostgreSQL cannot store one in text, and no field has a use for it).

Every file part of a refused body is deleted before the answer goes out.

``Transfer-Encoding: chunked`` works: the stream is read to its end (granian hands it over
de-chunked with no ``Content-Length``), within the same caps.

Reads go through ``body_stream`` only. Under the ASGI bridge (``ghee serve --interface
asgi``) a read of ``wsgi.input`` itself stops at the request's body deadline; ``body_stream``
moves that deadline to the upload's (``extend_body_deadline``).
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.http.multipartparser import MultiPartParser, MultiPartParserError
from django.utils.datastructures import MultiValueDict
from rest_framework import exceptions

from ghee.core.errors import FieldErrors, PayloadTooLarge
from ghee.core.request_body import RequestTimeout, UnsupportedEncoding, extend_body_deadline

CHUNK_SIZE = 64 * 1024
# Room for the part headers, the boundaries and small form fields next to the file.
FORM_OVERHEAD = 64 * 1024
NUL = "\x00"


class TemporaryFile(Protocol):
    """Where a file part goes: an open binary ``file`` at ``path``; ``discard()`` deletes it
    (the caller's kind of temporary, e.g. ``ghee.media.temporaries.Temporary``)."""

    file: object
    path: Path

    def discard(self) -> None: ...


@dataclass
class UploadForm:
    """A parsed multipart body: text fields, and files on disk (closed, so deleted, by
    Django when the request ends, as ``request.FILES`` are)."""

    fields: dict[str, str] = field(default_factory=dict)
    files: MultiValueDict = field(default_factory=MultiValueDict)


def is_multipart(request) -> bool:
    return (request.content_type or "") == "multipart/form-data"


def read_upload(
    request,
    *,
    max_file_bytes: int,
    deadline: float,
    new_temporary: Callable[[], TemporaryFile],
) -> UploadForm:
    """The multipart body of ``request``, each file part streamed to a ``new_temporary()``
    (the endpoint's kind of temporary file, in its directory); or a 4xx."""
    meta = request.META
    encoding = meta.get("HTTP_CONTENT_ENCODING", "").strip().lower()
    if encoding and encoding != "identity":
        raise UnsupportedEncoding(encoding)
    limit = max_file_bytes + FORM_OVERHEAD
    declared = meta.get("CONTENT_LENGTH")
    if declared:
        try:
            wanted = int(declared)
        except ValueError:
            raise exceptions.ParseError("Invalid Content-Length header.") from None
        if wanted > limit:
            raise PayloadTooLarge(_too_large(max_file_bytes))
    elif "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower():
        wanted = None  # to the end of the stream
    else:
        wanted = 0  # HTTP/1.1: neither header, no body
    if wanted == 0:
        raise exceptions.ParseError("The multipart body is empty: send a file part.")
    stream = body_stream(request, wanted, limit, deadline, _too_large(max_file_bytes))
    # MultiPartParser takes the length from META; for a chunked body it reads to the end.
    parser_meta = {**meta, "CONTENT_LENGTH": str(wanted if wanted is not None else limit)}
    handler = _TemporaryFileHandler(request, max_file_bytes, new_temporary)
    try:
        fields, files = _parse(MultiPartParser(parser_meta, stream, [handler], request.encoding))
        _refuse_nul(fields)
    except BaseException:
        handler.discard_all()
        raise
    request._files = files  # closed (temporary files deleted) when the request ends
    return UploadForm(fields={name: fields.get(name) for name in fields}, files=files)


def _parse(parser: MultiPartParser):
    try:
        return parser.parse()
    except MultiPartParserError as exc:
        raise exceptions.ParseError(f"Multipart parse error - {exc}") from exc
    except TooManyFilesSent:
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FILES
        raise exceptions.ParseError(
            f"Too many file parts: an upload may have at most {limit}."
        ) from None
    except TooManyFieldsSent:
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        raise exceptions.ParseError(
            f"Too many form fields: an upload may have at most {limit}."
        ) from None
    except RequestDataTooBig:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raise PayloadTooLarge(
            f"too large: the form fields may have at most {limit} bytes"
        ) from None


def _refuse_nul(fields) -> None:
    errors = {}
    for name, values in fields.lists():
        if NUL in name or any(NUL in value for value in values):
            errors[name.replace(NUL, "\\x00")] = ["Must not contain NUL (\\x00) characters."]
    if errors:
        raise FieldErrors(errors)


def body_stream(request, wanted: int | None, limit: int, deadline: float, too_large: str):
    """``wsgi.input`` as a file the parser reads: ``wanted`` bytes (None: to the end, at
    most ``limit``), 413 past ``limit``, 408 once ``deadline`` passes before the end."""
    # Under the ASGI bridge a read itself waits only until the body deadline: give the
    # upload the same deadline as the pieces' check here.
    extend_body_deadline(request, max(deadline - time.monotonic(), 0))
    return _BoundedStream(request.META["wsgi.input"], wanted, limit, deadline, too_large)


class _BoundedStream:
    def __init__(self, stream, wanted, limit, deadline, too_large):
        self._stream, self._wanted, self._limit = stream, wanted, limit
        self._deadline, self._too_large = deadline, too_large
        self.received = 0

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = CHUNK_SIZE
        if self._wanted is not None:
            size = min(size, self._wanted - self.received)
            if size <= 0:
                return b""
        piece = self._stream.read(size)
        self.received += len(piece)
        if self.received > self._limit:
            raise PayloadTooLarge(self._too_large)
        if self._wanted is not None and not piece and self.received < self._wanted:
            raise exceptions.ParseError("Request body is shorter than its Content-Length.")
        if piece and time.monotonic() > self._deadline:
            raise RequestTimeout()
        return piece


def _too_large(max_file_bytes: int) -> str:
    return f"too large: a file may have at most {max_file_bytes} bytes"


class _TemporaryUpload(UploadedFile):
    """An uploaded file in a caller-made temporary file, deleted on close."""

    def __init__(self, temporary: TemporaryFile, name, content_type, charset, extra):
        self.temporary = temporary
        super().__init__(temporary.file, name, content_type, 0, charset, extra)

    def temporary_file_path(self) -> str:
        return str(self.temporary.path)

    def close(self):
        self.temporary.discard()


class _TemporaryFileHandler(FileUploadHandler):
    """Every file part to disk in ``CHUNK_SIZE`` pieces, at most ``max_bytes`` each."""

    chunk_size = CHUNK_SIZE

    def __init__(self, request, max_bytes: int, new_temporary: Callable[[], TemporaryFile]):
        super().__init__(request)
        self.max_bytes, self.new_temporary = max_bytes, new_temporary
        self.created: list[_TemporaryUpload] = []

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.file = _TemporaryUpload(
            self.new_temporary(), self.file_name, self.content_type, self.charset,
            self.content_type_extra,
        )  # fmt: skip
        self.created.append(self.file)
        self.written = 0

    def receive_data_chunk(self, raw_data, start):
        self.written += len(raw_data)
        if self.written > self.max_bytes:
            self.file.close()
            raise PayloadTooLarge(_too_large(self.max_bytes))
        self.file.write(raw_data)

    def file_complete(self, file_size):
        self.file.seek(0)
        self.file.size = file_size
        return self.file

    def discard_all(self) -> None:
        """Delete every file part written so far (the body was refused)."""
        for upload in self.created:
            upload.close()
