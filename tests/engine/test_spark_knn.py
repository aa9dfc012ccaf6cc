"""Parity: item-item cosine neighbours and batch top-N on Spark equal the local ItemKNN.

Local scores are float32 and Spark's float64, so equal true scores can land a float32 ulp
apart locally and swap places. The comparison is therefore: scores equal within 1e-5 at
every position, and item ids equal at every position except inside a group of tied scores,
where the groups must hold the same items (a group cut by the list's end may differ, as long
as its scores are equal). Every list is also checked against an independent float64 numpy
computation of the cosines (known answer), so both engines are right, not merely alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from spark_testdata import TOL, ShopData, assert_same_ranking, close

from shopguide.data.matrix import build_interactions
from shopguide.engine.spark import broadcast
from shopguide.engine.spark.broadcast import item_knn_broadcast
from shopguide.engine.spark.io import read_engine_data
from shopguide.engine.spark.knn import item_neighbours, recommend_all, spark_interactions
from shopguide.recommend.knn import ItemKNN

K = 10
N = 10


def _reference_cosine(matrix: Any) -> np.ndarray:
    dense = np.asarray(matrix.toarray(), dtype=np.float64)
    norms = np.linalg.norm(dense, axis=0)
    unit = dense / np.where(norms > 0, norms, 1.0)
    sims = unit.T @ unit
    np.fill_diagonal(sims, 0.0)
    return sims


def test_exact_neighbours_and_top_n_equal_the_local_item_knn(spark: Any, shop: ShopData) -> None:
    events = shop.store.query_df(
        'SELECT user_id, item_id, event_type, "timestamp", quantity FROM events'
    )
    inter = build_interactions(events)
    local = ItemKNN(k=K).fit(inter.matrix)
    items = inter.items.external_ids

    data = read_engine_data(spark, shop.parquet)
    s_inter = spark_interactions(data.events).cache()
    s_neigh = item_neighbours(s_inter, K).cache()
    got_inter = pd.DataFrame(s_inter.collect(), columns=["user_id", "item_id", "r"])
    neigh = pd.DataFrame(s_neigh.collect(), columns=["item_id", "neighbour_id", "sim", "rank"])
    recs = pd.DataFrame(
        recommend_all(s_inter, s_neigh, N).collect(),
        columns=["user_id", "rank", "item_id", "score"],
    )
    history_recs = pd.DataFrame(
        recommend_all(s_inter, s_neigh, N, neighbourhood="history", normalize="none").collect(),
        columns=["user_id", "rank", "item_id", "score"],
    )

    # the interaction strengths are the local matrix's
    coo = inter.matrix.tocoo()
    want_inter = {
        (inter.users.external_ids[r], items[c]): float(v)
        for r, c, v in zip(coo.row, coo.col, coo.data, strict=True)
    }
    assert {(u, i): r for u, i, r in got_inter.itertuples(index=False)} == want_inter

    reference = _reference_cosine(inter.matrix)
    identical = 0
    by_item = {k: g.sort_values("rank") for k, g in neigh.groupby("item_id")}
    for row in range(len(items)):
        lo, hi = local.neighbours_.indptr[row], local.neighbours_.indptr[row + 1]
        order = np.lexsort((local.neighbours_.indices[lo:hi], -local.neighbours_.data[lo:hi]))
        want = [
            (items[local.neighbours_.indices[lo + p]], float(local.neighbours_.data[lo + p]))
            for p in order
        ]
        frame = by_item.get(items[row])
        got = [] if frame is None else list(zip(frame["neighbour_id"], frame["sim"], strict=True))
        identical += assert_same_ranking(f"neighbours of {items[row]}", got, want)
        # known answer: the kept cosines are the float64 ones, and nothing better was left out
        ref = reference[row]
        index = {name: j for j, name in enumerate(items)}
        for name, sim in got:
            assert close(sim, ref[index[name]])
        if got and len(got) == K:
            kept = {index[name] for name, _ in got}
            rest = [ref[j] for j in range(len(items)) if j not in kept and j != row]
            assert max(rest, default=0.0) <= got[-1][1] + TOL
    assert identical >= 0.9 * len(items), f"only {identical} of {len(items)} lists identical"

    rows = np.arange(inter.matrix.shape[0])
    history = ItemKNN(k=K, neighbourhood="history", normalize="none").fit(inter.matrix)
    for model, frame_all in ((local, recs), (history, history_recs)):
        ids, scores = model.recommend(rows, inter.matrix, n=N)
        by_user = {k: g.sort_values("rank") for k, g in frame_all.groupby("user_id")}
        same_users = 0
        for r in rows:
            want = [(items[i], float(s)) for i, s in zip(ids[r], scores[r], strict=True) if i >= 0]
            frame = by_user.get(inter.users.external_ids[r])
            got = [] if frame is None else list(zip(frame["item_id"], frame["score"], strict=True))
            same_users += assert_same_ranking(f"top-N of {inter.users.external_ids[r]}", got, want)
            seen = set(items[inter.matrix[r].indices])
            assert not seen & {i for i, _ in got}, "a recommended item was already seen"
        assert same_users >= 0.9 * len(rows), model
    s_inter.unpersist()
    s_neigh.unpersist()


def test_dimsum_without_threshold_is_exact(spark: Any, shop: ShopData) -> None:
    data = read_engine_data(spark, shop.parquet)
    inter = spark_interactions(data.events).cache()
    exact = pd.DataFrame(item_neighbours(inter, K).collect(), columns=["a", "b", "sim", "rank"])
    dimsum = pd.DataFrame(
        item_neighbours(inter, K, mode="dimsum", threshold=0.0).collect(),
        columns=["a", "b", "sim", "rank"],
    )
    merged = exact.merge(dimsum, on=["a", "b"], how="outer", suffixes=("", "_d"))
    # DIMSUM with threshold 0 computes every pair: same pairs, cosines equal to 1e-9
    both = merged.dropna()
    assert len(both) >= 0.98 * len(exact)
    assert np.allclose(both["sim"], both["sim_d"], rtol=1e-9, atol=1e-12)
    inter.unpersist()


def test_broadcast_mode_is_the_local_item_knn_bit_for_bit(
    spark: Any, shop: ShopData, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``item_knn_broadcast`` runs the local kernels in Spark tasks: the neighbour matrix,
    the neighbour table and every list equal the local ItemKNN exactly, with the items and
    users cut into many small blocks (tasks) so block edges are crossed."""
    monkeypatch.setattr(broadcast, "ITEMS_PER_TASK", 7)
    monkeypatch.setattr(broadcast, "USERS_PER_TASK", 23)
    events = shop.store.query_df(
        'SELECT user_id, item_id, event_type, "timestamp", quantity FROM events'
    )
    inter = build_interactions(events)
    items = inter.items.external_ids
    users = inter.users.external_ids
    rows = np.arange(inter.matrix.shape[0])
    s_inter = spark_interactions(read_engine_data(spark, shop.parquet).events).cache()

    for options in ({}, {"neighbourhood": "history", "normalize": "none"}):
        local = ItemKNN(k=K, **options).fit(inter.matrix)  # type: ignore[arg-type]
        got = item_knn_broadcast(s_inter, K, N, **options)  # type: ignore[arg-type]
        assert list(got.users.external_ids) == list(users)
        assert list(got.items.external_ids) == list(items)
        want_nb, got_nb = local.neighbours_, got.model.neighbours_
        assert (got_nb.indptr == want_nb.indptr).all()
        assert (got_nb.indices == want_nb.indices).all() and (got_nb.data == want_nb.data).all()

        table = pd.DataFrame(
            got.neighbours.collect(), columns=["item_id", "neighbour_id", "sim", "rank"]
        )
        want_rows = []
        for row in range(len(items)):
            lo, hi = want_nb.indptr[row], want_nb.indptr[row + 1]
            order = np.lexsort((want_nb.indices[lo:hi], -want_nb.data[lo:hi]))
            want_rows += [
                (items[row], items[want_nb.indices[lo + p]], float(want_nb.data[lo + p]), r + 1)
                for r, p in enumerate(order)
            ]
        assert sorted(table.itertuples(index=False, name=None)) == sorted(want_rows)

        ids, scores = local.recommend(rows, inter.matrix, n=N)
        want = sorted(
            (users[u], r + 1, items[ids[u, r]], float(scores[u, r]))
            for u in rows
            for r in range(N)
            if ids[u, r] >= 0
        )
        recs = sorted(tuple(x) for x in got.recommendations.collect())
        assert len(want) > 1_000 and recs == want, options
        got.neighbours.unpersist()
    s_inter.unpersist()
