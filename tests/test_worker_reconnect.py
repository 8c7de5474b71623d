"""A worker whose PostgreSQL backend is terminated in the middle of a claim reconnects.

Each kind of work the worker claims (jobs, outbox events, webhook deliveries, chores) is
caught in the act: the test locks that table against row locks and writes (plain reads still
pass, so the claim gets as far as its transaction), waits until the worker's claim is
blocked on the lock, terminates that backend with ``pg_terminate_backend`` and lets go. The
worker must log the lost connection, reconnect, and finish the work, never exit.
"""

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from ghee.content.models import Job
from ghee.core.models import ChoreRun, OutboxEvent
from ghee.webhooks.models import Delivery
from tests.conftest import post_job
from tests.processes import database_url, output_of, postgres_only, start_worker, stop, wait_for
from tests.webhooks.conftest import add_endpoint, worker_env
from tests.webhooks.receiver import Receiver

pytestmark = [pytest.mark.slow, postgres_only]


def blocked_backend(table: str) -> int | None:
    """The pid of a backend waiting for a lock on ``table`` (the worker's claim), if any."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.pid FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid "
            "WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() "
            "AND NOT l.granted AND l.relation = %s::regclass",
            [table],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def terminate_during_claim(worker, table: str) -> None:
    """Hold ``table`` so the worker's claim waits on it, then terminate the worker's backend."""
    with psycopg.connect(database_url()) as holder:
        holder.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
        pids = []
        assert wait_for(lambda: pids.append(blocked_backend(table)) or pids[-1], 30), output_of(
            worker
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pids[-1]])
        holder.rollback()


def job_work(api, write_token, receiver):
    post_job(api, write_token, "caught")
    return lambda: Job.objects.filter(status="succeeded").count() == 1


def outbox_work(api, write_token, receiver):
    event = OutboxEvent.objects.create(topic="nobody", name="n", created_at=timezone.now())
    return lambda: OutboxEvent.objects.get(pk=event.pk).status == "succeeded"


def delivery_work(api, write_token, receiver):
    from ghee.accounts.models import Organization
    from ghee.webhooks import services

    endpoint, _ = add_endpoint(Organization.objects.get(), receiver.hook("/hook", 200))
    services.send_test_event(endpoint)
    return lambda: Delivery.objects.filter(status="succeeded").count() == 1


def chore_work(api, write_token, receiver):
    return lambda: ChoreRun.objects.filter(last_run_at__isnull=False).count() >= 3


@pytest.mark.parametrize(
    ("table", "work"),
    [
        ("content_job", job_work),
        ("core_outboxevent", outbox_work),
        ("webhooks_delivery", delivery_work),
        ("core_chorerun", chore_work),
    ],
    ids=["jobs", "outbox relay", "webhook deliveries", "chores"],
)
def test_a_worker_reconnects_when_its_backend_is_terminated_during_a_claim(
    api, committed, settings, write_token, team_members, table, work
):
    receiver = Receiver()
    settings.GHEE_EGRESS_ALLOW_NETWORKS = ["127.0.0.0/8"]  # the endpoint is added here
    settings.GHEE_EGRESS_ALLOW_PORTS = [receiver.port]
    try:
        done = work(api, write_token, receiver)
        env = worker_env(receiver, GHEE_WORKER_RECONNECT_MAX_SECONDS=1, GHEE_LOG_LEVEL="INFO")
        worker = start_worker(**env)
        try:
            terminate_during_claim(worker, table)
            assert wait_for(done, 30), output_of(worker)
            assert worker.poll() is None, output_of(worker)
        finally:
            output = stop(worker)
    finally:
        receiver.close()
    assert worker.returncode == 0, output
    assert "Lost the database connection" in output, output
    assert "Connected to the database again" in output, output
    assert "Traceback" not in output, output
