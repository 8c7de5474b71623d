"""The item list of one collection: search, status filter, newest changes first, paged.

Sized for 100,000 items and more (docs/dashboard-editor.md has the figures):

- the page is read in ``item_editor_list`` index order (collection, live, updated_at, id),
  so the first page costs a few index entries, not a sort;
- the count is a COUNT over the same index;
- search looks in the label field's entries of the filter index (``ItemFieldIndex``,
  index ``fieldindex_text``: collection, locale, published, field key, text, item): the
  label values of this collection only, read from the index without touching a row, or
  an item id when the term is a number;
- the page's labels and per-locale statuses come in ONE query for the page's items.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.paginator import Page, Paginator
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce

from ghee.content.models import Collection, Field, Item, ItemFieldIndex, ItemLocale

PER_PAGE = 50
STATUS_FILTERS = {"published": "Published", "draft": "Not published"}
MAX_SEARCH_CHARS = 100


@dataclass
class Row:
    """One item of the list: its label and each locale's status."""

    id: int
    updated_at: object
    label: str = ""
    locales: list[tuple[str, str]] = field(default_factory=list)  # (locale, status text)


def live_item_count() -> Subquery:
    """A collection's live items, counted in the ``item_editor_list`` index: one query
    answers for a whole page of collections (a correlated subquery, not a join whose rows
    multiply with another count's)."""
    items = (
        Item.objects.filter(collection=OuterRef("pk"), deleted_at__isnull=True)
        .order_by()
        .values("collection")
        .annotate(count=Count("*"))
        .values("count")
    )
    return Coalesce(Subquery(items), 0)


def field_count() -> Subquery:
    fields = (
        Field.objects.filter(collection=OuterRef("pk"))
        .order_by()
        .values("collection")
        .annotate(count=Count("*"))
        .values("count")
    )
    return Coalesce(Subquery(fields), 0)


def collections_with_counts(collections: QuerySet) -> QuerySet:
    """The collections with ``item_count`` (live items), in one query."""
    return collections.annotate(item_count=live_item_count()).order_by("organization__slug", "key")


def _published_items(collection: Collection) -> QuerySet:
    return ItemLocale.objects.filter(
        collection=collection, is_deleted=False, is_published=True
    ).values("item_id")


def _label_matches(collection: Collection, locales: list[str], term: str) -> QuerySet:
    return ItemFieldIndex.objects.filter(
        collection=collection,
        locale__in=locales,
        published=False,
        field_key=collection.label_field,
        text_value__icontains=term,
    ).values("item_id")


def items_page(
    collection: Collection,
    locales: list[str],
    *,
    search: str = "",
    status: str = "",
    page: int | str = 1,
) -> Page:
    """One page of the collection's live items, each a ``Row``."""
    items = Item.objects.filter(collection=collection, deleted_at__isnull=True)
    search = search.strip()[:MAX_SEARCH_CHARS]
    if search:
        matches = (
            Q(pk__in=_label_matches(collection, locales, search))
            if collection.label_field
            else Q(pk=None)
        )
        if search.isdigit() and len(search) < 19:
            matches |= Q(pk=int(search))
        items = items.filter(matches)
    if status == "published":
        items = items.filter(pk__in=_published_items(collection))
    elif status == "draft":
        items = items.exclude(pk__in=_published_items(collection))
    items = items.order_by("-updated_at", "-id").values_list("id", "updated_at")
    result = Paginator(items, PER_PAGE).get_page(page)
    rows = [Row(id=pk, updated_at=updated_at) for pk, updated_at in result.object_list]
    _fill_rows(collection, locales, rows)
    result.object_list = rows
    return result


def _fill_rows(collection: Collection, locales: list[str], rows: list[Row]) -> None:
    if not rows:
        return
    label = collection.label_field
    columns = ["item_id", "locale", "status", "is_published"]
    versions = ItemLocale.objects.filter(item_id__in=[row.id for row in rows])
    if label:
        versions = versions.annotate(label=KT(f"data__{label}"))
        columns.append("label")
    order = {code: index for index, code in enumerate(locales)}
    by_item: dict[int, list] = {}
    for values in versions.values_list(*columns):
        by_item.setdefault(values[0], []).append(values)
    for row in rows:
        found = sorted(by_item.get(row.id, []), key=lambda v: order.get(v[1], len(order)))
        row.locales = [(v[1], status_text(v[2], v[3])) for v in found]
        labels = [v[4] for v in found if label and v[4] not in (None, "")]
        row.label = str(labels[0]) if labels else ""


def status_text(status: str, is_published: bool) -> str:
    """A locale version's state in words."""
    if status == "published":
        return "published"
    if is_published:
        return "published, newer draft"
    return "draft"


def item_labels(collection: Collection, ids: list[int]) -> dict[int, str]:
    """``{id: label}`` for live items of ``collection`` (one query; the first non-empty
    label of any locale, else ``#id``)."""
    ids = [pk for pk in ids if isinstance(pk, int)]
    if not ids:
        return {}
    labels = {pk: f"#{pk}" for pk in ids}
    if not collection.label_field:
        return labels
    rows = (
        ItemLocale.objects.filter(collection=collection, item_id__in=ids, is_deleted=False)
        .annotate(label=KT(f"data__{collection.label_field}"))
        .order_by("item_id", "locale")
        .values_list("item_id", "label")
    )
    for pk, label in rows:
        if label not in (None, "") and labels.get(pk, "").startswith("#"):
            labels[pk] = f"{label} (#{pk})"
    return labels
