"""Serving ghee's WSGI application through an ASGI server, so no client can hold a thread by
sending part of a body and then nothing. ``ghee serve``'s default (``ghee.asgi``).

Why: under granian's WSGI interface, ``wsgi.input.read(n)`` waits for ``n`` bytes with no
timeout and cannot be interrupted, so a client with a valid write token that stalls halfway
through its body holds one of the server's Python threads until it disconnects, and every
request granian queues for that process waits behind it (granian keeps handing new
connections to a process whose threads are all busy).

Here the event loop receives a write's body (``await receive()``) *before* the request is
handed to Django: a body that stalls costs a coroutine, not a thread, and at the request's
body deadline Django gets what came, whose next read raises ``RequestTimeout`` at once (a
408 with ``Connection: close``). Only bodies worth waiting for are received first (the
*prefill*): those of requests carrying a credential (``Authorization``, a cookie,
``auth_token``), up to ``prefill_bytes`` each and ``prefill_budget`` in all per process. A
request with no credential is handed over at once, so its 401 still comes from the headers
and an anonymous client cannot make ghee hold its body; a larger body (an upload) is read
by its thread as it comes, each read waiting at most until the body's deadline (which the
reader may move: ``request_body.extend_body_deadline``).

Where Django runs: on a fixed pool of ``threads`` threads (fixed so each keeps its database
connection), for requests whose body is whole or that have none; requests whose body is
still coming (uploads, anonymous requests) run on ``threads`` *body threads* of their own,
so they never make whole requests queue. (Running whole requests on the loop's own thread
instead, to save the hand-off, was measured: faster for one connection, up to 3x slower for
reads at 16: docs/benchmarks.md, "Stalled bodies".)

Why not asgiref's ``WsgiToAsgi`` or Django's ASGI handler: the first reads the whole body
before calling the application (every anonymous slow body would be waited for) and runs it
on one shared thread; the second runs each request in a fresh thread context, so the
database connection would be opened per request instead of kept per thread.

Responses: a whole body (an ``HttpResponse``, or a list) is sent in one message; a whole file
(``FileResponse`` of a file on disk) is sent by the server from its path (ASGI's
``http.response.pathsend``, which granian supports), holding no thread; any other iterator
(a range of a media file) is sent from the thread as it is produced, in pieces of at least
``STREAM_PIECE`` bytes, each waiting for the client to take the previous one. Memory stays
flat however large the file.
"""

import asyncio
import functools
import os
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from urllib.parse import unquote_to_bytes

STREAM_PIECE = 64 * 1024
# A read that starts after the deadline (the request waited for a thread) still gets this
# long for data that is already on its way.
LATE_READ_GRACE = 0.5


class AsgiBody:
    """``wsgi.input`` for one request: reads wait on the event loop for the next chunk of the
    body, until ``deadline`` (``time.monotonic()``), then raise ``timeout_error``.

    ``deadline`` may be moved by the reader (``request_body.extend_body_deadline``), e.g.
    for an upload larger than a JSON body.
    """

    def __init__(
        self, loop, receive, deadline: float, timeout_error, length: int | None = None
    ) -> None:
        self._loop, self._receive = loop, receive
        self._length, self._received = length, 0  # declared (Content-Length), and so far
        self.deadline = deadline
        self._timeout_error = timeout_error
        self._buffer = bytearray()
        self._more = True
        self._pending = None  # the loop's receive() of the next message, once asked for
        self._expired = False  # the deadline passed while the loop was receiving it
        self._timed_out = False  # a read gave up: the rest of the body never came

    @property
    def finished(self) -> bool:
        """Whether all of the body has been received (or it ended early)."""
        if self._timed_out:
            return False
        return not self._more or (self._length is not None and self._received >= self._length)

    def ask(self) -> None:
        """On the loop: start receiving the next message. The bridge calls this as it hands
        the request to a thread, so a body sent with its headers (every normal client) is
        usually there when the application reads it, and is taken without a round trip
        through the loop."""
        self._pending = asyncio.ensure_future(self._receive())

    def _ask_and_hand_over(self, handoff: Future) -> None:
        """On the loop: the thread waits on ``handoff`` for the next message."""
        if self._pending is None:
            self.ask()
        self._pending.add_done_callback(functools.partial(_hand_over, handoff))

    def stop_asking(self) -> None:
        """On the loop: the request is over, or gave up waiting; drop the receive."""
        if self._pending is not None and not self._pending.done():
            self._pending.cancel()

    async def prefill(self, limit: int) -> None:
        """On the loop, before any thread is involved: receive the body until its end, until
        ``limit`` bytes, or until the deadline, whichever comes first. Past the deadline the
        body is *expired*: a read that needs more than what came raises at once, unless the
        reader moved the deadline (an upload); the receive in flight is kept for it."""
        while self._more and len(self._buffer) < limit:
            if self._pending is None:
                self.ask()
            left = self.deadline - time.monotonic()
            done, _ = await asyncio.wait({self._pending}, timeout=max(0.0, left))
            if not done:
                self._expired = True
                return
            message = self._pending.result()
            self._pending = None
            self._take(message)

    def _fill(self) -> bool:
        """Append the next chunk to the buffer; False at the end of the body."""
        if not self._more:
            return False
        pending = self._pending
        if pending is not None and pending.done():
            message = pending.result()
        elif self._expired and time.monotonic() >= self.deadline:
            self._more, self._timed_out = False, True
            self._loop.call_soon_threadsafe(self.stop_asking)
            raise self._timeout_error()
        else:
            handoff = Future()
            self._loop.call_soon_threadsafe(self._ask_and_hand_over, handoff)
            try:
                message = handoff.result(max(self.deadline - time.monotonic(), LATE_READ_GRACE))
            except TimeoutError:
                self._more, self._timed_out = False, True
                self._loop.call_soon_threadsafe(self.stop_asking)
                raise self._timeout_error() from None
        self._pending = None
        return self._take(message)

    def _take(self, message) -> bool:
        """Append ``message``'s chunk to the buffer; False at the end of the body."""
        if message["type"] != "http.request":  # http.disconnect: the body ends here
            self._more = False
            return False
        chunk = message.get("body", b"")
        self._buffer += chunk
        self._received += len(chunk)
        self._more = message.get("more_body", False)
        return True

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            while self._fill():
                pass
        else:
            while len(self._buffer) < size and self._fill():
                pass
            if len(self._buffer) > size:
                data = bytes(self._buffer[:size])
                del self._buffer[:size]
                return data
        data = bytes(self._buffer)
        self._buffer.clear()
        return data

    def readline(self, size: int = -1) -> bytes:
        while b"\n" not in self._buffer and (size < 0 or len(self._buffer) < size):
            if not self._fill():
                break
        end = self._buffer.find(b"\n") + 1 or len(self._buffer)
        if size >= 0:
            end = min(end, size)
        data = bytes(self._buffer[:end])
        del self._buffer[:end]
        return data

    def __iter__(self):
        while line := self.readline():
            yield line


def _hand_over(handoff: Future, received) -> None:
    """Pass the loop's ``received`` message to the thread waiting on ``handoff``."""
    if received.cancelled():
        handoff.cancel()
    elif (error := received.exception()) is not None:
        handoff.set_exception(error)
    else:
        handoff.set_result(received.result())


class EmptyBody:
    """``wsgi.input`` of a request that declared no body."""

    deadline = 0.0
    finished = True

    def read(self, size: int = -1) -> bytes:
        return b""

    def readline(self, size: int = -1) -> bytes:
        return b""

    def __iter__(self):
        return iter(())


EMPTY_BODY = EmptyBody()


class WsgiBridge:
    """An ASGI application running the WSGI ``application`` on fixed thread pools.

    ``body_timeout``: seconds from the request's arrival by which its body must have come;
    ``timeout_error``: what a read raises after that. ``prefill_bytes``: a body up to this
    size, of a request that carries a credential, is received on the loop before the request
    is handed to a thread; ``prefill_budget``: how many bytes of bodies may be waited for so
    at once (beyond it, requests are handed over at once, as larger ones are).
    """

    def __init__(
        self,
        application,
        *,
        threads: int,
        body_timeout: float,
        timeout_error,
        prefill_bytes: int = 0,
        prefill_budget: int = 0,
    ):
        self.application = application
        self.body_timeout = body_timeout
        self.timeout_error = timeout_error
        self.prefill_bytes, self.prefill_budget = prefill_bytes, prefill_budget
        self.prefilling = 0  # bytes of bodies being received on the loop (only the loop counts)
        # A ThreadPoolExecutor starts threads as calls come, up to its maximum, and keeps
        # them: each keeps its database connection, as granian's WSGI threads do.
        self.body_threads = ThreadPoolExecutor(threads, thread_name_prefix="ghee-body")
        self.threads = ThreadPoolExecutor(threads, thread_name_prefix="ghee")

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return  # lifespan: nothing to start; websockets are switched off (--no-ws)
        loop = asyncio.get_running_loop()
        environ = build_environ(scope)
        body_stream = None
        pool = self.threads
        if "CONTENT_LENGTH" in environ or "HTTP_TRANSFER_ENCODING" in environ:
            deadline = time.monotonic() + self.body_timeout
            length = environ.get("CONTENT_LENGTH", "")
            length = int(length) if length.isdigit() else None
            body_stream = AsgiBody(loop, receive, deadline, self.timeout_error, length)
            body_stream.ask()
            environ["wsgi.input"] = body_stream
            reserved = self.prefill_size(environ, length)
            if reserved:
                self.prefilling += reserved
                try:
                    await body_stream.prefill(reserved)
                finally:
                    self.prefilling -= reserved
            if not body_stream.finished:
                pool = self.body_threads  # its reads may wait for the client
        else:
            environ["wsgi.input"] = EMPTY_BODY
        extensions = scope.get("extensions") or {}
        responder = Responder(loop, send, can_send_files="http.response.pathsend" in extensions)
        try:
            status, headers, body = await loop.run_in_executor(
                pool, responder.run, self.application, environ
            )
        finally:
            if body_stream is not None:
                body_stream.stop_asking()
        if body is not None:
            await send({"type": "http.response.start", "status": status, "headers": headers})
            if isinstance(body, SendFile):
                await send({"type": "http.response.pathsend", "path": str(body)})
            else:
                await send({"type": "http.response.body", "body": body})

    def prefill_size(self, environ, length: int | None) -> int:
        """How many bytes of this request's body to receive on the loop first (0: none).

        A request with no credential at all (no ``Authorization``, no cookie, no
        ``auth_token``) is handed over at once: its answer (a 401) comes from its headers,
        and an anonymous client cannot make ghee hold its body. A body larger than
        ``prefill_bytes`` (an upload) is read by its thread as it comes."""
        credentials = (
            "HTTP_AUTHORIZATION" in environ
            or "HTTP_COOKIE" in environ
            or "auth_token=" in environ["QUERY_STRING"]
        )
        wanted = self.prefill_bytes if length is None else length
        if not credentials or wanted > self.prefill_bytes:
            return 0
        if self.prefilling + wanted > self.prefill_budget:
            return 0
        return wanted


class SendFile(str):
    """The path of a file the server sends itself (ASGI ``http.response.pathsend``)."""


class Responder:
    """Runs the application in a pool thread. What it answers goes back to the loop to send
    (a whole body, or a file's path for the server to send itself); an iterator is sent
    from the thread, piece by piece."""

    def __init__(self, loop, send, *, can_send_files: bool) -> None:
        self.loop, self.send = loop, send
        self.can_send_files = can_send_files
        self.status, self.headers = 500, []

    def start_response(self, status: str, headers, exc_info=None):
        self.status = int(status[:3])
        self.headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        return self._refuse_write

    @staticmethod
    def _refuse_write(data: bytes) -> None:
        raise NotImplementedError("ghee's bridge does not support WSGI write()")

    def run(self, application, environ) -> tuple[int, list, bytes | SendFile | None]:
        """(status, headers, what the loop still has to send: bytes, a file, or None)."""
        result = application(environ, self.start_response)
        if not environ["wsgi.input"].finished and (b"connection", b"close") not in self.headers:
            # Answered before its body was read (a 401 from the headers, a 413): the rest
            # of the body must not wait for a reader, nor be read as the next request.
            self.headers.append((b"connection", b"close"))
        try:
            # Django returns the HttpResponse itself: whole unless it says it streams.
            if isinstance(result, list) or getattr(result, "streaming", True) is False:
                return self.status, self.headers, b"".join(result)
            path = getattr(getattr(result, "file_to_stream", None), "name", None)
            if self.can_send_files and isinstance(path, str) and os.path.isabs(path):
                # A whole file (FileResponse): granian sends it from disk, holding no thread
                # however slowly the client reads.
                return self.status, self.headers, SendFile(path)
            self._stream(result)
            return self.status, self.headers, None
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()

    def _stream(self, result) -> None:
        self._send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        pending = bytearray()
        for piece in result:
            pending += piece
            if len(pending) >= STREAM_PIECE:
                self._send(
                    {"type": "http.response.body", "body": bytes(pending), "more_body": True}
                )
                pending.clear()
        self._send({"type": "http.response.body", "body": bytes(pending)})

    def _send(self, message: dict) -> None:
        """Send ``message`` from the loop, and wait until the client has room for more."""

        async def sending():
            await self.send(message)

        asyncio.run_coroutine_threadsafe(sending(), self.loop).result()


def build_environ(scope) -> dict:
    """The WSGI environ granian's WSGI interface would build for this request."""
    raw_path = scope.get("raw_path") or scope["path"].encode()
    if b"%" in raw_path:
        raw_path = unquote_to_bytes(raw_path)
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client")
    environ = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": "",
        "PATH_INFO": raw_path.decode("latin-1"),
        "QUERY_STRING": scope["query_string"].decode("latin-1"),
        "SERVER_PROTOCOL": f"HTTP/{scope['http_version']}",
        "SERVER_NAME": server[0],
        "SERVER_PORT": str(server[1]),
        "REMOTE_ADDR": client[0] if client else "",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for name, value in scope["headers"]:
        if name == b"content-length":
            key = "CONTENT_LENGTH"
        elif name == b"content-type":
            key = "CONTENT_TYPE"
        else:
            key = "HTTP_" + name.decode("latin-1").upper().replace("-", "_")
        value = value.decode("latin-1")
        if key in environ:
            value = environ[key] + (";" if key == "HTTP_COOKIE" else ",") + value
        environ[key] = value
    return environ
