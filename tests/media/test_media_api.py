"""``POST /v2/media/`` (an upload or a URL) and ``GET /v2/media/`` (the library), over HTTP."""

import io
import time
import tracemalloc

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from ghee.accounts.services import create_organization, create_token
from ghee.media.api.urls import media_endpoint
from ghee.media.models import MediaAsset
from tests.media import samples
from tests.media.conftest import stored_files

pytestmark = pytest.mark.django_db

MIB = 1024 * 1024


def auth(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Token {token}"}


def upload(client, token, data: bytes, name="photo.png", **fields):
    file = SimpleUploadedFile(name, data, content_type="application/octet-stream")
    return client.post("/v2/media/", {"file": file, **fields}, **auth(token))


def add_url(client, token, body):
    return client.post("/v2/media/", body, content_type="application/json", **auth(token))


@pytest.fixture
def client():
    return Client()


def test_an_upload_becomes_an_asset_whose_url_serves_the_bytes(client, write_token, media_storage):
    png = samples.png_bytes(30, 20)
    response = upload(client, write_token, png, name="Red Lamp.png", alt="A red lamp")
    assert response.status_code == 201, response.content
    body = response.json()
    asset = MediaAsset.objects.get()
    assert body == {
        "id": asset.id,
        "url": asset.url,
        "content_type": "image/png",
        "size": len(png),
        "sha256": asset.sha256,
        "width": 30,
        "height": 20,
        "alt": "A red lamp",
        "source_url": "",
        "created_at": asset.created_at.isoformat().replace("+00:00", "Z"),
    }
    assert body["url"].endswith("/red-lamp.png")
    served = client.get(body["url"].removeprefix("http://127.0.0.1:8000"))
    assert b"".join(served.streaming_content) == png
    assert response["Cache-Control"] == "private, no-store"


def test_the_same_bytes_again_answer_the_existing_asset_with_200(
    client, write_token, media_storage
):
    png = samples.png_bytes()
    first = upload(client, write_token, png, name="a.png").json()
    again = upload(client, write_token, png, name="copy.png", alt="filled in")
    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    assert again.json()["alt"] == "filled in"  # an empty alt text is filled, never replaced
    assert MediaAsset.objects.count() == 1
    assert len(stored_files(media_storage)) == 1


def test_a_url_is_downloaded_into_the_library(client, write_token, allow_loopback, media_storage):
    jpeg = samples.image_bytes("JPEG", 12, 8)
    url = allow_loopback.serve("/team/ada.jpg", jpeg)
    response = add_url(client, write_token, {"url": url, "alt": "Ada"})
    assert response.status_code == 201, response.content
    assert response.json()["source_url"] == url
    assert response.json()["content_type"] == "image/jpeg"
    assert response.json()["url"].endswith("/ada.jpg")
    # ghee's own URL for it is kept without a download; the same bytes elsewhere: 200.
    own = add_url(client, write_token, {"url": response.json()["url"]})
    elsewhere = add_url(client, write_token, {"url": allow_loopback.serve("/b.jpg", jpeg)})
    assert (own.status_code, elsewhere.status_code) == (200, 200)
    assert own.json()["id"] == elsewhere.json()["id"] == response.json()["id"]
    assert len(allow_loopback.requests_for("/team/ada.jpg")) == 1


@pytest.mark.parametrize(
    ("setup", "status", "detail"),
    [
        (lambda srv: srv.serve("/missing.png", b"no", status=404), 400, "HTTP 404 from 127.0.0.1"),
        (lambda srv: srv.serve("/page.png", samples.HTML), 400, "not an allowed file type"),
        (
            lambda srv: srv.serve("/busy.png", b"", status=503, headers={"Retry-After": "30"}),
            502,
            "HTTP 503 from 127.0.0.1",
        ),
    ],
)
def test_a_url_that_fails_says_why(client, write_token, allow_loopback, media_storage,
                                   setup, status, detail):  # fmt: skip
    response = add_url(client, write_token, {"url": setup(allow_loopback)})
    assert response.status_code == status
    assert response.json()["detail"].startswith(detail)
    if status == 502:
        assert response["Retry-After"] == "30"
    assert MediaAsset.objects.count() == 0


def test_a_url_at_a_private_address_is_refused_without_a_connection(
    client, write_token, server, settings, media_storage
):
    settings.GHEE_EGRESS_ALLOW_PORTS = [server.port]
    response = add_url(client, write_token, {"url": server.serve("/a.png", samples.png_bytes())})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("blocked address: 127.0.0.1")
    assert server.connections == 0


def test_the_url_download_has_its_own_deadline(client, write_token, allow_loopback, settings,
                                               media_storage):  # fmt: skip
    settings.GHEE_MEDIA_API_FETCH_TIMEOUT = 0.5

    def drip(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        for _ in range(100):
            handler.wfile.write(b"\x89")
            handler.wfile.flush()
            time.sleep(0.05)

    url = allow_loopback.route("/slow.png", drip)
    started = time.monotonic()
    response = add_url(client, write_token, {"url": url})
    assert response.status_code == 502
    assert response.json()["detail"] == "timed out after 0.5 s"
    assert time.monotonic() - started < 10  # liveness: the thread came back


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        (samples.HTML, "not an allowed file type"),
        (
            samples.png_claiming(50_000, 50_000),
            "too large: the image has more than 40000000 pixels",
        ),
        (b"", "not an allowed file type: the file is empty"),
    ],
)
def test_an_upload_that_fails_the_checks_is_400(client, write_token, media_storage, data, detail):
    response = upload(client, write_token, data, name="x.png")
    assert response.status_code == 400
    assert response.json()["detail"] == detail or response.json()["detail"].startswith(detail)
    assert MediaAsset.objects.count() == 0


def test_an_upload_over_the_cap_is_413_and_leaves_no_file(client, write_token, settings,
                                                          media_storage):  # fmt: skip
    settings.GHEE_MEDIA_MAX_BYTES = 100_000
    # Declared too large: refused from the headers.
    response = upload(client, write_token, b"\0" * 200_000)
    assert response.status_code == 413
    assert response.json() == {"detail": "too large: a file may have at most 100000 bytes"}
    assert response["Connection"] == "close"
    # Within the request's slack but over the file cap: refused while streaming.
    response = upload(client, write_token, b"\0" * 120_000)
    assert response.status_code == 413
    assert MediaAsset.objects.count() == 0
    assert list((settings.GHEE_MEDIA_TMP_DIR).iterdir()) == []


def test_bad_requests_say_what_to_send(client, write_token):
    no_file = client.post("/v2/media/", {"alt": "x"}, **auth(write_token))
    assert no_file.status_code == 400
    assert no_file.json() == {
        "detail": 'Send a multipart upload with a "file" part, or JSON {"url": "..."}.'
    }
    fields = add_url(client, write_token, {"alt": 3, "name": "x"})
    assert fields.status_code == 400
    assert fields.json() == {
        "name": ["Unknown field."],
        "url": ["This field is required: the URL of the file to add."],
        "alt": ["Must be a string."],
    }
    assert add_url(client, write_token, [1]).status_code == 400
    text = client.post("/v2/media/", "x", content_type="text/plain", **auth(write_token))
    assert text.status_code == 415


def test_both_methods_need_a_write_token_in_the_header(client, read_token, write_token,
                                                       media_storage):  # fmt: skip
    for response in (
        upload(client, read_token, samples.png_bytes()),
        client.get("/v2/media/", **auth(read_token)),
        client.get(f"/v2/media/?auth_token={write_token}"),
        client.get("/v2/media/"),
    ):
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"
    assert MediaAsset.objects.count() == 0
    options = client.options("/v2/media/")
    assert options.status_code == 204
    assert options["Allow"] == "GET, POST, HEAD, OPTIONS"
    put = client.put("/v2/media/", b"{}", content_type="application/json", **auth(write_token))
    assert put.status_code == 405


def test_an_upload_is_refused_before_its_body_is_read(rf):
    class Untouchable(io.RawIOBase):
        def read(self, *args):
            raise AssertionError("the body was read before the token was checked")

    request = rf.post("/v2/media/", {"file": SimpleUploadedFile("a.png", b"x")})
    request.META["wsgi.input"] = request._stream = Untouchable()
    request.META["HTTP_AUTHORIZATION"] = "Token nope-not-a-token"
    assert media_endpoint(request).status_code == 401


def test_the_listing_pages_newest_first_within_the_organization(client, write_token,
                                                                media_storage):  # fmt: skip
    ids = [
        upload(client, write_token, samples.png_bytes(color=(n, 0, 0))).json()["id"]
        for n in range(3)
    ]
    other = create_organization("other", "Other")
    other_token = create_token(other, "write", "other writer")[1]
    upload(client, other_token, samples.png_bytes(color=(9, 9, 9)))

    page = client.get("/v2/media/?page_size=2", **auth(write_token)).json()
    assert page["meta"] == {"count": 3, "previous_page": None, "next_page": 2}
    assert [asset["id"] for asset in page["data"]] == ids[::-1][:2]
    rest = client.get("/v2/media/?limit=2&offset=2", **auth(write_token)).json()
    assert rest["meta"] == {"count": 3, "next_offset": None, "previous_offset": 0}
    assert [asset["id"] for asset in rest["data"]] == [ids[0]]
    bad = client.get("/v2/media/?page_size=500", **auth(write_token))
    assert bad.status_code == 400
    assert bad.json() == {
        "detail": "page_size query parameter should be an integer between 1 and 100 (inclusive)"
    }


# --- The upload body: streamed to disk, within the cap and the deadline ------------------------


class MultipartStream(io.RawIOBase):
    """A multipart body of one ``size``-byte PNG-headed file, produced as it is read (so the
    test itself holds no copy), optionally ``delay`` seconds per read."""

    BOUNDARY = "ghee-test-boundary"

    def __init__(self, size: int, delay: float = 0.0):
        head = (
            f'--{self.BOUNDARY}\r\nContent-Disposition: form-data; name="alt"\r\n\r\nbig\r\n'
            f'--{self.BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
            'filename="big.mp4"\r\nContent-Type: video/mp4\r\n\r\n'
        ).encode()
        self.parts = [head + samples.MP4[:24], None, f"\r\n--{self.BOUNDARY}--\r\n".encode()]
        self.remaining = size - 24
        self.delay = delay
        self.length = len(self.parts[0]) + self.remaining + len(self.parts[2])

    def read(self, size=-1):
        if self.delay:
            time.sleep(self.delay)
        if self.parts[0]:
            piece, self.parts[0] = self.parts[0][:size], self.parts[0][size:]
            return piece
        if self.remaining:
            n = min(size, self.remaining)
            self.remaining -= n
            return b"\0" * n
        piece, self.parts[2] = self.parts[2][:size], self.parts[2][size:]
        return piece


def streamed_request(rf, token: str, stream: MultipartStream, chunked: bool = False):
    request = rf.generic(
        "POST",
        "/v2/media/",
        b"-",  # replaced below; a body makes the factory set the Content-Type
        content_type=f"multipart/form-data; boundary={MultipartStream.BOUNDARY}",
        HTTP_AUTHORIZATION=f"Token {token}",
    )
    request.META["wsgi.input"] = request._stream = stream
    if chunked:
        request.META.pop("CONTENT_LENGTH", None)
        request.META["HTTP_TRANSFER_ENCODING"] = "chunked"
    else:
        request.META["CONTENT_LENGTH"] = str(stream.length)
    return request


def test_a_large_upload_is_streamed_to_disk_with_flat_memory(rf, write_token, settings,
                                                             media_storage):  # fmt: skip
    settings.GHEE_MEDIA_MAX_BYTES = 64 * MIB
    size = 40 * MIB
    tracemalloc.start()
    try:
        response = media_endpoint(streamed_request(rf, write_token, MultipartStream(size)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 201, response.content
    asset = MediaAsset.objects.get()
    assert (asset.size, asset.content_type, asset.alt_text) == (size, "video/mp4", "big")
    # Python allocations during the whole request, a 40 MiB body included: a few chunks.
    assert peak < 4 * MIB, f"peak {peak / MIB:.1f} MiB"


def test_a_chunked_upload_is_read_to_its_end(rf, write_token, media_storage):
    response = media_endpoint(streamed_request(rf, write_token, MultipartStream(300_000), True))
    assert response.status_code == 201, response.content
    assert MediaAsset.objects.get().size == 300_000


def test_a_chunked_upload_over_the_cap_is_413(rf, write_token, settings, media_storage):
    settings.GHEE_MEDIA_MAX_BYTES = 100_000
    stream = MultipartStream(500_000)
    response = media_endpoint(streamed_request(rf, write_token, stream, chunked=True))
    assert response.status_code == 413
    assert stream.remaining > 0  # it stopped reading
    assert MediaAsset.objects.count() == 0


def test_an_upload_slower_than_its_deadline_is_408(rf, write_token, settings, media_storage):
    settings.GHEE_MEDIA_UPLOAD_TIMEOUT = 0.3
    stream = MultipartStream(2 * MIB, delay=0.05)
    response = media_endpoint(streamed_request(rf, write_token, stream))
    assert response.status_code == 408
    assert response["Connection"] == "close"
    assert MediaAsset.objects.count() == 0
    assert list((settings.GHEE_MEDIA_TMP_DIR).iterdir()) == []
