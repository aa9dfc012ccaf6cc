"""``ease-next``: EASE blended with a regression from the history before a cut date to the items
first bought after it; fitted with each pair's first time, saved and loaded without pickle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from shopguide.data.datasets.synthetic import generate
from shopguide.data.first_seen import first_seen_times
from shopguide.data.matrix import Interactions, build_interactions
from shopguide.data.split import TemporalSplit
from shopguide.errors import ParameterError
from shopguide.evaluate.compare import compare_models
from shopguide.evaluate.tuning import tune
from shopguide.recommend import MODEL_NAMES, EASENext, Recommender, create_model
from shopguide.recommend.cost import plan_fit
from shopguide.recommend.ease import DENSE_ITEMS_LIMIT
from shopguide.recommend.ease_next import ease_next_fits, next_window_rows

DAY0 = pd.Timestamp("2024-01-01")
#: (user, item, day) purchases of a hand-made shop; the last first purchase is on day 100.
PURCHASES = [
    ("u0", "i0", 10), ("u0", "i2", 60), ("u0", "i1", 85),
    ("u1", "i1", 5), ("u1", "i1", 90), ("u1", "i3", 100),  # i1 again: not new on day 90
    ("u2", "i2", 90), ("u2", "i3", 95),  # nothing before either cut
    ("u3", "i0", 40), ("u3", "i3", 75),  # i3 falls between the windows
]  # fmt: skip


def _shop() -> tuple[Interactions, sp.csr_matrix]:
    events = pd.DataFrame(
        [
            {"user_id": u, "item_id": i, "event_type": "purchase",
             "timestamp": DAY0 + pd.Timedelta(days=d)}
            for u, i, d in PURCHASES
        ]
    )  # fmt: skip
    inter = build_interactions(events)
    return inter, first_seen_times(events, inter)


def test_the_windows_hold_only_first_purchases_after_the_cut_and_history_before_it() -> None:
    inter, seen = _shop()
    assert list(inter.items.to_external(np.arange(4))) == ["i0", "i1", "i2", "i3"]
    # cuts on day 80 (window 80..100) and day 50 (window 50..70)
    x, y = next_window_rows(seen, horizon_days=20, windows=2)
    expected_x = [[1, 0, 1, 0], [0, 1, 0, 0], [1, 0, 0, 0]]  # u0 and u1 at day 80, u0 at 50
    expected_y = [[0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]]
    np.testing.assert_array_equal(x.toarray(), expected_x)
    np.testing.assert_array_equal(y.toarray(), expected_y)


def test_the_next_window_weights_are_the_ridge_solution_and_the_scores_the_zscored_blend() -> None:
    inter, seen = _shop()
    matrix = inter.binary()
    lam, weight = 0.5, 0.4
    model = create_model(
        "ease-next", regularization=2.0, horizon_days=20, windows=2,
        next_regularization=lam, weight=weight,
    ).fit(matrix, first_seen=seen)  # fmt: skip
    x = np.array([[1, 0, 1, 0], [0, 1, 0, 0], [1, 0, 0, 0]], dtype=np.float64)
    y = np.array([[0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]], dtype=np.float64)
    direct = np.linalg.solve(x.T @ x + lam * np.eye(4), x.T @ y)
    np.testing.assert_allclose(model.next_weights_, direct, rtol=1e-5, atol=1e-6)

    ease = create_model("ease", regularization=2.0).fit(matrix)
    np.testing.assert_allclose(model.weights_, ease.weights_, rtol=1e-6)
    dense = matrix.toarray()

    def z(scores: np.ndarray, owned: np.ndarray) -> np.ndarray:
        free = scores[~owned]
        spread = free.std() if free.std() > 0 else 1.0
        return (scores - free.mean()) / spread

    user = 3  # u3 owns i0 and i3
    owned = dense[user] > 0
    want = (1 - weight) * z(dense[user] @ ease.weights_, owned) + weight * z(
        dense[user] @ direct, owned
    )
    ids, scores = model.recommend(user, matrix, n=2)
    order = np.argsort(-np.where(owned, -np.inf, want), kind="stable")[:2]
    np.testing.assert_array_equal(ids[0], order)
    np.testing.assert_allclose(scores[0], want[order], rtol=1e-4, atol=1e-5)


def test_a_bare_matrix_is_refused_with_what_the_model_needs() -> None:
    inter, seen = _shop()
    with pytest.raises(ParameterError, match="first bought") as info:
        create_model("ease-next").fit(inter.binary())
    assert "first_seen_times" in str(info.value)
    with pytest.raises(ParameterError, match="first_seen is 2 x 4"):
        create_model("ease-next").fit(inter.binary(), first_seen=seen[:2])


def test_bad_parameters_are_refused() -> None:
    inter, seen = _shop()
    for params in ({"weight": 1.5}, {"windows": 0}, {"next_regularization": 0.0}):
        with pytest.raises(ParameterError):
            create_model("ease-next", **params).fit(inter.binary(), first_seen=seen)


def test_saved_and_loaded_without_pickle_it_recommends_the_same(tmp_path: Path) -> None:
    inter, seen = _shop()
    matrix = inter.binary()
    model = create_model("ease-next", regularization=2.0, horizon_days=20, next_regularization=0.5)
    model.fit(matrix, first_seen=seen)
    loaded = Recommender.load(model.save(tmp_path / "m"))
    assert isinstance(loaded, EASENext) and loaded.get_params() == model.get_params()
    rows = np.arange(matrix.shape[0])
    before, after = model.recommend(rows, matrix, n=3), loaded.recommend(rows, matrix, n=3)
    for a, b in zip(before, after, strict=True):
        np.testing.assert_array_equal(a, b)
    with np.load(tmp_path / "m" / "arrays.npz", allow_pickle=False) as z:
        assert {"weights", "next_weights"} <= set(z.files)


def test_weight_zero_ranks_as_ease_and_shared_fits_equal_separate_ones() -> None:
    inter, seen = _shop()
    matrix = inter.binary()
    rows = np.arange(matrix.shape[0])
    plain = create_model("ease", regularization=2.0).fit(matrix).recommend(rows, matrix, n=3)[0]
    zero = create_model("ease-next", regularization=2.0, weight=0.0).fit(matrix, first_seen=seen)
    np.testing.assert_array_equal(zero.recommend(rows, matrix, n=3)[0], plain)
    grid = [
        create_model("ease-next", regularization=lam, horizon_days=h, weight=w)
        for lam in (2.0, 5.0) for h in (20, 30) for w in (0.0, 0.5)
    ]  # fmt: skip
    shared = list(ease_next_fits(matrix, seen, grid))
    for model, fitted in zip(grid, shared, strict=True):
        alone = create_model("ease-next", **model.get_params()).fit(matrix, first_seen=seen)
        np.testing.assert_allclose(fitted.weights_, alone.weights_, rtol=1e-6)
        np.testing.assert_allclose(fitted.next_weights_, alone.next_weights_, rtol=1e-6)


def test_cost_is_two_dense_solves_and_large_catalogues_adapt_like_ease() -> None:
    assert "ease-next" in MODEL_NAMES
    ease = create_model("ease").estimate_cost(10_000, 3_000, 200_000)
    both = create_model("ease-next").estimate_cost(10_000, 3_000, 200_000)
    assert both.memory_bytes > ease.memory_bytes and both.seconds == pytest.approx(2 * ease.seconds)
    assert "two dense" in both.notes
    plan = plan_fit(create_model("ease-next"), 50_000, DENSE_ITEMS_LIMIT + 1, 1_000_000, 10**11)
    assert plan.action == "adapted" and plan.model is not None
    assert plan.model.model_name == "ease-large"


def test_tune_and_compare_build_the_dates_from_each_splits_training_events() -> None:
    events = generate(n_users=300, n_items=80, n_events=15_000, seed=2, days=200).events
    cut = pd.Timestamp(events["timestamp"].max()) - pd.Timedelta(days=30)
    split = TemporalSplit(cut).split(events)
    result = tune("ease-next", {"weight": [0.0, 0.35]}, None, [split], ns=[10])
    assert len(result.summary) == 2 and np.isfinite(result.best_score)
    # weight 0 is EASE alone: same score as EASE with the same λ
    ease = tune("ease", {"regularization": [500.0]}, None, [split], ns=[10])
    zero = result.summary.set_index("weight").loc[0.0, "ndcg@10_mean"]
    assert zero == pytest.approx(ease.best_score)
    comparison = compare_models(["ease-next"], split, n=10)
    assert comparison.table.loc["ease-next", "ndcg@10"] > 0
