"""Items built straight with the ORM, following the storage model exactly (the docstring of
``ghee/content/models.py`` and the ItemFieldIndex rules), so the Read API can be tested on
its own. End-to-end tests that write through the Write API live in ``test_read_e2e.py``."""

from django.utils import timezone

from ghee.content.field_types import field_type
from ghee.content.models import Field, Item, ItemFieldIndex, ItemLocale


def _index_rows(version: ItemLocale, values: dict, fields, *, published: bool):
    rows = []
    for field in fields:
        value = values.get(field.key)
        if value is None or value == []:
            continue
        pairs = field_type(field.type).index(value)
        rows += [
            ItemFieldIndex(
                item_id=version.item_id,
                collection_id=version.collection_id,
                locale=version.locale,
                published=published,
                field_key=field.key,
                text_value=text,
                number_value=number,
            )
            for text, number in pairs
        ]
    return rows


def _complete(values: dict | None, fields) -> dict | None:
    if values is None:
        return None
    unknown = set(values) - {f.key for f in fields}
    assert not unknown, f"not in the schema: {unknown}"
    return {
        f.key: values.get(f.key, [] if f.type == "reference" and f.many else None) for f in fields
    }


def put_item(collection, published=None, draft=None, *, locale="", item=None):
    """Write one locale version of an item (a new item unless ``item`` is given).

    ``published``: the live values (None: never published). ``draft``: newer unpublished
    values (None: the latest values are the published ones). Returns the Item.
    """
    assert published is not None or draft is not None
    fields = list(Field.objects.filter(collection=collection).order_by("order", "id"))
    published = _complete(published, fields)
    data = _complete(draft, fields) if draft is not None else published
    if item is None:
        item = Item.objects.create(collection=collection, organization=collection.organization)
    ItemFieldIndex.objects.filter(item=item, locale=locale).delete()
    version, _ = ItemLocale.objects.update_or_create(
        item=item,
        locale=locale,
        defaults={
            "collection": collection,
            "status": "draft" if draft is not None else "published",
            "data": data,
            "published_data": published,
            "is_published": published is not None,
            "is_deleted": False,
            "published_at": timezone.now() if published is not None else None,
        },
    )
    rows = _index_rows(version, data, fields, published=False)
    if published is not None:
        rows += _index_rows(version, published, fields, published=True)
    ItemFieldIndex.objects.bulk_create(rows)
    return item


def delete_item(item):
    """Soft delete, as the Write API does it."""
    item.deleted_at = timezone.now()
    item.save(update_fields=["deleted_at"])
    ItemFieldIndex.objects.filter(item=item).delete()
    ItemLocale.objects.filter(item=item).update(is_deleted=True)
