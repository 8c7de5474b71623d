"""Leased rows: claim, lease, renew, fence, retry and finish, for any table of due work.

Jobs, outbox events and webhook deliveries use it (docs/leases.md). The row is the truth,
never a queue: a worker *claims* due rows by writing a fresh random ``lease_token`` and
``lease_expires_at`` on them, *starts* each one (``running``, ``attempts + 1``) just before
it works on it, and commits its result only while the row still carries its token
(*fencing*). A worker that dies leaves rows whose lease lapses; the next claim, by any
worker, takes them again. Retry state (``attempts``, ``next_attempt_at``) lives on the row.

Every write to a row's status or lease goes through ``LeaseQueue._move``, the only SQL that
changes these rows: it touches only rows that are still open (``pending``/``running``;
``reopen``, a person's retry, is the one move out of ``failed``) and that carry the caller's
token, or, for the moves no worker owns (claim, release of stale leases, withdrawal,
reopen), that nobody holds. A finished row never changes again, and a stale worker changes
nothing.

Concurrency: on PostgreSQL the claim uses ``SELECT ... FOR UPDATE SKIP LOCKED`` so workers
never wait for each other; on SQLite the database's single write lock serialises claims
(the settings open every transaction with ``BEGIN IMMEDIATE``).

Core knows no app: a model opts in by inheriting ``LeasedRow``, and its owner builds one
``LeaseQueue`` for it with its own lease length, attempt limit and error fields (and, for
rows that belong to receivers, a per-group cap and a withdrawal rule).
"""

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connections, models, router, transaction
from django.db.models import Count, F, Q
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


# Passes of a capped claim: each one skips the groups the last one filled (see ``_pick``).
MAX_CLAIM_PASSES = 8


class LeaseQueue:
    """Claim / start / renew / fence / retry / finish over one model of ``LeasedRow``.

    ``lease_seconds`` and ``max_attempts`` may be numbers or callables (read on each
    use, so settings can change under tests). ``error_fields(message)`` returns the
    model's own fields that record an error (e.g. ``{"errors": [...]}``): the queue
    writes them when it gives up on a row. ``name`` names the queue's chore
    (``chores.release_stale_leases``).

    Two options serve a queue whose rows belong to receivers of their own (webhook
    deliveries and their endpoints):

    - ``group_by`` (a column) and ``per_group`` (a number or callable): a claim takes at
      most that many rows per group, counting the rows of the group already held by
      anyone, oldest first, skipping groups at their cap. One group's backlog then never
      fills a claim while other groups have due rows.
    - ``withdrawn``: a callable returning ``(filter, fields)`` (or None: nothing is), where
      rows matching ``filter`` must not run any more (their receiver was switched off). A
      claim that finds due rows first fails every open, unheld row matching it in one
      statement, writing ``fields``, so such rows never take a claim slot; ``withdraw``
      does the same on demand.
    """

    def __init__(
        self,
        model: type[LeasedRow],
        *,
        name: str = "",
        lease_seconds: float | Callable[[], float],
        max_attempts: int | Callable[[], int],
        backoff: Callable[[int], float] = exponential_backoff,
        error_fields: Callable[[str], dict] = lambda message: {},
        group_by: str | None = None,
        per_group: int | Callable[[], int] | None = None,
        withdrawn: Callable[[], tuple[Q, dict] | None] | None = None,
    ) -> None:
        assert (group_by is None) == (per_group is None), "group_by needs per_group"
        self.model = model
        self.name = name or model._meta.model_name
        self._lease_seconds = lease_seconds
        self._max_attempts = max_attempts
        self.backoff = backoff
        self.error_fields = error_fields
        self.group_by = group_by
        self._per_group = per_group
        self.withdrawn = withdrawn

    @property
    def lease_seconds(self) -> float:
        return _value(self._lease_seconds)

    @property
    def max_attempts(self) -> int:
        return int(_value(self._max_attempts))

    @property
    def per_group(self) -> int:
        return int(_value(self._per_group or 0))

    @property
    def db(self) -> str:
        return router.db_for_write(self.model)

    def lease_until(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.lease_seconds)

    # --- Claim ----------------------------------------------------------------------------

    def due(self, now: datetime) -> models.QuerySet:
        """Open rows nobody holds (no lease, or a lapsed one) whose next attempt is due."""
        return self.model.objects.filter(status__in=OPEN_STATUSES).filter(
            _unheld(now), Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
        )

    def claim(self, limit: int, *, only: Iterable[int] | None = None) -> Lease:
        """Lease up to ``limit`` due rows (among ``only``, if given), oldest first, in one
        short transaction, at most ``per_group`` held per group.

        A row whose attempts are used up (its worker died during each one: nothing else
        leaves a started row open) is failed here instead of being handed out again.
        """
        now = timezone.now()
        lease = Lease(token=secrets.token_hex(16))
        due = self.due(now)
        if only is not None:
            due = due.filter(pk__in=list(only))
        held = self._held_per_group(now)
        full = [group for group, count in held.items() if count >= self.per_group]
        # A plain read first: an idle poll, or one whose due rows all belong to groups at
        # their cap, must not take SQLite's write lock.
        if limit <= 0 or not self._excluding(due, full).exists():
            return lease
        with transaction.atomic(using=self.db):
            if self.withdrawn is not None:
                self.withdraw(now=now)
            found = self._pick(due, limit, held)
            self._move(
                [pk for pk, _ in found],
                None,
                None,
                now,
                lease_token=lease.token,
                lease_expires_at=self.lease_until(now),
            )
            lease.ids = [pk for pk, attempts in found if attempts < self.max_attempts]
            limit_reached = [pk for pk, attempts in found if attempts >= self.max_attempts]
            if limit_reached:
                message = (
                    f"Gave up after {self.max_attempts} attempts (the worker stopped during each)."
                )
                self._move(
                    limit_reached,
                    lease.token,
                    LeaseStatus.FAILED,
                    now,
                    **self.error_fields(message),
                )
        return lease

    def withdraw(self, among: Q | None = None, *, now: datetime | None = None) -> int:
        """Fail the open rows nobody holds that ``withdrawn`` matches (and ``among``), in one
        statement. Rows a worker holds are left to it: its outcome is recorded as usual."""
        withdrawn = self.withdrawn() if self.withdrawn is not None else None
        if withdrawn is None:
            return 0
        where, fields = withdrawn
        if among is not None:
            where &= among
        now = now or timezone.now()
        return self._move(None, None, LeaseStatus.FAILED, now, where=where, **fields)

    def _excluding(self, rows: models.QuerySet, groups: list) -> models.QuerySet:
        return rows.exclude(**{f"{self.group_by}__in": groups}) if groups else rows

    def _held_per_group(self, now: datetime) -> dict:
        """How many rows each group has running under a live lease (none without groups).

        Running, not merely leased: a capped queue starts what it claims at once, and the
        status narrows the scan to the few running rows, not a whole backlog.
        """
        if self.group_by is None:
            return {}
        held = self.model.objects.filter(status=LeaseStatus.RUNNING, lease_expires_at__gt=now)
        return dict(
            held.values(self.group_by)
            .annotate(n=Count("pk"))
            .values_list(self.group_by, "n")
            .order_by()
        )

    def _lock(self, rows: models.QuerySet) -> models.QuerySet:
        if connections[self.db].features.has_select_for_update_skip_locked:
            return rows.select_for_update(skip_locked=True)
        return rows

    def _pick(self, due: models.QuerySet, limit: int, held: dict) -> list[tuple[int, int]]:
        """``(pk, attempts)`` of the rows to lease, oldest first, within the group caps.

        Rows whose attempts are used up are picked too (to be failed) without using a slot.
        A capped claim reads a window of rows at a time; a window can be all rows of groups
        that reach their cap in it, so the next pass starts after it without those groups.
        """
        if self.group_by is None:
            return list(self._lock(due.order_by("pk")).values_list("pk", "attempts")[:limit])
        counts = dict(held)
        cap, window = self.per_group, max(limit * 4, 100)
        picked: list[tuple[int, int]] = []
        taken, after = 0, 0
        for _ in range(MAX_CLAIM_PASSES):
            full = [group for group, count in counts.items() if count >= cap]
            rows = self._excluding(due.filter(pk__gt=after), full).order_by("pk")
            found = list(self._lock(rows).values_list("pk", self.group_by, "attempts")[:window])
            for pk, group, attempts in found:
                after = pk
                if attempts >= self.max_attempts:
                    picked.append((pk, attempts))
                elif counts.get(group, 0) < cap:
                    counts[group] = counts.get(group, 0) + 1
                    picked.append((pk, attempts))
                    taken += 1
                    if taken >= limit:
                        return picked
            if len(found) < window:
                break
        return picked

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
        now = timezone.now()
        return self._move(list(ids), lease.token, None, now, lease_expires_at=self.lease_until(now))

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
        if rows:
            self._move(None, lease.token, status, timezone.now(), each=rows)

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
        return self._move(
            list(ids),
            None,
            LeaseStatus.PENDING,
            timezone.now(),
            reopen=True,
            attempts=0,
            next_attempt_at=None,
            finished_at=None,
            **fields,
        )

    def release_stale(self) -> int:
        """Rows left running by a dead worker whose lease lapsed go back to pending.

        A claim would take them anyway; this keeps their status honest meanwhile. The
        attempt they were charged stays counted.
        """
        return self._move(
            None, None, LeaseStatus.PENDING, timezone.now(), where=Q(status=LeaseStatus.RUNNING)
        )

    # --- The one place statuses are written --------------------------------------------------

    def _move(
        self,
        ids: list[int] | None,
        token: str | None,
        status: str | None,
        now: datetime,
        *,
        where: Q | None = None,
        reopen: bool = False,
        each: list[tuple[int, dict]] | None = None,
        **fields,
    ) -> int:
        """Write ``status`` (None: keep it) and ``fields`` on the guarded rows among ``ids``.

        The guard: the row is open (only ``reopen`` matches ``failed`` rows instead), and it
        carries ``token`` or, with ``token`` None, nobody holds it (no lease, or a lapsed
        one). So nothing leaves a terminal status, a stale worker whose row was taken over
        writes nothing, and no bulk move touches a row a live worker holds. ``where``
        narrows the rows further; ``each`` gives per-row values (``[(pk, {field: value})]``,
        the same fields in every dict), written in one ``executemany``.
        """
        if ids is not None and not ids:
            return 0
        rows = self.model.objects.filter(
            Q(status=LeaseStatus.FAILED) if reopen else Q(status__in=OPEN_STATUSES)
        )
        if ids is not None:
            rows = rows.filter(pk__in=ids)
        rows = rows.filter(_unheld(now) if token is None else Q(lease_token=token))
        if where is not None:
            rows = rows.filter(where)
        if status in TERMINAL_STATUSES:
            fields = {"finished_at": now, "next_attempt_at": None, **fields}
        if status in (*TERMINAL_STATUSES, LeaseStatus.PENDING):
            fields = {"lease_token": "", "lease_expires_at": None, **fields}
        if status is not None:
            fields["status"] = status
        if each is not None:
            return self._update_each(rows, fields, each)
        return rows.update(**fields)

    def _update_each(self, rows: models.QuerySet, fields: dict, each: list[tuple[int, dict]]):
        """``rows.update(**fields, **values)`` for each ``(pk, values)``: one statement,
        executed once per row, whose WHERE is the guarded queryset's own."""
        connection = connections[self.db]
        quote = connection.ops.quote_name
        meta = self.model._meta
        names = [*fields, *each[0][1]]
        query = rows.query
        where, where_params = query.get_compiler(using=self.db).compile(query.where)
        assignments = ", ".join(f"{quote(meta.get_field(n).column)} = %s" for n in names)
        sql = (
            f"UPDATE {quote(meta.db_table)} SET {assignments} "  # noqa: S608
            f"WHERE {quote(meta.db_table)}.{quote(meta.pk.column)} = %s AND ({where})"
        )

        def prepared(values: dict) -> list:
            return [meta.get_field(n).get_db_prep_save(values[n], connection) for n in names]

        params = [(*prepared({**fields, **values}), pk, *where_params) for pk, values in each]
        with connection.cursor() as cursor:
            cursor.executemany(sql, params)
            return cursor.rowcount


def _unheld(now: datetime) -> Q:
    """Rows nobody holds: no lease, or a lapsed one."""
    return Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now)
