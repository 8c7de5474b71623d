"""Multi-row INSERTs of database-ready values, for the worker's hot paths.

Building and preparing one model instance per row (``bulk_create``) cost more than the
database's own work for the worker's inserts (items, locale versions, index rows, outbox
events): measured, not guessed (docs/write-api.md).
"""

from django.db import connections, router


def insert_rows(model, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """INSERT ``rows`` (already database-ready values) with few multi-row statements.

    The worker's hot inserts skip model instances: building and preparing one per row
    cost more than the database work.
    """
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    names = ", ".join(quote(column) for column in columns)
    one_row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    # Multi-row VALUES: one statement per batch is far cheaper than a statement per row
    # (executemany), on PostgreSQL above all.
    batch = max(1, min(500, 30_000 // len(columns)))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch):
            part = rows[start : start + batch]
            values = ", ".join([one_row] * len(part))
            cursor.execute(
                f"INSERT INTO {quote(model._meta.db_table)} ({names}) VALUES {values}",  # noqa: S608
                [value for row in part for value in row],
            )
