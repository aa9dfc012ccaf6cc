"""Per-user additive aggregates: the part of a profile that depends only on the user's own data.

Everything here is set-based SQL over the store's ``events``, ``users`` and ``items`` tables,
restricted to ``timestamp <= $as_of`` and, for an incremental update, to the users listed in
the temporary table ``_profile_scope(user_id)``. The results land in ``profile_agg_users``,
``profile_agg_categories`` and ``profile_agg_brands`` (see :mod:`shopguide.profiles.tables`).

Definitions (shared by every later step)
    * purchase line spend = ``quantity * price - discount`` (missing price or discount count as 0);
    * refund value = ``abs(quantity) * price - discount`` of ``refund`` events;
    * an order is a distinct ``order_id`` among purchase lines; lines **without** an order id
      fall back to one order per user per calendar day (so data without order ids still has
      sensible order counts); an order is placed at its earliest line's time;
    * category = the top level of the item's category path (the text before the first ``>``),
      ``(unknown)`` when the item or its category is missing; brand missing = not counted;
    * item and user attributes come from each id's row with the highest ``load_id`` (the
      latest load); demographics are therefore "as currently known", not versioned by time;
    * preferred weekday (ISO, 1 = Monday) and hour are the most frequent over **all** the
      user's events (when the user is active); ties go to the smaller number.
"""

from __future__ import annotations

from typing import Final

SCOPE_TABLE: Final = "_profile_scope"

_SCOPE_FILTER: Final = f"AND user_id IN (SELECT user_id FROM {SCOPE_TABLE})"


def scope_filter(scoped: bool) -> str:
    """The WHERE fragment restricting a query to the users in scope (or nothing)."""
    return _SCOPE_FILTER if scoped else ""


LATEST_ITEMS_CTE: Final = """
latest_items AS (  -- one row per item: its latest load, top-level category, brand
    SELECT item_id,
           coalesce(nullif(trim(split_part(category, '>', 1)), ''), '(unknown)') AS category,
           nullif(trim(brand), '') AS brand,
           price AS list_price
    FROM items
    QUALIFY row_number() OVER (PARTITION BY item_id ORDER BY load_id DESC NULLS LAST) = 1
)"""

AGE_BAND_SQL: Final = """CASE
        WHEN age IS NULL THEN NULL
        WHEN age < 18 THEN '<18'
        WHEN age < 25 THEN '18-24'
        WHEN age < 35 THEN '25-34'
        WHEN age < 45 THEN '35-44'
        WHEN age < 55 THEN '45-54'
        WHEN age < 65 THEN '55-64'
        ELSE '65+' END"""


def user_aggregates_sql(scoped: bool) -> str:
    """INSERT the basic and behaviour aggregates of the users in scope (``profile_agg_users``)."""
    scope = scope_filter(scoped)
    return f"""
INSERT INTO profile_agg_users
WITH
scoped_events AS (  -- the events that exist as of $as_of
    SELECT user_id, event_type, "timestamp" AS ts, quantity,
           coalesce(price, 0.0) AS price, coalesce(discount, 0.0) AS discount, order_id
    FROM events
    WHERE "timestamp" <= $as_of {scope}
),
event_totals AS (  -- one pass: activity counts, purchase money and refunds per user
    SELECT user_id,
           min(ts) AS first_event_at,
           max(ts) AS last_event_at,
           count(*) FILTER (WHERE event_type = 'view') AS views,
           count(*) FILTER (WHERE event_type = 'cart') AS carts,
           count(*) FILTER (WHERE event_type = 'purchase') AS purchases,
           count(*) FILTER (WHERE event_type = 'refund') AS refund_events,
           coalesce(sum(quantity) FILTER (WHERE event_type = 'purchase'), 0) AS items_bought,
           coalesce(sum(quantity * price) FILTER (WHERE event_type = 'purchase'), 0)
               AS list_value,
           coalesce(sum(discount) FILTER (WHERE event_type = 'purchase'), 0) AS discount_total,
           coalesce(sum(quantity * price - discount) FILTER (WHERE event_type = 'purchase'), 0)
               AS gross_spend,
           coalesce(sum(quantity * price - discount)
                    FILTER (WHERE event_type = 'purchase' AND discount > 0), 0)
               AS discounted_spend,
           coalesce(sum(abs(quantity) * price - discount) FILTER (WHERE event_type = 'refund'), 0)
               AS refund_value
    FROM scoped_events
    GROUP BY user_id
),
orders AS (  -- distinct orders (order id, else purchase day) with the time they were placed
    SELECT user_id,
           coalesce(order_id, 'day:' || CAST(CAST(ts AS DATE) AS VARCHAR)) AS order_key,
           min(ts) AS placed_at
    FROM scoped_events
    WHERE event_type = 'purchase'
    GROUP BY ALL
),
order_totals AS (
    SELECT user_id, count(*) AS orders, min(placed_at) AS first_order_at,
           max(placed_at) AS last_order_at
    FROM orders
    GROUP BY user_id
),
activity_slots AS (  -- events per user, ISO weekday and hour
    SELECT user_id, isodow(ts) AS weekday, hour(ts) AS hour, count(*) AS n
    FROM scoped_events
    GROUP BY ALL
),
preferred_weekday AS (  -- most frequent weekday; ties -> smaller weekday
    SELECT user_id, arg_max(weekday, n * 8 - weekday) AS preferred_weekday
    FROM (SELECT user_id, weekday, sum(n) AS n FROM activity_slots GROUP BY ALL)
    GROUP BY user_id
),
preferred_hour AS (  -- most frequent hour; ties -> smaller hour
    SELECT user_id, arg_max(hour, n * 25 - hour) AS preferred_hour
    FROM (SELECT user_id, hour, sum(n) AS n FROM activity_slots GROUP BY ALL)
    GROUP BY user_id
),
latest_users AS (  -- one row per user: the latest load's demographics
    SELECT user_id, gender, coalesce(age_band, {AGE_BAND_SQL}) AS age_band, location, signup_at
    FROM users
    WHERE TRUE {scope}
    QUALIFY row_number() OVER (PARTITION BY user_id ORDER BY load_id DESC NULLS LAST) = 1
),
population AS (  -- users known as of $as_of: they had an event or had signed up
    SELECT user_id FROM event_totals
    UNION
    SELECT user_id FROM latest_users WHERE signup_at <= $as_of
)
SELECT CAST($as_of AS TIMESTAMP) AS as_of,
       p.user_id,
       u.gender, u.age_band, u.location, u.signup_at,
       t.first_event_at, t.last_event_at,
       coalesce(t.views, 0), coalesce(t.carts, 0), coalesce(t.purchases, 0),
       coalesce(t.refund_events, 0),
       coalesce(o.orders, 0), o.first_order_at, o.last_order_at,
       coalesce(t.items_bought, 0), coalesce(t.list_value, 0), coalesce(t.discount_total, 0),
       coalesce(t.gross_spend, 0), coalesce(t.discounted_spend, 0),
       coalesce(t.refund_value, 0),
       w.preferred_weekday, h.preferred_hour
FROM population p
LEFT JOIN latest_users u USING (user_id)
LEFT JOIN event_totals t USING (user_id)
LEFT JOIN order_totals o USING (user_id)
LEFT JOIN preferred_weekday w USING (user_id)
LEFT JOIN preferred_hour h USING (user_id)
"""


def purchases_by_item_sql(scoped: bool) -> str:
    """CREATE the temp table ``_profile_purchases`` of purchase spend per user and item."""
    scope = scope_filter(scoped)
    return f"""
CREATE OR REPLACE TEMP TABLE _profile_purchases AS
WITH {LATEST_ITEMS_CTE},
purchase_by_item AS (  -- spend and units per user and item, as of $as_of
    SELECT user_id, item_id,
           sum(quantity * coalesce(price, 0.0) - coalesce(discount, 0.0)) AS spend,
           sum(quantity) AS quantity
    FROM events
    WHERE event_type = 'purchase' AND "timestamp" <= $as_of {scope}
    GROUP BY ALL
)
SELECT b.user_id, b.spend, b.quantity,
       coalesce(i.category, '(unknown)') AS category, i.brand
FROM purchase_by_item b
LEFT JOIN latest_items i USING (item_id)
"""


CATEGORY_AGGREGATES_SQL: Final = """
INSERT INTO profile_agg_categories
SELECT CAST($as_of AS TIMESTAMP), user_id, category, sum(spend), sum(quantity)
FROM _profile_purchases
GROUP BY ALL
"""

BRAND_AGGREGATES_SQL: Final = """
INSERT INTO profile_agg_brands
SELECT CAST($as_of AS TIMESTAMP), user_id, brand, sum(spend)
FROM _profile_purchases
WHERE brand IS NOT NULL
GROUP BY ALL
"""
