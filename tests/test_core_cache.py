"""The per-process TTL cache behind the token and schema caches."""

import pytest

from ghee.core import cache as cache_module
from ghee.core.cache import TtlCache


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(cache_module.time, "monotonic", lambda: now[0])
    return now


@pytest.fixture
def ttl(settings):
    settings.GHEE_TEST_CACHE_SECONDS = 5
    return settings


def counting_loader(values):
    calls = []

    def load(previous):
        calls.append(previous)
        return values[len(calls) - 1]

    return load, calls


def test_value_is_kept_for_the_ttl_then_reloaded_with_the_expired_value(clock, ttl):
    cache = TtlCache("GHEE_TEST_CACHE_SECONDS")
    load, calls = counting_loader(["a", "b"])
    assert cache.get("k", load) == "a"
    clock[0] += 4.9
    assert cache.get("k", load) == "a"
    clock[0] += 0.2
    assert cache.get("k", load) == "b"
    assert calls == [None, "a"]


def test_ttl_zero_loads_every_time(clock, ttl):
    ttl.GHEE_TEST_CACHE_SECONDS = 0
    cache = TtlCache("GHEE_TEST_CACHE_SECONDS")
    load, _ = counting_loader(["a", "b"])
    assert [cache.get("k", load), cache.get("k", load)] == ["a", "b"]


def test_misses_are_cached_unless_told_not_to(clock, ttl):
    cached = TtlCache("GHEE_TEST_CACHE_SECONDS")
    load, _ = counting_loader([None, "created"])
    assert cached.get("k", load) is None
    assert cached.get("k", load) is None

    uncached = TtlCache("GHEE_TEST_CACHE_SECONDS", cache_misses=False)
    load, _ = counting_loader([None, "created"])
    assert uncached.get("k", load) is None
    assert uncached.get("k", load) == "created"


def test_clear_and_size_cap(clock, ttl):
    cache = TtlCache("GHEE_TEST_CACHE_SECONDS", max_entries=2)
    for key in ("a", "b"):
        cache.get(key, lambda _prev, key=key: key.upper())
    cache.get("c", lambda _prev: "C")  # full: starts over rather than growing
    load, _ = counting_loader(["A2"])
    assert cache.get("a", load) == "A2"
    cache.clear()
    load, _ = counting_loader(["A3"])
    assert cache.get("a", load) == "A3"
