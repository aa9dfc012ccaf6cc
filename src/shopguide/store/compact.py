"""Rewriting a DuckDB store file so deleted rows leave no bytes behind.

DuckDB does not overwrite the blocks a ``DELETE`` frees: ``CHECKPOINT`` and ``FORCE
CHECKPOINT`` mark them free and later writes reuse them, but until then the deleted values
(an erased user's id among them) can still be read from the file with a hex editor. Measured on
DuckDB 2.0: after deleting a user's rows and checkpointing, every copy of the id was still in
the file. :func:`compact_store` copies the live data into a new file (``ATTACH`` + ``COPY FROM
DATABASE``) and renames it over the old one, so the file holds only what the tables hold.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import duckdb

from shopguide.errors import StoreError, StoreLockedError, StoreNotFoundError
from shopguide.store.duckdb_store import lock_holder

__all__ = ["compact_store"]


def compact_store(path: str | os.PathLike[str]) -> dict[str, int]:
    """Rewrite the store file at ``path`` with only its live data; returns the sizes.

    Needs the file to itself: while another process (``shopguide serve``) holds it, this raises
    :class:`~shopguide.errors.StoreLockedError` naming that process and changes nothing. The
    new file is complete (written, checkpointed and synced) before it replaces the old one with
    an atomic rename, so a crash leaves either the old or the new file, never a mix. Returns
    ``{"bytes_before", "bytes_after"}``.
    """
    target = Path(path)
    if not target.is_file():
        raise StoreNotFoundError(target)
    before = target.stat().st_size
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.compact-", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()  # DuckDB creates the file itself (an empty file is not a database)
    try:
        try:
            con = duckdb.connect(str(target))
        except duckdb.Error as exc:
            locked = lock_holder(exc)
            if locked is not None:  # the same message as any command meeting the lock
                raise StoreLockedError(str(target), *locked) from None
            raise StoreError(
                f"cannot compact {target}: {exc}",
                hint="stop the process that holds the store (shopguide serve) and run "
                "shopguide compact",
            ) from exc
        try:
            source = con.execute("SELECT current_database()").fetchone()
            assert source is not None
            con.execute(f"ATTACH '{_quoted(tmp)}' AS shopguide_compact")
            con.execute(f'COPY FROM DATABASE "{source[0]}" TO shopguide_compact')
            con.execute("DETACH shopguide_compact")
        finally:
            con.close()
        if Path(f"{tmp}.wal").exists():
            raise StoreError(f"compacting {target} left a write-ahead log; the store is unchanged")
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    finally:
        for leftover in (tmp, Path(f"{tmp}.wal")):
            if leftover.exists():
                leftover.unlink()
    return {"bytes_before": before, "bytes_after": target.stat().st_size}


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")
