"""The store, Arrow and Spark forms of the tables described in :mod:`shopguide.columns`.

:data:`~shopguide.columns.EVENTS`, :data:`~shopguide.columns.USERS` and
:data:`~shopguide.columns.ITEMS` say what each column holds; this module turns a column's kind
into its DuckDB, Arrow and Spark type, so nothing else writes those types out by hand. Shipped
migrations keep their own frozen text: :func:`duckdb_columns` is what a test compares a migrated
store with.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import pyarrow as pa

from shopguide.columns import Column, Kind, Table

__all__ = ["arrow_schema", "duckdb_columns", "duckdb_ddl", "spark_ddl"]

_DUCKDB: Final[dict[Kind, str]] = {
    "id": "VARCHAR", "text": "VARCHAR", "event_type": "VARCHAR", "gender": "VARCHAR",
    "age_band": "VARCHAR", "timestamp": "TIMESTAMP", "number": "DOUBLE", "bool": "BOOLEAN",
    "age": "INTEGER", "int": "INTEGER", "json": "JSON",
}  # fmt: skip
_SPARK: Final[dict[Kind, str]] = {
    "id": "STRING", "text": "STRING", "event_type": "STRING", "gender": "STRING",
    "age_band": "STRING", "json": "STRING", "timestamp": "TIMESTAMP", "number": "DOUBLE",
    "bool": "BOOLEAN", "age": "INT", "int": "INT",
}  # fmt: skip
_ARROW: Final[dict[Kind, pa.DataType]] = {
    "id": pa.string(), "text": pa.string(), "event_type": pa.string(), "gender": pa.string(),
    "age_band": pa.string(), "json": pa.string(), "timestamp": pa.timestamp("us"),
    "number": pa.float64(), "bool": pa.bool_(), "age": pa.int32(), "int": pa.int32(),
}  # fmt: skip


def _pick(table: Table, names: Iterable[str] | None) -> tuple[Column, ...]:
    return table.columns if names is None else tuple(table.column(n) for n in names)


def duckdb_ddl(table: Table) -> str:
    """The DuckDB ``CREATE TABLE`` of ``table`` (every name quoted) for a new migration."""
    lines = ",\n".join(
        f'    "{c.name}" {_DUCKDB[c.kind]}{" NOT NULL" if c.not_null else ""}'
        for c in table.columns
    )
    return f"CREATE TABLE {table.name} (\n{lines}\n)"


def duckdb_columns(table: Table) -> list[tuple[str, str, bool]]:
    """``(name, DuckDB type, nullable)`` per column in store order, as ``information_schema``
    reports them for a table created by :func:`duckdb_ddl`."""
    return [(c.name, _DUCKDB[c.kind], not c.not_null) for c in table.columns]


def spark_ddl(table: Table, names: Iterable[str] | None = None) -> str:
    """A Spark schema string (``"user_id STRING, ..."``) of ``names`` (default: every column)."""
    return ", ".join(f"{c.name} {_SPARK[c.kind]}" for c in _pick(table, names))


def arrow_schema(table: Table, names: Iterable[str] | None = None) -> pa.Schema:
    """The Arrow schema of ``names`` (default: the file columns, in file order)."""
    columns = table.file_columns if names is None else _pick(table, names)
    return pa.schema([(c.name, _ARROW[c.kind]) for c in columns])
