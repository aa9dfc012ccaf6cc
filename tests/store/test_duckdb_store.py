"""The DuckDB store: created on first use, migrated, transactional, refuses newer schemas."""

from __future__ import annotations

import duckdb
import pytest

from shopguide.errors import SchemaVersionError, StoreError, StoreNotFoundError
from shopguide.store import open_store
from shopguide.store.schema import LATEST_VERSION


def test_store_file_is_created_with_the_latest_schema(tmp_path):
    path = tmp_path / "nested" / "folder" / "sg.duckdb"
    with open_store(path) as store:
        assert store.schema_version == LATEST_VERSION
        for table in ("users", "items", "events", "loads", "quarantine"):
            assert store.has_table(table)
            assert store.count(table) == 0
    assert path.exists()


def test_reopening_does_not_migrate_twice(tmp_path):
    path = tmp_path / "sg.duckdb"
    open_store(path).close()
    with open_store(path) as store:
        assert store.scalar("SELECT count(*) FROM schema_version") == LATEST_VERSION


def test_transaction_rolls_back_everything_on_error(tmp_path):
    with open_store(tmp_path / "sg.duckdb") as store:
        with pytest.raises(RuntimeError), store.transaction():
            store.execute("INSERT INTO users (user_id) VALUES ('a')")
            with store.transaction():  # nested blocks join the outer one
                store.execute("INSERT INTO users (user_id) VALUES ('b')")
            raise RuntimeError("boom")
        assert store.count("users") == 0
        with store.transaction():
            store.execute("INSERT INTO users (user_id) VALUES ('c')")
        assert store.count("users") == 1


def test_a_store_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "sg.duckdb"
    open_store(path).close()
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO schema_version VALUES (?, now())", [LATEST_VERSION + 1])
    con.close()
    with pytest.raises(SchemaVersionError, match="newer than this ShopGuide"):
        open_store(path)


def test_an_unopenable_path_gives_a_store_error(tmp_path):
    not_a_db = tmp_path / "junk.duckdb"
    not_a_db.write_bytes(b"this is not a database file" * 100)
    with pytest.raises(StoreError, match="cannot open the store"):
        open_store(not_a_db)


def test_timestamps_are_handled_in_utc(tmp_path):
    with open_store(tmp_path / "sg.duckdb") as store:
        value = store.scalar("SELECT '2024-03-01T14:05:00+02:00'::TIMESTAMPTZ::TIMESTAMP")
        assert value.hour == 12


def test_a_reader_sees_only_committed_data_and_runs_with_the_store_settings(tmp_path):
    store = open_store(tmp_path / "s.duckdb")
    reader = store.reader()
    assert reader.scalar("SELECT current_setting('TimeZone')") == "UTC"
    store.execute("CREATE TABLE t AS SELECT 1 AS x")
    with store.transaction():
        store.execute("INSERT INTO t VALUES (2)")
        assert reader.scalar("SELECT count(*) FROM t") == 1  # not committed yet
    assert reader.scalar("SELECT count(*) FROM t") == 2
    reader.close()
    assert store.count("t") == 2  # closing the reader leaves the store open
    store.close()


def test_a_store_held_by_another_process_names_that_process(tmp_path):
    import subprocess
    import sys

    from shopguide.errors import StoreLockedError

    path = tmp_path / "sg.duckdb"
    open_store(path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, sys; c = duckdb.connect({str(path)!r}); "
         "print('open', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        with pytest.raises(StoreLockedError) as caught:
            open_store(path)
        assert caught.value.pid == holder.pid
        assert f"locked by process {holder.pid}" in caught.value.message
        assert "POST /v1/models/{name}/train" in (caught.value.hint or "")
        with pytest.raises(StoreLockedError):  # a reader is refused the same way
            open_store(path, read_only=True)
    finally:
        holder.communicate("")


@pytest.mark.parametrize("read_only", [False, True])
def test_create_false_refuses_a_missing_store_and_writes_nothing(tmp_path, read_only):
    path = tmp_path / "typo" / "sg.duckdb"
    with pytest.raises(StoreNotFoundError, match="no store at") as caught:
        open_store(path, create=False, read_only=read_only)
    assert caught.value.hint == f"create it with `shopguide init --db {path}`"
    assert list(tmp_path.iterdir()) == []  # no file, no folder
    open_store(path).close()  # the default still creates, for starting a store from Python
    with open_store(path, create=False) as store:
        assert store.schema_version == LATEST_VERSION


def test_a_scalar_of_a_many_row_query_leaves_the_connection_ready(tmp_path):
    """``scalar`` reads one row; the rest must not block the next statement (DuckDB refuses
    new work while a result is unfinished), inside a transaction or not."""
    import pandas as pd

    with open_store(tmp_path / "s.duckdb") as store:
        store.execute("CREATE TABLE t (a INTEGER)")
        with store.transaction():
            store.append("t", pd.DataFrame({"a": range(5000)}))
            assert store.scalar("SELECT a FROM t ORDER BY a") == 0
            store.append("t", pd.DataFrame({"a": [7]}))
        assert store.scalar("SELECT a FROM t ORDER BY a DESC") == 4999
        store.append("t", pd.DataFrame({"a": [8]}))
        assert store.scalar("SELECT count(*) FROM t") == 5002
