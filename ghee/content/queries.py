"""The Read API's queries: which items are visible, filters, ordering and paging.

Visibility (see the storage model in ``models.py``): an item is visible in a locale when it
has an ``ItemLocale`` there with ``is_deleted=False`` and, without preview,
``is_published=True``; preview renders ``data``, everything else ``published_data``.
There is no locale fallback: an item written only in ``en`` is not listed in ``es``
(ButterCMS behaves the same way).

Every page is an index range scan, whatever the collection's size:

- no filter, no order: the ``itemlocale_page`` index (published reads) or
  ``itemlocale_preview`` (preview reads) gives visible item ids in id order, index only;
- ``fields.<key>=<value>``: the first filter drives from ``ItemFieldIndex``'s
  ``fieldindex_text``/``fieldindex_number`` index (an equality there yields item ids in id
  order), each further filter is an ``EXISTS`` probe on ``fieldindex_item``;
- ``order=[-]<key>``: the order field's ``ItemFieldIndex`` rows drive in index order; items
  without a value come after those with one, in id order, whichever the direction.

A page is fetched in two steps (ids with LIMIT/OFFSET, then the rows of those ids) so that
deep offsets skip index entries rather than rows. ``COUNT(*)`` over a large collection is
the one cost that grows with size; it is cached for ``GHEE_READ_COUNT_CACHE_SECONDS`` once it
passes ``GHEE_READ_COUNT_CACHE_MIN`` (see ``CountCache``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection
from rest_framework import exceptions, status

from ghee.accounts.models import Locale

from .choices import FieldType
from .models import Collection, Field, ItemFieldIndex, ItemLocale

IL = ItemLocale._meta.db_table
FI = ItemFieldIndex._meta.db_table

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 10
DEFAULT_LEVELS = 2
MAX_LEVELS = 5
# Rows fetched per ``IN (...)`` query: well under SQLite's and PostgreSQL's parameter limits.
ID_BATCH = 500

NUMBER_TYPES = frozenset({FieldType.NUMBER})
ORDERABLE_TYPES = frozenset(FieldType.values) - {FieldType.REFERENCE}


class BadReadParameter(exceptions.APIException):
    """A query parameter the client can fix: 400 ``{"detail": ...}``."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "bad_parameter"


class InvalidCollectionQuery(exceptions.APIException):
    """A filter or order on something the collection doesn't have. ButterCMS documents 403
    for an "invalid collection filter/order"."""

    status_code = status.HTTP_403_FORBIDDEN
    default_code = "invalid_collection_query"


# --- Schema, read through a short per-process cache ---------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    key: str
    type: str
    reference_to: str = ""
    many: bool = False

    @property
    def is_reference(self) -> bool:
        return self.type == FieldType.REFERENCE


@dataclass(frozen=True)
class CollectionSchema:
    id: int
    organization_id: int
    key: str
    fields: tuple[FieldSpec, ...]

    def field(self, key: str) -> FieldSpec | None:
        for spec in self.fields:
            if spec.key == key:
                return spec
        return None


@dataclass(frozen=True)
class LocaleSet:
    codes: tuple[str, ...]
    default: str  # "" for an organization without locales


class ReadSchemaCache:
    """Collections (with their fields) and organizations' locales, per process, for
    ``GHEE_SCHEMA_CACHE_SECONDS``: a schema change reaches reads within that time (a new
    collection at once: misses are not cached)."""

    def __init__(self) -> None:
        self._collections: dict[tuple[int, str], tuple[float, CollectionSchema]] = {}
        self._locales: dict[int, tuple[float, LocaleSet]] = {}

    def clear(self) -> None:
        self._collections.clear()
        self._locales.clear()

    @staticmethod
    def _fresh(stamp: float) -> bool:
        ttl = settings.GHEE_SCHEMA_CACHE_SECONDS
        return ttl > 0 and time.monotonic() - stamp < ttl

    def collection(self, organization_id: int, key: str) -> CollectionSchema | None:
        hit = self._collections.get((organization_id, key))
        if hit is not None and self._fresh(hit[0]):
            return hit[1]
        schema = _load_collection(organization_id, key)
        if schema is None:
            # Not cached: a collection created a moment ago is readable at once.
            self._collections.pop((organization_id, key), None)
            return None
        if len(self._collections) > 10_000:
            self._collections.clear()
        self._collections[(organization_id, key)] = (time.monotonic(), schema)
        return schema

    def locales(self, organization_id: int) -> LocaleSet:
        hit = self._locales.get(organization_id)
        if hit is not None and self._fresh(hit[0]):
            return hit[1]
        rows = list(
            Locale.objects.filter(organization_id=organization_id).values_list("code", "is_default")
        )
        codes = tuple(code for code, _ in rows)
        default = next((code for code, is_default in rows if is_default), codes[0] if codes else "")
        locales = LocaleSet(codes=codes, default=default)
        if len(self._locales) > 10_000:
            self._locales.clear()
        self._locales[organization_id] = (time.monotonic(), locales)
        return locales


def _load_collection(organization_id: int, key: str) -> CollectionSchema | None:
    collection = (
        Collection.objects.filter(organization_id=organization_id, key=key)
        .values_list("id", flat=True)
        .first()
    )
    if collection is None:
        return None
    fields = Field.objects.filter(collection_id=collection).order_by("order", "id")
    return CollectionSchema(
        id=collection,
        organization_id=organization_id,
        key=key,
        fields=tuple(
            FieldSpec(key=f.key, type=f.type, reference_to=f.reference_to, many=f.many)
            for f in fields.only("key", "type", "reference_to", "many")
        ),
    )


read_schema_cache = ReadSchemaCache()


# --- Parameters ---------------------------------------------------------------------------


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


def parse_read_options(
    params: Mapping[str, str], locales: LocaleSet, *, test_alias: bool = False
) -> ReadOptions:
    """Parse ``locale``, ``preview`` (``test`` too if ``test_alias``), ``levels``, alt text."""
    locale = params.get("locale") or ""
    if locale:
        if locale not in locales.codes:
            raise BadReadParameter("Invalid locale parameter")
    else:
        locale = locales.default
    preview = _flag(params.get("preview")) or (test_alias and _flag(params.get("test")))
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


def parse_item_id(raw: str) -> int | None:
    """A path's item id, or None when it can't be one (so: 404)."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        return None
    return int(raw) or None


def _int_or_none(value: str) -> int | None:
    try:
        return int(value.strip())
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Paging:
    """A window on the list. ``by_offset`` says which ``meta`` keys the response carries."""

    offset: int
    limit: int | None  # None: everything (R1 with two or more keys)
    by_offset: bool = False

    @property
    def page(self) -> int:
        return self.offset // self.limit + 1 if self.limit else 1


EVERYTHING = Paging(offset=0, limit=None)


def _bounded(params: Mapping[str, str], name: str, low: int, high: int | None, default: int):
    raw = params.get(name)
    if raw in (None, ""):
        return default
    value = _int_or_none(raw)
    if value is None or value < low or (high is not None and value > high):
        if high is None and low == 1:
            message = f"{name} query parameter should be a positive integer"
        elif high is None:
            message = f"{name} query parameter should be an integer greater than or equal to {low}"
        else:
            message = (
                f"{name} query parameter should be an integer between {low} and {high} (inclusive)"
            )
        raise BadReadParameter(message)
    return value


def parse_paging(params: Mapping[str, str]) -> Paging:
    """``page``/``page_size`` (default 1/10), or ``limit``/``offset`` (default 10/0)."""
    by_offset = any(params.get(name) not in (None, "") for name in ("limit", "offset"))
    by_page = any(params.get(name) not in (None, "") for name in ("page", "page_size"))
    if by_offset and by_page:
        raise BadReadParameter("Use either page and page_size or limit and offset, not both")
    if by_offset:
        limit = _bounded(params, "limit", 1, MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE)
        offset = _bounded(params, "offset", 0, None, 0)
        return Paging(offset=offset, limit=limit, by_offset=True)
    page = _bounded(params, "page", 1, None, 1)
    page_size = _bounded(params, "page_size", 1, MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE)
    return Paging(offset=(page - 1) * page_size, limit=page_size)


ITEM_ID = "item_id"
ID_FIELD = FieldSpec(key="_id", type="id")


@dataclass(frozen=True)
class Filter:
    field: FieldSpec
    column: str  # "text_value" or "number_value" of ItemFieldIndex, or ITEM_ID
    value: str | float | int


def id_filter(value: str, name: str) -> Filter:
    """The ``[_id=<id>]`` bracket filter of ``?keys=``."""
    item_id = _int_or_none(value)
    if item_id is None:
        raise BadReadParameter(f"Invalid filter value for {name}: expected an item id")
    return Filter(ID_FIELD, ITEM_ID, item_id)


@dataclass(frozen=True)
class Order:
    field: FieldSpec
    descending: bool

    @property
    def column(self) -> str:
        return "number_value" if self.field.type in NUMBER_TYPES else "text_value"


def parse_filters(
    schema: CollectionSchema, pairs: Iterable[tuple[str, str]], *, name_format: str = "fields.{}"
) -> list[Filter]:
    """``(field_key, value)`` pairs -> filters. Unknown fields are 403, bad values 400;
    messages name the parameter as ``name_format.format(field_key)``."""
    filters = []
    for key, value in pairs:
        name = name_format.format(key)
        spec = schema.field(key)
        if spec is None:
            raise InvalidCollectionQuery(
                f"Invalid collection filter {name}: collection {schema.key} has no field {key}"
            )
        filters.append(_filter_for(spec, value, name))
    return filters


def field_filter_pairs(params) -> list[tuple[str, str]]:
    """``fields.<key>=<value>`` query parameters (repeatable) as pairs, in request order."""
    pairs = []
    for name in params:
        if name.startswith("fields."):
            pairs.extend((name[len("fields.") :], value) for value in params.getlist(name))
    return pairs


def _filter_for(spec: FieldSpec, value: str, name: str) -> Filter:
    kind = spec.type
    if kind == FieldType.NUMBER:
        try:
            number = float(value)
        except ValueError:
            raise BadReadParameter(f"Invalid filter value for {name}: expected a number") from None
        return Filter(spec, "number_value", number)
    if kind == FieldType.CHECKBOX:
        lowered = value.strip().lower()
        if lowered not in {"true", "false"}:
            raise BadReadParameter(f"Invalid filter value for {name}: expected true or false")
        return Filter(spec, "text_value", lowered)
    if kind == FieldType.REFERENCE:
        item_id = _int_or_none(value)
        if item_id is None:
            raise BadReadParameter(f"Invalid filter value for {name}: expected an item id")
        return Filter(spec, "text_value", str(item_id))
    if kind == FieldType.DATE:
        normalised = normalise_date(value)
        if normalised is None:
            raise BadReadParameter(
                f"Invalid filter value for {name}: expected a date, YYYY-MM-DD[THH:MM:SS]"
            )
        return Filter(spec, "text_value", normalised)
    if kind == FieldType.COLOR:
        return Filter(spec, "text_value", value.strip().lower()[:255])
    return Filter(spec, "text_value", value[:255])


def normalise_date(value: str) -> str | None:
    """The stored form of a date: naive ``YYYY-MM-DDTHH:MM:SS``, aware inputs in UTC."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed.strftime("%Y-%m-%dT%H:%M:%S")


def parse_order(schema: CollectionSchema, raw: str | None) -> Order | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    descending = raw.startswith("-")
    key = raw.lstrip("-")
    spec = schema.field(key)
    if spec is None:
        raise InvalidCollectionQuery(
            f"Invalid collection order: collection {schema.key} has no field {key}"
        )
    if spec.type not in ORDERABLE_TYPES:
        raise InvalidCollectionQuery(
            f"Invalid collection order: {key} is a reference field and cannot be ordered by"
        )
    return Order(spec, descending)


# --- SQL ----------------------------------------------------------------------------------
# The f-strings below interpolate only table and column names defined in this module
# (hence the S608 waivers); every value is a query parameter.


@dataclass
class _Select:
    """A FROM/WHERE over visible items passing the filters; ``item`` is the id column."""

    source: str
    where: list[str]
    params: list
    item: str
    distinct: bool

    def extend(self, condition: str, params: Sequence) -> None:
        self.where.append(condition)
        self.params.extend(params)

    @property
    def sql(self) -> str:
        return f"FROM {self.source} WHERE {' AND '.join(self.where)}"


def _condition(extra: Filter, scope: Scope) -> tuple[str, list]:
    """A filter as a condition on the joined ``il`` row (for all but the driving filter)."""
    if extra.column == ITEM_ID:
        return "il.item_id = %s", [extra.value]
    return (
        f"EXISTS (SELECT 1 FROM {FI} x WHERE x.item_id = il.item_id AND x.locale = il.locale "  # noqa: S608
        f"AND x.published = %s AND x.field_key = %s AND x.{extra.column} = %s)",
        [scope.published, extra.field.key, extra.value],
    )


def _visible(schema: CollectionSchema, scope: Scope, filters: Sequence[Filter]) -> _Select:
    published = " AND il.is_published = %s" if scope.published else ""
    published_params = [True] if scope.published else []
    field_filters = [f for f in filters if f.column != ITEM_ID]
    if not field_filters:
        select = _Select(
            source=f"{IL} il",
            where=[f"il.collection_id = %s AND il.locale = %s AND il.is_deleted = %s{published}"],
            params=[schema.id, scope.locale, False, *published_params],
            item="il.item_id",
            distinct=False,
        )
        driver = None
    else:
        # Drive from a filter on a single-valued field when there is one: its rows are one
        # per item, so the ids come out distinct and in order straight from the index.
        driver = next((f for f in field_filters if not f.field.many), field_filters[0])
        select = _Select(
            source=f"{FI} d INNER JOIN {IL} il ON il.item_id = d.item_id",
            where=[
                "d.collection_id = %s AND d.locale = %s AND d.published = %s "
                f"AND d.field_key = %s AND d.{driver.column} = %s",
                f"il.locale = %s AND il.is_deleted = %s{published}",
            ],
            params=[
                schema.id,
                scope.locale,
                scope.published,
                driver.field.key,
                driver.value,
                scope.locale,
                False,
                *published_params,
            ],
            item="d.item_id",
            distinct=driver.field.many,
        )
    for extra in filters:
        if extra is not driver:
            select.extend(*_condition(extra, scope))
    return select


def _rows(sql: str, params: Sequence) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _window_sql(limit: int | None, offset: int) -> tuple[str, list]:
    if limit is None and offset:
        # "LIMIT ALL" is PostgreSQL only; SQLite takes a negative limit as "no limit".
        limit = 2**62
    if limit is None:
        return "", []
    return " LIMIT %s OFFSET %s", [limit, offset]


def _unordered_ids(select: _Select, limit: int | None, offset: int) -> list[int]:
    window, params = _window_sql(limit, offset)
    distinct = "DISTINCT " if select.distinct else ""
    sql = f"SELECT {distinct}{select.item} {select.sql} ORDER BY {select.item}{window}"
    return [row[0] for row in _rows(sql, [*select.params, *params])]


def _unordered_rows(
    select: _Select, scope: Scope, limit: int | None, offset: int
) -> list[tuple[int, dict]]:
    """Like ``_unordered_ids`` but with each item's values, in one query: the page's ids
    come from the index (a subquery, so OFFSET skips index entries, not rows), then their
    rows by the (item, locale) key."""
    window, params = _window_sql(limit, offset)
    distinct = "DISTINCT " if select.distinct else ""
    column = "data" if scope.preview else "published_data"
    sql = (
        f"SELECT v.item_id, v.{column} FROM {IL} v WHERE v.locale = %s AND v.item_id IN "  # noqa: S608
        f"(SELECT {distinct}{select.item} {select.sql} ORDER BY {select.item}{window}) "
        "ORDER BY v.item_id"
    )
    return [
        (item_id, _json(values))
        for item_id, values in _rows(sql, [scope.locale, *select.params, *params])
    ]


def _json(values):
    # SQLite hands JSON columns over as text; PostgreSQL's driver may have decoded them.
    return json.loads(values) if isinstance(values, str | bytes) else values


def _ordered_ids(
    schema: CollectionSchema,
    scope: Scope,
    filters: Sequence[Filter],
    order: Order,
    limit: int | None,
    offset: int,
) -> list[int]:
    """Items with a value for the order field in value order, then the rest in id order."""
    direction = " DESC" if order.descending else ""
    published = " AND il.is_published = %s" if scope.published else ""
    params: list = [schema.id, scope.locale, scope.published, order.field.key]
    params += [scope.locale, False] + ([True] if scope.published else [])
    conditions = [
        "o.collection_id = %s AND o.locale = %s AND o.published = %s AND o.field_key = %s",
        f"il.locale = %s AND il.is_deleted = %s{published}",
    ]
    for extra in filters:
        condition, condition_params = _condition(extra, scope)
        conditions.append(condition)
        params += condition_params
    window, window_params = _window_sql(limit, offset)
    # CROSS JOIN keeps the order field's index as the outer loop on SQLite (the join order
    # it would otherwise pick sorts every row); PostgreSQL plans it as an inner join.
    sql = (
        f"SELECT o.item_id FROM {FI} o CROSS JOIN {IL} il "  # noqa: S608
        f"WHERE il.item_id = o.item_id AND {' AND '.join(conditions)} "
        f"ORDER BY o.{order.column}{direction}, o.item_id{direction}{window}"
    )
    ids = [row[0] for row in _rows(sql, [*params, *window_params])]
    if limit is not None and len(ids) >= limit:
        return ids
    # The page reaches past the last item with a value: continue with those without one.
    if ids or offset == 0:
        with_value = offset + len(ids)
    else:
        count_sql = f"SELECT COUNT(*) FROM {FI} o CROSS JOIN {IL} il WHERE "  # noqa: S608
        count_sql += f"il.item_id = o.item_id AND {' AND '.join(conditions)}"
        with_value = _rows(count_sql, params)[0][0]
    rest = _visible(schema, scope, filters)
    rest.extend(
        f"NOT EXISTS (SELECT 1 FROM {FI} n WHERE n.item_id = il.item_id AND n.locale = %s "  # noqa: S608
        f"AND n.published = %s AND n.field_key = %s)",
        [scope.locale, scope.published, order.field.key],
    )
    remaining = None if limit is None else limit - len(ids)
    return ids + _unordered_ids(rest, remaining, max(offset - with_value, 0))


class CountCache:
    """Counts of large result sets, per process, for ``GHEE_READ_COUNT_CACHE_SECONDS``.

    Counting is the one part of a page whose cost grows with the collection (every matching
    index entry is visited). Counts below ``GHEE_READ_COUNT_CACHE_MIN`` are always exact;
    above it ``meta.count`` may lag writes by the cache time. ``next_page``/``next_offset``
    never lag: they come from fetching one item more than the page holds.
    """

    def __init__(self) -> None:
        self._entries: dict[tuple, tuple[float, int]] = {}

    def clear(self) -> None:
        self._entries.clear()

    def get(self, key: tuple) -> int | None:
        ttl = settings.GHEE_READ_COUNT_CACHE_SECONDS
        hit = self._entries.get(key)
        if hit is not None and ttl > 0 and time.monotonic() - hit[0] < ttl:
            return hit[1]
        return None

    def put(self, key: tuple, count: int) -> None:
        if settings.GHEE_READ_COUNT_CACHE_SECONDS <= 0:
            return
        if count < settings.GHEE_READ_COUNT_CACHE_MIN:
            self._entries.pop(key, None)
            return
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[key] = (time.monotonic(), count)


count_cache = CountCache()


def count_items(schema: CollectionSchema, scope: Scope, filters: Sequence[Filter]) -> int:
    key = (
        schema.id,
        scope.locale,
        scope.preview,
        tuple((f.field.key, f.column, f.value) for f in filters),
    )
    cached = count_cache.get(key)
    if cached is not None:
        return cached
    select = _visible(schema, scope, filters)
    what = f"COUNT(DISTINCT {select.item})" if select.distinct else "COUNT(*)"
    count = _rows(f"SELECT {what} {select.sql}", select.params)[0][0]
    count_cache.put(key, count)
    return count


def item_ids(
    schema: CollectionSchema,
    scope: Scope,
    filters: Sequence[Filter] = (),
    order: Order | None = None,
    *,
    limit: int | None = None,
    offset: int = 0,
) -> list[int]:
    """Ids of visible items passing ``filters``, in ``order`` (default: id ascending)."""
    if order is None:
        return _unordered_ids(_visible(schema, scope, filters), limit, offset)
    return _ordered_ids(schema, scope, filters, order, limit, offset)


def _visible_rows(schema_id: int, scope: Scope, ids: Sequence[int], columns: str):
    # Raw SQL: the ORM writes ``is_deleted=False`` as ``NOT is_deleted``, which SQLite can't
    # match to an index, and then scans the whole collection.
    published = " AND il.is_published = %s" if scope.published else ""
    for start in range(0, len(ids), ID_BATCH):
        batch = list(ids[start : start + ID_BATCH])
        yield from _rows(
            f"SELECT {columns} FROM {IL} il WHERE il.item_id IN ({', '.join(['%s'] * len(batch))}) "  # noqa: S608
            f"AND il.locale = %s AND il.collection_id = %s AND il.is_deleted = %s{published}",
            [*batch, scope.locale, schema_id, False, *([True] if scope.published else [])],
        )


def load_items(schema_id: int, scope: Scope, ids: Sequence[int]) -> dict[int, dict]:
    """``{item id: values}`` for the visible ones among ``ids`` (of collection ``schema_id``)."""
    column = "il.data" if scope.preview else "il.published_data"
    return {
        item_id: _json(values)
        for item_id, values in _visible_rows(schema_id, scope, ids, f"il.item_id, {column}")
    }


def visible_ids(schema_id: int, scope: Scope, ids: Sequence[int]) -> set[int]:
    """The visible ones among ``ids`` (of collection ``schema_id``), without their values."""
    return {row[0] for row in _visible_rows(schema_id, scope, ids, "il.item_id")}


# --- A page -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemPage:
    items: list[tuple[int, dict]]  # (item id, values), in list order
    count: int | None  # None when the listing isn't paged
    paging: Paging
    has_next: bool

    def meta(self) -> dict:
        paging = self.paging
        if paging.by_offset:
            return {
                "count": self.count,
                "next_offset": paging.offset + paging.limit if self.has_next else None,
                "previous_offset": max(paging.offset - paging.limit, 0) if paging.offset else None,
            }
        return {
            "count": self.count,
            "next_page": paging.page + 1 if self.has_next else None,
            "previous_page": paging.page - 1 if paging.page > 1 else None,
        }


def list_items(
    schema: CollectionSchema,
    scope: Scope,
    filters: Sequence[Filter] = (),
    order: Order | None = None,
    paging: Paging = EVERYTHING,
) -> ItemPage:
    """One page (or, with ``EVERYTHING``, all) of a collection's visible items."""
    probe = None if paging.limit is None else paging.limit + 1
    if order is None:
        select = _visible(schema, scope, filters)
        items = _unordered_rows(select, scope, probe, paging.offset)
        fetched = len(items)
    else:
        ids = item_ids(schema, scope, filters, order, limit=probe, offset=paging.offset)
        fetched = len(ids)
        values = load_items(schema.id, scope, ids)
        items = [(item_id, values[item_id]) for item_id in ids if item_id in values]
    has_next = probe is not None and fetched > paging.limit
    if has_next:
        items = items[: paging.limit]
        fetched = paging.limit
    count = None
    if paging.limit is not None:
        if not has_next and (fetched or paging.offset == 0):
            # The last page tells the count without counting (and a cached count can't
            # contradict the page in front of the client).
            count = paging.offset + fetched
        else:
            count = count_items(schema, scope, filters)
    return ItemPage(items=items, count=count, paging=paging, has_next=has_next)
