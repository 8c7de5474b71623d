"""A first run without friction (issue 11 item 8, issue 21 item 6), tried as a new user would.

- every ``ghee`` command in the README's and docs' ``sh`` blocks is written so it runs when
  pasted (``.venv/bin/ghee``, not a bare ``ghee``) and names a real command and options;
- ``ghee --help`` lists ghee's own commands, ``ghee --version`` prints ghee's version;
- ``/`` is a start page, the dashboard's "View site" leads there, help texts read as text;
- the README's tour, pasted in order after ``make run``'s own curl, works against a real
  ``ghee serve`` on 127.0.0.1 (ids line up; nothing reads an item it just deleted);
- every file a document names exists, and every ``sh`` block that needs no server runs,
  pasted in order into a fresh clone after ``make run``'s setup.
"""

import glob
import os
import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests
from django.core.management import get_commands, load_command_class

from ghee import cli
from tests.markdown import shell_blocks
from tests.processes import (
    clean_env,
    free_port,
    ghee,
    output_of,
    spawn_ghee,
    stop,
    wait_until_serving,
)

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUNNABLE = ".venv/bin/ghee"


def _until_operator(text: str) -> str:
    """``text`` up to the first unquoted shell operator or comment."""
    quote = None
    for index, char in enumerate(text):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "|;&)>#":
            return text[:index]
    return text


def ghee_invocations(block: str) -> list[list[str]]:
    """The argument lists of each ``.venv/bin/ghee`` call in a block."""
    calls = []
    for line in block.splitlines():
        for match in re.finditer(re.escape(RUNNABLE) + r"(?=\s|$)", line):
            calls.append(shlex.split(_until_operator(line[match.end() :])))
    return calls


BARE_GHEE = re.compile(r"(^|\$\(|[|;&]\s*|\)\s+)ghee(\s|$)")


def test_every_documented_command_is_runnable_and_real():
    commands = get_commands()
    problems, checked = [], 0
    for path in DOCUMENTS:
        for line_number, block in shell_blocks(path.read_text()):
            where = f"{path.relative_to(ROOT)}:{line_number}"
            for line in block.splitlines():
                code = _until_operator(line) if not line.lstrip().startswith("#") else ""
                if BARE_GHEE.search(line.split(" #")[0]) and code:
                    problems.append(f"{where}: bare `ghee` is not found when pasted: {line}")
                if re.match(r"\s*make\s+(\w+)", code):
                    target = re.match(r"\s*make\s+(\w+)", code).group(1)
                    makefile = (ROOT / "Makefile").read_text()
                    if not re.search(rf"^{target}:", makefile, re.MULTILINE):
                        problems.append(f"{where}: no make target {target!r}")
            for args in ghee_invocations(block):
                checked += 1
                if not args or args[0].startswith("-") or args[0] == "help":
                    continue  # --help, --version, help: tested below
                name = args[0]
                if name not in commands:
                    problems.append(f"{where}: no command `ghee {name}`")
                    continue
                if "--help" in args:
                    continue  # the command exists; its help is its parser's own
                parser = load_command_class(commands[name], name).create_parser("ghee", name)
                try:
                    parser.parse_args(args[1:])
                except (SystemExit, Exception) as exc:
                    problems.append(f"{where}: `ghee {shlex.join(args)}` does not parse ({exc})")
    assert checked >= 30, "the documents' commands were not found"
    assert not problems, "\n".join(problems)


def test_help_lists_ghees_own_commands_and_version_is_ghees(capsys):
    cli.main(["--help"])
    text = capsys.readouterr().out
    for name, summary in [
        ("org", "Create and list organizations."),
        ("token", "Create, list and revoke API tokens."),
        ("user", "Add dashboard users to organizations"),
        ("serve", "Serve the API"),
        ("worker", "Process accepted writes"),
        ("demo", "Create the demo organization"),
        ("schema", "Apply a schema file"),
    ]:
        assert re.search(rf"^  {name}\s+{re.escape(summary)}", text, re.MULTILINE), name
    assert "makemigrations" not in text and "axes_reset" not in text
    cli.main(["--version"])
    assert capsys.readouterr().out == "ghee 0.1.0\n"


def test_help_and_version_as_a_fresh_shell_runs_them(tmp_path):
    helped = ghee(tmp_path, "--help")
    assert helped.returncode == 0, helped.stderr
    assert "Commands:" in helped.stdout and "token" in helped.stdout
    assert ghee(tmp_path, "--version").stdout.strip() == "ghee 0.1.0"
    # Django's own help is one step away, and a command's help still works.
    assert "makemigrations" in ghee(tmp_path, "help", "--commands").stdout
    assert "--kind" in ghee(tmp_path, "token", "create", "--help").stdout


def test_printed_commands_name_the_program_that_runs(monkeypatch, tmp_path):
    venv_ghee = tmp_path / ".venv/bin/ghee"
    venv_ghee.parent.mkdir(parents=True)
    venv_ghee.write_text("#!/bin/sh\n")
    venv_ghee.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.argv", [".venv/bin/ghee", "demo"])
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert cli.printed_command() == ".venv/bin/ghee"
    monkeypatch.setenv("PATH", f"{venv_ghee.parent}:/usr/bin:/bin")
    assert cli.printed_command() == "ghee"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setattr("sys.argv", [str(venv_ghee), "demo"])
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert cli.printed_command() == str(venv_ghee)


def test_the_root_is_a_start_page_and_view_site_leads_there(admin_client, client):
    page = client.get("/")
    assert page.status_code == 200
    text = page.content.decode()
    for link in ('href="/admin/"', 'href="/healthz"'):
        assert link in text
    assert "/v2/content/" in text and "docs/read-api.md" in text
    dashboard = admin_client.get("/admin/").content.decode()
    view_site = re.search(r'<a href="([^"]+)">View site</a>', dashboard).group(1)
    assert admin_client.get(view_site).status_code == 200
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/nothing-here").status_code == 404


def test_help_texts_render_as_text(admin_client, org, team_members):
    page = admin_client.get(f"/admin/content/collection/{team_members.pk}/change/")
    assert b"email, url, us_phone, us_zip, or regex:&lt;expression&gt;." in page.content
    # Help that is HTML on purpose (the password rules) still renders as HTML.
    form = admin_client.get("/admin/auth/user/add/")
    assert b"<li>Your password can\xe2\x80\x99t be entirely numeric.</li>" in form.content


# --- The README's tour, pasted into a shell against a real server ------------------------------


def tour_blocks() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    tour = readme[readme.index("## A quick tour") :]
    tour = tour[: tour.index("\n## ", 5)]
    return [block for _, block in shell_blocks(tour)]


def run_shell(script: str, env: dict) -> str:
    result = subprocess.run(
        ["bash", "-e", "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, f"{script}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def statuses(output: str) -> list[int]:
    return [int(code) for code in re.findall(r"^HTTP_STATUS=(\d+)$", output, re.MULTILINE)]


@pytest.mark.slow
def test_the_readme_tour_works_when_pasted_after_make_runs_curl(tmp_path):
    if not shutil.which("curl"):
        pytest.fail("curl is needed to paste the README's commands")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = clean_env(tmp_path, GHEE_PUBLIC_URL=base, GHEE_WORKER_INTERVAL="0.05")
    assert ghee(tmp_path, "migrate", "--noinput", "-v", "0").returncode == 0
    demo = ghee(tmp_path, "demo", GHEE_PUBLIC_URL=base)
    assert demo.returncode == 0, demo.stderr
    write = re.search(r"write token: (\w+)", demo.stdout).group(1)
    read = re.search(r"read token:  (\w+)", demo.stdout).group(1)
    banner_curl = re.search(r"^  curl -X POST .*?(?=\n\n)", demo.stdout, re.S | re.M).group(0)

    # Every curl also says its status on a line of its own (curl reads $CURL_HOME/.curlrc).
    (tmp_path / ".curlrc").write_text('-w "\\nHTTP_STATUS=%{http_code}\\n"\n')
    shell_env = {**os.environ, "CURL_HOME": str(tmp_path)}

    server = spawn_ghee(["serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"], env)
    try:
        wait_until_serving(port, server)
        assert statuses(run_shell(banner_curl.replace("\\\n", " "), shell_env)) == [202]

        def settled():
            """A reader takes a moment between pastes: the worker has caught up."""
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                open_jobs = 0
                for status in ("pending", "running"):
                    answer = requests.get(
                        f"{base}/v2/jobs/",
                        params={"status": status},
                        headers={"Authorization": f"Token {write}"},
                        timeout=5,
                    )
                    open_jobs += answer.json()["meta"]["count"]
                if not open_jobs:
                    return
                time.sleep(0.1)
            raise AssertionError("jobs stayed open")

        blocks = [b for b in tour_blocks() if "curl" in b or b.startswith("export")]
        export = blocks[0]
        assert export.startswith("export WRITE=<write token> READ=<read token>")
        export = export.replace("<write token>", write).replace("<read token>", read)
        export = export.replace("http://127.0.0.1:8000", base)

        outputs = []
        for block in blocks[1:]:
            settled()
            output = run_shell(f"{export}\n{block}", shell_env)
            expected = [int(code) for code in re.findall(r"^# HTTP/1.1 (\d+)", block, re.M)]
            got = statuses(output)
            assert all(code < 400 for code in got), (block, output)
            if expected:
                assert got[: len(expected)] == expected, (block, output)
            outputs.append(output)
        create, job, _update, read_, delete = outputs
        assert re.search(r"^location: /v2/jobs/2/", create, re.M | re.I)
        assert '"id":2' in job and '"item_ids":[2]' in job and '"status":"succeeded"' in job
        assert '"name":"Grace Hopper","position":"Commodore"' in read_
        assert '"count":2' in read_
        assert '"count":1' in delete and "Grace Hopper" not in delete.split("204")[-1]

        # "paste the create above again and it still says location: /v2/jobs/2/"
        again = run_shell(f"{export}\n{blocks[1]}", shell_env)
        assert re.search(r"^location: /v2/jobs/2/", again, re.M | re.I)
    finally:
        log = stop(server)
    assert "Traceback" not in log, output_of(server)


# --- Every document names files that exist, and its commands run when pasted ----------------

# Paths into the repository (`ghee/core/egress/`, `tests/media/test_egress*.py`), other
# documents by name (`schema.md`) and relative links (`[x](media.md)`).
NAMED_PATH = re.compile(r"(?<![\w/.$<-])((?:docs|tests|ghee|scripts|bench|\.ci)/[\w./*-]*[\w*/])")
NAMED_DOCUMENT = re.compile(r"(?<![\w/.-])([\w-]+\.md)\b")
LINK = re.compile(r"\]\(([^)#\s]+)")
INSTALLED_LATER = ("node_modules",)  # scripts/install-js-sdk.sh puts it there


def test_every_file_a_document_names_exists():
    missing, checked = [], 0
    for path in DOCUMENTS:
        text = path.read_text()
        where = path.relative_to(ROOT)
        for named in NAMED_PATH.findall(text):
            checked += 1
            if not any(part in named for part in INSTALLED_LATER) and not glob.glob(
                str(ROOT / named)
            ):
                missing.append(f"{where}: {named}")
        for link in LINK.findall(text):
            checked += 1
            if not link.startswith(("http://", "https://")) and not (path.parent / link).exists():
                missing.append(f"{where}: link {link}")
        for name in NAMED_DOCUMENT.findall(text):
            checked += 1
            if not any((base / name).exists() for base in (path.parent, ROOT, ROOT / "docs")):
                missing.append(f"{where}: document {name}")
    assert checked >= 100, "the documents' paths were not found"
    assert not missing, "\n".join(missing)


# A block that needs more than a fresh clone after `make run`'s setup: a running server (curl,
# serve, a worker that runs until stopped), make, another database, the test or benchmark
# tools, a file the reader writes first (receiver.py), a host beyond this machine, or values
# only `make run` printed (`<write token>`: the README's tour test fills those in).
NEEDS_MORE = re.compile(
    r"\bcurl\b|\bmake (run|test|install)\b|\bghee (serve|worker)\b|scripts/|bench/|\bpytest\b"
    r"|DATABASE_URL=|receiver\.py|apt-get|https?://(?!127\.0\.0\.1[:/])|<[a-z][\w ]*>"
)


def runnable_blocks(path: Path) -> list[tuple[int, str]]:
    return [(line, block) for line, block in shell_blocks(path.read_text())
            if not NEEDS_MORE.search(block)]  # fmt: skip


DOCUMENTS_WITH_RUNNABLE_BLOCKS = [path for path in DOCUMENTS if runnable_blocks(path)]


def test_the_blocks_that_need_no_server_are_found():
    names = {path.name for path in DOCUMENTS_WITH_RUNNABLE_BLOCKS}
    assert {"README.md", "cli.md", "egress.md"} <= names
    assert sum(len(runnable_blocks(path)) for path in DOCUMENTS) >= 8


@pytest.mark.slow
@pytest.mark.parametrize("path", DOCUMENTS_WITH_RUNNABLE_BLOCKS, ids=lambda path: path.name)
def test_a_documents_blocks_run_when_pasted_in_a_fresh_clone(path, tmp_path):
    """The blocks that need no server, pasted in order into a shell in a fresh clone after
    `make run`'s setup (migrate, demo): in a directory of its own (`.venv` and `docs` linked
    in, `var/` its own), with no ghee variable set and no `ghee` on PATH. The local servers
    of docs/egress.md's recipe get a free port instead of 9000."""
    clone = tmp_path / "clone"
    clone.mkdir()
    for name in (".venv", "docs"):
        (clone / name).symlink_to(ROOT / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GHEE_", "DJANGO_"))}
    env.pop("DATABASE_URL", None)
    env["PATH"] = os.pathsep.join(
        part for part in env.get("PATH", "/usr/bin:/bin").split(os.pathsep)
        if not (Path(part) / "ghee").exists()
    )  # fmt: skip
    port = str(free_port())

    def paste(script: str) -> subprocess.CompletedProcess:
        # Whatever a block leaves running in the background is stopped when it ends.
        return subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c",
             "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n" + script],
            cwd=clone, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip

    setup = paste(f"{RUNNABLE} migrate --noinput -v 0\n{RUNNABLE} demo >/dev/null")
    assert setup.returncode == 0, setup.stderr
    for line, block in runnable_blocks(path):
        pasted = paste(block.replace("9000", port))
        where = f"{path.relative_to(ROOT)}:{line}"
        output = pasted.stdout + pasted.stderr
        assert pasted.returncode == 0, f"{where} failed:\n{block}\n---\n{output}"
        assert "Traceback" not in output and "command not found" not in output, where
