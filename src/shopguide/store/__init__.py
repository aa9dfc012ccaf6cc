"""Storage: the ``Store`` interface and its DuckDB backend."""

from __future__ import annotations

import os

from shopguide.config import get_settings
from shopguide.store.base import Store
from shopguide.store.duckdb_store import DuckDBStore


def open_store(path: str | os.PathLike[str] | None = None, *, read_only: bool = False) -> Store:
    """Open (creating and migrating if needed) the store at ``path``.

    Without a path, ``SHOPGUIDE_DB`` or ``./shopguide.duckdb`` is used.
    """
    settings = get_settings()
    return DuckDBStore(
        path if path is not None else settings.db,
        memory_limit=settings.memory_limit,
        threads=settings.threads,
        read_only=read_only,
    )


__all__ = ["DuckDBStore", "Store", "open_store"]
