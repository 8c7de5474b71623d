"""Trailing-slash rules of the API (ButterCMS's URLs all end with ``/``).

GET and HEAD without the slash get a 301 to the slashed URL, query string kept. Write
methods are served as they come: a redirect would make clients drop the body.
"""

from django.http import HttpResponsePermanentRedirect

API_PREFIX = "/v2/"


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
            return HttpResponsePermanentRedirect(path + "/" + (f"?{query}" if query else ""))
        return self.get_response(request)
