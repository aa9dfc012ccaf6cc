"""Scoring one user of a snapshot: the model's items with the business filters, topped up with
popular items, and the popularity fallback for users the model cannot score."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from shopguide.recommend.explain import explain
from shopguide.workflows.serving.filters import ItemFilter
from shopguide.workflows.serving.snapshot import ModelSnapshot

__all__ = ["as_row", "popular_items", "score_user"]


def score_user(
    snapshot: ModelSnapshot,
    user_id: str,
    n: int,
    filters: ItemFilter,
    explanations: bool,
) -> tuple[np.ndarray, np.ndarray, list[str | None], str]:
    """Score the user now: item indices, scores, reasons and the strategy.

    With a :class:`RowScorer` (item-/user-KNN) the request touches only the snapshot's arrays:
    the user's interaction slice, the filter mask from the category index and one compiled
    pass; other models go through ``RuleSet.recommend``."""
    index, seen, weights = snapshot.user_items(user_id)
    from_row = snapshot.model.scores_from_history
    allowed = snapshot.allowed(filters)
    if index is not None or (from_row and len(seen)):
        model_row = index if index is not None else 0
        scorer = snapshot.scorer
        if scorer is not None:
            ids, scores = scorer.top_n(
                model_row, seen, weights, None if allowed is None else ~allowed, n
            )
        else:
            rules = filters.rules()
            row = as_row(seen, weights, len(snapshot.items))
            found_ids, found_scores = rules.recommend(
                snapshot.model, [model_row], row, snapshot.catalog, n=n
            )
            ids, scores = found_ids[0], found_scores[0]
        keep = ids >= 0
        ids, scores = ids[keep], scores[keep]
        strategy = "model"
        reasons: list[str | None] = [None] * len(ids)
        if explanations and len(ids):
            found = explain(
                snapshot.model, model_row, ids, as_row(seen, weights, len(snapshot.items)),
                items=snapshot.items, titles=snapshot.catalog.title.tolist(),
            )  # fmt: skip
            reasons = [e.text for e in found]
        if len(ids) < n:  # top up with popular items
            extra_ids, extra_scores = popular_items(
                snapshot, allowed, seen, n - len(ids), exclude=ids
            )
            ids = np.concatenate([ids, extra_ids])
            scores = np.concatenate([scores, extra_scores])
            reasons += ["popular with all shoppers" if explanations else None] * len(extra_ids)
    else:
        ids, scores = popular_items(snapshot, allowed, seen, n)
        strategy = "popular"
        reasons = ["popular with all shoppers" if explanations else None] * len(ids)
    return ids, scores, reasons, strategy


def as_row(indices: np.ndarray, data: np.ndarray, n_items: int) -> sp.csr_matrix:
    """One user's interactions as a 1-row CSR matrix (for the models without a scorer)."""
    indptr = np.array([0, len(indices)], dtype=np.int64)
    return sp.csr_matrix((data, indices, indptr), shape=(1, n_items))


def popular_items(
    snapshot: ModelSnapshot,
    allowed: np.ndarray | None,
    seen: np.ndarray,
    n: int,
    exclude: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` most popular allowed items outside ``seen`` and ``exclude`` (ties: lower index
    first), walking the snapshot's precomputed popularity order."""
    order = snapshot.popular_order
    ok = np.ones(len(snapshot.items), dtype=bool) if allowed is None else allowed.copy()
    ok[seen] = False
    if exclude is not None and len(exclude):
        ok[exclude] = False
    top = order[ok[order]][:n]
    return top.astype(np.int32), snapshot.popular[top].astype(np.float32)
