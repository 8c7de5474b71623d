"""Validate Write API bodies against a collection's schema, compiled once per process.

A ``CompiledSchema`` holds one ``clean`` function per field; cleaning turns an accepted
value into its canonical stored form (see the shared value formats in the docs) or raises
``FieldError`` with a DRF-style message. ``schema_cache`` serves compiled schemas with no
query while fresh (``GHEE_SCHEMA_CACHE_SECONDS``); after that one cheap query checks
``(collection.id, collection.updated_at)`` and the organization's locales, and recompiles
only if they changed. Whoever changes a collection's fields must save the collection too,
so ``updated_at`` moves.

Errors mirror the request body: ``{"fields": {"<index>": {"<locale>": {"<field>": [msg]}}}}``
for a create in an organization with locales, ``{"fields": {"<index>": {"<field>": [msg]}}}``
without locales, and the same without the index for PUT/PATCH.
"""

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ghee.accounts.models import Locale
from ghee.content.choices import FieldType, ItemStatus
from ghee.content.field_values import (
    MAX_ITEMS_PER_REQUEST,
    NOT_BLANK,
    NOT_EMPTY_LIST,
    NOT_NULL,
    REQUIRED,
    TEXT_TYPES,
    FieldError,
    clean_color,
    clean_date,
    cleaner_for,
    json_type_name,
    show_value,
    to_number,
)
from ghee.content.models import Collection, Field, Item
from ghee.core.cache import TtlCache

__all__ = [
    "BodyInvalid",
    "CompiledField",
    "CompiledSchema",
    "FieldError",
    "clean_color",
    "clean_date",
    "schema_cache",
    "to_number",
    "validate_change",
    "validate_create",
]


class BodyInvalid(Exception):
    """The request body failed validation; ``detail`` is the 400 response body."""

    def __init__(self, detail: dict) -> None:
        super().__init__(detail)
        self.detail = detail


# --- Compiled schema ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CompiledField:
    key: str
    type: str
    required: bool
    translatable: bool
    many: bool
    reference_collection_id: int | None
    reference_key: str
    clean_value: Callable[[Any], Any]
    empty: Any
    default: Any

    def clean(self, value: Any) -> Any:
        """Canonical value, ``empty`` for null/blank, or FieldError."""
        if value is None:
            return self.empty
        if value == "" and self.type not in TEXT_TYPES:
            return self.empty
        if self.type == FieldType.REFERENCE and self.reference_collection_id is None:
            raise FieldError(f'The referenced collection "{self.reference_key}" does not exist.')
        return self.clean_value(value)

    def emptiness_error(self, raw: Any, cleaned: Any) -> str | None:
        """For a required field: why ``raw`` (cleaned to ``cleaned``) does not fill it."""
        if raw is None:
            return NOT_NULL
        if raw == "" or (self.type in TEXT_TYPES and cleaned == ""):
            return NOT_BLANK
        if cleaned == [] and self.many:
            return NOT_EMPTY_LIST
        if cleaned is None:
            return NOT_NULL
        return None


@dataclass(frozen=True)
class CompiledSchema:
    organization_id: int
    collection_id: int
    collection_key: str
    updated_at: datetime
    locale_rows: tuple[tuple[str, bool], ...]
    fields: dict[str, CompiledField]

    @property
    def locales(self) -> tuple[str, ...]:
        return tuple(code for code, _ in self.locale_rows)

    @property
    def default_locale(self) -> str:
        for code, is_default in self.locale_rows:
            if is_default:
                return code
        return self.locale_rows[0][0] if self.locale_rows else ""

    def empty_data(self) -> dict[str, Any]:
        return {key: spec.default for key, spec in self.fields.items()}


def _compile_field(spec: Field, reference_ids: dict[str, int]) -> CompiledField:
    is_many = spec.type == FieldType.REFERENCE and spec.many
    clean_value = cleaner_for(spec)
    empty = [] if is_many else None
    field = CompiledField(
        key=spec.key,
        type=spec.type,
        required=spec.required,
        translatable=spec.translatable,
        many=is_many,
        reference_collection_id=reference_ids.get(spec.reference_to),
        reference_key=spec.reference_to,
        clean_value=clean_value,
        empty=empty,
        default=empty,
    )
    default = empty
    if spec.default is not None:
        try:
            default = field.clean(spec.default)
        except FieldError:
            default = empty
    return dataclasses.replace(field, default=default)


def compile_schema(
    collection: Collection, locale_rows: tuple[tuple[str, bool], ...]
) -> CompiledSchema:
    specs = list(Field.objects.filter(collection_id=collection.pk).order_by("order", "id"))
    targets = {spec.reference_to for spec in specs if spec.type == FieldType.REFERENCE}
    reference_ids = dict(
        Collection.objects.filter(
            organization_id=collection.organization_id, key__in=targets
        ).values_list("key", "id")
    )
    return CompiledSchema(
        organization_id=collection.organization_id,
        collection_id=collection.pk,
        collection_key=collection.key,
        updated_at=collection.updated_at,
        locale_rows=locale_rows,
        fields={spec.key: _compile_field(spec, reference_ids) for spec in specs},
    )


class SchemaCache:
    """Per-process compiled schemas by ``(organization id, collection key)``.

    An expired entry is revalidated, not recompiled, while the collection's ``updated_at``
    and the organization's locales are unchanged.
    """

    def __init__(self) -> None:
        self._cache: TtlCache[CompiledSchema] = TtlCache("GHEE_SCHEMA_CACHE_SECONDS")

    def get(self, organization_id: int, key: str) -> CompiledSchema | None:
        return self._cache.get(
            (organization_id, key), lambda cached: self._load(organization_id, key, cached)
        )

    @staticmethod
    def _load(
        organization_id: int, key: str, cached: CompiledSchema | None
    ) -> CompiledSchema | None:
        if not isinstance(key, str) or len(key) > 100:
            return None
        collection = Collection.objects.filter(organization_id=organization_id, key=key).first()
        if collection is None:
            return None
        locale_rows = tuple(
            Locale.objects.filter(organization_id=organization_id)
            .order_by("order", "code")
            .values_list("code", "is_default")
        )
        if (
            cached is not None
            and cached.collection_id == collection.pk
            and cached.updated_at == collection.updated_at
            and cached.locale_rows == locale_rows
        ):
            return cached
        return compile_schema(collection, locale_rows)

    def clear(self) -> None:
        self._cache.clear()


schema_cache = SchemaCache()


# --- Request bodies ----------------------------------------------------------------------------


class _Errors:
    """Collects messages at paths like ("fields", "0", "en", "name")."""

    def __init__(self) -> None:
        self.tree: dict = {}

    def add(self, path: tuple[str, ...], message: str) -> None:
        node = self.tree
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if isinstance(child, list):  # a message already sits above this path
                return
            node = child
        node.setdefault(path[-1], [])
        if isinstance(node[path[-1]], list):
            node[path[-1]].append(message)

    def __bool__(self) -> bool:
        return bool(self.tree)


@dataclass
class _References:
    """Reference ids seen in a body, checked with one query at the end."""

    wanted: list[tuple[tuple[str, ...], CompiledField, list[int]]]

    def check(self, errors: _Errors) -> None:
        if not self.wanted:
            return
        ids = {item_id for _, _, ids in self.wanted for item_id in ids}
        found = dict(
            Item.objects.filter(pk__in=ids, deleted_at__isnull=True).values_list(
                "id", "collection_id"
            )
        )
        for path, field, ids in self.wanted:
            missing = [i for i in ids if found.get(i) != field.reference_collection_id]
            for item_id in missing:
                errors.add(
                    path,
                    f'Item {item_id} does not exist in collection "{field.reference_key}".',
                )


def _status(body: dict, errors: _Errors, default: str | None) -> str | None:
    if "status" not in body:
        return default
    status = body["status"]
    if status not in ItemStatus.values:
        errors.add(("status",), f'"{show_value(status)}" is not a valid choice.')
        return None
    return status


def _split_locales(
    schema: CompiledSchema, element: Any, path: tuple[str, ...], errors: _Errors, mode: str
) -> dict[str, dict] | None:
    """An element of ``fields`` -> {locale: {field: raw value}} ("" without locales).

    In an organization with locales an element is nested by locale when one of its keys is
    a locale code or every value is an object; otherwise it is a flat element for the
    default locale. An empty PATCH ``fields`` names no locale at all.
    """
    if not isinstance(element, dict):
        errors.add(
            path, f'Expected an object of field values but got type "{json_type_name(element)}".'
        )
        return None
    if not element and mode == "update":
        return {}
    if not schema.locale_rows:
        return {"": element}
    codes = schema.locales
    nested = any(key in codes for key in element) or (
        element and all(isinstance(value, dict) for value in element.values())
    )
    if not nested:
        return {schema.default_locale: element}
    by_locale: dict[str, dict] = {}
    for code, values in element.items():
        if code not in codes:
            known = ", ".join(codes)
            errors.add((*path, str(code)), f'Unknown locale "{show_value(code)}". Known: {known}.')
        elif not isinstance(values, dict):
            errors.add(
                (*path, code),
                f'Expected an object of field values but got type "{json_type_name(values)}".',
            )
        else:
            by_locale[code] = values
    return by_locale


def _clean_element(
    schema: CompiledSchema,
    element: Any,
    path: tuple[str, ...],
    mode: str,
    errors: _Errors,
    references: _References,
) -> dict[str, dict] | None:
    """One item's values, cleaned: {locale: {field: canonical}}; complete unless PATCH."""
    by_locale = _split_locales(schema, element, path, errors, mode)
    if by_locale is None:
        return None
    fields = schema.fields
    cleaned: dict[str, dict] = {}
    shared: dict[str, tuple[Any, str]] = {}  # non-translatable key -> (value, first locale)
    for locale, raw_values in by_locale.items():
        where = (*path, locale) if locale else path
        values: dict[str, Any] = {}
        for key, raw in raw_values.items():
            field = fields.get(key)
            if field is None:
                errors.add((*where, str(key)), "Unknown field.")
                continue
            try:
                value = field.clean(raw)
            except FieldError as exc:
                errors.add((*where, key), str(exc))
                continue
            if field.required and (problem := field.emptiness_error(raw, value)):
                errors.add((*where, key), problem)
                continue
            if not field.translatable:
                first = shared.setdefault(key, (value, locale))
                if first[0] != value:
                    errors.add(
                        (*where, key),
                        "This field is not translatable: give one value for every locale.",
                    )
                    continue
            if field.reference_collection_id is not None and value not in (None, []):
                references.wanted.append(((*where, key), field, value if field.many else [value]))
            values[key] = value
        cleaned[locale] = values
    if mode == "update":
        return cleaned
    for locale, values in cleaned.items():
        where = (*path, locale) if locale else path
        for key, field in fields.items():
            if key in values or key in by_locale[locale]:  # given (valid or reported)
                continue
            if key in shared:
                values[key] = shared[key][0]
            elif field.required and field.default in (None, [], ""):
                errors.add((*where, key), REQUIRED)
            else:
                values[key] = field.default
        cleaned[locale] = {key: values.get(key, fields[key].empty) for key in fields}
    return cleaned


def _require_object(body: Any) -> dict:
    if not isinstance(body, dict):
        raise BodyInvalid(
            {
                "non_field_errors": [
                    f"Invalid data. Expected a dictionary, but got {json_type_name(body)}."
                ]
            }
        )
    return body


def validate_create(schema: CompiledSchema, body: Any) -> dict:
    """A POST body -> the job payload ``{"status", "fields": [{locale: {field: value}}]}``."""
    body = _require_object(body)
    errors = _Errors()
    references = _References([])
    status = _status(body, errors, ItemStatus.DRAFT)
    elements = body.get("fields")
    items: list[dict] = []
    if "fields" not in body:
        errors.add(("fields",), REQUIRED)
    elif not isinstance(elements, list):
        kind = json_type_name(elements)
        errors.add(("fields",), f'Expected a list of items but got type "{kind}".')
    elif not elements:
        errors.add(("fields",), NOT_EMPTY_LIST)
    elif len(elements) > MAX_ITEMS_PER_REQUEST:
        errors.add(
            ("fields",), f"Ensure this field has no more than {MAX_ITEMS_PER_REQUEST} elements."
        )
    else:
        for index, element in enumerate(elements):
            cleaned = _clean_element(
                schema, element, ("fields", str(index)), "create", errors, references
            )
            items.append(cleaned or {})
    if not errors:
        references.check(errors)
    if errors:
        raise BodyInvalid(errors.tree)
    return {"status": status, "fields": items}


def validate_change(schema: CompiledSchema, body: Any, *, partial: bool) -> dict:
    """A PUT (``partial=False``) or PATCH body -> ``{"status", "fields": {locale: {...}}}``."""
    body = _require_object(body)
    errors = _Errors()
    references = _References([])
    status = _status(body, errors, None)
    cleaned: dict = {}
    if "fields" not in body and not partial:
        errors.add(("fields",), REQUIRED)
    elif "fields" in body:
        cleaned = (
            _clean_element(
                schema,
                body["fields"],
                ("fields",),
                "update" if partial else "replace",
                errors,
                references,
            )
            or {}
        )
    if not errors:
        references.check(errors)
    if errors:
        raise BodyInvalid(errors.tree)
    return {"status": status, "fields": cleaned}
