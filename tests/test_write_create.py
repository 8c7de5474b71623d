"""POST /v2/content/: acceptance, shapes, locales, statuses, bulk, and what the job writes."""

import pytest

from ghee.content.models import IdempotencyKey, Item, ItemFieldIndex, ItemLocale, Job
from ghee.content.write.jobs import run_pending_jobs
from tests.conftest import make_collection


def post(api, token, body, **headers):
    return api.post(
        "/v2/content/", body, format="json", HTTP_AUTHORIZATION=f"Token {token}", **headers
    )


def job_of(response) -> Job:
    return Job.objects.get(pk=int(response["Location"].rstrip("/").rsplit("/", 1)[1]))


def test_create_answers_202_pending_with_location_and_stores_a_pending_job(
    api, write_token, team_members
):
    response = post(
        api,
        write_token,
        {"key": "team_members", "status": "published", "fields": [{"name": "Ann"}]},
    )
    assert response.status_code == 202
    assert response.json() == {"status": "pending"}
    job = job_of(response)
    assert response["Location"] == f"/v2/jobs/{job.pk}/"
    assert job.status == "pending"
    assert job.kind == "create"
    assert job.payload == {
        "status": "published",
        "fields": [{"": {"name": "Ann", "position": None}}],
    }
    assert not Item.objects.exists()  # the worker writes items, not the request


def test_job_creates_published_item_with_index_rows(api, write_token, team_members):
    response = post(
        api,
        write_token,
        {
            "key": "team_members",
            "status": "published",
            "fields": [{"name": "Ann", "position": "CTO"}],
        },
    )
    assert run_pending_jobs() == 1
    job = job_of(response)
    job.refresh_from_db()
    assert job.status == "succeeded"
    assert job.attempts == 1
    (item_id,) = job.result["item_ids"]
    version = ItemLocale.objects.get(item_id=item_id)
    assert version.locale == ""
    assert version.data == {"name": "Ann", "position": "CTO"}
    assert version.published_data == version.data
    assert version.is_published and version.published_at is not None
    rows = set(
        ItemFieldIndex.objects.filter(item_id=item_id).values_list(
            "published", "field_key", "text_value"
        )
    )
    assert rows == {
        (False, "name", "Ann"),
        (False, "position", "CTO"),
        (True, "name", "Ann"),
        (True, "position", "CTO"),
    }


def test_draft_is_the_default_status_and_sets_no_published_data(api, write_token, team_members):
    post(api, write_token, {"key": "team_members", "fields": [{"name": "Ann"}]})
    run_pending_jobs()
    version = ItemLocale.objects.get()
    assert version.status == "draft"
    assert version.data == {"name": "Ann", "position": None}
    assert version.published_data is None and not version.is_published
    assert not ItemFieldIndex.objects.filter(published=True).exists()
    assert ItemFieldIndex.objects.filter(published=False, field_key="name").count() == 1


def test_bulk_create_makes_one_item_per_element_with_ascending_global_ids(
    api, write_token, team_members
):
    names = [f"Person {n}" for n in range(100)]
    response = post(
        api,
        write_token,
        {"key": "team_members", "status": "published", "fields": [{"name": n} for n in names]},
    )
    assert response.status_code == 202
    run_pending_jobs()
    job = job_of(response)
    job.refresh_from_db()
    ids = job.result["item_ids"]
    assert len(ids) == 100 and ids == sorted(ids)
    by_id = dict(ItemLocale.objects.values_list("item_id", "data__name"))
    assert [by_id[i] for i in ids] == names


def test_bulk_create_of_101_elements_is_400_and_writes_nothing(api, write_token, team_members):
    response = post(api, write_token, {"key": "team_members", "fields": [{"name": "x"}] * 101})
    assert response.status_code == 400
    assert response.json() == {"fields": ["Ensure this field has no more than 100 elements."]}
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"fields": [{"name": "x"}]}, {"key": ["This field is required."]}),
        ({"key": 5, "fields": [{"name": "x"}]}, {"key": ["Not a valid string."]}),
        (
            {"key": "nope", "fields": [{"name": "x"}]},
            {"key": ['Collection "nope" not found.']},
        ),
        ({"key": "team_members"}, {"fields": ["This field is required."]}),
        ({"key": "team_members", "fields": []}, {"fields": ["This list may not be empty."]}),
        (
            {"key": "team_members", "fields": {"name": "x"}},
            {"fields": ['Expected a list of items but got type "object".']},
        ),
        (
            {"key": "team_members", "fields": ["x"]},
            {"fields": {"0": ['Expected an object of field values but got type "string".']}},
        ),
        (
            {"key": "team_members", "status": "live", "fields": [{"name": "x"}]},
            {"status": ['"live" is not a valid choice.']},
        ),
        (
            {"key": "team_members", "fields": [{"name": "x"}, {"position": "y"}]},
            {"fields": {"1": {"name": ["This field is required."]}}},
        ),
        (
            {"key": "team_members", "fields": [{"name": "x", "nmae": "y"}]},
            {"fields": {"0": {"nmae": ["Unknown field."]}}},
        ),
        (
            {"key": "team_members", "fields": [{"name": None}]},
            {"fields": {"0": {"name": ["This field may not be null."]}}},
        ),
        (
            {"key": "team_members", "fields": [{"name": ""}]},
            {"fields": {"0": {"name": ["This field may not be blank."]}}},
        ),
        (
            {"key": "team_members", "fields": [{"name": "x" * 121}]},
            {"fields": {"0": {"name": ["Ensure this field has no more than 120 characters."]}}},
        ),
        ([1, 2], {"non_field_errors": ["Invalid data. Expected a dictionary, but got array."]}),
    ],
)
def test_invalid_create_bodies_are_400_saying_where(api, write_token, team_members, body, expected):
    response = post(api, write_token, body)
    assert response.status_code == 400
    assert response.json() == expected
    assert not Job.objects.exists()


def test_collection_of_another_organization_is_not_found(api, write_token, org_locales):
    make_collection(org_locales, "secret", [{"key": "name", "type": "short_text"}])
    response = post(api, write_token, {"key": "secret", "fields": [{"name": "x"}]})
    assert response.status_code == 400
    assert response.json() == {"key": ['Collection "secret" not found.']}


# --- Locales ------------------------------------------------------------------------------


@pytest.fixture
def people(org_locales):
    return make_collection(
        org_locales,
        "people",
        [
            {"key": "name", "type": "short_text", "required": True},
            {"key": "bio", "type": "long_text"},
            {"key": "age", "type": "number", "translatable": False},
        ],
    )


@pytest.fixture
def globex_token(org_locales):
    from ghee.accounts.services import create_token

    return create_token(org_locales, "write")[1]


def test_nested_locales_create_one_item_with_a_version_per_locale(api, globex_token, people):
    response = post(
        api,
        globex_token,
        {
            "key": "people",
            "status": "published",
            "fields": [{"en": {"name": "John", "age": 40}, "es": {"name": "Juan"}}],
        },
    )
    assert response.status_code == 202
    run_pending_jobs()
    (item,) = Item.objects.all()
    versions = {v.locale: v for v in ItemLocale.objects.filter(item=item)}
    assert set(versions) == {"en", "es"}
    assert versions["en"].data == {"name": "John", "bio": None, "age": 40}
    # Not translatable: one value for the item, copied to every locale version.
    assert versions["es"].data == {"name": "Juan", "bio": None, "age": 40}


def test_flat_element_in_a_localised_org_goes_to_the_default_locale(api, globex_token, people):
    post(api, globex_token, {"key": "people", "fields": [{"name": "Ann"}]})
    run_pending_jobs()
    assert list(ItemLocale.objects.values_list("locale", flat=True)) == ["en"]


def test_unknown_locale_is_400(api, globex_token, people):
    response = post(
        api, globex_token, {"key": "people", "fields": [{"en": {"name": "a"}, "fr": {"name": "b"}}]}
    )
    assert response.status_code == 400
    assert response.json() == {"fields": {"0": {"fr": ['Unknown locale "fr". Known: en, es.']}}}


def test_errors_name_item_locale_and_field(api, globex_token, people):
    response = post(
        api,
        globex_token,
        {
            "key": "people",
            "fields": [
                {"en": {"name": "ok"}},
                {"en": {"name": "ok"}, "es": {"bio": 5}},
            ],
        },
    )
    assert response.status_code == 400
    assert response.json() == {
        "fields": {
            "1": {"es": {"bio": ["Not a valid string."], "name": ["This field is required."]}}
        }
    }


def test_conflicting_values_of_a_non_translatable_field_are_400(api, globex_token, people):
    response = post(
        api,
        globex_token,
        {
            "key": "people",
            "fields": [{"en": {"name": "a", "age": 1}, "es": {"name": "b", "age": 2}}],
        },
    )
    assert response.status_code == 400
    assert response.json() == {
        "fields": {
            "0": {
                "es": {"age": ["This field is not translatable: give one value for every locale."]}
            }
        }
    }


def test_idempotency_record_is_written_with_the_job(api, write_token, team_members):
    response = post(
        api,
        write_token,
        {"key": "team_members", "fields": [{"name": "x"}]},
        HTTP_IDEMPOTENCY_KEY="abc",
    )
    assert response.status_code == 202
    record = IdempotencyKey.objects.get()
    assert record.job_id == job_of(response).pk
    assert record.status_code == 202
