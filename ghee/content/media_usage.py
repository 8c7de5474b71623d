"""The items that use media assets, for the media library (``ghee.media.usage``).

Media values are stored as the asset's URL and indexed like any text value
(``ItemFieldIndex.text_value``, the first 255 characters), so one query over the index
finds every item, field and locale holding one of a page of assets' URLs, drafts and
published versions alike. A URL inside a rich-text field's HTML is not a media value and
is not found.
"""

from collections import defaultdict
from collections.abc import Sequence

from django.urls import NoReverseMatch, reverse

from ghee.content.field_types import INDEX_TEXT_CHARS
from ghee.content.models import ItemFieldIndex
from ghee.media.models import MediaAsset
from ghee.media.usage import Usage, register_usage_finder


def items_using(assets: Sequence[MediaAsset]) -> dict[int, list[Usage]]:
    by_url = {asset.url[:INDEX_TEXT_CHARS]: asset.id for asset in assets}
    organizations = {asset.organization_id for asset in assets}
    rows = (
        ItemFieldIndex.objects.filter(
            text_value__in=list(by_url), collection__organization_id__in=organizations
        )
        .values_list(
            "text_value", "item_id", "collection_id", "collection__name", "field_key", "locale"
        )
        .order_by("item_id")
        .distinct()
    )
    found: dict[int, dict[int, dict]] = defaultdict(dict)
    for url, item_id, collection_id, collection_name, field_key, locale in rows:
        entry = found[by_url[url]].setdefault(
            item_id,
            {"label": f"{collection_name} #{item_id}", "collection": collection_id,
             "fields": set(), "locales": set()},
        )  # fmt: skip
        entry["fields"].add(field_key)
        if locale:
            entry["locales"].add(locale)
    return {
        asset_id: [
            Usage(
                label=entry["label"],
                fields=tuple(sorted(entry["fields"])),
                locales=tuple(sorted(entry["locales"])),
                url=_item_page(entry["collection"], item_id),
            )
            for item_id, entry in items.items()
        ]
        for asset_id, items in found.items()
    }


def _item_page(collection_id: int, item_id: int) -> str | None:
    try:
        return reverse("admin:content_item_edit", args=[collection_id, item_id])
    except NoReverseMatch:  # the content editor is not installed
        return None


def register() -> None:
    register_usage_finder(items_using)
