"""Item- and user-KNN on Spark with the local engine's own code in the tasks (``mode="broadcast"``).

The join-based exact mode (:mod:`shopguide.engine.spark.knn`) expresses everything as
DataFrame joins: the similarities shuffle ``sum_u deg(u)^2`` item pairs, the scores one row
per (user item, item that lists it as a neighbour). On the 10M-event benchmark that is 126M
pair rows and several hundred million score rows, which two cores do not get through in
15 minutes. Yet the interaction matrix itself is small (5.4M user-item cells, about 90 MB
in both orientations). This mode ships it once and keeps the work in compiled code:

1. the interactions are aggregated on Spark (:func:`~shopguide.engine.spark.knn.spark_interactions`)
   and collected as one sparse matrix over the sorted user and item ids (the local
   :func:`~shopguide.data.matrix.build_interactions` order);
2. the matrix is broadcast; each similarity task takes a block of items and runs the local
   compiled top-K kernel (:func:`shopguide.recommend.knn.neighbours_block`) against the whole
   matrix. No shuffle: each task returns ``k`` rows per item;
3. the neighbour matrix (``k`` per item) is assembled on the driver into a local
   :class:`~shopguide.recommend.ItemKNN` and broadcast; each scoring task takes a block of
   users and runs ``ItemKNN.recommend`` (or ``RuleSet.recommend`` with the business rules).

User-KNN (:func:`user_knn_broadcast`) works the same way with blocks of users: the
similarity tasks compare each block's rows with every user, and the scoring model is a
local :class:`~shopguide.recommend.UserKNN` (neighbours plus the broadcast matrix).

The neighbours, scores and lists are therefore the local engine's, bit for bit (tested).
The limit is memory, not time: the driver and every executor hold the matrix (about 16
bytes per user-item cell plus the id strings): fine to a few hundred million cells, beyond
that the join mode with pruning (``max_user_items``, ``min_co_users``) or DIMSUM is the way
(docs/spark.md).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp

from shopguide.columns import Columns
from shopguide.data.idmap import IdMap
from shopguide.engine.spark.io import write_parquet
from shopguide.recommend.knn import (
    ItemKNN,
    Normalize,
    Similarity,
    UserKNN,
    kernel_inputs,
    neighbours_block,
    rows_to_csr,
)
from shopguide.recommend.rules import ItemCatalog, RuleSet

__all__ = ["BroadcastKNN", "item_knn_broadcast", "user_knn_broadcast"]

#: Rows per task, at most (and at least twice as many tasks as cores, so slow blocks even
#: out): items per item-similarity task, users per scoring task; a user-similarity task
#: takes a tenth of ``USERS_PER_TASK`` (each user row is compared with every user).
ITEMS_PER_TASK = 2_000
USERS_PER_TASK = 25_000


_SQL_TYPES = {pa.string(): "STRING", pa.float64(): "DOUBLE", pa.int32(): "INT"}


def _ddl(schema: pa.Schema) -> str:
    """The Spark DDL string of an Arrow schema the tasks write (mapInArrow needs both)."""
    return ", ".join(f"{field.name} {_SQL_TYPES[field.type]}" for field in schema)


def _neighbour_schema(key: str) -> pa.Schema:
    return pa.schema(
        [(key, pa.string()), ("neighbour_id", pa.string()), ("sim", pa.float64()),
         ("rank", pa.int32()), ("_row", pa.int32()), ("_col", pa.int32())]
    )  # fmt: skip


_RECOMMENDATIONS = pa.schema(
    [("user_id", pa.string()), ("rank", pa.int32()), ("item_id", pa.string()),
     ("score", pa.float64())]
)  # fmt: skip


@dataclass
class BroadcastKNN:
    """What :func:`item_knn_broadcast` or :func:`user_knn_broadcast` computed.

    ``neighbours`` ``(item_id | user_id, neighbour_id, sim, rank)`` and ``recommendations``
    ``(user_id, rank, item_id, score)`` are Spark DataFrames (the neighbours cached);
    ``model`` is the equivalent fitted local :class:`~shopguide.recommend.ItemKNN` or
    :class:`~shopguide.recommend.UserKNN` over ``users`` x ``items`` (sorted ids), ready to
    save or publish.
    """

    neighbours: Any
    recommendations: Any
    model: ItemKNN | UserKNN
    users: IdMap
    items: IdMap

    def write(self, folder: str | Path) -> Path:
        """Write ``folder/neighbours`` and ``folder/recommendations`` (Parquet, replaced),
        then drop the cached neighbour table."""
        out = Path(folder)
        write_parquet(self.neighbours, out / "neighbours")
        write_parquet(self.recommendations, out / "recommendations")
        self.neighbours.unpersist()
        return out


def _to_pandas(frame: Any) -> pd.DataFrame:
    """Collect a DataFrame through Arrow (``toArrow`` on Spark 4, ``toPandas`` before)."""
    if hasattr(frame, "toArrow"):
        return frame.toArrow().to_pandas()
    return frame.toPandas()  # pragma: no cover - Spark 3.5


def _collect_matrix(interactions: Any) -> tuple[sp.csr_matrix, IdMap, IdMap]:
    """The ``(user_id, item_id, r)`` rows as a users x items CSR over the sorted ids."""
    rows = _to_pandas(interactions.select("user_id", "item_id", "r"))
    user_codes, user_ids = pd.factorize(rows["user_id"].astype(str), sort=True)
    item_codes, item_ids = pd.factorize(rows["item_id"].astype(str), sort=True)
    matrix = sp.csr_matrix(
        (rows["r"].to_numpy(np.float32), (user_codes, item_codes)),
        shape=(len(user_ids), len(item_ids)),
        dtype=np.float32,
    )
    matrix.sort_indices()
    users = IdMap(np.asarray(user_ids, dtype=object), kind="user")
    items = IdMap(np.asarray(item_ids, dtype=object), kind="item")
    return matrix, users, items


def _tasks(spark: Any, n_rows: int, per_task: int) -> tuple[Any, int]:
    """One row per task (``id`` = block number) and the block size."""
    wanted = max(2 * spark.sparkContext.defaultParallelism, math.ceil(n_rows / per_task))
    count = max(1, min(n_rows, wanted))
    return spark.range(0, count, 1, numPartitions=count), math.ceil(max(n_rows, 1) / count)


def _row_ranges(batches: Iterator[pa.RecordBatch], step: int, n_rows: int) -> Iterator[range]:
    """The row ranges of the block numbers a task receives (empty tail blocks skipped)."""
    for batch in batches:
        for block in batch.column("id").to_pylist():
            lo, hi = block * step, min(n_rows, (block + 1) * step)
            if lo < hi:
                yield range(lo, hi)


def _neighbour_blocks(shared: Any, key: str, k: int, options: dict[str, Any], step: int) -> Any:
    """The mapInArrow function of the similarity tasks: top-``k`` rows per compared row."""
    schema = _neighbour_schema(key)

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        inputs, row_ids = shared.value
        for block in _row_ranges(batches, step, inputs[0].shape[0]):
            lo = block.start
            # one core per task (the default): Spark runs the tasks side by side
            ids, vals = neighbours_block(inputs, lo, block.stop, k, **options)
            row, pos = np.nonzero(ids >= 0)
            col, sim = ids[row, pos], vals[row, pos]
            order = np.lexsort((col, -sim, row))  # per row: best first, then smaller id
            row, col, sim = row[order], col[order], sim[order]
            starts = np.searchsorted(row, row, side="left")
            rank = (np.arange(len(row)) - starts + 1).astype(np.int32)
            yield pa.RecordBatch.from_arrays(
                [
                    pa.array(row_ids[row + lo], pa.string()),
                    pa.array(row_ids[col], pa.string()),
                    pa.array(sim.astype(np.float64)),
                    pa.array(rank),
                    pa.array((row + lo).astype(np.int32)),
                    pa.array(col.astype(np.int32)),
                ],
                schema=schema,
            )

    return run


def _recommendation_blocks(shared: Any, n: int, rules: RuleSet | None, step: int) -> Any:
    """The mapInArrow function of the scoring tasks: the local top-``n`` per user."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        model, user_items, catalog, user_ids, item_ids = shared.value
        for block in _row_ranges(batches, step, user_items.shape[0]):
            users = np.arange(block.start, block.stop)
            if rules is not None:  # the model scores on one core (num_threads=1)
                ids, scores = rules.recommend(
                    model, users, user_items, catalog, n=n, full_matrix=True
                )
            else:
                ids, scores = model.recommend(users, user_items, n=n, full_matrix=True)
            row, pos = np.nonzero(ids >= 0)
            yield pa.RecordBatch.from_arrays(
                [
                    pa.array(user_ids[users[row]], pa.string()),
                    pa.array((pos + 1).astype(np.int32)),
                    pa.array(item_ids[ids[row, pos]], pa.string()),
                    pa.array(scores[row, pos].astype(np.float64)),
                ],
                schema=_RECOMMENDATIONS,
            )

    return run


def _catalog(items: Any, item_map: IdMap) -> ItemCatalog:
    wanted = [c for c in (Columns.ITEM_ID, "category", "brand", "price", "in_stock", "title")
              if c in items.columns]  # fmt: skip
    return ItemCatalog.from_frame(_to_pandas(items.select(*wanted)), item_map)


def _validate(k: int, n: int, rules: RuleSet | None, items: Any) -> bool:
    if k < 1:
        raise ValueError("k must be >= 1")
    if n < 0:
        raise ValueError("n must be >= 0")
    use_rules = rules is not None and bool(rules.rules)
    if use_rules and items is None:
        raise ValueError("rules need the items table")
    return use_rules


def _neighbour_matrix(
    spark: Any,
    inputs: tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray],
    row_ids: np.ndarray,
    key: str,
    k: int,
    options: dict[str, Any],
    per_task: int,
) -> tuple[Any, sp.csr_matrix]:
    """Run the similarity tasks: the cached neighbour table and the local neighbour CSR."""
    n = inputs[0].shape[0]
    shared = spark.sparkContext.broadcast((inputs, row_ids))
    tasks, step = _tasks(spark, n, per_task)
    schema = _ddl(_neighbour_schema(key))
    raw = tasks.mapInArrow(_neighbour_blocks(shared, key, k, options, step), schema).cache()
    cells = _to_pandas(raw.select("_row", "_col", "sim"))
    shared.unpersist()
    # back to the kernel's padded (rows x k) arrays, then the local fit's own CSR builder
    ids = np.full((n, k), -1, dtype=np.int32)
    vals = np.full((n, k), -np.inf, dtype=np.float32)
    rows = cells["_row"].to_numpy()
    slot = np.zeros(len(rows), dtype=np.int64)
    if len(rows):
        order = np.argsort(rows, kind="stable")
        sorted_rows = rows[order]
        slot[order] = np.arange(len(rows)) - np.searchsorted(sorted_rows, sorted_rows)
    ids[rows, slot] = cells["_col"].to_numpy()
    vals[rows, slot] = cells["sim"].to_numpy(np.float32)
    return raw.select(key, "neighbour_id", "sim", "rank"), rows_to_csr(ids, vals, n)


def _recommendations(
    spark: Any,
    model: ItemKNN | UserKNN,
    user_items: sp.csr_matrix,
    users: IdMap,
    item_map: IdMap,
    n: int,
    rules: RuleSet | None,
    items: Any,
) -> Any:
    """The lazy scoring job: every user's top-``n`` with the local model (and rules)."""
    catalog = _catalog(items, item_map) if rules is not None else None
    user_ids = np.asarray(users.external_ids, dtype=object)
    item_ids = np.asarray(item_map.external_ids, dtype=object)
    scoring = spark.sparkContext.broadcast((model, user_items, catalog, user_ids, item_ids))
    tasks, step = _tasks(spark, user_items.shape[0], USERS_PER_TASK)
    return tasks.mapInArrow(_recommendation_blocks(scoring, n, rules, step), _ddl(_RECOMMENDATIONS))


def item_knn_broadcast(
    interactions: Any,
    k: int = 50,
    n: int = 10,
    *,
    shrink: float = 0.0,
    normalize: Literal["neighbours", "none"] = "neighbours",
    neighbourhood: Literal["candidate", "history"] = "candidate",
    rules: RuleSet | None = None,
    items: Any = None,
) -> BroadcastKNN:
    """Item-item cosine top-``k`` and every user's top-``n``, computed in Spark tasks.

    Parameters are those of :func:`~shopguide.engine.spark.knn.item_neighbours` and
    :func:`~shopguide.engine.spark.knn.recommend_all` (``rules`` with the ``items`` table:
    the local ``RuleSet.recommend``). The similarity job runs when this is called (its
    result is needed to build the scoring model); the recommendations DataFrame is lazy.
    """
    use_rules = _validate(k, n, rules, items)
    if normalize not in ("neighbours", "none"):
        raise ValueError("normalize must be 'neighbours' or 'none' on Spark")
    if neighbourhood not in ("candidate", "history"):
        raise ValueError("neighbourhood must be 'candidate' or 'history'")
    spark = interactions.sparkSession
    user_items, users, item_map = _collect_matrix(interactions)
    # the local fit's inputs: items x users rows, their transpose the users x items matrix
    inputs = kernel_inputs(user_items.T.tocsr(), user_items)
    item_ids = np.asarray(item_map.external_ids, dtype=object)
    table, neighbours = _neighbour_matrix(
        spark, inputs, item_ids, "item_id", k, {"shrink": shrink}, ITEMS_PER_TASK
    )
    model = ItemKNN(
        k=k, shrink=shrink, normalize=normalize, neighbourhood=neighbourhood, num_threads=1
    )
    model.set_neighbours(neighbours, user_items)
    recommendations = _recommendations(
        spark, model, user_items, users, item_map, n, rules if use_rules else None, items
    )
    return BroadcastKNN(table, recommendations, model, users, item_map)


def user_knn_broadcast(
    interactions: Any,
    k: int = 50,
    n: int = 10,
    *,
    similarity: Similarity = "cosine",
    shrink: float = 0.0,
    alpha: float = 0.5,
    normalize: Normalize = "neighbours",
    rules: RuleSet | None = None,
    items: Any = None,
) -> BroadcastKNN:
    """User-user top-``k`` neighbours and every user's top-``n``, computed in Spark tasks.

    Parameters are those of the local :class:`~shopguide.recommend.UserKNN` (``similarity``
    cosine, asymmetric or jaccard; ``normalize`` neighbours, rated or none) and of
    :func:`~shopguide.engine.spark.userknn.user_knn_blockwise` for ``rules``/``items``; the
    neighbour table has ``user_id`` as its first column.
    """
    use_rules = _validate(k, n, rules, items)
    model = UserKNN(
        k=k, similarity=similarity, shrink=shrink, alpha=alpha, normalize=normalize,
        num_threads=1,
    )  # fmt: skip
    spark = interactions.sparkSession
    user_items, users, item_map = _collect_matrix(interactions)
    inputs = kernel_inputs(user_items, None, similarity)
    options = {"similarity": similarity, "shrink": shrink, "alpha": alpha}
    user_ids = np.asarray(users.external_ids, dtype=object)
    table, neighbours = _neighbour_matrix(
        spark, inputs, user_ids, "user_id", k, options, USERS_PER_TASK // 10
    )
    model.set_neighbours(neighbours, user_items)
    recommendations = _recommendations(
        spark, model, user_items, users, item_map, n, rules if use_rules else None, items
    )
    return BroadcastKNN(table, recommendations, model, users, item_map)
