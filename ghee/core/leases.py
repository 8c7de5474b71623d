"""Leased rows: claim, lease, renew, fence, retry and finish, for any table of due work.

Jobs use it now; media imports and webhook deliveries plug in next (docs/leases.md). The
row is the truth, never a queue: a worker *claims* due rows by writing a fresh random
``lease_token`` and ``lease_expires_at`` on them, *starts* each one (``running``,
``attempts + 1``) just before it works on it, and commits its result only while the row
still carries its token (*fencing*). A worker that dies leaves rows whose lease lapses; the
next claim, by any worker, takes them again. Retry state (``attempts``,
``next_attempt_at``) lives on the row.

Every status change goes through ``LeaseQueue._move``: it only touches rows that are still
open (``pending``/``running``) and, except for the claim, still carry the caller's token.
A finished row never changes again, and a stale worker changes nothing.

Concurrency: on PostgreSQL the claim uses ``SELECT ... FOR UPDATE SKIP LOCKED`` so workers
never wait for each other; on SQLite the database's single write lock serialises claims
(the settings open every transaction with ``BEGIN IMMEDIATE``).

Core knows no app: a model opts in by inheriting ``LeasedRow``, and its owner builds one
``LeaseQueue`` for it with its own lease length, attempt limit and error fields.
"""

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connections, models, router, transaction
from django.db.models import F, Q
from django.utils import timezone


class LeaseStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


OPEN_STATUSES = (LeaseStatus.PENDING, LeaseStatus.RUNNING)
TERMINAL_STATUSES = (LeaseStatus.SUCCEEDED, LeaseStatus.FAILED)


class LeasedRow(models.Model):
    """The columns the lease machinery reads and writes. Inherit it; add your own."""

    status = models.CharField(
        max_length=10, choices=LeaseStatus.choices, default=LeaseStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    # Who may work on the row right now, and until when. A worker that finds another
    # token on the row must not commit its result (fencing).
    lease_token = models.CharField(max_length=32, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # Not claimed before this time: a retry's backoff, or a deferral.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


def exponential_backoff(attempts: int) -> float:
    """Seconds before the next try after ``attempts`` tries: 2, 4, 8 ... capped at 5 min."""
    return min(2.0**attempts, 300.0)


@dataclass
class Lease:
    """The rows one claim leased (oldest first) and the token that fences them."""

    token: str
    ids: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.ids)


def _value(setting: float | Callable[[], float]) -> float:
    return setting() if callable(setting) else setting


class LeaseQueue:
    """Claim / start / renew / fence / retry / finish over one model of ``LeasedRow``.

    ``lease_seconds`` and ``max_attempts`` may be numbers or callables (read on each
    use, so settings can change under tests). ``error_fields(message)`` returns the
    model's own fields that record an error (e.g. ``{"errors": [...]}``): the queue
    writes them when it gives up on a row.
    """

    def __init__(
        self,
        model: type[LeasedRow],
        *,
        lease_seconds: float | Callable[[], float],
        max_attempts: int | Callable[[], int],
        backoff: Callable[[int], float] = exponential_backoff,
        error_fields: Callable[[str], dict] = lambda message: {},
    ) -> None:
        self.model = model
        self._lease_seconds = lease_seconds
        self._max_attempts = max_attempts
        self.backoff = backoff
        self.error_fields = error_fields

    @property
    def lease_seconds(self) -> float:
        return _value(self._lease_seconds)

    @property
    def max_attempts(self) -> int:
        return int(_value(self._max_attempts))

    @property
    def db(self) -> str:
        return router.db_for_write(self.model)

    def lease_until(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.lease_seconds)

    # --- Claim ----------------------------------------------------------------------------

    def due(self, now: datetime) -> models.QuerySet:
        """Open rows nobody holds (no lease, or a lapsed one) whose next attempt is due."""
        return self.model.objects.filter(status__in=OPEN_STATUSES).filter(
            Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now),
            Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
        )

    def claim(self, limit: int) -> Lease:
        """Lease up to ``limit`` due rows, oldest first, in one short transaction.

        A row whose attempts are used up (its worker died during each one: nothing else
        leaves a started row open) is failed here instead of being handed out again.
        """
        now = timezone.now()
        lease = Lease(token=secrets.token_hex(16))
        # A plain read first: an idle poll must not take SQLite's write lock.
        if not self.due(now).exists():
            return lease
        with transaction.atomic(using=self.db):
            rows = self.due(now).order_by("pk")
            if connections[self.db].features.has_select_for_update_skip_locked:
                rows = rows.select_for_update(skip_locked=True)
            found = list(rows.values_list("pk", "attempts")[:limit])
            limit_reached = [pk for pk, attempts in found if attempts >= self.max_attempts]
            lease.ids = [pk for pk, attempts in found if attempts < self.max_attempts]
            if limit_reached:
                message = (
                    f"Gave up after {self.max_attempts} attempts (the worker stopped during each)."
                )
                self._move(
                    limit_reached, None, LeaseStatus.FAILED, now, **self.error_fields(message)
                )
            if lease.ids:
                self.model.objects.filter(pk__in=lease.ids).update(
                    lease_token=lease.token, lease_expires_at=self.lease_until(now)
                )
        return lease

    # --- Work -----------------------------------------------------------------------------

    def start(self, lease: Lease, ids: Iterable[int]) -> set[int]:
        """Mark rows running and charge them an attempt, just before working on them.

        Commits at once (autocommit), so a worker that dies while working leaves the
        attempt counted. Returns the ids still ours.
        """
        ids = list(ids)
        now = timezone.now()
        started = self._move(
            ids,
            lease.token,
            LeaseStatus.RUNNING,
            now,
            attempts=F("attempts") + 1,
            started_at=now,
            lease_expires_at=self.lease_until(now),
        )
        if started == len(ids):
            return set(ids)
        return self.held(lease, ids, lock=False)

    def renew(self, lease: Lease, ids: Iterable[int]) -> int:
        """Heartbeat: push the lease of rows still ours into the future."""
        return self._open(list(ids), lease.token).update(
            lease_expires_at=self.lease_until(timezone.now())
        )

    def held(self, lease: Lease, ids: Iterable[int], *, lock: bool = True) -> set[int]:
        """The ids among ``ids`` still running under our token: the fence.

        Call it inside the transaction that commits the work; with ``lock`` the rows stay
        locked until that commit (PostgreSQL; SQLite's write lock does the same).
        """
        rows = self.model.objects.filter(
            pk__in=list(ids), lease_token=lease.token, status=LeaseStatus.RUNNING
        )
        if lock and connections[self.db].features.has_select_for_update:
            rows = rows.select_for_update()
        return set(rows.values_list("pk", flat=True))

    # --- Outcomes -------------------------------------------------------------------------

    def finish(self, lease: Lease, pk: int, status: str, **fields) -> bool:
        """Succeeded or failed for good, if the row is still ours."""
        assert status in TERMINAL_STATUSES, status
        return bool(self._move([pk], lease.token, status, timezone.now(), **fields))

    def finish_many(self, lease: Lease, status: str, rows: list[tuple[int, dict]]) -> None:
        """``finish`` for many rows, each with its own values, in one ``executemany``.

        Every dict in ``rows`` must have the same keys. Fenced like ``finish``.
        """
        assert status in TERMINAL_STATUSES, status
        if not rows:
            return
        connection = connections[self.db]
        quote = connection.ops.quote_name
        meta = self.model._meta
        names = list(rows[0][1])
        now = meta.get_field("finished_at").get_db_prep_save(timezone.now(), connection)
        assignments = "".join(f", {quote(meta.get_field(n).column)} = %s" for n in names)
        sql = (
            f"UPDATE {quote(meta.db_table)} SET {quote('status')} = %s, "  # noqa: S608
            f"{quote('finished_at')} = %s, {quote('lease_token')} = '', "
            f"{quote('lease_expires_at')} = NULL, {quote('next_attempt_at')} = NULL"
            f"{assignments} WHERE {quote(meta.pk.column)} = %s "
            f"AND {quote('lease_token')} = %s AND {quote('status')} IN (%s, %s)"
        )
        params = [
            (
                str(status),
                now,
                *(meta.get_field(n).get_db_prep_save(values[n], connection) for n in names),
                pk,
                lease.token,
                *(str(open_status) for open_status in OPEN_STATUSES),
            )
            for pk, values in rows
        ]
        with connection.cursor() as cursor:
            cursor.executemany(sql, params)

    def retry(
        self, lease: Lease, pk: int, attempts: int, *, at_least: float = 0.0, **fields
    ) -> bool:
        """After a failed attempt: back off and try again, or fail for good.

        ``attempts`` is the row's count including the one that failed; ``at_least`` is a
        wait the other side asked for (an HTTP ``Retry-After``), which the backoff never
        undercuts. Returns True when the row will be tried again.
        """
        if attempts >= self.max_attempts:
            self.finish(lease, pk, LeaseStatus.FAILED, **fields)
            return False
        self.release(lease, [pk], max(self.backoff(attempts), at_least), **fields)
        return True

    def release(self, lease: Lease, ids: Iterable[int], delay: float, **fields) -> int:
        """Give rows back (pending, no lease), to be claimed again after ``delay`` seconds.

        Extra ``fields`` are written too: e.g. ``attempts=F("attempts") - 1`` to refund
        an attempt charged to a row that then did not run.
        """
        now = timezone.now()
        return self._move(
            list(ids),
            lease.token,
            LeaseStatus.PENDING,
            now,
            next_attempt_at=now + timedelta(seconds=delay),
            **fields,
        )

    def reopen(self, ids: Iterable[int], **fields) -> int:
        """A person's retry: ``failed`` rows back to ``pending``, with a fresh attempt budget.

        The one move out of a terminal status, and only out of ``failed`` (a succeeded row
        never changes again). Nobody holds a finished row, so there is no token to fence;
        the row is claimed like any new one. What the last attempt recorded (its error
        fields) stays until the next outcome replaces it; the caller records who retried.
        """
        return self.model.objects.filter(pk__in=list(ids), status=LeaseStatus.FAILED).update(
            status=LeaseStatus.PENDING,
            attempts=0,
            lease_token="",
            lease_expires_at=None,
            next_attempt_at=None,
            finished_at=None,
            **fields,
        )

    def release_stale(self) -> int:
        """Rows left running by a dead worker whose lease lapsed go back to pending.

        A claim would take them anyway; this keeps their status honest meanwhile. The
        attempt they were charged stays counted.
        """
        now = timezone.now()
        stale = self.model.objects.filter(status=LeaseStatus.RUNNING, lease_expires_at__lte=now)
        return stale.update(status=LeaseStatus.PENDING, lease_token="", lease_expires_at=None)

    # --- The one place statuses are written --------------------------------------------------

    def _open(self, ids: list[int], token: str | None) -> models.QuerySet:
        rows = self.model.objects.filter(pk__in=ids, status__in=OPEN_STATUSES)
        return rows if token is None else rows.filter(lease_token=token)

    def _move(self, ids: list[int], token: str | None, status: str, now, **fields) -> int:
        """Set ``status`` on the open rows among ``ids`` that carry ``token`` (any when None).

        Finished rows are never matched, so nothing leaves a terminal status; a row taken
        over by another worker does not carry our token, so a stale worker writes nothing.
        """
        if not ids:
            return 0
        if status in TERMINAL_STATUSES:
            fields = {
                "finished_at": now,
                "lease_token": "",
                "lease_expires_at": None,
                "next_attempt_at": None,
                **fields,
            }
        elif status == LeaseStatus.PENDING:
            fields = {"lease_token": "", "lease_expires_at": None, **fields}
        return self._open(ids, token).update(status=status, **fields)
