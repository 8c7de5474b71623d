"""One per-process cache of compiled schemas, for the Write API, the worker and reads.

The rule: an entry is used with no query for ``GHEE_SCHEMA_CACHE_SECONDS``. After that one
cheap query reads the ``(id, updated_at)`` of the collection and of the collections its
references point to, and one the organization's locales; the entry is kept if nothing
moved and recompiled otherwise. A missing collection is not cached, so a collection is
readable and writable as soon as it exists. Whoever changes a collection's fields saves
the collection too, so ``updated_at`` moves (``schema.services`` does).
"""

from __future__ import annotations

from ghee.content.models import Collection
from ghee.content.schema.compiled import CompiledSchema, compile_schema, load_locales
from ghee.core.cache import TtlCache

MAX_KEY_LENGTH = 100


class SchemaCache:
    """Compiled schemas by ``(organization id, collection key)``."""

    def __init__(self) -> None:
        self._cache: TtlCache[CompiledSchema] = TtlCache(
            "GHEE_SCHEMA_CACHE_SECONDS", cache_misses=False
        )

    def get(self, organization_id: int, key: str) -> CompiledSchema | None:
        return self._cache.get(
            (organization_id, key), lambda cached: _load(organization_id, key, cached)
        )

    def clear(self) -> None:
        self._cache.clear()


def _load(organization_id: int, key: str, cached: CompiledSchema | None) -> CompiledSchema | None:
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        return None
    keys = [key, *cached.reference_ids] if cached is not None else [key]
    rows = {
        row_key: (pk, updated_at)
        for row_key, pk, updated_at in Collection.objects.filter(
            organization_id=organization_id, key__in=keys
        ).values_list("key", "id", "updated_at")
    }
    if key not in rows:
        return None
    locales = load_locales(organization_id)
    if (
        cached is not None
        and rows[key] == (cached.collection_id, cached.updated_at)
        and locales == cached.locales
        and all(
            rows.get(target, (None,))[0] == target_id
            for target, target_id in cached.reference_ids.items()
        )
    ):
        return cached
    collection_id, updated_at = rows[key]
    return compile_schema(organization_id, collection_id, key, updated_at, locales)


schema_cache = SchemaCache()
