"""``open_url``: connect to a checked address, follow redirects by hand, bound time and bytes."""

import contextlib
import functools
import http.client
import logging
import socket
import ssl
import threading
import time
from collections.abc import Iterator, Mapping
from urllib.parse import urljoin, urlsplit

import urllib3
from django.conf import settings
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.util.ssl_match_hostname import CertificateError

from ghee.core.egress.addresses import IPAddress
from ghee.core.egress.errors import (
    BadResponse,
    BadURL,
    BlockedAddress,
    ConnectionFailed,
    EgressError,
    HTTPStatusError,
    TimedOut,
    TLSFailed,
    TooLarge,
    TooManyRedirects,
)
from ghee.core.egress.urls import Target

logger = logging.getLogger("ghee.core.egress")

MAX_REDIRECTS = 5
CHUNK_SIZE = 64 * 1024
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


class _Deadline:
    """A wall-clock limit over a whole fetch.

    Per-read timeouts reset on every byte; the watchdog shuts the socket down when the time
    is up, whatever the server is doing, and ``expired`` then turns the read error into
    ``TimedOut``.
    """

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.end = time.monotonic() + seconds
        self._timer: threading.Timer | None = None

    def remaining(self) -> float:
        return self.end - time.monotonic()

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0

    def error(self) -> TimedOut:
        return TimedOut(f"timed out after {self.seconds:g} s")

    def check(self) -> None:
        if self.expired:
            raise self.error()

    def watch(self, sock: socket.socket) -> None:
        self.cancel()
        self._timer = threading.Timer(max(self.remaining(), 0), _shut, (sock,))
        self._timer.daemon = True
        self._timer.start()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def _shut(sock: socket.socket) -> None:
    # socket.socket.shutdown, not SSLSocket.shutdown: that one also drops the TLS state,
    # which the reading thread may still be using.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


# --- The client --------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _tls_context(ca_file: str) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


class EgressResponse:
    """A response whose body is read through ``iter_bytes`` under the size cap and deadline."""

    def __init__(self, raw, *, url: str, host: str, max_bytes: int, deadline: _Deadline):
        self._raw = raw
        self.status: int = raw.status
        self.headers: Mapping[str, str] = raw.headers
        self.url = url
        self.host = host
        self.max_bytes = max_bytes
        self._deadline = deadline

    def raise_for_status(self) -> None:
        if not 200 <= self.status < 300:
            raise HTTPStatusError(self.status, self.host, self.headers.get("Retry-After"))

    def iter_bytes(self) -> Iterator[bytes]:
        """The body, decoded (gzip, deflate), in chunks; TooLarge past ``max_bytes``."""
        total = 0
        while True:
            self._deadline.check()
            try:
                chunk = self._raw.read1(CHUNK_SIZE, decode_content=True)
            except urllib3.exceptions.DecodeError:
                raise BadResponse(f"the body from {self.host} could not be decoded") from None
            except (OSError, http.client.HTTPException, urllib3.exceptions.HTTPError) as exc:
                raise _read_error(exc, self.host, self._deadline) from None
            if not chunk:
                if self._deadline.expired:  # the watchdog closed the socket
                    raise self._deadline.error()
                return
            total += len(chunk)
            if total > self.max_bytes:
                raise TooLarge(f"too large: more than {self.max_bytes} bytes")
            yield chunk

    def read(self) -> bytes:
        return b"".join(self.iter_bytes())


@contextlib.contextmanager
def open_url(
    url: str,
    *,
    purpose: str,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    max_redirects: int = MAX_REDIRECTS,
    max_bytes: int | None = None,
    timeout: float | None = None,
) -> Iterator[EgressResponse]:
    """Send one request to a URL someone else chose, and yield the final response.

    ``purpose`` names the caller in logs ("media import", "webhook delivery"). Redirects are
    followed up to ``max_redirects`` hops, each checked like the first (0: a 3xx is returned
    as it is, as webhooks want). The response is not checked for its status: call
    ``raise_for_status()``. Raises an ``EgressError`` subclass for everything that goes wrong.
    """
    deadline = _Deadline(settings.GHEE_EGRESS_TIMEOUT if timeout is None else timeout)
    max_bytes = settings.GHEE_EGRESS_MAX_BYTES if max_bytes is None else max_bytes
    current = url
    try:
        for hop in range(max_redirects + 1):
            target = Target(current)
            sent_headers = _request_headers(target, purpose, headers or {})
            conn, raw = _send(target, target.addresses(), method, sent_headers, body, deadline)
            try:
                location = raw.headers.get("Location")
                if raw.status in REDIRECT_STATUSES and max_redirects and location:
                    if hop == max_redirects:
                        raise TooManyRedirects(
                            f"too many redirects (more than {max_redirects}) from {url}"
                        )
                    following = urljoin(current, location)
                    if target.scheme == "https" and following.lower().startswith("http:"):
                        raise BadURL("bad URL: refused a redirect from https to http")
                    current = following
                    if raw.status == 303 or (raw.status in (301, 302) and method == "POST"):
                        method, body = "GET", None
                    continue
                _check_declared_length(raw, max_bytes)
                logger.debug("egress (%s): %s %s -> %s", purpose, method, target.host, raw.status)
                yield EgressResponse(
                    raw, url=current, host=target.host, max_bytes=max_bytes, deadline=deadline
                )
                return
            finally:
                deadline.cancel()
                raw.close()
                conn.close()
        raise TooManyRedirects("too many redirects")  # not reached: the loop returns
    except BlockedAddress as exc:
        # Someone asked ghee to reach a non-public address: worth an operator's attention.
        logger.warning("egress (%s) refused %s: %s", purpose, _for_log(url), exc)
        raise
    except EgressError as exc:
        logger.info("egress (%s) failed for %s: %s", purpose, _for_log(url), exc)
        raise


def _for_log(url: str) -> str:
    """The URL without user info, query or fragment, which may carry credentials."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(an unparseable URL)"
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"[:300]


def _connect_failure(host: str, exc: Exception) -> EgressError:
    """Why a connection could not be opened. urllib3 makes ``NewConnectionError`` (a refused
    or unreachable address) a subclass of ``ConnectTimeoutError``: it is not a timeout."""
    if isinstance(exc, urllib3.exceptions.NewConnectionError):
        cause = exc.__cause__ or exc.__context__
        reason = cause.strerror if isinstance(cause, OSError) and cause.strerror else ""
        return ConnectionFailed(
            f"could not connect to {host}" + (f": {reason.lower()}" if reason else "")
        )
    if isinstance(exc, urllib3.exceptions.ConnectTimeoutError | TimeoutError):
        return TimedOut(f"connecting to {host} timed out")
    return ConnectionFailed(f"could not connect to {host}")


def _check_declared_length(raw, max_bytes: int) -> None:
    declared = raw.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise TooLarge(f"too large: {declared} bytes (the limit is {max_bytes})")


def _send(target: Target, addresses: list[IPAddress], method, headers, body, deadline):
    """Connect to the first checked address that answers, send, and read the headers."""
    failure: EgressError = ConnectionFailed(f"could not connect to {target.host}")
    for address in addresses:
        deadline.check()
        conn = _connection(target, address, deadline)
        try:
            conn.connect()
        except (ssl.SSLError, CertificateError) as exc:
            conn.close()
            reason = getattr(exc, "reason", None) or exc
            raise TLSFailed(f"TLS with {target.host} failed: {reason}") from None
        except (OSError, urllib3.exceptions.HTTPError) as exc:
            conn.close()
            failure = _connect_failure(target.host, exc)
            continue
        deadline.watch(conn.sock)
        # From here on the socket waits up to the read timeout. urllib3's ``request()`` sets
        # the socket's timeout to ``conn.timeout`` (the connect timeout until now), so that is
        # the attribute to change, not only the socket.
        conn.timeout = max(min(settings.GHEE_EGRESS_READ_TIMEOUT, deadline.remaining()), 0)
        conn.sock.settimeout(conn.timeout)
        try:
            conn.request(
                method,
                target.path,
                body=body,
                headers=headers,
                preload_content=False,
                decode_content=True,
            )
            return conn, conn.getresponse()
        except (OSError, http.client.HTTPException, urllib3.exceptions.HTTPError) as exc:
            deadline.cancel()
            conn.close()
            error = _read_error(exc, target.host, deadline)
            if isinstance(error, ConnectionFailed) and not isinstance(exc, OSError):
                error = BadResponse(f"no valid HTTP response from {target.host}")
            raise error from None
    raise failure


def _read_error(exc: Exception, host: str, deadline: _Deadline) -> EgressError:
    """What a failed read means: the deadline, a silent server, or a broken connection."""
    if deadline.expired:
        return deadline.error()
    if isinstance(exc, TimeoutError | urllib3.exceptions.ReadTimeoutError):
        return TimedOut(f"{host} sent nothing for {settings.GHEE_EGRESS_READ_TIMEOUT:g} s")
    return ConnectionFailed(f"the connection to {host} broke")


def _connection(target: Target, address: IPAddress, deadline: _Deadline):
    connect_timeout = max(min(settings.GHEE_EGRESS_CONNECT_TIMEOUT, deadline.remaining()), 0.001)
    if target.scheme == "http":
        return HTTPConnection(str(address), target.port, timeout=connect_timeout)
    # Connect to the checked address; certificate and SNI stay the URL's host name.
    return HTTPSConnection(
        str(address),
        target.port,
        timeout=connect_timeout,
        server_hostname=target.host,
        assert_hostname=target.host,
        ssl_context=_tls_context(settings.GHEE_EGRESS_CA_FILE),
    )


def _request_headers(target: Target, purpose: str, headers: Mapping[str, str]) -> dict[str, str]:
    sent = {
        "User-Agent": f"ghee ({purpose})",
        "Accept-Encoding": "gzip, deflate",
        "Accept": "*/*",
    }
    sent.update(headers)
    sent["Host"] = target.host_header  # never the address we connected to
    return sent
