"""JSON responses for reads, with the HTTP caching headers a CDN in front can use.

- Shared (published) reads: ``ETag`` = a hash of the body; ``If-None-Match`` matching it
  answers ``304`` with no body; ``Cache-Control: public, max-age=0, s-maxage=N``
  (``GHEE_READ_S_MAXAGE``): browsers revalidate every time, a CDN may keep the response N
  seconds.
- Private reads (preview, which shows drafts) and errors: ``Cache-Control: private,
  no-store``.
- Always ``Vary: Authorization``: the token may come in that header, and two organizations'
  responses for the same URL must never be confused by a cache. ``GZipMiddleware`` adds
  ``Accept-Encoding`` (and makes the ETag weak when it compresses; matching is weak, so a
  client sending that weak ETag back still gets its 304).
"""

import hashlib
import json

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotModified
from django.utils.cache import patch_vary_headers
from django.utils.http import parse_etags

CONTENT_TYPE = "application/json"
NO_STORE = "private, no-store"


def render_json(payload) -> bytes:
    # The same bytes DRF's JSONRenderer produces: compact, UTF-8, no ASCII escaping.
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def body_etag(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def _matches(if_none_match: str, etag: str) -> bool:
    """Weak comparison (RFC 9110 13.1.2), as If-None-Match requires."""
    candidates = parse_etags(if_none_match)
    if "*" in candidates:
        return True
    bare = etag.removeprefix("W/")
    return any(candidate.removeprefix("W/") == bare for candidate in candidates)


def json_response(request, payload, *, shared: bool, status: int = 200) -> HttpResponse:
    """``payload`` as JSON; ``shared`` responses are cacheable by anyone and conditional."""
    body = render_json(payload)
    if shared and status == 200:
        etag = body_etag(body)
        if_none_match = request.META.get("HTTP_IF_NONE_MATCH")
        if if_none_match and _matches(if_none_match, etag):
            response = HttpResponseNotModified()
        else:
            response = HttpResponse(body, content_type=CONTENT_TYPE, status=status)
        response["ETag"] = etag
        response["Cache-Control"] = f"public, max-age=0, s-maxage={settings.GHEE_READ_S_MAXAGE}"
    else:
        response = HttpResponse(body, content_type=CONTENT_TYPE, status=status)
        response["Cache-Control"] = NO_STORE
    patch_vary_headers(response, ["Authorization"])
    return response
