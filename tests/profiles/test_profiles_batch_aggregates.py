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
    BATCH_EVENTS_SQL,
    BATCH_EVENTS_TABLE,
    SCOPE_TABLE,
    brand_aggregates_sql,
    category_aggregates_sql,
    lines_sql,
    user_aggregates_sql,
)
from shopguide.profiles.batch_aggregates import batch_aggregates, read_batch_inputs
from shopguide.profiles.tables import USER_AGGREGATE_TABLES, ensure_profile_tables
from shopguide.store import open_store
from shopguide.store.base import Store

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
    store.execute(BATCH_EVENTS_SQL, {"as_of": as_of})
    store.execute(lines_sql(True, BATCH_EVENTS_TABLE), {"as_of": as_of})
    temps = {table: f"_sql_{table}" for table in USER_AGGREGATE_TABLES}
    for table, temp in temps.items():
        store.execute(f"CREATE OR REPLACE TEMP TABLE {temp} AS FROM {table} LIMIT 0")
    users, categories, brands = temps.values()
    params = {"version": version, "as_of": as_of}
    store.execute(user_aggregates_sql(True, "$version", users, BATCH_EVENTS_TABLE), params)
    store.execute(category_aggregates_sql("$version", categories), {"version": version})
    store.execute(brand_aggregates_sql("$version", brands), {"version": version})
    return {table: store.query_df(f"FROM {temp}") for table, temp in temps.items()}


def python_aggregates(
    store: Store, user_ids: list[str], version: datetime, as_of: datetime
) -> dict[str, pd.DataFrame]:
    """The Python aggregates, stored through a copy of each table and read back (so they must
    fit its columns and types)."""
    ensure_profile_tables(store)
    frames = batch_aggregates(read_batch_inputs(store, user_ids, as_of), version, as_of)
    result = {}
    for table, frame in zip(USER_AGGREGATE_TABLES, frames, strict=True):
        columns = list(store.query_df(f"FROM {table} LIMIT 0").columns)
        assert list(frame.columns) == columns, table
        store.execute(f"CREATE OR REPLACE TEMP TABLE _py_{table} AS FROM {table} LIMIT 0")
        store.append(f"_py_{table}", frame)
        result[table] = store.query_df(f"FROM _py_{table}")
    return result


def _equal(got: Any, want: Any) -> bool:
    if want is None or (not isinstance(want, str) and pd.isna(want)):
        return got is None or (not isinstance(got, str) and bool(pd.isna(got)))
    if isinstance(want, float | np.floating):
        # the same numbers added in another order: equal but for the last bits
        return math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12)
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

USER_IDS = ["u1", "u2", "u3", "u4", "u5", "u6"]
ITEM_IDS = ["i1", "i2", "i3", "i4"]  # events also name "i9", which is never in the items
CATEGORIES = ["Toys > Lego", " Books ", "", None, "> Sub", "Home>Garden", "A > B > C", "Toys"]
BRANDS = ["Acme", " Acme ", "", None, "Bolt", "  "]
minutes = st.integers(0, 60 * 24 * 21)  # three weeks: repeated weekdays and hours
money = st.one_of(st.none(), st.sampled_from([0.0, 1.5, 9.99, 20.0, 1e6, 0.1]))
load_ids = st.lists(st.sampled_from([None, 1, 2, 3]), min_size=1, max_size=3, unique=True)

item_rows = st.tuples(
    st.sampled_from(ITEM_IDS), st.sampled_from(CATEGORIES), st.sampled_from(BRANDS), load_ids
)
user_rows = st.tuples(
    st.sampled_from(USER_IDS),
    load_ids,
    st.sampled_from([None, "F", "M"]),
    st.one_of(st.none(), st.integers(10, 80)),
    st.sampled_from([None, "25-34", "65+"]),
    st.sampled_from([None, "London", "York"]),
    st.one_of(st.none(), minutes),
)
event_rows = st.tuples(
    st.sampled_from(USER_IDS),
    st.sampled_from([*ITEM_IDS, "i9"]),
    st.sampled_from(["view", "view", "cart", "click", "purchase", "purchase", "refund"]),
    minutes,
    st.sampled_from([1.0, 2.0, 3.0, 0.5, -1.0, 0.0]),
    money,
    st.one_of(st.none(), st.sampled_from([0.0, 0.5, 2.0, -1.0])),
    st.sampled_from([None, None, "o1", "o2", "o3"]),
)


def _fill(
    store: Store, items: list[tuple], users: list[tuple], events: list[tuple], reorder: bool
) -> None:
    """Items and users with their rows of several loads (at most one NULL load id per id, so
    the latest row is never a tie), and the events."""
    item_frame = pd.DataFrame(
        [
            (item, category, brand, 10.0, load)
            for item, category, brand, loads in items
            for load in loads
        ],
        columns=["item_id", "category", "brand", "price", "load_id"],
    ).drop_duplicates(["item_id", "load_id"])
    # each (user, load) once: the later row of a user in the list may change the demographics
    user_frame = pd.DataFrame(
        [
            (
                user,
                load,
                gender,
                age,
                band,
                location,
                None if at is None else START + timedelta(minutes=at),
            )
            for user, loads, gender, age, band, location, at in users
            for load in loads
        ],
        columns=["user_id", "load_id", "gender", "age", "age_band", "location", "signup_at"],
    ).drop_duplicates(["user_id", "load_id"], keep="last")
    if reorder:  # the latest load is not the last row
        item_frame, user_frame = item_frame.iloc[::-1], user_frame.iloc[::-1]
    store.append("items", item_frame.astype({"load_id": "Int64"}))
    store.append("users", user_frame.astype({"load_id": "Int64", "age": "Int64"}))
    rows = [
        (u, i, t, START + timedelta(minutes=m), q, p, d, o) for u, i, t, m, q, p, d, o in events
    ]
    store.append("events", events_frame(rows))


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    items=st.lists(item_rows, max_size=8),
    users=st.lists(user_rows, max_size=8),
    events=st.lists(event_rows, max_size=40),
    reorder=st.booleans(),
    as_of_minutes=minutes,
    batch=st.lists(st.sampled_from([*USER_IDS, "nobody"]), max_size=8),
)
def test_python_aggregates_equal_the_sql_ones_on_random_stores(
    items: list[tuple],
    users: list[tuple],
    events: list[tuple],
    reorder: bool,
    as_of_minutes: int,
    batch: list[str],
) -> None:
    as_of = START + timedelta(minutes=as_of_minutes)
    with open_store(":memory:") as store:
        _fill(store, items, users, events, reorder)
        want = sql_aggregates(store, batch, VERSION, as_of)
        got = python_aggregates(store, batch, VERSION, as_of)
    assert_same_rows(got, want)
