"""Fixtures for the egress and media tests: loopback servers, egress settings, storage."""

import socket

import pytest

from tests.media.servers import LoopbackServer


@pytest.fixture
def server():
    srv = LoopbackServer()
    yield srv
    srv.close()


@pytest.fixture
def allow_loopback(settings, server):
    """Let egress reach the test server: loopback allowed on purpose, and the server's port."""
    settings.GHEE_EGRESS_ALLOW_NETWORKS = ["127.0.0.0/8", "::1/128"]
    settings.GHEE_EGRESS_ALLOW_PORTS = [server.port]
    return server


@pytest.fixture
def connects(monkeypatch):
    """Every address any socket in this process tries to connect to, in order."""
    seen: list = []
    current = socket.socket.connect

    def recording_connect(sock, address):
        seen.append(address)
        return current(sock, address)

    monkeypatch.setattr(socket.socket, "connect", recording_connect)
    return seen


@pytest.fixture
def media_storage(settings, tmp_path):
    """Local media storage and download space in this test's own directory."""
    root = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "ghee.media.storage.MediaFileStorage",
            "OPTIONS": {"location": root, "base_url": f"{settings.PUBLIC_URL}/media/"},
        },
    }
    settings.MEDIA_ROOT = root
    settings.GHEE_MEDIA_TMP_DIR = tmp_path / "tmp"
    return root


def stored_files(root) -> list[str]:
    """Every file under ``root`` (relative paths), to prove what was or wasn't stored."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.fixture(autouse=True)
def _fresh_own_addresses():
    """ghee's own addresses are remembered per process for a minute: not across tests."""
    from ghee.core.egress import own

    own.clear_cache()
    yield
    own.clear_cache()
