"""Splits within each user's history: the last N, a random share, K folds of users."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd

from shopguide.columns import Columns
from shopguide.data.split.base import (
    Split,
    Splitter,
    _check_events,
    _chronological_order,
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
