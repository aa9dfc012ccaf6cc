"""User-facing campaign actions: score users for a campaign, choose and export its audience.

The recommendation score of the promoted items comes from the published model (when there is
one); the propensity is the documented rule-based score of
:mod:`shopguide.targeting.campaign`, or a model trained on past responses when given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from shopguide.errors import DataError, ModelFormatError
from shopguide.recommend.registry import ModelRegistry
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
from shopguide.workflows.serving import build_snapshot, promotion_scores


def _as_of(store: Store, as_of: str | None) -> pd.Timestamp:
    when = as_of or store.scalar('SELECT max("timestamp") FROM events')
    if when is None:
        raise DataError("the store has no events", hint="ingest events first")
    return pd.Timestamp(when)


def score_campaign(
    store: Store, campaign: Campaign, *, model: str | None = "item-knn", as_of: str | None = None
) -> tuple[pd.DataFrame, pd.Series, pd.Timestamp]:
    """Every buyer's features and rule-based propensity for ``campaign`` (best first)."""
    when = _as_of(store, as_of)
    promoted = promoted_items(store, campaign)["item_id"].astype(str).tolist()
    if not promoted:
        raise DataError(
            f"campaign {campaign.name!r} matches no item of the catalogue",
            hint="check the item ids, category paths (prefixes such as 'Home') and brands",
        )
    rec = None
    if model is not None:
        try:
            snapshot = build_snapshot(store, ModelRegistry.for_store(store.path), model)
        except ModelFormatError:
            snapshot = None  # no published model: the score does without recommendations
        if snapshot is not None:
            rec = promotion_scores(snapshot, promoted)
    features = campaign_features(store, campaign, when, rec_scores=rec)
    scores = rule_based_score(features, campaign).sort_values(ascending=False, kind="stable")
    return features, scores, when


def build_audience(
    store: Store,
    campaign: Campaign,
    *,
    model: str | None = "item-knn",
    as_of: str | None = None,
    out_dir: str | Path | None = None,
    record: bool = False,
    keep: bool = True,
) -> tuple[Audience, dict[str, Any]]:
    """Choose the audience under the campaign's constraints; export and log it if asked.

    With ``keep`` the members and the audit record are stored (``audiences`` and
    ``audience_audits``, see :mod:`shopguide.workflows.audience_store`); the returned dict then
    holds the ``audience_id`` next to the exported files.
    """
    features, scores, when = score_campaign(store, campaign, model=model, as_of=as_of)
    recent = (
        contacted_recently(store, campaign.exclude_contacted_days, when)
        if campaign.exclude_contacted_days is not None
        else None
    )
    audience = select_audience(
        campaign, features, scores, when,
        contributions=rule_components(features, campaign), recently_contacted=recent,
    )  # fmt: skip
    files: dict[str, Any] = {}
    if out_dir is not None:
        files = {k: str(v) for k, v in export_audience(audience, out_dir).items()}
    if record:
        record_contacts(store, audience, when)
    if keep:
        files["audience_id"] = store_audience(store, audience, when)
    return audience, files
