"""The media library in the dashboard: a grid with thumbnails, upload, alt text, usage."""

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ghee.content.write.jobs import run_pending_jobs
from ghee.media.models import MediaAsset
from ghee.media.services import import_from_url
from tests.conftest import make_collection
from tests.media import samples

pytestmark = pytest.mark.django_db

LIBRARY = "/admin/media/mediaasset/"


@pytest.fixture
def asset(allow_loopback, media_storage, org):
    return import_from_url(org, allow_loopback.serve("/lamp.png", samples.png_bytes(40, 30)))


def cards(html: str) -> int:
    return html.count('class="media-card"')


def test_the_grid_shows_thumbnails_types_sizes_and_pixels(admin_client, asset, org):
    pdf = MediaAsset.objects.create(
        organization=org, file="k" * 32 + "/terms.pdf", content_type="application/pdf",
        size=2048, sha256="0" * 64,
    )  # fmt: skip
    page = admin_client.get(LIBRARY)
    assert page.status_code == 200
    html = page.content.decode()
    assert cards(html) == 2
    assert f'<img src="{asset.url}" alt="" loading="lazy">' in html
    assert f"image/png · {asset.size}\xa0bytes · 40 x 30" in html
    assert '<span class="media-icon" aria-hidden="true">PDF</span>' in html
    assert "application/pdf · 2.0\xa0KB" in html
    assert f'value="{pdf.pk}" class="action-select"' in html  # the delete action still works
    assert "media/library.css" in html


def test_the_grid_costs_the_same_queries_for_3_or_30_assets(admin_client, media_storage, org):
    def queries_for_page() -> int:
        admin_client.get(LIBRARY)  # warm the session and the content types
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(LIBRARY).status_code == 200
        return len(captured)

    def add(n):
        MediaAsset.objects.create(
            organization=org, file=f"{n:032d}/f{n}.png", content_type="image/png", size=10,
            sha256=f"{n:064d}", width=4, height=3,
        )  # fmt: skip

    for n in range(3):
        add(n)
    few = queries_for_page()
    for n in range(3, 30):
        add(n)
    assert queries_for_page() == few


def test_upload_goes_through_the_checks_and_lands_in_the_grid(admin_client, media_storage, org):
    form = admin_client.get(f"{LIBRARY}add/")
    assert form.status_code == 200
    assert 'enctype="multipart/form-data"' in form.content.decode()
    png = samples.png_bytes(12, 9)
    response = admin_client.post(
        f"{LIBRARY}add/",
        {"organization": org.pk, "alt_text": "A red dot",
         "file": SimpleUploadedFile("Red Dot.png", png)},
    )  # fmt: skip
    assert response.status_code == 302
    asset = MediaAsset.objects.get()
    assert (asset.organization, asset.alt_text, asset.size, asset.width) == (
        org,
        "A red dot",
        len(png),
        12,
    )
    assert asset.filename == "red-dot.png"
    assert default_storage.open(asset.file.name).read() == png
    page = admin_client.get(LIBRARY).content.decode()
    assert "Uploaded red-dot.png" in page
    assert f'<img src="{asset.url}" alt="A red dot"' in page

    again = admin_client.post(
        f"{LIBRARY}add/",
        {"organization": org.pk, "file": SimpleUploadedFile("copy.png", png)},
        follow=True,
    )
    assert "Already in the library: red-dot.png" in again.content.decode()
    assert MediaAsset.objects.count() == 1


def test_a_refused_upload_says_why_on_the_form(admin_client, media_storage, org):
    response = admin_client.post(
        f"{LIBRARY}add/",
        {"organization": org.pk, "file": SimpleUploadedFile("page.png", samples.HTML)},
    )
    assert response.status_code == 200
    assert "not an allowed file type" in response.content.decode()
    assert MediaAsset.objects.count() == 0


def test_alt_text_is_the_one_thing_edited(admin_client, asset):
    url = f"{LIBRARY}{asset.pk}/change/"
    page = admin_client.get(url)
    assert page.status_code == 200
    assert 'name="alt_text"' in page.content.decode()
    assert 'name="content_type"' not in page.content.decode()
    response = admin_client.post(url, {"alt_text": "A red lamp", "content_type": "text/html"})
    assert response.status_code == 302
    asset.refresh_from_db()
    assert (asset.alt_text, asset.content_type) == ("A red lamp", "image/png")


def test_the_library_says_which_items_use_an_asset(admin_client, api, write_token, asset, org):
    gallery = make_collection(
        org, "gallery", [{"key": "title", "type": "short_text"}, {"key": "photo", "type": "media"}]
    )
    response = api.post(
        "/v2/content/",
        {"key": "gallery", "status": "published",
         "fields": [{"title": "a", "photo": asset.url}, {"title": "b", "photo": asset.url}]},
        format="json", HTTP_AUTHORIZATION=f"Token {write_token}",
    )  # fmt: skip
    assert response.status_code == 202
    run_pending_jobs()
    grid = admin_client.get(LIBRARY).content.decode()
    assert "Used by 2 items" in grid
    change = admin_client.get(f"{LIBRARY}{asset.pk}/change/").content.decode()
    item_ids = sorted(gallery.items.values_list("id", flat=True))
    assert len(item_ids) == 2
    for item_id in item_ids:
        # A link to the item in the content editor.
        editor = f"/admin/content/item/{gallery.pk}/{item_id}/"
        assert f'<a href="{editor}">gallery #{item_id}</a>: photo' in change


def test_an_unused_asset_says_so(admin_client, asset):
    assert "Not used" in admin_client.get(LIBRARY).content.decode()
    change = admin_client.get(f"{LIBRARY}{asset.pk}/change/").content.decode()
    assert "No item uses this file." in change


def test_deleting_removes_the_file(admin_client, asset, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"{LIBRARY}{asset.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert MediaAsset.objects.count() == 0
    assert not default_storage.exists(asset.file.name)
