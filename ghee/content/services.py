"""Accepting writes: the Job row (and Idempotency-Key record) in ONE transaction.

A 202 goes out only after ``accept_job`` returned, i.e. after the Job row committed: an
accepted write cannot be lost, and a request that fails before the commit never answers
202. Nothing is enqueued here (a django-tasks ``enqueue()`` per request halves the accept
rate); the worker's dispatcher finds new rows (``jobs.py``).
"""

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from ghee.accounts.models import ApiToken

from .choices import JobKind
from .models import IdempotencyKey, Item, Job
from .validation import CompiledSchema

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


def accept_job(
    *,
    token: ApiToken,
    schema: CompiledSchema,
    kind: str,
    payload: dict,
    item_id: int | None = None,
    idempotency: IdempotencyRequest | None = None,
    retry_expired_key: bool = False,
) -> Accepted:
    """Store an accepted write as a pending Job; DELETE also hides the item at once.

    Raises ItemNotFound (nothing written) for a change to an item that is gone, and
    IdempotencyKeyReused when a concurrent request took the key with another body.
    """
    now = timezone.now()
    status_code, body = (204, None) if kind == JobKind.DELETE else (202, PENDING_BODY)
    try:
        with transaction.atomic():
            if item_id is not None:
                _lock_live_item(schema, item_id, delete=kind == JobKind.DELETE, now=now)
            job = Job.objects.create(
                organization_id=schema.organization_id,
                token=token,
                collection_id=schema.collection_id,
                item_id=item_id,
                kind=kind,
                payload=payload,
            )
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
                    job=job,
                    expires_at=now + timedelta(seconds=settings.GHEE_IDEMPOTENCY_TTL_SECONDS),
                )
    except (IntegrityError, ItemNotFound) as exc:
        # A concurrent request with the same key won (the unique constraint, or it deleted
        # the item first): answer as it did.
        replay = find_replay(token, idempotency)
        if replay is not None:
            return replay
        if isinstance(exc, IntegrityError) and idempotency and not retry_expired_key:
            return accept_job(
                token=token,
                schema=schema,
                kind=kind,
                payload=payload,
                item_id=item_id,
                idempotency=idempotency,
                retry_expired_key=True,
            )
        raise
    return Accepted(status_code, body, job.pk)


def _lock_live_item(schema: CompiledSchema, item_id: int, *, delete: bool, now) -> None:
    live = Item.objects.filter(
        pk=item_id, collection_id=schema.collection_id, deleted_at__isnull=True
    )
    if delete:
        # Hidden from reads as of this commit; the job does the rest.
        if not live.update(deleted_at=now):
            raise ItemNotFound()
        return
    if connection.features.has_select_for_update:
        live = live.select_for_update()
    if not list(live.values_list("pk", flat=True)[:1]):
        raise ItemNotFound()
