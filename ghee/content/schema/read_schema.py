"""The Read API's view of the schema: collections with their fields, and organizations'
locales, read through a short per-process cache."""

from __future__ import annotations

from dataclasses import dataclass

from ghee.accounts.models import Locale
from ghee.content.choices import FieldType
from ghee.content.models import Collection, Field
from ghee.core.cache import TtlCache


@dataclass(frozen=True)
class FieldSpec:
    key: str
    type: str
    reference_to: str = ""
    many: bool = False

    @property
    def is_reference(self) -> bool:
        return self.type == FieldType.REFERENCE


@dataclass(frozen=True)
class CollectionSchema:
    id: int
    organization_id: int
    key: str
    fields: tuple[FieldSpec, ...]

    def field(self, key: str) -> FieldSpec | None:
        for spec in self.fields:
            if spec.key == key:
                return spec
        return None


@dataclass(frozen=True)
class LocaleSet:
    codes: tuple[str, ...]
    default: str  # "" for an organization without locales


def _load_locales(organization_id: int) -> LocaleSet:
    rows = list(
        Locale.objects.filter(organization_id=organization_id).values_list("code", "is_default")
    )
    codes = tuple(code for code, _ in rows)
    default = next((code for code, is_default in rows if is_default), codes[0] if codes else "")
    return LocaleSet(codes=codes, default=default)


class ReadSchemaCache:
    """Collections (with their fields) and organizations' locales, per process, for
    ``GHEE_SCHEMA_CACHE_SECONDS``: a schema change reaches reads within that time (a new
    collection at once: misses are not cached)."""

    def __init__(self) -> None:
        self._collections: TtlCache[CollectionSchema] = TtlCache(
            "GHEE_SCHEMA_CACHE_SECONDS", cache_misses=False
        )
        self._locales: TtlCache[LocaleSet] = TtlCache("GHEE_SCHEMA_CACHE_SECONDS")

    def clear(self) -> None:
        self._collections.clear()
        self._locales.clear()

    def collection(self, organization_id: int, key: str) -> CollectionSchema | None:
        return self._collections.get(
            (organization_id, key), lambda _previous: _load_collection(organization_id, key)
        )

    def locales(self, organization_id: int) -> LocaleSet:
        return self._locales.get(organization_id, lambda _previous: _load_locales(organization_id))


def _load_collection(organization_id: int, key: str) -> CollectionSchema | None:
    collection = (
        Collection.objects.filter(organization_id=organization_id, key=key)
        .values_list("id", flat=True)
        .first()
    )
    if collection is None:
        return None
    fields = Field.objects.filter(collection_id=collection).order_by("order", "id")
    return CollectionSchema(
        id=collection,
        organization_id=organization_id,
        key=key,
        fields=tuple(
            FieldSpec(key=f.key, type=f.type, reference_to=f.reference_to, many=f.many)
            for f in fields.only("key", "type", "reference_to", "many")
        ),
    )


read_schema_cache = ReadSchemaCache()
