"""Where ``ghee serve`` listens (issue 21, items 1 and 5).

A second ``ghee serve`` on a port another process listens on must exit 1 with one line
naming the address and the process, not start beside it (granian binds with SO_REUSEPORT,
so it would, and requests would be split between two servers). ``make run PORT=...`` /
``GHEE_BIND`` move the server, and the public URL ghee hands out follows.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from ghee.settings import public_url_for_bind
from tests.processes import (
    clean_env,
    free_port,
    get,
    ghee,
    start_serve,
    stop_serve,
    wait_until_serving,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_a_second_serve_on_a_taken_port_exits_1_and_the_first_keeps_serving(tmp_path):
    assert ghee(tmp_path, "migrate", "--noinput", "-v", "0").returncode == 0
    port = free_port()
    first = start_serve(tmp_path, port, "--no-worker", "--workers", "1")
    try:
        wait_until_serving(port, first)
        second = ghee(tmp_path, "serve", "--bind", f"127.0.0.1:{port}", "--no-worker")
        assert second.returncode == 1
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1, second.stderr
        assert re.fullmatch(
            rf"ghee serve: error: 127\.0\.0\.1:{port} is already in use by process \d+ "
            r"\(.*granian.*\): stop that server or serve on another address .*",
            lines[0],
        ), lines[0]
        # The first still serves, and alone: its start page names its own address.
        status, body = get(f"http://127.0.0.1:{port}/")
        assert status == 200 and f"http://127.0.0.1:{port}/v2/content/".encode() in body
        assert first.poll() is None
    finally:
        code, stderr = stop_serve(first)
    assert code == 0, stderr
    assert f"public URL http://127.0.0.1:{port}" in stderr


def test_an_address_that_cannot_be_bound_is_refused_before_anything_starts(tmp_path):
    # 192.0.2.1 (TEST-NET-1) is no address of this machine: nothing is sent, bind fails.
    result = ghee(tmp_path, "serve", "--bind", "192.0.2.1:8000", "--no-worker")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "ghee serve: error: cannot listen on 192.0.2.1:8000: Cannot assign requested address"
    )


@pytest.mark.parametrize(
    ("bind", "url"),
    [
        ("127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("127.0.0.1:8123", "http://127.0.0.1:8123"),
        ("0.0.0.0:8080", "http://127.0.0.1:8080"),
        ("[::1]:8123", "http://[::1]:8123"),
        ("[::]:8123", "http://127.0.0.1:8123"),
        ("8123", "http://127.0.0.1:8123"),
        ("192.168.1.5:80", "http://192.168.1.5:80"),
    ],
)
def test_the_public_url_follows_the_bind_address(bind, url):
    assert public_url_for_bind(bind) == url


def settings_in_child(data_dir: Path, **env) -> str:
    """``settings.PUBLIC_URL`` as a fresh process sees it with ``env``."""
    code = (
        "import django; django.setup(); from django.conf import settings as s; print(s.PUBLIC_URL)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean_env(data_dir, DJANGO_SETTINGS_MODULE="ghee.settings", **env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_ghee_bind_moves_the_public_url_unless_it_is_set(tmp_path):
    assert settings_in_child(tmp_path) == "http://127.0.0.1:8000"
    assert settings_in_child(tmp_path, GHEE_BIND="127.0.0.1:8123") == "http://127.0.0.1:8123"
    explicit = {"GHEE_BIND": "127.0.0.1:8123", "GHEE_PUBLIC_URL": "https://cms.example.org/"}
    assert settings_in_child(tmp_path, **explicit) == "https://cms.example.org"


def make_run(*args, **env) -> list[str]:
    result = subprocess.run(
        ["make", "-n", "run", *args],
        cwd=ROOT,
        env={**clean_env(ROOT / "var"), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if "ghee " in line]


def test_make_run_serves_on_the_port_it_is_given():
    commands = make_run("PORT=8123")
    assert commands[-1].endswith("ghee serve --bind 127.0.0.1:8123")
    # migrate, demo (whose banner prints the public URL) and serve all see the address.
    for command in (c for c in commands if " migrate" in c or " demo" in c or " serve" in c):
        assert command.startswith("GHEE_BIND=127.0.0.1:8123 "), command
    assert make_run()[-1].endswith("ghee serve --bind 127.0.0.1:8000")
    assert make_run(GHEE_BIND="0.0.0.0:9000")[-1].endswith("ghee serve --bind 0.0.0.0:9000")
