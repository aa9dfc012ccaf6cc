"""``blend``: two models' per-user normalised scores, weighted; saved and loaded without pickle."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import scipy.sparse as sp

from shopguide.data.idmap import IdMap
from shopguide.errors import ParameterError
from shopguide.recommend import MODEL_NAMES, Blend, RecommenderStore, create_model
from shopguide.recommend.cost import plan_fit

EASE_PARAMS = {"regularization": 20.0}
KNN_PARAMS = {"k": 10}


def _blend(weight: float, normalize: str = "zscore") -> Blend:
    return Blend(
        first="ease", second="item-knn", weight=weight, normalize=normalize,
        first_params=EASE_PARAMS, second_params=KNN_PARAMS,
    )  # fmt: skip


@pytest.mark.parametrize("normalize", ["zscore", "minmax"])
def test_the_weight_ends_are_the_parts_alone(
    normalize: str, random_matrix: Callable[..., sp.csr_matrix]
) -> None:
    x = random_matrix(300, 120, 10, seed=1)
    rows = np.arange(x.shape[0])
    ease = create_model("ease", **EASE_PARAMS).fit(x).recommend(rows, x, n=10)[0]
    knn = create_model("item-knn", **KNN_PARAMS).fit(x).recommend(rows, x, n=10)[0]
    only_first = _blend(0.0, normalize).fit(x).recommend(rows, x, n=10)[0]
    only_second = _blend(1.0, normalize).fit(x).recommend(rows, x, n=10)[0]
    np.testing.assert_array_equal(only_first, ease)
    # item-KNN leaves items no neighbour reaches unscored; the blend ranks them too, after
    reached = knn >= 0
    np.testing.assert_array_equal(only_second[reached], knn[reached])
    middle = _blend(0.5, normalize).fit(x).recommend(rows, x, n=10)[0]
    assert not np.array_equal(middle, ease) and not np.array_equal(middle, only_second)


def test_saved_in_the_model_store_it_loads_and_answers_the_same(
    tmp_path, random_matrix: Callable[..., sp.csr_matrix]
) -> None:
    x = random_matrix(200, 80, 8, seed=2)
    model = Blend(
        first="ease", second="als", weight=0.3, first_params=EASE_PARAMS,
        second_params={"factors": 8, "iterations": 5, "num_threads": 1},
    ).fit(x)  # fmt: skip
    store = RecommenderStore(tmp_path)
    users = IdMap([f"u{i}" for i in range(200)], kind="user")
    items = IdMap([f"i{i}" for i in range(80)], kind="item")
    version = store.publish("blend", model, users, items)
    loaded = store.load("blend", version).model
    assert isinstance(loaded, Blend) and loaded.get_params() == model.get_params()
    rows = np.arange(200)
    for a, b in zip(model.recommend(rows, x, n=5), loaded.recommend(rows, x, n=5), strict=True):
        np.testing.assert_array_equal(a, b)
    ranked = loaded.rank_items(rows[:3], x[:3], [1, 5, 7, 40])
    assert (np.sort(ranked[0], axis=1) >= 0).all()


def test_the_catalogue_and_the_cost_estimate_know_it() -> None:
    assert "blend" in MODEL_NAMES
    blend = create_model("blend", first="ease", second="item-knn", first_params=EASE_PARAMS)
    alone = [create_model("ease", **EASE_PARAMS), create_model("item-knn")]
    sizes = (10_000, 5_000, 200_000)
    total = sum(m.estimate_cost(*sizes).memory_bytes for m in alone)  # type: ignore[attr-defined]
    assert blend.estimate_cost(*sizes).memory_bytes == total  # type: ignore[attr-defined]
    assert plan_fit(blend, *sizes, budget_bytes=total).action == "fit"
    assert plan_fit(blend, *sizes, budget_bytes=10_000).action == "skipped"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"weight": 1.5}, "between 0 and 1"),
        ({"normalize": "softmax"}, "normalize must be one of"),
        ({"first": "blend"}, "must be other models"),
        ({"second_params": {"kk": 1}}, "bad parameter for als"),
    ],
)
def test_bad_settings_are_clear_errors(
    params: dict[str, object], message: str, tiny: sp.csr_matrix
) -> None:
    with pytest.raises(ParameterError, match=message):
        create_model("blend", **params).fit(tiny)  # type: ignore[arg-type]


def test_a_blend_with_dense_ease_on_a_large_catalogue_is_adapted_to_ease_large() -> None:
    blend = create_model("blend", first="ease", second="item-knn", first_params=EASE_PARAMS)
    plan = plan_fit(blend, 2_000, 20_000, 75_000, budget_bytes=24 * 10**9)
    assert plan.action == "adapted"
    assert plan.model.first == "ease-large" and plan.model.second == "item-knn"
    assert plan.model.first_params["regularization"] == EASE_PARAMS["regularization"]
