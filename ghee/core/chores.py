"""Housekeeping: named chores, each run by one worker at a time, every so often.

Apps register their chores in ``AppConfig.ready`` (``register``); every ``ghee worker``
calls ``run_due_chores`` now and then (unless started with ``--no-chores``). Each chore has
a ``ChoreRun`` row: a worker runs a chore only after taking that row's lease with one
conditional ``UPDATE`` (due, and nobody's lease still running), which works the same on
SQLite and PostgreSQL; the row then records when it ran and what it did, and when it is
due next. A chore that raises is logged and tried again at its next turn.

A chore returns counts (``{"deleted": 12}``); non-zero counts are logged at INFO.
"""

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from ghee.core import db_health
from ghee.core.models import ChoreRun

logger = logging.getLogger("ghee.chores")

# A chore that runs longer than this may be started again by another worker.
CHORE_LEASE_SECONDS = 600


@dataclass(frozen=True)
class Chore:
    name: str
    run: Callable[[], dict[str, int]]
    # Seconds between runs: a number, or a callable read at each run (settings).
    every: float | Callable[[], float]

    def interval(self) -> float:
        return self.every() if callable(self.every) else self.every


_chores: dict[str, Chore] = {}


def register(chore: Chore) -> None:
    _chores[chore.name] = chore


def unregister(name: str) -> None:
    """Forget the chore ``name`` (its ``ChoreRun`` row, if any, stays)."""
    del _chores[name]


def release_stale_leases(queue) -> Chore:
    """``release_stale_<name>_leases`` for a ``LeaseQueue``: every lease period, rows left
    running by a dead worker whose lease lapsed go back to pending."""
    return Chore(
        f"release_stale_{queue.name}_leases",
        lambda: {"released": queue.release_stale()},
        every=lambda: queue.lease_seconds,
    )


def registered() -> list[Chore]:
    return sorted(_chores.values(), key=lambda chore: chore.name)


def run_due_chores(limit: int | None = None) -> dict[str, dict[str, int]]:
    """Run every registered chore (at most ``limit``) that is due and not held by another
    worker; the worker runs one per round, so chores take their share, not the round."""
    results = {}
    for chore in registered():
        if limit is not None and len(results) >= limit:
            break
        token = _take(chore.name)
        if token is None:
            continue
        results[chore.name] = _run(chore, token)
    return results


def run_chore(name: str) -> dict[str, int]:
    """Run one chore now, whenever it is due (an operator's or a test's call)."""
    chore = _chores[name]
    token = _take(name, force=True)
    if token is None:
        raise RuntimeError(f"chore {name!r} is being run by another worker")
    return _run(chore, token)


def _take(name: str, force: bool = False) -> str | None:
    """Lease the chore's row if it is due; return the lease token, or None."""
    now = timezone.now()
    token = secrets.token_hex(16)
    free = Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now)
    due = free if force else free & (Q(next_run_at__isnull=True) | Q(next_run_at__lte=now))
    rows = ChoreRun.objects.filter(due, name=name)
    lease = {"lease_token": token, "lease_expires_at": now + timedelta(seconds=CHORE_LEASE_SECONDS)}
    if rows.update(**lease):
        return token
    if ChoreRun.objects.filter(name=name).exists():
        return None
    try:
        with transaction.atomic():
            ChoreRun.objects.create(name=name, **lease)
    except IntegrityError:  # another worker created it first, and holds it
        return None
    return token


def _run(chore: Chore, token: str) -> dict[str, int]:
    started = timezone.now()
    try:
        result = chore.run()
    except Exception as exc:
        if db_health.connection_lost(exc):
            raise  # not the chore's fault: the worker reconnects; the lease lapses
        logger.exception("Chore %s failed", chore.name)
        result = {"error": f"{type(exc).__name__}: {exc}"[:500]}
    else:
        if any(result.values()):
            logger.info("Chore %s: %s", chore.name, result)
    ChoreRun.objects.filter(name=chore.name, lease_token=token).update(
        lease_token="",
        lease_expires_at=None,
        last_run_at=started,
        next_run_at=started + timedelta(seconds=chore.interval()),
        last_result=result,
    )
    return result
