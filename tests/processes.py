"""Helpers for tests that run ``ghee`` as a real process (serve, worker, one-off commands)
and talk to it over loopback. A plain module, not a test module: test modules import from
here (and from conftest.py files), never from each other."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent

postgres_only = pytest.mark.skipif(
    "os.environ.get('DATABASE_URL', '').split(':')[0] not in ('postgres', 'postgresql')",
    reason="terminates PostgreSQL connections",
)


# --- One-off commands and `ghee serve` on their own SQLite database ----------------------------


def ghee_executable() -> list[str]:
    script = Path(sys.executable).parent / "ghee"
    return [str(script)] if script.exists() else [sys.executable, "-m", "ghee.cli"]


def clean_env(data_dir: Path, **extra) -> dict:
    # The subprocess gets its own SQLite database, whatever this test run uses.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GHEE_") and k != "DATABASE_URL"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env | {"GHEE_DATA_DIR": str(data_dir), **extra}


def ghee(data_dir: Path, *args, stdin: str | None = None, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*ghee_executable(), *args],
        env=clean_env(data_dir, **env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, timeout: float = 5) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_until_serving(port: int, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1]
        try:
            if get(f"http://127.0.0.1:{port}/healthz", timeout=1)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("ghee serve did not answer /healthz")


def children_of(pid: int) -> list[int]:
    found = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat_file.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def kill_process_groups(pids: list[int]) -> list[int]:
    """Kill what is left of ``ghee serve``'s children (each leads its own process group), so
    a failing test leaves nothing running. Returns the pids that were still alive."""
    leftovers = [pid for pid in pids if alive(pid)]
    for pid in leftovers:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    return leftovers


def start_serve(data_dir: Path, port: int, *args, **env) -> subprocess.Popen:
    return subprocess.Popen(
        [*ghee_executable(), "serve", "--bind", f"127.0.0.1:{port}", *args],
        env=clean_env(data_dir, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop_serve(process: subprocess.Popen) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    try:
        _, stderr = process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        children = children_of(process.pid)
        process.kill()
        _, stderr = process.communicate()
        kill_process_groups(children)
        raise AssertionError(f"ghee serve did not stop on SIGTERM:\n{stderr}") from None
    return process.returncode, stderr


# --- Processes on this test run's own database -------------------------------------------------


def database_url() -> str:
    """The URL of the test database this process is using, for a worker subprocess."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}{db.get('HOST') or 'localhost'}{port}/{db['NAME']}"


def start_worker(**env) -> subprocess.Popen:
    environment = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "GHEE_DATA_DIR": str(settings.DATA_DIR),
        "GHEE_WORKER_INTERVAL": "0.05",
        **{key: str(value) for key, value in env.items()},
    }
    return spawn_ghee(["worker"], environment)


def spawn_ghee(args: list[str], environment: dict) -> subprocess.Popen:
    """``ghee ARGS`` as a subprocess whose output goes to ``process.log``.

    A file, not a pipe: a process must never block on a full pipe nobody reads."""
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed with the process object
    process = subprocess.Popen(
        [sys.executable, "-m", "ghee.cli", *args],
        cwd=ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    process.log = log
    return process


def output_of(process: subprocess.Popen) -> str:
    process.log.seek(0)
    return process.log.read().decode(errors="replace")


def wait_for(predicate, timeout: float = 60.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def stop(process: subprocess.Popen) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return output_of(process)


def start_api(port: int, database_url: str, **env) -> subprocess.Popen:
    """``ghee serve --no-worker`` on ``database_url`` (with a data directory of its own)."""
    data_dir = tempfile.mkdtemp(prefix="ghee-resilience-")
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GHEE_")},
        "DATABASE_URL": database_url,
        "GHEE_DATA_DIR": data_dir,
        **{key: str(value) for key, value in env.items()},
    }
    return spawn_ghee(["serve", "--bind", f"127.0.0.1:{port}", "--no-worker"], environment)


def stop_api(process: subprocess.Popen) -> str:
    children = children_of(process.pid)
    output = stop(process)
    kill_process_groups(children)
    return output
