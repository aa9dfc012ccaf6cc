"""The two rules that keep automatic tuning honest (issue #17): EASE's λ means the same on 0/1
and on event-weighted input, and the defaults are kept unless a point beats them beyond the
validation noise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from shopguide.workflows.auto_tune import INPUT, _choose, auto_tune, penalty_scale, tuned_line


def _one_purchase_per_pair(seed: int = 0) -> pd.DataFrame:
    """A shop where every (user, item) pair is bought exactly once, as in a ratings file: the
    weighted input is then five times the 0/1 input, nothing else."""
    rng = np.random.default_rng(seed)
    rows = []
    start = pd.Timestamp("2024-01-01")
    for user in range(300):
        taste = rng.integers(0, 4)
        items = rng.choice(np.arange(taste * 15, taste * 15 + 30) % 60, size=12, replace=False)
        for j, item in enumerate(items):
            day = int(rng.integers(0, 200))
            rows.append((f"u{user}", f"i{item}", start + pd.Timedelta(days=day, minutes=j)))
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"])
    frame["event_type"] = "purchase"
    return frame


def test_penalty_scale_is_the_mean_squared_value():
    matrix = sp.csr_matrix(np.array([[5.0, 0.0], [5.0, 10.0]]))
    assert penalty_scale(matrix) == pytest.approx((25 + 25 + 100) / 3)
    assert penalty_scale(sp.csr_matrix((2, 2))) == 1.0


def test_weighted_input_searches_the_same_penalties_as_zero_one_input():
    events = _one_purchase_per_pair()
    space = {"ease": {"regularization": (5.0, 50.0), INPUT: (True, False)}}
    result = auto_tune(events, {"ease": {}}, spaces=space)["ease"]
    rows = {(p["params"]["regularization"], p[INPUT]): p["score"] for p in result.points}
    # every pair holds one purchase of weight 5: the weighted Gram matrix is 25 times larger,
    # so its penalties are 25 times larger too, and each scores exactly as its 0/1 twin
    assert set(rows) == {(5.0, True), (125.0, False), (50.0, True), (1250.0, False)}
    assert rows[(125.0, False)] == pytest.approx(rows[(5.0, True)], abs=1e-9)
    assert rows[(1250.0, False)] == pytest.approx(rows[(50.0, True)], abs=1e-9)
    assert result.binary  # a tie goes to the first in grid order: 0/1
    assert rows[(5.0, True)] != pytest.approx(rows[(50.0, True)], abs=1e-6)  # λ does matter


def _rows(scores: list[float]) -> list[dict]:
    return [{"params": {"k": k}, "score": s} for k, s in zip((10, 50, 100), scores, strict=True)]


def test_a_point_ahead_only_by_noise_keeps_the_defaults():
    rng = np.random.default_rng(1)
    anchor = rng.uniform(0, 1, 80)
    # ahead by 0.01 on average, with a per-user spread of 0.2: well within the noise
    noisy = anchor + np.where(np.arange(80) % 2 == 0, 0.21, -0.19)
    per_user = {0: anchor * 0.5, 1: anchor, 2: noisy}
    rows = _rows([float(v.mean()) for v in per_user.values()])
    assert rows[2]["score"] > rows[1]["score"]
    chosen, why = _choose(rows, per_user, anchor=1)
    assert chosen is rows[1]
    assert why.startswith("kept the defaults: the best point (k=100)") and "interval" in why
    record = {
        "model": "item-knn",
        "search": rows,
        "chosen_params": {"k": 50},
        "validation_score": rows[1]["score"],
        "metric": "ndcg@10",
        "notes": [why],
    }
    assert tuned_line(record) == (
        f"item-knn: k=50 (ndcg@10 {rows[1]['score']:.4f} on validation, {why})"
    )


def test_a_point_clearly_ahead_replaces_the_defaults():
    rng = np.random.default_rng(2)
    anchor = rng.uniform(0, 1, 400)
    per_user = {0: anchor * 0.5, 1: anchor, 2: anchor + rng.uniform(0.01, 0.05, 400)}
    rows = _rows([float(v.mean()) for v in per_user.values()])
    assert _choose(rows, per_user, anchor=1) == (rows[2], "")
    # no anchor in the grid (the caller's parameters are not searched): the best wins
    assert _choose(rows, per_user, anchor=None) == (rows[2], "")
    # the anchor skipped over the memory budget: nothing to compare with, the best wins
    rows[1] = {"params": {"k": 50}, "skipped": "needs about 9 GB"}
    assert _choose(rows, {0: per_user[0], 2: per_user[2]}, anchor=1) == (rows[2], "")
