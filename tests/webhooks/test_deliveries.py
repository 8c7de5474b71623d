"""Item events become deliveries exactly once, in the relay's transaction; old ones are pruned."""

from datetime import timedelta

from django.utils import timezone

from ghee.content.models import Item
from ghee.content.write.jobs import process_due_jobs, run_pending_jobs
from ghee.core import chores, outbox
from ghee.webhooks import services
from ghee.webhooks.models import Attempt, Delivery
from tests.conftest import make_collection
from tests.webhooks.conftest import add_endpoint


def create(api, token, names, status="published", key="team_members"):
    body = {"key": key, "status": status, "fields": [{"name": n} for n in names]}
    response = api.post("/v2/content/", body, format="json", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 202


def test_one_delivery_per_matching_active_endpoint(api, org, write_token, team_members):
    everything, _ = add_endpoint(org, "https://a.example/hook")
    drafts, _ = add_endpoint(org, "https://b.example/hook", events="collectionitem.draft")
    off, _ = add_endpoint(org, "https://c.example/hook")
    services.update_endpoint(off, is_active=False)
    create(api, write_token, ["Ann", "Bob"])
    assert process_due_jobs()["finished"] == 1
    assert not Delivery.objects.exists()  # written by the relay, not the job
    outbox.relay()
    deliveries = Delivery.objects.order_by("id")
    assert [(d.endpoint_id, d.event) for d in deliveries] == [
        (everything.pk, "collectionitem.published"),
        (everything.pk, "collectionitem.published"),
    ]
    assert deliveries[0].message_id != deliveries[1].message_id
    assert deliveries[0].organization_id == org.pk
    assert outbox.relay() == {"handled": 0, "retrying": 0, "failed": 0}  # once each
    assert Delivery.objects.count() == 2

    create(api, write_token, ["Cy"], status="draft")
    run_pending_jobs()
    outbox.relay()
    assert Delivery.objects.filter(endpoint=drafts).count() == 1


def test_a_job_that_fails_owes_no_webhook(api, org, write_token, team_members):
    add_endpoint(org, "https://a.example/hook")
    make_collection(
        org, "refs", [{"key": "to", "type": "reference", "reference_to": "team_members"}]
    )
    create(api, write_token, ["target"])
    run_pending_jobs()
    target = Item.objects.get()
    api.post(
        "/v2/content/",
        {"key": "refs", "fields": [{"to": target.pk}]},
        format="json",
        HTTP_AUTHORIZATION=f"Token {write_token}",
    )
    target.deleted_at = timezone.now()
    target.save()
    run_pending_jobs()  # the reference vanished: the job fails, nothing is written
    outbox.relay()
    assert list(Delivery.objects.values_list("event", flat=True)) == ["collectionitem.published"]


def test_other_organizations_endpoints_get_nothing(
    api, org, org_locales, write_token, team_members
):
    add_endpoint(org_locales, "https://other.example/hook")
    create(api, write_token, ["Ann"])
    run_pending_jobs()
    outbox.relay()
    assert not Delivery.objects.exists()


def test_finished_deliveries_are_pruned_after_the_retention(org, settings):
    endpoint, _ = add_endpoint(org, "https://a.example/hook")
    old, recent, pending = (services.send_test_event(endpoint) for _ in range(3))
    long_ago = timezone.now() - timedelta(days=settings.GHEE_WEBHOOK_RETENTION_DAYS + 1)
    Delivery.objects.filter(pk=old.pk).update(status="succeeded", finished_at=long_ago)
    Delivery.objects.filter(pk=recent.pk).update(status="failed", finished_at=timezone.now())
    Attempt.objects.create(delivery=old, number=1, attempted_at=long_ago, latency_ms=3)
    assert chores.run_chore("prune_webhook_deliveries") == {"deleted": 1}
    assert set(Delivery.objects.values_list("pk", flat=True)) == {recent.pk, pending.pk}
    assert not Attempt.objects.exists()


def test_only_organizations_with_an_endpoint_wait_for_the_relay(
    api, org, org_locales, write_token, team_members
):
    """Events nobody will deliver are written as handled: the relay has nothing to do."""
    from ghee.core.models import OutboxEvent

    create(api, write_token, ["Ann"])
    run_pending_jobs()
    assert OutboxEvent.objects.get().status == "succeeded"
    add_endpoint(org, "https://a.example/hook")
    create(api, write_token, ["Bob"])
    run_pending_jobs()
    assert OutboxEvent.objects.latest("pk").status == "pending"


def test_a_delivery_whose_worker_died_during_every_attempt_is_given_up(org, settings):
    from ghee.webhooks import sending

    endpoint, _ = add_endpoint(org, "https://a.example/hook")
    delivery = services.send_test_event(endpoint)
    lapsed = timezone.now() - timedelta(seconds=1)
    Delivery.objects.filter(pk=delivery.pk).update(
        status="running",
        attempts=len(settings.GHEE_WEBHOOK_RETRY_SCHEDULE) + 1,
        lease_token="dead",
        lease_expires_at=lapsed,
    )
    _, claimed = sending.claim(10)
    assert claimed == []
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert delivery.last_error == "Gave up after 8 attempts (the worker stopped during each)."
