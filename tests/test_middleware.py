"""The API skips the dashboard's session/CSRF middleware (docs/benchmarks.md) while the
dashboard keeps it."""

import pytest
from django.http import HttpResponse

from ghee.core.middleware import (
    WebAuthenticationMiddleware,
    WebMessageMiddleware,
    WebSessionMiddleware,
)

pytestmark = pytest.mark.django_db


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


def test_health_probe_skips_the_dashboard_middleware(client, db):
    """Load balancers probe /healthz often: no session, CSRF, lockout or CSP work there."""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "Content-Security-Policy" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")
    assert client.get("/admin/login/").headers["Content-Security-Policy"]
