"""Media fields through the Write API: a URL given for a media field is downloaded by the
job (its prepare stage), stored in the organization's library (in the apply transaction),
and the item points at ghee's copy. Real servers on 127.0.0.1, allowed on purpose."""

from datetime import timedelta

import pytest
from django.utils import timezone

from ghee.content.models import Item, Job
from ghee.content.write.jobs import run_pending_jobs
from ghee.media.models import MediaAsset
from tests.conftest import make_collection
from tests.media import samples
from tests.media.conftest import stored_files

PNG = samples.png_bytes(5, 4)


@pytest.fixture
def gallery(org):
    return make_collection(
        org,
        "gallery",
        [{"key": "title", "type": "short_text"}, {"key": "photo", "type": "media"}],
    )


@pytest.fixture
def source(allow_loopback, media_storage):
    return allow_loopback


def write(api, token, *photos, status="published"):
    fields = [{"title": f"t{n}", "photo": photo} for n, photo in enumerate(photos)]
    response = api.post(
        "/v2/content/",
        {"key": "gallery", "status": status, "fields": fields},
        format="json",
        HTTP_AUTHORIZATION=f"Token {token}",
    )
    assert response.status_code == 202, response.json()
    run_pending_jobs()
    return Job.objects.order_by("-id").first()


def read_items(api, token, **params):
    response = api.get("/v2/content/gallery/", {"auth_token": token, **params})
    assert response.status_code == 200, response.json()
    return response.json()["data"]["gallery"]


def test_a_media_url_becomes_a_ghee_hosted_copy(api, client, write_token, gallery, source):
    url = source.serve("/photos/cat.png", PNG, headers={"Content-Type": "image/png"})
    job = write(api, write_token, url)
    assert job.status == "succeeded", job.errors
    [item] = read_items(api, write_token)
    hosted = item["photo"]
    assert hosted != url
    assert hosted.startswith("http://127.0.0.1:8000/media/")
    served = client.get(hosted.removeprefix("http://127.0.0.1:8000"))
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == PNG
    assert served["Content-Type"] == "image/png"
    [asset] = MediaAsset.objects.all()
    assert (asset.source_url, asset.width, asset.height) == (url, 5, 4)


def test_the_same_bytes_from_two_urls_are_stored_once(api, write_token, gallery, source):
    first = source.serve("/a.png", PNG)
    second = source.serve("/b.png", PNG)
    job = write(api, write_token, first, second)
    assert job.status == "succeeded", job.errors
    photos = {item["photo"] for item in read_items(api, write_token)}
    assert len(photos) == 1
    assert MediaAsset.objects.count() == 1


def test_a_ghee_media_url_is_kept_without_a_download(api, write_token, gallery, source):
    url = source.serve("/cat.png", PNG)
    write(api, write_token, url)
    [item] = read_items(api, write_token)
    hosted = item["photo"]
    downloads = len(source.requests)

    job = write(api, write_token, hosted)
    assert job.status == "succeeded", job.errors
    assert {item["photo"] for item in read_items(api, write_token)} == {hosted}
    assert len(source.requests) == downloads
    assert MediaAsset.objects.count() == 1


def test_a_url_that_cannot_be_imported_fails_the_job_and_writes_nothing(
    api, write_token, gallery, source, media_storage
):
    good = source.serve("/good.png", PNG)
    missing = source.url("/missing.png")
    job = write(api, write_token, good, missing)
    assert job.status == "failed"
    [error] = job.errors
    assert (error["index"], error["field"]) == (1, "photo")
    assert "HTTP 404" in error["message"]
    assert not Item.objects.filter(collection=gallery).exists()
    assert MediaAsset.objects.count() == 0
    assert stored_files(media_storage) == []


def test_a_file_that_is_not_media_fails_the_job(api, write_token, gallery, source):
    page = source.serve("/page.png", b"<html><script>alert(1)</script></html>")
    job = write(api, write_token, page)
    assert job.status == "failed"
    assert "not an allowed file type" in job.errors[0]["message"]
    assert MediaAsset.objects.count() == 0


def test_a_transient_failure_is_retried_with_backoff(api, write_token, gallery, source):
    answers = iter([503, 200])

    def flaky(handler):
        status = next(answers)
        body = PNG if status == 200 else b"busy"
        source._send(handler, status, body, {"Content-Type": "image/png"})

    url = source.route("/flaky.png", flaky)
    job = write(api, write_token, url)
    assert job.status == "pending"
    assert job.next_attempt_at > timezone.now()
    assert "HTTP 503" in job.errors[0]["message"]
    assert not Item.objects.filter(collection=gallery).exists()

    Job.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    run_pending_jobs()
    job.refresh_from_db()
    assert job.status == "succeeded", job.errors
    assert job.attempts == 2
    [item] = read_items(api, write_token)
    assert item["photo"].startswith("http://127.0.0.1:8000/media/")


def test_loopback_is_refused_unless_allowed(api, write_token, gallery, media_storage, connects):
    job = write(api, write_token, "http://127.0.0.1:8000/elsewhere.png")
    assert job.status == "failed"
    assert job.errors[0]["field"] == "photo"
    assert connects == []
    assert MediaAsset.objects.count() == 0


def test_a_patch_imports_its_media_too(api, write_token, gallery, source):
    write(api, write_token, source.serve("/one.png", PNG))
    [item] = read_items(api, write_token)
    other = samples.png_bytes(2, 2)
    response = api.patch(
        f"/v2/content/gallery/{item['meta']['id']}/",
        {"fields": {"photo": source.serve("/two.png", other)}},
        format="json",
        HTTP_AUTHORIZATION=f"Token {write_token}",
    )
    assert response.status_code == 202
    run_pending_jobs()
    [patched] = read_items(api, write_token)
    assert patched["photo"] != item["photo"]
    assert patched["photo"].startswith("http://127.0.0.1:8000/media/")
    assert MediaAsset.objects.count() == 2


def test_alt_media_text_reads_the_assets_alt_text(api, write_token, gallery, source):
    write(api, write_token, source.serve("/cat.png", PNG))
    MediaAsset.objects.update(alt_text="A cat on a mat")
    [item] = read_items(api, write_token, alt_media_text=1)
    assert item["photo"]["alt"] == "A cat on a mat"
    assert item["photo"]["url"].startswith("http://127.0.0.1:8000/media/")
