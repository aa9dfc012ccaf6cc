"""Storage: the ``Store`` interface and its DuckDB backend."""

from __future__ import annotations

import os

from shopguide.config import get_settings
from shopguide.store.base import Store
from shopguide.store.duckdb_store import DuckDBStore


def open_store(
    path: str | os.PathLike[str] | None = None, *, create: bool = True, read_only: bool = False
) -> Store:
    """Open the store at ``path``, migrating it to this version's schema.

    Without a path, ``SHOPGUIDE_DB`` or ``./shopguide.duckdb`` is used. With ``create=True``
    (the default, for starting a store from Python) a missing file is created with its folder.
    Code that only reads or updates a store passes ``create=False``: a missing (for example
    mistyped) path then raises :class:`~shopguide.errors.StoreNotFoundError` and nothing is
    written. Every CLI command except ``init`` and ``ingest`` opens stores that way.
    """
    settings = get_settings()
    return DuckDBStore(
        path if path is not None else settings.db,
        create=create,
        memory_limit=settings.memory_limit,
        threads=settings.threads,
        read_only=read_only,
    )


__all__ = ["DuckDBStore", "Store", "open_store"]
