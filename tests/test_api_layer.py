"""The /v2/ endpoint layer (ghee/core/api.py), through HTTP: one request path per URL, the
method rules, one error renderer (bodies and headers), the 202 of the hot path, and the
read-parameter compatibility fixes of issue 7 (``test=1`` on R2, ``locale`` without
locales)."""

import io
import json
import logging

import pytest
from django.db import OperationalError
from rest_framework import exceptions

from ghee.accounts.authentication import authenticate
from ghee.accounts.services import create_token
from ghee.content.models import Job
from ghee.content.read import queries
from ghee.content.write import accept as services
from ghee.core import request_body
from ghee.core.api import Access, Endpoint
from ghee.core.errors import PayloadTooLarge, guard_wsgi, json_server_error, response_for_exception
from ghee.core.request_body import read_body
from tests.conftest import make_collection
from tests.read_factories import put_item

pytestmark = pytest.mark.django_db

BODY = {"key": "team_members", "status": "published", "fields": [{"name": "Ada"}]}
SERVER_ERROR = b'{"detail":"Internal server error."}'
NOT_PROVIDED = {"detail": "Authentication credentials were not provided."}


def auth(token):
    return {"HTTP_AUTHORIZATION": f"Token {token}"}


def post(client, token, body=BODY, **extra):
    return client.generic(
        "POST",
        "/v2/content/",
        json.dumps(body),
        content_type="application/json",
        **extra,
        **auth(token),
    )


def assert_private_error(response, status, body):
    assert response.status_code == status, response.content
    assert response.json() == body
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "private, no-store"
    assert "Authorization" in response["Vary"]


# --- The 202 of POST /v2/content/ -------------------------------------------------------------


@pytest.mark.parametrize("extra", [{}, {"HTTP_IDEMPOTENCY_KEY": "k1"}], ids=["plain", "keyed"])
def test_a_create_answers_202_pending_with_the_job_location(
    client, team_members, write_token, extra
):
    response = post(client, write_token, **extra)
    assert response.status_code == 202
    assert response.content == b'{"status":"pending"}'
    assert response["Content-Type"] == "application/json"
    assert response["Allow"] == "GET, POST, HEAD, OPTIONS"
    assert response["Cache-Control"] == "private, no-store"
    job_id = int(response["Location"].removeprefix("/v2/jobs/").removesuffix("/"))
    assert Job.objects.get(pk=job_id).status == "pending"


@pytest.mark.parametrize("accept", ["text/html", "application/json; indent=2", "*/*"])
def test_the_accept_header_does_not_change_the_answer(client, team_members, write_token, accept):
    # JSON is the only representation; no content negotiation (and no 406).
    response = post(client, write_token, HTTP_ACCEPT=accept)
    assert response.status_code == 202
    assert response.content == b'{"status":"pending"}'


def test_a_delete_is_204_without_a_body_or_content_type(api, team_members, write_token):
    item = put_item(team_members, {"name": "Ada"})
    response = api.delete(f"/v2/content/team_members/{item.pk}/", **auth(write_token))
    assert response.status_code == 204
    assert response.content == b""
    assert not response.has_header("Content-Type")
    assert response["Location"].startswith("/v2/jobs/")


# --- Unexpected errors: logged, one JSON 500 --------------------------------------------------


@pytest.mark.parametrize("extra", [{}, {"HTTP_IDEMPOTENCY_KEY": "k2"}], ids=["plain", "keyed"])
def test_a_failed_insert_is_a_logged_json_500(
    client, team_members, write_token, monkeypatch, caplog, extra
):
    def broken(**kwargs):
        raise OperationalError("disk I/O error")

    monkeypatch.setattr(services, "accept_job", broken)
    with caplog.at_level(logging.ERROR, logger="ghee.api"):
        response = post(client, write_token, **extra)
    assert response.status_code == 500
    assert response.content == SERVER_ERROR
    assert response["Cache-Control"] == "private, no-store"
    assert response["Allow"] == "GET, POST, HEAD, OPTIONS"
    assert "disk I/O error" in caplog.text
    assert Job.objects.count() == 0


def test_a_crashing_read_is_the_same_500_and_a_browser_may_read_it(
    api, team_members, read_token, monkeypatch
):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(queries, "list_items", broken)
    response = api.get("/v2/content/team_members/", {"auth_token": read_token})
    assert response.status_code == 500
    assert response.content == SERVER_ERROR
    assert response["Access-Control-Allow-Origin"] == "*"


def test_the_500_outside_a_view_has_the_same_bytes(rf):
    assert json_server_error(rf.get("/v2/content/")).content == SERVER_ERROR


# --- 401s carry the same headers everywhere ---------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/v2/content/team_members/"),
        ("get", "/v2/content/"),
        ("get", "/v2/content/team_members/1/"),
        ("post", "/v2/content/"),
        ("patch", "/v2/content/team_members/1/"),
        ("delete", "/v2/content/team_members/1/"),
        ("get", "/v2/jobs/"),
        ("get", "/v2/jobs/1/"),
    ],
)
def test_every_401_says_token_and_is_not_stored(api, team_members, method, path):
    response = getattr(api, method)(path)
    assert_private_error(response, 401, NOT_PROVIDED)
    assert response["WWW-Authenticate"] == "Token"


def test_jobs_take_a_write_token_in_the_header_only(api, org, read_token, write_token):
    assert_private_error(api.get("/v2/jobs/", **auth(read_token)), 401, NOT_PROVIDED)
    assert_private_error(api.get("/v2/jobs/", {"auth_token": write_token}), 401, NOT_PROVIDED)
    response = api.get("/v2/jobs/", **auth(write_token))
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"


# --- Methods ----------------------------------------------------------------------------------


def test_a_wrong_method_is_405_before_any_token_is_asked_for(api, team_members):
    response = api.put("/v2/content/", {}, format="json")
    assert_private_error(response, 405, {"detail": 'Method "PUT" not allowed.'})
    assert response["Allow"] == "GET, POST, HEAD, OPTIONS"


def test_options_needs_no_token_and_lists_the_methods(api, team_members):
    response = api.options("/v2/content/team_members/1/")
    assert response.status_code == 204
    assert response.content == b""
    assert response["Allow"] == "GET, PUT, PATCH, DELETE, HEAD, OPTIONS"


def test_head_follows_get(api, team_members, read_token):
    put_item(team_members, {"name": "Ada"})
    get = api.get("/v2/content/team_members/", {"auth_token": read_token})
    head = api.head("/v2/content/team_members/", {"auth_token": read_token})
    assert head.status_code == 200
    assert head.content == b""
    assert head["ETag"] == get["ETag"]
    assert head["Access-Control-Allow-Origin"] == "*"
    assert api.head("/v2/content/team_members/").status_code == 401


def test_an_unknown_api_url_is_a_json_404(api, read_token):
    response = api.get("/v2/nothing/here/", {"auth_token": read_token})
    assert_private_error(response, 404, {"detail": "Not found."})


def test_an_endpoint_refuses_to_route_options_or_unknown_methods():
    for method in ("options", "trace"):
        with pytest.raises(ValueError, match=method.upper()):
            Endpoint(lambda request, access: None, reads=Access.READ, **{method: print})


# --- Read parameters the SDKs send (issue 7 item 8) -------------------------------------------


@pytest.fixture
def published_and_draft(team_members):
    published = put_item(team_members, {"name": "Published"})
    draft = put_item(team_members, draft={"name": "Draft"})
    return published, draft


def names(response):
    assert response.status_code == 200, response.content
    return sorted(item["name"] for item in response.json()["data"]["team_members"])


@pytest.mark.parametrize("path", ["/v2/content/team_members/", "/v2/content/"])
def test_test_1_shows_drafts_on_r2_as_on_r1(api, read_token, published_and_draft, path):
    params = {"auth_token": read_token}
    if path == "/v2/content/":
        params["keys"] = "team_members"
    assert names(api.get(path, params)) == ["Published"]
    with_test = api.get(path, {**params, "test": 1})
    assert names(with_test) == ["Draft", "Published"]
    assert with_test["Cache-Control"] == "private, no-store"


def test_locale_is_ignored_by_an_organization_without_locales(api, read_token, published_and_draft):
    url = "/v2/content/team_members/"
    plain = api.get(url, {"auth_token": read_token})
    for locale in ("en", "es", "anything"):
        response = api.get(url, {"auth_token": read_token, "locale": locale})
        assert names(response) == ["Published"]
        assert response.content == plain.content
    item = published_and_draft[0]
    response = api.get(f"{url}{item.pk}/", {"auth_token": read_token, "locale": "en"})
    assert response.json()["data"]["name"] == "Published"


def test_locale_is_still_checked_where_locales_exist(api, org_locales):
    token = create_token(org_locales, "read")[1]
    make_collection(org_locales, "posts", [{"key": "title", "type": "short_text"}])
    response = api.get("/v2/content/posts/", {"auth_token": token, "locale": "fr"})
    assert_private_error(response, 400, {"detail": "Invalid locale parameter"})
    assert response["Access-Control-Allow-Origin"] == "*"


# --- Bodies read whole or refused (issue 8) --------------------------------------------------


def test_a_duplicate_key_is_a_400_naming_it(api, team_members, write_token):
    raw = b'{"key": "team_members", "fields": [{"name": "Ada", "name": "Bob"}]}'
    response = api.generic("POST", "/v2/content/", raw, "application/json", **auth(write_token))
    assert response.status_code == 400
    assert response.json() == {"detail": 'JSON parse error - duplicate key "name"'}
    assert not Job.objects.exists()


def test_a_compressed_body_is_415(api, team_members, write_token):
    response = post(api, write_token, HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 415
    assert response.json() == {
        "detail": 'Unsupported Content-Encoding "gzip": send the body as is.'
    }
    assert not Job.objects.exists()
    assert post(api, write_token, HTTP_CONTENT_ENCODING="identity").status_code == 202


def test_a_write_without_a_valid_token_never_touches_its_body(rf, team_members):
    class Untouchable:
        def read(self, *args):
            raise AssertionError("the body was read before the token was checked")

    request = rf.post("/v2/content/", b"{}", content_type="application/json")
    request.META["wsgi.input"] = request._stream = Untouchable()
    response = Endpoint(authenticate, reads=Access.READ, post=lambda r: None)(request)
    assert response.status_code == 401


def body_request(rf, data: bytes, length: int | None):
    """A POST whose ``wsgi.input`` is ``data`` and whose Content-Length is ``length`` (None:
    a chunked body, which granian hands over de-chunked and without Content-Length)."""
    request = rf.post("/v2/content/", b"", content_type="application/json")
    request.META["wsgi.input"] = io.BytesIO(data)
    if length is None:
        request.META.pop("CONTENT_LENGTH", None)
        request.META["HTTP_TRANSFER_ENCODING"] = "chunked"
    else:
        request.META["CONTENT_LENGTH"] = str(length)
    return request


def test_a_body_without_content_length_is_read_to_its_end(rf, settings):
    settings.GHEE_MAX_BODY_BYTES = 100_000
    payload = json.dumps({"fields": {"name": "x" * 40_000}}).encode()
    assert read_body(body_request(rf, payload, None)) == payload


def test_a_body_without_content_length_over_the_cap_is_413(rf, settings):
    settings.GHEE_MAX_BODY_BYTES = 1000
    with pytest.raises(PayloadTooLarge):
        read_body(body_request(rf, b"x" * 1001, None))
    assert read_body(body_request(rf, b"x" * 1000, None)) == b"x" * 1000


def test_a_body_shorter_than_its_content_length_is_400(rf):
    with pytest.raises(exceptions.ParseError):
        read_body(body_request(rf, b'{"a": 1}', 100))


def test_a_body_still_arriving_after_the_deadline_is_408(rf, settings, monkeypatch):
    settings.GHEE_BODY_READ_TIMEOUT = 5
    clock = iter([0.0, 1.0, 6.0, 7.0])
    monkeypatch.setattr(request_body.time, "monotonic", lambda: next(clock))
    request = body_request(rf, b"x" * (3 * request_body.READ_PIECE), 3 * request_body.READ_PIECE)
    with pytest.raises(request_body.RequestTimeout):
        read_body(request)
    response = response_for_exception(request_body.RequestTimeout())
    assert (response.status_code, response["Connection"]) == (408, "close")


def test_a_crash_outside_django_is_the_same_500_bytes():
    def crashing(environ, start_response):
        raise RuntimeError("a request signal failed")

    started = []
    body = guard_wsgi(crashing)({}, lambda status, headers, exc_info=None: started.append(status))
    assert started == ["500 Internal Server Error"]
    assert b"".join(body) == SERVER_ERROR
