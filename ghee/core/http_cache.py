"""JSON responses, with the HTTP caching headers a CDN in front can use.

- Shared (published) reads: ``ETag`` = a hash of the body; ``If-None-Match`` matching it
  answers ``304`` with no body; ``Cache-Control: public, max-age=0, s-maxage=N``
  (``GHEE_READ_S_MAXAGE``): browsers revalidate every time, a CDN may keep the response N
  seconds.
- Everything else (private reads such as preview, which shows drafts; writes; job status;
  errors): ``Cache-Control: private, no-store``.
- Always ``Vary: Authorization``: the token may come in that header, and two organizations'
  responses for the same URL must never be confused by a cache. ``GZipMiddleware`` adds
  ``Accept-Encoding`` (and makes the ETag weak when it compresses; matching is weak, so a
  client sending that weak ETag back still gets its 304).
"""

import hashlib
import json

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotModified
from django.utils.http import parse_etags

CONTENT_TYPE = "application/json"
NO_STORE = "private, no-store"


def render_json(payload) -> bytes:
    # Compact, UTF-8, no ASCII escaping: the bytes DRF's JSONRenderer (and so ButterCMS) sends.
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


def private_response(body: bytes | None, status: int) -> HttpResponse:
    """``body`` (JSON bytes, or None for an empty response) that no cache may keep."""
    if body is None:
        response = HttpResponse(status=status)
        del response["Content-Type"]
    else:
        response = HttpResponse(body, content_type=CONTENT_TYPE, status=status)
    response["Cache-Control"] = NO_STORE
    response["Vary"] = "Authorization"  # a fresh response: nothing to merge with
    return response


def json_response(request, payload, *, shared: bool, status: int = 200) -> HttpResponse:
    """``payload`` as JSON; ``shared`` responses are cacheable by anyone and conditional."""
    body = render_json(payload)
    if not shared or status != 200:
        return private_response(body, status)
    etag = body_etag(body)
    if_none_match = request.META.get("HTTP_IF_NONE_MATCH")
    if if_none_match and _matches(if_none_match, etag):
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type=CONTENT_TYPE, status=status)
    response["ETag"] = etag
    response["Cache-Control"] = f"public, max-age=0, s-maxage={settings.GHEE_READ_S_MAXAGE}"
    response["Vary"] = "Authorization"
    return response
