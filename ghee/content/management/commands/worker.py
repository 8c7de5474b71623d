"""``ghee worker``: process jobs, relay outbox events, send webhooks, run housekeeping chores.

The worker runs in rounds, and every round gives each kind of work its share, in this
order, so that no kind can starve another:

1. **jobs** (``write/jobs.py``): claim a batch of due jobs and process it chunk by chunk for
   at most ``GHEE_WORKER_SHARE_SECONDS`` (at least one chunk); the rest of the batch,
   not started, goes back to be claimed next round;
2. **outbox relay** (``ghee.core.outbox``): hand due events to their handlers, batch after
   batch, for at most the same share (at least one batch);
3. **webhook deliveries** (``ghee.webhooks.sending``): record the sends that finished and
   hand as many due deliveries as there are free threads to the sender's pool (the loop
   never waits for a receiver); the claim caps each endpoint and fails a disabled
   endpoint's deliveries in one statement, so one endpoint never holds up another. This
   turn comes after every chunk of jobs and every batch of events: it costs milliseconds,
   and an endpoint has only ``GHEE_WEBHOOK_PER_ENDPOINT`` sends in flight until recorded;
4. **chores** (``ghee.core.chores``): at most one due chore (one worker at a time runs
   each), looked for every ``CHORE_CHECK_SECONDS`` and again next round while some ran.

A job backlog therefore delays a finished send's record by at most one chunk, and a
delivery backlog costs jobs a few claims of free threads. Jobs are claimed straight from their
rows through the lease machinery: there is no task queue in between (see
docs/write-api.md, "Why no task queue").

While idle it polls every ``GHEE_WORKER_INTERVAL`` seconds, doubling the pause up to
``GHEE_WORKER_IDLE_MAX_INTERVAL`` (so a job accepted after a quiet spell waits at most that
long, plus one poll, to be picked up). After a batch smaller than ``GHEE_JOB_BATCH_SIZE``
it lingers ``GHEE_WORKER_LINGER`` seconds so that, under load, the next batch is fuller
(fewer commits per item). SIGTERM or SIGINT finishes the current round, then exits 0; a
second one exits at once (status 1; the lease covers what was in flight).

Run as many as you like, on as many machines: claims use ``select_for_update(skip_locked=
True)`` on PostgreSQL (SQLite's write lock serialises them) and every commit is fenced by
the lease token.

A lost database does not stop it: an idle connection the server closed is replaced before
it is used (``ghee.core.db_health``), and when any step (a claim, a relay, a send's record,
a chore) fails because the connection or the server is gone the worker logs it, closes
the connection and tries again after a pause that doubles from ``RECONNECT_FIRST_SECONDS``
up to ``GHEE_WORKER_RECONNECT_MAX_SECONDS``, logging when it is connected again. Rows it
held when the connection died stay leased to it: their transaction never committed, and
they are claimed again when the lease lapses, fenced as after any crash. On SQLite the
worker waits up to ``GHEE_SQLITE_WORKER_TIMEOUT`` for the write lock (the API waits less).
"""

import logging
import signal
import sys
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections, connections
from django.utils.crypto import get_random_string

from ghee.content.write import jobs
from ghee.core import chores, db_health, outbox
from ghee.media.temporaries import sweep_dead_temporaries
from ghee.webhooks.sending import DeliverySender

logger = logging.getLogger("ghee.worker")

CHORE_CHECK_SECONDS = 10.0
RECONNECT_FIRST_SECONDS = 0.5


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
    reconnects: int = 0
    next_chores: float = 0.0
    deliveries_moved: int = 0  # recorded or started in the current round
    sender: DeliverySender = field(default_factory=DeliverySender)

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
        outage: Outage | None = None
        while self.running:
            try:
                close_old_connections()
                db_health.drop_dead_connections()
                done = self.round()
            except DatabaseError as exc:
                if not db_health.connection_lost(exc):
                    raise
                outage = outage or Outage()
                self._wait_for_database(outage, exc)
                continue
            if outage is not None:
                logger.warning(
                    "Connected to the database again after %.1fs (%s retries)",
                    time.monotonic() - outage.since,
                    outage.retries,
                )
                outage = None
            if self.max_batches is not None and self.batches >= self.max_batches:
                break
            if done.busy:
                idle_sleep = self.interval
                if self._should_linger(done.claimed) and self.running:
                    time.sleep(settings.GHEE_WORKER_LINGER)
            elif self.running:
                if self.batch and not self.sender.in_flight:
                    break
                # Woken early when a delivery finishes: its thread can take the next one.
                self.sender.wait(idle_sleep)
                idle_sleep = min(
                    idle_sleep * 2, max(self.interval, settings.GHEE_WORKER_IDLE_MAX_INTERVAL)
                )
        self.sender.close()  # deliveries in flight finish (bounded by GHEE_WEBHOOK_TIMEOUT)
        logger.info(
            "Stopping ghee worker worker_id=%s: %s batches, %s jobs finished, %s events handled, "
            "%s webhook attempts, %s reconnects",
            self.worker_id,
            self.batches,
            self.jobs_finished,
            self.events_handled,
            self.sender.sent,
            self.reconnects,
        )

    def round(self) -> "Round":
        """One round: jobs, outbox relay, webhook deliveries, chores, each for its share."""
        share = settings.GHEE_WORKER_SHARE_SECONDS
        # Deliveries take a turn after every chunk of jobs and batch of events too: recording
        # finished sends and refilling free threads costs milliseconds, and an endpoint may
        # have only GHEE_WEBHOOK_PER_ENDPOINT deliveries in flight, answered or not, until
        # they are recorded.
        self.deliveries_moved = 0
        summary = self._guarded(
            lambda: jobs.process_due_jobs(seconds=share, between=self._deliveries),
            {"claimed": 0, "finished": 0},
        )
        self.jobs_finished += summary["finished"]
        self.batches += 1 if summary["claimed"] else 0
        relayed = self._relay(share)
        ran = {}
        if self.run_chores and time.monotonic() >= self.next_chores:
            ran = self._guarded(lambda: chores.run_due_chores(limit=1), {})
            if not ran:  # none due: look again in a while (while some ran, next round)
                self.next_chores = time.monotonic() + CHORE_CHECK_SECONDS
        busy = bool(summary["claimed"] or relayed or self.deliveries_moved or ran)
        return Round(claimed=summary["claimed"], busy=busy)

    def _deliveries(self) -> None:
        """The deliveries' turn: record finished sends, give free threads due deliveries."""
        moved = self._guarded(self.sender.step, {"recorded": 0, "started": 0})
        self.deliveries_moved += sum(moved.values())

    def _relay(self, seconds: float) -> int:
        """Relay batches of due events for at most ``seconds`` (at least one batch), each
        followed by the deliveries' turn."""
        deadline = time.monotonic() + seconds
        moved = 0
        while True:
            relayed = self._guarded(outbox.relay, {"handled": 0})
            self.events_handled += relayed["handled"]
            self._deliveries()
            moved += sum(relayed.values())
            if not any(relayed.values()) or time.monotonic() >= deadline or not self.running:
                return moved

    def _wait_for_database(self, outage: "Outage", exc: DatabaseError) -> None:
        """Close the dead connection and pause before the next try (backoff, logged)."""
        db_health.close_quietly()
        pause = min(
            RECONNECT_FIRST_SECONDS * 2**outage.retries,
            max(RECONNECT_FIRST_SECONDS, settings.GHEE_WORKER_RECONNECT_MAX_SECONDS),
        )
        outage.retries += 1
        self.reconnects += 1
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        logger.warning(
            "Lost the database connection (%s); reconnecting in %.1fs (retry %s)",
            reason,
            pause,
            outage.retries,
        )
        deadline = time.monotonic() + pause
        while self.running and time.monotonic() < deadline:
            time.sleep(min(0.1, pause))

    @staticmethod
    def _should_linger(claimed: int) -> bool:
        """After a partial batch, wait a moment so the next one is fuller.

        Under steady load each pass otherwise handles the few jobs that arrived during the
        last one, and a pass has a fixed cost of a few commits (claim, start, apply).
        """
        return 0 < claimed < settings.GHEE_JOB_BATCH_SIZE and settings.GHEE_WORKER_LINGER > 0

    @staticmethod
    def _guarded(step, idle: dict):
        """Run one step; SQLite's write lock held elsewhere past the timeout: next turn."""
        try:
            return step()
        except DatabaseError as exc:
            if not db_health.database_busy(exc):
                raise
            return idle


@dataclass
class Round:
    """What one round did: jobs claimed, and whether any kind of work found something."""

    claimed: int
    busy: bool


@dataclass
class Outage:
    """Since when the worker has been without a database, and how often it retried."""

    since: float = field(default_factory=time.monotonic)
    retries: int = 0


def use_worker_lock_timeout() -> None:
    """On SQLite, this process waits ``GHEE_SQLITE_WORKER_TIMEOUT`` for the write lock."""
    for conn in connections.all():
        if conn.vendor == "sqlite":
            conn.settings_dict["OPTIONS"]["timeout"] = settings.GHEE_SQLITE_WORKER_TIMEOUT
            conn.close()


class Command(BaseCommand):
    help = "Process accepted writes, relay outbox events, send webhooks and run chores."

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
        parser.add_argument(
            "--worker-id",
            default=None,
            help="A name for this worker in its log lines (default: a random one).",
        )

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
        use_worker_lock_timeout()
        sweep_dead_temporaries()  # files a killed process left in GHEE_MEDIA_TMP_DIR
        worker.configure_signals()
        worker.run()
