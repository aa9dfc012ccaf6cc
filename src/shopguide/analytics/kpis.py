"""Headline figures for the report and dashboards."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from shopguide.analytics._common import LINES_CTES, resolve_as_of
from shopguide.store.base import Store


def sales_figures(row: Mapping[str, Any]) -> dict[str, Any]:
    """Users, buyers, orders, gross revenue, refunds, revenue (net of refunds), average order
    value and items sold, as plain numbers, from a row of those aggregates."""
    orders = int(row["orders"])
    revenue = float(row["gross_revenue"]) - float(row["refunds"])
    return {
        "users": int(row["users"]),
        "buyers": int(row["buyers"]),
        "orders": orders,
        "gross_revenue": float(row["gross_revenue"]),
        "refunds": float(row["refunds"]),
        "revenue": revenue,
        "avg_order_value": revenue / orders if orders else None,
        "items_sold": int(row["items_sold"]),
    }


def kpis(store: Store, as_of: datetime | str | None = None) -> dict[str, Any]:
    """Users, buyers, orders, revenue (net of refunds), average order value, date range, events."""
    stamp = resolve_as_of(store, as_of)
    row = store.query_df(
        f"""WITH {LINES_CTES}
        SELECT (SELECT count(DISTINCT user_id) FROM events WHERE "timestamp" <= $as_of) AS users,
               (SELECT count(DISTINCT user_id) FROM purchase_lines) AS buyers,
               (SELECT count(DISTINCT user_id || '|' || order_key) FROM purchase_lines)
                   AS orders,
               (SELECT coalesce(sum(spend), 0) FROM purchase_lines) AS gross_revenue,
               (SELECT coalesce(sum(value), 0) FROM refund_lines) AS refunds,
               (SELECT count(DISTINCT item_id) FROM purchase_lines) AS items_sold,
               (SELECT count(*) FROM events WHERE "timestamp" <= $as_of) AS events,
               (SELECT min("timestamp") FROM events WHERE "timestamp" <= $as_of) AS first_event,
               (SELECT max("timestamp") FROM events WHERE "timestamp" <= $as_of) AS last_event
        """,
        {"as_of": stamp},
    ).iloc[0]
    return {
        "as_of": stamp,
        **sales_figures(row),
        "events": int(row["events"]),
        "first_event": row["first_event"],
        "last_event": row["last_event"],
    }
