"""CORS as ButterCMS does it: reads are for browsers, writes are not.

- A read (``GET``/``HEAD`` on ``/v2/content/...``) answers ``Access-Control-Allow-Origin: *``,
  errors included, so a single-page app can read content (and a 401 or 404 body) with a
  read token, which ButterCMS calls safe for client-side code.
- Writes and ``/v2/jobs/`` take write tokens, which do not belong in browsers: they send no
  CORS headers, unless ``GHEE_CORS_WRITE_ORIGINS`` lists the request's ``Origin``; then
  ``Access-Control-Allow-Origin: <that origin>``.
- A preflight ``OPTIONS`` needs no token: 204 with the methods this origin may use, the
  headers clients send (``Authorization``, ``Content-Type``, ``X-Butter-Client``,
  ``Idempotency-Key``, ...) and how long a browser may remember the answer.

No credentials mode (cookies) anywhere: the token travels in a header or the query string.
"""

from django.conf import settings
from django.utils.cache import patch_vary_headers

ALLOW_HEADERS = (
    "Accept, Authorization, Content-Type, Idempotency-Key, If-None-Match, X-Butter-Client, "
    "X-Requested-With"
)
# Seconds a browser may cache a preflight answer (Chromium caps it at 7200).
MAX_AGE = "86400"


def write_origin(request) -> str | None:
    """The request's ``Origin`` when ``GHEE_CORS_WRITE_ORIGINS`` lists it, else None."""
    origin = request.META.get("HTTP_ORIGIN")
    if origin and origin in settings.GHEE_CORS_WRITE_ORIGINS:
        return origin
    return None


def allow_any_origin(response) -> None:
    response["Access-Control-Allow-Origin"] = "*"


def allow_write_origin(request, response) -> None:
    """CORS headers of a write-class response (a write, or anything under /v2/jobs/)."""
    if not settings.GHEE_CORS_WRITE_ORIGINS:
        return
    # The answer now depends on Origin, whether or not this one is listed.
    patch_vary_headers(response, ["Origin"])
    origin = write_origin(request)
    if origin is not None:
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Expose-Headers"] = "Location"


def answer_preflight(request, response, *, read_methods, write_methods) -> None:
    """Preflight headers on ``response``: ``read_methods`` for any origin, ``write_methods``
    too for an origin ``GHEE_CORS_WRITE_ORIGINS`` lists. No headers if none apply."""
    origin = write_origin(request)
    methods = [*read_methods, *write_methods] if origin is not None else list(read_methods)
    if settings.GHEE_CORS_WRITE_ORIGINS:
        patch_vary_headers(response, ["Origin"])
    if not methods:
        return
    response["Access-Control-Allow-Origin"] = origin or "*"
    response["Access-Control-Allow-Methods"] = ", ".join([*methods, "OPTIONS"])
    response["Access-Control-Allow-Headers"] = ALLOW_HEADERS
    response["Access-Control-Max-Age"] = MAX_AGE
