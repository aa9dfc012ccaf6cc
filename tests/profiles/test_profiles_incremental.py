"""Incremental update == full rebuild, on random event streams split at random points."""

from __future__ import annotations

import math
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from profiles_testdata import ITEMS, USERS, events_frame

from shopguide.profiles import (
    ProfilesNotBuiltError,
    build_profiles,
    drop_profile_versions,
    list_profile_versions,
    load_profiles,
    refresh_population,
    update_profiles,
)
from shopguide.store import open_store
from shopguide.store.base import Store

START = datetime(2024, 1, 1)
EVENT_TYPES = ["view", "view", "cart", "purchase", "purchase", "refund", "click"]

event_rows = st.tuples(
    st.sampled_from(["alice", "bob", "carol", "dave", "u5", "u6"]),
    st.sampled_from(["i1", "i2", "i3", "i4", "i9"]),  # i9 is not in the items table
    st.sampled_from(EVENT_TYPES),
    st.integers(0, 90 * 24 * 60),  # minutes after START
    st.integers(1, 3),
    st.one_of(st.none(), st.integers(50, 5000).map(lambda c: c / 100)),
    st.sampled_from([None, 0.0, 0.5, 2.0]),
    st.sampled_from([None, "o1", "o2", "o3", "o4"]),
)


def _rows(raw: list[tuple]) -> list[tuple]:
    return [(u, i, t, START + timedelta(minutes=m), q, p, d, o) for (u, i, t, m, q, p, d, o) in raw]


def _fresh_store(folder: Path, name: str) -> Store:
    store = open_store(folder / f"{name}.duckdb")
    store.append("items", ITEMS)
    store.append("users", USERS)
    return store


def assert_frames_equal(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Exact equality of every field; floats within 1e-9 relative."""
    got = got.sort_values("user_id").reset_index(drop=True)
    want = want.sort_values("user_id").reset_index(drop=True)
    assert list(got["user_id"]) == list(want["user_id"])
    assert list(got.columns) == list(want.columns)
    for column in want.columns:
        for user, g, w in zip(want["user_id"], got[column], want[column], strict=True):
            _assert_value_equal(f"{user}.{column}", g, w)


def _assert_value_equal(where: str, got: object, want: object) -> None:
    if isinstance(want, list | tuple | np.ndarray):
        got_list, want_list = list(got), list(want)  # type: ignore[call-overload]
        assert len(got_list) == len(want_list), where
        for g, w in zip(got_list, want_list, strict=True):
            for key in w:
                _assert_value_equal(f"{where}.{key}", g[key], w[key])
        return
    if want is None or (not isinstance(want, str) and pd.isna(want)):  # type: ignore[arg-type]
        assert got is None or pd.isna(got), f"{where}: {got!r} != {want!r}"  # type: ignore[arg-type]
        return
    if isinstance(want, float | np.floating):
        assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9), f"{where}: {got} != {want}"  # type: ignore[arg-type]
    else:
        assert got == want, f"{where}: {got!r} != {want!r}"


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    raw=st.lists(event_rows, min_size=1, max_size=40),
    split=st.floats(0, 1),
    first_as_of_minutes=st.integers(0, 90 * 24 * 60),
    advance=st.booleans(),
)
def test_incremental_update_equals_full_rebuild(
    raw: list[tuple], split: float, first_as_of_minutes: int, advance: bool
) -> None:
    rows = _rows(raw)
    cut = int(split * len(rows))
    first, second = rows[:cut], rows[cut:]
    final_as_of = START + timedelta(days=91)
    # Either the same version is updated in place, or the update moves to a later as_of.
    first_as_of = START + timedelta(minutes=first_as_of_minutes) if advance else final_as_of
    with tempfile.TemporaryDirectory() as folder:
        incremental = _fresh_store(Path(folder), "incremental")
        incremental.append("events", events_frame(first, load_id=1))
        if first:
            build_profiles(incremental, first_as_of)
        else:  # nothing built yet: the update falls back to a full build
            first_as_of = final_as_of
        incremental.append("events", events_frame(second, load_id=2, start_key=len(first)))
        result = update_profiles(incremental, as_of=final_as_of)

        full = _fresh_store(Path(folder), "full")
        full.append("events", events_frame(rows))
        build_profiles(full, final_as_of)

        assert_frames_equal(
            load_profiles(incremental, final_as_of), load_profiles(full, final_as_of)
        )
        if first:
            assert result.mode == "incremental"
        incremental.close()
        full.close()


def test_update_recomputes_only_affected_users(hand_store: Store) -> None:
    as_of = datetime(2024, 3, 31)
    build_profiles(hand_store, as_of)
    late = events_frame(
        [("bob", "i2", "purchase", "2024-03-30 10:00", 1, 30.0, 0.0, "B9")],
        load_id=2,
        start_key=1000,
    )
    hand_store.append("events", late)
    result = update_profiles(hand_store, as_of=as_of)
    assert result.mode == "incremental"
    assert result.recomputed_users == 1  # only bob's aggregates were recomputed
    bob = load_profiles(hand_store, as_of).set_index("user_id").loc["bob"]
    assert bob["orders"] == 3 and bob["recency_days"] == 1
    # explicit user ids are recomputed too, even without new events
    again = update_profiles(hand_store, ["alice", "carol"], as_of=as_of)
    assert again.recomputed_users == 2


def test_changed_items_trigger_a_full_rebuild(hand_store: Store) -> None:
    as_of = datetime(2024, 3, 31)
    build_profiles(hand_store, as_of)
    hand_store.append(
        "items",
        pd.DataFrame({"item_id": ["i4"], "category": ["Toys"], "brand": ["Bolt"], "load_id": [2]}),
    )
    result = update_profiles(hand_store, as_of=as_of)
    assert result.mode == "full"
    bob = load_profiles(hand_store, as_of).set_index("user_id").loc["bob"]
    assert bob["top_brands"][1]["name"] == "Bolt"  # i4 now has a brand (spend 9 < Acme's 38)


def _versions(store: Store) -> dict[str, list[datetime]]:
    """The distinct ``as_of`` values of every versioned table and of the build log."""
    tables = ("profiles", "profile_agg_users", "profile_agg_categories", "profile_builds")
    return {
        table: sorted(
            pd.Timestamp(v).to_pydatetime()
            for v in store.query_df(f"SELECT DISTINCT as_of FROM {table}")["as_of"]
        )
        for table in tables
    }


def test_live_updates_keep_one_rolling_version_next_to_the_snapshots(hand_store: Store) -> None:
    snapshot = datetime(2024, 3, 31)
    build_profiles(hand_store, snapshot)
    snapshot_rows = load_profiles(hand_store, snapshot)

    def arrive(row: tuple, load_id: int) -> None:
        hand_store.append("events", events_frame([row], load_id=load_id, start_key=1000 + load_id))

    # alice's 2024-04-02 purchase is already stored, so the first live version is as of then
    arrive(("bob", "i2", "purchase", "2024-04-03 10:00", 1, 30.0, 0.0, "B9"), 2)
    first = update_profiles(hand_store, live=True)
    assert first.live and first.replaced == () and first.as_of == datetime(2024, 4, 3, 10)
    assert all(v == [snapshot, first.as_of] for v in _versions(hand_store).values())

    arrive(("carol", "i1", "purchase", "2024-04-05 08:00", 2, 12.0, 0.0, "C9"), 3)
    second = update_profiles(hand_store, live=True)
    # updated in place: the version keeps its key, its events now run to carol's purchase,
    # and its population statistics are still those measured when it was made
    assert second.live and second.replaced == () and second.as_of == datetime(2024, 4, 5, 8)
    assert second.recomputed_users == 1  # only carol's rows
    assert second.population_as_of == first.as_of and second.population_stale  # a day later
    assert all(v == [snapshot, first.as_of] for v in _versions(hand_store).values())
    live_rows = load_profiles(hand_store, second.as_of)  # found by its events_through
    assert live_rows.set_index("user_id").loc["carol", "orders"] == 2
    # the snapshot is untouched
    assert_frames_equal(load_profiles(hand_store, snapshot), snapshot_rows)

    # a refresh measures the population again and moves the key: now equal to a rebuild
    refreshed = refresh_population(hand_store)
    assert refreshed is not None and refreshed.previous_as_of == first.as_of
    assert refreshed.as_of == refreshed.population_as_of == second.as_of
    assert all(v == [snapshot, second.as_of] for v in _versions(hand_store).values())
    live_rows = load_profiles(hand_store, second.as_of)
    rebuilt = build_profiles(hand_store, second.as_of)  # now a snapshot at the same as_of
    assert_frames_equal(load_profiles(hand_store, second.as_of), live_rows)

    # a live update that would land on a snapshot leaves it as built: the live version goes
    # to the next microsecond (the same events), and the batches after it update it in place
    rebuilt_rows = load_profiles(hand_store, rebuilt.as_of)
    arrive(("dave", "i1", "view", "2024-04-05 07:00", 1, None, None, None), 4)
    third = update_profiles(hand_store, live=True)
    assert third.live and third.replaced == ()
    assert third.as_of == rebuilt.as_of + timedelta(microseconds=1)
    assert_frames_equal(load_profiles(hand_store, rebuilt.as_of), rebuilt_rows)
    assert "dave" in set(load_profiles(hand_store, third.as_of)["user_id"])
    arrive(("erin", "i1", "view", "2024-04-04 07:00", 1, None, None, None), 5)
    again = update_profiles(hand_store, live=True)  # nothing later: the version stays as of
    assert again.live and again.as_of == third.as_of and again.recomputed_users == 1
    assert "population step (profiles table)" not in again.steps  # in place: erin's rows only
    arrive(("dave", "i2", "purchase", "2024-04-06 09:00", 1, 30.0, 0.0, "D1"), 6)
    fourth = update_profiles(hand_store, live=True)
    assert fourth.live and fourth.as_of == datetime(2024, 4, 6, 9)
    assert all(v == [snapshot, rebuilt.as_of, third.as_of] for v in _versions(hand_store).values())
    assert_frames_equal(load_profiles(hand_store, rebuilt.as_of), rebuilt_rows)


def _bob_buys_in_april(store: Store) -> None:
    """A new load with one purchase after the hand-made data's 2024-03-31 versions."""
    late = [("bob", "i2", "purchase", "2024-04-03 10:00", 1, 30.0, 0.0, "B9")]
    store.append("events", events_frame(late, load_id=2, start_key=1000))


def test_updates_without_live_keep_every_version(hand_store: Store) -> None:
    build_profiles(hand_store, datetime(2024, 3, 31))
    _bob_buys_in_april(hand_store)
    result = update_profiles(hand_store)
    assert not result.live and result.replaced == ()
    assert all(len(v) == 2 for v in _versions(hand_store).values())


def test_versions_are_listed_and_dropped_whole(hand_store: Store) -> None:
    first, second = datetime(2024, 2, 29), datetime(2024, 3, 31)
    build_profiles(hand_store, first)
    build_profiles(hand_store, second)
    update_profiles(hand_store, ["bob"], as_of=second)  # a second build of the same version
    _bob_buys_in_april(hand_store)
    live = update_profiles(hand_store, live=True).as_of
    table = list_profile_versions(hand_store)
    assert list(table["as_of"]) == [live, second, first]  # newest first
    assert list(table["kind"]) == ["live", "snapshot", "snapshot"]
    assert list(table["builds"]) == [1, 2, 1]
    # February: alice and bob signed up; March adds dave (signup) and carol (first event);
    # April adds erin (signup April 1st)
    assert list(table["users"]) == [5, 4, 2]

    # an unknown version: nothing is deleted and the error lists what is stored
    with pytest.raises(ProfilesNotBuiltError, match="stored versions: 2024-02-29"):
        drop_profile_versions(hand_store, [first, datetime(2020, 1, 1)])
    assert len(list_profile_versions(hand_store)) == 3

    assert drop_profile_versions(hand_store, ["2024-02-29"]) == [first]
    assert _versions(hand_store)["profiles"] == [second, live]
    assert all(v == [second, live] for v in _versions(hand_store).values())
    assert drop_profile_versions(hand_store, keep_latest=1) == [second]
    assert all(v == [live] for v in _versions(hand_store).values())
    with pytest.raises(ValueError, match="not both or neither"):
        drop_profile_versions(hand_store, [live], keep_latest=0)
