"""R1 ``GET /v2/content/?keys=...`` and R3 ``GET /v2/content/{key}/{id}/``."""

import pytest

from ghee.accounts.services import create_organization, create_token
from tests.conftest import make_collection
from tests.read_factories import delete_item, put_item


def by_keys(api, token, keys=None, **params):
    if keys is not None:
        params["keys"] = keys
    return api.get("/v2/content/", {"auth_token": token, **params})


@pytest.fixture
def faqs(org):
    return make_collection(
        org,
        "faqs",
        [{"key": "question", "type": "short_text"}, {"key": "answer", "type": "long_text"}],
    )


# --- R1 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("keys", [None, ""])
def test_no_keys_is_an_empty_object(api, read_token, team_members, keys):
    response = by_keys(api, read_token, keys)
    assert response.status_code == 200
    assert response.json() == {}


def test_one_key_reads_like_the_collection_endpoint(api, read_token, team_members):
    ids = [put_item(team_members, {"name": f"m{n}"}).id for n in range(12)]
    response = by_keys(api, read_token, "team_members", page=2, page_size=5)
    assert response.json()["meta"] == {"count": 12, "next_page": 3, "previous_page": 1}
    assert [i["meta"]["id"] for i in response.json()["data"]["team_members"]] == ids[5:10]
    response = by_keys(api, read_token, "team_members", **{"fields.name": "m3"})
    assert response.json() == {
        "meta": {"count": 1, "next_page": None, "previous_page": None},
        "data": {"team_members": [{"meta": {"id": ids[3]}, "name": "m3", "position": ""}]},
    }


def test_two_keys_give_every_item_and_no_meta(api, read_token, team_members, faqs):
    members = [put_item(team_members, {"name": f"m{n}"}).id for n in range(12)]
    faq = put_item(faqs, {"question": "Why?", "answer": "Because."})
    response = by_keys(api, read_token, "team_members,faqs")
    body = response.json()
    assert list(body) == ["data"]
    assert list(body["data"]) == ["team_members", "faqs"]
    assert [i["meta"]["id"] for i in body["data"]["team_members"]] == members
    assert body["data"]["faqs"] == [
        {"meta": {"id": faq.id}, "question": "Why?", "answer": "Because."}
    ]
    # Request order is kept.
    assert list(by_keys(api, read_token, "faqs,team_members").json()["data"]) == [
        "faqs",
        "team_members",
    ]


@pytest.mark.parametrize("keys", ["nope", "team_members,nope", "nope[_id=1]"])
def test_unknown_key_is_404_content_key_not_found(api, read_token, team_members, keys):
    response = by_keys(api, read_token, keys)
    assert response.status_code == 404
    assert response.json() == {"detail": "Content key nope not found"}


def test_bracket_id_filter(api, read_token, team_members, faqs):
    first = put_item(team_members, {"name": "Ada"})
    second = put_item(team_members, {"name": "Bob"})
    faq = put_item(faqs, {"question": "Q"})
    response = by_keys(api, read_token, f"team_members[_id={second.id}]")
    assert response.json() == {
        "meta": {"count": 1, "next_page": None, "previous_page": None},
        "data": {"team_members": [{"meta": {"id": second.id}, "name": "Bob", "position": ""}]},
    }
    # An id from another collection matches nothing here.
    response = by_keys(api, read_token, f"team_members[_id={faq.id}]")
    assert response.json()["data"] == {"team_members": []}
    response = by_keys(api, read_token, f"team_members[_id={first.id}],faqs[_id={faq.id}]")
    data = response.json()["data"]
    assert [i["meta"]["id"] for i in data["team_members"]] == [first.id]
    assert [i["meta"]["id"] for i in data["faqs"]] == [faq.id]


def test_bracket_field_filter(api, read_token, team_members):
    put_item(team_members, {"name": "Ada", "position": "CEO"})
    bob = put_item(team_members, {"name": "Bob", "position": "CTO, founder"})
    response = by_keys(api, read_token, "team_members[position=CTO, founder]")
    assert [i["meta"]["id"] for i in response.json()["data"]["team_members"]] == [bob.id]


@pytest.mark.parametrize(
    ("keys", "status", "detail"),
    [
        (
            "team_members[nope=1]",
            403,
            "Invalid collection filter team_members[nope]: "
            "collection team_members has no field nope",
        ),
        (
            "team_members[_id=x]",
            400,
            "Invalid filter value for team_members[_id]: expected an item id",
        ),
    ],
)
def test_bad_bracket_filter(api, read_token, team_members, keys, status, detail):
    response = by_keys(api, read_token, keys)
    assert response.status_code == status
    assert response.json() == {"detail": detail}


@pytest.mark.parametrize("flag", [{"test": 1}, {"preview": 1}])
def test_test_and_preview_show_drafts(api, read_token, team_members, flag):
    live = put_item(team_members, {"name": "Live"})
    draft = put_item(team_members, None, draft={"name": "Draft"})
    response = by_keys(api, read_token, "team_members")
    assert [i["meta"]["id"] for i in response.json()["data"]["team_members"]] == [live.id]
    response = by_keys(api, read_token, "team_members", **flag)
    assert [i["meta"]["id"] for i in response.json()["data"]["team_members"]] == [live.id, draft.id]
    assert response["Cache-Control"] == "private, no-store"


def test_comma_path_reads_several_keys(api, read_token, team_members, faqs):
    member = put_item(team_members, {"name": "Ada"})
    response = api.get("/v2/content/team_members,faqs/", {"auth_token": read_token})
    assert response.json() == {
        "data": {
            "team_members": [{"meta": {"id": member.id}, "name": "Ada", "position": ""}],
            "faqs": [],
        }
    }
    response = api.get("/v2/content/team_members,nope/", {"auth_token": read_token})
    assert response.status_code == 404
    assert response.json() == {"detail": "Content key nope not found"}


def test_keys_never_reach_another_organization(api, team_members):
    put_item(team_members, {"name": "Acme's"})
    other = create_organization("initech", "Initech")
    token = create_token(other, "read")[1]
    response = by_keys(api, token, "team_members")
    assert response.status_code == 404
    assert response.json() == {"detail": "Content key team_members not found"}


def test_keys_locale_and_levels_errors(api, read_token, team_members, org_locales):
    # An organization without locales ignores ``locale`` (issue 7); one with locales checks it.
    assert by_keys(api, read_token, "team_members", locale="xx").status_code == 200
    make_collection(org_locales, "posts", [{"key": "title", "type": "short_text"}])
    reader = create_token(org_locales, "read")[1]
    response = by_keys(api, reader, "posts", locale="xx")
    assert response.status_code == 400
    assert response.json() == {"detail": "Invalid locale parameter"}
    response = by_keys(api, read_token, "team_members", levels=9)
    assert response.status_code == 400


# --- R3 -------------------------------------------------------------------------------------


def item_url(key, item_id):
    return f"/v2/content/{key}/{item_id}/"


def test_one_item(api, read_token, team_members):
    item = put_item(team_members, {"name": "Ada", "position": "CEO"})
    response = api.get(item_url("team_members", item.id), {"auth_token": read_token})
    assert response.status_code == 200
    assert response.json() == {"data": {"meta": {"id": item.id}, "name": "Ada", "position": "CEO"}}
    assert response["ETag"]


def test_one_item_draft_and_preview(api, read_token, team_members):
    draft = put_item(team_members, None, draft={"name": "Draft"})
    changed = put_item(team_members, {"name": "Before"}, draft={"name": "After"})
    url = item_url("team_members", draft.id)
    response = api.get(url, {"auth_token": read_token})
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    response = api.get(url, {"auth_token": read_token, "preview": 1})
    assert response.json()["data"]["name"] == "Draft"
    url = item_url("team_members", changed.id)
    assert api.get(url, {"auth_token": read_token}).json()["data"]["name"] == "Before"
    assert api.get(url, {"auth_token": read_token, "preview": 1}).json()["data"]["name"] == "After"


@pytest.mark.parametrize("case", ["deleted", "missing", "not-a-number", "other-collection", "zero"])
def test_one_item_not_found(api, read_token, team_members, faqs, case):
    item = put_item(team_members, {"name": "Ada"})
    faq = put_item(faqs, {"question": "Q"})
    if case == "deleted":
        delete_item(item)
    item_id = {
        "deleted": item.id,
        "missing": faq.id + 1000,
        "not-a-number": "abc",
        "other-collection": faq.id,
        "zero": 0,
    }[case]
    for params in ({}, {"preview": 1}):
        response = api.get(item_url("team_members", item_id), {"auth_token": read_token, **params})
        assert response.status_code == 404
        assert response.json() == {"detail": "Not found."}


def test_one_item_unknown_collection_and_other_organization(api, read_token, team_members):
    item = put_item(team_members, {"name": "Ada"})
    response = api.get(item_url("nope", item.id), {"auth_token": read_token})
    assert response.status_code == 404
    other = create_organization("initech", "Initech")
    make_collection(other, "team_members", [{"key": "name", "type": "short_text"}])
    token = create_token(other, "read")[1]
    response = api.get(item_url("team_members", item.id), {"auth_token": token})
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_one_item_locale(api, org_locales):
    collection = make_collection(org_locales, "articles", [{"key": "title", "type": "short_text"}])
    token = create_token(org_locales, "read")[1]
    item = put_item(collection, {"title": "Hello"}, locale="en")
    put_item(collection, {"title": "Hola"}, locale="es", item=item)
    english_only = put_item(collection, {"title": "Only"}, locale="en")
    url = item_url("articles", item.id)
    assert api.get(url, {"auth_token": token}).json()["data"]["title"] == "Hello"
    assert api.get(url, {"auth_token": token, "locale": "es"}).json()["data"]["title"] == "Hola"
    response = api.get(item_url("articles", english_only.id), {"auth_token": token, "locale": "es"})
    assert response.status_code == 404
    response = api.get(url, {"auth_token": token, "locale": "de"})
    assert response.status_code == 400
    assert response.json() == {"detail": "Invalid locale parameter"}


@pytest.mark.parametrize(
    ("path", "params", "detail"),
    [
        ("/v2/content/nope/", {}, "Not found."),  # R2
        ("/v2/content/nope/1/", {}, "Not found."),  # R3
        ("/v2/content/", {"keys": "nope"}, "Content key nope not found"),  # R1
        ("/v2/content/", {"keys": "team_members,nope"}, "Content key nope not found"),
        ("/v2/content/team_members,nope/", {}, "Content key nope not found"),  # read as R1
        ("/v2/content/nope[_id=1]/", {}, "Content key nope not found"),
    ],
)
def test_an_unknown_collection_gets_buttercms_404_for_its_route(
    api, read_token, team_members, path, params, detail
):
    response = api.get(path, {"auth_token": read_token, **params})
    assert response.status_code == 404
    assert response.json() == {"detail": detail}
