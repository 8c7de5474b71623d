"""Retry a failed job: the dashboard's "Retry" (check, then execute, as Wagtail's actions).

A failed job is put back to ``pending`` through the lease machinery
(``LeaseQueue.reopen``): same row, same id, same payload, so ``/v2/jobs/{id}/`` and an
``Idempotency-Key`` that answered with it still lead to it, and a worker claims it like a
new job. Its attempt budget starts again; its last errors stay on the row until the retry's
outcome replaces them, and the caller records who retried and what had failed (the
dashboard writes it to the job's history).

A change to an item (PUT, PATCH, DELETE) is not retried once a later job on the same item
succeeded or is waiting: applying the old change after the newer one would silently undo
it. Jobs on one item apply in id order (``write/jobs.py``), so a retried job also holds
back later jobs on its item until it is done.
"""

from dataclasses import dataclass, field

from django.db import transaction

from ghee.content.choices import JobKind, JobStatus
from ghee.content.models import Job
from ghee.content.write.jobs import JOB_LEASES


@dataclass
class RetryOutcome:
    retried: list[Job] = field(default_factory=list)
    # job id -> why it was not retried
    refused: dict[int, str] = field(default_factory=dict)


def why_not_retry(job: Job) -> str | None:
    """None when ``job`` may be retried, else the reason in an editor's words."""
    if job.status != JobStatus.FAILED:
        return f"it is {job.status}: only a failed job can be retried"
    if job.kind != JobKind.CREATE and job.item_id is not None:
        later = (
            Job.objects.filter(item_id=job.item_id, pk__gt=job.pk)
            .exclude(status=JobStatus.FAILED)
            .order_by("pk")
            .values_list("pk", flat=True)
            .first()
        )
        if later is not None:
            return f"job {later} changed item #{job.item_id} since; retrying would undo that change"
    return None


@transaction.atomic
def retry_jobs(jobs) -> RetryOutcome:
    """Put each failed job of ``jobs`` (a queryset) back to pending; say why for the others.

    The rows are locked while checked (PostgreSQL; SQLite's write lock does the same), so
    a worker or another retry cannot change them in between.
    """
    outcome = RetryOutcome()
    ids = list(jobs.values_list("pk", flat=True))
    locked = list(
        Job.objects.filter(pk__in=ids).select_for_update().defer("payload").order_by("pk")
    )
    for job in locked:
        reason = why_not_retry(job)
        if reason is not None:
            outcome.refused[job.pk] = reason
            continue
        if JOB_LEASES.reopen([job.pk]):
            outcome.retried.append(job)
        else:
            outcome.refused[job.pk] = "it changed meanwhile"
    return outcome
