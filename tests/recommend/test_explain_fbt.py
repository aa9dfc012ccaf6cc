"""Explanations from the actual neighbours, and frequently-bought-together statistics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from shopguide.data.idmap import IdMap
from shopguide.recommend import ALS, EASE, ItemKNN, Popular, RP3beta, UserKNN
from shopguide.recommend.explain import explain
from shopguide.recommend.fbt import FrequentlyBoughtTogether, order_item_matrix

ITEMS = IdMap([f"i{j}" for j in range(10)], kind="item")
TITLES = [f"Mug {j}" for j in range(10)]


def test_item_knn_explains_with_the_users_items(tiny) -> None:
    model = ItemKNN(k=4).fit(tiny)
    ids, _ = model.recommend([0], tiny, n=1)
    item = int(ids[0, 0])
    (exp,) = explain(model, 0, [item], tiny, titles=TITLES)
    assert exp.kind == "items" and exp.text.startswith("because you bought ")
    # the evidence is exactly the numerator terms of the score
    terms = model.contributions(tiny[0], item)
    assert [w for _, w in exp.evidence] == [w for _, w in terms]
    assert all(name in TITLES for name, _ in exp.evidence)
    names = [name for name, _ in exp.evidence[:2]]
    assert exp.text == "because you bought " + " and ".join(names)
    # every evidence item is one the user has, and a neighbour of the explained item
    nbrs = set(model.neighbours_[item].indices.tolist())
    for j, _ in terms:
        assert tiny[0, j] > 0 and j in nbrs


def test_rp3beta_explains_with_the_terms_of_its_score(tiny) -> None:
    model = RP3beta(k=4).fit(tiny)
    ids, scores = model.recommend([3], tiny, n=1)
    item = int(ids[0, 0])
    (exp,) = explain(model, 3, [item], tiny, titles=TITLES)
    assert exp.kind == "items" and exp.text.startswith("because you bought ")
    walk = model.similarity_.toarray()[:, item]
    want = sorted(
        ((TITLES[j], float(walk[j])) for j in tiny[3].indices if walk[j] > 0),
        key=lambda p: (-p[1], p[0]),
    )
    assert [name for name, _ in exp.evidence] == [name for name, _ in want]
    np.testing.assert_allclose([w for _, w in exp.evidence], [w for _, w in want], rtol=1e-6)
    # the terms add up to the score that ranked the item
    assert sum(w for _, w in exp.evidence) == pytest.approx(float(scores[0, 0]), rel=1e-5)


def test_user_knn_explains_with_similar_shoppers(tiny) -> None:
    model = UserKNN(k=3).fit(tiny)
    ids, _ = model.recommend([0], tiny, n=1)
    (exp,) = explain(model, 0, ids[0], tiny)
    having = [v for v in model.neighbours_[0].indices if tiny[v, ids[0, 0]] > 0]
    assert exp.kind == "users"
    assert exp.text.startswith(f"{len(having)} shopper")
    assert exp.text.endswith("like you bought it")


def test_popular_explains_by_segment(tiny) -> None:
    segments = np.array([0, 0, 0, 0, 1, 1, 1, -1])
    model = Popular().fit(tiny, user_segments=segments)
    (exp,) = explain(model, 4, [7], tiny)
    assert exp.kind == "segment" and exp.text == "popular in your segment"
    assert exp.evidence == [("segment 1", 3.0)]
    (exp,) = explain(model, 7, [1], tiny)  # no segment
    assert exp.text == "popular with all shoppers"


def test_ease_and_als_explanations(tiny) -> None:
    ease = EASE(regularization=1.0).fit(tiny)
    ids, _ = ease.recommend([0], tiny, n=1)
    (exp,) = explain(ease, 0, ids[0], tiny, items=ITEMS, verb="chose")
    assert exp.text.startswith("because you chose i")
    als = ALS(factors=2, iterations=2, num_threads=1).fit(tiny)
    (exp,) = explain(als, 0, [5], tiny)
    assert exp.kind == "model"


def test_frequently_bought_together_known_answer() -> None:
    events = pd.DataFrame(
        {
            "order_id": ["o1", "o1", "o2", "o2", "o2", "o3", "o3", "o4", "o4", None],
            "item_id": ["a", "b", "a", "b", "c", "a", "c", "b", "c", "a"],
            "event_type": ["purchase"] * 9 + ["purchase"],
        }
    )
    items = IdMap(["a", "b", "c"], kind="item")
    orders = order_item_matrix(events, items)
    assert orders.shape == (4, 3)  # the row without order_id is ignored
    fbt = FrequentlyBoughtTogether(min_pair_orders=1).fit(orders)
    # n(a) = 3, n(b) = 3, n(c) = 3, N = 4; n(a,b) = 2, n(a,c) = 2
    res = fbt.together(0, n=5)
    assert res.items.tolist() == [1, 2]
    np.testing.assert_allclose(res.support, [2 / 4, 2 / 4])
    np.testing.assert_allclose(res.confidence, [2 / 3, 2 / 3])
    np.testing.assert_allclose(res.lift, [(2 / 3) / (3 / 4)] * 2)
    strict = FrequentlyBoughtTogether(min_pair_orders=3).fit(orders)
    assert strict.together(0).items.tolist() == []
    with pytest.raises(ValueError):
        FrequentlyBoughtTogether(rank_by="magic")


def test_fbt_lift_ranking_differs_from_confidence() -> None:
    # item 0 with popular item 1 (in every order) and rare item 2 (only with 0)
    orders = sp.csr_matrix(
        np.array([[1, 1, 1], [1, 1, 1], [1, 1, 0], [0, 1, 0], [0, 1, 0]], dtype=np.float32)
    )
    by_conf = FrequentlyBoughtTogether(min_pair_orders=1).fit(orders).together(0)
    by_lift = FrequentlyBoughtTogether(min_pair_orders=1, rank_by="lift").fit(orders).together(0)
    assert by_conf.items.tolist() == [1, 2]  # c = 3/3 vs 2/3
    assert by_lift.items.tolist() == [2, 1]  # lift 5/3 vs 1
