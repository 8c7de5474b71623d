"""Shared pieces of ghee's benchmarks: databases, a server process, workers, CPU, results.

Everything runs on 127.0.0.1. A benchmark typically does::

    env = harness.instance_env("write-sqlite", db="sqlite")      # fresh data dir / database
    token = harness.setup_instance(env, org="bench", schema=SCHEMA_YAML)
    with harness.Server(env) as server:                          # `ghee serve --no-worker`
        cpu0 = server.cpu_seconds()
        result = loadgen.run(server.url("/healthz"), connections=16, duration=10)
        cpu = server.cpu_seconds() - cpu0

See bench/README.md for what each function does and the traps they avoid.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
GHEE = str(BIN / "ghee")
RESULTS_DIR = ROOT / "bench" / "results"
BENCH_VAR = ROOT / "var" / "bench"

# urllib must never go through a proxy from the environment: loopback only.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- Databases and instances ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fresh_data_dir(name: str) -> Path:
    """``var/bench/<name>``, emptied."""
    path = BENCH_VAR / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def postgres_url(database: str, fresh: bool = True) -> str:
    """PostgreSQL database ``database`` on the throw-away server.

    Starts the server with scripts/postgres.sh (which installs PostgreSQL if needed). With
    ``fresh`` the database is dropped and re-created, so every run starts from the same
    state; without it an existing database is kept (and created when missing).
    """
    started = subprocess.run(
        ["bash", str(ROOT / "scripts" / "postgres.sh"), "start"],
        capture_output=True,
        text=True,
        check=False,
    )
    if started.returncode != 0:
        raise SystemExit(f"PostgreSQL did not start:\n{started.stderr}")
    server_url = started.stdout.strip().splitlines()[-1]
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        if fresh:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')
    return server_url.rsplit("/", 1)[0] + "/" + database


def instance_env(name: str, db: str = "sqlite", **extra: str) -> dict[str, str]:
    """The environment of a fresh ghee instance: its own data dir and, for ``db="postgres"``,
    its own PostgreSQL database ``ghee_bench_<name>``. ``extra`` adds GHEE_* settings."""
    data_dir = fresh_data_dir(name)
    env = {
        **os.environ,
        # A settings module of your own (e.g. to try a change A/B) passes through.
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "ghee.settings"),
        "GHEE_DATA_DIR": str(data_dir),
        "GHEE_DEBUG": "0",
        "GHEE_LOG_LEVEL": "WARNING",
        "DATABASE_URL": f"sqlite:///{data_dir / 'ghee.sqlite3'}",  # an empty value stops ghee
        **extra,
    }
    if db == "postgres":
        env["DATABASE_URL"] = postgres_url("ghee_bench_" + name.replace("-", "_"))
    elif db != "sqlite":
        raise ValueError(f"unknown database {db!r}")
    return env


def ghee(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    """Run ``ghee <args>`` in ``env``; return its standard output (fail loudly)."""
    completed = subprocess.run(
        [GHEE, *args], env=env, input=stdin, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise SystemExit(f"ghee {' '.join(args)} failed:\n{completed.stderr}")
    return completed.stdout


def setup_instance(env: dict[str, str], org: str, schema: str, kind: str = "write") -> str:
    """Migrate, create organization ``org`` and apply ``schema`` (YAML) through the ``ghee``
    command; return a new token of ``kind`` in clear."""
    ghee(env, "migrate", "--noinput", "-v0")
    ghee(env, "org", "create", org, "--name", org.title())
    schema_file = Path(env["GHEE_DATA_DIR"]) / "schema.yaml"
    schema_file.write_text(schema)
    ghee(env, "schema", "apply", str(schema_file), "--org", org)
    return ghee(env, "token", "create", "--org", org, "--kind", kind).strip()


def django_setup(env: dict[str, str]) -> None:
    """Point this process's Django at the instance in ``env`` (once per process), to count
    rows through the ORM."""
    for name in ("DJANGO_SETTINGS_MODULE", "GHEE_DATA_DIR", "DATABASE_URL"):
        os.environ[name] = env[name]
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


# --- Processes -----------------------------------------------------------------------------


def _proc_table() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds used so far) for every process."""
    tick = os.sysconf("SC_CLK_TCK")
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        table[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    return table


def descendants(pid: int) -> list[int]:
    """``pid`` and its live descendants."""
    table = _proc_table()
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        if current in table:
            found.append(current)
        stack.extend(child for child, (parent, _) in table.items() if parent == current)
    return found


def process_tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by ``pid`` and its live descendants."""
    table = _proc_table()
    return sum(table[p][1] for p in descendants(pid) if p in table)


def database_cpu_seconds(env: dict[str, str]) -> float:
    """CPU seconds used so far by the PostgreSQL server (postmaster and backends) of the
    instance in ``env``; 0 for SQLite, whose work is done inside the ghee processes."""
    if not env.get("DATABASE_URL", "").startswith("postgres"):
        return 0.0
    location = ROOT / "var" / "pg" / "location"
    data_dir = Path(location.read_text().strip()) if location.exists() else ROOT / "var/pg/data"
    try:
        pid = int((data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    return process_tree_cpu(pid)


def stop_process(process: subprocess.Popen, grace: float = 30.0) -> None:
    """SIGTERM, wait ``grace`` seconds, then SIGKILL the process and what it left behind."""
    if process.poll() is not None:
        return
    tree = descendants(process.pid)
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        log(f"pid {process.pid} ignored SIGTERM for {grace:.0f}s; killing it")
    for pid in tree:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


def http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    try:
        with _opener.open(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def http_request(
    url: str, method: str, body: bytes | None, headers: dict[str, str], timeout: float = 10.0
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with _opener.open(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


class Server:
    """``ghee serve --no-worker`` on 127.0.0.1 (granian directly if ``serve`` is missing).

    Use as a context manager; ``url(path)``, ``cpu_seconds()`` (the whole process tree),
    ``stop()``. ``workers``/``threads`` are granian's worker processes and blocking threads
    (``threads=None``: ``ghee serve``'s default).
    """

    def __init__(
        self, env: dict[str, str], *, workers: int = 2, threads: int | None = None
    ) -> None:
        self.env = env
        self.port = free_port()
        self.workers = workers
        self.threads = threads
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        bind = f"127.0.0.1:{self.port}"
        probe = subprocess.run(
            [GHEE, "help", "serve"], env=self.env, capture_output=True, check=False
        )
        if probe.returncode == 0:
            return [GHEE, "serve", "--no-worker", "--bind", bind]
        return [
            str(BIN / "granian"),
            *("--interface", "wsgi", "--host", "127.0.0.1", "--port", str(self.port)),
            *("--workers", str(self.workers), "--blocking-threads", str(self.threads or 1)),
            "--no-ws",
            "ghee.wsgi:application",
        ]

    def start(self, timeout: float = 60.0) -> Server:
        command = self.command()
        if command[1] == "serve":
            command += ["--workers", str(self.workers)]
            if self.threads is not None:  # otherwise serve's own default
                command += ["--threads", str(self.threads)]
        log("server: " + " ".join(command[1:]))
        self.process = subprocess.Popen(command, env=self.env, cwd=ROOT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the server exited with status {self.process.returncode}")
            with contextlib.suppress(OSError):
                if http_get(self.url("/healthz"), timeout=1)[0] == 200:
                    return self
            time.sleep(0.2)
        self.stop()
        raise SystemExit("the server did not answer /healthz in time")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def cpu_seconds(self) -> float:
        return process_tree_cpu(self.process.pid) if self.process else 0.0

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class Workers:
    """``count`` ``ghee worker`` processes; a context manager with ``cpu_seconds()``."""

    def __init__(self, env: dict[str, str], count: int) -> None:
        self.env = env
        self.count = count
        self.processes: list[subprocess.Popen] = []

    def __enter__(self) -> Workers:
        for _ in range(self.count):
            self.processes.append(subprocess.Popen([GHEE, "worker"], env=self.env, cwd=ROOT))
        return self

    def alive(self) -> bool:
        return all(p.poll() is None for p in self.processes)

    def cpu_seconds(self) -> float:
        return sum(process_tree_cpu(p.pid) for p in self.processes)

    def __exit__(self, *exc) -> None:
        for process in self.processes:
            stop_process(process)


# --- Reporting -------------------------------------------------------------------------------


def machine_info() -> dict:
    def version(*command: str) -> str:
        try:
            out = subprocess.run(command, capture_output=True, text=True, check=False)
        except OSError:
            return "not installed"
        return (out.stdout or out.stderr).strip().splitlines()[0] if out else ""

    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "host_cpus": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "wrk": version("wrk", "--version"),
        "git_commit": version("git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"),
    }


def write_results(name: str, data: dict) -> Path:
    """``bench/results/<name>-<UTC timestamp>.json`` (git-ignored)."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"{name}-{stamp}.json"
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    return path


def markdown_table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    """``columns``: (key in each row, header). Floats are shown with sensible precision."""

    def cell(value) -> str:
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}"
        return str(value)

    lines = [
        "| " + " | ".join(header for _, header in columns) + " |",
        "|" + "|".join("---" for _ in columns) + "|",
    ]
    lines += ["| " + " | ".join(cell(row.get(key)) for key, _ in columns) + " |" for row in rows]
    return "\n".join(lines)
