"""The Read API's view of the schema: collections with their fields, and organizations'
locales, read through a short per-process cache."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings

from ghee.accounts.models import Locale

from .choices import FieldType
from .models import Collection, Field


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


class ReadSchemaCache:
    """Collections (with their fields) and organizations' locales, per process, for
    ``GHEE_SCHEMA_CACHE_SECONDS``: a schema change reaches reads within that time (a new
    collection at once: misses are not cached)."""

    def __init__(self) -> None:
        self._collections: dict[tuple[int, str], tuple[float, CollectionSchema]] = {}
        self._locales: dict[int, tuple[float, LocaleSet]] = {}

    def clear(self) -> None:
        self._collections.clear()
        self._locales.clear()

    @staticmethod
    def _fresh(stamp: float) -> bool:
        ttl = settings.GHEE_SCHEMA_CACHE_SECONDS
        return ttl > 0 and time.monotonic() - stamp < ttl

    def collection(self, organization_id: int, key: str) -> CollectionSchema | None:
        hit = self._collections.get((organization_id, key))
        if hit is not None and self._fresh(hit[0]):
            return hit[1]
        schema = _load_collection(organization_id, key)
        if schema is None:
            # Not cached: a collection created a moment ago is readable at once.
            self._collections.pop((organization_id, key), None)
            return None
        if len(self._collections) > 10_000:
            self._collections.clear()
        self._collections[(organization_id, key)] = (time.monotonic(), schema)
        return schema

    def locales(self, organization_id: int) -> LocaleSet:
        hit = self._locales.get(organization_id)
        if hit is not None and self._fresh(hit[0]):
            return hit[1]
        rows = list(
            Locale.objects.filter(organization_id=organization_id).values_list("code", "is_default")
        )
        codes = tuple(code for code, _ in rows)
        default = next((code for code, is_default in rows if is_default), codes[0] if codes else "")
        locales = LocaleSet(codes=codes, default=default)
        if len(self._locales) > 10_000:
            self._locales.clear()
        self._locales[organization_id] = (time.monotonic(), locales)
        return locales


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
