"""Jobs after the 202: dispatching (which is also the sweeper), processing, fencing.

The ``Job`` row is the truth; the django-tasks queue only carries work to a process.

- **Dispatch** (``dispatch_jobs``, called by every ``ghee worker`` each loop): in one
  transaction, claim up to ``GHEE_JOB_BATCH_SIZE`` open jobs (pending or running) whose lease is
  empty or lapsed by giving them a fresh random ``lease_token`` and
  ``lease_expires_at = now + GHEE_JOB_LEASE_SECONDS``, and enqueue ONE ``process_jobs``
  task for the batch. A worker that died mid-job leaves its jobs with a lease that lapses,
  so the same step hands them out again: dispatching is sweeping.
- **Process** (``process_batch``): re-read the jobs still carrying our token, defer the ones
  whose item has an earlier unfinished job (per-item order), mark the rest running with
  ``attempts + 1`` in one short commit, then for each chunk: prepare (outside any
  transaction), and in ONE transaction re-check the token (``select_for_update``), apply
  every job's effects and mark it succeeded or failed. A stale worker whose lease was
  taken over finds another token and commits nothing (fencing); a killed worker's half
  done work was never committed. ``Item(job, job_index)`` is unique as a second guard.
- **Retry**: an unexpected error is retried with backoff (the lease is pushed into the
  future with no token) until ``GHEE_JOB_MAX_ATTEMPTS``; ``JobFailed`` (e.g. a reference
  deleted since the 202) fails the job at once with per-item errors. A job whose worker
  keeps dying is failed by the dispatcher once its attempts are used up.
"""

import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import connection, connections, router, transaction
from django.db.models import F, Q
from django.utils import timezone

from ghee.content.choices import JobKind, JobStatus
from ghee.content.models import IdempotencyKey, Job
from ghee.content.schema.cache import schema_cache
from ghee.content.write.pipeline import (
    JobContext,
    JobFailed,
    after_commit,
    apply,
    apply_creates,
    job_error,
    prepare,
)

logger = logging.getLogger("ghee.jobs")

CHUNK_ITEMS = 500  # items applied per transaction (keeps SQLite's write lock short)
OPEN_STATUSES = (JobStatus.PENDING, JobStatus.RUNNING)
DEFER_SECONDS = 1.0
PROCESS_TASK_PATH = "ghee.content.tasks.process_jobs"
JOB_FIELDS_TO_PROCESS = (
    "organization_id",
    "collection_id",
    "collection__key",
    "item_id",
    "kind",
    "payload",
    "attempts",
)


def _lease_until(now):
    return now + timedelta(seconds=settings.GHEE_JOB_LEASE_SECONDS)


def claim_jobs(limit: int | None = None) -> tuple[list[int], str]:
    """Lease up to ``limit`` runnable jobs; return their ids (oldest first) and the token.

    Must run inside a transaction. Jobs that used up their attempts are failed here.
    """
    now = timezone.now()
    token = secrets.token_hex(16)
    limit = limit or settings.GHEE_JOB_BATCH_SIZE
    runnable = (
        Job.objects.filter(status__in=OPEN_STATUSES)
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now))
        .order_by("id")
    )
    if connection.features.has_select_for_update_skip_locked:
        runnable = runnable.select_for_update(skip_locked=True)
    rows = list(runnable.values_list("id", "attempts")[:limit])
    max_attempts = settings.GHEE_JOB_MAX_ATTEMPTS
    exhausted = [pk for pk, attempts in rows if attempts >= max_attempts]
    ids = [pk for pk, attempts in rows if attempts < max_attempts]
    if exhausted:
        message = f"Gave up after {max_attempts} attempts (the worker stopped during each)."
        Job.objects.filter(pk__in=exhausted).update(
            status=JobStatus.FAILED,
            finished_at=now,
            lease_token="",
            lease_expires_at=None,
            errors=[job_error(message)],
        )
    if ids:
        Job.objects.filter(pk__in=ids).update(lease_token=token, lease_expires_at=_lease_until(now))
    return ids, token


def dispatch_jobs(limit: int | None = None) -> int:
    """Claim a batch and enqueue one ``process_jobs`` task for it, atomically."""
    from ghee.content.tasks import process_jobs

    with transaction.atomic():
        ids, token = claim_jobs(limit)
        if ids:
            process_jobs.enqueue(ids, token)
    return len(ids)


def run_pending_jobs(max_rounds: int = 1000) -> int:
    """Process every runnable job now, in this process (tests, admin). Returns jobs finished."""
    finished = 0
    for _ in range(max_rounds):
        with transaction.atomic():
            ids, token = claim_jobs()
        if not ids:
            break
        done = process_batch(ids, token)["finished"]
        finished += done
        if done == 0:
            break
    return finished


def process_batch(job_ids: list[int], lease_token: str) -> dict:
    """Run the jobs of one dispatch. Safe to call twice and after a takeover."""
    jobs = list(
        Job.objects.filter(pk__in=job_ids, lease_token=lease_token, status__in=OPEN_STATUSES)
        .select_related("collection")
        .only(*JOB_FIELDS_TO_PROCESS)
        .order_by("id")
    )
    summary = {"finished": 0, "deferred": 0, "retrying": 0, "skipped": len(job_ids) - len(jobs)}
    if not jobs:
        return summary
    runnable, deferred = _split_by_item_order(jobs)
    now = timezone.now()
    if deferred:
        _release([job.pk for job in deferred], lease_token, now, DEFER_SECONDS)
        summary["deferred"] = len(deferred)
    if not runnable:
        return summary
    started = Job.objects.filter(
        pk__in=[job.pk for job in runnable], lease_token=lease_token
    ).update(
        status=JobStatus.RUNNING,
        attempts=F("attempts") + 1,
        started_at=now,
        lease_expires_at=_lease_until(now),
    )
    if started != len(runnable):  # someone took over part of the batch: re-read
        runnable = [
            job
            for job in runnable
            if Job.objects.filter(pk=job.pk, lease_token=lease_token).exists()
        ]
    for job in runnable:
        job.attempts += 1
    blocked_items: set[int] = set()
    chunks = list(_chunks(runnable))
    for number, chunk in enumerate(chunks):
        if number:  # a heartbeat: the rest of the batch keeps its lease while we work
            renew_leases([job.pk for rest in chunks[number:] for job in rest], lease_token)
        outcome = _process_chunk(chunk, lease_token, blocked_items)
        for key in ("finished", "deferred", "retrying"):
            summary[key] += outcome[key]
    return summary


def _split_by_item_order(jobs: list[Job]) -> tuple[list[Job], list[Job]]:
    """Jobs on an item wait while an earlier job on that item, outside this batch, is open."""
    item_ids = {job.item_id for job in jobs if job.item_id}
    if not item_ids:
        return jobs, []
    batch_ids = {job.pk for job in jobs}
    earliest_foreign: dict[int, int] = {}
    for pk, item_id in Job.objects.filter(
        item_id__in=item_ids, status__in=OPEN_STATUSES
    ).values_list("id", "item_id"):
        if pk not in batch_ids:
            earliest_foreign[item_id] = min(pk, earliest_foreign.get(item_id, pk))
    runnable, deferred = [], []
    for job in jobs:
        blocker = earliest_foreign.get(job.item_id) if job.item_id else None
        (deferred if blocker is not None and blocker < job.pk else runnable).append(job)
    return runnable, deferred


def _chunks(jobs: list[Job]):
    chunk, size = [], 0
    for job in jobs:
        chunk.append(job)
        size += max(1, len(job.payload.get("fields") or []) if job.kind == "create" else 1)
        if size >= CHUNK_ITEMS:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def _release(ids: list[int], lease_token: str, now, delay: float) -> None:
    """Give jobs back (status pending) to be dispatched again after ``delay`` seconds."""
    Job.objects.filter(pk__in=ids, lease_token=lease_token).update(
        status=JobStatus.PENDING,
        lease_token="",
        lease_expires_at=now + timedelta(seconds=delay),
    )


def _retry_delay(attempts: int) -> float:
    return min(2.0**attempts, 300.0)


def _process_chunk(jobs: list[Job], lease_token: str, blocked_items: set[int]) -> dict:
    outcome = {"finished": 0, "deferred": 0, "retrying": 0}
    now = timezone.now()
    contexts: list[JobContext] = []
    failures: dict[int, list[dict]] = {}
    for job in jobs:
        schema = schema_cache.get(job.organization_id, job.collection.key)
        if schema is None or schema.collection_id != job.collection_id:
            failures[job.pk] = [job_error("The collection no longer exists.")]
            continue
        ctx = JobContext(job=job, schema=schema, now=now)
        try:
            prepare(ctx)
        except JobFailed as exc:
            failures[job.pk] = exc.errors
            continue
        contexts.append(ctx)

    succeeded: list[JobContext] = []
    with transaction.atomic():
        still_ours = Job.objects.filter(
            pk__in=[job.pk for job in jobs], lease_token=lease_token, status=JobStatus.RUNNING
        )
        if connection.features.has_select_for_update:
            still_ours = still_ours.select_for_update()
        live = set(still_ours.values_list("id", flat=True))
        for pk, errors in failures.items():
            if pk in live:
                _finish(pk, JobStatus.FAILED, now, errors=errors)
                outcome["finished"] += 1
        contexts = [ctx for ctx in contexts if ctx.job.pk in live]  # others: fenced
        batched = _apply_creates_together(contexts, now)
        outcome["finished"] += len(batched)
        succeeded += [ctx for ctx in contexts if batched.get(ctx.job.pk)]
        for ctx in contexts:
            job = ctx.job
            if job.pk in batched:
                continue
            if job.item_id and job.item_id in blocked_items:
                _release([job.pk], lease_token, now, DEFER_SECONDS)
                outcome["deferred"] += 1
                continue
            try:
                with transaction.atomic():
                    apply(ctx)
                    _finish(job.pk, JobStatus.SUCCEEDED, now, result={"item_ids": ctx.item_ids})
                succeeded.append(ctx)
                outcome["finished"] += 1
            except JobFailed as exc:
                _finish(job.pk, JobStatus.FAILED, now, errors=exc.errors)
                outcome["finished"] += 1
            except Exception as exc:
                logger.exception("Job %s attempt %s failed", job.pk, job.attempts)
                if job.item_id:
                    blocked_items.add(job.item_id)
                message = f"Attempt {job.attempts} failed: {type(exc).__name__}."
                if job.attempts >= settings.GHEE_JOB_MAX_ATTEMPTS:
                    _finish(job.pk, JobStatus.FAILED, now, errors=[job_error(message)])
                    outcome["finished"] += 1
                else:
                    Job.objects.filter(pk=job.pk).update(
                        status=JobStatus.PENDING,
                        lease_token="",
                        lease_expires_at=now + timedelta(seconds=_retry_delay(job.attempts)),
                        errors=[job_error(message)],
                    )
                    outcome["retrying"] += 1
    for ctx in succeeded:
        try:
            after_commit(ctx)
        except Exception:
            logger.exception("after-commit stage of job %s failed", ctx.job.pk)
    return outcome


def _apply_creates_together(contexts: list[JobContext], now) -> dict[int, bool]:
    """The fast path: all create jobs of a chunk in one savepoint, one insert per table.

    Returns ``{job id: succeeded}`` for the jobs it finished (a job whose references
    vanished fails). On any unexpected error it rolls back and returns nothing, so each
    job then runs alone.
    """
    creates = [ctx for ctx in contexts if ctx.job.kind == JobKind.CREATE]
    if len(creates) < 2:
        return {}
    try:
        with transaction.atomic():
            failed = apply_creates(creates)
            failed_ids = {ctx.job.pk for ctx, _ in failed}
            _finish_succeeded([ctx for ctx in creates if ctx.job.pk not in failed_ids], now)
            for ctx, errors in failed:
                _finish(ctx.job.pk, JobStatus.FAILED, now, errors=errors)
    except Exception:
        logger.warning("Batched create failed; applying the jobs one by one", exc_info=True)
        for ctx in creates:
            ctx.item_ids, ctx.events = [], []
        return {}
    return {ctx.job.pk: ctx.job.pk not in failed_ids for ctx in creates}


def _finish_succeeded(contexts: list[JobContext], now) -> None:
    """Mark jobs succeeded with their own results, in one ``executemany``."""
    if not contexts:
        return
    connection = connections[router.db_for_write(Job)]
    quote = connection.ops.quote_name
    result_field = Job._meta.get_field("result")
    errors_field = Job._meta.get_field("errors")
    finished_at = Job._meta.get_field("finished_at").get_db_prep_save(now, connection)
    no_errors = errors_field.get_db_prep_save([], connection)
    rows = [
        (
            JobStatus.SUCCEEDED.value,
            finished_at,
            result_field.get_db_prep_save({"item_ids": ctx.item_ids}, connection),
            no_errors,
            ctx.job.pk,
        )
        for ctx in contexts
    ]
    sql = (
        f"UPDATE {quote(Job._meta.db_table)} SET {quote('status')} = %s, "  # noqa: S608
        f"{quote('finished_at')} = %s, {quote('lease_token')} = '', "
        f"{quote('lease_expires_at')} = NULL, {quote('result')} = %s, "
        f"{quote('errors')} = %s WHERE {quote('id')} = %s"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _finish(pk: int, status: str, now, *, result=None, errors=None) -> None:
    Job.objects.filter(pk=pk).update(
        status=status,
        finished_at=now,
        lease_token="",
        lease_expires_at=None,
        result=result if result is not None else {},
        errors=errors or [],
    )


def renew_leases(job_ids: list[int], lease_token: str) -> int:
    return Job.objects.filter(
        pk__in=job_ids, lease_token=lease_token, status__in=OPEN_STATUSES
    ).update(lease_expires_at=_lease_until(timezone.now()))


def sweep() -> dict:
    """Housekeeping the dispatcher does now and then: stale task rows, expired keys."""
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    now = timezone.now()
    lease = timedelta(seconds=settings.GHEE_JOB_LEASE_SECONDS)
    ours = DBTaskResult.objects.filter(task_path=PROCESS_TASK_PATH)
    # A task row left RUNNING by a killed worker: its jobs were re-dispatched long ago.
    stale = ours.filter(status=TaskResultStatus.RUNNING, started_at__lt=now - 2 * lease).update(
        status=TaskResultStatus.FAILED,
        finished_at=now,
        exception_class_path="ghee.content.write.jobs.WorkerLost",
        traceback="The worker stopped while running this task; its jobs were re-dispatched.",
    )
    pruned, _ = ours.filter(
        status__in=[TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED],
        finished_at__lt=now - timedelta(hours=1),
    ).delete()
    expired, _ = IdempotencyKey.objects.filter(expires_at__lt=now).delete()
    return {"stale_tasks": stale, "pruned_tasks": pruned, "expired_keys": expired}
