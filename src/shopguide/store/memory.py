"""DuckDB held to a bounded memory for one large piece of work.

DuckDB's own memory limit defaults to 80 % of the machine. A load of tens of millions of rows,
or a read of every event in time order, would take all of it; under :func:`bounded_memory` it
spills to the store's ``.tmp`` folder instead. A limit the user configured
(``SHOPGUIDE_MEMORY_LIMIT``) is left alone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Final

import duckdb

from shopguide.config import get_settings
from shopguide.store.base import Store
from shopguide.store.duckdb_store import DuckDBStore

__all__ = ["WORK_MEMORY", "bounded_memory"]

#: DuckDB's memory limit during the work, unless one is configured.
WORK_MEMORY: Final = "1GB"


@contextlib.contextmanager
def bounded_memory(store: Store) -> Iterator[None]:
    """Hold DuckDB to :data:`WORK_MEMORY` meanwhile, then give it back its default (an
    in-memory store, or one with a configured limit, is left as it is)."""
    if (
        not isinstance(store, DuckDBStore)
        or get_settings().memory_limit
        or store.path.name == ":memory:"
    ):
        yield
        return
    store.execute(f"SET memory_limit = '{WORK_MEMORY}'")
    try:
        yield
    finally:
        with contextlib.suppress(duckdb.Error):  # a failed outer transaction refuses it
            store.execute("RESET memory_limit")  # back to DuckDB's default, as configured
