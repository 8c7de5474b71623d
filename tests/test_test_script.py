"""scripts/test.sh, run with stand-ins for ruff, lint-imports and pytest: what `make test`
reports and when it fails.

The stand-ins print what the real tools would and exit with the status a test chooses, so
these tests check the script's own rules: pytest's "no tests" status is a failure, every leg
is summarised, a PostgreSQL setup failure fails the run in CI and is a loud skip elsewhere.
"""

import os
import subprocess
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "test.sh"


@pytest.fixture
def fake_bin(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ruff").write_text('#!/bin/sh\nexit "${FAKE_RUFF_EXIT:-0}"\n')
    (bin_dir / "lint-imports").write_text('#!/bin/sh\nexit "${FAKE_LINT_IMPORTS_EXIT:-0}"\n')
    (bin_dir / "pytest").write_text(
        textwrap.dedent(
            """\
            #!/bin/sh
            echo "leg db=${DATABASE_URL:-sqlite} data=$GHEE_DATA_DIR args=$*" >> "$FAKE_CALLS"
            status="${FAKE_PYTEST_EXIT:-0}"
            case "$status" in
              0) echo "3 passed in 0.01s" ;;
              5) echo "no tests ran in 0.01s" ;;
              *) echo "1 failed, 2 passed in 0.01s" ;;
            esac
            exit "$status"
            """
        )
    )
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    return bin_dir


def run_script(tmp_path, fake_bin, *args, **env):
    calls = tmp_path / "calls.txt"
    calls.touch()
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GHEE_", "FAKE_")) and key not in {"CI", "DATABASE_URL"}
    }
    environment |= {
        "GHEE_TEST_BIN": str(fake_bin),
        "GHEE_TEST_VAR": str(tmp_path / "var"),
        "FAKE_CALLS": str(calls),
        "GHEE_TEST_SDK_SETUP": "0",
        **env,
    }
    completed = subprocess.run(
        ["bash", str(SCRIPT), *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return completed, calls.read_text().splitlines()


def test_passing_legs_are_summarised_and_extra_arguments_reach_pytest(tmp_path, fake_bin):
    result, calls = run_script(tmp_path, fake_bin, "-k", "smoke", GHEE_TEST_POSTGRES="0")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "== sqlite leg: ok (3 passed in 0.01s)" in result.stdout
    assert "postgres: SKIPPED (GHEE_TEST_POSTGRES=0)" in result.stdout
    assert "SDK setup" not in result.stdout
    assert "WARNING" in result.stderr
    assert result.stdout.rstrip().endswith("make test: all legs passed")
    assert calls == [f"leg db=sqlite data={tmp_path}/var/test-sqlite args=-q -k smoke"]


def test_no_tests_collected_fails_the_run(tmp_path, fake_bin):
    result, _ = run_script(tmp_path, fake_bin, GHEE_TEST_POSTGRES="0", FAKE_PYTEST_EXIT="5")
    assert result.returncode == 1
    assert "sqlite: FAILED: pytest collected no tests" in result.stdout
    assert result.stdout.rstrip().endswith("make test: FAILED")


def test_failing_tests_fail_the_run_with_pytests_summary(tmp_path, fake_bin):
    result, _ = run_script(tmp_path, fake_bin, GHEE_TEST_POSTGRES="0", FAKE_PYTEST_EXIT="1")
    assert result.returncode == 1
    assert "sqlite: FAILED, exit 1 (1 failed, 2 passed in 0.01s)" in result.stdout


def test_lint_failure_fails_the_run_but_the_legs_still_run(tmp_path, fake_bin):
    result, calls = run_script(tmp_path, fake_bin, GHEE_TEST_POSTGRES="0", FAKE_RUFF_EXIT="1")
    assert result.returncode == 1
    assert "lint: FAILED" in result.stdout
    assert len(calls) == 1


def test_a_broken_import_contract_fails_the_run(tmp_path, fake_bin):
    result, calls = run_script(
        tmp_path, fake_bin, GHEE_TEST_POSTGRES="0", FAKE_LINT_IMPORTS_EXIT="1"
    )
    assert result.returncode == 1
    assert "import contracts: FAILED" in result.stdout
    assert len(calls) == 1


def test_postgres_setup_failure_fails_the_run_in_ci(tmp_path, fake_bin):
    result, calls = run_script(tmp_path, fake_bin, CI="true", GHEE_PG_DIR="/proc/no-such-dir")
    assert result.returncode == 1
    assert "postgres: FAILED: could not set up PostgreSQL" in result.stdout
    assert len(calls) == 1  # the SQLite leg only


def test_postgres_setup_failure_is_a_loud_skip_on_a_developer_machine(tmp_path, fake_bin):
    result, _ = run_script(tmp_path, fake_bin, GHEE_PG_DIR="/proc/no-such-dir")
    assert result.returncode == 0
    assert "postgres: SKIPPED (setup failed" in result.stdout
    assert "the PostgreSQL leg was SKIPPED" in result.stderr


def test_postgres_required_by_variable_fails_without_ci(tmp_path, fake_bin):
    result, _ = run_script(
        tmp_path, fake_bin, GHEE_TEST_POSTGRES="1", GHEE_PG_DIR="/proc/no-such-dir"
    )
    assert result.returncode == 1
    assert "postgres: FAILED: could not set up PostgreSQL" in result.stdout
