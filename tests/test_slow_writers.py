"""Writers that stall halfway through their body, against a real ``ghee serve`` as it runs
by default (issue 20 item 3; issue 8's last gap): granian's ASGI interface and
ghee/core/asgi_bridge.py, one worker process with its default single thread.

A client holding a valid write token sends its headers and part of its body, then nothing,
without closing. Each must get its 408 (``Connection: close``) within the body deadline
plus slack and nothing may be accepted from it; meanwhile ``/healthz``, reads and other
writers keep being answered, with 1 stalled body and with 6: the event loop waits for
those bodies, no thread does.

Also here: what the bridge must carry exactly as before, through the same server: file
responses from /media/ (whole, a range, HEAD) and the JSON error bodies.
"""

import contextlib
import hashlib
import threading
import time

import pytest
import requests

from tests.media.samples import png_bytes
from tests.processes import free_port, ghee, start_serve, stop_serve, wait_until_serving
from tests.raw_http import connect, read_until_closed, request_head, status_of

BODY_TIMEOUT = 4
# Every stalled writer is answered at its deadline (none waits for a thread); the rest is
# slack for a loaded machine.
STALL_BOUND = BODY_TIMEOUT + 5
# Nothing queues behind writes waiting for their bodies: a liveness bound ("answered at
# all") well under the body deadline, not a performance claim.
READ_BOUND = 3
SCHEMA = "collections:\n- key: notes\n  fields: [{key: title, type: short_text}]\n"
MEDIA_KEY = "k" * 32
MEDIA_SIZE = 3 * 1024 * 1024 + 17

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("ghee-stall")
    assert ghee(data_dir, "migrate", "--noinput", "-v", "0").returncode == 0
    assert ghee(data_dir, "org", "create", "stall").returncode == 0
    assert ghee(data_dir, "schema", "apply", "-", "--org", "stall", stdin=SCHEMA).returncode == 0
    write, read = (
        ghee(data_dir, "token", "create", "--org", "stall", "--kind", kind).stdout.strip()
        for kind in ("write", "read")
    )
    media = data_dir / "media" / MEDIA_KEY
    media.mkdir(parents=True)
    (media / "clip.mp4").write_bytes(bytes(range(256)) * (MEDIA_SIZE // 256) + b"x" * 17)
    port = free_port()
    process = start_serve(
        data_dir,
        port,
        "--workers",  # one process: every stalled writer lands where the probes go
        "1",
        "--no-worker",
        GHEE_BODY_READ_TIMEOUT=str(BODY_TIMEOUT),
    )
    try:
        wait_until_serving(port, process)
        yield {"port": port, "write": write, "read": read, "media": media / "clip.mp4"}
    finally:
        stop_serve(process)


def url(server, path: str) -> str:
    return f"http://127.0.0.1:{server['port']}{path}"


def write_headers(server) -> dict[str, str]:
    return {"Authorization": f"Token {server['write']}", "Content-Type": "application/json"}


def job_count(server) -> int:
    response = requests.get(url(server, "/v2/jobs/"), headers=write_headers(server), timeout=5)
    return response.json()["meta"]["count"]


class StalledWriter(threading.Thread):
    """Sends a write's headers and ``partial`` of its body, then nothing, and records the
    answer, whether the server closed the connection, and when."""

    def __init__(self, server, head: bytes, partial: bytes) -> None:
        super().__init__(daemon=True)
        self.port, self.raw = server["port"], head + partial
        self.response, self.closed, self.ended_after = b"", False, None

    def run(self) -> None:
        started = time.monotonic()
        with contextlib.closing(connect(self.port)) as sock:
            sock.sendall(self.raw)
            self.response, self.closed = read_until_closed(sock, started + STALL_BOUND + 5)
        self.ended_after = time.monotonic() - started


def stalled_writers(server, count: int) -> list[StalledWriter]:
    """``count`` writers: two in three declare a ``Content-Length``, one in three is chunked."""
    declared = request_head(
        "POST", "/v2/content/", {**write_headers(server), "Content-Length": "1000"}
    )
    chunked = request_head(
        "POST", "/v2/content/", {**write_headers(server), "Transfer-Encoding": "chunked"}
    )
    kinds = [
        (declared, b'{"key": "notes", "fields": [{"title": "st'),
        (declared, b'{"key":'),
        (chunked, b'7\r\n{"key":\r\n'),  # a chunk, then no more
    ]
    return [StalledWriter(server, *kinds[n % len(kinds)]) for n in range(count)]


@pytest.mark.parametrize("stalled", [1, 6])
def test_stalled_writers_get_408_while_health_reads_and_writes_answer(server, stalled):
    before = job_count(server)
    writers = stalled_writers(server, stalled)
    for writer in writers:
        writer.start()

    slowest, answered, accepted = 0.0, 0, 0
    read_url = url(server, f"/v2/content/notes/?auth_token={server['read']}")
    while any(writer.is_alive() for writer in writers):
        for target in (url(server, "/healthz"), read_url):
            started = time.monotonic()
            assert requests.get(target, timeout=READ_BOUND + 5).status_code == 200
            slowest = max(slowest, time.monotonic() - started)
            answered += 1
        started = time.monotonic()
        created = requests.post(
            url(server, "/v2/content/"),
            json={"key": "notes", "fields": [{"title": f"beside {stalled} stalled"}]},
            headers=write_headers(server),
            timeout=READ_BOUND + 5,
        )
        assert created.status_code == 202, created.text
        slowest = max(slowest, time.monotonic() - started)
        accepted += 1
        time.sleep(0.05)
    print(f"\n{answered} reads and {accepted} writes beside {stalled} stalled writers")
    assert answered > 10 and accepted > 5
    assert slowest < READ_BOUND  # nothing queued behind the stalled writers (READ_BOUND)

    for writer in writers:
        assert status_of(writer.response) == 408, writer.response
        assert b"connection: close" in writer.response.lower()
        assert b'{"detail":"Request body was not received in time."}' in writer.response
        assert writer.closed and writer.ended_after < STALL_BOUND  # answered at its deadline
    assert job_count(server) == before + accepted  # nothing from the stalled writers


def test_an_anonymous_stalled_body_is_401_at_once(server):
    head = request_head(
        "POST", "/v2/content/", {"Content-Type": "application/json", "Content-Length": "500"}
    )
    with contextlib.closing(connect(server["port"])) as sock:
        sock.sendall(head + b'{"key":')
        response, _ = read_until_closed(sock, time.monotonic() + 2)
    assert status_of(response) == 401


def test_a_body_cut_short_by_a_disconnect_accepts_nothing(server):
    before = job_count(server)
    head = request_head("POST", "/v2/content/", {**write_headers(server), "Content-Length": "200"})
    with contextlib.closing(connect(server["port"])) as sock:
        sock.sendall(head + b'{"key": "notes", "fields": [{"title": "cut"}]}')
    time.sleep(0.5)
    assert requests.get(url(server, "/healthz"), timeout=5).status_code == 200
    assert job_count(server) == before


def test_media_files_stream_whole_in_ranges_and_as_head(server):
    expected = server["media"].read_bytes()
    path = url(server, f"/media/{MEDIA_KEY}/clip.mp4")

    whole = requests.get(path, timeout=30)
    assert whole.status_code == 200
    assert whole.headers["Content-Length"] == str(MEDIA_SIZE)
    assert hashlib.sha256(whole.content).digest() == hashlib.sha256(expected).digest()

    part = requests.get(path, headers={"Range": "bytes=1000000-1999999"}, timeout=30)
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 1000000-1999999/{MEDIA_SIZE}"
    assert part.content == expected[1000000:2000000]

    tail = requests.get(path, headers={"Range": "bytes=-17"}, timeout=30)
    assert tail.status_code == 206
    assert tail.content == b"x" * 17

    head = requests.head(path, timeout=30)
    assert head.status_code == 200
    assert head.headers["Content-Length"] == str(MEDIA_SIZE)
    assert head.content == b""
    assert head.headers["Cache-Control"] == "public, max-age=31536000, immutable"


def test_unknown_urls_and_errors_keep_their_json_bodies(server):
    missing = requests.get(url(server, "/v2/nothing-here/"), timeout=5)
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Not found."}
    unauthenticated = requests.post(url(server, "/v2/content/"), json={}, timeout=5)
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["WWW-Authenticate"] == "Token"


def test_an_upload_slower_than_the_body_deadline_gets_the_upload_deadline(server):
    # POST /v2/media/ has its own deadline (GHEE_MEDIA_UPLOAD_TIMEOUT, 120 s): an upload
    # that takes longer than the JSON body deadline (4 s here) still arrives whole.
    boundary = "ghee-slow-upload"
    image = png_bytes(8, 6)
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.png"\r\n'
            f"Content-Type: image/png\r\n\r\n"
        ).encode()
        + image
        + f"\r\n--{boundary}--\r\n".encode()
    )

    def slowly():
        half = len(body) // 2
        yield body[:half]
        time.sleep(BODY_TIMEOUT + 1.5)
        yield body[half:]

    response = requests.post(
        url(server, "/v2/media/"),
        data=slowly(),
        headers={
            "Authorization": f"Token {server['write']}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
        timeout=30,
    )
    assert response.status_code == 201, response.text
    assert response.json()["size"] == len(image)
