"""The data directory and the SQLite database hold tokens' digests, sessions and every
item: readable by ghee's own user only (0700 and 0600), whatever the umask was when they
were created. Applied when a SQLite connection opens, so files SQLite creates later (the
database itself, its -wal and -shm companions) are covered too."""

import stat
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")


def make_private(path: Path, mode: int) -> None:
    """chmod ``path`` to ``mode`` if it exists and anyone else has access to it."""
    try:
        current = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if current & 0o077:
        path.chmod(mode)


def protect_sqlite_database(sender, connection, **kwargs) -> None:
    """``connection_created`` receiver: tighten the database file and its directory."""
    if connection.vendor != "sqlite":
        return
    name = str(connection.settings_dict.get("NAME") or "")
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    database = Path(name)
    make_private(database.parent, PRIVATE_DIR)
    for suffix in SQLITE_COMPANIONS:
        make_private(database.with_name(database.name + suffix), PRIVATE_FILE)
