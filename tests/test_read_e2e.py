"""End to end: write through the Write API, run the jobs, read back through HTTP. The Write
API maintains ItemLocale and ItemFieldIndex; these tests check the Read API agrees with it."""

import pytest

from ghee.accounts.services import create_token
from ghee.content.models import Job
from ghee.content.write.jobs import run_pending_jobs
from tests.conftest import make_collection


def auth(token):
    return {"HTTP_AUTHORIZATION": f"Token {token}"}


def create(api, token, key, elements, status="published"):
    response = api.post(
        "/v2/content/",
        {"key": key, "status": status, "fields": elements},
        format="json",
        **auth(token),
    )
    assert response.status_code == 202, response.content
    job_id = int(response["Location"].rstrip("/").rsplit("/", 1)[1])
    run_pending_jobs()
    job = Job.objects.get(pk=job_id)
    assert job.status == "succeeded", job.errors
    return job.result["item_ids"]


def change(api, token, method, key, item_id, body=None):
    response = getattr(api, method)(
        f"/v2/content/{key}/{item_id}/", body, format="json", **auth(token)
    )
    assert response.status_code in (202, 204), response.content
    run_pending_jobs()


def read(api, token, path, **params):
    response = api.get(path, {"auth_token": token, **params})
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def events(org):
    make_collection(
        org,
        "venues",
        [{"key": "name", "type": "short_text"}],
    )
    return make_collection(
        org,
        "events",
        [
            {"key": "title", "type": "short_text"},
            {"key": "starts", "type": "date"},
            {"key": "seats", "type": "number"},
            {"key": "open", "type": "checkbox"},
            {"key": "tint", "type": "color"},
            {"key": "venue", "type": "reference", "reference_to": "venues"},
            {"key": "also_at", "type": "reference", "reference_to": "venues", "many": True},
        ],
    )


def test_values_written_are_read_in_buttercms_formats(api, write_token, read_token, events):
    [hall, park] = create(api, write_token, "venues", [{"name": "Hall"}, {"name": "Park"}])
    [event] = create(
        api,
        write_token,
        "events",
        [
            {
                "title": "Launch",
                "starts": "2024-03-15",
                "seats": "120",
                "open": True,
                "tint": "#AABBCC",
                "venue": hall,
                "also_at": [park, hall],
            }
        ],
    )
    body = read(api, read_token, "/v2/content/events/")
    assert body["data"]["events"] == [
        {
            "meta": {"id": event},
            "title": "Launch",
            "starts": "2024-03-15T00:00:00",
            "seats": 120,
            "open": True,
            "tint": "#aabbcc",
            "venue": {"meta": {"id": hall}, "name": "Hall"},
            "also_at": [
                {"meta": {"id": park}, "name": "Park"},
                {"meta": {"id": hall}, "name": "Hall"},
            ],
        }
    ]
    for params in (
        {"fields.starts": "2024-03-15"},
        {"fields.seats": "120"},
        {"fields.open": "true"},
        {"fields.tint": "#aabbcc"},
        {"fields.venue": str(hall)},
        {"fields.also_at": str(park)},
    ):
        found = read(api, read_token, "/v2/content/events/", **params)["data"]["events"]
        assert [e["meta"]["id"] for e in found] == [event], params
    assert read(api, read_token, "/v2/content/events/", **{"fields.open": "false"})["data"] == {
        "events": []
    }


def test_draft_publish_and_delete_through_the_write_api(api, write_token, read_token, team_members):
    [ann, bob] = create(api, write_token, "team_members", [{"name": "Ann"}, {"name": "Bob"}])
    [draft] = create(api, write_token, "team_members", [{"name": "Cy"}], status="draft")
    listing = "/v2/content/team_members/"

    def names(**params):
        return [i["name"] for i in read(api, read_token, listing, **params)["data"]["team_members"]]

    assert names() == ["Ann", "Bob"]
    assert names(preview=1) == ["Ann", "Bob", "Cy"]
    # A draft write on a published item takes it down (ButterCMS: "not publicly available").
    change(
        api,
        write_token,
        "patch",
        "team_members",
        ann,
        {"status": "draft", "fields": {"name": "Anne"}},
    )
    assert names() == ["Bob"]
    assert names(preview=1) == ["Anne", "Bob", "Cy"]
    assert names(**{"fields.name": "Ann"}) == []
    assert names(preview=1, **{"fields.name": "Anne"}) == ["Anne"]
    response = api.get(f"{listing}{ann}/", {"auth_token": read_token})
    assert response.status_code == 404
    change(api, write_token, "patch", "team_members", ann, {"status": "published"})
    assert names() == ["Anne", "Bob"]
    assert names(order="-name") == ["Bob", "Anne"]
    change(api, write_token, "patch", "team_members", draft, {"status": "published"})
    assert names() == ["Anne", "Bob", "Cy"]
    change(api, write_token, "delete", "team_members", bob)
    assert names() == ["Anne", "Cy"]
    assert names(preview=1) == ["Anne", "Cy"]
    response = api.get(f"{listing}{bob}/", {"auth_token": read_token})
    assert response.status_code == 404
    one = read(api, read_token, f"{listing}{ann}/")
    assert one == {"data": {"meta": {"id": ann}, "name": "Anne", "position": ""}}


def test_deleted_reference_disappears(api, write_token, read_token, events):
    [hall, park] = create(api, write_token, "venues", [{"name": "Hall"}, {"name": "Park"}])
    [event] = create(
        api, write_token, "events", [{"title": "Gig", "venue": hall, "also_at": [hall, park]}]
    )
    change(api, write_token, "delete", "venues", hall)
    [rendered] = read(api, read_token, "/v2/content/events/")["data"]["events"]
    assert rendered["venue"] is None
    assert [v["meta"]["id"] for v in rendered["also_at"]] == [park]
    [rendered] = read(api, read_token, "/v2/content/events/", levels=1)["data"]["events"]
    assert rendered["also_at"] == [f"/v2/content/?keys=venues[_id={park}]"]
    assert rendered["meta"]["id"] == event


def test_localized_write_then_read(api, org_locales):
    make_collection(
        org_locales,
        "pages",
        [
            {"key": "title", "type": "short_text"},
            {"key": "order", "type": "number", "translatable": False},
        ],
    )
    writer = create_token(org_locales, "write")[1]
    reader = create_token(org_locales, "read")[1]
    [both, english] = create(
        api,
        writer,
        "pages",
        [
            {"en": {"title": "Home", "order": 1}, "es": {"title": "Inicio", "order": 1}},
            {"en": {"title": "About", "order": 2}},
        ],
    )

    def titles(**params):
        return [
            p["title"] for p in read(api, reader, "/v2/content/pages/", **params)["data"]["pages"]
        ]

    assert titles() == ["Home", "About"]
    assert titles(locale="en") == ["Home", "About"]
    assert titles(locale="es") == ["Inicio"]
    assert titles(locale="es", **{"fields.order": "1"}) == ["Inicio"]
    assert read(api, reader, f"/v2/content/pages/{both}/", locale="es")["data"]["title"] == "Inicio"
    response = api.get(f"/v2/content/pages/{english}/", {"auth_token": reader, "locale": "es"})
    assert response.status_code == 404
