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

from .choices import FieldType
from .models import ItemFieldIndex, ItemLocale
from .validation import CompiledField


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


def index_rows(
    item_locale: ItemLocale,
    data: Mapping[str, Any] | None,
    fields: Mapping[str, CompiledField],
    *,
    published: bool,
) -> list[ItemFieldIndex]:
    if not data:
        return []
    rows = []
    for key, field in fields.items():
        for text_value, number_value in _rows_for_value(field, data.get(key)):
            rows.append(
                ItemFieldIndex(
                    item_id=item_locale.item_id,
                    collection_id=item_locale.collection_id,
                    locale=item_locale.locale,
                    published=published,
                    field_key=key,
                    text_value=text_value,
                    number_value=number_value,
                )
            )
    return rows


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
    rows: list[ItemFieldIndex] = []
    for version in item_locales:
        if draft:
            rows += index_rows(version, version.data, fields, published=False)
        if published:
            rows += index_rows(version, version.published_data, fields, published=True)
    ItemFieldIndex.objects.bulk_create(rows, batch_size=500)


def drop_item_index(item_ids: Iterable[int]) -> None:
    ItemFieldIndex.objects.filter(item_id__in=list(item_ids)).delete()
