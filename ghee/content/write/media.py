"""Media fields in the job pipeline: a URL given for a media field becomes a ghee-hosted asset.

The seed: "any URL can be provided as the field's value. The media corresponding to this
URL will be automatically downloaded and uploaded to your media library". Two steps, on
either side of the job's transaction (``pipeline.py``):

- ``fetch_job_media`` (prepare stage, no transaction, no lock held): the job's media URLs
  that are not already ghee's own assets are downloaded together through the SSRF-safe
  client (``ghee.media.downloads``), each checked and hashed into a temporary file. A
  download that may succeed later (time-out, connection error, 5xx, 429) raises
  ``MediaRetryLater``: the job is retried with backoff within its attempts. A permanent
  failure (404, too large, blocked address, not an allowed file type) fails the job with
  one error per item, locale and field, and nothing of the job is written.
- ``store_job_media`` (apply stage, inside the transaction): each downloaded file becomes
  (or is found as) the organization's asset, and the job's values are rewritten to the
  assets' URLs before the items are written. A job re-run after a crash finds the stored
  file by its content (``store_media`` is idempotent), so nothing is stored twice.

The temporary files are removed by ``discard_job_media`` once the job's chunk is done.
"""

from collections.abc import Iterator

from ghee.content.choices import JobKind
from ghee.media.downloads import discard_fetched, fetch_media_many
from ghee.media.services import FetchedMedia, MediaImportError, own_assets_for_urls, store_media

MEDIA_TYPE = "media"


class MediaRetryLater(Exception):
    """A download failed in a way that may pass (the job is retried, with backoff)."""

    def __init__(self, message: str, retry_after: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _value_maps(ctx) -> Iterator[tuple[int | None, str, dict]]:
    """``(item index or None, locale, values)`` for every element of the job's payload."""
    fields = ctx.job.payload.get("fields") or ([] if ctx.job.kind == JobKind.CREATE else {})
    if ctx.job.kind == JobKind.CREATE:
        for index, by_locale in enumerate(fields):
            for locale, values in by_locale.items():
                yield index, locale, values
    else:
        for locale, values in fields.items():
            yield None, locale, values


def _media_urls(ctx) -> Iterator[tuple[int | None, str, str, str]]:
    """``(index, locale, field key, url)`` for every non-empty media value of the job."""
    media_keys = [key for key, field in ctx.schema.fields.items() if field.type == MEDIA_TYPE]
    if not media_keys:
        return
    for index, locale, values in _value_maps(ctx):
        for key in media_keys:
            url = values.get(key)
            if isinstance(url, str) and url:
                yield index, locale, key, url


def fetch_job_media(ctx) -> list[tuple[int | None, str, str, str]]:
    """Download the job's media (prepare stage); see the module docstring.

    Returns the permanent failures as ``(index, locale, field key, message)`` (the caller
    fails the job with them), or raises ``MediaRetryLater``.
    """
    found = list(_media_urls(ctx))
    if not found:
        return []
    own = own_assets_for_urls(ctx.job.organization_id, {url for *_, url in found})
    ctx.media_urls = {url: asset.url for url, asset in own.items()}
    to_fetch = [url for *_, url in found if url not in own]
    if not to_fetch:
        return []
    ctx.media_results = fetch_media_many(to_fetch)
    failures = {
        url: error
        for url, error in ctx.media_results.items()
        if isinstance(error, MediaImportError)
    }
    if not failures:
        return []
    discard_job_media(ctx)
    retryable = [error for error in failures.values() if error.retryable]
    if retryable:
        raise MediaRetryLater(str(retryable[0]), retryable[0].retry_after)
    return [
        (index, locale, key, f"Media {url[:200]}: {failures[url]}")
        for index, locale, key, url in found
        if url in failures
    ]


def store_job_media(ctx) -> None:
    """Store the downloaded files as assets and point the job's values at them (in the
    apply transaction)."""
    urls = dict(ctx.media_urls)
    for url, fetched in ctx.media_results.items():
        if isinstance(fetched, FetchedMedia):
            urls[url] = store_media(ctx.job.organization_id, fetched).url
    if not urls:
        return
    for _index, _locale, values in _value_maps(ctx):
        for key, value in values.items():
            if isinstance(value, str) and value in urls and _is_media(ctx, key):
                values[key] = urls[value]


def _is_media(ctx, key: str) -> bool:
    field = ctx.schema.fields.get(key)
    return field is not None and field.type == MEDIA_TYPE


def discard_job_media(ctx) -> None:
    """Remove the job's temporary downloads (stored assets are kept)."""
    if ctx.media_results:
        discard_fetched(ctx.media_results)
        ctx.media_results = {}
