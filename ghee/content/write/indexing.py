"""ItemFieldIndex maintenance: the filter/order copy of each item locale's scalar values.

For each (item, locale) the draft rows (``published=False``) mirror ``data`` and the
published rows mirror ``published_data``: one row per field with a non-null value, one row
per id for a many-reference, none for an empty list. ``text_value`` is ``str(value)[:255]``
for text-like types, ``"true"``/``"false"`` for checkboxes and ``str(id)`` for references;
``number_value`` is ``float(value)`` for numbers and references. Callers run these inside
the transaction that changes the values.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import Q

from ghee.content.choices import FieldType
from ghee.content.models import ItemFieldIndex, ItemLocale
from ghee.content.write.validation import CompiledField
from ghee.core.bulk_insert import insert_rows


def _rows_for_value(field: CompiledField, value: Any) -> list[tuple[str | None, float | None]]:
    if value is None or value == []:
        return []
    if field.type == FieldType.REFERENCE:
        ids = value if isinstance(value, list) else [value]
        return [(str(item_id), float(item_id)) for item_id in ids]
    if field.type == FieldType.NUMBER:
        return [(None, float(value))] if not isinstance(value, bool) else []
    if field.type == FieldType.CHECKBOX:
        return [("true" if value else "false", None)]
    return [(str(value)[:255], None)]


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
        for text_value, number_value in _rows_for_value(field, data.get(key)):
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
