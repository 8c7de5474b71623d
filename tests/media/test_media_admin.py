"""The media library in the dashboard: browse with thumbnails, edit alt text, delete."""

import pytest
from django.core.files.storage import default_storage

from ghee.media.models import MediaAsset
from ghee.media.services import import_from_url
from tests.media import samples

pytestmark = pytest.mark.django_db


@pytest.fixture
def asset(allow_loopback, media_storage, org):
    return import_from_url(org, allow_loopback.serve("/lamp.png", samples.png_bytes(40, 30)))


def test_the_list_shows_thumbnails_types_and_sizes(admin_client, asset):
    page = admin_client.get("/admin/media/mediaasset/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'<img src="{asset.url}"' in html
    assert "image/png" in html
    assert "40 x 30" in html
    assert "/admin/media/mediaasset/add/" not in html  # assets come in through imports


def test_alt_text_is_the_one_thing_edited(admin_client, asset):
    url = f"/admin/media/mediaasset/{asset.pk}/change/"
    page = admin_client.get(url)
    assert page.status_code == 200
    assert 'name="alt_text"' in page.content.decode()
    assert 'name="content_type"' not in page.content.decode()
    response = admin_client.post(url, {"alt_text": "A red lamp", "content_type": "text/html"})
    assert response.status_code == 302
    asset.refresh_from_db()
    assert (asset.alt_text, asset.content_type) == ("A red lamp", "image/png")


def test_deleting_removes_the_file(admin_client, asset, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/admin/media/mediaasset/{asset.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert MediaAsset.objects.count() == 0
    assert not default_storage.exists(asset.file.name)
