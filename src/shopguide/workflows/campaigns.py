"""User-facing campaign actions: score users for a campaign, choose and export its audience.

The recommendation score of the promoted items comes from the store's current model (or the
one named; with no current model the score does without it, and the audit record says so).
The propensity is the documented rule-based score of :mod:`shopguide.targeting.campaign`, or a
model trained on past responses when given.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shopguide.columns import Columns as C
from shopguide.errors import DataError, NoCurrentModelError
from shopguide.recommend.saved import RecommenderStore
from shopguide.store.base import Store
from shopguide.targeting.campaign import (
    Audience,
    Campaign,
    campaign_features,
    contacted_recently,
    export_audience,
    promoted_items,
    record_contacts,
    rule_based_score,
    rule_components,
    select_audience,
)
from shopguide.workflows.audience_store import store_audience
from shopguide.workflows.current_model import NO_CURRENT_REASON, open_snapshot, recommender_record
from shopguide.workflows.serving.snapshot import ModelSnapshot


def promotion_scores(snapshot: ModelSnapshot, item_ids: Sequence[str]) -> pd.Series:
    """Each known user's best recommendation score among the promoted items (0 when none).

    Items the user already has are not filtered: the campaign step decides about past buyers.
    """
    wanted = snapshot.items.to_internal(list(item_ids), unknown="drop")
    users = snapshot.users.external_ids.astype(str)
    if not len(wanted):
        return pd.Series(0.0, index=pd.Index(users, name=C.USER_ID))
    _, scores = snapshot.model.rank_items(
        np.arange(snapshot.model.n_users_), snapshot.matrix, wanted, full_matrix=True
    )  # every promoted item, scored 0 where the model does not reach it
    best = scores.max(axis=1).clip(min=0)
    out = pd.Series(best.astype(float), index=pd.Index(users, name=C.USER_ID))
    if snapshot.erased:
        out = out.drop(index=[u for u in snapshot.erased if u in out.index])
    return out


def _as_of(store: Store, as_of: str | None) -> pd.Timestamp:
    when = as_of or store.scalar('SELECT max("timestamp") FROM events')
    if when is None:
        raise DataError("the store has no events", hint="ingest events first")
    return pd.Timestamp(when)


def _recommender(store: Store, model: str | None) -> tuple[ModelSnapshot | None, dict[str, Any]]:
    """The snapshot whose scores feed ``rec_score`` and the audit record saying so.

    ``model``: ``None`` the store's current model (none current: do without, and say so);
    ``""`` no recommender; a name: that model's published version (missing: an error).
    """
    if model == "":
        return None, recommender_record(None, "no recommender asked for (--model '')")
    try:
        snapshot = open_snapshot(store, RecommenderStore.for_store(store.path), model)
    except NoCurrentModelError:
        reason = f"{NO_CURRENT_REASON}; the score uses no recommendation part"
        return None, recommender_record(None, reason)
    origin = "named with --model" if model else "the store's current model"
    return snapshot, recommender_record(snapshot, origin)


def score_campaign(
    store: Store,
    campaign: Campaign,
    *,
    model: str | None = None,
    as_of: str | None = None,
    snapshot: ModelSnapshot | None = None,
) -> tuple[pd.DataFrame, pd.Series, pd.Timestamp, dict[str, Any]]:
    """Every buyer's features and rule-based propensity for ``campaign`` (best first), and
    the record of the recommender used for ``rec_score``: ``snapshot`` when given (the
    service's served model), else as :func:`_recommender` says for ``model``."""
    when = _as_of(store, as_of)
    promoted = promoted_items(store, campaign)["item_id"].astype(str).tolist()
    if not promoted:
        raise DataError(
            f"campaign {campaign.name!r} matches no item of the catalogue",
            hint="check the item ids, category paths (prefixes such as 'Home') and brands",
        )
    if snapshot is None:
        snapshot, used = _recommender(store, model)
    else:
        used = recommender_record(snapshot, "the model the service answers from")
    rec = None if snapshot is None else promotion_scores(snapshot, promoted)
    features = campaign_features(store, campaign, when, rec_scores=rec)
    scores = rule_based_score(features, campaign).sort_values(ascending=False, kind="stable")
    return features, scores, when, used


def build_audience(
    store: Store,
    campaign: Campaign,
    *,
    model: str | None = None,
    as_of: str | None = None,
    out_dir: str | Path | None = None,
    record: bool = False,
    keep: bool = True,
    snapshot: ModelSnapshot | None = None,
    allowed_users: Collection[str] | None = None,
) -> tuple[Audience, dict[str, Any]]:
    """Choose the audience under the campaign's constraints; export and log it if asked.

    ``snapshot`` scores the promoted items instead of the model named by ``model``;
    ``allowed_users`` (when given) limits who may be chosen, as a segment or churn-risk
    constraint does.

    With ``keep`` the members and the audit record are stored (``audiences`` and
    ``audience_audits``, see :mod:`shopguide.workflows.audience_store`); the returned dict then
    holds the ``audience_id`` next to the exported files. The audit record names the
    recommender model and version behind ``rec_score``, or says that none was used and why.
    """
    features, scores, when, used = score_campaign(
        store, campaign, model=model, as_of=as_of, snapshot=snapshot
    )
    if allowed_users is not None:
        features = features[features.index.isin(list(allowed_users))]
        scores = scores[scores.index.isin(features.index)]
    recent = (
        contacted_recently(store, campaign.exclude_contacted_days, when)
        if campaign.exclude_contacted_days is not None
        else None
    )
    audience = select_audience(
        campaign, features, scores, when,
        contributions=rule_components(features, campaign), recently_contacted=recent,
    )  # fmt: skip
    audience.recommender = used
    files: dict[str, Any] = {}
    if out_dir is not None:
        files = {k: str(v) for k, v in export_audience(audience, out_dir).items()}
    if record:
        record_contacts(store, audience, when)
    if keep:
        files["audience_id"] = store_audience(store, audience, when)
    return audience, files


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
    allowed_users: Collection[str] | None = None,
    lock: threading.RLock | None = None,
) -> dict[str, Any]:
    """The service's audience: :func:`build_audience` with the served model's scores, not
    stored here (the caller saves it), answered as :func:`audience_answer`."""
    campaign = Campaign(
        name=name, items=tuple(items), categories=tuple(categories), discount=discount,
        audience_size=size, exclude_bought_days=exclude_bought_days,
    )  # fmt: skip
    with lock or threading.RLock():
        audience, _ = build_audience(
            store, campaign, snapshot=snapshot, allowed_users=allowed_users, keep=False
        )
        promoted = len(promoted_items(store, campaign))
    return audience_answer(audience, promoted)


def audience_answer(audience: Audience, promoted: int) -> dict[str, Any]:
    """What the service answers for a chosen audience: the audit summary and the members."""
    summary = audience.summary()
    lift = summary["expected_lift"]
    return {
        "name": audience.campaign.name,
        "promoted_items": promoted,
        "eligible_users": int(summary["eligible"]),
        "excluded": summary["excluded"],
        "size": int(summary["size"]),
        "expected_responses": summary["expected_responses"],
        "random_expected_responses": summary["random_expected_responses"],
        "expected_lift": None if lift is None or not np.isfinite(lift) else float(lift),
        "method": "rule-based propensity (shopguide.targeting.campaign)",
        "recommender": summary["recommender"],
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
