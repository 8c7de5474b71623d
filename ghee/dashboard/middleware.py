"""Dashboard-only middleware: sign-in lockout (django-axes) and a Content-Security-Policy
(django-csp). Both matter to pages a person signs in to; the token API has no password
sign-in and answers JSON, so ``web_only`` skips them on ``/v2/`` (no work on its hot path).
"""

import weakref
from urllib.parse import urlsplit

from axes.middleware import AxesMiddleware
from csp.middleware import CSPMiddleware
from django.core.files.storage import storages

from ghee.core.middleware import web_only

WebAxesMiddleware = web_only(AxesMiddleware)

# storage -> the origin its files are served from ("" when relative: the page's own).
_media_origins: "weakref.WeakKeyDictionary[object, str]" = weakref.WeakKeyDictionary()


def media_origin() -> str:
    """The origin media files are served from, as the dashboard links them: ghee's public
    URL (``GHEE_PUBLIC_URL``, which need not be the address the page was opened at), a CDN
    (``GHEE_MEDIA_URL``) or the S3 endpoint. Read from the storage itself, so it is right for
    every backend and setting."""
    storage = storages["default"]
    if storage not in _media_origins:
        parts = urlsplit(storage.url("csp-probe"))
        _media_origins[storage] = f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""
    return _media_origins[storage]


class MediaAwareCSPMiddleware(CSPMiddleware):
    """The policy in ``CONTENT_SECURITY_POLICY``, with the media origin added to ``img-src``
    so thumbnails and previews load wherever media is served from."""

    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only)
        origin = media_origin()
        if origin and not report_only:
            parts.update = {**(parts.update or {})}
            parts.update["img-src"] = [*parts.update.get("img-src", []), origin]
        return parts


WebCSPMiddleware = web_only(MediaAwareCSPMiddleware)
