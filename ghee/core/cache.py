"""A per-process cache whose entries expire after a time taken from settings.

Tokens and collection schemas are read on every API request; each process keeps them for a
few seconds so the hot path does no query for them, at the cost of a change reaching a
running process within that time.
"""

import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from django.conf import settings

V = TypeVar("V")


class TtlCache(Generic[V]):
    """Values by key for ``settings.<ttl_setting>`` seconds (0 turns the cache off).

    ``load(previous)`` computes a value on a miss or an expired entry; ``previous`` is the
    expired value (or None), so a loader can revalidate it cheaply instead of rebuilding.
    With ``cache_misses=False`` a None result is not kept: what was just created is found
    at once.
    """

    def __init__(self, ttl_setting: str, *, cache_misses: bool = True, max_entries: int = 10_000):
        self.ttl_setting = ttl_setting
        self.cache_misses = cache_misses
        self.max_entries = max_entries
        self._entries: dict[Hashable, tuple[float, V | None]] = {}

    def get(self, key: Hashable, load: Callable[[V | None], V | None]) -> V | None:
        ttl = getattr(settings, self.ttl_setting)
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is not None and ttl > 0 and now - hit[0] < ttl:
            return hit[1]
        value = load(hit[1] if hit is not None else None)
        if ttl > 0 and (value is not None or self.cache_misses):
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = (now, value)
        else:
            self._entries.pop(key, None)
        return value

    def clear(self) -> None:
        self._entries.clear()
