"""Why was an item recommended? Explanations from the terms that actually produced its score.

- item-KNN: the user's items among the item's K neighbours, largest ``sim * r`` first
  -> "because you bought X and Y";
- user-KNN: the user's neighbours who have the item -> "3 shoppers like you bought it";
- popularity: the user's segment -> "popular in your segment" (or "popular with everyone");
- EASE: the user's items with the largest positive weight towards the item;
- RP3beta: the user's items whose walk reaches the item, largest ``W[j, i] * r`` first (the
  terms of its score);
- ALS/BPR: latent factors have no item-level evidence -> "matches your taste profile".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from shopguide.data.idmap import IdMap
from shopguide.recommend.base import Recommender
from shopguide.recommend.ease import EASE
from shopguide.recommend.knn import ItemKNN, UserKNN
from shopguide.recommend.popular import Popular
from shopguide.recommend.rp3beta import RP3beta

__all__ = ["Explanation", "explain"]


@dataclass(frozen=True)
class Explanation:
    """One recommended item's reason: a kind, a sentence, and the weighted evidence."""

    item: int
    kind: str  # "items", "users", "segment", "popular", "model"
    text: str
    evidence: list[tuple[str, float]] = field(default_factory=list)


def _label(index: int, items: IdMap | None, titles: Sequence[object] | None) -> str:
    if titles is not None and index < len(titles):
        title = titles[index]
        if isinstance(title, str) and title.strip():
            return title.strip()
    if items is not None:
        return str(items.to_external([index])[0])
    return f"item #{index}"


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def explain(
    model: Recommender,
    user_row: int,
    item_rows: Sequence[int] | np.ndarray,
    user_items: sp.spmatrix,
    *,
    items: IdMap | None = None,
    titles: Sequence[object] | None = None,
    max_reasons: int = 2,
    verb: str = "bought",
) -> list[Explanation]:
    """An :class:`Explanation` per item in ``item_rows`` for the user ``user_row``.

    ``user_items`` is the same matrix passed to ``recommend`` (full or the user's row).
    ``items`` / ``titles`` turn item indices into readable names.
    """
    matrix = sp.csr_matrix(user_items)
    row = matrix if matrix.shape[0] == 1 else matrix[user_row]  # the full matrix or one row
    out = []
    for item in (int(i) for i in item_rows if int(i) >= 0):
        out.append(_explain_one(model, user_row, item, row, items, titles, max_reasons, verb))
    return out


def _explain_one(
    model: Recommender,
    user_row: int,
    item: int,
    row: sp.csr_matrix,
    items: IdMap | None,
    titles: Sequence[object] | None,
    max_reasons: int,
    verb: str,
) -> Explanation:
    if isinstance(model, ItemKNN):
        parts = model.contributions(row, item)
        return _because(item, parts, items, titles, max_reasons, verb)
    if isinstance(model, EASE):
        weights = model.weights_[row.indices, item] * row.data
        parts = sorted(
            ((int(j), float(w)) for j, w in zip(row.indices, weights, strict=True) if w > 0),
            key=lambda p: (-p[1], p[0]),
        )
        return _because(item, parts, items, titles, max_reasons, verb)
    if isinstance(model, RP3beta):
        walk = np.asarray(model.similarity_[row.indices][:, [item]].todense()).ravel()
        terms = walk * row.data
        parts = sorted(
            ((int(j), float(w)) for j, w in zip(row.indices, terms, strict=True) if w > 0),
            key=lambda p: (-p[1], p[0]),
        )
        return _because(item, parts, items, titles, max_reasons, verb)
    if isinstance(model, UserKNN):
        parts = model.contributions(user_row, item)
        if parts:
            people = "shopper" if len(parts) == 1 else "shoppers"
            text = f"{len(parts)} {people} like you {verb} it"
            evidence = [(f"user #{v}", w) for v, w in parts]
            return Explanation(item, "users", text, evidence)
        return Explanation(item, "users", "shoppers like you showed interest in it")
    if isinstance(model, Popular):
        segment = int(model.segment_of([user_row])[0])
        if segment >= 0 and model.segment_scores_[segment, item] > 0:
            count = float(model.segment_scores_[segment, item])
            return Explanation(
                item, "segment", "popular in your segment", [(f"segment {segment}", count)]
            )
        return Explanation(
            item, "popular", "popular with all shoppers", [("all", float(model.global_[item]))]
        )
    return Explanation(item, "model", "matches your taste profile")


def _because(
    item: int,
    parts: list[tuple[int, float]],
    items: IdMap | None,
    titles: Sequence[object] | None,
    max_reasons: int,
    verb: str,
) -> Explanation:
    if not parts:
        return Explanation(item, "items", "similar to items you showed interest in")
    evidence = [(_label(j, items, titles), w) for j, w in parts]
    names = [name for name, _ in evidence[:max_reasons]]
    return Explanation(item, "items", f"because you {verb} {_join(names)}", evidence)
