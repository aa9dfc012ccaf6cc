"""RFM scores and segments on Spark, identical to :mod:`shopguide.profiles.lifecycle`.

:func:`spark_rfm_table` runs the local RFM statement translated to Spark SQL; only the
scores are computed differently, by :func:`rfm_scores`, for scale:

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

from shopguide.analytics.rfm import RFM_CTES
from shopguide.compat import require
from shopguide.engine.spark.dialect import to_spark
from shopguide.engine.spark.io import EngineData
from shopguide.profiles.lifecycle import SEGMENT_GRID

__all__ = ["RFM_COLUMNS", "quintile_scores", "rfm_scores", "spark_rfm_table"]

#: Prefix of this job's temporary views.
PREFIX: Final = "sgr_"
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


def spark_rfm_table(data: EngineData, as_of: datetime) -> Any:
    """One row per buyer as of ``as_of``: R, F, M, the scores and the segment.

    The statement of :func:`shopguide.analytics.rfm.rfm_table` (:data:`~shopguide.analytics.
    rfm.RFM_CTES`), translated by :mod:`shopguide.engine.spark.dialect`, except its scores,
    which :func:`rfm_scores` computes; the same rows and columns (:data:`RFM_COLUMNS`).
    """
    spark = data.events.sparkSession
    data.events_until(as_of).createOrReplaceTempView(f"{PREFIX}events")
    data.items.createOrReplaceTempView(f"{PREFIX}items")
    statement = to_spark(f"WITH {RFM_CTES} SELECT * FROM rfm", as_of=as_of, prefix=PREFIX)
    for name, sql in statement.ctes.items():
        if name == "rfm_scores":
            frame = rfm_scores(spark.table(f"{PREFIX}buyers"))
        else:
            frame = spark.sql(sql)
            if name == "buyers":
                frame = frame.cache()
        frame.createOrReplaceTempView(PREFIX + name)
    return spark.sql(statement.query).select(*RFM_COLUMNS)
