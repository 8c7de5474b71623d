"""ButterCMS's token rules (issue #2 item 4), through HTTP.

The authentication and permission classes are the foundation's (``accounts/authentication``).
Assertions on what a *successful* request returns (200 bodies, 202, 404 for another
organization's data) also depend on the Read API (``content/api/read_views.py``), the Write
API (``content/api/write_views.py``) and the job views; they are marked ``# Read API`` /
``# Write API`` / ``# Job API`` where they do.
"""

import hashlib
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from ghee.accounts.models import ApiToken
from ghee.accounts.services import create_organization, create_token, revoke_token
from ghee.content.models import Item
from ghee.content.write.jobs import run_pending_jobs

from .conftest import make_collection

NOT_PROVIDED = {"detail": "Authentication credentials were not provided."}
INVALID = {"detail": "Invalid token."}
LIST = "/v2/content/team_members/"


def create_body(name="Ada"):
    return {"key": "team_members", "status": "published", "fields": [{"name": name}]}


def assert_401(response, body):
    assert response.status_code == 401, response.content
    assert response.json() == body
    assert response["WWW-Authenticate"] == "Token"


# --- Reads ---------------------------------------------------------------------------------


def test_read_token_in_query_string_reads(api, team_members, read_token):
    response = api.get(LIST, {"auth_token": read_token})
    assert response.status_code == 200  # Read API
    assert response.json()["data"] == {"team_members": []}


def test_read_token_in_header_reads(api, team_members, read_token):
    response = api.get(LIST, HTTP_AUTHORIZATION=f"Token {read_token}")
    assert response.status_code == 200  # Read API


def test_write_token_may_read(api, team_members, write_token):
    response = api.get(LIST, HTTP_AUTHORIZATION=f"Token {write_token}")
    assert response.status_code == 200  # Read API


def test_missing_token_on_read_is_401_not_provided(api, team_members):
    assert_401(api.get(LIST), NOT_PROVIDED)


@pytest.mark.parametrize("where", ["query", "header"])
def test_unknown_token_is_401_invalid(api, team_members, read_token, where):
    unknown = (
        read_token[:-4] + "0000" if not read_token.endswith("0000") else read_token[:-4] + "1111"
    )
    if where == "query":
        response = api.get(LIST, {"auth_token": unknown})
    else:
        response = api.get(LIST, HTTP_AUTHORIZATION=f"Token {unknown}")
    assert_401(response, INVALID)


def test_malformed_authorization_header_is_401(api, team_members):
    response = api.get(LIST, HTTP_AUTHORIZATION="Token")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token header. No credentials provided."}
    response = api.get(LIST, HTTP_AUTHORIZATION="Token a b")
    assert response.status_code == 401


def test_revoked_token_is_401_invalid(api, team_members, org, settings):
    settings.GHEE_TOKEN_CACHE_SECONDS = 0
    token, clear = create_token(org, "read", "soon revoked")
    assert api.get(LIST, {"auth_token": clear}).status_code == 200  # Read API
    call_command("token", "revoke", token.prefix, stdout=StringIO())
    assert_401(api.get(LIST, {"auth_token": clear}), INVALID)
    assert_401(api.get(LIST, HTTP_AUTHORIZATION=f"Token {clear}"), INVALID)


def test_revocation_reaches_a_cached_token_within_the_cache_time(api, team_members, org, settings):
    settings.GHEE_TOKEN_CACHE_SECONDS = 3600
    token, clear = create_token(org, "write", "cached")
    assert api.get(LIST, HTTP_AUTHORIZATION=f"Token {clear}").status_code == 200  # Read API
    revoke_token(token)
    # Still cached in this process: the documented window, GHEE_TOKEN_CACHE_SECONDS...
    assert api.get(LIST, HTTP_AUTHORIZATION=f"Token {clear}").status_code == 200
    settings.GHEE_TOKEN_CACHE_SECONDS = 0
    # ...after which the row is read again and the token refused.
    assert_401(api.get(LIST, HTTP_AUTHORIZATION=f"Token {clear}"), INVALID)


def test_use_sets_last_used_at(api, team_members, org):
    token, clear = create_token(org, "read")
    assert token.last_used_at is None
    api.get(LIST, {"auth_token": clear})
    token.refresh_from_db()
    assert token.last_used_at is not None


# --- Writes --------------------------------------------------------------------------------


def test_write_token_in_header_writes(api, team_members, write_token):
    response = api.post(
        "/v2/content/", create_body(), format="json", HTTP_AUTHORIZATION=f"Token {write_token}"
    )
    assert response.status_code == 202  # Write API
    assert response.json() == {"status": "pending"}


def test_write_token_in_query_string_is_not_credentials_for_a_write(api, team_members, write_token):
    response = api.post(f"/v2/content/?auth_token={write_token}", create_body(), format="json")
    assert_401(response, NOT_PROVIDED)


def test_read_token_on_a_write_is_401_not_provided(api, team_members, read_token, org):
    item = Item.objects.create(collection=team_members, organization=org)
    header = {"HTTP_AUTHORIZATION": f"Token {read_token}"}
    assert_401(api.post("/v2/content/", create_body(), format="json", **header), NOT_PROVIDED)
    url = f"{LIST}{item.pk}/"
    assert_401(api.put(url, {"fields": {"name": "x"}}, format="json", **header), NOT_PROVIDED)
    assert_401(api.patch(url, {"fields": {"name": "x"}}, format="json", **header), NOT_PROVIDED)
    assert_401(api.delete(url, **header), NOT_PROVIDED)


def test_missing_token_on_a_write_is_401_not_provided(api, team_members):
    assert_401(api.post("/v2/content/", create_body(), format="json"), NOT_PROVIDED)


def test_unknown_token_on_a_write_is_401_invalid(api, team_members):
    response = api.post(
        "/v2/content/", create_body(), format="json", HTTP_AUTHORIZATION="Token " + "ab" * 26
    )
    assert_401(response, INVALID)


# --- Organizations are walled off -------------------------------------------------------------


@pytest.fixture
def rival(db):
    """Another organization with its own team_members collection and one published item."""
    other = create_organization("rival", "Rival")
    make_collection(
        other,
        "team_members",
        [{"key": "name", "type": "short_text", "required": True}],
        label="name",
    )
    make_collection(other, "secrets", [{"key": "name", "type": "short_text"}])
    _, write = create_token(other, "write")
    return other, write


def _publish_rival_item(api, write, collection="team_members", name="Rival Secret"):
    body = {"key": collection, "status": "published", "fields": [{"name": name}]}
    response = api.post("/v2/content/", body, format="json", HTTP_AUTHORIZATION=f"Token {write}")
    assert response.status_code == 202  # Write API
    assert run_pending_jobs() == 1  # Write API (jobs)
    return Item.objects.filter(collection__key=collection, organization__slug="rival").get()


def test_a_token_never_sees_another_organizations_items(api, team_members, read_token, rival):
    _, rival_write = rival
    rival_item = _publish_rival_item(api, rival_write)
    secret = _publish_rival_item(api, rival_write, "secrets", "Vault code")

    # Both organizations have a collection called team_members: each sees only its own.
    rival_read = create_token(rival[0], "read")[1]
    theirs = api.get(LIST, {"auth_token": rival_read})
    assert [i["name"] for i in theirs.json()["data"]["team_members"]] == ["Rival Secret"]
    ours = api.get(LIST, {"auth_token": read_token})
    assert ours.status_code == 200  # Read API
    assert ours.json()["data"] == {"team_members": []}

    # A collection only the other organization has is simply not there.
    for url in ("/v2/content/secrets/", f"/v2/content/secrets/{secret.pk}/"):
        response = api.get(url, {"auth_token": read_token})
        assert response.status_code == 404, url  # Read API
        assert b"Vault code" not in response.content
    response = api.get("/v2/content/", {"keys": "secrets", "auth_token": read_token})
    assert response.status_code == 404  # Read API
    # Nor is the other organization's item through our collection of the same name.
    response = api.get(f"{LIST}{rival_item.pk}/", {"auth_token": read_token})
    assert response.status_code == 404  # Read API
    assert b"Rival Secret" not in response.content


def test_a_write_token_cannot_touch_another_organizations_items(
    api, team_members, write_token, rival
):
    _, rival_write = rival
    rival_item = _publish_rival_item(api, rival_write)
    header = {"HTTP_AUTHORIZATION": f"Token {write_token}"}
    url = f"{LIST}{rival_item.pk}/"

    assert api.patch(url, {"fields": {"name": "x"}}, format="json", **header).status_code == 404
    assert api.put(url, {"fields": {"name": "x"}}, format="json", **header).status_code == 404
    assert api.delete(url, **header).status_code == 404  # Write API
    body = {"key": "secrets", "fields": [{"name": "planted"}]}
    response = api.post("/v2/content/", body, format="json", **header)
    assert response.status_code in (400, 404)  # Write API: the key is not found for us
    run_pending_jobs()
    rival_item.refresh_from_db()
    assert rival_item.deleted_at is None
    assert rival_item.locales.get().published_data == {"name": "Rival Secret"}
    assert not Item.objects.filter(collection__key="secrets", locales__data__name="planted")


def test_a_write_token_cannot_see_another_organizations_jobs(api, team_members, write_token, rival):
    _, rival_write = rival
    api.post(
        "/v2/content/",
        create_body("theirs"),
        format="json",
        HTTP_AUTHORIZATION=f"Token {rival_write}",
    )
    job = rival[0].jobs.get()
    response = api.get(f"/v2/jobs/{job.pk}/", HTTP_AUTHORIZATION=f"Token {write_token}")
    assert response.status_code == 404  # Job API
    listing = api.get("/v2/jobs/", HTTP_AUTHORIZATION=f"Token {write_token}")
    assert listing.status_code == 200  # Job API
    assert listing.json()["meta"]["count"] == 0  # Job API
    assert listing.json()["data"] == []


# --- Storage ---------------------------------------------------------------------------------


def test_only_a_hash_of_the_token_is_stored(org):
    token, clear = create_token(org, "write", "stored")
    row = ApiToken.objects.get(pk=token.pk)
    assert row.digest == hashlib.sha256(clear.encode()).hexdigest()
    assert row.prefix == clear[: ApiToken.PREFIX_LENGTH]
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_apitoken")
        stored = [str(value) for row in cursor.fetchall() for value in row]
    assert not any(clear in value for value in stored)


# --- Conflicting credentials (issue 8) -------------------------------------------------------


def test_two_different_query_tokens_are_401_not_the_last_one(api, team_members, org, read_token):
    other = create_token(org, "read")[1]
    response = api.get(f"{LIST}?auth_token={read_token}&auth_token={other}")
    assert_401(response, INVALID)


def test_a_header_token_and_a_different_query_token_are_401(api, team_members, org, read_token):
    other = create_token(org, "read")[1]
    response = api.get(LIST, {"auth_token": other}, HTTP_AUTHORIZATION=f"Token {read_token}")
    assert_401(response, INVALID)


def test_the_same_token_twice_reads(api, team_members, read_token):
    query = f"{LIST}?auth_token={read_token}&auth_token={read_token}"
    assert api.get(query, HTTP_AUTHORIZATION=f"Token {read_token}").status_code == 200
