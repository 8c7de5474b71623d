"""Delivery through real workers to a real receiver: retries, Retry-After, 410, timeouts,
an outage of a simulated hour, a worker killed mid-delivery, a dead endpoint beside a live
one, and an address the egress policy refuses."""

import signal
import threading
import time
from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from ghee.content.models import Job
from ghee.core.models import OutboxEvent
from ghee.webhooks.models import Attempt, Delivery, Endpoint
from tests.processes import start_worker, stop, wait_for
from tests.webhooks.conftest import add_endpoint, worker_env

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("committed", "allow_receiver")]


def publish(api, token, *names):
    response = api.post(
        "/v2/content/",
        {"key": "team_members", "status": "published", "fields": [{"name": n} for n in names]},
        format="json",
        HTTP_AUTHORIZATION=f"Token {token}",
    )
    assert response.status_code == 202


def finished(count: int):
    return lambda: Delivery.objects.filter(status__in=["succeeded", "failed"]).count() >= count


def attempts_of(delivery: Delivery) -> list[tuple]:
    return list(delivery.attempt_log.values_list("number", "status_code", "succeeded"))


def test_a_500_is_retried_until_it_succeeds_with_the_same_webhook_id(
    api, org, write_token, team_members, receiver
):
    url = receiver.hook("/hook", 500, (500, {}, b"still broken"), 200)
    _, secret = add_endpoint(org, url)
    publish(api, write_token, "Ann")
    worker = start_worker(**worker_env(receiver))
    try:
        assert wait_for(finished(1), timeout=30)
    finally:
        output = stop(worker)
    delivery = Delivery.objects.get()
    assert delivery.status == "succeeded", output
    assert attempts_of(delivery) == [(1, 500, False), (2, 500, False), (3, 200, True)]
    second = delivery.attempt_log.get(number=2)
    assert second.response_excerpt == "still broken" and second.error == "HTTP 500"
    requests = receiver.at("/hook")
    assert len(requests) == 3
    assert len({r.headers["webhook-id"] for r in requests}) == 1  # stable across retries
    assert all(r.body == requests[0].body for r in requests)
    for request in requests:
        request.verify(secret)
    assert Endpoint.objects.get().failing_since is None  # the success reset it


def test_retry_after_on_429_is_honoured(api, org, write_token, team_members, receiver):
    url = receiver.hook("/hook", (429, {"Retry-After": "2"}, b"slow down"), 200)
    add_endpoint(org, url)
    publish(api, write_token, "Ann")
    worker = start_worker(**worker_env(receiver))  # the schedule alone would retry in 0.2 s
    try:
        assert wait_for(finished(1), timeout=30)
    finally:
        stop(worker)
    first, second = receiver.at("/hook")
    # Timing is the contract: the retry waited out Retry-After (2 s), not the 0.2 s schedule.
    assert second.at - first.at >= 1.9
    assert attempts_of(Delivery.objects.get()) == [(1, 429, False), (2, 200, True)]


def test_410_disables_the_endpoint_and_its_other_deliveries_are_not_sent(
    api, org, write_token, team_members, receiver
):
    gone = receiver.hook("/gone", (410, {}, b"gone"))
    add_endpoint(org, gone)
    publish(api, write_token, "Ann", "Bob")  # two deliveries, sent one at a time below
    worker = start_worker(**worker_env(receiver, GHEE_WEBHOOK_PER_ENDPOINT="1"))
    try:
        assert wait_for(finished(2), timeout=30)
        publish(api, write_token, "Cy")  # after the 410: no delivery at all
        assert wait_for(lambda: Job.objects.filter(status="succeeded").count() == 2, timeout=30)
        assert wait_for(lambda: not OutboxEvent.objects.filter(status="pending").exists())
    finally:
        output = stop(worker)
    endpoint = Endpoint.objects.get()
    assert not endpoint.is_active, output
    assert endpoint.disabled_reason == "the receiver answered 410 Gone"
    first, second = Delivery.objects.order_by("id")
    assert (first.status, first.last_status_code, first.attempts) == ("failed", 410, 1)
    assert second.status == "failed" and "endpoint is disabled" in second.last_error
    assert second.attempts == 0 and not second.attempt_log.exists()
    assert len(receiver.at("/gone")) == 1


def test_an_answer_slower_than_the_timeout_fails_the_attempt(
    api, org, write_token, team_members, receiver
):
    release = threading.Event()

    def too_slow(request):
        release.wait(10)
        return 200

    url = receiver.hook("/slow", too_slow, 200)
    add_endpoint(org, url)
    publish(api, write_token, "Ann")
    worker = start_worker(**worker_env(receiver, GHEE_WEBHOOK_TIMEOUT="0.5"))
    try:
        assert wait_for(finished(1), timeout=30)
    finally:
        release.set()
        output = stop(worker)
    delivery = Delivery.objects.get()
    assert delivery.status == "succeeded", output
    first, second = delivery.attempt_log.all()
    assert first.status_code is None and first.error.startswith("timed out"), first.error
    assert second.succeeded
    assert len(receiver.at("/slow")) == 2


def test_a_receiver_down_for_an_hour_gets_everything_once_it_is_back(
    api, org, write_token, team_members, receiver
):
    """The real schedule (5 s, 5 min, 30 min, 2 h, ...); the clock is moved, not waited."""
    up = threading.Event()
    url = receiver.hook("/hook", lambda request: 200 if up.is_set() else 503)
    add_endpoint(org, url)
    publish(api, write_token, *[f"item {n}" for n in range(10)])
    env = worker_env(receiver, GHEE_WEBHOOK_RETRY_SCHEDULE="5,300,1800,7200,18000,36000,36000")
    worker = start_worker(**env)
    simulated = 0.0
    try:
        while True:
            # Wait until every delivery is parked until its next try, then move the clock
            # forward to the earliest one (every stored time moves back by that much).
            assert wait_for(
                lambda: Delivery.objects.filter(status="pending", attempts__gt=0).count() == 10,
                timeout=30,
            ), stop(worker)
            earliest = min(Delivery.objects.values_list("next_attempt_at", flat=True))
            step = max((earliest - timezone.now()).total_seconds(), 0)
            if simulated + step > 3600:
                break  # the next try falls after the hour
            simulated += step
            move_clock(step)
            assert wait_for(
                lambda: not Delivery.objects.filter(next_attempt_at__lte=timezone.now()).exists(),
                timeout=30,
            )
        down_attempts = Attempt.objects.count()
        up.set()
        parked = Delivery.objects.filter(status="pending")
        move_clock(max((d.next_attempt_at - timezone.now()).total_seconds() for d in parked))
        assert wait_for(finished(10), timeout=30)
    finally:
        output = stop(worker)
    assert set(Delivery.objects.values_list("status", flat=True)) == {"succeeded"}, output
    # Tries at 0 s, 5 s, 5 min and 35 min failed inside the hour; the next one, after it, worked.
    assert down_attempts == 10 * 4
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {5}
    ok = [r for r in receiver.at("/hook") if up.is_set()]
    ids = [r.headers["webhook-id"] for r in receiver.at("/hook")][-10:]
    assert len(set(ids)) == 10 and len(ok) >= 10
    endpoint = Endpoint.objects.get()
    assert endpoint.is_active and endpoint.failing_since is None


def move_clock(seconds: float) -> None:
    """As if ``seconds`` passed: every time the deliveries and endpoints hold moves back."""
    delta = timedelta(seconds=seconds)
    Delivery.objects.filter(next_attempt_at__isnull=False).update(
        next_attempt_at=F("next_attempt_at") - delta
    )
    Endpoint.objects.filter(failing_since__isnull=False).update(
        failing_since=F("failing_since") - delta
    )


def test_an_endpoint_failing_for_five_days_is_disabled(
    api, org, write_token, team_members, receiver
):
    url = receiver.hook("/hook", 500)
    add_endpoint(org, url)
    publish(api, write_token, "Ann")
    worker = start_worker(**worker_env(receiver, GHEE_WEBHOOK_RETRY_SCHEDULE="0.5,0.5,0.5"))
    try:
        assert wait_for(lambda: Attempt.objects.exists(), timeout=30)
        move_clock(5 * 24 * 3600)  # the endpoint has been failing for five days
        assert wait_for(finished(1), timeout=30)
    finally:
        output = stop(worker)
    endpoint = Endpoint.objects.get()
    assert not endpoint.is_active, output
    assert endpoint.disabled_reason == "every delivery failed for 5 days"
    assert Delivery.objects.get().status == "failed"


def test_a_worker_killed_mid_delivery_redelivers_the_same_webhook_id(
    api, org, write_token, team_members, receiver
):
    hung = threading.Event()
    release = threading.Event()

    def hang_first(request):
        hung.set()
        release.wait(30)
        return None  # never answers: the worker dies first

    url = receiver.hook("/hook", hang_first, 200)
    _, secret = add_endpoint(org, url)
    publish(api, write_token, "Ann")
    env = worker_env(receiver, GHEE_WEBHOOK_LEASE_SECONDS="2", GHEE_WEBHOOK_TIMEOUT="20")
    first = start_worker(**env)
    try:
        assert hung.wait(30), stop(first)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        release.set()
    second = start_worker(**env)
    try:
        assert wait_for(finished(1), timeout=30)
    finally:
        output = stop(second)
    delivery = Delivery.objects.get()
    assert delivery.status == "succeeded", output
    killed, redelivered = receiver.at("/hook")
    assert killed.headers["webhook-id"] == redelivered.headers["webhook-id"]
    assert killed.body == redelivered.body
    redelivered.verify(secret)
    # The killed attempt was charged (the worker started it) but never logged an answer.
    assert delivery.attempts == 2
    assert attempts_of(delivery) == [(2, 200, True)]


def test_an_endpoint_that_never_answers_does_not_delay_another(
    api, org, write_token, team_members, receiver
):
    release = threading.Event()
    hanging: list[float] = []

    def never(request):
        hanging.append(time.monotonic())
        release.wait(60)

    dead = receiver.hook("/dead", never)
    live = receiver.hook("/live", 200)
    add_endpoint(org, dead)  # created first: its deliveries are the oldest of each event
    add_endpoint(org, live)
    publish(api, write_token, *[f"item {n}" for n in range(20)])
    env = worker_env(
        receiver,
        GHEE_WEBHOOK_TIMEOUT="30",
        GHEE_WEBHOOK_LEASE_SECONDS="60",
        GHEE_WEBHOOK_CONCURRENCY="4",
        GHEE_WEBHOOK_PER_ENDPOINT="2",
        # urllib3 reads with the connect timeout: keep it from ending the hang first.
        GHEE_EGRESS_CONNECT_TIMEOUT="30",
    )
    live_done = Delivery.objects.filter(endpoint__url=live, status="succeeded")
    worker = start_worker(**env)
    try:
        assert wait_for(lambda: live_done.count() == 20, timeout=25), stop(worker)
        # All 20 went out while the dead endpoint's first requests were still hanging, and it
        # never held more than its per-endpoint share of the worker's threads.
        assert len(receiver.at("/dead")) == 2
        assert len(hanging) == 2
    finally:
        release.set()
        stop(worker)


def test_a_receiver_on_a_blocked_address_is_refused(api, org, write_token, team_members, receiver):
    url = receiver.hook("/hook", 200)
    add_endpoint(org, url)  # allowed here (tests allow loopback); the worker below does not
    publish(api, write_token, "Ann")
    env = worker_env(receiver)
    del env["GHEE_EGRESS_ALLOW_NETWORKS"]  # unset: public addresses only (empty stops ghee)
    worker = start_worker(**env)
    try:
        assert wait_for(finished(1), timeout=30)
    finally:
        output = stop(worker)
    delivery = Delivery.objects.get()
    assert delivery.status == "failed", output
    (attempt,) = delivery.attempt_log.all()
    assert attempt.error.startswith("blocked address: 127.0.0.1 is not a public address (to")
    assert attempt.status_code is None
    assert receiver.at("/hook") == []
