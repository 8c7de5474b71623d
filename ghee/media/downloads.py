"""Fetching the media URLs of one job together: several at once, few per host.

A job can carry up to 100 items, each with media URLs. Downloading them one by one makes a
job as slow as the sum of its servers; downloading all at once hammers one host with
everything when the URLs share it. ``fetch_media_many`` runs up to
``GHEE_MEDIA_FETCH_CONCURRENCY`` downloads at once, at most ``GHEE_MEDIA_FETCH_PER_HOST`` of
them against one host, and returns one result per URL (a ``FetchedMedia`` or the
``MediaImportError`` that says why not) so the caller can report every item.
"""

import threading
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from django.conf import settings

from ghee.media.services import FetchedMedia, MediaImportError, fetch_media

FetchResult = FetchedMedia | MediaImportError


def fetch_media_many(urls: Iterable[str]) -> dict[str, FetchResult]:
    """Each distinct URL's ``FetchedMedia`` or ``MediaImportError``; needs no database.

    The caller owns the temporary files: ``discard_fetched(results)`` when done. If anything
    other than a MediaImportError escapes (a bug, KeyboardInterrupt), every file fetched so
    far is discarded before it propagates.
    """
    distinct = list(dict.fromkeys(urls))
    host_slots: dict[str, threading.BoundedSemaphore] = defaultdict(
        lambda: threading.BoundedSemaphore(settings.GHEE_MEDIA_FETCH_PER_HOST)
    )
    slots_lock = threading.Lock()

    def fetch_one(url: str) -> FetchResult:
        with slots_lock:
            slot = host_slots[(urlsplit(url).hostname or "").lower()]
        with slot:
            try:
                return fetch_media(url)
            except MediaImportError as exc:
                return exc

    results: dict[str, FetchResult] = {}
    workers = max(1, min(settings.GHEE_MEDIA_FETCH_CONCURRENCY, len(distinct)))
    with ThreadPoolExecutor(workers, thread_name_prefix="media-fetch") as pool:
        futures = {url: pool.submit(fetch_one, url) for url in distinct}
        try:
            for url, future in futures.items():
                results[url] = future.result()
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            for future in futures.values():
                if future.done() and not future.cancelled() and future.exception() is None:
                    discard_fetched({"": future.result()})
            raise
    return results


def discard_fetched(results: dict[str, FetchResult]) -> None:
    """Delete the temporary files of every successful fetch in ``results``."""
    for result in results.values():
        if isinstance(result, FetchedMedia):
            result.discard()
