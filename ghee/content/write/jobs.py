"""Jobs after the 202: claim, process, fence, retry, on the lease machinery.

The ``Job`` row is the truth and the only queue: ``ghee worker`` claims job rows directly
(``ghee.core.leases``), there is no task row in between.

- **Claim** (``claim_jobs``): lease up to ``GHEE_JOB_BATCH_SIZE`` due jobs (pending or
  running, lease empty or lapsed, next attempt due) with a fresh random token for
  ``GHEE_JOB_LEASE_SECONDS``. A worker that died mid-job leaves jobs whose lease lapses:
  the next claim, by any worker, takes them again. Jobs whose attempts are used up (their
  worker died during each) are failed there.
- **Process** (``process_batch``): re-read the jobs still carrying our token, defer the
  ones whose item has an earlier unfinished job (per-item order), then per chunk of
  ≤ ``CHUNK_ITEMS`` items (a job tried before runs alone): *start* the chunk's jobs
  (``running``, ``attempts + 1``: an attempt is charged only to a job about to run, so a
  job that keeps killing its worker uses up its own attempts, not those of the jobs
  leased with it), prepare them (outside any
  transaction), and in ONE transaction re-check the token (``select_for_update``), apply
  every job's effects and outbox events and finish it. A stale worker whose lease was
  taken over finds another token and commits nothing (fencing); a killed worker's half
  done work was never committed. ``Item(job, job_index)`` is unique as a second guard.
- **Retry**: an unexpected error is retried with backoff (``next_attempt_at``) until
  ``GHEE_JOB_MAX_ATTEMPTS``; ``JobFailed`` (e.g. a reference deleted since the 202) fails
  the job at once with per-item errors.
"""

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ghee.content.choices import JobKind, JobStatus
from ghee.content.models import Job
from ghee.content.schema.cache import schema_cache
from ghee.content.write import media
from ghee.content.write.media import MediaRetryLater
from ghee.content.write.pipeline import (
    JobContext,
    JobFailed,
    apply,
    apply_creates,
    job_error,
    prepare,
)
from ghee.core import db_health
from ghee.core.leases import OPEN_STATUSES, Lease, LeaseQueue
from ghee.core.retry_after import retry_after_seconds

logger = logging.getLogger("ghee.jobs")

CHUNK_ITEMS = 500  # items applied per transaction (keeps SQLite's write lock short)
DEFER_SECONDS = 1.0
# A media server cannot park a job for longer than an hour with Retry-After.
MAX_RETRY_AFTER = 3600.0
JOB_FIELDS_TO_PROCESS = (
    "organization_id",
    "collection_id",
    "collection__key",
    "collection__label_field",
    "token_id",
    "token__name",
    "item_id",
    "kind",
    "payload",
    "attempts",
)

JOB_LEASES = LeaseQueue(
    Job,
    name="job",
    lease_seconds=lambda: settings.GHEE_JOB_LEASE_SECONDS,
    max_attempts=lambda: settings.GHEE_JOB_MAX_ATTEMPTS,
    error_fields=lambda message: {"errors": [job_error(message)]},
)


def claim_jobs(limit: int | None = None) -> Lease:
    """Lease up to ``limit`` due jobs (oldest first): their ids and the fencing token."""
    return JOB_LEASES.claim(limit or settings.GHEE_JOB_BATCH_SIZE)


def process_due_jobs(
    limit: int | None = None,
    *,
    seconds: float | None = None,
    between: Callable[[], object] | None = None,
) -> dict:
    """Claim one batch and process it: the jobs' share of a round of ``ghee worker``.

    With ``seconds``, chunks after the first stop once that much time has passed: the rest
    of the batch, not started, is given back (``released``) to the next round's claim, so
    one large batch does not keep the worker's other work waiting. ``between`` is called
    after each chunk (the worker's deliveries take a turn there).
    """
    lease = claim_jobs(limit)
    summary = process_batch(lease, seconds=seconds, between=between) if lease else _empty_summary(0)
    summary["claimed"] = len(lease.ids)
    return summary


def run_pending_jobs(max_rounds: int = 1000) -> int:
    """Process every due job now, in this process (tests, admin). Returns jobs finished."""
    finished = 0
    for _ in range(max_rounds):
        lease = claim_jobs()
        if not lease:
            break
        done = process_batch(lease)["finished"]
        finished += done
        if done == 0:
            break
    return finished


def _empty_summary(skipped: int) -> dict:
    return {"finished": 0, "deferred": 0, "retrying": 0, "skipped": skipped, "released": 0}


def process_batch(
    lease: Lease, *, seconds: float | None = None, between: Callable[[], object] | None = None
) -> dict:
    """Run the jobs of one claim (for about ``seconds``, then give the rest back).

    Safe to call twice and after a takeover.
    """
    deadline = None if seconds is None else time.monotonic() + seconds
    jobs = list(
        Job.objects.filter(pk__in=lease.ids, lease_token=lease.token, status__in=OPEN_STATUSES)
        .select_related("collection", "token")
        .only(*JOB_FIELDS_TO_PROCESS)
        .order_by("id")
    )
    summary = _empty_summary(len(lease.ids) - len(jobs))
    runnable, deferred = _split_by_item_order(jobs)
    if deferred:
        JOB_LEASES.release(lease, [job.pk for job in deferred], DEFER_SECONDS)
        summary["deferred"] = len(deferred)
    blocked_items: set[int] = set()
    chunks = list(_chunks(runnable))
    for number, chunk in enumerate(chunks):
        later = [job.pk for rest in chunks[number + 1 :] for job in rest]
        if number and deadline is not None and time.monotonic() >= deadline:
            summary["released"] = JOB_LEASES.release(lease, [job.pk for job in chunk] + later, 0)
            break
        started = JOB_LEASES.start(lease, [job.pk for job in chunk])
        if later:  # a heartbeat: the rest of the batch keeps its lease while we work
            JOB_LEASES.renew(lease, later)
        chunk = [job for job in chunk if job.pk in started]
        for job in chunk:
            job.attempts += 1
        outcome = _process_chunk(chunk, lease, blocked_items)
        for key in ("finished", "deferred", "retrying"):
            summary[key] += outcome[key]
        if between is not None:
            between()
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
    """Consecutive jobs, up to ``CHUNK_ITEMS`` items per chunk, in id order.

    A job that was tried before (``attempts`` > 0: its worker died during it, or it
    failed) runs in a chunk of its own. All jobs of a chunk are started, so charged,
    together; were a job that kills its worker to share a chunk again, the jobs beside it
    would be charged for each of its crashes and fail with it. Alone, it is charged for
    its own crashes only; jobs after it in the batch never start, and are not charged.
    """
    chunk, size = [], 0
    for job in jobs:
        if job.attempts:
            if chunk:
                yield chunk
                chunk, size = [], 0
            yield [job]
            continue
        chunk.append(job)
        size += max(1, len(job.payload.get("fields") or []) if job.kind == "create" else 1)
        if size >= CHUNK_ITEMS:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def _process_chunk(jobs: list[Job], lease: Lease, blocked_items: set[int]) -> dict:
    outcome = {"finished": 0, "deferred": 0, "retrying": 0}
    if not jobs:
        return outcome
    prepared, failures, retries = _prepare(jobs)
    contexts = prepared
    try:
        with transaction.atomic():
            live = JOB_LEASES.held(lease, [job.pk for job in jobs])
            for pk, errors in failures.items():
                if pk in live:
                    _fail(lease, pk, errors)
                    outcome["finished"] += 1
            for job, exc in retries:
                if job.pk in live:
                    outcome[_retry(lease, job, str(exc), retry_after=exc.retry_after)] += 1
            contexts = [ctx for ctx in contexts if ctx.job.pk in live]  # others: fenced
            batched = _apply_creates_together(contexts, lease)
            outcome["finished"] += len(batched)
            for ctx in contexts:
                if ctx.job.pk not in batched:
                    outcome[_apply_one(ctx, lease, blocked_items)] += 1
    finally:
        for ctx in prepared:  # fenced ones too: their downloads are nobody's now
            media.discard_job_media(ctx)
    return outcome


def _prepare(jobs: list[Job]):
    """The prepare stage of each job, outside the transaction.

    Returns the jobs ready to apply (contexts), the jobs that failed for good (errors by
    job id), and the jobs to retry later (a media download that may pass) with why.
    """
    now = timezone.now()
    contexts: list[JobContext] = []
    failures: dict[int, list[dict]] = {}
    retries: list[tuple[Job, MediaRetryLater]] = []
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
        except MediaRetryLater as exc:
            retries.append((job, exc))
            continue
        contexts.append(ctx)
    return contexts, failures, retries


def _retry(lease: Lease, job: Job, reason: str, *, retry_after: str | None = None) -> str:
    """Try ``job`` again later (or fail it, its attempts used up); the outcome's name."""
    message = f"Attempt {job.attempts} failed: {reason}"
    retrying = JOB_LEASES.retry(
        lease,
        job.pk,
        job.attempts,
        at_least=retry_after_seconds(retry_after, MAX_RETRY_AFTER),
        errors=[job_error(message[:500])],
    )
    return "retrying" if retrying else "finished"


def _apply_one(ctx: JobContext, lease: Lease, blocked_items: set[int]) -> str:
    """Apply one job in its own savepoint and finish it; return the outcome's name."""
    job = ctx.job
    if job.item_id and job.item_id in blocked_items:
        # An earlier job on this item is being retried: this one waits (and did not run).
        JOB_LEASES.release(lease, [job.pk], DEFER_SECONDS, attempts=F("attempts") - 1)
        return "deferred"
    try:
        with transaction.atomic():
            apply(ctx)
            JOB_LEASES.finish(
                lease, job.pk, JobStatus.SUCCEEDED, result={"item_ids": ctx.item_ids}, errors=[]
            )
        return "finished"
    except JobFailed as exc:
        _fail(lease, job.pk, exc.errors)
        return "finished"
    except Exception as exc:
        if db_health.connection_lost(exc):
            raise  # not the job's fault: the worker reconnects, the lease brings it back
        logger.exception("Job %s attempt %s failed", job.pk, job.attempts)
        if job.item_id:
            blocked_items.add(job.item_id)
        return _retry(lease, job, f"{type(exc).__name__}.")


def _fail(lease: Lease, pk: int, errors: list[dict]) -> None:
    JOB_LEASES.finish(lease, pk, JobStatus.FAILED, result={}, errors=errors)


def _apply_creates_together(contexts: list[JobContext], lease: Lease) -> dict[int, bool]:
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
            JOB_LEASES.finish_many(
                lease,
                JobStatus.SUCCEEDED,
                [
                    (ctx.job.pk, {"result": {"item_ids": ctx.item_ids}, "errors": []})
                    for ctx in creates
                    if ctx.job.pk not in failed_ids
                ],
            )
            for ctx, errors in failed:
                _fail(lease, ctx.job.pk, errors)
    except Exception as exc:
        if db_health.connection_lost(exc):
            raise
        logger.warning("Batched create failed; applying the jobs one by one", exc_info=True)
        for ctx in creates:
            ctx.item_ids, ctx.events = [], []
        return {}
    return {ctx.job.pk: ctx.job.pk not in failed_ids for ctx in creates}
