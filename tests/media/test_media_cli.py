"""``ghee media import URL --org SLUG [--alt TEXT]`` and ``ghee media list --org SLUG``."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ghee.cli import printed_command
from ghee.media.models import MediaAsset
from tests.media import samples

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("media", *args, stdout=out)
    return out.getvalue()


def test_import_then_list(allow_loopback, media_storage, org):
    url = allow_loopback.serve("/team/ada.jpg", samples.image_bytes("JPEG", 30, 20))
    output = run("import", url, "--org", "acme", "--alt", "Ada at work")
    asset = MediaAsset.objects.get()
    assert output.strip() == f"Imported: {asset.url} (image/jpeg, {asset.size}\xa0bytes)"
    assert asset.alt_text == "Ada at work"

    again = run("import", allow_loopback.serve("/copy.jpg", samples.image_bytes("JPEG", 30, 20)),
                "--org", "acme")  # fmt: skip
    assert again.startswith(f"Already in the library: {asset.url}")

    lines = run("list", "--org", "acme").splitlines()
    assert lines[0].split() == ["ID", "URL", "TYPE", "SIZE", "PIXELS", "ALT", "CREATED"]
    assert lines[1].split()[:6] == [
        str(asset.id), asset.url, "image/jpeg", str(asset.size), "30x20", "Ada",
    ]  # fmt: skip


def test_list_of_an_empty_library(org):
    assert run("list", "--org", "acme").strip() == (
        f"No media in acme yet: `{printed_command()} media import URL --org acme`."
    )


def test_a_refused_import_says_why_and_keeps_nothing(server, settings, media_storage, org):
    settings.GHEE_EGRESS_ALLOW_PORTS = [server.port]
    url = server.serve("/a.png", samples.png_bytes())
    with pytest.raises(CommandError, match=r"a\.png: blocked address: 127\.0\.0\.1 is not"):
        run("import", url, "--org", "acme")
    assert MediaAsset.objects.count() == 0


def test_an_unknown_organization_is_an_error(db):
    with pytest.raises(CommandError, match="no organization 'nope'"):
        run("list", "--org", "nope")


def test_json_output_is_the_apis_asset(allow_loopback, media_storage, org, write_token, client):
    url = allow_loopback.serve("/team/ada.jpg", samples.image_bytes("JPEG", 30, 20))
    imported = json.loads(run("import", url, "--org", "acme", "--alt", "Ada", "--json"))
    listed = json.loads(run("list", "--org", "acme", "--json"))
    api = client.get("/v2/media/", HTTP_AUTHORIZATION=f"Token {write_token}").json()
    assert listed == api["data"] == [imported]
    assert (imported["url"], imported["alt"]) == (MediaAsset.objects.get().url, "Ada")
