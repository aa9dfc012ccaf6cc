"""The Python derivation of a live batch's profiles equals LIVE_PROFILES_SQL, row for row.

The property test builds a random store, measures a version's population statistics with
``build_profiles``, computes a random batch's aggregates the way a live update does (events up
to the version or later) and runs both the SQL and :func:`derive_profile_table` on them. The
known-answer tests pin the rules that random data reaches rarely: the top-entry tie-break,
unseen names, scores at and between cut points, DuckDB's rounding.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from profiles_testdata import ITEMS, USERS, events_frame

from shopguide.profiles import build_profiles, ensure_profile_tables
from shopguide.profiles.aggregates import (
    SCOPE_TABLE,
)
from shopguide.profiles.batch_aggregates import (
    batch_aggregate_tables,
    read_batch_inputs,
)
from shopguide.profiles.batch_derive import (
    PROFILE_COLUMNS,
    PopulationStatistics,
    derive_profile_table,
    load_population,
    round_micro,
)
from shopguide.profiles.derive import LIVE_AGGREGATE_TABLES, LIVE_PROFILES_SQL
from shopguide.profiles.live import aggregate_scope
from shopguide.store import open_store
from shopguide.store.base import Store

START = datetime(2024, 1, 1)
USERS_TABLE, CATEGORIES_TABLE, BRANDS_TABLE = LIVE_AGGREGATE_TABLES.values()

#: ITEMS plus a category and a brand nobody may have bought by the version (unseen names), a
#: category sorting first, an item with a blank category and brand, and one priced 0.
MORE_ITEMS = pd.concat(
    [
        ITEMS,
        pd.DataFrame(
            {
                "item_id": ["i5", "i6", "i7", "i8"],
                "category": ["Garden > Tools", " ", "Aardvark", "Toys"],
                "brand": ["Zed", "  ", "Acme", "bolt"],
                "price": [10.0, None, 3.0, 0.0],
                "load_id": [1, 1, 1, 1],
            }
        ),
    ],
    ignore_index=True,
)
EXTRA_USERS = pd.DataFrame(
    {
        "user_id": ["gus"],  # signs up and never acts
        "gender": ["M"],
        "age": pd.array([70], dtype="Int64"),
        "age_band": [None],
        "location": [None],
        "signup_at": pd.to_datetime(["2024-01-20"]),
        "load_id": [1],
    }
)
PEOPLE = ["alice", "bob", "carol", "dave", "erin", "gus", "u7", "u8"]
ITEM_IDS = ["i1", "i2", "i3", "i4", "i5", "i6", "i7", "i8", "i9"]  # i9 is not in the items table
MINUTES = 90 * 24 * 60
#: how far a batch's events run past the version: none, within the day, into later days
LATER = [timedelta(0), timedelta(minutes=5), timedelta(hours=20), timedelta(days=3),
         timedelta(days=40)]  # fmt: skip

# prices that make equal spends (and spends equal to the cent) likely, zero and NULL prices
prices = st.one_of(
    st.none(),
    st.sampled_from([0.0, 5.0, 10.0, 10.004, 10.001, 9.996, 20.0]),
    st.integers(1, 5000).map(lambda c: c / 100),
)
random_rows = st.tuples(
    st.sampled_from(PEOPLE),
    st.sampled_from(ITEM_IDS),
    st.sampled_from(["view", "view", "cart", "purchase", "purchase", "purchase", "refund"]),
    st.integers(0, MINUTES),
    st.integers(1, 3),
    prices,
    st.sampled_from([None, 0.0, 0.5, 2.0, 15.0]),  # 15 off: a line with negative spend
    st.sampled_from([None, "o1", "o2", "o3"]),
)

# one user buying two items of different categories and brands at spends equal to the cent
# (10.004 / 10.001), or rounding to the same cent from an exact half (0.125 / 0.13)
tie_pairs = st.tuples(
    st.sampled_from(PEOPLE),
    st.sampled_from([("i5", "i7"), ("i2", "i3"), ("i8", "i5"), ("i4", "i2")]),
    st.sampled_from([(10.004, 10.001), (0.125, 0.13), (0.13, 0.125), (0.1249, 0.125)]),
    st.integers(0, MINUTES),
    st.sampled_from([None, "t1"]),
)


def _rows(raw: list[tuple], ties: list[tuple]) -> list[tuple]:
    rows = [(u, i, t, START + timedelta(minutes=m), q, p, d, o) for (u, i, t, m, q, p, d, o) in raw]
    for user, items, spends, minute, order in ties:
        when = START + timedelta(minutes=minute)
        rows += [(user, item, "purchase", when, 1, spend, 0.0, order)
                 for item, spend in zip(items, spends, strict=True)]  # fmt: skip
    return rows


def _store(rows: list[tuple]) -> Store:
    store = open_store(":memory:")
    store.append("items", MORE_ITEMS)
    store.append("users", pd.concat([USERS, EXTRA_USERS], ignore_index=True))
    if rows:
        store.append("events", events_frame(rows))
    return store


def _batch_aggregates(store: Store, users: list[str], version: datetime, as_of: datetime) -> None:
    """The batch's aggregates in the live temp tables, made as a live update makes them."""
    both = {"version": version, "as_of": as_of}
    store.execute(f"CREATE OR REPLACE TEMP TABLE {SCOPE_TABLE} (user_id VARCHAR)")
    store.append(SCOPE_TABLE, pd.DataFrame({"user_id": users}))
    aggregate_scope(store, LIVE_AGGREGATE_TABLES, both)


def _sql_and_python(
    store: Store, version: datetime, as_of: datetime
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows LIVE_PROFILES_SQL inserts for the batch in the temp tables (into a scratch
    table), and :func:`derive_profile_table`'s rows for the same aggregates, stored through a
    table shaped like ``profiles`` and read back (so they must fit its columns and types)."""
    store.execute("CREATE OR REPLACE TEMP TABLE _sql_rows AS FROM profiles LIMIT 0")
    insert = LIVE_PROFILES_SQL.replace("INSERT INTO profiles", "INSERT INTO _sql_rows", 1)
    store.execute(insert, {"version": version, "as_of": as_of})
    want = store.query_df("SELECT * FROM _sql_rows")
    population = load_population(store, version)
    assert population is not None
    tables = [store.query_arrow(f"SELECT * FROM {t}") for t in LIVE_AGGREGATE_TABLES.values()]
    rows = derive_profile_table(*tables, population, version, as_of)
    assert rows.column_names == list(PROFILE_COLUMNS)
    return _appended(store, rows), want


def _null(value: Any) -> bool:
    return value is None or (not isinstance(value, str | list | np.ndarray) and pd.isna(value))


def _assert_same(where: str, got: Any, want: Any) -> None:
    if _null(want):
        assert _null(got), f"{where}: {got!r}, SQL gives NULL"
    elif isinstance(want, list | np.ndarray):  # top entries: same order, same fields
        assert isinstance(got, list | np.ndarray), f"{where}: {got!r}, SQL gives a list"
        assert len(got) == len(want), f"{where}: {got!r} != {want!r}"
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert list(g) == list(w), where
            for key in w:
                _assert_same(f"{where}[{i}].{key}", g[key], w[key])
    elif isinstance(want, float | np.floating):
        assert not _null(got) and math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12), (
            f"{where}: {got!r} != {want!r}"
        )
    else:
        assert not _null(got) and got == want and type(got) is not float, (
            f"{where}: {got!r} != {want!r}"
        )


def assert_rows_equal(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Same users, same columns in table order, equal values (floats within 1e-9)."""
    assert list(got.columns) == list(want.columns) == list(PROFILE_COLUMNS)
    got = got.sort_values("user_id").reset_index(drop=True)
    want = want.sort_values("user_id").reset_index(drop=True)
    assert got["user_id"].tolist() == want["user_id"].tolist()
    for column in want.columns:
        for user, g, w in zip(want["user_id"], got[column], want[column], strict=True):
            _assert_same(f"{user}.{column}", g, w)


def _appended(store: Store, rows: pa.Table) -> pd.DataFrame:
    """``rows`` written into a table shaped like ``profiles`` by the store's append, read back."""
    store.execute("CREATE OR REPLACE TEMP TABLE _appended AS FROM profiles LIMIT 0")
    store.append("_appended", rows)
    return store.query_df("SELECT * FROM _appended")


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    raw=st.lists(random_rows, min_size=10, max_size=60),
    ties=st.lists(tie_pairs, max_size=3),
    version_minutes=st.integers(0, MINUTES),
    later=st.sampled_from(LATER),
    batch=st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=len(PEOPLE), unique=True),
)
def test_derive_profile_table_equals_the_live_sql(
    raw: list[tuple], ties: list[tuple], version_minutes: int, later: timedelta, batch: list[str]
) -> None:
    version = START + timedelta(minutes=version_minutes)
    as_of = version + later
    store = _store(_rows(raw, ties))
    try:
        build_profiles(store, version)  # measures and stores the version's statistics
        _batch_aggregates(store, batch, version, as_of)
        got, want = _sql_and_python(store, version, as_of)
        assert_rows_equal(got, want)
        # and from the aggregates batch_aggregate_tables makes in Python, as a live update does
        population = load_population(store, version)
        assert population is not None
        tables = batch_aggregate_tables(read_batch_inputs(store, batch, as_of), version, as_of)
        rows = derive_profile_table(*tables, population, version, as_of)
        assert rows.column_names == list(PROFILE_COLUMNS)
        assert_rows_equal(_appended(store, rows), want)
    finally:
        store.close()


# --- known answers ------------------------------------------------------------------------------

VERSION = datetime(2024, 3, 31, 12)
AS_OF = datetime(2024, 4, 2, 0, 30)


@pytest.fixture()
def store() -> Iterator[Store]:
    store = open_store(":memory:")
    ensure_profile_tables(store)
    yield store
    store.close()


def _store_population(
    store: Store,
    *,
    gross: float | None = 100.0,
    r_cuts: list[date | None] | None = None,
    f_cuts: list[int | None] | None = None,
    m_cuts: list[float | None] | None = None,
    categories: dict[str, float] | None = None,
    brands: dict[str, float] | None = None,
    prices: dict[str, float] | None = None,
) -> PopulationStatistics:
    """Store hand-made statistics for :data:`VERSION`; returns them as loaded."""
    store.execute(
        "INSERT INTO profile_population VALUES ($v, $v, now()::TIMESTAMP, 0, 0, $gross, "
        "CAST($r AS DATE[]), CAST($f AS BIGINT[]), CAST($m AS DOUBLE[]))",
        {"v": VERSION, "gross": gross,
         "r": r_cuts or [date(2024, 1, 1)] * 4, "f": f_cuts or [1, 2, 3, 4],
         "m": m_cuts or [10.0, 20.0, 30.0, 40.0]},
    )  # fmt: skip
    shares = [("category", n, s) for n, s in (categories or {}).items()]
    shares += [("brand", n, s) for n, s in (brands or {}).items()]
    if shares:
        store.append(
            "profile_population_shares",
            pd.DataFrame(shares, columns=["kind", "name", "spend"]).assign(as_of=VERSION),
        )
    if prices:
        store.append(
            "profile_category_prices",
            pd.DataFrame({"category": list(prices), "median_unit_price": list(prices.values()),
                          "lines": 1, "as_of": VERSION}),
        )  # fmt: skip
    population = load_population(store, VERSION)
    assert population is not None
    return population


def _user(user_id: str, **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "as_of": VERSION, "user_id": user_id, "gender": None, "age_band": None,
        "location": None, "signup_at": pd.Timestamp("2024-01-01"),
        "first_event_at": None, "last_event_at": None, "views": 0, "carts": 0,
        "purchases": 0, "refund_events": 0, "orders": 0, "first_order_at": None,
        "last_order_at": None, "items_bought": 0.0, "list_value": 0.0, "discount_total": 0.0,
        "gross_spend": 0.0, "discounted_spend": 0.0, "refund_value": 0.0,
        "preferred_weekday": None, "preferred_hour": None,
    }  # fmt: skip
    return row | fields


def _buyer(user_id: str, orders: int, spend: float, last_order: str) -> dict[str, Any]:
    when = pd.Timestamp(last_order)
    return _user(user_id, orders=orders, purchases=orders, gross_spend=spend, list_value=spend,
                 items_bought=float(orders), first_event_at=when, last_event_at=when,
                 first_order_at=when, last_order_at=when)  # fmt: skip


def _derive(
    store: Store,
    population: PopulationStatistics,
    users: list[dict[str, Any]],
    categories: Sequence[tuple[str, str, float, float]] = (),
    brands: Sequence[tuple[str, str, float]] = (),
) -> pd.DataFrame:
    """Both derivations of hand-made aggregate rows: asserts they agree, returns Python's
    rows indexed by user."""
    for table, temp in LIVE_AGGREGATE_TABLES.items():
        store.execute(f"CREATE OR REPLACE TEMP TABLE {temp} AS FROM {table} LIMIT 0")
    store.append(USERS_TABLE, pd.DataFrame(users))
    if categories:
        frame = pd.DataFrame(categories, columns=["user_id", "category", "spend", "quantity"])
        store.append(CATEGORIES_TABLE, frame.assign(as_of=VERSION))
    if brands:
        frame = pd.DataFrame(brands, columns=["user_id", "brand", "spend"])
        store.append(BRANDS_TABLE, frame.assign(as_of=VERSION))
    got, want = _sql_and_python(store, VERSION, AS_OF)
    assert_rows_equal(got, want)
    return got.set_index("user_id")


def _names(entries: list[dict[str, Any]]) -> list[str]:
    return [e["name"] for e in entries]


def test_top_entries_rank_by_cents_then_name(store: Store) -> None:
    population = _store_population(store, categories={"Toys": 50.0, "Books": 25.0})
    spends = {"Toys": 10.004, "Books": 10.001, "Art": 9.996, "Zoo": 20.0, "apple": 10.0,
              "Food": 1.0, "Games": 10.0049}  # fmt: skip
    rows = _derive(
        store, population,
        [_buyer("u", 1, sum(spends.values()), "2024-03-30 10:00")],
        [("u", name, spend, 1.0) for name, spend in spends.items()],
    )  # fmt: skip
    top = rows.loc["u", "top_categories"]
    # 2000 cents; then 1000 cents each (Games 1000.49 rounds down), by name in code-point
    # order (upper case first); Food (100 cents) and apple (1000 cents, last by name) miss
    # the top 5
    assert _names(top) == ["Zoo", "Art", "Books", "Games", "Toys"]
    assert [e["spend"] for e in top] == [20.0, 9.996, 10.001, 10.0049, 10.004]  # not rounded
    assert rows.loc["u", "top_category"] == "Zoo"


def test_half_cents_round_away_from_zero_and_signed_zero_cents_tie(store: Store) -> None:
    population = _store_population(store)
    # 0.125 is exactly 12.5 cents: 13, tying B with C (13.4 -> 13), first by name (half to
    # even would give 12 and put B after A); -0.001 and 0.001 are -0 and 0 cents: a tie
    up = {"C": 0.134, "B": 0.125, "A": 0.1249, "Z": -0.001, "Y": 0.001}
    # -12.5 cents is -13, tying N with M (-13) and after it by name, behind L (-12)
    down = {"N": -0.125, "M": -0.13, "L": -0.1249}
    rows = _derive(
        store, population,
        [_buyer("up", 1, 1.0, "2024-03-30 10:00"), _buyer("down", 1, -1.0, "2024-03-30 10:00")],
        brands=[("up", name, spend) for name, spend in up.items()]
        + [("down", name, spend) for name, spend in down.items()],
    )  # fmt: skip
    assert _names(rows.loc["up", "top_brands"]) == ["B", "C", "A", "Y", "Z"]
    assert _names(rows.loc["down", "top_brands"]) == ["L", "M", "N"]


def test_unseen_names_get_a_share_but_no_affinity(store: Store) -> None:
    population = _store_population(
        store, gross=200.0, categories={"Toys": 50.0, "Dust": 0.0}, brands={"Acme": 100.0}
    )
    rows = _derive(
        store, population,
        [_buyer("u", 2, 40.0, "2024-03-30 10:00")],
        [("u", "Garden", 20.0, 1.0), ("u", "Toys", 15.0, 1.0), ("u", "Dust", 5.0, 1.0)],
        [("u", "Zed", 40.0)],
    )  # fmt: skip
    garden, toys, dust = rows.loc["u", "top_categories"]
    assert garden == {"name": "Garden", "spend": 20.0, "share": 0.5, "affinity": None}
    assert toys["affinity"] == pytest.approx((15 / 40) / (50 / 200))
    assert dust["affinity"] is None  # a population share of 0 gives no index
    assert rows.loc["u", "top_category"] == "Garden"
    assert rows.loc["u", "top_category_share"] == 0.5
    assert math.isnan(rows.loc["u", "top_category_affinity"])
    assert rows.loc["u", "top_brands"][0]["affinity"] is None


def test_scores_at_and_between_cut_points_and_their_segments(store: Store) -> None:
    population = _store_population(
        store,
        r_cuts=[date(2024, 1, 10), date(2024, 2, 1), date(2024, 3, 1), date(2024, 3, 20)],
        f_cuts=[2, 3, 3, None],  # nobody scored F 5
        m_cuts=[10.0, 20.0, 30.0, 40.0],
    )
    users = [
        _buyer("champion", 3, 40.0, "2024-03-20 00:00"),  # at every top cut: 5 4 5 -> FM 5
        _buyer("lost", 1, 9.99, "2024-01-09 23:59"),  # below every cut: 1 1 1
        _buyer("leaving", 9, 50.0, "2024-01-31 23:59"),  # R 2, F 4 (no F 5), M 5 -> FM 5
        # monetary 19.9999996 rounds (6 decimals) to 20: M 3; 19.9999994 to 19.999999: M 2
        _buyer("rounded_up", 2, 19.9999996, "2024-03-01 00:00"),
        _buyer("rounded_down", 2, 19.9999994, "2024-03-01 00:00"),
        _user(
            "browser",
            views=3,
            first_event_at=pd.Timestamp("2024-03-31 23:59"),
            last_event_at=pd.Timestamp("2024-04-01 23:59"),
        ),
    ]
    rows = _derive(store, population, users)
    cells = rows["rfm_cell"].to_dict()
    segments = rows["segment"].to_dict()
    assert cells["champion"] == "545" and segments["champion"] == "Champions"
    assert cells["lost"] == "111" and segments["lost"] == "Lost"
    assert cells["leaving"] == "245" and segments["leaving"] == "Can't Lose Them"
    assert cells["rounded_up"] == "423" and rows.loc["rounded_up", "fm_score"] == 3
    assert segments["rounded_up"] == "Potential Loyalist"  # R 4, FM 3
    assert cells["rounded_down"] == "422" and segments["rounded_down"] == "Potential Loyalist"
    # a user without orders: no scores, no segment, no lists
    browser = rows.loc["browser"]
    assert pd.isna(browser["r_score"]) and pd.isna(browser["segment"])
    assert _null(browser["top_categories"]) and _null(browser["top_brands"])
    assert math.isnan(browser["price_sensitivity"]) and pd.isna(browser["recency_days"])
    # calendar days: 23:59 the day before as_of (00:30) is one day
    assert browser["days_since_last_event"] == 1 and browser["tenure_days"] == 92


def test_price_index_counts_only_priced_categories(store: Store) -> None:
    population = _store_population(store, prices={"Toys": 10.0, "Books": 20.0})
    rows = _derive(
        store, population,
        [_buyer("cheap", 1, 30.0, "2024-03-30 10:00") | {"discounted_spend": 15.0},
         _buyer("unpriced", 1, 30.0, "2024-03-30 10:00"),
         *(_buyer(name, 1, 10.0, "2024-03-30 10:00") for name in ("at_low", "at_high", "high"))],
        # cheap: (8 + 16) / (1 * 10 + 2 * 20) = 0.48, the unknown category left out
        [("cheap", "Toys", 8.0, 1.0), ("cheap", "Books", 16.0, 2.0), ("cheap", "New", 6.0, 1.0),
         ("unpriced", "New", 30.0, 3.0), ("at_low", "Toys", 8.0, 1.0),
         ("at_high", "Toys", 12.5, 1.0), ("high", "Toys", 12.6, 1.0)],
    )  # fmt: skip
    # 0.48 is low; the bounds themselves (0.8 and 1.25) are mid
    bands = [rows.loc[name, "price_band"] for name in ("cheap", "at_low", "at_high", "high")]
    assert bands == ["low", "mid", "mid", "high"]
    assert rows.loc["cheap", "price_index"] == pytest.approx(0.48)
    assert rows.loc["cheap", "price_band"] == "low"
    assert rows.loc["cheap", "price_sensitivity"] == pytest.approx(0.25 + 0.5 / (1 + 0.48**2))
    assert math.isnan(rows.loc["unpriced", "price_index"])
    assert pd.isna(rows.loc["unpriced", "price_band"])
    assert rows.loc["unpriced", "price_sensitivity"] == 0.0  # the discount share alone


def test_day_counts_gaps_and_frequency(store: Store) -> None:
    population = _store_population(store)
    regular = _buyer("regular", 3, 30.0, "2024-03-05 22:00") | {
        "first_order_at": pd.Timestamp("2024-03-01 10:00"),  # 4.5 days over 2 gaps
        "signup_at": pd.Timestamp("2024-02-01 12:00"),
        "first_event_at": pd.Timestamp("2024-01-15 08:00"),  # before the signup: first seen
    }
    today = _buyer("today", 2, 30.0, "2024-04-02 00:10") | {"signup_at": None}
    rows = _derive(store, population, [regular, today])
    assert rows.loc["regular", "avg_days_between_orders"] == pytest.approx(2.25)
    assert rows.loc["regular", "first_seen_at"] == pd.Timestamp("2024-01-15 08:00")
    assert rows.loc["regular", "tenure_days"] == 78  # 2024-01-15 to 2024-04-02
    assert rows.loc["regular", "recency_days"] == 28  # 2024-03-05 to 2024-04-02
    assert rows.loc["regular", "purchase_frequency"] == pytest.approx(3 * 30 / 78)
    # first seen on as_of's day: tenure 0, frequency per at least one day
    assert rows.loc["today", "tenure_days"] == 0 and rows.loc["today", "recency_days"] == 0
    assert rows.loc["today", "purchase_frequency"] == 60.0
    assert rows.loc["today", "avg_days_between_orders"] == 0.0


def test_rounding_to_six_decimals_is_duckdbs() -> None:
    # the nearest double to -77.9165345 lies just above it: not a half, so it rounds up
    assert round_micro(-77.9165345) == -77.916534
    assert round_micro(0.0078125) == 0.007813  # an exact half: away from zero
    assert round_micro(-0.0078125) == -0.007813


def test_population_statistics_are_immutable_and_none_without_a_row(store: Store) -> None:
    assert load_population(store, VERSION) is None
    population = _store_population(store, gross=0.0, categories={"Toys": 5.0})
    assert population.category_shares == {"Toys": None}  # gross spend 0: no share
    with pytest.raises(dataclasses.FrozenInstanceError):
        population.gross_spend = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        population.category_spend["Toys"] = 1.0  # type: ignore[index]
