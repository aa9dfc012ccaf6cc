"""The ``Store`` interface every backend implements.

Domain code asks the store for tables (as pandas or Arrow) and runs set-based SQL through it;
it never opens a database connection itself, so a second backend can come later.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

Params = Sequence[Any] | Mapping[str, Any] | None


class Store(abc.ABC):
    """Where users, items, events, quarantine, profiles and models live."""

    path: Path

    @abc.abstractmethod
    def transaction(self) -> AbstractContextManager[Store]:
        """All writes inside the block commit together or not at all."""

    @property
    def in_transaction(self) -> bool:
        """Whether a :meth:`transaction` block is open on this connection (what it writes
        is not committed yet)."""
        return False

    @abc.abstractmethod
    def execute(self, sql: str, params: Params = None) -> None:
        """Run a statement that returns nothing."""

    @abc.abstractmethod
    def query_df(self, sql: str, params: Params = None) -> pd.DataFrame:
        """Run a query and return a pandas DataFrame."""

    @abc.abstractmethod
    def query_arrow(self, sql: str, params: Params = None) -> pa.Table:
        """Run a query and return an Arrow table."""

    @abc.abstractmethod
    def query_batches(
        self, sql: str, params: Params = None, batch_rows: int = 1_000_000
    ) -> Iterator[pa.RecordBatch]:
        """Stream a query's result in Arrow batches (bounded memory)."""

    @abc.abstractmethod
    def scalar(self, sql: str, params: Params = None) -> Any:
        """First column of the first row, or ``None``."""

    @abc.abstractmethod
    def rows(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        """A small result as Python tuples (no DataFrame to build: about 1 ms less a query)."""

    @abc.abstractmethod
    def append(self, table: str, data: pd.DataFrame | pa.Table) -> int:
        """Append rows whose columns are named like the table's; returns the row count."""

    @abc.abstractmethod
    def has_table(self, name: str) -> bool:
        """Whether a table or view of that name exists."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the store; further calls fail."""

    @abc.abstractmethod
    def reader(self) -> Store:
        """A second connection to the same store for another thread; it sees committed data."""

    @property
    @abc.abstractmethod
    def schema_version(self) -> int:
        """The schema version the store is at."""

    @property
    def folder(self) -> Path:
        """The folder beside the store file where models and reports are kept."""
        return self.path.parent

    def table(self, name: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """A whole table (or some columns of it) as a DataFrame."""
        cols = ", ".join(f'"{c}"' for c in columns) if columns else "*"
        return self.query_df(f'SELECT {cols} FROM "{name}"')

    def count(self, name: str) -> int:
        """Rows in a table."""
        return int(self.scalar(f'SELECT count(*) FROM "{name}"'))

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
