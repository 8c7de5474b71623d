"""The content app's housekeeping chores (run by ``ghee worker``, see ``ghee.core.chores``).

- ``prune_finished_jobs``: jobs finished more than ``GHEE_JOB_RETENTION_DAYS`` ago are
  deleted, except those an unexpired Idempotency-Key still answers with (a replay must
  find its job). The items they created keep existing: their ``job``/``job_index`` (the
  guard against creating an item twice, useless once the job is finished) are cleared
  first, in the same transaction.
- ``expire_idempotency_keys``: keys past ``GHEE_IDEMPOTENCY_TTL_SECONDS``.
- ``release_stale_job_leases``: jobs left ``running`` by a dead worker go back to
  ``pending`` once their lease lapsed (a claim would take them anyway; their status says
  so meanwhile). Made from the job queue (``chores.release_stale_leases``), like the
  outbox's and the deliveries'.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ghee.content.models import IdempotencyKey, Item, Job
from ghee.content.write.jobs import JOB_LEASES
from ghee.core.chores import Chore, register, release_stale_leases
from ghee.core.leases import TERMINAL_STATUSES

HOUR = 3600.0
PRUNE_CHUNK = 500  # jobs deleted per transaction (keeps SQLite's write lock short)


def prune_finished_jobs() -> dict[str, int]:
    now = timezone.now()
    cutoff = now - timedelta(days=settings.GHEE_JOB_RETENTION_DAYS)
    replayable = IdempotencyKey.objects.filter(expires_at__gt=now, job__isnull=False)
    old = (
        Job.objects.filter(status__in=TERMINAL_STATUSES, finished_at__lt=cutoff)
        .exclude(pk__in=replayable.values("job_id"))
        .order_by("pk")
    )
    deleted = 0
    while ids := list(old.values_list("pk", flat=True)[:PRUNE_CHUNK]):
        with transaction.atomic():
            Item.objects.filter(job_id__in=ids).update(job=None, job_index=None)
            IdempotencyKey.objects.filter(job_id__in=ids).delete()  # all expired
            deleted += Job.objects.filter(pk__in=ids).delete()[1].get(Job._meta.label, 0)
    return {"deleted": deleted}


def expire_idempotency_keys() -> dict[str, int]:
    deleted, _ = IdempotencyKey.objects.filter(expires_at__lt=timezone.now()).delete()
    return {"deleted": deleted}


def register_chores() -> None:
    register(Chore("prune_finished_jobs", prune_finished_jobs, every=HOUR))
    register(Chore("expire_idempotency_keys", expire_idempotency_keys, every=HOUR))
    register(release_stale_leases(JOB_LEASES))
