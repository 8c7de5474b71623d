"""HTTP rules of the Write API: auth, methods, sizes, content types, bad input, idempotency."""

import json
import threading

import pytest
import requests
from django.test import override_settings

from ghee.accounts.services import revoke_token
from ghee.content.models import IdempotencyKey, Item, Job
from ghee.content.write.jobs import run_pending_jobs

BODY = {"key": "team_members", "fields": [{"name": "Ann"}]}


def auth(token):
    return {"HTTP_AUTHORIZATION": f"Token {token}"}


def post_raw(api, token, data, content_type="application/json", **extra):
    return api.generic(
        "POST", "/v2/content/", data, content_type=content_type, **auth(token), **extra
    )


# --- Authentication ------------------------------------------------------------------------


def test_no_token_is_401(api, team_members):
    response = api.post("/v2/content/", BODY, format="json")
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_read_token_on_a_write_is_401_not_provided(api, read_token, team_members):
    response = api.post("/v2/content/", BODY, format="json", **auth(read_token))
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_write_token_in_the_query_string_is_not_accepted(api, write_token, team_members):
    response = api.post(f"/v2/content/?auth_token={write_token}", BODY, format="json")
    assert response.status_code == 401


def test_revoked_token_is_401_invalid(api, org, team_members):
    from ghee.accounts.services import create_token

    token, clear = create_token(org, "write")
    revoke_token(token)
    response = api.post("/v2/content/", BODY, format="json", **auth(clear))
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}
    assert response["WWW-Authenticate"] == "Token"


# --- Methods, sizes, content types ----------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("put", "/v2/content/", "GET, POST, HEAD, OPTIONS"),
        ("delete", "/v2/content/", "GET, POST, HEAD, OPTIONS"),
        ("post", "/v2/content/team_members/", "GET, HEAD, OPTIONS"),
        ("post", "/v2/content/team_members/1/", "GET, PUT, PATCH, DELETE, HEAD, OPTIONS"),
        ("post", "/v2/jobs/", "GET, HEAD, OPTIONS"),
    ],
)
def test_wrong_method_is_405_with_allow(api, write_token, team_members, method, path, allow):
    response = getattr(api, method)(path, {}, format="json", **auth(write_token))
    assert response.status_code == 405
    assert response.json() == {"detail": f'Method "{method.upper()}" not allowed.'}
    assert {m.strip() for m in response["Allow"].split(",")} == set(allow.split(", "))


def test_post_without_trailing_slash_is_served(api, write_token, team_members):
    response = api.post("/v2/content", BODY, format="json", **auth(write_token))
    assert response.status_code == 202


@override_settings(GHEE_MAX_BODY_BYTES=1000, DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_body_over_the_limit_is_413_json(api, write_token, team_members):
    body = json.dumps({"key": "team_members", "fields": [{"name": "x" * 2000}]})
    response = post_raw(api, write_token, body)
    assert response.status_code == 413
    assert response.json() == {"detail": "Request body is too large."}
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_non_json_content_type_is_415(api, write_token, team_members, content_type):
    response = post_raw(api, write_token, json.dumps(BODY), content_type=content_type)
    assert response.status_code == 415
    assert response.json() == {"detail": f'Unsupported media type "{content_type}" in request.'}


def test_json_with_charset_is_accepted(api, write_token, team_members):
    response = post_raw(
        api, write_token, json.dumps(BODY), content_type="application/json; charset=utf-8"
    )
    assert response.status_code == 202


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b"not json",
        b'{"key": "team_members", "fields": [{"name": NaN}]}',
        b'{"key": "team_members", "fields": [{"name": Infinity}]}',
        b"\xff\xfe",
        b"[" * 100_000 + b"]" * 100_000,
        b'{"key": "team_members", "fields": [{"name": 1' + b"0" * 5000 + b"}]}",
        b'{"key": "team_members", "fields": [{"name": "a\\u0000b"}]}',
        b'{"key": "team_members", "fields": [{"name": "\\ud800"}]}',
        b'{"key": "team_members", "fields": [{"\\udfff": 1}]}',
        b'{"key": "\\u0000"}',
    ],
)
def test_malformed_json_is_400_with_detail(api, write_token, team_members, raw):
    response = post_raw(api, write_token, raw)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")


@pytest.mark.parametrize(
    "body",
    [
        None,
        "x",
        7,
        [],
        {"key": None},
        {"key": ["team_members"]},
        {"key": {"a": 1}},
        {"key": "x" * 10_000},
        {"key": "team_members", "fields": None},
        {"key": "team_members", "fields": [None, 1, "a", [], {"a": {"b": {"c": [1]}}}]},
        {"key": "team_members", "fields": [{"name": {"nested": [{"deep": True}]}}]},
        {"key": "team_members", "fields": [{"name": 1e308, "position": -1e308}]},
        {"key": "team_members", "fields": [{"name": "\ud7ff\U0001f600"}]},
        {"key": "team_members", "status": ["published"], "fields": [{"name": "a"}]},
        {"key": "team_members", "status": None, "fields": [{"name": "a"}]},
        {"key": "team_members", "fields": [{"name": "a"}], "extra": {"ignored": 1}},
        {"key": "team_members", "fields": [{"": "a", "1": 2}]},
    ],
)
def test_odd_bodies_never_cause_a_500(api, write_token, team_members, body):
    response = post_raw(api, write_token, json.dumps(body))
    assert response.status_code in (202, 400), response.content
    assert isinstance(response.json(), dict)


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {"fields": ["x"]},
            {"fields": ['Expected an object of field values but got type "array".']},
        ),
        ({"fields": {"name": {"a": 1}}}, {"fields": {"name": ["Not a valid string."]}}),
        ({"fields": {"name": [1, 2]}}, {"fields": {"name": ["Not a valid string."]}}),
        (
            {"fields": "x"},
            {"fields": ['Expected an object of field values but got type "string".']},
        ),
        ({"status": 5}, {"status": ['"5" is not a valid choice.']}),
        ([], {"non_field_errors": ["Invalid data. Expected a dictionary, but got array."]}),
    ],
)
def test_odd_change_bodies_are_400(api, write_token, team_members, body, errors):
    api.post("/v2/content/", BODY, format="json", **auth(write_token))
    run_pending_jobs()
    item = Item.objects.get()
    response = api.generic(
        "PATCH",
        f"/v2/content/team_members/{item.pk}/",
        json.dumps(body),
        content_type="application/json",
        **auth(write_token),
    )
    assert response.status_code == 400
    assert response.json() == errors


# --- Idempotency-Key -------------------------------------------------------------------------


def test_same_key_and_body_replays_the_first_response(api, write_token, team_members):
    first = api.post(
        "/v2/content/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k1", **auth(write_token)
    )
    again = api.post(
        "/v2/content/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k1", **auth(write_token)
    )
    assert first.status_code == again.status_code == 202
    assert again.json() == {"status": "pending"}
    assert again["Location"] == first["Location"]
    assert Job.objects.count() == 1
    run_pending_jobs()
    assert Item.objects.count() == 1
    # Still replayed after the job ran.
    third = api.post(
        "/v2/content/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k1", **auth(write_token)
    )
    assert third["Location"] == first["Location"]


def test_same_key_with_a_different_body_is_422(api, write_token, team_members):
    api.post("/v2/content/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k2", **auth(write_token))
    other = {"key": "team_members", "fields": [{"name": "Bob"}]}
    response = api.post(
        "/v2/content/", other, format="json", HTTP_IDEMPOTENCY_KEY="k2", **auth(write_token)
    )
    assert response.status_code == 422
    assert "Idempotency-Key" in response.json()["detail"]
    assert Job.objects.count() == 1


def test_keys_are_per_token(api, org, write_token, team_members):
    from ghee.accounts.services import create_token

    other = create_token(org, "write")[1]
    api.post("/v2/content/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k", **auth(write_token))
    api.post("/v2/content/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k", **auth(other))
    assert Job.objects.count() == 2


def test_delete_with_a_key_replays_204(api, write_token, team_members):
    api.post("/v2/content/", BODY, format="json", **auth(write_token))
    run_pending_jobs()
    url = f"/v2/content/team_members/{Item.objects.get().pk}/"
    first = api.delete(url, HTTP_IDEMPOTENCY_KEY="d", **auth(write_token))
    again = api.delete(url, HTTP_IDEMPOTENCY_KEY="d", **auth(write_token))
    assert first.status_code == again.status_code == 204
    assert again["Location"] == first["Location"]
    assert api.delete(url, **auth(write_token)).status_code == 404


def test_an_expired_key_can_be_used_again(api, write_token, team_members):
    with override_settings(GHEE_IDEMPOTENCY_TTL_SECONDS=-1):
        api.post("/v2/content/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="e", **auth(write_token))
    response = api.post(
        "/v2/content/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="e", **auth(write_token)
    )
    assert response.status_code == 202
    assert Job.objects.count() == 2
    assert IdempotencyKey.objects.count() == 1


def test_invalid_requests_do_not_use_up_the_key(api, write_token, team_members):
    bad = api.post(
        "/v2/content/",
        {"key": "team_members", "fields": []},
        format="json",
        HTTP_IDEMPOTENCY_KEY="v",
        **auth(write_token),
    )
    assert bad.status_code == 400
    assert not IdempotencyKey.objects.exists()


def test_overlong_key_is_400(api, write_token, team_members):
    response = api.post(
        "/v2/content/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k" * 256, **auth(write_token)
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "Idempotency-Key must be 1 to 255 characters."}


@pytest.mark.slow
def test_concurrent_duplicates_create_one_job(live_server, write_token, team_members):
    """20 clients send the same keyed request at once to a real server: one job."""
    url = f"{live_server.url}/v2/content/"
    headers = {"Authorization": f"Token {write_token}", "Idempotency-Key": "race"}
    barrier = threading.Barrier(20)
    results = []

    def send():
        barrier.wait()
        response = requests.post(url, json=BODY, headers=headers, timeout=30)
        results.append((response.status_code, response.headers.get("Location"), response.json()))

    threads = [threading.Thread(target=send) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Job.objects.count() == 1
    job = Job.objects.get()
    assert sorted(results) == [(202, f"/v2/jobs/{job.pk}/", {"status": "pending"})] * 20


# --- The accept path stays lean -------------------------------------------------------------


def test_accepting_a_create_is_one_insert_and_no_select_when_caches_are_warm(
    api, write_token, team_members
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    api.post("/v2/content/", BODY, format="json", **auth(write_token))  # warms the caches
    with CaptureQueriesContext(connection) as queries:
        response = api.post("/v2/content/", BODY, format="json", **auth(write_token))
    assert response.status_code == 202
    statements = [q["sql"].split()[0].upper() for q in queries.captured_queries]
    data_statements = [s for s in statements if s not in ("SAVEPOINT", "RELEASE", "ROLLBACK")]
    assert data_statements == ["INSERT"], queries.captured_queries


# --- One answer per rule ---------------------------------------------------------------------


@pytest.mark.parametrize(("method", "body"), [("POST", [1, 2]), ("PUT", []), ("PATCH", [])])
def test_a_body_that_is_not_an_object_gets_one_answer(api, write_token, team_members, method, body):
    api.post("/v2/content/", BODY, format="json", **auth(write_token))
    run_pending_jobs()
    path = (
        "/v2/content/" if method == "POST" else f"/v2/content/team_members/{Item.objects.get().pk}/"
    )
    response = api.generic(
        method, path, json.dumps(body), content_type="application/json", **auth(write_token)
    )
    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": ["Invalid data. Expected a dictionary, but got array."]
    }


@pytest.mark.parametrize("item_id", ["0", "00", "-1", "1.0", "\u0661", "9" * 19])
@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "GET"])
def test_ids_that_name_no_item_are_404_on_every_item_path(
    api, write_token, read_token, team_members, method, item_id
):
    token = read_token if method == "GET" else write_token
    response = api.generic(
        method,
        f"/v2/content/team_members/{item_id}/",
        json.dumps({"fields": {"name": "x"}}),
        content_type="application/json",
        **auth(token),
    )
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    assert not Job.objects.exists()
