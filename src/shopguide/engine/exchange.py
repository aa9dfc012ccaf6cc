"""Parquet in and out of the store: what the Spark engine reads and writes.

Layout of an engine data folder (what :func:`export_store` writes and
:func:`parquet_layout` finds)::

    DIR/events/event_date=2024-01-01/data_0.parquet   (Hive partitions by event day)
    DIR/users/data_0.parquet
    DIR/items/data_0.parquet

Single files ``DIR/events.parquet``, ``DIR/users.parquet``, ``DIR/items.parquet`` (what
:func:`shopguide.data.datasets.synthetic.write_parquet` writes) are accepted as well. The
columns are the store's canonical columns (:mod:`shopguide.store.schema`), so any tool that
writes those columns can feed the Spark engine without a store.

Results written by the Spark engine are plain Parquet folders with the same column names
as the store's tables; :func:`import_parquet` appends them to a store table by column name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from shopguide.errors import ConfigError, DataError
from shopguide.store.base import Store
from shopguide.store.user_indexes import drop_user_index

__all__ = [
    "ENGINES",
    "EngineName",
    "ParquetLayout",
    "check_engine",
    "export_store",
    "import_parquet",
    "parquet_layout",
]

EngineName = Literal["local", "spark"]
#: The engines a heavy step can run on.
ENGINES: Final[tuple[str, ...]] = ("local", "spark")
#: Tables exported for the engine, in order.
DATA_TABLES: Final[tuple[str, ...]] = ("events", "users", "items")
#: Hive partition column of the exported events (the event's calendar day, UTC).
PARTITION_COLUMN: Final = "event_date"


def check_engine(engine: str) -> EngineName:
    """Validate an engine name (``"local"`` or ``"spark"``)."""
    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}", hint=f"use one of: {', '.join(ENGINES)}")
    return "spark" if engine == "spark" else "local"


@dataclass(frozen=True)
class ParquetLayout:
    """Where the events, users and items of an engine data folder are (``None`` = absent)."""

    directory: Path
    events: Path
    users: Path | None
    items: Path | None


def _find(directory: Path, name: str) -> Path | None:
    folder, single = directory / name, directory / f"{name}.parquet"
    if folder.is_dir():
        return folder
    if single.is_file():
        return single
    return None


def parquet_layout(directory: str | Path) -> ParquetLayout:
    """Find ``events`` (required), ``users`` and ``items`` in ``directory``.

    Each may be a folder of Parquet files (partitioned or not) or a single ``NAME.parquet``.
    """
    folder = Path(directory)
    events = _find(folder, "events")
    if events is None:
        raise DataError(
            f"no events in {folder}: expected a folder {folder / 'events'} or a file "
            f"{folder / 'events.parquet'}",
            hint="export a store with `shopguide.engine.export_store(store, DIR)`",
        )
    return ParquetLayout(folder, events, _find(folder, "users"), _find(folder, "items"))


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def export_store(
    store: Store,
    directory: str | Path,
    *,
    tables: tuple[str, ...] = DATA_TABLES,
    partition_events: bool = True,
) -> ParquetLayout:
    """Write the store's ``events``, ``users`` and ``items`` tables to Parquet with DuckDB.

    Events are partitioned by day (``event_date=YYYY-MM-DD`` folders, the layout Spark
    prunes on when a job reads a time window); users and items are one folder each. Existing
    folders of these tables are replaced.

    Parameters
    ----------
    store:
        A DuckDB-backed store (anything with a ``con`` DuckDB connection).
    directory:
        The engine data folder to write.
    tables:
        Which of the three tables to export.
    partition_events:
        Partition events by day (default) or write them unpartitioned.
    """
    con = getattr(store, "con", None)
    if con is None:
        raise ConfigError(f"{type(store).__name__} has no DuckDB connection to export with")
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    for table in tables:
        if table not in DATA_TABLES:
            raise ConfigError(f"cannot export {table!r}", hint=f"use {', '.join(DATA_TABLES)}")
        target = out / table
        if target.exists():
            for part in sorted(target.rglob("*"), reverse=True):
                part.unlink() if part.is_file() else part.rmdir()
            target.rmdir()
        if table == "events" and partition_events:
            con.execute(
                f"""COPY (SELECT *, CAST("timestamp" AS DATE) AS {PARTITION_COLUMN} FROM events)
                TO '{_sql_path(target)}' (FORMAT parquet, PARTITION_BY ({PARTITION_COLUMN}))"""
            )
        else:
            target.mkdir(parents=True)
            con.execute(
                f"COPY {table} TO '{_sql_path(target / 'data_0.parquet')}' (FORMAT parquet)"
            )
    return parquet_layout(out)


def parquet_glob(path: Path) -> str:
    """A DuckDB ``read_parquet`` pattern for a Parquet file or a (partitioned) folder."""
    return _sql_path(path / "**" / "*.parquet" if path.is_dir() else path)


def import_parquet(
    store: Store, table: str, path: str | Path, *, delete_where: str | None = None
) -> int:
    """Append a Parquet result (file or folder, e.g. a Spark output) to a store table.

    Columns are matched by name, so the Parquet may list them in any order; Hive partition
    folders are read as columns. ``delete_where`` (SQL) removes the rows being replaced
    first, in the same transaction (for example ``"as_of = TIMESTAMP '2024-03-31'"``).
    Returns the number of rows added.
    """
    source = Path(path)
    if not source.exists():
        raise DataError(f"no Parquet result at {source}")
    pattern = parquet_glob(source)
    drop_user_index(store, table)  # a bulk write: see store.user_indexes
    with store.transaction():
        before = int(store.scalar(f"SELECT count(*) FROM {table}"))
        if delete_where:
            store.execute(f"DELETE FROM {table} WHERE {delete_where}")
            before = int(store.scalar(f"SELECT count(*) FROM {table}"))
        columns = [str(c) for c in store.query_df(f"SELECT * FROM {table} LIMIT 0").columns]
        cols = ", ".join(f'"{c}"' for c in columns)
        store.execute(
            f"INSERT INTO {table} ({cols}) SELECT {cols} "
            f"FROM read_parquet('{pattern}', hive_partitioning = true, union_by_name = true)"
        )
        after = int(store.scalar(f"SELECT count(*) FROM {table}"))
    return after - before
