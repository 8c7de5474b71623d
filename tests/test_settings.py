"""Settings come from the environment: each variable read by a fresh process exactly as
``ghee`` would read it, every variable refused when empty or malformed (through the one
reader, ghee/core/env.py), and docs/configuration.md listing exactly the variables read."""

import ast
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

import ghee.settings  # noqa: F401 - reading the settings fills env.VARIABLES
from ghee.core import env

ROOT = Path(__file__).resolve().parent.parent

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


# --- every variable through one reader, refused when empty or malformed ---------------------

# A value of the right shape for nothing of each kind (lists: an empty entry).
MALFORMED = {
    "integer": "12abc",
    "number": "abc",
    "boolean": "maybe",
    "choice": "nonsense",
    "list": "a,,b",
}
CHECKED = sorted(name for name, v in env.VARIABLES.items() if v.kind in MALFORMED)


def test_the_checked_variables_are_all_of_their_kinds():
    kinds = {env.VARIABLES[name].kind for name in CHECKED}
    assert kinds == set(MALFORMED)
    assert len(CHECKED) > 70  # settings read through something else would fall out here


@pytest.mark.parametrize("name", CHECKED)
@pytest.mark.parametrize("value", ["", "  ", "malformed"])
def test_an_empty_or_malformed_value_is_refused_in_one_line(monkeypatch, name, value):
    variable = env.VARIABLES[name]
    value = MALFORMED[variable.kind] if value == "malformed" else value
    monkeypatch.setenv(name, value)
    with pytest.raises(env.EnvError) as refused:
        variable.read()
    message = str(refused.value)
    assert message.startswith(f"{name}={value!r} is ")
    assert variable.expected in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GHEE_JOB_BATCH_SIZE", "0"),  # at least 1
        ("GHEE_WEBHOOK_TIMEOUT", "-1"),
        ("GHEE_WEBHOOK_TIMEOUT", "nan"),
        ("GHEE_EGRESS_ALLOW_PORTS", "80,x"),
        ("GHEE_EGRESS_ALLOW_PORTS", "70000"),
        ("GHEE_EGRESS_ALLOW_NETWORKS", "10.0.0.0/33"),
        ("GHEE_WEBHOOK_RETRY_SCHEDULE", "5,soon"),
        ("GHEE_CORS_WRITE_ORIGINS", "editor.example.com"),
        ("GHEE_MEDIA_ALLOWED_TYPES", "png"),
        ("GHEE_BIND", "127.0.0.1:http"),
        ("GHEE_PUBLIC_URL", "cms.example.org"),
        ("GHEE_SQLITE_SYNCHRONOUS", "NORMAL; DROP TABLE x"),
    ],
)
def test_values_of_the_wrong_form_are_refused(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(env.EnvError, match=f"^{name}="):
        env.VARIABLES[name].read()


def test_unset_means_the_default_and_set_values_are_read(monkeypatch):
    variables = env.VARIABLES
    monkeypatch.delenv("GHEE_WEBHOOK_TIMEOUT", raising=False)
    assert variables["GHEE_WEBHOOK_TIMEOUT"].read() == 5.0
    monkeypatch.setenv("GHEE_WEBHOOK_TIMEOUT", " 2.5 ")
    assert variables["GHEE_WEBHOOK_TIMEOUT"].read() == 2.5
    monkeypatch.setenv("GHEE_SQLITE_SYNCHRONOUS", "full")
    assert variables["GHEE_SQLITE_SYNCHRONOUS"].read() == "FULL"
    monkeypatch.setenv("GHEE_EGRESS_ALLOW_PORTS", "8080, 8443")
    assert variables["GHEE_EGRESS_ALLOW_PORTS"].read() == [8080, 8443]
    monkeypatch.setenv("GHEE_CORS_WRITE_ORIGINS", "https://a.example/,http://127.0.0.1:3000")
    assert variables["GHEE_CORS_WRITE_ORIGINS"].read() == [
        "https://a.example",
        "http://127.0.0.1:3000",
    ]


@pytest.mark.parametrize("word", ["1", "true", "YES", "On"])
def test_booleans_accept_the_documented_spellings_for_on(monkeypatch, word):
    monkeypatch.setenv("GHEE_DEBUG", word)
    assert env.VARIABLES["GHEE_DEBUG"].read() is True


@pytest.mark.parametrize("word", ["0", "false", "No", "OFF"])
def test_booleans_accept_the_documented_spellings_for_off(monkeypatch, word):
    monkeypatch.setenv("GHEE_DEBUG", word)
    assert env.VARIABLES["GHEE_DEBUG"].read() is False


def test_a_database_url_in_an_error_is_not_repeated(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "nosuchdb://ghee:hunter2@db/ghee")
    with pytest.raises(env.EnvError) as refused:
        env.VARIABLES["DATABASE_URL"].read()
    assert "hunter2" not in str(refused.value)


def test_ghee_refuses_to_start_with_one_line_naming_the_variable(tmp_path):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GHEE_")}
    clean |= {"GHEE_DATA_DIR": str(tmp_path), "GHEE_WEBHOOK_TIMEOUT": "abc", "GHEE_DEBUG": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "ghee.cli", "check"],
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == "ghee: GHEE_WEBHOOK_TIMEOUT='abc' is not a number (seconds, e.g. 5)\n"
    assert result.stdout == ""


# --- docs/configuration.md lists exactly the variables the code reads -----------------------

VARIABLE = re.compile(r"\b(?:GHEE_[A-Z0-9_]+|DATABASE_URL)(?![A-Z0-9_*])")


def read_by_code() -> set[str]:
    """The reader's variables, and any name ghee's code spells out in full as a string
    (a variable read with ``os.environ`` outside settings, e.g. the import's token)."""
    names = set(env.VARIABLES)
    for path in (ROOT / "ghee").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and VARIABLE.fullmatch(str(node.value)):
                names.add(node.value)
    return names


def documented() -> dict[str, str]:
    """Variable -> its Default cell, from the tables of docs/configuration.md."""
    rows = {}
    for line in (ROOT / "docs" / "configuration.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) >= 3:  # a Meaning may hold a `|`
            for name in VARIABLE.findall(cells[0]):
                rows[name] = cells[1]
    return rows


def test_every_variable_read_is_documented_with_its_default():
    rows = documented()
    assert sorted(read_by_code() - set(rows)) == []
    assert sorted(set(rows) - read_by_code()) == []
    assert [name for name, default in rows.items() if not default] == []


def test_the_docs_name_no_variable_that_does_not_exist():
    # Besides ghee's own: the development scripts' and the test suite's (docs/testing.md).
    tooling = set(
        VARIABLE.findall(" ".join(p.read_text() for p in (ROOT / "scripts").glob("*.sh")))
    )
    for path in (ROOT / "tests").rglob("*.py"):
        tooling |= set(re.findall(r'environ\.get\("(GHEE_[A-Z0-9_]+)"', path.read_text()))
    known = read_by_code() | tooling
    unknown = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]
        for name in VARIABLE.findall(path.read_text())
        if name not in known
    }
    assert sorted(unknown) == []
