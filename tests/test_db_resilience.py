"""The database misbehaves under real processes on loopback; ghee keeps answering.

- PostgreSQL: a standalone ``ghee worker`` whose connection is terminated (idle, and while
  the database refuses new connections for a while, as during a restart) reconnects and
  goes on processing jobs; ``ghee serve`` whose connections are all terminated answers the
  next requests without a 500.
- SQLite: another process holding the write lock (a stalled writer) makes a write a quick
  503 with ``Retry-After`` that accepted nothing, while reads and /healthz keep answering.
"""

import json
import re
import sqlite3
import threading
import time
import urllib.error
import urllib.request

import psycopg
import pytest
from django.db import connection

from ghee.accounts.services import create_token
from ghee.content.models import Job
from ghee.core import db_health
from tests.conftest import create_body, post_job
from tests.processes import (
    database_url,
    free_port,
    output_of,
    postgres_only,
    start_api,
    start_worker,
    stop,
    stop_api,
    wait_for,
    wait_until_serving,
)

pytestmark = pytest.mark.slow

sqlite_only = pytest.mark.skipif(
    "os.environ.get('DATABASE_URL', '').split(':')[0] in ('postgres', 'postgresql')",
    reason="SQLite's write lock",
)


def request(url, *, method="GET", token=None, body=None, timeout=15.0):
    """(status, headers, parsed body, seconds taken) of one HTTP request."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    data = json.dumps(body).encode() if body is not None else None
    started = time.monotonic()
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            status, headers, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        status, headers, raw = exc.code, exc.headers, exc.read()
    return status, headers, json.loads(raw or b"null"), time.monotonic() - started


def terminate_other_backends() -> int:
    """pg_terminate_backend every other connection to this database; wait until gone."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        pids = [pid for (pid,) in cursor.fetchall()]
        for pid in pids:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])

    def gone():
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", [pids])
            return cursor.fetchone()[0] == 0

    assert wait_for(gone, 10, 0.05)
    return len(pids)


def allow_connections(allowed: bool) -> None:
    """Make the test database refuse (or accept again) new connections, as a server that
    is restarting does. Said from the server's `postgres` database: a database cannot
    refuse the connection that says so."""
    name = connection.ops.quote_name(connection.settings_dict["NAME"])
    url = database_url().rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS {str(allowed).lower()}")


def jobs_succeeded() -> int:
    return Job.objects.filter(status="succeeded").count()


# --- A standalone worker ------------------------------------------------------------------------


@postgres_only
def test_a_worker_survives_its_connection_being_killed_and_the_database_refusing_it(
    api, committed, write_token, team_members
):
    worker = start_worker(GHEE_WORKER_RECONNECT_MAX_SECONDS=1, GHEE_LOG_LEVEL="INFO")
    try:
        post_job(api, write_token, "before")
        assert wait_for(lambda: jobs_succeeded() == 1, 30), output_of(worker)

        # Killed (most likely while it sleeps between polls: found dead before use and
        # replaced; else a query fails and it reconnects).
        assert terminate_other_backends() >= 1
        post_job(api, write_token, "after a kill")
        assert wait_for(lambda: jobs_succeeded() == 2, 30), output_of(worker)
        assert re.search(
            "closed connection 'default' while it was idle|Connected to the database again",
            output_of(worker),
        )

        # Killed while the database refuses new connections (a restart): it retries with
        # backoff, logging each try, and carries on once the database is back.
        allow_connections(False)
        try:
            terminate_other_backends()
            assert wait_for(lambda: "reconnecting in" in output_of(worker), 15), output_of(worker)
            post_job(api, write_token, "while refused")
            time.sleep(1.5)  # a few failed tries
            assert worker.poll() is None, output_of(worker)
        finally:
            allow_connections(True)
        assert wait_for(lambda: jobs_succeeded() == 3, 30), output_of(worker)
        post_job(api, write_token, "after the outage")
        assert wait_for(lambda: jobs_succeeded() == 4, 30), output_of(worker)
        assert worker.poll() is None
    finally:
        output = stop(worker)
    assert worker.returncode == 0, output
    assert "Connected to the database again" in output
    assert "Traceback" not in output
    assert set(Job.objects.values_list("attempts", flat=True)) == {1}


@postgres_only
def test_an_idle_connection_the_server_closed_is_replaced_before_use(transactional_db):
    """No query is spent finding out: the socket says the server hung up."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (first,) = cursor.fetchone()
    assert db_health.drop_dead_connections() == 0  # alive: kept
    killer = psycopg.connect(database_url(), autocommit=True)
    try:
        killer.execute("SELECT pg_terminate_backend(%s)", [first])
        assert wait_for(lambda: db_health.drop_dead_connections() == 1, 5)
    finally:
        killer.close()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != first


# --- The API ---------------------------------------------------------------------------------


@postgres_only
def test_the_api_answers_without_a_500_after_its_connections_are_killed(
    committed, write_token, read_token, team_members
):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_api(port, database_url())
    try:
        wait_until_serving(port, server)
        read_url = f"{base}/v2/content/team_members/?auth_token={read_token}"
        # Enough requests that every server process holds a connection.
        for n in range(8):
            assert request(read_url)[0] == 200
            post = request(
                f"{base}/v2/content/", method="POST", token=write_token, body=create_body(f"a{n}")
            )
            assert post[0] == 202
        assert terminate_other_backends() >= 1
        statuses = []
        for n in range(8):
            statuses.append(request(read_url)[0])
            statuses.append(
                request(
                    f"{base}/v2/content/",
                    method="POST",
                    token=write_token,
                    body=create_body(f"b{n}"),
                )[0]
            )
        assert statuses == [200, 202] * 8
    finally:
        output = stop_api(server)
    assert Job.objects.count() == 16
    assert "closed connection 'default' while it was idle" in output


# --- SQLite: a stalled writer ---------------------------------------------------------------------


@sqlite_only
def test_a_stalled_writer_makes_writes_a_quick_503_and_reads_keep_answering(
    committed, org, write_token, team_members
):
    fresh_read_token = create_token(org, "read", "never used")[1]  # its first use is a write
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_api(port, database_url(), GHEE_SQLITE_WRITE_TIMEOUT=1)
    stalled = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    try:
        wait_until_serving(port, server)
        stalled.execute("BEGIN IMMEDIATE")  # holds the write lock, like a SIGSTOPped worker
        answers = {}

        def write(n):
            answers[n] = request(
                f"{base}/v2/content/", method="POST", token=write_token, body=create_body(f"w{n}")
            )

        writers = [threading.Thread(target=write, args=(n,)) for n in range(2)]
        for thread in writers:
            thread.start()
        for thread in writers:
            thread.join(30)
        for status, headers, body, seconds in answers.values():
            assert status == 503, body
            assert headers["Retry-After"] == "1"
            assert body == {
                "detail": "The database is busy; nothing was accepted. Try again shortly."
            }
            assert seconds < 10  # the write timeout (1 s), not SQLite's old 30 s
        # Reads, including one whose token use is recorded, and health checks don't wait.
        for _ in range(3):
            status, _, body, seconds = request(
                f"{base}/v2/content/team_members/?auth_token={fresh_read_token}"
            )
            # Timing is the contract: a read that queued behind the stalled writer would
            # wait out the write lock; one answered within this liveness bound did not.
            assert (status, seconds < 5) == (200, True), body
            assert request(f"{base}/healthz")[0] == 200
        assert stalled.execute("SELECT count(*) FROM content_job").fetchone() == (0,)
        stalled.execute("ROLLBACK")
        status, *_ = request(
            f"{base}/v2/content/", method="POST", token=write_token, body=create_body("later")
        )
        assert status == 202
    finally:
        stalled.close()
        output = stop_api(server)
    assert Job.objects.count() == 1, output
