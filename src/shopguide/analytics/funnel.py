"""View -> cart -> purchase funnel, overall, per category or per RFM segment.

The unit is a (user, item) pair, so the stages are nested and every rate is in [0, 1]:
``viewed`` pairs had a view, ``carted`` pairs had a view and a cart, ``purchased`` pairs had a
view, a cart and a purchase (up to ``as_of``). Rates: ``view_to_cart = carted / viewed``,
``cart_to_purchase = purchased / carted``, ``view_to_purchase = purchased / viewed``.
Data without view or cart events (Online Retail) gives an empty funnel.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import pandas as pd

from shopguide.analytics._common import resolve_as_of
from shopguide.analytics.rfm import RFM_CTES
from shopguide.store.base import Store

FunnelBy = Literal["overall", "category", "segment"]

_GROUP_KEYS: dict[str, str] = {
    "overall": "'all'",
    "category": "coalesce(i.category, '(unknown)')",
    "segment": "coalesce(r.segment, '(no purchase)')",
}


def funnel(
    store: Store, by: FunnelBy = "overall", as_of: datetime | str | None = None
) -> pd.DataFrame:
    """Funnel counts and conversion rates, one row per group (``group`` column).

    Parameters
    ----------
    by:
        ``"overall"`` (one row), ``"category"`` (the item's top-level category) or
        ``"segment"`` (the user's RFM segment as of ``as_of``; non-buyers are
        ``(no purchase)``).
    """
    if by not in _GROUP_KEYS:
        raise ValueError(f"by must be one of {sorted(_GROUP_KEYS)}, not {by!r}")
    stamp = resolve_as_of(store, as_of)
    sql = f"""
    WITH {RFM_CTES},
    pair_stages AS (  -- which funnel stages each (user, item) pair reached
        SELECT user_id, item_id,
               bool_or(event_type = 'view') AS viewed,
               bool_or(event_type = 'cart') AS carted,
               bool_or(event_type = 'purchase') AS purchased
        FROM events
        WHERE "timestamp" <= $as_of AND event_type IN ('view', 'cart', 'purchase')
        GROUP BY ALL
    ),
    stage_counts AS (
        SELECT {_GROUP_KEYS[by]} AS "group",
               count(*) FILTER (WHERE viewed) AS viewed,
               count(*) FILTER (WHERE viewed AND carted) AS carted,
               count(*) FILTER (WHERE viewed AND carted AND purchased) AS purchased,
               count(DISTINCT user_id) FILTER (WHERE viewed) AS users_viewed
        FROM pair_stages p
        LEFT JOIN latest_items i USING (item_id)
        LEFT JOIN rfm r USING (user_id)
        GROUP BY ALL
    )
    SELECT "group", viewed, carted, purchased, users_viewed,
           carted / nullif(viewed, 0) AS view_to_cart,
           purchased / nullif(carted, 0) AS cart_to_purchase,
           purchased / nullif(viewed, 0) AS view_to_purchase
    FROM stage_counts
    WHERE viewed > 0
    ORDER BY viewed DESC, "group"
    """
    return store.query_df(sql, {"as_of": stamp})
