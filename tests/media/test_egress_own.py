"""Corpus item 41 (reliability-security.md §2): ghee never fetches its own address.

Own = the host of GHEE_PUBLIC_URL and the names in ALLOWED_HOSTS (any port), and the
address GHEE_PUBLIC_URL's host resolves to, at its port and at 80/443 (ghee/core/egress/own.py).
Each case three ways, as the rest of the corpus: literally, through another name resolving
to it, and through a redirect; each refused before any socket connects to it.
"""

import pytest

from ghee.core.egress import BlockedAddress, open_url
from ghee.core.egress.urls import Target
from tests.media.conftest import fetch
from tests.media.servers import LoopbackServer

GHEE_ADDRESS = "93.184.216.34"  # a public address, never connected to (the guard would fail)


@pytest.fixture
def ghee_public(settings, resolver):
    settings.PUBLIC_URL = "https://cms.example.com"
    settings.ALLOWED_HOSTS = ["cms.example.com", ".ghee.example", "testserver"]
    resolver["cms.example.com"] = [GHEE_ADDRESS]
    return resolver


OWN_URLS = [
    "https://cms.example.com/v2/content/?auth_token=secret",
    "http://cms.example.com/",
    "https://CMS.Example.COM./media/x.png",
    "http://ghee.example/",
    "http://tenant.ghee.example/",
    f"https://{GHEE_ADDRESS}/v2/content/",
    f"http://{GHEE_ADDRESS}/",
    f"http://[::ffff:{GHEE_ADDRESS}]/",
]


@pytest.mark.parametrize("url", OWN_URLS)
def test_own_urls_are_refused_without_connecting(url, ghee_public, connects):
    with pytest.raises(BlockedAddress, match="is ghee's own address"):
        fetch(url)
    assert connects == []


@pytest.mark.parametrize("port", ["", ":443", ":80"])
def test_another_name_for_ghees_address_is_refused(port, ghee_public, connects):
    ghee_public["evil.test"] = ["8.8.8.8", GHEE_ADDRESS]
    with pytest.raises(BlockedAddress, match=r"evil\.test is ghee's own address"):
        fetch(f"https://evil.test{port}/v2/content/")
    assert connects == []


@pytest.mark.parametrize(
    "location", [*OWN_URLS[:4], f"http://{GHEE_ADDRESS}/", "http://evil.test/"]
)
def test_redirects_to_ghee_are_refused(location, ghee_public, settings, connects):
    ghee_public["evil.test"] = [GHEE_ADDRESS]
    redirector = LoopbackServer(host="127.3.4.5")
    try:
        settings.GHEE_EGRESS_ALLOW_NETWORKS = ["127.3.4.5/32"]
        settings.GHEE_EGRESS_ALLOW_PORTS = [redirector.port]
        url = redirector.redirect("/go", location)
        with pytest.raises(BlockedAddress, match="is ghee's own address"):
            fetch(url)
        assert connects == [("127.3.4.5", redirector.port)]
    finally:
        redirector.close()


def test_other_ports_and_other_addresses_stay_reachable(ghee_public, settings):
    settings.GHEE_EGRESS_ALLOW_PORTS = [8080]
    assert Target(f"http://{GHEE_ADDRESS}:8080/").addresses()  # not ghee's port
    ghee_public["elsewhere.test"] = ["8.8.4.4"]
    assert Target("https://elsewhere.test/").addresses()


def test_ghee_on_loopback_is_refused_even_where_loopback_is_allowed(settings, connects):
    """The local setup: ghee at 127.0.0.1:<port>, loopback allowed for a test server."""
    ghee = LoopbackServer()
    neighbour = LoopbackServer()
    try:
        settings.PUBLIC_URL = f"http://127.0.0.1:{ghee.port}"
        settings.GHEE_EGRESS_ALLOW_NETWORKS = ["127.0.0.0/8"]
        settings.GHEE_EGRESS_ALLOW_PORTS = [ghee.port, neighbour.port]
        ghee.serve("/v2/content/", b"{}")
        with pytest.raises(BlockedAddress, match=r"127\.0\.0\.1 is ghee's own address"):
            fetch(ghee.url("/v2/content/"))
        assert ghee.connections == 0
        assert fetch(neighbour.serve("/a", b"neighbour")) == b"neighbour"
    finally:
        ghee.close()
        neighbour.close()


def test_ghees_own_name_that_does_not_resolve_is_still_refused(settings, resolver, connects):
    settings.PUBLIC_URL = "https://cms.unresolvable.test"
    with (
        pytest.raises(BlockedAddress, match="is ghee's own address"),
        open_url("https://cms.unresolvable.test/", purpose="test"),
    ):
        pass
    ghee_resolver = resolver
    ghee_resolver["other.test"] = ["8.8.8.8"]
    assert Target("https://other.test/").addresses()  # ghee's DNS trouble stops nothing else
    assert connects == []


@pytest.mark.parametrize("answer", [f"::ffff:{GHEE_ADDRESS}", f"::ffff:{GHEE_ADDRESS}%eth0"])
def test_ghees_address_in_ipv4_mapped_form_is_still_ghee(answer, settings, resolver, connects):
    """Ghee's name resolving to the IPv4-mapped form, another name to the plain IPv4 one (and
    the other way round): one unwrapping rule, so both sides compare as the same address."""
    settings.PUBLIC_URL = "https://cms.example.com"
    resolver["cms.example.com"] = [answer]
    resolver["evil.test"] = [GHEE_ADDRESS]
    resolver["evil6.test"] = [answer]
    for url in ("https://evil.test/", f"https://[::ffff:{GHEE_ADDRESS}]/", "https://evil6.test/"):
        with pytest.raises(BlockedAddress, match="is ghee's own address"):
            fetch(url)
    assert connects == []
