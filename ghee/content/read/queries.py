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

Ids are selected with LIMIT/OFFSET from the index first, then their rows fetched by key (in
one query with a subquery, or two with ``order=``), so deep offsets skip index entries
rather than rows. ``COUNT(*)`` over a large collection is the one cost that grows with size;
it is cached for ``GHEE_READ_COUNT_CACHE_SECONDS`` once it passes
``GHEE_READ_COUNT_CACHE_MIN`` (see ``CountCache``).

Parameters are parsed in ``read.params``; the schema comes from ``schema.cache``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from django.conf import settings
from django.db import connection

from ghee.content.models import ItemFieldIndex, ItemLocale
from ghee.content.read.params import EVERYTHING, ITEM_ID, Filter, Order, Paging, Scope
from ghee.content.schema.compiled import CompiledSchema

IL = ItemLocale._meta.db_table
FI = ItemFieldIndex._meta.db_table

# Rows fetched per ``IN (...)`` query: well under SQLite's and PostgreSQL's parameter limits.
ID_BATCH = 500


class Row(NamedTuple):
    """An item's values as read, with the size of their stored JSON (what the response
    budget, ``read.budget.ResponseBudget``, counts an item's own fields as)."""

    item_id: int
    values: dict
    size: int


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
        [scope.published, extra.key, extra.value],
    )


def _visible(schema: CompiledSchema, scope: Scope, filters: Sequence[Filter]) -> _Select:
    published = " AND il.is_published = %s" if scope.published else ""
    published_params = [True] if scope.published else []
    field_filters = [f for f in filters if f.column != ITEM_ID]
    if not field_filters:
        select = _Select(
            source=f"{IL} il",
            where=[f"il.collection_id = %s AND il.locale = %s AND il.is_deleted = %s{published}"],
            params=[schema.collection_id, scope.locale, False, *published_params],
            item="il.item_id",
            distinct=False,
        )
        driver = None
    else:
        # Drive from a filter on a single-valued field when there is one: its rows are one
        # per item, so the ids come out distinct and in order straight from the index.
        driver = next((f for f in field_filters if not f.many), field_filters[0])
        select = _Select(
            source=f"{FI} d INNER JOIN {IL} il ON il.item_id = d.item_id",
            where=[
                "d.collection_id = %s AND d.locale = %s AND d.published = %s "
                f"AND d.field_key = %s AND d.{driver.column} = %s",
                f"il.locale = %s AND il.is_deleted = %s{published}",
            ],
            params=[
                schema.collection_id,
                scope.locale,
                scope.published,
                driver.key,
                driver.value,
                scope.locale,
                False,
                *published_params,
            ],
            item="d.item_id",
            distinct=driver.many,
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


def _unordered_rows(select: _Select, scope: Scope, limit: int | None, offset: int) -> list[Row]:
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
        _row(item_id, values)
        for item_id, values in _rows(sql, [scope.locale, *select.params, *params])
    ]


def _row(item_id: int, stored) -> Row:
    # Both databases hand JSON columns over as text (Django has psycopg leave jsonb as text
    # for JSONField to decode), so the size is free; a driver that decoded them pays for it.
    if isinstance(stored, str | bytes):
        return Row(item_id, json.loads(stored), len(stored))
    return Row(item_id, stored, len(json.dumps(stored)))


def _ordered_ids(
    schema: CompiledSchema,
    scope: Scope,
    filters: Sequence[Filter],
    order: Order,
    limit: int | None,
    offset: int,
) -> list[int]:
    """Items with a value for the order field in value order, then the rest in id order."""
    direction = " DESC" if order.descending else ""
    published = " AND il.is_published = %s" if scope.published else ""
    params: list = [schema.collection_id, scope.locale, scope.published, order.key]
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
        [scope.locale, scope.published, order.key],
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


def count_items(schema: CompiledSchema, scope: Scope, filters: Sequence[Filter]) -> int:
    key = (
        schema.collection_id,
        scope.locale,
        scope.preview,
        tuple((f.key, f.column, f.value) for f in filters),
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
    schema: CompiledSchema,
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


def load_items(schema_id: int, scope: Scope, ids: Sequence[int]) -> dict[int, Row]:
    """``{item id: row}`` for the visible ones among ``ids`` (of collection ``schema_id``)."""
    column = "il.data" if scope.preview else "il.published_data"
    return {
        item_id: _row(item_id, values)
        for item_id, values in _visible_rows(schema_id, scope, ids, f"il.item_id, {column}")
    }


def visible_ids(schema_id: int, scope: Scope, ids: Sequence[int]) -> set[int]:
    """The visible ones among ``ids`` (of collection ``schema_id``), without their values."""
    return {row[0] for row in _visible_rows(schema_id, scope, ids, "il.item_id")}


# --- A page -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemPage:
    items: list[Row]  # in list order
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
    schema: CompiledSchema,
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
        rows = load_items(schema.collection_id, scope, ids)
        items = [rows[item_id] for item_id in ids if item_id in rows]
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
