"""Which content uses an asset: asked by the media library, answered by a layer above.

media may not import content (the import layers), yet the library shows which items use
each asset. So media defines this small hook and the content app registers the function
that knows where items keep media URLs (``ghee/content/media_usage.py``, registered in
``ContentConfig.ready``). Without one registered, nothing is reported as used.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ghee.media.models import MediaAsset


@dataclass(frozen=True)
class Usage:
    """One item using an asset: e.g. ``Team members #12`` in fields ``photo`` (``en``)."""

    label: str
    fields: tuple[str, ...]
    locales: tuple[str, ...]
    url: str | None = None  # the item's page in the dashboard, when there is one


# assets (one page of the library) -> {asset id: usages}, in a fixed number of queries.
UsageFinder = Callable[[Sequence[MediaAsset]], dict[int, list[Usage]]]

_finder: UsageFinder | None = None


def register_usage_finder(finder: UsageFinder) -> None:
    global _finder
    _finder = finder


def usages_for(assets: Sequence[MediaAsset]) -> dict[int, list[Usage]]:
    """The usages of each of ``assets`` (missing ids: unused)."""
    if _finder is None or not assets:
        return {}
    return _finder(assets)
