"""``ghee.asgi:application``: the WSGI application (``ghee.wsgi``) served through an ASGI
server by ``core/asgi_bridge.py``, which is how ``ghee serve`` runs it by default (see that
module for why). Threads per process: ``GHEE_SERVE_THREADS`` (``ghee serve --threads`` sets
it); bodies received before a thread runs the request: up to ``GHEE_MAX_BODY_BYTES`` each."""

from django.conf import settings

from ghee.core.asgi_bridge import WsgiBridge
from ghee.core.request_body import RequestTimeout
from ghee.wsgi import application as wsgi_application  # sets up Django first

# Bytes of request bodies one process waits for on its event loop at once, holding no thread
# (ghee/core/asgi_bridge.py); beyond, a request is handed to a thread as it comes.
PREFILL_BUDGET = 64 * 1024 * 1024

application = WsgiBridge(
    wsgi_application,
    threads=settings.GHEE_SERVE_THREADS,
    body_timeout=settings.GHEE_BODY_READ_TIMEOUT,
    timeout_error=RequestTimeout,
    prefill_bytes=settings.GHEE_MAX_BODY_BYTES,
    prefill_budget=PREFILL_BUDGET,
)
