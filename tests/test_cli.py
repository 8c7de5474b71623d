"""The ``ghee`` command: organizations, tokens, the demo, errors, and ``ghee serve``.

Database effects are checked in process (``call_command`` on the test database); the
command-line contract (what goes to stdout and stderr, exit statuses, no tracebacks, the
server starting and stopping) is checked by running ``ghee`` as a subprocess against its own
SQLite database in a temporary data directory.
"""

import json
import re
import shlex
import shutil
import socket
import subprocess
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ghee.accounts.models import ApiToken, Locale, Organization
from ghee.cli import printed_command
from ghee.content.models import Collection
from tests.processes import (
    alive,
    children_of,
    clean_env,
    free_port,
    get,
    ghee,
    kill_process_groups,
    start_serve,
    stop_serve,
    wait_until_serving,
)

TOKEN_RE = re.compile(r"^[0-9a-f]{52}$")


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


# --- Organizations and locales (in process) ----------------------------------------------------


def test_org_create_without_locales_is_flat(db):
    output = run("org", "create", "acme", "--name", "Acme Inc")
    assert output.strip() == "Created organization acme (Acme Inc; no locales: field data is flat)."
    org = Organization.objects.get(slug="acme")
    assert org.name == "Acme Inc"
    assert not org.has_locales


def test_org_create_with_locales_first_is_default(db):
    run("org", "create", "globex", "--locales", "en,es,pt-br")
    org = Organization.objects.get(slug="globex")
    assert org.name == "globex"
    locales = list(Locale.objects.filter(organization=org).order_by("order"))
    assert [(loc.code, loc.order, loc.is_default) for loc in locales] == [
        ("en", 0, True),
        ("es", 1, False),
        ("pt-br", 2, False),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["acme"], "organization 'acme' already exists"),
        (["new", "--locales", "en,es,en"], "--locales lists en more than once"),
        (["new", "--locales", "English"], "code: A locale code is lowercase letters"),
        (["Bad Slug"], "slug: Enter a valid"),
    ],
)
def test_org_create_refuses_bad_input(db, args, message):
    run("org", "create", "acme")
    with pytest.raises(CommandError, match=re.escape(message)):
        run("org", "create", *args)
    assert Organization.objects.count() == 1


def test_org_list(db):
    assert "No organizations yet" in run("org", "list")
    run("org", "create", "acme", "--name", "Acme")
    run("org", "create", "globex", "--locales", "en,es")
    lines = run("org", "list").splitlines()
    assert lines[0].split() == ["SLUG", "NAME", "LOCALES", "COLLECTIONS", "ACTIVE", "TOKENS"]
    assert lines[1].split() == ["acme", "Acme", "-", "0", "0"]
    assert lines[2].split() == ["globex", "globex", "en*,es", "0", "0"]


# --- Tokens (in process, then over HTTP) -------------------------------------------------------


def test_token_create_prints_the_token_alone_and_it_works(api, team_members):
    clear = run("token", "create", "--org", "acme", "--kind", "read", "--name", "site")
    assert clear.endswith("\n") and TOKEN_RE.match(clear.strip())
    token = ApiToken.objects.get(prefix=clear[:12])
    assert (token.kind, token.name, token.organization.slug) == ("read", "site", "acme")
    response = api.get("/v2/content/team_members/", {"auth_token": clear.strip()})
    assert response.status_code == 200  # Read API


def test_token_list_shows_everything_but_the_token(org):
    read = run("token", "create", "--org", "acme", "--kind", "read", "--name", "site").strip()
    write = run("token", "create", "--org", "acme", "--kind", "write").strip()
    run("token", "revoke", read[:12])
    lines = run("token", "list", "--org", "acme").splitlines()
    assert lines[0].split() == ["PREFIX", "KIND", "NAME", "CREATED", "LAST", "USED", "REVOKED"]
    first, second = (line.split() for line in lines[1:])
    assert first[:3] == [read[:12], "read", "site"]
    assert first[-1] != "-"  # revoked: a date and time
    assert second[:3] == [write[:12], "write", "-"]
    assert second[-2:] == ["-", "-"]  # never used, not revoked
    listing = "\n".join(lines)
    assert read not in listing and write not in listing


def test_token_revoke_makes_the_token_invalid(api, team_members, settings):
    settings.GHEE_TOKEN_CACHE_SECONDS = 0
    clear = run("token", "create", "--org", "acme", "--kind", "write").strip()
    header = {"HTTP_AUTHORIZATION": f"Token {clear}"}
    assert api.get("/v2/content/team_members/", **header).status_code == 200  # Read API
    output = run("token", "revoke", clear)  # the whole token is accepted too
    assert output.startswith(f"Revoked write token {clear[:12]} of acme.")
    response = api.get("/v2/content/team_members/", **header)
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}
    assert "already revoked" in run("token", "revoke", clear[:12])


def test_token_errors(org):
    with pytest.raises(CommandError, match="no organization 'nope'"):
        run("token", "create", "--org", "nope", "--kind", "read")
    with pytest.raises(CommandError, match="no token with prefix 'ffffffffffff'"):
        run("token", "revoke", "f" * 12)
    with pytest.raises(CommandError, match="first 12 characters"):
        run("token", "revoke", "abc")


# --- The demo (in process) ---------------------------------------------------------------------


def _printed_tokens(output: str) -> tuple[str, str]:
    write = re.search(r"write token: ([0-9a-f]{52})", output).group(1)
    read = re.search(r"read token:  ([0-9a-f]{52})", output).group(1)
    return write, read


def test_demo_first_run_creates_everything_and_prints_working_examples(api, db, settings):
    output = run("demo")
    write, read = _printed_tokens(output)
    org = Organization.objects.get(slug="demo")
    assert not org.has_locales
    assert sorted(org.tokens.values_list("kind", flat=True)) == ["read", "write"]
    assert set(Collection.objects.filter(organization=org).values_list("key", flat=True)) == {
        "team_members",
        "departments",
    }
    members = Collection.objects.get(organization=org, key="team_members")
    assert list(members.fields.order_by("order").values_list("key", "type")) == [
        ("name", "short_text"),
        ("position", "short_text"),
        ("email", "short_text"),
        ("photo", "media"),
        ("level", "dropdown"),
        ("department", "reference"),
    ]
    assert "ghee createsuperuser" in output

    # The printed curl examples, replayed with the test client.
    base = settings.PUBLIC_URL
    body = re.search(r"-d '(\{.*\})'", output).group(1)
    assert f"curl -X POST {base}/v2/content/" in output
    response = api.post(
        "/v2/content/",
        data=body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {write}",
    )
    assert response.status_code == 202, response.content  # Write API
    assert f"curl '{base}/v2/content/team_members/?auth_token={read}'" in output
    response = api.get("/v2/content/team_members/", {"auth_token": read})
    assert response.status_code == 200  # Read API


def test_demo_second_run_changes_nothing(db):
    run("demo")
    tokens = set(ApiToken.objects.values_list("prefix", flat=True))
    fields_before = Collection.objects.get(key="team_members").updated_at
    output = run("demo")
    assert "The demo organization exists" in output
    assert f"{printed_command()} token create --org demo --kind write" in output
    assert not re.search(r"[0-9a-f]{52}", output)
    assert set(ApiToken.objects.values_list("prefix", flat=True)) == tokens
    assert Collection.objects.get(key="team_members").updated_at == fields_before


def test_demo_on_a_restart_offers_only_what_is_still_useful(api, db, django_user_model):
    """`make run` runs `ghee demo` every time: once the demo has had a write, the banner no
    longer offers to create Ada Lovelace again, nor a login once someone can sign in."""
    first = run("demo")
    write = re.search(r"write token: (\w+)", first).group(1)
    untouched = run("demo")
    assert "Create a team member" in untouched and "WRITE=$(" in untouched
    assert "createsuperuser" in untouched

    response = api.post(
        "/v2/content/",
        data=re.search(r"-d '(\{.*\})'", first).group(1),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {write}",
    )
    assert response.status_code == 202
    written = run("demo")
    assert written.startswith("The demo organization exists")
    assert "nothing was created now" in written
    assert "Ada Lovelace" not in written and "curl -X POST" not in written
    assert "WRITE=$(" not in written
    assert f"READ=$({printed_command()} token create --org demo --kind read)" in written
    assert 'curl "http://127.0.0.1:8000/v2/content/team_members/?auth_token=$READ"' in written
    assert "createsuperuser" in written  # nobody can sign in yet

    django_user_model.objects.create_superuser("root", "root@example.com", "a long passphrase")
    signed_in = run("demo")
    assert "createsuperuser" not in signed_in
    assert "Dashboard: http://127.0.0.1:8000/admin/\n" in signed_in


# --- The command line (subprocesses) -----------------------------------------------------------


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """A data directory with a migrated SQLite database, shared by this module's subprocesses."""
    path = tmp_path_factory.mktemp("ghee-cli")
    result = ghee(path, "migrate", "--noinput", "-v", "0")
    assert result.returncode == 0, result.stderr
    return path


# How this test run's `ghee` subprocesses name themselves in what they print: the same
# program, from the same directory (`.venv/bin/ghee` under `make test`).
PRINTED = printed_command()


def assert_clean_failure(result, *expected_lines):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == list(expected_lines), result.stderr


def test_token_create_stdout_is_only_the_token(data_dir):
    assert ghee(data_dir, "org", "create", "cli-tokens").returncode == 0
    result = ghee(data_dir, "token", "create", "--org", "cli-tokens", "--kind", "write")
    assert result.returncode == 0, result.stderr
    assert TOKEN_RE.match(result.stdout.strip())
    assert result.stdout.count("\n") == 1
    assert "shown only this once" in result.stderr


def test_errors_are_one_line_and_never_a_traceback(data_dir, tmp_path):
    assert_clean_failure(
        ghee(data_dir, "token", "create", "--org", "nope", "--kind", "read"),
        f"ghee token: error: no organization 'nope' (see `{PRINTED} org list`, or "
        f"`{PRINTED} org create nope`)",
    )
    assert_clean_failure(
        ghee(data_dir, "org", "create", "Bad Slug"),
        "ghee org: error: slug: Enter a valid “slug” consisting of letters, numbers, "
        "underscores or hyphens.",
    )
    assert ghee(data_dir, "org", "create", "cli-errors").returncode == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("collections:\n- key: x\n  fields: [{key: a, type: txt}, {key: b}]\n")
    assert_clean_failure(
        ghee(data_dir, "schema", "apply", str(bad), "--org", "cli-errors"),
        f"ghee schema: error: {bad} has 2 problems:",
        "ghee schema: error: collection 'x', field 'a': unknown type 'txt' (one of short_text, "
        "long_text, wysiwyg, html, number, date, checkbox, dropdown, color, media, reference)",
        "ghee schema: error: collection 'x', field 'b': missing 'type' (one of short_text, "
        "long_text, wysiwyg, html, number, date, checkbox, dropdown, color, media, reference)",
    )
    assert_clean_failure(
        ghee(data_dir, "serve", "--bind", "localhost"),
        "ghee serve: error: --bind 'localhost': expected HOST:PORT, e.g. 127.0.0.1:8000",
    )


def test_an_unmigrated_database_says_to_migrate(tmp_path):
    result = ghee(tmp_path, "org", "list")
    assert_clean_failure(
        result,
        "ghee org: error: no such table: accounts_organization (the database is not set up: "
        f"run `{PRINTED} migrate`)",
    )
    assert_clean_failure(
        ghee(tmp_path, "serve", "--no-worker"),
        f"ghee serve: error: the database has {_migration_count()} unapplied migrations: run "
        f"`{PRINTED} migrate` first",
    )


def _migration_count() -> int:
    from django.db.migrations.loader import MigrationLoader

    return len(MigrationLoader(None, ignore_no_migrations=True).graph.nodes)


def test_schema_apply_reads_stdin_and_export_prints_json(data_dir):
    assert ghee(data_dir, "org", "create", "cli-schema").returncode == 0
    schema = "collections:\n- key: notes\n  fields: [{key: body, type: long_text}]\n"
    applied = ghee(data_dir, "schema", "apply", "-", "--org", "cli-schema", stdin=schema)
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.splitlines() == [
        "+ collection notes (1 fields)",
        "Applied stdin to cli-schema.",
    ]
    exported = ghee(data_dir, "schema", "export", "--org", "cli-schema", "--format", "json")
    assert json.loads(exported.stdout) == {
        "collections": [{"key": "notes", "fields": [{"key": "body", "type": "long_text"}]}]
    }


def test_every_printed_hint_names_a_program_that_runs(data_dir, tmp_path):
    """A hint is pasted into the shell ghee ran in: its program must be found there (no
    exit 127 for a `ghee` that is not on PATH) and its command must exist."""
    assert ghee(data_dir, "org", "create", "cli-hints").returncode == 0
    outputs = [
        ghee(data_dir, "user", "add", "jane@example.com", "--org", "cli-hints"),
        ghee(data_dir, "user", "list", "--org", "cli-hints"),
        ghee(data_dir, "media", "list", "--org", "cli-hints"),
        ghee(data_dir, "token", "list", "--org", "cli-hints"),
        ghee(data_dir, "webhook", "list", "--org", "cli-hints"),
        ghee(data_dir, "webhook", "deliveries", "--org", "cli-hints", "--failed"),
        ghee(data_dir, "token", "create", "--org", "nope", "--kind", "read"),
        ghee(data_dir, "webhook", "resend", "999"),
        ghee(tmp_path, "org", "list"),  # not migrated
        ghee(data_dir, "--help"),
    ]
    text = "\n".join(result.stdout + result.stderr for result in outputs)
    assert f"`{PRINTED} changepassword jane@example.com`" in text
    hints = re.findall(r"`([^`]*\bghee\b[^`]*)`", text)
    assert len(hints) >= 9, text
    env = clean_env(data_dir)
    for hint in set(hints):
        program, command = shlex.split(hint)[:2]
        assert program == PRINTED, hint
        pasted = subprocess.run(
            ["bash", "-c", f"{program} {command} --help"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert pasted.returncode == 0, (hint, pasted.stderr)


def test_a_failing_webhook_test_says_so_once(data_dir):
    with socket.socket() as probe:  # a port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    allow = {"GHEE_EGRESS_ALLOW_PORTS": str(port), "GHEE_EGRESS_ALLOW_NETWORKS": "127.0.0.1/32"}
    assert ghee(data_dir, "org", "create", "cli-hooks").returncode == 0
    url = f"http://127.0.0.1:{port}/hook"
    added = ghee(data_dir, "webhook", "add", "--org", "cli-hooks", url, "--events",
                 "collectionitem.all", **allow)  # fmt: skip
    assert added.returncode == 0, added.stderr
    endpoint = re.search(r"Added webhook endpoint (\d+)", added.stderr).group(1)
    tested = ghee(data_dir, "webhook", "test", endpoint, **allow)
    assert tested.returncode == 1
    assert tested.stdout == ""
    (line,) = tested.stderr.splitlines()
    assert re.fullmatch(
        r"ghee webhook: error: the test delivery failed: could not connect to 127\.0\.0\.1: "
        rf"connection refused \(test delivery \d+ to {re.escape(url)}, \d+ ms\)",
        line,
    ), line


# --- ghee serve --------------------------------------------------------------------------------


@pytest.mark.slow
def test_serve_answers_serves_static_files_and_stops_on_sigterm(data_dir):
    port = free_port()
    process = start_serve(data_dir, port, "--no-worker")
    try:
        wait_until_serving(port, process)
        status, body = get(f"http://127.0.0.1:{port}/static/admin/css/base.css")
        assert status == 200 and b"{" in body  # the admin's stylesheet, collected at start
        status, _ = get(f"http://127.0.0.1:{port}/admin/login/")
        assert status == 200
        server_pids = children_of(process.pid)
        assert server_pids  # granian
    finally:
        returncode, stderr = stop_serve(process)
    assert returncode == 0, stderr
    assert "received SIGTERM; stopping" in stderr
    assert not [pid for pid in server_pids if alive(pid)]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl to run the printed examples")
def test_make_run_flow_demo_then_serve_then_the_printed_curl_commands(data_dir):
    """What `make run` does, then the printed examples exactly as printed (Write API, worker
    and Read API included)."""
    port = free_port()
    public = {"GHEE_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    demo = ghee(data_dir, "demo", **public)
    assert demo.returncode == 0, demo.stderr
    commands = re.findall(r"^  (curl .*?)$(?<!\\)", demo.stdout.replace("\\\n", " "), re.M)
    assert len(commands) == 2, demo.stdout
    post, read = commands

    process = start_serve(data_dir, port, **public)
    try:
        wait_until_serving(port, process)
        assert len(children_of(process.pid)) == 2  # granian and the worker
        created = subprocess.run(["bash", "-c", post], capture_output=True, text=True, timeout=30)
        assert json.loads(created.stdout) == {"status": "pending"}  # Write API
        deadline, names = time.monotonic() + 30, []
        while time.monotonic() < deadline and not names:
            listed = subprocess.run(["bash", "-c", read], capture_output=True, text=True)
            names = [i["name"] for i in json.loads(listed.stdout)["data"]["team_members"]]
            time.sleep(0.2)
        assert names == ["Ada Lovelace"]  # the worker wrote it; the Read API shows it
    finally:
        returncode, stderr = stop_serve(process)
    assert returncode == 0, stderr
    again = ghee(data_dir, "demo", **public)
    assert "The demo organization exists" in again.stdout


@pytest.mark.slow
def test_serve_killed_outright_leaves_no_server_behind(data_dir):
    port = free_port()
    process = start_serve(data_dir, port)
    children: list[int] = []
    try:
        wait_until_serving(port, process)
        children = children_of(process.pid)
        assert len(children) == 2  # granian and the worker
    finally:
        process.kill()
        process.wait(timeout=10)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(alive(pid) for pid in children):
            time.sleep(0.2)
        leftovers = kill_process_groups(children)
        # Only now read the pipes: a child still alive holds them open, and reading them
        # first would wait for it forever instead of failing the test below.
        process.communicate(timeout=10)
    assert not leftovers, "children outlived a SIGKILLed ghee serve"
    with pytest.raises(OSError):
        get(f"http://127.0.0.1:{port}/healthz", timeout=1)
