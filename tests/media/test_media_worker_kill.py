"""A real `ghee worker` SIGKILLed in the middle of a media download: the job completes
after its lease lapses, the file is stored once, and the item points at it."""

import signal
import threading

import pytest

from ghee.content.models import Item, Job
from ghee.media.models import MediaAsset
from tests.conftest import make_collection
from tests.media import samples
from tests.media.conftest import stored_files
from tests.processes import start_worker, stop, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("committed")]

PNG = samples.png_bytes(6, 6)


def test_a_worker_killed_mid_download_leaves_one_asset_and_the_job_completes(
    api,
    org,
    write_token,
    server,
    tmp_path,
):
    make_collection(org, "gallery", [{"key": "photo", "type": "media"}])
    release = threading.Event()
    first_request = threading.Event()

    def dripping_then_whole(handler):
        if not first_request.is_set():
            # The first download starts and then hangs, half sent, until the test lets go.
            first_request.set()
            handler.send_response(200)
            handler.send_header("Content-Type", "image/png")
            handler.send_header("Content-Length", str(len(PNG)))
            handler.end_headers()
            handler.wfile.write(PNG[:20])
            handler.wfile.flush()
            release.wait(30)
            return
        server._send(handler, 200, PNG, {"Content-Type": "image/png"})

    url = server.route("/slow.png", dripping_then_whole)
    response = api.post(
        "/v2/content/",
        {"key": "gallery", "status": "published", "fields": [{"photo": url}]},
        format="json",
        HTTP_AUTHORIZATION=f"Token {write_token}",
    )
    assert response.status_code == 202
    media_root = tmp_path / "media"
    env = {
        "GHEE_JOB_LEASE_SECONDS": 2,
        "GHEE_EGRESS_ALLOW_NETWORKS": "127.0.0.0/8",
        "GHEE_EGRESS_ALLOW_PORTS": server.port,
        "GHEE_MEDIA_ROOT": media_root,
        "GHEE_MEDIA_TMP_DIR": tmp_path / "tmp",
    }

    first = start_worker(**env)
    try:
        assert first_request.wait(60), "the worker never started the download"
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
        release.set()
    job = Job.objects.get()
    assert job.status == "running"
    assert MediaAsset.objects.count() == 0

    second = start_worker(**env)
    try:
        assert wait_for(lambda: Job.objects.get().status == "succeeded", 60), list(
            Job.objects.values("status", "attempts", "errors")
        )
    finally:
        output = stop(second)
    [asset] = MediaAsset.objects.all()
    assert asset.size == len(PNG), output
    assert len(stored_files(media_root)) == 1
    [item] = Item.objects.all()
    photo = item.locales.get().published_data["photo"]
    assert photo == asset.url
    assert len(server.requests_for("/slow.png")) == 2
