"""``ease-large``: exact EASE on the head, item-KNN rescaled onto the tail."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from shopguide.recommend import EASE, EASELarge
from shopguide.recommend.base import Recommender


def test_with_every_item_in_the_head_it_is_dense_ease(tiny: sp.csr_matrix) -> None:
    dense = EASE(regularization=5.0).fit(tiny)
    large = EASELarge(regularization=5.0, dense_items=100).fit(tiny)
    rows = np.arange(tiny.shape[0])
    assert len(large.tail_) == 0
    np.testing.assert_allclose(large.weights_, dense.weights_, rtol=1e-5, atol=1e-6)
    assert (large.recommend(rows, tiny, n=4)[0] == dense.recommend(rows, tiny, n=4)[0]).all()


def test_head_is_exact_ease_on_the_popular_items_and_tail_is_scored(
    random_matrix: Callable[..., sp.csr_matrix],
) -> None:
    x = random_matrix(400, 300, 10)
    model = EASELarge(regularization=20.0, dense_items=100, k=20).fit(x)
    popularity = np.bincount(x.indices, minlength=300)
    assert popularity[model.head_].min() >= popularity[model.tail_].max()
    head_only = EASE(regularization=20.0).fit(sp.csr_matrix(x[:, model.head_]))
    np.testing.assert_allclose(model.weights_, head_only.weights_, rtol=1e-4, atol=1e-6)
    scores = model._score_block(np.arange(50), x[:50])
    assert np.count_nonzero(scores[:, model.tail_]) > 0  # tail items can be recommended
    assert model.tail_scale_[0] > 0


def test_saved_and_loaded_it_scores_the_same(
    tmp_path, random_matrix: Callable[..., sp.csr_matrix]
) -> None:
    x = random_matrix(200, 150, 8)
    model = EASELarge(regularization=10.0, dense_items=60, k=10).fit(x)
    loaded = Recommender.load(model.save(tmp_path / "m"))
    rows = np.arange(200)
    for a, b in zip(model.recommend(rows, x, n=10), loaded.recommend(rows, x, n=10), strict=True):
        np.testing.assert_array_equal(a, b)
