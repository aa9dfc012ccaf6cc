"""The user indexes: made by a live update, dropped by bulk writes, never changing a result."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pandas as pd
import pytest

from shopguide.data.ingest import ingest_frame
from shopguide.store import open_store
from shopguide.store.base import Store
from shopguide.store.user_indexes import (
    USER_INDEXES,
    drop_user_index,
    ensure_user_indexes,
    has_user_index,
    indexed_tables,
    prepare_bulk_write,
    user_lookups,
    without_user_index,
)

START = datetime(2024, 1, 1)


def _events(users: range, per_user: int, *, first_id: int = 0) -> pd.DataFrame:
    rows = [
        {
            "event_id": f"e{first_id + n * per_user + k}",
            "user_id": f"u{n}",
            "item_id": f"i{k % 5}",
            "event_type": "purchase" if k % 3 == 0 else "view",
            "timestamp": START + timedelta(hours=n + k),
            "quantity": 1,
            "price": 10.0,
        }
        for n in users
        for k in range(per_user)
    ]
    return pd.DataFrame(rows)


@pytest.fixture()
def store(tmp_path) -> Iterator[Store]:
    with open_store(tmp_path / "shop.duckdb") as opened:
        ingest_frame(opened, "events", _events(range(60), 5), source="seed.csv")
        ingest_frame(
            opened,
            "users",
            pd.DataFrame({"user_id": [f"u{n}" for n in range(60)], "gender": "F"}),
            source="users.csv",
        )
        yield opened


#: the tables of the fixture's store (it has no profiles)
TABLES = {"events", "users"}


def test_a_store_has_no_user_index_until_asked(store: Store) -> None:
    assert indexed_tables(store) == set()
    assert ensure_user_indexes(store) is True
    assert indexed_tables(store) == TABLES
    assert ensure_user_indexes(store) is False  # nothing missing
    assert has_user_index(store, "events")


def test_the_indexes_outlive_the_connection(tmp_path, store: Store) -> None:
    ensure_user_indexes(store)
    path = store.path
    store.close()
    with open_store(path) as again:
        assert indexed_tables(again) == TABLES
        assert ensure_user_indexes(again) is False


def test_a_small_load_keeps_the_index_and_is_found_through_it(store: Store) -> None:
    ensure_user_indexes(store)
    report = ingest_frame(store, "events", _events(range(60, 62), 3, first_id=10_000), source="b")
    assert report.accepted == 6
    assert indexed_tables(store) == TABLES
    by_index = store.query_df(
        "SELECT event_id FROM events WHERE user_id = ANY($ids) ORDER BY event_id",
        {"ids": ["u60", "u61", "u3"]},
    )
    by_scan = store.query_df(  # the same rows, found without the index
        "SELECT event_id FROM events WHERE user_id || '' IN ('u60', 'u61', 'u3') ORDER BY event_id"
    )
    assert by_index["event_id"].tolist() == by_scan["event_id"].tolist()
    assert len(by_index) == 3 + 3 + 5


def _scan_type(store: Store, users: list[str]) -> str:
    plan = store.rows(
        "EXPLAIN ANALYZE SELECT event_id FROM events WHERE user_id = ANY($ids)", {"ids": users}
    )[0][1]
    return "index" if "Index Scan" in plan else "scan"


def test_user_lookups_find_more_users_than_duckdbs_default_through_the_index(
    store: Store,
) -> None:
    ensure_user_indexes(store)
    users = [f"u{n}" for n in range(55)]  # past DuckDB's 50
    assert _scan_type(store, users[:10]) == "index"
    assert _scan_type(store, users) == "scan"
    with user_lookups(store, len(users)):
        assert _scan_type(store, users) == "index"
        found = store.rows("SELECT count(*) FROM events WHERE user_id = ANY($ids)", {"ids": users})
    assert found[0][0] == 55 * 5
    # set back afterwards, also after an error
    assert _scan_type(store, users) == "scan"
    with pytest.raises(RuntimeError), user_lookups(store, len(users)):
        raise RuntimeError("the block failed")
    assert store.scalar("SELECT current_setting('dynamic_or_filter_threshold')") == 50


def test_a_bulk_load_drops_the_tables_index_and_the_next_ensure_builds_it(store: Store) -> None:
    ensure_user_indexes(store)
    # 300 events stored; 100 more is over a sixth of them
    report = ingest_frame(store, "events", _events(range(100, 120), 5, first_id=50_000), source="c")
    assert report.accepted == 100
    assert indexed_tables(store) == {"users"}  # the users' index is left alone
    assert ensure_user_indexes(store) is True
    assert indexed_tables(store) == TABLES
    found = store.scalar("SELECT count(*) FROM events WHERE user_id = ANY($ids)", {"ids": ["u101"]})
    assert found == 5


def test_prepare_bulk_write_keeps_the_index_of_a_small_write_and_of_a_table_without_one(
    store: Store,
) -> None:
    ensure_user_indexes(store)
    prepare_bulk_write(store, "events", 50)  # a sixth of 300 or less
    prepare_bulk_write(store, "items", 10**6)  # items are not indexed by user
    assert indexed_tables(store) == TABLES
    prepare_bulk_write(store, "events", 51)
    assert indexed_tables(store) == {"users"}


def test_without_user_index_holds_it_off_and_builds_it_again_after(store: Store) -> None:
    ensure_user_indexes(store)
    with without_user_index(store, "events"):
        assert indexed_tables(store) == {"users"}
        assert ensure_user_indexes(store) is False  # held off
        assert not has_user_index(store, "events")
        with without_user_index(store, "events"):  # nested: held until the outer one ends
            pass
        assert indexed_tables(store) == {"users"}
        assert ensure_user_indexes(store) is False
    assert indexed_tables(store) == TABLES  # it was there: built again
    assert ensure_user_indexes(store) is False


def test_without_user_index_builds_nothing_that_was_not_there_or_after_an_error(
    store: Store,
) -> None:
    with without_user_index(store, "events"):
        pass
    assert indexed_tables(store) == set()
    ensure_user_indexes(store)
    with pytest.raises(RuntimeError), without_user_index(store, "users"):
        raise RuntimeError("the refresh fails")
    assert indexed_tables(store) == {"events"}  # the next live update builds it
    assert ensure_user_indexes(store) is True
    assert indexed_tables(store) == TABLES


def test_an_index_is_not_dropped_inside_a_transaction(store: Store) -> None:
    # there DuckDB would still update it row by row when the transaction commits (63 s for a
    # million deleted profile rows): the write keeps it up to date instead
    ensure_user_indexes(store)
    with store.transaction():
        drop_user_index(store, "users")
        assert indexed_tables(store) == TABLES
    assert indexed_tables(store) == TABLES
    drop_user_index(store, "users")  # outside one it is dropped
    assert indexed_tables(store) == {"events"}
    ensure_user_indexes(store)
    drop_user_index(store, "items")  # a table without a user index: nothing to do
    assert indexed_tables(store) == TABLES


def test_every_indexed_table_has_a_user_id_column(store: Store) -> None:
    from shopguide.profiles.tables import ensure_profile_tables

    ensure_profile_tables(store)
    for table in USER_INDEXES:
        columns = set(store.query_df(f"SELECT * FROM {table} LIMIT 0").columns)
        assert "user_id" in columns, table
    assert ensure_user_indexes(store) is True
    assert indexed_tables(store) == set(USER_INDEXES)


def test_the_index_is_built_again_holding_the_lock_and_still_held_off(store: Store) -> None:
    ensure_user_indexes(store)
    seen: list[tuple[str, set[str], bool]] = []

    class Lock:  # what the refresh passes: the lock the live updates take
        def __enter__(self) -> None:
            seen.append(("enter", indexed_tables(store), ensure_user_indexes(store)))

        def __exit__(self, *exc: object) -> None:
            seen.append(("exit", indexed_tables(store), False))

    with without_user_index(store, "events", rebuild_holding=Lock()):
        pass
    # on entering the lock the index is still missing and a live update could not build it
    assert seen[0] == ("enter", {"users"}, False)
    assert seen[1][:2] == ("exit", {"events", "users"})  # built while the lock was held
