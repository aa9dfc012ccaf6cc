"""Repeat purchase: days between orders, repeat rate, items most often bought again.

Orders and their times follow the profile definitions (order id, else one order per purchase
day; an order is placed at its first line). A gap is the time between a user's consecutive
orders in fractional days.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import pandas as pd

from shopguide.analytics._common import LINES_CTES, resolve_as_of
from shopguide.store.base import Store

#: Upper edges (days) of the gap histogram buckets; the last bucket is open.
GAP_EDGES: Final = (7, 14, 30, 60, 90, 180, 365)

_ORDER_GAPS_CTES: Final = f"""{LINES_CTES},
orders AS (
    SELECT user_id, order_key, min(ts) AS placed_at FROM purchase_lines GROUP BY ALL
),
order_gaps AS (  -- days since the user's previous order
    SELECT user_id, placed_at,
           epoch(placed_at - lag(placed_at) OVER (PARTITION BY user_id ORDER BY placed_at))
               / 86400.0 AS gap_days
    FROM orders
)"""


def order_gaps(store: Store, as_of: datetime | str | None = None) -> pd.DataFrame:
    """Every gap between consecutive orders: user_id, placed_at, gap_days."""
    stamp = resolve_as_of(store, as_of)
    return store.query_df(
        f"WITH {_ORDER_GAPS_CTES} SELECT * FROM order_gaps WHERE gap_days IS NOT NULL "
        "ORDER BY user_id, placed_at",
        {"as_of": stamp},
    )


def gap_distribution(store: Store, as_of: datetime | str | None = None) -> pd.DataFrame:
    """Histogram of days between orders: bucket label, gaps, share of gaps."""
    stamp = resolve_as_of(store, as_of)
    cases = []
    low = 0
    for position, edge in enumerate(GAP_EDGES):
        cases.append(f"WHEN gap_days < {edge} THEN {position}")
        low = edge
    labels = [f"{lo}-{hi}" for lo, hi in zip((0, *GAP_EDGES[:-1]), GAP_EDGES, strict=True)]
    labels.append(f"{low}+")
    frame = store.query_df(
        f"""WITH {_ORDER_GAPS_CTES}
        SELECT CASE {" ".join(cases)} ELSE {len(GAP_EDGES)} END AS bucket, count(*) AS gaps
        FROM order_gaps WHERE gap_days IS NOT NULL GROUP BY bucket""",
        {"as_of": stamp},
    )
    full = pd.DataFrame({"bucket": range(len(labels)), "days": labels})
    full = full.merge(frame, on="bucket", how="left").fillna({"gaps": 0})
    full["gaps"] = full["gaps"].astype("int64")
    total = int(full["gaps"].sum())
    full["share"] = full["gaps"] / total if total else 0.0
    return full.drop(columns="bucket")


def repeat_summary(store: Store, as_of: datetime | str | None = None) -> dict[str, Any]:
    """Buyers, repeat buyers (2+ orders), repeat rate, mean and median days between orders."""
    stamp = resolve_as_of(store, as_of)
    row = store.query_df(
        f"""WITH {_ORDER_GAPS_CTES},
        per_user AS (SELECT user_id, count(*) AS orders FROM orders GROUP BY user_id)
        SELECT (SELECT count(*) FROM per_user) AS buyers,
               (SELECT count(*) FROM per_user WHERE orders >= 2) AS repeat_buyers,
               (SELECT avg(gap_days) FROM order_gaps) AS mean_gap_days,
               (SELECT median(gap_days) FROM order_gaps) AS median_gap_days""",
        {"as_of": stamp},
    ).iloc[0]
    buyers = int(row["buyers"])
    repeaters = int(row["repeat_buyers"])
    return {
        "buyers": buyers,
        "repeat_buyers": repeaters,
        "repeat_rate": repeaters / buyers if buyers else None,
        "mean_gap_days": None if pd.isna(row["mean_gap_days"]) else float(row["mean_gap_days"]),
        "median_gap_days": (
            None if pd.isna(row["median_gap_days"]) else float(row["median_gap_days"])
        ),
    }


def rebought_items(
    store: Store, top: int = 10, as_of: datetime | str | None = None
) -> pd.DataFrame:
    """Items most often bought again: by users who bought them in 2+ distinct orders.

    Columns: item_id, title, rebuyers (users with 2+ orders of it), rebuys (orders beyond each
    user's first), buyers, rebuy_rate = rebuyers / buyers.
    """
    stamp = resolve_as_of(store, as_of)
    return store.query_df(
        f"""WITH {LINES_CTES},
        item_orders AS (  -- distinct orders per user and item
            SELECT item_id, user_id, count(DISTINCT order_key) AS orders
            FROM purchase_lines GROUP BY ALL
        ),
        item_titles AS (
            SELECT item_id, any_value(title) AS title FROM items GROUP BY item_id
        )
        SELECT o.item_id, t.title,
               count(*) FILTER (WHERE o.orders >= 2) AS rebuyers,
               sum(o.orders - 1) AS rebuys,
               count(*) AS buyers,
               count(*) FILTER (WHERE o.orders >= 2) / count(*) AS rebuy_rate
        FROM item_orders o LEFT JOIN item_titles t USING (item_id)
        GROUP BY o.item_id, t.title
        HAVING count(*) FILTER (WHERE o.orders >= 2) > 0
        ORDER BY rebuyers DESC, rebuys DESC, o.item_id
        LIMIT $top""",
        {"as_of": stamp, "top": top},
    )
