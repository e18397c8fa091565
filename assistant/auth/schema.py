"""Bring an existing database up to the tables' current shape, additively.

`create_all` creates missing tables but never touches existing ones, so a column added in
a later version would be missing from a database made before it. Each such column is
nullable (or has a server default) and is added here on open with a plain `ALTER TABLE
... ADD COLUMN`, which SQLite and PostgreSQL both run in place; nothing is dropped or
rewritten, so an older version still reads the same database.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import MetaData, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.schema import Column


def missing_columns(engine: Engine, metadata: MetaData) -> list[tuple[str, Column[Any]]]:
    """(table, column) pairs the model has and the database lacks."""
    present = inspect(engine)
    out = []
    for table in metadata.sorted_tables:
        if not present.has_table(table.name):
            continue  # create_all makes it whole
        have = {c["name"] for c in present.get_columns(table.name)}
        out += [(table.name, c) for c in table.columns if c.name not in have]
    return out


def add_missing_columns(engine: Engine, metadata: MetaData) -> list[str]:
    """Add each missing (nullable) column; the names added, as `table.column`."""
    added = []
    preparer = engine.dialect.identifier_preparer
    for table, column in missing_columns(engine, metadata):
        kind = column.type.compile(dialect=engine.dialect)
        statement = (
            f"ALTER TABLE {preparer.quote(table)} ADD COLUMN {preparer.quote(column.name)} {kind}"
        )
        try:
            with engine.begin() as conn:
                conn.execute(text(statement))
        except DBAPIError:  # another process added it first: fine; anything else: raise
            have = {c["name"] for c in inspect(engine).get_columns(table)}
            if column.name not in have:
                raise
            continue
        added.append(f"{table}.{column.name}")
    return added
