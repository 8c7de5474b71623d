"""Schema as code: make an organization's collections match a schema document, and export.

``apply_schema`` (``ghee schema apply``) and ``save_collection`` (the dashboard's schema
editor) validate and apply the same way. Applying is idempotent: the same document twice
changes nothing the second time (and reports no changes). Without ``prune`` nothing is ever
deleted; fields and collections missing from the document are kept and reported. A
collection whose schema changes is saved, which moves ``Collection.updated_at``: the schema
cache revalidates on it.
"""

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.db import transaction

from ghee.accounts.models import Organization
from ghee.content.field_types.options import (
    MODEL_ATTRIBUTES,
    FieldSpec,
    model_values,
    spec_from_model,
)
from ghee.content.models import Collection, Field, Item, ItemFieldIndex, ItemLocale
from ghee.content.schema.document import (
    CollectionSpec,
    SchemaDocument,
    SchemaError,
    default_name,
    document_to_data,
    validate_document,
)

# Changing these on a field whose collection has items would leave stored values in a
# shape the new definition does not describe (a string in a number field, an id where a
# list is expected, ids of another collection's items).
SHAPE_ATTRIBUTES = {"type": "type", "many": "many", "reference_to": "to"}
BATCH_SIZE = 500
FIELD_COLUMNS = ["order", *MODEL_ATTRIBUTES]


@dataclass
class ApplyResult:
    changes: list[str] = field(default_factory=list)
    # Things left alone that the user may want to know about (kept without --prune).
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)


class _DryRun(Exception):
    pass


def apply_schema(
    organization: Organization, data: Mapping, *, prune: bool = False, dry_run: bool = False
) -> ApplyResult:
    """Validate ``data`` (a parsed schema document) and make the organization match it.

    Raises ``SchemaError`` and changes nothing if the document is invalid or asks for a
    change the stored items cannot follow. With ``dry_run`` the result says what would
    change and the database is left as it was.
    """
    return _run(
        lambda: _apply(organization, data, prune_fields=prune, prune_collections=prune),
        dry_run=dry_run,
    )


def save_collection(
    organization: Organization, data: Mapping, *, dry_run: bool = False
) -> ApplyResult:
    """Make one collection match ``data`` (a collection of a schema document), as the
    dashboard's schema editor saves it: fields left out are removed, and the other
    collections are left alone. Raises ``SchemaError`` like ``apply_schema``."""
    return _run(
        lambda: _apply(
            organization, {"collections": [data]}, prune_fields=True, prune_collections=None
        ),
        dry_run=dry_run,
    )


def _run(apply, *, dry_run: bool) -> ApplyResult:
    try:
        with transaction.atomic():
            result = apply()
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return result


def _apply(
    organization: Organization, data: Mapping, *, prune_fields: bool, prune_collections: bool | None
) -> ApplyResult:
    """``prune_collections``: delete (True) or keep and report (False) the collections
    missing from ``data``; None leaves them out of it (``data`` is about one collection)."""
    # One apply at a time per organization (SQLite serialises writers anyway).
    Organization.objects.select_for_update().filter(pk=organization.pk).first()
    existing = {
        c.key: c
        for c in Collection.objects.filter(organization=organization).prefetch_related("fields")
    }
    document = validate_document(data, known_collection_keys=() if prune_collections else existing)
    result = ApplyResult()
    errors: list[str] = []
    for spec in document.collections:
        collection = existing.get(spec.key)
        if collection is None:
            _create_collection(organization, spec)
            result.changes.append(f"+ collection {spec.key} ({len(spec.fields)} fields)")
        else:
            _update_collection(collection, spec, prune_fields, result, errors)
    if errors:
        raise SchemaError(errors)

    missing = set(existing) - set(document.keys) if prune_collections is not None else set()
    for key in sorted(missing):
        collection = existing[key]
        if prune_collections:
            items = Item.objects.filter(collection=collection).count()
            collection.delete()
            result.changes.append(f"- collection {key} ({items} items deleted)")
        else:
            result.notes.append(f"kept collection {key}: not in the file (--prune deletes it)")
    return result


def _create_collection(organization: Organization, spec: CollectionSpec) -> Collection:
    collection = Collection.objects.create(
        organization=organization, key=spec.key, name=spec.name, label_field=spec.label
    )
    Field.objects.bulk_create(
        Field(collection=collection, key=f.key, order=order, **model_values(f))
        for order, f in enumerate(spec.fields)
    )
    return collection


def _update_collection(
    collection: Collection,
    spec: CollectionSpec,
    prune: bool,
    result: ApplyResult,
    errors: list[str],
) -> None:
    changes: list[str] = []
    if collection.name != spec.name:
        changes.append(f"~ collection {spec.key}: name {collection.name!r} -> {spec.name!r}")
        collection.name = spec.name
    if collection.label_field != spec.label:
        changes.append(
            f"~ collection {spec.key}: label {collection.label_field!r} -> {spec.label!r}"
        )
        collection.label_field = spec.label

    current = {f.key: f for f in collection.fields.all()}
    before = [m.key for m in sorted(current.values(), key=lambda m: (m.order, m.id))]
    has_items = _collection_has_items(collection)
    wanted = [f.key for f in spec.fields]
    leftover = [k for k in current if k not in wanted]
    removed = set(leftover) if prune else set()
    kept = [key for key in leftover if key not in removed]
    order = {key: index for index, key in enumerate(wanted + kept)}

    to_create, to_update = [], []
    for field_spec in spec.fields:
        model = current.get(field_spec.key)
        if model is None:
            to_create.append(
                Field(
                    collection=collection,
                    key=field_spec.key,
                    order=order[field_spec.key],
                    **model_values(field_spec),
                )
            )
            changes.append(f"+ field {spec.key}.{field_spec.key} ({field_spec.type})")
            continue
        if has_items:
            errors.extend(_shape_change_errors(spec.key, model, field_spec))
        differences = _differences(model, field_spec)
        if differences:
            changes.append(f"~ field {spec.key}.{field_spec.key}: {', '.join(differences)}")
        if differences or model.order != order[field_spec.key]:
            for attribute, value in model_values(field_spec).items():
                setattr(model, attribute, value)
            model.order = order[field_spec.key]
            to_update.append(model)
    for key in leftover:
        model = current[key]
        if key in removed:
            continue
        result.notes.append(f"kept field {spec.key}.{key}: not in the file (--prune deletes it)")
        if model.order != order[key]:
            model.order = order[key]
            to_update.append(model)
    changes.extend(f"- field {spec.key}.{key}" for key in sorted(removed))
    after = [key for key in order if key in current]
    if [key for key in before if key not in removed] != after:
        changes.append(f"~ collection {spec.key}: field order {', '.join(after)}")
    if errors:
        return

    Field.objects.filter(collection=collection, key__in=removed).delete()
    Field.objects.bulk_create(to_create)
    Field.objects.bulk_update(to_update, FIELD_COLUMNS)
    if changes or to_update:
        collection.save()  # moves updated_at: compiled-schema caches key on it
    if to_create or removed:
        _reconcile_item_data(collection, removed_keys=removed)
    result.changes.extend(changes)


def _differences(model: Field, spec: FieldSpec) -> list[str]:
    differences = []
    for attribute, value in model_values(spec).items():
        if getattr(model, attribute) != value:
            differences.append(f"{attribute} {getattr(model, attribute)!r} -> {value!r}")
    return differences


def _collection_has_items(collection: Collection) -> bool:
    return Item.objects.filter(collection=collection, deleted_at__isnull=True).exists()


def _shape_change_errors(collection_key: str, model: Field, spec: FieldSpec) -> Iterable[str]:
    """Why ``model`` cannot become ``spec`` in a collection that has items (if it cannot)."""
    for attribute, option in SHAPE_ATTRIBUTES.items():
        old, new = getattr(model, attribute), getattr(spec, attribute)
        if old != new:
            yield (
                f"collection {collection_key!r}, field {model.key!r}: cannot change {option!r} "
                f"from {old!r} to {new!r} while the collection has items; add a field with a "
                "new key instead (and remove this one with --prune)"
            )


def _reconcile_item_data(collection: Collection, removed_keys: Iterable[str] = ()) -> int:
    """Give every stored version of the collection's items exactly the schema's field keys.

    New fields appear as null, removed fields disappear (with their filter index rows), so
    "every schema field key is present in data" stays true. Returns the rows rewritten.
    """
    keys = list(collection.fields.order_by("order", "id").values_list("key", flat=True))
    removed_keys = list(removed_keys)
    if removed_keys:
        ItemFieldIndex.objects.filter(collection=collection, field_key__in=removed_keys).delete()
    wanted = set(keys)
    batch, rewritten = [], 0
    rows = ItemLocale.objects.filter(collection=collection).only("id", "data", "published_data")
    for row in rows.iterator(chunk_size=BATCH_SIZE):
        changed = False
        for attribute in ("data", "published_data"):
            values = getattr(row, attribute)
            if isinstance(values, dict) and set(values) != wanted:
                setattr(row, attribute, {k: values.get(k) for k in keys})
                changed = True
        if changed:
            batch.append(row)
        if len(batch) >= BATCH_SIZE:
            rewritten += _save_rows(batch)
    return rewritten + _save_rows(batch)


def _save_rows(batch: list[ItemLocale]) -> int:
    count = len(batch)
    if batch:
        ItemLocale.objects.bulk_update(batch, ["data", "published_data"])
        batch.clear()
    return count


def _collection_spec(collection: Collection) -> CollectionSpec:
    """A stored collection as a spec (its fields in order)."""
    return CollectionSpec(
        key=collection.key,
        name=collection.name or default_name(collection.key),
        label=collection.label_field,
        fields=tuple(
            dataclasses.replace(spec_from_model(f), name=f.name or default_name(f.key))
            for f in sorted(collection.fields.all(), key=lambda f: (f.order, f.id))
        ),
    )


def export_schema(organization: Organization) -> dict:
    """The organization's collections in the schema file format (defaults left out)."""
    collections = Collection.objects.filter(organization=organization).prefetch_related("fields")
    return document_to_data(SchemaDocument(tuple(_collection_spec(c) for c in collections)))
