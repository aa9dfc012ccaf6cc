"""The one rule for cutting a store's events in time, used for tests and validation alike.

:func:`temporal_split` cuts at ``test_days`` whole days before the last event (by default
10 % of the events' span, see :mod:`shopguide.data.eval_window`): ``compare`` and
``evaluate`` test on what comes after the cut. :func:`validation_split` applies the same rule
to the *training* events only, so automatic tuning measures on the last share of the
training period and can never see the test window.
"""

from __future__ import annotations

import pandas as pd

from shopguide.data.eval_window import default_test_days
from shopguide.data.split import Split, TemporalSplit
from shopguide.errors import DataError

__all__ = ["temporal_split", "validation_split"]


def temporal_split(
    events: pd.DataFrame, *, test_days: int | None = None, cut: str | None = None
) -> Split:
    """Train before the cut, test after it (default cut: ``test_days`` before the last event;
    ``test_days`` defaults to 10 % of the data's span, see :func:`default_test_days`)."""
    if cut is None and test_days is None:
        test_days = default_test_days(events["timestamp"])
    when = (
        pd.Timestamp(cut)
        if cut is not None
        else pd.Timestamp(events["timestamp"].max()).normalize()
        - pd.Timedelta(days=int(test_days or 0))
    )
    return TemporalSplit(cut=when).split(events)


def validation_split(train_events: pd.DataFrame) -> Split:
    """A validation window carved from ``train_events`` alone: the same rule as the test
    window (the last 10 % of their span, at least one day), applied to the training period.

    Give it only events that may be learned from (a split's training half, or every event
    when the model is published on all of them); it never looks further.
    """
    if train_events.empty:
        raise DataError("no training events to carve a validation window from")
    return temporal_split(train_events)
