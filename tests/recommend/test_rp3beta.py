"""RP3beta against its formula written out densely with NumPy, and a walk worked by hand."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from shopguide.errors import ParameterError
from shopguide.recommend import Recommender, RP3beta, _kernels, create_model
from shopguide.recommend.cost import Cost


def _dense_rp3beta(x: sp.csr_matrix, alpha: float, beta: float) -> np.ndarray:
    """``W = (P_iu^alpha @ P_ui^alpha) / pop(j)^beta`` with a zero diagonal, in float64."""
    r = x.toarray().astype(np.float64)
    p_ui = r / np.where(r.sum(axis=1, keepdims=True) > 0, r.sum(axis=1, keepdims=True), 1.0)
    b = (r > 0).astype(np.float64).T
    p_iu = b / np.where(b.sum(axis=1, keepdims=True) > 0, b.sum(axis=1, keepdims=True), 1.0)
    w = np.power(p_iu, alpha) @ np.power(p_ui, alpha)
    pop = b.sum(axis=1)
    w = w * np.where(pop > 0, pop ** (-beta), 0.0)[None, :]
    np.fill_diagonal(w, 0.0)
    return w


def _weighted_tiny(tiny: sp.csr_matrix) -> sp.csr_matrix:
    x = tiny.tolil()
    x[0, 1] = 3.0  # a strength other than 1, so the row normalisation matters
    x[6, 9] = 2.0
    return sp.csr_matrix(x, dtype=np.float32)


def test_a_three_step_walk_worked_by_hand() -> None:
    # users: a has items 0 and 1, b has item 1 only
    x = sp.csr_matrix(np.array([[1, 1], [0, 1]], dtype=np.float32))
    # from item 0: to user a (its only user, p=1), then to item 1 (p=1/2): 1/2
    # from item 1: to a or b (1/2 each); only a goes on to item 0 (p=1/2): 1/4
    # beta=1 divides by the destination's users: item 1 has 2 (1/2 -> 1/4), item 0 has 1
    model = RP3beta(k=5, alpha=1.0, beta=1.0).fit(x)
    np.testing.assert_allclose(model.similarity_.toarray(), [[0.0, 0.25], [0.25, 0.0]])
    # user b scores item 0 through item 1: 1 * W[1, 0] = 0.25
    ids, scores = model.recommend([1], x, n=2)
    assert ids.tolist() == [[0, -1]] and scores[0, 0] == pytest.approx(0.25)


@pytest.mark.parametrize("kernels", [True, False], ids=["numba", "scipy"])
@pytest.mark.parametrize(("alpha", "beta"), [(1.0, 0.0), (1.0, 0.5), (0.6, 0.8)])
def test_similarity_equals_the_dense_formula(tiny, kernels, alpha, beta) -> None:
    x = _weighted_tiny(tiny)
    want = _dense_rp3beta(x, alpha, beta)
    before = _kernels.ENABLED
    _kernels.ENABLED = kernels
    try:
        model = RP3beta(k=10, alpha=alpha, beta=beta).fit(x)
    finally:
        _kernels.ENABLED = before
    np.testing.assert_allclose(model.similarity_.toarray(), want, rtol=1e-5, atol=1e-7)
    users = np.arange(x.shape[0])
    ids, scores = model.recommend(users, x, n=10, filter_already_liked=False)
    dense_scores = x.toarray().astype(np.float64) @ want
    for u in users:
        real = ids[u] >= 0
        np.testing.assert_allclose(scores[u][real], dense_scores[u][ids[u][real]], rtol=1e-5)
        # every item with a positive score is returned, best first
        assert set(ids[u][real].tolist()) == set(np.flatnonzero(dense_scores[u] > 1e-12).tolist())


@pytest.mark.parametrize("kernels", [True, False], ids=["numba", "scipy"])
def test_top_k_keeps_the_largest_cells_of_each_row(tiny, kernels) -> None:
    x = _weighted_tiny(tiny)
    want = _dense_rp3beta(x, 1.0, 0.5)
    before = _kernels.ENABLED
    _kernels.ENABLED = kernels
    try:
        sim = RP3beta(k=2, beta=0.5).fit(x).similarity_.toarray()
    finally:
        _kernels.ENABLED = before
    for i in range(x.shape[1]):
        kept = np.flatnonzero(sim[i])
        assert len(kept) == min(2, np.count_nonzero(want[i]))
        order = np.lexsort((np.arange(x.shape[1]), -want[i]))  # ties to the lower column
        assert set(kept.tolist()) == set(order[: len(kept)].tolist())
        np.testing.assert_allclose(sim[i][kept], want[i][kept], rtol=1e-5)


def test_normalize_makes_rows_sum_to_one(tiny) -> None:
    sim = RP3beta(k=3, normalize=True).fit(tiny).similarity_
    sums = np.asarray(sim.sum(axis=1)).ravel()
    np.testing.assert_allclose(sums[sums > 0], 1.0, rtol=1e-6)


def test_beta_moves_recommendations_away_from_popular_items(random_matrix) -> None:
    x = random_matrix(300, 200, 8, seed=1)
    popularity = np.bincount(x.indices, minlength=200)
    mean_pop = {}
    for beta in (0.0, 0.8):
        ids, _ = RP3beta(k=50, beta=beta).fit(x).recommend(np.arange(300), x, n=10)
        mean_pop[beta] = popularity[ids[ids >= 0]].mean()
    assert mean_pop[0.8] < 0.5 * mean_pop[0.0]


def test_catalogue_params_save_and_cost(tiny, tmp_path) -> None:
    model = create_model("rp3beta", k=7, alpha=0.5, beta=0.3)
    assert isinstance(model, RP3beta)
    assert model.get_params() == {
        "k": 7, "alpha": 0.5, "beta": 0.3, "normalize": False, "num_threads": 0,
    }  # fmt: skip
    model.fit(tiny).save(tmp_path / "m")
    loaded = Recommender.load(tmp_path / "m")
    assert isinstance(loaded, RP3beta)
    np.testing.assert_array_equal(loaded.similarity_.toarray(), model.similarity_.toarray())
    cost = model.estimate_cost(10_000, 5_000, 200_000)
    assert isinstance(cost, Cost) and cost.memory_bytes >= 2 * 8 * 7 * 5_000
    assert model.estimate_cost(10_000, 10_000, 200_000).memory_bytes > cost.memory_bytes


@pytest.mark.parametrize(
    ("params", "words"),
    [({"k": 0}, "k must be"), ({"alpha": 0.0}, "alpha must be"), ({"beta": -1.0}, "beta must")],
)
def test_bad_parameters_are_named(tiny, params, words) -> None:
    with pytest.raises(ParameterError, match=words):
        RP3beta(**params).fit(tiny)
