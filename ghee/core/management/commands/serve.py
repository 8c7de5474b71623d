"""``ghee serve [--bind HOST:PORT] [--workers N] [--threads N] [--header-timeout S]
[--interface asgi|wsgi] [--no-worker]``.

Runs the API under granian and, unless ``--no-worker``, one ``ghee worker`` beside it.
By default (``--interface asgi``, ``GHEE_SERVE_INTERFACE``) granian serves
``ghee.asgi:application`` through its ASGI interface: Django's WSGI handler run by
``core/asgi_bridge.py``, whose event loop receives a write's body before a thread runs it,
so a body that stalls holds no thread and is a 408 at ``GHEE_BODY_READ_TIMEOUT``.
``--interface wsgi`` serves ``ghee.wsgi:application`` through granian's WSGI interface,
where such a body holds a thread, and with it every request queued for that process, until
the client goes away (docs/benchmarks.md, "Stalled bodies").

The address is checked first: granian binds with ``SO_REUSEPORT``, so without the check a
second server on a taken port would start and share its connections.

Ctrl-C or SIGTERM stops both: the signal is forwarded, both get ``STOP_GRACE_SECONDS`` to
finish what they are doing, and the command exits 0.

The children run in their own sessions so a terminal's Ctrl-C reaches them once, from here,
rather than twice (granian treats a second signal as "stop now").

Slow and idle clients (docs/api-layer.md, "Limits and slow clients"): granian reads headers
in its own event loop, so a slow client costs a connection, not a thread; a connection that
has not sent a request's headers within ``--header-timeout`` seconds (an idle keep-alive
connection included) is closed. ``--threads`` (``GHEE_SERVE_THREADS``, 1) is how many
requests one worker process runs at once: the bridge's threads (and as many again for
bodies too large to be received first, such as uploads), or under ``--interface wsgi``
granian's blocking threads. On SQLite more lowers the write rate (docs/cli.md).
"""

import contextlib
import ctypes
import errno
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from ghee.core.management.base import GheeCommand
from ghee.settings import public_url_for_bind

STOP_GRACE_SECONDS = 10
# granian kills a worker process that has not stopped this long after being asked: one that
# was still starting when the signal came would otherwise miss it and keep serving, and a
# `ghee serve` killed outright (granian stops on its death signal) could not step in.
WORKER_KILL_SECONDS = 5
RESEND_SECONDS = 3
PR_SET_PDEATHSIG = 1  # linux/prctl.h
POLL_SECONDS = 0.2
WORKER_BACKOFF_MAX = 30.0
# A worker that ran this long before dying starts again at once.
WORKER_HEALTHY_SECONDS = 60.0


def parse_bind(value: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[IPv6]:PORT`` or ``PORT`` (on 127.0.0.1)."""
    host, _, port = value.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    try:
        number = int(port)
    except ValueError:
        number = 0
    if not 0 < number < 65536:
        raise CommandError(f"--bind {value!r}: expected HOST:PORT, e.g. 127.0.0.1:8000")
    return host, number


def refuse_taken_address(host: str, port: int) -> None:
    """A ``CommandError`` when ``host:port`` cannot be listened on, naming what holds it.

    granian binds with ``SO_REUSEPORT``, so a second ``ghee serve`` on a taken port would
    start beside the first and share its connections (two databases behind one address).
    A bind without ``SO_REUSEPORT`` fails on any listener, whatever options it used. The
    probe is closed before granian binds: a server started in between still gets in.
    """
    shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # SO_REUSEADDR: connections of a server that just stopped (TIME_WAIT) are no obstacle.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                holder = listener_description(port)
                raise CommandError(
                    f"{shown} is already in use{holder}: stop that server or serve on "
                    "another address (--bind, GHEE_BIND, make run PORT=...)"
                ) from None
            raise CommandError(f"cannot listen on {shown}: {exc.strerror}") from None


def listener_description(port: int) -> str:
    """`` by process PID (COMMAND)`` for a process listening on TCP ``port``, as far as
    /proc tells (Linux; the processes of other users hide their sockets); else ``""``."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                listening = len(fields) > 9 and fields[3] == "0A"  # TCP_LISTEN
                if listening and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        return ""
    for pid in sorted(int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()):
        # The lowest holder: granian's main process rather than its workers.
        with contextlib.suppress(OSError):  # a process or descriptor gone while looking
            if any(os.readlink(fd) in inodes for fd in Path(f"/proc/{pid}/fd").iterdir()):
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
                command = command.decode(errors="replace").strip()
                if len(command) > 80:
                    command = command[:77] + "..."
                return f" by process {pid} ({command})"
    return ""


def _stop_with_parent(parent_pid: int):
    """On Linux, a child gets SIGTERM when ``ghee serve`` dies, even by SIGKILL, so no
    orphaned server keeps the port. Elsewhere nothing is done."""
    if not sys.platform.startswith("linux"):
        return None

    def set_parent_death_signal() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os._exit(1)

    return set_parent_death_signal


def _log(message: str) -> None:
    # A closed stderr (the terminal or the pipe reading it went away) must not stop
    # `ghee serve` from stopping its children.
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(f"ghee serve: {message}\n")
        sys.stderr.flush()


class Command(GheeCommand):
    help = "Serve the API (granian) with a background worker beside it."
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--bind",
            default=settings.GHEE_BIND,
            help="HOST:PORT to listen on (default GHEE_BIND, 127.0.0.1:8000)",
        )
        parser.add_argument(
            "--workers", type=int, default=2, help="granian worker processes (default 2)"
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=settings.GHEE_SERVE_THREADS,
            help="threads running Python per granian worker (default GHEE_SERVE_THREADS, 1)",
        )
        parser.add_argument(
            "--header-timeout",
            type=float,
            default=settings.GHEE_HEADER_READ_TIMEOUT,
            help="seconds a connection may take to send request headers, and an idle "
            "keep-alive connection is kept (default GHEE_HEADER_READ_TIMEOUT, 5)",
        )
        parser.add_argument(
            "--no-worker", action="store_true", help="do not start a `ghee worker` beside the API"
        )
        parser.add_argument(
            "--interface",
            choices=("asgi", "wsgi"),
            default=settings.GHEE_SERVE_INTERFACE,
            help="granian's interface: asgi (ghee's bridge: a stalled body holds no thread) "
            "or wsgi (default GHEE_SERVE_INTERFACE, asgi)",
        )
        parser.add_argument("--access-log", action="store_true", help="log every request")

    def handle(self, *args, **options):
        host, port = parse_bind(options["bind"])
        if options["workers"] < 1 or options["threads"] < 1:
            raise CommandError("--workers and --threads must be at least 1")
        if not 0.001 <= options["header_timeout"] <= 60:
            raise CommandError("--header-timeout must be between 0.001 and 60 seconds")
        refuse_taken_address(host, port)
        self.check_migrations()
        call_command("collectstatic", interactive=False, verbosity=0)

        public_url = os.environ.get("GHEE_PUBLIC_URL") or public_url_for_bind(options["bind"])
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "ghee.settings"),
            "GHEE_DATA_DIR": str(settings.DATA_DIR),
            "GHEE_SERVE_THREADS": str(options["threads"]),
            # The API and the worker hand out URLs of the address served, unless told else.
            "GHEE_BIND": options["bind"],
        }
        self.stopping: int | None = None
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self.on_signal)

        worker_command = self.worker_command(options["no_worker"])
        shown = f"[{host}]" if ":" in host else host
        _log(
            f"API on http://{shown}:{port} (granian, {options['workers']} workers); "
            f"worker: {'on' if worker_command else 'off'}; public URL {public_url.rstrip('/')}"
        )
        server = self.spawn(self.server_command(host, port, options), env)
        self.worker = None
        try:
            failure = self.supervise(server, worker_command, env)
        finally:
            self.stop([p for p in (server, self.worker) if p is not None])
        if failure:
            raise CommandError(failure)
        _log("stopped")

    # Setup -----------------------------------------------------------------------------

    def check_migrations(self) -> None:
        connection = connections[DEFAULT_DB_ALIAS]
        connection.prepare_database()
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        connection.close()
        if plan:
            raise CommandError(
                f"the database has {len(plan)} unapplied migrations: run `ghee migrate` first"
            )

    @staticmethod
    def server_command(host: str, port: int, options) -> list[str]:
        command = [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "asginl" if options["interface"] == "asgi" else "wsgi",
            "--host",
            host,
            "--port",
            str(port),
            "--workers",
            str(options["workers"]),
            "--blocking-threads",
            "1" if options["interface"] == "asgi" else str(options["threads"]),
            "--http",
            "1",
            "--http1-header-read-timeout",
            str(round(options["header_timeout"] * 1000)),
            "--respawn-failed-workers",
            "--workers-kill-timeout",
            str(WORKER_KILL_SECONDS),
            "--no-ws",
        ]
        if options["interface"] == "asgi":
            command += ["--loop", "asyncio"]  # uvloop, where installed, measured no faster
        if options["access_log"]:
            command.append("--access-log")
        static_url = settings.STATIC_URL or ""
        if "://" not in static_url:
            command += [
                "--static-path-route",
                "/" + static_url.strip("/"),
                "--static-path-mount",
                str(Path(settings.STATIC_ROOT)),
            ]
        target = (
            "ghee.asgi:application" if options["interface"] == "asgi" else "ghee.wsgi:application"
        )
        return [*command, target]

    @staticmethod
    def worker_command(disabled: bool) -> list[str] | None:
        if disabled:
            return None
        if "worker" not in get_commands():
            _log("`ghee worker` is not available in this build; serving without a worker")
            return None
        return [sys.executable, "-m", "ghee.cli", "worker"]

    # Running ---------------------------------------------------------------------------

    def on_signal(self, signum, frame) -> None:
        self.stopping = signum

    @staticmethod
    def spawn(command: list[str], env: dict) -> subprocess.Popen:
        return subprocess.Popen(
            command, env=env, start_new_session=True, preexec_fn=_stop_with_parent(os.getpid())
        )

    def supervise(self, server, worker_command, env) -> str | None:
        """Run until a signal (returns None) or until the API server dies (returns why).

        A worker that dies is started again, after a pause that doubles while it keeps
        dying young (a crash loop must not spin).
        """
        self.worker = self.spawn(worker_command, env) if worker_command else None
        started, backoff, restart_at = time.monotonic(), 0.0, None
        while self.stopping is None:
            status = server.poll()
            if status is not None:
                return f"the API server (granian) exited with status {status}"
            if self.worker is not None and self.worker.poll() is not None:
                healthy = time.monotonic() - started > WORKER_HEALTHY_SECONDS
                backoff = 1.0 if healthy else min(max(backoff * 2, 1.0), WORKER_BACKOFF_MAX)
                _log(
                    f"the worker exited with status {self.worker.returncode}; "
                    f"starting it again in {backoff:.0f}s"
                )
                self.worker, restart_at = None, time.monotonic() + backoff
            if restart_at is not None and time.monotonic() >= restart_at:
                self.worker, restart_at = self.spawn(worker_command, env), None
                started = time.monotonic()
            time.sleep(POLL_SECONDS)
        _log(f"received {signal.Signals(self.stopping).name}; stopping")
        return None

    @staticmethod
    def stop(processes: list[subprocess.Popen]) -> None:
        """SIGTERM each; ask again after ``RESEND_SECONDS`` (a signal that arrives while
        granian is still starting up is lost); SIGKILL the process group of whatever is
        left after ``STOP_GRACE_SECONDS``."""
        started = time.monotonic()
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        resent = False
        while any(p.poll() is None for p in processes):
            waited = time.monotonic() - started
            if waited >= STOP_GRACE_SECONDS:
                for process in processes:
                    if process.poll() is None:
                        _log(f"process {process.pid} did not stop in time; killing it")
                        with contextlib.suppress(ProcessLookupError):
                            os.killpg(process.pid, signal.SIGKILL)
                        process.wait()
                break
            if waited >= RESEND_SECONDS and not resent:
                resent = True
                for process in processes:
                    if process.poll() is None:
                        process.send_signal(signal.SIGTERM)
            time.sleep(POLL_SECONDS)
