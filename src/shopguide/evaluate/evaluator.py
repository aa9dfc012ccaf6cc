"""Fit a recommender on a training split and measure it on the test events.

The model only has to look like a ShopGuide recommender (or the ``implicit`` library's, through
a thin adapter): ``fit(user_items_csr)`` and ``recommend(user_rows, user_items_csr, n,
filter_already_liked=True) -> (ids, scores)``. Test events are mapped to the *training* id maps,
so the relevance matrix has the same columns as the model; test users or items unknown to
training cannot be scored and are left out (the splitters already drop them by default).

When already-bought items are filtered from the recommendations (the default), the same items
are also removed from each user's relevant set: an item the model is not allowed to recommend
can never be a hit, so counting it would only lower every model's recall by the same amount.
Users left with no relevant item are not evaluated (counted in ``EvaluationResult.counts``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopguide.columns import Columns, EventType
from shopguide.data.idmap import IdMap
from shopguide.data.matrix import Interactions, build_interactions
from shopguide.evaluate.metrics import MetricsReport, compute_metrics

__all__ = [
    "EvaluationResult",
    "RecommenderLike",
    "TestRelevance",
    "build_test_relevance",
    "category_codes",
    "evaluate_model",
    "evaluate_recommender",
]

#: Event types that make an item relevant in the test half by default (all but refunds).
DEFAULT_RELEVANT_TYPES: tuple[str, ...] = tuple(t for t in EventType.ALL if t != EventType.REFUND)


@runtime_checkable
class RecommenderLike(Protocol):
    """What :func:`evaluate_model` needs from a model."""

    def fit(self, user_items: Any) -> Any:
        """Learn from a CSR user x item matrix."""

    def recommend(
        self,
        user_rows: Any,
        user_items: Any,
        n: int = 10,
        filter_already_liked: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-n item indices (and scores) for the given user rows."""


@dataclass(frozen=True)
class TestRelevance:
    """The test set in the training index space.

    ``user_rows`` are training rows of the evaluated users; row ``j`` of ``relevant`` (CSR,
    ``len(user_rows) x n_train_items``, binary) holds the relevant items of ``user_rows[j]``.
    """

    user_rows: np.ndarray
    relevant: sp.csr_matrix
    counts: dict[str, int]


def build_test_relevance(
    train: Interactions,
    test_events: pd.DataFrame,
    *,
    relevant_event_types: Sequence[str] | None = DEFAULT_RELEVANT_TYPES,
    exclude_train_items: bool = True,
) -> TestRelevance:
    """Binary relevance of the test events, mapped with the training id maps.

    Parameters
    ----------
    train:
        The training interactions (their ``users`` / ``items`` maps define the index space).
    test_events:
        Events frame of the test half (external ids).
    relevant_event_types:
        Test event types that make an item relevant (default: all but ``refund``);
        ``None`` accepts every type present.
    exclude_train_items:
        Remove from each user's relevant set the items that user already has in ``train``
        (use it together with ``filter_already_liked=True``).
    """
    types = (
        sorted(test_events[Columns.EVENT_TYPE].astype(str).unique())
        if relevant_event_types is None
        else list(relevant_event_types)
    )
    n_events = len(test_events)
    users_known = test_events[Columns.USER_ID].astype(str).isin(train.users.external_ids)
    items_known = test_events[Columns.ITEM_ID].astype(str).isin(train.items.external_ids)
    known = test_events[users_known.to_numpy() & items_known.to_numpy()]
    test = build_interactions(
        known, {t: 1.0 for t in types}, user_map=train.users, item_map=train.items
    )
    rel = test.binary()
    n_pairs_before = int(rel.nnz)
    if exclude_train_items:
        seen = train.matrix.copy()
        seen.data[:] = 1.0
        seen.eliminate_zeros()
        rel = (rel - rel.multiply(seen)).tocsr()
        rel.eliminate_zeros()
    rel.sort_indices()
    rel = sp.csr_matrix(rel, dtype=np.float32)
    test_user_rows = np.unique(train.users.to_internal(known[Columns.USER_ID], unknown="drop"))
    per_user = np.diff(rel.indptr)
    rows = np.flatnonzero(per_user > 0)
    counts = {
        "test_events": n_events,
        "test_events_unknown_to_train": int(n_events - len(known)),
        "test_users": int(test_user_rows.size),
        "test_pairs": n_pairs_before,
        "test_pairs_already_in_train": n_pairs_before - int(rel.nnz),
        "evaluated_users": int(rows.size),
        "users_without_relevant_items": int(test_user_rows.size - rows.size),
    }
    return TestRelevance(user_rows=rows.astype(np.int64), relevant=rel[rows], counts=counts)


def category_codes(items: IdMap, categories: Mapping[str, Any] | pd.Series) -> np.ndarray:
    """Integer category code per training item (``-1`` where unknown), for diversity."""
    series = pd.Series(categories) if not isinstance(categories, pd.Series) else categories
    series.index = series.index.astype(str)
    aligned = series.reindex(items.external_ids.astype(str))
    codes, _ = pd.factorize(aligned, use_na_sentinel=True)
    return codes.astype(np.int64)


@dataclass(frozen=True)
class EvaluationResult:
    """Metrics of one model on one split.

    Attributes
    ----------
    name:
        Model label.
    metrics:
        Mean of every metric (``"ndcg@10"`` ...) over the evaluated users.
    report:
        Per-user values (index: external user ids).
    counts:
        Test bookkeeping from :func:`build_test_relevance`.
    fit_seconds, recommend_seconds:
        Wall-clock times.
    params:
        The model's parameters when it exposes ``get_params()``.
    """

    name: str
    metrics: dict[str, float]
    report: MetricsReport
    counts: dict[str, int]
    fit_seconds: float
    recommend_seconds: float
    params: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """One-row table: model name, metric means, evaluated users and timings."""
        row: dict[str, Any] = {"model": self.name, **self.metrics}
        row["users"] = self.counts.get("evaluated_users", self.report.n_users)
        row["fit_s"] = round(self.fit_seconds, 3)
        row["recommend_s"] = round(self.recommend_seconds, 3)
        return pd.DataFrame([row]).set_index("model")


def _model_name(model: Any) -> str:
    return str(getattr(model, "model_name", "") or type(model).__name__)


def _params(model: Any) -> dict[str, Any]:
    get = getattr(model, "get_params", None)
    try:
        return dict(get()) if callable(get) else {}
    except Exception:  # a foreign model's get_params may need arguments
        return {}


def evaluate_recommender(
    model: RecommenderLike,
    train_matrix: sp.csr_matrix,
    relevance: TestRelevance,
    n: int | Sequence[int] = 10,
    *,
    fit: bool = True,
    filter_already_liked: bool = True,
    item_categories: np.ndarray | None = None,
    metrics: Sequence[str] | None = None,
    user_labels: np.ndarray | None = None,
    name: str | None = None,
    fit_inputs: Mapping[str, Any] | None = None,
) -> EvaluationResult:
    """Evaluate on arrays only: a CSR training matrix and a prepared :class:`TestRelevance`.

    Used by :func:`evaluate_model` and by tuning, where the same split is evaluated many
    times. ``n`` may be several cut-offs: one top-``max(n)`` list is computed and cut.
    ``fit_inputs``: keywords for the fit of a model that declares it needs them in its
    ``fit_inputs`` (``ease-next``: ``first_seen``); other models get none.
    """
    ns = [n] if isinstance(n, int) else sorted(set(n))
    t0 = time.perf_counter()
    if fit:
        wanted = getattr(model, "fit_inputs", ())
        model.fit(train_matrix, **{k: v for k, v in (fit_inputs or {}).items() if k in wanted})
    t1 = time.perf_counter()
    max_n = max(ns)
    if relevance.user_rows.size:
        ids, _ = model.recommend(
            relevance.user_rows, train_matrix, n=max_n, filter_already_liked=filter_already_liked
        )
        ids = np.asarray(ids, dtype=np.int64)
        if ids.shape[1] < max_n:  # a model may return fewer columns than asked
            pad = np.full((ids.shape[0], max_n - ids.shape[1]), -1, dtype=np.int64)
            ids = np.hstack([ids, pad])
    else:
        ids = np.empty((0, max_n), dtype=np.int64)
    t2 = time.perf_counter()
    binary = train_matrix.copy()
    binary.data[:] = 1.0
    binary.eliminate_zeros()
    popularity = np.asarray(binary.sum(axis=0)).ravel()
    n_train_users = int(max(1, (np.diff(binary.indptr) > 0).sum()))
    report = compute_metrics(
        ids,
        relevance.relevant,
        ns,
        metrics=metrics,
        item_popularity=popularity,
        n_train_users=n_train_users,
        item_categories=item_categories,
        user_ids=user_labels,
    )
    return EvaluationResult(
        name=name or _model_name(model),
        metrics=report.means(),
        report=report,
        counts=dict(relevance.counts),
        fit_seconds=t1 - t0,
        recommend_seconds=t2 - t1,
        params=_params(model),
    )


def evaluate_model(
    model: RecommenderLike,
    train_interactions: Interactions,
    test_events: pd.DataFrame,
    n: int | Sequence[int] = 10,
    *,
    fit: bool = True,
    filter_already_liked: bool = True,
    exclude_train_items: bool | None = None,
    relevant_event_types: Sequence[str] | None = DEFAULT_RELEVANT_TYPES,
    item_categories: Mapping[str, Any] | pd.Series | np.ndarray | None = None,
    metrics: Sequence[str] | None = None,
    name: str | None = None,
) -> EvaluationResult:
    """Fit ``model`` on the training interactions and measure it on ``test_events``.

    Parameters
    ----------
    model:
        A recommender (see :class:`RecommenderLike`); fitted here unless ``fit=False``.
    train_interactions:
        Output of :func:`shopguide.data.matrix.build_interactions` on the training events.
    test_events:
        The test events (external ids), e.g. ``split.test``.
    n:
        Cut-off(s) N; metrics are named ``"<metric>@<N>"``.
    filter_already_liked:
        Passed to ``recommend``: never recommend items the user has in training.
    exclude_train_items:
        Remove those items from the relevant sets too (default: same as
        ``filter_already_liked``, see the module docstring).
    relevant_event_types:
        Test event types that count as relevant (default: all but ``refund``).
    item_categories:
        Category per item (mapping/Series by external item id, or codes aligned with the
        training item map) to compute intra-list diversity.
    metrics:
        Restrict to these metric names (default: every one the inputs allow).
    name:
        Label of the model in the result (default: its ``model_name`` or class name).
    """
    if exclude_train_items is None:
        exclude_train_items = filter_already_liked
    relevance = build_test_relevance(
        train_interactions,
        test_events,
        relevant_event_types=relevant_event_types,
        exclude_train_items=exclude_train_items,
    )
    cats: np.ndarray | None
    if item_categories is None:
        cats = None
    elif isinstance(item_categories, np.ndarray):
        cats = np.asarray(item_categories, dtype=np.int64)
    else:
        cats = category_codes(train_interactions.items, item_categories)
    return evaluate_recommender(
        model,
        train_interactions.matrix,
        relevance,
        n,
        fit=fit,
        filter_already_liked=filter_already_liked,
        item_categories=cats,
        metrics=metrics,
        user_labels=train_interactions.users.to_external(relevance.user_rows),
        name=name,
    )
