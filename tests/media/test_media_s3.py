"""Media in an S3-compatible bucket: moto's S3 server, started on 127.0.0.1 by the test.

This is the real path (django-storages, boto3, HTTP to a server), not an in-process mock.
"""

import urllib.request

import pytest

from ghee.media.models import MediaAsset
from ghee.media.services import import_from_url, own_asset_for_url
from tests.media import samples
from tests.media.conftest import BUCKET, keys, use_s3

pytestmark = pytest.mark.django_db


def test_an_import_lands_in_the_bucket_and_its_url_serves_the_bytes(
    settings, tmp_path, allow_loopback, bucket, s3_endpoint, org
):
    settings.GHEE_MEDIA_TMP_DIR = tmp_path / "tmp"
    use_s3(settings, s3_endpoint)
    png = samples.png_bytes(12, 8)
    asset = import_from_url(org, allow_loopback.serve("/photo.png", png), alt="photo")
    assert keys(bucket) == [asset.file.name]
    assert asset.url == f"{s3_endpoint}/{BUCKET}/{asset.file.name}"
    head = bucket.head_object(Bucket=BUCKET, Key=asset.file.name)
    assert head["ContentType"] == "image/png"
    assert head["CacheControl"] == "public, max-age=31536000, immutable"
    with urllib.request.urlopen(asset.url) as response:
        assert response.read() == png
    assert own_asset_for_url(org.id, asset.url) == asset

    again = import_from_url(org, allow_loopback.serve("/same-bytes.png", png))
    assert again.id == asset.id
    assert keys(bucket) == [asset.file.name]
    assert MediaAsset.objects.count() == 1


def test_a_rerun_after_a_crash_finds_the_object_already_uploaded(
    settings, tmp_path, allow_loopback, bucket, s3_endpoint, org
):
    settings.GHEE_MEDIA_TMP_DIR = tmp_path / "tmp"
    use_s3(settings, s3_endpoint)
    url = allow_loopback.serve("/photo.png", samples.png_bytes())
    first = import_from_url(org, url)
    name = first.file.name
    MediaAsset.objects.all().delete()  # the row never committed; the object stayed
    assert import_from_url(org, url).file.name == name
    assert keys(bucket) == [name]


def test_svg_objects_download_as_attachments(
    settings, tmp_path, allow_loopback, bucket, s3_endpoint, org
):
    settings.GHEE_MEDIA_TMP_DIR = tmp_path / "tmp"
    use_s3(settings, s3_endpoint)
    asset = import_from_url(org, allow_loopback.serve("/logo.svg", samples.SVG))
    head = bucket.head_object(Bucket=BUCKET, Key=asset.file.name)
    assert (head["ContentType"], head["ContentDisposition"]) == ("image/svg+xml", "attachment")


def test_urls_point_at_the_cdn_when_one_is_configured(
    settings, tmp_path, allow_loopback, bucket, s3_endpoint, org
):
    settings.GHEE_MEDIA_TMP_DIR = tmp_path / "tmp"
    use_s3(settings, s3_endpoint, media_url="https://cdn.example/media/")
    asset = import_from_url(org, allow_loopback.serve("/photo.png", samples.png_bytes()))
    assert asset.url == f"https://cdn.example/media/{asset.file.name}"
    assert own_asset_for_url(org.id, asset.url) == asset
    assert keys(bucket) == [asset.file.name]
