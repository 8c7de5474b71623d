"""`ghee webhook ...`: endpoints, secrets shown once, a test event, the log, re-sends."""

import io

import pytest
from django.core.management import CommandError, call_command

from ghee.content.write.jobs import run_pending_jobs
from ghee.core import outbox
from ghee.webhooks import sending
from ghee.webhooks.models import Delivery, Endpoint
from tests.webhooks.conftest import add_endpoint

pytestmark = pytest.mark.usefixtures("allow_receiver")


def ghee(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_add_prints_the_secret_alone_and_list_shows_the_endpoint(org, receiver, capsys):
    url = receiver.hook("/in")
    secret = ghee(
        "webhook",
        "add",
        "--org",
        "acme",
        url,
        "--events",
        "collectionitem.published,collectionitem.delete",
        "--header",
        "X-Token: abc:def",
    ).strip()
    assert secret.startswith("whsec_") and "\n" not in secret
    assert "shown only this once" in capsys.readouterr().err
    endpoint = Endpoint.objects.get()
    assert endpoint.events == ["collectionitem.published", "collectionitem.delete"]
    assert endpoint.headers == {"X-Token": "abc:def"}
    listing = ghee("webhook", "list", "--org", "acme")
    assert url in listing and "collectionitem.published,collectionitem.delete" in listing
    assert secret not in listing


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--events", "collectionitem.everything"], "unknown event 'collectionitem.everything'"),
        (["--events", "collectionitem.all", "--header", "Host: evil"], "Host is set by ghee"),
        (["--events", "collectionitem.all", "--header", "no colon"], "is not of the form"),
    ],
)
def test_add_refuses_what_it_cannot_send(org, receiver, args, message):
    with pytest.raises(CommandError, match=message):
        ghee("webhook", "add", "--org", "acme", receiver.hook("/in"), *args)
    assert not Endpoint.objects.exists()


def test_add_refuses_a_url_the_egress_policy_blocks(org, settings):
    settings.GHEE_EGRESS_ALLOW_NETWORKS = []
    for url, message in [
        ("http://10.0.0.1/hook", "blocked address: 10.0.0.1 is not a public address"),
        ("ftp://example.com/hook", "only http and https"),
    ]:
        with pytest.raises(CommandError, match=message):
            ghee("webhook", "add", "--org", "acme", url, "--events", "collectionitem.all")


def test_test_sends_a_signed_test_event_now(org, receiver):
    endpoint, secret = add_endpoint(org, receiver.hook("/in", (200, {}, b"thanks")))
    out = ghee("webhook", "test", str(endpoint.pk))
    assert "HTTP 200" in out and "Response: thanks" in out
    (request,) = receiver.at("/in")
    body = request.verify(secret)
    assert body["webhook"] == {"event": "collectionitem.test", "target": endpoint.url}
    assert body["data"]["editor"] == "ghee webhook test"


def test_test_reports_a_failing_endpoint(org, receiver):
    endpoint, _ = add_endpoint(org, receiver.hook("/in", 503))
    with pytest.raises(CommandError, match="the test delivery failed: HTTP 503"):
        ghee("webhook", "test", str(endpoint.pk))
    assert Delivery.objects.get().status == "failed"  # a test is not retried


def test_rotate_prints_a_new_secret_and_both_sign_meanwhile(org, receiver):
    endpoint, old = add_endpoint(org, receiver.hook("/in"))
    new = ghee("webhook", "rotate", str(endpoint.pk)).strip()
    assert new.startswith("whsec_") and new != old
    ghee("webhook", "test", str(endpoint.pk))
    (request,) = receiver.at("/in")
    request.verify(new)
    request.verify(old)  # the grace period


def test_deliveries_resend_and_remove(org, receiver, api, write_token, team_members):
    endpoint, secret = add_endpoint(org, receiver.hook("/in", 400, 200))
    api.post(
        "/v2/content/",
        {"key": "team_members", "status": "published", "fields": [{"name": "Ann"}]},
        format="json",
        HTTP_AUTHORIZATION=f"Token {write_token}",
    )
    run_pending_jobs()
    outbox.relay()
    delivery = Delivery.objects.get()
    # Make this the last attempt, so the 400 fails it for good.
    Delivery.objects.filter(pk=delivery.pk).update(attempts=len(sending_schedule()))
    lease, claimed = sending.claim(10)
    assert sending.deliver(lease, claimed[0]) == "failed"

    failed = ghee("webhook", "deliveries", "--org", "acme", "--failed")
    row = failed.splitlines()[1].split()
    assert row[:4] == [str(delivery.pk), "collectionitem.published", str(endpoint.pk), "failed"]
    assert "HTTP 400" in failed
    out = ghee("webhook", "resend", str(delivery.pk))
    assert "Queued delivery" in out
    copy = Delivery.objects.exclude(pk=delivery.pk).get()
    assert copy.message_id == delivery.message_id and copy.body == delivery.body
    lease, claimed = sending.claim(10)
    assert sending.deliver(lease, claimed[0]) == "succeeded"
    first, again = receiver.at("/in")
    assert first.headers["webhook-id"] == again.headers["webhook-id"]
    again.verify(secret)
    assert "No failed deliveries" not in ghee("webhook", "deliveries", "--org", "acme")

    assert "Removed" in ghee("webhook", "remove", str(endpoint.pk))
    assert not Endpoint.objects.exists() and not Delivery.objects.exists()
    with pytest.raises(CommandError, match="no webhook endpoint"):
        ghee("webhook", "test", str(endpoint.pk))


def sending_schedule():
    from django.conf import settings

    return settings.GHEE_WEBHOOK_RETRY_SCHEDULE


def test_disable_and_enable(org, receiver):
    endpoint, _ = add_endpoint(org, receiver.hook("/in"))
    ghee("webhook", "disable", str(endpoint.pk))
    assert "no (disabled by hand)" in ghee("webhook", "list", "--org", "acme")
    ghee("webhook", "enable", str(endpoint.pk))
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.disabled_reason == ""


def test_add_refuses_names_that_lead_only_to_refused_addresses(org, settings):
    settings.GHEE_EGRESS_ALLOW_NETWORKS = []
    for url in ("http://localhost/hook", "http://api.localhost/hook"):
        with pytest.raises(CommandError, match=r"blocked address: .*localhost is not a public"):
            ghee("webhook", "add", "--org", "acme", url, "--events", "collectionitem.all")
    assert not Endpoint.objects.exists()
    # A name that does not resolve (yet) is accepted: every send checks it again.
    out = "https://hooks.example.com/in"
    ghee("webhook", "add", "--org", "acme", out, "--events", "collectionitem.all")
    assert Endpoint.objects.get().url == out


def test_add_caps_custom_headers(org, receiver):
    url = receiver.hook("/in")
    with pytest.raises(CommandError, match="the value of X-Big is 100000 bytes; at most 4096"):
        ghee("webhook", "add", "--org", "acme", url, "--events", "collectionitem.all",
             "--header", "X-Big: " + "a" * 100_000)  # fmt: skip
    many = [arg for n in range(21) for arg in ("--header", f"X-H{n}: v")]
    with pytest.raises(CommandError, match="21 custom headers; an endpoint may have at most 20"):
        ghee("webhook", "add", "--org", "acme", url, "--events", "collectionitem.all", *many)
    assert not Endpoint.objects.exists()
