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
      sensible order counts); ``first_order_at`` / ``last_order_at`` are the times of the
      user's first and last purchase lines;
    * category = the top level of the item's category path (the text before the first ``>``),
      ``(unknown)`` when the item or its category is missing; brand missing = not counted;
    * item and user attributes come from each id's row with the highest ``load_id`` (the
      latest load); demographics are therefore "as currently known", not versioned by time;
    * preferred weekday (ISO, 1 = Monday) and hour are the most frequent among the user's
      purchase lines (when they buy); ties go to the smaller number; NULL without purchases.
"""

from __future__ import annotations

from typing import Final

SCOPE_TABLE: Final = "_profile_scope"

_SCOPE_FILTER: Final = f"AND user_id IN (SELECT user_id FROM {SCOPE_TABLE})"


def scope_filter(scoped: bool) -> str:
    """The WHERE fragment restricting a query to the users in scope (or nothing)."""
    return _SCOPE_FILTER if scoped else ""


#: An items row's top-level category: the text before the first ``>``, ``(unknown)`` if empty.
ITEM_CATEGORY_SQL: Final = "coalesce(nullif(trim(split_part(category, '>', 1)), ''), '(unknown)')"

#: An items row's brand, NULL when missing or blank.
ITEM_BRAND_SQL: Final = "nullif(trim(brand), '')"

LATEST_ITEMS_CTE: Final = f"""
latest_items AS (  -- one row per item: its latest load, top-level category, brand
    SELECT item_id,
           {ITEM_CATEGORY_SQL} AS category,
           {ITEM_BRAND_SQL} AS brand,
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


#: Selects purchase and refund events. Written as a range rather than ``IN ('purchase',
#: 'refund')`` because DuckDB pushes a range on a column into the table scan (the other columns
#: are then read only for the matching ~6 % of rows) but evaluates an ``IN`` list row by row
#: after reading every column: 1.5x instead of 2.3x the CPU of a plain GROUP BY pass on 10M
#: events. Exact because ingestion admits only :data:`shopguide.columns.EventType.ALL`, and
#: no other type sorts between the two (``tests/profiles`` checks that).
LINE_TYPES_FILTER: Final = "event_type BETWEEN 'purchase' AND 'refund'"


#: The temp table a live update copies its batch's users' events into (the columns the
#: aggregates read), so the store's events are searched for them once, not once per query.
BATCH_EVENTS_TABLE: Final = "_profile_batch_events"

BATCH_EVENTS_SQL: Final = f"""
CREATE OR REPLACE TEMP TABLE {BATCH_EVENTS_TABLE} AS
SELECT user_id, item_id, event_type, "timestamp", quantity, price, discount, order_id
FROM events
WHERE "timestamp" <= $as_of {_SCOPE_FILTER}
"""


def lines_sql(scoped: bool, source: str = "events") -> str:
    """CREATE the temp table ``_profile_lines``: purchase and refund lines as of ``$as_of``.

    Purchases are a small share of all events (views dominate), so every money, order and
    preference aggregate reads this narrow table instead of scanning the events again. Each
    line carries its item's top-level category and brand, so the category and brand
    aggregates group the lines directly. ``source`` is the events table to read
    (:data:`BATCH_EVENTS_TABLE` for a live update).
    """
    scope = scope_filter(scoped)
    return f"""
CREATE OR REPLACE TEMP TABLE _profile_lines AS
WITH {LATEST_ITEMS_CTE}
SELECT e.user_id, e.event_type = 'purchase' AS is_purchase, e."timestamp" AS ts,
       e.quantity, coalesce(e.price, 0.0) AS price, e.price AS list_price,
       coalesce(e.discount, 0.0) AS discount, e.order_id,
       coalesce(i.category, '(unknown)') AS category, i.brand
FROM {source} e
LEFT JOIN latest_items i USING (item_id)
WHERE e.{LINE_TYPES_FILTER} AND e."timestamp" <= $as_of {scope}
"""


def user_aggregates_sql(
    scoped: bool, version: str = "$as_of", into: str = "profile_agg_users", source: str = "events"
) -> str:
    """INSERT the basic and behaviour aggregates of the users in scope (``profile_agg_users``).

    One grouped pass over the events gives first/last activity and view/cart counts; the rest
    comes from ``_profile_lines`` (see :func:`lines_sql`). Orders are counted by grouping the
    purchase lines by (order id, or day when the order id is missing). The rows are stored
    under the version ``version`` (SQL: by default the ``$as_of`` parameter itself; the live
    version keeps its own key while its events run to a later ``$as_of``), into table ``into``,
    from the events in ``source``.
    """
    scope = scope_filter(scoped)
    return f"""
INSERT INTO {into}
WITH
activity AS (  -- one pass over all events as of $as_of: first/last activity, views, carts
    SELECT user_id,
           min("timestamp") AS first_event_at,
           max("timestamp") AS last_event_at,
           -- sum(CASE) costs about half of count(*) FILTER (WHERE ...) here
           sum(CASE WHEN event_type = 'view' THEN 1 ELSE 0 END) AS views,
           sum(CASE WHEN event_type = 'cart' THEN 1 ELSE 0 END) AS carts
    FROM {source}
    WHERE "timestamp" <= $as_of {scope}
    GROUP BY user_id
),
purchase_orders AS (  -- one row per order: its order id, or its day when there is none
    SELECT user_id
    FROM _profile_lines
    WHERE is_purchase
    GROUP BY user_id, order_id, CASE WHEN order_id IS NULL THEN CAST(ts AS DATE) END
),
order_counts AS (SELECT user_id, count(*) AS orders FROM purchase_orders GROUP BY user_id),
line_totals AS (  -- one pass over the purchase and refund lines: units and money
    SELECT user_id,
           sum(CASE WHEN is_purchase THEN 1 ELSE 0 END) AS purchases,
           min(CASE WHEN is_purchase THEN ts END) AS first_order_at,
           max(CASE WHEN is_purchase THEN ts END) AS last_order_at,
           sum(CASE WHEN is_purchase THEN quantity END) AS items_bought,
           sum(CASE WHEN is_purchase THEN quantity * price END) AS list_value,
           sum(CASE WHEN is_purchase THEN discount END) AS discount_total,
           sum(CASE WHEN is_purchase THEN quantity * price - discount END) AS gross_spend,
           sum(CASE WHEN is_purchase AND discount > 0 THEN quantity * price - discount END)
               AS discounted_spend,
           sum(CASE WHEN is_purchase THEN 0 ELSE 1 END) AS refund_events,
           sum(CASE WHEN is_purchase THEN NULL ELSE abs(quantity) * price - discount END)
               AS refund_value
    FROM _profile_lines
    GROUP BY user_id
),
preferred_weekday AS (  -- most frequent ISO weekday of purchase lines; ties -> smaller
    SELECT user_id, arg_max(weekday, n * 8 - weekday) AS preferred_weekday
    FROM (
        SELECT user_id, isodow(ts) AS weekday, count(*) AS n
        FROM _profile_lines WHERE is_purchase GROUP BY ALL
    )
    GROUP BY user_id
),
preferred_hour AS (  -- most frequent hour of purchase lines; ties -> smaller
    SELECT user_id, arg_max(hour, n * 25 - hour) AS preferred_hour
    FROM (
        SELECT user_id, hour(ts) AS hour, count(*) AS n
        FROM _profile_lines WHERE is_purchase GROUP BY ALL
    )
    GROUP BY user_id
),
latest_users AS (  -- one row per user: the latest load's demographics
    SELECT user_id, gender, coalesce(age_band, {AGE_BAND_SQL}) AS age_band, location, signup_at
    FROM users
    WHERE TRUE {scope}
    QUALIFY row_number() OVER (PARTITION BY user_id ORDER BY load_id DESC NULLS LAST) = 1
),
population AS (  -- users known as of $as_of: they had an event or had signed up
    SELECT user_id FROM activity
    UNION
    SELECT user_id FROM latest_users WHERE signup_at <= $as_of
)
SELECT CAST({version} AS TIMESTAMP) AS as_of,
       p.user_id,
       u.gender, u.age_band, u.location, u.signup_at,
       a.first_event_at, a.last_event_at,
       coalesce(a.views, 0), coalesce(a.carts, 0), coalesce(t.purchases, 0),
       coalesce(t.refund_events, 0),
       coalesce(o.orders, 0), t.first_order_at, t.last_order_at,
       coalesce(t.items_bought, 0), coalesce(t.list_value, 0), coalesce(t.discount_total, 0),
       coalesce(t.gross_spend, 0), coalesce(t.discounted_spend, 0),
       coalesce(t.refund_value, 0),
       w.preferred_weekday, h.preferred_hour
FROM population p
LEFT JOIN latest_users u USING (user_id)
LEFT JOIN activity a USING (user_id)
LEFT JOIN line_totals t USING (user_id)
LEFT JOIN order_counts o USING (user_id)
LEFT JOIN preferred_weekday w USING (user_id)
LEFT JOIN preferred_hour h USING (user_id)
"""


def category_aggregates_sql(version: str = "$as_of", into: str = "profile_agg_categories") -> str:
    """INSERT each in-scope user's spend and units per category (from ``_profile_lines``)."""
    return f"""
INSERT INTO {into}
SELECT CAST({version} AS TIMESTAMP), user_id, category, sum(quantity * price - discount),
       sum(quantity)
FROM _profile_lines
WHERE is_purchase
GROUP BY ALL
"""


def brand_aggregates_sql(version: str = "$as_of", into: str = "profile_agg_brands") -> str:
    """INSERT each in-scope user's spend per brand (from ``_profile_lines``)."""
    return f"""
INSERT INTO {into}
SELECT CAST({version} AS TIMESTAMP), user_id, brand, sum(quantity * price - discount)
FROM _profile_lines
WHERE is_purchase AND brand IS NOT NULL
GROUP BY ALL
"""


CATEGORY_AGGREGATES_SQL: Final = category_aggregates_sql()
BRAND_AGGREGATES_SQL: Final = brand_aggregates_sql()
