"""Behaviour analytics: RFM segments, funnels, cohort retention, repeat buying, trends.

Every function runs set-based SQL in the store and returns a pandas DataFrame (or a dict of
headline figures); ``as_of`` limits the events used, defaulting to all of them.
"""

from shopguide.analytics.cohorts import cohort_matrix, cohort_retention
from shopguide.analytics.funnel import funnel
from shopguide.analytics.kpis import kpis
from shopguide.analytics.period import period_kpis, segment_period_kpis
from shopguide.analytics.repeat import gap_distribution, order_gaps, rebought_items, repeat_summary
from shopguide.analytics.rfm import rfm_table, segment_summary
from shopguide.analytics.trends import monthly_trends, trend_matrix

__all__ = [
    "cohort_matrix",
    "cohort_retention",
    "funnel",
    "gap_distribution",
    "kpis",
    "monthly_trends",
    "order_gaps",
    "period_kpis",
    "rebought_items",
    "repeat_summary",
    "rfm_table",
    "segment_period_kpis",
    "segment_summary",
    "trend_matrix",
]
