"""A real webhook receiver on 127.0.0.1: it records every POST and answers from a script."""

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import standardwebhooks

from tests.media.servers import LoopbackServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    at: float = field(default_factory=time.monotonic)

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    def verify(self, secret: str) -> dict:
        """What a receiver does: check the signature with the standardwebhooks library."""
        return standardwebhooks.Webhook(secret).verify(self.body, self.headers)


Answer = tuple[int, dict[str, str], bytes]


class Receiver:
    """Records every POST; each path answers from a script (one answer per request, the
    last one repeated) or a function of the request."""

    def __init__(self) -> None:
        self.server = LoopbackServer()
        self.port = self.server.port
        self.received: list[Received] = []
        self._lock = threading.Lock()

    def hook(self, path: str, *answers: Answer | int | Callable) -> str:
        script = list(answers) or [200]
        calls = {"n": 0}

        def handle(handler) -> None:
            length = int(handler.headers.get("Content-Length") or 0)
            request = Received(
                path,
                {k.lower(): v for k, v in handler.headers.items()},
                handler.rfile.read(length),
            )
            with self._lock:
                self.received.append(request)
                answer = script[min(calls["n"], len(script) - 1)]
                calls["n"] += 1
            if callable(answer):
                answer = answer(request)
            if answer is None:  # the function answered (or hung) by itself
                return
            status, headers, body = (answer, {}, b"ok") if isinstance(answer, int) else answer
            self.server._send(handler, status, body, {"Content-Type": "text/plain", **headers})

        return self.server.route(path, handle)

    def at(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]

    def close(self) -> None:
        self.server.close()
