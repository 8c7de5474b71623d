"""ItemFieldIndex maintenance: the filter/order copy of each item locale's scalar values.

For each (item, locale) the draft rows (``published=False``) mirror ``data`` and the
published rows mirror ``published_data``: one row per field with a non-null value, one row
per id for a many-reference, none for an empty list. Each field type encodes its values
(``FieldType.index``): ``text_value`` is ``str(value)[:255]`` for text-like types,
``"true"``/``"false"`` for checkboxes and ``str(id)`` for references; ``number_value`` is
``float(value)`` for numbers and references. Callers run these inside the transaction that
changes the values.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import Q

from ghee.content.models import ItemFieldIndex, ItemLocale
from ghee.content.schema.compiled import CompiledField
from ghee.core.bulk_insert import insert_rows

IndexRow = tuple[int, int, str, bool, str, str | None, float | None]
_COLUMNS = (
    "item_id",
    "collection_id",
    "locale",
    "published",
    "field_key",
    "text_value",
    "number_value",
)


def index_rows(
    item_id: int,
    collection_id: int,
    locale: str,
    data: Mapping[str, Any] | None,
    fields: Mapping[str, CompiledField],
    *,
    published: bool,
) -> list[IndexRow]:
    """The index rows of one side of one locale version, as column tuples."""
    if not data:
        return []
    rows = []
    for key, field in fields.items():
        value = data.get(key)
        if value is None or value == []:
            continue
        for text_value, number_value in field.kind.index(value):
            rows.append((item_id, collection_id, locale, published, key, text_value, number_value))
    return rows


def version_rows(
    version: ItemLocale, fields: Mapping[str, CompiledField], *, draft=True, published=True
) -> list[IndexRow]:
    ids = (version.item_id, version.collection_id, version.locale)
    rows = index_rows(*ids, version.data, fields, published=False) if draft else []
    if published:
        rows += index_rows(*ids, version.published_data, fields, published=True)
    return rows


def insert_index_rows(rows: list[IndexRow]) -> None:
    insert_rows(ItemFieldIndex, _COLUMNS, rows)


def reindex(
    item_locales: Iterable[ItemLocale],
    fields: Mapping[str, CompiledField],
    *,
    draft: bool = True,
    published: bool = True,
    fresh: bool = False,
) -> None:
    """Rebuild the draft and/or published rows of ``item_locales``.

    ``fresh`` skips the delete for locale versions created in this transaction.
    """
    item_locales = list(item_locales)
    if not item_locales or not (draft or published):
        return
    if not fresh:
        sides = [side for side, wanted in ((False, draft), (True, published)) if wanted]
        match = Q()
        for version in item_locales:
            match |= Q(item_id=version.item_id, locale=version.locale)
        ItemFieldIndex.objects.filter(match, published__in=sides).delete()
    rows: list[IndexRow] = []
    for version in item_locales:
        rows += version_rows(version, fields, draft=draft, published=published)
    insert_index_rows(rows)


def drop_item_index(item_ids: Iterable[int]) -> None:
    ItemFieldIndex.objects.filter(item_id__in=list(item_ids)).delete()
