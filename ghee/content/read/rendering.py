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
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

from ghee.content.field_types.values import stored_reference_ids
from ghee.content.read.params import ReadOptions
from ghee.content.read.queries import load_items
from ghee.content.read.queries import visible_ids as find_visible_ids
from ghee.content.schema.cache import schema_cache
from ghee.content.schema.compiled import CompiledField, CompiledSchema
from ghee.media.services import alt_text_by_url

# A field as rendering needs it: the field, its reference target (None: not a reference, or
# the target is gone), and the type's renderer (None: the stored value, or the empty value).
Plan = list[tuple[CompiledField, CompiledSchema | None, Callable | None]]


def reference_uri(collection_key: str, item_id: int) -> str:
    return f"/v2/content/?keys={collection_key}[_id={item_id}]"


class ItemRenderer:
    """Renders the items of one request; caches what it fetched for references."""

    def __init__(self, organization_id: int, options: ReadOptions) -> None:
        self.organization_id = organization_id
        self.options = options
        self._values: dict[int, dict[int, dict]] = defaultdict(dict)  # collection -> id -> values
        self._visible: dict[int, set[int]] = defaultdict(set)  # known visible, values not needed
        self._seen: dict[int, set[int]] = defaultdict(set)  # looked up, visible or not
        self._memo: dict[tuple[int, int, int], dict] = {}
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

    def _prefetch(self, schema: CompiledSchema, items: Iterable[tuple[int, dict]]) -> None:
        levels = self.options.levels
        scope = self.options.scope
        frontier: list[tuple[CompiledSchema, list[tuple[int, dict]]]] = [(schema, list(items))]
        for item_id, values in frontier[0][1]:
            self._values[schema.collection_id][item_id] = values
            self._seen[schema.collection_id].add(item_id)
        for depth in range(1, levels + 1):
            wanted: dict[int, tuple[CompiledSchema, set[int]]] = {}
            for source, rows in frontier:
                for field, target, _ in self._plan(source):
                    if target is None:
                        continue
                    ids = wanted.setdefault(target.collection_id, (target, set()))[1]
                    for _, values in rows:
                        ids.update(stored_reference_ids(values.get(field.key)))
            frontier = []
            for target, ids in wanted.values():
                new = sorted(ids - self._seen[target.collection_id])
                if not new:
                    continue
                self._seen[target.collection_id].update(new)
                if depth < levels:
                    loaded = load_items(target.collection_id, scope, new)
                    self._values[target.collection_id].update(loaded)
                    frontier.append((target, list(loaded.items())))
                else:
                    self._visible[target.collection_id].update(
                        find_visible_ids(target.collection_id, scope, new)
                    )
            if not frontier:
                break

    # --- rendering ------------------------------------------------------------------------

    def render(self, schema: CompiledSchema, items: list[tuple[int, dict]]) -> list[dict]:
        self._prefetch(schema, items)
        rendered = [self._item(schema, item_id, values, 1) for item_id, values in items]
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

    def _item(self, schema: CompiledSchema, item_id: int, values: dict, depth: int) -> dict:
        memo_key = (schema.collection_id, item_id, depth)
        rendered = self._memo.get(memo_key)
        if rendered is not None:
            return rendered
        rendered = {"meta": {"id": item_id}}
        alt_media_text = self.options.alt_media_text
        for field, target, render in self._plan(schema):
            value = values.get(field.key)
            if field.is_reference:
                value = self._reference(field, target, value, depth)
            elif render is not None:
                value = render(value, alt_media_text=alt_media_text)
                if alt_media_text and isinstance(value, dict) and value.get("url"):
                    self._media.append(value)
            elif value is None:
                value = field.kind.empty_render
            rendered[field.key] = value
        self._memo[memo_key] = rendered
        return rendered

    def _reference(self, field: CompiledField, target: CompiledSchema | None, value, depth: int):
        rendered = []
        if target is not None:
            expand = depth < self.options.levels
            values_by_id = self._values[target.collection_id]
            for item_id in stored_reference_ids(value):
                values = values_by_id.get(item_id)
                if expand:
                    if values is not None:
                        rendered.append(self._item(target, item_id, values, depth + 1))
                elif values is not None or item_id in self._visible[target.collection_id]:
                    rendered.append(reference_uri(target.collection_key, item_id))
        if field.many:
            return rendered
        return rendered[0] if rendered else None
