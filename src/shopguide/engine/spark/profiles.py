"""Profiles on Spark, from the local engine's SQL: the same fields, by the same statements.

The statements are those the local build runs (:mod:`shopguide.profiles.aggregates` and
:mod:`shopguide.profiles.derive`), translated to Spark SQL by
:mod:`shopguide.engine.spark.dialect`; every definition is documented there. Each table the
local build writes (``_profile_lines``, ``profile_agg_users``, ``profile_agg_categories``,
``profile_agg_brands``, ``profile_category_prices``) and each common table expression of the
final query becomes a temporary view ``sgp_<name>``.

Two parts of the final query are written for Spark instead of translated, because the local
SQL picks a DuckDB-only formulation for speed:

- ``top_categories`` and ``top_brands`` (:data:`TOP_ENTRIES_SQL`): the local query ranks the
  entries with ``arg_max(x, key, n)`` and rebuilds them from 1-based list lookups, which
  Spark has no equivalent of; here a ``row_number()`` window ranks them (spend rounded to the
  cent, ties by name, as locally) and a sorted ``collect_list`` keeps the top
  :data:`~shopguide.profiles.derive.TOP_N`;
- ``rfm``: scored by :func:`shopguide.engine.spark.rfm.rfm_scores`, which ranks distinct
  values instead of one window over every buyer (one partition: a bottleneck at scale);
  it computes the same tie-safe quintiles.

The parity tests compare the result with the local engine field by field. The output has
exactly the columns of the store's ``profiles`` table, so
:func:`shopguide.engine.exchange.import_parquet` can load it into a store.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from shopguide.engine.spark.dialect import table_columns, to_spark
from shopguide.engine.spark.io import EngineData
from shopguide.engine.spark.rfm import rfm_scores
from shopguide.profiles.aggregates import (
    BRAND_AGGREGATES_SQL,
    CATEGORY_AGGREGATES_SQL,
    lines_sql,
    user_aggregates_sql,
)
from shopguide.profiles.derive import PROFILES_SQL, TOP_N, category_prices_sql

__all__ = ["PROFILE_COLUMNS", "TOP_ENTRIES_SQL", "spark_profiles"]

#: The columns of the store's ``profiles`` table, in order.
PROFILE_COLUMNS: Final[tuple[str, ...]] = tuple(name for name, _ in table_columns("profiles"))

#: Prefix of this job's temporary views.
PREFIX: Final = "sgp_"

#: Each user's top categories (or brands) by spend, with share of wallet and affinity, in
#: Spark SQL (``{table}``: the per-user aggregate view; ``{key}``: ``category`` or ``brand``).
TOP_ENTRIES_SQL: Final = f"""
WITH population AS (SELECT {{key}}, sum(spend) AS spend FROM {{table}} GROUP BY {{key}}),
ranked AS (
    SELECT a.user_id, a.{{key}} AS name, a.spend,
           a.spend / nullif(b.gross_spend, 0D) AS share,
           (a.spend / nullif(b.gross_spend, 0D))
               / nullif(pop.spend / nullif(t.gross_spend, 0D), 0D) AS affinity,
           row_number() OVER (
               PARTITION BY a.user_id
               ORDER BY round(a.spend * 100D) DESC, a.{{key}}
           ) AS position
    FROM {{table}} a
    JOIN {PREFIX}base b ON b.user_id = a.user_id
    JOIN population pop ON pop.{{key}} = a.{{key}}
    CROSS JOIN {PREFIX}population_totals t
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

#: The local query's CTEs that :data:`TOP_ENTRIES_SQL` replaces (helpers of its formulation).
_REPLACED_HELPERS: Final = frozenset(
    (
        "categories_population",
        "categories_lookup",
        "top_categories_ranked",
        "brands_population",
        "brands_lookup",
        "top_brands_ranked",
    )
)


def spark_profiles(data: EngineData, as_of: datetime, *, cache: bool = True) -> Any:
    """The profile version ``as_of`` as a Spark DataFrame (columns :data:`PROFILE_COLUMNS`).

    Parameters
    ----------
    data:
        Events, users and items (:func:`~shopguide.engine.spark.io.read_engine_data`).
    as_of:
        Only events with ``timestamp <= as_of`` count (naive UTC).
    cache:
        Cache the purchase lines and per-user aggregates, which several later steps read
        (recommended; the cache is released when the session ends or with
        ``spark.catalog.clearCache()``).
    """
    spark = data.events.sparkSession
    data.events_until(as_of).createOrReplaceTempView(f"{PREFIX}events")
    data.users.createOrReplaceTempView(f"{PREFIX}users")
    data.items.createOrReplaceTempView(f"{PREFIX}items")

    def view(name: str, frame: Any, *, persist: bool = False) -> Any:
        if persist and cache:
            frame = frame.cache()
        frame.createOrReplaceTempView(PREFIX + name)
        return frame

    def run(sql: str, name: str, *, persist: bool = False, skip: frozenset[str] = frozenset(),
            replace: dict[str, Any] | None = None) -> Any:  # fmt: skip
        """Translate a local statement, register its CTEs, then its result as ``name``."""
        statement = to_spark(sql, as_of=as_of, prefix=PREFIX)
        for cte, cte_sql in statement.ctes.items():
            if cte in (replace or {}):
                view(cte, (replace or {})[cte](), persist=cte == "base")
            elif cte not in skip:
                view(cte, spark.sql(cte_sql), persist=cte == "base")
        return view(name, spark.sql(statement.query), persist=persist)

    run(lines_sql(False), "_profile_lines", persist=True)
    run(user_aggregates_sql(False), "profile_agg_users", persist=True)
    run(CATEGORY_AGGREGATES_SQL, "profile_agg_categories", persist=True)
    run(BRAND_AGGREGATES_SQL, "profile_agg_brands", persist=True)
    run(category_prices_sql(False), "profile_category_prices")

    def top_entries(table: str, key: str) -> Any:
        return lambda: spark.sql(TOP_ENTRIES_SQL.format(table=PREFIX + table, key=key))

    profiles = run(
        PROFILES_SQL,
        "profiles",
        skip=_REPLACED_HELPERS,
        replace={
            "top_categories": top_entries("profile_agg_categories", "category"),
            "top_brands": top_entries("profile_agg_brands", "brand"),
            "rfm": lambda: rfm_scores(spark.table(f"{PREFIX}buyers")),
        },
    )
    return profiles.select(*PROFILE_COLUMNS)
