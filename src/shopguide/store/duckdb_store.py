"""The default backend: one DuckDB file, created on first use and migrated on open."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import duckdb
import pandas as pd
import pyarrow as pa

from shopguide.errors import (
    ConfigError,
    SchemaVersionError,
    StoreError,
    StoreLockedError,
    StoreNotFoundError,
)
from shopguide.store.base import Params, Store
from shopguide.store.schema import LATEST_VERSION, MIGRATIONS

#: DuckDB's words when another process holds the file: "... Conflicting lock is held in
#: /usr/bin/python3 (PID 1234). See also ..."; some platforms give no PID.
_LOCK_HELD = re.compile(
    r"Conflicting lock is held in (?P<exe>.+?)(?: \(PID (?P<pid>\d+)\)|\. See|$)"
)


def lock_holder(exc: duckdb.Error) -> tuple[int | None, str | None] | None:
    """The (PID, command line) of the process holding the store when ``exc`` is DuckDB's lock
    conflict, else ``None``. The command line comes from ``/proc`` where there is one."""
    if not isinstance(exc, duckdb.IOException):
        return None
    found = _LOCK_HELD.search(str(exc))
    if found is None:
        return None
    pid = int(found["pid"]) if found["pid"] else None
    command: str | None = found["exe"].strip() or None
    if pid is not None:
        with contextlib.suppress(OSError):
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
            words = [w.decode(errors="replace") for w in raw.split(b"\0") if w]
            if words:
                command = " ".join(words)
    if command is not None and len(command) > 200:
        command = command[:199] + "…"
    return pid, command


class DuckDBStore(Store):
    """A store in a single DuckDB file.

    Parameters
    ----------
    path:
        The database file. ``":memory:"`` gives a throwaway store.
    create:
        Create the file (and its folder) when it does not exist. When false, a missing file
        raises :class:`~shopguide.errors.StoreNotFoundError` and nothing is written to disk.
    memory_limit, threads:
        Passed to DuckDB; ``None`` keeps DuckDB's defaults.
    read_only:
        Open without the right to write (several readers may share a file).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        create: bool = True,
        memory_limit: str | None = None,
        threads: int | None = None,
        read_only: bool = False,
    ) -> None:
        self.path = Path(path)
        self._in_memory = str(path) == ":memory:"
        if not self._in_memory and self.path.is_dir():
            raise StoreError(
                f"{path} is a folder, not a store file",
                hint=f"name a file for --db (or SHOPGUIDE_DB), such as {self.path / 'shop.duckdb'}",
            )
        if not self._in_memory and not self.path.exists():
            if read_only or not create:  # the one place a missing store is noticed
                raise StoreNotFoundError(path)
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except (FileExistsError, NotADirectoryError):
                raise StoreError(
                    f"cannot create the store {path}: a part of its folder path is a file, "
                    "not a folder",
                    hint="choose a --db path whose folders are folders (or do not exist yet)",
                ) from None
            except OSError as exc:
                raise StoreError(
                    f"cannot create the store {path}: {exc.strerror}",
                    hint="choose a --db path in a folder you can write to",
                ) from None
        config: dict[str, Any] = {}
        if memory_limit:
            config["memory_limit"] = memory_limit
        if threads:
            config["threads"] = threads
        try:
            self._con: duckdb.DuckDBPyConnection | None = duckdb.connect(
                str(path), read_only=read_only, config=config
            )
        except duckdb.Error as exc:
            locked = lock_holder(exc)
            if locked is not None:
                raise StoreLockedError(str(path), *locked) from None
            _check_config(config)
            raise StoreError(
                f"cannot open the store {path}: {exc}",
                hint="check the path, and that no other process is writing to it",
            ) from exc
        self._depth = 0
        self._configure()
        if not read_only:
            self._migrate()
        elif self.schema_version > LATEST_VERSION:
            raise self._too_new(self.schema_version)

    # -- connection -------------------------------------------------------------------------
    def _configure(self) -> None:
        """The per-connection settings every ShopGuide connection runs with."""
        self.con.execute("SET TimeZone = 'UTC'")
        # Jupyter without ipywidgets refuses the setting; the bar is off there already
        with contextlib.suppress(duckdb.InvalidInputException):
            self.con.execute("SET enable_progress_bar = false")

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection (for backends-aware code such as bulk SQL)."""
        if self._con is None:
            raise StoreError("the store is closed")
        return self._con

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def reader(self) -> DuckDBStore:
        """A second connection to the same database, for one other thread.

        It has its own transactions: it sees only committed data, so its reads neither wait
        for nor see a transaction open on this connection. One connection must not be used by
        two threads at once; give each thread its own reader and close it when done.
        """
        other = DuckDBStore.__new__(DuckDBStore)
        other.path, other._in_memory, other._depth = self.path, self._in_memory, 0
        other._con = self.con.cursor()
        other._configure()
        return other

    # -- schema -----------------------------------------------------------------------------
    def _too_new(self, version: int) -> SchemaVersionError:
        return SchemaVersionError(
            f"the store {self.path} has schema version {version}, newer than this ShopGuide "
            f"knows ({LATEST_VERSION})",
            hint="upgrade ShopGuide (pip install -U shopguide) or use another --db",
        )

    @property
    def schema_version(self) -> int:
        if not self.has_table("schema_version"):
            return 0
        return int(self.scalar("SELECT coalesce(max(version), 0) FROM schema_version"))

    def _migrate(self) -> None:
        self.execute(
            "CREATE TABLE IF NOT EXISTS schema_version "
            "(version INTEGER NOT NULL, applied_at TIMESTAMP NOT NULL)"
        )
        current = self.schema_version
        if current > LATEST_VERSION:
            raise self._too_new(current)
        for version in sorted(v for v in MIGRATIONS if v > current):
            with self.transaction():
                for statement in MIGRATIONS[version]:
                    self.execute(statement)
                self.execute(
                    "INSERT INTO schema_version VALUES (?, ?)",
                    [version, datetime.now(UTC).replace(tzinfo=None)],
                )

    # -- queries ----------------------------------------------------------------------------
    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    @contextlib.contextmanager
    def transaction(self) -> Iterator[DuckDBStore]:
        """Nested calls join the outer transaction; the outermost commits or rolls back."""
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        self.con.begin()
        self._depth = 1
        try:
            yield self
        except BaseException:
            self._depth = 0
            self.con.rollback()
            raise
        self._depth = 0
        self.con.commit()

    def execute(self, sql: str, params: Params = None) -> None:
        self.con.execute(sql, params)

    def query_df(self, sql: str, params: Params = None) -> pd.DataFrame:
        return self.con.execute(sql, params).df()

    def query_arrow(self, sql: str, params: Params = None) -> pa.Table:
        return self.con.sql(sql, params=params).to_arrow_table()

    def query_batches(
        self, sql: str, params: Params = None, batch_rows: int = 1_000_000
    ) -> Iterator[pa.RecordBatch]:
        cursor = self.con.cursor()
        reader: pa.RecordBatchReader = cursor.sql(sql, params=params).to_arrow_reader(batch_rows)
        try:
            yield from reader
        finally:
            cursor.close()

    def scalar(self, sql: str, params: Params = None) -> Any:
        row = self.con.execute(sql, params).fetchone()
        if row is not None and hasattr(self.con, "abort"):
            self.con.abort()  # drop the rest of the result, or the next statement is refused
        return None if row is None else row[0]

    def rows(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        return self.con.execute(sql, params).fetchall()

    def append(self, table: str, data: pd.DataFrame | pa.Table) -> int:
        if len(data) == 0:
            return 0
        name = "_shopguide_append"
        self.con.register(name, data)
        try:
            names = data.column_names if isinstance(data, pa.Table) else list(data.columns)
            cols = ", ".join(f'"{c}"' for c in names)
            self.con.execute(f'INSERT INTO "{table}" ({cols}) SELECT {cols} FROM {name}')
        finally:
            self.con.unregister(name)
        return len(data)

    def has_table(self, name: str) -> bool:
        return bool(
            self.scalar(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
            )
        )


#: The environment variable behind each DuckDB setting a store is opened with.
_CONFIG_VARIABLES: Final = {
    "memory_limit": "SHOPGUIDE_MEMORY_LIMIT",
    "threads": "SHOPGUIDE_THREADS",
}


def _check_config(config: dict[str, Any]) -> None:
    """After a store failed to open: raise :class:`ConfigError` naming the setting when DuckDB
    refuses one of ``config``'s values on its own (so the store was not the problem)."""
    for name, value in config.items():
        try:
            duckdb.connect(":memory:", config={name: value}).close()
        except duckdb.Error as exc:
            variable = _CONFIG_VARIABLES.get(name, name)
            raise ConfigError(
                f"DuckDB does not take the {name.replace('_', ' ')} '{value}' ({variable}): "
                + str(exc).split(": ", 1)[-1],
                hint=f"set {variable} to a value such as "
                + ("4GB" if name == "memory_limit" else "2")
                + ", or unset it for DuckDB's default",
            ) from None
