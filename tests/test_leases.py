"""The lease machinery on its own, over core's OutboxEvent rows (any LeasedRow would do)."""

from datetime import timedelta

import pytest
from django.db.models import Q
from django.utils import timezone

from ghee.core.leases import LeaseQueue, LeaseStatus
from ghee.core.models import OutboxEvent


@pytest.fixture
def queue():
    return LeaseQueue(
        OutboxEvent,
        lease_seconds=30,
        max_attempts=3,
        error_fields=lambda message: {"last_error": message},
    )


@pytest.fixture
def rows(db):
    now = timezone.now()
    return [
        OutboxEvent.objects.create(topic="t", name=f"e{n}", created_at=now).pk for n in range(3)
    ]


def row(pk) -> OutboxEvent:
    return OutboxEvent.objects.get(pk=pk)


def test_a_claim_leases_due_rows_oldest_first_and_only_once(queue, rows):
    first = queue.claim(2)
    assert first.ids == rows[:2]
    assert row(rows[0]).lease_token == first.token
    assert row(rows[0]).lease_expires_at > timezone.now() + timedelta(seconds=25)
    second = queue.claim(10)
    assert second.ids == rows[2:]
    assert not queue.claim(10)


def test_an_attempt_is_charged_when_a_row_starts_not_when_it_is_claimed(queue, rows):
    lease = queue.claim(3)
    assert queue.start(lease, rows[:1]) == {rows[0]}
    assert [row(pk).attempts for pk in rows] == [1, 0, 0]
    assert row(rows[0]).status == "running" and row(rows[0]).started_at
    # The worker dies; the leases lapse; rows that never started are claimed uncharged.
    OutboxEvent.objects.update(lease_expires_at=timezone.now())
    again = queue.claim(3)
    assert again.ids == rows
    assert [row(pk).attempts for pk in rows] == [1, 0, 0]


def test_a_stale_worker_is_fenced_out(queue, rows):
    stale = queue.claim(1)
    queue.start(stale, stale.ids)
    OutboxEvent.objects.filter(pk=rows[0]).update(lease_expires_at=timezone.now())
    fresh = queue.claim(1)
    assert fresh.ids == stale.ids
    assert queue.held(stale, stale.ids) == set()
    assert queue.start(stale, stale.ids) == set()
    assert not queue.finish(stale, rows[0], LeaseStatus.SUCCEEDED)
    assert queue.renew(stale, stale.ids) == 0
    assert row(rows[0]).status == "running" and row(rows[0]).lease_token == fresh.token
    assert queue.start(fresh, fresh.ids) == {rows[0]}
    assert queue.finish(fresh, rows[0], LeaseStatus.SUCCEEDED)
    assert row(rows[0]).status == "succeeded" and row(rows[0]).lease_token == ""


def test_a_finished_row_never_changes_again(queue, rows):
    lease = queue.claim(1)
    queue.start(lease, lease.ids)
    assert queue.finish(lease, rows[0], LeaseStatus.FAILED, last_error="boom")
    done = row(rows[0])
    assert queue.start(lease, lease.ids) == set()
    assert queue.release(lease, lease.ids, 0) == 0
    assert not queue.finish(lease, rows[0], LeaseStatus.SUCCEEDED)
    queue.finish_many(lease, LeaseStatus.SUCCEEDED, [(rows[0], {"last_error": ""})])
    assert row(rows[0]).status == "failed" and row(rows[0]).last_error == "boom"
    assert row(rows[0]).finished_at == done.finished_at
    assert rows[0] not in queue.claim(10).ids


def test_retry_backs_off_on_the_row_then_fails_for_good(queue, rows):
    lease = queue.claim(1)
    queue.start(lease, lease.ids)
    assert queue.retry(lease, rows[0], 1, last_error="try 1")
    retrying = row(rows[0])
    assert retrying.status == "pending" and retrying.lease_token == ""
    assert retrying.next_attempt_at > timezone.now()
    assert rows[0] not in queue.claim(10).ids  # not before its next attempt
    OutboxEvent.objects.filter(pk=rows[0]).update(next_attempt_at=timezone.now())
    lease = queue.claim(1)
    assert lease.ids == rows[:1]
    queue.start(lease, lease.ids)
    assert not queue.retry(lease, rows[0], 3, last_error="try 3")
    assert row(rows[0]).status == "failed" and row(rows[0]).last_error == "try 3"


def test_finish_many_writes_each_rows_values(queue, rows):
    lease = queue.claim(3)
    queue.start(lease, rows)
    queue.finish_many(
        lease, LeaseStatus.SUCCEEDED, [(pk, {"last_error": f"note {pk}"}) for pk in rows[:2]]
    )
    assert [(row(pk).status, row(pk).last_error) for pk in rows] == [
        ("succeeded", f"note {rows[0]}"),
        ("succeeded", f"note {rows[1]}"),
        ("running", ""),
    ]


def test_rows_whose_worker_died_during_every_attempt_are_failed_by_the_claim(queue, rows):
    OutboxEvent.objects.filter(pk=rows[0]).update(
        status="running", attempts=3, lease_token="dead", lease_expires_at=timezone.now()
    )
    assert queue.claim(10).ids == rows[1:]
    gave_up = row(rows[0])
    assert gave_up.status == "failed"
    assert gave_up.last_error == "Gave up after 3 attempts (the worker stopped during each)."


def test_release_stale_puts_lapsed_running_rows_back_to_pending(queue, rows):
    lease = queue.claim(2)
    queue.start(lease, lease.ids)
    OutboxEvent.objects.filter(pk=rows[0]).update(lease_expires_at=timezone.now())
    assert queue.release_stale() == 1
    assert [row(pk).status for pk in rows] == ["pending", "running", "pending"]
    assert row(rows[0]).attempts == 1  # the attempt it was charged stays counted


def test_a_capped_claim_skips_groups_at_their_cap_so_a_backlog_cannot_fill_it(db):
    """Grouped by topic here; the webhook deliveries group by endpoint."""
    capped = LeaseQueue(
        OutboxEvent, lease_seconds=30, max_attempts=3, group_by="topic", per_group=2
    )
    now = timezone.now()
    OutboxEvent.objects.bulk_create(
        OutboxEvent(topic="dead", name=f"d{n}", created_at=now) for n in range(300)
    )
    live = [
        OutboxEvent.objects.create(topic="live", name=f"l{n}", created_at=now).pk for n in range(3)
    ]
    first = capped.claim(10)
    topics = [row(pk).topic for pk in first.ids]
    assert topics.count("dead") == 2 and sorted(pk for pk in first.ids if pk in live) == live[:2]
    capped.start(first, first.ids)
    # Both groups are at their cap while those run: nothing more of either is handed out.
    assert capped.claim(10).ids == []
    capped.finish(first, live[0], LeaseStatus.SUCCEEDED)
    assert capped.claim(10).ids == [live[2]]


def test_withdrawn_rows_fail_in_one_statement_and_never_take_a_slot(queue, rows):
    def withdrawn():
        return Q(name__in=["e0", "e1"]), {"last_error": "receiver switched off"}

    switched = LeaseQueue(OutboxEvent, lease_seconds=30, max_attempts=3, withdrawn=withdrawn)
    other_worker = queue.claim(1)  # holds rows[0]: a bulk move never touches a held row
    assert other_worker.ids == rows[:1]
    assert switched.claim(1).ids == rows[2:]  # rows[1] withdrawn, not handed out
    assert (row(rows[1]).status, row(rows[1]).last_error) == ("failed", "receiver switched off")
    assert row(rows[1]).attempts == 0
    assert row(rows[0]).status == "pending" and row(rows[0]).lease_token == other_worker.token


def test_finish_many_by_a_stale_worker_writes_nothing(queue, rows):
    stale = queue.claim(1)
    queue.start(stale, stale.ids)
    OutboxEvent.objects.filter(pk=rows[0]).update(lease_expires_at=timezone.now())
    fresh = queue.claim(1)
    queue.start(fresh, fresh.ids)
    queue.finish_many(stale, LeaseStatus.SUCCEEDED, [(rows[0], {"last_error": "stale"})])
    assert (row(rows[0]).status, row(rows[0]).last_error) == ("running", "")
    queue.finish_many(fresh, LeaseStatus.SUCCEEDED, [(rows[0], {"last_error": "fresh"})])
    assert (row(rows[0]).status, row(rows[0]).last_error) == ("succeeded", "fresh")
