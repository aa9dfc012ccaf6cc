"""Choosing a campaign audience with the served model: each user's score of the promoted items
feeds the rule-based propensity of :mod:`shopguide.targeting.campaign`."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from shopguide.columns import Columns as C
from shopguide.errors import DataError
from shopguide.store.base import Store
from shopguide.workflows.serving.snapshot import ModelSnapshot

__all__ = ["campaign_audience", "promotion_scores"]


def promotion_scores(snapshot: ModelSnapshot, item_ids: Sequence[str]) -> pd.Series:
    """Each known user's best recommendation score among the promoted items (0 when none).

    Items the user already has are not filtered: the campaign step decides about past buyers.
    """
    wanted = snapshot.items.to_internal(list(item_ids), unknown="drop")
    users = snapshot.users.external_ids.astype(str)
    if not len(wanted):
        return pd.Series(0.0, index=pd.Index(users, name=C.USER_ID))
    allowed = np.zeros(len(snapshot.items), dtype=bool)
    allowed[wanted] = True
    ids, scores = snapshot.model.recommend(
        np.arange(snapshot.model.n_users_), snapshot.matrix, n=len(wanted),
        filter_already_liked=False, items_allowed=allowed, full_matrix=True,
    )  # fmt: skip
    best = np.where(ids >= 0, scores, 0.0).max(axis=1).clip(min=0)
    out = pd.Series(best.astype(float), index=pd.Index(users, name=C.USER_ID))
    if snapshot.erased:
        out = out.drop(index=[u for u in snapshot.erased if u in out.index])
    return out


def campaign_audience(
    store: Store,
    snapshot: ModelSnapshot,
    *,
    name: str,
    items: Sequence[str] = (),
    categories: Sequence[str] = (),
    discount: float = 0.0,
    size: int | None = 100,
    exclude_bought_days: int | None = None,
    allowed_users: set[str] | None = None,
    lock: threading.RLock | None = None,
) -> dict[str, Any]:
    """A campaign audience from :mod:`shopguide.targeting.campaign` (rule-based propensity).

    The served model's score of the promoted items for each user is the ``rec_score`` feature;
    ``allowed_users`` (from segment or churn constraints) limits who may be chosen. Returns the
    audit summary (expected responses and lift against a random audience of the same size) and
    the users with their score and reasons.
    """
    from shopguide.targeting.campaign import (
        Campaign,
        campaign_features,
        promoted_items,
        rule_based_score,
        select_audience,
    )

    campaign = Campaign(
        name=name, items=tuple(items), categories=tuple(categories), discount=discount,
        audience_size=size, exclude_bought_days=exclude_bought_days,
    )  # fmt: skip
    with lock or threading.RLock():
        promoted = promoted_items(store, campaign)["item_id"].astype(str).tolist()
        if not promoted:
            raise DataError(
                "the campaign promotes no item of the catalogue",
                hint="check the item ids and categories",
            )
        rec = promotion_scores(snapshot, promoted)
        as_of = store.scalar('SELECT max("timestamp") FROM events')
        features = campaign_features(store, campaign, as_of, rec_scores=rec)
    if snapshot.erased:
        features = features.drop(index=[u for u in snapshot.erased if u in features.index])
    if allowed_users is not None:
        features = features[features.index.isin(list(allowed_users))]
    scores = rule_based_score(features, campaign)
    audience = select_audience(campaign, features, scores, as_of)
    summary = audience.summary()
    lift = summary["expected_lift"]
    return {
        "name": name,
        "promoted_items": len(promoted),
        "eligible_users": int(summary["eligible"]),
        "excluded": summary["excluded"],
        "size": int(summary["size"]),
        "expected_responses": summary["expected_responses"],
        "random_expected_responses": summary["random_expected_responses"],
        "expected_lift": None if lift is None or not np.isfinite(lift) else float(lift),
        "method": "rule-based propensity (shopguide.targeting.campaign)",
        "recommender": {"used": True, "model": snapshot.name, "version": snapshot.version},
        "users": [
            {
                "user_id": str(r.user_id),
                "score": float(r.score),
                "rank": int(r.rank),
                "reasons": str(r.reasons),
            }
            for r in audience.users.itertuples()
        ],
    }
