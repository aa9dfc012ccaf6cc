"""External ids in, tidy data frames out: the calls the CLI, service and demo need.

Models work on dense indices; these helpers translate external user / item ids with the
model's id maps, apply rules, attach explanations, and return one row per recommendation.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import scipy.sparse as sp

from shopguide.columns import Columns
from shopguide.data.idmap import IdMap
from shopguide.recommend.base import Recommender
from shopguide.recommend.explain import explain
from shopguide.recommend.ranked import ranked_frame
from shopguide.recommend.rules import ItemCatalog, RuleSet

__all__ = ["recommendations_frame", "similar_items_frame"]


def recommendations_frame(
    model: Recommender,
    users: IdMap,
    items: IdMap,
    user_ids: Sequence[object],
    user_items: sp.spmatrix,
    n: int = 10,
    *,
    rules: RuleSet | None = None,
    catalog: ItemCatalog | None = None,
    with_explanations: bool = False,
    titles: Sequence[object] | None = None,
) -> pd.DataFrame:
    """Top-``n`` items per external user id as rows ``user_id, rank, item_id, score[, reason]``.

    Unknown user ids raise :class:`~shopguide.errors.UnknownIdError` (use the cold-start
    helpers for them). ``user_items`` is the full user x item matrix of ``users`` x ``items``.
    """
    rows = users.to_internal(user_ids)
    if rules is not None:
        if catalog is None:
            raise ValueError("rules need an ItemCatalog")
        ids, scores = rules.recommend(model, rows, user_items, catalog, n=n, full_matrix=True)
    else:
        ids, scores = model.recommend(rows, user_items, n=n, full_matrix=True)
    frame = ranked_frame(ids, scores, list(user_ids), items)
    if with_explanations:
        matrix = sp.csr_matrix(user_items)
        reasons: list[str] = []
        for user_pos, row in enumerate(rows):
            picked = ids[user_pos][ids[user_pos] >= 0]
            found = explain(model, int(row), picked, matrix, items=items, titles=titles)
            reasons.extend(reason.text for reason in found)
        frame["reason"] = reasons
    return frame


def similar_items_frame(
    model: Recommender, items: IdMap, item_ids: Sequence[object], n: int = 10
) -> pd.DataFrame:
    """The ``n`` most similar items per external item id: ``item_id, rank, similar_item_id,
    score`` ("customers who bought this also bought")."""
    rows = items.to_internal(item_ids)
    ids, scores = model.similar_items(rows, n=n)
    records = [
        {
            Columns.ITEM_ID: str(item_id),
            Columns.RANK: rank + 1,
            "similar_item_id": items.to_external([int(other)])[0],
            Columns.SCORE: float(scores[pos, rank]),
        }
        for pos, item_id in enumerate(item_ids)
        for rank, other in enumerate(ids[pos])
        if other >= 0
    ]
    return pd.DataFrame(
        records, columns=[Columns.ITEM_ID, Columns.RANK, "similar_item_id", Columns.SCORE]
    )
