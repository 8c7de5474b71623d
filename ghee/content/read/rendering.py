"""Items as ButterCMS returns them: ``{"meta": {"id": N}, <field>: <value>, ...}``.

Fields come in schema order; keys stored in an item but no longer in the schema are left
out, schema fields the item has no value for render as their type's empty value
(``FieldType.empty_render``: ``""`` for text-like fields, ``null`` for number and date,
``false`` for a checkbox; ``null`` for a one-to-one reference, ``[]`` for one-to-many).

References are expanded to item objects down to ``levels`` (top-level items are level 1;
a reference on a level-``n`` item is an object when ``n < levels``, else the URI
``/v2/content/?keys=<key>[_id=<id>]``). A reference to an item that is deleted, or not
visible to the request (a draft without preview, no version in the locale), is dropped:
``null`` for one-to-one, left out of one-to-many lists; that holds for URIs too. Cycles end
at the level limit. Referenced items are fetched level by level, one query per referenced
collection per level, each item at most once per request.

Each item is rendered once per level it appears at, and shared wherever it appears again,
so building costs what is distinct; the JSON written from it has every copy. What the
response holds is counted while it is built (``read.budget.ResponseBudget``): every item
object and URI each time it appears, and the JSON's size. Past a cap the read is a 400
before anything more is fetched or rendered, and long before the JSON is written.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from ghee.content.field_types.values import stored_reference_ids
from ghee.content.read.budget import ResponseBudget
from ghee.content.read.params import ReadOptions
from ghee.content.read.queries import Row, load_items
from ghee.content.read.queries import visible_ids as find_visible_ids
from ghee.content.schema.cache import schema_cache
from ghee.content.schema.compiled import CompiledField, CompiledSchema
from ghee.media.services import alt_text_by_url

# A field as rendering needs it: the field, its reference target (None: not a reference, or
# the target is gone), and the type's renderer (None: the stored value, or the empty value).
Plan = list[tuple[CompiledField, CompiledSchema | None, Callable | None]]


# The JSON an item object adds around its stored values ({"meta":{"id":N}, ...}), and a URI
# around its text (quotes, comma): what the response budget adds to the stored sizes.
ITEM_OVERHEAD = 32
URI_OVERHEAD = 3


def reference_uri(collection_key: str, item_id: int) -> str:
    return f"/v2/content/?keys={collection_key}[_id={item_id}]"


class ItemRenderer:
    """Renders the items of one request; caches what it fetched for references, and charges
    what it builds to ``budget``."""

    def __init__(self, organization_id: int, options: ReadOptions, budget: ResponseBudget):
        self.organization_id = organization_id
        self.options = options
        self.budget = budget
        self._rows: dict[int, dict[int, Row]] = defaultdict(dict)  # collection -> id -> row
        self._visible: dict[int, set[int]] = defaultdict(set)  # known visible, values not needed
        self._seen: dict[int, set[int]] = defaultdict(set)  # looked up, visible or not
        # (collection, item, level) -> (object, objects and bytes it holds with its expansions)
        self._memo: dict[tuple[int, int, int], tuple[dict, int, int]] = {}
        self._plans: dict[int, Plan] = {}
        self._media: list[dict] = []  # {"url", "alt"} objects waiting for their alt text

    def _plan(self, schema: CompiledSchema) -> Plan:
        plan = self._plans.get(schema.collection_id)
        if plan is None:
            plan = [
                (
                    field,
                    schema_cache.get(self.organization_id, field.reference_key)
                    if field.is_reference
                    else None,
                    field.kind.render if field.kind.renders_value else None,
                )
                for field in schema.fields.values()
            ]
            self._plans[schema.collection_id] = plan
        return plan

    # --- fetching -------------------------------------------------------------------------

    def _prefetch(self, schema: CompiledSchema, items: list[Row]) -> None:
        """Fetch, level by level, the items the references of ``items`` expand to. Each item
        fetched appears in the response at least once, so what was fetched so far is a lower
        bound of the response, checked against the budget before the next level."""
        levels = self.options.levels
        scope = self.options.scope
        frontier: list[tuple[CompiledSchema, list[Row]]] = [(schema, items)]
        objects = len(items)
        size = sum(row.size for row in items)
        for row in items:
            self._rows[schema.collection_id][row.item_id] = row
            self._seen[schema.collection_id].add(row.item_id)
        for depth in range(1, levels + 1):
            self.budget.check(objects, size)
            wanted: dict[int, tuple[CompiledSchema, set[int]]] = {}
            for source, rows in frontier:
                for field, target, _ in self._plan(source):
                    if target is None:
                        continue
                    ids = wanted.setdefault(target.collection_id, (target, set()))[1]
                    for row in rows:
                        ids.update(stored_reference_ids(row.values.get(field.key)))
            frontier = []
            for target, ids in wanted.values():
                new = sorted(ids - self._seen[target.collection_id])
                if not new:
                    continue
                self._seen[target.collection_id].update(new)
                if depth < levels:
                    loaded = load_items(target.collection_id, scope, new)
                    self._rows[target.collection_id].update(loaded)
                    frontier.append((target, list(loaded.values())))
                    objects += len(loaded)
                    size += sum(row.size for row in loaded.values())
                else:
                    visible = find_visible_ids(target.collection_id, scope, new)
                    self._visible[target.collection_id].update(visible)
                    objects += len(visible)
            if not frontier:
                break
        self.budget.check(objects, size)

    # --- rendering ------------------------------------------------------------------------

    def render(self, schema: CompiledSchema, items: list[Row]) -> list[dict]:
        self._prefetch(schema, items)
        rendered = []
        for row in items:
            item, objects, size = self._item(schema, row, 1)
            self.budget.charge(objects, size)
            rendered.append(item)
        self._fill_alt_text()
        return rendered

    def _fill_alt_text(self) -> None:
        """With ``alt_media_text=1``: each media object's alt text from the media library,
        one query for every media URL of the response (a URL that is not one of ghee's
        assets has none: "")."""
        if not self._media:
            return
        alt_by_url = alt_text_by_url(self.organization_id, {obj["url"] for obj in self._media})
        for obj in self._media:
            obj["alt"] = alt_by_url.get(obj["url"], "")
        self._media = []

    def _item(self, schema: CompiledSchema, row: Row, depth: int) -> tuple[dict, int, int]:
        """The item object at level ``depth``, and the objects and bytes it holds."""
        memo_key = (schema.collection_id, row.item_id, depth)
        memo = self._memo.get(memo_key)
        if memo is not None:
            return memo
        rendered = {"meta": {"id": row.item_id}}
        objects, size = 1, row.size + ITEM_OVERHEAD
        values = row.values
        alt_media_text = self.options.alt_media_text
        for field, target, render in self._plan(schema):
            value = values.get(field.key)
            if field.is_reference:
                value, more_objects, more_size = self._reference(field, target, value, depth)
                objects += more_objects
                size += more_size
                # Checked as the object grows: this object is part of the response.
                self.budget.check(objects, size)
            elif render is not None:
                value = render(value, alt_media_text=alt_media_text)
                if alt_media_text and isinstance(value, dict) and value.get("url"):
                    self._media.append(value)
            elif value is None:
                value = field.kind.empty_render
            rendered[field.key] = value
        memo = self._memo[memo_key] = (rendered, objects, size)
        return memo

    def _reference(self, field: CompiledField, target: CompiledSchema | None, value, depth: int):
        """The field's rendered value, and the objects and bytes it holds."""
        rendered, objects, size = [], 0, 0
        if target is not None:
            expand = depth < self.options.levels
            rows_by_id = self._rows[target.collection_id]
            for item_id in stored_reference_ids(value):
                row = rows_by_id.get(item_id)
                if expand:
                    if row is not None:
                        item, item_objects, item_size = self._item(target, row, depth + 1)
                        rendered.append(item)
                        objects += item_objects
                        size += item_size
                elif row is not None or item_id in self._visible[target.collection_id]:
                    uri = reference_uri(target.collection_key, item_id)
                    rendered.append(uri)
                    objects += 1
                    size += len(uri) + URI_OVERHEAD
        if field.many:
            return rendered, objects, size
        return (rendered[0] if rendered else None), objects, size
