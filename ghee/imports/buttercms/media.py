"""The source's media files, each downloaded once into the organization's library.

A media value is a URL (on ButterCMS's CDN). Before an item is written its URLs are looked
up in ``ImportedMedia`` (this or an earlier run brought the file in already: *reused*), else
downloaded through ghee's media import (``ghee.media.downloads.fetch_media_many``: the
egress policy, bounded concurrency, size caps, type sniffing) and stored by content
(``add_to_library``: the same bytes under two URLs are one asset). The item is then written
with ghee's own URL, which the job pipeline keeps as it is.

A URL that fails (404, a redirect to an HTML page, a blocked address) is remembered for the
run with its reason; the items using it fail with that reason and the import goes on. It is
tried again on the next run.
"""

import hashlib

from django.db import transaction

from ghee.accounts.models import Organization
from ghee.imports.buttercms.report import Report
from ghee.imports.models import ImportedMedia
from ghee.media.downloads import discard_fetched, fetch_media_many
from ghee.media.models import MediaAsset
from ghee.media.services import FetchedMedia, add_to_library, own_assets_for_urls


def url_hash(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()


class MediaImporter:
    def __init__(self, organization: Organization, report: Report) -> None:
        self.organization = organization
        self.report = report
        self._results: dict[str, str] = {}  # URL -> ghee URL, or why it failed
        self._failed: set[str] = set()

    def result(self, url: str) -> str | Exception:
        """ghee's URL for ``url``, or the error that says why there is none."""
        if url in self._failed:
            return MediaFailure(self._results[url])
        return self._results[url]

    def fetch(self, urls: list[str]) -> None:
        wanted = [url for url in dict.fromkeys(urls) if url not in self._results]
        if not wanted:
            return
        known = {
            row.source_url: row.asset.url
            for row in ImportedMedia.objects.filter(
                organization=self.organization, url_hash__in=[url_hash(u) for u in wanted]
            ).select_related("asset")
        }
        own = own_assets_for_urls(self.organization.pk, [u for u in wanted if u not in known])
        for url in wanted:
            if url in known or url in own:
                self._results[url] = known[url] if url in known else own[url].url
                self.report.media["reused"] += 1
        to_fetch = [url for url in wanted if url not in self._results]
        if not to_fetch:
            return
        results = fetch_media_many(to_fetch)
        try:
            for url, fetched in results.items():
                if isinstance(fetched, FetchedMedia):
                    self._results[url] = self._store(url, fetched).url
                else:
                    self._results[url] = str(fetched)
                    self._failed.add(url)
                    self.report.media["failed"] += 1
        finally:
            discard_fetched(results)

    def _store(self, url: str, fetched: FetchedMedia) -> MediaAsset:
        with transaction.atomic():
            asset, new = add_to_library(self.organization.pk, fetched)
            ImportedMedia.objects.get_or_create(
                organization=self.organization,
                url_hash=url_hash(url),
                defaults={"source_url": url, "asset": asset},
            )
        self.report.media["downloaded" if new else "same bytes as another URL"] += 1
        return asset


class MediaFailure(Exception):
    pass
