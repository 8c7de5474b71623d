"""ghee's own address: a URL that leads back to ghee is never fetched.

reliability-security.md §2, corpus item 41 (Smokescreen's ``ipDenySelfConnection``): a
write-token holder must not make ghee's worker call ghee itself (its API with someone's
token in the URL, its dashboard, or a loop of imports importing ghee).

"Own" means what ghee is configured to be reached as:

- **names**: the host of ``GHEE_PUBLIC_URL`` and every explicit ``ALLOWED_HOSTS`` entry (a
  leading dot covers the domain and its subdomains, as Django reads it; ``*`` names
  nothing). A URL whose host is one of them is refused on any port: the name is ghee's
  machine or its front proxy.
- **addresses**: what the host of ``GHEE_PUBLIC_URL`` resolves to (or is, for a literal
  address), at its port and at 80 and 443 (the front proxy). This catches another name
  pointed at ghee's address (``evil.example`` -> ghee's public IP) and redirects to it.
  Other ports of that address stay as the rest of the policy decides, so a test server on
  127.0.0.1 beside a ghee at 127.0.0.1:8000 (both allowed on purpose) is still reachable.

The address ghee's server binds to (``ghee serve --bind``) is usually loopback or private,
which the address policy refuses anyway. Names are resolved with the egress resolver
(``urls.resolve_host``) and remembered for ``CACHE_SECONDS``; a name that does not resolve
adds no address (ghee's own DNS trouble must not stop every fetch). ``ALLOWED_HOSTS`` names
are matched as names only: it may list many, and one lookup per fetch is the budget.
"""

import ipaddress
import threading
import time
from urllib.parse import urlsplit

from django.conf import settings

from ghee.core.egress.addresses import IPAddress, unwrap

CACHE_SECONDS = 60.0
FRONT_PORTS = (80, 443)
DEFAULT_PORTS = {"http": 80, "https": 443}

_lock = threading.Lock()
_cache: dict = {}


def own_names() -> tuple[frozenset[str], tuple[str, ...]]:
    """(exact host names, domain suffixes such as ``.example.com``), lower-case, no dot."""
    exact, suffixes = set(), []
    public_host = (urlsplit(settings.PUBLIC_URL).hostname or "").lower().rstrip(".")
    if public_host:
        exact.add(public_host)
    for entry in settings.ALLOWED_HOSTS:
        entry = entry.strip().lower().rstrip(".")
        if not entry or entry == "*":
            continue
        if entry.startswith("."):
            exact.add(entry[1:])
            suffixes.append(entry)
        else:
            exact.add(entry.rsplit(":", 1)[0] if entry.count(":") == 1 else entry.strip("[]"))
    return frozenset(exact), tuple(suffixes)


def is_own_name(host: str) -> bool:
    """Is ``host`` (lower-case, as ``Target`` holds it) one of ghee's own names?"""
    exact, suffixes = own_names()
    return host in exact or host.endswith(suffixes)


def own_endpoints(resolve) -> frozenset[tuple[IPAddress, int]]:
    """The (address, port) pairs that reach ghee: its public host, resolved with ``resolve``."""
    parts = urlsplit(settings.PUBLIC_URL)
    ports = {*FRONT_PORTS, parts.port or DEFAULT_PORTS.get(parts.scheme, 80)}
    public_host = (parts.hostname or "").lower().rstrip(".")
    key = (public_host, frozenset(ports), id(resolve))
    now = time.monotonic()
    with _lock:
        cached = _cache.get(key)
        if cached and cached[0] > now:
            return cached[1]
    addresses = _addresses_of(public_host, resolve) if public_host else []
    endpoints = frozenset((address, port) for address in addresses for port in ports)
    with _lock:
        _cache.clear()  # one configuration at a time: nothing accumulates
        _cache[key] = (now + CACHE_SECONDS, endpoints)
    return endpoints


def _addresses_of(name: str, resolve) -> list[IPAddress]:
    try:
        return [unwrap(ipaddress.ip_address(name.strip("[]")))]
    except ValueError:
        pass
    if name == "localhost" or name.endswith(".localhost"):
        return []  # loopback: refused by the address policy already
    try:
        return [unwrap(ipaddress.ip_address(a)) for a in resolve(name, 443)]
    except Exception:  # no answer: the name rule still refuses the name itself
        return []


def is_own_endpoint(address: IPAddress, port: int, resolve) -> bool:
    return (unwrap(address), port) in own_endpoints(resolve)


def clear_cache() -> None:
    with _lock:
        _cache.clear()
