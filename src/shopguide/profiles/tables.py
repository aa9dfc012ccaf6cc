"""The store tables that hold profiles, created on first use.

Every table is versioned by ``as_of``: the profile of a user *as of* a moment uses only the
events with ``timestamp <= as_of``, so a model trained on an old version never sees the future.

Two layers:

* ``profile_agg_*`` hold **per-user additive aggregates** (sums, counts, first/last times, a
  user's own modes). They depend on nothing but the user's own events, so an incremental update
  recomputes them for the affected users only.
* ``profiles`` is the wide, user-facing table. Its population-relative fields (affinity indexes,
  category median prices, RFM quintiles, segments) are measured against the whole population:
  a build or snapshot update re-derives every user in one set-based step, and records what it
  measured as the version's *population statistics* (``profile_population``: totals and RFM
  cut points; ``profile_population_shares``: spend per category and brand;
  ``profile_category_prices``: median unit prices). A live update re-derives only its batch's
  users against those statistics; a refresh measures them again (see
  :mod:`shopguide.profiles.population`).

``profile_live`` holds the rolling live version's state: its rows keep the ``as_of`` key they
were created (or last refreshed) under, while ``events_through`` says how far its events go.

The lead folds :data:`PROFILE_DDL` into a numbered store migration; until then
:func:`ensure_profile_tables` runs it with ``CREATE TABLE IF NOT EXISTS``.
"""

from __future__ import annotations

import weakref
from typing import Final

from shopguide.store.base import Store

TOP_ENTRY_STRUCT: Final = "STRUCT(name VARCHAR, spend DOUBLE, share DOUBLE, affinity DOUBLE)"

PROFILE_DDL: Final[tuple[str, ...]] = (
    """CREATE TABLE IF NOT EXISTS profile_agg_users (
        as_of TIMESTAMP NOT NULL,
        user_id VARCHAR NOT NULL,
        gender VARCHAR,
        age_band VARCHAR,
        location VARCHAR,
        signup_at TIMESTAMP,
        first_event_at TIMESTAMP,
        last_event_at TIMESTAMP,
        views BIGINT NOT NULL,
        carts BIGINT NOT NULL,
        purchases BIGINT NOT NULL,
        refund_events BIGINT NOT NULL,
        orders BIGINT NOT NULL,
        first_order_at TIMESTAMP,
        last_order_at TIMESTAMP,
        items_bought DOUBLE NOT NULL,
        list_value DOUBLE NOT NULL,
        discount_total DOUBLE NOT NULL,
        gross_spend DOUBLE NOT NULL,
        discounted_spend DOUBLE NOT NULL,
        refund_value DOUBLE NOT NULL,
        preferred_weekday INTEGER,
        preferred_hour INTEGER
    )""",
    """CREATE TABLE IF NOT EXISTS profile_agg_categories (
        as_of TIMESTAMP NOT NULL,
        user_id VARCHAR NOT NULL,
        category VARCHAR NOT NULL,
        spend DOUBLE NOT NULL,
        quantity DOUBLE NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS profile_agg_brands (
        as_of TIMESTAMP NOT NULL,
        user_id VARCHAR NOT NULL,
        brand VARCHAR NOT NULL,
        spend DOUBLE NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS profile_category_prices (
        as_of TIMESTAMP NOT NULL,
        category VARCHAR NOT NULL,
        median_unit_price DOUBLE,
        lines BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS profile_population (
        as_of TIMESTAMP NOT NULL,
        population_as_of TIMESTAMP NOT NULL,
        computed_at TIMESTAMP NOT NULL,
        users BIGINT NOT NULL,
        buyers BIGINT NOT NULL,
        gross_spend DOUBLE,
        r_cuts DATE[] NOT NULL,
        f_cuts BIGINT[] NOT NULL,
        m_cuts DOUBLE[] NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS profile_population_shares (
        as_of TIMESTAMP NOT NULL,
        kind VARCHAR NOT NULL,
        name VARCHAR NOT NULL,
        spend DOUBLE NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS profile_live (
        as_of TIMESTAMP NOT NULL,
        events_through TIMESTAMP NOT NULL,
        max_load_id INTEGER,
        updated_at TIMESTAMP NOT NULL
    )""",
    # the live version's users whose aggregate rows are stale: a live update rewrites its
    # batch's profile rows only (deleting rows in the big aggregate tables costs a scan of
    # each); whatever reads the version's aggregates recomputes these users' first
    """CREATE TABLE IF NOT EXISTS profile_stale_aggregates (
        as_of TIMESTAMP NOT NULL,
        user_id VARCHAR NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS profile_builds (
        as_of TIMESTAMP NOT NULL,
        built_at TIMESTAMP NOT NULL,
        mode VARCHAR NOT NULL,
        users BIGINT NOT NULL,
        recomputed_users BIGINT NOT NULL,
        max_load_id INTEGER,
        seconds DOUBLE NOT NULL
    )""",
    f"""CREATE TABLE IF NOT EXISTS profiles (
        as_of TIMESTAMP NOT NULL,
        user_id VARCHAR NOT NULL,
        gender VARCHAR,
        age_band VARCHAR,
        location VARCHAR,
        signup_at TIMESTAMP,
        first_seen_at TIMESTAMP,
        tenure_days INTEGER,
        orders BIGINT NOT NULL,
        items_bought DOUBLE NOT NULL,
        purchase_frequency DOUBLE,
        recency_days INTEGER,
        days_since_last_event INTEGER,
        gross_spend DOUBLE NOT NULL,
        refunds DOUBLE NOT NULL,
        total_spend DOUBLE NOT NULL,
        avg_order_value DOUBLE,
        avg_days_between_orders DOUBLE,
        preferred_weekday INTEGER,
        preferred_hour INTEGER,
        views BIGINT NOT NULL,
        carts BIGINT NOT NULL,
        purchases BIGINT NOT NULL,
        view_to_cart DOUBLE,
        cart_to_purchase DOUBLE,
        view_to_purchase DOUBLE,
        top_categories {TOP_ENTRY_STRUCT}[],
        top_category VARCHAR,
        top_category_share DOUBLE,
        top_category_affinity DOUBLE,
        top_brands {TOP_ENTRY_STRUCT}[],
        top_brand VARCHAR,
        top_brand_share DOUBLE,
        top_brand_affinity DOUBLE,
        discount_rate DOUBLE,
        discount_spend_share DOUBLE,
        price_index DOUBLE,
        price_band VARCHAR,
        price_sensitivity DOUBLE,
        r_score INTEGER,
        f_score INTEGER,
        m_score INTEGER,
        fm_score INTEGER,
        rfm_cell VARCHAR,
        segment VARCHAR
    )""",
)

#: Tables whose rows belong to one ``as_of`` version (deleted together).
VERSIONED_TABLES: Final = (
    "profile_agg_users",
    "profile_agg_categories",
    "profile_agg_brands",
    "profile_category_prices",
    "profile_population",
    "profile_population_shares",
    "profile_live",
    "profile_stale_aggregates",
    "profiles",
)

#: Per-user aggregate tables (recomputed for affected users only).
USER_AGGREGATE_TABLES: Final = ("profile_agg_users", "profile_agg_categories", "profile_agg_brands")


#: Store connections seen with every profile table (a live update asks for every batch).
_COMPLETE: weakref.WeakSet[Store] = weakref.WeakSet()


def profile_tables_exist(store: Store) -> bool:
    """Whether the store has its profile tables (without a catalog query once a connection
    has seen them all)."""
    return store in _COMPLETE or store.has_table("profile_live")


def ensure_profile_tables(store: Store) -> None:
    """Create the profile tables if the store does not have them yet (idempotent; once a
    connection has them all, it is not asked again)."""
    if store in _COMPLETE:
        return
    names = [*VERSIONED_TABLES, "profile_builds"]
    found = store.scalar(  # one catalog query: a live update runs this for every batch
        "SELECT count(DISTINCT table_name) FROM information_schema.tables "
        "WHERE list_contains($names, table_name)",
        {"names": names},
    )
    if int(found) != len(names):
        with store.transaction():
            for statement in PROFILE_DDL:
                store.execute(statement)
    elif not store.in_transaction:  # seen committed, not inside a transaction that may fail
        _COMPLETE.add(store)
