"""Build, update and read user profiles in the store.

A profile *version* is identified by its ``as_of`` timestamp and uses only the events with
``timestamp <= as_of``. :func:`build_profiles` computes a version from scratch;
:func:`update_profiles` brings a version up to date by recomputing the per-user aggregates of
the affected users only and then re-deriving the population-relative fields (affinity, category
median prices, RFM quintiles, segments) for everybody in one cheap set-based step. Both end in
the same :data:`~shopguide.profiles.derive.PROFILES_SQL`, so an update equals a full rebuild.

Which users an update recomputes (the union of)
    * ``user_ids`` given by the caller;
    * users with events or user rows from loads after ``since_load_id`` (default: the highest
      load id the base version had seen, so ``update_profiles(store)`` just does the right thing);
    * when the version moves forward from a base ``as_of`` to a later one: users with events in
      ``(base as_of, as_of]`` and users who signed up in that window.
Other users' aggregates are copied from the base version. New or changed **items** (a
category or brand moves) change everybody's aggregates, so then a full rebuild runs instead.
Events must carry a ``load_id`` (ingestion sets it) for the automatic detection to see them.

Snapshots and the live version
    Every build and every update that moves to a later ``as_of`` adds a version holding every
    user, so a stream of small updates would pile up one full copy of the profiles per batch.
    ``update_profiles(..., live=True)`` (what the service's event ingestion uses) instead keeps
    one rolling *live* version. The first live update makes it (recorded with mode ``"live"``;
    every other live version is deleted in the same transaction); later ones update it in
    place for the changed users only, against the version's stored population statistics,
    while its key stays and ``profile_live.events_through`` moves (see
    :mod:`shopguide.profiles.live` and :mod:`shopguide.profiles.population`, which also
    explain ``population_as_of`` and the refresh). Versions made by :func:`build_profiles` or
    by an update without ``live`` are snapshots, measured against their own population; a live
    update never deletes or changes them. When the live version would land on a snapshot's
    ``as_of`` (a service started on a snapshot of the latest event, sent events no later than
    it), it is made at the next free microsecond instead: a version of the same events, so the
    batches after it update it in place (the snapshot, updated in place, would pay the whole
    population step for every batch).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from shopguide.data.times import latest_event_time, naive_utc
from shopguide.errors import StoreError, UnknownIdError
from shopguide.profiles.aggregates import (
    BRAND_AGGREGATES_SQL,
    CATEGORY_AGGREGATES_SQL,
    SCOPE_TABLE,
    lines_sql,
    user_aggregates_sql,
)
from shopguide.profiles.derive import PROFILES_SQL, category_prices_sql
from shopguide.profiles.live import (
    LIVE_MODE,
    LiveState,
    latest_event_time_from,
    live_state,
    max_load_id,
    record_live,
    update_live_in_place,
)
from shopguide.profiles.model import UserProfile
from shopguide.profiles.population import (
    POPULATION_MAX_AGE,
    measure_population,
    population_status,
)
from shopguide.profiles.tables import (
    USER_AGGREGATE_TABLES,
    VERSIONED_TABLES,
    ensure_profile_tables,
)
from shopguide.store.base import Store
from shopguide.store.user_indexes import drop_user_index, has_user_index


class ProfilesNotBuiltError(StoreError):
    """No profile version exists (at the asked ``as_of``)."""


@dataclass(frozen=True)
class BuildResult:
    """What a build or update did."""

    as_of: datetime
    mode: str  # "full" or "incremental": how the version was computed
    users: int
    recomputed_users: int
    seconds: float
    #: wall seconds of the main statements, for benchmarks
    steps: dict[str, float] = field(default_factory=dict)
    #: the version is the rolling live version (see the module docs)
    live: bool = False
    #: ``as_of`` of the earlier live versions this update replaced (deleted)
    replaced: tuple[datetime, ...] = ()
    #: the event time the population statistics behind the population-relative fields were
    #: measured at (``as_of`` but for a live update in place)
    population_as_of: datetime | None = None
    #: a live update found the statistics older than its ``population_max_age`` (or from an
    #: earlier day): time for :func:`~shopguide.profiles.refresh_population`
    population_stale: bool = False


def _to_timestamp(value: datetime | str | pd.Timestamp) -> datetime:
    return naive_utc(value).to_pydatetime()


def default_as_of(store: Store) -> datetime:
    """The latest event time in the store (a version "as of now" for the loaded data)."""
    latest = latest_event_time(store)
    if latest is None:
        raise ProfilesNotBuiltError(
            "the store has no events to build profiles from",
            hint="load events first (shopguide ingest events FILE)",
        )
    return latest.to_pydatetime()


def _update_as_of(
    store: Store, as_of: datetime | str | None, *, live: bool
) -> tuple[datetime, LiveState | None]:
    """The version an update produces: ``as_of``, else the latest event time (for a live
    update looked for from the live version's ``events_through`` on, which skips the events
    it has seen); and, for a live update, the live version read on the way."""
    state = live_state(store) if live else None
    if as_of is not None:
        return _to_timestamp(as_of), state
    if state is None:
        return default_as_of(store), state
    # no event at or after it (the batch's are all earlier): the live version stays as of it
    found = latest_event_time_from(store, state.events_through)
    return (found if found is not None else state.events_through), state


def _free_live_stamp(store: Store, stamp: datetime) -> datetime:
    """``stamp``, or the first microsecond after it that no snapshot holds: where a new live
    version goes (see the module docs). The events up to it are the same; the calendar-day
    fields differ only for a ``stamp`` in the last microsecond of a day."""
    found = store.rows(
        f"SELECT as_of FROM profile_builds WHERE as_of >= $stamp GROUP BY as_of "
        f"HAVING arg_max(mode, built_at) <> '{LIVE_MODE}'",
        {"stamp": stamp},
    )
    taken = {_to_timestamp(row[0]) for row in found}
    while stamp in taken:
        stamp += timedelta(microseconds=1)
    return stamp


def _step(store: Store, steps: dict[str, float], name: str, sql: str, params: Any = None) -> None:
    """Run one statement and add its wall time to ``steps[name]``."""
    started = time.perf_counter()
    store.execute(sql, params)
    steps[name] = steps.get(name, 0.0) + time.perf_counter() - started


def _run_aggregates(
    store: Store, as_of: datetime, steps: dict[str, float], *, scoped: bool
) -> None:
    """Per-user aggregates of the users in scope (then :func:`_derive` does the population)."""
    params = {"as_of": as_of}
    _step(store, steps, "purchase and refund lines", lines_sql(scoped), params)
    _step(store, steps, "user aggregates", user_aggregates_sql(scoped), params)
    _step(store, steps, "category and brand aggregates", CATEGORY_AGGREGATES_SQL, params)
    _step(store, steps, "category and brand aggregates", BRAND_AGGREGATES_SQL, params)


def _derive(store: Store, as_of: datetime, steps: dict[str, float], *, scoped: bool) -> int:
    params = {"as_of": as_of}
    store.execute("DELETE FROM profile_category_prices WHERE as_of = $as_of", params)
    store.execute("DELETE FROM profiles WHERE as_of = $as_of", params)
    _step(store, steps, "category median prices", category_prices_sql(scoped), params)
    store.execute("DROP TABLE IF EXISTS _profile_lines")
    started = time.perf_counter()
    measure_population(store, as_of, as_of)
    steps["population statistics"] = time.perf_counter() - started
    _step(store, steps, "population step (profiles table)", PROFILES_SQL, params)
    return int(store.scalar("SELECT count(*) FROM profiles WHERE as_of = $as_of", params))


@contextlib.contextmanager
def _unordered_inserts(store: Store) -> Iterator[None]:
    """Let DuckDB write intermediate tables without keeping row order (faster; order is
    irrelevant to aggregates), restoring the connection's setting afterwards."""
    previous = store.scalar("SELECT current_setting('preserve_insertion_order')")
    store.execute("SET preserve_insertion_order = false")
    try:
        yield
    finally:
        store.execute(f"SET preserve_insertion_order = {'true' if previous else 'false'}")


def _record(
    store: Store, as_of: datetime, mode: str, users: int, recomputed: int, seconds: float
) -> None:
    store.execute(
        "INSERT INTO profile_builds VALUES ($as_of, now()::TIMESTAMP, $mode, $users, "
        "$recomputed, $max_load_id, $seconds)",
        {
            "as_of": as_of,
            "mode": mode,
            "users": users,
            "recomputed": recomputed,
            "max_load_id": max_load_id(store),
            "seconds": seconds,
        },
    )


def _version_roles(store: Store) -> dict[datetime, str]:
    """Each stored version's role: the mode of its most recent build record."""
    frame = store.query_df(
        "SELECT as_of, arg_max(mode, built_at) AS mode FROM profile_builds GROUP BY as_of"
    )
    return {_to_timestamp(a): str(m) for a, m in zip(frame["as_of"], frame["mode"], strict=True)}


def _finish_version(
    store: Store,
    stamp: datetime,
    mode: str,
    users: int,
    recomputed: int,
    seconds: float,
    *,
    live: bool,
) -> tuple[bool, tuple[datetime, ...]]:
    """Record the build of version ``stamp``; for a live update, delete the other live versions.

    Runs inside the build's transaction. A live update landing on an existing snapshot keeps it
    a snapshot. Returns whether the version is live and the ``as_of`` of the deleted versions.
    """
    if not live:
        _record(store, stamp, mode, users, recomputed, seconds)
        store.execute("DELETE FROM profile_live WHERE as_of = $as_of", {"as_of": stamp})
        return False, ()
    roles = _version_roles(store)
    is_live = roles.get(stamp, LIVE_MODE) == LIVE_MODE
    _record(store, stamp, LIVE_MODE if is_live else mode, users, recomputed, seconds)
    stale = tuple(sorted(v for v, role in roles.items() if role == LIVE_MODE and v != stamp))
    _delete_versions(store, stale)
    if is_live:
        record_live(store, stamp, stamp)
    return is_live, stale


def _delete_versions(store: Store, stamps: Iterable[datetime]) -> None:
    """Delete the rows of versions ``stamps`` from every profile table and the build log."""
    for stamp in stamps:
        for table in (*VERSIONED_TABLES, "profile_builds"):
            store.execute(f"DELETE FROM {table} WHERE as_of = $as_of", {"as_of": stamp})


def build_profiles(store: Store, as_of: datetime | str | None = None) -> BuildResult:
    """Compute the profile version ``as_of`` from scratch (replacing it if it exists).

    Parameters
    ----------
    store:
        The store with ``events``, ``users`` and ``items``.
    as_of:
        Only events up to this time are used; default the latest event time.
    """
    ensure_profile_tables(store)
    stamp = default_as_of(store) if as_of is None else _to_timestamp(as_of)
    return _full_build(store, stamp, live=False)


def _full_build(store: Store, stamp: datetime, *, live: bool) -> BuildResult:
    started = time.perf_counter()
    steps: dict[str, float] = {}
    drop_user_index(store, "profiles")  # rewriting a version: see store.user_indexes
    with _unordered_inserts(store), store.transaction():
        for table in VERSIONED_TABLES:
            _step(store, steps, "delete old version", f"DELETE FROM {table} WHERE as_of = $as_of",
                  {"as_of": stamp})  # fmt: skip
        _run_aggregates(store, stamp, steps, scoped=False)
        users = _derive(store, stamp, steps, scoped=False)
        is_live, replaced = _finish_version(
            store, stamp, "full", users, users, time.perf_counter() - started, live=live
        )
        commit_started = time.perf_counter()
    steps["commit"] = time.perf_counter() - commit_started
    seconds = time.perf_counter() - started
    return BuildResult(stamp, "full", users, users, seconds, steps, is_live, replaced, stamp)


def _base_version(store: Store, as_of: datetime) -> tuple[datetime, datetime, int | None] | None:
    """The latest build whose events run to ``as_of`` at most: its key, how far its events
    run (later than its key for a live version updated in place) and the max load id it had
    seen."""
    row = store.query_df(
        "SELECT b.as_of, coalesce(l.events_through, b.as_of) AS through, b.max_load_id "
        "FROM profile_builds b LEFT JOIN profile_live l USING (as_of) "
        "WHERE b.as_of <= $as_of AND coalesce(l.events_through, b.as_of) <= $as_of "
        "ORDER BY b.as_of DESC, b.built_at DESC LIMIT 1",
        {"as_of": as_of},
    )
    if row.empty:
        return None
    max_load = row["max_load_id"].iloc[0]
    return (
        _to_timestamp(row["as_of"].iloc[0]),
        _to_timestamp(row["through"].iloc[0]),
        None if pd.isna(max_load) else int(max_load),
    )


def update_profiles(
    store: Store,
    user_ids: Iterable[str] | None = None,
    *,
    since_load_id: int | None = None,
    as_of: datetime | str | None = None,
    live: bool = False,
    population_max_age: timedelta = POPULATION_MAX_AGE,
) -> BuildResult:
    """Bring the profile version ``as_of`` up to date, recomputing only the affected users.

    Parameters
    ----------
    store:
        The store.
    user_ids:
        Users known to have changed (added to the automatically detected ones).
    since_load_id:
        Events and users from loads with a higher id count as new; default the highest load id
        the base version had seen.
    as_of:
        The version to produce; default the latest event time. The base is the latest existing
        version at or before it; without one, this is a full build.
    live:
        Keep the result as the store's one rolling live version (snapshots are kept; see the
        module docs). For frequent small updates: once the live version exists, an update
        touches the changed users' rows only.
    population_max_age:
        A live update in place reports the population statistics stale
        (``population_stale``) when they are older than this in event time.

    The result equals ``build_profiles(store, as_of)`` (tested property); for a live update
    in place, after :func:`~shopguide.profiles.refresh_population`.
    """
    ensure_profile_tables(store)
    stamp, state = _update_as_of(store, as_of, live=live)
    explicit = sorted({str(u) for u in (user_ids or [])})
    if live:
        fast_steps: dict[str, float] = {}
        done = update_live_in_place(
            store, stamp, explicit, since_load_id, fast_steps, population_max_age, state=state
        )
        if done is not None:
            return BuildResult(
                stamp, "incremental", done.users, done.recomputed, done.seconds, fast_steps,
                True, (), done.population.population_as_of, done.population_stale,
            )  # fmt: skip
        stamp = _free_live_stamp(store, stamp)
    base = _base_version(store, stamp)
    if base is None:
        return _full_build(store, stamp, live=live)
    base_as_of, base_through, base_load = base
    since = since_load_id if since_load_id is not None else base_load
    if since is not None and store.scalar(
        "SELECT count(*) FROM items WHERE load_id > $since", {"since": since}
    ):  # item attributes changed: everybody is affected
        return _full_build(store, stamp, live=live)

    started = time.perf_counter()
    steps: dict[str, float] = {}
    params: dict[str, Any] = {
        "as_of": stamp,
        "base": base_through,
        "since": since,
        "base_key": base_as_of,
    }
    drop_user_index(store, "profiles")  # writing a version: see store.user_indexes
    with _unordered_inserts(store), store.transaction():
        store.execute(f"CREATE OR REPLACE TEMP TABLE {SCOPE_TABLE} (user_id VARCHAR)")
        if explicit:
            store.append(SCOPE_TABLE, pd.DataFrame({"user_id": explicit}))
        store.execute(
            f"""INSERT INTO {SCOPE_TABLE}
            SELECT user_id FROM events WHERE $since IS NULL OR load_id > $since
            UNION SELECT user_id FROM users WHERE $since IS NULL OR load_id > $since
            UNION SELECT user_id FROM events
                WHERE "timestamp" > $base AND "timestamp" <= $as_of
            UNION SELECT user_id FROM users WHERE signup_at > $base AND signup_at <= $as_of
            -- a live base's users whose aggregate rows it did not rewrite
            UNION SELECT user_id FROM profile_stale_aggregates WHERE as_of = $base_key""",
            params,
        )
        store.execute(
            f"CREATE OR REPLACE TEMP TABLE {SCOPE_TABLE} AS "
            f"SELECT DISTINCT user_id FROM {SCOPE_TABLE}"
        )
        recomputed = int(store.scalar(f"SELECT count(*) FROM {SCOPE_TABLE}"))
        for table in USER_AGGREGATE_TABLES:
            if base_as_of == stamp:
                store.execute(
                    f"DELETE FROM {table} WHERE as_of = $as_of "
                    f"AND user_id IN (SELECT user_id FROM {SCOPE_TABLE})",
                    {"as_of": stamp},
                )
            else:  # start the new version from the base's unaffected users
                store.execute(f"DELETE FROM {table} WHERE as_of = $as_of", {"as_of": stamp})
                columns = store.query_df(f"SELECT * FROM {table} LIMIT 0").columns[1:]
                cols = ", ".join(f'"{c}"' for c in columns)
                _step(
                    store,
                    steps,
                    "copy unaffected users from the base version",
                    f"INSERT INTO {table} SELECT CAST($as_of AS TIMESTAMP), {cols} FROM {table} "
                    f"WHERE as_of = $base AND user_id NOT IN (SELECT user_id FROM {SCOPE_TABLE})",
                    {"as_of": stamp, "base": base_as_of},
                )
        _run_aggregates(store, stamp, steps, scoped=True)
        # every stale row is recomputed now (the base's, if the version is the base itself)
        store.execute("DELETE FROM profile_stale_aggregates WHERE as_of = $as_of", {"as_of": stamp})
        users = _derive(store, stamp, steps, scoped=True)
        store.execute(f"DROP TABLE IF EXISTS {SCOPE_TABLE}")
        is_live, replaced = _finish_version(
            store,
            stamp,
            "incremental",
            users,
            recomputed,
            time.perf_counter() - started,
            live=live,
        )
        commit_started = time.perf_counter()
    steps["commit"] = time.perf_counter() - commit_started
    seconds = time.perf_counter() - started
    return BuildResult(
        stamp, "incremental", users, recomputed, seconds, steps, is_live, replaced, stamp
    )


def profile_versions(store: Store) -> pd.DataFrame:
    """The build log: one row per build or update, newest first (one row per stored version:
    :func:`list_profile_versions`)."""
    ensure_profile_tables(store)
    return store.query_df("SELECT * FROM profile_builds ORDER BY as_of DESC, built_at DESC")


def list_profile_versions(store: Store) -> pd.DataFrame:
    """Every stored profile version, newest first, one row each.

    Columns: ``as_of``; ``users``; ``kind``: ``snapshot`` (made by a build or an update),
    ``live`` (the rolling version API ingestion keeps, see the module docs) or ``imported``
    (written by the Spark engine, which records no build, so no incremental update starts
    from it); ``built_at``, the time of its latest build; ``builds``, how many builds and
    updates wrote it; ``events_through``, how far its events run (later than ``as_of`` for a
    live version updated in place); ``population_as_of``, when the population statistics its
    population-relative fields compare with were measured. :func:`profile_versions` has the
    full build log.
    """
    ensure_profile_tables(store)
    return store.query_df(
        f"""SELECT p.as_of, p.users,
                   CASE WHEN b.mode IS NULL THEN 'imported'
                        WHEN b.mode = '{LIVE_MODE}' THEN 'live' ELSE 'snapshot' END AS kind,
                   b.built_at, coalesce(b.builds, 0) AS builds,
                   coalesce(l.events_through, p.as_of) AS events_through, s.population_as_of
            FROM (SELECT as_of, count(*) AS users FROM profiles GROUP BY as_of) p
            LEFT JOIN profile_live l USING (as_of)
            LEFT JOIN profile_population s USING (as_of)
            LEFT JOIN (
                SELECT as_of, arg_max(mode, built_at) AS mode, max(built_at) AS built_at,
                       count(*) AS builds
                FROM profile_builds GROUP BY as_of
            ) b USING (as_of)
            ORDER BY p.as_of DESC"""
    )


def drop_profile_versions(
    store: Store,
    as_of: Iterable[datetime | str] = (),
    *,
    keep_latest: int | None = None,
) -> list[datetime]:
    """Delete whole profile versions; returns the ``as_of`` of those deleted, oldest first.

    Give the versions to delete (``as_of``; each must exist, or nothing is deleted and
    :class:`ProfilesNotBuiltError` lists the stored ones), or ``keep_latest=N`` to keep the
    ``N`` newest versions and delete the rest. Each version's rows go from every profile table
    and the build log in one transaction. Profiles are derived data: ``build_profiles(store,
    as_of)`` rebuilds a deleted version from the events.
    """
    stamps = sorted({_to_timestamp(a) for a in as_of})
    if bool(stamps) == (keep_latest is not None):
        raise ValueError("give either the versions to drop or keep_latest, not both or neither")
    if keep_latest is not None and keep_latest < 0:
        raise ValueError(f"keep_latest must be >= 0, got {keep_latest}")
    stored = [_to_timestamp(v) for v in list_profile_versions(store)["as_of"]]  # newest first
    if keep_latest is not None:
        stamps = sorted(stored[keep_latest:])
    missing = [s for s in stamps if s not in stored]
    if missing:
        raise ProfilesNotBuiltError(
            "no profile version as of "
            + ", ".join(str(m) for m in missing)
            + "; stored versions: "
            + (", ".join(str(v) for v in sorted(stored)) or "none"),
            hint="list them with `shopguide profiles versions`",
        )
    drop_user_index(store, "profiles")  # deleting versions: see store.user_indexes
    with store.transaction():
        _delete_versions(store, stamps)
    return stamps


def _resolve_version(store: Store, as_of: datetime | str | None) -> datetime:
    ensure_profile_tables(store)
    if as_of is None:
        latest = store.scalar("SELECT max(as_of) FROM profiles")
        if latest is None:
            raise ProfilesNotBuiltError(
                "no profiles have been built in this store",
                hint="run `shopguide profiles build` (or shopguide.profiles.build_profiles)",
            )
        return _to_timestamp(latest)
    stamp = _to_timestamp(as_of)
    if store.scalar("SELECT count(*) FROM profiles WHERE as_of = $as_of", {"as_of": stamp}):
        return stamp
    live_key = store.scalar(  # the live version is also found by how far its events run
        "SELECT as_of FROM profile_live WHERE events_through = $as_of", {"as_of": stamp}
    )
    if live_key is None:
        have = store.query_df("SELECT DISTINCT as_of FROM profiles ORDER BY as_of")["as_of"]
        raise ProfilesNotBuiltError(
            f"no profiles were built as of {stamp}; built versions: "
            + (", ".join(str(v) for v in have) or "none"),
            hint=f"build them: shopguide profiles build --as-of '{stamp}'",
        )
    return _to_timestamp(live_key)


def load_profiles(store: Store, as_of: datetime | str | None = None) -> pd.DataFrame:
    """All users' profiles of one version (default the latest), one row per user."""
    stamp = _resolve_version(store, as_of)
    return store.query_df(
        "SELECT * FROM profiles WHERE as_of = $as_of ORDER BY user_id", {"as_of": stamp}
    )


def get_profile(store: Store, user_id: str, as_of: datetime | str | None = None) -> UserProfile:
    """One user's profile (default the latest version); raises ``UnknownIdError`` if absent."""
    stamp = _resolve_version(store, as_of)
    row = _profile_row(store, str(user_id), stamp)
    if row is None:
        raise UnknownIdError("user", [str(user_id)])
    status = population_status(store, stamp)
    if status is not None:  # a live version's profiles include its events through this
        row["as_of"] = status.events_through
    row["population_as_of"] = None if status is None else status.population_as_of
    return UserProfile.from_row(row)


def _profile_row(store: Store, user_id: str, version: datetime) -> dict[str, Any] | None:
    """The ``profiles`` row of ``user_id`` in ``version``, as Python values.

    With the profiles' user index, the user's rows of every version are found through it (a
    condition on the version in the same scan makes DuckDB scan the table instead: 20 ms
    against 3 ms at 1M users) and the version's row is picked here. Arrow, not pandas: a
    frame of one wide row costs 7 ms to make.
    """
    if has_user_index(store, "profiles"):
        found = store.query_arrow(
            "SELECT * FROM profiles WHERE user_id = $user_id", {"user_id": user_id}
        )
        rows = [row for row in found.to_pylist() if row["as_of"] == version]
    else:
        rows = store.query_arrow(
            "SELECT * FROM profiles WHERE as_of = $as_of AND user_id = $user_id",
            {"as_of": version, "user_id": user_id},
        ).to_pylist()
    return rows[0] if rows else None


def profile_record(
    store: Store, user_id: str, as_of: datetime | str | None = None
) -> dict[str, Any]:
    """:func:`get_profile` as a JSON-ready dict (for ``shopguide profile USER --json``)."""
    return get_profile(store, user_id, as_of).model_dump(mode="json")
