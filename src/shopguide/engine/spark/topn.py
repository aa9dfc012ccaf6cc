"""Batch top-N on Spark with the local engine's arithmetic, tie rule and business rules.

Exact parity with the local neighbourhood models needs more than the same formula: the
local engine stores similarities and weights as float32 and ranks float32 scores, so two
items whose float64 scores differ in the 9th digit can be *equal* locally (and then the
smaller item id wins). The helpers here reproduce each float32 rounding of the local
compiled path (:mod:`shopguide.recommend._kernels`):

- :func:`f32`: round a double to float32 (Spark's ``CAST(x AS FLOAT)`` is IEEE
  round-to-nearest). A single ``+ - * /`` or ``sqrt`` of float32 inputs computed in double
  and then rounded equals the float32 operation, so one rounding per local float32 step is
  exact;
- :func:`float32_total`: the row sum of ``|weights|`` that ``_row_normalized`` divides by,
  summed in float32 in numpy's order (``np.add.reduceat``: the first value plus numpy's
  8-way pairwise sum of the rest), written with Spark's higher-order array functions;
- :func:`normalised_weights`: ``w = f32(f32(1 / total) * sim)`` per neighbour row;
- :func:`top_n`: the seen-item filter (with :class:`~shopguide.recommend.rules.Repurchase`
  exemptions), blocked items, the allowed mask of the rules, float32 ranking with the
  smaller item id first, and :class:`~shopguide.recommend.rules.MaxPerCategory` applied
  greedily to the first ``n * overfetch`` candidates, as :meth:`RuleSet.recommend` does.

Contributions ``f32(w * r)`` are then summed in float64 like the local kernel's accumulator.
"""

from __future__ import annotations

from typing import Any, Literal

from shopguide.compat import require
from shopguide.engine.spark.rules import RuleTable, rule_table
from shopguide.recommend.rules import RuleSet

__all__ = ["f32", "float32_total", "normalised_weights", "top_n"]

#: Longest neighbour list whose float32 total is summed in numpy's exact order; longer
#: lists (numpy recurses in halves beyond 128 values) are summed in float64 and rounded.
PAIRWISE_BLOCK = 128


def _f() -> Any:
    return require("pyspark.sql.functions", extra="spark", feature="the Spark engine")


def _window() -> Any:
    return require("pyspark.sql.window", extra="spark", feature="the Spark engine").Window


def f32(column: Any) -> Any:
    """``column`` rounded to float32 (and back to double, for exact double arithmetic)."""
    return column.cast("float").cast("double")


def float32_total(values: str) -> str:
    """SQL for numpy's float32 ``add.reduceat`` of the array column ``values`` (FLOAT).

    ``reduceat`` starts from the first value and adds numpy's pairwise sum of the rest:
    fewer than 8 values are added in order from 0; otherwise 8 running sums over the
    multiples of 8, combined as ``((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7))``, then the remainder
    in order. Spark adds FLOAT values in float32, so the result is bit-identical.
    """
    rest = f"slice({values}, 2, size({values}) - 1)"
    m = f"(size({values}) - 1)"
    full = f"({m} - {m} % 8)"
    zero = "CAST(0 AS FLOAT)"
    short = f"aggregate({rest}, {zero}, (acc, x) -> acc + x)"
    lanes = [
        f"aggregate(filter({rest}, (x, i) -> i % 8 = {j} AND i >= 8 AND i < {full}), "
        f"element_at({rest}, {j + 1}), (acc, x) -> acc + x)"
        for j in range(8)
    ]
    combined = (
        f"((({lanes[0]}) + ({lanes[1]})) + (({lanes[2]}) + ({lanes[3]}))) + "
        f"((({lanes[4]}) + ({lanes[5]})) + (({lanes[6]}) + ({lanes[7]})))"
    )
    long = f"aggregate(filter({rest}, (x, i) -> i >= {full}), {combined}, (acc, x) -> acc + x)"
    return (
        f"CASE WHEN size({values}) = 1 THEN element_at({values}, 1) "
        f"WHEN {m} < 8 THEN element_at({values}, 1) + {short} "
        f"WHEN {m} <= {PAIRWISE_BLOCK} THEN element_at({values}, 1) + ({long}) "
        f"ELSE CAST(aggregate({values}, CAST(0 AS DOUBLE), (acc, x) -> acc + x) AS FLOAT) END"
    )


def normalised_weights(
    neighbours: Any,
    row: str,
    normalize: Literal["neighbours", "none"] = "neighbours",
) -> Any:
    """``(row, neighbour_id, w)``: similarities (float32) divided as the local model does.

    ``"neighbours"``: ``w = f32(f32(1 / total) * sim)`` with ``total`` the float32 sum of
    the row's ``|sim|`` in ascending neighbour order (the local CSR order); ``"none"``:
    ``w = sim``. ``neighbours`` has columns ``row``, ``neighbour_id`` and ``sim``.
    """
    F = _f()
    sims = neighbours.select(row, "neighbour_id", f32(F.col("sim")).alias("sim"))
    if normalize == "none":
        return sims.withColumnRenamed("sim", "w")
    if normalize != "neighbours":
        raise ValueError("normalize must be 'neighbours' or 'none'")
    cell = F.struct("neighbour_id", F.abs("sim").cast("float").alias("a"))
    totals = (
        sims.groupBy(row)
        .agg(F.sort_array(F.collect_list(cell)).alias("_cells"))
        .select(row, F.expr("transform(_cells, c -> c.a)").alias("_abs"))
        .select(row, F.expr(float32_total("_abs")).cast("double").alias("_total"))
        .select(row, f32(F.lit(1.0) / F.col("_total")).alias("_scale"))
    )
    return sims.join(totals, on=row).select(
        row, "neighbour_id", f32(F.col("_scale") * F.col("sim")).alias("w")
    )


def top_n(
    scores: Any,
    interactions: Any,
    n: int,
    *,
    filter_already_liked: bool = True,
    items_blocked: Any = None,
    rules: RuleSet | None = None,
    items: Any = None,
) -> Any:
    """``(user_id, rank, item_id, score)``: the local ``RuleSet.recommend`` on candidate scores.

    Parameters
    ----------
    scores:
        ``(user_id, item_id, score)``, one row per candidate (double; ranked as float32,
        zero scores are no candidates, as in the local kernel).
    interactions:
        ``(user_id, item_id, ...)``: what each user has (left out unless repurchasable).
    n:
        Items per user.
    filter_already_liked:
        Leave out the user's items.
    items_blocked:
        Optional DataFrame with an ``item_id`` column of items never to recommend.
    rules, items:
        A local :class:`~shopguide.recommend.rules.RuleSet` and the items table it reads
        (``item_id, category, brand, price, in_stock``); both or neither.
    """
    F, W = _f(), _window()
    if n < 0:
        raise ValueError("n must be >= 0")
    table: RuleTable | None = None
    if rules is not None and rules.rules:
        if items is None:
            raise ValueError("rules need the items table")
        table = rule_table(rules, items)
    candidates = scores.where(F.col("score") != 0).select(
        "user_id", "item_id", f32(F.col("score")).alias("score")
    )
    if items_blocked is not None:
        blocked = items_blocked.select("item_id").distinct()
        candidates = candidates.join(blocked, on="item_id", how="left_anti")
    if table is not None:  # one join: allowed, repurchasable, diversity key
        candidates = table.lookup(candidates)
        if table.filters:
            candidates = candidates.where(F.col("allowed"))
    if filter_already_liked:
        seen = interactions.select("user_id", "item_id", F.lit(True).alias("_seen"))
        candidates = candidates.join(seen, on=["user_id", "item_id"], how="left")
        keep = F.col("_seen").isNull()
        if table is not None and table.repurchase:
            keep = keep | F.col("again")
        candidates = candidates.where(keep)
    order = W.partitionBy("user_id").orderBy(F.col("score").desc(), F.col("item_id").asc())
    ranked = candidates.withColumn("rank", F.row_number().over(order))
    if table is None or table.cap is None:
        return ranked.where(F.col("rank") <= n).select("user_id", "rank", "item_id", "score")
    # MaxPerCategory: the model's first n * overfetch items, walked in order, at most m per
    # key: an item is kept when fewer than m earlier items share its key
    fetched = ranked.where(F.col("rank") <= n * table.overfetch)
    per_key = W.partitionBy("user_id", "cap_key").orderBy("rank")
    kept = fetched.withColumn("_in_key", F.row_number().over(per_key)).where(
        F.col("cap_key").isNull() | (F.col("_in_key") <= table.cap.m)
    )
    final = W.partitionBy("user_id").orderBy("rank")
    return (
        kept.withColumn("_slot", F.row_number().over(final))
        .where(F.col("_slot") <= n)
        .select("user_id", F.col("_slot").alias("rank"), "item_id", "score")
    )
