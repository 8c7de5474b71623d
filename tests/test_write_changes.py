"""PUT, PATCH and DELETE on /v2/content/{key}/{id}/, and what their jobs do."""

import pytest

from ghee.accounts.services import create_token
from ghee.content.models import Item, ItemFieldIndex, ItemLocale, Job
from ghee.content.write.jobs import claim_jobs, process_batch, run_pending_jobs
from ghee.core.models import OutboxEvent
from tests.conftest import make_collection


def auth(token):
    return {"HTTP_AUTHORIZATION": f"Token {token}"}


def create_one(api, token, key, fields, status="published") -> int:
    response = api.post(
        "/v2/content/",
        {"key": key, "status": status, "fields": [fields]},
        format="json",
        **auth(token),
    )
    assert response.status_code == 202, response.json()
    run_pending_jobs()
    return Item.objects.order_by("-id").first().pk


def send(api, method, token, url, body=None):
    return getattr(api, method)(url, body, format="json", **auth(token))


def versions(item_id) -> dict[str, ItemLocale]:
    return {v.locale: v for v in ItemLocale.objects.filter(item_id=item_id)}


@pytest.fixture
def member(api, write_token, team_members):
    return create_one(api, write_token, "team_members", {"name": "Ann", "position": "CTO"})


# --- PUT -------------------------------------------------------------------------------------


def test_put_replaces_the_item_clearing_omitted_fields(api, write_token, member):
    response = send(
        api, "put", write_token, f"/v2/content/team_members/{member}/", {"fields": {"name": "Bo"}}
    )
    assert response.status_code == 202
    assert response.json() == {"status": "pending"}
    job = Job.objects.get(pk=int(response["Location"].split("/")[-2]))
    assert job.kind == "replace" and job.item_id == member
    run_pending_jobs()
    job.refresh_from_db()
    assert job.status == "succeeded"
    assert job.result == {"item_ids": [member]}
    version = versions(member)[""]
    # No status given: the item stays published, so the new values are live.
    assert version.data == {"name": "Bo", "position": None}
    assert version.published_data == {"name": "Bo", "position": None}
    assert not ItemFieldIndex.objects.filter(item_id=member, field_key="position").exists()


def test_put_requires_required_fields_and_fields(api, write_token, member):
    url = f"/v2/content/team_members/{member}/"
    response = send(api, "put", write_token, url, {"fields": {"position": "x"}})
    assert response.status_code == 400
    assert response.json() == {"fields": {"name": ["This field is required."]}}
    response = send(api, "put", write_token, url, {"status": "draft"})
    assert response.status_code == 400
    assert response.json() == {"fields": ["This field is required."]}


def test_put_accepts_a_url_without_trailing_slash(api, write_token, member):
    response = send(
        api, "put", write_token, f"/v2/content/team_members/{member}", {"fields": {"name": "Z"}}
    )
    assert response.status_code == 202


# --- PATCH -----------------------------------------------------------------------------------


def test_patch_changes_only_given_fields(api, write_token, member):
    response = send(
        api,
        "patch",
        write_token,
        f"/v2/content/team_members/{member}/",
        {"fields": {"position": "CEO"}},
    )
    assert response.status_code == 202
    run_pending_jobs()
    assert versions(member)[""].data == {"name": "Ann", "position": "CEO"}


def test_patch_does_not_require_absent_required_fields_but_rejects_clearing_them(
    api, write_token, member
):
    url = f"/v2/content/team_members/{member}/"
    assert send(api, "patch", write_token, url, {"fields": {"position": "x"}}).status_code == 202
    response = send(api, "patch", write_token, url, {"fields": {"name": None}})
    assert response.status_code == 400
    assert response.json() == {"fields": {"name": ["This field may not be null."]}}


def test_a_patch_with_empty_fields_is_accepted_and_changes_nothing(api, write_token, member):
    url = f"/v2/content/team_members/{member}/"
    assert send(api, "patch", write_token, url, {"fields": {}}).status_code == 202
    run_pending_jobs()
    assert versions(member)[""].data == {"name": "Ann", "position": "CTO"}


@pytest.mark.parametrize("method", ["put", "patch"])
@pytest.mark.parametrize("body", [{}, None, {"position": "CEO"}, {"meta": {"id": 1}}])
def test_a_change_without_fields_or_status_says_where_values_go(
    api, write_token, member, method, body
):
    url = f"/v2/content/team_members/{member}/"
    response = send(api, method, write_token, url, body)
    assert response.status_code == 400
    (message,) = response.json()["fields"]
    assert message.startswith('Values go under "fields"')
    assert Job.objects.filter(kind__in=["update", "replace"]).count() == 0


# --- Statuses: draft takes an item down, no status keeps it ---------------------------------


def test_draft_write_on_a_published_item_unpublishes_it(api, write_token, read_token, member):
    url = f"/v2/content/team_members/{member}/"
    send(api, "patch", write_token, url, {"status": "draft", "fields": {"name": "Draft Ann"}})
    run_pending_jobs()
    version = versions(member)[""]
    assert version.status == "draft"
    assert version.data["name"] == "Draft Ann"
    assert version.published_data is None and not version.is_published
    # The published index rows went with it; the draft rows mirror the new values.
    rows = ItemFieldIndex.objects.filter(item_id=member, field_key="name")
    assert set(rows.values_list("published", "text_value")) == {(False, "Draft Ann")}
    # Reads no longer serve it; preview does.
    read = api.get(f"/v2/content/team_members/?auth_token={read_token}")
    assert read.json()["data"]["team_members"] == []
    preview = api.get(f"/v2/content/team_members/?auth_token={read_token}&preview=1")
    assert [i["name"] for i in preview.json()["data"]["team_members"]] == ["Draft Ann"]
    event = OutboxEvent.objects.filter(data__item_id=member).latest("pk")
    assert (event.name, event.data["status"]) == ("collectionitem.unpublished", "draft")

    # A later PATCH without status keeps it a draft; publishing puts the draft live.
    send(api, "patch", write_token, url, {"fields": {"position": "VP"}})
    run_pending_jobs()
    assert versions(member)[""].published_data is None
    assert OutboxEvent.objects.filter(data__item_id=member).latest("pk").name == (
        "collectionitem.draft"
    )
    send(api, "patch", write_token, url, {"status": "published"})
    run_pending_jobs()
    version = versions(member)[""]
    assert version.status == "published"
    assert version.published_data == {"name": "Draft Ann", "position": "VP"}


def test_write_without_status_keeps_a_published_item_published(api, write_token, member):
    url = f"/v2/content/team_members/{member}/"
    send(api, "patch", write_token, url, {"fields": {"position": "CEO"}})
    run_pending_jobs()
    version = versions(member)[""]
    assert version.status == "published" and version.is_published
    assert version.published_data == {"name": "Ann", "position": "CEO"}
    event = OutboxEvent.objects.filter(data__item_id=member).latest("pk")
    assert (event.name, event.data["status"]) == ("collectionitem.published", "published")


def test_status_only_draft_unpublishes_every_locale(api, globex_token, person):
    send(api, "patch", globex_token, f"/v2/content/people/{person}/", {"status": "draft"})
    run_pending_jobs()
    got = versions(person)
    assert {v.locale: (v.status, v.is_published) for v in got.values()} == {
        "en": ("draft", False),
        "es": ("draft", False),
    }
    assert not ItemFieldIndex.objects.filter(item_id=person, published=True).exists()
    names = OutboxEvent.objects.filter(data__item_id=person).order_by("-pk")[:2]
    assert {(e.data["locale"], e.name) for e in names} == {
        ("en", "collectionitem.unpublished"),
        ("es", "collectionitem.unpublished"),
    }


def test_draft_on_one_locale_leaves_the_others_live(api, globex_token, person):
    body = {"status": "draft", "fields": {"es": {"bio": "borrador"}}}
    send(api, "patch", globex_token, f"/v2/content/people/{person}/", body)
    run_pending_jobs()
    got = versions(person)
    assert (got["es"].status, got["es"].is_published) == ("draft", False)
    assert (got["en"].status, got["en"].is_published) == ("published", True)


def test_dashboard_save_without_publishing_keeps_the_live_values(write_token, member):
    """``keep_live`` (the dashboard's own action, not the API's): draft over published."""
    from ghee.content.schema.cache import schema_cache
    from ghee.content.write.accept import accept_job

    collection = Item.objects.get(pk=member).collection
    accept_job(
        token=None,
        editor="Jane Doe",
        schema=schema_cache.get(collection.organization_id, collection.key),
        kind="update",
        payload={"status": "draft", "keep_live": True, "fields": {"": {"name": "Next Ann"}}},
        item_id=member,
    )
    run_pending_jobs()
    version = versions(member)[""]
    assert version.data["name"] == "Next Ann"
    assert version.published_data["name"] == "Ann" and version.is_published
    event = OutboxEvent.objects.filter(data__item_id=member).latest("pk")
    assert (event.name, event.data["editor"]) == ("collectionitem.draft", "Jane Doe")


def test_draft_item_is_published_by_put_with_status(api, write_token, team_members):
    item = create_one(api, write_token, "team_members", {"name": "D"}, status="draft")
    assert versions(item)[""].published_data is None
    send(
        api,
        "put",
        write_token,
        f"/v2/content/team_members/{item}/",
        {"status": "published", "fields": {"name": "P"}},
    )
    run_pending_jobs()
    version = versions(item)[""]
    assert version.is_published and version.published_data == {"name": "P", "position": None}


# --- Locales -----------------------------------------------------------------------------------


@pytest.fixture
def globex_token(org_locales):
    return create_token(org_locales, "write")[1]


@pytest.fixture
def person(api, globex_token, org_locales):
    make_collection(
        org_locales,
        "people",
        [
            {"key": "name", "type": "short_text", "required": True},
            {"key": "bio", "type": "long_text"},
            {"key": "age", "type": "number", "translatable": False},
        ],
    )
    return create_one(
        api,
        globex_token,
        "people",
        {"en": {"name": "John", "bio": "hi", "age": 40}, "es": {"name": "Juan", "bio": "hola"}},
    )


def test_partial_locale_patch_leaves_other_locales_alone(api, globex_token, person):
    send(
        api,
        "patch",
        globex_token,
        f"/v2/content/people/{person}/",
        {"fields": {"es": {"bio": "nueva"}}},
    )
    run_pending_jobs()
    got = versions(person)
    assert got["es"].data == {"name": "Juan", "bio": "nueva", "age": 40}
    assert got["en"].data == {"name": "John", "bio": "hi", "age": 40}


def test_patch_can_add_a_locale_version(api, globex_token, org_locales):
    make_collection(org_locales, "notes", [{"key": "text", "type": "short_text"}])
    item = create_one(api, globex_token, "notes", {"en": {"text": "hello"}})
    send(
        api,
        "patch",
        globex_token,
        f"/v2/content/notes/{item}/",
        {"status": "published", "fields": {"es": {"text": "hola"}}},
    )
    run_pending_jobs()
    got = versions(item)
    assert set(got) == {"en", "es"}
    assert got["es"].published_data == {"text": "hola"}


def test_non_translatable_change_reaches_every_locale(api, globex_token, person):
    send(
        api, "patch", globex_token, f"/v2/content/people/{person}/", {"fields": {"en": {"age": 41}}}
    )
    run_pending_jobs()
    got = versions(person)
    assert got["en"].data["age"] == 41 and got["es"].data["age"] == 41
    assert got["es"].published_data["age"] == 41  # published write: live everywhere
    numbers = ItemFieldIndex.objects.filter(item_id=person, field_key="age")
    assert set(numbers.values_list("locale", "published", "number_value")) == {
        ("en", False, 41.0),
        ("en", True, 41.0),
        ("es", False, 41.0),
        ("es", True, 41.0),
    }


def test_flat_patch_in_a_localised_org_applies_to_the_default_locale(api, globex_token, person):
    send(api, "patch", globex_token, f"/v2/content/people/{person}/", {"fields": {"bio": "x"}})
    run_pending_jobs()
    assert versions(person)["en"].data["bio"] == "x"
    assert versions(person)["es"].data["bio"] == "hola"


def test_unknown_locale_in_patch_is_400(api, globex_token, person):
    response = send(
        api,
        "patch",
        globex_token,
        f"/v2/content/people/{person}/",
        {"fields": {"de": {"bio": "x"}}},
    )
    assert response.status_code == 400
    assert response.json() == {"fields": {"de": ['Unknown locale "de". Known: en, es.']}}


# --- DELETE ------------------------------------------------------------------------------------


def test_delete_is_204_hides_the_item_at_once_and_the_job_cleans_up(
    api, write_token, read_token, member
):
    url = f"/v2/content/team_members/{member}/"
    assert api.get(url, {"auth_token": read_token}).status_code == 200
    response = api.delete(url, **auth(write_token))
    assert response.status_code == 204
    assert response.content == b""
    job = Job.objects.get(pk=int(response["Location"].split("/")[-2]))
    assert job.kind == "delete"
    # Gone from reads before any worker ran.
    assert Item.objects.get(pk=member).deleted_at is not None
    gone = api.get(url, {"auth_token": read_token})
    assert gone.status_code == 404
    assert gone.json() == {"detail": "Not found."}
    listing = api.get("/v2/content/team_members/", {"auth_token": read_token}).json()
    assert listing["data"]["team_members"] == []
    second = api.delete(url, **auth(write_token))
    assert second.status_code == 404
    assert second.json() == {"detail": "Not found."}
    run_pending_jobs()
    job.refresh_from_db()
    assert job.status == "succeeded"
    assert versions(member)[""].is_deleted
    assert versions(member)[""].data == {"name": "Ann", "position": "CTO"}  # data kept
    assert not ItemFieldIndex.objects.filter(item_id=member).exists()
    # Changes to a deleted item are 404 too.
    assert send(api, "patch", write_token, url, {"fields": {}}).status_code == 404


def test_a_locale_added_by_a_patch_accepted_before_a_delete_stays_hidden(api, globex_token, person):
    url = f"/v2/content/people/{person}/"
    ItemLocale.objects.filter(item_id=person, locale="es").delete()  # only "en" exists
    patch = {"status": "published", "fields": {"es": {"name": "J"}}}
    assert send(api, "patch", globex_token, url, patch).status_code == 202
    assert api.delete(url, **auth(globex_token)).status_code == 204
    lease = claim_jobs(limit=1)  # the PATCH alone, before the delete job
    process_batch(lease)
    assert versions(person)["es"].is_deleted
    read = create_token(versions(person)["en"].item.organization, "read")[1]
    assert api.get(url, {"auth_token": read, "locale": "es"}).status_code == 404
    run_pending_jobs()
    assert set(versions(person)) == {"en", "es"}
    assert all(version.is_deleted for version in versions(person).values())
    assert not ItemFieldIndex.objects.filter(item_id=person).exists()


def test_jobs_on_one_item_apply_in_order(api, write_token, member):
    url = f"/v2/content/team_members/{member}/"
    for n in range(5):
        send(api, "patch", write_token, url, {"fields": {"position": f"p{n}"}})
    api.delete(url, **auth(write_token))
    run_pending_jobs()
    assert list(Job.objects.order_by("id").values_list("status", flat=True)) == ["succeeded"] * 7
    version = versions(member)[""]
    assert version.data["position"] == "p4" and version.is_deleted
    assert not ItemFieldIndex.objects.filter(item_id=member).exists()


# --- 404s --------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
@pytest.mark.parametrize(
    "path",
    [
        "/v2/content/team_members/999999/",
        "/v2/content/nope/{id}/",
        "/v2/content/team_members/abc/",
        "/v2/content/team_members/-1/",
        "/v2/content/team_members/1.5/",
        "/v2/content/team_members/99999999999999999999999/",
    ],
)
def test_unknown_collection_or_item_is_404(api, write_token, member, method, path):
    response = send(api, method, write_token, path.format(id=member), {"fields": {"name": "x"}})
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    assert Job.objects.filter(item__isnull=False).count() == 0


def test_item_of_another_collection_is_404(api, write_token, org, member):
    make_collection(org, "other", [{"key": "name", "type": "short_text"}])
    response = send(api, "patch", write_token, f"/v2/content/other/{member}/", {"fields": {}})
    assert response.status_code == 404
