"""Implicit-feedback ALS with Spark MLlib, handed back as a local ShopGuide model.

:func:`fit_spark_als` trains ``pyspark.ml.recommendation.ALS(implicitPrefs=True)`` on the
interaction strengths of :func:`~shopguide.engine.spark.knn.spark_interactions`. Users and
items are indexed by their sorted ids (the local :class:`~shopguide.data.idmap.IdMap`
order), so the learned factors drop straight into a local
:class:`shopguide.recommend.mf.ALS`: scoring, seen-item filtering, business rules, saving
(arrays + JSON, no pickle) and the service are then exactly the local ones.
:func:`recommend_all_als` is the batch alternative that stays on the cluster.

The two trainers solve slightly different objectives, so parity is a metric tolerance, not
equal factors: Spark's confidence is ``1 + alpha * r`` and its ``regParam`` is scaled by each
user's / item's number of interactions (ALS-WR), while ``implicit`` uses ``alpha * r`` as
the confidence and an unscaled ``regularization``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from shopguide.compat import require
from shopguide.data.idmap import IdMap
from shopguide.engine.spark.rules import rule_table
from shopguide.engine.spark.topn import top_n
from shopguide.recommend.mf import ALS
from shopguide.recommend.rules import RuleSet

__all__ = ["SparkALSResult", "fit_spark_als", "recommend_all_als"]


def _f() -> Any:
    return require("pyspark.sql.functions", extra="spark", feature="the Spark engine")


@dataclass
class SparkALSResult:
    """A fitted Spark ALS: the MLlib model, its indices and the equivalent local model."""

    spark_model: Any
    users: IdMap
    items: IdMap
    model: ALS
    indexed: Any  # (user_id, item_id, u, i, r) DataFrame used for training (cached)


def _index(frame: Any, column: str, name: str) -> tuple[Any, IdMap]:
    spark = frame.sparkSession
    ids = sorted(str(r[0]) for r in frame.select(column).distinct().collect())
    mapping = IdMap(ids, kind=column.removesuffix("_id"))
    table = spark.createDataFrame(
        [(v, i) for i, v in enumerate(ids)], f"{column} STRING, {name} INT"
    )
    return table, mapping


def fit_spark_als(
    interactions: Any,
    *,
    factors: int = 64,
    regularization: float = 0.01,
    alpha: float = 1.0,
    iterations: int = 15,
    random_state: int = 42,
    block_size: int | None = None,
) -> SparkALSResult:
    """Train MLlib implicit ALS on ``(user_id, item_id, r)`` and wrap it as a local model.

    Parameters map to MLlib as ``rank=factors, regParam=regularization, alpha=alpha,
    maxIter=iterations, seed=random_state``. The id tables are collected to the driver
    (sorted ids; fine up to tens of millions of ids). ``block_size`` sets MLlib's
    ``numUserBlocks``/``numItemBlocks`` (default: Spark's, 10).
    """
    recommendation = require("pyspark.ml.recommendation", extra="spark", feature="ALS on Spark")
    F = _f()
    user_table, users = _index(interactions, "user_id", "u")
    item_table, items = _index(interactions, "item_id", "i")
    # cached: training reads it once, batch top-N (ids, seen items) several times more
    indexed = (
        interactions.join(F.broadcast(user_table), on="user_id")
        .join(F.broadcast(item_table), on="item_id")
        .cache()
    )
    params: dict[str, Any] = {
        "rank": factors,
        "regParam": regularization,
        "alpha": alpha,
        "maxIter": iterations,
        "seed": random_state,
        "implicitPrefs": True,
        "userCol": "u",
        "itemCol": "i",
        "ratingCol": "r",
        "coldStartStrategy": "drop",
    }
    if block_size is not None:
        params["numUserBlocks"] = block_size
        params["numItemBlocks"] = block_size
    spark_model = recommendation.ALS(**params).fit(indexed)
    user_factors = _factors(spark_model.userFactors, len(users), factors)
    item_factors = _factors(spark_model.itemFactors, len(items), factors)
    local = ALS(
        factors=factors,
        regularization=regularization,
        alpha=alpha,
        iterations=iterations,
        random_state=random_state,
    )
    local.user_factors_ = user_factors
    local.item_factors_ = item_factors
    local.n_users_, local.n_items_ = len(users), len(items)
    return SparkALSResult(spark_model, users, items, local, indexed)


def _factors(frame: Any, n: int, rank: int) -> np.ndarray:
    """Collect an MLlib factor table ``(id, features)`` into a dense float32 array."""
    out = np.zeros((n, rank), dtype=np.float32)
    for row in frame.toLocalIterator():
        out[int(row["id"])] = np.asarray(row["features"], dtype=np.float32)
    return out


def recommend_all_als(
    result: SparkALSResult,
    n: int = 10,
    *,
    max_seen: int | None = None,
    filter_already_liked: bool = True,
    items_blocked: Any = None,
    rules: RuleSet | None = None,
    items: Any = None,
) -> Any:
    """``(user_id, rank, item_id, score)`` for all users on the cluster, seen items excluded.

    MLlib's ``recommendForAllUsers`` cannot filter, so it is asked for enough items that
    the filters cannot run it dry: ``n`` (``n * overfetch`` with a
    :class:`~shopguide.recommend.rules.MaxPerCategory` rule) plus ``max_seen`` (default: the
    largest number of items a user has) plus the number of items the rules or
    ``items_blocked`` exclude. The candidates then go through the same top-N as the
    neighbourhood models (:func:`~shopguide.engine.spark.topn.top_n`: seen items,
    repurchase exemptions, blocked and disallowed items, diversity, ties to the smaller
    item id), so the lists are the local ``RuleSet.recommend`` on the same factors.
    """
    F = _f()
    seen = result.indexed.select("u", "i")
    if max_seen is None:
        max_seen = int(seen.groupBy("u").count().agg(F.max("count")).first()[0] or 0)
    item_names = result.indexed.select("i", "item_id").distinct()
    excluded = 0
    fetch = n
    if rules is not None and rules.rules:
        if items is None:
            raise ValueError("rules need the items table")
        table = rule_table(rules, items)
        if table.filters:
            excluded += table.lookup(item_names).where(~F.col("allowed")).count()
        if table.cap is not None:
            fetch = n * table.overfetch
    if items_blocked is not None:
        excluded += items_blocked.select("item_id").distinct().count()
    wanted = min(len(result.items), fetch + (max_seen if filter_already_liked else 0) + excluded)
    raw = result.spark_model.recommendForAllUsers(max(wanted, 1))
    exploded = raw.select("u", F.explode("recommendations").alias("rec")).select(
        "u", F.col("rec.i").alias("i"), F.col("rec.rating").cast("double").alias("score")
    )
    names = result.indexed.select("u", "user_id").distinct()
    scores = exploded.join(names, on="u").join(item_names, on="i")
    return top_n(
        scores.select("user_id", "item_id", "score"),
        result.indexed.select("user_id", "item_id"),
        n,
        filter_already_liked=filter_already_liked,
        items_blocked=items_blocked,
        rules=rules,
        items=items,
    )
