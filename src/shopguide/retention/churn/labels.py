"""Who churned: purchase rows from canonical events and the label "no purchase in the horizon".

A user *churns* at a cut-off date when they make no purchase in the ``horizon_days`` after it.
Works on any canonical events frame (``user_id``, ``timestamp``, ``event_type``, ``quantity``,
``price``; ``discount`` optional); only ``purchase`` events count as purchases.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopguide.columns import Columns, EventType
from shopguide.errors import DataError


def _day(value: str | pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(value).floor("D")


def _purchases(events: pd.DataFrame) -> pd.DataFrame:
    """Purchase rows with a money amount per row (price * quantity - discount)."""
    required = [Columns.USER_ID, Columns.TIMESTAMP]
    missing = [c for c in required if c not in events.columns]
    if missing:
        raise DataError(
            f"churn: events lack column(s) {', '.join(missing)}",
            hint="pass canonical events (user_id, timestamp, event_type, quantity, price)",
        )
    ev = events
    if Columns.EVENT_TYPE in ev.columns:
        ev = ev[ev[Columns.EVENT_TYPE] == EventType.PURCHASE]
    ts = pd.to_datetime(ev[Columns.TIMESTAMP])
    qty = (
        pd.to_numeric(ev[Columns.QUANTITY], errors="coerce").fillna(1.0)
        if Columns.QUANTITY in ev.columns
        else pd.Series(1.0, index=ev.index)
    )
    price = (
        pd.to_numeric(ev[Columns.PRICE], errors="coerce").fillna(0.0)
        if Columns.PRICE in ev.columns
        else pd.Series(0.0, index=ev.index)
    )
    disc = (
        pd.to_numeric(ev[Columns.DISCOUNT], errors="coerce").fillna(0.0)
        if Columns.DISCOUNT in ev.columns
        else pd.Series(0.0, index=ev.index)
    )
    return pd.DataFrame(
        {
            "user": ev[Columns.USER_ID].astype(str).to_numpy(),
            "day": ts.dt.floor("D").to_numpy(),
            "amount": (price * qty - disc).to_numpy(dtype="float64"),
            "quantity": qty.to_numpy(dtype="float64"),
        }
    )


def churn_labels(events: pd.DataFrame, cutoff: str | pd.Timestamp, horizon_days: int) -> pd.Series:
    """1 for users who bought by ``cutoff`` and then made no purchase within ``horizon_days``.

    The label window is the days ``cutoff + 1 .. cutoff + horizon_days``. Only users with a
    purchase on or before the cut-off day are labelled. Raises :class:`DataError` if the events
    do not reach the end of the label window (the label would be wrong, not just unknown).
    """
    if horizon_days <= 0:
        raise DataError(f"horizon_days must be positive, got {horizon_days}")
    p = _purchases(events)
    cut = _day(cutoff)
    end = cut + pd.Timedelta(days=horizon_days)
    last_seen = pd.to_datetime(events[Columns.TIMESTAMP]).max().floor("D")
    if last_seen < end:
        raise DataError(
            f"the events end on {last_seen.date()}, before the end of the label window "
            f"{end.date()}",
            hint="choose an earlier cutoff or a shorter horizon",
        )
    users = np.unique(p.loc[p["day"] <= cut, "user"])
    future = p[(p["day"] > cut) & (p["day"] <= end)]
    # a hash lookup: numpy's isin sorts the string ids (minutes at a million buyers)
    bought = pd.Index(users).isin(future["user"].unique())
    return pd.Series(
        (~bought).astype("int64"), index=pd.Index(users, name=Columns.USER_ID), name="churn"
    )
