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


# --- What one response may hold -----------------------------------------------------------
# References multiply: 100 items each referencing all 100 make 100**levels objects at
# ``levels`` (10**8 at levels=4: one such read took 10.5 GB before it was killed), while the
# queries stay few and fast. So the renderer counts what it builds, as it builds it.


class ResponseBudget:
    """What one response may hold, counted while it is built (``read.rendering``):

    - objects: item objects and reference URIs, each counted every time it appears (an item
      referenced from 100 places is 100 objects), at most ``GHEE_READ_MAX_RESPONSE_OBJECTS``;
    - bytes: the JSON's size, estimated from each item's stored size and the URIs, at most
      ``GHEE_READ_MAX_RESPONSE_BYTES``.

    ``narrower`` names the ways the view offers to read less (a smaller page_size, fewer
    keys...), for the 400's message; fewer levels is added when there are levels to drop.
    """

    def __init__(self, levels: int, narrower: tuple[str, ...]) -> None:
        self.levels = levels
        self.narrower = narrower
        self.max_objects = settings.GHEE_READ_MAX_RESPONSE_OBJECTS
        self.max_bytes = settings.GHEE_READ_MAX_RESPONSE_BYTES
        self.objects = 0  # charged: items rendered whole, with everything they expand to
        self.bytes = 0

    def check(self, objects: int = 0, size: int = 0) -> None:
        """Raise ``OverBudget`` if what is charged plus ``objects``/``size`` (a part of the
        response not charged yet, or a lower bound for one) is past a cap."""
        if self.objects + objects > self.max_objects:
            raise self._over(
                f"more than {self.max_objects} items and references "
                "(GHEE_READ_MAX_RESPONSE_OBJECTS)"
            )
        if self.bytes + size > self.max_bytes:
            raise self._over(
                f"more than {self.max_bytes} bytes of JSON (GHEE_READ_MAX_RESPONSE_BYTES)"
            )

    def charge(self, objects: int, size: int) -> None:
        self.check(objects, size)
        self.objects += objects
        self.bytes += size

    def _over(self, what: str) -> OverBudget:
        ways = list(self.narrower)
        if self.levels > 1:
            ways.insert(0, f"fewer levels (levels={self.levels - 1} or less)")
        how = "; narrow it with " + ", ".join(ways) if ways else ""
        return OverBudget(
            f"This read would return {what}: references expand to levels={self.levels}{how}"
        )


# The ways each read can be narrowed, for ``ResponseBudget``'s 400.
NARROW_BY_FILTER = "a filter (fields.<key>=<value>)"
NARROW_LIST = ("a smaller page_size", NARROW_BY_FILTER)
NARROW_KEYS = ("fewer keys (or one collection at a time, paged with page_size)", NARROW_BY_FILTER)
NARROW_ITEM = ()
