"""The Read API's query parameters: locale, preview, levels, paging, filters, order.

Everything a client can get wrong is answered here with a 4xx ``{"detail": ...}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rest_framework import exceptions, status

from ghee.content.field_types import FieldError
from ghee.content.schema.compiled import CompiledField, CompiledSchema, LocaleSet
from ghee.core.paging import (  # noqa: F401 (re-exported for the read views and queries)
    DEFAULT_PAGE_SIZE,
    EVERYTHING,
    MAX_OFFSET,
    MAX_PAGE_SIZE,
    BadQueryParameter,
    Paging,
    int_or_none,
    parse_paging,
)

DEFAULT_LEVELS = 2
MAX_LEVELS = 5


# The paging parameters, and their 400, are shared with jobs and media (ghee/core/paging.py).
BadReadParameter = BadQueryParameter


class InvalidCollectionQuery(exceptions.APIException):
    """A filter or order on something the collection doesn't have. ButterCMS documents 403
    for an "invalid collection filter/order"."""

    status_code = status.HTTP_403_FORBIDDEN
    default_code = "invalid_collection_query"


@dataclass(frozen=True)
class Scope:
    """Which version of items a request sees."""

    locale: str
    preview: bool

    @property
    def published(self) -> bool:
        return not self.preview


@dataclass(frozen=True)
class ReadOptions:
    scope: Scope
    levels: int
    alt_media_text: bool


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def parse_read_options(params: Mapping[str, str], locales: LocaleSet) -> ReadOptions:
    """Parse ``locale``, ``preview`` (``test`` is its alias, as ButterCMS's SDKs send it in
    test mode), ``levels`` and ``alt_media_text``.

    An organization without locales ignores ``locale``: the PHP, Ruby and Go SDK READMEs
    send ``locale=en`` in their first example, and there is nothing to choose between.
    """
    locale = params.get("locale") or ""
    if not locale or not locales.codes:
        locale = locales.default
    elif locale not in locales.codes:
        raise BadReadParameter("Invalid locale parameter")
    preview = _flag(params.get("preview")) or _flag(params.get("test"))
    raw_levels = params.get("levels")
    levels = DEFAULT_LEVELS
    if raw_levels not in (None, ""):
        levels = _int_or_none(raw_levels)
        if levels is None or not 1 <= levels <= MAX_LEVELS:
            raise BadReadParameter(
                "levels query parameter should be an integer between 1 and 5 (inclusive)"
            )
    return ReadOptions(
        scope=Scope(locale=locale, preview=preview),
        levels=levels,
        alt_media_text=_flag(params.get("alt_media_text")),
    )


def parse_path_id(raw: str) -> int | None:
    """A path's item or job id, or None when it can't be one (so: 404).

    Ids are row ids: ASCII digits, at most 18 of them (a bigint), from 1 as on ButterCMS;
    ``0``, ``-1``, ``1.0`` or a non-ASCII digit name nothing.
    """
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        return None
    return int(raw) or None


_int_or_none = int_or_none


ITEM_ID = "item_id"


@dataclass(frozen=True)
class Filter:
    key: str  # the field's key ("_id" for the item id)
    many: bool  # the field holds several values per item (a many-reference)
    column: str  # "text_value" or "number_value" of ItemFieldIndex, or ITEM_ID
    value: str | float | int


def id_filter(value: str, name: str) -> Filter:
    """The ``[_id=<id>]`` bracket filter of ``?keys=``."""
    item_id = _int_or_none(value)
    if item_id is None:
        raise BadReadParameter(f"Invalid filter value for {name}: expected an item id")
    return Filter("_id", False, ITEM_ID, item_id)


@dataclass(frozen=True)
class Order:
    key: str
    column: str  # the ItemFieldIndex column the field's type sorts by
    descending: bool


def parse_filters(
    schema: CompiledSchema, pairs: Iterable[tuple[str, str]], *, name_format: str = "fields.{}"
) -> list[Filter]:
    """``(field_key, value)`` pairs -> filters. Unknown fields are 403, bad values 400;
    messages name the parameter as ``name_format.format(field_key)``. A filter given twice
    is kept once (the same condition twice selects the same items)."""
    filters = []
    for key, value in dict.fromkeys(pairs):
        name = name_format.format(key)
        field = schema.field(key)
        if field is None:
            raise InvalidCollectionQuery(
                f"Invalid collection filter {name}: collection {schema.collection_key} "
                f"has no field {key}"
            )
        filters.append(_filter_for(field, value, name))
    return filters


def field_filter_pairs(params) -> list[tuple[str, str]]:
    """``fields.<key>=<value>`` query parameters (repeatable) as pairs, in request order."""
    pairs = []
    for name in params:
        if name.startswith("fields."):
            pairs.extend((name[len("fields.") :], value) for value in params.getlist(name))
    return pairs


def _filter_for(field: CompiledField, value: str, name: str) -> Filter:
    """The filter value read as its field's type reads a written value (see field_types).
    A NUL character is refused: PostgreSQL cannot store one in text (so no stored value
    holds one), and passing it on would be a database error."""
    if "\x00" in value:
        raise BadReadParameter(f"Invalid filter value for {name}: NUL characters are not allowed")
    try:
        column, encoded = field.kind.filter_value(value)
    except FieldError as exc:
        expected = field.kind.filter_expects
        raise BadReadParameter(
            f"Invalid filter value for {name}: "
            + (f"expected {expected}" if expected else str(exc))
        ) from None
    return Filter(field.key, field.many, column, encoded)


def parse_order(schema: CompiledSchema, raw: str | None) -> Order | None:
    """``<key>`` or ``-<key>``; anything else (``-``, ``--<key>``) names no field: 403."""
    raw = (raw or "").strip()
    if not raw:
        return None
    descending = raw.startswith("-")
    key = raw[1:] if descending else raw
    field = schema.field(key)
    if field is None:
        raise InvalidCollectionQuery(
            f"Invalid collection order: collection {schema.collection_key} has no field "
            f"{key or '(none)'}"
        )
    if not field.kind.orderable:
        raise InvalidCollectionQuery(
            f"Invalid collection order: {key} is a {field.type} field and cannot be ordered by"
        )
    return Order(key, field.kind.order_column, descending)
