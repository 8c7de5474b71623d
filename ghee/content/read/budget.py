"""What one read may ask of the database: caps on parameters, filters, keys and the items
per key of a multi-key read, and no characters the database cannot store.

Read tokens are public (they ship in front-end code), so a read must not be able to make
the database work without bound: 100 repeated ``fields.x=`` filters took 25 s to plan on
PostgreSQL, and a ``keys=`` naming one collection 1,000 times ran 1,000 queries. Each cap
is a setting (docs/read-api.md, "Limits"); going past one is a 400 naming the cap and its
setting, checked before any query runs. ``read.timeouts`` bounds what is left: a query
that is slow although its request is within the caps.
"""

from __future__ import annotations

from django.conf import settings

from ghee.content.read.params import BadReadParameter


class OverBudget(BadReadParameter):
    """400: the request asks for more than a read may (a cap of this module)."""

    default_code = "over_budget"


def check_parameters(params) -> None:
    """The query string as a whole: at most ``GHEE_READ_MAX_PARAMETERS`` parameters
    (repeats counted), and no NUL character in any name or value (PostgreSQL cannot store
    one in text, and no stored value contains one)."""
    count = 0
    for name, values in params.lists():
        count += len(values)
        if "\x00" in name or any("\x00" in value for value in values):
            raise BadReadParameter(
                f"Query parameter {name.replace(chr(0), '')} must not contain NUL characters"
            )
    limit = settings.GHEE_READ_MAX_PARAMETERS
    if count > limit:
        raise OverBudget(
            f"Too many query parameters: {count}, at most {limit} (GHEE_READ_MAX_PARAMETERS)"
        )


def check_filters(count: int) -> None:
    """At most ``GHEE_READ_MAX_FILTERS`` filters on one collection (``fields.*`` ones and
    a key's bracket filter together, repeats of the same filter counted once)."""
    limit = settings.GHEE_READ_MAX_FILTERS
    if count > limit:
        raise OverBudget(
            f"Too many filters: {count}, at most {limit} per collection (GHEE_READ_MAX_FILTERS)"
        )


def check_keys(count: int) -> None:
    """At most ``GHEE_READ_MAX_KEYS`` collections in one ``keys=`` (repeats counted once)."""
    limit = settings.GHEE_READ_MAX_KEYS
    if count > limit:
        raise OverBudget(f"Too many keys: {count}, at most {limit} (GHEE_READ_MAX_KEYS)")


def items_per_key() -> int:
    """The most items a multi-key read returns for one collection."""
    return settings.GHEE_READ_MAX_ITEMS_PER_KEY


def too_many_items(collection_key: str, count: int) -> OverBudget:
    limit = items_per_key()
    return OverBudget(
        f"Too many items for a multi-key read: {collection_key} has {count}, at most {limit} "
        f"(GHEE_READ_MAX_ITEMS_PER_KEY); read it alone with /v2/content/{collection_key}/ "
        "and page or page_size"
    )
