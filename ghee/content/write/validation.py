"""Validate Write API bodies against a collection's compiled schema (``schema.cache``).

Each value is cleaned by its field's type (``ghee.content.field_types``) into its
canonical stored form, or refused with a DRF-style message.

Errors mirror the request body: ``{"fields": {"<index>": {"<locale>": {"<field>": [msg]}}}}``
for a create in an organization with locales, ``{"fields": {"<index>": {"<field>": [msg]}}}``
without locales, and the same without the index for PUT/PATCH.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from ghee.content.choices import ItemStatus
from ghee.content.field_types.values import (
    NOT_EMPTY_LIST,
    REQUIRED,
    FieldError,
    json_type_name,
    show_value,
)
from ghee.content.models import Item
from ghee.content.schema.compiled import CompiledField, CompiledSchema

MAX_ITEMS_PER_REQUEST = 100
Where = TypeVar("Where")
# The key of the item's id in what a read returns: no field may be called that, so an
# element of "fields" may carry it (a read sent back as a write); it is ignored.
READ_META = "meta"
# Other members beside "fields" or "status" are ignored (a read sent back as a write carries
# the item's "meta", some clients add its "id"), but a body with neither does nothing.
VALUES_GO_UNDER_FIELDS = (
    'Values go under "fields", e.g. {"fields": {"<field key>": <value>}}; '
    'this body has neither "fields" nor "status".'
)


class BodyInvalid(Exception):
    """The request body failed validation; ``detail`` is the 400 response body."""

    def __init__(self, detail: dict) -> None:
        super().__init__(detail)
        self.detail = detail


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


def missing_references(
    wanted: Iterable[tuple[Where, CompiledField, list[int]]],
) -> list[tuple[Where, CompiledField, int]]:
    """The referenced ids that are not live items of their field's target collection.

    ``wanted`` holds ``(where, field, ids)``; one query answers for all of them. Used when a
    write is accepted and again when its job applies (an item may be deleted in between).
    """
    wanted = list(wanted)
    if not wanted:
        return []
    ids = {item_id for _, _, ids in wanted for item_id in ids}
    found = dict(
        Item.objects.filter(pk__in=ids, deleted_at__isnull=True).values_list("id", "collection_id")
    )
    return [
        (where, field, item_id)
        for where, field, ids in wanted
        for item_id in ids
        if found.get(item_id) != field.reference_collection_id
    ]


def missing_reference_message(field: CompiledField, item_id: int) -> str:
    return f'Item {item_id} does not exist in collection "{field.reference_key}".'


@dataclass
class _References:
    """Reference ids seen in a body, checked with one query at the end."""

    wanted: list[tuple[tuple[str, ...], CompiledField, list[int]]]

    def check(self, errors: _Errors) -> None:
        for path, field, item_id in missing_references(self.wanted):
            errors.add(path, missing_reference_message(field, item_id))


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
    codes = schema.locales.codes
    if not codes:
        return {"": element}
    nested = any(key in codes for key in element) or (
        element
        and all(isinstance(value, dict) for key, value in element.items() if key != READ_META)
    )
    if not nested:
        return {schema.locales.default: element}
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
                if key != READ_META:  # an item as a read returns it: its meta is no field
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


def require_object(body: Any) -> dict:
    """The body, if it is a JSON object: every write body is one (DRF's message otherwise)."""
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
    body = require_object(body)
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
    body = require_object(body)
    errors = _Errors()
    references = _References([])
    status = _status(body, errors, None)
    cleaned: dict = {}
    if "fields" not in body and "status" not in body:
        errors.add(("fields",), VALUES_GO_UNDER_FIELDS)
    elif "fields" not in body and not partial:
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
