"""A refused URL names the setting that would allow it (issue 21 item 4).

Each kind of refusal (a port, a private network, loopback, a name resolving to refused
addresses, both at once) says which of ``GHEE_EGRESS_ALLOW_PORTS`` /
``GHEE_EGRESS_ALLOW_NETWORKS`` to set and to what; following that advice makes the same URL
pass the policy, and what no setting can allow (cloud metadata, ghee itself) says so. The
message is the egress client's own, so the API's 400, the CLI and the dashboard's form show
it alike.
"""

import re
import socket
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from ghee.core.egress import BlockedAddress, ConnectionFailed, Target, open_url
from ghee.media.models import MediaAsset
from ghee.webhooks.models import Endpoint

ADVICE = re.compile(r"start ghee with ((?:GHEE_EGRESS_ALLOW_\w+=\S+ ?)+)\)$")


@pytest.fixture
def resolve(monkeypatch):
    answers: dict[str, list[str]] = {}
    monkeypatch.setattr("ghee.core.egress.urls.resolve_host", lambda host, port: answers[host])
    return answers


@pytest.fixture(autouse=True)
def nothing_allowed(settings):
    settings.GHEE_EGRESS_ALLOW_PORTS = []
    settings.GHEE_EGRESS_ALLOW_NETWORKS = []
    return settings


def refusal(url: str) -> str:
    with pytest.raises(BlockedAddress) as refused:
        Target(url).addresses()
    return str(refused.value)


def follow(advice: str, settings) -> None:
    """Set what the message says, as an operator pasting it would."""
    for assignment in ADVICE.search(advice).group(1).split():
        name, _, value = assignment.partition("=")
        parsed = value.split(",")
        setattr(settings, name, [int(p) for p in parsed] if name.endswith("PORTS") else parsed)


@pytest.mark.parametrize(
    ("url", "answers", "message"),
    [
        (
            "http://example.com:9000/hook",
            {"example.com": ["93.184.216.34"]},
            "blocked address: port 9000 is not allowed (ghee fetches from ports 80 and 443; "
            "to allow this one, start ghee with GHEE_EGRESS_ALLOW_PORTS=9000)",
        ),
        (
            "http://10.1.2.3/photo.jpg",
            {},
            "blocked address: 10.1.2.3 is not a public address "
            "(to allow it, start ghee with GHEE_EGRESS_ALLOW_NETWORKS=10.1.2.3/32)",
        ),
        (
            "http://[fd12::7]/photo.jpg",
            {},
            "blocked address: fd12::7 is not a public address "
            "(to allow it, start ghee with GHEE_EGRESS_ALLOW_NETWORKS=fd12::7/128)",
        ),
        (
            "http://127.0.0.2/hook",  # (127.0.0.1:80 is ghee's own address: no setting)
            {},
            "blocked address: 127.0.0.2 is not a public address "
            "(to allow it, start ghee with GHEE_EGRESS_ALLOW_NETWORKS=127.0.0.2/32)",
        ),
        (
            "http://[::ffff:127.0.0.2]/hook",
            {},
            "blocked address: ::ffff:7f00:2 is not a public address "
            "(to allow it, start ghee with GHEE_EGRESS_ALLOW_NETWORKS=127.0.0.2/32)",
        ),
        (
            "http://127.0.0.1:9000/hook",
            {},
            "blocked address: port 9000 is not allowed and 127.0.0.1 is not a public address "
            "(to allow them, start ghee with GHEE_EGRESS_ALLOW_PORTS=9000 "
            "GHEE_EGRESS_ALLOW_NETWORKS=127.0.0.1/32)",
        ),
        (
            "http://localhost:9000/hook",
            {},
            "blocked address: port 9000 is not allowed and localhost (127.0.0.1 and ::1) is not "
            "a public address (to allow them, start ghee with GHEE_EGRESS_ALLOW_PORTS=9000 "
            "GHEE_EGRESS_ALLOW_NETWORKS=127.0.0.1/32,::1/128)",
        ),
        (
            "https://media.intranet.test/a.png",
            {"media.intranet.test": ["10.0.0.7"]},
            "blocked address: media.intranet.test is not a public address (it resolves to "
            "10.0.0.7; to allow it, start ghee with GHEE_EGRESS_ALLOW_NETWORKS=10.0.0.7/32)",
        ),
        (
            "https://split.test/a.png",
            {"split.test": ["93.184.216.34", "192.168.1.5", "fd00::5"]},
            "blocked address: split.test is not a public address (it resolves to 192.168.1.5 "
            "and fd00::5, among others; to allow it, start ghee with "
            "GHEE_EGRESS_ALLOW_NETWORKS=192.168.1.5/32,fd00::5/128)",
        ),
    ],
)
def test_each_refusal_names_the_setting_and_following_it_allows_the_url(
    url, answers, message, resolve, nothing_allowed
):
    resolve.update(answers)
    assert refusal(url) == message
    follow(message, nothing_allowed)
    assert Target(url).addresses()  # the policy now lets it through


def test_the_advice_keeps_what_the_settings_already_allow(resolve, settings):
    settings.GHEE_EGRESS_ALLOW_PORTS = [8080]
    settings.GHEE_EGRESS_ALLOW_NETWORKS = ["10.9.0.0/16"]
    assert refusal("http://example.com:9000/") == (
        "blocked address: port 9000 is not allowed (ghee fetches from ports 80, 443 and 8080; "
        "to allow this one, start ghee with GHEE_EGRESS_ALLOW_PORTS=8080,9000)"
    )
    resolve["db.intranet.test"] = ["10.9.1.1", "10.10.0.1"]
    message = refusal("http://db.intranet.test/")
    assert message.endswith("GHEE_EGRESS_ALLOW_NETWORKS=10.9.0.0/16,10.10.0.1/32)")
    assert "it resolves to 10.10.0.1, among others" in message


@pytest.mark.parametrize(
    ("url", "answers", "message"),
    [
        (
            "http://169.254.169.254/latest/meta-data/",
            {},
            "blocked address: 169.254.169.254 is not a public address "
            "(it is a cloud metadata address: no setting allows it)",
        ),
        (
            "http://meta.test/",
            {"meta.test": ["10.0.0.1", "169.254.169.254"]},
            "blocked address: meta.test is not a public address (it resolves to 10.0.0.1 and "
            "169.254.169.254; 169.254.169.254 is a cloud metadata address: no setting allows it)",
        ),
    ],
)
def test_what_no_setting_allows_says_so(url, answers, message, resolve, settings):
    resolve.update(answers)
    assert refusal(url) == message
    settings.GHEE_EGRESS_ALLOW_NETWORKS = ["169.254.0.0/16", "10.0.0.0/8"]
    with pytest.raises(BlockedAddress):
        Target(url).addresses()


def test_a_metadata_address_on_another_port_gets_no_network_advice():
    assert refusal("http://169.254.169.254:8080/") == (
        "blocked address: port 8080 is not allowed (ghee fetches from ports 80 and 443; "
        "to allow this one, start ghee with GHEE_EGRESS_ALLOW_PORTS=8080)"
    )


def test_ghees_own_address_says_no_setting_allows_it(settings, resolve):
    settings.GHEE_PUBLIC_URL = "https://cms.example.com"
    settings.ALLOWED_HOSTS = ["cms.example.com"]
    assert refusal("https://cms.example.com/media/x.png") == (
        "blocked address: cms.example.com is ghee's own address "
        "(no setting allows a fetch from ghee itself)"
    )


def test_a_name_resolving_to_many_refused_addresses_names_a_few(resolve):
    resolve["many.test"] = [f"10.0.0.{n}" for n in range(1, 41)]
    message = refusal("http://many.test/")
    assert "it resolves to 10.0.0.1, 10.0.0.2, 10.0.0.3, 10.0.0.4 and 36 more;" in message


# --- Every caller shows the same words -------------------------------------------------------

LOCAL_RECEIVER = "http://127.0.0.1:9000/hooks/ghee"
ADVICE_FOR_IT = "GHEE_EGRESS_ALLOW_PORTS=9000 GHEE_EGRESS_ALLOW_NETWORKS=127.0.0.1/32"


def test_the_media_apis_400_carries_the_advice(db, write_token, connects):
    response = Client().post(
        "/v2/media/",
        {"url": "http://127.0.0.1:9000/a.png"},
        content_type="application/json",
        headers={"Authorization": f"Token {write_token}"},
    )
    assert response.status_code == 400
    assert response.json()["detail"].endswith(f"start ghee with {ADVICE_FOR_IT})")
    assert connects == [] and MediaAsset.objects.count() == 0


def test_the_cli_carries_the_advice(org):
    with pytest.raises(CommandError) as refused:
        call_command("media", "import", "http://127.0.0.1:9000/a.png", "--org", "acme",
                     stdout=StringIO())  # fmt: skip
    assert str(refused.value).endswith(f"start ghee with {ADVICE_FOR_IT})")
    with pytest.raises(CommandError) as refused:
        call_command("webhook", "add", "--org", "acme", LOCAL_RECEIVER, "--events",
                     "collectionitem.all", stdout=StringIO())  # fmt: skip
    assert str(refused.value).endswith(f"start ghee with {ADVICE_FOR_IT})")
    assert not Endpoint.objects.exists()


def test_the_dashboard_form_carries_the_advice(admin_client, org):
    page = admin_client.post(
        "/admin/webhooks/endpoint/add/",
        {"organization": org.pk, "url": LOCAL_RECEIVER, "events": ["collectionitem.all"]},
    )
    assert page.status_code == 200
    assert f"start ghee with {ADVICE_FOR_IT})" in page.text
    assert not Endpoint.objects.exists()


def test_a_refused_connection_is_not_called_a_timeout(settings):
    with socket.socket() as probe:  # a port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.GHEE_EGRESS_ALLOW_PORTS = [port]
    settings.GHEE_EGRESS_ALLOW_NETWORKS = ["127.0.0.1/32"]
    with (
        pytest.raises(ConnectionFailed) as failed,
        open_url(f"http://127.0.0.1:{port}/", purpose="test"),
    ):
        pass
    assert str(failed.value) == "could not connect to 127.0.0.1: connection refused"
    assert failed.value.retryable
