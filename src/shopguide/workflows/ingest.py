"""User-facing data actions: initialise a store, load files, inspect the quarantine and stats."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pandas as pd

from shopguide.data.ingest import LoadReport, ProgressCallback, ingest_file
from shopguide.data.readers import Format
from shopguide.errors import UnknownNameError
from shopguide.store import open_store
from shopguide.store.base import Store
from shopguide.store.schema import DATA_TABLES


def init_store(db: str | Path) -> dict[str, Any]:
    """Create (or migrate) the store at ``db`` and say what it holds."""
    with open_store(db) as store:
        return {"db": str(Path(db).resolve()), "schema_version": store.schema_version}


def ingest(
    db: str | Path,
    table: str,
    path: str | Path,
    *,
    mapping: Mapping[str, str] | None = None,
    fmt: Format | None = None,
    delimiter: str | None = None,
    encoding: str = "utf-8",
    chunk_rows: int = 250_000,
    progress: ProgressCallback | None = None,
    set: Mapping[str, str] | None = None,
    derive: Mapping[str, str] | None = None,
    preset: str | None = None,
) -> LoadReport:
    """Load one file into the store at ``db`` (see :func:`shopguide.data.ingest.ingest_file`).

    ``set`` gives columns a constant, ``derive`` computes them with DuckDB SQL expressions and
    ``preset`` reads a known export (``shopify-orders``, ``woocommerce-orders``, ``ga4``).
    Creates the store when there is none; if the load then fails, the new store file and any
    folders made for it are removed again, so a failed first load leaves nothing behind.
    """
    with _removed_on_failure(db), open_store(db) as store:
        return ingest_file(
            store, table, path, mapping=mapping, fmt=fmt, delimiter=delimiter,
            encoding=encoding, chunk_rows=chunk_rows, progress=progress, set=set,
            derive=derive, preset=preset,
        )  # fmt: skip


@contextmanager
def _removed_on_failure(db: str | Path) -> Iterator[None]:
    """Remove the store file, its write-ahead log and the folders made for it if the block
    fails and there was no store at ``db`` before it."""
    path = Path(db).absolute()
    if str(db) == ":memory:" or path.exists():
        yield
        return
    made = [folder for folder in path.parents if not folder.exists()]  # deepest first
    try:
        yield
    except BaseException:
        for leftover in (path, path.with_name(path.name + ".wal")):
            leftover.unlink(missing_ok=True)
        for folder in made:
            with suppress(OSError):  # only if empty: never remove what someone else put there
                folder.rmdir()
        raise


def quarantine(
    db: str | Path,
    *,
    load_id: int | None = None,
    table: str | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """Rejected rows, newest load first, optionally of one load or one table."""
    where, params = _filters(load_id, table)
    limit_sql = f"LIMIT {int(limit)}" if limit else ""
    with open_store(db, create=False) as store:
        return store.query_df(
            f"""SELECT load_id, table_name, source, line, column_name, value, reason, raw
                FROM quarantine {where} ORDER BY load_id DESC, line {limit_sql}""",
            params,
        )


def export_quarantine(
    db: str | Path, out: str | Path, *, load_id: int | None = None, table: str | None = None
) -> int:
    """Write rejected rows to ``out`` (CSV, or Parquet for ``.parquet``); returns the row count."""
    rows = quarantine(db, load_id=load_id, table=table)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() in (".parquet", ".pq"):
        rows.to_parquet(out, index=False)
    else:
        rows.to_csv(out, index=False)
    return len(rows)


def _filters(load_id: int | None, table: str | None) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if load_id is not None:
        clauses.append("load_id = ?")
        params.append(load_id)
    if table is not None:
        if table not in DATA_TABLES:
            raise UnknownNameError(table, ("users", "items", "events"), what="table")
        clauses.append("table_name = ?")
        params.append(table)
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), params


def stats(db: str | Path) -> dict[str, Any]:
    """Row counts, the time span of events, events by type, and the latest loads."""
    with open_store(db, create=False) as store:
        return store_stats(store)


def store_stats(store: Store) -> dict[str, Any]:
    """What :func:`stats` reports, for an open store."""
    counts = {name: store.count(name) for name in DATA_TABLES}
    span = store.query_df('SELECT min("timestamp") AS first, max("timestamp") AS last FROM events')
    by_type = store.query_df(
        "SELECT event_type, count(*) AS n FROM events GROUP BY 1 ORDER BY n DESC"
    )
    loads = store.query_df(
        """SELECT load_id, table_name, source, rows_read, accepted, rejected, duplicates, updated,
                  finished_at FROM loads ORDER BY load_id DESC LIMIT 10"""
    )
    first, last = span.iloc[0]["first"], span.iloc[0]["last"]
    return {
        "db": str(store.path),
        "schema_version": store.schema_version,
        "rows": counts,
        "distinct_users_with_events": int(
            store.scalar("SELECT count(DISTINCT user_id) FROM events")
        ),
        "distinct_items_with_events": int(
            store.scalar("SELECT count(DISTINCT item_id) FROM events")
        ),
        "first_event": None if pd.isna(first) else pd.Timestamp(first).isoformat(),
        "last_event": None if pd.isna(last) else pd.Timestamp(last).isoformat(),
        "events_by_type": {
            str(k): int(v) for k, v in zip(by_type["event_type"], by_type["n"], strict=True)
        },
        "recent_loads": [
            {k: (v.isoformat() if isinstance(v, pd.Timestamp) else v) for k, v in row.items()}
            for row in loads.astype(object).to_dict("records")
        ],
    }
