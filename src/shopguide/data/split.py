"""Train/test splitters over a canonical events frame.

Every splitter turns an events :class:`pandas.DataFrame` (columns ``user_id``, ``item_id``,
``event_type``, ``timestamp`` and any others, which are kept) into one or more :class:`Split`
objects. A split never puts an event in both halves and never leaks the future of a test
window into training. Test events whose user or item never occurs in the training half are
*cold*: a collaborative model cannot score them, so by default they are dropped from the test
half and counted in :class:`SplitReport` (and kept, for inspection, in ``Split.dropped``).

The splitters:

==========================  =================================================================
:class:`TemporalSplit`      one global cut in time: train before it, test on/after it
:class:`LastNSplit`         per user, the last ``n`` events by time are test (leave-last-out)
:class:`RandomRatioSplit`   per user, a random share of the events is test
:class:`UserKFold`          users in ``n_folds`` disjoint groups; each fold holds out a part of
                            its users' histories, every other event trains
:class:`RollingWindowSplit` several consecutive test windows in time, each trained on the past
==========================  =================================================================

Exact definitions are in ``docs/metrics.md``. Frames keep their original index, so
``train.index``, ``test.index`` and ``dropped.index`` partition the input's index.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from shopguide.columns import Columns
from shopguide.errors import DataError, MissingColumnsError

__all__ = [
    "LastNSplit",
    "RandomRatioSplit",
    "RollingWindowSplit",
    "Split",
    "SplitReport",
    "Splitter",
    "TemporalSplit",
    "UserKFold",
]

_REQUIRED = (Columns.USER_ID, Columns.ITEM_ID, Columns.TIMESTAMP)
# Columns that break timestamp ties, in order, when present (item_id is always present).
_TIE_BREAKERS = (Columns.ITEM_ID, Columns.EVENT_KEY, Columns.EVENT_ID)


@dataclass(frozen=True)
class SplitReport:
    """What a split kept and what it dropped.

    Attributes
    ----------
    n_input, n_train, n_test:
        Event counts of the input and of the two halves.
    n_dropped_cold_user, n_dropped_cold_item:
        Test events dropped because their user (resp. only their item) is absent from training.
        An event whose user *and* item are cold counts as a cold-user drop.
    n_dropped_event_type:
        Test events dropped because their type is not in ``test_event_types``.
    n_dropped_outside:
        Events outside every window (rolling windows with a bounded training span only).
    cold_users, cold_items:
        Distinct test users / items absent from training (counted whether dropped or not).
    n_train_users, n_train_items, n_test_users, n_test_items:
        Distinct users and items in each half (after drops).
    description:
        One line saying exactly how the split was made.
    """

    n_input: int
    n_train: int
    n_test: int
    n_dropped_cold_user: int
    n_dropped_cold_item: int
    n_dropped_event_type: int
    n_dropped_outside: int
    cold_users: int
    cold_items: int
    n_train_users: int
    n_train_items: int
    n_test_users: int
    n_test_items: int
    description: str

    @property
    def n_dropped(self) -> int:
        """Total events in neither half."""
        return (
            self.n_dropped_cold_user
            + self.n_dropped_cold_item
            + self.n_dropped_event_type
            + self.n_dropped_outside
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (for evidence files)."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["n_dropped"] = self.n_dropped
        return out


@dataclass(frozen=True)
class Split:
    """One train/test split: the two event frames, the dropped events and a report."""

    train: pd.DataFrame
    test: pd.DataFrame
    dropped: pd.DataFrame
    report: SplitReport
    name: str = "split"
    info: dict[str, Any] = field(default_factory=dict)


def _check_events(events: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in _REQUIRED if c not in events.columns]
    if missing:
        raise MissingColumnsError("events frame", missing, [str(c) for c in events.columns])
    if not events.index.is_unique:
        events = events.reset_index(drop=True)
    if not pd.api.types.is_datetime64_any_dtype(events[Columns.TIMESTAMP]):
        raise DataError(
            "events column 'timestamp' must be a datetime column, "
            f"not {events[Columns.TIMESTAMP].dtype}",
            hint="convert it with pandas.to_datetime(...) first",
        )
    if events[Columns.TIMESTAMP].isna().any():
        raise DataError("events column 'timestamp' has missing values")
    return events


def _chronological_order(events: pd.DataFrame) -> np.ndarray:
    """Positions of ``events`` sorted by user, then time, ties broken deterministically.

    Ties on the timestamp are broken by ``item_id``, then ``event_key`` / ``event_id`` when
    present, then by the original row position (a stable sort), so the order never depends on
    the sort algorithm.
    """
    keys = [Columns.USER_ID, Columns.TIMESTAMP] + [c for c in _TIE_BREAKERS if c in events.columns]
    frame = events[keys].reset_index(drop=True)
    for col in keys:
        if col != Columns.TIMESTAMP:
            frame[col] = frame[col].astype(str)
    return frame.sort_values(keys, kind="stable").index.to_numpy()


def _finish(
    events: pd.DataFrame,
    train_mask: np.ndarray,
    test_mask: np.ndarray,
    *,
    drop_cold_users: bool,
    drop_cold_items: bool,
    test_event_types: Sequence[str] | None,
    description: str,
    name: str,
    info: dict[str, Any] | None = None,
) -> Split:
    """Apply the type filter and the cold-start drops, and build the :class:`Split`."""
    if np.any(train_mask & test_mask):  # pragma: no cover - internal invariant
        raise AssertionError("an event was assigned to both train and test")
    outside_mask = ~(train_mask | test_mask)
    train = events[train_mask]
    test = events[test_mask]
    n_type = 0
    if test_event_types is not None:
        keep = test[Columns.EVENT_TYPE].isin(list(test_event_types)).to_numpy()
        n_type = int((~keep).sum())
        type_dropped = test[~keep]
        test = test[keep]
    else:
        type_dropped = test.iloc[:0]
    train_users = pd.Index(train[Columns.USER_ID].unique())
    train_items = pd.Index(train[Columns.ITEM_ID].unique())
    user_cold = ~test[Columns.USER_ID].isin(train_users).to_numpy()
    item_cold = ~test[Columns.ITEM_ID].isin(train_items).to_numpy()
    cold_users = int(test.loc[user_cold, Columns.USER_ID].nunique())
    cold_items = int(test.loc[item_cold, Columns.ITEM_ID].nunique())
    drop_user = user_cold if drop_cold_users else np.zeros(len(test), dtype=bool)
    drop_item = (item_cold & ~drop_user) if drop_cold_items else np.zeros(len(test), dtype=bool)
    drop = drop_user | drop_item
    dropped = pd.concat([events[outside_mask], type_dropped, test[drop]])
    test = test[~drop]
    report = SplitReport(
        n_input=len(events),
        n_train=len(train),
        n_test=len(test),
        n_dropped_cold_user=int(drop_user.sum()),
        n_dropped_cold_item=int(drop_item.sum()),
        n_dropped_event_type=n_type,
        n_dropped_outside=int(outside_mask.sum()),
        cold_users=cold_users,
        cold_items=cold_items,
        n_train_users=len(train_users),
        n_train_items=len(train_items),
        n_test_users=int(test[Columns.USER_ID].nunique()),
        n_test_items=int(test[Columns.ITEM_ID].nunique()),
        description=description,
    )
    return Split(train=train, test=test, dropped=dropped, report=report, name=name, info=info or {})


class Splitter(ABC):
    """Common options and the two entry points of every splitter.

    Parameters
    ----------
    drop_cold_users, drop_cold_items:
        Drop test events whose user / item never occurs in training (default ``True``).
    test_event_types:
        Keep only these event types in the test half (for example ``("purchase",)``);
        ``None`` keeps every type. Training always keeps every type.
    """

    def __init__(
        self,
        *,
        drop_cold_users: bool = True,
        drop_cold_items: bool = True,
        test_event_types: Sequence[str] | None = None,
    ) -> None:
        self.drop_cold_users = drop_cold_users
        self.drop_cold_items = drop_cold_items
        self.test_event_types = None if test_event_types is None else tuple(test_event_types)

    @abstractmethod
    def iter_splits(self, events: pd.DataFrame) -> Iterator[Split]:
        """Yield every split this splitter makes of ``events``."""

    def splits(self, events: pd.DataFrame) -> list[Split]:
        """Every split of ``events`` as a list (one for single splitters, K for K folds)."""
        return list(self.iter_splits(events))

    def split(self, events: pd.DataFrame) -> Split:
        """The one split of a single-split splitter (use :meth:`splits` for folds/windows)."""
        out = self.splits(events)
        if len(out) != 1:
            raise ValueError(f"{type(self).__name__} makes {len(out)} splits; use .splits()")
        return out[0]

    def _finish(
        self,
        events: pd.DataFrame,
        train_mask: np.ndarray,
        test_mask: np.ndarray,
        description: str,
        name: str,
        info: dict[str, Any] | None = None,
    ) -> Split:
        return _finish(
            events,
            train_mask,
            test_mask,
            drop_cold_users=self.drop_cold_users,
            drop_cold_items=self.drop_cold_items,
            test_event_types=self.test_event_types,
            description=description,
            name=name,
            info=info,
        )

    def _options_text(self) -> str:
        parts = []
        if self.test_event_types is not None:
            parts.append(f"test keeps only event types {list(self.test_event_types)}")
        drops = [
            w for w, on in (("users", self.drop_cold_users), ("items", self.drop_cold_items)) if on
        ]
        if drops:
            parts.append(f"test events of {' and '.join(drops)} absent from train are dropped")
        return "; ".join(parts)


def _as_timestamp(value: datetime | str | pd.Timestamp) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts


class TemporalSplit(Splitter):
    """One global cut in time: train = events before ``cut``, test = events on/after it.

    Parameters
    ----------
    cut:
        The cut instant (naive UTC). Exactly one of ``cut`` and ``fraction`` must be given.
    fraction:
        Put the cut at ``t_min + fraction * (t_max - t_min)`` of the events' time range.
    test_end:
        Optional end of the test window (exclusive); later events are dropped as "outside".
    train_start:
        Optional start of the training window (inclusive); earlier events are "outside".
    """

    def __init__(
        self,
        cut: datetime | str | pd.Timestamp | None = None,
        *,
        fraction: float | None = None,
        test_end: datetime | str | pd.Timestamp | None = None,
        train_start: datetime | str | pd.Timestamp | None = None,
        drop_cold_users: bool = True,
        drop_cold_items: bool = True,
        test_event_types: Sequence[str] | None = None,
    ) -> None:
        super().__init__(
            drop_cold_users=drop_cold_users,
            drop_cold_items=drop_cold_items,
            test_event_types=test_event_types,
        )
        self.cut = cut
        self.fraction = fraction
        self.test_end = test_end
        self.train_start = train_start

    def cut_time(self, events: pd.DataFrame) -> pd.Timestamp:
        """The cut instant this splitter uses for ``events``."""
        if (self.cut is None) == (self.fraction is None):
            raise ValueError("give exactly one of cut= and fraction=")
        if self.cut is not None:
            return _as_timestamp(self.cut)
        assert self.fraction is not None
        if not 0.0 < self.fraction < 1.0:
            raise ValueError(f"fraction must be in (0, 1), got {self.fraction}")
        ts = events[Columns.TIMESTAMP]
        lo, hi = ts.min(), ts.max()
        return pd.Timestamp(lo + (hi - lo) * self.fraction)

    def iter_splits(self, events: pd.DataFrame) -> Iterator[Split]:
        events = _check_events(events)
        cut = self.cut_time(events)
        ts = events[Columns.TIMESTAMP]
        train_mask = (ts < cut).to_numpy()
        test_mask = ~train_mask
        text = f"global temporal cut: train = events before {cut}, test = events on/after {cut}"
        if self.train_start is not None:
            start = _as_timestamp(self.train_start)
            train_mask = train_mask & (ts >= start).to_numpy()
            text += f"; train starts at {start}"
        if self.test_end is not None:
            end = _as_timestamp(self.test_end)
            test_mask = test_mask & (ts < end).to_numpy()
            text += f" and before {end}"
        opts = self._options_text()
        yield self._finish(
            events,
            train_mask,
            test_mask,
            text + (f"; {opts}" if opts else ""),
            "temporal",
            {"cut": str(cut)},
        )


def _user_positions(events: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Chronological order, and for each row in that order its rank within its user and
    its user's event count."""
    order = _chronological_order(events)
    users = events[Columns.USER_ID].to_numpy()[order]
    codes, _ = pd.factorize(users)
    counts = np.bincount(codes)
    # rank within user: rows of one user are contiguous after the sort
    starts = np.r_[0, np.flatnonzero(codes[1:] != codes[:-1]) + 1]
    run_lengths = np.diff(np.r_[starts, len(codes)])
    rank = np.arange(len(codes)) - np.repeat(starts, run_lengths)
    return order, rank, counts[codes]


class LastNSplit(Splitter):
    """Per user, the last ``n`` events by time are test, the earlier ones train.

    Leave-last-out is ``n=1``. Events are ordered by timestamp with ties broken by
    ``item_id``, ``event_key``/``event_id`` and row position. A user with ``n`` or fewer events
    keeps all of them in training (there would be no history to recommend from); the number of
    such users is in ``Split.info["short_users"]``.
    """

    def __init__(
        self,
        n: int = 1,
        *,
        drop_cold_users: bool = True,
        drop_cold_items: bool = True,
        test_event_types: Sequence[str] | None = None,
    ) -> None:
        super().__init__(
            drop_cold_users=drop_cold_users,
            drop_cold_items=drop_cold_items,
            test_event_types=test_event_types,
        )
        self.n = n

    def iter_splits(self, events: pd.DataFrame) -> Iterator[Split]:
        if self.n < 1:
            raise ValueError(f"n must be >= 1, got {self.n}")
        events = _check_events(events)
        order, rank, count = _user_positions(events)
        is_test_sorted = (count > self.n) & (rank >= count - self.n)
        test_mask = np.zeros(len(events), dtype=bool)
        test_mask[order] = is_test_sorted
        short = int(
            events[Columns.USER_ID].value_counts().le(self.n).sum()  # users kept whole in train
        )
        text = (
            f"per-user last {self.n}: each user's last {self.n} event(s) by timestamp "
            "(ties by item_id, event key, row order) are test; users with <= "
            f"{self.n} events stay in train"
        )
        opts = self._options_text()
        yield self._finish(
            events,
            ~test_mask,
            test_mask,
            text + (f"; {opts}" if opts else ""),
            f"last-{self.n}",
            {"short_users": short},
        )


def _random_holdout(
    events: pd.DataFrame, ratio: float, rng: np.random.Generator, users: np.ndarray | None = None
) -> np.ndarray:
    """Mask of a random ``ratio`` of each (selected) user's events, at least one and at most
    ``count - 1``; users with a single event keep it in training."""
    codes, _ = pd.factorize(events[Columns.USER_ID].to_numpy())
    counts = np.bincount(codes)
    n_test = np.clip(np.rint(counts * ratio).astype(np.int64), 1, None)
    n_test = np.minimum(n_test, counts - 1)
    key = rng.random(len(events))
    order = np.lexsort((key, codes))
    sorted_codes = codes[order]
    starts = np.r_[0, np.flatnonzero(sorted_codes[1:] != sorted_codes[:-1]) + 1]
    rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    mask = np.zeros(len(events), dtype=bool)
    mask[order] = rank < n_test[sorted_codes]
    if users is not None:
        mask = mask & events[Columns.USER_ID].isin(users).to_numpy()
    return mask


class RandomRatioSplit(Splitter):
    """Per user, a random ``test_ratio`` of the events is test (rounded, at least 1, and at
    least one event always stays in training; users with one event stay in train).

    Random, so it ignores time: use it for non-temporal checks only. ``seed`` makes it
    reproducible for the same input rows in the same order.
    """

    def __init__(
        self,
        test_ratio: float = 0.2,
        *,
        seed: int = 0,
        drop_cold_users: bool = True,
        drop_cold_items: bool = True,
        test_event_types: Sequence[str] | None = None,
    ) -> None:
        super().__init__(
            drop_cold_users=drop_cold_users,
            drop_cold_items=drop_cold_items,
            test_event_types=test_event_types,
        )
        self.test_ratio = test_ratio
        self.seed = seed

    def iter_splits(self, events: pd.DataFrame) -> Iterator[Split]:
        if not 0.0 < self.test_ratio < 1.0:
            raise ValueError(f"test_ratio must be in (0, 1), got {self.test_ratio}")
        events = _check_events(events)
        rng = np.random.default_rng(self.seed)
        test_mask = _random_holdout(events, self.test_ratio, rng)
        text = (
            f"per-user random {self.test_ratio:g}: round({self.test_ratio:g}·n_u) of each "
            f"user's events (at least 1, at most n_u-1) drawn at random (seed {self.seed}) "
            "are test"
        )
        opts = self._options_text()
        yield self._finish(
            events, ~test_mask, test_mask, text + (f"; {opts}" if opts else ""), "random"
        )


class UserKFold(Splitter):
    """K-fold over users: users are shuffled (``seed``) into ``n_folds`` disjoint groups.

    In fold ``f`` the users of group ``f`` are the test users: a part of each one's history is
    held out as test (``holdout="last"``: the last ``test_ratio`` of their events by time;
    ``"random"``: a random ``test_ratio``); all other events (every event of the other users and
    the rest of the test users' histories) train. Each user is a test user in exactly one fold.
    """

    def __init__(
        self,
        n_folds: int = 5,
        *,
        seed: int = 0,
        test_ratio: float = 0.2,
        holdout: str = "last",
        drop_cold_users: bool = True,
        drop_cold_items: bool = True,
        test_event_types: Sequence[str] | None = None,
    ) -> None:
        super().__init__(
            drop_cold_users=drop_cold_users,
            drop_cold_items=drop_cold_items,
            test_event_types=test_event_types,
        )
        self.n_folds = n_folds
        self.seed = seed
        self.test_ratio = test_ratio
        self.holdout = holdout

    def user_folds(self, events: pd.DataFrame) -> pd.Series:
        """The fold number (0..n_folds-1) of every distinct user, indexed by user id."""
        users = np.sort(events[Columns.USER_ID].astype(str).unique())
        rng = np.random.default_rng(self.seed)
        perm = rng.permutation(len(users))
        folds = np.empty(len(users), dtype=np.int64)
        folds[perm] = np.arange(len(users)) % self.n_folds
        return pd.Series(folds, index=pd.Index(users, name=Columns.USER_ID), name="fold")

    def iter_splits(self, events: pd.DataFrame) -> Iterator[Split]:
        if self.n_folds < 2:
            raise ValueError(f"n_folds must be >= 2, got {self.n_folds}")
        if self.holdout not in ("last", "random"):
            raise ValueError(f"holdout must be 'last' or 'random', got {self.holdout!r}")
        if not 0.0 < self.test_ratio < 1.0:
            raise ValueError(f"test_ratio must be in (0, 1), got {self.test_ratio}")
        events = _check_events(events)
        folds = self.user_folds(events)
        row_fold = folds.reindex(events[Columns.USER_ID].astype(str).to_numpy()).to_numpy()
        if self.holdout == "last":
            order, rank, count = _user_positions(events)
            n_test = np.minimum(
                np.clip(np.rint(count * self.test_ratio).astype(np.int64), 1, None), count - 1
            )
            held = np.zeros(len(events), dtype=bool)
            held[order] = rank >= count - n_test
        else:
            held = _random_holdout(events, self.test_ratio, np.random.default_rng([self.seed, 1]))
        opts = self._options_text()
        for f in range(self.n_folds):
            test_mask = held & (row_fold == f)
            text = (
                f"user {self.n_folds}-fold (seed {self.seed}), fold {f + 1}: users of fold "
                f"{f + 1} hold out the {self.holdout} {self.test_ratio:g} of their events "
                "(at least 1, at most n_u-1) as test; everything else trains"
            )
            yield self._finish(
                events,
                ~test_mask,
                test_mask,
                text + (f"; {opts}" if opts else ""),
                f"fold-{f + 1}",
                {"fold": f, "test_users": folds.index[folds.to_numpy() == f].tolist()},
            )


class RollingWindowSplit(Splitter):
    """Consecutive test windows in time, each trained on the events before it.

    The last window ends just after the latest event; window ``w`` (oldest first, ``w = 0 ..
    n_windows-1``) tests the events in ``[end_w - test_span, end_w)`` where ``end_w = t_max +
    1 µs - (n_windows - 1 - w) * step`` and ``step`` defaults to ``test_span`` (back-to-back
    windows). Training is every earlier event (expanding window) or, with ``train_span``, the
    events in ``[start_w - train_span, start_w)``.
    """

    def __init__(
        self,
        n_windows: int = 3,
        *,
        test_span: timedelta | str = "30D",
        step: timedelta | str | None = None,
        train_span: timedelta | str | None = None,
        drop_cold_users: bool = True,
        drop_cold_items: bool = True,
        test_event_types: Sequence[str] | None = None,
    ) -> None:
        super().__init__(
            drop_cold_users=drop_cold_users,
            drop_cold_items=drop_cold_items,
            test_event_types=test_event_types,
        )
        self.n_windows = n_windows
        self.test_span = test_span
        self.step = step
        self.train_span = train_span

    def windows(self, events: pd.DataFrame) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
        """The ``(test_start, test_end)`` pairs, oldest first."""
        span = pd.Timedelta(self.test_span)
        step = pd.Timedelta(self.step) if self.step is not None else span
        if span <= pd.Timedelta(0) or step <= pd.Timedelta(0):
            raise ValueError("test_span and step must be positive")
        end = pd.Timestamp(events[Columns.TIMESTAMP].max()) + pd.Timedelta(microseconds=1)
        out = []
        for w in range(self.n_windows):
            e = end - (self.n_windows - 1 - w) * step
            out.append((e - span, e))
        return out

    def iter_splits(self, events: pd.DataFrame) -> Iterator[Split]:
        if self.n_windows < 1:
            raise ValueError(f"n_windows must be >= 1, got {self.n_windows}")
        events = _check_events(events)
        ts = events[Columns.TIMESTAMP]
        opts = self._options_text()
        for w, (start, end) in enumerate(self.windows(events)):
            train_mask = (ts < start).to_numpy()
            text = f"rolling window {w + 1}/{self.n_windows}: test = [{start}, {end})"
            if self.train_span is not None:
                t0 = start - pd.Timedelta(self.train_span)
                train_mask = train_mask & (ts >= t0).to_numpy()
                text += f", train = [{t0}, {start})"
            else:
                text += f", train = every event before {start}"
            test_mask = ((ts >= start) & (ts < end)).to_numpy()
            yield self._finish(
                events,
                train_mask,
                test_mask,
                text + (f"; {opts}" if opts else ""),
                f"window-{w + 1}",
                {"test_start": str(start), "test_end": str(end)},
            )
