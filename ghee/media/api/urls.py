"""The ``/v2/media/`` endpoint (routed in ``ghee/urls.py``, before the other /v2/ routes).

Both methods take a write token in the header (``reads=Access.WRITE``; ``views.py`` says
why the listing does too); ``POST`` bodies are uploads or JSON (``read_media_body``).
"""

from ghee.accounts.authentication import authenticate
from ghee.core.api import Access, Endpoint
from ghee.media.api import views

media_endpoint = Endpoint(
    authenticate,
    reads=Access.WRITE,
    body=views.read_media_body,
    get=views.list_assets,
    post=views.create_asset,
)
