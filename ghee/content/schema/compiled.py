"""The compiled schema: one collection's fields, ready for validating writes and for reads.

Compiled from the database (``Collection``, its ``Field`` rows, the collections its
references point to, the organization's locales) and served by ``schema.cache``. Both the
Write API and the Read API use this one form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ghee.accounts.models import Locale
from ghee.content.field_types import FieldError, FieldType, field_type
from ghee.content.field_types.options import FieldSpec, spec_from_model
from ghee.content.field_types.values import NOT_BLANK, NOT_EMPTY_LIST, NOT_NULL
from ghee.content.models import Collection, Field


@dataclass(frozen=True)
class LocaleSet:
    """An organization's locale codes in order, and its default ("" without locales)."""

    codes: tuple[str, ...]
    default: str


NO_LOCALES = LocaleSet(codes=(), default="")


def load_locales(organization_id: int) -> LocaleSet:
    """The one default-locale rule: the locale marked default, else the first in order."""
    rows = list(
        Locale.objects.filter(organization_id=organization_id)
        .order_by("order", "code")
        .values_list("code", "is_default")
    )
    if not rows:
        return NO_LOCALES
    codes = tuple(code for code, _ in rows)
    default = next((code for code, is_default in rows if is_default), codes[0])
    return LocaleSet(codes=codes, default=default)


@dataclass(frozen=True, slots=True)
class CompiledField:
    """One field: its definition (``spec``), its type's rules (``kind``) and a cleaner.

    The attributes the hot paths read per value are copied out of ``spec``.
    """

    spec: FieldSpec
    kind: FieldType
    key: str
    type: str
    required: bool
    translatable: bool
    many: bool
    is_reference: bool
    reference_key: str
    reference_collection_id: int | None
    clean_value: Callable[[Any], Any]
    empty: Any  # the stored form of "no value": None, or [] for a many-reference
    default: Any  # the stored value of an omitted field on create

    def clean(self, value: Any) -> Any:
        """Canonical value, ``empty`` for null/blank, or FieldError."""
        if value is None:
            return self.empty
        if value == "" and not self.kind.blank_is_value:
            return self.empty
        if self.is_reference and self.reference_collection_id is None:
            raise FieldError(f'The referenced collection "{self.reference_key}" does not exist.')
        return self.clean_value(value)

    def emptiness_error(self, raw: Any, cleaned: Any) -> str | None:
        """For a required field: why ``raw`` (cleaned to ``cleaned``) does not fill it."""
        if raw is None:
            return NOT_NULL
        if raw == "" or (self.kind.blank_is_value and cleaned == ""):
            return NOT_BLANK
        if cleaned == [] and self.many:
            return NOT_EMPTY_LIST
        if cleaned is None:
            return NOT_NULL
        return None


def compile_field(spec: FieldSpec, reference_ids: dict[str, int | None]) -> CompiledField:
    kind = field_type(spec.type)
    is_reference = kind.is_reference
    many = is_reference and bool(spec.many)
    empty = [] if many else None
    field = CompiledField(
        spec=spec,
        kind=kind,
        key=spec.key,
        type=spec.type,
        required=spec.required,
        translatable=spec.translatable,
        many=many,
        is_reference=is_reference,
        reference_key=spec.reference_to if is_reference else "",
        reference_collection_id=reference_ids.get(spec.reference_to) if is_reference else None,
        clean_value=kind.cleaner(spec),
        empty=empty,
        default=empty,
    )
    default = empty
    if spec.default is not None and kind.takes_default:
        try:
            default = field.clean(spec.default)
        except FieldError:
            default = empty
    # A frozen slots dataclass: ``replace`` would rebuild the cleaner for nothing.
    object.__setattr__(field, "default", default)
    return field


@dataclass(frozen=True)
class CompiledSchema:
    organization_id: int
    collection_id: int
    collection_key: str
    updated_at: datetime
    locales: LocaleSet
    fields: dict[str, CompiledField]  # in schema order
    # Each reference's target key -> that collection's id (None: it does not exist).
    reference_ids: dict[str, int | None]

    def field(self, key: str) -> CompiledField | None:
        return self.fields.get(key)


def compile_schema(
    organization_id: int, collection_id: int, key: str, updated_at: datetime, locales: LocaleSet
) -> CompiledSchema:
    """Compile one collection's schema: its fields in order, its references' targets."""
    specs = [
        spec_from_model(row)
        for row in Field.objects.filter(collection_id=collection_id).order_by("order", "id")
    ]
    targets = {spec.reference_to for spec in specs if field_type(spec.type).is_reference}
    found = dict(
        Collection.objects.filter(organization_id=organization_id, key__in=targets).values_list(
            "key", "id"
        )
        if targets
        else ()
    )
    reference_ids = {target: found.get(target) for target in targets}
    return CompiledSchema(
        organization_id=organization_id,
        collection_id=collection_id,
        collection_key=key,
        updated_at=updated_at,
        locales=locales,
        fields={spec.key: compile_field(spec, reference_ids) for spec in specs},
        reference_ids=reference_ids,
    )
