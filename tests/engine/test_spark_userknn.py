"""Parity: Spark user-KNN (blockwise) and batch top-N with business rules equal the local engine.

These comparisons are exact: the Spark jobs round to float32 where the local compiled path
does and break ties by the smaller id, so neighbour lists, top-N item lists and the float32
scores must be identical, not merely close. The local side is the compiled (numba) path,
numba being a required dependency.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from spark_testdata import RULES, ShopData

from shopguide.data.matrix import build_interactions
from shopguide.engine.spark import broadcast
from shopguide.engine.spark.io import read_engine_data
from shopguide.engine.spark.knn import item_neighbours, recommend_all, spark_interactions
from shopguide.engine.spark.userknn import recommend_users, user_neighbours
from shopguide.recommend import _kernels
from shopguide.recommend.knn import ItemKNN, UserKNN
from shopguide.recommend.rules import ItemCatalog

K = 10
N = 5
Lists = dict[str, list[tuple[str, float]]]


@pytest.fixture(scope="module")
def events(shop: ShopData) -> pd.DataFrame:
    return shop.store.query_df('SELECT user_id, item_id, event_type, "timestamp" FROM events')


def _local_lists(ids: np.ndarray, scores: np.ndarray, users: Any, items: Any) -> Lists:
    out: Lists = {}
    for row in range(ids.shape[0]):
        picked = [(str(items[i]), float(s)) for i, s in zip(ids[row], scores[row], strict=True)]
        kept = [(i, s) for (i, s), raw in zip(picked, ids[row], strict=True) if raw >= 0]
        if kept:
            out[str(users[row])] = kept
    return out


def _spark_lists(frame: pd.DataFrame, key: str, value: str, score: str) -> Lists:
    return {
        str(who): list(zip(g[value].astype(str), g[score].astype(float), strict=True))
        for who, g in frame.sort_values([key, "rank"]).groupby(key)
    }


def _neighbour_lists(model: Any, ids: np.ndarray) -> Lists:
    matrix = model.neighbours_
    out: Lists = {}
    for row in range(matrix.shape[0]):
        lo, hi = matrix.indptr[row], matrix.indptr[row + 1]
        order = np.lexsort((matrix.indices[lo:hi], -matrix.data[lo:hi]))
        if hi > lo:
            out[str(ids[row])] = [
                (str(ids[matrix.indices[lo + p]]), float(matrix.data[lo + p])) for p in order
            ]
    return out


def _assert_identical(what: str, got: Lists, want: Lists) -> None:
    assert set(got) == set(want), f"{what}: different keys"
    for key, ranked in want.items():
        assert got[key] == ranked, f"{what} of {key}: {got[key]} != {ranked}"


def test_binary_shrunk_rated_user_knn_equals_local(
    spark: Any, shop: ShopData, events: pd.DataFrame
) -> None:
    """0/1 data, shrinkage 2, the "rated" denominator, two user blocks: identical lists.

    (The default weighted case, written blockwise to Parquet, is checked through
    ``spark_job("user-knn")`` in test_engine_workflows.)"""
    assert _kernels.active(), "the parity reference is the compiled local path"
    inter = build_interactions(events)
    matrix = inter.binary()
    local = UserKNN(k=K, shrink=2.0, normalize="rated").fit(matrix)
    rows = np.arange(matrix.shape[0])
    ids, scores = local.recommend(rows, matrix, n=N)

    data = read_engine_data(spark, shop.parquet)
    s_inter = spark_interactions(data.events, binary=True).cache()
    s_neigh = user_neighbours(s_inter, K, shrink=2.0, blocks=2).cache()
    recs = recommend_users(s_inter, s_neigh, N, normalize="rated").toPandas()
    neighbours = s_neigh.toPandas()
    s_neigh.unpersist()
    s_inter.unpersist()

    users = inter.users.external_ids
    _assert_identical(
        "neighbours",
        _spark_lists(neighbours, "user_id", "neighbour_id", "sim"),
        _neighbour_lists(local, users),
    )
    _assert_identical(
        "top-N",
        _spark_lists(recs, "user_id", "item_id", "score"),
        _local_lists(ids, scores, users, inter.items.external_ids),
    )


def test_rules_top_n_equal_the_local_rule_set(
    spark: Any, shop: ShopData, events: pd.DataFrame
) -> None:
    """In stock, a category excluded, a price range, repurchasable groceries, at most two
    items per top category, two blocked items: Spark lists equal ``RuleSet.recommend``."""
    inter = build_interactions(events)
    items_frame = shop.store.query_df(
        "SELECT item_id, title, category, brand, price, in_stock FROM items"
    )
    catalog = ItemCatalog.from_frame(items_frame, inter.items)
    names = inter.items.external_ids
    popular = np.argsort(-np.asarray((inter.matrix > 0).sum(axis=0)).ravel(), kind="stable")
    blocked = popular[:2]
    assert catalog.in_stock.sum() < len(catalog)  # the rules really remove something
    rows = np.arange(inter.matrix.shape[0])

    data = read_engine_data(spark, shop.parquet)
    s_inter = spark_interactions(data.events).cache()
    s_blocked = spark.createDataFrame([(str(names[b]),) for b in blocked], "item_id STRING")
    item_pairs = item_neighbours(s_inter, K)
    user_pairs = user_neighbours(s_inter, K)
    cases = {
        "item-knn": (
            ItemKNN(k=K),
            recommend_all(s_inter, item_pairs, N, items_blocked=s_blocked, rules=RULES,
                          items=data.items),
        ),
        "user-knn": (
            UserKNN(k=K),
            recommend_users(s_inter, user_pairs, N, items_blocked=s_blocked, rules=RULES,
                            items=data.items),
        ),
    }  # fmt: skip
    for name, (model, frame) in cases.items():
        model.fit(inter.matrix)
        ids, scores = RULES.recommend(
            model, rows, inter.matrix, catalog, n=N, items_blocked=blocked
        )
        want = _local_lists(ids, scores, inter.users.external_ids, names)
        got = _spark_lists(frame.toPandas(), "user_id", "item_id", "score")
        _assert_identical(f"{name} with rules", got, want)
        # the rules bite: no blocked, out-of-stock or excluded item, <= 2 per top category
        shown = {i for ranked in got.values() for i, _ in ranked}
        index = {str(x): j for j, x in enumerate(names)}
        allowed = RULES.allowed(catalog)
        assert allowed is not None
        assert all(allowed[index[i]] for i in shown)
        assert not shown & {str(names[b]) for b in blocked}
    s_inter.unpersist()


def test_user_knn_pruning_known_answer(spark: Any) -> None:
    """Four users, three items (x bought by a, b, d; y by a, b; z by b, c), K = 1.

    Exact cosines: a-b 2/sqrt(6), a-d 1/sqrt(2), b-c = b-d = 1/sqrt(3). Leaving out items
    with more than two users (x) gives a-b 1/sqrt(6), b-c 1/sqrt(3) and nothing for d (norms
    still count x); keeping pairs that share two items keeps only a-b."""
    rows = [("a", "x"), ("a", "y"), ("b", "x"), ("b", "y"), ("b", "z"), ("c", "z"), ("d", "x")]
    inter = spark.createDataFrame(
        [(u, i, 1.0) for u, i in rows], "user_id STRING, item_id STRING, r DOUBLE"
    )

    def top1(**pruning: Any) -> dict[str, tuple[str, float]]:
        frame = user_neighbours(inter, 1, **pruning).toPandas()
        columns = zip(frame.user_id, frame.neighbour_id, frame.sim, strict=True)
        return {u: (v, s) for u, v, s in columns}

    exact = top1()
    assert {u: v for u, (v, _) in exact.items()} == {"a": "b", "b": "a", "c": "b", "d": "a"}
    assert exact["a"][1] == pytest.approx(2 / np.sqrt(6), rel=1e-6)
    assert exact["d"][1] == pytest.approx(1 / np.sqrt(2), rel=1e-6)
    capped = top1(max_item_users=2)
    assert {u: v for u, (v, _) in capped.items()} == {"a": "b", "b": "c", "c": "b"}
    assert capped["a"][1] == pytest.approx(1 / np.sqrt(6), rel=1e-6)
    assert capped["b"][1] == pytest.approx(1 / np.sqrt(3), rel=1e-6)
    assert {u: v for u, (v, _) in top1(min_co_items=2).items()} == {"a": "b", "b": "a"}


@pytest.mark.parametrize(
    ("options", "binary"),
    [
        ({}, False),
        ({"similarity": "jaccard", "shrink": 2.0, "normalize": "rated"}, True),
    ],
)
def test_broadcast_user_knn_is_the_local_user_knn_bit_for_bit(
    spark: Any,
    shop: ShopData,
    events: pd.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
    options: dict[str, Any],
    binary: bool,
) -> None:
    """``user_knn_broadcast``: the local kernels in Spark tasks, users cut into blocks of 11
    rows for the similarities and 75 for the scores; the neighbour matrix, the neighbour
    table and the top-N lists are the local UserKNN's exactly (other similarities too)."""
    monkeypatch.setattr(broadcast, "USERS_PER_TASK", 110)  # similarity blocks are a tenth
    inter = build_interactions(events)
    matrix = inter.binary() if binary else inter.matrix
    local = UserKNN(k=K, **options).fit(matrix)
    ids, scores = local.recommend(np.arange(matrix.shape[0]), matrix, n=N)

    data = read_engine_data(spark, shop.parquet)
    s_inter = spark_interactions(data.events, binary=binary).cache()
    got = broadcast.user_knn_broadcast(s_inter, K, N, **options)
    want_nb, got_nb = local.neighbours_, got.model.neighbours_
    assert (got_nb.indptr == want_nb.indptr).all() and (got_nb.indices == want_nb.indices).all()
    assert (got_nb.data == want_nb.data).all()
    users = inter.users.external_ids
    _assert_identical(
        "neighbours",
        _spark_lists(got.neighbours.toPandas(), "user_id", "neighbour_id", "sim"),
        _neighbour_lists(local, users),
    )
    _assert_identical(
        "top-N",
        _spark_lists(got.recommendations.toPandas(), "user_id", "item_id", "score"),
        _local_lists(ids, scores, users, inter.items.external_ids),
    )
    got.neighbours.unpersist()
    s_inter.unpersist()
