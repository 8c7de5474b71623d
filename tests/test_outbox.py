"""The outbox: item events written in the job's transaction, relayed to topic handlers."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from ghee.content.models import Item, Job
from ghee.content.write.jobs import process_due_jobs, run_pending_jobs
from ghee.core import outbox
from ghee.core.models import OutboxEvent
from tests.conftest import make_collection


def auth(token):
    return {"HTTP_AUTHORIZATION": f"Token {token}"}


def create(api, token, fields, status="published", key="team_members"):
    body = {"key": key, "status": status, "fields": fields}
    response = api.post("/v2/content/", body, format="json", **auth(token))
    assert response.status_code == 202, response.json()


@pytest.fixture
def handled():
    """A handler registered for item events; yields the events it was given."""
    seen: list[OutboxEvent] = []

    def handler(event):
        seen.append(event)

    outbox.register_handler("collectionitem", handler)
    yield seen
    outbox.unregister_handler("collectionitem", handler)


def test_each_item_change_is_an_event_with_what_a_webhook_needs(api, write_token, team_members):
    create(api, write_token, [{"name": "Ann"}, {"name": "Bob"}])
    create(api, write_token, [{"name": "Cy"}], status="draft")
    run_pending_jobs()
    ann, bob, cy = Item.objects.order_by("id")
    events = list(OutboxEvent.objects.order_by("id"))
    assert [(e.name, e.data["item_id"], e.data["label"]) for e in events] == [
        ("collectionitem.published", ann.pk, "Ann"),
        ("collectionitem.published", bob.pk, "Bob"),
        ("collectionitem.draft", cy.pk, "Cy"),
    ]
    first = events[0]
    assert first.topic == "collectionitem"
    assert first.organization_id == team_members.organization_id
    assert first.data | {"timestamp": None, "job_id": None} == {
        "collection": "team_members",
        "item_id": ann.pk,
        "locale": None,
        "default_locale": True,
        "status": "published",
        "label": "Ann",
        "editor": "test writer",
        "job_id": None,
        "timestamp": None,
    }
    # Nobody listens to this organization's item events (no webhook endpoint): they are
    # recorded as handled.
    assert {e.status for e in events} == {"succeeded"}

    url = f"/v2/content/team_members/{ann.pk}/"
    api.patch(url, {"fields": {"position": "lead"}}, format="json", **auth(write_token))
    api.delete(url, **auth(write_token))
    run_pending_jobs()
    later = OutboxEvent.objects.order_by("id")[3:]
    assert [(e.name, e.data["status"], e.data["label"]) for e in later] == [
        ("collectionitem.published", "published", "Ann"),
        ("collectionitem.delete", "deleted", "Ann"),
    ]


def test_one_event_per_locale_changed(api, org_locales):
    from ghee.accounts.services import create_token

    token = create_token(org_locales, "write")[1]
    make_collection(org_locales, "pages", [{"key": "title", "type": "short_text"}], label="title")
    fields = [{"en": {"title": "Hello"}, "es": {"title": "Hola"}}]
    create(api, token, fields, key="pages")
    run_pending_jobs()
    events = OutboxEvent.objects.order_by("id")
    assert [(e.data["locale"], e.data["default_locale"], e.data["label"]) for e in events] == [
        ("en", True, "Hello"),
        ("es", False, "Hola"),
    ]


def test_a_job_that_fails_records_no_event(api, write_token, team_members, org):
    make_collection(
        org, "refs", [{"key": "to", "type": "reference", "reference_to": "team_members"}]
    )
    create(api, write_token, [{"name": "target"}])
    run_pending_jobs()
    target = Item.objects.get()
    create(api, write_token, [{"to": target.pk}], key="refs")
    target.deleted_at = timezone.now()
    target.save()
    run_pending_jobs()
    assert Job.objects.filter(status="failed").count() == 1
    assert OutboxEvent.objects.count() == 1  # the target's own creation only


def test_events_committed_with_the_change_wait_for_the_relay(
    api, write_token, team_members, handled
):
    """A worker that dies right after the job's commit loses nothing: the events are rows."""
    create(api, write_token, [{"name": "Ann"}, {"name": "Bob"}])
    assert process_due_jobs()["finished"] == 1  # committed; the worker "dies" here
    assert Item.objects.count() == 2
    assert list(OutboxEvent.objects.values_list("status", flat=True)) == ["pending"] * 2
    assert handled == []

    assert outbox.relay() == {"handled": 2, "retrying": 0, "failed": 0}
    assert [event.data["label"] for event in handled] == ["Ann", "Bob"]
    assert set(OutboxEvent.objects.values_list("status", flat=True)) == {"succeeded"}
    assert outbox.relay() == {"handled": 0, "retrying": 0, "failed": 0}  # once each


@override_settings(GHEE_OUTBOX_MAX_ATTEMPTS=3)
def test_a_failing_handler_is_retried_with_backoff_then_gives_up(api, write_token, team_members):
    calls = []

    def flaky(event):
        calls.append(event.attempts)
        raise ConnectionError("receiver down")

    outbox.register_handler("collectionitem", flaky)
    try:
        create(api, write_token, [{"name": "Ann"}])
        run_pending_jobs()
        assert outbox.relay() == {"handled": 0, "retrying": 1, "failed": 0}
        event = OutboxEvent.objects.get()
        assert event.status == "pending" and event.attempts == 1
        assert event.last_error == "ConnectionError: receiver down"
        assert event.next_attempt_at > timezone.now()  # backing off
        assert outbox.relay()["retrying"] == 0  # not due yet

        due = timezone.now() - timedelta(seconds=1)
        OutboxEvent.objects.update(next_attempt_at=due)
        assert outbox.relay() == {"handled": 0, "retrying": 1, "failed": 0}
        OutboxEvent.objects.update(next_attempt_at=due)
        assert outbox.relay() == {"handled": 0, "retrying": 0, "failed": 1}
        event.refresh_from_db()
        assert calls == [1, 2, 3]
        assert event.status == "failed" and event.attempts == 3
        assert event.last_error == "ConnectionError: receiver down"
    finally:
        outbox.unregister_handler("collectionitem", flaky)


def test_a_handler_that_recovers_handles_the_event_once(api, write_token, team_members):
    seen = []

    def recovers(event):
        if not seen:
            seen.append("failed")
            raise TimeoutError
        seen.append(event.data["label"])

    outbox.register_handler("collectionitem", recovers)
    try:
        create(api, write_token, [{"name": "Ann"}])
        run_pending_jobs()
        outbox.relay()
        OutboxEvent.objects.update(next_attempt_at=None)
        assert outbox.relay()["handled"] == 1
    finally:
        outbox.unregister_handler("collectionitem", recovers)
    assert seen == ["failed", "Ann"]
    event = OutboxEvent.objects.get()
    assert event.status == "succeeded" and event.attempts == 2 and event.last_error == ""
