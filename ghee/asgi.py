"""``ghee.asgi:application``: the WSGI application (``ghee.wsgi``) served through an ASGI
server by ``core/asgi_bridge.py``, which is how ``ghee serve --interface asgi`` runs it (see
that module for why). Threads per process: ``GHEE_SERVE_THREADS`` (``ghee serve --threads``
sets it)."""

from django.conf import settings

from ghee.core.asgi_bridge import WsgiBridge
from ghee.core.request_body import RequestTimeout
from ghee.wsgi import application as wsgi_application  # sets up Django first

application = WsgiBridge(
    wsgi_application,
    threads=settings.GHEE_SERVE_THREADS,
    body_timeout=settings.GHEE_BODY_READ_TIMEOUT,
    timeout_error=RequestTimeout,
)
