"""The rolling live version, updated in place for a batch's users only.

The live version's rows keep the ``as_of`` key they were created (or last refreshed) under;
``profile_live`` records how far its events go (``events_through``) and the highest load id it
has seen. A live update (:func:`update_live_in_place`) finds the users whose data changed since
then and replaces their ``profiles`` rows: aggregates from their own events up to the new
``events_through``, the population-relative fields against the version's stored population
statistics (:mod:`shopguide.profiles.population`). For a few users both are computed in
Python from one read of their rows (:mod:`~shopguide.profiles.batch_aggregates`,
:mod:`~shopguide.profiles.batch_derive`), for many with SQL. Their rows in the aggregate
tables are not rewritten (a delete there scans each table); ``profile_stale_aggregates``
records them, and what reads the version's aggregates (a refresh, a snapshot update starting
from it) recomputes those users first. No other user's row is read or written, so the cost
follows the batch, not the shop.

:func:`refresh_population` recomputes the stale users' aggregates, measures the population
again, re-derives every user and moves the version's key to its ``events_through``;
afterwards the live version equals ``build_profiles(store, events_through)``.

Between refreshes a user outside every batch keeps the row of their last update, which is
still exact except for what the refresh renews: the population-relative fields, and the day
counts (recency, tenure, days since the last event) once the calendar day changes (a live
update reports the statistics stale then, and the service refreshes).
"""

from __future__ import annotations

import contextlib
import time
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final

import pandas as pd

from shopguide.data.times import naive_utc
from shopguide.profiles.aggregates import (
    BATCH_EVENTS_SQL,
    BATCH_EVENTS_TABLE,
    SCOPE_TABLE,
    brand_aggregates_sql,
    category_aggregates_sql,
    lines_sql,
    user_aggregates_sql,
)
from shopguide.profiles.batch_aggregates import (
    BatchInputs,
    batch_aggregate_tables,
    read_batch_events_beside,
    read_batch_inputs,
    read_batch_users,
)
from shopguide.profiles.batch_derive import (
    PopulationStatistics,
    derive_profile_table,
    load_population,
)
from shopguide.profiles.derive import LIVE_AGGREGATE_TABLES, LIVE_PROFILES_SQL
from shopguide.profiles.population import (
    POPULATION_MAX_AGE,
    PopulationStatus,
    RefreshResult,
    rederive_version,
)
from shopguide.profiles.tables import (
    USER_AGGREGATE_TABLES,
    VERSIONED_TABLES,
    profile_tables_exist,
)
from shopguide.store.base import Store
from shopguide.store.user_indexes import (
    drop_user_index,
    ensure_user_indexes,
    has_user_index,
    user_lookups,
    without_user_index,
)

LIVE_MODE: Final = "live"

#: Up to this many users, a live update computes their aggregates and profiles in Python from
#: one read of their rows (the SQL statements cost tens of ms whatever the batch); above it,
#: with SQL. Measured at 1M users (whole update, Python / SQL): 50 users 106 / 148 ms, 500
#: users 166 / 205 ms, 1,000 users 209 / 215 ms, 2,000 users 281 / 234 ms.
PYTHON_BATCH_USERS: Final = 1_000

#: Users in scope, and why: explicit ones, those of newer loads, those with events or a
#: signup in the window the version moves over.
_SCOPE_SQL: Final = """
SELECT unnest($explicit::VARCHAR[]) AS user_id
UNION SELECT user_id FROM events WHERE $since IS NULL OR load_id > $since
UNION SELECT user_id FROM users WHERE $since IS NULL OR load_id > $since
UNION SELECT user_id FROM events WHERE "timestamp" > $through AND "timestamp" <= $as_of
UNION SELECT user_id FROM users WHERE signup_at > $through AND signup_at <= $as_of"""


#: The highest load id among events, users and items (NULL in an empty store), as an expression.
_MAX_LOAD_ID_SQL: Final = (
    "(SELECT max(m) FROM (SELECT max(load_id) AS m FROM events "
    "UNION ALL SELECT max(load_id) FROM users UNION ALL SELECT max(load_id) FROM items))"
)


def max_load_id(store: Store) -> int | None:
    """The highest load id among events, users and items (None in an empty store)."""
    value = store.scalar(f"SELECT {_MAX_LOAD_ID_SQL}")
    return None if value is None else int(value)


def _ts(value: Any) -> datetime:
    return pd.Timestamp(value).to_pydatetime()


@dataclass(frozen=True)
class LiveState:
    """The live version: its key, how far its events go, the last load it has seen."""

    as_of: datetime
    events_through: datetime
    max_load_id: int | None
    users: int


def live_state(store: Store) -> LiveState | None:
    """The store's live version (None without one)."""
    if not profile_tables_exist(store):  # no profiles built in this store yet
        return None
    found = store.rows(
        f"""SELECT l.as_of, l.events_through, l.max_load_id, b.users FROM profile_live l
            JOIN (SELECT as_of, arg_max(mode, built_at) AS mode, arg_max(users, built_at) AS users
                  FROM profile_builds GROUP BY as_of) b USING (as_of)
            WHERE b.mode = '{LIVE_MODE}' ORDER BY l.updated_at DESC LIMIT 1"""
    )
    if not found:
        return None
    as_of, through, load, users = found[0]
    return LiveState(_ts(as_of), _ts(through), None if load is None else int(load), int(users))


def latest_event_time_from(store: Store, floor: datetime) -> datetime | None:
    """The latest event time in the store if some event is at ``floor`` or later, else None.

    Exact whatever ``floor`` is: when an event sits at or after it, the latest of those is the
    latest of all. With ``floor`` the live version's ``events_through`` (an event time the
    store already had), DuckDB's zone maps skip the row groups that end before it, so a live
    update does not read every event's timestamp to find its ``as_of``.
    """
    latest = store.scalar(
        'SELECT max("timestamp") FROM events WHERE "timestamp" >= $floor', {"floor": floor}
    )
    return None if latest is None else naive_utc(latest).to_pydatetime()


def record_live(store: Store, version: datetime, through: datetime) -> None:
    """Make ``profile_live`` say version ``version`` is live with events through ``through``."""
    store.execute("DELETE FROM profile_live WHERE as_of = $version", {"version": version})
    store.execute(
        "INSERT INTO profile_live VALUES ($version, $through, $load, now()::TIMESTAMP)",
        {"version": version, "through": through, "load": max_load_id(store)},
    )


@contextlib.contextmanager
def _timed(steps: dict[str, float], name: str) -> Iterator[None]:
    """Add the wall time of the block to ``steps[name]``."""
    began = time.perf_counter()
    try:
        yield
    finally:
        steps[name] = steps.get(name, 0.0) + time.perf_counter() - began


@dataclass(frozen=True)
class LiveUpdate:
    """What an in-place live update did."""

    version: datetime  # the rows' key
    events_through: datetime
    users: int
    recomputed: int
    seconds: float
    population: PopulationStatus
    #: time for :func:`refresh_population`: the statistics are older than the update's
    #: ``population_max_age`` (event time) or from an earlier day
    population_stale: bool


def update_live_in_place(
    store: Store,
    stamp: datetime,
    user_ids: list[str],
    since_load_id: int | None,
    steps: dict[str, float],
    population_max_age: timedelta = POPULATION_MAX_AGE,
    *,
    state: LiveState | None = None,
) -> LiveUpdate | None:
    """Bring the live version to ``stamp`` for the changed users only (see the module docs).

    Returns None, doing nothing, when it cannot: no live version, one whose events already
    run past ``stamp``, one without population statistics (made before they existed), a
    snapshot already at ``stamp`` (the caller makes a new live version), or items changed
    since (everybody is affected: the caller rebuilds). ``state`` is the live version if the
    caller has just read it (in the same transaction or writer), else it is read here.
    """
    if state is None:  # not read by the caller
        state = live_state(store)
    if state is None or stamp < state.events_through:
        return None
    since = since_load_id if since_load_id is not None else state.max_load_id
    started = time.perf_counter()
    if ensure_user_indexes(store):  # the first update on a store, or after a bulk load
        steps["index the users' rows"] = time.perf_counter() - started
    version = {"version": state.as_of}
    both = {"version": state.as_of, "as_of": stamp}
    committed = not store.in_transaction  # the rows it reads are committed: see _rewrite_users

    with store.transaction():
        with _timed(steps, "bookkeeping"):
            books = _bookkeeping(store, state, stamp, since)
        if books is None:
            return None
        status, load = books
        with _timed(steps, "find the batch's users"):
            found = store.rows(
                _SCOPE_SQL,
                {"explicit": list(user_ids), "since": since, "through": state.events_through,
                 "as_of": stamp},
            )  # fmt: skip
            scope = [str(row[0]) for row in found]
        recomputed = len(scope)
        users = state.users
        if recomputed:
            population = _population(store, status)
            users += _rewrite_users(store, both, steps, scope, population, committed=committed)
        with _timed(steps, "bookkeeping"):
            store.execute(
                "UPDATE profile_live SET events_through = $as_of, max_load_id = $load, "
                "updated_at = now()::TIMESTAMP WHERE as_of = $version",
                {**both, "load": load},
            )
            store.execute(
                f"UPDATE profile_builds SET built_at = now()::TIMESTAMP, users = $users, "
                f"recomputed_users = $recomputed, max_load_id = $load, seconds = $seconds "
                f"WHERE as_of = $version AND mode = '{LIVE_MODE}'",
                {**version, "users": users, "recomputed": recomputed, "load": load,
                 "seconds": time.perf_counter() - started},
            )  # fmt: skip
        commit_started = time.perf_counter()
    steps["commit"] = time.perf_counter() - commit_started
    status = replace(status, events_through=stamp)
    return LiveUpdate(
        state.as_of,
        stamp,
        users,
        recomputed,
        time.perf_counter() - started,
        status,
        status.stale(population_max_age),
    )


#: What a live update checks before it starts, in one statement (each statement costs a few
#: ms of planning whatever it reads): the version's population statistics, whether another
#: version sits at the update's time already, whether items changed since the last load it
#: saw (everybody is affected then) and the newest load id, which it will have covered.
_BOOKKEEPING_SQL: Final = f"""
SELECT p.population_as_of, p.computed_at,
       (SELECT count(*) FROM profile_builds WHERE as_of = $stamp AND as_of <> $version)
           AS colliding,
       (SELECT count(*) FROM items WHERE $since IS NOT NULL AND load_id > $since) AS new_items,
       {_MAX_LOAD_ID_SQL} AS max_load_id
FROM profile_population p WHERE p.as_of = $version
"""


def _bookkeeping(
    store: Store, state: LiveState, stamp: datetime, since: int | None
) -> tuple[PopulationStatus, int | None] | None:
    """The version's population status and the newest load id, or None when an update in
    place cannot run (see :func:`update_live_in_place`)."""
    found = store.rows(_BOOKKEEPING_SQL, {"version": state.as_of, "stamp": stamp, "since": since})
    if not found:  # no population statistics: made before they existed
        return None
    population_as_of, computed_at, colliding, new_items, load = found[0]
    if colliding or new_items:
        return None
    status = PopulationStatus(
        state.as_of, _ts(population_as_of), _ts(computed_at), state.events_through
    )
    return status, None if load is None else int(load)


def _rewrite_users(
    store: Store,
    params: dict[str, Any],
    steps: dict[str, float],
    users: list[str],
    population: PopulationStatistics | None,
    *,
    committed: bool = False,
) -> int:
    """Replace the profile rows of ``users`` in the live version ``$version`` by rows derived
    from their events up to ``$as_of``; returns how many profiles were added (new users).

    Up to :data:`PYTHON_BATCH_USERS` users (with the version's ``population`` statistics), the
    users' rows are read once and their aggregates and profiles computed in Python
    (:mod:`~shopguide.profiles.batch_aggregates`, :mod:`~shopguide.profiles.batch_derive`);
    more users go through the SQL statements. With ``committed`` (every row they are computed
    from was committed before the caller's transaction began), their events are read on a
    second connection while their old rows are deleted and their ``users`` rows read
    (:func:`read_batch_events_beside`). Either way their aggregates are not written back:
    deleting a few users' rows from the aggregate tables costs a scan of each table. The users
    are recorded in ``profile_stale_aggregates`` instead, and whatever reads the version's
    aggregates recomputes theirs first (:func:`recompute_stale_aggregates`).
    """

    def step(name: str, sql: str, params: Any = None) -> None:
        with _timed(steps, name):
            store.execute(sql, params)

    mine = {"version": params["version"], "ids": users}
    in_python = population is not None and len(users) <= PYTHON_BATCH_USERS
    beside = (  # their events, read on a second connection while this one works
        read_batch_events_beside(store, users, params["as_of"]) if in_python and committed else None
    )
    inputs = None  # read here when the rows are computed in Python
    with user_lookups(store, len(users)):  # the users' rows, found through the indexes
        with _timed(steps, "delete the batch's rows"):
            before = _delete_profiles(store, params["version"], users)
        if in_python and beside is None:
            with _timed(steps, "the batch's users' rows"):
                inputs = read_batch_inputs(store, users, params["as_of"])
        elif beside is not None:
            with _timed(steps, "the batch's users' rows"):
                demographics = read_batch_users(store, users)
        step("mark the batch's aggregates stale", _MARK_STALE_SQL, mine)
    if beside is not None:
        with _timed(steps, "the batch's users' events (read beside)"):
            inputs = BatchInputs(tuple(users), beside.result(), demographics)
    if inputs is not None and population is not None:
        with _timed(steps, "profiles of the batch's users"):
            users_rows, categories, brands = batch_aggregate_tables(
                inputs, params["version"], params["as_of"]
            )
            rows = derive_profile_table(
                users_rows, categories, brands, population, params["version"], params["as_of"]
            )
        with _timed(steps, "store the batch's profiles"):
            store.append("profiles", rows)
        added = len(rows) - before
    else:  # set-based SQL costs less than Python loops over this many users' events
        step(
            "find the batch's users",
            f"CREATE OR REPLACE TEMP TABLE {SCOPE_TABLE} AS "
            "SELECT unnest($ids::VARCHAR[]) AS user_id",
            {"ids": users},
        )
        aggregate_scope(store, LIVE_AGGREGATE_TABLES, params, steps)
        step("profiles of the batch's users", LIVE_PROFILES_SQL, params)
        users_into = LIVE_AGGREGATE_TABLES["profile_agg_users"]
        added = int(store.scalar(f"SELECT count(*) FROM {users_into}")) - before
        for temp in [*LIVE_AGGREGATE_TABLES.values(), SCOPE_TABLE]:
            store.execute(f"DROP TABLE IF EXISTS {temp}")
    return added


#: Record the users ``$ids`` as having stale aggregate rows in the version ``$version``.
_MARK_STALE_SQL: Final = """
INSERT INTO profile_stale_aggregates
SELECT CAST($version AS TIMESTAMP), user_id FROM (SELECT unnest($ids::VARCHAR[]) AS user_id)
WHERE user_id NOT IN (SELECT user_id FROM profile_stale_aggregates WHERE as_of = $version)"""


def _delete_profiles(store: Store, version: datetime, users: list[str]) -> int:
    """Delete the ``profiles`` rows of ``users`` in ``version``; returns how many there were.

    With the profiles' user index, their rows are found by user alone (2-3 ms at 1M users; a
    condition on the version in the same scan makes DuckDB scan the table instead, 10-12
    ms), then deleted by row id. Without it, one statement scans for them.
    """
    if not has_user_index(store, "profiles"):
        # the count DELETE reports, not RETURNING: with RETURNING DuckDB reads every column of
        # the scanned row groups (82 MB at 1M users) instead of the two it filters on
        mine = {"version": version, "ids": users}
        return int(store.scalar(f"DELETE FROM profiles WHERE {_MINE}", mine))
    found = store.rows(
        "SELECT rowid, as_of FROM profiles WHERE user_id = ANY($ids::VARCHAR[])", {"ids": users}
    )
    rows = [rowid for rowid, as_of in found if as_of == version]
    if rows:
        store.execute("DELETE FROM profiles WHERE rowid = ANY($rows::BIGINT[])", {"rows": rows})
    return len(rows)


#: The rows of the batch's users (list ``$ids``) in the version ``$version``.
_MINE: Final = "as_of = $version AND user_id = ANY($ids::VARCHAR[])"


#: The population statistics last read per store connection, keyed by the version and when
#: they were measured (a refresh measures them again): a live update reads them once per
#: refresh, not once per batch.
_POPULATIONS: weakref.WeakKeyDictionary[
    Store, tuple[tuple[datetime, datetime], PopulationStatistics | None]
] = weakref.WeakKeyDictionary()


def _population(store: Store, status: PopulationStatus) -> PopulationStatistics | None:
    """The stored population statistics of ``status``'s version, read once per measurement."""
    key = (status.as_of, status.computed_at)
    cached = _POPULATIONS.get(store)
    if cached is not None and cached[0] == key:
        return cached[1]
    found = load_population(store, status.as_of)
    _POPULATIONS[store] = (key, found)
    return found


def aggregate_scope(
    store: Store,
    into: dict[str, str],
    params: dict[str, Any],
    steps: dict[str, float] | None = None,
) -> None:
    """Compute the aggregates of the users in the scope table from their events up to
    ``$as_of``, keyed ``$version``, into the tables ``into`` names for each aggregate table
    (temporary tables made here, or the aggregate tables themselves). The SQL a live update
    runs for more than :data:`PYTHON_BATCH_USERS` users, and what the Python path is tested
    against."""
    timings = steps if steps is not None else {}

    def step(name: str, sql: str, params: Any = None) -> None:
        with _timed(timings, name):
            store.execute(sql, params)

    as_of = {"as_of": params["as_of"]}
    version = {"version": params["version"]}
    step("the batch's users' events", BATCH_EVENTS_SQL, as_of)
    step("purchase and refund lines", lines_sql(True, BATCH_EVENTS_TABLE), as_of)
    for table, target in into.items():
        if target != table:
            store.execute(f"CREATE OR REPLACE TEMP TABLE {target} AS FROM {table} LIMIT 0")
    users_into, categories_into, brands_into = into.values()
    step("user aggregates",
         user_aggregates_sql(True, "$version", users_into, BATCH_EVENTS_TABLE), params)  # fmt: skip
    step("category and brand aggregates", category_aggregates_sql("$version", categories_into),
         version)  # fmt: skip
    step("category and brand aggregates", brand_aggregates_sql("$version", brands_into), version)
    store.execute("DROP TABLE IF EXISTS _profile_lines")
    store.execute(f"DROP TABLE IF EXISTS {BATCH_EVENTS_TABLE}")


def recompute_stale_aggregates(
    store: Store, stale_in: datetime, version: datetime, as_of: datetime
) -> int:
    """Recompute, in version ``version`` (from events up to ``as_of``), the aggregates of the
    users whose rows version ``stale_in`` records as stale (the same version, or the live
    version ``version`` was copied from); returns how many users. Run it in the caller's
    transaction, before reading the aggregates."""
    store.execute(
        f"CREATE OR REPLACE TEMP TABLE {SCOPE_TABLE} AS SELECT DISTINCT user_id "
        "FROM profile_stale_aggregates WHERE as_of = $stale_in",
        {"stale_in": stale_in},
    )
    users = int(store.scalar(f"SELECT count(*) FROM {SCOPE_TABLE}"))
    if users:
        params = {"version": version, "as_of": as_of}
        for table in USER_AGGREGATE_TABLES:
            store.execute(
                f"DELETE FROM {table} WHERE as_of = $version "
                f"AND user_id IN (SELECT user_id FROM {SCOPE_TABLE})",
                {"version": version},
            )
        aggregate_scope(store, {t: t for t in USER_AGGREGATE_TABLES}, params)
    store.execute(f"DROP TABLE IF EXISTS {SCOPE_TABLE}")
    return users


def refresh_population(
    store: Store, *, lock: AbstractContextManager[Any] | None = None
) -> RefreshResult | None:
    """Measure the live version's population again and re-derive every user in it.

    The work is done on a new version keyed by the live version's ``events_through``, next to
    the live one, so live updates (on other connections) go on meanwhile; then, holding
    ``lock`` (what serialises the live updates, if any), the new version becomes the live
    one and takes in what the old one received since, and the old one is deleted. Afterwards
    the live version is exactly ``build_profiles(store, events_through)`` (before the catch-up:
    the catch-up's users are then placed against these fresh statistics).

    Returns None when the store has no live version (snapshots are measured when built). When
    a snapshot already sits at the live version's ``events_through`` (built after the last
    live update, so at least as current) the live version is dropped instead.
    """
    # its version's million rows are written and deleted: see store.user_indexes
    with without_user_index(store, "profiles", rebuild_holding=lock):
        return _refresh_population(store, lock)


def _refresh_population(
    store: Store, lock: AbstractContextManager[Any] | None
) -> RefreshResult | None:
    started = time.perf_counter()
    hold = lock if lock is not None else contextlib.nullcontext()
    with store.transaction():
        state = live_state(store)
        if state is None:
            return None
        key, through = state.as_of, state.events_through
        collides = key != through and bool(
            store.scalar("SELECT count(*) FROM profile_builds WHERE as_of = $t", {"t": through})
        )
        if key != through and not collides:  # 1. the new version, next to the live one
            for table in USER_AGGREGATE_TABLES:
                store.execute(f"DELETE FROM {table} WHERE as_of = $t", {"t": through})
                store.execute(
                    f"INSERT INTO {table} SELECT * REPLACE (CAST($t AS TIMESTAMP) AS as_of) "
                    f"FROM {table} WHERE as_of = $key",
                    {"t": through, "key": key},
                )
            # users the live version updated since the last refresh: their rows were not
            # rewritten (see _rewrite_users); later ones are the catch-up's below
            recompute_stale_aggregates(store, key, through, through)
            users = rederive_version(store, through, through)
    with hold:  # 2. swap
        with store.transaction():
            current = live_state(store)
            if current is None or current.as_of != key:  # changed meanwhile: leave it
                _delete_version(store, through if not collides and key != through else None)
                return None
            if key == through:  # nothing to move: measure again in place
                recompute_stale_aggregates(store, key, key, key)
                store.execute("DELETE FROM profile_stale_aggregates WHERE as_of = $k", {"k": key})
                users = rederive_version(store, key, key)
                store.execute(
                    "UPDATE profile_builds SET users = $users WHERE as_of = $key",
                    {"users": users, "key": key},
                )
                return RefreshResult(key, key, users, time.perf_counter() - started)
            if collides:
                _delete_version(store, key)
                users = int(
                    store.scalar("SELECT count(*) FROM profiles WHERE as_of = $t", {"t": through})
                )
                return RefreshResult(
                    through, through, users, time.perf_counter() - started, previous_as_of=key
                )
            store.execute(
                f"INSERT INTO profile_builds VALUES ($t, now()::TIMESTAMP, '{LIVE_MODE}', "
                "$users, $users, $load, $seconds)",
                {"t": through, "users": users, "load": state.max_load_id,
                 "seconds": time.perf_counter() - started},
            )  # fmt: skip
            store.execute(
                "INSERT INTO profile_live VALUES ($t, $t, $load, now()::TIMESTAMP)",
                {"t": through, "load": state.max_load_id},
            )
            for table in ("profile_live", "profile_builds"):
                store.execute(f"DELETE FROM {table} WHERE as_of = $key", {"key": key})
        # what the old live version took in while the new one was made
        update_live_in_place(store, current.events_through, [], None, {})
    _delete_version(store, key)  # 3. nobody writes the old rows any more
    return RefreshResult(through, through, users, time.perf_counter() - started, previous_as_of=key)


def _delete_version(store: Store, version: datetime | None) -> None:
    if version is None:
        return
    drop_user_index(store, "profiles")  # a million rows: see store.user_indexes
    with store.transaction():
        for table in (*VERSIONED_TABLES, "profile_builds"):
            store.execute(f"DELETE FROM {table} WHERE as_of = $v", {"v": version})
