"""CORS as ButterCMS does it (issue 7 item 2; ghee/core/cors.py), through HTTP.

Reads answer any origin, errors included; a preflight needs no token; writes and /v2/jobs/
answer only the origins GHEE_CORS_WRITE_ORIGINS lists. The same rules in a real browser:
tests/browser/test_cors_browser.py.
"""

import json
import os
import subprocess
import sys

import pytest
from django.test import override_settings

from tests.read_factories import put_item

pytestmark = pytest.mark.django_db

PAGE = "http://127.0.0.1:9001"
EDITOR = "http://editor.example"
ACAO = "Access-Control-Allow-Origin"
BODY = {"key": "team_members", "status": "published", "fields": [{"name": "Ann"}]}


def auth(token):
    return {"HTTP_AUTHORIZATION": f"Token {token}"}


def preflight(api, path, method, origin=PAGE, headers="authorization,x-butter-client"):
    return api.options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS=headers,
    )


def methods(response):
    return {m.strip() for m in response["Access-Control-Allow-Methods"].split(",")}


def assert_no_cors(response):
    assert not any(h.lower().startswith("access-control-") for h in response.headers)


@pytest.fixture
def item(team_members):
    return put_item(team_members, {"name": "Ada"})


# --- Reads: any origin ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v2/content/", {"keys": "team_members"}),
        ("/v2/content/team_members/", {}),
        ("/v2/content/team_members/{id}/", {}),
    ],
    ids=["R1", "R2", "R3"],
)
def test_reads_allow_any_origin(api, read_token, item, path, params):
    path = path.format(id=item.id)
    for extra in ({}, {"HTTP_ORIGIN": PAGE}):
        response = api.get(path, {"auth_token": read_token, **params}, **extra)
        assert response.status_code == 200
        assert response[ACAO] == "*"
    etag = response["ETag"]
    again = api.get(path, {"auth_token": read_token, **params}, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again[ACAO] == "*"


def test_read_errors_are_readable_by_a_browser(api, read_token, team_members):
    for path, params, status in [
        ("/v2/content/team_members/", {}, 401),
        ("/v2/content/team_members/", {"auth_token": "x" * 40}, 401),
        ("/v2/content/nope/", {"auth_token": read_token}, 404),
        ("/v2/content/team_members/", {"auth_token": read_token, "levels": 9}, 400),
    ]:
        response = api.get(path, params, HTTP_ORIGIN=PAGE)
        assert response.status_code == status
        assert response[ACAO] == "*"
        assert "detail" in response.json()


def test_the_trailing_slash_redirect_of_a_read_allows_any_origin(api, read_token):
    response = api.get("/v2/content/team_members", {"auth_token": read_token})
    assert response.status_code == 301
    assert response[ACAO] == "*"


def test_a_read_preflight_needs_no_token(api, team_members):
    for path in ("/v2/content/", "/v2/content/team_members/", "/v2/content/team_members/1/"):
        response = preflight(api, path, "GET")
        assert response.status_code == 204, path
        assert response.content == b""
        assert response[ACAO] == "*"
        assert methods(response) == {"GET", "HEAD", "OPTIONS"}
        allowed = {h.strip().lower() for h in response["Access-Control-Allow-Headers"].split(",")}
        assert {"authorization", "content-type", "x-butter-client", "idempotency-key"} <= allowed
        assert int(response["Access-Control-Max-Age"]) > 0
        assert not response.has_header("Access-Control-Allow-Credentials")


# --- Writes and jobs: no CORS unless the origin is listed -------------------------------------


def test_writes_and_jobs_send_no_cors_headers(api, write_token, item):
    url = f"/v2/content/team_members/{item.id}/"
    responses = [
        api.post("/v2/content/", BODY, format="json", HTTP_ORIGIN=PAGE, **auth(write_token)),
        api.patch(
            url, {"fields": {"name": "B"}}, format="json", HTTP_ORIGIN=PAGE, **auth(write_token)
        ),
        api.get("/v2/jobs/", HTTP_ORIGIN=PAGE, **auth(write_token)),
        api.post("/v2/content/", BODY, format="json", HTTP_ORIGIN=PAGE),  # a 401
        api.delete(url, HTTP_ORIGIN=PAGE, **auth(write_token)),
    ]
    assert [r.status_code for r in responses] == [202, 202, 200, 401, 204]
    for response in responses:
        assert_no_cors(response)
        assert "Origin" not in response.get("Vary", "")


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/v2/content/", "POST"),
        ("/v2/content/team_members/1/", "PUT"),
        ("/v2/content/team_members/1/", "PATCH"),
        ("/v2/content/team_members/1/", "DELETE"),
        ("/v2/jobs/", "GET"),
        ("/v2/jobs/1/", "GET"),
    ],
)
def test_a_write_preflight_fails_so_the_browser_never_sends_it(api, team_members, path, method):
    response = preflight(api, path, method, headers="authorization,content-type")
    assert response.status_code == 204
    assert_no_cors(response)


def test_a_preflight_for_a_method_the_url_does_not_serve_fails(api, team_members):
    assert_no_cors(preflight(api, "/v2/content/team_members/", "DELETE"))


def test_a_plain_options_is_no_preflight(api, team_members):
    response = api.options("/v2/content/team_members/", HTTP_ORIGIN=PAGE)
    assert response.status_code == 204
    assert response["Allow"] == "GET, HEAD, OPTIONS"
    assert_no_cors(response)


@override_settings(GHEE_CORS_WRITE_ORIGINS=[EDITOR])
def test_listed_origins_may_write_and_see_jobs(api, write_token, item):
    created = api.post("/v2/content/", BODY, format="json", HTTP_ORIGIN=EDITOR, **auth(write_token))
    assert created.status_code == 202
    assert created[ACAO] == EDITOR
    assert "Origin" in created["Vary"]
    assert "Location" in created["Access-Control-Expose-Headers"]
    jobs = api.get(created["Location"], HTTP_ORIGIN=EDITOR, **auth(write_token))
    assert jobs.status_code == 200
    assert jobs[ACAO] == EDITOR

    response = preflight(api, "/v2/content/team_members/1/", "PATCH", origin=EDITOR)
    assert response[ACAO] == EDITOR
    assert methods(response) == {"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"}
    assert "Origin" in response["Vary"]
    assert preflight(api, "/v2/jobs/", "GET", origin=EDITOR)[ACAO] == EDITOR
    # Reads stay open to everyone.
    read = api.get("/v2/content/team_members/", HTTP_ORIGIN=EDITOR, **auth(write_token))
    assert read[ACAO] == "*"


@override_settings(GHEE_CORS_WRITE_ORIGINS=[EDITOR])
def test_other_origins_still_may_not_write(api, write_token, team_members):
    response = api.post("/v2/content/", BODY, format="json", HTTP_ORIGIN=PAGE, **auth(write_token))
    assert response.status_code == 202
    assert not response.has_header(ACAO)
    assert "Origin" in response["Vary"]  # a cache must not hand this answer to EDITOR
    assert_no_cors(preflight(api, "/v2/content/", "POST"))
    assert_no_cors(preflight(api, "/v2/jobs/", "GET"))
    assert preflight(api, "/v2/content/", "GET")[ACAO] == "*"


def _write_origins(tmp_path, value):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GHEE_")}
    env |= {"DJANGO_SETTINGS_MODULE": "ghee.settings", "GHEE_DATA_DIR": str(tmp_path)}
    if value is not None:
        env["GHEE_CORS_WRITE_ORIGINS"] = value
    probe = "import json; from django.conf import settings as s; "
    probe += "print(json.dumps(s.GHEE_CORS_WRITE_ORIGINS))"
    return subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, []),
        ("https://a.example", ["https://a.example"]),
        (
            " https://a.example/ , http://127.0.0.1:3000",
            ["https://a.example", "http://127.0.0.1:3000"],
        ),
    ],
)
def test_write_origins_come_from_the_environment(tmp_path, value, expected):
    result = _write_origins(tmp_path, value)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == expected


@pytest.mark.parametrize("value", ["", "https://a.example,", "a.example"])
def test_write_origins_that_are_empty_or_malformed_stop_ghee(tmp_path, value):
    # Unset means none; an empty value, an empty entry or an origin without a scheme is a
    # mistake, named in one line (ghee.core.env's rule for every variable).
    result = _write_origins(tmp_path, value)
    assert result.returncode != 0
    assert f"GHEE_CORS_WRITE_ORIGINS={value!r}" in result.stderr


# --- Retry-After: readable by the page that is asked to wait ---------------------------------


def test_a_cancelled_read_exposes_retry_after(api, read_token, item, monkeypatch):
    from ghee.content.read import queries
    from ghee.content.read.timeouts import ReadTimedOut

    def timed_out(sql, params):
        raise ReadTimedOut(200)

    monkeypatch.setattr(queries, "_rows", timed_out)
    response = api.get("/v2/content/team_members/", {"auth_token": read_token}, HTTP_ORIGIN=PAGE)
    assert response.status_code == 503
    assert response[ACAO] == "*"
    assert response["Retry-After"] == "1"
    assert response["Access-Control-Expose-Headers"] == "Retry-After"
    # A read that was answered has nothing to wait for.
    monkeypatch.undo()
    response = api.get("/v2/content/team_members/", {"auth_token": read_token}, HTTP_ORIGIN=PAGE)
    assert response.status_code == 200
    assert "Access-Control-Expose-Headers" not in response


@override_settings(GHEE_CORS_WRITE_ORIGINS=[EDITOR])
def test_a_busy_database_exposes_retry_after_to_listed_origins(
    api, write_token, team_members, monkeypatch
):
    from ghee.content.write import accept
    from ghee.core.db_health import DatabaseBusy

    def busy(**kwargs):
        raise DatabaseBusy()

    monkeypatch.setattr(accept, "_accept", busy)
    response = api.post(
        "/v2/content/", BODY, format="json", HTTP_ORIGIN=EDITOR, **auth(write_token)
    )
    assert response.status_code == 503
    assert response[ACAO] == EDITOR
    assert response["Retry-After"]
    exposed = {h.strip() for h in response["Access-Control-Expose-Headers"].split(",")}
    assert exposed == {"Location", "Retry-After"}
