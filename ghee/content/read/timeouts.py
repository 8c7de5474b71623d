"""A time limit on each read query: ``GHEE_READ_TIMEOUT_MS`` (0: none).

A read whose query runs past the limit is cancelled by the database and answered with 503
``{"detail": ...}`` and ``Retry-After`` (``ReadTimedOut``): the request caps in
``read.budget`` already bound a query's shape, so a read still this slow means the database
is busy or the collection is very large, and the same read may well succeed a moment later.
Writes, workers and the dashboard never run under the limit.

- PostgreSQL: ``SET statement_timeout`` on the connection. Reads are the hot path, so the
  setting stays on the connection after a read (no second round trip to reset it); the
  next request that is not a read resets it (``SET statement_timeout TO DEFAULT``) before
  its first query, from ``request_started``. So a connection pays one ``SET`` when it
  switches from other work to reads, not one per read. Read views open no transaction;
  a read inside one (tests run in one) uses ``SET LOCAL`` instead, once per innermost
  atomic block, which ends with the transaction.
- SQLite: a progress handler on the connection that interrupts the statement once the
  deadline has passed; installed for the read and removed after it (no database work).
"""

from __future__ import annotations

import functools
import sqlite3
import time
from contextlib import contextmanager

from django.conf import settings
from django.core.signals import request_started
from django.db import DatabaseError, OperationalError, connection
from django.db.backends.signals import connection_created
from rest_framework import exceptions, status

from ghee.core.errors import error_response

# SQLite calls the progress handler every this many virtual machine instructions: about
# every 0.1 ms of query work, so the deadline is kept within a millisecond or so, at a cost
# too small to measure.
SQLITE_PROGRESS_STEPS = 10_000
RETRY_AFTER_SECONDS = 1
# Set on a PostgreSQL DatabaseWrapper: the statement_timeout (ms) its session holds for reads,
# or None when the session is at its default.
_SESSION_ATTRIBUTE = "ghee_read_timeout_ms"
# Set on a PostgreSQL DatabaseWrapper: (atomic block, ms) of the last SET LOCAL.
_LOCAL_ATTRIBUTE = "ghee_read_timeout_local"
# PostgreSQL's SQLSTATE for "canceling statement due to statement timeout".
QUERY_CANCELED = "57014"


class ReadTimedOut(exceptions.APIException):
    """503: the read's query ran past ``GHEE_READ_TIMEOUT_MS`` and was cancelled."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "read_timed_out"

    def __init__(self, timeout_ms: int) -> None:
        super().__init__(
            f"The read took longer than {timeout_ms} ms and was cancelled; try again later, "
            "or read fewer items (page_size) with fewer filters"
        )


def time_limited(view):
    """A read view whose queries run under ``read_time_limit``; a cancelled read is a 503
    with ``Retry-After`` (answered here: the endpoint layer's error renderer sets no such
    header)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        try:
            with read_time_limit():
                return view(*args, **kwargs)
        except ReadTimedOut as exc:
            response = error_response(exc)
            response["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response

    return wrapper


@contextmanager
def read_time_limit():
    """Run the block's queries under ``GHEE_READ_TIMEOUT_MS``; raise ``ReadTimedOut`` when
    one of them is cancelled for running past it."""
    timeout_ms = settings.GHEE_READ_TIMEOUT_MS
    if timeout_ms <= 0:
        yield
        return
    if connection.vendor == "sqlite":
        with _sqlite_deadline(timeout_ms):
            yield
        return
    if connection.vendor == "postgresql":
        _postgresql_timeout(timeout_ms)
        try:
            yield
        except OperationalError as exc:
            if getattr(exc.__cause__, "sqlstate", None) == QUERY_CANCELED:
                raise ReadTimedOut(timeout_ms) from exc
            raise
        return
    yield


@contextmanager
def _sqlite_deadline(timeout_ms: int):
    connection.ensure_connection()
    raw = connection.connection
    deadline = time.monotonic() + timeout_ms / 1000
    expired = False

    def past_deadline() -> int:
        nonlocal expired
        expired = time.monotonic() > deadline
        return expired  # non-zero: SQLite interrupts the statement

    raw.set_progress_handler(past_deadline, SQLITE_PROGRESS_STEPS)
    try:
        yield
    except OperationalError as exc:
        if expired and isinstance(exc.__cause__, sqlite3.OperationalError):
            raise ReadTimedOut(timeout_ms) from exc
        raise
    finally:
        raw.set_progress_handler(None, 0)


def _postgresql_timeout(timeout_ms: int) -> None:
    if connection.in_atomic_block:
        # SET LOCAL lasts until the innermost atomic block (transaction or savepoint) ends:
        # remember the block (the object, so that a later one is never taken for it).
        block = connection.atomic_blocks[-1]
        if getattr(connection, _LOCAL_ATTRIBUTE, None) == (block, timeout_ms):
            return
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL statement_timeout = {int(timeout_ms)}")
        setattr(connection, _LOCAL_ATTRIBUTE, (block, timeout_ms))
        return
    connection.ensure_connection()
    if getattr(connection, _SESSION_ATTRIBUTE, None) == timeout_ms:
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SET statement_timeout = {int(timeout_ms)}")
    setattr(connection, _SESSION_ATTRIBUTE, timeout_ms)


def _is_read(environ) -> bool:
    return environ.get("REQUEST_METHOD") in ("GET", "HEAD") and environ.get(
        "PATH_INFO", ""
    ).startswith("/v2/content")


def reset_after_reads(sender, environ=None, **kwargs) -> None:
    """Before a request that is not a read: give the connection its default timeout back.

    Runs after Django's own ``request_started`` receiver has closed an expired connection
    (a closed one has nothing to reset)."""
    if not _is_read(environ or {}):
        reset_read_timeout()


def reset_read_timeout() -> None:
    """Give this thread's connection its default statement timeout back, if a read changed
    it. A database error here is left to the next query to meet and report."""
    if getattr(connection, _SESSION_ATTRIBUTE, None) is None:
        return
    if connection.connection is None:
        setattr(connection, _SESSION_ATTRIBUTE, None)
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout TO DEFAULT")
    except DatabaseError:
        return
    setattr(connection, _SESSION_ATTRIBUTE, None)


def forget_session(sender, connection, **kwargs) -> None:
    """A new connection starts at the default timeout."""
    setattr(connection, _SESSION_ATTRIBUTE, None)


def connect_signals() -> None:
    """Called from ``ContentConfig.ready``: reset after reads, forget on a new connection."""
    request_started.connect(reset_after_reads, dispatch_uid="ghee.read.reset_after_reads")
    connection_created.connect(forget_session, dispatch_uid="ghee.read.forget_session")
