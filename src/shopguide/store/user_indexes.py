"""Indexes on ``user_id`` that let a live update find a few users' rows without a scan.

A live profile update reads the events and the ``users`` rows of a batch's users and replaces
their ``profiles`` rows. Without an index DuckDB reads the whole ``user_id`` column of each
table to find them: at 1M users and 10M events in time order, 60-70 ms for the events and
10-15 ms for the profiles, per batch. With an ART index on ``user_id`` each takes a few
milliseconds (see ``docs/benchmarks.md``).

The indexes only make things faster; no result depends on them. Nothing creates them but a
live update or ``shopguide serve`` (:func:`ensure_user_indexes`), so a store that is only
loaded and rebuilt never pays for them. Keeping an index up to date is what costs: at 1M
profiles, inserting a million rows into the indexed table took 1.5 s more at commit and
deleting a million took 36 s, against 1.3 s to build the index again. So:

- a load that adds more than a sixth of a table's rows drops the table's index first
  (:func:`prepare_bulk_write`);
- every write to ``profiles`` but a live update in place (a build, a refresh, deleting a
  version) drops its index first (:func:`drop_user_index`); a population refresh, whose
  live updates go on meanwhile, keeps them from building it again until it is done
  (:func:`without_user_index`) and builds it again at its end.

An index has to be dropped before the transaction that writes, not inside it: DuckDB still
updates it at commit. The next live update builds a dropped index again; ``shopguide serve``
builds them all at start-up. Only this module names the indexes. A migration that alters an
indexed table must drop its index first: DuckDB does not alter a table that has an index.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from typing import Any, Final

from shopguide.store.base import Store
from shopguide.store.duckdb_store import DuckDBStore

__all__ = [
    "USER_INDEXES",
    "drop_user_index",
    "ensure_user_indexes",
    "has_user_index",
    "indexed_tables",
    "prepare_bulk_write",
    "raise_user_lookups",
    "user_lookups",
    "without_user_index",
]

#: The tables a live update reads by user, with the name of their index on ``user_id``.
USER_INDEXES: Final = {
    "events": "events_by_user",
    "users": "users_by_user",
    "profiles": "profiles_by_user",
}

#: A bulk write adding more rows than this fraction of the table's drops the table's index:
#: building it again (~0.3 s per million rows) then costs less than updating it row by row
#: (~1.8 s per million).
REBUILD_FRACTION: Final = 1 / 6

#: How many keys DuckDB looks up through an index by default when a statement finds rows by a
#: list of users (``user_id = ANY($ids)``, planned as a join): its ``dynamic_or_filter_threshold``.
#: With more keys it reads the table's whole ``user_id`` column instead.
DUCKDB_LOOKUP_KEYS: Final = 50

#: Connections that have seen every index committed. Cleared whenever one is dropped: DuckDB
#: lets one process write a store, so this process's connections are the only ones to tell.
_READY: weakref.WeakSet[Store] = weakref.WeakSet()

#: (store file, table) pairs whose index must not be built meanwhile, with how many holders.
_SUSPENDED: Counter[tuple[str, str]] = Counter()
_SUSPENDED_LOCK = threading.Lock()


def _suspension(store: Store, table: str) -> tuple[str, str]:
    return (str(store.path), table)


def _suspended(store: Store, table: str) -> bool:
    with _SUSPENDED_LOCK:
        return _SUSPENDED[_suspension(store, table)] > 0


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


def ensure_user_indexes(store: Store, tables: Iterable[str] = tuple(USER_INDEXES)) -> bool:
    """Create the missing indexes of ``tables`` (default all of :data:`USER_INDEXES`), but those
    held off by :func:`without_user_index`; idempotent; returns whether it created one. Once a
    connection has seen them all committed, it does not ask again."""
    if store in _READY or not isinstance(store, DuckDBStore):
        return False
    have = indexed_tables(store)
    missing = [t for t in tables if t not in have and store.has_table(t)]
    wanted = [t for t in missing if not _suspended(store, t)]
    for table in wanted:
        _create(store, table)
    everything = len(wanted) == len(missing) and set(tables) == set(USER_INDEXES)
    if everything and not store.in_transaction:  # all there, committed
        _READY.add(store)
    return bool(wanted)


def has_user_index(store: Store, table: str) -> bool:
    """Whether ``table`` has its user index (known without a query once all are there)."""
    return store in _READY or table in indexed_tables(store)


def drop_user_index(store: Store, table: str) -> None:
    """Drop ``table``'s user index if it has one, before writing or deleting many of its rows.

    Only outside a transaction, before the one that writes: an index dropped inside the
    writing transaction is still updated row by row when that transaction commits (measured:
    a million profile rows deleted after the drop, 63 s at commit). Inside a caller's
    transaction it does nothing: the write then keeps the index up to date, which is correct,
    only slower.
    """
    name = USER_INDEXES.get(table)
    if name is None or not isinstance(store, DuckDBStore) or store.in_transaction:
        return
    if table not in indexed_tables(store):
        return
    store.execute(f'DROP INDEX "{name}"')
    _READY.clear()


def prepare_bulk_write(store: Store, table: str, rows: int) -> None:
    """Before a write of about ``rows`` rows into ``table`` (outside its transaction): drop the
    table's user index when that many rows would cost more to index one by one than to index
    again later."""
    # every API batch asks: the row count first, it costs less than the catalog query
    if table in USER_INDEXES and rows > store.count(table) * REBUILD_FRACTION:
        drop_user_index(store, table)


@contextlib.contextmanager
def without_user_index(
    store: Store, table: str, *, rebuild_holding: AbstractContextManager[Any] | None = None
) -> Iterator[None]:
    """Drop ``table``'s user index for the block (committed at once) and keep
    :func:`ensure_user_indexes` from building it meanwhile, on any connection of this process
    to the same store. When the block ends without an error, build it again if it was there,
    holding ``rebuild_holding`` (what serialises the writes that would wait for it anyway)."""
    key = _suspension(store, table)
    with _SUSPENDED_LOCK:
        _SUSPENDED[key] += 1
    try:
        had = table in indexed_tables(store)
        drop_user_index(store, table)
        yield
        if had:  # still held off: a live update must not build it first, without the lock
            with rebuild_holding or contextlib.nullcontext(), store.transaction():
                _create(store, table)
    finally:
        with _SUSPENDED_LOCK:
            _SUSPENDED[key] -= 1


@contextlib.contextmanager
def user_lookups(store: Store, users: int) -> Iterator[None]:
    """Have the block's statements find up to ``users`` users' rows through the user indexes.

    Past :data:`DUCKDB_LOOKUP_KEYS` users DuckDB scans instead: at 1M users and 10M events,
    80 users' events took 47 ms that way against 8 ms through the index. The threshold is
    raised for the block and set back to DuckDB's default after it (ShopGuide sets it nowhere
    else but on the connections :func:`raise_user_lookups` keeps for such reads).
    """
    if users <= DUCKDB_LOOKUP_KEYS or not isinstance(store, DuckDBStore):
        yield
        return
    store.execute(f"SET dynamic_or_filter_threshold = {int(users)}")
    try:
        yield
    finally:
        store.execute("RESET dynamic_or_filter_threshold")


#: The lookup threshold each connection kept for users' rows has been raised to.
_RAISED: weakref.WeakKeyDictionary[Store, int] = weakref.WeakKeyDictionary()


def raise_user_lookups(store: Store, users: int) -> None:
    """Let ``store``'s statements find up to ``users`` users' rows through the user indexes
    from now on, as :func:`user_lookups` does for a block. Only for a connection kept for
    such reads (:func:`shopguide.profiles.batch_aggregates.read_batch_events_beside`): the
    threshold is never set back, only raised, which leaves a statement with fewer keys as it
    was; setting it once instead of twice a read saves ~1 ms."""
    if users <= max(DUCKDB_LOOKUP_KEYS, _RAISED.get(store, 0)):
        return
    if isinstance(store, DuckDBStore):
        store.execute(f"SET dynamic_or_filter_threshold = {int(users)}")
        _RAISED[store] = int(users)


def _create(store: Store, table: str) -> None:
    store.execute(f'CREATE INDEX IF NOT EXISTS "{USER_INDEXES[table]}" ON "{table}" (user_id)')
