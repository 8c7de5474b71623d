"""``ghee import buttercms``: discovery, schema, then items, in that order.

1. **Discovery** reads every item of every key, page by page, in every locale, with drafts
   (``preview=1``), at ``levels=1`` so references arrive as URIs naming their target; a
   second listing without ``preview`` says which versions the source serves published.
   Items go to an on-disk spool (``spool.py``) and every value to the schema inference.
   Collections that references name but that were not listed are reported, or with
   ``follow_references`` read too (transitively).
2. **Schema**: the inferred document (or the one given with ``--schema``) is applied with
   ``content.schema.services.apply_schema``, as ``ghee schema apply`` does.
3. **Items** through the write services, two passes (``writing.py``); then, with
   ``delete_missing``, the items the source no longer has are deleted.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from ghee.accounts.models import Organization
from ghee.content.models import Collection
from ghee.content.schema.cache import schema_cache
from ghee.content.schema.document import SchemaError
from ghee.content.schema.services import apply_schema
from ghee.imports.buttercms.inference import Inference, infer_schema
from ghee.imports.buttercms.media import MediaImporter
from ghee.imports.buttercms.report import Report
from ghee.imports.buttercms.source import ButterSource
from ghee.imports.buttercms.spool import Spool
from ghee.imports.buttercms.writing import ItemWriter


class ImportFailed(Exception):
    """The import could not run at all (bad options, unreadable source, refused schema)."""


class NoProgress:
    def start(self, collection: str, total: int | None) -> None: ...

    def advance(self, collection: str, n: int = 1) -> None: ...

    def stop(self) -> None: ...


@dataclass
class ImportOptions:
    organization: Organization
    source: ButterSource
    keys: list[str]
    locales: list[str] = field(default_factory=list)
    schema: dict | None = None  # an edited schema document (``--schema``)
    schema_out: Path | None = None
    follow_references: bool = False
    delete_missing: bool = False
    dry_run: bool = False
    webhooks: bool = True
    media_hosts: frozenset[str] = frozenset()


def run_import(options: ImportOptions, progress=None, say: Callable[[str], None] = print) -> Report:
    progress = progress or NoProgress()
    source = options.source
    org = options.organization
    report = Report(source=source.base_url, organization=org.slug, dry_run=options.dry_run)
    _check_locales(org, options.locales)
    spool_dir = Path(settings.GHEE_MEDIA_TMP_DIR)
    with Spool(spool_dir) as spool:
        inference = Inference(options.media_hosts)
        try:
            keys = discover(options, spool, inference, report, progress)
        finally:
            report.requests, report.retries = source.requests, source.retries
            progress.stop()
        document = _schema(options, inference, keys, report)
        if document is None:  # --schema-out: written for review, nothing imported
            return report
        keys = [key for key in keys if _in_schema(org, document, key)]
        _apply(org, document, report, options.dry_run)
        writer = ItemWriter(
            org,
            source.base_url,
            report,
            MediaImporter(org, report),
            webhooks=options.webhooks,
            dry_run=options.dry_run,
        )
        schemas = {}
        for key in keys:
            schema = schema_cache.get(org.pk, key)
            if schema is None:  # dry run of a new collection
                report.count(key, "created", spool.count(key))
                continue
            schemas[key] = schema
        schemas = {key: schemas[key] for key in targets_first(schemas)}
        for key, schema in schemas.items():
            say(f"{key}: writing {spool.count(key)} items")
            writer.create_new(schema, spool.items(key))
        for key, schema in schemas.items():
            writer.complete_and_update(schema, spool.items(key))
        if options.delete_missing:
            for key, schema in schemas.items():
                writer.delete_missing(schema, {item.source_id for item in spool.items(key)})
    return report


def targets_first(schemas: dict) -> list[str]:
    """The collections, each after the ones its references point to (where a cycle allows):
    the fewer references left for the second pass, the fewer jobs."""
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(key: str) -> None:
        if key in ordered or key in visiting or key not in schemas:
            return
        visiting.add(key)
        for spec in schemas[key].fields.values():
            if spec.reference_key and spec.reference_key != key:
                visit(spec.reference_key)
        visiting.discard(key)
        ordered.append(key)

    for key in schemas:
        visit(key)
    return ordered


def _check_locales(org: Organization, locales: list[str]) -> None:
    known = list(org.locales.values_list("code", flat=True))
    missing = [code for code in locales if code not in known]
    if missing:
        have = ", ".join(known) or "none"
        raise ImportFailed(
            f"organization {org.slug} has no locale {', '.join(missing)} (it has: {have}); "
            "add the locales first (ghee org)"
        )


def discover(
    options: ImportOptions, spool: Spool, inference: Inference, report, progress
) -> list[str]:
    source = options.source
    queue, done = list(dict.fromkeys(options.keys)), []
    while queue:
        key = queue.pop(0)
        progress.start(key, None)
        for locale in options.locales or [None]:
            for page in source.pages(key, locale, preview=True):
                progress.start(key, page.count * max(1, len(options.locales)))
                for item in page.items:
                    source_id = _source_id(item)
                    if source_id is None:
                        report.warn(
                            f"{key}: an item without meta.id was skipped: {str(item)[:200]}"
                        )
                        continue
                    spool.add(key, locale, source_id, item)
                    inference.observe(key, item)
                progress.advance(key, len(page.items))
            published = [
                source_id
                for page in source.pages(key, locale, preview=False)
                for item in page.items
                if (source_id := _source_id(item)) is not None
            ]
            spool.mark_published(key, locale, published)
        done.append(key)
        if options.follow_references:
            queue += sorted(inference.referenced_collections() - set(done) - set(queue))
    for target in sorted(inference.referenced_collections() - set(done)):
        report.warn(
            f"references name collection {target}, which was not listed: add it to --keys "
            "or use --follow-references"
        )
    return done


def _source_id(item: dict) -> int | None:
    meta = item.get("meta")
    source_id = meta.get("id") if isinstance(meta, dict) else None
    return source_id if isinstance(source_id, int) and not isinstance(source_id, bool) else None


def _schema(options: ImportOptions, inference: Inference, keys: list[str], report) -> dict | None:
    existing = set(
        Collection.objects.filter(organization=options.organization).values_list("key", flat=True)
    )
    if options.schema is not None:
        collections = options.schema.get("collections")
        listed = {c.get("key") for c in collections or [] if isinstance(c, dict)}
        for key in keys:
            if key not in listed and key not in existing:
                report.warn(f"{key}: not in the --schema document; its items are not imported")
        return options.schema
    inferred = infer_schema(inference, keys, set(keys) | existing, options.source.base_url)
    for warning in inferred.warnings:
        report.warn(warning)
    if options.schema_out is not None:
        options.schema_out.write_text(inferred.text, encoding="utf-8")
        return None
    # A collection ghee already has keeps its schema (it may have been edited since the
    # first run: a dropdown, a required flag); only --schema changes it.
    for key in sorted(existing & set(keys)):
        report.warn(f"{key}: exists in ghee, its schema is kept (--schema FILE changes it)")
    return {"collections": [c for c in inferred.data["collections"] if c["key"] not in existing]}


def _in_schema(org: Organization, document: dict, key: str) -> bool:
    listed = any(c.get("key") == key for c in document["collections"] if isinstance(c, dict))
    return listed or Collection.objects.filter(organization=org, key=key).exists()


def _apply(org: Organization, document: dict, report, dry_run: bool) -> None:
    try:
        result = apply_schema(org, document, dry_run=dry_run)
    except SchemaError as exc:
        raise ImportFailed("\n".join(["the schema cannot be applied:", *exc.errors])) from exc
    report.schema_changes = result.changes
    schema_cache.clear()
