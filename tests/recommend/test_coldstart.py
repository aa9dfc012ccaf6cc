"""Cold-start paths: attributes with back-off, session items, content similarity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from shopguide.data.idmap import IdMap
from shopguide.errors import NotFittedError
from shopguide.recommend import ItemKNN
from shopguide.recommend.coldstart import AttributeColdStart, ContentSimilarity, session_recommend
from shopguide.recommend.rules import ItemCatalog

USERS = IdMap([f"u{j}" for j in range(8)], kind="user")
PROFILES = pd.DataFrame(
    {
        "user_id": [f"u{j}" for j in range(8)],
        "location": ["UK", "UK", "UK", "UK", "FR", "FR", "FR", "DE"],
        "age_band": ["18-24", "18-24", "25-34", "18-24", "25-34", "25-34", "25-34", "25-34"],
    }
)


def test_attribute_cold_start_uses_matching_users(tiny) -> None:
    cold = AttributeColdStart(attributes=("location", "age_band"), min_users=3).fit(
        tiny, PROFILES, USERS
    )
    # UK + 18-24: users u0, u1, u3 (3 users >= min_users). Their items: u0 {0,1,2},
    # u1 {0,1,3}, u3 {0,2,4,8} -> counts item0 = 3, item1 = 2, item2 = 2, item3/4/8 = 1
    res = cold.recommend({"location": "UK", "age_band": "18-24"}, n=3)
    assert res.matched_on == ("location", "age_band") and res.n_similar_users == 3
    assert res.ids.tolist() == [0, 1, 2]
    assert res.scores.tolist() == [3, 2, 2]


def test_attribute_cold_start_backs_off(tiny) -> None:
    cold = AttributeColdStart(attributes=("location", "age_band"), min_users=3).fit(
        tiny, PROFILES, USERS
    )
    # FR + 18-24 matches nobody -> back off to FR only (u4, u5, u6):
    # items u4 {5,6,7}, u5 {5,7,8}, u6 {4,6,7,8,9} -> item7 = 3, items 5/6/8 = 2
    res = cold.recommend({"location": "FR", "age_band": "18-24"}, n=4)
    assert res.matched_on == ("location",)
    assert res.ids.tolist() == [7, 5, 6, 8]
    # DE has a single user -> global popularity
    res = cold.recommend({"location": "DE"}, n=2)
    assert res.matched_on == () and res.n_similar_users == 8
    counts = np.bincount(tiny.indices, minlength=10)
    assert res.scores[0] == counts.max()
    with pytest.raises(NotFittedError):
        AttributeColdStart().recommend({"location": "UK"})


def test_session_recommend_equals_item_knn_on_a_new_row(tiny) -> None:
    model = ItemKNN(k=4).fit(tiny)
    ids, scores = session_recommend(model, [5, 7], n=3)
    assert not {5, 7} & set(ids.tolist())
    # the same as recommending for a user whose row holds exactly items 5 and 7
    row = sp.csr_matrix(([1.0, 1.0], ([0, 0], [5, 7])), shape=(1, 10), dtype=np.float32)
    expected = model.recommend([0], row, n=3)
    np.testing.assert_array_equal(ids, expected[0][0])
    np.testing.assert_allclose(scores, expected[1][0])
    allowed = np.zeros(10, dtype=bool)
    allowed[[6, 8]] = True
    ids, _ = session_recommend(model, [5, 7], n=3, items_allowed=allowed)
    assert set(ids[ids >= 0].tolist()) <= {6, 8}


def _catalog() -> ItemCatalog:
    frame = pd.DataFrame(
        {
            "item_id": ["a", "b", "c", "d"],
            "category": ["Home > Kitchen", "Home > Garden", "Food > Tea", "Home > Kitchen"],
            "brand": ["X", "X", "Y", "Z"],
            "price": [10.0, 11.0, 3.0, 100.0],
        }
    )
    return ItemCatalog.from_frame(frame, IdMap(["a", "b", "c", "d"], kind="item"))


def test_content_similarity_known_answer() -> None:
    content = ContentSimilarity(w_category=0.6, w_brand=0.25, w_price=0.15, price_bands=2).fit(
        _catalog()
    )
    # price bands: median of (10, 11, 3, 100) = 10.5 -> band 0: <= 10.5, band 1: > 10.5
    # new item: "Home > Kitchen", brand X, price 9 (band 0)
    sims = content.similarity("Home > Kitchen", "X", 9.0)
    # a: full path (0.6) + brand (0.25) + band 0 (0.15) = 1.0
    # b: shares "Home" of 2 levels (0.3) + brand (0.25) = 0.55
    # c: nothing shared but band 0 (price 3) -> 0.15
    # d: full path (0.6), other brand, band 1 -> 0.6
    np.testing.assert_allclose(sims, [1.0, 0.55, 0.15, 0.6])
    ids, _ = content.similar_items("Home > Kitchen", "X", 9.0, n=2)
    assert ids.tolist() == [0, 3]


def test_new_item_audience_from_content_neighbours() -> None:
    content = ContentSimilarity(price_bands=2).fit(_catalog())
    user_items = sp.csr_matrix(
        np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 1]], dtype=np.float32)
    )
    users, scores = content.audience(user_items, "Home > Kitchen", "X", 9.0, n_users=3, k=2)
    # k=2 nearest items are a (1.0) and d (0.6): user 0 has a -> 1.0, user 2 has d -> 0.6,
    # user 1 has neither -> not in the audience
    assert users.tolist() == [0, 2, -1]
    np.testing.assert_allclose(scores[:2], [1.0, 0.6])
