"""Hostile files and bodies against every way media comes in (issue 20, items 1, 6 and 7).

Each file of ``hostile_corpus`` is answered, with a 4xx that says why or accepted
harmlessly, and leaves no temporary file behind: through ``POST /v2/media/``, and for a
few, through a media URL in a write (the worker's download), the dashboard's upload, the
content editor's and ``ghee media import``; the issue's reproduction also against a real
``ghee serve`` that must keep answering. Nothing here asserts a time:
``bench/hostile_media_bench.py`` measures each entry.
"""

import json
import os
import signal
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client

from ghee.content.management.commands import worker as worker_command
from ghee.content.management.commands.worker import Worker
from ghee.content.models import Job
from ghee.content.write.jobs import run_pending_jobs
from ghee.media.models import MediaAsset
from ghee.media.svg import read_prolog
from ghee.media.temporaries import Temporary, sweep_dead_temporaries
from tests.conftest import make_collection
from tests.media import hostile_corpus, samples
from tests.media.conftest import stored_files
from tests.processes import free_port, ghee, start_serve, stop_serve, wait_until_serving

pytestmark = pytest.mark.django_db

BY_NAME = {entry.name: entry for entry in hostile_corpus.CORPUS}
ISSUE_REPRO = BY_NAME["svg: 40 nested comments (issue 20)"]


def auth(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Token {token}"}


@pytest.fixture(scope="module")
def built():
    """Each corpus entry's bytes, built once for the module."""
    return {entry.name: entry.build() for entry in hostile_corpus.CORPUS}


def leftovers(settings) -> list[str]:
    tmp = Path(settings.GHEE_MEDIA_TMP_DIR)
    return sorted(p.name for p in tmp.iterdir()) if tmp.exists() else []


def assert_answered(entry, status: int, detail: str) -> None:
    if entry.expect == "refused":
        assert status in (400, 413), (status, detail)
        assert entry.detail in detail, detail
    else:
        assert status in (200, 201), (status, detail)


@pytest.mark.parametrize("entry", hostile_corpus.CORPUS, ids=lambda entry: entry.name)
def test_every_hostile_file_is_answered_through_the_api(
    entry, built, write_token, media_storage, settings
):
    file = SimpleUploadedFile(entry.filename, built[entry.name])
    response = Client().post("/v2/media/", {"file": file}, **auth(write_token))
    assert_answered(entry, response.status_code, response.json().get("detail", ""))
    assert leftovers(settings) == []
    if entry.expect == "refused":
        assert MediaAsset.objects.count() == 0
        assert stored_files(media_storage) == []
    assert Client().get("/healthz").status_code == 200


@pytest.mark.parametrize(
    "name",
    ["svg: 40 nested comments (issue 20)", "png: 36-megapixel zlib bomb", "docx: 200,000 entries"],
)
def test_a_hostile_media_url_in_a_write_fails_its_item_with_the_reason(
    name, built, api, org, write_token, allow_loopback, media_storage, settings
):
    entry = BY_NAME[name]
    make_collection(org, "gallery", [{"key": "photo", "type": "media"}])
    url = allow_loopback.serve(f"/{entry.filename}", built[name])
    response = api.post(
        "/v2/content/",
        {"key": "gallery", "status": "published", "fields": [{"photo": url}]},
        format="json",
        **auth(write_token),
    )
    assert response.status_code == 202, response.content
    run_pending_jobs()
    job = Job.objects.get()
    assert job.status == "failed"
    [error] = job.errors
    assert entry.detail in error["message"], error
    assert leftovers(settings) == [] and stored_files(media_storage) == []


def test_the_dashboard_upload_refuses_the_reproduction(admin_client, media_storage, org, built):
    response = admin_client.post(
        "/admin/media/mediaasset/add/",
        {"organization": org.pk, "file": SimpleUploadedFile("r.svg", built[ISSUE_REPRO.name])},
    )
    assert response.status_code == 200
    assert b"not an allowed file type" in response.content
    assert MediaAsset.objects.count() == 0


def test_the_cli_import_refuses_a_bomb(allow_loopback, media_storage, org, built, settings):
    url = allow_loopback.serve("/bomb.png", built["png: 36-megapixel zlib bomb"])
    with pytest.raises(CommandError, match="decompression bomb"):
        call_command("media", "import", url, "--org", org.slug, stdout=StringIO())
    assert MediaAsset.objects.count() == 0 and leftovers(settings) == []


# --- The SVG tokenizer: what used to be SVG still is -------------------------------------


@pytest.mark.parametrize(
    "head",
    [
        b"\xef\xbb\xbf<svg>",
        b"  \n<SVG xmlns='x'/>",
        b'<?xml version="1.0"?><?xml-stylesheet href="a.css"?><!-- c --><svg/>',
        b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://x/svg11.dtd"><svg >',
        b'<!DOCTYPE svg [<!ATTLIST svg a CDATA "]>">]><svg\t>',
        b"<!-- a -- b --><!DOCTYPE svg:svg><svg>",
    ],
)
def test_svg_prologs_are_recognised(head):
    assert read_prolog(head).is_svg
    assert not read_prolog(head).declares_entities


@pytest.mark.parametrize(
    "head",
    [
        b"<svgx>",
        b"<svg",  # the prefix ends inside the root element's name
        b"<!DOCTYPE html><svg>",
        b"<!DOCTYPE svg><!DOCTYPE svg><svg>",
        b"<html><svg>",
        b"<!-- never closed <svg>",
        b'<!DOCTYPE svg "never closed><svg>',
        b"text<svg>",
    ],
)
def test_other_prologs_are_not_svg(head):
    assert not read_prolog(head).is_svg


# --- Item 6: limits of the multipart body answered as 400s -----------------------------------


def test_more_than_100_file_parts_is_400_naming_the_limit(write_token, media_storage, settings):
    files = [SimpleUploadedFile(f"p{i}.png", samples.png_bytes()) for i in range(101)]
    response = Client().post("/v2/media/", {"file": files}, **auth(write_token))
    assert response.status_code == 400
    assert response.json() == {"detail": "Too many file parts: an upload may have at most 100."}
    assert leftovers(settings) == [] and MediaAsset.objects.count() == 0


def test_more_form_fields_than_django_allows_is_400_naming_the_limit(write_token, media_storage):
    fields = {f"f{i}": "x" for i in range(1001)}
    file = SimpleUploadedFile("lamp.png", samples.png_bytes())
    response = Client().post("/v2/media/", {"file": file, **fields}, **auth(write_token))
    assert response.status_code == 400
    assert response.json() == {"detail": "Too many form fields: an upload may have at most 1000."}


@pytest.mark.parametrize(
    ("data", "name"), [(samples.png_bytes(), "a.png"), (samples.DOCX, "a.docx")]
)
def test_checks_past_their_time_budget_are_refused(
    data, name, write_token, media_storage, settings
):
    settings.GHEE_MEDIA_CHECK_SECONDS = -1  # already spent: every budgeted step refuses
    file = SimpleUploadedFile(name, data)
    response = Client().post("/v2/media/", {"file": file}, **auth(write_token))
    assert response.status_code == 400
    assert "takes too long to check" in response.json()["detail"]
    assert leftovers(settings) == [] and MediaAsset.objects.count() == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"alt": "a red\x00lamp"}, "alt"), ({"caption": "\x00"}, "caption")],
)
def test_a_nul_in_any_form_field_is_400_and_stores_nothing(
    write_token, media_storage, settings, fields, field
):
    file = SimpleUploadedFile("lamp.png", samples.png_bytes())
    response = Client().post("/v2/media/", {"file": file, **fields}, **auth(write_token))
    assert response.status_code == 400
    assert response.json() == {field: ["Must not contain NUL (\\x00) characters."]}
    assert MediaAsset.objects.count() == 0
    assert stored_files(media_storage) == [] and leftovers(settings) == []


def test_a_nul_in_the_json_alt_is_400(write_token, allow_loopback, media_storage):
    url = allow_loopback.serve("/lamp.png", samples.png_bytes())
    response = Client().post(
        "/v2/media/",
        json.dumps({"url": url, "alt": "a\x00b"}),
        content_type="application/json",
        **auth(write_token),
    )
    assert response.status_code == 400  # refused by the JSON reader or by the alt check
    assert MediaAsset.objects.count() == 0 and stored_files(media_storage) == []


# --- Item 7: temporaries of killed processes ---------------------------------------------

HOLDER = """
import sys, time
from pathlib import Path
from ghee.media.temporaries import Temporary
held = [Temporary(kind, directory=Path(sys.argv[1])) for kind in ("import", "upload", "import")]
for each in held:
    each.file.write(b"partial download")
    each.file.flush()
print(" ".join(each.path.name for each in held), flush=True)
time.sleep(600)
"""


def hold_temporaries(directory: Path) -> tuple[subprocess.Popen, list[str]]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(directory)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        env={k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
    )
    return process, process.stdout.readline().split()


def test_a_killed_processs_temporaries_go_when_a_worker_starts(settings, tmp_path, monkeypatch):
    settings.GHEE_MEDIA_TMP_DIR = tmp_path / "tmp"
    # ``ghee worker`` as it starts; its loop (tested in tests/test_worker.py) is left out.
    started = []
    monkeypatch.setattr(worker_command, "use_worker_lock_timeout", lambda: None)
    monkeypatch.setattr(Worker, "configure_signals", lambda worker: None)
    monkeypatch.setattr(Worker, "run", lambda worker: started.append(leftovers(settings)))
    killed, dead_files = hold_temporaries(settings.GHEE_MEDIA_TMP_DIR)
    alive, live_files = hold_temporaries(settings.GHEE_MEDIA_TMP_DIR)
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait(10)
        assert len(dead_files) == 3 and set(dead_files) <= set(leftovers(settings))
        mine = Temporary("import")  # this process is alive too

        call_command("worker", batch=True, no_chores=True)

        assert started == [sorted([*live_files, mine.path.name])]
        mine.discard()
    finally:
        alive.kill()
        alive.wait(10)
    assert sweep_dead_temporaries() == 3  # once its owner is gone, the live one's go too
    assert leftovers(settings) == []


def test_a_sweep_racing_a_new_temporary_never_takes_it(settings, tmp_path):
    """The creator locks its file and checks it still has a name: sweeps in between (here,
    one per creation) cannot leave it writing to a deleted file."""
    settings.GHEE_MEDIA_TMP_DIR = tmp_path
    made = []
    for _ in range(50):
        made.append(Temporary("import"))
        assert sweep_dead_temporaries() == 0
    assert all(t.path.exists() for t in made)
    for temporary in made:
        temporary.discard()


# --- A real server keeps answering -------------------------------------------------------


@pytest.mark.slow
def test_a_real_server_answers_the_hostile_uploads_and_keeps_serving(tmp_path, built):
    """The issue's reproduction kept a server process at 84 % CPU for ten minutes."""
    assert ghee(tmp_path, "migrate", "--noinput", "-v", "0").returncode == 0
    assert ghee(tmp_path, "org", "create", "hostile").returncode == 0
    token = ghee(tmp_path, "token", "create", "--org", "hostile", "--kind", "write").stdout
    port = free_port()
    process = start_serve(tmp_path, port, "--no-worker")
    try:
        wait_until_serving(port, process)
        base = f"http://127.0.0.1:{port}"
        for name in [ISSUE_REPRO.name, "png: 36-megapixel zlib bomb", "docx: 200,000 entries"]:
            entry = BY_NAME[name]
            response = requests.post(
                f"{base}/v2/media/",
                files={"file": (entry.filename, built[name])},
                headers={"Authorization": f"Token {token.strip()}"},
                timeout=30,
            )
            assert_answered(entry, response.status_code, response.json()["detail"])
            assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
        assert list((tmp_path / "tmp").iterdir()) == []
    finally:
        stop_serve(process)
