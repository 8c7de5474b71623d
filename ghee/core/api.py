"""The /v2/ endpoint layer: every API request goes through ``Endpoint`` once.

The path of a request: middleware (trailing slash, gzip; the dashboard's session/CSRF
middleware is skipped on /v2/) -> ``Endpoint.__call__`` -> the view (a plain function in
``ghee/content/api/``) -> a service -> a response from ``core/http_cache.py``.

``Endpoint`` does, in this order and nowhere else:

1. the method: ``OPTIONS`` is answered here (no token; CORS preflight), a method the URL
   does not serve is 405 ``{"detail": "Method \\"X\\" not allowed."}``; ``HEAD`` follows
   ``GET``; every response carries ``Allow``;
2. the token: ``authenticate(request, access)``, given by the view modules (core knows
   nothing of accounts), returns the token or raises a 401;
3. the body of a ``POST``/``PUT``/``PATCH``: JSON, with 400/413/415 (``core/json_body.py``),
   or, for an endpoint built with ``body=`` (``/v2/media/``), an upload streamed to disk
   (``core/upload_body.py``);
4. the view, called as ``view(ApiRequest, **url_kwargs)``;
5. errors: whatever the view or steps 1-3 raised goes through the one renderer
   (``core/errors.py``): DRF-style bodies, ``WWW-Authenticate`` on 401, no-store; anything
   unexpected is logged and answered 500 ``{"detail":"Internal server error."}``;
6. CORS headers (``core/cors.py``) on every response, errors included.

``Access`` says which token rules and CORS rules a method follows: ``READ`` (``GET``/``HEAD``
on content: any token of the organization, header or ``?auth_token=``; any origin) or
``WRITE`` (writes, and everything under /v2/jobs/: a write token in the header; only the
origins ``GHEE_CORS_WRITE_ORIGINS`` lists).
"""

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse
from rest_framework import exceptions

from ghee.core import cors
from ghee.core.errors import response_for_exception
from ghee.core.http_cache import private_response
from ghee.core.json_body import read_json_body

METHOD_ORDER = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
READ_METHODS = frozenset({"GET", "HEAD"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class Access(enum.Enum):
    READ = "read"
    WRITE = "write"


@dataclass(slots=True)
class ApiRequest:
    """What a view gets: the Django request, the token it carried, and its JSON body."""

    http: HttpRequest
    token: Any  # whatever ``authenticate`` returned (ghee: an accounts.ApiToken)
    body: Any = None  # the parsed body of a POST/PUT/PATCH (JSON, or an upload); None if empty
    raw_body: bytes = b""

    @property
    def params(self):
        return self.http.GET


Authenticate = Callable[[HttpRequest, Access], Any]
View = Callable[..., HttpResponse]
# Reads a POST/PUT/PATCH body after the token was checked: (parsed body, raw bytes).
# JSON by default; an endpoint taking files passes one using ``core/upload_body.py``.
BodyReader = Callable[[HttpRequest], tuple[Any, bytes]]


class Endpoint:
    """One /v2/ URL: its views by method (``get=``, ``post=``, ...) and the access its reads
    need (``reads=Access.READ`` for content, ``Access.WRITE`` for jobs; other methods
    always need ``WRITE``), and how a body is read (``body=``, JSON unless the endpoint takes
    uploads). An instance is the Django view for the URL."""

    csrf_exempt = True  # tokens, never cookies: there is no session to forge

    def __init__(
        self,
        authenticate: Authenticate,
        *,
        reads: Access,
        body: BodyReader = read_json_body,
        **views: View,
    ) -> None:
        self.authenticate = authenticate
        self.read_body = body
        self.views = {method.upper(): view for method, view in views.items()}
        if "GET" in self.views:
            self.views["HEAD"] = self.views["GET"]
        for method in self.views:
            if method not in METHOD_ORDER or method == "OPTIONS":  # OPTIONS is answered here
                raise ValueError(f"Endpoint cannot route {method}")
        self.access = {m: reads if m in READ_METHODS else Access.WRITE for m in self.views}
        self.allow = ", ".join(m for m in METHOD_ORDER if m in self.views or m == "OPTIONS")

    def __call__(self, request: HttpRequest, **kwargs) -> HttpResponse:
        method = request.method
        access = self.access.get(method)
        try:
            if method == "OPTIONS":
                response = self.options(request)
            elif access is None:
                raise exceptions.MethodNotAllowed(method)
            else:
                token = self.authenticate(request, access)
                body, raw = self.read_body(request) if method in BODY_METHODS else (None, b"")
                response = self.views[method](ApiRequest(request, token, body, raw), **kwargs)
        except Exception as exc:
            response = response_for_exception(exc)
        response["Allow"] = self.allow
        if access is Access.READ:
            cors.allow_any_origin(response)
        elif access is Access.WRITE:
            cors.allow_write_origin(request, response)
        return response

    def options(self, request: HttpRequest) -> HttpResponse:
        """204 with ``Allow``; for a CORS preflight, the answer for its method and origin."""
        response = private_response(None, 204)
        served = [m for m in METHOD_ORDER if m in self.views]
        cors.answer_preflight(
            request,
            response,
            read_methods=[m for m in served if self.access[m] is Access.READ],
            write_methods=[m for m in served if self.access[m] is Access.WRITE],
        )
        return response
