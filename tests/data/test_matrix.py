"""Known-answer tests for the interaction-matrix builder."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopguide.data.idmap import IdMap
from shopguide.data.matrix import build_interactions
from shopguide.errors import DataError


def _events(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(
        rows, columns=["user_id", "item_id", "event_type", "timestamp", "quantity"]
    ).assign(timestamp=lambda d: pd.to_datetime(d["timestamp"]))


EVENTS = _events(
    [
        ("u1", "i1", "view", "2024-01-01", 1),
        ("u1", "i1", "cart", "2024-01-01", 1),
        ("u1", "i1", "purchase", "2024-01-02", 2),  # 1 + 3 + 5 = 9 (quantity ignored)
        ("u1", "i2", "purchase", "2024-01-02", 1),
        ("u1", "i2", "refund", "2024-01-03", 1),  # 5 - 5 = 0 -> removed
        ("u2", "i2", "refund", "2024-01-03", 1),  # -5 -> clipped to 0 -> removed
        ("u2", "i3", "favorite", "2024-01-03", 1),  # 2
        ("u2", "i3", "click", "2024-01-03", 1),  # + 1 = 3
    ]
)


def test_default_weights_known_answer() -> None:
    inter = build_interactions(EVENTS)
    assert inter.users.external_ids.tolist() == ["u1", "u2"]
    assert inter.items.external_ids.tolist() == ["i1", "i2", "i3"]
    dense = inter.matrix.toarray()
    np.testing.assert_array_equal(dense, [[9, 0, 0], [0, 0, 3]])
    assert inter.matrix.dtype == np.float32
    assert inter.nnz == 2  # zero and negative totals are not stored


def test_use_quantity_multiplies() -> None:
    inter = build_interactions(EVENTS, use_quantity=True)
    # u1,i1: view 1*1 + cart 3*1 + purchase 5*2 = 14
    assert inter.matrix[0, 0] == 14


def test_custom_weights_ignore_unlisted_types() -> None:
    inter = build_interactions(EVENTS, {"purchase": 1.0})
    np.testing.assert_array_equal(inter.matrix.toarray(), [[1, 1, 0], [0, 0, 0]])
    with pytest.raises(DataError, match="unknown event type"):
        build_interactions(EVENTS, {"buy": 1.0})


def test_time_decay_half_life() -> None:
    ev = _events(
        [
            ("u", "a", "purchase", "2024-01-11", 1),  # age 0 -> 5
            ("u", "b", "purchase", "2024-01-01", 1),  # age 10 days, half-life 10 -> 2.5
            ("u", "c", "purchase", "2023-12-22", 1),  # age 20 days -> 1.25
        ]
    )
    inter = build_interactions(ev, half_life_days=10)
    np.testing.assert_allclose(inter.matrix.toarray(), [[5, 2.5, 1.25]])
    later = build_interactions(ev, half_life_days=10, now=pd.Timestamp("2024-01-21"))
    np.testing.assert_allclose(later.matrix.toarray(), [[2.5, 1.25, 0.625]])


def test_fixed_maps_drop_unknown_ids() -> None:
    users = IdMap(["u2", "u1", "u9"], kind="user")
    items = IdMap(["i3", "i1"], kind="item")
    inter = build_interactions(EVENTS, user_map=users, item_map=items)
    assert inter.shape == (3, 2)
    np.testing.assert_array_equal(inter.matrix.toarray(), [[3, 0], [0, 9], [0, 0]])


def test_missing_columns_and_empty() -> None:
    with pytest.raises(DataError, match="timestamp"):
        build_interactions(EVENTS.drop(columns="timestamp"), half_life_days=3)
    empty = build_interactions(EVENTS.iloc[:0])
    assert empty.shape == (0, 0) and empty.nnz == 0
    assert build_interactions(EVENTS).binary().data.tolist() == [1.0, 1.0]


def test_rows_without_ids_are_skipped() -> None:
    ev = pd.concat(
        [
            EVENTS,
            _events(
                [(None, "i1", "purchase", "2024-01-01", 1), ("u1", None, "view", "2024-01-01", 1)]
            ),
        ]
    )
    inter = build_interactions(ev)
    assert inter.users.external_ids.tolist() == ["u1", "u2"]
    np.testing.assert_array_equal(inter.matrix.toarray(), [[9, 0, 0], [0, 0, 3]])
