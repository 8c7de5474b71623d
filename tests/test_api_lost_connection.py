"""An API request whose PostgreSQL backend is terminated under it (issue 20, items 5 and 6)
answers 503 with ``Retry-After`` and a JSON ``detail``, never a 500; the broken connection
is closed, the next request succeeds, and nothing is half-written.

First in-process, with the backend terminated at a chosen point of a real request path
(before a read's query, before a write's INSERT, between a write's two INSERTs); then
against a real ``ghee serve`` whose backends are terminated again and again while clients
read and write. A PostgreSQL failure mode: on SQLite these tests are skipped.
"""

import json
import threading
import time
import urllib.error
import urllib.request
import uuid

import psycopg
import pytest
from django.db import connection

from ghee.content.models import IdempotencyKey, Job
from ghee.content.read import queries
from ghee.content.write import accept
from tests.processes import (
    database_url,
    free_port,
    postgres_only,
    start_api,
    stop_api,
    wait_for,
    wait_until_serving,
)

pytestmark = postgres_only


def terminate_this_backend() -> None:
    """pg_terminate_backend this thread's connection, from another one; wait until gone."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    with psycopg.connect(database_url(), autocommit=True) as killer:
        killer.execute("SELECT pg_terminate_backend(%s)", [pid])

        def gone():
            row = killer.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
            return row.fetchone()[0] == 0

        assert wait_for(gone, 10, 0.02)


def terminating_first(function):
    def wrapper(*args, **kwargs):
        terminate_this_backend()
        return function(*args, **kwargs)

    return wrapper


def assert_unavailable(response):
    assert response.status_code == 503, response.content
    assert response["Retry-After"] == "1"
    assert response["Cache-Control"] == "private, no-store"
    assert "connection to the database was lost" in response.json()["detail"]


def post(api, token, name, **headers):
    return api.post(
        "/v2/content/",
        {"key": "team_members", "status": "published", "fields": [{"name": name}]},
        format="json",
        HTTP_AUTHORIZATION=f"Token {token}",
        **headers,
    )


def test_a_read_whose_backend_is_terminated_is_a_503_then_reads_answer(
    api, committed, read_token, team_members, monkeypatch
):
    path = f"/v2/content/team_members/?auth_token={read_token}"
    assert api.get(path).status_code == 200
    monkeypatch.setattr(queries, "list_items", terminating_first(queries.list_items))
    assert_unavailable(api.get(path))
    monkeypatch.undo()
    assert api.get(path).status_code == 200


def test_a_write_whose_backend_is_terminated_is_a_503_and_accepts_nothing(
    api, committed, write_token, team_members, monkeypatch
):
    monkeypatch.setattr(accept, "_insert_job", terminating_first(accept._insert_job))
    assert_unavailable(post(api, write_token, "lost"))
    assert Job.objects.count() == 0
    monkeypatch.undo()
    assert post(api, write_token, "again").status_code == 202
    assert Job.objects.count() == 1


def test_a_write_terminated_inside_its_transaction_leaves_nothing_half_written(
    api, committed, write_token, team_members, monkeypatch
):
    """The Job is inserted, the backend dies before the Idempotency-Key row: neither stays,
    and the same request sent again is accepted once."""
    insert_job = accept._insert_job

    def insert_then_terminate(*args, **kwargs):
        job_id = insert_job(*args, **kwargs)
        terminate_this_backend()
        return job_id

    monkeypatch.setattr(accept, "_insert_job", insert_then_terminate)
    key = {"HTTP_IDEMPOTENCY_KEY": "lost-in-the-middle"}
    assert_unavailable(post(api, write_token, "half", **key))
    assert Job.objects.count() == 0
    assert IdempotencyKey.objects.count() == 0
    monkeypatch.undo()
    first = post(api, write_token, "half", **key)
    assert first.status_code == 202
    replay = post(api, write_token, "half", **key)
    assert replay.status_code == 202 and replay["Location"] == first["Location"]
    assert Job.objects.count() == 1


# --- A real server ------------------------------------------------------------------------------

BURST_SECONDS = 2
CLIENTS = 3


def http(method, url, token=None, body=None, key=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    if key:
        headers["Idempotency-Key"] = key
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


@pytest.mark.slow
def test_a_real_server_answers_503_never_500_while_its_backends_are_terminated(
    committed, write_token, read_token, team_members
):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_api(port, database_url())
    read_url = f"{base}/v2/content/team_members/?auth_token={read_token}"
    answers = []  # (method, key, status, headers, body)
    stop = threading.Event()

    def client():
        while not stop.is_set():
            key = uuid.uuid4().hex
            body = {"key": "team_members", "status": "published", "fields": [{"name": key}]}
            answers.append(
                ("POST", key, *http("POST", f"{base}/v2/content/", write_token, body, key))
            )
            answers.append(("GET", None, *http("GET", read_url)))

    def terminator(killer):
        own = killer.execute("SELECT pg_backend_pid()").fetchone()[0]
        while not stop.is_set():
            killer.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> %s AND pid <> %s",
                [own, test_pid],
            )
            time.sleep(0.05)

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (test_pid,) = cursor.fetchone()
    try:
        wait_until_serving(port, server)
        with psycopg.connect(database_url(), autocommit=True) as killer:
            threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
            threads.append(threading.Thread(target=terminator, args=(killer,)))
            for thread in threads:
                thread.start()
            time.sleep(BURST_SECONDS)
            stop.set()
            for thread in threads:
                thread.join(60)
        statuses = [status for _, _, status, _, _ in answers]
        assert set(statuses) <= {200, 202, 503}, sorted(set(statuses))
        unavailable = [a for a in answers if a[2] == 503]
        assert unavailable, "no request was caught by a termination; nothing was tested"
        for _, _, _, headers, raw in unavailable:
            assert headers["Retry-After"] == "1"
            assert "connection to the database was lost" in json.loads(raw)["detail"]
        # The terminations over, the next requests succeed.
        assert http("GET", read_url)[0] == 200
        # Nothing half-written: each job has its Idempotency-Key row and each key its job,
        # and every write answered 503 is accepted once when sent again with its key.
        assert Job.objects.count() == IdempotencyKey.objects.count()
        posts = [(key, status) for method, key, status, _, _ in answers if method == "POST"]
        for key, status in posts:
            if status == 503:
                body = {"key": "team_members", "status": "published", "fields": [{"name": key}]}
                assert http("POST", f"{base}/v2/content/", write_token, body, key)[0] == 202
        assert Job.objects.count() == IdempotencyKey.objects.count() == len(posts)
    finally:
        stop.set()
        output = stop_api(server)
    assert "Unhandled API error" not in output, output
    print(f"{len(answers)} requests, {len(unavailable)} answered 503")
