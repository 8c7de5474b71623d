"""The item list of one collection: search, status filter, newest changes first, paged.

Sized for 100,000 items and more (docs/dashboard-editor.md has the figures):

- the page is read in ``item_editor_list`` index order (collection, live, updated_at, id),
  so the first page costs a few index entries, not a sort;
- the count is a COUNT over the same index; a searched or filtered list is counted up
  to ``COUNT_CAP`` only ("1000+ items");
- search looks in the label field's entries of the filter index (``ItemFieldIndex``,
  index ``fieldindex_text``: collection, locale, published, field key, text, item): the
  label values of this collection only, read from the index without touching a row
  (a substring match), or an item id when the term is a number;
- the status filter probes each item's locale versions as the list is read in order;
- the page's labels and per-locale statuses come in ONE query for the page's items.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.paginator import Page, Paginator
from django.db.models import Count, Exists, OuterRef, QuerySet, Subquery
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce
from django.utils.functional import cached_property

from ghee.content.models import Collection, Field, Item, ItemFieldIndex, ItemLocale

PER_PAGE = 50
COUNT_CAP = 1000  # a filtered list is counted up to this (CappedPaginator)
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


def _label_matches(collection: Collection, locales: list[str], term: str) -> list[int]:
    """Ids of items whose label contains ``term`` (any locale, latest values), at most
    ``COUNT_CAP + 1`` of them: one pass over the label's entries in ``fieldindex_text``.

    ``__in=[False]``, not ``=False``: Django writes the latter as ``NOT published``, which
    SQLite cannot match to the index's equality column (it then reads every field's rows).
    """
    ids = ItemFieldIndex.objects.filter(
        collection=collection,
        locale__in=locales,
        published__in=[False],
        field_key=collection.label_field,
        text_value__icontains=term,
    ).values_list("item_id", flat=True)
    return list(dict.fromkeys(ids[: (COUNT_CAP + 1) * len(locales)]))[: COUNT_CAP + 1]


class CappedPaginator(Paginator):
    """Counts a filtered list only up to ``COUNT_CAP`` (+1, to know there are more): an
    exact count of a filter over 100,000 items would cost as much as reading them all.
    The unfiltered list is counted exactly (a COUNT over ``item_editor_list``)."""

    def __init__(self, *args, capped: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.capped = capped

    @cached_property
    def count(self) -> int:
        if not self.capped:
            return super().count
        return self.object_list[: COUNT_CAP + 1].count()

    @property
    def more_than_cap(self) -> bool:
        return self.capped and self.count > COUNT_CAP


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
        ids = _label_matches(collection, locales, search) if collection.label_field else []
        if search.isdigit() and len(search) < 19:
            ids.append(int(search))
        items = items.filter(pk__in=ids)
    if status in STATUS_FILTERS:
        # Probed per item while the list is read in index order: a page costs about
        # PER_PAGE probes when most items match, never a pass over the whole collection.
        live = Exists(ItemLocale.objects.filter(item_id=OuterRef("pk"), is_published__in=[True]))
        items = items.filter(live if status == "published" else ~live)
    items = items.order_by("-updated_at", "-id").values_list("id", "updated_at")
    paginator = CappedPaginator(items, PER_PAGE, capped=bool(search or status))
    result = paginator.get_page(page)
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
