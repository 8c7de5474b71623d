"""Reading a ButterCMS account (or any server speaking its Read API) politely.

Every request goes through ``ghee.core.egress`` like any other URL someone else chose:
the default source is ButterCMS's public API, but ``--source`` can name anything, and a
token-bearing importer must not become a way to reach ghee's private network.

Polite by default, as ButterCMS's own bulk-import guide asks ("concurrency ≈ 5"): at most
``concurrency`` requests at once; a 429 or 5xx, a time-out or a broken connection is
retried with exponential backoff, waiting at least what ``Retry-After`` says (parsed by
``ghee.core.retry_after``, the tree's one parser of that header), up to ``max_retries`` times. A
``Retry-After`` longer than ``max_wait`` (ButterCMS answers a spent monthly quota with the
time until the month's end) fails at once with that figure instead of hanging.

The token is sent in the ``Authorization`` header, never in the URL, so no log line or error
message can carry it.
"""

import json
import math
import random
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from ghee.core import egress
from ghee.core.retry_after import retry_after_seconds

DEFAULT_SOURCE = "https://api.buttercms.com"
PAGE_SIZE = 100  # ButterCMS's largest page
MAX_PAGE_BYTES = 32 * 1024 * 1024
MAX_PAGES = 100_000  # a source whose next_page never ends cannot keep us forever


class SourceError(Exception):
    """The source could not be read; the message says what and where, never the token."""


@dataclass(frozen=True)
class Page:
    collection: str
    locale: str | None
    preview: bool
    number: int
    count: int
    items: list[dict]


def normalise_base(url: str) -> str:
    """``https://api.buttercms.com/v2/`` and ``https://api.buttercms.com`` alike -> the latter."""
    url = url.strip().rstrip("/")
    if url.endswith("/v2"):
        url = url[: -len("/v2")]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourceError(f"--source must be an http(s) URL, not {url!r}")
    return url


class ButterSource:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        concurrency: int = 4,
        max_retries: int = 6,
        max_wait: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = normalise_base(base_url)
        self._token = token
        self.concurrency = max(1, concurrency)
        self.max_retries = max(0, max_retries)
        self.max_wait = max_wait
        self._sleep = sleep
        self.requests = 0
        self.retries = 0

    # --- one request -----------------------------------------------------------------------

    def get_json(self, path: str, params: dict) -> dict:
        url = f"{self.base_url}{path}?{urlencode(params)}"
        shown = f"{path}?{urlencode(params)}"
        for attempt in range(self.max_retries + 1):
            self.requests += 1
            try:
                return self._fetch(url, shown)
            except _Retry as retry:
                if attempt == self.max_retries:
                    raise SourceError(
                        f"{shown}: {retry.reason}; gave up after {attempt + 1} attempts"
                    ) from None
                wait = max(retry.wait, min(2.0**attempt, 30.0) * (0.5 + random.random() / 2))  # noqa: S311
                if wait > self.max_wait:
                    raise SourceError(
                        f"{shown}: {retry.reason}; the source asks to wait {math.ceil(wait)} s, "
                        f"longer than --max-wait {self.max_wait:g} s (a spent API quota?)"
                    ) from None
                self.retries += 1
                self._sleep(wait)
        raise SourceError(f"{shown}: no answer")  # not reached

    def _fetch(self, url: str, shown: str) -> dict:
        headers = {"Authorization": f"Token {self._token}", "Accept": "application/json"}
        try:
            with egress.open_url(
                url, purpose="buttercms import", headers=headers, max_bytes=MAX_PAGE_BYTES
            ) as response:
                body = response.read()
                status = response.status
                wait = retry_after_seconds(response.headers.get("Retry-After"), cap=float("inf"))
        except egress.EgressError as exc:
            if exc.retryable:
                raise _Retry(str(exc), 0.0) from None
            raise SourceError(f"{shown}: {exc}") from None
        if status == 429 or status >= 500:
            raise _Retry(f"HTTP {status}", wait)
        if status != 200:
            raise SourceError(f"{shown}: HTTP {status}{_detail(body)}")
        try:
            data = json.loads(body)
        except ValueError:
            raise SourceError(f"{shown}: the answer is not JSON") from None
        if not isinstance(data, dict):
            raise SourceError(f"{shown}: the answer is not a JSON object")
        return data

    # --- a collection, page by page --------------------------------------------------------

    def page(self, key: str, locale: str | None, preview: bool, number: int) -> Page:
        params: dict = {"page": number, "page_size": PAGE_SIZE, "levels": 1}
        if preview:
            params["preview"] = 1
        if locale:
            params["locale"] = locale
        data = self.get_json(f"/v2/content/{key}/", params)
        items = (data.get("data") or {}).get(key) if isinstance(data.get("data"), dict) else None
        if not isinstance(items, list):
            raise SourceError(f"/v2/content/{key}/: no list of items under data.{key}")
        meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
        count = meta.get("count")
        if not isinstance(count, int) or count < 0:
            count = len(items)
        return Page(key, locale, preview, number, count, [i for i in items if isinstance(i, dict)])

    def pages(self, key: str, locale: str | None, preview: bool) -> Iterator[Page]:
        """Every page of one listing, in order; pages after the first are fetched
        ``concurrency`` at a time."""
        first = self.page(key, locale, preview, 1)
        yield first
        total = min(math.ceil(first.count / PAGE_SIZE), MAX_PAGES)
        if total <= 1:
            return
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="buttercms") as pool:
            numbers = iter(range(2, total + 1))
            window = [
                pool.submit(self.page, key, locale, preview, n)
                for n in _take(numbers, 2 * self.concurrency)
            ]
            while window:
                page = window.pop(0).result()
                window += [
                    pool.submit(self.page, key, locale, preview, n) for n in _take(numbers, 1)
                ]
                yield page


def _take(numbers: Iterator[int], count: int) -> list[int]:
    return [n for _, n in zip(range(count), numbers, strict=False)]


def _detail(body: bytes) -> str:
    try:
        detail = json.loads(body).get("detail")
    except (ValueError, AttributeError):
        return ""
    return f" ({str(detail)[:200]})" if detail else ""


class _Retry(Exception):
    def __init__(self, reason: str, wait: float) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait = wait
