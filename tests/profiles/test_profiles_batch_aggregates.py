"""The Python aggregates of a live batch equal the SQL ones, on random stores and known answers."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from profiles_testdata import events_frame

from shopguide.profiles.aggregates import (
    SCOPE_TABLE,
)
from shopguide.profiles.batch_aggregates import (
    batch_aggregate_tables,
    read_batch_inputs,
)
from shopguide.profiles.live import aggregate_scope
from shopguide.profiles.tables import USER_AGGREGATE_TABLES, ensure_profile_tables
from shopguide.store import open_store
from shopguide.store.base import Store
from shopguide.store.user_indexes import ensure_user_indexes

START = datetime(2024, 1, 1)  # a Monday
VERSION = datetime(2023, 12, 1)  # the rows' key, unlike the events' as_of (as in a live update)
KEYS = {
    "profile_agg_users": ["user_id"],
    "profile_agg_categories": ["user_id", "category"],
    "profile_agg_brands": ["user_id", "brand"],
}


@pytest.fixture()
def store() -> Iterator[Store]:
    with open_store(":memory:") as opened:
        yield opened


def sql_aggregates(
    store: Store, user_ids: list[str], version: datetime, as_of: datetime
) -> dict[str, pd.DataFrame]:
    """The aggregates the live update's SQL writes for ``user_ids`` (as ``_rewrite_users``)."""
    ensure_profile_tables(store)
    store.execute(f"CREATE OR REPLACE TEMP TABLE {SCOPE_TABLE} (user_id VARCHAR)")
    if user_ids:
        store.append(SCOPE_TABLE, pd.DataFrame({"user_id": sorted(set(user_ids))}))
    temps = {table: f"_sql_{table}" for table in USER_AGGREGATE_TABLES}
    aggregate_scope(store, temps, {"version": version, "as_of": as_of})
    return {table: store.query_df(f"FROM {temp}") for table, temp in temps.items()}


def python_aggregates(
    store: Store, user_ids: list[str], version: datetime, as_of: datetime
) -> dict[str, pd.DataFrame]:
    """The Python aggregates, stored through a copy of each table and read back (so they must
    fit its columns and types)."""
    ensure_profile_tables(store)
    tables = batch_aggregate_tables(read_batch_inputs(store, user_ids, as_of), version, as_of)
    result = {}
    for table, rows in zip(USER_AGGREGATE_TABLES, tables, strict=True):
        columns = list(store.query_df(f"FROM {table} LIMIT 0").columns)
        assert rows.column_names == columns, table
        store.execute(f"CREATE OR REPLACE TEMP TABLE _py_{table} AS FROM {table} LIMIT 0")
        store.append(f"_py_{table}", rows)
        result[table] = store.query_df(f"FROM _py_{table}")
    return result


def _equal(got: Any, want: Any) -> bool:
    if want is None or (not isinstance(want, str) and pd.isna(want)):
        return got is None or (not isinstance(got, str) and bool(pd.isna(got)))
    if isinstance(want, float | np.floating):
        # the same numbers may be added in another order: equal but for the last bits
        return math.isclose(got, want, rel_tol=1e-9)
    return bool(got == want)


def assert_same_rows(got: dict[str, pd.DataFrame], want: dict[str, pd.DataFrame]) -> None:
    """Same row sets, same columns and types; integers, strings and times exactly equal."""
    for table, keys in KEYS.items():
        g = got[table].sort_values(keys).reset_index(drop=True)
        w = want[table].sort_values(keys).reset_index(drop=True)
        assert list(g.columns) == list(w.columns), table
        assert list(g.dtypes) == list(w.dtypes), table
        assert g[keys].values.tolist() == w[keys].values.tolist(), table
        for column in w.columns:
            for i, (a, b) in enumerate(zip(g[column], w[column], strict=True)):
                where = f"{table}.{column} of {w.loc[i, keys].tolist()}"
                assert _equal(a, b), f"{where}: python {a!r} != sql {b!r}"


# -- random stores -------------------------------------------------------------------------

USER_IDS = ["u1", "u2", "u3", "u4"]  # few users, so each has several events
ITEM_IDS = ["i1", "i2", "i3"]  # events also name "i9", which is never in the items
CATEGORIES = ["Toys > Lego", " Books ", "", None, "> Sub", "Home>Garden", "A > B > C", "Toys"]
BRANDS = ["Acme", " Acme ", "", None, "Bolt", "  "]
DAYS = 14  # two weeks: repeated weekdays, and hours that tie
minutes = st.integers(0, 60 * 24 * DAYS)
# binary fractions: every sum is exact in any order, so the floats must agree to the bit (the
# tolerance below only covers sums of money in general)
money = st.one_of(st.none(), st.sampled_from([0.0, 1.5, 9.75, 20.0, 1e6, 0.25]))
load_id = st.sampled_from([None, 1, 2, 3])  # NULL sorts last

# one id's rows of up to three loads (each load once: the latest row is never a tie)
item_rows = st.tuples(
    st.sampled_from(ITEM_IDS),
    st.lists(
        st.tuples(load_id, st.sampled_from(CATEGORIES), st.sampled_from(BRANDS)),
        min_size=1,
        max_size=3,
        unique_by=lambda row: row[0],
    ),
)
user_rows = st.tuples(
    st.sampled_from(USER_IDS),
    st.lists(
        st.tuples(
            load_id,
            st.sampled_from([None, "F", "M"]),
            st.one_of(st.none(), st.integers(10, 80)),
            st.sampled_from([None, "25-34", "65+"]),
            st.sampled_from([None, "London", "York"]),
            st.one_of(st.none(), minutes),
        ),
        min_size=1,
        max_size=3,
        unique_by=lambda row: row[0],
    ),
)
event_rows = st.tuples(
    st.sampled_from(USER_IDS),
    st.sampled_from([*ITEM_IDS, "i9"]),
    st.sampled_from(["view", "cart", "click", "purchase", "purchase", "purchase", "refund"]),
    minutes,
    st.sampled_from([1.0, 2.0, 3.0, 0.5, -1.0, 0.0]),
    money,
    st.one_of(st.none(), st.sampled_from([0.0, 0.5, 2.0, -1.0])),
    st.sampled_from([None, None, "o1", "o2", "o3"]),
)


def _fill(
    store: Store, items: list[tuple], users: list[tuple], events: list[tuple], reorder: bool
) -> None:
    """Items and users with their rows of several loads, and the events (an id drawn twice
    keeps its first draw)."""
    item_frame = pd.DataFrame(
        [
            (item, category, brand, 10.0, load)
            for item, rows in items
            for load, category, brand in rows
        ],
        columns=["item_id", "category", "brand", "price", "load_id"],
    ).drop_duplicates(["item_id", "load_id"])
    user_frame = pd.DataFrame(
        [
            (
                user,
                load,
                gender,
                age,
                band,
                place,
                None if at is None else START + timedelta(minutes=at),
            )
            for user, rows in users
            for load, gender, age, band, place, at in rows
        ],
        columns=["user_id", "load_id", "gender", "age", "age_band", "location", "signup_at"],
    ).drop_duplicates(["user_id", "load_id"])
    if reorder:  # the latest load is not the last row
        item_frame, user_frame = item_frame.iloc[::-1], user_frame.iloc[::-1]
    store.append("items", item_frame.astype({"load_id": "Int64"}))
    store.append("users", user_frame.astype({"load_id": "Int64", "age": "Int64"}))
    rows = [
        (u, i, t, START + timedelta(minutes=m), q, p, d, o) for u, i, t, m, q, p, d, o in events
    ]
    store.append("events", events_frame(rows))


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    items=st.lists(item_rows, max_size=6),
    users=st.lists(user_rows, max_size=6),
    events=st.lists(event_rows, min_size=1, max_size=60),
    reorder=st.booleans(),
    # mostly after every event; else somewhere among them
    as_of_minutes=st.one_of(st.just(60 * 24 * DAYS), minutes),
    left_out=st.sets(st.sampled_from(USER_IDS), max_size=3),
    indexed=st.booleans(),
)
def test_python_aggregates_equal_the_sql_ones_on_random_stores(
    items: list[tuple],
    users: list[tuple],
    events: list[tuple],
    reorder: bool,
    as_of_minutes: int,
    left_out: set[str],
    indexed: bool,
) -> None:
    as_of = START + timedelta(minutes=as_of_minutes)
    batch = [user for user in [*USER_IDS, "nobody"] if user not in left_out]
    with open_store(":memory:") as store:
        _fill(store, items, users, events, reorder)
        want = sql_aggregates(store, batch, VERSION, as_of)
        if indexed:  # the Python path reads the rows through the user indexes (the SQL scans)
            assert ensure_user_indexes(store)
        got = python_aggregates(store, batch, VERSION, as_of)
    assert_same_rows(got, want)


# -- known answers -------------------------------------------------------------------------


def _both(store: Store, user_ids: list[str], as_of: datetime) -> list[dict[str, pd.DataFrame]]:
    """The Python and the SQL aggregates (each known answer must hold for both)."""
    python = python_aggregates(store, user_ids, VERSION, as_of)
    sql = sql_aggregates(store, user_ids, VERSION, as_of)
    return [python, sql]


def _users(result: dict[str, pd.DataFrame]) -> dict[str, dict[str, Any]]:
    frame = result["profile_agg_users"].set_index("user_id")
    return {user: row.to_dict() for user, row in frame.iterrows()}


def _sums(result: dict[str, pd.DataFrame], table: str) -> dict[tuple[str, str], list[float]]:
    frame = result[table]
    return {(row[1], row[2]): list(row[3:]) for row in frame.itertuples(index=False)}


def test_known_answers_on_the_hand_store(hand_store: Store) -> None:
    as_of = datetime(2024, 3, 31)
    for result in _both(hand_store, ["alice", "bob", "carol", "dave", "erin", "zed"], as_of):
        users = _users(result)
        # erin signed up after as_of, zed is unknown; dave only signed up (before as_of)
        assert sorted(users) == ["alice", "bob", "carol", "dave"]
        assert (result["profile_agg_users"]["as_of"] == VERSION).all()
        alice = users["alice"]
        assert (alice["gender"], alice["age_band"], alice["location"]) == ("F", "25-34", "London")
        assert (alice["views"], alice["carts"], alice["purchases"]) == (2, 1, 3)
        assert (alice["refund_events"], alice["orders"]) == (1, 2)  # order A1 has two lines
        assert alice["first_event_at"] == pd.Timestamp("2024-01-10 09:15")
        assert alice["last_event_at"] == pd.Timestamp("2024-03-20 18:10")  # the refund
        assert alice["first_order_at"] == pd.Timestamp("2024-01-10 09:30")
        assert alice["last_order_at"] == pd.Timestamp("2024-03-01 18:05")  # not the one in April
        money = ["items_bought", "list_value", "discount_total", "gross_spend"]
        assert [alice[c] for c in money] == [4.0, 70.0, 5.0, 65.0]
        assert (alice["discounted_spend"], alice["refund_value"]) == (15.0, 10.0)
        assert (alice["preferred_weekday"], alice["preferred_hour"]) == (3, 9)  # Wednesdays, 9h
        bob = users["bob"]
        assert bob["age_band"] == "45-54"  # given, not derived
        assert bob["orders"] == 2  # three lines without order id on two days
        assert (bob["gross_spend"], bob["discounted_spend"]) == (47.0, 9.0)
        assert (bob["preferred_weekday"], bob["preferred_hour"]) == (6, 12)
        carol = users["carol"]  # events but no users row
        assert carol["gender"] is None or pd.isna(carol["gender"])
        assert pd.isna(carol["signup_at"]) and carol["orders"] == 1
        dave = users["dave"]
        assert dave["signup_at"] == pd.Timestamp("2024-03-05")
        assert (dave["views"], dave["orders"], dave["gross_spend"]) == (0, 0, 0.0)
        assert pd.isna(dave["first_event_at"]) and pd.isna(dave["preferred_weekday"])
        assert _sums(result, "profile_agg_categories") == {
            ("alice", "Toys"): [50.0, 3.0],
            ("alice", "Books"): [15.0, 1.0],
            ("bob", "Books"): [47.0, 4.0],
            ("carol", "Toys"): [12.0, 1.0],
        }
        assert _sums(result, "profile_agg_brands") == {  # item i4 has no brand
            ("alice", "Acme"): [35.0],
            ("alice", "Bolt"): [30.0],
            ("bob", "Acme"): [38.0],
            ("carol", "Acme"): [12.0],
        }


def _store_with(
    store: Store,
    events: list[tuple],
    items: pd.DataFrame | None = None,
    users: pd.DataFrame | None = None,
) -> None:
    if items is not None:
        store.append("items", items)
    if users is not None:
        store.append("users", users)
    store.append("events", events_frame(events))


def test_weekday_and_hour_ties_go_to_the_smaller_number(store: Store) -> None:
    _store_with(
        store,
        [  # (user, item, type, time, quantity, price, discount, order)
            ("tie", "i1", "purchase", "2024-01-03 10:00", 1, 5.0, 0.0, "a"),  # Wednesday
            ("tie", "i1", "purchase", "2024-01-08 09:00", 1, 5.0, 0.0, "b"),  # Monday
            ("more", "i1", "purchase", "2024-01-03 10:00", 1, 5.0, 0.0, "a"),
            ("more", "i1", "purchase", "2024-01-08 09:00", 1, 5.0, 0.0, "b"),
            ("more", "i1", "purchase", "2024-01-10 10:30", 1, 5.0, 0.0, "c"),  # Wednesday
            ("more", "i1", "view", "2024-01-08 09:00", 1, None, None, None),  # not a purchase
            ("more", "i1", "view", "2024-01-08 09:00", 1, None, None, None),
            ("more", "i1", "click", "2024-01-08 09:00", 1, None, None, None),  # not a view
        ],
    )
    for result in _both(store, ["tie", "more"], datetime(2024, 2, 1)):
        users = _users(result)
        assert (users["tie"]["preferred_weekday"], users["tie"]["preferred_hour"]) == (1, 9)
        assert (users["more"]["preferred_weekday"], users["more"]["preferred_hour"]) == (3, 10)
        assert (users["more"]["views"], users["more"]["purchases"]) == (2, 3)


def test_the_latest_load_of_an_item_and_a_user_wins(store: Store) -> None:
    items = pd.DataFrame(
        {
            "item_id": ["i1", "i1", "i1"],
            "category": ["Books", "Garden > Tools", "Toys > Lego"],
            "brand": ["Bolt", "Zed", "Acme"],
            "load_id": [2, None, 1],  # NULL sorts last: load 2 is the latest
        }
    ).astype({"load_id": "Int64"})
    users = pd.DataFrame(
        {
            "user_id": ["ann", "ann", "ann"],
            "gender": ["M", "X", "F"],
            "age": [70, 20, 30],
            "age_band": [None, None, "25-34"],
            "location": ["York", "Rome", "Leeds"],
            "signup_at": pd.to_datetime(["2024-01-02", "2023-01-01", "2024-01-01"]),
            "load_id": [3, None, 1],
        }
    ).astype({"load_id": "Int64", "age": "Int64"})
    _store_with(
        store, [("ann", "i1", "purchase", "2024-01-05 12:00", 2, 4.0, 0.0, "o")], items, users
    )
    for result in _both(store, ["ann"], datetime(2024, 2, 1)):
        ann = _users(result)["ann"]
        assert (ann["gender"], ann["age_band"], ann["location"]) == ("M", "65+", "York")
        assert ann["signup_at"] == pd.Timestamp("2024-01-02")
        assert _sums(result, "profile_agg_categories") == {("ann", "Books"): [8.0, 2.0]}
        assert _sums(result, "profile_agg_brands") == {("ann", "Bolt"): [8.0]}


def test_orders_are_order_ids_or_else_calendar_days(store: Store) -> None:
    _store_with(
        store,
        [
            ("u", "i1", "purchase", "2024-01-01 10:00", 1, 1.0, None, None),
            ("u", "i1", "purchase", "2024-01-01 23:59", 1, 1.0, None, None),  # same day
            ("u", "i1", "purchase", "2024-01-02 00:00", 1, 1.0, None, None),  # the next day
            ("u", "i1", "purchase", "2024-01-01 11:00", 1, 1.0, None, "o1"),  # an order id
            ("u", "i1", "purchase", "2024-01-03 11:00", 1, 1.0, None, "o1"),  # same order
            ("u", "i1", "refund", "2024-01-04 11:00", 1, 1.0, None, None),  # not an order
            ("u", "i1", "cart", "2024-01-05 11:00", 1, 1.0, None, "o2"),  # not a line
        ],
    )
    for result in _both(store, ["u"], datetime(2024, 2, 1)):
        u = _users(result)["u"]
        assert (u["orders"], u["purchases"], u["refund_events"], u["carts"]) == (3, 5, 1, 1)


def test_refunds_missing_money_and_unknown_items(store: Store) -> None:
    items = pd.DataFrame({"item_id": ["i1"], "category": ["  "], "brand": [" "], "load_id": [1]})
    _store_with(
        store,
        [
            ("u", "i1", "refund", "2024-01-02 10:00", -2, 10.0, None, None),  # 2 * 10 - 0
            ("u", "i1", "refund", "2024-01-02 11:00", 1, None, 1.0, None),  # 0 - 1
            ("u", "i9", "purchase", "2024-01-03 10:00", 3, None, None, None),  # unknown item
            ("u", "i1", "purchase", "2024-01-03 11:00", 1, 10.0, 0.0, None),  # no discount
            ("u", "i1", "purchase", "2024-01-03 12:00", 2, 10.0, 2.5, None),  # discounted
            ("u", "i1", "purchase", "2024-02-03 12:00", 2, 10.0, 2.5, None),  # after as_of
            ("late", "i1", "view", "2024-02-03 12:00", 1, None, None, None),  # after as_of
        ],
        items,
    )
    for result in _both(store, ["u", "late"], datetime(2024, 2, 1)):
        users = _users(result)
        assert sorted(users) == ["u"]  # late is not known yet
        u = users["u"]
        assert (u["refund_events"], u["refund_value"]) == (2, 19.0)
        assert (u["items_bought"], u["list_value"], u["discount_total"]) == (6.0, 30.0, 2.5)
        assert (u["gross_spend"], u["discounted_spend"]) == (27.5, 17.5)
        assert u["last_event_at"] == pd.Timestamp("2024-01-03 12:00")
        # a blank category and an unknown item are both "(unknown)"; a blank brand is none
        assert _sums(result, "profile_agg_categories") == {("u", "(unknown)"): [27.5, 6.0]}
        assert result["profile_agg_brands"].empty


def test_a_signup_after_as_of_counts_only_with_an_earlier_event(store: Store) -> None:
    users = pd.DataFrame(
        {
            "user_id": ["early", "late", "active"],
            "signup_at": pd.to_datetime(["2024-01-01", "2024-03-01", "2024-03-01"]),
            "load_id": [1, 1, 1],
        }
    )
    _store_with(store, [("active", "i1", "view", "2024-01-05", 1, None, None, None)], None, users)
    for result in _both(store, ["early", "late", "active"], datetime(2024, 2, 1)):
        users_found = _users(result)
        assert sorted(users_found) == ["active", "early"]
        assert users_found["active"]["signup_at"] == pd.Timestamp("2024-03-01")


def test_the_read_takes_only_the_batch_users_rows_up_to_as_of(hand_store: Store) -> None:
    inputs = read_batch_inputs(
        hand_store, ["alice", "carol", "alice", "zed"], datetime(2024, 3, 31)
    )
    assert inputs.user_ids == ("alice", "carol", "zed")
    assert sorted({e.user_id for e in inputs.events}) == ["alice", "carol"]
    assert len(inputs.events) == 8  # alice's purchase in April is later
    assert sorted(inputs.users) == ["alice"]
    first = next(e for e in inputs.events if e.item_id == "i1")
    assert (first.category, first.brand) == ("Toys", "Acme")
    assert read_batch_inputs(hand_store, [], datetime(2024, 3, 31)).events == []
