"""MLlib implicit ALS against the local ALS (implicit library) on a temporal split.

The trainers optimise slightly different objectives (Spark: confidence ``1 + alpha r`` and
regularisation scaled by each row's interaction count; implicit: confidence ``alpha r``,
unscaled), so the factors differ; what must hold is that the two models rank about equally
well. Stated tolerance: NDCG@10 and recall@10 within 0.04 (absolute) of the local ALS.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from spark_testdata import RULES, ShopData, assert_same_ranking

from shopguide.data.matrix import build_interactions
from shopguide.data.split import TemporalSplit
from shopguide.engine.spark.als import recommend_all_als
from shopguide.engine.spark.io import read_engine_data
from shopguide.evaluate.metrics import ndcg_at_n, recall_at_n
from shopguide.recommend.rules import ItemCatalog
from shopguide.workflows.engine import als_step

TOLERANCE = 0.04
PARAMS: dict[str, Any] = {"factors": 16, "iterations": 10, "regularization": 0.05, "alpha": 2.0}


def test_spark_als_ranks_as_well_as_the_local_als(spark: Any, shop: ShopData) -> None:
    """Metrics within the tolerance; and the Spark run's batch top-N with business rules
    equals the local rules on the same factors (see ``_check_batch_top_n_with_rules``)."""
    split = TemporalSplit(fraction=0.8).split(shop.synthetic.events)
    train = build_interactions(split.train)
    test = build_interactions(split.test, user_map=train.users, item_map=train.items)
    rows = np.flatnonzero(np.diff(test.matrix.indptr) > 0)
    assert len(rows) > 50
    relevant = test.matrix[rows]

    metrics = {}
    for engine in ("local", "spark"):
        run = als_step(split.train, engine=engine, **PARAMS)
        # both engines index users and items by their sorted ids: same rows and columns
        assert run.users == train.users and run.items == train.items
        assert run.model.user_factors_.shape == (len(train.users), PARAMS["factors"])
        ids, _ = run.model.recommend(rows, train.matrix, n=10)
        seen = train.matrix[rows]
        for r in range(len(rows)):  # the local rules apply: nothing already seen
            assert not set(ids[r]) & set(seen[r].indices)
        metrics[engine] = (
            float(np.nanmean(ndcg_at_n(ids, relevant, 10))),
            float(np.nanmean(recall_at_n(ids, relevant, 10))),
        )
        if engine == "spark":
            _check_batch_top_n_with_rules(spark, shop, run, train.matrix)
    (ndcg_local, recall_local), (ndcg_spark, recall_spark) = metrics["local"], metrics["spark"]
    assert ndcg_local > 0.03 and ndcg_spark > 0.03  # both learned something
    assert abs(ndcg_spark - ndcg_local) <= TOLERANCE, metrics
    assert abs(recall_spark - recall_local) <= TOLERANCE, metrics


def _check_batch_top_n_with_rules(spark: Any, shop: ShopData, run: Any, matrix: Any) -> None:
    """Batch top-N on the cluster (MLlib candidates + the shared top-N with the business
    rules) equals the local ``RuleSet.recommend`` on the same factors. MLlib and numpy sum
    the dot products in different orders (float32 ulps), so lists are compared tie-aware
    within 1e-5."""
    items = shop.store.query_df(
        "SELECT item_id, title, category, brand, price, in_stock FROM items"
    )
    catalog = ItemCatalog.from_frame(items, run.items)
    rows = np.arange(len(run.users))
    ids, scores = RULES.recommend(run.model, rows, matrix, catalog, n=5)
    got = recommend_all_als(
        run.spark, 5, rules=RULES, items=read_engine_data(spark, shop.parquet).items
    ).toPandas()
    by_user = {u: g.sort_values("rank") for u, g in got.groupby("user_id")}
    names = run.items.external_ids
    for row in rows:
        want = [(str(names[i]), float(s)) for i, s in zip(ids[row], scores[row], strict=True)
                if i >= 0]  # fmt: skip
        frame = by_user.get(run.users.external_ids[row])
        have = [] if frame is None else list(zip(frame["item_id"], frame["score"], strict=True))
        assert_same_ranking(f"ALS top-N of row {row}", have, want)
