"""Accepting writes: the Job row (and Idempotency-Key record) in ONE transaction.

A 202 goes out only after ``accept_job`` returned, i.e. after the Job row committed: an
accepted write cannot be lost, and a request that fails before the commit never answers
202. Nothing is enqueued here (a task-queue ``enqueue()`` per request halved the accept
rate); workers claim new rows themselves (``jobs.py``).

On SQLite a write waits at most ``GHEE_SQLITE_WRITE_TIMEOUT`` for the write lock; if another
process holds it longer (a stalled worker, a long migration), ``accept_job`` raises
``DatabaseBusy``: a 503 with ``Retry-After``, and nothing was accepted.
"""

import functools
import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, connections, router, transaction
from django.utils import timezone

from ghee.accounts.models import ApiToken
from ghee.content.choices import JobKind, JobStatus
from ghee.content.models import IdempotencyKey, Item, ItemLocale, Job
from ghee.content.schema.compiled import CompiledSchema
from ghee.core.db_health import DatabaseBusy, database_busy

PENDING_BODY = {"status": "pending"}


class ItemNotFound(Exception):
    """No live item with that id in that collection."""


class IdempotencyKeyReused(Exception):
    """The Idempotency-Key was used before with a different request."""


@dataclass(frozen=True)
class IdempotencyRequest:
    key: str
    fingerprint: str


@dataclass(frozen=True)
class Accepted:
    status_code: int
    body: dict | None
    job_id: int


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256(f"{method} {path.rstrip('/')}\n".encode())
    digest.update(body)
    return digest.hexdigest()


def find_replay(token: ApiToken, idempotency: IdempotencyRequest | None) -> Accepted | None:
    """The stored response for this key, or None; IdempotencyKeyReused on another body."""
    if idempotency is None:
        return None
    row = (
        IdempotencyKey.objects.filter(
            token=token, key=idempotency.key, expires_at__gt=timezone.now()
        )
        .only("fingerprint", "status_code", "response_body", "job_id")
        .first()
    )
    if row is None:
        return None
    if row.fingerprint != idempotency.fingerprint:
        raise IdempotencyKeyReused()
    return Accepted(row.status_code, row.response_body, row.job_id)


def item_exists(schema: CompiledSchema, item_id: int) -> bool:
    return Item.objects.filter(
        pk=item_id, collection_id=schema.collection_id, deleted_at__isnull=True
    ).exists()


def accept_job(**kwargs) -> Accepted:
    """Store an accepted write (``_accept``); SQLite's write lock taken too long: 503."""
    try:
        return _accept(**kwargs)
    except OperationalError as exc:
        if database_busy(exc):
            raise DatabaseBusy() from exc
        raise


def _accept(
    *,
    token: ApiToken | None,
    schema: CompiledSchema,
    kind: str,
    payload: dict,
    item_id: int | None = None,
    idempotency: IdempotencyRequest | None = None,
    retry_expired_key: bool = False,
    editor: str | None = None,
) -> Accepted:
    """Store an accepted write as a pending Job; DELETE also hides the item at once.

    ``token`` is the write token of an API request, None for a dashboard user's write;
    ``editor`` names who asked (default: the token's name), as webhook payloads say it.

    Raises ItemNotFound (nothing written) for a change to an item that is gone, and
    IdempotencyKeyReused when a concurrent request took the key with another body.
    """
    now = timezone.now()
    status_code, body = (204, None) if kind == JobKind.DELETE else (202, PENDING_BODY)
    if item_id is None and idempotency is None:
        # One statement is its own transaction (autocommit): durable when it returns.
        job_id = _insert_job(schema, token, kind, payload, item_id, now, editor)
        return Accepted(status_code, body, job_id)
    try:
        with transaction.atomic():
            if item_id is not None:
                _lock_live_item(schema, item_id, delete=kind == JobKind.DELETE, now=now)
            job_id = _insert_job(schema, token, kind, payload, item_id, now, editor)
            if idempotency is not None:
                if retry_expired_key:
                    # An expired record of the same key makes room for the new one.
                    IdempotencyKey.objects.filter(
                        token=token, key=idempotency.key, expires_at__lte=now
                    ).delete()
                IdempotencyKey.objects.create(
                    token=token,
                    key=idempotency.key,
                    fingerprint=idempotency.fingerprint,
                    status_code=status_code,
                    response_body=body,
                    job_id=job_id,
                    expires_at=now + timedelta(seconds=settings.GHEE_IDEMPOTENCY_TTL_SECONDS),
                )
    except (IntegrityError, ItemNotFound) as exc:
        # A concurrent request with the same key won (the unique constraint, or it deleted
        # the item first): answer as it did.
        replay = find_replay(token, idempotency)
        if replay is not None:
            return replay
        if isinstance(exc, IntegrityError) and idempotency and not retry_expired_key:
            return _accept(
                token=token,
                schema=schema,
                kind=kind,
                payload=payload,
                item_id=item_id,
                idempotency=idempotency,
                retry_expired_key=True,
                editor=editor,
            )
        raise
    return Accepted(status_code, body, job_id)


_JOB_COLUMNS = (
    "organization_id",
    "token_id",
    "collection_id",
    "item_id",
    "kind",
    "editor",
    "status",
    "payload",
    "result",
    "errors",
    "attempts",
    "lease_token",
    "created_at",
    "updated_at",
)


def _insert_job(schema, token, kind, payload, item_id, now, editor) -> int:
    """INSERT the Job row with one prepared statement.

    This is the one write of the accept path; building a model instance and letting the
    ORM compile the INSERT cost more than the database's own work (profiled).
    """
    db = router.db_for_write(Job)
    conn = connections[db]
    if not conn.features.can_return_columns_from_insert:  # pragma: no cover
        return (
            Job.objects.using(db)
            .create(
                organization_id=schema.organization_id,
                token=token,
                collection_id=schema.collection_id,
                item_id=item_id,
                kind=kind,
                editor=_editor(token, editor),
                payload=payload,
            )
            .pk
        )
    fields = Job._meta
    db_now = fields.get_field("created_at").get_db_prep_save(now, conn)
    json_field = fields.get_field("payload")
    values = (
        schema.organization_id,
        token.pk if token is not None else None,
        schema.collection_id,
        item_id,
        kind,
        _editor(token, editor),
        JobStatus.PENDING.value,
        json_field.get_db_prep_save(payload, conn),
        json_field.get_db_prep_save({}, conn),
        json_field.get_db_prep_save([], conn),
        0,
        "",
        db_now,
        db_now,
    )
    with conn.cursor() as cursor:
        cursor.execute(_insert_job_sql(db), values)
        return cursor.fetchone()[0]


def _editor(token: ApiToken | None, editor: str | None) -> str:
    if editor is not None:
        return editor[:200]
    return token.name if token is not None else ""


@functools.cache
def _insert_job_sql(db: str) -> str:
    quote = connections[db].ops.quote_name
    columns = ", ".join(quote(column) for column in _JOB_COLUMNS)
    placeholders = ", ".join(["%s"] * len(_JOB_COLUMNS))
    return (
        f"INSERT INTO {quote(Job._meta.db_table)} ({columns}) VALUES ({placeholders}) "  # noqa: S608
        f"RETURNING {quote('id')}"
    )


def _lock_live_item(schema: CompiledSchema, item_id: int, *, delete: bool, now) -> None:
    live = Item.objects.filter(
        pk=item_id, collection_id=schema.collection_id, deleted_at__isnull=True
    )
    if delete:
        # Hidden from reads as of this commit (reads filter on the locale versions'
        # denormalised flag); the job does the rest.
        if not live.update(deleted_at=now):
            raise ItemNotFound()
        ItemLocale.objects.filter(item_id=item_id).update(is_deleted=True)
        return
    if connection.features.has_select_for_update:
        live = live.select_for_update()
    if not list(live.values_list("pk", flat=True)[:1]):
        raise ItemNotFound()
