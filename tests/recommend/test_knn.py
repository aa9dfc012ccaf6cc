"""Known-answer tests for UserKNN and ItemKNN: the seed formulas by hand, then against a
dense, straightforward numpy reference on random data."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from shopguide.recommend import _kernels
from shopguide.recommend.knn import (
    ItemKNN,
    UserKNN,
    kernel_inputs,
    knn_neighbours,
    neighbours_block,
    rows_to_csr,
    weight_rows,
)


@pytest.fixture(params=["compiled", "numpy"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test through the numba loops and through the numpy/scipy paths."""
    monkeypatch.setattr(_kernels, "ENABLED", request.param == "compiled")
    return str(request.param)


# r(u, i): 4 users x 4 items
R = sp.csr_matrix(
    np.array(
        [
            [5, 3, 0, 0],  # u0
            [4, 0, 2, 0],  # u1
            [0, 1, 4, 5],  # u2
            [2, 5, 1, 0],  # u3
        ],
        dtype=np.float32,
    )
)


def test_user_knn_by_hand(path: str) -> None:
    # |u0| = sqrt(34) = 5.8310, |u1| = sqrt(20) = 4.4721, |u2| = sqrt(42) = 6.4807,
    # |u3| = sqrt(30) = 5.4772
    # cos(u0,u1) = 20 / 26.077 = 0.76696   cos(u0,u2) =  3 / 37.789 = 0.07939
    # cos(u0,u3) = 25 / 31.937 = 0.78279   cos(u1,u2) =  8 / 28.983 = 0.27603
    # cos(u1,u3) = 10 / 24.495 = 0.40825   cos(u2,u3) =  9 / 35.496 = 0.25355
    # K = 2: N(u0) = {u3: 0.78279, u1: 0.76696}, N(u2) = {u1: 0.27603, u3: 0.25355}
    model = UserKNN(k=2).fit(R)
    np.testing.assert_allclose(
        model.neighbours_[0].toarray(), [[0, 0.76696, 0, 0.78279]], atol=1e-5
    )
    np.testing.assert_allclose(
        model.neighbours_[2].toarray(), [[0, 0.27603, 0, 0.25355]], atol=1e-5
    )
    ids, scores = model.recommend([0, 2], R, n=3)
    # u0 has not seen items 2 and 3:
    # score(u0, 2) = (0.78279 * r(u3,2)=1 + 0.76696 * r(u1,2)=2) / (0.78279 + 0.76696)
    #              = 2.31671 / 1.54975 = 1.49490
    # score(u0, 3): neither neighbour has item 3 -> no candidate (padding)
    assert ids[0].tolist() == [2, -1, -1]
    assert scores[0, 0] == pytest.approx(1.49490, rel=1e-4)
    # u2 has only item 0 unseen:
    # score(u2, 0) = (0.27603 * 4 + 0.25355 * 2) / (0.27603 + 0.25355) = 1.61122 / 0.52958 = 3.04245
    assert ids[1].tolist() == [0, -1, -1]
    assert scores[1, 0] == pytest.approx(3.04245, rel=1e-4)
    # unnormalised: the numerators; "rated": only neighbours having the item count
    none = UserKNN(k=2, normalize="none").fit(R).recommend([0], R, n=1)[1]
    assert none[0, 0] == pytest.approx(2.31671, rel=1e-4)
    rated = UserKNN(k=2, normalize="rated").fit(R).recommend([0], R, n=1)[1]
    assert rated[0, 0] == pytest.approx(2.31671 / 1.54975, rel=1e-4)  # both rated item 2
    # explanations are the numerator's terms
    contrib = model.contributions(0, 2)
    assert [v for v, _ in contrib] == [1, 3]
    assert contrib[0][1] == pytest.approx(0.76696 * 2, rel=1e-4)


def test_item_knn_by_hand(path: str) -> None:
    # item vectors (columns of R): i0 = (5,4,0,2) |i0| = 6.7082, i1 = (3,0,1,5) |i1| = 5.9161,
    # i2 = (0,2,4,1) |i2| = 4.5826, i3 = (0,0,5,0) |i3| = 5
    # cos(i0,i1) = 25 / 39.686 = 0.62995   cos(i0,i2) = 10 / 30.741 = 0.32530   cos(i0,i3) = 0
    # cos(i1,i2) =  9 / 27.111 = 0.33197   cos(i1,i3) =  5 / 29.580 = 0.16903
    # cos(i2,i3) = 20 / 22.913 = 0.87287
    # K = 2: N(i0) = {i1, i2}, N(i2) = {i3, i1}, N(i3) = {i2, i1}
    model = ItemKNN(k=2).fit(R)
    np.testing.assert_allclose(
        model.neighbours_.toarray(),
        [
            [0, 0.62995, 0.32530, 0],
            [0.62995, 0, 0.33197, 0],
            [0, 0.33197, 0, 0.87287],
            [0, 0.16903, 0.87287, 0],
        ],
        atol=1e-5,
    )
    ids, scores = model.recommend([0, 2], R, n=2)
    # u0 = (5,3,0,0):
    # score(u0, i2) = (0.87287 * 0 + 0.33197 * 3) / (0.87287 + 0.33197)
    #               = 0.99591 / 1.20484 = 0.82659
    # score(u0, i3) = (0.87287 * 0 + 0.16903 * 3) / (0.87287 + 0.16903)
    #               = 0.50709 / 1.04190 = 0.48670
    assert ids[0].tolist() == [2, 3]
    np.testing.assert_allclose(scores[0], [0.82659, 0.48670], rtol=1e-4)
    # u2 = (0,1,4,5): score(u2, i0) = (0.62995 * 1 + 0.32530 * 4) / 0.95525 = 2.02162
    assert ids[1].tolist() == [0, -1]
    assert scores[1, 0] == pytest.approx(2.02162, rel=1e-4)
    plain = ItemKNN(k=2, normalize=False).fit(R).recommend([0], R, n=2)[1]
    np.testing.assert_allclose(plain[0], [0.99591, 0.50709], rtol=1e-4)
    rated = ItemKNN(k=2, normalize="rated").fit(R).recommend([0], R, n=2)[1]
    np.testing.assert_allclose(rated[0], [3.0, 3.0], rtol=1e-5)  # only i1 (r=3) counts
    assert model.contributions(R[0], 2) == [(1, pytest.approx(0.33197 * 3, rel=1e-4))]
    assert model.similar_items([2], n=2)[0].tolist() == [[3, 1]]


# --- dense reference ---------------------------------------------------------------------
def _ref_similarity(rows: np.ndarray, similarity: str, shrink: float, alpha: float) -> np.ndarray:
    if similarity == "jaccard":
        b = (rows != 0).astype(np.float64)
        inter = b @ b.T
        cnt = b.sum(axis=1)
        denom = cnt[:, None] + cnt[None, :] - inter + shrink
    else:
        inter = rows @ rows.T
        sq = (rows**2).sum(axis=1)
        if similarity == "cosine":
            denom = np.sqrt(sq[:, None] * sq[None, :]) + shrink
        else:
            denom = sq[:, None] ** alpha * sq[None, :] ** (1 - alpha) + shrink
    with np.errstate(divide="ignore", invalid="ignore"):
        sim = np.where(denom > 0, inter / denom, 0.0)
    np.fill_diagonal(sim, 0.0)
    return sim


def _ref_topk(sim: np.ndarray, k: int) -> np.ndarray:
    """Keep the k largest positive entries per row (no ties in random data)."""
    out = np.zeros_like(sim)
    for a in range(sim.shape[0]):
        order = [b for b in np.argsort(-sim[a], kind="stable")[:k] if sim[a, b] > 0]
        out[a, order] = sim[a, order]
    return out


def _ref_scores(weights: np.ndarray, ratings: np.ndarray, normalize: str) -> np.ndarray:
    """weights[a, b] (K per row) times ratings[b, :], with the chosen denominator."""
    num = weights @ ratings
    if normalize == "neighbours":
        den = np.abs(weights).sum(axis=1, keepdims=True)
    elif normalize == "rated":
        den = np.abs(weights) @ (ratings != 0)
    else:
        return num
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / den, 0.0)


def _random_matrix(seed: int, users: int = 60, items: int = 40) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    dense = rng.random((users, items)) * (rng.random((users, items)) < 0.15)
    return sp.csr_matrix(dense.astype(np.float32))


def _check_lists(ids: np.ndarray, scores: np.ndarray, ref: np.ndarray, seen: np.ndarray) -> None:
    for u in range(ref.shape[0]):
        cand = np.flatnonzero((ref[u] != 0) & ~seen[u])
        want = cand[np.argsort(-ref[u, cand], kind="stable")][: ids.shape[1]]
        got = ids[u][ids[u] >= 0]
        # same list lengths and score sequence; each returned item really has that score
        # (comparing ids position by position would depend on float32 rounding of ties)
        assert len(got) == len(want), u
        np.testing.assert_allclose(scores[u, : len(got)], ref[u, want], rtol=2e-4, atol=1e-6)
        np.testing.assert_allclose(scores[u, : len(got)], ref[u, got], rtol=2e-4, atol=1e-6)
        assert not seen[u, got].any()


OPTIONS = [
    {"similarity": "cosine"},
    {"similarity": "cosine", "shrink": 2.0},
    {"similarity": "jaccard", "shrink": 1.0},
    {"similarity": "asymmetric", "alpha": 0.2},
    {"similarity": "cosine", "normalize": "none"},
    {"similarity": "cosine", "normalize": "rated"},
]


@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("seed", [0, 1])
def test_user_knn_matches_dense_reference(options: dict, seed: int, path: str) -> None:
    x = _random_matrix(seed)
    dense = x.toarray().astype(np.float64)
    sim = _ref_similarity(
        dense, options["similarity"], options.get("shrink", 0.0), options.get("alpha", 0.5)
    )
    weights = _ref_topk(sim, 7)
    ref = _ref_scores(weights, dense, options.get("normalize", "neighbours"))
    model = UserKNN(k=7, **options).fit(x)
    np.testing.assert_allclose(model.neighbours_.toarray(), weights, rtol=1e-4, atol=1e-6)
    ids, scores = model.recommend(np.arange(x.shape[0]), x, n=8)
    _check_lists(ids, scores, ref, dense != 0)


@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("seed", [0, 1])
def test_item_knn_matches_dense_reference(options: dict, seed: int, path: str) -> None:
    x = _random_matrix(seed)
    dense = x.toarray().astype(np.float64)
    sim = _ref_similarity(
        dense.T, options["similarity"], options.get("shrink", 0.0), options.get("alpha", 0.5)
    )
    weights = _ref_topk(sim, 6)  # row i: N_K(i)
    # score(u, i) = sum_j W[i, j] r(u, j) / ...: the user-knn formula on the transposed roles
    ref = _ref_scores(weights, dense.T, options.get("normalize", "neighbours")).T
    model = ItemKNN(k=6, **options).fit(x)
    np.testing.assert_allclose(model.neighbours_.toarray(), weights, rtol=1e-4, atol=1e-6)
    ids, scores = model.recommend(np.arange(x.shape[0]), x, n=8)
    _check_lists(ids, scores, ref, dense != 0)


def test_blockwise_neighbours_do_not_depend_on_block_size() -> None:
    rows = _random_matrix(3, users=90, items=30)
    whole = knn_neighbours(rows, 5, block_rows=1000, use_kernels=False)
    for block in (1, 7, 32):
        parts = knn_neighbours(rows, 5, block_rows=block, num_threads=2, use_kernels=False)
        assert (whole != parts).nnz == 0
    assert np.diff(whole.indptr).max() <= 5
    compiled = knn_neighbours(rows, 5, use_kernels=True)  # the compiled loop: same neighbours
    assert (compiled.indices == whole.indices).all()
    np.testing.assert_allclose(compiled.data, whole.data, rtol=1e-5)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    cuts=st.lists(st.integers(1, 39), max_size=6),
    similarity=st.sampled_from(["cosine", "jaccard", "asymmetric"]),
    shrink=st.sampled_from([0.0, 2.5]),
)
def test_row_blocks_reproduce_the_whole_neighbour_matrix(
    seed: int, cuts: list[int], similarity: str, shrink: float
) -> None:
    """Any split of the rows into blocks (the Spark broadcast mode's tasks) gives exactly the
    whole computation's neighbours: same ids, same float32 values, nothing lost at edges."""
    x = _random_matrix(seed, users=60, items=40)
    rows, rows_t = x.T.tocsr(), x
    whole = knn_neighbours(rows, 6, similarity=similarity, shrink=shrink, use_kernels=True)
    inputs = kernel_inputs(rows, rows_t, similarity)
    edges = [0, *sorted(set(cuts)), 40]
    parts = [
        neighbours_block(inputs, lo, hi, 6, similarity=similarity, shrink=shrink)  # type: ignore[arg-type]
        for lo, hi in itertools.pairwise(edges)
        if hi > lo
    ]
    ids = np.vstack([p[0] for p in parts])
    vals = np.vstack([p[1] for p in parts])
    stitched = rows_to_csr(ids, vals, 40)
    assert (stitched.indptr == whole.indptr).all() and (stitched.indices == whole.indices).all()
    assert (stitched.data == whole.data).all()
    assert stitched.diagonal().sum() == 0


def test_compiled_and_numpy_recommend_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    x = _random_matrix(8, users=120, items=50)
    for model in (ItemKNN(k=10), UserKNN(k=10, normalize="rated"), ItemKNN(k=5, normalize=False)):
        model.fit(x)
        blocked = np.arange(0, 50, 7)
        monkeypatch.setattr(_kernels, "ENABLED", True)
        fast = model.recommend(np.arange(120), x, n=12, items_blocked=blocked)
        monkeypatch.setattr(_kernels, "ENABLED", False)
        slow = model.recommend(np.arange(120), x, n=12, items_blocked=blocked)
        np.testing.assert_array_equal(fast[0] >= 0, slow[0] >= 0)
        np.testing.assert_allclose(fast[1], slow[1], rtol=1e-5)


def test_neighbour_matrix_has_k_per_row_and_no_self() -> None:
    x = _random_matrix(4, users=50, items=30)
    model = ItemKNN(k=4).fit(x)
    assert np.diff(model.neighbours_.indptr).max() <= 4
    assert model.neighbours_.diagonal().sum() == 0


def test_weighting_tfidf_and_bm25() -> None:
    # 3 rows x 3 features; feature 0 in every row -> idf = log(3 / 4) < 0 -> clipped to 0
    m = sp.csr_matrix(np.array([[1, 1, 0], [1, 0, 2], [1, 0, 0]], dtype=np.float32))
    tfidf = weight_rows(m, "tfidf").toarray()
    # feature 1 and 2 appear in one row each: idf = log(3 / 2) = 0.405465
    np.testing.assert_allclose(tfidf, [[0, 0.405465, 0], [0, 0, 0.81093], [0, 0, 0]], rtol=1e-5)
    bm25 = weight_rows(m, "bm25", k1=1.2, b=0.75).toarray()
    # row 1: length 3, avg length 2 -> tf(2) = 2 * 2.2 / (2 + 1.2 * (0.25 + 0.75 * 1.5))
    #                                        = 4.4 / 3.65 = 1.205479
    assert bm25[1, 2] == pytest.approx(1.205479 * 0.405465, rel=1e-5)
    with pytest.raises(ValueError):
        weight_rows(m, "magic")  # type: ignore[arg-type]
    model = ItemKNN(k=2, weighting="tfidf").fit(_random_matrix(5))
    assert model.neighbours_.nnz > 0


def test_invalid_parameters() -> None:
    with pytest.raises(ValueError, match="similarity"):
        ItemKNN(similarity="pearson").fit(R)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="normalize"):
        UserKNN(normalize="sometimes").fit(R)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="k must"):
        UserKNN(k=0).fit(R)


def test_item_knn_history_neighbourhood_by_hand(path: str) -> None:
    # same neighbours as test_item_knn_by_hand; now each item the user has votes for its
    # own K neighbours: u0 = (5,3,0,0)
    #   j = i0 (r = 5) votes N(i0) = {i1: 0.62995, i2: 0.32530} -> i2 += 5 * 0.32530 = 1.62650
    #   j = i1 (r = 3) votes N(i1) = {i0: 0.62995, i2: 0.33197} -> i2 += 3 * 0.33197 = 0.99591
    #   nobody u0 has lists i3 as a neighbour -> i3 is no candidate
    model = ItemKNN(k=2, normalize="none", neighbourhood="history").fit(R)
    ids, scores = model.recommend([0], R, n=2)
    assert ids[0].tolist() == [2, -1]
    assert scores[0, 0] == pytest.approx(1.62650 + 0.99591, rel=1e-4)
    assert [j for j, _ in model.contributions(R[0], 2)] == [0, 1]
    with pytest.raises(ValueError, match="neighbourhood"):
        ItemKNN(neighbourhood="sideways").fit(R)  # type: ignore[arg-type]


@pytest.mark.parametrize("normalize", ["neighbours", "rated", "none"])
def test_item_knn_history_matches_dense_reference(normalize: str, path: str) -> None:
    x = _random_matrix(6)
    dense = x.toarray().astype(np.float64)
    weights = _ref_topk(_ref_similarity(dense.T, "cosine", 0.0, 0.5), 6)  # row j: N_K(j)
    if normalize == "neighbours":
        ref = dense @ (weights / np.maximum(np.abs(weights).sum(axis=1, keepdims=True), 1e-300))
    elif normalize == "rated":
        with np.errstate(divide="ignore", invalid="ignore"):
            den = (dense != 0) @ np.abs(weights)
            ref = np.where(den > 0, (dense @ weights) / den, 0.0)
    else:
        ref = dense @ weights
    model = ItemKNN(k=6, normalize=normalize, neighbourhood="history").fit(x)
    ids, scores = model.recommend(np.arange(x.shape[0]), x, n=8)
    _check_lists(ids, scores, ref, dense != 0)


@pytest.mark.parametrize(
    ("model_class", "options"),
    [
        (UserKNN, {"normalize": "rated"}),
        (UserKNN, {"normalize": "neighbours"}),
        (ItemKNN, {"neighbourhood": "history"}),
        (ItemKNN, {"neighbourhood": "candidate", "normalize": "rated"}),
    ],
)
def test_set_neighbours_recommends_like_fit(model_class: type, options: dict) -> None:
    x = _random_matrix(3)
    fitted = model_class(k=6, **options).fit(x)
    adopted = model_class(k=6, **options).set_neighbours(fitted.neighbours_, x)
    assert (adopted.n_users_, adopted.n_items_) == x.shape
    users = np.arange(x.shape[0])
    want_ids, want_scores = fitted.recommend(users, x, n=5)
    got_ids, got_scores = adopted.recommend(users, x, n=5)
    np.testing.assert_array_equal(got_ids, want_ids)
    np.testing.assert_array_equal(got_scores, want_scores)
    similar = "similar_users" if model_class is UserKNN else "similar_items"
    np.testing.assert_array_equal(
        getattr(adopted, similar)(np.arange(4), n=3)[0],
        getattr(fitted, similar)(np.arange(4), n=3)[0],
    )


def test_set_neighbours_rejects_a_matrix_of_the_wrong_side() -> None:
    x = _random_matrix(4, users=30, items=20)
    items_side = ItemKNN(k=5).fit(x).neighbours_  # 20 x 20
    with pytest.raises(ValueError, match="neighbours must be 30 x 30"):
        UserKNN(k=5).set_neighbours(items_side, x)
    with pytest.raises(ValueError, match="neighbourhood must be"):
        ItemKNN(k=5, neighbourhood="sideways").set_neighbours(items_side, x)
