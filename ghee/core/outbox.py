"""The outbox: side effects of a change, written as rows in the change's own transaction.

Whatever must happen because an item changed (webhook deliveries next) must not be lost
when a worker dies right after the commit, and must not happen for a change that rolled
back. So the change's transaction also inserts ``OutboxEvent`` rows (``record``), and a
worker later hands each due event to the handlers registered for its topic (``relay``),
through the lease machinery (claim, fence, retry with backoff, finish).

- ``register_events(topic, events, label=...)``: the app that records events on a topic
  declares their names once, in its ``AppConfig.ready``; other apps learn them from
  ``declared_topics()`` (webhooks offers them as subscriptions) instead of copying them.
- ``register_handler(topic, handler)``: an app registers in its ``AppConfig.ready``;
  ``register_handler(ANY_DECLARED_TOPIC, handler)`` handles every topic that declares its
  events, whichever app's ``ready`` runs first.
  Handlers of one event run together inside ONE transaction (a savepoint of the batch's)
  that also marks the event done: a handler that only writes rows (e.g. one delivery row
  per webhook endpoint, each sent later through its own lease) takes effect exactly once.
  A handler that raises rolls that savepoint back and the event is retried with backoff,
  up to ``GHEE_OUTBOX_MAX_ATTEMPTS``, then failed (``last_error`` says why). Do slow or
  outbound work in rows of your own, not in the handler: the batch's transaction is open.
- An event whose topic has no handler is written as already handled (``succeeded``): a
  record of what changed, pruned after ``GHEE_OUTBOX_RETENTION_DAYS`` like handled ones.
  So is an event of an organization that no handler listens to: a handler registered with
  ``listening`` (organization ids -> those it has work for, e.g. those with a webhook
  endpoint) is asked once per ``record`` call, so an organization without endpoints costs
  the relay nothing.

Handlers receive the ``OutboxEvent`` (``topic``, ``name``, ``organization_id``, ``data``,
``created_at``, ``attempts``): no app has to import the app that recorded the event.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connections, router, transaction
from django.utils import timezone

from ghee.core import db_health
from ghee.core.bulk_insert import insert_rows
from ghee.core.leases import LeaseQueue, LeaseStatus
from ghee.core.models import OutboxEvent

logger = logging.getLogger("ghee.outbox")

Handler = Callable[[OutboxEvent], None]
# topic -> handlers, filled by AppConfig.ready() before any request or worker loop.
_handlers: dict[str, list[Handler]] = {}
# handler -> which of some organization ids it has work for (handlers without one: all).
Listening = Callable[[set[int | None]], set[int | None]]
_listening: dict[Handler, Listening] = {}


@dataclass(frozen=True)
class Topic:
    """A topic's declared events: ``{event name: what it means}``; ``label`` names the topic."""

    name: str
    label: str
    events: dict[str, str]


# topic -> its declaration, filled by the recording app's AppConfig.ready().
_topics: dict[str, Topic] = {}
# Handlers of every declared topic (``register_handler(ANY_DECLARED_TOPIC, ...)``).
ANY_DECLARED_TOPIC = "*"

EVENT_LEASES = LeaseQueue(
    OutboxEvent,
    name="outbox",
    lease_seconds=lambda: settings.GHEE_OUTBOX_LEASE_SECONDS,
    max_attempts=lambda: settings.GHEE_OUTBOX_MAX_ATTEMPTS,
    error_fields=lambda message: {"last_error": message},
)


@dataclass(frozen=True)
class Event:
    """An event to record: ``topic`` picks the handlers, ``name`` says what happened."""

    topic: str
    name: str
    organization_id: int | None
    data: dict


def register_events(topic: str, events: dict[str, str], *, label: str) -> None:
    """Declare the events recorded on ``topic`` (``{name: what it means}``)."""
    _topics[topic] = Topic(topic, label, dict(events))


def declared_topics() -> list[Topic]:
    """Every declared topic with its events, in the order they were declared."""
    return list(_topics.values())


def _handlers_of(topic: str) -> list[Handler]:
    handlers = list(_handlers.get(topic, []))
    if topic in _topics:
        handlers += _handlers.get(ANY_DECLARED_TOPIC, [])
    return handlers


def register_handler(topic: str, handler: Handler, *, listening: Listening | None = None) -> None:
    handlers = _handlers.setdefault(topic, [])
    if handler not in handlers:
        handlers.append(handler)
    if listening is not None:
        _listening[handler] = listening


def unregister_handler(topic: str, handler: Handler) -> None:
    if handler in _handlers.get(topic, []):
        _handlers[topic].remove(handler)
    _listening.pop(handler, None)


def _listened(topic: str, organization_ids: set[int | None]) -> set[int | None]:
    """The organizations among ``organization_ids`` some handler of ``topic`` has work for."""
    handlers = _handlers_of(topic)
    if any(handler not in _listening for handler in handlers):
        return organization_ids
    found: set[int | None] = set()
    for handler in handlers:
        found |= _listening[handler](organization_ids)
    return found


_COLUMNS = (
    "topic",
    "name",
    "organization_id",
    "data",
    "created_at",
    "status",
    "finished_at",
    "attempts",
    "lease_token",
    "last_error",
)


def record(events: list[Event], now: datetime | None = None) -> None:
    """Insert ``events``; call it inside the transaction that makes the change."""
    if not events:
        return
    connection = connections[router.db_for_write(OutboxEvent)]
    db_now = OutboxEvent._meta.get_field("created_at").get_db_prep_save(
        now or timezone.now(), connection
    )
    data_field = OutboxEvent._meta.get_field("data")
    listened = {
        topic: _listened(topic, {e.organization_id for e in events if e.topic == topic})
        for topic in {event.topic for event in events}
    }
    rows = []
    for event in events:
        handled = event.organization_id not in listened[event.topic]
        rows.append(
            (
                event.topic,
                event.name,
                event.organization_id,
                data_field.get_db_prep_save(event.data, connection),
                db_now,
                LeaseStatus.SUCCEEDED.value if handled else LeaseStatus.PENDING.value,
                db_now if handled else None,
                0,
                "",
                "",
            )
        )
    insert_rows(OutboxEvent, _COLUMNS, rows)


def relay(limit: int | None = None) -> dict[str, int]:
    """Hand up to ``limit`` due events to their handlers; return what happened.

    The batch is started (attempt charged) in one commit and handled in one transaction,
    each event in its own savepoint: a handler that raises undoes only its event's work.
    """
    lease = EVENT_LEASES.claim(limit or settings.GHEE_OUTBOX_BATCH_SIZE)
    summary = {"handled": 0, "retrying": 0, "failed": 0}
    if not lease:
        return summary
    started = EVENT_LEASES.start(lease, lease.ids)
    with transaction.atomic():
        held = EVENT_LEASES.held(lease, started)  # the others were taken over: fenced
        for event in OutboxEvent.objects.filter(pk__in=held).order_by("pk"):
            summary[_handle(event, lease)] += 1
    return summary


def _handle(event: OutboxEvent, lease) -> str:
    try:
        with transaction.atomic():
            for handler in _handlers_of(event.topic):
                handler(event)
            EVENT_LEASES.finish(lease, event.pk, LeaseStatus.SUCCEEDED, last_error="")
        return "handled"
    except Exception as exc:
        if db_health.connection_lost(exc):
            raise  # not the handler's fault: the worker reconnects, the lease brings it back
        logger.exception("Outbox event %s (%s) failed", event.pk, event.name)
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if EVENT_LEASES.retry(lease, event.pk, event.attempts, last_error=error):
            return "retrying"
        return "failed"


def prune_events() -> dict[str, int]:
    """Chore: delete events finished more than ``GHEE_OUTBOX_RETENTION_DAYS`` ago."""
    cutoff = timezone.now() - timedelta(days=settings.GHEE_OUTBOX_RETENTION_DAYS)
    deleted, _ = OutboxEvent.objects.filter(
        status__in=[LeaseStatus.SUCCEEDED, LeaseStatus.FAILED], finished_at__lt=cutoff
    ).delete()
    return {"deleted": deleted}
