"""Indexes on ``user_id`` that let a live update find a few users' rows without a scan.

A live profile update reads the events and the ``users`` rows of a batch's users. Without an
index DuckDB reads the whole ``user_id`` column to find them: at 1M users and 10M events in
time order, 60-70 ms per batch. With an ART index on ``user_id`` the same rows are found in a
few milliseconds (see ``docs/benchmarks.md``).

The indexes only make things faster; no result depends on them. Nothing creates them but a
live update (:func:`ensure_user_indexes`), so a store that is only loaded and rebuilt never pays
for them. Keeping an index up to date costs about 1.8 s per million inserted events, and more
for deleted rows, whereas building it again costs about 0.3 s per million rows of the table. So
a bulk write that adds more than a sixth of a table's rows drops the table's index first
(:func:`bulk_write`); the next live update builds it again.

Only :mod:`shopguide.store` names these indexes. A migration that alters ``events`` or
``users`` must drop them first: DuckDB does not alter a table that has an index.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator
from typing import Final

from shopguide.store.base import Store
from shopguide.store.duckdb_store import DuckDBStore

__all__ = ["USER_INDEXES", "bulk_write", "ensure_user_indexes", "indexed_tables"]

#: The tables a live update reads by user, with the name of their index on ``user_id``.
USER_INDEXES: Final = {"events": "events_by_user", "users": "users_by_user"}

#: A bulk write adding more rows than this fraction of the table's drops the table's index:
#: building it again (~0.3 s per million rows) then costs less than updating it row by row
#: (~1.8 s per million).
REBUILD_FRACTION: Final = 1 / 6

#: Connections that have seen every index committed. Cleared whenever one is dropped: DuckDB
#: lets one process write a store, so this process's connections are the only ones to tell.
_READY: weakref.WeakSet[Store] = weakref.WeakSet()


def indexed_tables(store: Store) -> set[str]:
    """The tables of :data:`USER_INDEXES` that have their index."""
    if not isinstance(store, DuckDBStore):
        return set()
    names = set(
        store.query_df(
            "SELECT index_name FROM duckdb_indexes() WHERE list_contains($names, index_name)",
            {"names": list(USER_INDEXES.values())},
        )["index_name"]
    )
    return {table for table, name in USER_INDEXES.items() if name in names}


def ensure_user_indexes(store: Store) -> bool:
    """Create the missing indexes of :data:`USER_INDEXES` (idempotent); returns whether it
    created one. Once a connection has seen them all committed, it does not ask again."""
    if store in _READY or not isinstance(store, DuckDBStore):
        return False
    missing = [t for t in USER_INDEXES if t not in indexed_tables(store) and store.has_table(t)]
    for table in missing:
        store.execute(f'CREATE INDEX IF NOT EXISTS "{USER_INDEXES[table]}" ON "{table}" (user_id)')
    if not store.in_transaction:  # committed, not inside a transaction that may still fail
        _READY.add(store)
    return bool(missing)


@contextlib.contextmanager
def bulk_write(store: Store, table: str, rows: int) -> Iterator[None]:
    """Around a write of about ``rows`` rows into ``table``: drop the table's user index first
    when that many rows would cost more to index one by one than to index again later."""
    name = USER_INDEXES.get(table)
    if (
        name is not None
        and rows > 0
        and table in indexed_tables(store)
        and rows > store.count(table) * REBUILD_FRACTION
    ):
        store.execute(f'DROP INDEX "{name}"')
        _READY.clear()
    yield
