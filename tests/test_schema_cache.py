"""The one schema cache behind writes, the worker and reads: no query while fresh, a new
collection found at once, a change seen after ``GHEE_SCHEMA_CACHE_SECONDS`` by a cheap check."""

import pytest

from ghee.accounts.models import Locale
from ghee.content.models import Collection
from ghee.content.schema.cache import schema_cache
from ghee.content.schema.services import apply_schema
from ghee.core import cache as core_cache
from tests.conftest import make_collection


@pytest.fixture
def clock(monkeypatch, settings):
    """A monotonic clock the test moves by hand."""
    settings.GHEE_SCHEMA_CACHE_SECONDS = 5
    now = [1000.0]
    monkeypatch.setattr(core_cache.time, "monotonic", lambda: now[0])

    def advance(seconds: float) -> None:
        now[0] += seconds

    return advance


def test_a_fresh_hit_makes_no_query(org, team_members, clock, django_assert_num_queries):
    schema = schema_cache.get(org.pk, "team_members")
    assert list(schema.fields) == ["name", "position"]
    assert schema.locales.codes == () and schema.locales.default == ""
    with django_assert_num_queries(0):
        assert schema_cache.get(org.pk, "team_members") is schema


def test_a_missing_collection_is_not_cached(org, clock):
    assert schema_cache.get(org.pk, "departments") is None
    make_collection(org, "departments", [{"key": "name", "type": "short_text"}])
    assert schema_cache.get(org.pk, "departments") is not None  # no wait


def test_an_unchanged_schema_is_revalidated_not_recompiled(
    org, team_members, clock, django_assert_num_queries
):
    schema = schema_cache.get(org.pk, "team_members")
    clock(6)
    with django_assert_num_queries(2):  # the collection's (id, updated_at), the locales
        assert schema_cache.get(org.pk, "team_members") is schema


def test_a_changed_schema_is_seen_once_the_entry_expires(org, team_members, clock):
    schema_cache.get(org.pk, "team_members")
    apply_schema(
        org,
        {
            "collections": [
                {
                    "key": "team_members",
                    "fields": [
                        {"key": "name", "type": "short_text"},
                        {"key": "position", "type": "short_text"},
                        {"key": "age", "type": "number"},
                    ],
                }
            ]
        },
    )
    assert "age" not in schema_cache.get(org.pk, "team_members").fields  # still fresh
    clock(6)
    assert "age" in schema_cache.get(org.pk, "team_members").fields


def test_locales_and_the_default_locale_are_part_of_the_schema(org, team_members, clock):
    assert schema_cache.get(org.pk, "team_members").locales.codes == ()
    Locale.objects.create(organization=org, code="es", order=1)
    Locale.objects.create(organization=org, code="en", order=0)
    clock(6)
    locales = schema_cache.get(org.pk, "team_members").locales
    # No locale marked default: the first in order is.
    assert (locales.codes, locales.default) == (("en", "es"), "en")
    Locale.objects.filter(code="es").update(is_default=True)
    clock(6)
    assert schema_cache.get(org.pk, "team_members").locales.default == "es"


def test_a_recreated_reference_target_is_noticed(org, team_members, clock):
    make_collection(
        org, "teams", [{"key": "lead", "type": "reference", "reference_to": "team_members"}]
    )
    before = schema_cache.get(org.pk, "teams").fields["lead"].reference_collection_id
    assert before == team_members.pk
    team_members.delete()
    recreated = make_collection(org, "team_members", [{"key": "name", "type": "short_text"}])
    clock(6)
    after = schema_cache.get(org.pk, "teams").fields["lead"].reference_collection_id
    assert after == recreated.pk


def test_a_deleted_collection_is_gone_once_the_entry_expires(org, team_members, clock):
    assert schema_cache.get(org.pk, "team_members") is not None
    Collection.objects.filter(pk=team_members.pk).delete()
    clock(6)
    assert schema_cache.get(org.pk, "team_members") is None
