"""Item-based collaborative filtering on Spark: the local :class:`~shopguide.recommend.ItemKNN`.

Steps, each a DataFrame job (``u`` user, ``i``/``j`` items, ``r`` strength):

1. :func:`spark_interactions`: ``r(u, i) = sum(weight[event_type])`` over a user's events on
   the item (optionally times quantity, with half-life decay), negative totals clipped and
   zeros dropped, then rounded to float32 like the local matrix builder
   (:func:`shopguide.data.matrix.build_interactions`).
2. :func:`item_neighbours` (``mode="exact"``): ``dot(i, j) = sum_u r(u,i) r(u,j)`` by a
   self-join of the interactions on the user, ``sim = dot / (|i| |j| + shrink)``, keep
   ``sim > 0``, and the top ``k`` per item with a window ordered by similarity (desc) and
   item id (asc): the local tie rule, because the local item index is the sorted item id.
   The join emits ``sum_u deg(u)^2`` pairs, which is why ``max_user_items`` exists: it keeps
   only a user's strongest items (documented pruning; off by default, so exact means exact).
   ``mode="dimsum"`` uses MLlib's ``RowMatrix.columnSimilarities(threshold)`` (Zadeh & Goel's
   DIMSUM sampling): pairs whose cosine is clearly above ``threshold`` are estimated well,
   smaller ones may be dropped or noisy; cost no longer grows with the heaviest users.
3. :func:`recommend_all`: ``score(u, i) = sum_{j in N_K(i)} w(i, j) r(u, j)`` with
   ``w = sim / sum_{N_K(i)} |sim|`` (``normalize="neighbours"``, the local default) or
   ``w = sim`` (``"none"``); candidates are items with at least one neighbour the user has;
   items the user already has are excluded; top ``n`` per user ordered by score (desc) and
   item id (asc).

Similarities, weights and scores are rounded to float32 at the steps where the local
compiled path rounds (:mod:`shopguide.engine.spark.topn`), the cosine denominator is the
local ``sqrt(|i|^2 |j|^2)``, and the batch top-N goes through
:func:`~shopguide.engine.spark.topn.top_n`: the local seen-item filter and business rules
(:class:`~shopguide.recommend.rules.RuleSet`), ties to the smaller item id. User-based CF
is in :mod:`shopguide.engine.spark.userknn`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from shopguide.compat import require
from shopguide.data.matrix import DEFAULT_EVENT_WEIGHTS
from shopguide.engine.spark.io import timestamp_literal, write_parquet
from shopguide.engine.spark.topn import f32, normalised_weights, top_n
from shopguide.recommend.rules import RuleSet

__all__ = ["item_neighbours", "recommend_all", "recommend_blockwise", "spark_interactions"]

Mode = Literal["exact", "dimsum"]


def _f() -> Any:
    return require("pyspark.sql.functions", extra="spark", feature="the Spark engine")


def _window() -> Any:
    return require("pyspark.sql.window", extra="spark", feature="the Spark engine").Window


def spark_interactions(
    events: Any,
    weights: Mapping[str, float] = DEFAULT_EVENT_WEIGHTS,
    *,
    half_life_days: float | None = None,
    now: datetime | None = None,
    use_quantity: bool = False,
    binary: bool = False,
) -> Any:
    """``(user_id, item_id, r)``: the local interaction matrix as a DataFrame.

    Same rules as :func:`shopguide.data.matrix.build_interactions`: unknown event types
    weigh 0, decay ``0.5 ** (age_days / half_life_days)`` relative to ``now`` (default the
    latest event), ages clipped at 0, per-pair sums clipped at 0 and zeros dropped, values
    rounded to float32. ``binary=True`` sets every kept value to 1
    (:meth:`~shopguide.data.matrix.Interactions.binary`).
    """
    F = _f()
    if half_life_days is not None and half_life_days <= 0:
        raise ValueError("half_life_days must be positive")
    cases = F.lit(0.0)
    for event_type, weight in weights.items():
        cases = F.when(F.col("event_type") == event_type, F.lit(float(weight))).otherwise(cases)
    value = cases
    if use_quantity:
        value = value * F.coalesce(F.col("quantity"), F.lit(1.0))
    if half_life_days is not None:
        if now is None:  # the latest event, joined as a one-row column
            events = events.crossJoin(events.agg(F.max("timestamp").alias("_ref")))
            ref_expr = F.col("_ref")
        else:
            ref_expr = F.expr(timestamp_literal(now))
        age = (F.unix_micros(ref_expr) - F.unix_micros(F.col("timestamp"))) / 86_400e6
        value = value * F.pow(F.lit(0.5), F.greatest(age, F.lit(0.0)) / half_life_days)
    strength = F.lit(1.0) if binary else f32(F.col("r"))
    return (
        events.select("user_id", "item_id", value.alias("v"))
        .where(F.col("v") != 0)
        .groupBy("user_id", "item_id")
        .agg(F.sum("v").alias("r"))
        .where(F.col("r") > 0)
        .select("user_id", "item_id", strength.alias("r"))
    )


def _top_per_item(pairs: Any, k: int) -> Any:
    """Keep the ``k`` best ``(item_id, neighbour_id, sim)`` rows per item (local tie rule)."""
    F, W = _f(), _window()
    order = W.partitionBy("item_id").orderBy(F.col("sim").desc(), F.col("neighbour_id").asc())
    return (
        pairs.where(F.col("sim") > 0)
        .withColumn("sim", f32(F.col("sim")))  # the local model stores float32 similarities
        .withColumn("rank", F.row_number().over(order))
        .where(F.col("rank") <= k)
    )


def _cap_user_items(interactions: Any, max_user_items: int | None) -> Any:
    if max_user_items is None:
        return interactions
    F, W = _f(), _window()
    order = W.partitionBy("user_id").orderBy(F.col("r").desc(), F.col("item_id").asc())
    return (
        interactions.withColumn("_pos", F.row_number().over(order))
        .where(F.col("_pos") <= max_user_items)
        .drop("_pos")
    )


def item_neighbours(
    interactions: Any,
    k: int = 50,
    *,
    mode: Mode = "exact",
    shrink: float = 0.0,
    threshold: float = 0.1,
    max_user_items: int | None = None,
    min_co_users: int = 1,
) -> Any:
    """``(item_id, neighbour_id, sim, rank)``: each item's top-``k`` cosine neighbours.

    Parameters
    ----------
    interactions:
        ``(user_id, item_id, r)`` from :func:`spark_interactions`.
    k:
        Neighbours kept per item (the local ``ItemKNN(k=...)``).
    mode:
        ``"exact"`` (join-based, equal to the local engine) or ``"dimsum"`` (sampled).
    shrink:
        Added to the cosine's denominator (exact mode only, like the local ``shrink``).
    threshold:
        DIMSUM similarity threshold: pairs below it may be missed (dimsum mode only).
    max_user_items:
        Exact mode: use only each user's ``max_user_items`` strongest items for the
        co-occurrence (bounds the ``deg(u)^2`` pairs of heavy users; changes the result).
    min_co_users:
        Exact mode: drop pairs that fewer users share before the top-K window (2 removes the
        long tail of pairs seen once, most of the pairs at scale; changes the result).
    """
    if k < 1:
        raise ValueError("k must be >= 1")
    if mode == "exact":
        pairs = _exact_pairs(_cap_user_items(interactions, max_user_items), shrink, min_co_users)
    elif mode == "dimsum":
        pairs = _dimsum_pairs(interactions, threshold)
    else:
        raise ValueError(f"unknown mode {mode!r}; use 'exact' or 'dimsum'")
    return _top_per_item(pairs, k).select("item_id", "neighbour_id", "sim", "rank")


def _exact_pairs(interactions: Any, shrink: float, min_co_users: int = 1) -> Any:
    F = _f()
    # squared norms, and the local kernel's denominator sqrt(|a|^2 |b|^2) + shrink
    norms = interactions.groupBy("item_id").agg(F.sum(F.col("r") * F.col("r")).alias("sq"))
    left = interactions.select("user_id", F.col("item_id").alias("a"), F.col("r").alias("ra"))
    right = interactions.select("user_id", F.col("item_id").alias("b"), F.col("r").alias("rb"))
    dots = (
        left.join(right, on="user_id")
        .where(F.col("a") != F.col("b"))
        .groupBy("a", "b")
        .agg(
            F.sum(f32(F.col("ra") * F.col("rb"))).alias("dot"),
            F.count(F.lit(1)).alias("co"),
        )
        .where(F.col("co") >= min_co_users)
    )
    na = norms.select(F.col("item_id").alias("a"), F.col("sq").alias("sa"))
    nb = norms.select(F.col("item_id").alias("b"), F.col("sq").alias("sb"))
    denominator = F.sqrt(F.col("sa") * F.col("sb")) + F.lit(float(shrink))
    return (
        dots.join(na, on="a")
        .join(nb, on="b")
        .select(
            F.col("a").alias("item_id"),
            F.col("b").alias("neighbour_id"),
            F.when(denominator > 0, F.col("dot") / denominator).otherwise(0.0).alias("sim"),
        )
    )


def _index(frame: Any, column: str, name: str) -> Any:
    """Dense 0-based indices of the distinct values of ``column`` in sorted order."""
    spark = frame.sparkSession
    distinct = frame.select(column).distinct().orderBy(column)
    rdd = distinct.rdd.zipWithIndex().map(lambda row: (row[0][0], int(row[1])))
    return spark.createDataFrame(rdd, f"{column} STRING, {name} BIGINT")


def _dimsum_pairs(interactions: Any, threshold: float) -> Any:
    F = _f()
    linalg = require("pyspark.mllib.linalg", extra="spark", feature="DIMSUM similarities")
    distributed = require(
        "pyspark.mllib.linalg.distributed", extra="spark", feature="DIMSUM similarities"
    )
    items = _index(interactions, "item_id", "col")
    n_items = items.count()
    rows = (
        interactions.join(items, on="item_id")
        .groupBy("user_id")
        .agg(F.sort_array(F.collect_list(F.struct("col", "r"))).alias("cells"))
    )
    vectors = rows.rdd.map(
        lambda row: linalg.Vectors.sparse(
            n_items, [c["col"] for c in row["cells"]], [c["r"] for c in row["cells"]]
        )
    )
    matrix = distributed.RowMatrix(vectors, numCols=n_items)
    entries = matrix.columnSimilarities(threshold).entries.map(
        lambda e: (int(e.i), int(e.j), float(e.value))
    )
    spark = interactions.sparkSession
    upper = spark.createDataFrame(entries, "a BIGINT, b BIGINT, sim DOUBLE")
    both = upper.unionByName(upper.select(F.col("b").alias("a"), F.col("a").alias("b"), "sim"))
    names_a = items.select(F.col("col").alias("a"), F.col("item_id"))
    names_b = items.select(F.col("col").alias("b"), F.col("item_id").alias("neighbour_id"))
    return both.join(names_a, on="a").join(names_b, on="b").select("item_id", "neighbour_id", "sim")


def recommend_all(
    interactions: Any,
    neighbours: Any,
    n: int = 10,
    *,
    normalize: Literal["neighbours", "none"] = "neighbours",
    neighbourhood: Literal["candidate", "history"] = "candidate",
    filter_already_liked: bool = True,
    items_blocked: Any = None,
    rules: RuleSet | None = None,
    items: Any = None,
) -> Any:
    """``(user_id, rank, item_id, score)``: the top-``n`` items of every user.

    Parameters
    ----------
    interactions:
        ``(user_id, item_id, r)``: what each user has (scored from and filtered out).
    neighbours:
        ``(item_id, neighbour_id, sim)`` from :func:`item_neighbours`.
    n:
        Items per user.
    normalize:
        ``"neighbours"`` divides each item's similarities by their sum (the local default),
        ``"none"`` keeps the plain weighted sum.
    neighbourhood:
        ``"candidate"`` (local default): ``N_K`` of the candidate item counts,
        ``score(u,i) = sum_{j in N_K(i)} w(i,j) r(u,j)``; ``"history"``: each item ``j`` the
        user has votes for its own neighbours, ``score(u,i) = sum_{j: i in N_K(j)} w(j,i) r(u,j)``.
    filter_already_liked:
        Leave out items the user has (as the local ``recommend``).
    items_blocked:
        Optional DataFrame with an ``item_id`` column of items never to recommend.
    rules, items:
        A local :class:`~shopguide.recommend.rules.RuleSet` and the items table
        (``item_id, category, brand, price, in_stock``): the same lists as the local
        ``RuleSet.recommend`` (see :func:`~shopguide.engine.spark.topn.top_n`).
    """
    F = _f()
    if normalize not in ("neighbours", "none"):
        raise ValueError("normalize must be 'neighbours' or 'none' on Spark")
    if neighbourhood not in ("candidate", "history"):
        raise ValueError("neighbourhood must be 'candidate' or 'history'")
    weights = normalised_weights(neighbours, "item_id", normalize)
    if neighbourhood == "history":  # the user's item j is the row, its neighbour the candidate
        weights = weights.select(
            F.col("neighbour_id").alias("item_id"), F.col("item_id").alias("neighbour_id"), "w"
        )
    has = interactions.select("user_id", F.col("item_id").alias("neighbour_id"), "r")
    # a shuffled hash join: planned before the cached inputs exist, Spark broadcast one side
    # here and the 300k-event benchmark went from about 100 s to over 400 s
    scores = (
        has.join(weights.hint("shuffle_hash"), on="neighbour_id")
        .groupBy("user_id", "item_id")
        .agg(F.sum(f32(F.col("w") * F.col("r"))).alias("score"))
    )
    return top_n(
        scores, interactions, n, filter_already_liked=filter_already_liked,
        items_blocked=items_blocked, rules=rules, items=items,
    )  # fmt: skip


def recommend_blockwise(
    interactions: Any,
    neighbours: Any,
    path: str | Path,
    n: int = 10,
    *,
    blocks: int = 1,
    normalize: Literal["neighbours", "none"] = "neighbours",
    neighbourhood: Literal["candidate", "history"] = "candidate",
    rules: RuleSet | None = None,
    items: Any = None,
) -> Path:
    """:func:`recommend_all` run over ``blocks`` hash buckets of users, one job each.

    Each block's scoring join (the user's items x their items' inverted neighbour lists)
    is ``1/blocks`` of the whole, so its shuffle stays bounded at any user count; each block
    is appended to the Parquet folder ``path`` (replaced first). Results equal
    :func:`recommend_all`: a user's list depends only on that user's rows.
    """
    from shopguide.engine.spark.userknn import user_block

    if blocks < 1:
        raise ValueError("blocks must be >= 1")
    neighbours = neighbours.select("item_id", "neighbour_id", "sim").cache()
    bucket = user_block(blocks)
    for block in range(blocks):
        part = interactions.where(bucket == block) if blocks > 1 else interactions
        write_parquet(
            recommend_all(
                part,
                neighbours,
                n,
                normalize=normalize,
                neighbourhood=neighbourhood,
                rules=rules,
                items=items,
            ),
            path,
            append=block > 0,
        )
    neighbours.unpersist()
    return Path(path)
