"""Which IP addresses ghee may connect to: the one part of the egress client written by hand.

Python 3.11's ``ipaddress.is_global`` alone is not enough: it calls NAT64, 6to4 and
IPv4-compatible addresses global, and judges ``::ffff:127.0.0.1`` as not loopback.
"""

import functools
import ipaddress

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud metadata endpoints: refused even inside a network the operator allowed.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.170.23",  # AWS EKS pod identity
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "fd00:ec2::23",
        "100.100.100.200",  # Alibaba Cloud
    )
)

# Python 3.11's is_global misses these (CPython gh-113171 and friends), so they are listed.
_DENIED_V4 = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",  # "this network"; 0.0.0.0 reaches the local host on Linux
        "100.64.0.0/10",  # carrier-grade NAT: neither private nor global in Python
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation
        "192.88.99.0/24",  # 6to4 relay anycast
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation
        "203.0.113.0/24",  # documentation
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and the broadcast address
    )
)
_DENIED_V6 = tuple(
    ipaddress.ip_network(n)
    for n in (
        "::/96",  # IPv4-compatible (deprecated), plus :: and ::1
        "::ffff:0:0:0/96",  # IPv4-translated (SIIT)
        "64:ff9b::/96",  # NAT64 well-known prefix: embeds an IPv4 address
        "64:ff9b:1::/48",  # NAT64 local-use prefix
        "100::/64",  # discard-only
        "2001::/32",  # Teredo: embeds an IPv4 address
        "2001:db8::/32",  # documentation
        "2002::/16",  # 6to4: embeds an IPv4 address
        "3fff::/20",  # documentation (RFC 9637)
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",  # multicast
    )
)


def unwrap(ip: IPAddress) -> IPAddress:
    """The address a socket really reaches: no zone id, IPv4-mapped IPv6 as IPv4.

    Connecting to ``::ffff:127.0.0.1`` reaches 127.0.0.1, yet Python 3.11 says it is not
    loopback: judge the IPv4 address instead.
    """
    if ip.version == 6:
        if ip.scope_id:
            ip = ipaddress.IPv6Address(str(ip).split("%", 1)[0])
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
    return ip


def is_public_address(ip: IPAddress) -> bool:
    """True only for globally routable unicast addresses that embed no other address."""
    ip = unwrap(ip)
    denied = _DENIED_V4 if ip.version == 4 else _DENIED_V6
    if any(ip in network for network in denied):
        return False
    return ip.is_global and not (ip.is_reserved or ip.is_multicast)


def is_allowed_address(ip: IPAddress, allowed_networks=()) -> bool:
    """May ghee connect to ``ip``? Public addresses, or ones in an operator-allowed network.

    Metadata addresses stay refused even inside an allowed network.
    """
    ip = unwrap(ip)
    if ip in METADATA_ADDRESSES:
        return False
    if any(ip.version == net.version and ip in net for net in allowed_networks):
        return True
    return is_public_address(ip)


@functools.lru_cache(maxsize=8)
def _parse_networks(cidrs: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def allowed_networks() -> tuple:
    """GHEE_EGRESS_ALLOW_NETWORKS as networks (read on each call so tests can override it)."""
    return _parse_networks(tuple(settings.GHEE_EGRESS_ALLOW_NETWORKS))


def allowed_ports() -> frozenset[int]:
    return frozenset({80, 443, *settings.GHEE_EGRESS_ALLOW_PORTS})
