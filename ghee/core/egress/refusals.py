"""The words of a refusal: what the address policy refused, and the setting that would allow it.

Every caller shows ``str(exc)`` as it is (the API's 400s, ``ghee media import`` and
``ghee webhook add``, the dashboard's forms, a job's errors, a delivery's attempt log), so
the advice travels in the message: a developer pointing ghee at a receiver on
127.0.0.1:9000 reads which variable to set, and to what, instead of guessing. The values
suggested are the narrowest that would do (the one port, each refused address as a /32 or
/128), after what the setting already holds, so the line can be pasted as it is. Addresses
no setting can allow (cloud metadata) say so instead.
"""

from django.conf import settings

from ghee.core.egress.addresses import METADATA_ADDRESSES, IPAddress, unwrap
from ghee.core.egress.errors import BlockedAddress

# How many refused addresses one message names (a name may resolve to many).
SHOWN = 4


def port_refused(port: int, host: str, refused: list[IPAddress]) -> BlockedAddress:
    """``port`` is not allowed; ``refused`` are the host's addresses that would be refused
    too, when they are known without asking DNS (a literal address, ``localhost``)."""
    ports = _setting("GHEE_EGRESS_ALLOW_PORTS", settings.GHEE_EGRESS_ALLOW_PORTS, [port])
    what = f"port {port} is not allowed"
    if refused and not _metadata(refused):
        addresses = _addresses_clause(host, refused)
        networks = _networks_setting(refused)
        return BlockedAddress(
            f"blocked address: {what} and {addresses} (to allow them, start ghee with "
            f"{ports} {networks})"
        )
    allowed = sorted({80, 443, *settings.GHEE_EGRESS_ALLOW_PORTS})
    listed = ", ".join(str(p) for p in allowed[:-1]) + f" and {allowed[-1]}"
    return BlockedAddress(
        f"blocked address: {what} (ghee fetches from ports {listed}; to allow this one, "
        f"start ghee with {ports})"
    )


def addresses_refused(
    host: str, literal: bool, refused: list[IPAddress], resolved: int
) -> BlockedAddress:
    """``host`` (an address, or a name that resolved to ``resolved`` addresses of which
    ``refused`` are not allowed) is refused."""
    details = []
    if not literal:
        among = "" if len(_distinct(refused)) >= resolved else ", among others"
        details.append(f"it resolves to {_shown(refused)}{among}")
    metadata = _metadata(refused)
    if metadata:
        subject = "it" if literal else _shown(metadata)
        verb = "is a" if literal or len(metadata) == 1 else "are"
        details.append(f"{subject} {verb} cloud metadata address: no setting allows it")
    else:
        details.append(f"to allow it, start ghee with {_networks_setting(refused)}")
    return BlockedAddress(f"blocked address: {host} is not a public address ({'; '.join(details)})")


def _addresses_clause(host: str, refused: list[IPAddress]) -> str:
    if str(refused[0]) == host and len(refused) == 1:
        return f"{host} is not a public address"
    return f"{host} ({_shown(refused)}) is not a public address"


def _metadata(refused: list[IPAddress]) -> list[IPAddress]:
    return [ip for ip in _distinct(refused) if ip in METADATA_ADDRESSES]


def _distinct(refused: list[IPAddress]) -> list[IPAddress]:
    return list(dict.fromkeys(unwrap(ip) for ip in refused))


def _shown(refused: list[IPAddress]) -> str:
    addresses = [str(ip) for ip in _distinct(refused)]
    more = len(addresses) - SHOWN
    text = " and ".join(addresses[:SHOWN]) if len(addresses) <= 2 else ", ".join(addresses[:SHOWN])
    return f"{text} and {more} more" if more > 0 else text


def _networks_setting(refused: list[IPAddress]) -> str:
    networks = [f"{ip}/{ip.max_prefixlen}" for ip in _distinct(refused)]
    return _setting("GHEE_EGRESS_ALLOW_NETWORKS", settings.GHEE_EGRESS_ALLOW_NETWORKS, networks)


def _setting(name: str, current: list, added: list) -> str:
    """``NAME=value`` with what the setting holds now and ``added`` after it."""
    values = [str(value) for value in current]
    values += [str(value) for value in added if str(value) not in values]
    return f"{name}={','.join(values)}"
