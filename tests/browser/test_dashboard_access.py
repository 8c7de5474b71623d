"""The dashboard in a real Chromium, as a staff member of one organization (issue 11, items
1, 5 and 7): they sign in, see their organization's tokens and jobs and none of another's,
create a token and see it once, revoke it, and the API then rejects it (401).

Screenshots of the pages go to ``var/screenshots/`` (git-ignored).
"""

from pathlib import Path

import pytest
import requests
from django.contrib.auth import get_user_model

from ghee.accounts.services import add_member, create_organization, create_token
from ghee.content.models import Job
from ghee.content.write.jobs import run_pending_jobs
from tests.conftest import make_collection

pytestmark = pytest.mark.slow

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
PASSWORD = "correct horse battery staple"


def write(base: str, token: str, body: dict) -> None:
    response = requests.post(
        f"{base}/v2/content/", json=body, headers={"Authorization": f"Token {token}"}, timeout=10
    )
    assert response.status_code == 202, response.text


@pytest.fixture
def world(live_server, transactional_db):
    base = live_server.url.replace("localhost", "127.0.0.1")
    acme = create_organization("acme", "Acme")
    make_collection(acme, "team_members", [{"key": "name", "type": "short_text"}], label="name")
    acme_write = create_token(acme, "write", "acme secret importer")[1]
    globex = create_organization("globex", "Globex Corp")
    make_collection(globex, "products", [{"key": "title", "type": "short_text"}], label="title")
    globex_write = create_token(globex, "write", "globex importer")[1]
    write(base, acme_write, {"key": "team_members", "fields": [{"name": "Acme person"}]})
    write(base, globex_write, {"key": "products", "fields": [{"title": "Widget"}]})
    run_pending_jobs()
    bob = get_user_model().objects.create_user("bob@globex.example", password=PASSWORD)
    add_member(bob, globex)
    return {
        "base": base,
        "acme_job": Job.objects.get(organization=acme).pk,
        "globex_job": Job.objects.get(organization=globex).pk,
    }


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_a_member_sees_only_their_organization_and_a_revoked_token_is_rejected(in_browser, world):
    base = world["base"]

    def scenario(page):
        seen = {}
        page.goto(f"{base}/")
        shot(page, "home")
        page.click("text=Dashboard")
        page.fill("#id_username", "bob@globex.example")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_selector("#user-tools")
        shot(page, "dashboard-index")
        seen["index"] = page.inner_text("#content")

        page.goto(f"{base}/admin/accounts/apitoken/")
        shot(page, "tokens")
        seen["tokens"] = page.inner_text("#content")

        page.goto(f"{base}/admin/content/job/")
        shot(page, "jobs")
        seen["jobs"] = page.inner_text("#result_list")
        page.click(f"#result_list a[href$='/content/job/{world['globex_job']}/change/']")
        shot(page, "job")
        seen["job"] = page.inner_text("#content")

        page.goto(f"{base}/admin/accounts/apitoken/add/")
        page.select_option("#id_kind", "read")
        page.fill("#id_name", "made in the browser")
        page.click("input[name=_save]")
        clear = page.inner_text("#token-text").strip()
        shot(page, "token-created")
        seen["read_before"] = requests.get(
            f"{base}/v2/content/products/", params={"auth_token": clear}, timeout=10
        ).status_code

        page.click("text=Done")
        seen["list_after"] = page.content()
        row = page.locator("#result_list tr", has_text="made in the browser")
        row.locator("input.action-select").check()
        page.select_option("select[name=action]", "revoke")
        page.click("button[name=index]")
        # A page that asks first; nothing is revoked until it is confirmed.
        seen["confirm"] = page.inner_text("#content-main")
        seen["read_while_asked"] = requests.get(
            f"{base}/v2/content/products/", params={"auth_token": clear}, timeout=10
        ).status_code
        page.click("#confirm-revoke")
        page.wait_for_selector(".messagelist")
        shot(page, "token-revoked")
        seen["message"] = page.inner_text(".messagelist")
        seen["read_after"] = requests.get(
            f"{base}/v2/content/products/", params={"auth_token": clear}, timeout=10
        )
        seen["clear"] = clear
        return seen

    seen = in_browser(scenario)
    assert "Api tokens" in seen["index"] and "Jobs" in seen["index"]
    assert "Users" not in seen["index"]  # managing users is the superusers' business
    assert "globex importer" in seen["tokens"]
    assert "acme secret importer" not in seen["tokens"] and "Acme" not in seen["tokens"]
    assert str(world["globex_job"]) in seen["jobs"].split()
    assert str(world["acme_job"]) not in seen["jobs"].split()
    assert "team_members" not in seen["jobs"]
    assert "Create 1 item in products" in seen["job"]
    assert "Title: “Widget”" in seen["job"]

    assert len(seen["clear"]) == 52
    assert seen["read_before"] == 200
    assert seen["clear"] not in seen["list_after"]  # shown once, on its own page
    assert "Revoke these tokens?" in seen["confirm"] and "made in the browser" in seen["confirm"]
    assert seen["read_while_asked"] == 200
    assert "Revoked 1 token(s)" in seen["message"]
    assert seen["read_after"].status_code == 401
    assert seen["read_after"].json() == {"detail": "Invalid token."}
