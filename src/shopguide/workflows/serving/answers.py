"""What the recommendation routes answer: a user's items (as objects or as the REST answer's
JSON), cached per user in the snapshot, and the items similar to or bought with an item."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from shopguide.errors import UnknownIdError
from shopguide.workflows.serving.filters import ItemFilter
from shopguide.workflows.serving.scoring import score_user
from shopguide.workflows.serving.snapshot import (
    ModelSnapshot,
    item_price,
    item_text,
    json_value,
)

__all__ = [
    "Recommendation",
    "recommend_for_user",
    "recommend_uncached",
    "recommendations_json",
    "similar_items",
    "together_items",
]


@dataclass(frozen=True)
class Recommendation:
    """One recommended item."""

    item_id: str
    score: float
    title: str | None
    category: str | None
    price: float | None
    reason: str | None


def recommend_for_user(
    snapshot: ModelSnapshot,
    user_id: str,
    n: int = 10,
    *,
    include_categories: Sequence[str] = (),
    exclude_categories: Sequence[str] = (),
    min_price: float | None = None,
    max_price: float | None = None,
    explanations: bool = False,
) -> tuple[list[Recommendation], str]:
    """Top-``n`` items for a user with business filters; returns the items and the strategy.

    Strategy ``"model"`` for users the model knows (or, for models that score from a user's own
    items such as item-KNN and EASE, users with interactions ingested since); otherwise
    ``"popular"``: the most popular allowed items the user has not interacted with.
    Answers are cached per user and parameters until the user's events or the model change.
    """
    if user_id in snapshot.erased:
        raise UnknownIdError("user", [user_id])
    filters = ItemFilter.of(include_categories, exclude_categories, min_price, max_price)
    key = (n, *filters.key, explanations)
    cached = snapshot.answers.get(user_id, key)
    if cached is not None:
        return cached
    answer = recommend_uncached(snapshot, user_id, n, filters, explanations)
    snapshot.answers.put(user_id, key, answer)
    return answer


def recommendations_json(
    snapshot: ModelSnapshot,
    user_id: str,
    n: int = 10,
    *,
    include_categories: Sequence[str] = (),
    exclude_categories: Sequence[str] = (),
    min_price: float | None = None,
    max_price: float | None = None,
    explanations: bool = False,
) -> bytes:
    """:func:`recommend_for_user` as the REST answer's JSON (``RecommendationsResponse``).

    Written from the snapshot's per-item JSON fragments, so an answer costs a join of ten byte
    strings instead of building and serialising objects; cached like the items.
    """
    if user_id in snapshot.erased:
        raise UnknownIdError("user", [user_id])
    filters = ItemFilter.of(include_categories, exclude_categories, min_price, max_price)
    key = ("json", n, *filters.key, explanations)
    cached = snapshot.answers.get(user_id, key)
    if cached is not None:
        return bytes(cached)
    ids, scores, reasons, strategy = score_user(snapshot, user_id, n, filters, explanations)
    fragments = snapshot.item_json
    items = b",".join(
        fragments[i][0]
        + repr(score).encode()
        + fragments[i][1]
        + (b"null}" if reason is None else json_value(reason) + b"}")
        for i, score, reason in zip(ids.tolist(), scores.tolist(), reasons, strict=True)
    )
    body = (
        b'{"user_id":' + json_value(user_id) + b',"model":' + json_value(snapshot.name)
        + b',"version":' + json_value(snapshot.version) + b',"strategy":' + json_value(strategy)
        + b',"items":[' + items + b"]}"
    )  # fmt: skip
    snapshot.answers.put(user_id, key, body)
    return body


def recommend_uncached(
    snapshot: ModelSnapshot,
    user_id: str,
    n: int,
    filters: ItemFilter,
    explanations: bool,
) -> tuple[list[Recommendation], str]:
    """:func:`recommend_for_user` without the cache."""
    ids, scores, reasons, strategy = score_user(snapshot, user_id, n, filters, explanations)
    out = []
    for i, score, reason in zip(ids.tolist(), scores.tolist(), reasons, strict=True):
        item_id, title, category, price = snapshot.item_meta[i]
        out.append(Recommendation(item_id, score, title, category, price, reason))
    return out, strategy


def similar_items(snapshot: ModelSnapshot, item_id: str, n: int = 10) -> list[dict[str, Any]]:
    """Items most similar to ``item_id`` under the served model."""
    index = snapshot.item_row(item_id)
    try:
        ids, scores = snapshot.model.similar_items([index], n=n)
    except NotImplementedError:
        return []
    return _item_list(snapshot, ids[0], scores[0], "similarity")


def together_items(snapshot: ModelSnapshot, item_id: str, n: int = 10) -> list[dict[str, Any]]:
    """Items most often bought in the same orders as ``item_id`` (confidence order)."""
    index = snapshot.item_row(item_id)
    if snapshot.fbt is None:
        return []
    found = snapshot.fbt.together(index, n=n)
    out = _item_list(snapshot, found.items, found.confidence, "confidence")
    for entry, lift, orders in zip(out, found.lift, found.pair_orders, strict=True):
        entry["lift"] = float(lift)
        entry["orders"] = int(orders)
    return out


def _item_list(
    snapshot: ModelSnapshot, ids: np.ndarray, scores: np.ndarray, label: str
) -> list[dict[str, Any]]:
    keep = ids >= 0
    ids, scores = ids[keep], scores[keep]
    external = snapshot.items.to_external(ids)
    cat = snapshot.catalog
    return [
        {
            "item_id": str(external[k]),
            label: float(scores[k]),
            "title": item_text(cat.title[i]),
            "category": item_text(cat.category[i]),
            "price": item_price(cat.price[i]),
        }
        for k, i in enumerate(ids.tolist())
    ]
