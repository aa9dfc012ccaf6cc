"""Read the engine data folder into Spark DataFrames; write results as Parquet.

Input layout: see :mod:`shopguide.engine.exchange` (``events/`` partitioned by
``event_date``, or single ``events.parquet`` files). Timestamps are read as Spark
``TIMESTAMP`` in a UTC session (DuckDB writes naive timestamps, which Spark may read as
``TIMESTAMP_NTZ``); results are written with naive (``TIMESTAMP_NTZ``) timestamps so DuckDB
reads them back as plain ``TIMESTAMP`` columns.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from shopguide.columns import ITEMS, USERS, Columns
from shopguide.compat import require
from shopguide.engine.exchange import PARTITION_COLUMN, ParquetLayout, parquet_layout
from shopguide.schema import spark_ddl

__all__ = ["EngineData", "read_engine_data", "read_table", "timestamp_literal", "write_parquet"]

_TIMESTAMP_COLUMNS = ("timestamp", "signup_at")


def _functions() -> Any:
    return require("pyspark.sql.functions", extra="spark", feature="the Spark engine")


def timestamp_literal(value: datetime) -> str:
    """A Spark SQL literal for a naive UTC timestamp (microsecond precision)."""
    return f"TIMESTAMP '{value.strftime('%Y-%m-%d %H:%M:%S.%f')}'"


def read_table(spark: Any, path: Path) -> Any:
    """One Parquet table (file or folder, Hive partitions become columns), timestamps fixed."""
    frame = spark.read.parquet(str(path))
    F = _functions()
    for column in _TIMESTAMP_COLUMNS:
        if column in frame.columns:
            frame = frame.withColumn(column, F.col(column).cast("timestamp"))
    return frame


class EngineData:
    """The events, users and items DataFrames of one engine data folder.

    ``users`` and ``items`` are empty frames with the store's columns when the folder has none,
    so every job can join them unconditionally.
    """

    def __init__(self, events: Any, users: Any, items: Any, layout: ParquetLayout) -> None:
        self.events = events
        self.users = users
        self.items = items
        self.layout = layout

    def latest_event_time(self) -> datetime:
        """The latest event time (the default ``as_of``)."""
        from shopguide.errors import DataError

        F = _functions()
        # as text in the session zone (UTC): a collected TIMESTAMP would be converted to the
        # Python process's local zone
        latest = self.events.agg(
            F.date_format(F.max("timestamp"), "yyyy-MM-dd HH:mm:ss.SSSSSS")
        ).first()[0]
        if latest is None:
            raise DataError(f"no events in {self.layout.events}")
        return datetime.fromisoformat(latest)

    def events_until(self, as_of: datetime) -> Any:
        """Events with ``timestamp <= as_of`` (prunes day partitions when there are any)."""
        F = _functions()
        frame = self.events
        if PARTITION_COLUMN in frame.columns:
            frame = frame.where(F.col(PARTITION_COLUMN) <= F.lit(as_of.date()))
        # a SQL literal is read in the session zone (UTC); F.lit(datetime) would use the
        # Python process's local zone
        return frame.where(F.col("timestamp") <= F.expr(timestamp_literal(as_of)))


# the store's users and items columns but the JSON attributes, which no job reads
_EMPTY_USERS = spark_ddl(USERS, [c for c in USERS.names if c != Columns.ATTRIBUTES])
_EMPTY_ITEMS = spark_ddl(ITEMS, [c for c in ITEMS.names if c != Columns.ATTRIBUTES])


def _with_columns(frame: Any | None, schema: str, spark: Any) -> Any:
    """``frame`` with every column of ``schema`` (missing ones as NULL; ``load_id`` as 1).

    Files not written from a store (for example the synthetic generator's) may lack
    ``age_band`` or ``load_id``; the jobs read every canonical column.
    """
    empty = spark.createDataFrame([], schema)
    if frame is None:
        return empty
    F = _functions()
    for field in empty.schema.fields:
        if field.name not in frame.columns:
            value = F.lit(1) if field.name == "load_id" else F.lit(None)
            frame = frame.withColumn(field.name, value.cast(field.dataType))
    return frame


def read_engine_data(spark: Any, directory: str | Path) -> EngineData:
    """Open the events, users and items of an engine data folder (lazily; nothing runs yet)."""
    layout = parquet_layout(directory)
    events = read_table(spark, layout.events)
    users = _with_columns(
        read_table(spark, layout.users) if layout.users else None, _EMPTY_USERS, spark
    )
    items = _with_columns(
        read_table(spark, layout.items) if layout.items else None, _EMPTY_ITEMS, spark
    )
    return EngineData(events, users, items, layout)


def write_parquet(
    frame: Any,
    path: str | Path,
    *,
    partition_by: list[str] | None = None,
    append: bool = False,
) -> Path:
    """Write ``frame`` to a Parquet folder (replacing it unless ``append``), naive timestamps."""
    F = _functions()
    out = frame
    for field in frame.schema.fields:
        if field.dataType.typeName() == "timestamp":
            out = out.withColumn(field.name, F.col(field.name).cast("timestamp_ntz"))
    writer = out.write.mode("append" if append else "overwrite")
    if partition_by:
        writer = writer.partitionBy(*partition_by)
    writer.parquet(str(path))
    return Path(path)
