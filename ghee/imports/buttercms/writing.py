"""Writing imported items through ghee's own write services, like any other writer.

Each item becomes a Write API body, is validated by ``content.write.validation`` (the
same rules and messages a client gets), accepted as a Job by ``content.write.accept`` and
applied by the job pipeline (``run_pending_jobs``, or any running ``ghee worker``). One
job per item, so one bad item fails alone. ghee's differences from a Write API client:
its media URLs were downloaded beforehand, once each (``media.py``), and its references
are remapped from source ids to ghee ids.

Two passes make references work whatever their direction (cycles included):

1. every new item is created, with the references whose targets already exist;
2. every item that is incomplete (a reference whose target was created later, or locale
   versions with different statuses) or changed since the last run is replaced (PUT) per
   status: published locales in one job, drafts in another, so each version keeps its
   source's status.

An item counts as done when the mapping row holds the hash of its source content.
"""

import contextlib
import hashlib
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction

from ghee.accounts.models import Organization
from ghee.content.choices import ItemStatus, JobKind, JobStatus
from ghee.content.models import Job
from ghee.content.schema.compiled import CompiledSchema
from ghee.content.write.accept import ItemNotFound, accept_job
from ghee.content.write.jobs import run_pending_jobs
from ghee.content.write.validation import BodyInvalid, validate_change, validate_create
from ghee.imports.buttercms.inference import is_empty, reference_target
from ghee.imports.buttercms.media import MediaImporter
from ghee.imports.buttercms.report import Report
from ghee.imports.buttercms.spool import NO_LOCALE, SourceItem
from ghee.imports.models import ImportedItem

EDITOR = "ghee import buttercms"
BATCH = 100  # items written per round of jobs
JOB_WAIT_SECONDS = 600.0
OPEN = (JobStatus.PENDING, JobStatus.RUNNING)


def content_hash(item: SourceItem) -> str:
    data = {locale: [values, published] for locale, (values, published) in item.versions.items()}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def partial_hash(digest: str) -> str:
    """Written, but with references to items that were not imported (yet) left out: a
    later run writes it again once they are."""
    return "partial:" + digest[:56]


@dataclass
class Mapped:
    row_id: int
    item_id: int | None
    content_hash: str


class ItemWriter:
    def __init__(
        self,
        organization: Organization,
        source: str,
        report: Report,
        media: MediaImporter,
        *,
        webhooks: bool = True,
        dry_run: bool = False,
    ) -> None:
        self.organization = organization
        self.source = source
        self.report = report
        self.media = media
        self.webhooks = webhooks
        self.dry_run = dry_run
        self.mapping: dict[tuple[str, int], Mapped] = {}
        self.created: set[tuple[str, int]] = set()
        self.resumed: set[tuple[str, int]] = set()
        self._warned: set[str] = set()
        self._dangling = 0  # references left out by the last ``_values``
        self._quiet = False
        self.resume()

    # --- the mapping -----------------------------------------------------------------------

    def _rows(self):
        return ImportedItem.objects.filter(organization=self.organization, source=self.source)

    def resume(self) -> None:
        """Load the mapping; settle rows an interrupted run left waiting for their job."""
        waiting = list(
            self._rows()
            .filter(item__isnull=True)
            .values_list("id", "job_id", "collection_key", "source_id")
        )
        if waiting and not self.dry_run:
            jobs = self.finish_jobs([job_id for _, job_id, _, _ in waiting if job_id])
            for row_id, job_id, key, source_id in waiting:
                job = jobs.get(job_id)
                if job is not None and job.status == JobStatus.SUCCEEDED:
                    ImportedItem.objects.filter(pk=row_id).update(
                        item_id=job.result["item_ids"][0], job_id=None
                    )
                    # Created by the run that was interrupted (with the values of then:
                    # pass 2 replaces them whole); counted as created by this one.
                    self.resumed.add((key, source_id))
                    self.report.count(key, "created")
                else:  # never accepted, or failed: this run creates it again
                    ImportedItem.objects.filter(pk=row_id).delete()
        # An item deleted in ghee since (by hand, or its collection pruned) is created again.
        if not self.dry_run:
            self._rows().filter(item__deleted_at__isnull=False).delete()
        for row_id, key, source_id, item_id, digest in self._rows().values_list(
            "id", "collection_key", "source_id", "item_id", "content_hash"
        ):
            self.mapping[(key, source_id)] = Mapped(row_id, item_id, digest)

    def ghee_id(self, collection: str, source_id: int) -> int | None:
        mapped = self.mapping.get((collection, source_id))
        return mapped.item_id if mapped else None

    # --- pass 1: create --------------------------------------------------------------------

    def create_new(self, schema: CompiledSchema, items: Iterable[SourceItem]) -> None:
        batch: list[SourceItem] = []
        for item in items:
            mapped = self.mapping.get((item.collection, item.source_id))
            if mapped is not None:
                if mapped.content_hash == content_hash(item):
                    self.report.count(item.collection, "unchanged")
                continue  # changed or incomplete: pass 2
            batch.append(item)
            if len(batch) == BATCH:
                self._create_batch(schema, batch)
                batch = []
        if batch:
            self._create_batch(schema, batch)

    def _create_batch(self, schema: CompiledSchema, batch: list[SourceItem]) -> None:
        if self.dry_run:
            for item in batch:
                self.report.count(item.collection, "created")
            return
        self.media.fetch(self._media_urls(schema, batch))
        accepted: dict[int, tuple[SourceItem, bool, int]] = {}  # job id -> (item, complete, row)
        for item in batch:
            statuses = {published for _, published in item.versions.values()}
            status = ItemStatus.PUBLISHED if statuses == {True} else ItemStatus.DRAFT
            built = self._values(schema, item, final=False)
            if built is None:
                continue
            by_locale, complete = built
            element = by_locale if schema.locales.codes else by_locale[NO_LOCALE]
            try:
                payload = validate_create(schema, {"status": status, "fields": [element]})
            except BodyInvalid as exc:
                self.report.fail_invalid(
                    item, exc.detail["fields"]["0"] if _nested(exc) else exc.detail
                )
                continue
            with transaction.atomic():
                job_id = self._accept(schema, JobKind.CREATE, payload)
                row = ImportedItem.objects.create(
                    organization=self.organization,
                    source=self.source,
                    collection_key=item.collection,
                    source_id=item.source_id,
                    job_id=job_id,
                )
            accepted[job_id] = (item, complete and len(statuses) == 1, row.pk)
        jobs = self.finish_jobs(list(accepted))
        for job_id, (item, complete, row_id) in accepted.items():
            job = jobs[job_id]
            key = (item.collection, item.source_id)
            if job.status != JobStatus.SUCCEEDED:
                ImportedItem.objects.filter(pk=row_id).delete()
                self.report.fail_job(item, job.errors)
                continue
            item_id = job.result["item_ids"][0]
            digest = content_hash(item) if complete else ""
            ImportedItem.objects.filter(pk=row_id).update(
                item_id=item_id, job_id=None, content_hash=digest
            )
            self.mapping[key] = Mapped(row_id, item_id, digest)
            self.created.add(key)
            self.report.count(item.collection, "created")

    # --- pass 2: complete and update -------------------------------------------------------

    def complete_and_update(self, schema: CompiledSchema, items: Iterable[SourceItem]) -> None:
        batch: list[tuple[SourceItem, Mapped, str]] = []
        for item in items:
            mapped = self.mapping.get((item.collection, item.source_id))
            if mapped is None or mapped.item_id is None:
                continue  # its create failed (reported) or it is a dry run's new item
            digest = content_hash(item)
            if mapped.content_hash == digest:
                continue
            if mapped.content_hash == partial_hash(digest) and self._still_dangling(schema, item):
                self.report.count(item.collection, "unchanged")
                continue
            batch.append((item, mapped, digest))
            if len(batch) == BATCH:
                self._replace_batch(schema, batch)
                batch = []
        if batch:
            self._replace_batch(schema, batch)

    def _replace_batch(self, schema, batch: list[tuple[SourceItem, Mapped, str]]) -> None:
        if self.dry_run:
            for item, _, _ in batch:
                self.report.count(item.collection, "updated")
            return
        self.media.fetch(self._media_urls(schema, [item for item, _, _ in batch]))
        accepted: dict[int, list[int]] = {}  # item id -> its job ids
        references = {key for key, spec in schema.fields.items() if spec.type == "reference"}
        ready: list[tuple[SourceItem, Mapped, str]] = []
        for item, mapped, digest in batch:
            built = self._values(schema, item, final=True)
            if built is None:
                continue
            by_locale, _ = built
            if self._dangling:
                digest = partial_hash(digest)
            # Created by this run with all its other values: only the references (and the
            # statuses) are left to set, a PATCH; an item changed at the source is replaced.
            new = (item.collection, item.source_id) in self.created
            if new:
                by_locale = {
                    locale: {k: v for k, v in values.items() if k in references}
                    for locale, values in by_locale.items()
                }
            bodies = []
            for published in (True, False):
                locales = [
                    target_locale(schema, loc)
                    for loc, (_, pub) in item.versions.items()
                    if pub == published
                ]
                if not locales:
                    continue
                status = ItemStatus.PUBLISHED if published else ItemStatus.DRAFT
                fields = (
                    {loc: by_locale[loc] for loc in locales}
                    if schema.locales.codes
                    else by_locale[NO_LOCALE]
                )
                bodies.append({"status": status, "fields": fields})
            try:
                payloads = [validate_change(schema, body, partial=new) for body in bodies]
            except BodyInvalid as exc:
                self.report.fail_invalid(item, exc.detail.get("fields", exc.detail))
                continue
            try:
                kind = JobKind.UPDATE if new else JobKind.REPLACE
                accepted[mapped.item_id] = [
                    self._accept(schema, kind, payload, mapped.item_id) for payload in payloads
                ]
            except ItemNotFound:
                self.report.fail(item, None, None, "its ghee item was deleted during the import")
                continue
            ready.append((item, mapped, digest))
        jobs = self.finish_jobs([job_id for ids in accepted.values() for job_id in ids])
        for item, mapped, digest in ready:
            failed = [
                jobs[j] for j in accepted[mapped.item_id] if jobs[j].status != JobStatus.SUCCEEDED
            ]
            if failed:
                self.report.fail_job(item, [e for job in failed for e in job.errors])
                continue
            ImportedItem.objects.filter(pk=mapped.row_id).update(content_hash=digest)
            mapped.content_hash = digest
            key = (item.collection, item.source_id)
            if key not in self.created and key not in self.resumed:
                self.report.count(item.collection, "updated")

    # --- delete what the source no longer has ----------------------------------------------

    def delete_missing(self, schema: CompiledSchema, seen: set[int]) -> None:
        gone = [
            (source_id, mapped)
            for (key, source_id), mapped in self.mapping.items()
            if key == schema.collection_key and source_id not in seen and mapped.item_id
        ]
        if self.dry_run:
            self.report.count(schema.collection_key, "deleted", len(gone))
            return
        job_ids = []
        for source_id, mapped in gone:
            with contextlib.suppress(ItemNotFound):  # deleted in ghee already
                job_ids.append(self._accept(schema, JobKind.DELETE, {}, mapped.item_id))
            ImportedItem.objects.filter(pk=mapped.row_id).delete()
            del self.mapping[(schema.collection_key, source_id)]
            self.report.count(schema.collection_key, "deleted")
        self.finish_jobs(job_ids)

    # --- values ----------------------------------------------------------------------------

    def _media_urls(self, schema: CompiledSchema, items: list[SourceItem]) -> list[str]:
        keys = [key for key, spec in schema.fields.items() if spec.type == "media"]
        return [
            value
            for item in items
            for values, _ in item.versions.values()
            for key in keys
            if isinstance(value := values.get(key), str) and value
        ]

    def _values(self, schema: CompiledSchema, item: SourceItem, *, final: bool, media=True):
        """{locale: write values} and whether every reference resolved; None if the item
        failed (a media file that could not be imported: reported)."""
        by_locale: dict[str, dict] = {}
        complete, failed = True, False
        self._dangling = 0
        for source_locale, (source_values, _) in item.versions.items():
            locale = target_locale(schema, source_locale)
            values = {}
            for key, raw in source_values.items():
                if key == "meta":
                    continue
                spec = schema.fields.get(key)
                if spec is None:
                    self._warn_once(
                        f"{item.collection}.{key}",
                        f"{item.collection}.{key}: not a field of the schema; "
                        "its values are not imported",
                    )
                    continue
                if spec.type == "reference":
                    value, resolved = self._reference(spec, item, locale, raw, final=final)
                    complete &= resolved
                    if value is not _LEAVE_OUT:
                        values[key] = value
                elif spec.type == "media" and isinstance(raw, str) and raw and media:
                    result = self.media.result(raw)
                    if isinstance(result, str):
                        values[key] = result
                    else:
                        self.report.fail(item, locale, key, f"media {raw[:200]}: {result}")
                        failed = True
                else:
                    values[key] = raw
            by_locale[locale] = values
        return None if failed else (by_locale, complete)

    def _reference(self, spec, item: SourceItem, locale: str, raw, *, final: bool):
        if is_empty(raw):
            return ([] if spec.many else None), True
        raws = raw if isinstance(raw, list) else [raw]
        ids, resolved = [], True
        for value in raws:
            target = reference_target(value)
            if target is None and isinstance(value, dict) and isinstance(value.get("meta"), dict):
                target = (spec.reference_key, value["meta"].get("id"))
            if target is None:
                ids.append(value)  # not a reference: validation reports it
                continue
            ghee_id = self.ghee_id(*target)
            if ghee_id is not None:
                ids.append(ghee_id)
            elif final:
                self._dangling += 1
                if self._quiet:
                    continue
                self.report.warn(
                    f"{item.collection} {item.source_id} ({locale or 'no locale'}), field "
                    f"{spec.key}: references {target[0]} {target[1]}, which was not imported "
                    "(missing from the source, or its import failed): left out"
                )
            else:
                resolved = False
        if not resolved:
            return _LEAVE_OUT, False
        if spec.many:
            return ids, True
        return (ids[0] if ids else None), True

    def _still_dangling(self, schema: CompiledSchema, item: SourceItem) -> bool:
        """Whether an item written without some references still cannot have them."""
        self._quiet = True
        try:
            self._values(schema, item, final=True, media=False)
        finally:
            self._quiet = False
        return self._dangling > 0

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            self.report.warn(message)

    # --- jobs ------------------------------------------------------------------------------

    def _accept(self, schema, kind, payload, item_id=None) -> int:
        if not self.webhooks:
            payload = {**payload, "without_webhooks": True}
        return accept_job(
            token=None, schema=schema, kind=kind, payload=payload, item_id=item_id, editor=EDITOR
        ).job_id

    def finish_jobs(self, job_ids: list[int]) -> dict[int, Job]:
        """Run the jobs (here, or wait for a worker that claimed them) until they finished."""
        if not job_ids:
            return {}
        deadline = time.monotonic() + JOB_WAIT_SECONDS
        while Job.objects.filter(pk__in=job_ids, status__in=OPEN).exists():
            if not run_pending_jobs():
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"{len(job_ids)} jobs did not finish within {JOB_WAIT_SECONDS:g} s"
                    )
                time.sleep(0.1)
        return {
            job.pk: job
            for job in Job.objects.filter(pk__in=job_ids).only("status", "result", "errors")
        }


_LEAVE_OUT = object()


def target_locale(schema: CompiledSchema, source_locale: str) -> str:
    """A source read without a locale fills the organization's default locale."""
    if not schema.locales.codes:
        return NO_LOCALE
    return source_locale or schema.locales.default


def _nested(exc: BodyInvalid) -> bool:
    fields = exc.detail.get("fields")
    return isinstance(fields, dict) and isinstance(fields.get("0"), dict)
