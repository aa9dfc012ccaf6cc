"""The interaction matrix's id maps: the sorted distinct ids, each event in its cell, whatever
the ids look like (the maps are built by hashing, not by sorting Python strings)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from shopguide.data.matrix import build_interactions

ids = st.one_of(st.text(min_size=1, max_size=6), st.integers(-50, 10**6).map(str))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(ids, ids), min_size=1, max_size=40))
def test_maps_are_the_sorted_distinct_ids_and_every_event_lands_in_its_cell(pairs) -> None:
    events = pd.DataFrame(
        {
            "user_id": pd.Series([u for u, _ in pairs], dtype="string"),
            "item_id": [i for _, i in pairs],
            "event_type": "purchase",
        }
    )
    inter = build_interactions(events, {"purchase": 1.0})
    assert list(inter.users.external_ids) == sorted({u for u, _ in pairs})
    assert list(inter.items.external_ids) == sorted({i for _, i in pairs})
    dense = inter.matrix.toarray()
    expected = np.zeros_like(dense)
    for user, item in pairs:
        expected[inter.users.to_internal([user])[0], inter.items.to_internal([item])[0]] += 1
    assert np.array_equal(dense, expected)


def test_a_given_map_drops_unknown_ids_and_keeps_its_order() -> None:
    train = build_interactions(
        pd.DataFrame({"user_id": ["b", "a"], "item_id": ["x", "y"], "event_type": "purchase"}),
        {"purchase": 1.0},
    )
    test = build_interactions(
        pd.DataFrame({"user_id": ["a", "c"], "item_id": ["x", "x"], "event_type": "purchase"}),
        {"purchase": 1.0},
        user_map=train.users,
        item_map=train.items,
    )
    assert list(test.users.external_ids) == ["a", "b"]
    assert test.matrix.toarray().tolist() == [[1.0, 0.0], [0.0, 0.0]]
