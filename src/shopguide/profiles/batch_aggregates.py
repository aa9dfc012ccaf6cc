"""A small batch's per-user aggregates, computed in Python from the users' own rows.

The set-based SQL of :mod:`shopguide.profiles.aggregates` costs tens of milliseconds per run
even for a handful of users (DuckDB binds and optimises each of its statements, whatever the
input). A live update of a few users instead reads their raw rows once
(:func:`read_batch_inputs`: their events, the items those name, their ``users`` rows; the
events on a second connection beside the update's own statements with
:func:`read_batch_events_beside`) and computes the rows of ``profile_agg_users``,
``profile_agg_categories`` and ``profile_agg_brands`` here (:func:`batch_aggregate_tables`), by the
definitions in the docstring of :mod:`shopguide.profiles.aggregates`. The results equal what
``user_aggregates_sql``, ``category_aggregates_sql`` and ``brand_aggregates_sql`` insert for the
same users (``tests/profiles/test_profiles_batch_aggregates.py`` checks that on random stores);
floating-point sums may differ in the last bits, as they add the same numbers in another order.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final, NamedTuple

import pyarrow as pa

from shopguide.profiles.aggregates import AGE_BAND_SQL, ITEM_BRAND_SQL, ITEM_CATEGORY_SQL
from shopguide.store.base import Store
from shopguide.store.user_indexes import raise_user_lookups

__all__ = [
    "BatchEvent",
    "BatchInputs",
    "BatchUser",
    "batch_aggregate_tables",
    "read_batch_events",
    "read_batch_events_beside",
    "read_batch_inputs",
    "read_batch_users",
]

#: Every event of the batch's users. They are found by ``user_id = ANY($ids)`` alone, which
#: DuckDB answers from the events' user index (:mod:`shopguide.store.user_indexes`) where there
#: is one: a second condition in the same scan (the events' time) makes it scan the table
#: instead, and a join in the same statement (their items) costs 4 ms more than a second
#: statement at 1M users, so both are done apart.
_BATCH_EVENTS_SQL: Final = """
SELECT user_id, item_id, event_type, "timestamp", quantity, price, discount, order_id
FROM events WHERE user_id = ANY($ids::VARCHAR[])
"""

#: Every row of the items the events name, with its top-level category, brand and load.
_BATCH_ITEMS_SQL: Final = f"""
SELECT item_id, {ITEM_CATEGORY_SQL} AS category, {ITEM_BRAND_SQL} AS brand, load_id
FROM items WHERE item_id = ANY($items::VARCHAR[])
"""

#: Every ``users`` row of the batch's users, with its load, found through the users' user
#: index; the latest row of each user is picked in Python (a window here costs 2 ms more).
_BATCH_USERS_SQL: Final = f"""
SELECT user_id, gender, coalesce(age_band, {AGE_BAND_SQL}) AS age_band, location, signup_at,
       load_id
FROM users WHERE user_id = ANY($ids::VARCHAR[])
"""

_TS: Final = pa.timestamp("us")
_STR: Final = pa.string()

#: The columns of ``profile_agg_users``, ``profile_agg_categories`` and ``profile_agg_brands``
#: (:data:`shopguide.profiles.tables.PROFILE_DDL`), in order, with their types.
USER_AGGREGATES_SCHEMA: Final = pa.schema(
    [
        ("as_of", _TS), ("user_id", _STR), ("gender", _STR), ("age_band", _STR),
        ("location", _STR), ("signup_at", _TS), ("first_event_at", _TS),
        ("last_event_at", _TS), ("views", pa.int64()), ("carts", pa.int64()),
        ("purchases", pa.int64()), ("refund_events", pa.int64()), ("orders", pa.int64()),
        ("first_order_at", _TS), ("last_order_at", _TS), ("items_bought", pa.float64()),
        ("list_value", pa.float64()), ("discount_total", pa.float64()),
        ("gross_spend", pa.float64()), ("discounted_spend", pa.float64()),
        ("refund_value", pa.float64()), ("preferred_weekday", pa.int32()),
        ("preferred_hour", pa.int32()),
    ]
)  # fmt: skip
CATEGORY_AGGREGATES_SCHEMA: Final = pa.schema(
    [("as_of", _TS), ("user_id", _STR), ("category", _STR), ("spend", pa.float64()),
     ("quantity", pa.float64())]
)  # fmt: skip
BRAND_AGGREGATES_SCHEMA: Final = pa.schema(
    [("as_of", _TS), ("user_id", _STR), ("brand", _STR), ("spend", pa.float64())]
)

UNKNOWN_CATEGORY: Final = "(unknown)"


class BatchEvent(NamedTuple):
    """One event of a batch user, with its item's top-level category and brand (both None
    when the item is not in ``items``; the brand also when the item has none)."""

    user_id: str
    item_id: str
    event_type: str
    timestamp: datetime
    quantity: float
    price: float | None
    discount: float | None
    order_id: str | None
    category: str | None
    brand: str | None


class BatchUser(NamedTuple):
    """A batch user's latest ``users`` row (``age_band`` falls back to the band of ``age``)."""

    user_id: str
    gender: str | None
    age_band: str | None
    location: str | None
    signup_at: datetime | None


@dataclass(frozen=True)
class BatchInputs:
    """What the aggregates of a batch's users are computed from (see :func:`read_batch_inputs`)."""

    user_ids: tuple[str, ...]
    events: list[BatchEvent]
    users: dict[str, BatchUser]


def read_batch_inputs(store: Store, user_ids: Iterable[str], as_of: datetime) -> BatchInputs:
    """Read the raw rows the aggregates of ``user_ids`` need, in three small statements.

    These are their events with ``timestamp <= as_of``, with the category and brand of each
    item those events name (:func:`read_batch_events`), and each user's
    latest ``users`` row (:func:`read_batch_users`).
    """
    ids = list(dict.fromkeys(user_ids))
    return BatchInputs(
        tuple(ids), read_batch_events(store, ids, as_of), read_batch_users(store, ids)
    )


def read_batch_events(store: Store, user_ids: list[str], as_of: datetime) -> list[BatchEvent]:
    """The events of ``user_ids`` with ``timestamp <= as_of``, each with the category and
    brand of its item (from the item's row with the highest ``load_id``, NULL lowest, as
    ``LATEST_ITEMS_CTE`` has them), found by the events' user index where there is one (else
    by a scan of their ``user_id``)."""
    events = [row for row in store.rows(_BATCH_EVENTS_SQL, {"ids": user_ids}) if row[3] <= as_of]
    named = sorted({row[1] for row in events})
    items = _latest(store.rows(_BATCH_ITEMS_SQL, {"items": named})) if named else {}
    return [BatchEvent(*row, *items.get(row[1], (None, None))) for row in events]


def read_batch_users(store: Store, user_ids: list[str]) -> dict[str, BatchUser]:
    """Each of ``user_ids``' latest ``users`` row (the one with the highest ``load_id``, NULL
    lowest), by user, found by the users' user index where there is one."""
    users = _latest(store.rows(_BATCH_USERS_SQL, {"ids": user_ids}))
    return {user: BatchUser(user, *row) for user, row in users.items()}


#: Per store, a second connection to it for the reads :func:`read_batch_events_beside` runs
#: beside the store's own statements, with a lock that keeps it to one read at a time.
_READERS: weakref.WeakKeyDictionary[Store, tuple[Store, threading.Lock]] = (
    weakref.WeakKeyDictionary()
)
_READERS_LOCK: Final = threading.Lock()
#: The threads those reads run on, per process (a forked child has none of its parent's
#: threads, so it starts its own).
_READ_THREADS: dict[int, ThreadPoolExecutor] = {}


def _read_threads() -> ThreadPoolExecutor:
    with _READERS_LOCK:
        pool = _READ_THREADS.get(os.getpid())
        if pool is None:
            pool = _READ_THREADS[os.getpid()] = ThreadPoolExecutor(
                max_workers=2, thread_name_prefix="batch-reads"
            )
        return pool


def read_batch_events_beside(
    store: Store, user_ids: list[str], as_of: datetime
) -> Future[list[BatchEvent]]:
    """Start :func:`read_batch_events` on a second connection to ``store``, in a thread of
    its own, and return at once: the caller's statements on ``store`` run meanwhile (DuckDB
    runs the two on separate cores). At 1M users and 10M events, 80 users' events take ~20 ms
    to read, and a live update does ~20 ms of other work meanwhile.

    The second connection sees committed rows only. Call it only when every row the read
    needs was committed: not inside a transaction that wrote events or items.
    """
    with _READERS_LOCK:
        held = _READERS.get(store)
        if held is None:
            held = _READERS[store] = (store.reader(), threading.Lock())
    reader, lock = held
    ids = list(user_ids)

    def read() -> list[BatchEvent]:
        with lock:
            raise_user_lookups(reader, len(ids))
            return read_batch_events(reader, ids, as_of)

    return _read_threads().submit(read)


def _latest(rows: list[tuple[Any, ...]]) -> dict[str, tuple[Any, ...]]:
    """Per id (the first column), the other columns of its row with the highest load (the
    last column) but that load."""
    latest: dict[str, tuple[Any, ...]] = {}
    for row in rows:
        held = latest.get(row[0])
        if held is None or _load_order(row[-1]) > _load_order(held[-1]):
            latest[row[0]] = row
    return {key: row[1:-1] for key, row in latest.items()}


def _load_order(load_id: int | None) -> tuple[bool, int]:
    """Sorts loads as ``ORDER BY load_id NULLS FIRST`` (the latest row is the greatest)."""
    return (load_id is not None, load_id or 0)


def _is_line(event_type: str) -> bool:
    """Purchase or refund, by the same range as ``LINE_TYPES_FILTER``."""
    return "purchase" <= event_type <= "refund"


def _most_frequent(counts: list[int]) -> int | None:
    """The index with the highest count, the smallest on ties (None when all are 0)."""
    best = max(counts)
    return counts.index(best) if best > 0 else None


def batch_aggregate_tables(
    inputs: BatchInputs, version: datetime, as_of: datetime
) -> tuple[pa.Table, pa.Table, pa.Table]:
    """The batch users' rows of ``profile_agg_users``, ``profile_agg_categories`` and
    ``profile_agg_brands``, keyed ``as_of = version``, from their events up to ``as_of``.

    A user gets a row when known as of ``as_of``: with an event by then, or a signup (in their
    latest ``users`` row) by then. Only the users of ``inputs.user_ids`` are considered.
    """
    scope = set(inputs.user_ids)
    by_user: dict[str, list[BatchEvent]] = {}
    for event in inputs.events:
        if event.timestamp <= as_of and event.user_id in scope:
            by_user.setdefault(event.user_id, []).append(event)
    signed_up = [
        user.user_id
        for user in inputs.users.values()
        if user.signup_at is not None and user.signup_at <= as_of and user.user_id in scope
    ]
    users: list[tuple[Any, ...]] = []
    categories: list[tuple[Any, ...]] = []
    brands: list[tuple[Any, ...]] = []
    for user_id in sorted(set(by_user).union(signed_up)):
        row, user_categories, user_brands = _user_aggregates(by_user.get(user_id, []))
        demographics = inputs.users.get(user_id)
        about = demographics[1:] if demographics is not None else (None, None, None, None)
        users.append((version, user_id, *about, *row))
        categories.extend((version, user_id, name, *sums) for name, sums in user_categories.items())
        brands.extend((version, user_id, name, spend) for name, spend in user_brands.items())
    return (
        _table(users, USER_AGGREGATES_SCHEMA),
        _table(categories, CATEGORY_AGGREGATES_SCHEMA),
        _table(brands, BRAND_AGGREGATES_SCHEMA),
    )


def _table(rows: list[tuple[Any, ...]], schema: pa.Schema) -> pa.Table:
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(schema)
    arrays = [
        pa.array(column, type=field.type) for column, field in zip(columns, schema, strict=True)
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


def _user_aggregates(
    events: list[BatchEvent],
) -> tuple[tuple[Any, ...], dict[str, list[float]], dict[str, float]]:
    """One user's activity, order, money and preference fields (the columns of
    ``profile_agg_users`` from ``first_event_at`` on), spend and units per category, spend per
    brand."""
    first_event = last_event = first_order = last_order = None
    views = carts = purchases = refund_events = 0
    items_bought = list_value = discount_total = gross_spend = discounted_spend = 0.0
    refund_value = 0.0
    orders: set[str | date] = set()
    weekdays = [0] * 8  # ISO 1..7
    hours = [0] * 24
    categories: dict[str, list[float]] = {}
    brands: dict[str, float] = {}
    for event in events:
        ts = event.timestamp
        if first_event is None or ts < first_event:
            first_event = ts
        if last_event is None or ts > last_event:
            last_event = ts
        kind = event.event_type
        if kind == "view":
            views += 1
        elif kind == "cart":
            carts += 1
        if not _is_line(kind):
            continue
        quantity = event.quantity
        price = 0.0 if event.price is None else event.price
        discount = 0.0 if event.discount is None else event.discount
        if kind != "purchase":
            refund_events += 1
            refund_value += abs(quantity) * price - discount
            continue
        purchases += 1
        if first_order is None or ts < first_order:
            first_order = ts
        if last_order is None or ts > last_order:
            last_order = ts
        # an order is its order id, or the purchase's calendar day when it has none (a str
        # never equals a date, so the two kinds of key cannot collide)
        orders.add(event.order_id if event.order_id is not None else ts.date())
        value = quantity * price
        spend = value - discount
        items_bought += quantity
        list_value += value
        discount_total += discount
        gross_spend += spend
        if discount > 0:
            discounted_spend += spend
        weekdays[ts.isoweekday()] += 1
        hours[ts.hour] += 1
        sums = categories.setdefault(
            event.category if event.category is not None else UNKNOWN_CATEGORY, [0.0, 0.0]
        )
        sums[0] += spend
        sums[1] += quantity
        if event.brand is not None:
            brands[event.brand] = brands.get(event.brand, 0.0) + spend
    row = (
        first_event, last_event, views, carts, purchases, refund_events, len(orders),
        first_order, last_order, items_bought, list_value, discount_total, gross_spend,
        discounted_spend, refund_value, _most_frequent(weekdays), _most_frequent(hours),
    )  # fmt: skip
    return row, categories, brands
