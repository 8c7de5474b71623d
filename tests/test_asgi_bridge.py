"""ghee/core/asgi_bridge.py without a server: the environ it builds, ``wsgi.input`` reading
from an event loop with a deadline, and how responses are handed to the ASGI server.
(Through a real ``ghee serve``: tests/test_slow_writers.py and tests/test_hostile_http.py.)"""

import asyncio
import threading
import time

import pytest
from django.http import FileResponse, HttpResponse, StreamingHttpResponse

from ghee.core.asgi_bridge import STREAM_PIECE, AsgiBody, WsgiBridge, build_environ
from ghee.core.request_body import RequestTimeout, extend_body_deadline


@pytest.fixture
def loop():
    """An event loop running in a thread of its own, as granian's is beside the app threads."""
    running = asyncio.new_event_loop()
    thread = threading.Thread(target=running.run_forever, daemon=True)
    thread.start()
    yield running
    running.call_soon_threadsafe(running.stop)
    thread.join(5)
    running.close()


def scope(method="GET", raw_path=b"/", headers=(), query=b""):
    return {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "path": raw_path.decode(),
        "raw_path": raw_path,
        "query_string": query,
        "headers": list(headers),
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
    }


def body_of(loop, messages, timeout: float = 5) -> AsgiBody:
    """An ``AsgiBody`` whose ``receive`` hands out ``messages``, then waits forever."""
    queue = list(messages)

    async def receive():
        if queue:
            return queue.pop(0)
        await asyncio.Event().wait()  # a client that sends nothing more

    return AsgiBody(loop, receive, time.monotonic() + timeout, RequestTimeout)


def chunk(data: bytes, more=True) -> dict:
    return {"type": "http.request", "body": data, "more_body": more}


def test_environ_is_what_granians_wsgi_would_build():
    environ = build_environ(
        scope(
            "POST",
            b"/v2/content/caf%C3%A9/",
            [
                (b"content-length", b"12"),
                (b"content-type", b"application/json"),
                (b"authorization", b"Token abc"),
                (b"cookie", b"a=1"),
                (b"cookie", b"b=2"),
                (b"accept", b"text/html"),
                (b"accept", b"application/json"),
            ],
            b"x=%20y",
        )
    )
    assert environ["REQUEST_METHOD"] == "POST"
    # WSGI's PATH_INFO is the decoded bytes as latin-1; Django turns it back into UTF-8.
    assert environ["PATH_INFO"] == "/v2/content/café/".encode().decode("latin-1")
    assert environ["QUERY_STRING"] == "x=%20y"
    assert environ["CONTENT_LENGTH"] == "12"
    assert environ["CONTENT_TYPE"] == "application/json"
    assert environ["HTTP_AUTHORIZATION"] == "Token abc"
    assert environ["HTTP_COOKIE"] == "a=1;b=2"
    assert environ["HTTP_ACCEPT"] == "text/html,application/json"
    assert environ["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"]) == ("127.0.0.1", "8000")
    assert environ["REMOTE_ADDR"] == "127.0.0.1"


def test_reads_take_chunks_as_they_come(loop):
    body = body_of(loop, [chunk(b"hello "), chunk(b"wor"), chunk(b"ld\nbye", more=False)])
    assert body.read(3) == b"hel"
    assert body.readline() == b"lo world\n"
    assert body.read() == b"bye"
    assert body.read(10) == b""


def test_a_disconnect_ends_the_body(loop):
    body = body_of(loop, [chunk(b"{"), {"type": "http.disconnect"}])
    assert body.read(100) == b"{"


def test_a_stalled_body_raises_at_its_deadline(loop):
    body = body_of(loop, [chunk(b'{"key":')], timeout=0.6)
    started = time.monotonic()
    with pytest.raises(RequestTimeout):
        body.read(1000)
    assert time.monotonic() - started < 5  # a liveness bound: the read gave up


def test_a_reader_may_extend_the_deadline(loop, rf):
    late = []

    async def receive():
        if not late:
            late.append(True)
            await asyncio.sleep(1.0)  # past the first deadline, within the extended one
            return chunk(b"data", more=False)

    body = AsgiBody(loop, receive, time.monotonic() + 0.2, RequestTimeout)
    request = rf.post("/", data=b"", content_type="application/octet-stream")
    request.META["wsgi.input"] = body
    extend_body_deadline(request, 10)
    assert body.read(100) == b"data"


def run_bridge(loop, application, asgi_scope, messages=(), *, stall=False, **options):
    """What ``application`` sends through the bridge for one request. ``stall``: after
    ``messages`` the client sends nothing more (else it has gone away)."""
    sent = []
    queue = list(messages)

    async def receive():
        if queue:
            return queue.pop(0)
        if stall:
            await asyncio.Event().wait()
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    options = {"threads": 1, "body_timeout": 5, "timeout_error": RequestTimeout, **options}
    bridge = WsgiBridge(application, **options)
    asyncio.run_coroutine_threadsafe(bridge(asgi_scope, receive, send), loop).result(10)
    return sent


PREFILL = {"prefill_bytes": 1000, "prefill_budget": 10_000}
TOKEN = (b"authorization", b"Token abc")


class Recorder:
    """A WSGI application that reads its body and says what it saw: when it was called,
    on which thread, the body or the 408, and how long its read took."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.seen = {}

    def __call__(self, environ, start_response):
        self.seen["called_after"] = time.monotonic() - self.started
        self.seen["thread"] = threading.current_thread()
        before = time.monotonic()
        try:
            self.seen["body"] = environ["wsgi.input"].read()
            response = HttpResponse(b"ok")
        except RequestTimeout:
            response = HttpResponse(b"late", status=408)
        self.seen["read_took"] = time.monotonic() - before
        start_response(f"{response.status_code} X", list(response.items()))
        return response


def test_a_body_with_a_credential_is_received_before_a_thread_is_taken(loop):
    recorder = Recorder()
    request = scope("POST", b"/", [TOKEN, (b"content-length", b"10")])
    sent = run_bridge(
        loop, recorder, request, [chunk(b"01234"), chunk(b"56789", more=False)], **PREFILL
    )
    assert recorder.seen["body"] == b"0123456789"
    assert recorder.seen["thread"].name.startswith("ghee_")  # the pool for whole requests
    assert (b"connection", b"close") not in sent[0]["headers"]


def test_a_stalled_body_takes_no_thread_until_its_deadline_then_is_408_at_once(loop):
    recorder = Recorder()
    request = scope("POST", b"/", [TOKEN, (b"content-length", b"10")])
    sent = run_bridge(
        loop, recorder, request, [chunk(b"012")], stall=True, body_timeout=0.5, **PREFILL
    )
    assert sent[0]["status"] == 408
    assert recorder.seen["called_after"] >= 0.5  # nothing ran while the body was awaited
    assert recorder.seen["read_took"] < 0.4  # the read did not wait again
    assert (b"connection", b"close") in sent[0]["headers"]


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ([(b"content-length", b"10")], "no credential: its 401 comes from the headers"),
        ([TOKEN, (b"content-length", b"1001")], "larger than prefill_bytes: an upload"),
    ],
)
def test_other_bodies_are_handed_to_a_body_thread_at_once(loop, headers, why):
    recorder = Recorder()
    run_bridge(
        loop,
        recorder,
        scope("POST", b"/", headers),
        [chunk(b"012")],
        stall=True,
        body_timeout=0.5,
        **PREFILL,
    )
    # Timing is the contract: handed over at once, not after the 0.5 s body deadline.
    assert recorder.seen["called_after"] < 0.4, why
    assert recorder.seen["thread"].name.startswith("ghee-body"), why


def test_bodies_beyond_the_budget_are_handed_over_at_once(loop):
    recorder = Recorder()
    request = scope("POST", b"/", [TOKEN, (b"content-length", b"10")])
    run_bridge(
        loop,
        recorder,
        request,
        [chunk(b"012")],
        stall=True,
        body_timeout=0.5,
        prefill_bytes=1000,
        prefill_budget=5,
    )
    # Timing is the contract: handed over at once, not after the 0.5 s body deadline.
    assert recorder.seen["called_after"] < 0.4
    assert recorder.seen["thread"].name.startswith("ghee-body")


def test_a_whole_response_is_one_message_and_the_body_is_read_on_demand(loop):
    seen = {}

    def application(environ, start_response):
        seen["body"] = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        seen["thread"] = threading.current_thread().name
        response = HttpResponse(b"ok", status=202)
        start_response("202 Accepted", list(response.items()))
        return response

    sent = run_bridge(
        loop,
        application,
        scope("POST", b"/", [(b"content-length", b"4")]),
        [chunk(b"da"), chunk(b"ta", more=False)],
    )
    assert seen["body"] == b"data"
    assert seen["thread"].startswith("ghee-body")  # a request with a body: a body thread
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 202
    assert sent[1]["body"] == b"ok"
    assert not sent[1].get("more_body")


def test_a_streamed_response_goes_out_in_bounded_pieces(loop):
    pieces = [b"x" * 4096] * 100  # as FileResponse reads a file: 4 KiB at a time

    def application(environ, start_response):
        response = StreamingHttpResponse(iter(pieces))
        start_response("200 OK", list(response.items()))
        return response

    sent = run_bridge(loop, application, scope())
    bodies = [m for m in sent if m["type"] == "http.response.body"]
    assert b"".join(m["body"] for m in bodies) == b"".join(pieces)
    assert all(STREAM_PIECE <= len(m["body"]) < 2 * STREAM_PIECE for m in bodies[:-1])
    assert [bool(m.get("more_body")) for m in bodies] == [True] * (len(bodies) - 1) + [False]


def test_a_whole_file_is_sent_by_the_server_from_its_path(loop, tmp_path):
    stored = tmp_path / "clip.mp4"
    stored.write_bytes(b"v" * 100_000)

    def application(environ, start_response):
        response = FileResponse(open(stored, "rb"))  # noqa: SIM115 (the response closes it)
        start_response("200 OK", list(response.items()))
        return response

    sent = run_bridge(loop, application, {**scope(), "extensions": {"http.response.pathsend": {}}})
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.pathsend"]
    assert sent[1]["path"] == str(stored)
    assert (b"content-length", b"100000") in sent[0]["headers"]
    # A server without the extension gets the bytes.
    sent = run_bridge(loop, application, scope())
    assert b"".join(m.get("body", b"") for m in sent) == b"v" * 100_000


def test_an_answer_given_before_the_body_was_read_closes_the_connection(loop):
    def refuse(environ, start_response):  # as a 401 from the headers does
        response = HttpResponse(b"{}", status=401)
        start_response("401 Unauthorized", list(response.items()))
        return response

    def accept(environ, start_response):
        environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        return refuse(environ, start_response)

    request = scope("POST", b"/", [(b"content-length", b"10")])
    refused = run_bridge(loop, refuse, request, [chunk(b"{")])
    assert (b"connection", b"close") in refused[0]["headers"]
    read = run_bridge(loop, accept, request, [chunk(b"0123456789")])
    assert (b"connection", b"close") not in read[0]["headers"]  # keep-alive as usual
