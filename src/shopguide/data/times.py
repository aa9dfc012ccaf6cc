"""Times as the store keeps them: naive UTC.

The store's timestamps are naive and mean UTC. Every ``as_of`` a person or a caller gives goes
through :func:`naive_utc` (an aware time is converted to UTC, a naive one is taken as UTC), and
:func:`latest_event_time` is the default "as of now" of the loaded data.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from shopguide.errors import DateError
from shopguide.store.base import Store

__all__ = ["latest_event_time", "naive_utc"]


def naive_utc(value: datetime | str | pd.Timestamp) -> pd.Timestamp:
    """``value`` as a naive UTC timestamp; an unreadable or empty one raises
    :class:`~shopguide.errors.DateError` naming it."""
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise DateError(str(value), "date or time") from exc
    if pd.isna(stamp):
        raise DateError(str(value), "date or time")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp


def latest_event_time(store: Store) -> pd.Timestamp | None:
    """The latest event time in the store (``None`` without events)."""
    latest = store.scalar('SELECT max("timestamp") FROM events')
    return None if latest is None else naive_utc(latest)
