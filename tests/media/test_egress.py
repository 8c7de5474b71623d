"""The egress client against real servers on loopback: what it sends, follows, and stops.

Hostile servers (a 10 GB Content-Length, an endless body, a gzip bomb, one byte at a time, a
redirect loop) each end in their own clean error within their limit.
"""

import socket
import ssl
import threading
import time

import pytest
import trustme

from ghee.core import egress
from ghee.core.egress import (
    BadResponse,
    BadURL,
    ConnectionFailed,
    HTTPStatusError,
    TimedOut,
    TLSFailed,
    TooLarge,
    TooManyRedirects,
    open_url,
    urls,
)
from tests.media.samples import gzip_bytes
from tests.media.servers import LoopbackServer


def fetch(url: str, **kwargs) -> bytes:
    with open_url(url, purpose="test", **kwargs) as response:
        response.raise_for_status()
        return response.read()


@pytest.fixture
def resolve(monkeypatch):
    names: dict[str, list[str]] = {}
    monkeypatch.setattr(urls, "resolve_host", lambda host, port: names[host])
    return names


# --- What is sent, and what comes back -------------------------------------------------------


def test_fetch_returns_status_headers_body_and_names_the_caller(allow_loopback):
    server = allow_loopback
    url = server.serve("/file.bin", b"hello", headers={"X-Test": "yes"})
    with open_url(url, purpose="media import") as response:
        assert response.status == 200
        assert response.headers["X-Test"] == "yes"
        assert response.read() == b"hello"
        assert response.url == url
    sent = server.requests_for("/file.bin")[0]["headers"]
    assert sent["Host"] == f"127.0.0.1:{server.port}"
    assert sent["User-Agent"] == "ghee (media import)"


def test_host_header_keeps_the_name_while_connecting_to_the_checked_address(
    allow_loopback, resolve, connects
):
    server = allow_loopback
    server.serve("/file", b"ok")
    resolve["media.example"] = ["127.0.0.1"]
    assert fetch(f"http://media.example:{server.port}/file") == b"ok"
    assert connects == [("127.0.0.1", server.port)]
    assert server.requests_for("/file")[0]["headers"]["Host"] == f"media.example:{server.port}"


def test_proxy_environment_variables_are_ignored(allow_loopback, monkeypatch, connects):
    server = allow_loopback
    url = server.serve("/file", b"direct")
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9/")
    assert fetch(url) == b"direct"
    assert connects == [("127.0.0.1", server.port)]


def test_a_gzip_body_is_decoded(allow_loopback):
    url = allow_loopback.serve("/z", gzip_bytes(b"x" * 1000), headers={"Content-Encoding": "gzip"})
    assert fetch(url) == b"x" * 1000


def test_relative_redirects_are_followed_and_checked(allow_loopback):
    server = allow_loopback
    server.serve("/final", b"arrived")
    server.redirect("/two", "/final", status=307)
    url = server.redirect("/one", f"http://127.0.0.1:{server.port}/two", status=301)
    with open_url(url, purpose="test") as response:
        assert response.read() == b"arrived"
        assert response.url == server.url("/final")
    assert [r["path"] for r in server.requests] == ["/one", "/two", "/final"]


def test_303_turns_a_post_into_a_get(allow_loopback):
    server = allow_loopback
    server.serve("/done", b"ok")
    url = server.redirect("/submit", "/done", status=303)
    assert fetch(url, method="POST", body=b"data") == b"ok"
    assert [r["method"] for r in server.requests] == ["POST", "GET"]


def test_without_redirects_a_3xx_is_returned_as_it_is(allow_loopback):
    """Webhooks never follow redirects: they get the 3xx back and treat it as a failure."""
    server = allow_loopback
    url = server.redirect("/moved", "/elsewhere", status=301)
    with open_url(url, purpose="webhook delivery", max_redirects=0) as response:
        assert response.status == 301
    assert [r["path"] for r in server.requests] == ["/moved"]


@pytest.mark.parametrize(
    ("status", "retryable"), [(404, False), (403, False), (410, False), (500, True), (503, True)]
)
def test_error_statuses_say_which_host_answered(allow_loopback, status, retryable):
    url = allow_loopback.serve("/x", b"nope", status=status)
    with pytest.raises(HTTPStatusError, match=f"^HTTP {status} from 127.0.0.1$") as error:
        fetch(url)
    assert error.value.retryable is retryable


def test_429_carries_retry_after(allow_loopback):
    url = allow_loopback.serve("/busy", b"", status=429, headers={"Retry-After": "7"})
    with pytest.raises(HTTPStatusError) as error:
        fetch(url)
    assert (error.value.retryable, error.value.retry_after) == (True, "7")


def test_nothing_listening_is_a_retryable_connection_failure(settings):
    spare = socket.socket()
    spare.bind(("127.0.0.1", 0))
    port = spare.getsockname()[1]
    spare.close()
    settings.GHEE_EGRESS_ALLOW_NETWORKS = ["127.0.0.0/8"]
    settings.GHEE_EGRESS_ALLOW_PORTS = [port]
    settings.GHEE_EGRESS_CONNECT_TIMEOUT = 2
    with pytest.raises((ConnectionFailed, TimedOut)) as error:
        fetch(f"http://127.0.0.1:{port}/")
    assert error.value.retryable


def test_a_server_that_does_not_speak_http_is_a_bad_response(allow_loopback):
    server = allow_loopback

    def garbage(handler):
        handler.wfile.write(b"SSH-2.0-OpenSSH_9.6\r\n")
        handler.close_connection = True

    url = server.route("/ssh", garbage)
    with pytest.raises(BadResponse, match=r"no valid HTTP response from 127\.0\.0\.1"):
        fetch(url)


# --- Limits: each hostile server ends in its own error --------------------------------------


def test_a_10_gb_content_length_is_refused_before_reading(allow_loopback):
    server = allow_loopback

    def huge(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", str(10 * 1024**3))
        handler.end_headers()
        handler.wfile.write(b"\0" * 65536)

    url = server.route("/huge", huge)
    with pytest.raises(TooLarge, match=r"too large: 10737418240 bytes \(the limit is 52428800\)"):
        fetch(url)


def test_an_endless_chunked_body_stops_at_the_cap(allow_loopback, settings):
    settings.GHEE_EGRESS_MAX_BYTES = 1024 * 1024
    server = allow_loopback

    def endless(handler):
        handler.send_response(200)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        chunk = b"\xab" * 16384
        while True:
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))

    url = server.route("/endless", endless)
    received = 0
    with (
        pytest.raises(TooLarge, match="too large: more than 1048576 bytes"),
        open_url(url, purpose="test") as response,
    ):
        for chunk in response.iter_bytes():
            received += len(chunk)
    assert 1024 * 1024 - egress.CHUNK_SIZE <= received <= 1024 * 1024


def test_a_gzip_bomb_stops_at_the_decoded_cap(allow_loopback, settings):
    settings.GHEE_EGRESS_MAX_BYTES = 1024 * 1024
    bomb = gzip_bytes(b"\0" * (256 * 1024 * 1024))  # 256 MiB decoded, ~250 KB on the wire
    url = allow_loopback.serve("/bomb", bomb, headers={"Content-Encoding": "gzip"})
    largest = 0
    with pytest.raises(TooLarge), open_url(url, purpose="test") as response:
        for chunk in response.iter_bytes():
            largest = max(largest, len(chunk))
    assert largest <= egress.CHUNK_SIZE  # decompression is bounded per read, not per bomb


def test_a_slow_drip_body_hits_the_total_deadline(allow_loopback, settings):
    """One byte every 50 ms never trips a read timeout; the deadline still ends it."""
    settings.GHEE_EGRESS_TIMEOUT = 1
    stop = threading.Event()

    def drip(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", "100000")
        handler.end_headers()
        while not stop.is_set():
            handler.wfile.write(b".")
            handler.wfile.flush()
            time.sleep(0.05)

    url = allow_loopback.route("/drip", drip)
    try:
        with pytest.raises(TimedOut, match="timed out after 1 s"):
            fetch(url)
    finally:
        stop.set()


def test_slow_dripped_headers_hit_the_total_deadline(allow_loopback, settings):
    settings.GHEE_EGRESS_TIMEOUT = 1
    stop = threading.Event()

    def drip_headers(handler):
        handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
        while not stop.is_set():
            handler.wfile.write(b"X-Slow: .\r\n")
            handler.wfile.flush()
            time.sleep(0.05)

    url = allow_loopback.route("/slow-headers", drip_headers)
    try:
        with pytest.raises(TimedOut):
            fetch(url)
    finally:
        stop.set()


@pytest.mark.parametrize("sends_headers", [False, True])
def test_a_silent_server_hits_the_read_timeout(allow_loopback, settings, sends_headers):
    settings.GHEE_EGRESS_READ_TIMEOUT = 0.5
    stop = threading.Event()

    def silent(handler):
        if sends_headers:
            handler.send_response(200)
            handler.send_header("Content-Length", "10")
            handler.end_headers()
            handler.wfile.flush()
        stop.wait(5)

    url = allow_loopback.route("/silent", silent)
    try:
        with pytest.raises(TimedOut, match=r"127\.0\.0\.1 sent nothing for 0\.5 s") as error:
            fetch(url)
    finally:
        stop.set()
    assert error.value.retryable


def test_a_server_slower_than_the_connect_timeout_is_waited_for_up_to_the_read_timeout(
    allow_loopback, settings
):
    # The connect timeout bounds connecting only: an answer 1 s after the request is read
    # when the read timeout allows 5 s, even with a 0.2 s connect timeout.
    settings.GHEE_EGRESS_CONNECT_TIMEOUT = 0.2
    settings.GHEE_EGRESS_READ_TIMEOUT = 5

    def thoughtful(handler):
        time.sleep(1)
        handler.send_response(200)
        handler.send_header("Content-Type", "text/plain")
        handler.send_header("Content-Length", "2")
        handler.end_headers()
        handler.wfile.write(b"ok")

    url = allow_loopback.route("/thoughtful", thoughtful)
    assert fetch(url) == b"ok"


def test_a_redirect_loop_stops_after_five_hops(allow_loopback):
    server = allow_loopback
    url = server.redirect("/loop", "/loop")
    with pytest.raises(TooManyRedirects, match=r"too many redirects \(more than 5\)"):
        fetch(url)
    assert len(server.requests_for("/loop")) == 6  # the first request and five redirects


def test_a_chain_of_exactly_five_redirects_is_followed(allow_loopback):
    server = allow_loopback
    server.serve("/r5", b"end")
    for hop in range(5):
        server.redirect(f"/r{hop}", f"/r{hop + 1}")
    assert fetch(server.url("/r0")) == b"end"


# --- TLS: the certificate and SNI are checked for the name, not the address -------------------


@pytest.fixture
def tls_server(settings, tmp_path, resolve):
    """An https server on 127.0.0.1 with a certificate for media.test from a private CA."""
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("media.test").configure_cert(context)
    names_seen: list[str] = []
    context.sni_callback = lambda sock, name, ctx: names_seen.append(name)
    server = LoopbackServer(tls=context)
    server.names_seen = names_seen
    ca_file = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    settings.GHEE_EGRESS_CA_FILE = str(ca_file)
    settings.GHEE_EGRESS_ALLOW_NETWORKS = ["127.0.0.0/8"]
    settings.GHEE_EGRESS_ALLOW_PORTS = [server.port]
    resolve["media.test"] = ["127.0.0.1"]
    resolve["other.test"] = ["127.0.0.1"]
    yield server
    server.close()


def test_https_verifies_the_certificate_of_the_name_over_the_pinned_address(tls_server):
    tls_server.serve("/file", b"secure")
    assert fetch(f"https://media.test:{tls_server.port}/file") == b"secure"
    assert tls_server.names_seen == ["media.test"]
    headers = tls_server.requests_for("/file")[0]["headers"]
    assert headers["Host"] == f"media.test:{tls_server.port}"


def test_https_refuses_a_certificate_for_another_name(tls_server):
    tls_server.serve("/file", b"secure")
    with pytest.raises(TLSFailed, match=r"TLS with other\.test failed") as error:
        fetch(f"https://other.test:{tls_server.port}/file")
    assert not error.value.retryable
    assert tls_server.requests == []


def test_https_never_redirects_down_to_http(tls_server):
    tls_server.redirect("/down", "http://media.test/")
    with pytest.raises(BadURL, match="refused a redirect from https to http"):
        fetch(f"https://media.test:{tls_server.port}/down")


def test_refusals_are_logged_for_operators_without_credentials(caplog, resolve):
    resolve["intranet.test"] = ["10.0.0.7"]
    with caplog.at_level("INFO", logger="ghee.core.egress"), pytest.raises(egress.BlockedAddress):
        fetch("http://intranet.test/report.pdf?token=secret#frag")
    (record,) = caplog.records
    assert record.levelname == "WARNING"
    assert record.getMessage() == (
        "egress (test) refused http://intranet.test/report.pdf: "
        "blocked address: intranet.test is not a public address (it resolves to 10.0.0.7; "
        "to allow it, start ghee with GHEE_EGRESS_ALLOW_NETWORKS=10.0.0.7/32)"
    )
