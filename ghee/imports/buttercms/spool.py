"""Where fetched items wait between discovery and writing: a SQLite file on disk.

The schema is inferred from every value before the first item is written, so the items must
be kept somewhere meanwhile; keeping them in memory would make the importer's memory grow
with the account. The spool keeps each item version (collection, source id, locale) once,
with whether the source serves it published, and hands items back one at a time, each with
all its locale versions, in the order the source listed them.
"""

import json
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

NO_LOCALE = ""


@dataclass
class SourceItem:
    collection: str
    source_id: int
    # locale ("" without locales) -> (the item as the source returned it with preview=1,
    # whether the source serves it published)
    versions: dict[str, tuple[dict, bool]]


class Spool:
    def __init__(self, directory: Path | None = None) -> None:
        if directory is not None:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix="buttercms-", suffix=".sqlite", dir=directory)
        Path(name).chmod(0o600)
        self.path = Path(name)
        os.close(handle)
        self._db = sqlite3.connect(self.path)
        self._db.executescript(
            """
            PRAGMA journal_mode = OFF;
            PRAGMA synchronous = OFF;
            CREATE TABLE items (collection TEXT, source_id INTEGER, position INTEGER,
                                PRIMARY KEY (collection, source_id));
            CREATE TABLE versions (collection TEXT, source_id INTEGER, locale TEXT, data TEXT,
                                   published INTEGER DEFAULT 0,
                                   PRIMARY KEY (collection, source_id, locale));
            """
        )
        self._position = 0

    def add(self, collection: str, locale: str | None, source_id: int, item: dict) -> None:
        self._position += 1
        self._db.execute(
            "INSERT OR IGNORE INTO items VALUES (?, ?, ?)", (collection, source_id, self._position)
        )
        self._db.execute(
            "INSERT INTO versions (collection, source_id, locale, data) VALUES (?, ?, ?, ?) "
            "ON CONFLICT DO UPDATE SET data = excluded.data",
            (collection, source_id, locale or NO_LOCALE, json.dumps(item)),
        )

    def mark_published(self, collection: str, locale: str | None, source_ids: list[int]) -> None:
        self._db.executemany(
            "UPDATE versions SET published = 1 WHERE collection = ? AND source_id = ? "
            "AND locale = ?",
            [(collection, source_id, locale or NO_LOCALE) for source_id in source_ids],
        )

    def count(self, collection: str) -> int:
        return self._db.execute(
            "SELECT count(*) FROM items WHERE collection = ?", (collection,)
        ).fetchone()[0]

    def items(self, collection: str) -> Iterator[SourceItem]:
        """The collection's items in the source's order, each with all its versions."""
        rows = self._db.execute(
            "SELECT v.source_id, v.locale, v.data, v.published FROM versions v "
            "JOIN items i ON i.collection = v.collection AND i.source_id = v.source_id "
            "WHERE v.collection = ? ORDER BY i.position, v.locale",
            (collection,),
        )
        current: SourceItem | None = None
        for source_id, locale, data, published in rows:
            if current is None or current.source_id != source_id:
                if current is not None:
                    yield current
                current = SourceItem(collection, source_id, {})
            current.versions[locale] = (json.loads(data), bool(published))
        if current is not None:
            yield current

    def close(self) -> None:
        self._db.close()
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> "Spool":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
