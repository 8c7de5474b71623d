"""What the item editor does, through the same services as the Write API.

A save builds the JSON body a Write API client would send, validates it with
``write.validation`` (the same rules and messages) and accepts it with
``write.accept.accept_job`` (``token=None``, ``editor`` = the user's name): a pending Job
that the worker applies as it applies an API write, so media import, outbox events and
webhooks behave the same. Nothing here writes items directly.
"""

from __future__ import annotations

from dataclasses import dataclass

from ghee.content import job_summary
from ghee.content.choices import ItemStatus, JobKind, JobStatus
from ghee.content.editor.listing import status_text
from ghee.content.models import Item, ItemLocale, Job
from ghee.content.schema.compiled import CompiledSchema
from ghee.content.write.accept import ItemNotFound, accept_job
from ghee.content.write.validation import BodyInvalid, validate_change, validate_create
from ghee.media.services import MediaImportError, receive_upload, store_media


class SaveRefused(Exception):
    """The write was not accepted; ``errors`` mirror the Write API's 400 body."""

    def __init__(self, errors: dict) -> None:
        super().__init__(errors)
        self.errors = errors


# The editor's buttons, as the Write API's statuses.
ACTION_STATUS = {"draft": ItemStatus.DRAFT, "publish": ItemStatus.PUBLISHED}


@dataclass(frozen=True)
class EditorUser:
    """Who saves: the Job's ``editor`` (the full name, else the user name)."""

    name: str

    @classmethod
    def of(cls, user) -> EditorUser:
        return cls((user.get_full_name() or user.get_username())[:200])


def store_upload(organization_id: int, upload) -> str:
    """An uploaded file as the organization's media asset; returns its URL.

    The one call into the media library (``receive_upload`` checks the bytes as an import
    does); the URL is ghee's own, so the job that writes it downloads nothing. Raises
    ``SaveRefused`` with the field's message when the file is refused.
    """
    try:
        with receive_upload(upload, upload.name) as fetched:
            return store_media(organization_id, fetched).url
    except MediaImportError as exc:
        raise SaveRefused({"upload": [str(exc)]}) from exc


def save_item(
    schema: CompiledSchema,
    user: EditorUser,
    values: dict[str, dict],
    *,
    action: str,
    item_id: int | None = None,
) -> int:
    """Accept a create (``item_id`` None) or a full replace (PUT) of the item's locales in
    ``values`` ({locale: {field: value}}, ``""`` without locales). Returns the job's id."""
    status = ACTION_STATUS[action]
    element = values.get("", {}) if not schema.locales.codes else values
    try:
        if item_id is None:
            payload = validate_create(schema, {"status": status, "fields": [element]})
            kind = JobKind.CREATE
        else:
            payload = validate_change(schema, {"status": status, "fields": element}, partial=False)
            kind = JobKind.REPLACE
    except BodyInvalid as exc:
        raise SaveRefused(_by_locale(schema, exc.detail, create=item_id is None)) from exc
    return _accept(schema, user, kind, payload, item_id)


def unpublish_item(schema: CompiledSchema, user: EditorUser, item_id: int) -> int:
    """A status-only PATCH ``{"status": "draft"}``: every locale leaves the live site."""
    payload = validate_change(schema, {"status": ItemStatus.DRAFT}, partial=True)
    return _accept(schema, user, JobKind.UPDATE, payload, item_id)


def delete_item(schema: CompiledSchema, user: EditorUser, item_id: int) -> int:
    """The Write API's DELETE: hidden from reads at once, removed by the job."""
    return _accept(schema, user, JobKind.DELETE, {}, item_id)


def _accept(schema, user: EditorUser, kind: str, payload: dict, item_id: int | None) -> int:
    try:
        accepted = accept_job(
            token=None,
            editor=user.name,
            schema=schema,
            kind=kind,
            payload=payload,
            item_id=item_id,
        )
    except ItemNotFound as exc:
        raise SaveRefused({"": ["This item was deleted."]}) from exc
    return accepted.job_id


def _by_locale(schema: CompiledSchema, detail: dict, *, create: bool) -> dict:
    """The Write API's error tree as ``{locale: {field: [messages]}}`` plus ``""`` for the
    rest (``{"": {"status": [...]}}``)."""
    fields = detail.get("fields", {})
    if create and isinstance(fields, dict):
        fields = fields.get("0", fields)
    out: dict = {}
    if isinstance(fields, list):
        out[""] = {"fields": fields}
    elif schema.locales.codes:
        for locale, errors in fields.items():
            out[locale] = errors if isinstance(errors, dict) else {"": errors}
    else:
        out[""] = fields
    for key, messages in detail.items():
        if key != "fields":
            out.setdefault("", {})[key] = messages
    return out


def stored_values(item_id: int) -> dict[str, dict]:
    """The item's latest values by locale (what ``preview=1`` reads)."""
    return dict(ItemLocale.objects.filter(item_id=item_id).values_list("locale", "data"))


def live_item(collection_id: int, item_id: int) -> Item | None:
    return (
        Item.objects.filter(pk=item_id, collection_id=collection_id, deleted_at__isnull=True)
        .only("id", "collection_id", "organization_id", "updated_at", "created_at")
        .first()
    )


def job_for(collections, job_id: int) -> Job | None:
    """The job, if it belongs to one of ``collections`` (the collections the user sees)."""
    return (
        Job.objects.select_related("collection")
        .filter(pk=job_id, collection__in=collections)
        .first()
    )


def data_with_uploads(organization_id: int, media_inputs: list[str], request):
    """The POST data with each uploaded media file stored and its URL put in its input.

    Returns ``(data, errors)``: ``errors`` maps an input name to why its file was refused.
    Stored before the write is validated so a form shown again keeps the upload (as a URL).
    """
    data = request.POST.copy()
    errors: dict[str, str] = {}
    for name in media_inputs:
        upload = request.FILES.get(f"{name}__upload")
        if upload is None:
            continue
        try:
            data[name] = store_upload(organization_id, upload)
        except SaveRefused as exc:
            errors[name] = exc.errors["upload"][0]
    return data, errors


def version_states(item_id: int) -> dict[str, str]:
    """Each locale version's state in words (``listing.status_text``)."""
    return {
        locale: status_text(status, is_published)
        for locale, status, is_published in ItemLocale.objects.filter(item_id=item_id).values_list(
            "locale", "status", "is_published"
        )
    }


def recent_jobs(item: Item, limit: int = 5) -> list[Job]:
    """The item's latest jobs (index ``job_item_order``), down to the one that created it.

    A create job can make many items, so it names none in ``Job.item``; the item names its
    creating job instead (``Item.job``). Being the item's first, it is shown when fewer than
    ``limit`` jobs came after it.
    """
    columns = ("id", "kind", "status", "editor", "created_at", "finished_at")
    rows = job_summary.annotate_unpublish(Job.objects.only(*columns))
    jobs = list(rows.filter(item_id=item.pk).order_by("-id")[:limit])
    if item.job_id and len(jobs) < limit and all(job.pk != item.job_id for job in jobs):
        jobs.extend(rows.filter(pk=item.job_id))
    for job in jobs:
        job.what = job_summary.verb(job.kind, job.is_unpublish)  # as the jobs list says it
    return jobs


@dataclass
class JobOutcome:
    """A job in words: what was asked, whether it is done, and what went wrong where."""

    headline: str
    asked: str
    done: bool
    succeeded: bool
    item_ids: list[int]
    problems: list[str]


def describe_job(job: Job) -> JobOutcome:
    payload = job.payload or {}
    status = payload.get("status")
    fields = payload.get("fields")
    unpublish = job_summary.is_unpublish(job.kind, payload)
    asked = job_summary.verb(job.kind, unpublish)  # the jobs list names it the same way
    if not unpublish:
        if status == ItemStatus.PUBLISHED:
            asked += " and publish"
        elif status == ItemStatus.DRAFT and job.kind != JobKind.DELETE:
            asked += " as draft"
    locales = _payload_locales(job.kind, fields)
    subject = f"item #{job.item_id}" if job.item_id else "a new item"
    asked = f"{asked} {subject} in {job.collection.name}"
    if locales:
        asked += f" ({', '.join(locales)})"
    names = {}
    for key, name in job.collection.fields.values_list("key", "name"):
        names[key] = name or key
    problems = []
    for error in job.errors or []:
        where = []
        if error.get("locale"):
            where.append(f"locale {error['locale']}")
        if error.get("field"):
            where.append(f"field {names.get(error['field'], error['field'])}")
        where_text = ", ".join(where)
        prefix = f"{where_text[:1].upper()}{where_text[1:]}: " if where else ""
        problems.append(f"{prefix}{error.get('message', '')}")
    done = job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED)
    succeeded = job.status == JobStatus.SUCCEEDED
    headline = {
        JobStatus.SUCCEEDED: "done",
        JobStatus.FAILED: "failed",
        JobStatus.RUNNING: "running",
    }.get(job.status, "waiting for the worker")
    item_ids = list((job.result or {}).get("item_ids") or ([job.item_id] if job.item_id else []))
    return JobOutcome(headline, asked, done, succeeded, item_ids, problems)


def _payload_locales(kind: str, fields) -> list[str]:
    if kind == JobKind.CREATE and isinstance(fields, list):
        return sorted({locale for element in fields for locale in element if locale})
    if isinstance(fields, dict):
        return sorted(locale for locale in fields if locale)
    return []
