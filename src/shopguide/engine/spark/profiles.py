"""Profiles as Spark SQL: the same fields and definitions as :mod:`shopguide.profiles`.

Every definition (spend, refunds, orders without an order id, top-level category, latest
load wins, preferred weekday/hour with ties to the smaller number, share of wallet, affinity,
category median prices, price index and band, price sensitivity, RFM quintiles and segments)
is documented in :mod:`shopguide.profiles.aggregates`, :mod:`shopguide.profiles.derive` and
:mod:`shopguide.profiles.lifecycle`; the queries below are written to match those, clause by
clause, in Spark's dialect (``FILTER`` aggregates, ``max_by`` for DuckDB's ``arg_max``,
``weekday() + 1`` for ``isodow``, ``datediff`` for ``date_diff('day', ...)``, a
``row_number()`` sub-query for ``QUALIFY``, a sorted ``collect_list`` for an ordered
``list()``). The parity tests compare the result with the local engine field by field.

The output has exactly the columns of the store's ``profiles`` table, so
:func:`shopguide.engine.exchange.import_parquet` can load it into a store.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from shopguide.engine.spark.io import EngineData, timestamp_literal
from shopguide.engine.spark.rfm import rfm_scores
from shopguide.profiles.derive import HIGH_PRICE_INDEX, LOW_PRICE_INDEX, TOP_N

__all__ = ["PROFILE_COLUMNS", "spark_profiles"]

#: The columns of the store's ``profiles`` table, in order.
PROFILE_COLUMNS: Final[tuple[str, ...]] = (
    "as_of", "user_id", "gender", "age_band", "location", "signup_at", "first_seen_at",
    "tenure_days", "orders", "items_bought", "purchase_frequency", "recency_days",
    "days_since_last_event", "gross_spend", "refunds", "total_spend", "avg_order_value",
    "avg_days_between_orders", "preferred_weekday", "preferred_hour", "views", "carts",
    "purchases", "view_to_cart", "cart_to_purchase", "view_to_purchase", "top_categories",
    "top_category", "top_category_share", "top_category_affinity", "top_brands", "top_brand",
    "top_brand_share", "top_brand_affinity", "discount_rate", "discount_spend_share",
    "price_index", "price_band", "price_sensitivity", "r_score", "f_score", "m_score",
    "fm_score", "rfm_cell", "segment",
)  # fmt: skip

_AGE_BAND = """CASE
        WHEN age IS NULL THEN NULL
        WHEN age < 18 THEN '<18'
        WHEN age < 25 THEN '18-24'
        WHEN age < 35 THEN '25-34'
        WHEN age < 45 THEN '35-44'
        WHEN age < 55 THEN '45-54'
        WHEN age < 65 THEN '55-64'
        ELSE '65+' END"""

LATEST_ITEMS_SQL: Final = """
SELECT item_id, category, brand, list_price FROM (
    SELECT item_id,
           coalesce(nullif(trim(split_part(coalesce(category, ''), '>', 1)), ''), '(unknown)')
               AS category,
           nullif(trim(brand), '') AS brand,
           price AS list_price,
           row_number() OVER (PARTITION BY item_id ORDER BY load_id DESC NULLS LAST) AS rn
    FROM sg_items
) WHERE rn = 1"""

LATEST_USERS_SQL: Final = f"""
SELECT user_id, gender, age_band, location, signup_at FROM (
    SELECT user_id, gender, coalesce(age_band, {_AGE_BAND}) AS age_band, location, signup_at,
           row_number() OVER (PARTITION BY user_id ORDER BY load_id DESC NULLS LAST) AS rn
    FROM sg_users
) WHERE rn = 1"""

ACTIVITY_SQL: Final = """
SELECT user_id,
       min(ts) AS first_event_at,
       max(ts) AS last_event_at,
       count(*) FILTER (WHERE event_type = 'view') AS views,
       count(*) FILTER (WHERE event_type = 'cart') AS carts
FROM sg_scoped
GROUP BY user_id"""

#: Purchase and refund lines (the local ``_profile_lines``).
LINES_SQL: Final = """
SELECT user_id, item_id, event_type = 'purchase' AS is_purchase, ts, quantity, price,
       raw_price AS list_price, discount, order_id
FROM sg_scoped
WHERE event_type IN ('purchase', 'refund')"""

ORDER_COUNTS_SQL: Final = """
SELECT user_id, count(*) AS orders
FROM (
    SELECT user_id
    FROM sg_lines
    WHERE is_purchase
    GROUP BY user_id, order_id, CASE WHEN order_id IS NULL THEN CAST(ts AS DATE) END
)
GROUP BY user_id"""

PURCHASE_TOTALS_SQL: Final = """
SELECT user_id,
       count(*) AS purchases,
       min(ts) AS first_order_at,
       max(ts) AS last_order_at,
       sum(quantity) AS items_bought,
       sum(quantity * price) AS list_value,
       sum(discount) AS discount_total,
       sum(quantity * price - discount) AS gross_spend,
       coalesce(sum(quantity * price - discount) FILTER (WHERE discount > 0), 0D)
           AS discounted_spend
FROM sg_lines
WHERE is_purchase
GROUP BY user_id"""

REFUND_TOTALS_SQL: Final = """
SELECT user_id, count(*) AS refund_events, sum(abs(quantity) * price - discount) AS refund_value
FROM sg_lines
WHERE NOT is_purchase
GROUP BY user_id"""

PREFERRED_SQL: Final = """
SELECT user_id, max_by(weekday, n * 8 - weekday) AS preferred_weekday
FROM (
    SELECT user_id, weekday(ts) + 1 AS weekday, count(*) AS n
    FROM sg_lines WHERE is_purchase GROUP BY 1, 2
)
GROUP BY user_id"""

PREFERRED_HOUR_SQL: Final = """
SELECT user_id, max_by(hour, n * 25 - hour) AS preferred_hour
FROM (
    SELECT user_id, hour(ts) AS hour, count(*) AS n
    FROM sg_lines WHERE is_purchase GROUP BY 1, 2
)
GROUP BY user_id"""


def _agg_users_sql(as_of: str) -> str:
    return f"""
SELECT p.user_id, u.gender, u.age_band, u.location, u.signup_at,
       a.first_event_at, a.last_event_at,
       coalesce(a.views, 0L) AS views, coalesce(a.carts, 0L) AS carts,
       coalesce(t.purchases, 0L) AS purchases, coalesce(r.refund_events, 0L) AS refund_events,
       coalesce(o.orders, 0L) AS orders, t.first_order_at, t.last_order_at,
       coalesce(t.items_bought, 0D) AS items_bought, coalesce(t.list_value, 0D) AS list_value,
       coalesce(t.discount_total, 0D) AS discount_total,
       coalesce(t.gross_spend, 0D) AS gross_spend,
       coalesce(t.discounted_spend, 0D) AS discounted_spend,
       coalesce(r.refund_value, 0D) AS refund_value,
       w.preferred_weekday, h.preferred_hour
FROM (
    SELECT user_id FROM sg_activity
    UNION
    SELECT user_id FROM sg_latest_users WHERE signup_at <= {as_of}
) p
LEFT JOIN sg_latest_users u ON u.user_id = p.user_id
LEFT JOIN sg_activity a ON a.user_id = p.user_id
LEFT JOIN sg_purchase_totals t ON t.user_id = p.user_id
LEFT JOIN sg_order_counts o ON o.user_id = p.user_id
LEFT JOIN sg_refund_totals r ON r.user_id = p.user_id
LEFT JOIN sg_preferred_weekday w ON w.user_id = p.user_id
LEFT JOIN sg_preferred_hour h ON h.user_id = p.user_id"""


PURCHASES_SQL: Final = """
SELECT b.user_id, b.spend, b.quantity, coalesce(i.category, '(unknown)') AS category, i.brand
FROM (
    SELECT user_id, item_id, sum(quantity * price - discount) AS spend, sum(quantity) AS quantity
    FROM sg_lines
    WHERE is_purchase
    GROUP BY user_id, item_id
) b
LEFT JOIN sg_latest_items i ON i.item_id = b.item_id"""

CATEGORY_PRICES_SQL: Final = """
SELECT coalesce(i.category, '(unknown)') AS category,
       percentile(e.list_price, 0.5) AS median_unit_price
FROM sg_lines e
LEFT JOIN sg_latest_items i ON i.item_id = e.item_id
WHERE e.is_purchase AND e.list_price IS NOT NULL
GROUP BY 1"""

BEHAVIOUR_SQL: Final = """
SELECT *, CAST(orders AS DOUBLE) * 30.0D / greatest(tenure_days, 1) AS purchase_frequency,
       total_spend / nullif(CAST(orders AS DOUBLE), 0D) AS avg_order_value
FROM (
    SELECT user_id, orders,
           least(signup_at, first_event_at) AS first_seen_at,
           datediff(CAST({as_of} AS DATE), CAST(least(signup_at, first_event_at) AS DATE))
               AS tenure_days,
           datediff(CAST({as_of} AS DATE), CAST(last_order_at AS DATE)) AS recency_days,
           datediff(CAST({as_of} AS DATE), CAST(last_event_at AS DATE))
               AS days_since_last_event,
           gross_spend - refund_value AS total_spend,
           CASE WHEN orders >= 2
                THEN (unix_micros(last_order_at) - unix_micros(first_order_at)) / 1e6D
                     / 86400.0D / (orders - 1)
           END AS avg_days_between_orders,
           CAST(carts AS DOUBLE) / nullif(CAST(views AS DOUBLE), 0D) AS view_to_cart,
           CAST(purchases AS DOUBLE) / nullif(CAST(carts AS DOUBLE), 0D) AS cart_to_purchase,
           CAST(purchases AS DOUBLE) / nullif(CAST(views AS DOUBLE), 0D) AS view_to_purchase
    FROM sg_base
)"""


def _top_entries_sql(table: str, key: str) -> str:
    """Each user's top categories (or brands) by spend, with share of wallet and affinity."""
    return f"""
WITH population AS (SELECT {key}, sum(spend) AS spend FROM {table} GROUP BY {key}),
ranked AS (
    SELECT a.user_id, a.{key} AS name, a.spend,
           a.spend / nullif(b.gross_spend, 0D) AS share,
           (a.spend / nullif(b.gross_spend, 0D))
               / nullif(pop.spend / nullif(t.gross_spend, 0D), 0D) AS affinity,
           row_number() OVER (
               PARTITION BY a.user_id
               ORDER BY round(a.spend * 100D) DESC, a.{key}
           ) AS position
    FROM {table} a
    JOIN sg_base b ON b.user_id = a.user_id
    JOIN population pop ON pop.{key} = a.{key}
    CROSS JOIN sg_population_totals t
)
SELECT user_id,
       transform(
           sort_array(collect_list(struct(position, name, spend, share, affinity))),
           x -> named_struct('name', x.name, 'spend', x.spend, 'share', x.share,
                             'affinity', x.affinity)
       ) AS entries
FROM ranked
WHERE position <= {TOP_N}
GROUP BY user_id"""


PRICE_SQL: Final = """
SELECT b.user_id,
       b.discount_total / nullif(b.list_value, 0D) AS discount_rate,
       CASE WHEN b.gross_spend > 0
            THEN greatest(0.0D, least(1.0D, b.discounted_spend / b.gross_spend))
       END AS discount_spend_share,
       r.price_index
FROM sg_base b
LEFT JOIN (
    SELECT c.user_id,
           sum(c.spend) / nullif(sum(c.quantity * p.median_unit_price), 0D) AS price_index
    FROM sg_agg_categories c
    JOIN sg_category_prices p ON p.category = c.category
    GROUP BY c.user_id
) r ON r.user_id = b.user_id"""


def _profiles_sql(as_of: str) -> str:
    return f"""
SELECT {as_of} AS as_of,
       b.user_id, b.gender, b.age_band, b.location, b.signup_at,
       h.first_seen_at, h.tenure_days,
       b.orders, b.items_bought, h.purchase_frequency, h.recency_days, h.days_since_last_event,
       b.gross_spend, b.refund_value AS refunds, h.total_spend, h.avg_order_value,
       h.avg_days_between_orders, b.preferred_weekday, b.preferred_hour,
       b.views, b.carts, b.purchases, h.view_to_cart, h.cart_to_purchase, h.view_to_purchase,
       tc.entries AS top_categories,
       tc.entries[0].name AS top_category, tc.entries[0].share AS top_category_share,
       tc.entries[0].affinity AS top_category_affinity,
       tb.entries AS top_brands,
       tb.entries[0].name AS top_brand, tb.entries[0].share AS top_brand_share,
       tb.entries[0].affinity AS top_brand_affinity,
       p.discount_rate, p.discount_spend_share, p.price_index,
       CASE WHEN p.price_index < {LOW_PRICE_INDEX}D THEN 'low'
            WHEN p.price_index > {HIGH_PRICE_INDEX}D THEN 'high'
            WHEN p.price_index IS NOT NULL THEN 'mid' END AS price_band,
       CASE WHEN b.orders = 0 OR p.discount_spend_share IS NULL THEN NULL
            WHEN p.price_index IS NULL THEN p.discount_spend_share
            ELSE 0.5D * p.discount_spend_share + 0.5D / (1D + p.price_index * p.price_index)
       END AS price_sensitivity,
       r.r_score, r.f_score, r.m_score, r.fm_score, r.rfm_cell, r.segment
FROM sg_base b
JOIN sg_behaviour h ON h.user_id = b.user_id
JOIN sg_price p ON p.user_id = b.user_id
LEFT JOIN sg_top_categories tc ON tc.user_id = b.user_id
LEFT JOIN sg_top_brands tb ON tb.user_id = b.user_id
LEFT JOIN sg_rfm r ON r.user_id = b.user_id"""


def spark_profiles(data: EngineData, as_of: datetime, *, cache: bool = True) -> Any:
    """The profile version ``as_of`` as a Spark DataFrame (columns :data:`PROFILE_COLUMNS`).

    Parameters
    ----------
    data:
        Events, users and items (:func:`~shopguide.engine.spark.io.read_engine_data`).
    as_of:
        Only events with ``timestamp <= as_of`` count (naive UTC).
    cache:
        Cache the per-user aggregates, which several later steps read (recommended; the
        cache is released when the session ends or with ``spark.catalog.clearCache()``).
    """
    spark = data.events.sparkSession
    lit = timestamp_literal(as_of)
    scoped = data.events_until(as_of).selectExpr(
        "user_id",
        "item_id",
        "event_type",
        "`timestamp` AS ts",
        "quantity",
        "coalesce(price, 0D) AS price",
        "price AS raw_price",
        "coalesce(discount, 0D) AS discount",
        "order_id",
    )
    views = {
        "sg_scoped": scoped,
        "sg_users": data.users,
        "sg_items": data.items,
    }
    for name, frame in views.items():
        frame.createOrReplaceTempView(name)

    def view(name: str, sql: str, *, persist: bool = False) -> Any:
        frame = spark.sql(sql)
        if persist and cache:
            frame = frame.cache()
        frame.createOrReplaceTempView(name)
        return frame

    view("sg_latest_items", LATEST_ITEMS_SQL)
    view("sg_latest_users", LATEST_USERS_SQL)
    view("sg_activity", ACTIVITY_SQL)
    view("sg_lines", LINES_SQL, persist=True)
    view("sg_purchase_totals", PURCHASE_TOTALS_SQL)
    view("sg_order_counts", ORDER_COUNTS_SQL)
    view("sg_refund_totals", REFUND_TOTALS_SQL)
    view("sg_preferred_weekday", PREFERRED_SQL)
    view("sg_preferred_hour", PREFERRED_HOUR_SQL)
    view("sg_base", _agg_users_sql(lit), persist=True)
    view("sg_purchases", PURCHASES_SQL, persist=True)
    view(
        "sg_agg_categories",
        "SELECT user_id, category, sum(spend) AS spend, sum(quantity) AS quantity "
        "FROM sg_purchases GROUP BY user_id, category",
    )
    view(
        "sg_agg_brands",
        "SELECT user_id, brand, sum(spend) AS spend FROM sg_purchases "
        "WHERE brand IS NOT NULL GROUP BY user_id, brand",
    )
    view("sg_category_prices", CATEGORY_PRICES_SQL)
    view("sg_population_totals", "SELECT sum(gross_spend) AS gross_spend FROM sg_base")
    view("sg_behaviour", BEHAVIOUR_SQL.format(as_of=lit))
    view("sg_top_categories", _top_entries_sql("sg_agg_categories", "category"))
    view("sg_top_brands", _top_entries_sql("sg_agg_brands", "brand"))
    view("sg_price", PRICE_SQL)
    buyers = spark.sql(
        "SELECT b.user_id, h.recency_days, b.orders, h.total_spend AS monetary "
        "FROM sg_base b JOIN sg_behaviour h ON h.user_id = b.user_id WHERE b.orders > 0"
    )
    rfm_scores(buyers).createOrReplaceTempView("sg_rfm")
    return spark.sql(_profiles_sql(lit)).select(*PROFILE_COLUMNS)
