"""The default length of an evaluation window, taken from the data instead of fixed.

A fixed 38-day test window suits a year of data (Online Retail) and nothing else: on three
months it takes almost half the data, on five years it tests on one season. When no length is
given, ShopGuide holds out **10 % of the data's time span** (first to last event), rounded to
whole days and at least one day: 37 days on Online Retail's 373, 18 on 180 days of data.
Rolling-window tuning uses the same length for each of its windows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Final

import pandas as pd

from shopguide.errors import DataError

#: Share of the data's time span an evaluation window takes by default.
DEFAULT_TEST_SHARE: Final = 0.10


def default_test_days(
    timestamps: Iterable[datetime | pd.Timestamp | str] | pd.Series,
    share: float = DEFAULT_TEST_SHARE,
) -> int:
    """Days of the default evaluation window: ``share`` of the span from the first to the last
    timestamp, rounded to whole days, at least 1."""
    if not 0 < share < 1:
        raise ValueError(f"share must be in (0, 1), got {share}")
    stamps = pd.to_datetime(pd.Series(list(timestamps) if not isinstance(timestamps, pd.Series)
                                      else timestamps))  # fmt: skip
    if stamps.empty or stamps.isna().all():
        raise DataError("no events with a timestamp to evaluate on", hint="ingest events first")
    span_days = (stamps.max() - stamps.min()) / pd.Timedelta(days=1)
    return max(1, round(share * span_days))
