"""A real ``ghee serve`` as the ButterCMS source (ghee speaks the Read API), its media on a
loopback server, and the import run into this test run's database (SQLite or PostgreSQL).
"""

import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.media.conftest import media_storage
from tests.media.samples import png_bytes
from tests.media.servers import LoopbackServer
from tests.processes import clean_env, free_port, ghee, spawn_ghee, stop, wait_until_serving

SEED = Path(__file__).with_name("seed_source.py")


@pytest.fixture(scope="module")
def media_server():
    server = LoopbackServer()
    server.serve(
        "/photo0.png", png_bytes(color=(10, 20, 30)), headers={"Content-Type": "image/png"}
    )
    server.serve(
        "/photo1.png", png_bytes(color=(200, 30, 30)), headers={"Content-Type": "image/png"}
    )
    server.redirect("/moved.jpg", "/page.html")
    server.serve(
        "/page.html", b"<html><body>Moved</body></html>", headers={"Content-Type": "text/html"}
    )
    yield server
    server.close()


class Source:
    def __init__(self, data_dir: Path, env: dict, base: str, seeded: dict, process) -> None:
        self.data_dir, self.env, self.base, self.seeded, self.process = (
            data_dir,
            env,
            base,
            seeded,
            process,
        )

    def shell(self, code: str) -> str:
        return self.ghee("shell", "-c", code)

    def ghee(self, *args: str) -> str:
        result = ghee(self.data_dir, *args, **self._extra())
        assert result.returncode == 0, result.stderr
        return result.stdout

    def _extra(self) -> dict:
        return {k: v for k, v in self.env.items() if k.startswith(("GHEE_", "SEED_"))}


@pytest.fixture(scope="module")
def source(tmp_path_factory, media_server):
    """The source ghee: its own SQLite database, seeded, serving on 127.0.0.1."""
    data_dir = tmp_path_factory.mktemp("buttercms-source")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    extra = {
        "GHEE_PUBLIC_URL": base,
        "GHEE_EGRESS_ALLOW_NETWORKS": "127.0.0.0/8",
        "GHEE_EGRESS_ALLOW_PORTS": str(media_server.port),
        "SEED_MEDIA_BASE": media_server.url("").rstrip("/"),
    }
    result = ghee(data_dir, "migrate", "--noinput", "-v", "0")
    assert result.returncode == 0, result.stderr
    result = ghee(data_dir, "shell", "-c", SEED.read_text(), **extra)
    assert result.returncode == 0, result.stderr
    seeded = json.loads(result.stdout.strip().splitlines()[-1])
    env = clean_env(data_dir, **extra)
    process = spawn_ghee(
        ["serve", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--no-worker"], env
    )
    try:
        wait_until_serving(port, process)
        yield Source(data_dir, env, base, seeded, process)
    finally:
        stop(process)


@pytest.fixture
def reach_source(settings, source, media_server):
    """Egress may reach the loopback source and media server (allowed on purpose)."""
    settings.GHEE_EGRESS_ALLOW_NETWORKS = ["127.0.0.0/8"]
    settings.GHEE_EGRESS_ALLOW_PORTS = [int(source.base.rsplit(":", 1)[1]), media_server.port]
    return source


# Local media storage and download space in the test's own directory (the media tests' fixture).
target_media = media_storage


def run_import(*args, token: str, expect_failure: bool = False) -> tuple[str, dict, Path]:
    """``ghee import buttercms ARGS`` in this process; (stdout, JSON report)."""
    import io
    import tempfile

    out = io.StringIO()
    report = Path(tempfile.mkstemp(suffix=".json")[1])
    try:
        call_command(
            "import",
            "buttercms",
            *args,
            "--token",
            token,
            "--report",
            str(report),
            "--no-progress",
            stdout=out,
        )
        failed = None
    except CommandError as exc:
        failed = exc
    if expect_failure:
        assert failed is not None, out.getvalue()
    else:
        assert failed is None, (failed, out.getvalue())
    return out.getvalue(), json.loads(report.read_text()), report
