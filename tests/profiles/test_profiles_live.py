"""The live version updated in place: only the batch's users' rows, population statistics,
their refresh, and equality with a full rebuild after a refresh."""

from __future__ import annotations

import re
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from profiles_testdata import events_frame
from test_profiles_incremental import _fresh_store, _rows, assert_frames_equal, event_rows

from shopguide.profiles import (
    BuildResult,
    build_profiles,
    default_as_of,
    get_profile,
    list_profile_versions,
    live,
    load_profiles,
    population_status,
    profile_card,
    refresh_population,
    update_profiles,
)
from shopguide.profiles.derive import LIVE_AGGREGATE_TABLES, LIVE_PROFILES_SQL
from shopguide.profiles.tables import USER_AGGREGATE_TABLES
from shopguide.store.base import Store
from shopguide.store.user_indexes import USER_INDEXES, indexed_tables

PER_USER_TABLES = (*USER_AGGREGATE_TABLES, "profiles")


def _append(store: Store, rows: list[tuple], load_id: int) -> None:
    store.append("events", events_frame(rows, load_id=load_id, start_key=1000 * load_id))


def _derive_everyone_live(store: Store, as_of: datetime) -> pd.DataFrame:
    """Every user of version ``as_of`` derived by the live step against the stored
    statistics (which a build measured on the same aggregates)."""
    for table, temp in LIVE_AGGREGATE_TABLES.items():
        store.execute(
            f"CREATE OR REPLACE TEMP TABLE {temp} AS FROM {table} WHERE as_of = $v", {"v": as_of}
        )
    store.execute("CREATE OR REPLACE TEMP TABLE _derived AS FROM profiles LIMIT 0")
    insert = LIVE_PROFILES_SQL.replace("INSERT INTO profiles", "INSERT INTO _derived", 1)
    store.execute(insert, {"version": as_of, "as_of": as_of})
    return store.query_df("SELECT * FROM _derived")


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    raw=st.lists(event_rows, min_size=1, max_size=40),
    cuts=st.tuples(st.floats(0, 1), st.floats(0, 1)),
    in_time_order=st.booleans(),
)
def test_live_updates_and_a_refresh_equal_a_full_rebuild(
    raw: list[tuple], cuts: tuple[float, float], in_time_order: bool
) -> None:
    rows = _rows(raw)
    if in_time_order:  # later loads carry later events: the live version moves forward
        rows.sort(key=lambda r: r[3])
    a, b = sorted(int(c * len(rows)) for c in cuts)
    loads = [rows[:a], rows[a:b], rows[b:]]
    with tempfile.TemporaryDirectory() as folder:
        store = _fresh_store(Path(folder), "live")
        if loads[0]:
            _append(store, loads[0], 1)
            build_profiles(store)  # a snapshot; the next update makes the live version
        for load_id, part in enumerate(loads[1:], start=2):
            if part:
                _append(store, part, load_id)
            if any(loads[:load_id]):
                update_profiles(store, live=True)
        # some load has rows, so a live update ran after it: there is a live version
        refreshed = refresh_population(store)
        assert refreshed is not None
        # it is as of the latest event, or the microsecond after it when the snapshot holds
        # that (see shopguide.profiles.build)
        final = refreshed.as_of
        assert final - default_as_of(store) in (timedelta(0), timedelta(microseconds=1))
        assert refreshed.population_as_of == final

        full = _fresh_store(Path(folder), "full")
        full.append("events", events_frame(rows))
        build_profiles(full, final)
        expected = load_profiles(full, final)
        assert_frames_equal(load_profiles(store, final), expected)
        status = population_status(store, final)
        assert status is not None and status.population_as_of == status.events_through == final
        # the live step, given statistics measured on the same aggregates, derives every
        # user exactly as the full step (cut-point RFM scores = the tie-averaged quintiles)
        assert_frames_equal(_derive_everyone_live(full, final), expected)
        store.close()
        full.close()


def test_a_live_update_in_place_uses_the_stored_population(hand_store: Store) -> None:
    build_profiles(hand_store, datetime(2024, 3, 31))
    _append(hand_store, [("bob", "i2", "purchase", "2024-04-03 10:00", 1, 30.0, 0.0, "B9")], 2)
    first = update_profiles(hand_store, live=True)  # makes the live version, measured then
    _append(hand_store, [("carol", "i1", "purchase", "2024-04-05 08:00", 2, 12.0, 0.0, "C9")], 3)
    second = update_profiles(hand_store, live=True)
    assert second.mode == "incremental" and second.recomputed_users == 1
    assert second.population_as_of == first.as_of
    # carol buys Toys only; her affinity is against the population as of the first live
    # version: Toys 62 + 30 (bob) of a gross 124 + 30 + 100 (alice's April books) ...
    carol = load_profiles(hand_store, second.as_of).set_index("user_id").loc["carol"]
    assert carol["top_category"] == "Toys"
    assert carol["top_category_affinity"] == pytest.approx(254 / 92)
    # ... not against one that includes her own new 24 (what a rebuild measures)
    refresh_population(hand_store)
    carol = load_profiles(hand_store, second.as_of).set_index("user_id").loc["carol"]
    assert carol["top_category_affinity"] == pytest.approx(278 / 116)


def test_the_first_update_in_place_indexes_the_users_rows(hand_store: Store) -> None:
    build_profiles(hand_store, datetime(2024, 3, 31))
    _append(hand_store, [("bob", "i2", "purchase", "2024-04-03 10:00", 1, 30.0, 0.0, "B9")], 2)
    update_profiles(hand_store, live=True)  # makes the live version: a build, no index
    assert indexed_tables(hand_store) == set()
    _append(hand_store, [("carol", "i1", "purchase", "2024-04-05 08:00", 2, 12.0, 0.0, "C9")], 3)
    first = update_profiles(hand_store, live=True)
    assert first.mode == "incremental" and "index the users' rows" in first.steps
    assert indexed_tables(hand_store) == set(USER_INDEXES)
    _append(hand_store, [("carol", "i2", "view", "2024-04-05 09:00", 1, None, None, None)], 4)
    second = update_profiles(hand_store, live=True)
    assert "index the users' rows" not in second.steps
    # the update read carol's events through the index: all of them, her new view included
    views = hand_store.scalar(
        "SELECT count(*) FROM events WHERE user_id = 'carol' AND event_type = 'view' "
        'AND "timestamp" <= $as_of',
        {"as_of": second.as_of},
    )
    carol = load_profiles(hand_store, second.as_of).set_index("user_id").loc["carol"]
    assert views >= 1 and carol["views"] == views
    # other writes to profiles drop its index (a million rows deleted with it: 36 s); a
    # refresh builds it again at its end ...
    refresh_population(hand_store)
    assert indexed_tables(hand_store) == set(USER_INDEXES)
    _append(hand_store, [("dave", "i2", "view", "2024-04-05 10:00", 1, None, None, None)], 5)
    assert "index the users' rows" not in update_profiles(hand_store, live=True).steps
    # ... a build does not, and the next update in place does
    build_profiles(hand_store, datetime(2024, 4, 1))
    assert indexed_tables(hand_store) == {"events", "users"}
    _append(hand_store, [("dave", "i1", "view", "2024-04-05 11:00", 1, None, None, None)], 6)
    assert "index the users' rows" in update_profiles(hand_store, live=True).steps
    assert indexed_tables(hand_store) == set(USER_INDEXES)


def _make_live_version(store: Store) -> None:
    """A snapshot of the hand-made shop at the end of March, then a live version made by a
    purchase of bob's in April."""
    build_profiles(store, datetime(2024, 3, 31))
    _append(store, [("bob", "i2", "purchase", "2024-04-03 10:00", 1, 30.0, 0.0, "B9")], 2)
    update_profiles(store, live=True)


def _carol_buys_in_april(store: Store) -> BuildResult:
    """Carol's purchase in a third load, and the live update that takes it in."""
    _append(store, [("carol", "i1", "purchase", "2024-04-05 08:00", 2, 12.0, 0.0, "C9")], 3)
    return update_profiles(store, live=True)


def _orders_in_events(store: Store, user: str, as_of: datetime) -> int:
    return int(store.scalar(
        "SELECT count(DISTINCT order_id) FROM events WHERE user_id = $u "
        "AND event_type = 'purchase' AND \"timestamp\" <= $as_of",
        {"u": user, "as_of": as_of},
    ))  # fmt: skip


def test_a_live_update_reads_committed_events_beside_and_uncommitted_ones_itself(
    hand_store: Store,
) -> None:
    _make_live_version(hand_store)
    # committed events: read on a second connection while the update deletes the old rows
    beside = _carol_buys_in_april(hand_store)
    assert (
        beside.mode == "incremental" and "the batch's users' events (read beside)" in beside.steps
    )
    carol = load_profiles(hand_store, beside.as_of).set_index("user_id").loc["carol"]
    orders = carol["orders"]
    assert orders == _orders_in_events(hand_store, "carol", beside.as_of)
    # events stored in the caller's open transaction: a second connection would not see
    # them, so the update reads them on the caller's own
    with hand_store.transaction():
        _append(
            hand_store, [("carol", "i2", "purchase", "2024-04-06 08:00", 1, 30.0, 0.0, "C10")], 4
        )
        inside = update_profiles(hand_store, live=True)
    assert inside.mode == "incremental" and inside.as_of == datetime(2024, 4, 6, 8)
    assert "the batch's users' events (read beside)" not in inside.steps
    carol = load_profiles(hand_store, inside.as_of).set_index("user_id").loc["carol"]
    assert carol["orders"] == orders + 1
    assert carol["orders"] == _orders_in_events(hand_store, "carol", inside.as_of)


def test_items_changed_since_the_live_version_make_the_next_update_a_rebuild(
    hand_store: Store,
) -> None:
    _make_live_version(hand_store)
    in_place = _carol_buys_in_april(hand_store)
    assert in_place.mode == "incremental" and in_place.recomputed_users == 1
    # an item's brand changes in a later load: every buyer of it is affected
    hand_store.append(
        "items",
        pd.DataFrame({"item_id": ["i4"], "category": ["Toys"], "brand": ["Bolt"], "load_id": [4]}),
    )
    _append(hand_store, [("carol", "i1", "view", "2024-04-05 09:00", 1, None, None, None)], 5)
    rebuilt = update_profiles(hand_store, live=True)
    assert rebuilt.mode == "full" and rebuilt.live
    bob = load_profiles(hand_store, rebuilt.as_of).set_index("user_id").loc["bob"]
    assert "Bolt" in [entry["name"] for entry in bob["top_brands"]]  # bob bought i4 in March


def _rows_of_others(store: Store, version: datetime, user: str) -> dict[str, pd.DataFrame]:
    """Every column and the row id of every other user's row, per per-user table."""
    return {
        table: store.query_df(
            f"SELECT rowid, * FROM {table} WHERE as_of = $v AND user_id <> $u ORDER BY rowid",
            {"v": version, "u": user},
        )
        for table in PER_USER_TABLES
    }


class RecordingStore:
    """The store, recording the SQL it is asked to run."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.statements: list[str] = []

    def execute(self, sql: str, params: Any = None) -> None:
        self.statements.append(sql)
        self._store.execute(sql, params)

    def query_df(self, sql: str, params: Any = None) -> pd.DataFrame:
        self.statements.append(sql)
        return self._store.query_df(sql, params)

    def scalar(self, sql: str, params: Any = None) -> Any:
        self.statements.append(sql)
        return self._store.scalar(sql, params)

    def rows(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        self.statements.append(sql)
        return self._store.rows(sql, params)

    def query_arrow(self, sql: str, params: Any = None) -> Any:
        self.statements.append(sql)
        return self._store.query_arrow(sql, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


_READ = re.compile(r"\b(?:FROM|JOIN)\s+(profile_agg_users|profile_agg_categories|"
                   r"profile_agg_brands|profiles)\b(?!_)(.{0,90})", re.S)  # fmt: skip
#: how the update names the batch's users' rows: by the list of their ids (in every version,
#: through the user index, then by the row ids found so)
_SCOPED = (
    "WHERE as_of = $version AND user_id = ANY($ids::VARCHAR[])",
    "WHERE user_id = ANY($ids::VARCHAR[])",
    "WHERE rowid = ANY($rows::BIGINT[])",
)


def test_a_batch_reads_and_writes_only_its_users_rows(hand_store: Store) -> None:
    build_profiles(hand_store, datetime(2024, 3, 31))
    _append(hand_store, [("alice", "i2", "view", "2024-04-03 09:00", 1, None, None, None)], 2)
    live = update_profiles(hand_store, live=True)  # makes the live version
    before = _rows_of_others(hand_store, live.as_of, "bob")
    assert all(len(frame) for frame in before.values())

    _append(hand_store, [("bob", "i2", "purchase", "2024-04-03 10:00", 1, 30.0, 0.0, "B9")], 3)
    recording = RecordingStore(hand_store)
    result = update_profiles(cast(Store, recording), live=True)
    assert result.recomputed_users == 1 and result.as_of == datetime(2024, 4, 3, 10)

    # nobody else's row was rewritten: same values, same row ids, in every per-user table
    after = _rows_of_others(hand_store, live.as_of, "bob")
    for table in PER_USER_TABLES:
        pd.testing.assert_frame_equal(after[table], before[table], obj=table)
    # every statement that reads or deletes per-user rows names only the batch's users
    touching = [sql for sql in recording.statements if _READ.search(re.sub(r"--[^\n]*", "", sql))]
    assert touching
    for sql in touching:
        for table, rest in _READ.findall(re.sub(r"--[^\n]*", "", sql)):
            rest = " ".join(rest.split())
            assert rest.startswith(_SCOPED) or rest.startswith("LIMIT 0"), (table, sql)
    bob = load_profiles(hand_store, result.as_of).set_index("user_id").loc["bob"]
    assert bob["orders"] == 3


def test_population_statistics_known_answer(hand_store: Store) -> None:
    as_of = datetime(2024, 3, 31)
    build_profiles(hand_store, as_of)
    stats = hand_store.query_df("SELECT * FROM profile_population").iloc[0]
    assert stats["as_of"] == stats["population_as_of"] == pd.Timestamp(as_of)
    # alice, bob, carol and dave (signed up in March); erin signs up in April
    assert stats["users"] == 4 and stats["buyers"] == 3
    assert stats["gross_spend"] == pytest.approx(65 + 47 + 12)
    # buyers worst to best: R by last order bob 02-11, alice 03-01, carol 03-25 -> 2, 4, 5;
    # F carol 1, alice and bob 2 (tied: average rank 2.5) -> 2, 5, 5; M carol 12, bob 47,
    # alice 55 -> 2, 4, 5. A cut point is the worst value scoring at least 2, 3, 4, 5.
    r_cuts = [pd.Timestamp(d).date() for d in stats["r_cuts"]]
    assert r_cuts == [date(2024, 2, 11), date(2024, 3, 1), date(2024, 3, 1), date(2024, 3, 25)]
    assert list(stats["f_cuts"]) == [1, 2, 2, 2]
    assert list(stats["m_cuts"]) == [12.0, 47.0, 47.0, 55.0]
    shares = hand_store.query_df(
        "SELECT kind, name, spend FROM profile_population_shares ORDER BY kind, name"
    )
    assert shares.values.tolist() == [
        ["brand", "Acme", 85.0], ["brand", "Bolt", 30.0],
        ["category", "Books", 62.0], ["category", "Toys", 62.0],
    ]  # fmt: skip
    scores = load_profiles(hand_store, as_of).set_index("user_id")
    assert scores.loc[["alice", "bob", "carol"], "rfm_cell"].tolist() == ["455", "254", "522"]


def test_stale_population_statistics_are_reported_with_their_as_of(hand_store: Store) -> None:
    build_profiles(hand_store, datetime(2024, 3, 31))
    _append(hand_store, [("bob", "i2", "purchase", "2024-04-03 10:00", 1, 30.0, 0.0, "B9")], 2)
    made = update_profiles(hand_store, live=True)
    assert made.population_as_of == made.as_of and not made.population_stale

    _append(hand_store, [("carol", "i1", "purchase", "2024-04-03 10:30", 1, 12.0, 0.0, "C9")], 3)
    fresh = update_profiles(hand_store, live=True)  # 30 minutes behind: within the hour
    assert fresh.population_as_of == made.as_of and not fresh.population_stale
    carol = get_profile(hand_store, "carol")
    assert carol.as_of == datetime(2024, 4, 3, 10, 30)
    assert carol.population_as_of == made.as_of
    assert "Population statistics as of 2024-04-03 10:00" in profile_card(carol)
    assert carol.model_dump(mode="json")["population_as_of"] == "2024-04-03T10:00:00"

    _append(hand_store, [("dave", "i1", "purchase", "2024-04-03 12:00", 1, 12.0, 0.0, "D9")], 4)
    late = update_profiles(hand_store, live=True, population_max_age=timedelta(hours=3))
    assert late.population_as_of == made.as_of and not late.population_stale
    _append(hand_store, [("dave", "i2", "view", "2024-04-03 12:30", 1, None, None, None)], 5)
    stale = update_profiles(hand_store, live=True)  # 2.5 hours behind
    assert stale.population_as_of == made.as_of and stale.population_stale
    status = population_status(hand_store, made.as_of)
    assert status is not None and status.lag == timedelta(hours=2, minutes=30)
    listed = list_profile_versions(hand_store).iloc[0]  # the live version, newest
    assert listed["kind"] == "live" and listed["as_of"] == pd.Timestamp(made.as_of)
    assert listed["events_through"] == pd.Timestamp(stale.as_of)
    assert listed["population_as_of"] == pd.Timestamp(made.as_of)
    assert status.as_dict()["population_as_of"] == "2024-04-03T10:00:00"

    refreshed = refresh_population(hand_store)
    assert refreshed is not None and refreshed.population_as_of == stale.as_of
    assert get_profile(hand_store, "carol").population_as_of == stale.as_of
    # another calendar day is stale whatever the age
    _append(hand_store, [("erin", "i1", "view", "2024-04-04 00:10", 1, None, None, None)], 6)
    assert update_profiles(hand_store, live=True).population_stale


def test_a_live_update_finds_its_as_of_without_reading_every_event_time(
    hand_store: Store,
) -> None:
    build_profiles(hand_store, datetime(2024, 3, 31))
    _append(hand_store, [("bob", "i2", "purchase", "2024-04-03 10:00", 1, 30.0, 0.0, "B9")], 2)
    update_profiles(hand_store, live=True)  # makes the live version, through 10:00
    # a new event, and one arriving late (before what the live version has seen)
    for load, when in ((3, "2024-04-03 11:00"), (4, "2024-04-02 08:00")):
        _append(hand_store, [("carol", "i1", "view", when, 1, None, None, None)], load)
        recording = RecordingStore(hand_store)
        result = update_profiles(cast(Store, recording), live=True)
        assert result.mode == "incremental" and result.recomputed_users == 1
        assert result.as_of == default_as_of(hand_store) == datetime(2024, 4, 3, 11)
        # the latest event time is looked for only from what the live version has seen on
        scans = [" ".join(s.split()) for s in recording.statements
                 if re.match(r'\s*SELECT max\("timestamp"\) FROM events', s)]  # fmt: skip
        assert scans == ['SELECT max("timestamp") FROM events WHERE "timestamp" >= $floor']


#: The hypothesis settings and inputs of the tests that cut random events into four loads.
_FOUR_LOADS_SETTINGS = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
_FOUR_LOADS_RAW = st.lists(event_rows, min_size=2, max_size=40)
_FOUR_LOADS_CUTS = st.tuples(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1))


def _four_loads(
    raw: list[tuple], cuts: tuple[float, float, float]
) -> tuple[list[tuple], list[list[tuple]]]:
    """The events in time order, and cut into four loads (later loads carry later events);
    the first, which builds the snapshot, has at least one."""
    rows = sorted(_rows(raw), key=lambda r: r[3])
    a, b, c = sorted(int(x * len(rows)) for x in cuts)
    a = max(a, 1)
    b, c = max(b, a), max(c, a)
    return rows, [rows[:a], rows[a:b], rows[b:c], rows[c:]]


def _aggregates(store: Store, version: datetime) -> dict[str, pd.DataFrame]:
    """The version's per-user aggregate rows, sorted, without the version key."""
    out = {}
    for table in USER_AGGREGATE_TABLES:
        frame = store.query_df(f"SELECT * EXCLUDE (as_of) FROM {table} WHERE as_of = $v",
                               {"v": version})  # fmt: skip
        out[table] = frame.sort_values(list(frame.columns[:3])).reset_index(drop=True)
    return out


@_FOUR_LOADS_SETTINGS
@given(
    raw=_FOUR_LOADS_RAW,
    cuts=_FOUR_LOADS_CUTS,
    refresh_first=st.booleans(),
    in_python=st.booleans(),
)
def test_whatever_reads_a_live_versions_aggregates_recomputes_its_stale_users(
    raw: list[tuple], cuts: tuple[float, float, float], refresh_first: bool, in_python: bool
) -> None:
    """A live update rewrites its users' profiles but not their aggregate rows (it marks them
    stale); a refresh, and a snapshot update that starts from the live version, must
    recompute those users' aggregates: the result's aggregates and profiles equal a full
    build's. The batches' aggregates come from Python (a few users) or from SQL (more users
    than ``PYTHON_BATCH_USERS``, here 0)."""
    with pytest.MonkeyPatch.context() as patch:
        if not in_python:
            patch.setattr(live, "PYTHON_BATCH_USERS", 0)
        _stale_users_case(raw, cuts, refresh_first)


def _stale_users_case(
    raw: list[tuple], cuts: tuple[float, float, float], refresh_first: bool
) -> None:
    rows, loads = _four_loads(raw, cuts)
    with tempfile.TemporaryDirectory() as folder:
        store = _fresh_store(Path(folder), "live")
        _append(store, loads[0], 1)
        build_profiles(store)
        for load_id, part in enumerate(loads[1:3], start=2):
            if part:
                _append(store, part, load_id)
            update_profiles(store, live=True)
        if refresh_first:
            refresh_population(store)
        if loads[3]:
            _append(store, loads[3], 4)
        final = default_as_of(store)
        if refresh_first or not loads[3]:  # the refresh (again) brings everything in
            update_profiles(store, live=True)
            refreshed = refresh_population(store)
            assert refreshed is not None
            # the live version: as of the latest event, or the microsecond after it when the
            # snapshot holds that (that snapshot keeps what it was built with)
            assert refreshed.as_of - final in (timedelta(0), timedelta(microseconds=1))
            final = refreshed.as_of
        else:  # a snapshot at the latest event, made from the live version
            update_profiles(store, as_of=final)
        full = _fresh_store(Path(folder), "full")
        full.append("events", events_frame(rows))
        build_profiles(full, final)
        mine, theirs = _aggregates(store, final), _aggregates(full, final)
        for table in USER_AGGREGATE_TABLES:
            assert_frames_equal(mine[table], theirs[table])
        assert_frames_equal(load_profiles(store, final), load_profiles(full, final))
        store.close()
        full.close()


@_FOUR_LOADS_SETTINGS
@given(
    raw=_FOUR_LOADS_RAW,
    cuts=_FOUR_LOADS_CUTS,
)
def test_live_batches_in_python_give_the_rows_of_the_sql_statements(
    raw: list[tuple], cuts: tuple[float, float, float]
) -> None:
    """The same loads and live updates on two stores, one deriving its batches in Python and
    one through the SQL statements (``PYTHON_BATCH_USERS`` 0): between refreshes, the live
    version's profiles are the same."""
    _, loads = _four_loads(raw, cuts)
    profiles = []
    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as patch:
        for name, limit in (("python", live.PYTHON_BATCH_USERS), ("sql", 0)):
            patch.setattr(live, "PYTHON_BATCH_USERS", limit)
            store = _fresh_store(Path(folder), name)
            _append(store, loads[0], 1)
            build_profiles(store)
            result = None
            for load_id, part in enumerate(loads[1:], start=2):
                if part:
                    _append(store, part, load_id)
                result = update_profiles(store, live=True)
            assert result is not None
            profiles.append(load_profiles(store, result.as_of))
            store.close()
    assert_frames_equal(profiles[0], profiles[1])
