"""Settings come from the environment (issue #2 item 2): each variable, read by a fresh
process exactly as ``ghee`` would read it."""

import json
import os
import stat
import subprocess
import sys

import pytest
from django.db import connection

PROBE = """
import json
from django.conf import settings
db = settings.DATABASES["default"]
print(json.dumps({
    "engine": db["ENGINE"], "name": str(db["NAME"]), "user": db.get("USER"),
    "password": db.get("PASSWORD"), "host": db.get("HOST"), "port": db.get("PORT"),
    "conn_max_age": db.get("CONN_MAX_AGE"), "options": db.get("OPTIONS", {}),
    "test_name": db.get("TEST", {}).get("NAME"),
    "secret_key": settings.SECRET_KEY, "debug": settings.DEBUG,
    "public_url": settings.PUBLIC_URL, "csrf": settings.CSRF_TRUSTED_ORIGINS,
    "data_dir": str(settings.DATA_DIR), "media_root": str(settings.MEDIA_ROOT),
    "static_root": str(settings.STATIC_ROOT),
    "token_cache": settings.GHEE_TOKEN_CACHE_SECONDS,
    "max_body": settings.GHEE_MAX_BODY_BYTES,
    "upload_max": settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
}, default=str))
"""


def probe(tmp_path, **env) -> dict:
    """The settings a new process gets with only ``env`` (and a data dir) set."""
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith("GHEE_") and k != "DATABASE_URL"
    }
    clean |= {"DJANGO_SETTINGS_MODULE": "ghee.settings", "GHEE_DATA_DIR": str(tmp_path)}
    clean |= env
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


def test_database_url_switches_to_postgresql(tmp_path):
    values = probe(tmp_path, DATABASE_URL="postgres://u:p@127.0.0.1:5432/db")
    assert values["engine"] == "django.db.backends.postgresql"
    assert (values["name"], values["user"], values["password"]) == ("db", "u", "p")
    assert (values["host"], str(values["port"])) == ("127.0.0.1", "5432")
    assert values["conn_max_age"] == 600
    # None of the SQLite connection options leak into PostgreSQL's.
    assert "init_command" not in values["options"]
    assert values["test_name"] is None


def test_postgresql_scheme_spelled_out_works_too(tmp_path):
    values = probe(tmp_path, DATABASE_URL="postgresql://ghee@localhost:55432/ghee")
    assert values["engine"] == "django.db.backends.postgresql"
    assert (values["name"], values["host"], str(values["port"])) == ("ghee", "localhost", "55432")


def test_default_is_sqlite_in_the_data_dir_with_wal_and_busy_timeout(tmp_path):
    values = probe(tmp_path)
    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["name"] == str(tmp_path / "ghee.sqlite3")
    assert values["test_name"] == str(tmp_path / "test.sqlite3")
    assert values["options"]["timeout"] == 5  # GHEE_SQLITE_WRITE_TIMEOUT; workers wait 30
    assert values["options"]["transaction_mode"] == "IMMEDIATE"
    assert "PRAGMA journal_mode=WAL;" in values["options"]["init_command"]
    assert "PRAGMA synchronous=NORMAL;" in values["options"]["init_command"]
    assert values["media_root"] == str(tmp_path / "media")
    assert values["static_root"] == str(tmp_path / "static")


def test_sqlite_synchronous_can_be_made_full(tmp_path):
    values = probe(tmp_path, GHEE_SQLITE_SYNCHRONOUS="FULL")
    assert "PRAGMA synchronous=FULL;" in values["options"]["init_command"]


def test_secret_key_is_generated_once_and_kept_in_the_data_dir(tmp_path):
    first = probe(tmp_path)["secret_key"]
    key_file = tmp_path / "secret_key"
    assert key_file.read_text() == first
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first) >= 50
    assert probe(tmp_path)["secret_key"] == first
    assert probe(tmp_path / "elsewhere")["secret_key"] != first


def test_secret_key_from_the_environment_wins_and_writes_nothing(tmp_path):
    assert probe(tmp_path, GHEE_SECRET_KEY="s3cret" * 10)["secret_key"] == "s3cret" * 10
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize(
    ("value", "expected"), [(None, False), ("0", False), ("1", True), ("true", True)]
)
def test_debug_is_off_unless_asked_for(tmp_path, value, expected):
    env = {} if value is None else {"GHEE_DEBUG": value}
    assert probe(tmp_path, **env)["debug"] is expected


def test_public_url_default_and_trailing_slash(tmp_path):
    assert probe(tmp_path)["public_url"] == "http://127.0.0.1:8000"
    values = probe(tmp_path, GHEE_PUBLIC_URL="https://cms.example.org/")
    assert values["public_url"] == "https://cms.example.org"
    assert values["csrf"] == ["https://cms.example.org"]


def test_numeric_variables_are_read(tmp_path):
    values = probe(tmp_path, GHEE_TOKEN_CACHE_SECONDS="0", GHEE_MAX_BODY_BYTES="2048")
    assert values["token_cache"] == 0
    assert values["max_body"] == values["upload_max"] == 2048


def test_the_live_sqlite_connection_uses_wal(db):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only: this run is on PostgreSQL")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] == 5000  # GHEE_SQLITE_WRITE_TIMEOUT
