"""The one outbound HTTP client for URLs that someone else chose (media import, webhooks).

A client that hands ghee a URL can aim ghee's server at anything that server can reach: the
cloud metadata service, a database on the private network, ghee itself. So every such request
goes through ``open_url``, which

- accepts only ``http``/``https`` URLs without user info, whitespace or control characters,
  on ports 80 and 443 (plus ``GHEE_EGRESS_ALLOW_PORTS``);
- resolves the host once and refuses the URL if *any* address is not public (the policy is
  ``is_allowed_address``), then connects to an address it checked, while the ``Host`` header,
  TLS SNI and certificate check keep the name: a second DNS answer can't swap the target;
- follows at most 5 redirects by hand, checking every hop the same way;
- ignores proxy environment variables (urllib3 never reads them);
- holds a wall-clock deadline over the whole exchange (``GHEE_EGRESS_TIMEOUT``: a watchdog
  shuts the socket, so a server dripping one byte at a time can't stretch it) and caps the
  body after Content-Encoding is decoded (``GHEE_EGRESS_MAX_BYTES``).

Everything is built on urllib3 (already a dependency; since 2.6 it bounds how much one read
may decompress, which is what makes a gzip bomb cost at most one chunk of memory). Only the
address policy is written here. docs/egress.md has the reasoning and the settings.
"""

import contextlib
import functools
import http.client
import ipaddress
import logging
import socket
import ssl
import threading
import time
from collections.abc import Iterator, Mapping
from urllib.parse import quote, urljoin, urlsplit

import urllib3
from django.conf import settings
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.util.ssl_match_hostname import CertificateError

logger = logging.getLogger(__name__)

MAX_REDIRECTS = 5
CHUNK_SIZE = 64 * 1024
DEFAULT_PORTS = {"http": 80, "https": 443}
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


# --- Errors: each message can be shown to the client who gave the URL -----------------------


class EgressError(Exception):
    """A fetch that did not succeed. ``str(exc)`` says why in words a client can act on."""

    retryable = False


class BadURL(EgressError):
    pass


class BlockedAddress(EgressError):
    pass


class TooLarge(EgressError):
    pass


class TooManyRedirects(EgressError):
    pass


class BadResponse(EgressError):
    """The server answered something that is not valid HTTP (or not decodable)."""


class TimedOut(EgressError):
    retryable = True


class ConnectionFailed(EgressError):
    retryable = True


class TLSFailed(ConnectionFailed):
    """The certificate does not match the host name or is not trusted: retrying won't help."""

    retryable = False


class HTTPStatusError(EgressError):
    """A final response that is not a success; 408, 425, 429 and 5xx may succeed later."""

    def __init__(self, status: int, host: str, retry_after: str | None = None):
        super().__init__(f"HTTP {status} from {host}")
        self.status = status
        self.host = host
        self.retry_after = retry_after
        self.retryable = status in (408, 425, 429) or status >= 500


# --- The address policy ----------------------------------------------------------------------

# Cloud metadata endpoints: refused even inside a network the operator allowed.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.170.23",  # AWS EKS pod identity
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "fd00:ec2::23",
        "100.100.100.200",  # Alibaba Cloud
    )
)

# Python 3.11's is_global misses these (CPython gh-113171 and friends), so they are listed.
_DENIED_V4 = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",  # "this network"; 0.0.0.0 reaches the local host on Linux
        "100.64.0.0/10",  # carrier-grade NAT: neither private nor global in Python
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation
        "192.88.99.0/24",  # 6to4 relay anycast
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation
        "203.0.113.0/24",  # documentation
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and the broadcast address
    )
)
_DENIED_V6 = tuple(
    ipaddress.ip_network(n)
    for n in (
        "::/96",  # IPv4-compatible (deprecated), plus :: and ::1
        "::ffff:0:0:0/96",  # IPv4-translated (SIIT)
        "64:ff9b::/96",  # NAT64 well-known prefix: embeds an IPv4 address
        "64:ff9b:1::/48",  # NAT64 local-use prefix
        "100::/64",  # discard-only
        "2001::/32",  # Teredo: embeds an IPv4 address
        "2001:db8::/32",  # documentation
        "2002::/16",  # 6to4: embeds an IPv4 address
        "3fff::/20",  # documentation (RFC 9637)
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",  # multicast
    )
)


def _unwrap(ip: IPAddress) -> IPAddress:
    """The address a socket really reaches: no zone id, IPv4-mapped IPv6 as IPv4.

    Connecting to ``::ffff:127.0.0.1`` reaches 127.0.0.1, yet Python 3.11 says it is not
    loopback: judge the IPv4 address instead.
    """
    if ip.version == 6:
        if ip.scope_id:
            ip = ipaddress.IPv6Address(str(ip).split("%", 1)[0])
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
    return ip


def is_public_address(ip: IPAddress) -> bool:
    """True only for globally routable unicast addresses that embed no other address."""
    ip = _unwrap(ip)
    denied = _DENIED_V4 if ip.version == 4 else _DENIED_V6
    if any(ip in network for network in denied):
        return False
    return ip.is_global and not (ip.is_reserved or ip.is_multicast)


def is_allowed_address(ip: IPAddress, allowed_networks=()) -> bool:
    """May ghee connect to ``ip``? Public addresses, or ones in an operator-allowed network.

    Metadata addresses stay refused even inside an allowed network.
    """
    ip = _unwrap(ip)
    if ip in METADATA_ADDRESSES:
        return False
    if any(ip.version == net.version and ip in net for net in allowed_networks):
        return True
    return is_public_address(ip)


@functools.lru_cache(maxsize=8)
def _parse_networks(cidrs: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def allowed_networks() -> tuple:
    """GHEE_EGRESS_ALLOW_NETWORKS as networks (read on each call so tests can override it)."""
    return _parse_networks(tuple(settings.GHEE_EGRESS_ALLOW_NETWORKS))


def allowed_ports() -> frozenset[int]:
    return frozenset({80, 443, *settings.GHEE_EGRESS_ALLOW_PORTS})


# --- URLs ------------------------------------------------------------------------------------

# RFC 6761: these names are the local host whatever DNS says, so they never reach a resolver.
_LOOPBACK_NAMES = ("localhost", "localhost.localdomain")
_LOOPBACK_ADDRESSES = ("127.0.0.1", "::1")


class Target:
    """One parsed, policy-checked URL: where to connect and what to say there."""

    def __init__(self, url: str):
        self.url = url
        if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F or ch == "\\" for ch in url):
            # A backslash is where URL parsers disagree (urllib vs urllib3 vs browsers).
            raise BadURL("bad URL: it contains whitespace, a control character or a backslash")
        parts = urlsplit(url)
        self.scheme = parts.scheme.lower()
        if self.scheme not in DEFAULT_PORTS:
            raise BadURL("bad URL: only http and https URLs can be fetched")
        if "@" in parts.netloc:
            raise BadURL("bad URL: URLs with a user name or password are not fetched")
        try:
            port = parts.port
        except ValueError:
            raise BadURL("bad URL: the port is not a number from 0 to 65535") from None
        self.port = port or DEFAULT_PORTS[self.scheme]
        self.host, self.literal = _parse_host(parts.netloc)
        if self.port not in allowed_ports():
            raise BlockedAddress(f"blocked address: port {self.port} is not allowed")
        self.path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
        if parts.query:
            self.path += "?" + quote(parts.query, safe="/%:@!$&'()*+,;=-._~?")
        default_port = self.port == DEFAULT_PORTS[self.scheme]
        bracketed = f"[{self.host}]" if ":" in self.host else self.host
        self.host_header = bracketed if default_port else f"{bracketed}:{self.port}"

    def addresses(self) -> list[IPAddress]:
        """Resolve once and return the addresses, refusing if any one is not allowed."""
        if self.literal is not None:
            found = [self.literal]
        elif self.host in _LOOPBACK_NAMES or self.host.endswith(".localhost"):
            found = [ipaddress.ip_address(a) for a in _LOOPBACK_ADDRESSES]
        else:
            try:
                found = [ipaddress.ip_address(a) for a in resolve_host(self.host, self.port)]
            except (OSError, UnicodeError, ValueError):
                raise ConnectionFailed(f"could not resolve {self.host}") from None
            if not found:
                raise ConnectionFailed(f"could not resolve {self.host}")
        networks = allowed_networks()
        if not all(is_allowed_address(ip, networks) for ip in found):
            raise BlockedAddress(f"blocked address: {self.host} is not a public address")
        return found


def _parse_host(netloc: str) -> tuple[str, IPAddress | None]:
    """The host as ASCII text (for Host and SNI), and the address if it is a literal.

    Every numeric spelling C's inet_aton accepts (``127.1``, ``0x7f.1``, ``2130706433``,
    ``0177.0.0.1``) is read as the IPv4 address it means, as browsers do, so it never becomes
    a DNS query. Unicode hosts go through IDNA, which also maps ``①②⑦`` to ``127``.
    """
    hostport = netloc.rpartition("@")[2]
    if hostport.startswith("["):
        inside, _, rest = hostport[1:].partition("]")
        if rest and not rest.startswith(":"):
            raise BadURL("bad URL: malformed IPv6 address")
        try:
            ip = ipaddress.IPv6Address(inside.replace("%25", "%"))
        except ValueError:
            raise BadURL("bad URL: malformed IPv6 address") from None
        return str(ip).split("%", 1)[0], ip
    name = hostport.rsplit(":", 1)[0] if ":" in hostport else hostport
    if not name:
        raise BadURL("bad URL: there is no host")
    try:
        name = name.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise BadURL("bad URL: the host name is not valid") from None
    name = name.removesuffix(".")
    labels = name.split(".")
    if not name or not all(label and _is_hostname_label(label) for label in labels):
        raise BadURL("bad URL: the host name is not valid")
    last = labels[-1]
    if last.isdigit() or (last.startswith("0x") and _is_hex(last[2:])):
        try:
            ip = ipaddress.IPv4Address(socket.inet_aton(name))
        except OSError:
            raise BadURL("bad URL: the host is not a valid IPv4 address") from None
        return str(ip), ip
    return name, None


def _is_hostname_label(label: str) -> bool:
    return (
        len(label) <= 63
        and not label.startswith("-")
        and not label.endswith("-")
        and all(ch.isalnum() or ch in "-_" for ch in label)
    )


def _is_hex(text: str) -> bool:
    return all(ch in "0123456789abcdef" for ch in text)


def resolve_host(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to, in the resolver's order (tests replace this)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


# --- The deadline ----------------------------------------------------------------------------


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
                logger.info("egress (%s): %s %s -> %s", purpose, method, target.host, raw.status)
                yield EgressResponse(
                    raw, url=current, host=target.host, max_bytes=max_bytes, deadline=deadline
                )
                return
            finally:
                deadline.cancel()
                raw.close()
                conn.close()
        raise TooManyRedirects("too many redirects")  # not reached: the loop returns
    except EgressError as exc:
        logger.info("egress (%s) refused or failed: %s", purpose, exc)
        raise


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
            if isinstance(exc, urllib3.exceptions.ConnectTimeoutError | TimeoutError):
                failure = TimedOut(f"connecting to {target.host} timed out")
            continue
        deadline.watch(conn.sock)
        conn.sock.settimeout(max(min(settings.GHEE_EGRESS_READ_TIMEOUT, deadline.remaining()), 0))
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
