"""One attempt, in this process, against a real receiver: what counts as success, what is
retried, redirects not followed, and Retry-After read in both its forms."""

from datetime import timedelta
from email.utils import format_datetime

import pytest
from django.utils import timezone

from ghee.core.retry_after import retry_after_seconds
from ghee.webhooks import delivery_leases, sending, services
from ghee.webhooks.models import Delivery
from tests.webhooks.conftest import add_endpoint

pytestmark = pytest.mark.usefixtures("allow_receiver")


def send_once(endpoint) -> tuple[str, Delivery]:
    delivery = services.send_test_event(endpoint)
    Delivery.objects.filter(pk=delivery.pk).update(event="collectionitem.published")  # retried
    lease, claimed = sending.claim(1)
    result = sending.deliver(lease, claimed[0])
    return result, Delivery.objects.get(pk=delivery.pk)


def test_a_redirect_is_a_failure_and_is_not_followed(org, receiver):
    receiver.hook("/elsewhere")
    moved = receiver.hook("/moved", (302, {"Location": receiver.server.url("/elsewhere")}, b""))
    endpoint, _ = add_endpoint(org, moved)
    result, delivery = send_once(endpoint)
    assert result == "retrying"
    assert (delivery.last_status_code, delivery.last_error) == (302, "HTTP 302")
    assert receiver.at("/elsewhere") == []


def test_only_the_excerpt_of_a_large_answer_is_kept(org, receiver):
    endpoint, _ = add_endpoint(org, receiver.hook("/big", (200, {}, b"x" * 100_000)))
    result, delivery = send_once(endpoint)
    assert result == "succeeded"
    assert delivery.attempt_log.get().response_excerpt == "x" * sending.EXCERPT_BYTES


def test_custom_headers_cannot_replace_ghees_own(org):
    with pytest.raises(services.ValidationError, match="webhook-signature is set by ghee"):
        add_endpoint(org, "https://a.example/", headers={"webhook-signature": "v1,forged"})


def test_retry_after_in_seconds_or_as_a_date():
    cap = sending.MAX_RETRY_AFTER
    assert retry_after_seconds("120", cap) == 120
    in_a_minute = format_datetime(timezone.now() + timedelta(seconds=60), usegmt=True)
    assert 55 <= retry_after_seconds(in_a_minute, cap) <= 61
    assert retry_after_seconds("999999999", cap) == cap
    assert retry_after_seconds("soon", cap) == 0
    assert retry_after_seconds(None, cap) == 0


def test_the_schedule_with_jitter(settings):
    settings.GHEE_WEBHOOK_RETRY_SCHEDULE = [5.0, 300.0]
    settings.GHEE_WEBHOOK_RETRY_JITTER = 0.1
    delays = [delivery_leases.retry_delay(1) for _ in range(200)]
    assert all(4.5 <= d <= 5.5 for d in delays) and len(set(delays)) > 100
    assert 270 <= delivery_leases.retry_delay(2) <= 330
    assert delivery_leases.DELIVERY_LEASES.max_attempts == 3
