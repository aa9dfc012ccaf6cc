"""RFM table and segment sizes with revenue share.

Recency, frequency and monetary use the profile definitions (see
:mod:`shopguide.profiles.lifecycle`): recency in calendar days from the last purchase to ``as_of``,
frequency = orders, monetary = purchases net of discount minus refunds. Scores and segments come
from the same SQL as the profiles, so the two always agree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

import pandas as pd

from shopguide.analytics._common import LINES_CTES, resolve_as_of
from shopguide.profiles.lifecycle import SEGMENTS, rfm_scores_sql
from shopguide.store.base import Store

#: CTEs ending in ``rfm(user_id, recency_days, frequency, monetary, r_score, ..., segment)``.
RFM_CTES: Final = f"""{LINES_CTES},
buyer_orders AS (  -- orders per user with the time each was placed
    SELECT user_id, order_key, min(ts) AS placed_at FROM purchase_lines GROUP BY ALL
),
buyer_spend AS (
    SELECT user_id, sum(spend) AS gross, max(ts) AS last_purchase
    FROM purchase_lines GROUP BY user_id
),
buyer_refunds AS (
    SELECT user_id, sum(value) AS refunds FROM refund_lines GROUP BY user_id
),
buyers AS (  -- recency (days since the last purchase), frequency (orders), net spend
    SELECT o.user_id,
           date_diff('day', CAST(any_value(s.last_purchase) AS DATE), CAST($as_of AS DATE))
               AS recency_days,
           count(*) AS orders,
           any_value(s.gross) - coalesce(any_value(r.refunds), 0) AS monetary
    FROM buyer_orders o
    JOIN buyer_spend s USING (user_id)
    LEFT JOIN buyer_refunds r USING (user_id)
    GROUP BY o.user_id
),
rfm_scores AS ({rfm_scores_sql("buyers")}),
rfm AS (
    SELECT b.user_id, b.recency_days, b.orders AS frequency, b.monetary,
           s.r_score, s.f_score, s.m_score, s.fm_score, s.rfm_cell, s.segment
    FROM buyers b JOIN rfm_scores s USING (user_id)
)"""


def rfm_table(store: Store, as_of: datetime | str | None = None) -> pd.DataFrame:
    """One row per buyer: recency, frequency, monetary, the 1-5 scores and the segment."""
    stamp = resolve_as_of(store, as_of)
    return store.query_df(f"WITH {RFM_CTES} SELECT * FROM rfm ORDER BY user_id", {"as_of": stamp})


def segment_summary(store: Store, as_of: datetime | str | None = None) -> pd.DataFrame:
    """Per segment: buyers, share of buyers, revenue, share of revenue, mean R/F/M.

    Every segment of :data:`~shopguide.profiles.lifecycle.SEGMENTS` is listed, in that order,
    with zeros where a segment is empty.
    """
    stamp = resolve_as_of(store, as_of)
    order = pd.DataFrame({"segment": list(SEGMENTS), "position": range(len(SEGMENTS))})
    store_frame = store.query_df(
        f"""WITH {RFM_CTES}
        SELECT segment,
               count(*) AS users,
               count(*) / sum(count(*)) OVER () AS user_share,
               sum(monetary) AS revenue,
               sum(monetary) / sum(sum(monetary)) OVER () AS revenue_share,
               avg(recency_days) AS avg_recency_days,
               avg(frequency) AS avg_frequency,
               avg(monetary) AS avg_monetary
        FROM rfm
        GROUP BY segment""",
        {"as_of": stamp},
    )
    merged = order.merge(store_frame, on="segment", how="left").sort_values("position")
    counts = ["users", "user_share", "revenue", "revenue_share"]
    merged[counts] = merged[counts].fillna(0)
    merged["users"] = merged["users"].astype("int64")
    return merged.drop(columns="position").reset_index(drop=True)
