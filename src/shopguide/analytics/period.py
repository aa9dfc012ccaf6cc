"""Headline figures for a date range, next to the same figures for the period just before it."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from shopguide.analytics._common import LINES_CTES
from shopguide.errors import ParameterError
from shopguide.store.base import Store

_PERIOD_SQL = f"""WITH {LINES_CTES},
    lines AS (SELECT * FROM purchase_lines WHERE ts >= $start),
    refunds AS (SELECT * FROM refund_lines WHERE ts >= $start)
    SELECT (SELECT count(DISTINCT user_id) FROM events
            WHERE "timestamp" >= $start AND "timestamp" <= $as_of) AS users,
           (SELECT count(DISTINCT user_id) FROM lines) AS buyers,
           (SELECT count(DISTINCT user_id || '|' || order_key) FROM lines) AS orders,
           (SELECT coalesce(sum(spend), 0) FROM lines) AS gross_revenue,
           (SELECT coalesce(sum(value), 0) FROM refunds) AS refunds,
           (SELECT count(DISTINCT item_id) FROM lines) AS items_sold"""


#: The days a range may start or end on (the previous period of the longest range, and the
#: timestamps the store and pandas use, stay within reach).
EARLIEST = date(1900, 1, 1)
LATEST = date(2200, 12, 31)


def _figures(store: Store, start: datetime, end: datetime) -> dict[str, Any]:
    """The figures of the events at ``start`` <= time < ``end``."""
    last = end - timedelta(microseconds=1)  # LINES_CTES keep times <= $as_of
    row = store.query_df(_PERIOD_SQL, {"start": start, "as_of": last}).iloc[0]
    orders = int(row["orders"])
    revenue = float(row["gross_revenue"]) - float(row["refunds"])
    return {
        "start": start.date().isoformat(),
        "end": (end - timedelta(days=1)).date().isoformat(),
        "users": int(row["users"]),
        "buyers": int(row["buyers"]),
        "orders": orders,
        "gross_revenue": float(row["gross_revenue"]),
        "refunds": float(row["refunds"]),
        "revenue": revenue,
        "avg_order_value": revenue / orders if orders else None,
        "items_sold": int(row["items_sold"]),
    }


def period_kpis(store: Store, start: date, end: date) -> dict[str, Any]:
    """Revenue (net of refunds), orders, buyers, users with events, average order value and
    items sold from day ``start`` to day ``end`` (both included), and the same figures for the
    period of as many days just before (``previous``), with each figure's relative change
    (``change``: ``None`` where the previous figure is 0 or missing).

    Orders and refunds count where they happened: a refund in the range lowers its revenue
    whenever the purchase was. Raises :class:`~shopguide.errors.ParameterError` when ``end`` is
    before ``start``.
    """
    for name, day in (("start", start), ("end", end)):
        if not EARLIEST <= day <= LATEST:
            raise ParameterError(
                f"{name}: {day.isoformat()} is outside the days a range may cover "
                f"({EARLIEST.isoformat()} to {LATEST.isoformat()})",
                hint="give a day in the years of the shop's data",
            )
    if end < start:
        raise ParameterError(
            f"end: the range ends on {end.isoformat()}, before it starts ({start.isoformat()})",
            hint="give an end on or after the start",
        )
    begin = datetime.combine(start, time())
    stop = datetime.combine(end + timedelta(days=1), time())
    days = (stop - begin).days
    current = _figures(store, begin, stop)
    previous = _figures(store, begin - timedelta(days=days), begin)
    change: dict[str, float | None] = {}
    for key in ("revenue", "orders", "buyers", "users", "avg_order_value", "items_sold"):
        now, before = current[key], previous[key]
        change[key] = None if now is None or not before else (now - before) / abs(before)
    return {**current, "days": days, "previous": previous, "change": change}
