"""Definitions shared by the analytics queries (the same ones the profiles use)."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from shopguide.data.times import naive_utc
from shopguide.errors import DataError, StoreError
from shopguide.profiles.aggregates import LATEST_ITEMS_CTE
from shopguide.profiles.build import default_as_of
from shopguide.store.base import Store

#: CTEs ``latest_items``, ``purchase_lines`` (one row per purchase line up to ``$as_of`` with
#: ``order_key``, ``spend``, ``category``, ``brand``) and ``refund_lines``.
LINES_CTES: Final = f"""{LATEST_ITEMS_CTE},
purchase_lines AS (  -- purchase lines as of $as_of, with their order and the item's group
    SELECT e.user_id, e.item_id, e."timestamp" AS ts, e.quantity,
           e.quantity * coalesce(e.price, 0.0) - coalesce(e.discount, 0.0) AS spend,
           coalesce(e.order_id, 'day:' || CAST(CAST(e."timestamp" AS DATE) AS VARCHAR))
               AS order_key,
           coalesce(i.category, '(unknown)') AS category,
           i.brand
    FROM events e
    LEFT JOIN latest_items i USING (item_id)
    WHERE e.event_type = 'purchase' AND e."timestamp" <= $as_of
),
refund_lines AS (  -- refunds as of $as_of, valued like purchases
    SELECT user_id, "timestamp" AS ts,
           abs(quantity) * coalesce(price, 0.0) - coalesce(discount, 0.0) AS value
    FROM events
    WHERE event_type = 'refund' AND "timestamp" <= $as_of
)"""


def resolve_as_of(store: Store, as_of: datetime | str | None) -> datetime:
    """``as_of`` as a naive timestamp, defaulting to the latest event time."""
    if as_of is None:
        try:
            return default_as_of(store)
        except StoreError as exc:
            raise DataError(
                "the store has no events to analyse",
                hint="load events first (shopguide ingest events FILE)",
            ) from exc
    return naive_utc(as_of).to_pydatetime()
