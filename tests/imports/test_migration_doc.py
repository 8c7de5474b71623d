"""docs/migrate-from-buttercms.md, followed as written by a new user: its shell commands
import from a loopback "ButterCMS" (a live ``ghee serve``) into a fresh ghee, then the
official Python SDK, pointed at that ghee as the guide says, reads the imported content.
Only the placeholders (the token, ButterCMS's and ghee's base URLs) are filled in."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.markdown import shell_blocks
from tests.processes import clean_env, free_port, spawn_ghee, stop, wait_until_serving

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "migrate-from-buttercms.md"

pytestmark = pytest.mark.slow


def python_blocks(markdown: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", markdown, re.S)


def test_the_migration_guide_works_as_written(tmp_path, source, media_server):
    guide = GUIDE.read_text()
    import_steps, second_run, token_step = (block for _, block in shell_blocks(guide)[:3])
    site = tmp_path / "site"
    site.mkdir()
    (site / ".venv").symlink_to(ROOT / ".venv")
    port = free_port()
    ghee_url = f"http://127.0.0.1:{port}"
    env = clean_env(
        tmp_path / "data",
        GHEE_PUBLIC_URL=ghee_url,
        GHEE_EGRESS_ALLOW_NETWORKS="127.0.0.0/8",
        GHEE_EGRESS_ALLOW_PORTS=f"{source.base.rsplit(':', 1)[1]},{media_server.port}",
    )
    script = "\n".join([import_steps, second_run])
    script = script.replace("<your ButterCMS read token>", source.seeded["butter_token"])
    assert script.count(source.seeded["butter_token"]) == 2  # the variable, and stdin
    script = script.replace("https://api.buttercms.com", source.base)
    done = subprocess.run(
        ["bash", "-e", "-c", script], cwd=site, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        "{key: department, type: reference, to: departments}" in (site / "schema.yaml").read_text()
    )
    assert '"created": 1' in (site / "import.json").read_text()

    create_token, serve = token_step.splitlines()
    assert serve == ".venv/bin/ghee serve"  # started below on a free port
    token = subprocess.run(
        ["bash", "-e", "-c", create_token], cwd=site, env=env, capture_output=True, text=True
    )
    assert token.returncode == 0, token.stderr
    server = spawn_ghee(["serve", "--bind", f"127.0.0.1:{port}", "--no-worker"], env)
    try:
        wait_until_serving(port, server)
        [sdk_snippet] = python_blocks(guide)
        sdk_snippet = sdk_snippet.replace("<ghee read token>", token.stdout.strip())
        sdk_snippet = sdk_snippet.replace("https://cms.example.com", ghee_url)
        read = subprocess.run(
            [sys.executable, "-c", sdk_snippet],
            env={**os.environ, "NO_PROXY": "*"},
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        stop(server)
    assert read.returncode == 0, read.stderr
    assert "'name': 'Ada (es)'" in read.stdout and "'name': 'Ingeniería'" in read.stdout
    assert f"{ghee_url}/media/" in read.stdout
