"""Items as ButterCMS returns them: ``{"meta": {"id": N}, <field>: <value>, ...}``.

Fields come in schema order; keys stored in an item but no longer in the schema are left
out, schema fields the item has no value for render as empty. Empty values:

- text-like fields (short/long text, WYSIWYG, HTML, dropdown, color, media) render ``""``,
  as ButterCMS does for empty text fields; with ``alt_media_text=1`` an empty media field
  is ``{"url": "", "alt": ""}``;
- number and date: ``null``; checkbox: ``false``;
- one-to-one reference: ``null``; one-to-many: ``[]``.

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
from collections.abc import Iterable

from ghee.content.choices import FieldType
from ghee.content.read.params import ReadOptions
from ghee.content.read.queries import load_items
from ghee.content.read.queries import visible_ids as find_visible_ids
from ghee.content.schema.read_schema import CollectionSchema, FieldSpec, read_schema_cache

EMPTY_STRING_TYPES = frozenset(
    {
        FieldType.SHORT_TEXT,
        FieldType.LONG_TEXT,
        FieldType.WYSIWYG,
        FieldType.HTML,
        FieldType.DROPDOWN,
        FieldType.COLOR,
        FieldType.MEDIA,
    }
)


def reference_uri(collection_key: str, item_id: int) -> str:
    return f"/v2/content/?keys={collection_key}[_id={item_id}]"


def _reference_ids(value) -> list[int]:
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    return [v for v in values if type(v) is int]


class ItemRenderer:
    """Renders the items of one request; caches what it fetched for references."""

    def __init__(self, organization_id: int, options: ReadOptions) -> None:
        self.organization_id = organization_id
        self.options = options
        self._values: dict[int, dict[int, dict]] = defaultdict(dict)  # collection -> id -> values
        self._visible: dict[int, set[int]] = defaultdict(set)  # known visible, values not needed
        self._seen: dict[int, set[int]] = defaultdict(set)  # looked up, visible or not
        self._memo: dict[tuple[int, int, int], dict] = {}
        self._plans: dict[int, list[tuple[FieldSpec, CollectionSchema | None]]] = {}

    def _plan(self, schema: CollectionSchema) -> list[tuple[FieldSpec, CollectionSchema | None]]:
        """The schema's fields, each reference with its target collection (None if gone)."""
        plan = self._plans.get(schema.id)
        if plan is None:
            plan = [
                (
                    spec,
                    read_schema_cache.collection(self.organization_id, spec.reference_to)
                    if spec.is_reference
                    else None,
                )
                for spec in schema.fields
            ]
            self._plans[schema.id] = plan
        return plan

    # --- fetching -------------------------------------------------------------------------

    def _prefetch(self, schema: CollectionSchema, items: Iterable[tuple[int, dict]]) -> None:
        levels = self.options.levels
        scope = self.options.scope
        frontier: list[tuple[CollectionSchema, list[tuple[int, dict]]]] = [(schema, list(items))]
        for item_id, values in frontier[0][1]:
            self._values[schema.id][item_id] = values
            self._seen[schema.id].add(item_id)
        for depth in range(1, levels + 1):
            wanted: dict[int, tuple[CollectionSchema, set[int]]] = {}
            for source, rows in frontier:
                for spec, target in self._plan(source):
                    if target is None:
                        continue
                    ids = wanted.setdefault(target.id, (target, set()))[1]
                    for _, values in rows:
                        ids.update(_reference_ids(values.get(spec.key)))
            frontier = []
            for target, ids in wanted.values():
                new = sorted(ids - self._seen[target.id])
                if not new:
                    continue
                self._seen[target.id].update(new)
                if depth < levels:
                    loaded = load_items(target.id, scope, new)
                    self._values[target.id].update(loaded)
                    frontier.append((target, list(loaded.items())))
                else:
                    self._visible[target.id].update(find_visible_ids(target.id, scope, new))
            if not frontier:
                break

    # --- rendering ------------------------------------------------------------------------

    def render(self, schema: CollectionSchema, items: list[tuple[int, dict]]) -> list[dict]:
        self._prefetch(schema, items)
        return [self._item(schema, item_id, values, 1) for item_id, values in items]

    def _item(self, schema: CollectionSchema, item_id: int, values: dict, depth: int) -> dict:
        memo_key = (schema.id, item_id, depth)
        rendered = self._memo.get(memo_key)
        if rendered is not None:
            return rendered
        rendered = {"meta": {"id": item_id}}
        alt_media_text = self.options.alt_media_text
        for spec, target in self._plan(schema):
            value = values.get(spec.key)
            kind = spec.type
            if kind == FieldType.REFERENCE:
                value = self._reference(spec, target, value, depth)
            elif kind == FieldType.MEDIA and alt_media_text:
                # Alt text lives on media library assets; until ghee has a media library
                # there is none to give, so it is always "".
                value = {"url": value or "", "alt": ""}
            elif value is None:
                if kind in EMPTY_STRING_TYPES:
                    value = ""
                elif kind == FieldType.CHECKBOX:
                    value = False
            rendered[spec.key] = value
        self._memo[memo_key] = rendered
        return rendered

    def _reference(self, spec: FieldSpec, target: CollectionSchema | None, value, depth: int):
        rendered = []
        if target is not None:
            expand = depth < self.options.levels
            values_by_id = self._values[target.id]
            for item_id in _reference_ids(value):
                values = values_by_id.get(item_id)
                if expand:
                    if values is not None:
                        rendered.append(self._item(target, item_id, values, depth + 1))
                elif values is not None or item_id in self._visible[target.id]:
                    rendered.append(reference_uri(target.key, item_id))
        if spec.many:
            return rendered
        return rendered[0] if rendered else None
