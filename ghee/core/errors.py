"""Every /v2/ error is JSON in ButterCMS's shapes, rendered in one place (``error_response``).

The vocabulary is Django REST framework's exception classes (``NotFound``, ``ParseError``,
``NotAuthenticated``, ``AuthenticationFailed``, ``MethodNotAllowed``, ...): ButterCMS runs
DRF, and those classes' default messages are the strings it answers with. DRF is used
only as that library here; no DRF view handles a request (see ``core/api.py``).

Bodies: ``{"detail": "..."}``, or the dict/list given (field errors). Headers on every
error: ``Cache-Control: private, no-store`` (a CDN must never keep a 404 for an item about
to exist), ``Vary: Authorization``, and ``WWW-Authenticate: Token`` on a 401. An error
raised about a body that was not read whole (408, 413) also says ``Connection: close``: the
rest of that body must not be taken for the next request on the connection.

A request whose database connection was lost under it (the server terminated its backend,
restarted, or is down) is a 503 with ``Retry-After`` (``DatabaseUnavailable``), never a
500. Its open transaction died with the connection (only a COMMIT whose answer was lost on
the way may have landed: an Idempotency-Key makes the retry safe); the broken connection is
closed here, so the next request opens a new one.
"""

import logging
import math
import sys

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db import DatabaseError
from django.http import Http404, HttpResponse
from rest_framework import exceptions, status

from ghee.core import db_health
from ghee.core.http_cache import CONTENT_TYPE, NO_STORE, private_response, render_json

logger = logging.getLogger("ghee.api")

AUTH_SCHEME = "Token"
SERVER_ERROR_BODY = b'{"detail":"Internal server error."}'


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body is too large."
    default_code = "payload_too_large"
    close_connection = True


class DatabaseUnavailable(exceptions.APIException):
    """503: the request's database connection was lost (or could not be opened)."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = (
        "The connection to the database was lost while answering; try again shortly "
        "(a write sent again with the same Idempotency-Key is accepted at most once)."
    )
    default_code = "database_unavailable"
    wait = 1  # seconds, sent as Retry-After


class FieldErrors(exceptions.APIException):
    """400 whose body is ``detail`` exactly as given, e.g. ``{"<field>": ["..."]}``.

    (DRF's ``ValidationError`` would rewrite the values it is given into strings.)
    """

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"

    def __init__(self, detail: dict | list) -> None:
        self.detail = detail


def error_response(exc: exceptions.APIException) -> HttpResponse:
    detail = exc.detail
    body = detail if isinstance(detail, dict | list) else {"detail": detail}
    response = private_response(render_json(body), exc.status_code)
    if exc.status_code == status.HTTP_401_UNAUTHORIZED:
        response["WWW-Authenticate"] = AUTH_SCHEME
    if getattr(exc, "wait", None):  # as DRF does for Throttled (and ghee's DatabaseBusy)
        response["Retry-After"] = str(math.ceil(exc.wait))
    if getattr(exc, "close_connection", False):
        response["Connection"] = "close"
    return response


def server_error_response() -> HttpResponse:
    return private_response(SERVER_ERROR_BODY, status.HTTP_500_INTERNAL_SERVER_ERROR)


def response_for_exception(exc: Exception) -> HttpResponse:
    """The answer to anything a /v2/ view raised: a client error as itself, the rest a
    logged 500 (never a traceback to the client)."""
    if isinstance(exc, exceptions.APIException):
        return error_response(exc)
    if isinstance(exc, RequestDataTooBig):
        return error_response(PayloadTooLarge())
    if isinstance(exc, TooManyFieldsSent):
        # More than DATA_UPLOAD_MAX_NUMBER_FIELDS (1,000) query parameters: Django refuses to
        # parse them, before any view could apply its own cap.
        return error_response(exceptions.ParseError("Too many query parameters"))
    if isinstance(exc, Http404):
        return error_response(exceptions.NotFound())
    if isinstance(exc, DatabaseError) and db_health.connection_lost(exc):
        logger.warning("The database connection was lost during a request (503): %s", exc)
        db_health.close_quietly()
        return error_response(DatabaseUnavailable())
    logger.error("Unhandled API error", exc_info=exc)
    return server_error_response()


# Django's handlers for what no view answers (an unknown URL, a crash outside /v2/ views):
# the same JSON, so no HTML error page reaches an API client.


def json_not_found(request, exception=None):
    return error_response(exceptions.NotFound())


def json_server_error(request):
    return server_error_response()


def guard_wsgi(application):
    """``application``, answering what escapes Django (its request signals, a broken
    response iterator) with the same 500 bytes rather than granian's plain-text one."""

    def guarded(environ, start_response):
        try:
            return application(environ, start_response)
        except Exception:
            logger.exception("Unhandled error outside a view")
            headers = [
                ("Content-Type", CONTENT_TYPE),
                ("Content-Length", str(len(SERVER_ERROR_BODY))),
                ("Cache-Control", NO_STORE),
                ("Vary", "Authorization"),
            ]
            start_response("500 Internal Server Error", headers, sys.exc_info())
            return [SERVER_ERROR_BODY]

    return guarded
