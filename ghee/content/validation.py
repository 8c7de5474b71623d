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
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator

from ghee.accounts.models import Locale

from .choices import FieldType, ItemStatus
from .models import Collection, Field, Item

MAX_ITEMS_PER_REQUEST = 100
MAX_TEXT_CHARS = 1_000_000
MAX_SAFE_INTEGER = 2**53 - 1
TEXT_TYPES = frozenset(
    {FieldType.SHORT_TEXT, FieldType.LONG_TEXT, FieldType.WYSIWYG, FieldType.HTML}
)

REQUIRED = "This field is required."
NOT_NULL = "This field may not be null."
NOT_BLANK = "This field may not be blank."
NOT_EMPTY_LIST = "This list may not be empty."


class FieldError(Exception):
    """One value is not acceptable for its field; the message is for the client."""


class BodyInvalid(Exception):
    """The request body failed validation; ``detail`` is the 400 response body."""

    def __init__(self, detail: dict) -> None:
        super().__init__(detail)
        self.detail = detail


def _show(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 50 else text[:47] + "..."


def _type_name(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean"}.get(
        type(value), "number" if isinstance(value, int | float) else type(value).__name__
    )


# --- Per-type cleaners ------------------------------------------------------------------------

_NUMERIC_STRING = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_INTEGER_STRING = re.compile(r"[+-]?\d+")
_COLOR = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")
_US_PHONE = re.compile(r"(\+?1[\s.-]?)?(\(\d{3}\)|\d{3})[\s.-]?\d{3}[\s.-]?\d{4}")
_US_ZIP = re.compile(r"\d{5}(-\d{4})?")
_email = EmailValidator()
_url = URLValidator(schemes=["http", "https"])
DATE_FORMAT_MESSAGE = (
    "Date has wrong format. Use one of these formats instead: "
    "YYYY-MM-DD, YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
)


def _pattern_check(pattern: str) -> Callable[[str], None] | None:
    def from_validator(validator, message):
        def check(value: str) -> None:
            try:
                validator(value)
            except ValidationError as exc:
                raise FieldError(message) from exc

        return check

    def from_regex(regex: re.Pattern, message: str):
        def check(value: str) -> None:
            if regex.fullmatch(value) is None:
                raise FieldError(message)

        return check

    if not pattern:
        return None
    if pattern == "email":
        return from_validator(_email, "Enter a valid email address.")
    if pattern == "url":
        return from_validator(_url, "Enter a valid URL.")
    if pattern == "us_phone":
        return from_regex(_US_PHONE, "Enter a valid US phone number.")
    if pattern == "us_zip":
        return from_regex(_US_ZIP, "Enter a valid US ZIP code.")
    if pattern.startswith("regex:"):
        try:
            regex = re.compile(pattern[len("regex:") :])
        except re.error:
            regex = None
        if regex is not None:
            return from_regex(regex, "This value does not match the required pattern.")

    def misconfigured(value: str) -> None:
        raise FieldError(f"The field's pattern {pattern!r} is not valid; fix the schema.")

    return misconfigured


def _text_cleaner(spec: Field) -> Callable[[Any], Any]:
    min_length, max_length = spec.min_length, spec.max_length
    pattern = _pattern_check(spec.pattern)

    def clean(value: Any) -> Any:
        if not isinstance(value, str):
            raise FieldError("Not a valid string.")
        if len(value) > MAX_TEXT_CHARS:
            raise FieldError(f"Ensure this field has no more than {MAX_TEXT_CHARS} characters.")
        if value == "":
            return value
        if max_length is not None and len(value) > max_length:
            raise FieldError(f"Ensure this field has no more than {max_length} characters.")
        if min_length is not None and len(value) < min_length:
            raise FieldError(f"Ensure this field has at least {min_length} characters.")
        if pattern is not None:
            pattern(value)
        return value

    return clean


def to_number(value: Any) -> int | float:
    """A JSON number or numeric string as int (when integral in form) or finite float."""
    if isinstance(value, bool):
        raise FieldError("A valid number is required.")
    if isinstance(value, str):
        text = value.strip()
        if len(text) > 100 or not _NUMERIC_STRING.fullmatch(text):
            raise FieldError("A valid number is required.")
        value = int(text) if _INTEGER_STRING.fullmatch(text) else float(text)
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise FieldError(
                f"Ensure this value is between {-MAX_SAFE_INTEGER} and {MAX_SAFE_INTEGER}."
            )
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise FieldError("A valid number is required.")
        return value
    raise FieldError("A valid number is required.")


def _number_cleaner(spec: Field) -> Callable[[Any], Any]:
    low, high = spec.min_value, spec.max_value

    def clean(value: Any) -> Any:
        number = to_number(value)
        if low is not None and number < low:
            raise FieldError(f"Ensure this value is greater than or equal to {low:g}.")
        if high is not None and number > high:
            raise FieldError(f"Ensure this value is less than or equal to {high:g}.")
        return number

    return clean


def clean_date(value: Any) -> str:
    """ISO 8601 date or datetime -> naive ``YYYY-MM-DDTHH:MM:SS`` (aware -> UTC first)."""
    if not isinstance(value, str) or len(value) > 40:
        raise FieldError(DATE_FORMAT_MESSAGE)
    text = value.strip()
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError) as exc:
        raise FieldError(DATE_FORMAT_MESSAGE) from exc
    return parsed.replace(microsecond=0).isoformat()


_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def clean_checkbox(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise FieldError("Must be a valid boolean.")


def _option_values(choices: Any) -> list:
    values = []
    for choice in choices if isinstance(choices, list) else []:
        values.append(choice.get("value") if isinstance(choice, dict) else choice)
    return [value for value in values if value is not None]


def _dropdown_cleaner(spec: Field) -> Callable[[Any], Any]:
    values = _option_values(spec.choices)
    by_text = {str(value): value for value in values}

    def clean(value: Any) -> Any:
        if isinstance(value, dict | list) or str(value) not in by_text:
            raise FieldError(f'"{_show(value)}" is not a valid choice.')
        return by_text[str(value)]

    return clean


def clean_color(value: Any) -> str:
    if not isinstance(value, str) or not (match := _COLOR.fullmatch(value.strip())):
        raise FieldError("Enter a color as #rrggbb.")
    digits = match.group(1).lower()
    if len(digits) == 3:
        digits = "".join(ch * 2 for ch in digits)
    return "#" + digits


def clean_media(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 2048:
        raise FieldError("Enter a valid http(s) URL.")
    try:
        _url(value)
        urlsplit(value)
    except (ValidationError, ValueError) as exc:
        raise FieldError("Enter a valid http(s) URL.") from exc
    return value


def _reference_id(value: Any) -> int:
    if isinstance(value, bool):
        raise FieldError("Expected an item id (an integer).")
    if isinstance(value, str) and _INTEGER_STRING.fullmatch(value.strip()):
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or not 0 < value <= MAX_SAFE_INTEGER:
        raise FieldError("Expected an item id (an integer).")
    return value


def _reference_cleaner(spec: Field) -> Callable[[Any], Any]:
    if spec.many:

        def clean_many(value: Any) -> list[int]:
            if not isinstance(value, list):
                raise FieldError(f'Expected a list of item ids but got type "{_type_name(value)}".')
            if len(value) > 1000:
                raise FieldError("Ensure this field has no more than 1000 elements.")
            ids = []
            for element in value:
                item_id = _reference_id(element)
                if item_id not in ids:
                    ids.append(item_id)
            return ids

        return clean_many
    return _reference_id


_CLEANERS: dict[str, Callable[[Field], Callable[[Any], Any]]] = {
    FieldType.NUMBER: _number_cleaner,
    FieldType.DATE: lambda spec: clean_date,
    FieldType.CHECKBOX: lambda spec: clean_checkbox,
    FieldType.DROPDOWN: _dropdown_cleaner,
    FieldType.COLOR: lambda spec: clean_color,
    FieldType.MEDIA: lambda spec: clean_media,
    FieldType.REFERENCE: _reference_cleaner,
    **{text_type: _text_cleaner for text_type in TEXT_TYPES},
}


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
    clean_value = _CLEANERS.get(spec.type, _text_cleaner)(spec)
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
    """Per-process compiled schemas by ``(organization id, collection key)``."""

    def __init__(self) -> None:
        self._entries: dict[tuple[int, str], tuple[float, CompiledSchema | None]] = {}

    def get(self, organization_id: int, key: str) -> CompiledSchema | None:
        ttl = settings.GHEE_SCHEMA_CACHE_SECONDS
        now = time.monotonic()
        hit = self._entries.get((organization_id, key))
        if hit is not None and ttl > 0 and now - hit[0] < ttl:
            return hit[1]
        schema = self._load(organization_id, key, hit[1] if hit else None)
        if ttl > 0:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[(organization_id, key)] = (now, schema)
        return schema

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
        self._entries.clear()


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
        errors.add(("status",), f'"{_show(status)}" is not a valid choice.')
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
            path, f'Expected an object of field values but got type "{_type_name(element)}".'
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
            errors.add(
                (*path, str(code)), f'Unknown locale "{_show(code)}". Known: {", ".join(codes)}.'
            )
        elif not isinstance(values, dict):
            errors.add(
                (*path, code),
                f'Expected an object of field values but got type "{_type_name(values)}".',
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
                    f"Invalid data. Expected a dictionary, but got {_type_name(body)}."
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
        errors.add(("fields",), f'Expected a list of items but got type "{_type_name(elements)}".')
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
