"""``/media/...``: stored files as a CDN would serve them (types, ETags, ranges, caching)."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from tests.media import samples

KEY = "0123456789abcdef0123456789abcdef"
BODY = bytes(range(256)) * 40  # 10,240 bytes


@pytest.fixture
def stored(media_storage):
    """A file stored as the media library stores them, and its URL path."""
    name = default_storage.save(f"{KEY}/clip.mp4", ContentFile(BODY))
    return f"/media/{name}"


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_a_file_is_served_with_its_type_and_long_lived_caching(client, stored):
    response = client.get(stored, HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert response.streaming  # read from disk in blocks, never whole into memory
    assert body(response) == BODY  # not gzipped: ranges and the ETag describe these bytes
    assert response["Content-Type"] == "video/mp4"
    assert response["Content-Length"] == str(len(BODY))
    assert response["ETag"] == f'"{KEY}"'
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response["Accept-Ranges"] == "bytes"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "Content-Encoding" not in response


def test_head_sends_the_headers_only(client, stored):
    response = client.head(stored)
    assert response.status_code == 200
    assert response["Content-Length"] == str(len(BODY))
    assert response.content == b""


def test_a_matching_etag_is_not_modified(client, stored):
    response = client.get(stored, HTTP_IF_NONE_MATCH=f'"other", "{KEY}"')
    assert response.status_code == 304
    assert response["ETag"] == f'"{KEY}"'
    assert response.content == b""


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=10000-", 10000, 10239),
        ("bytes=-40", 10200, 10239),
        ("bytes=10200-99999", 10200, 10239),
        ("bytes=-999999", 0, 10239),
    ],
)
def test_a_range_is_a_206_with_those_bytes(client, stored, header, first, last):
    response = client.get(stored, HTTP_RANGE=header)
    assert response.status_code == 206
    assert body(response) == BODY[first : last + 1]
    assert response["Content-Range"] == f"bytes {first}-{last}/{len(BODY)}"
    assert response["Content-Length"] == str(last - first + 1)


@pytest.mark.parametrize("header", ["bytes=10240-", "bytes=99999-100000", "bytes=-0"])
def test_a_range_past_the_end_is_a_416(client, stored, header):
    response = client.get(stored, HTTP_RANGE=header)
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(BODY)}"


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "items=0-1", "bytes=9-2", "bytes=-"])
def test_ranges_ghee_does_not_serve_get_the_whole_file(client, stored, header):
    response = client.get(stored, HTTP_RANGE=header)
    assert response.status_code == 200
    assert body(response) == BODY


def test_an_if_range_that_no_longer_matches_gets_the_whole_file(client, stored):
    response = client.get(stored, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"stale"')
    assert response.status_code == 200
    response = client.get(stored, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE=f'"{KEY}"')
    assert response.status_code == 206


def test_svg_is_an_attachment_under_a_sandboxing_policy(client, media_storage):
    name = default_storage.save(f"{KEY}/logo.svg", ContentFile(samples.SVG_WITH_SCRIPT))
    response = client.get(f"/media/{name}")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response["Content-Disposition"] == 'attachment; filename="logo.svg"'
    assert "sandbox" in response["Content-Security-Policy"]
    assert "default-src 'none'" in response["Content-Security-Policy"]


@pytest.mark.parametrize(
    "path",
    [
        f"/media/{KEY}/missing.mp4",
        f"/media/{KEY}/clip.html",
        f"/media/{KEY}/clip",
        "/media/clip.mp4",
        f"/media/{KEY}/.tmp-abc.mp4",
        f"/media/{KEY}/../{KEY}/clip.mp4",
        "/media/../secret_key.png",
        f"/media/{KEY}/",
        f"/media/{KEY}",
    ],
)
def test_anything_else_is_a_404(client, stored, path):
    assert client.get(path).status_code == 404


def test_writes_are_not_allowed(client, stored):
    assert client.post(stored).status_code == 405
