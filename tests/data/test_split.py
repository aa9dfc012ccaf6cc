"""Tests of the train/test splitters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shopguide.data.split import (
    LastNSplit,
    RandomRatioSplit,
    RollingWindowSplit,
    Split,
    TemporalSplit,
    UserKFold,
)
from shopguide.errors import DataError, MissingColumnsError


def make_events(n: int = 400, n_users: int = 30, n_items: int = 25, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-01-01")
    return pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(n)],
            "user_id": [f"u{x}" for x in rng.integers(0, n_users, n)],
            "item_id": [f"i{x}" for x in rng.integers(0, n_items, n)],
            "event_type": rng.choice(["view", "purchase"], n),
            "timestamp": start + pd.to_timedelta(rng.integers(0, 100 * 24, n), unit="h"),
        }
    )


def assert_partition(events: pd.DataFrame, s: Split) -> None:
    """train, test and dropped partition the input rows, and nothing is in two parts."""
    tr, te, dr = set(s.train.index), set(s.test.index), set(s.dropped.index)
    assert not tr & te
    assert not tr & dr
    assert not te & dr
    assert tr | te | dr == set(events.index)
    r = s.report
    assert r.n_train == len(s.train) and r.n_test == len(s.test)
    assert r.n_dropped == len(s.dropped)
    assert r.n_input == len(events)


def assert_no_cold(s: Split) -> None:
    assert set(s.test["user_id"]) <= set(s.train["user_id"])
    assert set(s.test["item_id"]) <= set(s.train["item_id"])


# --- hand-made known answers -------------------------------------------------------------


def tiny() -> pd.DataFrame:
    t = pd.Timestamp("2024-01-01")
    rows = [
        ("a", "x", 0),
        ("a", "y", 1),
        ("a", "z", 5),  # z only in test -> cold item
        ("b", "x", 2),
        ("b", "y", 6),
        ("c", "y", 7),  # c only in test -> cold user
        ("a", "x", 8),
    ]
    return pd.DataFrame(
        {
            "user_id": [r[0] for r in rows],
            "item_id": [r[1] for r in rows],
            "event_type": "purchase",
            "timestamp": [t + pd.Timedelta(days=r[2]) for r in rows],
        }
    )


def test_temporal_known_answer() -> None:
    ev = tiny()
    s = TemporalSplit("2024-01-04").split(ev)
    assert list(s.train.index) == [0, 1, 3]
    assert sorted(s.test.index) == [4, 6]
    r = s.report
    assert (r.n_dropped_cold_user, r.n_dropped_cold_item) == (1, 1)
    assert (r.cold_users, r.cold_items) == (1, 1)
    assert "2024-01-04" in r.description
    assert_partition(ev, s)


def test_temporal_keep_cold() -> None:
    ev = tiny()
    s = TemporalSplit("2024-01-04", drop_cold_users=False, drop_cold_items=False).split(ev)
    assert sorted(s.test.index) == [2, 4, 5, 6]
    assert s.report.cold_users == 1 and s.report.n_dropped == 0


def test_temporal_no_test_event_before_cut() -> None:
    ev = make_events()
    cut = pd.Timestamp("2024-02-15")
    s = TemporalSplit(cut).split(ev)
    assert (s.test["timestamp"] >= cut).all()
    assert (s.train["timestamp"] < cut).all()
    assert_partition(ev, s)
    assert_no_cold(s)


def test_temporal_fraction_and_window() -> None:
    ev = make_events()
    sp = TemporalSplit(fraction=0.5, test_end="2024-03-20")
    cut = sp.cut_time(ev)
    lo, hi = ev["timestamp"].min(), ev["timestamp"].max()
    assert cut == lo + (hi - lo) * 0.5
    s = sp.split(ev)
    assert (s.test["timestamp"] >= cut).all()
    assert (s.test["timestamp"] < pd.Timestamp("2024-03-20")).all()
    assert s.report.n_dropped_outside == int((ev["timestamp"] >= pd.Timestamp("2024-03-20")).sum())
    assert_partition(ev, s)
    with pytest.raises(ValueError):
        TemporalSplit().split(ev)
    with pytest.raises(ValueError):
        TemporalSplit("2024-01-01", fraction=0.5).split(ev)


def test_test_event_types_filter() -> None:
    ev = make_events()
    s = TemporalSplit(fraction=0.5, test_event_types=["purchase"]).split(ev)
    assert set(s.test["event_type"]) == {"purchase"}
    assert set(s.train["event_type"]) == {"view", "purchase"}
    assert s.report.n_dropped_event_type > 0
    assert_partition(ev, s)


def test_last_n_known_answer_and_ties() -> None:
    t = pd.Timestamp("2024-01-01")
    ev = pd.DataFrame(
        {
            "user_id": ["a", "a", "a", "b", "a"],
            "item_id": ["q", "p", "r", "p", "s"],
            "event_type": "purchase",
            # a: q and p tie on the last instant; r earlier; s earliest. b has one event.
            "timestamp": [t + pd.Timedelta(days=d) for d in (3, 3, 2, 1, 1)],
        }
    )
    s = LastNSplit(1, drop_cold_items=False).split(ev)
    # tie broken by item_id: p < q, so q is the last event of a
    assert list(s.test["item_id"]) == ["q"]
    assert s.info["short_users"] == 1  # b keeps its single event in training
    s2 = LastNSplit(2, drop_cold_items=False).split(ev)
    assert sorted(s2.test["item_id"]) == ["p", "q"]
    # the result does not depend on the input row order
    shuffled = ev.sample(frac=1.0, random_state=3)
    s3 = LastNSplit(1, drop_cold_items=False).split(shuffled)
    assert list(s3.test["item_id"]) == ["q"]


def test_last_n_every_test_event_after_users_train_events() -> None:
    ev = make_events(seed=4)
    s = LastNSplit(3).split(ev)
    assert_partition(ev, s)
    last_train = s.train.groupby("user_id")["timestamp"].max()
    first_test = s.test.groupby("user_id")["timestamp"].min()
    assert (first_test >= last_train.reindex(first_test.index)).all()
    counts = s.test.groupby("user_id").size()
    assert (counts <= 3).all()


def test_random_ratio_reproducible_and_sized() -> None:
    ev = make_events(seed=5)
    a = RandomRatioSplit(0.25, seed=7, drop_cold_items=False).split(ev)
    b = RandomRatioSplit(0.25, seed=7, drop_cold_items=False).split(ev)
    c = RandomRatioSplit(0.25, seed=8, drop_cold_items=False).split(ev)
    assert a.test.index.equals(b.test.index)
    assert not a.test.index.equals(c.test.index)
    n_u = ev.groupby("user_id").size()
    expected = np.minimum(np.clip(np.rint(n_u * 0.25), 1, None), n_u - 1)
    got = a.test.groupby("user_id").size().reindex(n_u.index, fill_value=0)
    assert (got == expected).all()
    assert_partition(ev, a)


def test_user_kfold_each_user_tested_once_and_reproducible() -> None:
    ev = make_events(n=600, n_users=40, seed=6)
    kf = UserKFold(4, seed=11)
    folds = kf.splits(ev)
    assert len(folds) == 4
    test_users = [set(s.test["user_id"]) for s in folds]
    for i in range(4):
        for j in range(i + 1, 4):
            assert not test_users[i] & test_users[j]
    declared = [set(s.info["test_users"]) for s in folds]
    assert set().union(*declared) == set(ev["user_id"])
    assert sum(len(d) for d in declared) == ev["user_id"].nunique()
    for s in folds:
        assert_partition(ev, s)
        assert_no_cold(s)
    again = UserKFold(4, seed=11).splits(ev)
    assert all(a.test.index.equals(b.test.index) for a, b in zip(folds, again, strict=True))
    other = UserKFold(4, seed=12).user_folds(ev)
    assert not other.equals(kf.user_folds(ev))
    rnd = UserKFold(4, seed=11, holdout="random").splits(ev)
    for s in rnd:
        assert_partition(ev, s)


def test_rolling_windows() -> None:
    ev = make_events(n=800, seed=9)
    rw = RollingWindowSplit(3, test_span="10D")
    splits = rw.splits(ev)
    wins = rw.windows(ev)
    assert len(splits) == 3
    for s, (start, end) in zip(splits, wins, strict=True):
        assert (s.test["timestamp"] >= start).all() and (s.test["timestamp"] < end).all()
        assert (s.train["timestamp"] < start).all()
        assert_partition(ev, s)
    assert wins[-1][1] > ev["timestamp"].max()
    assert wins[1][0] == wins[0][1]  # back-to-back
    bounded = RollingWindowSplit(2, test_span="10D", train_span="20D").splits(ev)
    for s in bounded:
        start = pd.Timestamp(s.info["test_start"])
        assert (s.train["timestamp"] >= start - pd.Timedelta("20D")).all()


def test_input_errors() -> None:
    with pytest.raises(MissingColumnsError):
        TemporalSplit(fraction=0.5).split(pd.DataFrame({"user_id": ["a"]}))
    bad = tiny().assign(timestamp="2024-01-01")
    with pytest.raises(DataError):
        TemporalSplit(fraction=0.5).split(bad)
    with pytest.raises(ValueError, match="splits"):
        UserKFold(3).split(make_events())


def test_duplicate_index_is_reset() -> None:
    ev = pd.concat([tiny(), tiny()])
    s = TemporalSplit("2024-01-04").split(ev)
    assert len(s.train) + len(s.test) + len(s.dropped) == len(ev)


# --- property tests ----------------------------------------------------------------------

events_strategy = st.lists(
    st.tuples(
        st.integers(0, 6),  # user
        st.integers(0, 8),  # item
        st.integers(0, 50),  # day
    ),
    min_size=1,
    max_size=60,
).map(
    lambda rows: pd.DataFrame(
        {
            "user_id": [f"u{r[0]}" for r in rows],
            "item_id": [f"i{r[1]}" for r in rows],
            "event_type": "purchase",
            "timestamp": [pd.Timestamp("2024-01-01") + pd.Timedelta(days=r[2]) for r in rows],
        }
    )
)

SPLITTERS = [
    lambda: TemporalSplit(fraction=0.5),
    lambda: LastNSplit(1),
    lambda: LastNSplit(2, drop_cold_items=False),
    lambda: RandomRatioSplit(0.3, seed=1),
    lambda: UserKFold(3, seed=2),
    lambda: RollingWindowSplit(2, test_span="7D"),
    lambda: TemporalSplit(fraction=0.3, drop_cold_users=False, drop_cold_items=False),
]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ev=events_strategy, which=st.integers(0, len(SPLITTERS) - 1))
def test_property_partition_and_no_cold(ev: pd.DataFrame, which: int) -> None:
    splitter = SPLITTERS[which]()
    for s in splitter.splits(ev):
        assert_partition(ev, s)
        if splitter.drop_cold_users:
            assert set(s.test["user_id"]) <= set(s.train["user_id"])
        if splitter.drop_cold_items:
            assert set(s.test["item_id"]) <= set(s.train["item_id"])


@settings(max_examples=30, deadline=None)
@given(ev=events_strategy, seed=st.integers(0, 1000))
def test_property_seeded_reproducible(ev: pd.DataFrame, seed: int) -> None:
    for make in (lambda: RandomRatioSplit(0.4, seed=seed), lambda: UserKFold(2, seed=seed)):
        a, b = make().splits(ev), make().splits(ev)
        for x, y in zip(a, b, strict=True):
            assert x.train.index.equals(y.train.index)
            assert x.test.index.equals(y.test.index)
