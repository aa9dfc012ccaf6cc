"""User-based CF on Spark, blockwise: the local :class:`~shopguide.recommend.UserKNN`.

Notation as in :mod:`shopguide.recommend.knn` (``u``, ``v`` users, ``i`` items, ``r`` the
interaction strength from :func:`~shopguide.engine.spark.knn.spark_interactions`)::

    sim(u, v)   = dot(u, v) / (sqrt(|u|^2 |v|^2) + shrink)            (cosine)
    score(u, i) = sum_{v in N_K(u)} w(u, v) r(v, i)
    w(u, v)     = sim(u, v) / sum_{N_K(u)} |sim|   ("neighbours", the local default)
                = sim(u, v)                         ("none")
    "rated":      score divided by sum_{v in N_K(u), r(v,i) != 0} |sim(u, v)|

**Blocks.** Users are hashed into ``blocks`` buckets. For one bucket at a time the job joins
the bucket's interactions with everybody's on the item (``dot`` for every pair ``(u, v)``
with ``u`` in the bucket), keeps each ``u``'s top ``K`` neighbours with a window, and scores
that bucket's users from their neighbours' rows right away. Only ``1/blocks`` of the
``sum_i users(i)^2`` pair rows is ever shuffled at once, and nothing bigger than ``K`` rows
per user is kept (written to Parquet per block); results do not depend on ``blocks``,
because a user's neighbours and scores depend only on that user's row and the others'.

**Exact parity.** Similarities, weights and scores are rounded to float32 at the same steps
as the local compiled path (see :mod:`shopguide.engine.spark.topn`), and every ranking
breaks ties by the smaller id (the local index is the sorted id), so neighbour lists and
top-N lists equal the local ones exactly (tested), with and without business rules.

**Pruning** (off by default, so exact means exact): ``max_item_users`` leaves items with more
users than that out of the dot products (a bestseller bought by a million users alone adds
10^12 pairs while saying little about any pair; the norms still count it, so similarities
only shrink), and ``min_co_items`` drops pairs sharing fewer items before the top-K window.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from shopguide.compat import require
from shopguide.engine.spark.io import write_parquet
from shopguide.engine.spark.topn import f32, normalised_weights, top_n
from shopguide.recommend.rules import RuleSet

__all__ = ["recommend_users", "user_block", "user_knn_blockwise", "user_neighbours"]

Similarity = Literal["cosine", "asymmetric", "jaccard"]
Normalize = Literal["neighbours", "rated", "none"]


def _f() -> Any:
    return require("pyspark.sql.functions", extra="spark", feature="the Spark engine")


def _window() -> Any:
    return require("pyspark.sql.window", extra="spark", feature="the Spark engine").Window


def user_block(blocks: int) -> Any:
    """The block (``0..blocks-1``) of each row's ``user_id``: a stable hash bucket."""
    F = _f()
    return F.pmod(F.xxhash64("user_id"), F.lit(blocks))


def _compared(interactions: Any, similarity: Similarity) -> Any:
    """``(user_id, item_id, r)`` as the similarity sees it (0/1 for jaccard, float32)."""
    F = _f()
    value = F.lit(1.0) if similarity == "jaccard" else f32(F.col("r"))
    return interactions.select("user_id", "item_id", value.alias("r"))


def _check(k: int, similarity: str, blocks: int) -> None:
    if k < 1:
        raise ValueError("k must be >= 1")
    if similarity not in ("cosine", "asymmetric", "jaccard"):
        raise ValueError(f"unknown similarity {similarity!r}")
    if blocks < 1:
        raise ValueError("blocks must be >= 1")


def _block_neighbours(
    compared: Any,
    norms: Any,
    left: Any,
    k: int,
    similarity: Similarity,
    shrink: float,
    alpha: float,
    max_item_users: int | None,
    min_co_items: int,
) -> Any:
    """Top-``k`` neighbours of the users in ``left`` (their rows of ``compared``)."""
    F, W = _f(), _window()
    right = compared
    if max_item_users is not None:
        popular = compared.groupBy("item_id").count().where(F.col("count") > max_item_users)
        right = right.join(popular.select("item_id"), on="item_id", how="left_anti")
        left = left.join(popular.select("item_id"), on="item_id", how="left_anti")
    a = left.select("user_id", "item_id", F.col("r").alias("ra"))
    b = right.select(F.col("user_id").alias("neighbour_id"), "item_id", F.col("r").alias("rb"))
    dots = (
        a.join(b, on="item_id")
        .where(F.col("user_id") != F.col("neighbour_id"))
        .groupBy("user_id", "neighbour_id")
        .agg(
            F.sum(f32(F.col("ra") * F.col("rb"))).alias("dot"),
            F.count(F.lit(1)).alias("co"),
        )
        .where(F.col("co") >= min_co_items)
    )
    na = norms.select("user_id", F.col("sq").alias("sa"))
    nb = norms.select(F.col("user_id").alias("neighbour_id"), F.col("sq").alias("sb"))
    dot, sa, sb = F.col("dot"), F.col("sa"), F.col("sb")
    if similarity == "cosine":
        denominator = F.sqrt(sa * sb) + F.lit(float(shrink))
    elif similarity == "asymmetric":
        denominator = F.pow(sa, F.lit(float(alpha))) * F.pow(sb, F.lit(1.0 - alpha)) + F.lit(
            float(shrink)
        )
    else:
        denominator = sa + sb - dot + F.lit(float(shrink))
    sim = F.when(denominator > 0, dot / denominator).otherwise(F.lit(0.0))
    order = W.partitionBy("user_id").orderBy(F.col("sim").desc(), F.col("neighbour_id").asc())
    return (
        dots.join(na, on="user_id")
        .join(nb, on="neighbour_id")
        .select("user_id", "neighbour_id", sim.alias("sim"))
        .where(F.col("sim") > 0)
        .select("user_id", "neighbour_id", f32(F.col("sim")).alias("sim"))
        .withColumn("rank", F.row_number().over(order))
        .where(F.col("rank") <= k)
    )


def _norms(compared: Any) -> Any:
    F = _f()
    return compared.groupBy("user_id").agg(F.sum(F.col("r") * F.col("r")).alias("sq"))


def user_neighbours(
    interactions: Any,
    k: int = 50,
    *,
    similarity: Similarity = "cosine",
    shrink: float = 0.0,
    alpha: float = 0.5,
    blocks: int = 1,
    block: int | None = None,
    max_item_users: int | None = None,
    min_co_items: int = 1,
) -> Any:
    """``(user_id, neighbour_id, sim, rank)``: every user's top-``k`` most similar users.

    Parameters
    ----------
    interactions:
        ``(user_id, item_id, r)`` from :func:`~shopguide.engine.spark.knn.spark_interactions`.
    k:
        Neighbours kept per user (the local ``UserKNN(k=...)``).
    similarity, shrink, alpha:
        As the local model (``"cosine"``, ``"asymmetric"``, ``"jaccard"``).
    blocks, block:
        With ``block`` given, only the users of that hash block (of ``blocks``); otherwise
        all users, as a union of the ``blocks`` block jobs.
    max_item_users, min_co_items:
        Pruning (see the module docstring); off by default.
    """
    _check(k, similarity, blocks)
    compared = _compared(interactions, similarity)
    norms = _norms(compared)

    def one(part: int | None) -> Any:
        left = compared if part is None else compared.where(user_block(blocks) == part)
        return _block_neighbours(
            left=left, compared=compared, norms=norms, k=k, similarity=similarity,
            shrink=shrink, alpha=alpha, max_item_users=max_item_users, min_co_items=min_co_items,
        )  # fmt: skip

    if block is not None or blocks == 1:
        return one(block if blocks > 1 else None)
    result = one(0)
    for part in range(1, blocks):
        result = result.unionByName(one(part))
    return result


def recommend_users(
    interactions: Any,
    neighbours: Any,
    n: int = 10,
    *,
    normalize: Normalize = "neighbours",
    train: Any = None,
    filter_already_liked: bool = True,
    items_blocked: Any = None,
    rules: RuleSet | None = None,
    items: Any = None,
) -> Any:
    """``(user_id, rank, item_id, score)``: top-``n`` for the users of ``neighbours``.

    Parameters
    ----------
    interactions:
        ``(user_id, item_id, r)`` of the users to recommend to (their seen items).
    neighbours:
        ``(user_id, neighbour_id, sim)`` from :func:`user_neighbours`.
    n:
        Items per user.
    normalize:
        ``"neighbours"`` (local default), ``"rated"`` or ``"none"`` (see the module doc).
    train:
        The neighbours' rows ``r(v, i)`` (default: ``interactions``; pass all users'
        interactions when ``interactions`` is one block of users).
    filter_already_liked, items_blocked, rules, items:
        As :func:`shopguide.engine.spark.topn.top_n` (the local ``RuleSet.recommend``).
    """
    F = _f()
    if normalize not in ("neighbours", "rated", "none"):
        raise ValueError("normalize must be 'neighbours', 'rated' or 'none'")
    train = interactions if train is None else train
    weights = normalised_weights(
        neighbours, "user_id", "neighbours" if normalize == "neighbours" else "none"
    )
    has = train.select(
        F.col("user_id").alias("neighbour_id"), "item_id", f32(F.col("r")).alias("r")
    )
    sums = (
        weights.join(has, on="neighbour_id")
        .groupBy("user_id", "item_id")
        .agg(
            F.sum(f32(F.col("w") * F.col("r"))).alias("acc"),
            F.sum(F.abs("w")).alias("den"),
        )
    )
    score = F.col("acc") / F.col("den") if normalize == "rated" else F.col("acc")
    scores = sums.select("user_id", "item_id", score.alias("score"))
    return top_n(
        scores, interactions, n, filter_already_liked=filter_already_liked,
        items_blocked=items_blocked, rules=rules, items=items,
    )  # fmt: skip


def user_knn_blockwise(
    interactions: Any,
    path: str | Path,
    *,
    k: int = 50,
    n: int = 10,
    blocks: int = 1,
    similarity: Similarity = "cosine",
    shrink: float = 0.0,
    alpha: float = 0.5,
    normalize: Normalize = "neighbours",
    max_item_users: int | None = None,
    min_co_items: int = 1,
    filter_already_liked: bool = True,
    items_blocked: Any = None,
    rules: RuleSet | None = None,
    items: Any = None,
) -> Path:
    """User-KNN for all users, one hash block of users per job: ``path/neighbours`` and
    ``path/recommendations`` (Parquet folders, replaced first).

    Each block's neighbours are computed once, cached while the block's users are scored,
    written, and dropped: the all-pairs similarity never exists at once. Parameters as
    :func:`user_neighbours` and :func:`recommend_users`.
    """
    _check(k, similarity, blocks)
    out = Path(path)
    compared = _compared(interactions, similarity).cache()
    norms = _norms(compared).cache()
    for part in range(blocks):
        in_block = user_block(blocks) == part
        left = compared.where(in_block) if blocks > 1 else compared
        neighbours = _block_neighbours(
            left=left, compared=compared, norms=norms, k=k, similarity=similarity,
            shrink=shrink, alpha=alpha, max_item_users=max_item_users, min_co_items=min_co_items,
        ).cache()  # fmt: skip
        write_parquet(
            neighbours.select("user_id", "neighbour_id", "sim", "rank"),
            out / "neighbours",
            append=part > 0,
        )
        own = interactions.where(in_block) if blocks > 1 else interactions
        recommendations = recommend_users(
            own, neighbours, n, normalize=normalize, train=interactions,
            filter_already_liked=filter_already_liked, items_blocked=items_blocked,
            rules=rules, items=items,
        )  # fmt: skip
        write_parquet(recommendations, out / "recommendations", append=part > 0)
        neighbours.unpersist()
    norms.unpersist()
    compared.unpersist()
    return out
