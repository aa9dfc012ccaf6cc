"""What every splitter shares: the split and its report, input checks, the chronological order."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from shopguide.columns import Columns
from shopguide.data.times import naive_utc
from shopguide.errors import DataError, MissingColumnsError

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
    return naive_utc(value)
