"""The lean POST /v2/content/ path answers exactly as the DRF view does, and the API skips
the dashboard's session/CSRF middleware while the dashboard keeps it."""

import json

import pytest
from django.db import OperationalError
from django.http import HttpResponse

from ghee.content.models import Job
from ghee.content.write import accept as services
from ghee.core.middleware import (
    WebAuthenticationMiddleware,
    WebMessageMiddleware,
    WebSessionMiddleware,
)

pytestmark = pytest.mark.django_db

BODY = {"key": "team_members", "status": "published", "fields": [{"name": "Ada"}]}


def _post(client, token, body=BODY, **headers):
    return client.post(
        "/v2/content/",
        data=json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Token {token}", **headers},
    )


def _header_names(response):
    return sorted(name.lower() for name in response.headers)


def test_plain_and_drf_path_give_the_same_202(client, team_members, write_token):
    plain = _post(client, write_token)
    # An Idempotency-Key sends the request through the DRF view.
    keyed = _post(client, write_token, **{"Idempotency-Key": "k1"})
    for response in (plain, keyed):
        assert response.status_code == 202
        assert response.content == b'{"status":"pending"}'
        assert response["Content-Type"] == "application/json"
        assert response["Allow"] == "GET, POST, HEAD, OPTIONS"
        job_id = int(response["Location"].split("/")[-2])
        assert Job.objects.filter(pk=job_id, status="pending").exists()
    assert _header_names(plain) == _header_names(keyed)
    assert plain["Location"] != keyed["Location"]


@pytest.mark.parametrize("accept", ["*/*", "application/json", None])
def test_plain_accept_headers_are_served(client, team_members, write_token, accept):
    headers = {"Accept": accept} if accept else {}
    response = _post(client, write_token, **headers)
    assert response.status_code == 202
    assert response.content == b'{"status":"pending"}'


def test_other_accept_headers_keep_drf_negotiation(client, team_members, write_token):
    assert _post(client, write_token, Accept="text/html").status_code == 406
    assert Job.objects.count() == 0
    indented = _post(client, write_token, Accept="application/json; indent=2")
    assert indented.status_code == 202
    assert indented.json() == {"status": "pending"}


def test_declined_requests_get_the_drf_errors(client, team_members, write_token, read_token):
    missing = client.post("/v2/content/", data=json.dumps(BODY), content_type="application/json")
    assert missing.status_code == 401
    assert missing.json() == {"detail": "Authentication credentials were not provided."}
    assert missing["WWW-Authenticate"] == "Token"
    assert _post(client, read_token).status_code == 401
    assert _post(client, "x" * 40).json() == {"detail": "Invalid token."}
    invalid = _post(client, write_token, body={**BODY, "fields": [{"name": 5}]})
    assert invalid.status_code == 400
    assert Job.objects.count() == 0


def test_a_failed_insert_is_the_same_500_on_both_paths(
    client, team_members, write_token, monkeypatch
):
    def broken(**kwargs):
        raise OperationalError("disk I/O error")

    monkeypatch.setattr(services, "accept_job", broken)
    plain = _post(client, write_token)
    keyed = _post(client, write_token, **{"Idempotency-Key": "k2"})
    for response in (plain, keyed):
        assert response.status_code == 500
        assert response.content == b'{"detail":"Internal server error."}'
        assert response["Allow"] == "GET, POST, HEAD, OPTIONS"
    assert _header_names(plain) == _header_names(keyed)
    assert Job.objects.count() == 0


@pytest.mark.parametrize(
    ("middleware", "attribute"),
    [
        (WebSessionMiddleware, "session"),
        (WebAuthenticationMiddleware, "user"),
        (WebMessageMiddleware, "_messages"),
    ],
)
def test_browser_middleware_skips_only_the_api(rf, middleware, attribute):
    handler = middleware(lambda request: HttpResponse())
    api_request, admin_request = rf.post("/v2/content/"), rf.get("/admin/")
    admin_request.session = {}  # what SessionMiddleware would have set
    handler(api_request)
    handler(admin_request)
    assert not hasattr(api_request, attribute)
    assert hasattr(admin_request, attribute)


def test_dashboard_keeps_csrf_protection(admin_client):
    # A logged-in session without a CSRF token is refused on the dashboard.
    admin_client.handler.enforce_csrf_checks = True
    response = admin_client.post("/admin/logout/")
    assert response.status_code == 403
