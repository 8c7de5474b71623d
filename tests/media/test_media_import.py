"""Importing a URL into an organization's library: what is stored, once, and what is refused.

Files come from a real server on 127.0.0.1 (allowed on purpose with
GHEE_EGRESS_ALLOW_NETWORKS); storage is local disk in the test's own directory. Every refusal
leaves no row, no stored file and no temporary file behind.
"""

import hashlib
import threading
import time

import pytest
from django.core.files.storage import default_storage
from django.db import transaction

from ghee.accounts.services import create_organization
from ghee.media import services
from ghee.media.models import MediaAsset
from ghee.media.services import (
    MediaImportError,
    fetch_media,
    import_from_url,
    own_asset_for_url,
    store_media,
)
from tests.media import samples
from tests.media.blocked_urls import BLOCKED_LITERAL_URLS
from tests.media.conftest import stored_files

pytestmark = pytest.mark.django_db


@pytest.fixture
def source(allow_loopback, media_storage):
    """The loopback server, allowed by egress, with media stored under the test directory."""
    return allow_loopback


def assert_nothing_kept(media_storage, settings):
    assert MediaAsset.objects.count() == 0
    assert stored_files(media_storage) == []
    assert list(settings.GHEE_MEDIA_TMP_DIR.glob("*")) == []


def test_an_image_url_becomes_an_asset_served_by_ghee(source, org, client):
    png = samples.png_bytes(40, 30)
    url = source.serve("/photos/Red%20Lamp.PNG", png, headers={"Content-Type": "text/html"})
    asset = import_from_url(org, url, alt="A red lamp")
    assert (asset.content_type, asset.width, asset.height) == ("image/png", 40, 30)
    assert asset.size == len(png)
    assert asset.sha256 == hashlib.sha256(png).hexdigest()
    assert asset.alt_text == "A red lamp"
    assert asset.source_url == url
    key, filename = asset.file.name.split("/")
    assert len(key) == 32 and filename == "red-lamp.png"
    assert asset.url == f"http://127.0.0.1:8000/media/{key}/red-lamp.png"
    response = client.get(f"/media/{asset.file.name}")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == png


def test_the_same_bytes_are_stored_once_whatever_the_url(source, org, media_storage):
    png = samples.png_bytes()
    first = import_from_url(org, source.serve("/a.png", png))
    second = import_from_url(org, source.serve("/copy/b.png", png))
    assert second.id == first.id
    assert second.url == first.url
    assert MediaAsset.objects.count() == 1
    assert len(stored_files(media_storage)) == 1


def test_organizations_have_separate_libraries(source, org, media_storage):
    other = create_organization("globex", "Globex")
    url = source.serve("/a.png", samples.png_bytes())
    mine, theirs = import_from_url(org, url), import_from_url(other, url)
    assert mine.id != theirs.id
    assert mine.file.name.split("/")[0] != theirs.file.name.split("/")[0]
    assert len(stored_files(media_storage)) == 2


def test_alt_text_fills_an_empty_one_but_never_replaces_it(source, org):
    url = source.serve("/a.png", samples.png_bytes())
    assert import_from_url(org, url).alt_text == ""
    assert import_from_url(org, url, alt="first").alt_text == "first"
    assert import_from_url(org, url, alt="second").alt_text == "first"


def test_a_ghee_media_url_of_the_organization_is_kept_without_download(source, org, connects):
    asset = import_from_url(org, source.serve("/a.png", samples.png_bytes()))
    requests_before, connects_before = len(source.requests), len(connects)
    assert own_asset_for_url(org.id, asset.url) == asset
    assert import_from_url(org, asset.url).id == asset.id
    assert (len(source.requests), len(connects)) == (requests_before, connects_before)


def test_a_ghee_media_url_of_another_organization_is_not_ours(source, org, settings):
    asset = import_from_url(org, source.serve("/a.png", samples.png_bytes()))
    other = create_organization("globex", "Globex")
    assert own_asset_for_url(other.id, asset.url) is None
    assert own_asset_for_url(org.id, f"{settings.PUBLIC_URL}/media/nope/x.png") is None
    assert own_asset_for_url(org.id, "https://elsewhere.example/a.png") is None


def test_svg_is_kept(source, org):
    asset = import_from_url(org, source.serve("/logo.svg", samples.SVG_WITH_SCRIPT))
    assert (asset.content_type, asset.width) == ("image/svg+xml", None)
    assert asset.file.name.endswith("/logo.svg")


# --- Refusals: a clean error, nothing kept ----------------------------------------------------


@pytest.mark.parametrize(
    ("body", "headers", "message"),
    [
        (samples.HTML, {"Content-Type": "image/png"}, "not an allowed file type"),
        (samples.png_claiming(50_000, 50_000), {}, "too large: the image has more than"),
        (b"", {}, "not an allowed file type: the file is empty"),
        (samples.PLAIN_ZIP, {"Content-Type": "application/pdf"}, "not an allowed file type"),
    ],
)
def test_files_that_are_not_allowed_are_refused(
    source, org, settings, media_storage, body, headers, message
):
    url = source.serve("/file.png", body, headers=headers)
    with pytest.raises(MediaImportError, match=message) as error:
        import_from_url(org, url)
    assert not error.value.retryable
    assert_nothing_kept(media_storage, settings)


def test_http_errors_name_the_host(source, org, settings, media_storage):
    with pytest.raises(MediaImportError, match=r"^HTTP 404 from 127\.0\.0\.1$") as error:
        import_from_url(org, source.url("/missing.png"))
    assert not error.value.retryable
    source.serve("/busy.png", b"", status=429, headers={"Retry-After": "30"})
    with pytest.raises(MediaImportError) as error:
        import_from_url(org, source.url("/busy.png"))
    assert (error.value.retryable, error.value.retry_after) == (True, "30")
    assert_nothing_kept(media_storage, settings)


def test_a_file_over_the_byte_cap_is_refused(source, org, settings, media_storage):
    settings.GHEE_EGRESS_MAX_BYTES = 1000
    url = source.serve("/big.png", samples.png_bytes() + b"\0" * 2000)
    with pytest.raises(MediaImportError, match=r"^too large"):
        import_from_url(org, url)
    assert_nothing_kept(media_storage, settings)


def test_a_gzip_bomb_is_refused_at_the_cap(source, org, settings, media_storage):
    settings.GHEE_EGRESS_MAX_BYTES = 1024 * 1024
    bomb = samples.gzip_bytes(samples.png_bytes() + b"\0" * (64 * 1024 * 1024))
    url = source.serve("/bomb.png", bomb, headers={"Content-Encoding": "gzip"})
    with pytest.raises(MediaImportError, match=r"^too large: more than 1048576 bytes$"):
        import_from_url(org, url)
    assert_nothing_kept(media_storage, settings)


def test_a_slow_drip_server_times_out(source, org, settings, media_storage):
    settings.GHEE_EGRESS_TIMEOUT = 1
    stop = threading.Event()

    def drip(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", "1000000")
        handler.end_headers()
        while not stop.is_set():
            handler.wfile.write(b"\x89")
            handler.wfile.flush()
            time.sleep(0.05)

    url = source.route("/slow.png", drip)
    try:
        with pytest.raises(MediaImportError, match=r"^timed out after 1 s$") as error:
            import_from_url(org, url)
    finally:
        stop.set()
    assert error.value.retryable
    assert_nothing_kept(media_storage, settings)


def test_a_redirect_loop_is_refused(source, org, settings, media_storage):
    url = source.redirect("/loop.png", "/loop.png")
    with pytest.raises(MediaImportError, match=r"^too many redirects"):
        import_from_url(org, url)
    assert_nothing_kept(media_storage, settings)


def test_a_redirect_to_the_metadata_service_is_refused(source, org, settings, connects):
    settings.GHEE_EGRESS_ALLOW_NETWORKS = ["127.0.0.1/32"]
    url = source.redirect("/a.png", "http://169.254.169.254/latest/meta-data/")
    with pytest.raises(MediaImportError, match=r"^blocked address"):
        import_from_url(org, url)
    assert connects == [("127.0.0.1", source.port)]
    assert MediaAsset.objects.count() == 0


@pytest.mark.parametrize("url", BLOCKED_LITERAL_URLS)
def test_the_ssrf_corpus_stores_nothing(url, org, settings, media_storage, connects):
    with pytest.raises(MediaImportError) as error:
        import_from_url(org, url)
    assert str(error.value).startswith(("bad URL", "blocked address"))
    assert connects == []
    assert_nothing_kept(media_storage, settings)


def test_the_default_settings_refuse_loopback(server, org, settings, media_storage, connects):
    settings.GHEE_EGRESS_ALLOW_PORTS = [server.port]
    url = server.serve("/a.png", samples.png_bytes())
    with pytest.raises(MediaImportError, match=r"^blocked address"):
        import_from_url(org, url)
    assert (connects, server.connections) == ([], 0)
    assert_nothing_kept(media_storage, settings)


# --- Two steps, crashes and races ---------------------------------------------------------------


def test_fetch_needs_no_database_and_store_runs_in_the_callers_transaction(source, org):
    url = source.serve("/a.png", samples.png_bytes())
    with fetch_media(url) as fetched:  # no transaction, no query
        assert fetched.path.exists()
        assert (fetched.file_type.content_type, fetched.filename) == ("image/png", "a.png")
        with pytest.raises(RuntimeError), transaction.atomic():
            store_media(org.id, fetched)
            raise RuntimeError("the job's apply stage failed")
        assert MediaAsset.objects.count() == 0
        with transaction.atomic():
            asset = store_media(org.id, fetched)
    assert not fetched.path.exists()
    assert MediaAsset.objects.get() == asset


def test_a_rerun_after_a_crash_reuses_the_stored_file(source, org, media_storage):
    """A run stored the file and died before its row committed; the re-run stores nothing new."""
    png = samples.png_bytes()
    with fetch_media(source.serve("/a.png", png)) as fetched:
        with pytest.raises(RuntimeError), transaction.atomic():
            store_media(org.id, fetched)
            raise RuntimeError("killed")
        stored = stored_files(media_storage)
        assert len(stored) == 1  # the orphan the crash left
    with fetch_media(source.serve("/other-name.png", png)) as fetched:
        asset = store_media(org.id, fetched)
    assert stored_files(media_storage) == stored
    assert asset.file.name == stored[0]


@pytest.mark.parametrize("winner_file_seen", [True, False])
def test_a_concurrent_import_of_the_same_bytes_returns_the_winners_row(
    source, org, media_storage, monkeypatch, winner_file_seen
):
    """The other import (from another URL) commits between our lookup and our insert.

    Whether or not our lookup saw the winner's file, we return the winner's row, and exactly
    the winner's file is left in storage.
    """
    png = samples.png_bytes()
    real_stored_copy = services.stored_copy
    with (
        fetch_media(source.serve("/theirs.png", png)) as theirs,
        fetch_media(source.serve("/ours.png", png)) as ours,
    ):

        def race(*args):
            monkeypatch.setattr(services, "stored_copy", real_stored_copy)
            winner.append(store_media(org.id, theirs))
            return real_stored_copy(*args) if winner_file_seen else None

        winner: list = []
        monkeypatch.setattr(services, "stored_copy", race)
        with transaction.atomic():
            asset = store_media(org.id, ours)
    assert asset.id == winner[0].id
    assert MediaAsset.objects.count() == 1
    assert stored_files(media_storage) == [asset.file.name]
    assert asset.file.name.endswith("/theirs.png")


def test_deleting_an_asset_removes_its_file_after_commit(
    source, org, media_storage, django_capture_on_commit_callbacks
):
    asset = import_from_url(org, source.serve("/a.png", samples.png_bytes()))
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_asset(asset)
    assert MediaAsset.objects.count() == 0
    assert not default_storage.exists(asset.file.name)


@pytest.mark.django_db(transaction=True)
def test_two_imports_of_the_same_bytes_at_once_make_one_asset(source, media_storage):
    """Both downloads finish together (the server holds them at a barrier), then both store."""
    from django.db import connection

    org = create_organization("acme", "Acme")
    png = samples.png_bytes()
    barrier = threading.Barrier(2, timeout=10)

    def together(handler):
        barrier.wait()
        source._send(handler, 200, png, {"Content-Type": "image/png"})

    urls = [source.route("/one.png", together), source.route("/two.png", together)]
    results, errors = [], []

    def run(url):
        try:
            results.append(import_from_url(org, url).id)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(url,)) for url in urls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len(results) == 2 and results[0] == results[1]
    assert MediaAsset.objects.count() == 1
    assert len(stored_files(media_storage)) == 1


def test_own_urls_and_their_alt_text_in_one_query(source, org, django_assert_num_queries, settings):
    lamp = import_from_url(org, source.serve("/lamp.png", samples.png_bytes()), alt="A lamp")
    chair = import_from_url(org, source.serve("/chair.png", samples.png_bytes(color=(1, 2, 3))))
    urls = [lamp.url, chair.url, "https://elsewhere.example/x.png", "", lamp.url]
    with django_assert_num_queries(1):
        found = services.own_assets_for_urls(org.id, urls)
    assert found == {lamp.url: lamp, chair.url: chair}
    assert services.alt_text_by_url(org.id, urls) == {lamp.url: "A lamp", chair.url: ""}
    with django_assert_num_queries(0):
        assert services.alt_text_by_url(org.id, ["https://elsewhere.example/x.png"]) == {}
