"""Reading a request body whole, within a size cap and a deadline, or refusing it.

Why not ``request.body``: Django reads ``CONTENT_LENGTH`` bytes of ``wsgi.input`` and
nothing when there is none, so a chunked body (``Transfer-Encoding: chunked``, what Python
``requests`` sends for a generator) silently reads as empty. granian hands a chunked body to
WSGI de-chunked, with no ``CONTENT_LENGTH``, readable to its end.

Deadlines: a body must have arrived ``GHEE_BODY_READ_TIMEOUT`` seconds after the request's
headers; later, ``408`` with ``Connection: close`` and nothing accepted.

- Under ``ghee serve``'s default ASGI interface (``core/asgi_bridge.py``), the body of a
  request with a credential is received by the event loop before this code runs, holding
  no thread; past the deadline, a read that needs more than what came raises
  ``RequestTimeout`` at once. Any other body (an upload, an anonymous request) is read as it
  comes, every read of ``wsgi.input`` waiting at most until that deadline. This holds for
  any reader of ``wsgi.input`` (this module, Django's ``request.read()`` and multipart
  parser, an upload streamed to a file); a reader that needs longer (a large upload) moves
  the deadline with ``extend_body_deadline``.
- Between reads the clock is checked too (a client trickling a byte at a time), which is
  all that ``ghee serve --interface wsgi`` has: there granian's ``wsgi.input.read(n)``
  blocks without a timeout, and a client that stalls mid-body holds its thread until it
  disconnects (docs/api-layer.md: a body-buffering proxy in front).

Only a client holding a valid write token gets this far (``core/api.py`` authenticates
from the headers before any body is read); see docs/api-layer.md, "Limits and slow clients".

- A declared ``Content-Length`` above ``GHEE_MAX_BODY_BYTES``: 413 without reading.
- ``Transfer-Encoding: chunked``: read to the end; more than the cap: 413. Neither
  header: no body (HTTP/1.1; ``ghee serve`` speaks nothing else).
- A body that ends before its declared length: 400.
- ``Content-Encoding`` other than ``identity``: 415 (ghee does not decompress bodies).
"""

import time

from django.conf import settings
from rest_framework import exceptions, status

from ghee.core.errors import PayloadTooLarge

READ_PIECE = 16 * 1024


class RequestTimeout(exceptions.APIException):
    """408: the body did not arrive in time; the connection is closed after the answer."""

    status_code = status.HTTP_408_REQUEST_TIMEOUT
    default_detail = "Request body was not received in time."
    default_code = "request_timeout"
    close_connection = True


class UnsupportedEncoding(exceptions.UnsupportedMediaType):
    def __init__(self, encoding: str) -> None:
        super().__init__(
            encoding, detail=f'Unsupported Content-Encoding "{encoding}": send the body as is.'
        )


def read_body(request) -> bytes:
    """The whole body of a Django ``request`` (also kept as ``request.body``), or a 4xx."""
    meta = request.META
    encoding = meta.get("HTTP_CONTENT_ENCODING", "").strip().lower()
    if encoding and encoding != "identity":
        raise UnsupportedEncoding(encoding)
    limit = settings.GHEE_MAX_BODY_BYTES
    declared = meta.get("CONTENT_LENGTH")
    if declared:
        try:
            length = int(declared)
        except ValueError:
            raise exceptions.ParseError("Invalid Content-Length header.") from None
        if length > limit:
            raise PayloadTooLarge()
        if length <= 0:
            return _keep(request, b"")
        wanted = length
    elif "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower():
        wanted = limit + 1  # read to the end; one byte more tells a body over the cap
    else:
        return _keep(request, b"")  # HTTP/1.1: neither header, no body
    raw = _read(meta["wsgi.input"], wanted, time.monotonic() + settings.GHEE_BODY_READ_TIMEOUT)
    if len(raw) > limit:
        raise PayloadTooLarge()
    if declared and len(raw) < wanted:
        raise exceptions.ParseError("Request body is shorter than its Content-Length.")
    return _keep(request, raw)


def _read(stream, wanted: int, deadline: float) -> bytes:
    """Up to ``wanted`` bytes of ``stream`` (fewer at its end), a piece at a time; 408 when
    the deadline passes before the end."""
    pieces, received = [], 0
    while received < wanted:
        piece = stream.read(min(READ_PIECE, wanted - received))
        if not piece:
            break
        pieces.append(piece)
        received += len(piece)
        if received < wanted and time.monotonic() > deadline:
            raise RequestTimeout()
    return pieces[0] if len(pieces) == 1 else b"".join(pieces)


def extend_body_deadline(request, seconds: float) -> None:
    """Give the rest of ``request``'s body ``seconds`` from now (e.g. an upload whose size
    calls for longer than ``GHEE_BODY_READ_TIMEOUT``). Only the ASGI bridge (``ghee serve``'s
    default) enforces a deadline inside a read; elsewhere this does nothing."""
    stream = request.META.get("wsgi.input")
    if hasattr(stream, "deadline"):
        stream.deadline = time.monotonic() + seconds


def _keep(request, raw: bytes) -> bytes:
    request._body = raw  # Django's cache for request.body: the stream is consumed
    return raw
