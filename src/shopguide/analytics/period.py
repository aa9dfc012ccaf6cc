"""Headline figures for a date range, next to the same figures for the period just before it."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from shopguide.analytics._common import LINES_CTES
from shopguide.analytics.kpis import sales_figures
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
    return {
        "start": start.date().isoformat(),
        "end": (end - timedelta(days=1)).date().isoformat(),
        **sales_figures(row),
    }


def _check_range(start: date, end: date) -> None:
    """Raise :class:`~shopguide.errors.ParameterError` naming what is wrong with the range."""
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


def period_kpis(store: Store, start: date, end: date) -> dict[str, Any]:
    """Revenue (net of refunds), orders, buyers, users with events, average order value and
    items sold from day ``start`` to day ``end`` (both included), and the same figures for the
    period of as many days just before (``previous``), with each figure's relative change
    (``change``: ``None`` where the previous figure is 0 or missing).

    Orders and refunds count where they happened: a refund in the range lowers its revenue
    whenever the purchase was. Raises :class:`~shopguide.errors.ParameterError` when ``end`` is
    before ``start``.
    """
    _check_range(start, end)
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


_SEGMENT_SQL = f"""WITH {LINES_CTES},
    members AS (SELECT user_id, segment FROM profiles
                WHERE as_of = (SELECT max(as_of) FROM profiles) AND segment IS NOT NULL),
    lines AS (SELECT * FROM purchase_lines JOIN members USING (user_id) WHERE ts >= $start),
    refunds AS (SELECT * FROM refund_lines JOIN members USING (user_id) WHERE ts >= $start),
    bought AS (SELECT segment, count(DISTINCT user_id) AS buyers,
                      count(DISTINCT user_id || '|' || order_key) AS orders,
                      sum(spend) AS gross_revenue
               FROM lines GROUP BY segment),
    back AS (SELECT segment, sum(value) AS refunds FROM refunds GROUP BY segment)
    SELECT segment, coalesce(buyers, 0) AS buyers, coalesce(orders, 0) AS orders,
           coalesce(gross_revenue, 0) - coalesce(refunds, 0) AS revenue
    FROM bought FULL JOIN back USING (segment)"""


def segment_period_kpis(store: Store, start: date, end: date) -> dict[str, dict[str, Any]]:
    """Per RFM segment of the latest profile version: revenue (net of refunds), orders and
    buyers of its members from day ``start`` to day ``end`` (both included), next to the same
    for the period of as many days before, with the relative ``change`` of each (``None``
    where the earlier figure is 0). Segments whose members bought nothing in either period
    are left out. Raises :class:`~shopguide.errors.ParameterError` as :func:`period_kpis`."""
    _check_range(start, end)
    begin = datetime.combine(start, time())
    stop = datetime.combine(end + timedelta(days=1), time())
    before = begin - (stop - begin)
    if not store.has_table("profiles"):
        return {}

    def per_segment(lo: datetime, hi: datetime) -> dict[str, dict[str, Any]]:
        last = hi - timedelta(microseconds=1)
        frame = store.query_df(_SEGMENT_SQL, {"start": lo, "as_of": last})
        return {
            str(r.segment): {
                "revenue": float(r.revenue),
                "orders": int(r.orders),
                "buyers": int(r.buyers),
            }
            for r in frame.itertuples()
        }

    now, earlier = per_segment(begin, stop), per_segment(before, begin)
    zero = {"revenue": 0.0, "orders": 0, "buyers": 0}
    out: dict[str, dict[str, Any]] = {}
    for name in sorted(set(now) | set(earlier)):
        current, previous = now.get(name, zero), earlier.get(name, zero)
        change = {
            key: None if not previous[key] else (current[key] - previous[key]) / abs(previous[key])
            for key in zero
        }
        out[name] = {**current, "previous": previous, "change": change}
    return out
