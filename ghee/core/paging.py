"""Paging of list endpoints: ``page``/``page_size`` or ``limit``/``offset``, as reads page.

Shared by every /v2/ list (content reads, jobs, media), so the parameters, their bounds and
their 400 messages are the same everywhere. It lives in core because media may not import
content (the import layers, docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rest_framework import exceptions, status

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 10
# The largest row offset a request may ask for: databases take 64-bit offsets, and
# next_offset must stay an exact JSON number (2**53). Beyond it: 400, not a 500.
MAX_OFFSET = 2**53


class BadQueryParameter(exceptions.APIException):
    """A query parameter the client can fix: 400 ``{"detail": ...}``."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "bad_parameter"


@dataclass(frozen=True)
class Paging:
    """A window on the list. ``by_offset`` says which ``meta`` keys the response carries."""

    offset: int
    limit: int | None  # None: everything (R1 with two or more keys)
    by_offset: bool = False

    @property
    def page(self) -> int:
        return self.offset // self.limit + 1 if self.limit else 1

    def meta(self, count: int) -> dict:
        """The response's ``meta``: ``count`` and the neighbouring pages or offsets."""
        start, size = self.offset, self.limit
        has_next = size is not None and start + size < count
        if self.by_offset:
            return {
                "count": count,
                "next_offset": start + size if has_next else None,
                "previous_offset": max(start - size, 0) if start else None,
            }
        return {
            "count": count,
            "previous_page": self.page - 1 if self.page > 1 else None,
            "next_page": self.page + 1 if has_next else None,
        }


EVERYTHING = Paging(offset=0, limit=None)


def int_or_none(value: str) -> int | None:
    try:
        return int(value.strip())
    except (TypeError, ValueError):
        return None


def _bounded(
    params: Mapping[str, str],
    name: str,
    low: int,
    high: int | None,
    default: int,
    ceiling: int = MAX_OFFSET,
):
    raw = params.get(name)
    if raw in (None, ""):
        return default
    value = int_or_none(raw)
    if value is not None and value >= low and high is None and value > ceiling:
        raise BadQueryParameter(f"{name} query parameter is too large")
    if value is None or value < low or (high is not None and value > high):
        if high is None and low == 1:
            message = f"{name} query parameter should be a positive integer"
        elif high is None:
            message = f"{name} query parameter should be an integer greater than or equal to {low}"
        else:
            message = (
                f"{name} query parameter should be an integer between {low} and {high} (inclusive)"
            )
        raise BadQueryParameter(message)
    return value


def parse_paging(params: Mapping[str, str]) -> Paging:
    """``page``/``page_size`` (default 1/10), or ``limit``/``offset`` (default 10/0)."""
    by_offset = any(params.get(name) not in (None, "") for name in ("limit", "offset"))
    by_page = any(params.get(name) not in (None, "") for name in ("page", "page_size"))
    if by_offset and by_page:
        raise BadQueryParameter("Use either page and page_size or limit and offset, not both")
    if by_offset:
        limit = _bounded(params, "limit", 1, MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE)
        offset = _bounded(params, "offset", 0, None, 0)
        return Paging(offset=offset, limit=limit, by_offset=True)
    page_size = _bounded(params, "page_size", 1, MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE)
    page = _bounded(params, "page", 1, None, 1, ceiling=MAX_OFFSET // page_size)
    return Paging(offset=(page - 1) * page_size, limit=page_size)
