"""Fixtures for the egress and media tests: loopback servers, egress settings, storage,
and an S3-compatible server (moto's, on 127.0.0.1)."""

import json
import socket

import boto3
import pytest
from moto.server import ThreadedMotoServer

from ghee.core.egress import open_url
from ghee.core.egress import urls as egress_urls
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


# --- S3: moto's server on loopback (the real path: django-storages, boto3, HTTP) ----------

BUCKET = "ghee-media"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@pytest.fixture(scope="module")
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint):
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1", **CREDENTIALS)
    client.create_bucket(Bucket=BUCKET)
    # Media URLs are public: the operator lets anyone read the bucket (docs/media.md).
    public_read = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{BUCKET}/*",
            }
        ],
    }
    client.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(public_read))
    yield client
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for item in page.get("Contents", []):
            client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def use_s3(settings, endpoint: str, media_url: str = "") -> None:
    """The settings GHEE_S3_BUCKET=... GHEE_S3_ENDPOINT_URL=... produce (ghee/settings.py)."""
    options = {
        "bucket_name": BUCKET,
        "endpoint_url": endpoint,
        "region_name": "us-east-1",
        "access_key": "testing",
        "secret_key": "testing",
        "addressing_style": "path",
        "querystring_auth": False,
    }
    if media_url:
        scheme, _, domain = media_url.partition("//")
        options.update(custom_domain=domain.rstrip("/"), url_protocol=scheme)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "ghee.media.s3.MediaS3Storage", "OPTIONS": options},
    }
    settings.GHEE_S3_BUCKET = BUCKET
    settings.GHEE_MEDIA_URL = media_url


def keys(client) -> list[str]:
    return [item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


@pytest.fixture
def resolver(monkeypatch):
    """Replace DNS: ``resolver[name] = [addresses]``; ``resolver.calls`` counts lookups."""

    class Resolver(dict):
        calls: list = []

        def __call__(self, host, port):
            self.calls.append(host)
            answer = self[host]
            return answer(len(self.calls)) if callable(answer) else answer

    stub = Resolver()
    stub.calls = []
    monkeypatch.setattr(egress_urls, "resolve_host", stub)
    return stub


def fetch(url: str) -> bytes:
    with open_url(url, purpose="test") as response:
        response.raise_for_status()
        return response.read()
