"""Fair background work: real `ghee worker` processes, a real receiver on 127.0.0.1.

Each round of the worker gives jobs, the outbox relay, webhook deliveries and chores a
share, so a job backlog cannot starve deliveries; an endpoint switched off with thousands
of deliveries owed has them failed in one statement, and a live endpoint beside it is not
kept waiting behind them.
"""

import json
import time

import pytest
from django.utils import timezone

from ghee.content.models import Job
from ghee.webhooks import services
from ghee.webhooks.models import Delivery
from tests.processes import start_worker, stop, wait_for
from tests.webhooks.conftest import add_endpoint, worker_env

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("allow_receiver")]


def owe(endpoint, count: int) -> None:
    """``count`` pending deliveries to ``endpoint``, as the relay would have written them."""
    body = json.dumps({"data": {}, "webhook": {"event": "collectionitem.published"}})
    Delivery.objects.bulk_create(
        Delivery(
            endpoint=endpoint,
            organization_id=endpoint.organization_id,
            event="collectionitem.published",
            message_id=f"msg_{endpoint.pk}_{n}",
            body=body,
        )
        for n in range(count)
    )


def post_backlog(api, token, jobs: int, items: int) -> None:
    for n in range(jobs):
        body = {"key": "team_members", "fields": [{"name": f"j{n}-{i}"} for i in range(items)]}
        response = api.post(
            "/v2/content/", body, format="json", HTTP_AUTHORIZATION=f"Token {token}"
        )
        assert response.status_code == 202


def test_deliveries_keep_flowing_during_a_job_backlog(
    api, committed, org, write_token, team_members, receiver
):
    url = receiver.hook("/hook", 200)
    endpoint, _ = add_endpoint(org, url)
    owe(endpoint, 48)
    owed = Delivery.objects.filter(pk__lte=Delivery.objects.latest("pk").pk)
    post_backlog(api, write_token, jobs=200, items=100)  # two claims of 100 jobs: 20,000 items
    sent = owed.filter(status="succeeded")
    worker = start_worker(**worker_env(receiver, GHEE_WEBHOOK_PER_ENDPOINT=16))
    try:
        assert wait_for(lambda: sent.count() == 48, 120), stop(worker)
        # Every owed delivery went out while the backlog was still being worked through.
        jobs_left = Job.objects.exclude(status="succeeded").count()
    finally:
        output = stop(worker)
    print(f"\n48 deliveries sent with {jobs_left} of 200 jobs (100 items each) still to do")
    assert jobs_left > 0, output
    assert worker.returncode == 0, output


def test_a_disabled_endpoints_backlog_does_not_hold_up_a_live_one(committed, org, receiver):
    dead = receiver.hook("/dead", 503)
    live = receiver.hook("/live", 200)
    switched_off, _ = add_endpoint(org, dead)
    healthy, _ = add_endpoint(org, live)
    owe(switched_off, 5000)  # the oldest rows: a claim reading oldest first meets them first
    owe(healthy, 40)
    # Switched off as `ghee webhook disable` and the dashboard do (no bulk failure there).
    services.update_endpoint(switched_off, is_active=False)
    worker = start_worker(**worker_env(receiver, GHEE_LOG_LEVEL="INFO"))
    started = time.monotonic()
    try:
        assert wait_for(
            lambda: Delivery.objects.filter(endpoint=healthy, status="succeeded").count() == 40,
            20,
        ), stop(worker)
        took = time.monotonic() - started
    finally:
        output = stop(worker)
    print(f"\n40 deliveries to the live endpoint sent {took:.1f}s after the worker started")
    withdrawn = Delivery.objects.filter(endpoint=switched_off)
    assert set(withdrawn.values_list("status", flat=True)) == {"failed"}, output
    assert set(withdrawn.values_list("attempts", flat=True)) == {0}
    assert set(withdrawn.values_list("last_error", flat=True)) == {
        "Not sent: the endpoint is disabled (disabled by hand)."
    }
    # One statement failed them all: one moment, not 5,000.
    assert withdrawn.values("finished_at").distinct().count() == 1
    assert receiver.at("/dead") == []
    assert withdrawn.first().finished_at <= timezone.now()
