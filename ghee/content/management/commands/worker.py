"""``ghee worker``: claim and process jobs, relay outbox events, run housekeeping chores.

Each iteration: claim a batch of due jobs and process it (``write/jobs.py``), then hand
due outbox events to their handlers (``ghee.core.outbox``); every ``CHORE_CHECK_SECONDS``
run the chores that are due (``ghee.core.chores``; one worker at a time runs each). Jobs
are claimed straight from their rows through the lease machinery: there is no task queue
in between (see docs/write-api.md, "Why no task queue").

While idle it polls every ``GHEE_WORKER_INTERVAL`` seconds, doubling the pause up to
``GHEE_WORKER_IDLE_MAX_INTERVAL`` (so a job accepted after a quiet spell waits at most that
long, plus one poll, to be picked up). After a batch smaller than ``GHEE_JOB_BATCH_SIZE``
it lingers ``GHEE_WORKER_LINGER`` seconds so that, under load, the next batch is fuller
(fewer commits per item). SIGTERM or SIGINT finishes the current batch, then exits 0; a
second one exits at once (status 1; the lease covers what was in flight).

Run as many as you like, on as many machines: claims use ``select_for_update(skip_locked=
True)`` on PostgreSQL (SQLite's write lock serialises them) and every commit is fenced by
the lease token.
"""

import logging
import signal
import sys
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import OperationalError, close_old_connections
from django.utils.crypto import get_random_string

from ghee.content.write import jobs
from ghee.core import chores, outbox

logger = logging.getLogger("ghee.worker")

CHORE_CHECK_SECONDS = 10.0


def _database_busy(exc: OperationalError) -> bool:
    """SQLite's write lock stayed taken past the busy timeout: try again next turn."""
    return "database is locked" in str(exc) or "database table is locked" in str(exc)


@dataclass
class Worker:
    interval: float
    batch: bool = False
    max_batches: int | None = None
    run_chores: bool = True
    worker_id: str = field(default_factory=lambda: get_random_string(32))
    running: bool = True
    batches: int = 0
    jobs_finished: int = 0
    events_handled: int = 0

    def configure_signals(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self.shutdown)

    def shutdown(self, signum, frame) -> None:
        if not self.running:
            logger.warning("Received %s again: stopping now", signal.strsignal(signum))
            sys.exit(1)
        logger.warning(
            "Received %s: finishing the current batch (again to stop now)",
            signal.strsignal(signum),
        )
        self.running = False

    def run(self) -> None:
        logger.info("Starting ghee worker worker_id=%s", self.worker_id)
        # Idle polls back off from `interval` to GHEE_WORKER_IDLE_MAX_INTERVAL; any work
        # found resets the pause.
        idle_sleep = self.interval
        next_chores = 0.0
        while self.running:
            close_old_connections()
            if self.run_chores and time.monotonic() >= next_chores:
                next_chores = time.monotonic() + CHORE_CHECK_SECONDS
                self._guarded(chores.run_due_chores, {})
            summary = self._guarded(jobs.process_due_jobs, {"claimed": 0, "finished": 0})
            relayed = self._guarded(outbox.relay, {"handled": 0})
            claimed = summary["claimed"]
            self.jobs_finished += summary["finished"]
            self.events_handled += relayed["handled"]
            self.batches += 1 if claimed else 0
            if self.max_batches is not None and self.batches >= self.max_batches:
                break
            if claimed or any(relayed.values()):
                idle_sleep = self.interval
                if self._should_linger(claimed) and self.running:
                    time.sleep(settings.GHEE_WORKER_LINGER)
            elif self.running:
                if self.batch:
                    break
                time.sleep(idle_sleep)
                idle_sleep = min(
                    idle_sleep * 2, max(self.interval, settings.GHEE_WORKER_IDLE_MAX_INTERVAL)
                )
        logger.info(
            "Stopping ghee worker worker_id=%s: %s batches, %s jobs finished, %s events handled",
            self.worker_id,
            self.batches,
            self.jobs_finished,
            self.events_handled,
        )

    @staticmethod
    def _should_linger(claimed: int) -> bool:
        """After a partial batch, wait a moment so the next one is fuller.

        Under steady load each pass otherwise handles the few jobs that arrived during the
        last one, and a pass has a fixed cost of a few commits (claim, start, apply).
        """
        return 0 < claimed < settings.GHEE_JOB_BATCH_SIZE and settings.GHEE_WORKER_LINGER > 0

    @staticmethod
    def _guarded(step, idle: dict):
        try:
            return step()
        except OperationalError as exc:
            if not _database_busy(exc):
                raise
            return idle


class Command(BaseCommand):
    help = "Process accepted writes, relay outbox events and run chores until stopped."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--interval",
            type=float,
            default=None,
            help="Seconds to sleep when idle at first (default: GHEE_WORKER_INTERVAL).",
        )
        parser.add_argument(
            "--batch", action="store_true", help="Exit once there is nothing left to do."
        )
        parser.add_argument(
            "--max-batches",
            type=int,
            default=None,
            help="Exit after processing this many batches of jobs.",
        )
        parser.add_argument(
            "--no-chores",
            action="store_true",
            help="Leave housekeeping chores to other workers.",
        )
        parser.add_argument("--worker-id", default=None)

    def handle(self, *, interval, batch, max_batches, no_chores, worker_id, **options) -> None:
        if options["verbosity"] > 1:
            logging.getLogger("ghee").setLevel(logging.DEBUG)
        worker = Worker(
            interval=settings.GHEE_WORKER_INTERVAL if interval is None else interval,
            batch=batch,
            max_batches=max_batches,
            run_chores=not no_chores,
            worker_id=worker_id or get_random_string(32),
        )
        worker.configure_signals()
        worker.run()
