"""Real HTTP servers on 127.0.0.1 for the egress and media tests.

A ``LoopbackServer`` runs http.server in a thread; each path is routed to a function that
writes the whole response, so a test can misbehave exactly as a hostile server would
(lie about lengths, drip bytes, never end, redirect forever).
"""

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.server.owner.dispatch(self)

    do_HEAD = do_POST = do_GET

    def log_message(self, *args):
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that hung up on a hostile route is the point of the test

    def process_request(self, request, client_address):
        self.owner.connections += 1
        super().process_request(request, client_address)


class LoopbackServer:
    def __init__(self, host: str = "127.0.0.1", tls=None):
        """``tls``: an ``ssl.SSLContext`` (server side) to serve https instead of http."""
        self.host = host
        self.scheme = "https" if tls else "http"
        self.routes: dict[str, Callable] = {}
        self.requests: list[dict] = []
        self.connections = 0
        self._httpd = _Server((host, 0), _Handler)
        self._httpd.owner = self
        self.port = self._httpd.server_address[1]
        if tls:
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def url(self, path: str, host: str | None = None) -> str:
        return f"{self.scheme}://{host or self.host}:{self.port}{path}"

    def dispatch(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?", 1)[0]
        self.requests.append(
            {"method": handler.command, "path": handler.path, "headers": dict(handler.headers)}
        )
        route = self.routes.get(path)
        if route is None:
            self._send(handler, 404, b"not found", {"Content-Type": "text/plain"})
        else:
            route(handler)

    @staticmethod
    def _send(handler, status: int, body: bytes, headers: dict[str, str]) -> None:
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        if "Content-Length" not in headers:
            handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(body)

    def serve(self, path: str, body: bytes, *, status: int = 200, headers=None) -> str:
        """Serve fixed bytes at ``path``; returns the path's URL."""
        sent = {"Content-Type": "application/octet-stream", **(headers or {})}
        self.routes[path] = lambda handler: self._send(handler, status, body, sent)
        return self.url(path)

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        return self.serve(path, b"", status=status, headers={"Location": location})

    def route(self, path: str, function: Callable) -> str:
        self.routes[path] = function
        return self.url(path)

    def requests_for(self, path: str) -> list[dict]:
        return [r for r in self.requests if r["path"].split("?", 1)[0] == path]

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
