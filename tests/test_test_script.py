"""scripts/test.sh and scripts/postgres.sh, run with stand-ins: what `make test` reports,
when it fails, and how the throw-away PostgreSQL finds a port.

The stand-ins (ruff, lint-imports, pytest, the setup scripts, PostgreSQL's binaries) print
what the real tools would and exit with the status a test chooses, so these tests check the
scripts' own rules: pytest's "no tests" status is a failure, every leg is summarised, a leg
that was asked for and cannot run fails the run (under CI=true a leg cannot be left out), a
port something else holds is passed over, and a port taken between the check and the
server's own bind is retried.
"""

import os
import re
import shutil
import socket
import stat
import subprocess
import tempfile
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "test.sh"
POSTGRES_SH = ROOT / "scripts" / "postgres.sh"
ALL_LEGS = "lint, js-sdk, browser, sqlite, postgres"


def write_tools(directory: Path, tools: dict[str, str]) -> Path:
    directory.mkdir(exist_ok=True)
    for name, text in tools.items():
        (directory / name).write_text(textwrap.dedent(text))
        (directory / name).chmod(0o755)
    return directory


@pytest.fixture
def fake_bin(tmp_path):
    return write_tools(
        tmp_path / "bin",
        {
            "ruff": '#!/bin/sh\nexit "${FAKE_RUFF_EXIT:-0}"\n',
            "lint-imports": '#!/bin/sh\nexit "${FAKE_LINT_IMPORTS_EXIT:-0}"\n',
            "pytest": """\
                #!/bin/sh
                echo "leg db=${DATABASE_URL:-sqlite} data=$GHEE_DATA_DIR args=$*" >> "$FAKE_CALLS"
                status="${FAKE_PYTEST_EXIT:-0}"
                case "$status" in
                  0) echo "3 passed in 0.01s" ;;
                  5) echo "no tests ran in 0.01s" ;;
                  *) echo "1 failed, 2 passed in 0.01s" ;;
                esac
                exit "$status"
                """,
        },
    )


@pytest.fixture
def fake_scripts(tmp_path):
    """Setup scripts that fail when told to; postgres.sh is the real one."""
    return write_tools(
        tmp_path / "scripts",
        {
            "install-js-sdk.sh": """\
                #!/bin/sh
                [ -z "$FAKE_SDK_FAILS" ] && exit 0
                echo "install-js-sdk.sh: $FAKE_SDK_FAILS" >&2; exit 1
                """,
            "install-browser.sh": """\
                #!/bin/sh
                [ -z "$FAKE_BROWSER_FAILS" ] && exit 0
                echo "install-browser.sh: $FAKE_BROWSER_FAILS" >&2; exit 1
                """,
            "postgres.sh": f'#!/bin/sh\nexec bash {POSTGRES_SH} "$@"\n',
        },
    )


def clean_environment(**env) -> dict[str, str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GHEE_", "FAKE_")) and key not in {"CI", "DATABASE_URL"}
    }
    return environment | env


def run_script(tmp_path, fake_bin, fake_scripts, *args, **env):
    calls = tmp_path / "calls.txt"
    calls.touch()
    environment = clean_environment(
        GHEE_TEST_BIN=str(fake_bin),
        GHEE_TEST_SCRIPTS=str(fake_scripts),
        GHEE_TEST_VAR=str(tmp_path / "var"),
        # A PostgreSQL that cannot be set up: its directory cannot be made.
        GHEE_PG_DIR="/proc/no-such-dir",
        FAKE_CALLS=str(calls),
        **env,
    )
    completed = subprocess.run(
        ["bash", str(SCRIPT), *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return completed, calls.read_text().splitlines()


def last_line(result) -> str:
    return result.stdout.rstrip().splitlines()[-1]


def test_legs_left_out_on_purpose_pass_and_the_summary_names_what_ran(
    tmp_path, fake_bin, fake_scripts
):
    result, calls = run_script(
        tmp_path, fake_bin, fake_scripts, "-k", "smoke", GHEE_TEST_LEGS="lint,sqlite"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "== sqlite leg: ok (3 passed in 0.01s)" in result.stdout
    assert "postgres: not run (left out by GHEE_TEST_LEGS=lint,sqlite)" in result.stdout
    assert "setup" not in result.stdout  # neither the SDK nor the browser was set up
    assert last_line(result) == (
        "make test: passed (legs: lint, sqlite; "
        "not run, as GHEE_TEST_LEGS asked: js-sdk, browser, postgres)"
    )
    # The left-out legs' tests are left out of the database leg too.
    assert calls == [
        f"leg db=sqlite data={tmp_path}/var/test-sqlite args=-q --ignore=tests/browser "
        "--ignore=tests/sdk/test_sdk_js.py -k smoke"
    ]


def test_every_leg_by_default_and_the_summary_says_so(tmp_path, fake_bin, fake_scripts):
    """postgres.sh is a stand-in here: the real one is tested below."""
    (fake_scripts / "postgres.sh").write_text(
        '#!/bin/sh\n[ "$1" = start ] && echo postgres://ghee:ghee@127.0.0.1:1/ghee\nexit 0\n'
    )
    result, calls = run_script(tmp_path, fake_bin, fake_scripts)
    assert result.returncode == 0, result.stdout + result.stderr
    assert last_line(result) == f"make test: passed (legs: {ALL_LEGS})"
    assert [call.split(" args=")[1] for call in calls] == ["-q", "-q"]
    assert "postgres://ghee:ghee@127.0.0.1:1/ghee" in calls[1]


def test_no_tests_collected_fails_the_run(tmp_path, fake_bin, fake_scripts):
    result, _ = run_script(
        tmp_path, fake_bin, fake_scripts, GHEE_TEST_LEGS="sqlite", FAKE_PYTEST_EXIT="5"
    )
    assert result.returncode == 1
    assert "sqlite: FAILED: pytest collected no tests" in result.stdout
    assert last_line(result) == "make test: FAILED (failed: sqlite; passed: none)"
    assert "to leave sqlite out" not in result.stdout  # a failing leg is not a skip hint


def test_failing_tests_fail_the_run_with_pytests_summary(tmp_path, fake_bin, fake_scripts):
    result, _ = run_script(
        tmp_path, fake_bin, fake_scripts, GHEE_TEST_LEGS="lint sqlite", FAKE_PYTEST_EXIT="1"
    )
    assert result.returncode == 1
    assert "sqlite: FAILED: exit 1 (1 failed, 2 passed in 0.01s)" in result.stdout
    assert last_line(result) == "make test: FAILED (failed: sqlite; passed: lint)"


@pytest.mark.parametrize(
    ("tool", "problem"),
    [("FAKE_RUFF_EXIT", "ruff"), ("FAKE_LINT_IMPORTS_EXIT", "import contracts (lint-imports)")],
)
def test_lint_failure_fails_the_run_but_the_legs_still_run(
    tmp_path, fake_bin, fake_scripts, tool, problem
):
    result, calls = run_script(
        tmp_path, fake_bin, fake_scripts, GHEE_TEST_LEGS="lint,sqlite", **{tool: "1"}
    )
    assert result.returncode == 1
    assert f"lint: FAILED: {problem} (see above)" in result.stdout
    assert len(calls) == 1


def test_postgres_that_cannot_be_set_up_fails_the_run_in_ci(tmp_path, fake_bin, fake_scripts):
    result, calls = run_script(tmp_path, fake_bin, fake_scripts, CI="true")
    assert result.returncode == 1
    assert (
        "postgres: FAILED: PostgreSQL could not be set up by scripts/postgres.sh" in result.stdout
    )
    assert "/proc/no-such-dir" in result.stderr  # the reason, from postgres.sh
    assert last_line(result) == (
        "make test: FAILED (failed: postgres; passed: lint, js-sdk, browser, sqlite)"
    )
    assert "to leave postgres out" not in result.stdout  # not an option in CI
    assert len(calls) == 1  # the SQLite leg still ran


def test_postgres_that_cannot_be_set_up_fails_a_local_run_too(tmp_path, fake_bin, fake_scripts):
    result, _ = run_script(tmp_path, fake_bin, fake_scripts)
    assert result.returncode == 1
    assert "postgres: FAILED: PostgreSQL could not be set up" in result.stdout
    assert (
        "(to leave postgres out on purpose: GHEE_TEST_LEGS=lint,js-sdk,browser,sqlite make test)"
        in result.stdout
    )
    assert "SKIPPED" not in result.stdout + result.stderr


def test_ci_refuses_to_leave_a_leg_out(tmp_path, fake_bin, fake_scripts):
    result, calls = run_script(
        tmp_path, fake_bin, fake_scripts, CI="true", GHEE_TEST_LEGS="lint,sqlite"
    )
    assert result.returncode == 2
    assert (
        "CI=true runs every leg, but GHEE_TEST_LEGS=lint,sqlite leaves out: "
        "js-sdk browser postgres" in result.stderr
    )
    assert calls == []


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"GHEE_TEST_LEGS": "sqlite,pg"}, "GHEE_TEST_LEGS: no leg 'pg'"),
        ({"GHEE_TEST_LEGS": " , "}, "GHEE_TEST_LEGS is empty"),
        ({"GHEE_TEST_POSTGRES": "0"}, "GHEE_TEST_POSTGRES is no longer read"),
        ({"GHEE_TEST_SDK_SETUP": "0"}, "GHEE_TEST_SDK_SETUP is no longer read"),
    ],
)
def test_a_leg_list_it_cannot_follow_is_refused(tmp_path, fake_bin, fake_scripts, env, message):
    result, calls = run_script(tmp_path, fake_bin, fake_scripts, **env)
    assert result.returncode == 2
    assert message in result.stderr
    assert calls == []


@pytest.mark.parametrize("ci", ["true", ""])
def test_setups_that_cannot_run_fail_their_legs(tmp_path, fake_bin, fake_scripts, ci):
    (fake_scripts / "postgres.sh").write_text(
        '#!/bin/sh\n[ "$1" = start ] && echo postgres://ghee:ghee@127.0.0.1:1/ghee\nexit 0\n'
    )
    result, _ = run_script(
        tmp_path,
        fake_bin,
        fake_scripts,
        CI=ci,
        FAKE_SDK_FAILS="node is not installed",
        FAKE_BROWSER_FAILS="chromium is missing",
    )
    assert result.returncode == 1
    assert "install-js-sdk.sh: node is not installed" in result.stderr
    assert "install-browser.sh: chromium is missing" in result.stderr
    assert "js-sdk: FAILED: scripts/install-js-sdk.sh failed (reason above)" in result.stdout
    assert "browser: FAILED: scripts/install-browser.sh failed (reason above)" in result.stdout
    assert last_line(result) == (
        "make test: FAILED (failed: js-sdk, browser; passed: lint, sqlite, postgres)"
    )


# --- scripts/postgres.sh with stand-in server binaries -------------------------------------

STAND_IN_SERVER = {
    "initdb": """\
        #!/bin/bash
        while (($#)); do [[ $1 == -D ]] && data=$2; shift; done
        mkdir -p "$data" && echo 15 > "$data/PG_VERSION"
        """,
    "postgres": "#!/bin/sh\necho 'postgres (PostgreSQL) 15 (stand-in)'\n",
    "pg_isready": "#!/bin/sh\nexit 0\n",
    "psql": '#!/bin/sh\ncase "$*" in *-tAc*) echo 1 ;; esac\n',
    # start: "Address already in use" for the first $FAKE_PG_RACES starts (another process
    # bound the port first), or $FAKE_PG_FATAL; otherwise "runs" (postmaster.pid).
    "pg_ctl": """\
        #!/bin/bash
        while (($#)); do
          case $1 in
            -D) data=$2; shift ;; -l) log=$2; shift ;; -o) opts=$2; shift ;;
            start|stop|status) action=$1 ;;
          esac
          shift
        done
        case $action in
          status) [[ -f $data/postmaster.pid ]]; exit ;;
          stop) rm -f "$data/postmaster.pid"; exit 0 ;;
        esac
        [[ $opts =~ -p\\ ([0-9]+) ]] && port=${BASH_REMATCH[1]}
        echo "$port" >> "$data/ports-tried"
        if (( $(wc -l < "$data/ports-tried") <= ${FAKE_PG_RACES:-0} )); then
          echo "LOG:  could not bind IPv4 address \\"127.0.0.1\\": Address already in use" >> "$log"
          echo "FATAL:  could not create any TCP/IP sockets" >> "$log"
          echo "pg_ctl: could not start server" >&2; exit 1
        fi
        if [[ -n $FAKE_PG_FATAL ]]; then
          echo "FATAL:  $FAKE_PG_FATAL" >> "$log"
          echo "pg_ctl: could not start server" >&2; exit 1
        fi
        echo "$port" > "$data/postmaster.pid"
        """,
}


@pytest.fixture
def cluster():
    """A directory for the stand-in binaries and the cluster, owned by the user the script
    runs as: `nobody` when the tests run as root (as root the script would hand the cluster
    to the `postgres` user, whose branch the PostgreSQL leg itself exercises)."""
    base = Path(tempfile.mkdtemp(prefix="ghee-pg-test-"))
    base.chmod(0o755)
    write_tools(base / "bin", STAND_IN_SERVER)
    prefix = []
    if os.geteuid() == 0:
        prefix = ["runuser", "-u", "nobody", "--"]
        shutil.chown(base, "nobody")
    yield base, prefix
    shutil.rmtree(base, ignore_errors=True)


def postgres_sh(cluster, action, port, **env):
    base, prefix = cluster
    return subprocess.run(
        [*prefix, "bash", str(POSTGRES_SH), action],
        env=clean_environment(
            GHEE_PG_DIR=str(base / "pg"),
            GHEE_PG_BINDIR=str(base / "bin"),
            GHEE_PG_PORT=str(port),
            **env,
        ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def unused_port() -> int:
    """A port nothing uses now, with room above it (the script counts up)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def started_port(result) -> int:
    assert result.returncode == 0, result.stderr
    return int(re.fullmatch(r"postgres://ghee:ghee@127\.0\.0\.1:(\d+)/ghee\n", result.stdout)[1])


@pytest.mark.parametrize("listening", [True, False], ids=["listener", "bound-not-listening"])
def test_postgres_passes_over_a_port_another_socket_holds(cluster, listening):
    holder = socket.socket()  # no SO_REUSEADDR: PostgreSQL could not bind beside it
    holder.bind(("127.0.0.1", 0))
    taken = holder.getsockname()[1]
    if listening:
        holder.listen()
    try:
        result = postgres_sh(cluster, "start", taken)
        port = started_port(result)
        assert port != taken
        tried = (cluster[0] / "pg/data/ports-tried").read_text().split()
        assert tried == [str(port)]  # found by binding, not by a failed start
        assert (cluster[0] / "pg/port").read_text().strip() == str(port)
    finally:
        holder.close()
        postgres_sh(cluster, "stop", taken)


def test_postgres_moves_on_when_its_port_is_taken_as_it_binds(cluster):
    first = unused_port()
    result = postgres_sh(cluster, "start", first, FAKE_PG_RACES="2")
    port = started_port(result)
    tried = [int(p) for p in (cluster[0] / "pg/data/ports-tried").read_text().split()]
    assert len(tried) == 3 and tried[0] == first and tried[-1] == port
    assert tried == sorted(set(tried))
    assert result.stderr.count("was taken after it was checked (Address already in use)") == 2
    assert postgres_sh(cluster, "status", first).returncode == 0
    assert postgres_sh(cluster, "url", first).stdout.strip().endswith(f":{port}/ghee")


def test_postgres_gives_up_after_a_few_races_and_says_so(cluster):
    result = postgres_sh(cluster, "start", unused_port(), FAKE_PG_RACES="99")
    assert result.returncode == 1
    assert "5 ports in turn were taken as it bound them" in result.stderr
    assert postgres_sh(cluster, "status", 0).returncode == 1


def test_postgres_that_cannot_start_fails_with_the_servers_reason(cluster):
    result = postgres_sh(
        cluster, "start", unused_port(), FAKE_PG_FATAL="could not map anonymous shared memory"
    )
    assert result.returncode == 1
    assert "FATAL:  could not map anonymous shared memory" in result.stderr
    assert "postgres.sh: ERROR: the server did not start" in result.stderr
    assert result.stdout == ""


def test_the_cluster_directory_is_private(cluster):
    started_port(postgres_sh(cluster, "start", unused_port()))
    for directory in (cluster[0] / "pg", cluster[0] / "pg/data"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    for name in ("port", "location", "initdb.log"):
        assert stat.S_IMODE((cluster[0] / "pg" / name).stat().st_mode) == 0o600, name
