"""The service's one-user recommendation path against the models' own batch ``recommend``.

``workflows.serving`` scores one user from arrays kept in the published snapshot (a compiled
single-row kernel, a category index for the filters, a precomputed popularity order). These
tests pin it to the reference: a hand-computed product, then every user of a small shop under
several models and filters compared with ``RuleSet.recommend`` (KNN) or EASE's scores computed
by hand with NumPy (ids and float32 scores equal),
the filter masks with ``RuleSet.allowed``, and read-your-writes after online ingestion.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from live_server import make_store

from shopguide.recommend._kernels import row_product_top_n
from shopguide.recommend.explain import explain
from shopguide.recommend.rules import (
    ExcludeCategories,
    IncludeCategories,
    PriceRange,
    Rule,
    RuleSet,
)
from shopguide.store import open_store
from shopguide.workflows import serving
from shopguide.workflows.serving import answers
from shopguide.workflows.serving.filters import ItemFilter

MODELS: list[tuple[str, dict[str, Any]]] = [
    ("item-knn", {}),
    ("item-knn", {"normalize": "rated", "k": 10}),
    ("item-knn", {"neighbourhood": "history", "similarity": "jaccard"}),
    ("user-knn", {"k": 15}),
    ("user-knn", {"normalize": "rated"}),
    ("rp3beta", {"k": 15, "alpha": 0.5}),
    ("ease", {}),  # dense scores: no RowScorer, the RuleSet path
]
FILTERS: list[dict[str, Any]] = [
    {},
    {"include_categories": ["Home"]},
    {"exclude_categories": ["Home", "Fashion > Shoes"], "max_price": 50.0},
    {"min_price": 5.0, "max_price": 30.0},
    {"include_categories": ["no such category"]},
]


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = Path(tmp_path_factory.mktemp("recommend-path")) / "shop.duckdb"
    make_store(db, n_users=200)
    return db


def _snapshot(db: Path, name: str, params: dict[str, Any]) -> serving.ModelSnapshot:
    store, registry = serving.open_service_store(db)
    try:
        serving.train_and_publish(store, registry, name, params)
        return serving.build_snapshot(store, registry, name)
    finally:
        store.close()


def _rules(
    include: Sequence[str], exclude: Sequence[str], low: float | None, high: float | None
) -> RuleSet:
    """The request's filters as the batch API's rules, spelled out by hand."""
    rules: list[Rule] = []
    if include:
        rules.append(IncludeCategories(list(include)))
    if exclude:
        rules.append(ExcludeCategories(list(exclude)))
    if low is not None or high is not None:
        rules.append(PriceRange(low or 0.0, float("inf") if high is None else high))
    return RuleSet(rules)


def _reference(
    snapshot: serving.ModelSnapshot, user: str, n: int, filters: dict[str, Any]
) -> tuple[list[str], list[float], str]:
    """The answer as the batch API gives it: RuleSet.recommend, then the most popular allowed
    unseen items (argsort of the popularity counts) to fill the list."""
    rules = _rules(
        filters.get("include_categories", ()), filters.get("exclude_categories", ()),
        filters.get("min_price"), filters.get("max_price"),
    )  # fmt: skip
    index, row = snapshot.user_row(user)
    from_row = snapshot.model.model_name in ("item-knn", "rp3beta", "ease")
    ids = np.zeros(0, dtype=np.int32)
    scores = np.zeros(0, dtype=np.float32)
    strategy = "popular"
    if row is not None and (index is not None or (from_row and row.nnz)):
        if snapshot.model.model_name == "ease":
            ids, scores = _ease_by_hand(snapshot, row, rules, n)
        else:
            found, values = rules.recommend(
                snapshot.model, [index or 0], row, snapshot.catalog, n=n
            )
            keep = found[0] >= 0
            ids, scores = found[0][keep], values[0][keep]
        strategy = "model"
    if len(ids) < n:
        popular = snapshot.popular.copy()
        allowed = rules.allowed(snapshot.catalog)
        if allowed is not None:
            popular[~allowed] = -np.inf
        if row is not None:
            popular[row.indices] = -np.inf
        popular[ids] = -np.inf
        popular[popular <= 0] = -np.inf
        top = np.argsort(-popular, kind="stable")[: n - len(ids)]
        top = top[np.isfinite(popular[top])]
        ids = np.concatenate([ids, top]).astype(np.int32)
        scores = np.concatenate([scores, popular[top].astype(np.float32)])
    external = snapshot.items.external_ids[ids]
    return [str(e) for e in external], [float(s) for s in scores], strategy


def _ease_by_hand(
    snapshot: serving.ModelSnapshot, row: sp.csr_matrix, rules: Any, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """EASE's answer from its weights with NumPy: the user's row times B, the seen and
    disallowed items removed, the best ``n`` by score (ties to the lower index)."""
    weights = np.asarray(snapshot.model.weights_, dtype=np.float32)
    scores = np.asarray(row.astype(np.float32) @ weights, dtype=np.float32).ravel()
    scores[row.indices] = -np.inf
    allowed = rules.allowed(snapshot.catalog)
    if allowed is not None:
        scores[~allowed] = -np.inf
    top = np.argsort(-scores, kind="stable")[:n]
    top = top[np.isfinite(scores[top])]
    return top.astype(np.int32), scores[top]


def test_row_kernel_known_answer() -> None:
    # user: item 0 with weight 1, item 2 with weight 2; right: 3 x 4
    right = sp.csr_matrix(
        np.array(
            [[0.0, 0.5, 0.0, 1.0],
             [0.0, 0.0, 0.0, 9.0],
             [0.5, 0.25, 0.0, 0.0]], dtype=np.float32,
        )
    )  # fmt: skip
    args = (right.indptr, right.indices, right.data)
    left_i, left_d = np.array([0, 2], np.int32), np.array([1.0, 2.0], np.float32)
    none = np.zeros(0, np.bool_)
    # plain: scores = 1*[0, .5, 0, 1] + 2*[.5, .25, 0, 0] = [1, 1, 0, 1]; ties by lower id
    ids, vals = row_product_top_n(left_i, left_d, *args, 0, np.zeros(0, np.int32), none, 4, 3)
    assert ids.tolist() == [0, 1, 3] and vals.tolist() == [1.0, 1.0, 1.0]
    # the user's own items are skipped, excluded items too; item 2 scores 0: no candidate
    seen = np.array([0], np.int32)
    excluded = np.array([False, False, False, True])
    ids, vals = row_product_top_n(left_i, left_d, *args, 0, seen, excluded, 4, 3)
    assert ids.tolist() == [1, -1, -1] and vals[0] == 1.0 and np.isneginf(vals[1:]).all()
    # rated=1 divides by the sum of |right| over the user's items: [1/.5, 1/.75, -, 1/1]
    ids, vals = row_product_top_n(left_i, left_d, *args, 1, np.zeros(0, np.int32), none, 4, 3)
    assert ids.tolist() == [0, 1, 3]
    np.testing.assert_allclose(vals, [2.0, 1.0 / 0.75, 1.0], rtol=1e-6)


@pytest.mark.parametrize(("name", "params"), MODELS, ids=lambda v: str(v))
def test_fast_path_answers_equal_the_batch_recommend(
    store_path: Path, name: str, params: dict[str, Any]
) -> None:
    snapshot = _snapshot(store_path, name, params)
    assert (snapshot.scorer is not None) == (name != "ease")
    users = [str(u) for u in snapshot.users.external_ids[::3]] + ["never-seen-user"]
    for filters in FILTERS:
        for user in users:
            items, strategy = answers.recommend_uncached(
                snapshot, user, 10, ItemFilter.of(**filters), False
            )
            ids, scores, want_strategy = _reference(snapshot, user, 10, filters)
            assert [i.item_id for i in items] == ids, (user, filters)
            assert [i.score for i in items] == scores, (user, filters)
            assert strategy == want_strategy


def test_answer_fields_come_from_the_catalogue(store_path: Path) -> None:
    snapshot = _snapshot(store_path, "item-knn", {})
    user = str(snapshot.users.external_ids[0])
    items, _ = serving.recommend_for_user(snapshot, user, 5, explanations=True)
    cat = snapshot.catalog
    for item in items:
        i = snapshot.item_row(item.item_id)
        assert item.title == cat.title[i] and item.category == cat.category[i]
        assert item.price == pytest.approx(float(cat.price[i]))
    index, row = snapshot.user_row(user)
    model_ids = np.array([snapshot.item_row(i.item_id) for i in items])
    assert index is not None and row is not None
    wanted = explain(snapshot.model, index, model_ids, row, items=snapshot.items,
                     titles=cat.title.tolist())  # fmt: skip
    assert [i.reason for i in items] == [e.text for e in wanted]


def _prefixes(categories: list[str]) -> list[str]:
    out = set()
    for cat in categories:
        parts = [p.strip() for p in cat.split(">")]
        out.update(" > ".join(parts[: d + 1]) for d in range(len(parts)))
    return sorted(out)


@pytest.fixture(scope="module")
def item_snapshot(store_path: Path) -> serving.ModelSnapshot:
    return _snapshot(store_path, "item-knn", {})


def test_allowed_masks_equal_the_rules(item_snapshot: serving.ModelSnapshot) -> None:
    snapshot = item_snapshot
    known = _prefixes([c for c in snapshot.catalog.category.tolist() if isinstance(c, str)])
    names = [*known, *(f" {k} " for k in known), "Hom", "Home >", "", "x > y"]

    @settings(max_examples=150, deadline=None)
    @given(
        include=st.lists(st.sampled_from(names), max_size=3),
        exclude=st.lists(st.sampled_from(names), max_size=3),
        low=st.none() | st.floats(0, 100),
        high=st.none() | st.floats(0, 100),
    )
    def check(
        include: list[str], exclude: list[str], low: float | None, high: float | None
    ) -> None:
        filters = ItemFilter.of(include, exclude, low, high)
        got = snapshot.allowed(filters)
        want = _rules(include, exclude, low, high).allowed(snapshot.catalog)
        for mask in (got, filters.rules().allowed(snapshot.catalog)):
            if want is None:
                assert mask is None
            else:
                assert mask is not None and np.array_equal(mask, want)

    check()


def test_online_events_change_the_next_answer(store_path: Path) -> None:
    snapshot = _snapshot(store_path, "item-knn", {})
    user = str(snapshot.users.external_ids[1])
    before, _ = serving.recommend_for_user(snapshot, user, 5)
    bought = before[0].item_id
    with open_store(store_path) as store:
        result = serving.ingest_events(
            store,
            [{"event_id": "path-test-1", "user_id": user, "item_id": bought,
              "event_type": "purchase", "timestamp": "2026-01-01T00:00:00", "quantity": 1,
              "price": 3.0, "order_id": "path-test-order"}],
            update_profiles=False,
        )  # fmt: skip
        assert result.report.accepted == 1
        serving.refresh_rows(store, snapshot, [user])
    after, _ = serving.recommend_for_user(snapshot, user, 5)
    assert bought not in [i.item_id for i in after]
    ids, scores, _ = _reference(snapshot, user, 5, {})
    assert [i.item_id for i in after] == ids and [i.score for i in after] == scores


def test_json_answer_equals_the_items(item_snapshot: serving.ModelSnapshot) -> None:
    """The REST body written from the snapshot's JSON fragments says what recommend_for_user
    says, for model and popular answers, filters and explanations."""
    from shopguide.service.schemas import RecommendationsResponse

    snapshot = item_snapshot
    users = [str(u) for u in snapshot.users.external_ids[:40:4]] + ["nobody-known"]
    for user in users:
        for filters in FILTERS[:3]:
            for explanations in (False, True):
                items, strategy = serving.recommend_for_user(
                    snapshot, user, 7, explanations=explanations, **filters
                )
                body = serving.recommendations_json(
                    snapshot, user, 7, explanations=explanations, **filters
                )
                answer = RecommendationsResponse.model_validate_json(body)
                assert answer.user_id == user and answer.strategy == strategy
                assert (answer.model, answer.version) == (snapshot.name, snapshot.version)
                assert [vars(i) for i in answer.items] == [vars(i) for i in items]
