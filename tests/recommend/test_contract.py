"""The contract every recommender passes (one parametrised suite for all models)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import scipy.sparse as sp

from shopguide.errors import ModelFormatError, NotFittedError
from shopguide.recommend import (
    ALS,
    BPR,
    EASE,
    Blend,
    EASELarge,
    ItemKNN,
    Popular,
    Recommender,
    RP3beta,
    UserKNN,
    create_model,
)

FACTORIES: dict[str, Callable[[], Recommender]] = {
    "user-knn": lambda: UserKNN(k=3),
    "user-knn-jaccard-none": lambda: UserKNN(k=3, similarity="jaccard", normalize="none"),
    "item-knn": lambda: ItemKNN(k=3),
    "item-knn-bm25-rated": lambda: ItemKNN(k=4, weighting="bm25", normalize="rated"),
    "item-knn-asym-shrink": lambda: ItemKNN(k=4, similarity="asymmetric", alpha=0.3, shrink=1),
    "item-knn-history": lambda: ItemKNN(k=3, neighbourhood="history", normalize=False),
    "popular": lambda: Popular(),
    "ease": lambda: EASE(regularization=5.0),
    "ease-large": lambda: EASELarge(regularization=5.0, dense_items=6, k=3),
    "als": lambda: ALS(factors=4, iterations=5, num_threads=1),
    "bpr": lambda: BPR(factors=4, iterations=20, num_threads=1),
    "rp3beta": lambda: RP3beta(k=3),
    "rp3beta-alpha-normalized": lambda: RP3beta(k=4, alpha=0.6, beta=0.2, normalize=True),
    "blend": lambda: Blend(
        first="ease",
        second="als",
        weight=0.3,
        first_params={"regularization": 5.0},
        second_params={"factors": 4, "iterations": 5, "num_threads": 1},
    ),
    "blend-knn-minmax": lambda: Blend(
        first="item-knn",
        second="ease",
        weight=0.5,
        normalize="minmax",
        first_params={"k": 3},
        second_params={"regularization": 5.0},
    ),
}
SIMILAR_ITEMS = {
    "item-knn",
    "item-knn-bm25-rated",
    "item-knn-asym-shrink",
    "item-knn-history",
    "ease",
    "ease-large",
    "als",
    "bpr",
    "rp3beta",
    "rp3beta-alpha-normalized",
}
SIMILAR_USERS = {"user-knn", "user-knn-jaccard-none", "als", "bpr"}


@pytest.fixture(params=sorted(FACTORIES))
def case(request: pytest.FixtureRequest) -> tuple[str, Recommender]:
    return request.param, FACTORIES[request.param]()


def _all_users(x: sp.csr_matrix) -> np.ndarray:
    return np.arange(x.shape[0])


def test_not_fitted_errors(case, tmp_path) -> None:
    _, model = case
    x = sp.csr_matrix((2, 3), dtype=np.float32)
    with pytest.raises(NotFittedError):
        model.recommend([0], x)
    with pytest.raises(NotFittedError):
        model.save(tmp_path / "m")
    assert not model.is_fitted


def test_fit_returns_self_and_shapes(case, tiny) -> None:
    _, model = case
    assert model.fit(tiny) is model
    assert (model.n_users_, model.n_items_) == tiny.shape
    ids, scores = model.recommend(_all_users(tiny), tiny, n=4)
    assert ids.shape == scores.shape == (8, 4)
    assert ids.dtype == np.int32 and scores.dtype == np.float32
    one_ids, _ = model.recommend(2, tiny, n=4)
    assert one_ids.shape == (1, 4)


def test_output_sorted_and_padding_consistent(case, tiny) -> None:
    _, model = case
    ids, scores = model.fit(tiny).recommend(_all_users(tiny), tiny, n=10)
    assert np.array_equal(ids == -1, np.isneginf(scores))
    finite = np.where(np.isneginf(scores), -1e30, scores)
    assert (np.diff(finite, axis=1) <= 0).all()
    for row in ids:  # no duplicates
        real = row[row >= 0]
        assert len(set(real.tolist())) == len(real)


def test_filters_already_seen_items(case, tiny) -> None:
    _, model = case
    ids, _ = model.fit(tiny).recommend(_all_users(tiny), tiny, n=10)
    for u, row in enumerate(ids):
        seen = set(tiny[u].indices.tolist())
        assert not seen & set(row[row >= 0].tolist())
    unfiltered, _ = model.recommend(_all_users(tiny), tiny, n=10, filter_already_liked=False)
    assert (unfiltered >= 0).sum() >= (ids >= 0).sum()


def test_allowed_and_blocked_items(case, tiny) -> None:
    _, model = case
    model.fit(tiny)
    allowed = np.zeros(10, dtype=bool)
    allowed[[0, 3, 5, 6, 9]] = True
    ids, _ = model.recommend(_all_users(tiny), tiny, n=10, items_allowed=allowed)
    assert set(ids[ids >= 0].tolist()) <= {0, 3, 5, 6, 9}
    ids, _ = model.recommend(_all_users(tiny), tiny, n=10, items_blocked=[5, 6])
    assert not {5, 6} & set(ids.ravel().tolist())


def test_deterministic(case, tiny) -> None:
    name, model = case
    first = model.fit(tiny).recommend(_all_users(tiny), tiny, n=5)
    again = model.recommend(_all_users(tiny), tiny, n=5)
    refit = FACTORIES[name]().fit(tiny).recommend(_all_users(tiny), tiny, n=5)
    for a, b, c in zip(first, again, refit, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


def test_batches_and_row_slices_agree(case, tiny) -> None:
    _, model = case
    model.fit(tiny)
    users = np.array([6, 1, 3, 0])
    ids, scores = model.recommend(users, tiny, n=5)
    sliced = model.recommend(users, tiny[users], n=5)  # rows of those users only
    np.testing.assert_array_equal(ids, sliced[0])
    model.block_users = 1  # type: ignore[misc]  # force one user per block
    try:
        one_by_one = model.recommend(users, tiny, n=5)
    finally:
        del model.block_users
    np.testing.assert_array_equal(ids, one_by_one[0])
    np.testing.assert_array_equal(scores, one_by_one[1])


def test_save_load_reproduces_exactly(case, tiny, tmp_path) -> None:
    name, model = case
    model.fit(tiny)
    model.save(tmp_path / "m")
    loaded = Recommender.load(tmp_path / "m")
    assert type(loaded) is type(model) and loaded.get_params() == model.get_params()
    for a, b in zip(
        model.recommend(_all_users(tiny), tiny, n=6),
        loaded.recommend(_all_users(tiny), tiny, n=6),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)
    if name in SIMILAR_ITEMS:
        np.testing.assert_array_equal(
            model.similar_items([0, 7], 3)[0], loaded.similar_items([0, 7], 3)[0]
        )
    with np.load(tmp_path / "m" / "arrays.npz", allow_pickle=False) as z:
        assert all(z[k].dtype != object for k in z.files)  # no pickled objects


def test_similar_items_and_users(case, tiny) -> None:
    name, model = case
    model.fit(tiny)
    if name in SIMILAR_ITEMS:
        ids, _ = model.similar_items([0, 5], n=3)
        assert ids.shape == (2, 3) and 0 not in ids[0] and 5 not in ids[1]
    else:
        with pytest.raises(NotImplementedError):
            model.similar_items([0], n=3)
    if name in SIMILAR_USERS:
        ids, _ = model.similar_users([0, 4], n=2)
        assert ids.shape == (2, 2) and 0 not in ids[0] and 4 not in ids[1]
    else:
        with pytest.raises(NotImplementedError):
            model.similar_users([0], n=2)


def test_bad_inputs_are_clear(case, tiny) -> None:
    _, model = case
    with pytest.raises(TypeError, match=r"scipy\.sparse"):
        model.fit(tiny.toarray())
    model.fit(tiny)
    with pytest.raises(ValueError, match="item columns"):
        model.recommend([0], tiny[:, :5])
    with pytest.raises(IndexError):
        model.recommend([99], tiny)


def test_load_rejects_wrong_format(tmp_path, tiny) -> None:
    Popular().fit(tiny).save(tmp_path / "m")
    cfg = tmp_path / "m" / "config.json"
    cfg.write_text(cfg.read_text().replace('"format_version": 1', '"format_version": 99'))
    with pytest.raises(ModelFormatError, match="format version"):
        Recommender.load(tmp_path / "m")
    with pytest.raises(ModelFormatError):
        Recommender.load(tmp_path / "missing")


def test_create_model_names() -> None:
    assert isinstance(create_model("item-knn", k=7), ItemKNN)
    assert create_model("user-knn", k=7).get_params()["k"] == 7
    with pytest.raises(ValueError, match="unknown model"):
        create_model("magic")
    with pytest.raises(ValueError, match="bad parameter"):
        create_model("ease", kk=1)


def test_rows_of_requested_users_are_never_read_as_the_full_matrix(case) -> None:
    """The issue's case: ``recommend(p, X[p])`` with ``p`` a permutation of every user gives
    each user's own history row, so no already-seen item comes back."""
    _, model = case
    x = sp.random(100, 200, density=0.05, random_state=0, format="csr", dtype=np.float32)
    x.data[:] = 1
    model.fit(x)
    p = np.random.RandomState(0).permutation(100)
    ids, _ = model.recommend(p, x[p], n=10)
    for i, user in enumerate(p):
        assert not set(x[user].indices.tolist()) & set(ids[i][ids[i] >= 0].tolist())
    # the full matrix in a reordering of all users, said explicitly, gives the same answer
    full, _ = model.recommend(p, x, n=10, full_matrix=True)
    np.testing.assert_array_equal(ids, full)
    with pytest.raises(ValueError, match="one row per requested user"):
        model.recommend(p[:5], x, n=10, full_matrix=False)
    with pytest.raises(ValueError, match="full_matrix=True"):
        model.recommend(p[:5], x[p[:5]], n=10, full_matrix=True)


def test_set_params_and_sklearn_clone(case, tiny) -> None:
    from sklearn.base import clone

    _, model = case
    model.fit(tiny)
    copy = clone(model)
    assert type(copy) is type(model) and copy.get_params() == model.get_params()
    assert not copy.is_fitted  # a clone is a new, unfitted estimator
    params = model.get_params()
    first = next(iter(params))
    assert model.set_params(**{first: params[first]}) is model
    with pytest.raises(ValueError, match="no parameter 'nonsense'"):
        model.set_params(nonsense=1)
    if "k" in params:
        assert model.set_params(k=2).get_params()["k"] == 2


def test_scores_from_history_means_the_row_alone_decides(case, tiny) -> None:
    """A model that says it scores from history gives any user index the same answer for the
    same row (the service scores users unknown at fit time that way); the others differ."""
    name, model = case
    model.fit(tiny)
    row = tiny[[2]]
    answers = [model.recommend([user], row, n=4, full_matrix=False) for user in range(7)]
    same = all(np.array_equal(a[0], answers[0][0]) for a in answers)
    if model.scores_from_history:
        assert same, name
        for _ids, scores in answers:
            np.testing.assert_allclose(scores, answers[0][1], rtol=1e-6)
    elif name not in ("popular",):  # popularity ignores the user entirely
        assert not same, name


def test_sparse_product_is_public_and_agrees_with_the_scores(case, tiny) -> None:
    """The neighbourhood models' scores are a sparse product (the service scores one user from
    it); normalised as ``rated`` says, it equals the model's own dense scores."""
    name, model = case
    model.fit(tiny)
    users = np.array([0, 3, 5])
    product = model.sparse_product(users, tiny[users])
    assert (product is not None) == name.startswith(("item-knn", "user-knn", "rp3beta")), name
    if product is None:
        return
    left, right, rated = product
    scores = np.asarray((left @ right).todense(), dtype=np.float64)
    if rated == 1:  # divided by the sum of |right| over the stored cells of left
        denom = np.asarray(((left != 0).astype(np.float64) @ abs(right)).todense())
    elif rated == 2:  # divided by the sum of |left| over the stored cells of right
        denom = np.asarray((abs(left) @ (right != 0).astype(np.float64)).todense())
    else:
        denom = np.ones_like(scores)
    scores = np.divide(scores, denom, out=np.zeros_like(scores), where=denom != 0)
    dense = model._score_block(users, tiny[users])
    dense = np.asarray(dense.todense() if sp.issparse(dense) else dense, dtype=np.float64)
    np.testing.assert_allclose(scores, dense, rtol=1e-5, atol=1e-6, err_msg=name)
