"""Surviving the database: dead connections, lost servers and SQLite's write lock.

Three situations, each handled without a query on the hot path:

- **A reused PostgreSQL connection that the server closed** (``pg_terminate_backend``, a
  restart, an idle timeout). The server says so before it hangs up (a ``FATAL`` message,
  then end of file), so the connection's socket is readable while nobody is waiting for an
  answer. ``drop_dead_connections`` looks at the socket with one zero-timeout ``poll()``
  at the start of every request (and every worker loop) and closes such a connection, so
  the next query opens a fresh one instead of failing. Django's ``CONN_HEALTH_CHECKS``
  would do the same with a ``SELECT 1`` round trip per request, which cost 1.2-2.9x on the
  accept path (``GHEE_DB_HEALTH_CHECKS`` still turns it on). A connection that dies in the
  middle of a request still fails that request.
- **A lost database under a worker** (``connection_lost``): the worker closes the
  connection and tries again with backoff instead of exiting.
- **SQLite's write lock held too long** by another process (``database_busy``): the API's
  writes wait at most ``GHEE_SQLITE_WRITE_TIMEOUT`` seconds, then answer 503 with
  ``Retry-After`` (``DatabaseBusy``) having accepted nothing. Reads never need the lock
  (WAL); the one write a read may make, recording a token's use, is ``best_effort`` and
  never waits.
"""

import contextlib
import logging
import select

from django.db import DatabaseError, InterfaceError, OperationalError, connections
from rest_framework import exceptions, status

logger = logging.getLogger("ghee.db")

# Seconds a client is told to wait after a 503 for SQLite's write lock.
BUSY_RETRY_AFTER = 1


class DatabaseBusy(exceptions.APIException):
    """503: a write could not get SQLite's write lock in time; nothing was accepted.

    ``wait`` is what DRF's ``Throttled`` carries: the error renderer sends it as
    ``Retry-After``.
    """

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The database is busy; nothing was accepted. Try again shortly."
    default_code = "database_busy"

    def __init__(self) -> None:
        super().__init__()
        self.wait = BUSY_RETRY_AFTER


def database_busy(exc: BaseException) -> bool:
    """SQLite's write lock stayed taken past the busy timeout."""
    message = str(exc)
    return isinstance(exc, OperationalError) and (
        "database is locked" in message or "database table is locked" in message
    )


def _socket_says_closed(raw_connection) -> bool:
    """True when the server has spoken (or hung up) while no query was running."""
    try:
        fd = raw_connection.fileno()
    except Exception:  # closed, or broken: either way not worth keeping
        return True
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))


def drop_dead_connections(**kwargs) -> int:
    """Close this thread's idle PostgreSQL connections that the server has closed.

    Connected to ``request_started`` (after Django's own ``close_old_connections``); the
    worker calls it every loop. Costs one ``poll()`` system call per open connection.
    Returns how many it closed.
    """
    dropped = 0
    for conn in connections.all(initialized_only=True):
        raw = conn.connection
        if raw is None or conn.vendor != "postgresql" or conn.in_atomic_block:
            continue
        if _socket_says_closed(raw):
            logger.warning(
                "The database closed connection %r while it was idle; opening a new one",
                conn.alias,
            )
            with contextlib.suppress(DatabaseError):
                conn.close()
            dropped += 1
    return dropped


# SQLSTATEs of a session the server ended: class 08 (connection exception), and 57P01-57P03
# (terminated by pg_terminate_backend or a shutdown, crash, server not accepting yet).
_SESSION_ENDED = ("08", "57P01", "57P02", "57P03")


def _server_ended_session(exc: OperationalError) -> bool:
    """psycopg's error (Django keeps it as ``__cause__``) says the session is over: by its
    SQLSTATE, or by having none. The server sends a SQLSTATE with every error of its own;
    one without was raised by the client library about the connection itself (the socket
    closed under a query, a send or receive failed, no connection could be made)."""
    cause = exc.__cause__
    if not hasattr(cause, "pgconn"):  # not psycopg's (SQLite's errors have no SQLSTATE)
        return False
    sqlstate = cause.sqlstate or ""
    return not sqlstate or sqlstate.startswith(_SESSION_ENDED)


def connection_lost(exc: BaseException, alias: str = "default") -> bool:
    """Whether ``exc`` means the connection (or the server) is gone, not a bad query.

    A lost connection is an ``InterfaceError`` ("connection already closed"), or an
    ``OperationalError`` after which the connection no longer answers (or never opened:
    the server is down). An error on a connection that still answers is something else
    (a missing table, a lock on SQLite) and is not retried as a reconnect.
    """
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError) or database_busy(exc):
        return False
    if _server_ended_session(exc):
        # Said by the error itself: when it ended a transaction, Django has already replaced
        # the dead connection with a fresh one that answers (leaving an atomic block
        # reconnects to restore autocommit), so asking the connection is not enough.
        return True
    conn = connections[alias]
    if conn.connection is None:
        return True
    try:
        return not conn.is_usable()
    except Exception:
        return True


def close_quietly(alias: str = "default") -> None:
    """Drop a connection that may already be dead (closing it must not raise)."""
    with contextlib.suppress(Exception):
        connections[alias].close()


@contextlib.contextmanager
def best_effort(alias: str = "default"):
    """Run a write that may be skipped: on SQLite it never waits for the write lock.

    For bookkeeping on the read path (a token's ``last_used_at``): when another process
    holds the lock the write is skipped at once rather than making the read wait.
    """
    conn = connections[alias]
    if conn.vendor != "sqlite":
        yield
        return
    conn.ensure_connection()
    with conn.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout")
        (previous,) = cursor.fetchone()
        cursor.execute("PRAGMA busy_timeout = 0")
    try:
        yield
    except OperationalError as exc:
        if not database_busy(exc):
            raise
        logger.debug("Skipped a best-effort write: the database is busy")
    finally:
        with conn.cursor() as cursor:
            cursor.execute(f"PRAGMA busy_timeout = {int(previous)}")
