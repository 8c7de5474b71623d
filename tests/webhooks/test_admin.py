"""The dashboard's webhooks pages: endpoints with the secret shown once, rotation, test
events, the delivery log with its attempts, and re-sends; all through the services."""

import re

import pytest
import standardwebhooks
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ghee.webhooks import sending, services
from ghee.webhooks.models import Attempt, Delivery, Endpoint
from tests.webhooks.conftest import add_endpoint

pytestmark = pytest.mark.usefixtures("allow_receiver")


def shown_secret(page) -> str:
    match = re.search(r'<code id="webhook-secret"[^>]*>(whsec_[^<]+)</code>', page.text)
    assert match, page.text
    return match.group(1)


def header_box(page) -> str:
    match = re.search(r'<textarea name="header_lines"[^>]*>(.*?)</textarea>', page.text, re.S)
    assert match, page.text
    return match.group(1).strip()


def test_creating_an_endpoint_shows_its_secret_once(admin_client, org, receiver):
    url = receiver.hook("/in")
    page = admin_client.post(
        "/admin/webhooks/endpoint/add/",
        {
            "organization": org.pk,
            "url": url,
            "description": "shop",
            "events": ["collectionitem.published", "collectionitem.unpublished"],
            "header_lines": "X-Shop: 42\n",
            "is_active": "on",
        },
    )
    assert page.status_code == 200
    secret = shown_secret(page)
    endpoint = Endpoint.objects.get()
    assert endpoint.events == ["collectionitem.published", "collectionitem.unpublished"]
    assert endpoint.headers == {"X-Shop": "42"}
    assert services.signing_keys(endpoint) == [secret]
    change = admin_client.get(f"/admin/webhooks/endpoint/{endpoint.pk}/change/")
    assert change.status_code == 200
    # The header's value is write-only: its name is shown, its value masked.
    assert secret not in change.text
    assert header_box(change) == "X-Shop: ********"
    assert "Rotate secret" in change.text and "Send test event" in change.text


def test_the_form_refuses_bad_input(admin_client, org):
    page = admin_client.post(
        "/admin/webhooks/endpoint/add/",
        {
            "organization": org.pk,
            "url": "http://169.254.169.254/latest",
            "events": ["collectionitem.all"],
            "header_lines": "Host: evil",
        },
    )
    assert page.status_code == 200
    assert "blocked address" in page.text and "Host is set by ghee" in page.text
    assert not Endpoint.objects.exists()


def test_editing_keeps_the_secret(admin_client, org, receiver):
    endpoint, secret = add_endpoint(org, receiver.hook("/in"))
    page = admin_client.post(
        f"/admin/webhooks/endpoint/{endpoint.pk}/change/",
        {"url": receiver.hook("/new"), "events": ["collectionitem.delete"], "is_active": ""},
    )
    assert page.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.url.endswith("/new") and endpoint.events == ["collectionitem.delete"]
    assert not endpoint.is_active
    assert services.signing_keys(endpoint) == [secret]
    Endpoint.objects.filter(pk=endpoint.pk).update(disabled_reason="the receiver answered 410")
    admin_client.post(
        f"/admin/webhooks/endpoint/{endpoint.pk}/change/",
        {"url": endpoint.url, "events": ["collectionitem.delete"], "is_active": "on"},
    )
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.disabled_reason == ""


def test_rotate_shows_the_new_secret_once_and_the_old_still_signs(admin_client, org, receiver):
    endpoint, old = add_endpoint(org, receiver.hook("/in"))
    change = admin_client.get(f"/admin/webhooks/endpoint/{endpoint.pk}/change/")
    # "Rotate secret" is a link to a page that asks; following it changes nothing.
    rotate_url = f"/admin/webhooks/endpoint/{endpoint.pk}/rotate/"
    assert f'href="{rotate_url}"' in change.text
    asked = admin_client.get(rotate_url)
    assert asked.status_code == 200
    assert "Make a new signing secret" in asked.text and "keeps signing for 24 hours" in asked.text
    assert 'id="confirm-rotate"' in asked.text and "whsec_" not in asked.text
    assert services.signing_keys(Endpoint.objects.get()) == [old]
    page = admin_client.post(rotate_url)
    new = shown_secret(page)
    assert new != old and "also signs until" in page.text
    endpoint.refresh_from_db()
    assert services.signing_keys(endpoint) == [new, old]


def test_test_event_and_the_delivery_log_with_attempts_and_resend(admin_client, org, receiver):
    endpoint, secret = add_endpoint(org, receiver.hook("/in", (500, {}, b"oops"), 200))
    page = admin_client.post(f"/admin/webhooks/endpoint/{endpoint.pk}/test/")
    assert page.status_code == 302 and f"endpoint__id__exact={endpoint.pk}" in page["Location"]
    delivery = Delivery.objects.get()
    assert delivery.event == "collectionitem.test"
    assert '"editor":"admin"' in delivery.body  # the dashboard user's name
    lease, claimed = sending.claim(5)
    assert sending.deliver(lease, claimed[0]) == "failed"  # a test event is not retried

    log = admin_client.get(page["Location"])
    assert log.status_code == 200 and "collectionitem.test" in log.text
    detail = admin_client.get(f"/admin/webhooks/delivery/{delivery.pk}/change/")
    assert "oops" in detail.text and "HTTP 500" in detail.text and "Re-send" in detail.text
    # A log entry: nothing on the page is edited, so there is no save button.
    assert 'name="_save"' not in detail.text and 'name="_continue"' not in detail.text
    assert 'name="_addanother"' not in detail.text

    resent = admin_client.post(f"/admin/webhooks/delivery/{delivery.pk}/resend/")
    assert resent.status_code == 302
    copy = Delivery.objects.exclude(pk=delivery.pk).get()
    lease, claimed = sending.claim(5)
    assert sending.deliver(lease, claimed[0]) == "succeeded"
    first, second = receiver.at("/in")
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == copy.message_id
    standardwebhooks.Webhook(secret).verify(second.body, second.headers)


def test_the_delivery_log_costs_the_same_queries_for_many_rows(admin_client, org):
    endpoint, _ = add_endpoint(org, "https://a.example/hook")
    for _ in range(3):
        services.send_test_event(endpoint)
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get("/admin/webhooks/delivery/").status_code == 200
    for _ in range(30):
        delivery = services.send_test_event(endpoint)
        Attempt.objects.create(
            delivery=delivery, number=1, attempted_at=delivery.created_at, latency_ms=1
        )
    with CaptureQueriesContext(connection) as many:
        assert admin_client.get("/admin/webhooks/delivery/").status_code == 200
    assert len(many) == len(few)
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get("/admin/webhooks/endpoint/").status_code == 200
    for n in range(10):
        add_endpoint(org, f"https://a.example/hook{n}")
    with CaptureQueriesContext(connection) as many:
        assert admin_client.get("/admin/webhooks/endpoint/").status_code == 200
    assert len(many) == len(few)


def test_header_values_are_write_only_masked_kept_replaced_and_removed(admin_client, org, receiver):
    endpoint, _ = add_endpoint(org, receiver.hook("/in"), headers={"X-Shop": "s3cret-42"})
    change_url = f"/admin/webhooks/endpoint/{endpoint.pk}/change/"
    page = admin_client.get(change_url)
    assert header_box(page) == "X-Shop: ********" and "s3cret-42" not in page.text
    form = {"url": endpoint.url, "events": ["collectionitem.all"], "is_active": "on"}

    # Left masked: kept; a new line: added.
    admin_client.post(change_url, {**form, "header_lines": "X-Shop: ********\nX-Env: prod"})
    endpoint.refresh_from_db()
    assert endpoint.headers == {"X-Shop": "s3cret-42", "X-Env": "prod"}
    page = admin_client.get(change_url)
    assert header_box(page) == "X-Shop: ********\nX-Env: ********"
    assert "s3cret-42" not in page.text and "prod" not in header_box(page)

    # A new value replaces; a removed line removes.
    admin_client.post(change_url, {**form, "header_lines": "X-Shop: rotated-43"})
    endpoint.refresh_from_db()
    assert endpoint.headers == {"X-Shop": "rotated-43"}

    # A mask for a header that has no stored value cannot be kept.
    page = admin_client.post(change_url, {**form, "header_lines": "X-Other: ********"})
    assert page.status_code == 200 and "X-Other has no stored value to keep" in page.text
    endpoint.refresh_from_db()
    assert endpoint.headers == {"X-Shop": "rotated-43"}


def test_the_form_caps_header_values_and_refuses_local_names(admin_client, org, settings):
    settings.GHEE_EGRESS_ALLOW_NETWORKS = []
    form = {"organization": org.pk, "events": ["collectionitem.all"], "is_active": "on"}
    page = admin_client.post(
        "/admin/webhooks/endpoint/add/",
        {**form, "url": "https://hooks.example.com/in", "header_lines": "X-Big: " + "a" * 5000},
    )
    assert page.status_code == 200
    assert "the value of X-Big is 5000 bytes; at most 4096 are allowed" in page.text
    many = "\n".join(f"X-H{n}: v" for n in range(21))
    page = admin_client.post(
        "/admin/webhooks/endpoint/add/",
        {**form, "url": "https://hooks.example.com/in", "header_lines": many},
    )
    assert "21 header lines; an endpoint may have at most 20" in page.text
    page = admin_client.post(
        "/admin/webhooks/endpoint/add/", {**form, "url": "http://localhost/in"}
    )
    assert "blocked address: localhost" in page.text
    assert not Endpoint.objects.exists()


def test_unreadable_header_values_can_be_typed_again(admin_client, admin_user, org, settings):
    endpoint, _ = add_endpoint(org, "https://hooks.example.com/in", headers={"X-Key": "old"})
    settings.SECRET_KEY = "another key entirely, long enough for Django"
    admin_client.force_login(admin_user)  # the session was signed with the old key
    change_url = f"/admin/webhooks/endpoint/{endpoint.pk}/change/"
    page = admin_client.get(change_url)
    assert page.status_code == 200 and "The stored values are lost" in page.text
    form = {"url": endpoint.url, "events": ["collectionitem.all"], "is_active": "on"}
    assert admin_client.post(change_url, {**form, "header_lines": "X-Key: new"}).status_code == 302
    assert Endpoint.objects.get().headers == {"X-Key": "new"}


def test_token_and_signing_secret_are_shown_once_by_one_page(admin_client, org, receiver):
    token_page = admin_client.post(
        "/admin/accounts/apitoken/add/", {"organization": org.pk, "kind": "read", "name": "web"}
    )
    endpoint_page = admin_client.post(
        "/admin/webhooks/endpoint/add/",
        {"organization": org.pk, "url": receiver.hook("/in"), "events": ["collectionitem.all"]},
    )
    endpoint = Endpoint.objects.get()
    for page, secret_id, done in (
        (token_page, "token-text", "/admin/accounts/apitoken/"),
        (endpoint_page, "webhook-secret", f"/admin/webhooks/endpoint/{endpoint.pk}/change/"),
    ):
        assert page.status_code == 200
        assert "admin/shown_once.html" in [template.name for template in page.templates]
        assert re.search(rf'<code id="{secret_id}" class="ghee-token-text">\S+</code>', page.text)
        assert "<strong>Copy it now: it is shown only this once.</strong>" in page.text
        assert f'<a class="button" href="{done}">Done</a>' in page.text
