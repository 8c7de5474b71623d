"""The SSRF corpus (docs: reliability-security.md §2), each address three ways.

(i) literally in the URL, (ii) through a host name the resolver maps to it, (iii) as the
Location of a redirect from an allowed test server. Every case must be refused before any
socket connects to it: ``connects`` records every connect attempt in the process, and the
session-wide loopback guard in tests/conftest.py fails the test if one leaves loopback.
"""

import pytest

from ghee.core.egress import BadURL, BlockedAddress, EgressError, open_url
from tests.media.blocked_urls import BLOCKED_ADDRESSES, BLOCKED_LITERAL_URLS
from tests.media.conftest import fetch
from tests.media.servers import LoopbackServer


# Addresses a fetch must never reach (by default, without GHEE_EGRESS_ALLOW_NETWORKS).
# Spellings of those addresses (and names for them) in a URL; all must be refused.
@pytest.mark.parametrize("url", BLOCKED_LITERAL_URLS)
def test_literal_urls_are_refused_without_connecting(url, connects, resolver):
    with pytest.raises(EgressError) as refused:
        fetch(url)
    assert isinstance(refused.value, BadURL | BlockedAddress), refused.value
    assert connects == []
    # Numeric spellings are read as addresses, never sent to DNS.
    assert resolver.calls == []


@pytest.mark.parametrize("address", BLOCKED_ADDRESSES)
def test_host_names_resolving_to_blocked_addresses_are_refused(address, connects, resolver):
    resolver["evil.test"] = [address]
    with pytest.raises(BlockedAddress, match=r"blocked address: evil\.test is not a public"):
        fetch("http://evil.test/")
    assert connects == []


@pytest.mark.parametrize("address", BLOCKED_ADDRESSES)
def test_redirects_to_blocked_addresses_are_refused(address, settings, connects):
    # The redirecting server lives on its own loopback address, the only one allowed, so a
    # redirect to 127.0.0.1 (or any other loopback spelling) is still refused.
    redirector = LoopbackServer(host="127.3.4.5")
    try:
        settings.GHEE_EGRESS_ALLOW_NETWORKS = ["127.3.4.5/32"]
        settings.GHEE_EGRESS_ALLOW_PORTS = [redirector.port]
        bracketed = f"[{address}]" if ":" in address else address
        url = redirector.redirect("/go", f"http://{bracketed}/")
        with pytest.raises(BlockedAddress):
            fetch(url)
        assert connects == [("127.3.4.5", redirector.port)]
        assert redirector.connections == 1
    finally:
        redirector.close()


@pytest.mark.parametrize(
    "location",
    [
        "//127.0.0.1/",
        "http://[::1]/",
        "http://localhost/",
        "http://evil.test/",
        "http://169.254.169.254/latest/meta-data/",
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/_INFO",
        "http://8.8.8.8:6379/",
    ],
)
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_tricks_are_refused(location, status, settings, connects, resolver):
    resolver["evil.test"] = ["127.0.0.1"]
    resolver["redirector.test"] = ["127.3.4.5"]
    redirector = LoopbackServer(host="127.3.4.5")
    try:
        settings.GHEE_EGRESS_ALLOW_NETWORKS = ["127.3.4.5/32"]
        settings.GHEE_EGRESS_ALLOW_PORTS = [redirector.port]
        redirector.redirect("/go", location, status=status)
        url = f"http://redirector.test:{redirector.port}/go"
        with (
            pytest.raises((BadURL, BlockedAddress)),
            open_url(url, purpose="test", method="POST", body=b"payload"),
        ):
            pass
        assert connects == [("127.3.4.5", redirector.port)]
    finally:
        redirector.close()


def test_one_private_answer_among_public_ones_refuses_the_url(connects, resolver):
    resolver["mixed.test"] = ["8.8.8.8", "127.0.0.1"]
    with pytest.raises(BlockedAddress):
        fetch("http://mixed.test/")
    assert connects == []


def test_ipv6_only_answers_are_checked_too(connects, resolver):
    resolver["v6.test"] = ["::ffff:127.0.0.1", "::1"]
    with pytest.raises(BlockedAddress):
        fetch("http://v6.test/")
    assert connects == []


def test_a_name_is_resolved_once_and_the_checked_address_is_used(
    allow_loopback, connects, resolver
):
    """DNS rebinding: a second answer (private) never matters, there is no second lookup."""
    server = allow_loopback
    server.serve("/file", b"from the checked address")
    resolver["rebind.test"] = lambda call: ["127.0.0.1"] if call == 1 else ["10.0.0.5"]
    assert fetch(f"http://rebind.test:{server.port}/file") == b"from the checked address"
    assert resolver.calls == ["rebind.test"]
    assert connects == [("127.0.0.1", server.port)]
    assert server.requests_for("/file")[0]["headers"]["Host"] == f"rebind.test:{server.port}"


def test_the_default_policy_blocks_loopback(server, settings, connects):
    settings.GHEE_EGRESS_ALLOW_PORTS = [server.port]  # only the port: loopback stays refused
    url = server.serve("/file", b"secret")
    with pytest.raises(BlockedAddress, match=r"blocked address: 127\.0\.0\.1"):
        fetch(url)
    assert connects == []
    assert server.connections == 0


def test_allowed_networks_never_include_metadata_addresses(settings, connects, resolver):
    settings.GHEE_EGRESS_ALLOW_NETWORKS = ["169.254.0.0/16", "fd00::/8"]
    for address in ("169.254.169.254", "fd00:ec2::254"):
        resolver["meta.test"] = [address]
        with pytest.raises(BlockedAddress):
            fetch("http://meta.test/")
    assert connects == []
