"""The ``sweep_orphaned_media`` chore: stored files no asset points at, past a grace period."""

import os
import time

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from ghee.core.chores import run_chore
from ghee.media.models import MediaAsset
from ghee.media.services import import_from_url
from ghee.media.storage import asset_key
from ghee.media.temporaries import Temporary
from tests.media import samples
from tests.media.conftest import BUCKET, keys, stored_files, use_s3

pytestmark = pytest.mark.django_db

DAY = 24 * 3600


def age(path, seconds: float) -> None:
    """Make a file look ``seconds`` old."""
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_old_orphans_go_and_everything_else_stays(allow_loopback, media_storage, settings, org):
    settings.GHEE_MEDIA_ORPHAN_GRACE_SECONDS = DAY
    kept = import_from_url(org, allow_loopback.serve("/kept.png", samples.png_bytes()))
    orphan = default_storage.save("0" * 32 + "/orphan.png", ContentFile(samples.png_bytes(5, 5)))
    young = default_storage.save("1" * 32 + "/in-flight.png", ContentFile(samples.PDF))
    half_written = media_storage / ("2" * 32) / ".tmp-abc123"
    half_written.parent.mkdir()
    half_written.write_bytes(b"partial")
    for name in (kept.file.name, orphan):
        age(media_storage / name, 2 * DAY)
    age(half_written, 2 * DAY)
    tmp = settings.GHEE_MEDIA_TMP_DIR
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "import-dead").write_bytes(b"a killed worker's download")  # nobody holds it
    live = Temporary("import")  # a download in progress: locked by this live process
    live.file.write(b"a download in progress")

    result = run_chore("sweep_orphaned_media")

    assert result == {"deleted": 2, "temporaries": 1, "old_files_checked": 3}
    assert stored_files(media_storage) == sorted([kept.file.name, young])
    assert not half_written.parent.exists()  # an emptied key directory goes too
    assert list(tmp.iterdir()) == [live.path]
    live.discard()
    assert default_storage.open(kept.file.name).read() == samples.png_bytes()


def test_an_import_rewrites_an_old_orphan_so_the_sweep_spares_it(
    allow_loopback, media_storage, settings, org
):
    """A rolled-back import left its file; a day later the same bytes are imported again.
    The old copy is written anew (young), not reused as it is, so a sweep running while
    that import is in flight cannot delete it under the new row."""
    settings.GHEE_MEDIA_ORPHAN_GRACE_SECONDS = DAY
    url = allow_loopback.serve("/photo.png", samples.png_bytes())
    name = import_from_url(org, url).file.name
    MediaAsset.objects.all().delete()  # the row never committed; the file stayed
    age(media_storage / name, DAY)  # past half the grace period
    aged = (media_storage / name).stat().st_mtime
    asset = import_from_url(org, url)
    assert asset.file.name == name
    assert (media_storage / name).stat().st_mtime > aged  # written anew, not reused as it is
    MediaAsset.objects.all().delete()  # rolled back once more: the file is young, kept
    assert run_chore("sweep_orphaned_media")["deleted"] == 0
    assert stored_files(media_storage) == [name]


def test_the_sweep_deletes_orphaned_objects_in_the_bucket(
    settings,
    tmp_path,
    allow_loopback,
    bucket,
    s3_endpoint,
    org,
):
    settings.GHEE_MEDIA_TMP_DIR = tmp_path / "tmp"
    use_s3(settings, s3_endpoint)
    asset = import_from_url(org, allow_loopback.serve("/photo.png", samples.png_bytes()))
    orphan_key = f"{asset_key(org.id, 'f' * 64)}/orphan.pdf"
    bucket.put_object(Bucket=BUCKET, Key=orphan_key, Body=samples.PDF)

    settings.GHEE_MEDIA_ORPHAN_GRACE_SECONDS = 3600  # both objects are seconds old: kept
    assert run_chore("sweep_orphaned_media")["deleted"] == 0
    assert sorted(keys(bucket)) == sorted([asset.file.name, orphan_key])

    settings.GHEE_MEDIA_ORPHAN_GRACE_SECONDS = 0  # everything is past the grace period
    time.sleep(1.1)  # S3 times have whole seconds
    result = run_chore("sweep_orphaned_media")
    assert (result["deleted"], result["old_files_checked"]) == (1, 2)
    assert keys(bucket) == [asset.file.name]  # the asset's object is never deleted
