"""The population step: wide ``profiles`` rows derived from the per-user aggregates.

Runs after the aggregates of a version are complete (full build or incremental update). It reads
only the aggregate tables plus one grouped pass over purchase lines for the category median
prices, so it is cheap compared with the aggregation over all events, and it is the same query
for a full build and an incremental update, which is why both give the same result.

Behaviour fields
    * ``tenure_days``: calendar days from ``first_seen_at`` (the earlier of signup and first
      event) to ``as_of``; ``purchase_frequency`` = orders per 30 days of tenure
      (``orders * 30 / max(tenure_days, 1)``);
    * ``recency_days``: calendar days from the last purchase to ``as_of`` (NULL without orders);
    * ``total_spend`` = gross spend (purchases net of discount) minus refunds;
      ``avg_order_value`` = total spend / orders;
    * ``avg_days_between_orders`` = (last purchase time - first purchase time) / (orders - 1) in
      fractional days (NULL below two orders): the mean gap between consecutive orders when
      the lines of an order share one time, as in order data;
    * conversions: ``view_to_cart`` = carts / views, ``cart_to_purchase`` = purchase events /
      carts, ``view_to_purchase`` = purchase events / views (NULL when the denominator is 0).

Preference fields
    * ``top_categories`` / ``top_brands``: up to :data:`TOP_N` entries ``(name, spend, share,
      affinity)`` by spend rounded to the cent (ties by name). ``share`` is the share of
      wallet: the user's spend on it over the user's gross spend; ``affinity`` = share / the
      population's share (total spend on it over all users' gross spend), so 1 is "like
      everybody", 2 is "twice as much".
    * ``discount_rate`` = money off / list value of purchases; ``discount_spend_share`` = share of
      gross spend on lines bought with a discount or coupon (``discount > 0``).
    * ``price_index`` = what the user paid / what the same units would cost at the median list
      unit price of their categories (median over all purchase lines of the category as of
      ``as_of``): < 1 buys cheaper than typical. ``price_band``: ``low`` below 0.8, ``high``
      above 1.25, else ``mid``.
    * ``price_sensitivity`` in [0, 1] = ``0.5 * discount_spend_share + 0.5 / (1 + price_index^2)``:
      half "how much of my spend is on deals", half "how cheap do I buy" (0.5 at the median price,
      towards 1 for much cheaper, towards 0 for much dearer). Without a price index the score is
      the discount share alone; NULL without purchases.

Lifecycle fields: see :mod:`shopguide.profiles.lifecycle`.

Two forms of the step
    :data:`PROFILES_SQL` derives every user of a version, measuring the population on the spot
    (a full build, a snapshot update, a population refresh). :data:`LIVE_PROFILES_SQL` derives
    only the users in scope, from their aggregates and the version's stored population
    statistics (:mod:`shopguide.profiles.population`): what a live batch runs, at a cost that
    follows the batch. With statistics measured on the same aggregates both give the same
    rows (tested); between refreshes a batch's users are placed against the population as the
    statistics saw it (``population_as_of``).
"""

from __future__ import annotations

from typing import Final

from shopguide.profiles.aggregates import LATEST_ITEMS_CTE
from shopguide.profiles.lifecycle import rfm_scores_from_cuts_sql, rfm_scores_sql

#: Entries kept in ``top_categories`` and ``top_brands``.
TOP_N: Final = 5
#: ``price_index`` below this is the ``low`` price band, above :data:`HIGH_PRICE_INDEX` ``high``.
LOW_PRICE_INDEX: Final = 0.8
HIGH_PRICE_INDEX: Final = 1.25


def category_prices_sql(scoped: bool, version: str = "$as_of") -> str:
    """INSERT the median list unit price of each category's purchase lines as of ``$as_of``.

    It needs every user's lines: a full build reuses ``_profile_lines``; an incremental update
    (whose ``_profile_lines`` holds only the affected users) reads the purchase events again.
    The rows are stored under ``version`` (SQL; default the ``$as_of`` parameter).
    """
    if scoped:
        source = f"""
WITH {LATEST_ITEMS_CTE}
SELECT coalesce(i.category, '(unknown)') AS category, e.price AS list_price
FROM events e
LEFT JOIN latest_items i USING (item_id)
WHERE e.event_type = 'purchase' AND e."timestamp" <= $as_of"""
    else:
        source = "SELECT category, list_price FROM _profile_lines WHERE is_purchase"
    return f"""
INSERT INTO profile_category_prices
SELECT CAST({version} AS TIMESTAMP), category, median(list_price) AS median_unit_price,
       count(*) AS lines
FROM ({source})
WHERE list_price IS NOT NULL
GROUP BY ALL
"""


def _top_entries_cte(name: str, table: str, key: str, *, live: bool = False) -> str:
    """CTEs ranking a user's categories or brands with share of wallet and affinity.

    Entries are ranked by spend rounded to the cent, ties by name: the rank key is the pair
    ``(cents, tie_break)``, where ``tie_break`` numbers the names from the end of the alphabet
    (1 = last), so the key is unique per user. The cents stay a DOUBLE (an integer key such as
    ``cents * names + tie_break`` overflows INT64 on large spends and costs no less).
    ``arg_max(x, key, TOP_N)``
    then picks and orders the top entries in one hash aggregate (no sort, no window). It runs
    on two plain columns (the name's ``tie_break`` and the spend, in the same order because the
    keys are unique) rather than on the finished structs, which costs a third as much; the
    structs are assembled afterwards for at most :data:`TOP_N` entries per user, looking the
    name and the population share up by ``tie_break``.

    ``live``: the population's spend comes from the stored statistics (names they have not
    seen, bought by a user of the batch, get no population share and so no affinity) and
    ``table`` holds the batch's users only.
    """
    if live:
        stored = (
            f"SELECT name AS {key}, spend FROM profile_population_shares "
            f"WHERE as_of = $version AND kind = '{key}'"
        )
        population = f"""
{name}_population AS (  -- the stored population spend on each {key}, plus the {key}s of the
                         -- users in scope that it has not seen, and a tie-break rank
    SELECT n.{key}, s.spend,
           count(*) OVER () + 1 - row_number() OVER (ORDER BY n.{key}) AS tie_break
    FROM (SELECT {key} FROM ({stored}) UNION SELECT {key} FROM {table}) n
    LEFT JOIN ({stored}) s USING ({key})
),"""
        where = ""
    else:
        where = "\n    WHERE a.as_of = $as_of"
        population = f"""
{name}_population AS (  -- the population's spend on each {key}, and a tie-break rank
    SELECT {key}, spend,
           count(*) OVER () + 1 - row_number() OVER (ORDER BY {key}) AS tie_break
    FROM (SELECT {key}, sum(spend) AS spend FROM {table} WHERE as_of = $as_of GROUP BY {key})
),"""
    return f"""{population}
{name}_lookup AS (  -- names and population shares, position = tie_break
    SELECT list({key} ORDER BY tie_break) AS names,
           list(spend / nullif(t.gross_spend, 0) ORDER BY tie_break) AS shares
    FROM {name}_population CROSS JOIN population_totals t
),
top_{name}_ranked AS (  -- each user's top {key}s: their tie_breaks and spends, best first
    SELECT a.user_id,
           arg_max(pop.tie_break, {{'cents': round(a.spend * 100), 'tie': pop.tie_break}},
                   {TOP_N}) AS picks,
           arg_max(a.spend, {{'cents': round(a.spend * 100), 'tie': pop.tie_break}},
                   {TOP_N}) AS spends
    FROM {table} a
    JOIN {name}_population pop USING ({key}){where}
    GROUP BY a.user_id
),
top_{name} AS (  -- the entries with share of wallet and affinity index
    SELECT r.user_id,
           list_transform(
               range(1, len(r.picks) + 1),
               lambda i: {{'name': l.names[r.picks[i]], 'spend': r.spends[i],
                           'share': r.spends[i] / nullif(b.gross_spend, 0),
                           'affinity': (r.spends[i] / nullif(b.gross_spend, 0))
                                       / nullif(l.shares[r.picks[i]], 0)}}
           ) AS entries
    FROM top_{name}_ranked r
    JOIN base b USING (user_id)
    CROSS JOIN {name}_lookup l
)"""


#: The temporary tables a live update puts its batch's fresh aggregates in (same columns as
#: the ``profile_agg_*`` tables); :data:`LIVE_PROFILES_SQL` reads them.
LIVE_AGGREGATE_TABLES: Final = {
    "profile_agg_users": "_live_agg_users",
    "profile_agg_categories": "_live_agg_categories",
    "profile_agg_brands": "_live_agg_brands",
}


def _profiles_sql(*, live: bool) -> str:
    """The population step, for every user of version ``$as_of`` or (``live``) for the users
    whose aggregates are in :data:`LIVE_AGGREGATE_TABLES`, keyed ``$version``, with their
    events up to ``$as_of``."""
    users, categories, brands = (
        LIVE_AGGREGATE_TABLES.values() if live else LIVE_AGGREGATE_TABLES.keys()
    )
    if live:
        base = f"SELECT * FROM {users}"
        totals = "SELECT gross_spend FROM profile_population WHERE as_of = $version"
        rfm = rfm_scores_from_cuts_sql(
            "buyers", "(SELECT * FROM profile_population WHERE as_of = $version)"
        )
        buyer_day = ", CAST(last_order_at AS DATE) AS last_order_day"
        version, prices_version, price_filter = "$version", "$version", ""
    else:
        base = f"SELECT * FROM {users} WHERE as_of = $as_of"
        totals = "SELECT sum(gross_spend) AS gross_spend FROM base"
        rfm = rfm_scores_sql("buyers")
        buyer_day = ""
        version, prices_version = "$as_of", "c.as_of"
        price_filter = "\n    WHERE c.as_of = $as_of"
    prices_join = (
        f"JOIN profile_category_prices p ON p.as_of = {prices_version} AND p.category = c.category"
    )
    return f"""
INSERT INTO profiles
WITH
base AS ({base}),
population_totals AS ({totals}),
-- behaviour group ------------------------------------------------------------------------
behaviour AS (
    SELECT * EXCLUDE (orders),
           orders * 30.0 / greatest(tenure_days, 1) AS purchase_frequency,
           total_spend / nullif(orders, 0) AS avg_order_value
    FROM (
        SELECT user_id, orders,
               least(signup_at, first_event_at) AS first_seen_at,
               date_diff('day', CAST(least(signup_at, first_event_at) AS DATE),
                         CAST($as_of AS DATE)) AS tenure_days,
               date_diff('day', CAST(last_order_at AS DATE), CAST($as_of AS DATE))
                   AS recency_days,
               date_diff('day', CAST(last_event_at AS DATE), CAST($as_of AS DATE))
                   AS days_since_last_event,
               gross_spend - refund_value AS total_spend,
               CASE WHEN orders >= 2
                    THEN epoch(last_order_at - first_order_at) / 86400.0 / (orders - 1)
               END AS avg_days_between_orders,
               carts / nullif(views, 0) AS view_to_cart,
               purchases / nullif(carts, 0) AS cart_to_purchase,
               purchases / nullif(views, 0) AS view_to_purchase
        FROM base
    )
),
-- preferences group ----------------------------------------------------------------------
{_top_entries_cte("categories", categories, "category", live=live)},
{_top_entries_cte("brands", brands, "brand", live=live)},
price_reference AS (  -- the user's purchases valued at their categories' median unit prices
    SELECT c.user_id,
           sum(c.spend) / nullif(sum(c.quantity * p.median_unit_price), 0) AS price_index
    FROM {categories} c
    {prices_join}{price_filter}
    GROUP BY c.user_id
),
price AS (
    SELECT b.user_id,
           b.discount_total / nullif(b.list_value, 0) AS discount_rate,
           -- clamp to [0, 1] (DuckDB's least/greatest skip NULLs, so guard NULL first)
           CASE WHEN b.gross_spend > 0
                THEN greatest(0.0, least(1.0, b.discounted_spend / b.gross_spend))
           END AS discount_spend_share,
           r.price_index
    FROM base b
    LEFT JOIN price_reference r USING (user_id)
),
-- lifecycle group ------------------------------------------------------------------------
buyers AS (
    SELECT user_id, recency_days, orders, total_spend AS monetary{buyer_day}
    FROM base JOIN behaviour USING (user_id)
    WHERE orders > 0
),
rfm AS ({rfm})
SELECT CAST({version} AS TIMESTAMP) AS as_of,
       b.user_id,
       b.gender, b.age_band, b.location, b.signup_at,
       h.first_seen_at, h.tenure_days,
       b.orders, b.items_bought, h.purchase_frequency, h.recency_days, h.days_since_last_event,
       b.gross_spend, b.refund_value AS refunds, h.total_spend, h.avg_order_value,
       h.avg_days_between_orders, b.preferred_weekday, b.preferred_hour,
       b.views, b.carts, b.purchases, h.view_to_cart, h.cart_to_purchase, h.view_to_purchase,
       tc.entries AS top_categories,
       tc.entries[1].name, tc.entries[1].share, tc.entries[1].affinity,
       tb.entries AS top_brands,
       tb.entries[1].name, tb.entries[1].share, tb.entries[1].affinity,
       p.discount_rate, p.discount_spend_share, p.price_index,
       CASE WHEN p.price_index < {LOW_PRICE_INDEX} THEN 'low'
            WHEN p.price_index > {HIGH_PRICE_INDEX} THEN 'high'
            WHEN p.price_index IS NOT NULL THEN 'mid' END AS price_band,
       CASE WHEN b.orders = 0 OR p.discount_spend_share IS NULL THEN NULL
            WHEN p.price_index IS NULL THEN p.discount_spend_share
            ELSE 0.5 * p.discount_spend_share + 0.5 / (1 + p.price_index * p.price_index)
       END AS price_sensitivity,
       r.r_score, r.f_score, r.m_score, r.fm_score, r.rfm_cell, r.segment
FROM base b
JOIN behaviour h USING (user_id)
JOIN price p USING (user_id)
LEFT JOIN top_categories tc USING (user_id)
LEFT JOIN top_brands tb USING (user_id)
LEFT JOIN rfm r USING (user_id)
"""


#: Every user of version ``$as_of`` (see the module docs).
PROFILES_SQL: Final = _profiles_sql(live=False)
#: A live batch's users, from their aggregates in :data:`LIVE_AGGREGATE_TABLES`, keyed
#: ``$version`` (events up to ``$as_of``), against the version's stored population statistics.
LIVE_PROFILES_SQL: Final = _profiles_sql(live=True)
