"""Cohort retention: users by first-purchase month x months since, as users and as revenue.

``cohort`` is the month of a user's first purchase; a user is *retained* in month ``k`` of the
cohort if they bought in calendar month ``cohort + k``. ``user_share`` = retained users / cohort
size; ``revenue`` is the cohort's purchase spend (net of discount, before refunds) in that month
and ``revenue_share`` = that revenue / the cohort's revenue in its first month.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import pandas as pd

from shopguide.analytics._common import LINES_CTES, resolve_as_of
from shopguide.store.base import Store


def cohort_retention(store: Store, as_of: datetime | str | None = None) -> pd.DataFrame:
    """Long table: cohort, months_since, users, user_share, revenue, revenue_share, cohort_users."""
    stamp = resolve_as_of(store, as_of)
    return store.query_df(
        f"""
        WITH {LINES_CTES},
        first_purchase AS (  -- each buyer's cohort month
            SELECT user_id, date_trunc('month', min(ts)) AS cohort
            FROM purchase_lines GROUP BY user_id
        ),
        monthly_activity AS (  -- each buyer's spend per calendar month
            SELECT user_id, date_trunc('month', ts) AS month, sum(spend) AS revenue
            FROM purchase_lines GROUP BY ALL
        ),
        cells AS (
            SELECT f.cohort, date_diff('month', f.cohort, m.month) AS months_since,
                   count(*) AS users, sum(m.revenue) AS revenue
            FROM monthly_activity m JOIN first_purchase f USING (user_id)
            GROUP BY ALL
        ),
        cohort_sizes AS (
            SELECT cohort, users AS cohort_users, revenue AS cohort_revenue
            FROM cells WHERE months_since = 0
        )
        SELECT c.cohort, c.months_since, c.users,
               c.users / s.cohort_users AS user_share,
               c.revenue,
               c.revenue / nullif(s.cohort_revenue, 0) AS revenue_share,
               s.cohort_users
        FROM cells c JOIN cohort_sizes s USING (cohort)
        ORDER BY c.cohort, c.months_since
        """,
        {"as_of": stamp},
    )


def cohort_matrix(
    retention: pd.DataFrame, value: Literal["user_share", "revenue_share", "users", "revenue"]
) -> pd.DataFrame:
    """Pivot :func:`cohort_retention` to cohorts (rows) x months since (columns)."""
    matrix = retention.pivot(index="cohort", columns="months_since", values=value)
    matrix.index = [pd.Timestamp(c).strftime("%Y-%m") for c in matrix.index]
    return matrix.sort_index(axis=1)
