"""RFM scores and segments on Spark, identical to :mod:`shopguide.profiles.lifecycle`.

The quintile score of a buyer is ``ceil(5 * avg_rank / n)`` with tied values sharing the
average of their positions, computed in integers as
``(5 * (rank_min + rank_max) + 2n - 1) div (2n)`` (see the lifecycle module). Instead of a
window over all buyers (one partition: a bottleneck at 100M buyers), the ranks come from the
**distinct values** of each measure: count the buyers per value, take running sums over the
sorted distinct values, and join the two ranks back by value. Recency takes a few thousand
distinct values and orders a few hundred, so those windows are tiny; monetary (rounded to
6 decimals, as locally) has more, but still far fewer rows than buyers.

Segments come from the same ``SEGMENT_GRID`` as the local engine, joined as a 25-row table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from shopguide.compat import require
from shopguide.engine.spark.io import EngineData, timestamp_literal
from shopguide.profiles.lifecycle import SEGMENT_GRID

__all__ = ["RFM_COLUMNS", "quintile_scores", "rfm_scores", "spark_rfm_table"]

#: Columns of :func:`spark_rfm_table` (those of :func:`shopguide.analytics.rfm.rfm_table`).
RFM_COLUMNS: Final[tuple[str, ...]] = (
    "user_id",
    "recency_days",
    "frequency",
    "monetary",
    "r_score",
    "f_score",
    "m_score",
    "fm_score",
    "rfm_cell",
    "segment",
)


def _f() -> Any:
    return require("pyspark.sql.functions", extra="spark", feature="the Spark engine")


def quintile_scores(frame: Any, value: str, *, descending: bool, name: str) -> Any:
    """Add a tie-safe 1-5 quintile score column ``name`` of ``value`` to ``frame``.

    ``descending=True`` ranks larger values as worse (recency: many days ago is worst).
    """
    F = _f()
    window = require("pyspark.sql.window", extra="spark", feature="the Spark engine").Window
    key = F.col(value).desc() if descending else F.col(value).asc()
    counts = frame.groupBy(value).agg(F.count(F.lit(1)).alias("_n_value"))
    running = window.orderBy(key).rowsBetween(window.unboundedPreceding, window.currentRow)
    total = window.partitionBy()
    ranks = (
        counts.withColumn("_rank_max", F.sum("_n_value").over(running))
        .withColumn("_n", F.sum("_n_value").over(total))
        .withColumn("_rank_min", F.col("_rank_max") - F.col("_n_value") + 1)
        .select(
            value,
            F.expr("CAST((5 * (_rank_min + _rank_max) + 2 * _n - 1) div (2 * _n) AS INT)").alias(
                name
            ),
        )
    )
    return frame.join(ranks, on=value, how="left")


def rfm_scores(buyers: Any) -> Any:
    """Score ``buyers(user_id, recency_days, orders, monetary)`` like ``rfm_scores_sql``.

    Returns ``user_id, r_score, f_score, m_score, fm_score, rfm_cell, segment``.
    """
    F = _f()
    spark = buyers.sparkSession
    scored = buyers.select(
        "user_id",
        "recency_days",
        "orders",
        F.round(F.col("monetary"), 6).alias("_monetary6"),
    )
    scored = quintile_scores(scored, "recency_days", descending=True, name="r_score")
    scored = quintile_scores(scored, "orders", descending=False, name="f_score")
    scored = quintile_scores(scored, "_monetary6", descending=False, name="m_score")
    grid = spark.createDataFrame(
        [(r, fm, segment) for (r, fm), segment in sorted(SEGMENT_GRID.items())],
        "r_score INT, fm_score INT, segment STRING",
    )
    with_fm = scored.withColumn("fm_score", F.expr("CAST((f_score + m_score + 1) div 2 AS INT)"))
    return with_fm.join(F.broadcast(grid), on=["r_score", "fm_score"], how="left").select(
        "user_id",
        "r_score",
        "f_score",
        "m_score",
        "fm_score",
        F.concat(
            F.col("r_score").cast("string"),
            F.col("f_score").cast("string"),
            F.col("m_score").cast("string"),
        ).alias("rfm_cell"),
        "segment",
    )


def _buyers_sql(as_of: str) -> str:
    return f"""
WITH lines AS (
    SELECT user_id, `timestamp` AS ts,
           quantity * coalesce(price, 0D) - coalesce(discount, 0D) AS spend,
           coalesce(order_id, concat('day:', CAST(CAST(`timestamp` AS DATE) AS STRING)))
               AS order_key
    FROM sg_rfm_events WHERE event_type = 'purchase'
),
orders AS (SELECT user_id, order_key, min(ts) AS placed_at FROM lines GROUP BY 1, 2),
spend AS (SELECT user_id, sum(spend) AS gross FROM lines GROUP BY 1),
refunds AS (
    SELECT user_id, sum(abs(quantity) * coalesce(price, 0D) - coalesce(discount, 0D)) AS refunds
    FROM sg_rfm_events WHERE event_type = 'refund' GROUP BY 1
),
per_user AS (
    SELECT user_id, count(*) AS orders, max(placed_at) AS last_order_at
    FROM orders GROUP BY 1
)
SELECT o.user_id,
       datediff(CAST({as_of} AS DATE), CAST(o.last_order_at AS DATE)) AS recency_days,
       o.orders,
       s.gross - coalesce(r.refunds, 0D) AS monetary
FROM per_user o
JOIN spend s ON s.user_id = o.user_id
LEFT JOIN refunds r ON r.user_id = o.user_id"""


def spark_rfm_table(data: EngineData, as_of: datetime) -> Any:
    """One row per buyer as of ``as_of``: R, F, M, the scores and the segment.

    The same rows and columns (:data:`RFM_COLUMNS`) as
    :func:`shopguide.analytics.rfm.rfm_table` gives on the same data.
    """
    spark = data.events.sparkSession
    data.events_until(as_of).createOrReplaceTempView("sg_rfm_events")
    buyers = spark.sql(_buyers_sql(timestamp_literal(as_of))).cache()
    scores = rfm_scores(buyers)
    return (
        buyers.join(scores, on="user_id")
        .withColumnRenamed("orders", "frequency")
        .select(*RFM_COLUMNS)
    )
