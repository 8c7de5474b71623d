"""CORS in a real browser (issue 7 item 2): a page on one 127.0.0.1 origin reads ghee,
served on another, with the official npm ``buttercms`` SDK and a read token; a write
from the same page is blocked by the browser unless GHEE_CORS_WRITE_ORIGINS lists it.
"""

import json

import pytest
import requests

from ghee.content.models import Job
from tests.read_factories import put_item

pytestmark = pytest.mark.slow

BODY = {"key": "team_members", "status": "published", "fields": [{"name": "From a browser"}]}


@pytest.fixture
def ghee(live_server, team_members, read_token, write_token):
    put_item(team_members, {"name": "Ada", "position": "CTO"})
    put_item(team_members, {"name": "Grace", "position": "CEO"})
    put_item(team_members, None, draft={"name": "Draft only"})
    base = live_server.url.replace("localhost", "127.0.0.1")
    return {"base": base, "read": read_token, "write": write_token}


def open_page(page, page_origin, ghee):
    page.goto(f"{page_origin}/?api={ghee['base']}")
    page.wait_for_function("window.sdkLoaded === true")


def post_from_page(page, token):
    init = {
        "method": "POST",
        "headers": {"Authorization": f"Token {token}", "Content-Type": "application/json"},
        "body": json.dumps(BODY),
    }
    return page.evaluate("([path, init]) => gheeFetch(path, init)", ["/v2/content/", init])


def test_a_page_on_another_origin_reads_items_with_the_js_sdk(in_browser, page_origin, ghee):
    def scenario(page):
        open_page(page, page_origin, ghee)
        status = page.evaluate(
            "([token, key]) => showCollection(token, key)", [ghee["read"], "team_members"]
        )
        names = page.locator("#items li").all_inner_texts()
        bad_token = page.evaluate(
            "path => gheeFetch(path)", "/v2/content/team_members/?auth_token=" + "x" * 40
        )
        return status, names, bad_token

    status, names, bad_token = in_browser(scenario)
    assert status == 200
    assert names == ["Ada", "Grace"]
    # Errors are readable too: the page sees the 401 and its body, not a CORS failure.
    assert bad_token["status"] == 401
    assert bad_token["body"] == {"detail": "Invalid token."}


def test_a_write_from_the_page_is_blocked_by_cors(in_browser, page_origin, ghee):
    def scenario(page):
        open_page(page, page_origin, ghee)
        return post_from_page(page, ghee["write"])

    result = in_browser(scenario)
    assert "blocked" in result, result
    assert "Failed to fetch" in result["blocked"]
    # The preflight stopped it: the POST never reached ghee.
    jobs = requests.get(
        f"{ghee['base']}/v2/jobs/",
        headers={"Authorization": f"Token {ghee['write']}"},
        timeout=10,
    )
    assert jobs.json()["meta"]["count"] == 0
    assert not Job.objects.exists()


def test_a_listed_origin_may_write_from_the_page(in_browser, page_origin, ghee, settings):
    settings.GHEE_CORS_WRITE_ORIGINS = [page_origin]

    def scenario(page):
        open_page(page, page_origin, ghee)
        return post_from_page(page, ghee["write"])

    result = in_browser(scenario)
    assert result["status"] == 202, result
    assert result["body"] == {"status": "pending"}
    job = Job.objects.get()
    assert result["location"] == f"/v2/jobs/{job.pk}/"
