"""API request plumbing: the trailing-slash rules and skipping browser-only middleware.

Trailing slash (ButterCMS's URLs all end with ``/``): GET and HEAD without the slash get a
301 to the slashed URL, query string kept (with ``Access-Control-Allow-Origin: *`` on
content URLs, so a browser may follow it, as reads allow any origin: ``core/cors.py``).
Write methods are served as they come: a redirect would make clients drop the body.

``/v2/`` requests carry a token, never a session or a CSRF cookie, so the browser-only
middleware (sessions, CSRF, ``request.user`` from the session, messages) has nothing to do
there, nor on ``/healthz`` (load balancers probe it many times a second); ``web_only``
wraps each so it runs for the dashboard and is skipped for the API and the probe
(measured: docs/benchmarks.md). The wrappers subclass the originals, so Django's admin
checks that look for them still pass.
"""

from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpResponsePermanentRedirect
from django.middleware.csrf import CsrfViewMiddleware

from ghee.core.cors import allow_any_origin

API_PREFIX = "/v2/"
CONTENT_PREFIX = "/v2/content"


HEALTH_PATH = "/healthz"


def is_api_request(request) -> bool:
    """A token API request or a health probe: neither has a session, a form or a page."""
    path = request.path_info
    return path.startswith(API_PREFIX) or path == HEALTH_PATH


class ApiTrailingSlashMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path
        if (
            request.method in ("GET", "HEAD")
            and path.startswith(API_PREFIX)
            and not path.endswith("/")
        ):
            query = request.META.get("QUERY_STRING", "")
            response = HttpResponsePermanentRedirect(path + "/" + (f"?{query}" if query else ""))
            if path.startswith(CONTENT_PREFIX):
                allow_any_origin(response)
            return response
        return self.get_response(request)


def web_only(middleware_class: type) -> type:
    """``middleware_class``, doing nothing for ``/v2/`` requests."""

    class WebOnly(middleware_class):
        def __call__(self, request):
            if is_api_request(request):
                return self.get_response(request)
            return super().__call__(request)

    if hasattr(middleware_class, "process_view"):

        def process_view(self, request, view_func, view_args, view_kwargs):
            if is_api_request(request):
                return None
            return super(WebOnly, self).process_view(request, view_func, view_args, view_kwargs)

        WebOnly.process_view = process_view
    for hook in ("process_exception", "process_template_response"):
        if hasattr(middleware_class, hook):  # pragma: no cover - none of the four has one
            raise TypeError(f"web_only does not wrap {hook} ({middleware_class.__name__})")
    WebOnly.__name__ = WebOnly.__qualname__ = f"WebOnly{middleware_class.__name__}"
    return WebOnly


WebSessionMiddleware = web_only(SessionMiddleware)
WebCsrfViewMiddleware = web_only(CsrfViewMiddleware)
WebAuthenticationMiddleware = web_only(AuthenticationMiddleware)
WebMessageMiddleware = web_only(MessageMiddleware)
