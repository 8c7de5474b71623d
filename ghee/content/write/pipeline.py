"""What a job does, in stages: prepare -> apply -> finish.

- ``prepare`` runs before the database transaction and may do slow or outbound work: it
  downloads the job's media URLs into checked temporary files (``write/media.py``).
- ``apply`` runs inside the transaction that also marks the job finished (``jobs.py``):
  it stores the downloaded files as media assets and points the values at them, then
  writes items, locale versions and index rows, AND the outbox rows that say what
  changed (one ``collectionitem.*`` event per item and locale, ``ghee.core.outbox``). It
  raises ``JobFailed`` for a problem that retrying cannot fix (e.g. a referenced item was
  deleted after the 202).
- ``finish`` (``jobs.py``) marks the job succeeded or failed in that same transaction,
  fenced by its lease.

There is no after-commit stage on purpose: work done after the commit is lost when the
worker dies between the commit and that work. Whatever must follow a change (webhook
deliveries next) is an outbox row written by ``apply``, which commits or rolls back with
the change; a worker relays it later (``ghee.core.outbox.relay``), retrying until it is
handled.
"""

import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connections, router

from ghee.content.choices import ItemStatus, JobKind
from ghee.content.models import Item, ItemLocale, Job
from ghee.content.schema.compiled import CompiledSchema
from ghee.content.write import media
from ghee.content.write.indexing import drop_item_index, insert_index_rows, reindex
from ghee.content.write.indexing import index_rows as _index_rows
from ghee.content.write.validation import missing_reference_message, missing_references
from ghee.core import outbox
from ghee.core.bulk_insert import insert_rows


class JobFailed(Exception):
    """The job cannot succeed; ``errors`` are ``[{"index", "locale", "field", "message"}]``."""

    def __init__(self, errors: list[dict]) -> None:
        super().__init__(errors)
        self.errors = errors


def job_error(message: str, index=None, locale=None, field=None) -> dict:
    return {"index": index, "locale": locale, "field": field, "message": message}


@dataclass
class JobContext:
    job: Job
    schema: CompiledSchema
    now: datetime
    item_ids: list[int] = field(default_factory=list)
    # What changed, one per item and locale: recorded as outbox events by ``apply``.
    events: list["ItemChange"] = field(default_factory=list)
    # Media (``write/media.py``): URLs already ghee's own -> their asset URL, and the files
    # the prepare stage downloaded (URL -> FetchedMedia) waiting to be stored by ``apply``.
    media_urls: dict[str, str] = field(default_factory=dict)
    media_results: dict[str, Any] = field(default_factory=dict)


# The outbox topic of item events, and ButterCMS's names for them (its webhook events, §12).
ITEM_TOPIC = "collectionitem"
PUBLISHED_EVENT = "collectionitem.published"
DRAFT_EVENT = "collectionitem.draft"
UNPUBLISHED_EVENT = "collectionitem.unpublished"
DELETE_EVENT = "collectionitem.delete"
# Declared once to the outbox (``ContentConfig.ready``): webhooks offers these as subscriptions.
ITEM_EVENTS = {
    PUBLISHED_EVENT: "Item published",
    DRAFT_EVENT: "Item saved as draft",
    UNPUBLISHED_EVENT: "Item unpublished",
    DELETE_EVENT: "Item deleted",
}
# The ``status`` ButterCMS puts in each event's data: an unpublished item is a draft again.
_EVENT_STATUSES = {
    PUBLISHED_EVENT: "published",
    DRAFT_EVENT: "draft",
    UNPUBLISHED_EVENT: "draft",
    DELETE_EVENT: "deleted",
}


@dataclass(frozen=True)
class ItemChange:
    item_id: int
    locale: str
    event: str  # one of the *_EVENT names above
    data: dict  # the locale version's values (for the event's label)


def prepare(ctx: JobContext) -> None:
    """Outbound work before the transaction: download the job's media URLs.

    Raises ``JobFailed`` (a media URL that cannot be imported: nothing of the job is written)
    or ``MediaRetryLater`` (a download that may succeed later: the job is retried). The
    caller removes the downloads with ``media.discard_job_media`` when the job is done.
    """
    failures = media.fetch_job_media(ctx)
    if failures:
        raise JobFailed([job_error(message, *where) for *where, message in failures])


def apply(ctx: JobContext) -> None:
    """The job's changes and their outbox events; call inside the job's transaction."""
    kind = ctx.job.kind
    if kind == JobKind.CREATE:
        _apply_create(ctx)
    elif kind in (JobKind.REPLACE, JobKind.UPDATE):
        media.store_job_media(ctx)
        _apply_change(ctx, partial=kind == JobKind.UPDATE)
        record_events([ctx])
    elif kind == JobKind.DELETE:
        _apply_delete(ctx)
        record_events([ctx])
    else:  # pragma: no cover - JobKind is closed
        raise JobFailed([job_error(f"Unknown job kind {kind!r}.")])


def record_events(contexts: list[JobContext]) -> None:
    """Insert one outbox event per item and locale the jobs changed (same transaction).

    ``data`` holds what a webhook payload needs (ButterCMS §12) without reading content:
    the collection key, the item id, the locale (null without locales), whether it is the
    default locale, the status, the label field's value, and the editor (the write
    token's name, or the dashboard user's).
    """
    events = []
    for ctx in contexts:
        job, schema = ctx.job, ctx.schema
        if job.payload.get("without_webhooks"):
            # An import that asked for no webhooks (``ghee import --no-webhooks``; ghee's own
            # code sets this, an API body cannot): its changes send none.
            continue
        label_field = job.collection.label_field
        for change in ctx.events:
            events.append(
                outbox.Event(
                    topic=ITEM_TOPIC,
                    name=change.event,
                    organization_id=job.organization_id,
                    data={
                        "collection": schema.collection_key,
                        "item_id": change.item_id,
                        "locale": change.locale or None,
                        "default_locale": change.locale == schema.locales.default,
                        "status": _EVENT_STATUSES[change.event],
                        "label": change.data.get(label_field) if label_field else None,
                        "editor": job.editor,
                        "job_id": job.pk,
                        "timestamp": ctx.now.isoformat(),
                    },
                )
            )
    outbox.record(events, contexts[0].now if contexts else None)


def _conform(schema: CompiledSchema, values: dict[str, Any], base: dict[str, Any]) -> dict:
    """``values`` over ``base``, with exactly the schema's current field keys."""
    return {
        key: values[key] if key in values else base.get(key, spec.default)
        for key, spec in schema.fields.items()
    }


def _check_references(ctx: JobContext, elements: list[tuple[int | None, dict]]) -> None:
    """Referenced items must still exist (they may have been deleted since the 202)."""
    wanted = []
    for index, by_locale in elements:
        for locale, values in by_locale.items():
            for key, value in values.items():
                spec = ctx.schema.fields.get(key)
                if spec is None or spec.reference_collection_id is None or value in (None, []):
                    continue
                wanted.append(((index, locale), spec, value if spec.many else [value]))
    errors = [
        job_error(missing_reference_message(spec, item_id), index, locale or None, spec.key)
        for (index, locale), spec, item_id in missing_references(wanted)
    ]
    if errors:
        raise JobFailed(errors)


def _set_status(version: ItemLocale, status: str | None, now: datetime, *, keep_live=False) -> str:
    """Give a locale version whose ``data`` was just written its status; return the event.

    ``status`` is what the write asked for (None: keep the version's own):

    - ``published``: ``data`` goes live (``published_data``) -> ``collectionitem.published``;
    - ``draft``: the version is not publicly available any more; if it was, that is an
      unpublish (``collectionitem.unpublished``), else ``collectionitem.draft``;
    - none: a published version stays published, so its new values go live; a draft stays
      a draft.

    ``keep_live`` (the dashboard's "save without publishing", never the API's): a draft
    write leaves the live values of a published version as they are
    (``collectionitem.draft``, as ButterCMS names "published item updated but not
    republished").
    """
    if keep_live and status != ItemStatus.PUBLISHED:
        return DRAFT_EVENT
    if (status or version.status) == ItemStatus.PUBLISHED:
        version.status = ItemStatus.PUBLISHED
        version.published_data = copy.deepcopy(version.data)
        version.is_published = True
        version.published_at = now
        return PUBLISHED_EVENT
    version.status = ItemStatus.DRAFT
    if status is None or not version.is_published:
        # No status asked: a version left live by the old "draft over published" rule
        # (status draft, still public) keeps serving its live values.
        return DRAFT_EVENT
    version.published_data = None
    version.is_published = False
    version.published_at = None
    return UNPUBLISHED_EVENT


_VERSION_COLUMNS = (
    "item_id",
    "collection_id",
    "locale",
    "status",
    "data",
    "published_data",
    "is_published",
    "is_deleted",
    "published_at",
    "updated_at",
)


def _db_json(value: Any) -> Any:
    connection = connections[router.db_for_write(ItemLocale)]
    return ItemLocale._meta.get_field("data").get_db_prep_save(value, connection)


def _db_datetime(value: datetime) -> Any:
    connection = connections[router.db_for_write(Item)]
    return Item._meta.get_field("created_at").get_db_prep_save(value, connection)


def _apply_create(ctx: JobContext) -> None:
    failed = apply_creates([ctx])
    if failed:
        raise JobFailed(failed[0][1])


def apply_creates(contexts: list[JobContext]) -> list[tuple[JobContext, list[dict]]]:
    """Apply many create jobs with one insert per table; return the ones that failed.

    A job whose references vanished since its 202 is returned with its errors and
    writes nothing; the others are applied (``ctx.item_ids`` set).
    """
    failed, ready = [], []
    for ctx in contexts:
        try:
            _check_references(ctx, list(enumerate(ctx.job.payload.get("fields") or [])))
        except JobFailed as exc:
            failed.append((ctx, exc.errors))
        else:
            media.store_job_media(ctx)
            ready.append(ctx)
    if not ready:
        return failed
    db_now = _db_datetime(ready[0].now)
    item_rows = []
    for ctx in ready:
        job = ctx.job
        for index in range(len(job.payload.get("fields") or [])):
            item_rows.append(
                (job.collection_id, job.organization_id, job.pk, index, db_now, db_now)
            )
    # job_index is unique per job: the ids are read back by (job, job_index).
    insert_rows(
        Item,
        ("collection_id", "organization_id", "job_id", "job_index", "created_at", "updated_at"),
        item_rows,
    )
    created = {
        (job_id, index): pk
        for pk, job_id, index in Item.objects.filter(
            job_id__in=[ctx.job.pk for ctx in ready]
        ).values_list("id", "job_id", "job_index")
    }
    version_rows_out, index_rows = [], []
    for ctx in ready:
        job, schema = ctx.job, ctx.schema
        status = job.payload.get("status") or ItemStatus.DRAFT
        published = status == ItemStatus.PUBLISHED
        for position, by_locale in enumerate(job.payload.get("fields") or []):
            item_id = created[(job.pk, position)]
            ctx.item_ids.append(item_id)
            for locale, values in by_locale.items():
                data = _conform(schema, values, {})
                db_data = _db_json(data)
                version_rows_out.append(
                    (
                        item_id,
                        job.collection_id,
                        locale,
                        status,
                        db_data,
                        db_data if published else None,
                        published,
                        False,
                        db_now if published else None,
                        db_now,
                    )
                )
                key = (item_id, job.collection_id, locale)
                index_rows += _index_rows(*key, data, schema.fields, published=False)
                if published:
                    index_rows += _index_rows(*key, data, schema.fields, published=True)
                event = PUBLISHED_EVENT if published else DRAFT_EVENT
                ctx.events.append(ItemChange(item_id, locale, event, data))
    insert_rows(ItemLocale, _VERSION_COLUMNS, version_rows_out)
    insert_index_rows(index_rows)
    record_events(ready)
    return failed


def _apply_change(ctx: JobContext, *, partial: bool) -> None:
    job, schema = ctx.job, ctx.schema
    status = job.payload.get("status")
    keep_live = bool(job.payload.get("keep_live"))  # the dashboard's "save without publishing"
    given: dict[str, dict] = job.payload.get("fields") or {}
    _check_references(ctx, [(None, given)])
    item = Item.objects.filter(pk=job.item_id).first()
    if item is None:
        raise JobFailed([job_error("The item no longer exists.")])
    versions = {v.locale: v for v in ItemLocale.objects.filter(item_id=item.pk)}
    # locale -> (version, event, whether published_data changed)
    changed: dict[str, tuple[ItemLocale, str, bool]] = {}

    def settle(version: ItemLocale) -> None:
        # Publishing and unpublishing replace the published_data object: compared by
        # identity, that says whether the published index rows must be rebuilt.
        was_live = version.published_data
        event = _set_status(version, status, ctx.now, keep_live=keep_live)
        changed[version.locale] = (version, event, version.published_data is not was_live)

    for locale, values in given.items():
        version = versions.get(locale)
        if version is None:
            version = ItemLocale(
                item=item,
                collection_id=job.collection_id,
                locale=locale,
                data={},
                is_deleted=item.deleted_at is not None,  # a DELETE came after this job
            )
            versions[locale] = version
        base = version.data if partial else {}
        version.data = _conform(schema, values, base)
        settle(version)

    if not given and status:  # a status-only PATCH: every locale version takes the status
        for version in versions.values():
            settle(version)

    # A non-translatable field holds one value for the item: copy it to the other versions.
    shared = {
        key: value
        for values in given.values()
        for key, value in values.items()
        if key in schema.fields and not schema.fields[key].translatable
    }
    if shared:
        # Live elsewhere too when this write made it live in the locales it named; the
        # other versions keep their status (the write did not name them).
        publishing = any(changed[locale][1] == PUBLISHED_EVENT for locale in given)
        for locale, version in versions.items():
            if locale in given:
                continue
            version.data = {**version.data, **shared}
            republish = publishing and version.published_data is not None
            if republish:
                version.published_data = {**version.published_data, **shared}
            _, event, live_changed = changed.get(locale, (version, DRAFT_EVENT, False))
            if republish:
                event = PUBLISHED_EVENT
            changed[locale] = (version, event, live_changed or republish)

    for version, _, _ in changed.values():
        version.save()
    for version, event, live_changed in changed.values():
        reindex([version], schema.fields, published=live_changed)
        ctx.events.append(ItemChange(item.pk, version.locale, event, version.data))
    Item.objects.filter(pk=item.pk).update(updated_at=ctx.now)
    ctx.item_ids = [item.pk]


def _apply_delete(ctx: JobContext) -> None:
    job = ctx.job
    Item.objects.filter(pk=job.item_id, deleted_at__isnull=True).update(deleted_at=ctx.now)
    versions = list(ItemLocale.objects.filter(item_id=job.item_id).values_list("locale", "data"))
    ItemLocale.objects.filter(item_id=job.item_id).update(is_deleted=True)
    drop_item_index([job.item_id])
    ctx.events += [ItemChange(job.item_id, locale, DELETE_EVENT, data) for locale, data in versions]
    ctx.item_ids = [job.item_id] if job.item_id else []
