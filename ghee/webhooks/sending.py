"""Sending deliveries: claim, sign, POST through the egress client, record, retry.

A worker calls ``DeliverySender.step()`` in each round (its deliveries' share). The step
records the sends that finished, claims due deliveries through the lease machinery and
hands each to a thread of a bounded pool, then returns at once: the worker's round (jobs,
the outbox, chores) never waits for a receiver. Three rules keep one slow, dead or disabled
endpoint from delaying the others:

- at most ``GHEE_WEBHOOK_CONCURRENCY`` deliveries in flight per worker (the pool's size);
- at most ``GHEE_WEBHOOK_PER_ENDPOINT`` held per endpoint across all workers: the claim
  (``delivery_leases``) skips endpoints at that cap, so a dead endpoint holds at most that
  many slots, for at most ``GHEE_WEBHOOK_TIMEOUT`` each, while every other endpoint's
  deliveries are claimed beside them;
- a disabled endpoint's unsent deliveries fail in one statement, never taking a slot.

Each attempt re-checks the endpoint's address (``ghee.core.egress``: resolved and checked on
every call; redirects are not followed, a 3xx is a failure). A 2xx within
``GHEE_WEBHOOK_TIMEOUT`` is success. Otherwise the attempt is logged and the delivery retried
on ``GHEE_WEBHOOK_RETRY_SCHEDULE`` with jitter, not sooner than a 429's or 503's
``Retry-After``; a 410 disables the endpoint, and so does failing continuously for
``GHEE_WEBHOOK_DISABLE_AFTER_DAYS``. A worker that dies mid-delivery leaves the row leased;
when the lease lapses another worker sends it again with the same ``webhook-id``.
"""

import logging
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

import ghee
from ghee.core import egress
from ghee.core.leases import Lease, LeaseStatus
from ghee.core.retry_after import retry_after_seconds
from ghee.webhooks import signing
from ghee.webhooks.choices import TEST_EVENT
from ghee.webhooks.delivery_leases import DELIVERY_LEASES
from ghee.webhooks.models import Attempt, Delivery, Endpoint
from ghee.webhooks.services import disable_endpoint, signing_keys
from ghee.webhooks.signing_secrets import SecretUnreadable

logger = logging.getLogger("ghee.webhooks")

EXCERPT_BYTES = 1024  # of each answer, kept in the attempt log (never the whole body)
MAX_RETRY_AFTER = 24 * 3600.0  # a receiver cannot park a delivery for longer than a day
USER_AGENT = f"ghee-webhooks/{ghee.__version__}"


# --- Claim -----------------------------------------------------------------------------------


def claim(limit: int, only: list[int] | None = None) -> tuple[Lease, list[Delivery]]:
    """Lease and start up to ``limit`` due deliveries (among ``only``, if given).

    The lease machinery's claim (``delivery_leases``): oldest first, at most
    ``GHEE_WEBHOOK_PER_ENDPOINT`` held per endpoint, deliveries of disabled endpoints
    (other than test events) failed unsent in one statement rather than handed out.
    """
    lease = DELIVERY_LEASES.claim(limit, only=only)
    if not lease:
        return lease, []
    deliveries = list(
        Delivery.objects.filter(pk__in=lease.ids, lease_token=lease.token)
        .select_related("endpoint")
        .order_by("pk")
    )
    # Disabled since the claim read it: given back unstarted, and withdrawn with the rest.
    off = [d.pk for d in deliveries if not d.endpoint.is_active and d.event != TEST_EVENT]
    if off:
        DELIVERY_LEASES.release(lease, off, 0)
        DELIVERY_LEASES.withdraw(Q(pk__in=off))
    started = DELIVERY_LEASES.start(lease, [d.pk for d in deliveries if d.pk not in off])
    claimed = [d for d in deliveries if d.pk in started]
    for delivery in claimed:
        delivery.attempts += 1  # as ``start`` charged it
    return lease, claimed


# --- One attempt -----------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one HTTP attempt came to."""

    status_code: int | None = None
    latency_ms: int = 0
    excerpt: str = ""
    error: str = ""
    retry_after: float = 0.0
    retryable: bool = True

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def request_headers(delivery: Delivery, body: bytes, timestamp: int) -> dict[str, str]:
    """Custom headers first, then ghee's own (custom ones cannot replace them)."""
    return {
        **delivery.endpoint.headers,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **signing.headers(signing_keys(delivery.endpoint), delivery.message_id, timestamp, body),
    }


def attempt(delivery: Delivery) -> Outcome:
    """POST the delivery once; never raises for what the receiver or network did."""
    body = delivery.body.encode()
    started = time.monotonic()
    outcome = Outcome()
    try:
        headers = request_headers(delivery, body, int(time.time()))
        with egress.open_url(
            delivery.endpoint.url,
            purpose="webhook delivery",
            method="POST",
            headers=headers,
            body=body,
            max_redirects=0,
            timeout=settings.GHEE_WEBHOOK_TIMEOUT,
        ) as response:
            outcome.status_code = response.status
            excerpt = b""
            for chunk in response.iter_bytes():
                excerpt += chunk
                if len(excerpt) >= EXCERPT_BYTES:
                    break
            outcome.excerpt = excerpt[:EXCERPT_BYTES].decode("utf-8", errors="replace")
            if response.status in (429, 503):
                outcome.retry_after = retry_after_seconds(
                    response.headers.get("Retry-After"), MAX_RETRY_AFTER
                )
    except egress.EgressError as exc:
        outcome.error = str(exc)
        outcome.retryable = exc.retryable or isinstance(exc, egress.TLSFailed)
    except SecretUnreadable as exc:
        outcome.error = str(exc)
    if outcome.status_code is not None and not outcome.succeeded:
        outcome.error = outcome.error or f"HTTP {outcome.status_code}"
        outcome.retryable = outcome.status_code != 410  # Gone: the receiver is no more
    outcome.latency_ms = int((time.monotonic() - started) * 1000)
    return outcome


@dataclass
class Sent:
    """One finished attempt waiting to be recorded: the row, its lease, what came of it."""

    lease: Lease
    delivery: Delivery
    outcome: Outcome
    attempted_at: datetime


def send(lease: Lease, delivery: Delivery) -> Sent:
    """One attempt, no database: what the sender's threads run."""
    attempted_at = timezone.now()
    return Sent(lease, delivery, attempt(delivery), attempted_at)


def record(results: list[Sent]) -> dict[str, str]:
    """Log the attempts and move their deliveries on, in one transaction, fenced.

    The common case, a 2xx, costs one attempt row and one ``UPDATE`` per delivery
    (``finish_many``); failures take the slower path of ``_record_failure``. Returns each
    delivery's result by id: succeeded | retrying | failed | lost (another worker took it).
    """
    results_by_id: dict[int, str] = {}
    if not results:
        return results_by_id
    with transaction.atomic():
        held: set[int] = set()
        for lease_token in {sent.lease.token for sent in results}:
            batch = [sent for sent in results if sent.lease.token == lease_token]
            held |= DELIVERY_LEASES.held(batch[0].lease, [sent.delivery.pk for sent in batch])
        mine = [sent for sent in results if sent.delivery.pk in held]
        for sent in results:
            if sent.delivery.pk not in held:
                results_by_id[sent.delivery.pk] = "lost"
        Attempt.objects.bulk_create(
            Attempt(
                delivery=sent.delivery,
                number=sent.delivery.attempts,
                attempted_at=sent.attempted_at,
                status_code=sent.outcome.status_code,
                latency_ms=sent.outcome.latency_ms,
                response_excerpt=sent.outcome.excerpt,
                error=sent.outcome.error[:2000],
                succeeded=sent.outcome.succeeded,
            )
            for sent in mine
        )
        succeeded = [sent for sent in mine if sent.outcome.succeeded]
        for lease_token in {sent.lease.token for sent in succeeded}:
            batch = [sent for sent in succeeded if sent.lease.token == lease_token]
            DELIVERY_LEASES.finish_many(
                batch[0].lease,
                LeaseStatus.SUCCEEDED,
                [
                    (
                        sent.delivery.pk,
                        {"last_status_code": sent.outcome.status_code, "last_error": ""},
                    )
                    for sent in batch
                ],
            )
        if succeeded:
            Endpoint.objects.filter(
                pk__in={sent.delivery.endpoint_id for sent in succeeded},
                failing_since__isnull=False,
            ).update(failing_since=None)
        results_by_id.update((sent.delivery.pk, "succeeded") for sent in succeeded)
        for sent in mine:
            if not sent.outcome.succeeded:
                results_by_id[sent.delivery.pk] = _record_failure(sent)
    for sent in results:
        _log(sent, results_by_id[sent.delivery.pk])
    return results_by_id


def _record_failure(sent: Sent) -> str:
    """Retry, fail, or disable the endpoint (410, or failing for days); inside ``record``."""
    lease, delivery, outcome = sent.lease, sent.delivery, sent.outcome
    fields = {"last_status_code": outcome.status_code, "last_error": outcome.error[:2000]}
    if delivery.event == TEST_EVENT:  # a test says how the endpoint answers; no retries
        DELIVERY_LEASES.finish(lease, delivery.pk, LeaseStatus.FAILED, **fields)
        return "failed"
    now = timezone.now()
    endpoint = Endpoint.objects.filter(pk=delivery.endpoint_id)
    endpoint.filter(failing_since__isnull=True).update(failing_since=now)
    days = settings.GHEE_WEBHOOK_DISABLE_AFTER_DAYS
    reason = ""
    if outcome.status_code == 410:
        reason = "the receiver answered 410 Gone"
    elif endpoint.filter(failing_since__lte=now - timedelta(days=days)).exists():
        reason = f"every delivery failed for {days:g} days"
    if reason:
        if disable_endpoint(delivery.endpoint_id, reason):
            logger.warning("Disabled webhook endpoint %s: %s", delivery.endpoint_id, reason)
        DELIVERY_LEASES.finish(lease, delivery.pk, LeaseStatus.FAILED, **fields)
        return "failed"
    if not outcome.retryable:
        DELIVERY_LEASES.finish(lease, delivery.pk, LeaseStatus.FAILED, **fields)
        return "failed"
    if DELIVERY_LEASES.retry(
        lease, delivery.pk, delivery.attempts, at_least=outcome.retry_after, **fields
    ):
        return "retrying"
    return "failed"


def _log(sent: Sent, result: str) -> None:
    outcome = sent.outcome
    logger.log(
        logging.DEBUG if outcome.succeeded else logging.INFO,
        "Webhook delivery %s (%s) to endpoint %s: %s, %s ms, %s%s",
        sent.delivery.pk,
        sent.delivery.event,
        sent.delivery.endpoint_id,
        outcome.status_code or "no answer",
        outcome.latency_ms,
        result,
        f": {outcome.error}" if outcome.error else "",
    )


def deliver(lease: Lease, delivery: Delivery) -> str:
    """One attempt of one started delivery, recorded: succeeded | retrying | failed | lost."""
    return record([send(lease, delivery)])[delivery.pk]


def deliver_now(delivery: Delivery) -> tuple[str, Delivery]:
    """Send one delivery in this process (``ghee webhook test``); "queued" if it is busy."""
    lease, claimed = claim(1, only=[delivery.pk])
    if not claimed:
        return "queued", delivery
    result = deliver(lease, claimed[0])
    return result, Delivery.objects.get(pk=delivery.pk)


# --- The worker's part -----------------------------------------------------------------------


class DeliverySender:
    """The deliveries one worker has in flight, on a pool of ``concurrency`` threads.

    The threads only send (HTTP, no database); the worker's own thread records what they
    sent, many results per transaction, then claims as many deliveries as threads are free.
    """

    def __init__(self, concurrency: int | None = None) -> None:
        self.concurrency = concurrency or settings.GHEE_WEBHOOK_CONCURRENCY
        self.pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="ghee-webhook")
        self.in_flight: dict[Future, int] = {}
        self.sent = 0

    def step(self) -> dict[str, int]:
        """Record finished sends, then claim as many due deliveries as there are free threads."""
        recorded = self._record_finished()
        free = self.concurrency - len(self.in_flight)
        if free <= 0:
            return {"recorded": recorded, "started": 0}
        lease, deliveries = claim(free)
        for delivery in deliveries:
            self.in_flight[self.pool.submit(send, lease, delivery)] = delivery.pk
        return {"recorded": recorded, "started": len(deliveries)}

    def wait(self, timeout: float) -> None:
        """Sleep up to ``timeout``, waking as soon as a send finishes (a thread is free)."""
        if self.in_flight:
            wait(list(self.in_flight), timeout=timeout, return_when=FIRST_COMPLETED)
        else:
            time.sleep(timeout)

    def close(self, timeout: float | None = None) -> None:
        """Let sends in flight finish (bounded by the webhook timeout), record them, stop."""
        if self.in_flight:
            limit = settings.GHEE_WEBHOOK_TIMEOUT + 5 if timeout is None else timeout
            wait(list(self.in_flight), timeout=limit)
        try:
            self._record_finished()
        finally:
            self.pool.shutdown(wait=False, cancel_futures=True)

    def _record_finished(self) -> int:
        done = [future for future in self.in_flight if future.done()]
        results = []
        for future in done:
            del self.in_flight[future]
            if future.exception() is not None:  # a bug: the lease lapses and it is sent again
                logger.error("Webhook send failed", exc_info=future.exception())
            else:
                results.append(future.result())
        record(results)
        self.sent += len(results)
        return len(results)
