"""End to end: events -> interactions -> model -> registry -> data frames with external ids."""

from __future__ import annotations

import pandas as pd
import pytest

from shopguide.data.matrix import build_interactions
from shopguide.errors import UnknownIdError
from shopguide.recommend import ItemKNN, RecommenderStore
from shopguide.recommend.frames import recommendations_frame, similar_items_frame
from shopguide.recommend.rules import InStock, ItemCatalog, RuleSet

EVENTS = pd.DataFrame(
    {
        "user_id": ["ann", "ann", "bob", "bob", "bob", "cid", "cid", "dee", "dee"],
        "item_id": ["mug", "tea", "mug", "tea", "pot", "tea", "pot", "mug", "cup"],
        "event_type": ["purchase"] * 7 + ["view", "purchase"],
    }
)


def test_train_publish_load_and_recommend_with_ids(tmp_path) -> None:
    inter = build_interactions(EVENTS)
    model = ItemKNN(k=3).fit(inter.matrix)
    registry = RecommenderStore(tmp_path)
    registry.publish("item-knn", model, inter.users, inter.items)
    loaded = registry.load("item-knn")
    frame = recommendations_frame(
        loaded.model,
        loaded.users,
        loaded.items,
        ["ann", "cid"],
        inter.matrix,
        n=2,
        with_explanations=True,
    )
    assert list(frame.columns) == ["user_id", "rank", "item_id", "score", "reason"]
    ann = frame[frame.user_id == "ann"]
    assert "mug" not in ann.item_id.tolist() and "tea" not in ann.item_id.tolist()
    assert ann["rank"].tolist() == list(range(1, len(ann) + 1))
    assert ann.reason.str.startswith("because you bought ").all()
    catalog = ItemCatalog.from_frame(
        pd.DataFrame({"item_id": ["pot"], "in_stock": [False]}), loaded.items
    )
    ruled = recommendations_frame(
        loaded.model,
        loaded.users,
        loaded.items,
        ["ann"],
        inter.matrix,
        n=3,
        rules=RuleSet([InStock()]),
        catalog=catalog,
    )
    assert "pot" not in ruled.item_id.tolist()
    with pytest.raises(UnknownIdError):
        recommendations_frame(model, inter.users, inter.items, ["zed"], inter.matrix)


def test_similar_items_frame() -> None:
    inter = build_interactions(EVENTS)
    model = ItemKNN(k=2).fit(inter.matrix)
    frame = similar_items_frame(model, inter.items, ["tea"], n=2)
    assert frame.item_id.tolist() == ["tea"] * len(frame)
    assert "tea" not in frame.similar_item_id.tolist()
    assert (frame.score.diff().dropna() <= 0).all()


def test_recommend_users_on_external_ids_returns_a_frame() -> None:
    inter = build_interactions(EVENTS)
    model = ItemKNN(k=3).fit(inter)  # fitted on Interactions: bound to its id maps
    frame = model.recommend_users(["cid", "ann"], n=2)
    assert list(frame.columns) == ["user_id", "rank", "item_id", "score"]
    assert frame["user_id"].drop_duplicates().tolist() == ["cid", "ann"]  # order kept
    for user in ("ann", "cid"):
        own = set(EVENTS.loc[EVENTS.user_id == user, "item_id"])
        mine = frame[frame.user_id == user]
        assert not own & set(mine.item_id) and mine["rank"].tolist() == list(
            range(1, len(mine) + 1)
        )
    expected = recommendations_frame(
        model, inter.users, inter.items, ["cid", "ann"], inter.matrix, n=2
    )
    pd.testing.assert_frame_equal(frame, expected, check_dtype=False)
    blocked = model.recommend_users(["ann"], n=2, items_blocked=["pot", "unknown"])
    assert "pot" not in blocked.item_id.tolist()
    with pytest.raises(UnknownIdError, match="nobody"):
        model.recommend_users(["nobody"])


def test_recommend_users_needs_the_id_maps(tmp_path) -> None:
    from shopguide.errors import NotBoundError

    inter = build_interactions(EVENTS)
    model = ItemKNN(k=3).fit(inter.matrix)
    with pytest.raises(NotBoundError, match="bind"):
        model.recommend_users(["ann"])
    registry = RecommenderStore(tmp_path)
    registry.publish("item-knn", model, inter.users, inter.items)
    loaded = registry.load("item-knn").model.bind(inter)  # a loaded model, bound again
    assert not loaded.recommend_users(["ann"], n=2).empty
