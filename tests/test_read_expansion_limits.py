"""What one read's response may hold (issue 20, item 2): references multiply, so the renderer
counts the objects and bytes it builds while it builds them, and a read past
``GHEE_READ_MAX_RESPONSE_OBJECTS`` / ``GHEE_READ_MAX_RESPONSE_BYTES`` is a 400 saying which
cap and how to narrow the read, on every read route.

The reproduction: 100 items each referencing all 100. ``levels=4`` on one of them used to
build 10**8 objects (10.5 GB before the process was killed); now every route answers a 400
at once, with the process's memory barely touched (checked here with ``tracemalloc``, and
against a real ``ghee serve``'s RSS at the end).
"""

import time
import tracemalloc

import pytest
import requests
from django.utils import timezone

from ghee.content.models import Item, ItemFieldIndex, ItemLocale
from tests.conftest import make_collection
from tests.processes import (
    children_of,
    free_port,
    ghee,
    start_serve,
    stop_serve,
    wait_until_serving,
)
from tests.read_factories import put_item

HUBS = 100
# The most a refused read may allocate in this process (tracemalloc's peak): the fan-out's
# rows and the objects built before the cap, far below the gigabytes the full response takes.
REFUSED_READ_PEAK_BYTES = 50 * 1024 * 1024


def uri(key, item_id):
    return f"/v2/content/?keys={key}[_id={item_id}]"


@pytest.fixture
def hubs(org):
    """``HUBS`` items of one collection, each referencing all of them (itself included),
    published; ``marker`` is indexed for filters. Built in bulk, as ``put_item`` would
    store them one by one (tests/read_factories.py), so that the fixture is quick."""
    collection = make_collection(
        org,
        "hubs",
        [
            {"key": "marker", "type": "short_text"},
            {"key": "refs", "type": "reference", "reference_to": "hubs", "many": True},
        ],
    )
    items = Item.objects.bulk_create(
        Item(collection=collection, organization=org) for _ in range(HUBS)
    )
    ids = [item.id for item in items]
    now = timezone.now()
    versions = []
    for n, item in enumerate(items, start=1):
        values = {"marker": f"hub-{n}", "refs": ids}
        versions.append(
            ItemLocale(
                item=item,
                collection=collection,
                status="published",
                data=values,
                published_data=values,
                is_published=True,
                published_at=now,
            )
        )
    ItemLocale.objects.bulk_create(versions)
    ItemFieldIndex.objects.bulk_create(
        ItemFieldIndex(
            item=item,
            collection=collection,
            published=published,
            field_key="marker",
            text_value=f"hub-{n}",
        )
        for n, item in enumerate(items, start=1)
        for published in (False, True)
    )
    return ids


def get(api, read_token, path, **params):
    return api.get(path, {"auth_token": read_token, **params})


def refused(response, setting):
    assert response.status_code == 400, response.content[:300]
    detail = response.json()["detail"]
    assert setting in detail, detail
    return detail


# Every read route, each narrowed to hub-1 where it can be: one top-level item.
ROUTES = {
    "list": ("/v2/content/hubs/", {"fields.marker": "hub-1"}),
    "list preview": ("/v2/content/hubs/", {"fields.marker": "hub-1", "preview": "1"}),
    "keys": ("/v2/content/", {"keys": "hubs[marker=hub-1]"}),
    "several keys": ("/v2/content/", {"keys": "hubs[marker=hub-1],notes"}),
    "path with keys": ("/v2/content/hubs[marker=hub-1],notes/", {}),
}


@pytest.fixture
def notes(org):
    make_collection(org, "notes", [{"key": "title", "type": "short_text"}])


@pytest.mark.parametrize(
    ("route", "levels"),
    [("list", 3), ("list", 4), *((route, 5) for route in [*ROUTES, "item"])],
)
def test_the_fan_out_is_a_400_on_every_route_with_memory_bounded(
    api, read_token, hubs, notes, route, levels
):
    if route == "item":
        path, params = f"/v2/content/hubs/{hubs[0]}/", {}
    else:
        path, params = ROUTES[route]
    tracemalloc.start()
    try:
        response = get(api, read_token, path, levels=levels, **params)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    detail = refused(response, "GHEE_READ_MAX_RESPONSE_OBJECTS")
    assert f"levels={levels - 1} or less" in detail
    if route == "item":
        assert "page_size" not in detail
    elif route in ("several keys", "path with keys"):
        assert "fewer keys" in detail
    else:  # one key is R2 (paged), whichever way it is asked for
        assert "page_size" in detail and "fields.<key>=<value>" in detail
    assert peak < REFUSED_READ_PEAK_BYTES, peak


def test_the_message_says_what_and_how_to_narrow(api, read_token, hubs):
    response = get(api, read_token, "/v2/content/hubs/", levels=5, **{"fields.marker": "hub-1"})
    assert response.json() == {
        "detail": "This read would return more than 100000 items and references "
        "(GHEE_READ_MAX_RESPONSE_OBJECTS): references expand to levels=5; narrow it with fewer "
        "levels (levels=4 or less), a smaller page_size, a filter (fields.<key>=<value>)"
    }
    assert response["Cache-Control"] == "private, no-store"


def test_within_the_caps_the_fan_out_reads_as_buttercms_levels_say(api, read_token, hubs):
    """levels=2 on hub-1: 1 + 100 objects and 100 x 100 URIs, well within the caps."""
    response = get(api, read_token, "/v2/content/hubs/", levels=2, **{"fields.marker": "hub-1"})
    assert response.status_code == 200
    [top] = response.json()["data"]["hubs"]
    assert top["meta"]["id"] == hubs[0]
    assert [ref["meta"]["id"] for ref in top["refs"]] == hubs
    assert all(ref["refs"] == [uri("hubs", i) for i in hubs] for ref in top["refs"])


def test_the_whole_fan_out_at_levels_1_is_within_the_caps(api, read_token, hubs):
    response = get(api, read_token, "/v2/content/hubs/", levels=1, page_size=100)
    assert response.status_code == 200
    items = response.json()["data"]["hubs"]
    assert len(items) == HUBS and all(len(item["refs"]) == HUBS for item in items)


@pytest.fixture
def shelf(org):
    """3 shelves, each referencing the same 4 books."""
    books = make_collection(org, "books", [{"key": "title", "type": "short_text"}])
    shelves = make_collection(
        org,
        "shelves",
        [
            {"key": "name", "type": "short_text"},
            {"key": "books", "type": "reference", "reference_to": "books", "many": True},
        ],
    )
    ids = [put_item(books, {"title": f"book {n}"}).id for n in range(4)]
    for n in range(3):
        put_item(shelves, {"name": f"shelf {n}", "books": ids})
    return shelves


@pytest.mark.parametrize("levels", [1, 2])
def test_every_copy_counts_and_the_cap_itself_is_allowed(api, read_token, shelf, settings, levels):
    """3 shelves x (1 + 4 books or URIs) = 15 objects, whether the books are objects or
    URIs: a read of exactly the cap answers, one object fewer is a 400."""
    settings.GHEE_READ_MAX_RESPONSE_OBJECTS = 15
    response = get(api, read_token, "/v2/content/shelves/", levels=levels)
    assert response.status_code == 200
    assert len(response.json()["data"]["shelves"]) == 3
    settings.GHEE_READ_MAX_RESPONSE_OBJECTS = 14
    detail = refused(
        get(api, read_token, "/v2/content/shelves/", levels=levels),
        "more than 14 items and references (GHEE_READ_MAX_RESPONSE_OBJECTS)",
    )
    assert ("levels=" in detail.split("narrow it")[1]) == (levels > 1)
    # The item route counts the same way: one shelf is 5.
    settings.GHEE_READ_MAX_RESPONSE_OBJECTS = 4
    shelf_id = response.json()["data"]["shelves"][0]["meta"]["id"]
    refused(
        get(api, read_token, f"/v2/content/shelves/{shelf_id}/", levels=levels),
        "GHEE_READ_MAX_RESPONSE_OBJECTS",
    )


def test_the_byte_cap_counts_every_copy_of_a_large_item(api, read_token, org, settings):
    """One 50 KB item referenced by 20 others: 1 MB of JSON for 41 objects."""
    big = make_collection(org, "big", [{"key": "body", "type": "long_text"}])
    posts = make_collection(
        org,
        "posts",
        [{"key": "about", "type": "reference", "reference_to": "big"}],
    )
    target = put_item(big, {"body": "x" * 50_000})
    for _ in range(20):
        put_item(posts, {"about": target.id})
    settings.GHEE_READ_MAX_RESPONSE_BYTES = 2_000_000
    response = get(api, read_token, "/v2/content/posts/", page_size=20)
    assert response.status_code == 200
    assert len(response.content) > 1_000_000
    settings.GHEE_READ_MAX_RESPONSE_BYTES = 500_000
    detail = refused(
        get(api, read_token, "/v2/content/posts/", page_size=20),
        "more than 500000 bytes of JSON (GHEE_READ_MAX_RESPONSE_BYTES)",
    )
    assert "levels=1 or less" in detail
    # With URIs instead of the objects it is small again.
    assert get(api, read_token, "/v2/content/posts/", page_size=20, levels=1).status_code == 200


def test_a_multi_key_read_counts_all_its_collections(api, read_token, shelf, org, settings):
    """15 objects for the shelves (levels=1) and 4 books: within 18 alone, past it together."""
    settings.GHEE_READ_MAX_RESPONSE_OBJECTS = 18
    assert get(api, read_token, "/v2/content/", keys="shelves", levels=1).status_code == 200
    assert get(api, read_token, "/v2/content/", keys="books").status_code == 200
    refused(
        get(api, read_token, "/v2/content/", keys="shelves,books", levels=1),
        "more than 18 items and references",
    )


# --- A real server ------------------------------------------------------------------------------

SCHEMA = """collections:
- key: hubs
  fields:
  - {key: marker, type: short_text}
  - {key: refs, type: reference, to: hubs, many: true}
"""
# How much a server process's peak RSS may grow over the fan-out's reads at levels 3 to 5.
SERVER_RSS_GROWTH_BOUND = 200 * 1024 * 1024


def peak_rss(pid: int) -> int:
    """A process's peak resident set (VmHWM), in bytes."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmHWM for {pid}")


def server_pids(serve_pid: int) -> list[int]:
    """``ghee serve``'s descendants (granian and its API worker)."""
    found, queue = [], [serve_pid]
    while queue:
        children = children_of(queue.pop())
        found += children
        queue += children
    return found


def wait_for_jobs(url, headers, locations, seconds=60):
    deadline = time.monotonic() + seconds
    pending = list(locations)
    while pending and time.monotonic() < deadline:
        job = requests.get(url(pending[0]), headers=headers, timeout=5).json()
        if job["status"] == "succeeded":
            pending.pop(0)
        else:
            assert job["status"] != "failed", job
            time.sleep(0.05)
    assert not pending, f"{len(pending)} jobs did not finish"


@pytest.mark.slow
def test_a_real_server_answers_the_fan_out_with_400s_and_its_memory_stays_bounded(
    tmp_path_factory,
):
    data_dir = tmp_path_factory.mktemp("ghee-fan-out")
    assert ghee(data_dir, "migrate", "--noinput", "-v", "0").returncode == 0
    assert ghee(data_dir, "org", "create", "fan").returncode == 0
    assert ghee(data_dir, "schema", "apply", "-", "--org", "fan", stdin=SCHEMA).returncode == 0
    write, read = (
        ghee(data_dir, "token", "create", "--org", "fan", "--kind", kind).stdout.strip()
        for kind in ("write", "read")
    )
    port = free_port()
    process = start_serve(data_dir, port, "--workers", "1", GHEE_WORKER_IDLE_MAX_INTERVAL="0.05")

    def url(path):
        return f"http://127.0.0.1:{port}{path}"

    headers = {"Authorization": f"Token {write}"}
    try:
        wait_until_serving(port, process)
        session = requests.Session()
        created = session.post(
            url("/v2/content/"),
            json={
                "key": "hubs",
                "status": "published",
                "fields": [{"marker": f"hub-{n}"} for n in range(1, HUBS + 1)],
            },
            headers=headers,
            timeout=10,
        )
        assert created.status_code == 202, created.text
        wait_for_jobs(url, headers, [created.headers["Location"]])
        job = session.get(url(created.headers["Location"]), headers=headers, timeout=5).json()
        ids = job["item_ids"]
        patches = []
        for item_id in ids:
            patched = session.patch(
                url(f"/v2/content/hubs/{item_id}/"),
                json={"status": "published", "fields": {"refs": ids}},
                headers=headers,
                timeout=10,
            )
            assert patched.status_code == 202, patched.text
            patches.append(patched.headers["Location"])
        wait_for_jobs(url, headers, patches)
        hub_1 = {"auth_token": read, "fields.marker": "hub-1"}
        within = session.get(url("/v2/content/hubs/"), params={**hub_1, "levels": 2}, timeout=30)
        assert within.status_code == 200
        assert len(within.json()["data"]["hubs"][0]["refs"]) == HUBS
        pids = server_pids(process.pid)
        before = {pid: peak_rss(pid) for pid in pids}
        for levels in (3, 4, 5):
            for path, params in (
                ("/v2/content/hubs/", hub_1),
                ("/v2/content/", {"auth_token": read, "keys": "hubs[marker=hub-1]"}),
                (f"/v2/content/hubs/{ids[0]}/", {"auth_token": read}),
            ):
                answer = session.get(url(path), params={**params, "levels": levels}, timeout=60)
                assert answer.status_code == 400, answer.text[:300]
                assert "GHEE_READ_MAX_RESPONSE_OBJECTS" in answer.json()["detail"]
        growth = {pid: peak_rss(pid) - before[pid] for pid in pids}
        assert max(growth.values()) < SERVER_RSS_GROWTH_BOUND, growth
        assert session.get(url("/healthz"), timeout=5).status_code == 200
    finally:
        returncode, stderr = stop_serve(process)
    assert returncode == 0, stderr
