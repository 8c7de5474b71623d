"""The SSRF corpus (docs: reliability-security.md §2), each address three ways.

(i) literally in the URL, (ii) through a host name the resolver maps to it, (iii) as the
Location of a redirect from an allowed test server. Every case must be refused before any
socket connects to it: ``connects`` records every connect attempt in the process, and the
session-wide loopback guard in tests/conftest.py fails the test if one leaves loopback.
"""

import pytest

from ghee.core.egress import BadURL, BlockedAddress, EgressError, open_url
from ghee.core.egress import urls as egress_urls
from tests.media.servers import LoopbackServer

# Addresses a fetch must never reach (by default, without GHEE_EGRESS_ALLOW_NETWORKS).
BLOCKED_ADDRESSES = [
    "127.0.0.1",
    "127.0.0.2",
    "127.127.127.127",
    "0.0.0.0",
    "::",
    "::1",
    "::ffff:127.0.0.1",
    "::ffff:a9fe:a9fe",
    "::ffff:0:7f00:1",
    "::127.0.0.1",
    "64:ff9b::7f00:1",
    "64:ff9b:1::7f00:1",
    "2002:7f00:1::",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    "fe80::1",
    "fc00::1",
    "fd00::1",
    "169.254.169.254",
    "169.254.170.2",
    "fd00:ec2::254",
    "100.100.100.200",
    "100.64.0.1",
    "10.0.0.1",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.0.1",
    "192.0.0.1",
    "192.88.99.1",
    "192.0.2.1",
    "198.18.0.1",
    "198.51.100.1",
    "203.0.113.1",
    "240.0.0.1",
    "224.0.0.1",
    "255.255.255.255",
    "::ffff:ffff:ffff",
    "2001:db8::1",
    "ff02::1",
]

# Spellings of those addresses (and names for them) in a URL; all must be refused.
BLOCKED_LITERAL_URLS = [
    "http://127.0.0.1/",
    "http://127.1/",
    "http://127.0.1/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0x7f.0.0.1/",
    "http://0x7f.1/",
    "http://0177.0.0.1/",
    "http://017700000001/",
    "http://127.000.000.001/",
    "http://127.127.127.127/",
    "http://127.0.0.2/",
    "http://0/",
    "http://0.0.0.0/",
    "http://[::]/",
    "http://[::1]/",
    "http://[0000::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[0:0:0:0:0:ffff:127.0.0.1]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[::127.0.0.1]/",
    "http://[64:ff9b::7f00:1]/",
    "http://[64:ff9b:1::a00:1]/",
    "http://[2002:7f00:1::]/",
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
    "http://[fe80::1%25eth0]/",
    "http://[fc00::1]/",
    "http://[fd00::1]/",
    "http://169.254.169.254/latest/meta-data/",
    "http://169.254.170.2/",
    "http://[fd00:ec2::254]/",
    "http://100.100.100.200/",
    "http://100.64.0.1/",
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://172.31.255.255/",
    "http://192.168.0.1/",
    "http://192.0.0.1/",
    "http://192.88.99.1/",
    "http://192.0.2.1/",
    "http://198.18.0.1/",
    "http://198.51.100.1/",
    "http://203.0.113.1/",
    "http://240.0.0.1/",
    "http://224.0.0.1/",
    "http://255.255.255.255/",
    "http://0xffffffff/",
    "http://4294967295/",
    "http://0377.0377.0377.0377/",
    "http://[::ffff:ffff:ffff]/",
    "http://localhost/",
    "http://LOCALHOST/",
    "http://foo.localhost/",
    "http://localhost.localdomain/",
    "http://①②⑦.⓪.⓪.①/",
    "http://127。0。0。1/",
    "http://127.0.0.1./",
    "http://localhost./",
    "https://127.0.0.1/",
    # Parser differentials, user info, fragments, control characters, whitespace.
    "http://127.0.0.1\\@evil.example/",
    "http://127.0.0.1:80\\@evil.example/",
    "http://evil.example@127.0.0.1/",
    "http://127.0.0.1#@evil.example/",
    "http://127.0.0.1%2f@evil.example/",
    "http://127.0.0.1%00.evil.example/",
    "http://127.0.0.1 /",
    " http://127.0.0.1/",
    "http://127.0.0.1/\r\nX-Injected: 1",
    "http://127.0.0.1/%0d%0aX-Injected:%201",
    "http://1.1.1.1.1/",
    "http://:8080/",
    # Schemes and ports.
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_INFO",
    "dict://127.0.0.1:11211/stat",
    "ftp://127.0.0.1/",
    "ldap://127.0.0.1/",
    "data:text/plain,hello",
    "javascript:alert(1)",
    "http://8.8.8.8:22/",
    "http://8.8.8.8:25/",
    "http://8.8.8.8:6379/",
    "http://8.8.8.8:11211/",
    "http://8.8.8.8:0/",
]


@pytest.fixture
def resolver(monkeypatch):
    """Replace DNS: ``resolver[name] = [addresses]``; ``resolver.calls`` counts lookups."""

    class Resolver(dict):
        calls: list = []

        def __call__(self, host, port):
            self.calls.append(host)
            answer = self[host]
            return answer(len(self.calls)) if callable(answer) else answer

    stub = Resolver()
    stub.calls = []
    monkeypatch.setattr(egress_urls, "resolve_host", stub)
    return stub


def fetch(url: str) -> bytes:
    with open_url(url, purpose="test") as response:
        response.raise_for_status()
        return response.read()


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
