"""Raw-socket HTTP/1.1 clients for the hostile-client tests: what a browser library would
never send (half a header, a body that stops, a connection that says nothing)."""

import contextlib
import socket
import time


def connect(port: int, timeout: float = 30) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def request_head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def chunked(*parts: bytes) -> bytes:
    """``parts`` in chunked transfer coding, with the last (empty) chunk."""
    return b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts) + b"0\r\n\r\n"


def read_until_closed(sock: socket.socket, deadline: float) -> tuple[bytes, bool]:
    """(everything the server sent, whether it closed the connection) by ``deadline``
    (a ``time.monotonic()`` value)."""
    received = b""
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except TimeoutError:
            return received, False
        except ConnectionError:
            return received, True
        if not data:
            return received, True
        received += data
    return received, False


def status_of(response: bytes) -> int | None:
    """The status code of the first response in ``response``, or None."""
    if not response.startswith(b"HTTP/1.1 "):
        return None
    return int(response[9:12])


def exchange(port: int, raw: bytes, timeout: float = 10) -> tuple[int | None, bytes]:
    """Send ``raw`` on a new connection; (status, body) of the answer."""
    with contextlib.closing(connect(port, timeout)) as sock:
        sock.sendall(raw)
        received = b""
        while b"\r\n\r\n" not in received:
            data = sock.recv(65536)
            if not data:
                break
            received += data
        head, _, body = received.partition(b"\r\n\r\n")
        length = None
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while length is not None and len(body) < length:
            data = sock.recv(65536)
            if not data:
                break
            body += data
        return status_of(received), body
