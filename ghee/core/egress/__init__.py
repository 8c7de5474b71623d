"""The one outbound HTTP client for URLs that someone else chose (media import, webhooks).

A client that hands ghee a URL can aim ghee's server at anything that server can reach: the
cloud metadata service, a database on the private network, ghee itself. So every such request
goes through ``open_url``, which

- accepts only ``http``/``https`` URLs without user info, whitespace or control characters,
  on ports 80 and 443 (plus ``GHEE_EGRESS_ALLOW_PORTS``);
- resolves the host once and refuses the URL if *any* address is not public (the policy is
  ``is_allowed_address``), then connects to an address it checked, while the ``Host`` header,
  TLS SNI and certificate check keep the name: a second DNS answer can't swap the target;
- follows at most 5 redirects by hand, checking every hop the same way;
- ignores proxy environment variables (urllib3 never reads them);
- holds a wall-clock deadline over the whole exchange (``GHEE_EGRESS_TIMEOUT``: a watchdog
  shuts the socket, so a server dripping one byte at a time can't stretch it) and caps the
  body after Content-Encoding is decoded (``GHEE_EGRESS_MAX_BYTES``).

Everything is built on urllib3 (already a dependency; since 2.6 it bounds how much one read
may decompress, which is what makes a gzip bomb cost at most one chunk of memory). Only the
address policy (``addresses``) is written by hand. docs/egress.md has the reasoning and the
settings.

Modules: ``errors`` (what can go wrong), ``addresses`` (which IPs may be reached), ``urls``
(URL parsing, resolution), ``client`` (``open_url``). Import from here.
"""

from ghee.core.egress.addresses import is_allowed_address, is_public_address
from ghee.core.egress.client import CHUNK_SIZE, MAX_REDIRECTS, EgressResponse, open_url
from ghee.core.egress.errors import (
    BadResponse,
    BadURL,
    BlockedAddress,
    ConnectionFailed,
    EgressError,
    HTTPStatusError,
    TimedOut,
    TLSFailed,
    TooLarge,
    TooManyRedirects,
)
from ghee.core.egress.urls import Target

__all__ = [
    "CHUNK_SIZE",
    "MAX_REDIRECTS",
    "BadResponse",
    "BadURL",
    "BlockedAddress",
    "ConnectionFailed",
    "EgressError",
    "EgressResponse",
    "HTTPStatusError",
    "TLSFailed",
    "Target",
    "TimedOut",
    "TooLarge",
    "TooManyRedirects",
    "is_allowed_address",
    "is_public_address",
    "open_url",
]
