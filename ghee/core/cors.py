"""CORS as ButterCMS does it: reads are for browsers, writes are not.

- A read (``GET``/``HEAD`` on ``/v2/content/...``) answers ``Access-Control-Allow-Origin: *``,
  errors included, so a single-page app can read content (and a 401 or 404 body) with a
  read token, which ButterCMS calls safe for client-side code.
- Writes and ``/v2/jobs/`` take write tokens, which do not belong in browsers: they send no
  CORS headers, unless ``GHEE_CORS_WRITE_ORIGINS`` lists the request's ``Origin``; then
  ``Access-Control-Allow-Origin: <that origin>``.
- A preflight ``OPTIONS`` needs no token: 204, and for a method this origin may use, the
  CORS headers (methods, the headers clients send: ``Authorization``, ``Content-Type``,
  ``X-Butter-Client``, ``Idempotency-Key``, ..., and how long a browser may remember the
  answer). For a write from an origin that is not listed it has no CORS headers, so the
  browser does not send the write at all.

A browser shows a page only the "simple" response headers unless told otherwise
(``Access-Control-Expose-Headers``): a write's ``Location`` (its job) and, on a 503 (a read
cancelled by its time limit, a write that could not get SQLite's lock), ``Retry-After`` are
exposed, so a page can follow the job and wait as long as it is asked to.

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
    if "Retry-After" in response:
        response["Access-Control-Expose-Headers"] = "Retry-After"


def allow_write_origin(request, response) -> None:
    """CORS headers of a write-class response (a write, or anything under /v2/jobs/)."""
    if not settings.GHEE_CORS_WRITE_ORIGINS:
        return
    # The answer now depends on Origin, whether or not this one is listed.
    patch_vary_headers(response, ["Origin"])
    origin = write_origin(request)
    if origin is not None:
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Expose-Headers"] = "Location, Retry-After"


def answer_preflight(request, response, *, read_methods, write_methods) -> None:
    """Preflight headers on ``response`` for the method the browser asks about
    (``Access-Control-Request-Method``): one of ``read_methods`` is allowed from any origin,
    one of ``write_methods`` only from a listed origin. Otherwise no CORS headers: the
    preflight fails and the browser never sends the request. (Allowing the headers but not
    the method would not do: ``POST`` is a "simple" method the browser would send.)"""
    if settings.GHEE_CORS_WRITE_ORIGINS:
        patch_vary_headers(response, ["Origin"])
    requested = request.META.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD", "").upper()
    if requested in read_methods:
        origin, methods = "*", read_methods
    elif requested in write_methods and (origin := write_origin(request)) is not None:
        methods = [*read_methods, *write_methods]
    else:
        return
    response["Access-Control-Allow-Origin"] = origin
    response["Access-Control-Allow-Methods"] = ", ".join([*methods, "OPTIONS"])
    response["Access-Control-Allow-Headers"] = ALLOW_HEADERS
    response["Access-Control-Max-Age"] = MAX_AGE
