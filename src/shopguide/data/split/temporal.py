"""Splits in time: one global cut, and rolling windows of cuts."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

import pandas as pd

from shopguide.columns import Columns
from shopguide.data.split.base import (
    Split,
    Splitter,
    _as_timestamp,
    _check_events,
)


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
