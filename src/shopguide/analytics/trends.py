"""Category and brand trends: monthly revenue, orders and buyers per category or brand.

Revenue is purchase spend (net of discount, before refunds). Brands outside the ``top`` by total
revenue are folded into ``Other``; categories are the items' top-level categories.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import pandas as pd

from shopguide.analytics._common import LINES_CTES, resolve_as_of
from shopguide.store.base import Store


def monthly_trends(
    store: Store,
    by: Literal["category", "brand"] = "category",
    top: int = 8,
    as_of: datetime | str | None = None,
) -> pd.DataFrame:
    """Long table: month, name, revenue, orders, buyers, revenue_share (of the month)."""
    if by not in ("category", "brand"):
        raise ValueError(f"by must be 'category' or 'brand', not {by!r}")
    stamp = resolve_as_of(store, as_of)
    key = "category" if by == "category" else "coalesce(brand, '(no brand)')"
    return store.query_df(
        f"""WITH {LINES_CTES},
        keyed AS (SELECT *, {key} AS name FROM purchase_lines),
        leaders AS (  -- the top names by total revenue
            SELECT name FROM keyed GROUP BY name ORDER BY sum(spend) DESC, name LIMIT $top
        ),
        monthly AS (
            SELECT date_trunc('month', ts) AS month,
                   CASE WHEN name IN (SELECT name FROM leaders) THEN name ELSE 'Other' END
                       AS name,
                   sum(spend) AS revenue,
                   count(DISTINCT user_id || '|' || order_key) AS orders,
                   count(DISTINCT user_id) AS buyers
            FROM keyed
            GROUP BY ALL
        )
        SELECT month, name, revenue, orders, buyers,
               revenue / nullif(sum(revenue) OVER (PARTITION BY month), 0) AS revenue_share
        FROM monthly
        ORDER BY month, revenue DESC, name""",
        {"as_of": stamp, "top": top},
    )


def trend_matrix(trends: pd.DataFrame, value: str = "revenue") -> pd.DataFrame:
    """Pivot :func:`monthly_trends` to months (rows) x names (columns), missing = 0."""
    matrix = trends.pivot(index="month", columns="name", values=value).fillna(0.0)
    matrix.index = [pd.Timestamp(m).strftime("%Y-%m") for m in matrix.index]
    order = matrix.sum().sort_values(ascending=False).index
    return matrix[order]
