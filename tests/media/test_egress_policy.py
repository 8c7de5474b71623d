"""The address policy and URL parsing of ghee.core.egress, as pure functions.

Hypothesis checks that every spelling of an address gets the verdict of the address itself,
and that no IPv6 form embedding an IPv4 address is ever public.
"""

import ipaddress

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from ghee.core.egress import (
    BadURL,
    BlockedAddress,
    Target,
    is_allowed_address,
    is_public_address,
)
from tests.media.blocked_urls import BLOCKED_ADDRESSES

PUBLIC = ["8.8.8.8", "1.1.1.1", "172.32.0.1", "93.184.216.34", "::ffff:8.8.8.8",
          "2606:4700:4700::1111", "2a00:1450:4001:80b::200e"]  # fmt: skip


@pytest.mark.parametrize("address", BLOCKED_ADDRESSES)
def test_non_public_addresses_are_refused(address):
    assert not is_allowed_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address):
    assert is_allowed_address(ipaddress.ip_address(address))


def test_allowed_networks_open_exactly_their_range():
    networks = (ipaddress.ip_network("10.1.0.0/16"),)
    assert is_allowed_address(ipaddress.ip_address("10.1.2.3"), networks)
    assert is_allowed_address(ipaddress.ip_address("::ffff:10.1.2.3"), networks)
    assert not is_allowed_address(ipaddress.ip_address("10.2.0.1"), networks)


ipv4 = st.integers(min_value=0, max_value=2**32 - 1).map(ipaddress.IPv4Address)

# Verdicts, not timings: a busy machine (two database legs, other processes) must not turn
# a slow example into a failure. Timing belongs in bench/.
no_deadline = hypothesis_settings(deadline=None)


@no_deadline
@given(ipv4)
def test_every_url_spelling_of_an_ipv4_address_is_that_address(ip):
    value = int(ip)
    octets = str(ip).split(".")
    spellings = [
        str(ip),
        str(value),
        hex(value),
        "0" + oct(value)[2:],
        ".".join(hex(int(o)) for o in octets),
        ".".join("0" + oct(int(o))[2:] for o in octets),
        f"{octets[0]}.{int(octets[1]) * 65536 + int(octets[2]) * 256 + int(octets[3])}",
        str(ip) + ".",
        f"[::ffff:{ip}]",
    ]
    for spelling in spellings:
        target = Target(f"http://{spelling}/")
        literal = target.literal
        if literal.version == 6:
            literal = literal.ipv4_mapped
        assert literal == ip, spelling


@no_deadline
@given(ipv4)
def test_mapped_addresses_get_the_verdict_of_their_ipv4_address(ip):
    mapped = ipaddress.IPv6Address(f"::ffff:{ip}")
    assert is_allowed_address(mapped) == is_allowed_address(ip)


@no_deadline
@given(ipv4, st.sampled_from(["::{}", "64:ff9b::{}", "::ffff:0:{}"]))
def test_ipv6_forms_embedding_ipv4_are_never_public(ip, template):
    assert not is_public_address(ipaddress.IPv6Address(template.format(ip)))


@no_deadline
@given(ipv4, st.integers(min_value=0, max_value=2**80 - 1))
def test_6to4_and_teredo_are_never_public(ip, low_bits):
    six_to_four = ipaddress.IPv6Address((0x2002 << 112) | (int(ip) << 80) | low_bits)
    teredo = ipaddress.IPv6Address((0x20010000 << 96) | (int(ip) << 64) | (low_bits % 2**64))
    assert not is_public_address(six_to_four)
    assert not is_public_address(teredo)


@no_deadline
@given(st.ip_addresses())
def test_only_global_unicast_is_public(ip):
    if is_public_address(ip):
        assert ip.is_global and not ip.is_multicast and not ip.is_private


@pytest.mark.parametrize(
    ("url", "host", "port", "path", "host_header"),
    [
        ("http://Example.COM/café?q=ü", "example.com", 80, "/caf%C3%A9?q=%C3%BC", "example.com"),
        ("https://bücher.example:8443/", "xn--bcher-kva.example", 8443, "/", None),
        ("http://example.com", "example.com", 80, "/", "example.com"),
        ("http://[2606:4700::1]/x", "2606:4700::1", 80, "/x", "[2606:4700::1]"),
    ],
)
def test_urls_are_parsed_into_what_is_sent(settings, url, host, port, path, host_header):
    settings.GHEE_EGRESS_ALLOW_PORTS = [8443]
    target = Target(url)
    assert (target.host, target.port, target.path) == (host, port, path)
    if host_header:
        assert target.host_header == host_header


def test_a_port_outside_the_allowed_list_is_refused(settings):
    with pytest.raises(BlockedAddress, match="port 8080 is not allowed"):
        Target("http://example.com:8080/")
    settings.GHEE_EGRESS_ALLOW_PORTS = [8080]
    assert Target("http://example.com:8080/").port == 8080


@pytest.mark.parametrize(
    "url", ["http://example.com:99999/", "http://exa mple.com/", "http://-/", "http://a..b/"]
)
def test_malformed_urls_are_bad_urls(url):
    with pytest.raises(BadURL):
        Target(url)
