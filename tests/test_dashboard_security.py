"""The dashboard's sign-in and transport protections (issue 8, "Dashboard and transport"):
sign-in lockout, a Content-Security-Policy on dashboard pages only, the GHEE_HTTPS switch,
``ghee check --deploy`` with the production settings docs/configuration.md gives, and a
private data directory."""

import os
import re
import stat
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, RequestFactory, override_settings

from ghee.dashboard.client_address import client_address
from tests.processes import ghee

PASSWORD = "correct horse battery staple"
PRODUCTION_ENV = {
    "GHEE_HTTPS": "1",
    "GHEE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "GHEE_HSTS_PRELOAD": "1",
    "GHEE_SECRET_KEY": "x" * 60 + "production-secret-key-of-enough-length",
}


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_superuser("editor", "editor@example.com", PASSWORD)


def sign_in(client: Client, username: str, password: str):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password})


@override_settings(AXES_FAILURE_LIMIT=3)
def test_wrong_passwords_lock_out_that_user_from_that_address(staff):
    client = Client()
    for _ in range(2):
        page = sign_in(client, "editor", "wrong")
        assert page.status_code == 200  # the form again, with an error
    locked = sign_in(client, "editor", "wrong")
    assert locked.status_code == 429
    # Locked out: even the right password is refused now.
    assert sign_in(client, "editor", PASSWORD).status_code == 429
    assert "_auth_user_id" not in client.session
    # Another address may still sign in as the same user.
    elsewhere = Client(REMOTE_ADDR="192.0.2.10")
    assert sign_in(elsewhere, "editor", PASSWORD).status_code == 302
    assert elsewhere.get("/admin/").status_code == 200


@override_settings(AXES_FAILURE_LIMIT=3)
def test_a_success_before_the_limit_resets_the_count(staff):
    client = Client()
    for _ in range(2):
        sign_in(client, "editor", "wrong")
    assert sign_in(client, "editor", PASSWORD).status_code == 302
    client.logout()
    for _ in range(2):
        sign_in(client, "editor", "wrong")
    assert sign_in(client, "editor", PASSWORD).status_code == 302


def test_dashboard_pages_carry_a_content_security_policy(db, api, read_token, team_members):
    page = Client().get("/admin/login/")
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "object-src 'none'" in policy
    read = api.get("/v2/content/team_members/", {"auth_token": read_token})
    assert read.status_code == 200
    assert "Content-Security-Policy" not in read.headers


def test_the_policy_lets_thumbnails_load_from_wherever_media_is_served(db, settings, tmp_path):
    # Media on another origin (GHEE_PUBLIC_URL not the address the page was opened at, a
    # CDN in GHEE_MEDIA_URL, an S3 endpoint): that origin joins img-src.
    local = "ghee.media.storage.MediaFileStorage"
    bucket = {
        "bucket_name": "media",
        "endpoint_url": "http://127.0.0.1:9000",
        "access_key": "k",
        "secret_key": "s",
        "region_name": "us-east-1",
        "addressing_style": "path",
        "querystring_auth": False,
    }
    for backend, options, origin in [
        (local, {"base_url": "http://ghee.internal:8123/media/"}, "http://ghee.internal:8123"),
        (local, {"base_url": "http://cdn.example:9000/files/"}, "http://cdn.example:9000"),
        ("ghee.media.s3.MediaS3Storage", bucket, "http://127.0.0.1:9000"),
    ]:
        if backend == local:
            options["location"] = tmp_path
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {"BACKEND": backend, "OPTIONS": options},
        }
        policy = Client().get("/admin/login/")["Content-Security-Policy"].split("; ")
        assert "img-src 'self' data: https: " + origin in policy
        assert "default-src 'self'" in policy


TEMPLATES = sorted(Path(__file__).parents[1].glob("ghee/**/templates/**/*.html"))
INLINE = re.compile(
    r"""\sstyle\s*=|\son[a-z]+\s*=|<style[\s>]|<script(?![^>]*\ssrc=)[^>]*>""", re.I
)


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: str(path).split("ghee/", 1)[1])
def test_no_template_has_inline_styles_or_scripts(template):
    """The dashboard's CSP refuses them: a style attribute, an on* handler, a <style> or a
    <script> without src would be dropped by the browser (issue 21 item 3)."""
    assert INLINE.findall(template.read_text()) == []


def test_https_switch_redirects_plain_http_but_not_health_checks(db):
    with override_settings(SECURE_SSL_REDIRECT=True, SECURE_HSTS_SECONDS=3600):
        client = Client()
        login = client.get("/admin/login/")
        assert login.status_code == 301
        assert login.headers["Location"] == "https://testserver/admin/login/"
        assert client.get("/healthz").status_code == 200
        secure = client.get("/admin/login/", secure=True)
        assert secure.status_code == 200
        assert secure.headers["Strict-Transport-Security"] == "max-age=3600"


def test_forwarded_proto_is_believed_only_when_configured(db):
    with override_settings(SECURE_SSL_REDIRECT=True):
        assert Client().get("/admin/login/", HTTP_X_FORWARDED_PROTO="https").status_code == 301
    with override_settings(
        SECURE_SSL_REDIRECT=True, SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https")
    ):
        assert Client().get("/admin/login/", HTTP_X_FORWARDED_PROTO="https").status_code == 200


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "203.0.113.9", "10.0.0.1"),  # no proxy configured: the header is not believed
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "198.51.100.7, 203.0.113.9", "203.0.113.9"),  # the client's claim is ignored
        (2, "198.51.100.7, 203.0.113.9", "198.51.100.7"),
        (2, "203.0.113.9", "10.0.0.1"),  # shorter than the proxy chain: bypassed a proxy
        (1, "", "10.0.0.1"),
    ],
)
def test_client_address_behind_proxies(settings, proxies, forwarded, expected):
    settings.GHEE_PROXY_COUNT = proxies
    request = RequestFactory().get("/admin/login/", REMOTE_ADDR="10.0.0.1")
    if forwarded:
        request.META["HTTP_X_FORWARDED_FOR"] = forwarded
    assert client_address(request) == expected


@pytest.mark.slow
def test_check_deploy_is_clean_with_the_documented_production_settings(tmp_path):
    plain = ghee(tmp_path, "check", "--deploy")
    for warning in ("security.W004", "security.W008", "security.W010"):
        assert warning in plain.stdout + plain.stderr
    production = ghee(tmp_path, "check", "--deploy", **PRODUCTION_ENV)
    assert production.returncode == 0, production.stderr
    assert "System check identified no issues" in production.stdout + production.stderr


@pytest.mark.slow
def test_data_directory_and_database_are_private_to_ghee(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    os.chmod(data_dir, 0o755)  # as a umask of 022 would leave it
    result = ghee(data_dir, "migrate", "--noinput", "-v", "0")
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    database = data_dir / "ghee.sqlite3"
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    for companion in data_dir.glob("ghee.sqlite3-*"):
        assert stat.S_IMODE(companion.stat().st_mode) == 0o600, companion
    assert stat.S_IMODE((data_dir / "secret_key").stat().st_mode) == 0o600
