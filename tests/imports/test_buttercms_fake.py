"""A fake ButterCMS on 127.0.0.1 answering in ButterCMS's recorded shapes, misbehaving as a
busy service does: a 429 with ``Retry-After`` and a 503 in the middle of the import."""

import json
import time
from pathlib import Path

import pytest

from ghee.accounts.services import create_organization, create_token
from ghee.imports.models import ImportedItem
from tests.media.servers import LoopbackServer

from .conftest import run_import

PAGES = json.loads((Path(__file__).parent / "fixtures" / "buttercms_pages.json").read_text())


@pytest.fixture
def fake_buttercms(settings):
    server = LoopbackServer()
    settings.GHEE_EGRESS_ALLOW_NETWORKS = ["127.0.0.0/8"]
    settings.GHEE_EGRESS_ALLOW_PORTS = [server.port]
    misbehave = {"/v2/content/navigation_menu_item/": [429, 503]}

    def route(key):
        def answer(handler):
            planned = misbehave.get(handler.path.split("?")[0])
            if planned:
                status = planned.pop(0)
                headers = {"Content-Type": "application/json"}
                if status == 429:
                    headers["Retry-After"] = "1"
                body = json.dumps({"detail": "API Calls limit reached."}).encode()
                server._send(handler, status, body, headers)
                return
            if handler.headers.get("Authorization") != "Token butter-read":
                body = b'{"detail": "Invalid token."}'
                server._send(handler, 401, body, {"Content-Type": "application/json"})
                return
            body = json.dumps(PAGES[key]).encode()
            server._send(handler, 200, body, {"Content-Type": "application/json"})

        return answer

    for key in ("navigation_menu", "navigation_menu_item"):
        server.route(f"/v2/content/{key}/", route(key))
    yield server
    server.close()


def failed_import(fake, token: str) -> str:
    """The one-line error of an import of navigation_menu that cannot run."""
    from django.core.management import call_command
    from django.core.management.base import CommandError

    args = ("--keys", "navigation_menu", "--source", fake.url(""), "--no-progress")
    with pytest.raises(CommandError) as caught:
        call_command("import", "buttercms", "--org", "moved", *args, "--token", token)
    return str(caught.value)


@pytest.mark.django_db
def test_buttercms_shapes_import_through_a_429_and_a_503(fake_buttercms, api):
    org = create_organization("moved", "Moved")
    reader = create_token(org, "read", "check")[1]
    started = time.monotonic()
    out, report, _ = run_import(
        "--org",
        "moved",
        "--keys",
        "navigation_menu,navigation_menu_item",
        "--source",
        fake_buttercms.url("/v2/"),
        token="butter-read",
    )
    assert time.monotonic() - started >= 1.0  # Retry-After: 1 was honoured
    assert report["retries"] == 2
    assert report["collections"]["navigation_menu_item"]["created"] == 3
    assert report["collections"]["navigation_menu"]["created"] == 1
    assert "schema: + collection navigation_menu" in out
    assert all("Token butter-read" not in line for line in out.splitlines())
    assert all("butter-read" not in r["path"] for r in fake_buttercms.requests)
    ids = {row.source_id: row.item_id for row in ImportedItem.objects.filter(organization=org)}
    menu = api.get("/v2/content/navigation_menu/", {"auth_token": reader}).json()
    assert menu["data"]["navigation_menu"] == [
        {
            "meta": {"id": ids[735751]},
            "name": "Main menu",
            "menu_items": [
                {"meta": {"id": ids[n]}, "label": label, "url": url}
                for n, label, url in (
                    (735745, "Home", "#home"),
                    (735746, "Features", "#features"),
                    (735747, "Testimonials", "#testimonials"),
                )
            ],
        }
    ]


@pytest.mark.django_db
def test_a_wrong_token_is_one_clear_error_that_does_not_echo_it(fake_buttercms):
    create_organization("moved", "Moved")
    fake_buttercms.routes.pop("/v2/content/navigation_menu_item/")
    error = failed_import(fake_buttercms, "wrong-secret")
    assert "HTTP 401 (Invalid token.)" in error
    assert "wrong-secret" not in error


@pytest.mark.django_db
def test_referenced_collections_are_reported_or_followed(fake_buttercms):
    create_organization("moved", "Moved")
    fake_buttercms.routes.pop("/v2/content/navigation_menu_item/")  # not asked for: not read
    args = ("--org", "moved", "--keys", "navigation_menu", "--source", fake_buttercms.url(""))
    out, report, _ = run_import(*args, "--dry-run", token="butter-read")
    assert (
        "references name collection navigation_menu_item, which was not listed: add it to "
        "--keys or use --follow-references"
    ) in report["warnings"]
    assert (
        "navigation_menu.menu_items: references navigation_menu_item, which is not imported" in out
    )

    fake_buttercms.routes.clear()
    for key in ("navigation_menu", "navigation_menu_item"):
        fake_buttercms.serve(
            f"/v2/content/{key}/",
            json.dumps(PAGES[key]).encode(),
            headers={"Content-Type": "application/json"},
        )
    _, report, _ = run_import(*args, "--follow-references", token="butter-read")
    assert report["collections"]["navigation_menu_item"]["created"] == 3
    assert report["collections"]["navigation_menu"]["created"] == 1
    assert not report["warnings"]


@pytest.mark.django_db
def test_a_spent_quota_stops_with_the_wait_it_asked_for(fake_buttercms):
    create_organization("moved", "Moved")
    fake_buttercms.serve(
        "/v2/content/navigation_menu/",
        b'{"detail": "API Calls limit reached."}',
        status=429,
        headers={"Content-Type": "application/json", "Retry-After": "86400"},
    )
    error = failed_import(fake_buttercms, "butter-read")
    assert "the source asks to wait 86400 s, longer than --max-wait 120 s" in error


@pytest.mark.django_db
def test_the_token_can_come_from_stdin(fake_buttercms, monkeypatch):
    import io

    from django.core.management import call_command

    create_organization("moved", "Moved")
    monkeypatch.setattr("sys.stdin", io.StringIO("butter-read\n"))
    out = io.StringIO()
    call_command(
        "import",
        "buttercms",
        "--org",
        "moved",
        "--keys",
        "navigation_menu_item",
        "--source",
        fake_buttercms.url(""),
        "--token-stdin",
        "--no-progress",
        "--dry-run",
        stdout=out,
    )
    assert "navigation_menu_item  3" in out.getvalue()
    assert "butter-read" not in out.getvalue()
