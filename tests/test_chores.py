"""Housekeeping chores: what each deletes or keeps, and one worker at a time per chore."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from ghee.content.models import IdempotencyKey, Item, Job
from ghee.content.write.jobs import run_pending_jobs
from ghee.core import chores
from ghee.core.models import ChoreRun, OutboxEvent


def auth(token):
    return {"HTTP_AUTHORIZATION": f"Token {token}"}


def create(api, token, name, **headers):
    body = {"key": "team_members", "fields": [{"name": name}]}
    response = api.post("/v2/content/", body, format="json", **auth(token), **headers)
    assert response.status_code == 202
    return int(response["Location"].split("/")[-2])


def age(job_id, days):
    Job.objects.filter(pk=job_id).update(finished_at=timezone.now() - timedelta(days=days))


@override_settings(GHEE_JOB_RETENTION_DAYS=30)
def test_prune_finished_jobs_keeps_items_recent_jobs_and_replayable_keys(
    api, write_token, team_members
):
    old = create(api, write_token, "old")
    recent = create(api, write_token, "recent")
    replayable = create(api, write_token, "keyed", HTTP_IDEMPOTENCY_KEY="k1")
    run_pending_jobs()
    unfinished = create(api, write_token, "pending")
    for job_id in (old, replayable):
        age(job_id, 31)
    age(recent, 29)

    assert chores.run_chore("prune_finished_jobs") == {"deleted": 1}
    assert set(Job.objects.values_list("pk", flat=True)) == {recent, replayable, unfinished}
    # The item the pruned job created stays, no longer tied to it.
    item = Item.objects.get(locales__data__name="old")
    assert item.job_id is None and item.job_index is None
    assert Item.objects.count() == 3

    # Once its key expired, the keyed job goes too, with the key.
    IdempotencyKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert chores.run_chore("prune_finished_jobs") == {"deleted": 1}
    assert not IdempotencyKey.objects.exists()
    assert set(Job.objects.values_list("pk", flat=True)) == {recent, unfinished}
    response = api.get(f"/v2/jobs/{old}/", **auth(write_token))
    assert response.status_code == 404


def test_expire_idempotency_keys(api, write_token, team_members):
    create(api, write_token, "a", HTTP_IDEMPOTENCY_KEY="live")
    create(api, write_token, "b", HTTP_IDEMPOTENCY_KEY="dead")
    IdempotencyKey.objects.filter(key="dead").update(expires_at=timezone.now())
    assert chores.run_chore("expire_idempotency_keys") == {"deleted": 1}
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["live"]


@override_settings(GHEE_OUTBOX_RETENTION_DAYS=7)
def test_prune_outbox_events(db):
    now = timezone.now()
    old = OutboxEvent.objects.create(
        topic="t", name="old", created_at=now, status="succeeded", finished_at=now - timedelta(8)
    )
    OutboxEvent.objects.create(
        topic="t", name="new", created_at=now, status="succeeded", finished_at=now
    )
    OutboxEvent.objects.create(topic="t", name="open", created_at=now - timedelta(30))
    assert chores.run_chore("prune_outbox_events") == {"deleted": 1}
    assert not OutboxEvent.objects.filter(pk=old.pk).exists()
    assert OutboxEvent.objects.count() == 2


def test_release_stale_job_leases(api, write_token, team_members):
    job_id = create(api, write_token, "a")
    Job.objects.update(
        status="running", attempts=1, lease_token="dead", lease_expires_at=timezone.now()
    )
    assert chores.run_chore("release_stale_job_leases") == {"released": 1}
    job = Job.objects.get(pk=job_id)
    assert job.status == "pending" and job.lease_token == "" and job.attempts == 1


def test_due_chores_run_once_per_interval_and_record_what_they_did(db):
    first = chores.run_due_chores()
    assert set(first) >= {
        "prune_finished_jobs",
        "expire_idempotency_keys",
        "release_stale_job_leases",
        "prune_outbox_events",
        "release_stale_outbox_leases",
    }
    assert chores.run_due_chores() == {}  # none due again yet
    run = ChoreRun.objects.get(name="prune_finished_jobs")
    assert run.last_result == {"deleted": 0} and run.lease_token == ""
    assert run.next_run_at >= run.last_run_at + timedelta(hours=1)


def test_a_chore_held_by_another_worker_is_skipped(db):
    ChoreRun.objects.create(
        name="expire_idempotency_keys",
        lease_token="other-worker",
        lease_expires_at=timezone.now() + timedelta(minutes=5),
    )
    assert "expire_idempotency_keys" not in chores.run_due_chores()
    with pytest.raises(RuntimeError, match="another worker"):
        chores.run_chore("expire_idempotency_keys")
    # A lapsed hold (the worker died mid-chore) is taken over.
    ChoreRun.objects.filter(name="expire_idempotency_keys").update(lease_expires_at=timezone.now())
    assert "expire_idempotency_keys" in chores.run_due_chores()


def test_a_failing_chore_is_logged_and_recorded(db, caplog):
    def broken():
        raise ValueError("disk on fire")

    chores.register(chores.Chore("broken_for_test", broken, every=60))
    try:
        assert chores.run_due_chores()["broken_for_test"] == {"error": "ValueError: disk on fire"}
    finally:
        chores.unregister("broken_for_test")
    assert "Chore broken_for_test failed" in caplog.text
    run = ChoreRun.objects.get(name="broken_for_test")
    assert run.last_result == {"error": "ValueError: disk on fire"} and run.lease_token == ""
