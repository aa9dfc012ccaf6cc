"""Tests of evaluate_model and the test-relevance builder."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from evaluate_helpers import TinyPopular

from shopguide.data.matrix import build_interactions
from shopguide.data.split import TemporalSplit
from shopguide.evaluate.evaluator import (
    RecommenderLike,
    build_test_relevance,
    evaluate_model,
)


def frame(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": [r[0] for r in rows],
            "item_id": [r[1] for r in rows],
            "event_type": [r[2] for r in rows],
            "timestamp": pd.Timestamp("2024-01-01"),
        }
    )


TRAIN = frame(
    [
        ("u1", "a", "purchase"),
        ("u1", "b", "purchase"),
        ("u2", "a", "purchase"),
        ("u2", "c", "purchase"),
        ("u3", "b", "purchase"),
    ]
)
TEST = frame(
    [
        ("u1", "c", "purchase"),
        ("u1", "a", "purchase"),  # already bought in train
        ("u3", "a", "purchase"),
        ("u3", "c", "refund"),  # refunds are not relevant
        ("u9", "a", "purchase"),  # unknown user
        ("u2", "z", "purchase"),  # unknown item
    ]
)


def test_relevance_counts_and_rows() -> None:
    train = build_interactions(TRAIN)
    rel = build_test_relevance(train, TEST)
    assert train.users.to_external(rel.user_rows).tolist() == ["u1", "u3"]
    items = train.items.external_ids
    got = [sorted(items[rel.relevant[j].indices].tolist()) for j in range(2)]
    assert got == [["c"], ["a"]]
    c = rel.counts
    assert c["test_events"] == 6
    assert c["test_events_unknown_to_train"] == 2
    assert c["test_pairs"] == 3
    assert c["test_pairs_already_in_train"] == 1
    assert c["evaluated_users"] == 2
    keep_seen = build_test_relevance(train, TEST, exclude_train_items=False)
    assert keep_seen.relevant.nnz == 3


def test_evaluate_known_answer() -> None:
    train = build_interactions(TRAIN)
    model = TinyPopular()
    assert isinstance(model, RecommenderLike)
    res = evaluate_model(model, train, TEST, n=[1, 2])
    # popularity a=2, b=2, c=1; u1 gets [c], u3 gets [a, c]: both hit at rank 1
    m = res.metrics
    assert m["precision@1"] == 1.0
    assert m["precision@2"] == 0.5
    assert m["ndcg@2"] == 1.0 and m["recall@2"] == 1.0 and m["mrr@2"] == 1.0
    assert m["coverage@2"] == pytest.approx(2 / 3)
    assert list(res.report.per_user.index) == ["u1", "u3"]
    table = res.to_frame()
    assert table.index.tolist() == ["TinyPopular"]
    assert table.loc["TinyPopular", "users"] == 2
    # novelty: 3 training users; c is bought by 1 user (log2 3 bits), a by 2
    assert m["novelty@1"] == pytest.approx((np.log2(3) + np.log2(3 / 2)) / 2)


def test_evaluate_without_filtering() -> None:
    train = build_interactions(TRAIN)
    res = evaluate_model(TinyPopular(), train, TEST, n=3, filter_already_liked=False)
    # relevant: u1 {a, c}, u3 {a}; everyone gets [a, b, c]
    assert res.counts["evaluated_users"] == 2
    assert res.metrics["recall@3"] == 1.0
    assert res.metrics["precision@3"] == pytest.approx((2 / 3 + 1 / 3) / 2)


def test_diversity_from_categories() -> None:
    train = build_interactions(TRAIN)
    res = evaluate_model(TinyPopular(), train, TEST, n=2, item_categories={"a": "x", "c": "y"})
    # u1 list [c] has no pair -> NaN; u3 list [a, c] -> 1 differing pair
    assert res.metrics["diversity@2"] == 1.0


def test_on_a_real_split(events: pd.DataFrame) -> None:
    split = TemporalSplit(fraction=0.7).split(events)
    train = build_interactions(split.train)
    res = evaluate_model(TinyPopular(), train, split.test, n=[5, 10])
    assert res.counts["evaluated_users"] > 10
    for k, v in res.metrics.items():
        if not k.startswith("novelty"):
            assert 0.0 <= v <= 1.0, k


def test_with_shopguide_models(events: pd.DataFrame) -> None:
    from shopguide.recommend import create_model

    split = TemporalSplit(fraction=0.7).split(events)
    train = build_interactions(split.train)
    ours = evaluate_model(create_model("popular"), train, split.test, n=10)
    tiny = evaluate_model(TinyPopular(), train, split.test, n=10)
    # both rank by number of users (ties by lower index): the same lists, the same numbers
    assert ours.metrics["ndcg@10"] == pytest.approx(tiny.metrics["ndcg@10"])
    knn = evaluate_model(create_model("item-knn", k=10), train, split.test, n=10)
    assert knn.metrics["ndcg@10"] > 0


def test_end_to_end_from_a_duckdb_store(tmp_path, events: pd.DataFrame) -> None:
    """Events read back from a real store file split and evaluate like the in-memory frame."""
    from shopguide.store import open_store

    store = open_store(tmp_path / "shop.duckdb")
    try:
        rows = events.assign(
            event_key=[f"k{i}" for i in range(len(events))],
            event_id=[f"e{i}" for i in range(len(events))],
            quantity=1.0,
        )
        store.append("events", rows)
        loaded = store.query_df(
            "SELECT event_key, user_id, item_id, event_type, timestamp FROM events"
        )
    finally:
        store.close()
    split_db = TemporalSplit("2024-03-01").split(loaded)
    split_mem = TemporalSplit("2024-03-01").split(events)
    assert split_db.report.n_test == split_mem.report.n_test
    res_db = evaluate_model(TinyPopular(), build_interactions(split_db.train), split_db.test)
    res_mem = evaluate_model(TinyPopular(), build_interactions(split_mem.train), split_mem.test)
    assert res_db.metrics == pytest.approx(res_mem.metrics)
